//! Command dispatch: each command gets its arguments, and the configuration only if it
//! connects (a lazy loader, so `migrate new` and `backup list` need no database settings).

pub mod backup;
pub mod config;
pub mod drill;
pub mod health;
pub mod listing;
pub mod migrate;
pub mod migrate_check;
pub mod offsite;
pub mod restore;
pub mod seed;
pub mod serve;
pub mod verify;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::report::exit::Code;

pub async fn run(cli: Cli) -> Result<Code> {
    let url = cli.database_url;
    let config = move || Config::from_env(url.as_deref());
    match cli.command {
        Command::Migrate(args) => migrate::run(config, args).await,
        Command::Seed(args) => seed::run(&config()?, args).await,
        Command::Backup(args) => backup::run(config, args).await,
        Command::Restore(args) => restore::run(&config()?, args).await,
        Command::Health(args) => health::run(&config()?, args).await,
        Command::Config { json } => self::config::run(json),
    }
}
