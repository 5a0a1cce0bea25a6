//! `kronic migrate`: refinery applies migrations; kronic adds down scripts, a lock
//! against concurrent runners, dry runs, stamping and readable failures. The rules live
//! in `migrations`; this file runs the subcommands and prints.

use std::io::Write;

use anyhow::Result;
use refinery::{Migration, Runner, Target};
use tokio_postgres::Client;

use crate::cli::{MigrateArgs, MigrateCommand};
use crate::config::{self, Config, vars};
use crate::db;
use crate::exit::{Code, fail};
use crate::migrations::{self, MigrationFile, State};
use crate::ui::{confirm, say};

pub async fn run(config: impl FnOnce() -> Result<Config>, args: MigrateArgs) -> Result<Code> {
    if let MigrateCommand::New { description, dir } = &args.command {
        let (up, down) = migrations::create_next(dir, description)?;
        say(up.display())?;
        say(down.display())?;
        return Ok(Code::Ok);
    }
    let config = config()?;
    let dir = config::path_setting(args.migrations.clone(), vars::MIGRATIONS_DIR);
    let set = migrations::load(dir.as_deref())?;
    let mut client = db::connect_wait(&config.db, args.wait.wait).await?;
    let locking = !matches!(
        args.command,
        MigrateCommand::Current { .. } | MigrateCommand::History { .. }
    );
    if locking {
        migrations::lock(&client, args.lock_timeout).await?;
    }
    let state = State::read(&client, set).await?;
    match args.command {
        MigrateCommand::Current { json } => current(&state, json),
        MigrateCommand::History { json } => history(&state, json),
        MigrateCommand::Up { target, dry_run } => up(&mut client, &state, target, dry_run).await,
        MigrateCommand::Down {
            steps,
            target,
            dry_run,
            yes,
        } => {
            let plan = state.down_plan(steps, target)?;
            down(&mut client, plan, dry_run, yes, &config.db.display()).await
        }
        MigrateCommand::Stamp { version } => stamp(&mut client, &state, version).await,
        MigrateCommand::New { .. } => Ok(()),
    }?;
    Ok(Code::Ok)
}

fn current(state: &State, json: bool) -> Result<()> {
    let cur = state.current();
    let pending = state.pending(None).len();
    if json {
        let v = serde_json::json!({
            "version": cur.map(|c| c.version),
            "name": cur.map(|c| c.name.clone()),
            "applied_on": cur.map(|c| c.applied_on.clone()),
            "pending": pending,
        });
        return say(v.to_string());
    }
    match cur {
        Some(c) => say(format!(
            "{} {} (applied {}; {pending} pending)",
            c.version, c.name, c.applied_on
        )),
        None => say(format!("no migrations applied ({pending} pending)")),
    }
}

fn history(state: &State, json: bool) -> Result<()> {
    let rows = state.rows()?;
    if json {
        return say(serde_json::to_string(&rows)?);
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:>7}  {:<9}  {:<30}  NAME",
        "VERSION", "STATE", "APPLIED"
    )?;
    for r in rows {
        let state = serde_json::to_value(r.state)?
            .as_str()
            .unwrap_or_default()
            .to_string();
        writeln!(
            out,
            "{:>7}  {:<9}  {:<30}  {}",
            r.version,
            state,
            r.applied_on.as_deref().unwrap_or("-"),
            r.name
        )?;
    }
    Ok(())
}

async fn up(client: &mut Client, state: &State, target: Option<u32>, dry_run: bool) -> Result<()> {
    if let Some(t) = target
        && t != 0
        && state.file(t).is_none()
    {
        return Err(fail(
            Code::Usage,
            format!("--target {t}: no migration has that version"),
        ));
    }
    state.check_consistent()?;
    migrations::refuse_unadopted(client, state).await?;
    let pending = state.pending(target);
    if pending.is_empty() {
        let at = state.current().map_or("no version".to_string(), |c| {
            format!("version {} ({})", c.version, c.name)
        });
        tracing::info!("nothing to apply: the database is at {at}");
        return say(format!("nothing to apply: the database is at {at}"));
    }
    if dry_run {
        let mut out = std::io::stdout().lock();
        for m in &pending {
            writeln!(
                out,
                "-- {} ({})\n{}\n",
                m.label(),
                m.origin,
                m.up.trim_end()
            )?;
        }
        writeln!(
            out,
            "-- dry run: {} migration(s) would be applied; nothing was changed",
            pending.len()
        )?;
        return Ok(());
    }
    let migrations: Vec<Migration> = state
        .set
        .iter()
        .map(|m| m.refinery())
        .collect::<Result<_>>()?;
    let mut runner = Runner::new(&migrations);
    if let Some(t) = target {
        runner = runner.set_target(Target::Version(t as i32));
    }
    for m in &pending {
        tracing::debug!("applying {}", m.label());
        db::log_sql(&m.up);
    }
    match runner.run_async(client).await {
        Ok(report) => {
            for m in report.applied_migrations() {
                say(format!("applied {} {}", m.version(), m.name()))?;
            }
            Ok(())
        }
        Err(e) => {
            let done = e.report().map_or(0, |r| r.applied_migrations().len());
            for m in pending.iter().take(done) {
                say(format!("applied {} {}", m.version, m.name))?;
            }
            let stays_at = state.version_after(done);
            Err(match pending.get(done) {
                Some(m) => migrations::migration_error(&e, &m.up, &m.origin, &stays_at),
                None => fail(Code::DataErr, format!("migration failed: {e}")),
            })
        }
    }
}

async fn down(
    client: &mut Client,
    plan: Vec<(&MigrationFile, &str)>,
    dry_run: bool,
    yes: bool,
    display: &str,
) -> Result<()> {
    if plan.is_empty() {
        return say("nothing to revert");
    }
    if dry_run {
        let mut out = std::io::stdout().lock();
        for (f, sql) in &plan {
            writeln!(
                out,
                "-- revert {} ({})\n{}\n",
                f.label(),
                f.origin,
                sql.trim_end()
            )?;
        }
        writeln!(
            out,
            "-- dry run: {} migration(s) would be reverted; nothing was changed",
            plan.len()
        )?;
        return Ok(());
    }
    let names: Vec<String> = plan.iter().map(|(f, _)| f.label()).collect();
    confirm(
        &format!(
            "Revert {} on {display}? This may delete data",
            names.join(", ")
        ),
        yes,
    )?;
    for (file, sql) in plan {
        migrations::revert(client, file, sql).await?;
        say(format!("reverted {} {}", file.version, file.name))?;
    }
    Ok(())
}

async fn stamp(client: &mut Client, state: &State, version: u32) -> Result<()> {
    if state.file(version).is_none() {
        return Err(fail(
            Code::Usage,
            format!("cannot stamp {version}: no migration has that version"),
        ));
    }
    state.check_consistent()?;
    if state.current().is_some_and(|c| c.version >= version) {
        return say(format!(
            "already at version {}; nothing stamped",
            state.current().map_or(0, |c| c.version)
        ));
    }
    let migrations: Vec<Migration> = state
        .set
        .iter()
        .map(|m| m.refinery())
        .collect::<Result<_>>()?;
    Runner::new(&migrations)
        .set_target(Target::FakeVersion(version as i32))
        .set_grouped(true)
        .run_async(client)
        .await
        .map_err(|e| {
            fail(
                Code::DataErr,
                format!("cannot stamp version {version}: {e}"),
            )
        })?;
    say(format!(
        "stamped version {version}: recorded as applied, nothing was run"
    ))
}
