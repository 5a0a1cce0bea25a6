//! `kronic backup`: pg_dump streamed through parallel gzip into an atomic file, then
//! pruning; `list`, `verify` and `prune` for the folder.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;
use gzp::deflate::Mgzip;
use gzp::par::compress::{Compression, ParCompressBuilder};
use gzp::{GzpError, ZWriter};
use indicatif::HumanBytes;
use tokio::io::AsyncReadExt;

use crate::cli::{BackupAction, BackupArgs};
use crate::config::Config;
use crate::db;
use crate::exit::{Code, fail, io_code};
use crate::fsutil::{self, TempFile};
use crate::pgtools::{self, Passfile};
use crate::progress::Progress;
use crate::repository;

struct Dumped {
    sql_bytes: u64,
    gz_bytes: u64,
    elapsed: Duration,
}

pub async fn run(config: &Config, args: BackupArgs) -> Result<Code> {
    let dir = &args.dir.dir;
    // A file-size limit (ulimit -f) must fail the write, not kill kronic mid-file.
    let _xfsz = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::from_raw(25));
    fsutil::create_private_dir(dir)?;
    // A folder others can write to still gets its backup, but kronic will not prune
    // (or later pick "latest") there: say so once, with the fix.
    let trusted = match repository::trusted_dir(dir) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!("{e:#}; backing up anyway, but not pruning");
            false
        }
    };
    let lock = repository::lock(dir)?;
    repository::remove_stale_temp_files(dir, &lock);

    // Connect first: configuration, authentication and version problems are reported
    // before any file exists.
    let client = db::connect_wait(&config.db, args.wait.wait).await?;
    let major = pgtools::server_major(&client).await?;
    drop(client);
    let pg_dump = pgtools::find("pg_dump", major).await?;

    let name = repository::backup_name(Utc::now());
    let dest = dir.join(&name);
    if dest.exists() {
        return Err(fail(
            Code::CantCreate,
            format!("{} already exists; not overwritten", dest.display()),
        ));
    }
    let (tmp, file) = TempFile::create(fsutil::temp_path(&dest))?;
    tracing::info!(
        "backing up {} to {} with {}",
        config.db.display(),
        dest.display(),
        pg_dump.path.display()
    );

    let pass = Passfile::new(&config.db)?;
    let mut cmd = pgtools::command(&pg_dump, &config.db, &pass);
    cmd.args([
        "--format=plain",
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-privileges",
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());

    let dumped = tokio::select! {
        r = dump(cmd, file, args.compression_level) => r,
        _ = super::shutdown_signal() => Err(fail(
            Code::Interrupted,
            "interrupted: the partial backup was removed and no backup was pruned",
        )),
    }?;
    drop(pass);
    tmp.persist_new(&dest)?;

    super::say(format!("Backup completed: {name}"))?;
    let secs = dumped.elapsed.as_secs_f64().max(1e-3);
    tracing::info!(
        "{name}: {} compressed from {} of SQL in {:.1}s ({}/s)",
        HumanBytes(dumped.gz_bytes),
        HumanBytes(dumped.sql_bytes),
        secs,
        HumanBytes((dumped.sql_bytes as f64 / secs) as u64)
    );
    if let Some(path) = &args.metrics_file {
        write_metrics(path, config, &dumped)?;
    }
    if !trusted {
        return Ok(Code::Ok);
    }
    let pruned = repository::prune(dir, args.keep.keep_days, false)
        .context("the backup succeeded, but pruning old backups failed")?;
    if !pruned.is_empty() {
        tracing::info!(
            "pruned {} backup(s) older than {} days",
            pruned.len(),
            args.keep.keep_days
        );
    }
    Ok(Code::Ok)
}

/// Streams pg_dump's output into `file` through gzip; checks pg_dump's exit status and
/// that the dump is complete; fsyncs.
async fn dump(mut cmd: tokio::process::Command, file: File, level: u32) -> Result<Dumped> {
    let mut child = cmd.spawn().context("cannot start pg_dump")?;
    let stdout = child.stdout.take().context("pg_dump has no stdout")?;
    let mut stderr = child.stderr.take().context("pg_dump has no stderr")?;
    let stderr_task = tokio::spawn(async move {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s).await;
        s
    });

    // pg_dump's pipe is read on a plain thread straight into the compressor: no async
    // hop and no per-chunk copies on the one path every byte takes.
    let stdout = File::from(
        stdout
            .into_owned_fd()
            .context("cannot read pg_dump's output")?,
    );
    let mut progress = Progress::new("dumped", None);
    let writer = tokio::task::spawn_blocking(move || {
        let result = compress(stdout, file, level, &mut progress);
        (result, progress)
    });
    let (written, progress) = writer.await.context("the compression task failed")?;
    if written.is_err() {
        let _ = child.start_kill();
    }
    let status = child.wait().await.context("cannot wait for pg_dump")?;
    let errors = stderr_task.await.unwrap_or_default();
    for line in errors.lines().filter(|l| !l.trim().is_empty()) {
        tracing::debug!("pg_dump: {line}");
    }

    // The root cause first: a failed write makes pg_dump die of a broken pipe.
    let (gz_bytes, complete) = match written {
        Ok(w) => w,
        Err(Stream::Write(e)) => {
            return Err(fail(
                match io_code(&e) {
                    Code::NoPerm => Code::CantCreate,
                    _ => Code::IoErr,
                },
                format!(
                    "cannot write the backup: {e}; the partial file was removed and no backup was pruned"
                ),
            ));
        }
        Err(Stream::Read(e)) => {
            return Err(fail(
                Code::IoErr,
                format!("cannot read pg_dump's output: {e}"),
            ));
        }
    };
    if !status.success() {
        // pg_dump's "error:" line says what happened; "detail:" lines follow it.
        let last = errors
            .lines()
            .find(|l| l.contains("error:"))
            .or_else(|| errors.lines().rev().find(|l| !l.trim().is_empty()))
            .unwrap_or("no message")
            .trim();
        let how = match status.code() {
            Some(c) => format!("exit {c}"),
            None => "killed by a signal".to_string(),
        };
        return Err(fail(
            pgtools::failure_code(&errors),
            format!("pg_dump failed ({how}): {last}; no backup was written and none was pruned"),
        ));
    }
    if !complete {
        return Err(fail(
            Code::Software,
            "pg_dump exited 0 but its output lacks the \"dump complete\" line; no backup was written",
        ));
    }
    Ok(Dumped {
        sql_bytes: progress.done(),
        gz_bytes,
        elapsed: progress.elapsed(),
    })
}

/// Which side of the pipeline failed: pg_dump's pipe, or the backup file.
enum Stream {
    Read(std::io::Error),
    Write(std::io::Error),
}

/// gzips `input` into `file` on every core (gzp's Mgzip: each 1 MiB block is its own
/// gzip member, compressed by libdeflate; concatenated members are one standard gzip
/// file), fsyncs, and returns the file's size and whether the SQL ended like a complete
/// pg_dump.
fn compress(
    mut input: File,
    file: File,
    level: u32,
    progress: &mut Progress,
) -> Result<(u64, bool), Stream> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let build = ParCompressBuilder::<Mgzip>::new()
        .num_threads(threads)
        .and_then(|b| b.buffer_size(1 << 20))
        .map_err(|e| Stream::Write(gzp_io(e)))?;
    let mut gz = build
        .compression_level(Compression::new(level))
        .from_writer(BufWriter::with_capacity(1 << 20, file));
    let mut buf = vec![0u8; 256 * 1024];
    let mut tail: Vec<u8> = Vec::new();
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                // gzp must be finished before it is dropped; the file is discarded anyway.
                let _ = gz.finish();
                return Err(Stream::Read(e));
            }
        };
        progress.add(n as u64);
        // A failed write shuts gzp down and returns the writer's own error.
        gz.write_all(&buf[..n]).map_err(Stream::Write)?;
        tail.extend_from_slice(&buf[n.saturating_sub(256)..n]);
        tail.drain(..tail.len().saturating_sub(256));
    }
    let file = gz
        .finish()
        .map_err(gzp_io)
        .and_then(|out| out.into_inner().map_err(|e| e.into_error()))
        .map_err(Stream::Write)?;
    file.sync_all().map_err(Stream::Write)?;
    let size = file.metadata().map_err(Stream::Write)?.len();
    Ok((size, crate::dump::ends_complete(&tail)))
}

fn gzp_io(e: GzpError) -> std::io::Error {
    match e {
        GzpError::Io(e) => e,
        e => std::io::Error::other(e),
    }
}

/// Prometheus textfile metrics for node_exporter, replaced atomically.
fn write_metrics(path: &Path, config: &Config, d: &Dumped) -> Result<()> {
    let label = config
        .db
        .display()
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    let now = Utc::now().timestamp_millis() as f64 / 1000.0;
    let mut text = String::new();
    for (name, help, value) in [
        (
            "kronic_backup_last_success_timestamp_seconds",
            "Unix time of the last successful kronic backup.",
            now,
        ),
        (
            "kronic_backup_last_duration_seconds",
            "How long the last successful backup took.",
            d.elapsed.as_secs_f64(),
        ),
        (
            "kronic_backup_last_size_bytes",
            "Size of the last successful backup file.",
            d.gz_bytes as f64,
        ),
        (
            "kronic_backup_last_sql_bytes",
            "Uncompressed size of the last successful dump.",
            d.sql_bytes as f64,
        ),
    ] {
        text.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name}{{database=\"{label}\"}} {value}\n"
        ));
    }
    fsutil::write_atomic(path, text.as_bytes())
}

/// `list`, `verify` and `prune`: no database needed.
pub fn run_offline(args: &BackupArgs) -> Result<Code> {
    match args.action.as_ref().expect("called with an action") {
        BackupAction::List { dir, json } => list(&dir.dir, *json),
        BackupAction::Verify { dir, file, latest } => {
            let path = match (file, latest) {
                (Some(f), _) => f.clone(),
                (None, _) => repository::latest(&dir.dir)?.path,
            };
            let sql = crate::dump::verify(&path)?;
            super::say(format!(
                "ok: {} ({} of SQL, complete)",
                path.display(),
                HumanBytes(sql)
            ))?;
            Ok(Code::Ok)
        }
        BackupAction::Prune { dir, keep, dry_run } => {
            let _lock = if *dry_run {
                None
            } else {
                Some(repository::lock(&dir.dir)?)
            };
            let gone = repository::prune(&dir.dir, keep.keep_days, *dry_run)?;
            let verb = if *dry_run { "would prune" } else { "pruned" };
            let mut out = std::io::stdout().lock();
            for b in &gone {
                writeln!(out, "{verb} {}", b.name)?;
            }
            if gone.is_empty() {
                writeln!(out, "nothing to prune")?;
            }
            Ok(Code::Ok)
        }
    }
}

fn list(dir: &Path, json: bool) -> Result<Code> {
    let backups = repository::list(dir)?;
    let now = Utc::now();
    let mut out = std::io::stdout().lock();
    if json {
        let rows: Vec<serde_json::Value> = backups
            .iter()
            .map(|b| {
                serde_json::json!({
                    "file": b.name,
                    "path": b.path,
                    "time": b.time.to_rfc3339(),
                    "size_bytes": b.size,
                    "age_seconds": (now - b.time).num_seconds(),
                })
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
        return Ok(Code::Ok);
    }
    writeln!(
        out,
        "{:<20}  {:>10}  {:>8}  FILE",
        "TIME (UTC)", "SIZE", "AGE"
    )?;
    for b in &backups {
        writeln!(
            out,
            "{:<20}  {:>10}  {:>8}  {}",
            b.time.format("%Y-%m-%d %H:%M:%S"),
            HumanBytes(b.size).to_string(),
            age((now - b.time).num_seconds()),
            b.name
        )?;
    }
    Ok(Code::Ok)
}

fn age(secs: i64) -> String {
    match secs {
        s if s < 3600 => format!("{}m", s.max(0) / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d {}h", s / 86_400, (s % 86_400) / 3600),
    }
}
