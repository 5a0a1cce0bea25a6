//! `kronic migrate`: refinery applies migrations; kronic adds down scripts, a lock
//! against concurrent runners, dry runs, stamping and readable failures. The rules live
//! in `migrations`; this file runs the subcommands and prints.

mod check;
mod history;
mod lint;
mod plan;

use std::io::Write;

use anyhow::Result;
use tokio_postgres::Client;

use crate::config::LockPolicy;
use crate::pg::locks::{self, Watch};

use crate::cli::{LintFormat, MigrateArgs, MigrateCommand};
use crate::config::{self, Config, vars};
use crate::pg::db;
use crate::report::exit::{Code, classify, fail};
use crate::report::ui::{confirm, say, shutdown_signal};
use crate::schema::migrations::{self, MigrationFile, State};

pub async fn run(config: impl FnOnce() -> Result<Config>, args: MigrateArgs) -> Result<Code> {
    // A CI step that reads plan's or lint's JSON gets a document whatever stops them.
    let json_failure = match &args.command {
        MigrateCommand::Plan {
            json: true,
            max_rewrite,
        } => Some(Some(*max_rewrite)),
        MigrateCommand::Lint { json, format, .. } if *json || *format == LintFormat::Json => {
            Some(None)
        }
        _ => None,
    };
    let ran = run_command(config, args).await;
    if let (Some(which), Err(e)) = (json_failure, &ran) {
        match which {
            Some(max_rewrite) => plan::print_failed(e, max_rewrite)?,
            None => lint::print_failed(e)?,
        }
    }
    ran
}

async fn run_command(config: impl FnOnce() -> Result<Config>, args: MigrateArgs) -> Result<Code> {
    if let MigrateCommand::New { description, dir } = &args.command {
        for path in migrations::create_next(dir, description)? {
            say(path.display())?;
        }
        return Ok(Code::Ok);
    }
    let config = config()?;
    let policy = args.locks.policy()?;
    let dir = config::path_setting(args.migrations.clone(), vars::MIGRATIONS_DIR);
    let set = migrations::load(dir.as_deref())?;
    if let MigrateCommand::Lint {
        files,
        all,
        pg_version,
        format,
        json,
    } = &args.command
    {
        let format = if *json { LintFormat::Json } else { *format };
        return lint::lint(&config, &args, set, files, *all, *pg_version, format).await;
    }
    let mut client = db::connect_wait(&config.db, args.wait.wait).await?;
    db::usable_search_path(&client).await?;
    db::guard_session(&client).await;
    let cancel = client.cancel_token();
    tokio::select! {
        r = migrate(&config, &mut client, set, policy, args.command) => r,
        _ = shutdown_signal() => {
            // The statement in progress is cancelled on the server, and rolled back.
            db::cancel(&cancel, &config.db).await;
            Err(fail(Code::Interrupted, "interrupted: the migration in progress was rolled back"))
        }
    }
}

async fn migrate(
    config: &Config,
    client: &mut Client,
    set: Vec<MigrationFile>,
    policy: LockPolicy,
    command: MigrateCommand,
) -> Result<Code> {
    let read_only = matches!(
        command,
        MigrateCommand::Current { .. }
            | MigrateCommand::History { .. }
            | MigrateCommand::Check { .. }
            | MigrateCommand::Plan { .. }
    );
    if !read_only {
        migrations::lock(client, policy.budget).await?;
        db::batch(
            client,
            &format!("SET lock_timeout = '{}'", policy.setting()),
        )
        .await?;
    }
    let state = State::read(client, set.clone()).await?;
    match command {
        MigrateCommand::Current { json, exit_code } => {
            history::current(&state, json)?;
            if exit_code && !state.pending(None).is_empty() {
                return Ok(Code::Attention);
            }
        }
        MigrateCommand::History { json } => history::history(&state, json)?,
        MigrateCommand::Check { json } => {
            return check::run(client, &state, json).await;
        }
        MigrateCommand::Plan { json, max_rewrite } => {
            return plan::plan(client, &config.db, &state, json, max_rewrite).await;
        }
        MigrateCommand::Up {
            target,
            dry_run,
            backup,
            lint,
        } => {
            let check = up_check(client, &state, target, dry_run).await?;
            if check == UpCheck::Go {
                lint::gate(client, &state.pending(target), lint).await?;
                let restore_with = match backup {
                    true => Some(crate::backup::take::before_migration(config).await?),
                    false => None,
                };
                let watch = Watch::start(&config.db, client).await;
                let mut committed = 0;
                let applied = locks::retrying(policy, &watch, "migrate up", async || {
                    let state = State::read(client, set.clone()).await?;
                    let mut applied = Vec::new();
                    let r = migrations::apply(client, &state, target, policy.budget, &mut applied)
                        .await;
                    committed += applied.len();
                    for (v, name) in &applied {
                        say(format!("applied {v} {name}"))?;
                    }
                    r
                })
                .await;
                if let (Err(e), Some(path)) = (&applied, restore_with) {
                    // Each migration commits alone: a restore is worth it only when one did.
                    let next = match committed {
                        0 => format!(
                            "nothing was migrated, so there is nothing to restore (the backup taken before, {}, is kept)",
                            path.display()
                        ),
                        n => format!(
                            "{n} migration(s) were applied before it. The backup taken before migrating restores the database as it was: kronic restore {} --yes",
                            path.display()
                        ),
                    };
                    return Err(fail(classify(e), format!("{e:#}; {next}")));
                }
                applied?;
            }
        }
        MigrateCommand::Down {
            steps,
            target,
            dry_run,
            yes,
        } => {
            let plan = state.down_plan(steps, target)?;
            down(config, client, plan, dry_run, yes, policy).await?;
        }
        MigrateCommand::Stamp { version } => {
            let watch = Watch::start(&config.db, client).await;
            let stamped = locks::retrying(policy, &watch, "stamp", async || {
                migrations::stamp(client, &state, version).await
            })
            .await?;
            drop(watch);
            check::after_stamp(client, &state, version, stamped).await?
        }
        MigrateCommand::New { .. } | MigrateCommand::Lint { .. } => {}
    }
    Ok(Code::Ok)
}

#[derive(PartialEq)]
enum UpCheck {
    Go,
    Done,
}

/// Everything `up` checks and prints before it changes anything: the target, the
/// history's consistency, an unadopted database, nothing to do, a dry run.
async fn up_check(
    client: &Client,
    state: &State,
    target: Option<u32>,
    dry_run: bool,
) -> Result<UpCheck> {
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
        say(format!("nothing to apply: the database is at {at}"))?;
        return Ok(UpCheck::Done);
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
        return Ok(UpCheck::Done);
    }
    Ok(UpCheck::Go)
}

async fn down(
    config: &Config,
    client: &mut Client,
    plan: Vec<(&MigrationFile, &str)>,
    dry_run: bool,
    yes: bool,
    policy: LockPolicy,
) -> Result<()> {
    let display = config.db.display();
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
                f.down_origin(),
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
    let watch = Watch::start(&config.db, client).await;
    for (file, sql) in plan {
        let what = format!("reverting {}", file.label());
        locks::retrying(policy, &watch, &what, async || {
            migrations::revert(client, file, sql, &policy.setting()).await
        })
        .await?;
        say(format!("reverted {} {}", file.version, file.name))?;
    }
    Ok(())
}
