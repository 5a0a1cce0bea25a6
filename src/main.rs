//! kronic: run a PostgreSQL-backed application's database from one binary.

mod cli;
mod cmd;
mod config;
mod crypt;
mod db;
#[cfg(test)]
mod docs;
mod drift;
mod dump;
mod dumper;
mod exit;
mod fsutil;
mod guarded;
mod lock_keys;
mod locks;
mod manifest;
mod metrics;
mod migrations;
mod pipeline;
mod process;
mod progress;
mod remote;
mod repository;
mod restorer;
mod retention;
mod seeding;
mod tls;
mod ui;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        // Usage errors exit 64 (sysexits), not clap's 2; --help and --version exit 0.
        Err(e) => {
            if !e.use_stderr() {
                // --help and --version.
                let _ = e.print();
                return ExitCode::from(exit::Code::Ok.as_u8());
            }
            // Like every other error: "kronic: error: …", so logs can be grepped.
            eprint!("kronic: {}", e.render());
            return ExitCode::from(exit::Code::Usage.as_u8());
        }
    };
    init_logging(cli.verbose, cli.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kronic: error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::Code::Software.as_u8());
        }
    };
    // One crypto stack for every TLS client (PostgreSQL and the object store): ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let result = runtime.block_on(cmd::run(cli));
    // Don't wait for stray connection tasks or blocking readers.
    runtime.shutdown_background();
    match result {
        Ok(code) => ExitCode::from(code.as_u8()),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let code = exit::classify(&e);
            // One line, whole context chain; never a secret (errors are built without them).
            tracing::debug!("exit {}", code.as_u8());
            eprintln!("kronic: error: {e:#}");
            ExitCode::from(code.as_u8())
        }
    }
}

/// `kronic migrate history | head` is not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Logs go to stderr: timestamped plain lines (colour only on a terminal).
/// `KRONIC_LOG` takes an `EnvFilter` and wins over -v/-q.
fn init_logging(verbose: u8, quiet: bool) {
    use tracing::Level;
    use tracing_subscriber::filter::filter_fn;
    use tracing_subscriber::prelude::*;
    use tracing_subscriber::{EnvFilter, Layer};
    // rustls's own error lines (a certificate refused): kronic's error says it once,
    // with what to do.
    let default = match (quiet, verbose) {
        (true, _) => "warn,rustls=off",
        // refinery's own progress lines repeat what kronic prints.
        // object_store's retry lines: the final error says it once.
        (false, 0) => "info,refinery_core=warn,object_store=warn,rustls=off",
        (false, 1) => "warn,kronic=debug,rustls=off",
        // Every SQL statement kronic sends; tokio_postgres stays quiet because it logs
        // statement parameters, which may hold password hashes.
        _ => "warn,kronic=trace,refinery_core=debug,rustls=off",
    };
    let filter = config::env(config::vars::LOG)
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    // tokio-postgres logs statement parameters (password hashes) at debug, the HTTP
    // stack logs request headers (an AWS session token) at trace: never shown, whatever
    // KRONIC_LOG asks for.
    let no_parameters = filter_fn(|m| {
        let t = m.target();
        let secretive = ["tokio_postgres", "hyper", "hyper_util", "reqwest", "h2"]
            .iter()
            .any(|p| t == *p || t.starts_with(&format!("{p}::")));
        !(secretive && *m.level() > Level::INFO)
    });
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && config::env("NO_COLOR").is_none())
        .with_target(false)
        .with_filter(filter)
        .with_filter(no_parameters);
    tracing_subscriber::registry().with(layer).init();
}
