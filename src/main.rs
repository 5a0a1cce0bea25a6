//! kronic: run a PostgreSQL-backed application's database from one binary. This is the
//! thin entry: parse, set up logging, run the command, print its error once, exit with
//! its code.

use std::process::ExitCode;

use clap::Parser;
use kronic::report::{exit, logging};

/// The static (musl) build's allocator: musl's own is slow under threads (measured on
/// `migrate lint` of 200 migrations, 9% behind the glibc build; docs/performance.md).
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    logging::panic_hook();
    let cli = match kronic::cli::Cli::try_parse() {
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
    // The configuration file first: KRONIC_LOG may be in it.
    let file = kronic::config::file::load(cli.config.as_deref())
        .and_then(|()| kronic::config::file::refuse_unknown_environment());
    kronic::report::ui::set_quiet(cli.quiet);
    logging::init(
        cli.verbose,
        cli.quiet,
        kronic::config::env(kronic::config::vars::LOG),
        kronic::config::env("NO_COLOR").is_some(),
    );
    if let Err(e) = file {
        eprintln!("kronic: error: {e:#}");
        return ExitCode::from(exit::classify(&e).as_u8());
    }
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
    let result = runtime.block_on(kronic::cmd::run(cli));
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
