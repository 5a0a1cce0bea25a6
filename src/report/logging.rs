//! The log: timestamped plain lines on stderr (colour only on a terminal), and the
//! line a panic leaves.

use std::io::IsTerminal;

use tracing::Level;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, Layer};

/// Logs go to stderr. `filter` (`KRONIC_LOG`, an `EnvFilter`) wins over -v/-q.
pub fn init(verbose: u8, quiet: bool, filter: Option<String>, no_color: bool) {
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
    let filter = filter
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
        .with_ansi(std::io::stderr().is_terminal() && !no_color)
        .with_target(false)
        .with_filter(filter)
        .with_filter(no_parameters);
    tracing_subscriber::registry().with(layer).init();
}

/// A panic is a bug: one line saying so (where, and what), exit 70, no backtrace unless
/// `RUST_BACKTRACE` asks for one. Its text is made one printable line: a panic message
/// may carry what a server sent.
pub fn panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0") {
            default(info);
        }
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "kronic: error: internal error{at}: {}; please report this (exit 70)",
            crate::report::ui::one_line(&what, 300)
        );
        std::process::exit(crate::report::exit::Code::Software.as_u8().into());
    }));
}
