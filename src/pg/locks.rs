//! Never block the application: DDL waits at most a short time for its table locks on
//! each try (a queued ACCESS EXCLUSIVE request blocks every later query on the table),
//! retries with growing pauses in a fresh transaction until a budget is spent, and says
//! who holds the lock.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use tokio_postgres::Client;

use crate::config::{DbConfig, LockPolicy};
use crate::pg::db;
use crate::report::exit::{Code, fail};

/// Does this error (or any cause) say a lock could not be had in time (55P03)?
pub fn is_lock_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(pg) = err.downcast_ref::<tokio_postgres::Error>()
            && pg.code() == Some(&tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE)
        {
            return true;
        }
        cur = err.source();
    }
    false
}

/// Watches one session from a second connection while it waits, to name who blocks it.
pub struct Watch {
    latest: Arc<Mutex<Option<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Watch {
    /// Starts watching `client`'s session. If the second connection cannot be made, the
    /// watch stays silent (waiting still works; only the names are missing).
    pub async fn start(db: &DbConfig, client: &Client) -> Watch {
        let latest = Arc::new(Mutex::new(None));
        let pid: Option<i32> = db::query(client, "SELECT pg_backend_pid()", &[])
            .await
            .ok()
            .and_then(|r| r.first().map(|r| r.get(0)));
        let monitor = match pid {
            Some(_) => db::connect(db).await.ok(),
            None => None,
        };
        let shared = latest.clone();
        let task = tokio::spawn(async move {
            let (Some(pid), Some(monitor)) = (pid, monitor) else {
                return;
            };
            loop {
                if let Ok(Some(b)) = blockers(&monitor, pid).await {
                    *shared.lock().unwrap_or_else(|e| e.into_inner()) = Some(b);
                }
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
        });
        Watch { latest, task }
    }

    /// The last blocker seen, if any: "users: held by pid 4242 (…)".
    pub fn take(&self) -> Option<String> {
        self.latest.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The columns [`holder`] reads, from a pg_stat_activity row `b`.
const HOLDER_COLUMNS: &str = "b.pid, coalesce(b.application_name, ''), coalesce(b.usename::text, ''), \
     b.state IS NOT NULL, coalesce(host(b.client_addr), 'local'), coalesce(b.state, ''), \
     coalesce(extract(epoch FROM now() - b.xact_start), 0)::float8, current_user::text";

/// One session that holds a lock, from [`HOLDER_COLUMNS`] starting at column `at`:
/// `pid 4242 (app-web, user app, 10.0.0.5, idle in transaction for 12m03s)`. PostgreSQL
/// hides other roles' address and state from a role without pg_read_all_stats: then
/// that is said, rather than a made-up "local, for 0.0s".
fn holder(r: &tokio_postgres::Row, at: usize) -> String {
    let app: String = r.get(at + 1);
    let app = if app.is_empty() {
        "no application_name".into()
    } else {
        app
    };
    let (pid, user): (i32, String) = (r.get(at), r.get(at + 2));
    if !r.get::<_, bool>(at + 3) {
        return format!(
            "pid {pid} ({app}, user {user}; its state is hidden from {}: grant it pg_read_all_stats to see it)",
            r.get::<_, String>(at + 7)
        );
    }
    format!(
        "pid {pid} ({app}, user {user}, {}, {} for {})",
        r.get::<_, String>(at + 4),
        r.get::<_, String>(at + 5),
        duration(r.get::<_, f64>(at + 6))
    )
}

/// Who blocks `pid` now, and on what: one line, or None when nothing does.
async fn blockers(monitor: &Client, pid: i32) -> Result<Option<String>> {
    let sql = format!(
        "SELECT (SELECT l.relation::regclass::text FROM pg_locks l \
                 WHERE l.pid = $1 AND NOT l.granted AND l.relation IS NOT NULL LIMIT 1), \
                {HOLDER_COLUMNS} \
         FROM pg_stat_activity b WHERE b.pid = ANY(pg_blocking_pids($1)) ORDER BY b.pid"
    );
    let rows = db::query(monitor, &sql, &[&pid]).await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let on: Option<String> = first.get(0);
    let held: Vec<String> = rows.iter().map(|r| holder(r, 1)).collect();
    Ok(Some(format!(
        "{}: held by {}",
        on.unwrap_or_else(|| "a table".into()),
        held.join(", ")
    )))
}

/// Who holds ACCESS EXCLUSIVE locks on tables of `db` (what stops pg_dump), as one
/// line; None when nobody does or the question cannot be asked.
pub async fn exclusive_holders(db: &DbConfig) -> Option<String> {
    let client = db::connect(db).await.ok()?;
    let sql = format!(
        "SELECT l.relation::regclass::text, {HOLDER_COLUMNS} \
         FROM pg_locks l JOIN pg_stat_activity b ON b.pid = l.pid \
         WHERE l.mode = 'AccessExclusiveLock' AND l.granted AND l.relation IS NOT NULL \
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
           AND l.pid <> pg_backend_pid() ORDER BY 1, 2 LIMIT 5"
    );
    let rows = db::query(&client, &sql, &[]).await.ok()?;
    let held: Vec<String> = rows
        .iter()
        .map(|r| format!("{} held by {}", r.get::<_, String>(0), holder(r, 1)))
        .collect();
    (!held.is_empty()).then(|| held.join("; "))
}

/// 12m03s, 1h02m, 4.2s.
fn duration(secs: f64) -> String {
    let s = secs.max(0.0);
    if s < 60.0 {
        format!("{s:.1}s")
    } else if s < 3600.0 {
        format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    } else {
        format!(
            "{}h{:02}m",
            (s / 3600.0) as u64,
            ((s % 3600.0) / 60.0) as u64
        )
    }
}

/// Runs `attempt` until it succeeds, fails for another reason than a lock timeout, or
/// the budget is spent (exit 75, naming the blocker). Each attempt must run in a fresh
/// transaction with `lock_timeout` set from `policy`, so that nothing is half-applied
/// and the application's queries get through between tries.
pub async fn retrying<T>(
    policy: LockPolicy,
    watch: &Watch,
    what: &str,
    mut attempt: impl AsyncFnMut() -> Result<T>,
) -> Result<T> {
    let deadline = Instant::now() + policy.budget;
    let mut pause = Duration::from_millis(250);
    let mut tries = 0u32;
    loop {
        tries += 1;
        let e = match attempt().await {
            Ok(v) => return Ok(v),
            Err(e) if is_lock_timeout(e.as_ref()) => e,
            Err(e) => return Err(e),
        };
        let blocker = watch
            .take()
            .unwrap_or_else(|| "a table: the holder already let go".into());
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            drop(e);
            return Err(fail(
                Code::TempFail,
                format!(
                    "{what}: gave up after {tries} tries in {:.0}s waiting for a lock on {blocker}; nothing was changed (--lock-wait, --lock-timeout)",
                    policy.budget.as_secs_f64()
                ),
            ));
        }
        tracing::warn!(
            "{what}: waiting for a lock on {blocker}; try {tries} timed out after {:.1}s, retrying in {:.1}s",
            policy.per_try.as_secs_f64(),
            pause.min(left).as_secs_f64()
        );
        tokio::time::sleep(pause.min(left)).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_clock() {
        assert_eq!(duration(4.24), "4.2s");
        assert_eq!(duration(723.0), "12m03s");
        assert_eq!(duration(3720.0), "1h02m");
    }
}
