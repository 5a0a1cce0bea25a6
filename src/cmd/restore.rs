//! `kronic restore`: kronic applies the backup itself, over its own connection, in one
//! transaction that it commits only after the whole file was read, checked and allowed.
//! The file is never given to psql: a backup is data, not a program (see `dump` and
//! `restorer`).

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use indicatif::HumanBytes;

use crate::cli::{RemoteSel, RestoreArgs};
use crate::config::{self, Config, DbConfig};
use crate::crypt::Identities;
use crate::db;
use crate::exit::{Code, fail};
use crate::repository;
use crate::restorer::{self, Source};

/// Looks at the target before asking: it must exist, or be created with --create
/// (`missing`). A connection when it exists.
async fn look_at_target(
    target: &DbConfig,
    args: &RestoreArgs,
) -> Result<(Option<tokio_postgres::Client>, bool)> {
    match db::connect_wait(target, args.apply.wait.wait).await {
        Ok(c) => {
            restorer::refuse_template(&c, target).await?;
            Ok((Some(c), false))
        }
        Err(e) => match (args.create, restorer::exists(target).await) {
            (true, Ok(false)) => Ok((None, true)),
            (false, Ok(false)) if args.target_db.is_some() => Err(fail(
                Code::Unavailable,
                format!(
                    "database {} does not exist on {}: add --create to create it",
                    target.dbname,
                    target.display()
                ),
            )),
            _ => Err(e),
        },
    }
}

/// The backup a restore or a drill reads: `file` (a path, or an object's s3:// URL); with
/// `--remote`, the object `file` names under the prefix, or the bucket's newest; else
/// the folder's newest, when `latest`.
pub async fn source(
    file: Option<&Path>,
    remote: &RemoteSel,
    latest: bool,
    dir: &Path,
    identities: Identities,
) -> Result<Source> {
    let backup_name = |name: &str, shown: &str| match repository::parse_backup_name(name) {
        Some(_) => Ok(()),
        None => Err(fail(
            Code::Usage,
            format!(
                "{shown} does not name a kronic backup (kronic_backup_YYYYmmdd_HHMMSS.sql.gz and the like)"
            ),
        )),
    };
    if let Some(url) = file.and_then(Path::to_str).filter(|f| f.contains("://")) {
        let (location, name) = url.rsplit_once('/').unwrap_or((url, ""));
        let remote = config::remote(Some(location.to_string()))?
            .ok_or_else(|| fail(Code::Usage, format!("{url} names no bucket")))?;
        backup_name(name, url)?;
        return Source::object(&remote, name, identities).await;
    }
    if let Some(remote) = remote.load()? {
        let name = match file {
            Some(f) => {
                let name = f.to_string_lossy().into_owned();
                backup_name(&name, &remote.url_of(&name))?;
                name
            }
            None if latest => remote.latest().await?.name,
            None => {
                return Err(fail(
                    Code::Usage,
                    "--remote needs a backup NAME or --latest (or give the object's s3:// URL)",
                ));
            }
        };
        return Source::object(&remote, &name, identities).await;
    }
    let path = match (file, latest) {
        (Some(f), _) => f.to_path_buf(),
        (None, true) => repository::latest(dir)?.path,
        (None, false) => {
            return Err(fail(
                Code::Usage,
                "restore needs a backup FILE, or --latest for the newest in the backup folder",
            ));
        }
    };
    Source::open(path, identities)
}

pub async fn run(config: &Config, args: RestoreArgs) -> Result<Code> {
    let target = match &args.target_db {
        Some(name) => config.db.other_db("--target-db", name)?,
        None => config.db.clone(),
    };
    let src = source(
        args.file.as_deref(),
        &args.remote,
        args.latest,
        &args.dir.path(),
        args.apply.identity.load()?,
    )
    .await?;

    let (client, missing) = look_at_target(&target, &args).await?;

    let when = src
        .time
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "unknown time".into());
    let what = format!(
        "{} ({when}, {}) into {}",
        src.path.display(),
        HumanBytes(src.size),
        target.display(),
    );
    let question = format!(
        "Restore {what}{}? Its current contents will be replaced",
        if missing { " (to be created)" } else { "" }
    );
    crate::ui::confirm(&question, args.yes)?;

    let client = match client {
        Some(c) => c,
        None => {
            restorer::create(&target).await?;
            db::connect(&target).await?
        }
    };
    tracing::info!("restoring {what}");
    db::guard_session(&client).await;
    let policy = args.apply.locks.policy()?;
    let cancel = client.cancel_token();
    let started = Instant::now();
    let restored = tokio::select! {
        r = restorer::restore(&client, &target, &src, policy) => r,
        _ = crate::ui::shutdown_signal() => {
            db::cancel(&cancel, &target).await;
            Err(fail(
                Code::Interrupted,
                format!("interrupted: the restore was rolled back; {} is unchanged", target.display()),
            ))
        }
    }?;
    let secs = started.elapsed().as_secs_f64();
    crate::ui::say(format!(
        "Restore completed: {} into {} ({} of SQL from {} in {secs:.1}s)",
        src.path.display(),
        target.display(),
        HumanBytes(restored.sql_bytes),
        HumanBytes(src.size)
    ))?;
    Ok(Code::Ok)
}
