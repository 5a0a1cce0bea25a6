//! `kronic restore`: kronic applies the backup itself, over its own connection, in one
//! transaction that it commits only after the whole file was read, checked and allowed.
//! The file is never given to psql: a backup is data, not a program (see `dump` and
//! `restorer`).

use std::time::Instant;

mod swap;
mod tables;

use anyhow::Result;
use indicatif::HumanBytes;

use crate::backup::restore;
use crate::backup::settings;
use crate::backup::source::{Source, Wanted};
use crate::cli::RestoreArgs;
use crate::config::{Config, DbConfig};
use crate::pg::db;
use crate::pg::{databases, roles};
use crate::report::exit::{Code, classify, fail};

/// Looks at the target before asking: it must exist, or be created with --create
/// (`missing`). A connection when it exists.
async fn look_at_target(
    target: &DbConfig,
    args: &RestoreArgs,
) -> Result<(Option<tokio_postgres::Client>, bool)> {
    match db::connect_wait(target, args.apply.wait.wait).await {
        Ok(c) => {
            databases::refuse_template(&c, target).await?;
            Ok((Some(c), false))
        }
        Err(e) => match (args.create, databases::exists(target).await) {
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

pub async fn run(config: &Config, args: RestoreArgs) -> Result<Code> {
    let target = match &args.target_db {
        Some(name) => config.db.other_db("--target-db", name)?,
        None => config.db.clone(),
    };
    if args.rollback {
        return swap::rollback(&target, &args).await;
    }
    // The backup's first bytes are checked before anything connects; who restores is
    // checked before a statement of it is read.
    let named = args.remote.name();
    let trust = settings::trust(args.allow_unsigned, args.latest)?;
    let want = Wanted {
        trust: &trust,
        database: Some(&config.db.dbname),
        from_database: args.from_database.as_deref(),
    };
    let src = Source::choose(
        args.file.as_deref().or(named.as_deref()),
        args.remote.load()?,
        args.latest,
        &args.dir.path(),
        args.apply.identity.load()?,
        &want,
    )
    .await?;
    src.check().await?;
    if !args.table.is_empty() || !args.schema.is_empty() {
        return tables::some_tables(&target, &args, &src).await;
    }
    if src.parallel {
        return swap::parallel(&target, &args, &src).await;
    }
    let (client, missing) = look_at_target(&target, &args).await?;
    let allow = args.apply.allow_superuser()?;
    match &client {
        Some(c) => roles::refuse_superuser(c, allow).await?,
        None => {
            let maintenance = db::connect(&target.with_dbname("postgres")).await?;
            roles::refuse_superuser(&maintenance, allow).await?;
        }
    }
    if let Some(why) = &src.manifest_missing {
        // At 3 a.m. this may still be the backup to restore: said, not refused (its
        // statements are checked as always). `backup verify` and drills fail on it.
        tracing::warn!("{why}: its bytes cannot be checked against one");
    }

    let when = src
        .time
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "unknown time".into());
    let what = format!(
        "{} ({when}, {}) into {}",
        src.label.display(),
        HumanBytes(src.size),
        target.display(),
    );
    // Tables made after the backup (a later migration's) are not in it: say what
    // happens to them before anyone agrees.
    let extra = match (&client, &src.manifest) {
        (Some(c), Some(m)) => {
            let held: Vec<(String, u64)> = m.tables.iter().map(|(t, n)| (t.clone(), *n)).collect();
            restore::extra_tables(c, &held).await.unwrap_or_default()
        }
        _ => Vec::new(),
    };
    let extra_note = match (extra.len(), args.drop_extra) {
        (0, _) => String::new(),
        (n, true) => format!("; {n} table(s) the backup does not hold will be dropped"),
        (n, false) => format!(
            "; {n} table(s) the backup does not hold stay, with their rows (--drop-extra drops them)"
        ),
    };
    let question = format!(
        "Restore {what}{}? Its current contents will be replaced{extra_note}",
        if missing { " (to be created)" } else { "" }
    );
    crate::report::ui::confirm(&question, args.yes)?;

    let client = match client {
        Some(c) => c,
        None => {
            databases::create(&target).await?;
            tracing::info!("created database {}", target.dbname);
            match db::connect(&target).await {
                Ok(c) => c,
                Err(e) => return Err(drop_created(&target, e).await),
            }
        }
    };
    tracing::info!("restoring {what}");
    db::guard_session(&client).await;
    let policy = args.apply.locks.policy()?;
    let cancel = client.cancel_token();
    let started = Instant::now();
    let restored = tokio::select! {
        r = restore::restore(&client, &target, &src, policy, args.drop_extra) => r,
        _ = crate::report::ui::shutdown_signal() => {
            db::cancel(&cancel, &target).await;
            Err(fail(
                Code::Interrupted,
                format!("interrupted: the restore was rolled back; {} is unchanged", target.display()),
            ))
        }
    };
    let restored = match restored {
        Ok(r) => r,
        Err(e) if missing => {
            drop(client);
            return Err(drop_created(&target, e).await);
        }
        Err(e) => return Err(e),
    };
    let secs = started.elapsed().as_secs_f64();
    crate::report::ui::done(format!(
        "Restore completed: {} into {} ({} of SQL from {} in {secs:.1}s)",
        src.label.display(),
        target.display(),
        HumanBytes(restored.sql_bytes),
        HumanBytes(src.size)
    ))?;
    Ok(Code::Ok)
}

/// A restore into a database `--create` made failed: the database goes again, so
/// that no empty database is left behind; the error says so.
async fn drop_created(target: &DbConfig, e: anyhow::Error) -> anyhow::Error {
    let code = classify(&e);
    match databases::drop_database(target).await {
        Ok(()) => fail(
            code,
            format!(
                "{e:#}; {} was created for this restore and has been dropped again",
                target.dbname
            ),
        ),
        Err(d) => fail(
            code,
            format!(
                "{e:#}; {} was created for this restore and could not be dropped ({d:#}): drop it by hand",
                target.dbname
            ),
        ),
    }
}
