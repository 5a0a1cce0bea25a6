//! Arguments several commands share: notification, waiting for the server, lock waits.

use clap::Args;

/// Where to report a run's start and end, for a human to hear of failures.
#[derive(Debug, Args)]
pub struct NotifyArg {
    /// Ping this healthchecks.io-style URL: URL/start when the run starts, URL/<exit
    /// code> with the outcome's line when it ends (0 is success) [env:
    /// KRONIC_NOTIFY_URL]. The URL is the check's secret: prefer the variable, since
    /// command lines are visible to other users in `ps`.
    #[arg(long = "notify", id = "notify", value_name = "URL")]
    pub url: Option<String>,
}

/// How long to wait for the database to accept connections.
#[derive(Debug, Args)]
pub struct WaitArg {
    /// Keep retrying the connection for up to SECS seconds while the server is down or
    /// starting (refused, reset, starting up); authentication errors fail at once.
    #[arg(long, global = true, value_name = "SECS", value_parser = parse_seconds)]
    pub wait: Option<std::time::Duration>,
}

/// How long kronic may wait for locks, so that it never holds the application up.
#[derive(Debug, Args)]
pub struct LockArgs {
    /// Seconds to wait for table locks on each try; then kronic steps back (letting the
    /// application's queries through) and tries again [env: KRONIC_LOCK_TIMEOUT]
    /// [default: 1].
    #[arg(long = "lock-timeout", id = "lock_timeout", global = true, value_name = "SECS", value_parser = parse_seconds)]
    pub per_try: Option<std::time::Duration>,

    /// Seconds kronic may spend waiting for locks in all (table locks, retried; another
    /// kronic's migration; pg_dump's --lock-wait-timeout), then exit 75 with nothing
    /// changed [env: KRONIC_LOCK_WAIT] [default: 60].
    #[arg(long = "lock-wait", id = "lock_wait", global = true, value_name = "SECS", value_parser = parse_seconds)]
    pub budget: Option<std::time::Duration>,
}

impl LockArgs {
    pub fn policy(&self) -> anyhow::Result<crate::config::LockPolicy> {
        crate::config::lock_policy(self.per_try, self.budget)
    }
}

/// Seconds as the flags take them: fractions and 0 allowed, at most a day.
pub(super) fn parse_seconds(s: &str) -> Result<std::time::Duration, String> {
    crate::config::parse_seconds(s, true)
}
