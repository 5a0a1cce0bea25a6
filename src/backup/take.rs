//! Taking one backup file: the folder made ready, pg_dump run with the connection's
//! settings, its output through the pipeline into a temporary file that takes its final
//! name only when the dump is complete. `kronic backup` and `migrate up --backup` use it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;
use indicatif::HumanBytes;

use crate::backup::crypt::Recipients;
use crate::backup::manifest::{DumpStats, Manifest, Observed, Sealed};
use crate::backup::metrics::{self, BackupStats};
use crate::backup::pipeline::{self, Compression, Failure, Output, Sink};
use crate::backup::remote::Remote;
use crate::backup::remote::upload::Sidecar;
use crate::backup::remote::upload::{Feed, Upload};
use crate::backup::repository;
use crate::config::Config;
use crate::fsutil::{self, TempFile};
use crate::pg::db;
use crate::pg::locks;
use crate::pg::tools::{self, Passfile};
use crate::report::exit::{Code, classify, fail, io_code};
use crate::report::progress::Progress;
use crate::report::ui::{Interrupts, done};

/// What one backup needs to know.
pub struct Plan {
    pub dir: PathBuf,
    pub compression: Compression,
    pub level: u32,
    /// Encrypt to these (every backup, when any is configured).
    pub recipients: Option<Recipients>,
    pub metrics_file: Option<PathBuf>,
    pub lock_wait: Duration,
    pub wait: Option<Duration>,
    /// Upload it here too, in the same pass.
    pub remote: Option<Remote>,
    /// Why the configured remote could not be set up (the local backup is taken
    /// anyway, and the run ends with exit 3).
    pub remote_error: Option<String>,
    /// Keep a local copy in `dir` (false: `--remote-only`).
    pub local: bool,
    /// Back up a database without tables (refused otherwise).
    pub allow_empty: bool,
    /// Sign each manifest with this key (`KRONIC_BACKUP_SIGNING_KEY`).
    pub signer: Option<std::sync::Arc<crate::backup::signing::Signer>>,
    /// Streams: above 1, a parallel backup (a folder: `parallel::take` takes it).
    pub jobs: usize,
}

/// A backup that was taken.
pub struct Taken {
    pub path: PathBuf,
    /// The folder passed the trust checks (else: no pruning).
    pub trusted: bool,
    /// How the offsite copy went, when there was one (the error says the local backup
    /// was kept).
    pub offsite: Option<Result<()>>,
}

/// Takes one backup into `plan.dir` (and to the remote): checks and locks the folder,
/// connects, starts the upload, runs pg_dump through the pipeline into a temporary file,
/// gives it its final name only when the dump is complete, then completes the upload.
pub async fn take(config: &Config, plan: &Plan) -> Result<Taken> {
    let dir = &plan.dir;
    // A file-size limit (ulimit -f) must fail the write, not kill kronic mid-file.
    let _xfsz = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::from_raw(25));
    let (trusted, _lock) = prepare(plan)?;
    // Uploads an earlier run could not abort are written down in the folder (only a
    // trusted one: a planted list could name other uploads to abort).
    let journal = (plan.local && trusted).then_some(dir.as_path());

    // Connect first: configuration, authentication and version problems are reported
    // before any file exists.
    let client = db::connect_wait(&config.db, plan.wait).await?;
    let major = tools::server_major(&client).await?;
    let server = describe_server(&client).await?;
    if server.tables == 0 && !plan.allow_empty {
        return Err(fail(
            Code::DataErr,
            format!(
                "{} has no tables: there is nothing to back up (migrations not applied yet, or the wrong database?); --allow-empty backs it up anyway",
                config.db.display()
            ),
        ));
    }
    drop(client);
    let pg_dump = tools::find("pg_dump", major).await?;

    let (remote, mut offsite_failed) = usable_remote(plan).await?;
    let name = free_name(plan, remote).await?;
    let dest = dir.join(&name);
    // From here a signal must not kill kronic outright (an upload may exist to abort):
    // it ends the dump, or waits for the step that cannot be cut short.
    let mut interrupts = Interrupts::listen();
    let mut upload = match start_upload(remote, &name, journal, &mut interrupts).await {
        Ok(u) => u,
        Err(e) if plan.local && classify(&e) != Code::Interrupted => {
            offsite_failed = Some(e);
            None
        }
        Err(e) => return Err(e),
    };
    let started_at = Utc::now();
    let feed = upload.as_mut().map(Upload::feed);
    let dumped = write_backup(config, plan, &pg_dump, &dest, feed, &mut interrupts).await;
    let (stats, dumped) = match dumped {
        Ok(w) => w,
        Err(e) => {
            let cause = match upload {
                Some(u) => u.abort().await,
                None => None,
            };
            // Without a local file the upload is the backup: its failure is the cause.
            return Err(match cause {
                Some(c) if !plan.local => fail(
                    crate::report::exit::classify(&c),
                    format!("{c:#}; no backup was written and none was pruned"),
                ),
                _ => e,
            });
        }
    };
    let manifest = manifest_of(config, plan, &name, server, started_at, &stats, dumped);
    if plan.local {
        let kept = Sealed::seal(&manifest, plan.signer.as_deref())
            .and_then(|sealed| Manifest::write(&sealed, &dest));
        if let Err(e) = kept {
            if let Some(u) = upload {
                u.abort().await;
            }
            // A backup without its manifest is one that verify and drills fail and a
            // restore only warns about: it goes, so that list, verify and drill agree
            // there is none (disk full: free space and run the backup again).
            let _ = repository::remove_backup(&dest);
            return Err(fail(
                classify(&e),
                format!(
                    "{e:#}: the manifest of {name} could not be written, so the backup was removed (free space, then run the backup again); no backup was pruned"
                ),
            ));
        }
        done(format!("Backup completed: {name}"))?;
    }
    log_stats(&name, &stats);

    // The dump is complete and the local file durable: now the object may appear.
    let offsite = match upload {
        None => offsite_failed.map(|e| Err(local_only(&name, &e))),
        Some(u) => Some(complete_upload(plan, &name, u, &stats, manifest, &mut interrupts).await?),
    };
    settle(config, plan, &name, &stats, &offsite, &mut interrupts)?;
    Ok(Taken {
        path: dest,
        trusted,
        offsite,
    })
}

/// The remote to upload to, checked before anything is dumped. One that is
/// misconfigured, unreachable or refusing never costs the local backup: there is none,
/// and the error is returned beside it for the run to end with exit 3; unless the
/// upload is the backup (--remote-only), when it is the backup's error.
pub(crate) async fn usable_remote(plan: &Plan) -> Result<(Option<&Remote>, Option<anyhow::Error>)> {
    let failed = plan.remote_error.clone().map(|e| fail(Code::Config, e));
    let Some(r) = plan.remote.as_ref() else {
        return Ok((None, failed));
    };
    match r.check().await {
        Ok(()) => Ok((Some(r), failed)),
        Err(e) if plan.local => Ok((None, Some(e))),
        Err(e) => Err(e),
    }
}

/// Starts the upload of `name`, when there is a remote: also the check that the bucket
/// can be written to, before pg_dump runs. A signal meanwhile aborts it again.
async fn start_upload(
    remote: Option<&Remote>,
    name: &str,
    journal: Option<&Path>,
    interrupts: &mut Interrupts,
) -> Result<Option<Upload>> {
    let Some(remote) = remote else {
        return Ok(None);
    };
    if let Some(dir) = journal {
        remote.finish_journal(dir).await;
    }
    let upload = remote.start_upload(name, journal).await?;
    if interrupts.pending() {
        upload.abort().await;
        return Err(fail(
            Code::Interrupted,
            "interrupted before the dump started: no backup was written and none was pruned",
        ));
    }
    Ok(Some(upload))
}

/// Completes the upload and says so. With a local copy, a failure is reported as the
/// outcome (the local backup was kept); without one, it is the backup's failure.
async fn complete_upload(
    plan: &Plan,
    name: &str,
    upload: Upload,
    stats: &BackupStats,
    manifest: Manifest,
    interrupts: &mut Interrupts,
) -> Result<Result<()>> {
    let url = upload.url();
    let (size, sha256) = (stats.out_bytes, &stats.sha256);
    let sidecar = Sidecar::Fresh(Box::new(manifest), plan.signer.clone());
    match upload.complete(size, sha256, sidecar, interrupts).await {
        Ok(()) => {
            let what = if plan.local { "Offsite copy" } else { "Backup" };
            done(format!("{what} completed: {url}"))?;
            Ok(Ok(()))
        }
        Err(e) if plan.local => Ok(Err(local_only(name, &e))),
        Err(e) => Err(fail(
            crate::report::exit::classify(&e),
            format!("{e:#}; no backup was written and none was pruned"),
        )),
    }
}

/// The local backup was kept, its offsite copy failed (exit 3).
pub(crate) fn local_only(name: &str, e: &anyhow::Error) -> anyhow::Error {
    fail(
        Code::LocalOnly,
        format!(
            "local backup kept: {name}; offsite copy failed: {e:#} (kronic backup sync uploads it later)"
        ),
    )
}

/// After a backup was kept: the metrics file; then, if a signal came while the backup
/// was being completed, the stop it asked for (nothing is pruned).
pub(crate) fn settle(
    config: &Config,
    plan: &Plan,
    name: &str,
    stats: &BackupStats,
    offsite: &Option<Result<()>>,
    interrupts: &mut Interrupts,
) -> Result<()> {
    if let Some(path) = &plan.metrics_file {
        let remote_ok = offsite.as_ref().map(Result::is_ok);
        metrics::write_backup(path, &config.db, stats, remote_ok).with_context(|| {
            format!("the backup {name} was kept, but the metrics file was not written")
        })?;
    }
    if !interrupts.pending() {
        return Ok(());
    }
    let copies = match offsite {
        Some(Ok(())) => " (locally and offsite)",
        Some(Err(_)) => " locally; its offsite copy was aborted",
        None => "",
    };
    Err(fail(
        Code::Interrupted,
        format!(
            "interrupted while the backup was completed: {name} was kept{copies}; none was pruned"
        ),
    ))
}

/// What the manifest records of this backup.
fn manifest_of(
    config: &Config,
    plan: &Plan,
    name: &str,
    server: Server,
    started_at: chrono::DateTime<Utc>,
    stats: &BackupStats,
    dumped: DumpStats,
) -> Manifest {
    Manifest {
        kronic_version: env!("CARGO_PKG_VERSION").into(),
        server_version: server.version,
        database: config.db.display(),
        schema_version: server.schema_version,
        started_at: started_at.to_rfc3339(),
        finished_at: Utc::now().to_rfc3339(),
        compression: plan.compression.name().into(),
        compressed_bytes: stats.out_bytes,
        sql_bytes: stats.sql_bytes,
        sha256: stats.sha256.clone(),
        recipients: plan
            .recipients
            .as_ref()
            .map(|r| r.names().to_vec())
            .unwrap_or_default(),
        tables: dumped.tables,
        indexes: dumped.indexes,
        constraints: dumped.constraints,
        extensions: server.extensions,
        name: Some(name.to_string()),
        system_identifier: server.system_identifier,
        format: Some(crate::backup::manifest::FORMAT),
        members: Vec::new(),
    }
}

pub(crate) fn log_stats(name: &str, stats: &BackupStats) {
    let secs = stats.elapsed.as_secs_f64().max(1e-3);
    tracing::info!(
        "{name}: {} compressed from {} of SQL in {:.1}s ({}/s)",
        HumanBytes(stats.out_bytes),
        HumanBytes(stats.sql_bytes),
        secs,
        HumanBytes((stats.sql_bytes as f64 / secs) as u64)
    );
}

/// The backup's bytes, into a temporary file that takes its final name only when the
/// dump is complete (when keeping a local copy), and into `feed` (when uploading).
async fn write_backup(
    config: &Config,
    plan: &Plan,
    pg_dump: &tools::Tool,
    dest: &Path,
    feed: Option<Feed>,
    interrupts: &mut Interrupts,
) -> Result<(BackupStats, DumpStats)> {
    if !plan.local {
        tracing::info!(
            "backing up {} to {} with {}",
            config.db.display(),
            plan.remote.as_ref().map_or("", |r| r.url()),
            pg_dump.path.display()
        );
        return run_pg_dump(config, plan, pg_dump, Sink::new(None, feed), interrupts).await;
    }
    let (tmp, file) = TempFile::create(dest)?;
    tracing::info!(
        "backing up {} to {} with {}",
        config.db.display(),
        dest.display(),
        pg_dump.path.display()
    );
    let sink = Sink::new(Some(file), feed);
    let dumped = run_pg_dump(config, plan, pg_dump, sink, interrupts).await?;
    tmp.persist_new(dest)?;
    Ok(dumped)
}

/// What the manifest records of the server as the dump starts.
pub(crate) struct Server {
    pub version: String,
    /// The newest applied migration (None without kronic's history).
    pub schema_version: Option<i32>,
    /// Extensions and their versions (plpgsql, always there, left out).
    pub extensions: std::collections::BTreeMap<String, String>,
    /// Tables outside the system schemas.
    pub tables: i64,
    /// pg_control_system()'s, when the role may read it.
    pub system_identifier: Option<String>,
}

pub(crate) async fn describe_server(client: &tokio_postgres::Client) -> Result<Server> {
    let row = db::query(client, "SELECT current_setting('server_version')", &[])
        .await?
        .remove(0);
    let schema_version = crate::schema::migrations::schema_version(client).await?;
    let extensions = db::query(
        client,
        "SELECT extname::text, extversion FROM pg_extension WHERE extname <> 'plpgsql'",
        &[],
    )
    .await?
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect();
    let tables: i64 = db::query(
        client,
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p') AND n.nspname <> 'information_schema' \
           AND n.nspname NOT LIKE 'pg\\_%'",
        &[],
    )
    .await?[0]
        .get(0);
    // Superusers and members of pg_read_all_stats may read it; others record none.
    let system_identifier = db::query(
        client,
        "SELECT system_identifier::text FROM pg_control_system()",
        &[],
    )
    .await
    .ok()
    .and_then(|rows| rows.first().map(|r| r.get(0)));
    Ok(Server {
        version: row.get(0),
        schema_version,
        extensions,
        tables,
        system_identifier,
    })
}

/// The folder: created, checked (a folder others can write to still gets its backup,
/// but kronic will not prune or pick "latest" there: said once, with the fix), locked,
/// swept of temporary files of killed runs. Also the metrics file's folder. Without a
/// local copy, only the latter.
pub(crate) fn prepare(plan: &Plan) -> Result<(bool, Option<repository::FolderLock>)> {
    if let Some(path) = &plan.metrics_file {
        metrics::check_writable(path)?;
    }
    if !plan.local {
        return Ok((false, None));
    }
    let dir = &plan.dir;
    fsutil::create_private_dir(dir)?;
    repository::not_root_in_anothers_folder(dir)?;
    let trusted = match repository::trusted_dir(dir) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!("{e:#}; backing up anyway, but not pruning");
            false
        }
    };
    let lock = repository::lock(dir)?;
    repository::remove_stale_temp_files(dir, &lock);
    Ok((trusted, Some(lock)))
}

/// This second's backup name (its suffix from the plan); when a backup of this very
/// second exists (two runs back to back), locally or in the bucket, the next second's,
/// rather than failing after a whole dump.
pub(crate) async fn free_name(plan: &Plan, remote: Option<&Remote>) -> Result<String> {
    let encrypted = if plan.recipients.is_some() {
        ".age"
    } else {
        ""
    };
    let suffix = &match plan.jobs > 1 {
        true => crate::backup::parallel::SUFFIX.to_string(),
        false => format!("{}{encrypted}", plan.compression.suffix()),
    };
    let taken = async |name: &str| -> Result<Option<String>> {
        if plan.local && plan.dir.join(name).exists() {
            return Ok(Some(plan.dir.join(name).display().to_string()));
        }
        match remote {
            Some(r) if r.exists(name).await? => Ok(Some(r.url_of(name))),
            _ => Ok(None),
        }
    };
    let mut name = repository::backup_name(Utc::now(), suffix);
    if taken(&name).await?.is_some() {
        let now = Utc::now();
        let wait = 1000 - i64::from(now.timestamp_subsec_millis());
        tokio::time::sleep(Duration::from_millis(wait.max(1) as u64)).await;
        name = repository::backup_name(Utc::now(), suffix);
    }
    if let Some(existing) = taken(&name).await? {
        return Err(fail(
            Code::CantCreate,
            format!("{existing} already exists; not overwritten"),
        ));
    }
    Ok(name)
}

/// pg_dump into `file`, interruptible; a lock timeout names who holds the lock.
async fn run_pg_dump(
    config: &Config,
    plan: &Plan,
    pg_dump: &tools::Tool,
    sink: Sink,
    interrupts: &mut Interrupts,
) -> Result<(BackupStats, DumpStats)> {
    let pass = Passfile::new(&config.db)?;
    let mut cmd = tools::command(pg_dump, &config.db, &pass);
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
    // Ciphertext only ever reaches the file: pg_dump → compression → age → file.
    let output = Output::new(sink, plan.recipients.as_ref())?;
    let (child, stdout) = tools::spawn("pg_dump", cmd, pass)?;
    let stats = tokio::select! {
        r = dump(child, stdout, output, plan) => r,
        _ = interrupts.arrived() => Err(fail(
            Code::Interrupted,
            "interrupted: the partial backup was removed and no backup was pruned",
        )),
    };
    match stats {
        Err(e) if classify(&e) == Code::TempFail => {
            let who = locks::exclusive_holders(&config.db).await;
            Err(match who {
                Some(w) => fail(Code::TempFail, format!("{e:#}; waiting for a lock on {w}")),
                None => e,
            })
        }
        r => r,
    }
}

/// Streams pg_dump's output into `file` through gzip on a plain thread; checks pg_dump's
/// exit status and that the dump is complete.
async fn dump(
    mut child: tools::Running,
    stdout: std::fs::File,
    output: Output,
    plan: &Plan,
) -> Result<(BackupStats, DumpStats)> {
    let mut progress = Progress::new("dumped", None);
    let (compression, level) = (plan.compression, plan.level);
    let writer = tokio::task::spawn_blocking(move || {
        // Rows and objects are counted from the stream itself: pg_dump's snapshot.
        let mut dumped = DumpStats::new();
        let input = Observed {
            inner: stdout,
            stats: &mut dumped,
        };
        let result = pipeline::compress(input, output, compression, level, &mut progress);
        (result, progress.elapsed(), dumped)
    });
    let (flowed, elapsed, dumped) = writer.await.context("the compression task failed")?;
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
    dump_complete(finished, flowed.complete)?;
    Ok((
        BackupStats {
            sql_bytes: flowed.sql_bytes,
            out_bytes: flowed.out_bytes,
            sha256: flowed.sha256,
            elapsed,
        },
        dumped,
    ))
}

/// pg_dump's exit status, then its output's end: a dump is whole only with both.
pub(crate) fn dump_complete(finished: Result<()>, complete: bool) -> Result<()> {
    finished.map_err(|e| {
        fail(
            crate::report::exit::classify(&e),
            format!("{e:#}; no backup was written and none was pruned"),
        )
    })?;
    if !complete {
        return Err(fail(
            Code::Software,
            "pg_dump exited 0 but its output lacks the \"dump complete\" line; no backup was written",
        ));
    }
    Ok(())
}

/// `migrate up --backup`: the normal backup into the normal folder, verified; its path.
pub async fn before_migration(config: &Config) -> Result<PathBuf> {
    let (compression, level) = crate::backup::settings::compression(None, None)?;
    let plan = Plan {
        dir: crate::backup::settings::backup_dir(None),
        compression,
        level,
        recipients: crate::backup::settings::recipients(&[], None)?,
        metrics_file: None,
        lock_wait: crate::config::lock_policy(None, None)?.budget,
        wait: None,
        // The safety net before migrating stays local: migrating must not depend on
        // the object store being reachable.
        remote: None,
        remote_error: None,
        local: true,
        // Migrating an empty database is how every database starts.
        allow_empty: true,
        signer: crate::backup::settings::signer()?,
        jobs: 1,
    };
    let taken = take(config, &plan).await?;
    crate::backup::source::Source::file(
        taken.path.clone(),
        crate::backup::settings::identities(&[])?,
    )?
    .verify()
    .await
    .context("the backup taken before migrating does not verify; nothing was migrated")?;
    Ok(taken.path)
}
