//! Command dispatch: each command gets its arguments, and the configuration only if it
//! connects (a lazy loader, so `migrate new` and `backup list` need no database settings).

pub mod backup;
pub mod config;
pub mod health;
pub mod migrate;
pub mod restore;
pub mod seed;

use anyhow::Result;

use crate::cli::{BackupAction, Cli, Command};
use crate::config::{Config, env, vars};
use crate::report::exit::{Code, classify, fail};
use crate::report::notify::Notifier;
use crate::report::ui::shutdown_signal;

pub async fn run(cli: Cli) -> Result<Code> {
    let url = cli.database_url;
    let config = move || Config::from_env(url.as_deref());
    match cli.command {
        Command::Migrate(args) => migrate::run(config, args).await,
        Command::Seed(args) => seed::run(&config()?, args).await,
        // A backup and a drill tell a human how they went.
        Command::Backup(args) => {
            let flag = match &args.action {
                None => args.notify.url.clone(),
                Some(BackupAction::Drill(d)) => d.notify.url.clone(),
                Some(_) => return backup::run(config, args).await,
            };
            let notifier = Notifier::new(flag.or_else(|| env(vars::NOTIFY_URL)))?;
            // A signal while the start ping hangs ends the run like any other: 130.
            tokio::select! {
                () = notifier.start() => {}
                _ = shutdown_signal() => return Err(fail(
                    Code::Interrupted,
                    "interrupted while sending the start notification; nothing was done",
                )),
            }
            let done = backup::run(config, args).await;
            match &done {
                Ok(code) => notifier.finish(*code, "ok").await,
                Err(e) => notifier.finish(classify(e), &format!("{e:#}")).await,
            }
            done
        }
        Command::Notify { failed } => {
            let notifier = Notifier::new(env(vars::NOTIFY_URL))?;
            if !notifier.enabled() {
                tracing::warn!("KRONIC_NOTIFY_URL is not set: no notification sent");
            }
            notifier.failed(&failed).await;
            Ok(Code::Ok)
        }
        Command::Restore(args) => restore::run(&config()?, args).await,
        Command::Health(args) => health::run(&config()?, args).await,
        Command::Config { json } => self::config::run(json),
    }
}
