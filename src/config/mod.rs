//! Configuration: the one place kronic reads its environment. Flags beat variables;
//! every value is checked into a typed setting before anything connects, and a bad one
//! is one line naming it (exit 78). Reading one value is `value`'s; the database
//! settings are in `database`, the variables' names in `vars`; the backup settings are
//! built next to the types they build, in `backup::settings`.

mod database;
pub mod file;
mod value;
pub mod vars;

use std::time::Duration;

use anyhow::Result;

pub use database::*;
pub use value::*;
pub(crate) use value::{config_err, seconds};

/// How long kronic may wait for locks: per try, and in all.
#[derive(Debug, Clone, Copy)]
pub struct LockPolicy {
    pub per_try: Duration,
    pub budget: Duration,
}

impl LockPolicy {
    /// `SET [LOCAL] lock_timeout` value for one try, in milliseconds.
    pub fn setting(&self) -> String {
        format!("{}ms", self.per_try.as_millis().max(1))
    }
}

/// Lock waits: the flags, else `KRONIC_LOCK_TIMEOUT` (default 1 s a try) and
/// `KRONIC_LOCK_WAIT` (default 60 s in all).
pub fn lock_policy(per_try: Option<Duration>, budget: Option<Duration>) -> Result<LockPolicy> {
    let per_try = match per_try {
        Some(d) => d,
        None => match env(vars::LOCK_TIMEOUT) {
            Some(v) => seconds(vars::LOCK_TIMEOUT, &v, false)?,
            None => Duration::from_secs(1),
        },
    };
    if per_try.is_zero() {
        return Err(config_err(
            "--lock-timeout must be above 0: 0 would wait for locks forever".into(),
        ));
    }
    let budget = match budget {
        Some(d) => d,
        None => match env(vars::LOCK_WAIT) {
            Some(v) => seconds(vars::LOCK_WAIT, &v, true)?,
            None => Duration::from_secs(60),
        },
    };
    Ok(LockPolicy { per_try, budget })
}
