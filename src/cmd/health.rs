//! `kronic health`: one check printed as JSON (waiting with --wait until healthy), or
//! /healthz served over HTTP (`health::listener`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::cli::HealthArgs;
use crate::config::Config;
use crate::health::check::Checker;
use crate::health::listener;
use crate::report::exit::Code;

pub async fn run(config: &Config, args: HealthArgs) -> Result<Code> {
    let checker = Checker::new(config, args.timeout)?;
    if let Some(addr) = &args.serve {
        return listener::serve(Arc::new(checker), addr).await;
    }
    let deadline = args.wait.map(|w| Instant::now() + w);
    let mut signals = crate::report::ui::Interrupts::listen();
    // Checked every 0.5 s, said when the reason changes and every 10 s otherwise: a
    // minute's wait is a few lines in a deploy log, not 120.
    let mut said: Option<(String, Instant)> = None;
    loop {
        let (body, code) = checker.check().await;
        let error = body["components"]["database"]["error"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let retry = code != Code::Ok && deadline.is_some_and(|d| Instant::now() < d);
        if !retry {
            crate::report::ui::say(serde_json::to_string_pretty(&body)?)?;
            // The JSON is for scripts; the one line on stderr is for whoever reads logs.
            if code != Code::Ok {
                eprintln!("kronic: error: {error}");
            }
            return Ok(code);
        }
        if said
            .as_ref()
            .is_none_or(|(e, at)| *e != error || at.elapsed() >= Duration::from_secs(10))
        {
            tracing::info!("not healthy yet: {error}");
            said = Some((error, Instant::now()));
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = signals.arrived() => {
                return Err(crate::report::exit::fail(
                    Code::Interrupted,
                    format!("interrupted while waiting for {} to be healthy", config.db.display()),
                ));
            }
        }
    }
}
