//! `kronic backup`: pg_dump streamed through parallel gzip into an atomic file, then
//! pruning; `list`, `verify` and `prune` for the folder.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::Utc;
use indicatif::HumanBytes;

use crate::cli::{BackupAction, BackupArgs};
use crate::config::{self, Config, vars};
use crate::crypt::Identities;
use crate::dumper::{Plan, take};
use crate::exit::{Code, classify, fail};
use crate::manifest::{HashingReader, Manifest};
use crate::repository;
use crate::retention::{Dated, Decision};
use crate::ui::say;

use super::offsite;

pub async fn run(config: impl FnOnce() -> Result<Config>, args: BackupArgs) -> Result<Code> {
    match args.action {
        None => backup(&config()?, &args).await,
        Some(BackupAction::Drill(drill)) => super::drill::run(&config()?, drill).await,
        Some(BackupAction::List { dir, remote, json }) => match remote.load()? {
            Some(remote) => offsite::list(&remote, json).await,
            None => list(&dir.path(), json),
        },
        Some(BackupAction::Sync {
            dir,
            remote_url,
            keep,
            dry_run,
        }) => {
            let remote = config::remote(remote_url)?.ok_or_else(|| {
                fail(
                    Code::Config,
                    "backup sync needs KRONIC_BACKUP_REMOTE or --remote-url s3://BUCKET/PREFIX",
                )
            })?;
            offsite::sync(&dir.path(), &remote, &keep.policy()?, dry_run).await
        }
        Some(BackupAction::Verify {
            dir,
            files,
            latest,
            remote,
            identity,
        }) => {
            if let Some(remote) = remote.load()? {
                return offsite::verify(&remote, &files, latest, identity.load()?).await;
            }
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
            verify(&files, &identity.load()?)
        }
        Some(BackupAction::Prune {
            dir,
            remote,
            keep,
            dry_run,
            json,
        }) => {
            if let Some(remote) = remote.load()? {
                let decisions = remote.prune(&keep.policy()?, dry_run).await?;
                return print_prune(&decisions, dry_run, json);
            }
            // A dry run deletes nothing, so it needs no lock.
            let _lock = if dry_run {
                None
            } else {
                Some(repository::lock(&dir.path())?)
            };
            let decisions = repository::prune(&dir.path(), &keep.policy()?, dry_run)?;
            print_prune(&decisions, dry_run, json)
        }
    }
}

async fn backup(config: &Config, args: &BackupArgs) -> Result<Code> {
    let policy = args.keep.policy()?;
    let (compression, level) = config::compression(args.compression, args.compression_level)?;
    let remote = config::remote(args.remote.clone())?;
    if args.remote_only && remote.is_none() {
        return Err(fail(
            Code::Usage,
            "--remote-only needs --remote s3://BUCKET/PREFIX or KRONIC_BACKUP_REMOTE",
        ));
    }
    let plan = Plan {
        remote,
        local: !args.remote_only,
        dir: args.dir.path(),
        compression,
        level,
        recipients: args.encrypt.recipients()?,
        metrics_file: config::path_setting(args.metrics_file.clone(), vars::BACKUP_METRICS_FILE),
        lock_wait: args.locks.policy()?.budget,
        wait: args.wait.wait,
    };
    let taken = take(config, &plan).await?;
    if taken.trusted {
        let decisions = repository::prune(&plan.dir, &policy, false)
            .context("the backup succeeded, but pruning old backups failed")?;
        let pruned = decisions.iter().filter(|d| !d.keep).count();
        if pruned > 0 {
            tracing::info!("pruned {pruned} backup(s)");
        }
    }
    // The offsite copies are pruned only after this run's upload succeeded.
    match (taken.offsite, &plan.remote) {
        (Some(Err(e)), _) => Err(e),
        (Some(Ok(())), Some(remote)) => {
            remote.prune(&policy, false).await.with_context(|| {
                format!(
                    "the backup and its offsite copy succeeded, but pruning {} failed",
                    remote.url()
                )
            })?;
            Ok(Code::Ok)
        }
        _ => Ok(Code::Ok),
    }
}

/// `migrate up --backup`: the normal backup into the normal folder, verified; its path.
pub async fn before_migration(config: &Config) -> Result<PathBuf> {
    let (compression, level) = config::compression(None, None)?;
    let plan = Plan {
        dir: config::backup_dir(None),
        compression,
        level,
        recipients: config::recipients(&[], None)?,
        metrics_file: None,
        lock_wait: config::lock_policy(None, None)?.budget,
        wait: None,
        // The safety net before migrating stays local: migrating must not depend on
        // the object store being reachable.
        remote: None,
        local: true,
    };
    let taken = take(config, &plan).await?;
    crate::dump::verify(&taken.path, &config::identities(&[])?)
        .context("the backup taken before migrating does not verify; nothing was migrated")?;
    Ok(taken.path)
}

/// Per backup, keep or remove and the rules that keep it (dry run), or what was pruned.
pub(super) fn print_prune<B: Dated>(
    decisions: &[Decision<B>],
    dry_run: bool,
    json: bool,
) -> Result<Code> {
    let mut out = std::io::stdout().lock();
    if json {
        let rows: Vec<serde_json::Value> = decisions
            .iter()
            .map(|d| {
                serde_json::json!({
                    "name": d.backup.name(),
                    "action": if d.keep { "keep" } else { "remove" },
                    "reasons": d.reasons,
                })
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
        return Ok(Code::Ok);
    }
    for d in decisions {
        match (d.keep, dry_run) {
            (true, true) => writeln!(out, "keep {} ({})", d.backup.name(), d.reasons.join(", "))?,
            (false, true) => writeln!(out, "would prune {}", d.backup.name())?,
            (false, false) => writeln!(out, "pruned {}", d.backup.name())?,
            (true, false) => {}
        }
    }
    if decisions.iter().all(|d| d.keep) {
        writeln!(out, "nothing to prune")?;
    }
    Ok(Code::Ok)
}

/// Reads the file once: every check of `dump::verify`, and the SHA-256 the manifest
/// recorded, when it has one (65 otherwise).
fn verify_file(path: &Path, identities: &Identities) -> Result<crate::dump::Verified> {
    let manifest = Manifest::read(path)?;
    let (hashing, digest) = HashingReader::new(crate::dump::open(path)?);
    let verified = crate::dump::verify_stream(hashing, identities, path)?;
    if let Some(m) = manifest {
        m.check_digest(&path.display().to_string(), &digest.get().0)?;
    }
    Ok(verified)
}

/// Verifies every file; one failure is its own error, several are each named and
/// summed up (exit code of the first).
fn verify(files: &[PathBuf], identities: &Identities) -> Result<Code> {
    let mut failed = Vec::new();
    for path in files {
        match verify_file(path, identities) {
            Ok(v) if v.content_checked => say(format!(
                "ok: {} ({} of SQL, complete)",
                path.display(),
                HumanBytes(v.sql_bytes)
            ))?,
            Ok(_) => {
                say(format!("ok: {} (age header only)", path.display()))?;
                tracing::warn!(
                    "{} is encrypted and no identity was given: only its age header was checked, not its content",
                    path.display()
                );
            }
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
    let rows: Vec<Listed> = repository::list(dir)?
        .into_iter()
        .map(|b| Listed {
            manifest: json
                .then(|| Manifest::read(&b.path).ok().flatten())
                .flatten(),
            location: ("path", b.path.display().to_string()),
            name: b.name,
            time: b.time,
            size: b.size,
        })
        .collect();
    print_list(&rows, "FILE", json)
}

/// One backup in a listing, from the folder or the bucket.
pub(super) struct Listed {
    pub name: String,
    /// `("path", …)` or `("url", …)`, for the JSON.
    pub location: (&'static str, String),
    pub time: chrono::DateTime<Utc>,
    pub size: u64,
    /// Read only for JSON.
    pub manifest: Option<Manifest>,
}

/// The listing: JSON for scripts, or a table of time, size, age and name (`title`
/// heads the last column).
pub(super) fn print_list(rows: &[Listed], title: &str, json: bool) -> Result<Code> {
    let now = Utc::now();
    let mut out = std::io::stdout().lock();
    if json {
        let rows: Vec<serde_json::Value> = rows
            .iter()
            .map(|b| {
                let mut row = serde_json::json!({ "file": b.name });
                row[b.location.0] = b.location.1.clone().into();
                row["time"] = b.time.to_rfc3339().into();
                row["size_bytes"] = b.size.into();
                row["encrypted"] = b.name.ends_with(".age").into();
                row["manifest"] = serde_json::to_value(&b.manifest).unwrap_or_default();
                row["age_seconds"] = (now - b.time).num_seconds().into();
                row
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
        return Ok(Code::Ok);
    }
    writeln!(
        out,
        "{:<20}  {:>10}  {:>8}  {title}",
        "TIME (UTC)", "SIZE", "AGE"
    )?;
    for b in rows {
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
