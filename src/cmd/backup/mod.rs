//! `kronic backup`: one backup (taken by `backup::take`), then pruning; and the
//! dispatch of its subcommands (list, verify, drill, prune, sync).

mod drill;
mod list;
mod sync;
mod verify;

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::backup::source::Wanted;
use crate::backup::take::{Plan, take};
use crate::backup::{repository, settings, signing};
use crate::cli::{BackupAction, BackupArgs};
use crate::config::{self, Config, vars};
use crate::report::exit::{Code, fail};
use crate::report::ui::say;

pub async fn run(config: impl FnOnce() -> Result<Config>, args: BackupArgs) -> Result<Code> {
    match args.action {
        None => backup(&config()?, &args).await,
        Some(BackupAction::Drill(drill)) => drill::run(&config()?, drill).await,
        Some(BackupAction::List { dir, remote, json }) => match remote.load()? {
            Some(remote) => list::list_remote(&remote, json).await,
            None => list::list(&dir.path(), json),
        },
        Some(BackupAction::Sync {
            dir,
            remote_url,
            keep,
            dry_run,
        }) => {
            let remote = settings::remote(remote_url)?.ok_or_else(|| {
                fail(
                    Code::Config,
                    "backup sync needs KRONIC_BACKUP_REMOTE or --remote-url s3://BUCKET/PREFIX",
                )
            })?;
            let trust = settings::trust(false, false)?;
            sync::sync(&dir.path(), &remote, &keep.policy()?, dry_run, &trust).await
        }
        Some(BackupAction::Keygen {
            secret_key,
            public_key,
            password_file,
        }) => keygen(secret_key, public_key, password_file),
        Some(BackupAction::Verify {
            dir,
            files,
            latest,
            from_database,
            allow_unsigned,
            remote,
            identity,
        }) => {
            let files = match remote.name() {
                Some(name) if files.is_empty() => vec![name],
                _ => files,
            };
            let remote = remote.load()?;
            // The newest must be the configured database's, when one is configured
            // (verify also runs on a host with no database settings).
            let database = match latest {
                true => config().ok().map(|c| c.db.dbname),
                false => None,
            };
            let trust = settings::trust(allow_unsigned, latest)?;
            let want = Wanted {
                trust: &trust,
                database: database.as_deref(),
                from_database: from_database.as_deref(),
            };
            verify::run(
                &files,
                latest,
                &want,
                &dir.path(),
                remote.as_ref(),
                identity.load()?,
            )
            .await
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
                return list::print_prune(&decisions, dry_run, json);
            }
            // A dry run deletes nothing, so it needs no lock.
            let _lock = if dry_run {
                None
            } else {
                Some(repository::lock(&dir.path())?)
            };
            let decisions = repository::prune(&dir.path(), &keep.policy()?, dry_run)?;
            list::print_prune(&decisions, dry_run, json)
        }
    }
}

async fn backup(config: &Config, args: &BackupArgs) -> Result<Code> {
    let policy = args.keep.policy()?;
    let (compression, level) = settings::compression(args.compression, args.compression_level)?;
    // A remote whose settings are wrong still lets the local backup be taken (exit 3),
    // unless the upload is the backup.
    let (remote, remote_error) = match settings::remote(args.remote.clone()) {
        Ok(r) => (r, None),
        Err(e) if !args.remote_only => (None, Some(format!("{e:#}"))),
        Err(e) => return Err(e),
    };
    if args.remote_only && remote.is_none() {
        return Err(fail(
            Code::Usage,
            "--remote-only needs --remote s3://BUCKET/PREFIX or KRONIC_BACKUP_REMOTE",
        ));
    }
    let plan = Plan {
        remote,
        remote_error,
        local: !args.remote_only,
        allow_empty: args.allow_empty,
        dir: args.dir.path(),
        compression,
        level,
        recipients: args.encrypt.recipients()?,
        metrics_file: config::path_setting(args.metrics_file.clone(), vars::BACKUP_METRICS_FILE),
        lock_wait: args.locks.policy()?.budget,
        wait: args.wait.wait,
        signer: settings::signer()?,
        jobs: settings::jobs(args.jobs, 1)?,
    };
    let taken = match plan.jobs {
        1 => take(config, &plan).await?,
        _ => crate::backup::parallel::take::take(config, &plan).await?,
    };
    if taken.trusted {
        let decisions = repository::prune(&plan.dir, &policy, false)
            .context("the backup succeeded, but pruning old backups failed")?;
        log_pruned(&plan.dir.display().to_string(), &decisions);
    }
    // The offsite copies are pruned only after this run's upload succeeded.
    match (taken.offsite, &plan.remote) {
        (Some(Err(e)), _) => Err(e),
        (Some(Ok(())), Some(remote)) => {
            let decisions = remote.prune(&policy, false).await.with_context(|| {
                format!(
                    "the backup and its offsite copy succeeded, but pruning {} failed",
                    remote.url()
                )
            })?;
            log_pruned(remote.url(), &decisions);
            Ok(Code::Ok)
        }
        _ => Ok(Code::Ok),
    }
}

/// One line naming what a backup's pruning removed from `place`, if anything.
fn log_pruned<B: crate::backup::retention::Dated>(
    place: &str,
    decisions: &[crate::backup::retention::Decision<B>],
) {
    let gone: Vec<&str> = decisions
        .iter()
        .filter(|d| !d.keep)
        .map(|d| d.backup.name())
        .collect();
    if !gone.is_empty() {
        tracing::info!(
            "pruned {} backup(s) in {place}: {}",
            gone.len(),
            gone.join(", ")
        );
    }
}

/// `backup keygen`: the key pair, where it went, and the key id minisign shows.
fn keygen(
    secret: Option<PathBuf>,
    public: Option<PathBuf>,
    password_file: Option<PathBuf>,
) -> Result<Code> {
    let secret = secret
        .or_else(|| config::env(vars::BACKUP_SIGNING_KEY).map(PathBuf::from))
        .ok_or_else(|| {
            fail(
                Code::Usage,
                "backup keygen needs --secret-key FILE (or KRONIC_BACKUP_SIGNING_KEY)",
            )
        })?;
    let public = public.unwrap_or_else(|| secret.with_extension("pub"));
    let password = match &password_file {
        Some(f) => Some(
            std::fs::read_to_string(f)
                .map_err(|e| fail(Code::NoInput, format!("cannot read {}: {e}", f.display())))?
                .trim_end_matches(['\n', '\r'])
                .to_string(),
        ),
        None => None,
    };
    let id = signing::keygen(&secret, &public, password)?;
    say(format!(
        "key {id}: secret key {} (0600: on a packaged host, chgrp kronic and chmod 640 it), public key {} (into KRONIC_BACKUP_TRUSTED_KEYS where backups are restored, and keep a copy offsite)",
        secret.display(),
        public.display()
    ))?;
    Ok(Code::Ok)
}
