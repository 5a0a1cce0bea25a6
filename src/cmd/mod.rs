//! Command dispatch and the helpers commands share (confirmation prompts).

pub mod backup;
pub mod health;
pub mod migrate;
pub mod restore;
pub mod seed;

use std::fmt::Display;
use std::io::{BufRead, IsTerminal, Write};

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::exit::{Code, fail};

pub async fn run(cli: Cli) -> Result<Code> {
    // Commands that need no database configuration.
    match &cli.command {
        Command::Migrate(m) if matches!(m.command, crate::cli::MigrateCommand::New { .. }) => {
            return migrate::new(m);
        }
        Command::Backup(b) if b.action.is_some() => {
            return backup::run_offline(b);
        }
        _ => {}
    }
    let config = Config::from_env(cli.database_url.as_deref())?;
    match cli.command {
        Command::Migrate(args) => migrate::run(&config, args).await,
        Command::Seed(args) => seed::run(&config, args).await,
        Command::Backup(args) => backup::run(&config, args).await,
        Command::Restore(args) => restore::run(&config, args).await,
        Command::Health(args) => health::run(&config, args).await,
    }
}

/// One line of results on stdout. A closed pipe (`kronic ... | head`) comes back as an
/// error that main treats as success, instead of the panic `println!` would give.
pub fn say(line: impl Display) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(())
}

/// Asks before a destructive step. Off a terminal it needs `--yes` (exit 64 otherwise),
/// so cron and CI never hang on a prompt.
pub fn confirm(question: &str, yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(fail(
            Code::Usage,
            format!("{question}: refusing without --yes when standard input is not a terminal"),
        ));
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
        Ok(())
    } else {
        Err(fail(Code::Usage, "cancelled: nothing was changed"))
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term => {},
    }
}
