//! `kronic backup`: pg_dump streamed through parallel gzip into an atomic file, then
//! pruning; `list`, `verify` and `prune` for the folder.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;
use indicatif::HumanBytes;

use crate::cli::{BackupAction, BackupArgs};
use crate::config::{self, Config, vars};
use crate::db;
use crate::exit::{Code, classify, fail, io_code};
use crate::fsutil::{self, TempFile};
use crate::locks;
use crate::metrics::{self, BackupStats};
use crate::pipeline::{self, Failure};
use crate::process::{self, Passfile};
use crate::progress::Progress;
use crate::repository;
use crate::ui::{say, shutdown_signal};

pub async fn run(config: impl FnOnce() -> Result<Config>, args: BackupArgs) -> Result<Code> {
    match args.action {
        Some(action) => offline(action),
        None => backup(&config()?, &args).await,
    }
}

/// What one backup needs to know.
struct Plan {
    dir: PathBuf,
    level: u32,
    metrics_file: Option<PathBuf>,
    lock_wait: Duration,
    wait: Option<Duration>,
}

async fn backup(config: &Config, args: &BackupArgs) -> Result<Code> {
    let keep_days = args.keep.days()?;
    let plan = Plan {
        dir: args.dir.path(),
        level: args.compression_level,
        metrics_file: config::path_setting(args.metrics_file.clone(), vars::BACKUP_METRICS_FILE),
        lock_wait: args.locks.policy()?.budget,
        wait: args.wait.wait,
    };
    let taken = take(config, &plan).await?;
    if !taken.trusted {
        return Ok(Code::Ok);
    }
    let pruned = repository::prune(&plan.dir, keep_days, false)
        .context("the backup succeeded, but pruning old backups failed")?;
    if !pruned.is_empty() {
        tracing::info!(
            "pruned {} backup(s) older than {keep_days} days",
            pruned.len()
        );
    }
    Ok(Code::Ok)
}

/// `migrate up --backup`: the normal backup into the normal folder, verified; its path.
pub async fn before_migration(config: &Config) -> Result<PathBuf> {
    let plan = Plan {
        dir: config::backup_dir(None),
        level: 6,
        metrics_file: None,
        lock_wait: config::lock_policy(None, None)?.budget,
        wait: None,
    };
    let taken = take(config, &plan).await?;
    crate::dump::verify(&taken.path)
        .context("the backup taken before migrating does not verify; nothing was migrated")?;
    Ok(taken.path)
}

struct Taken {
    path: PathBuf,
    /// The folder passed the trust checks (else: no pruning).
    trusted: bool,
}

async fn take(config: &Config, plan: &Plan) -> Result<Taken> {
    let dir = &plan.dir;
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
    if let Some(path) = &plan.metrics_file {
        metrics::check_writable(path)?;
    }
    let lock = repository::lock(dir)?;
    repository::remove_stale_temp_files(dir, &lock);

    // Connect first: configuration, authentication and version problems are reported
    // before any file exists.
    let client = db::connect_wait(&config.db, plan.wait).await?;
    let major = process::server_major(&client).await?;
    drop(client);
    let pg_dump = process::find("pg_dump", major).await?;

    let mut name = repository::backup_name(Utc::now());
    if dir.join(&name).exists() {
        // A backup from this very second exists (two runs back to back): take the next
        // second's name rather than fail after a whole dump.
        let now = Utc::now();
        let next =
            now + chrono::Duration::milliseconds(1000 - i64::from(now.timestamp_subsec_millis()));
        tokio::time::sleep((next - now).to_std().unwrap_or_default()).await;
        name = repository::backup_name(Utc::now());
    }
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
    let mut cmd = process::command(&pg_dump, &config.db, &pass);
    cmd.args([
        "--format=plain",
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-privileges",
    ])
    // pg_dump waits for each table's lock at most this long (an application holding
    // ACCESS EXCLUSIVE), instead of forever while holding the folder's lock.
    .arg(format!(
        "--lock-wait-timeout={}ms",
        plan.lock_wait.as_millis().max(1)
    ));
    let (child, stdout) = process::spawn("pg_dump", cmd, pass)?;
    let stats = tokio::select! {
        r = dump(child, stdout, file, plan.level) => r,
        _ = shutdown_signal() => Err(fail(
            Code::Interrupted,
            "interrupted: the partial backup was removed and no backup was pruned",
        )),
    };
    let stats = match stats {
        Err(e) if classify(&e) == Code::TempFail => {
            // Say who holds the lock pg_dump waited for.
            let who = locks::exclusive_holders(&config.db).await;
            return Err(match who {
                Some(w) => fail(Code::TempFail, format!("{e:#}; waiting for a lock on {w}")),
                None => e,
            });
        }
        r => r?,
    };
    tmp.persist_new(&dest)?;

    say(format!("Backup completed: {name}"))?;
    let secs = stats.elapsed.as_secs_f64().max(1e-3);
    tracing::info!(
        "{name}: {} compressed from {} of SQL in {:.1}s ({}/s)",
        HumanBytes(stats.out_bytes),
        HumanBytes(stats.sql_bytes),
        secs,
        HumanBytes((stats.sql_bytes as f64 / secs) as u64)
    );
    if let Some(path) = &plan.metrics_file {
        metrics::write_backup(path, &config.db, &stats).with_context(|| {
            format!("the backup {name} was kept, but the metrics file was not written")
        })?;
    }
    Ok(Taken {
        path: dest,
        trusted,
    })
}

/// Streams pg_dump's output into `file` through gzip on a plain thread; checks pg_dump's
/// exit status and that the dump is complete.
async fn dump(
    mut child: process::Running,
    stdout: std::fs::File,
    file: std::fs::File,
    level: u32,
) -> Result<BackupStats> {
    let mut progress = Progress::new("dumped", None);
    let writer = tokio::task::spawn_blocking(move || {
        let result = pipeline::gzip(stdout, file, level, &mut progress);
        (result, progress.elapsed())
    });
    let (flowed, elapsed) = writer.await.context("the compression task failed")?;
    if flowed.is_err() {
        child.kill();
    }
    let finished = child.finish().await;
    // The root cause first: a failed write makes pg_dump die of a broken pipe.
    let flowed = match flowed {
        Ok(f) => f,
        Err(Failure::Write(e)) => {
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
        Err(Failure::Read(e)) => {
            return Err(fail(
                Code::IoErr,
                format!("cannot read pg_dump's output: {e}"),
            ));
        }
    };
    finished.map_err(|e| {
        fail(
            crate::exit::classify(&e),
            format!("{e:#}; no backup was written and none was pruned"),
        )
    })?;
    if !flowed.complete {
        return Err(fail(
            Code::Software,
            "pg_dump exited 0 but its output lacks the \"dump complete\" line; no backup was written",
        ));
    }
    Ok(BackupStats {
        sql_bytes: flowed.sql_bytes,
        out_bytes: flowed.out_bytes,
        elapsed,
    })
}

/// `list`, `verify` and `prune`: no database needed.
fn offline(action: BackupAction) -> Result<Code> {
    match action {
        BackupAction::List { dir, json } => list(&dir.path(), json),
        BackupAction::Verify { dir, files, latest } => {
            let files = match (files.is_empty(), latest) {
                (true, true) => vec![repository::latest(&dir.path())?.path],
                (true, false) => {
                    return Err(fail(
                        Code::Usage,
                        "backup verify needs backup FILEs, or --latest for the newest in the backup folder",
                    ));
                }
                (false, _) => files,
            };
            verify(&files)
        }
        BackupAction::Prune { dir, keep, dry_run } => {
            let _lock = if dry_run {
                None
            } else {
                Some(repository::lock(&dir.path())?)
            };
            let gone = repository::prune(&dir.path(), keep.days()?, dry_run)?;
            let verb = if dry_run { "would prune" } else { "pruned" };
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

/// Verifies every file; one failure is its own error, several are each named and
/// summed up (exit code of the first).
fn verify(files: &[PathBuf]) -> Result<Code> {
    let mut failed = Vec::new();
    for path in files {
        match crate::dump::verify(path) {
            Ok(sql) => say(format!(
                "ok: {} ({} of SQL, complete)",
                path.display(),
                HumanBytes(sql)
            ))?,
            Err(e) if files.len() == 1 => return Err(e),
            Err(e) => {
                eprintln!("kronic: error: {e:#}");
                failed.push((path, classify(&e)));
            }
        }
    }
    match failed.first() {
        None => Ok(Code::Ok),
        Some((_, code)) => Err(fail(
            *code,
            format!(
                "{} of {} backups failed verification: {}",
                failed.len(),
                files.len(),
                failed
                    .iter()
                    .map(|(p, _)| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
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
