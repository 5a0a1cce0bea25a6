//! `kronic restore`: kronic applies the backup itself, over its own connection, in one
//! transaction that it commits only after the whole file was read, checked and allowed.
//! The file is never given to psql: a backup is data, not a program (see `dump` and
//! `restorer`).

use std::time::Instant;

use anyhow::Result;
use indicatif::HumanBytes;

use crate::backup::settings;
use crate::backup::source::{Source, Wanted};
use crate::backup::{parallel, restore, tables};
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
        return rollback(&target, &args).await;
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
        return some_tables(&target, &args, &src).await;
    }
    if src.parallel {
        return parallel(&target, &args, &src).await;
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
    crate::report::ui::say(format!(
        "Restore completed: {} into {} ({} of SQL from {} in {secs:.1}s)",
        src.label.display(),
        target.display(),
        HumanBytes(restored.sql_bytes),
        HumanBytes(src.size)
    ))?;
    Ok(Code::Ok)
}

/// A parallel backup: built aside on N connections, checked, swapped in.
async fn parallel(target: &DbConfig, args: &RestoreArgs, src: &Source) -> Result<Code> {
    let jobs = settings::jobs(args.jobs, settings::default_restore_jobs())?;
    let policy = args.apply.locks.policy()?;
    let maint = parallel::restore::lock(target).await?;
    roles::refuse_superuser(&maint, args.apply.allow_superuser()?).await?;
    let exists = databases::exists(target).await?;
    if !exists && !args.create {
        return Err(fail(
            Code::Unavailable,
            format!(
                "database {} does not exist on {}: add --create to create it",
                target.dbname,
                target.display()
            ),
        ));
    }
    let kept = databases::kept_name(&target.dbname)?;
    let after = match (exists, args.keep_old) {
        (false, _) => " (to be created)".to_string(),
        (true, true) => format!(
            "; it is built aside, checked, then swapped in, and the current database is kept as {kept} (kronic restore --rollback; an older {kept} is dropped)"
        ),
        (true, false) => {
            "; it is built aside, checked, then swapped in, and the current database is dropped"
                .into()
        }
    };
    let question = format!(
        "Restore {} ({}) into {} on {jobs} connections{after}?",
        src.label.display(),
        HumanBytes(src.size),
        target.display()
    );
    crate::report::ui::confirm(&question, args.yes)?;
    tracing::info!(
        "restoring {} into {} on {jobs} connections",
        src.label.display(),
        target.display()
    );
    let started = Instant::now();
    let how = parallel::restore::Swap {
        jobs,
        keep_old: args.keep_old,
        terminate_sessions: args.terminate_sessions,
        wait: policy.budget,
    };
    let done = parallel::restore::restore(&maint, target, src, &how).await?;
    let kept = match &done.kept {
        Some(k) => format!("; the previous database is kept as {k} (kronic restore --rollback)"),
        None => String::new(),
    };
    crate::report::ui::say(format!(
        "Restore completed: {} into {} ({} rows in {} tables in {:.1}s, swapped in {:.2}s){kept}",
        src.label.display(),
        target.display(),
        done.rows,
        done.tables,
        started.elapsed().as_secs_f64(),
        done.swap_time.as_secs_f64()
    ))?;
    Ok(Code::Ok)
}

/// `restore --table`/`--schema`: those tables' rows only, in one transaction.
async fn some_tables(target: &DbConfig, args: &RestoreArgs, src: &Source) -> Result<Code> {
    let client = db::connect_wait(target, args.apply.wait.wait).await?;
    databases::refuse_template(&client, target).await?;
    roles::refuse_superuser(&client, args.apply.allow_superuser()?).await?;
    let chosen = tables::resolve(&client, &args.table, &args.schema).await?;
    let refs = tables::referencing(&client, &chosen).await?;
    if args.target_db.is_none() && !refs.is_empty() {
        return Err(fail(
            Code::Usage,
            format!(
                "other tables' foreign keys point at the tables to restore ({}): emptying them in place would break those; restore them into another database with --target-db, or name the referencing tables too",
                refs.join(", ")
            ),
        ));
    }

    let names: Vec<&str> = chosen.iter().map(|t| t.label.as_str()).collect();
    crate::report::ui::confirm(
        &format!(
            "Replace the rows of {} in {} with those in {}?",
            names.join(", "),
            target.display(),
            src.label.display()
        ),
        args.yes,
    )?;
    let progress = crate::report::progress::Progress::new("restored", None);
    let policy = args.apply.locks.policy()?;
    let rows = tables::restore(
        &client,
        src,
        &chosen,
        policy.budget,
        !refs.is_empty(),
        &progress.phase(),
    )
    .await?;
    drop(progress);
    let total: u64 = rows.iter().map(|(_, n)| n).sum();
    crate::report::ui::say(format!(
        "Restore completed: {total} rows into {} in {} from {}",
        names.join(", "),
        target.display(),
        src.label.display()
    ))?;
    Ok(Code::Ok)
}

/// `restore --rollback`: the database a parallel restore replaced, back in.
async fn rollback(target: &DbConfig, args: &RestoreArgs) -> Result<Code> {
    let policy = args.apply.locks.policy()?;
    let maint = parallel::restore::lock(target).await?;
    let kept = databases::kept_name(&target.dbname)?;
    crate::report::ui::confirm(
        &format!(
            "Swap {kept} back in as {} (the current one becomes {kept})?",
            target.display()
        ),
        args.yes,
    )?;
    parallel::restore::rollback(&maint, target, args.terminate_sessions, policy.budget).await?;
    crate::report::ui::say(format!(
        "Rolled back: {} is the database the last parallel restore replaced; the restored one is now {kept}",
        target.display()
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
