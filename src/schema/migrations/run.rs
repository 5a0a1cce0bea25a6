//! Changing the database: the migration lock, applying (through refinery, or alone for
//! `-- kronic:no-transaction` files), stamping and reverting.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use refinery::{Runner, Target};
use tokio_postgres::Client;

use super::file::{HISTORY, MigrationFile};
use super::state::State;
use crate::pg::db;
use crate::pg::lock_keys::MIGRATE as LOCK_KEY;
use crate::report::exit::{Code, fail};

/// Takes the migration lock, polling so that `--lock-wait` bounds the wait (a blocking
/// pg_advisory_lock can also deadlock with CREATE INDEX CONCURRENTLY).
pub async fn lock(client: &Client, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let mut said = false;
    loop {
        let got: bool = db::query(client, "SELECT pg_try_advisory_lock($1)", &[&LOCK_KEY])
            .await
            .context("cannot take the migration lock")?[0]
            .get(0);
        if got {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(fail(
                Code::TempFail,
                format!(
                    "another kronic is migrating this database; gave up after {}s (--lock-wait)",
                    timeout.as_secs_f64()
                ),
            ));
        }
        if !said {
            tracing::info!(
                "another kronic is migrating this database; waiting up to {}s",
                timeout.as_secs_f64()
            );
            said = true;
        }
        tokio::time::sleep(
            Duration::from_millis(200).min(deadline.saturating_duration_since(Instant::now())),
        )
        .await;
    }
}

/// A database the old toolchain created has the tables but no kronic history.
pub async fn refuse_unadopted(client: &Client, state: &State) -> Result<()> {
    if state.applied.is_some() {
        return Ok(());
    }
    let found = db::texts(
        client,
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = current_schema() AND c.relkind = 'r' \
         AND c.relname IN ('alembic_version', 'users', 'roles', 'user_roles') ORDER BY 1",
    )
    .await?;
    if found.is_empty() {
        return Ok(());
    }
    let newest = state.set.iter().map(|m| m.version).min().unwrap_or(1);
    Err(fail(
        Code::DataErr,
        format!(
            "the database already has {} but no kronic migration history (created by the old Alembic toolchain?); nothing was changed. Adopt it with `kronic migrate stamp <version>` (version {newest} is the initial schema), then run `kronic migrate up`",
            found.join(", ")
        ),
    ))
}

/// Names the failed script (`origin`) and where in `sql` PostgreSQL stopped; the
/// database stays at `stays_at`.
pub fn migration_error(
    e: &(dyn std::error::Error + 'static),
    sql: &str,
    origin: &str,
    stays_at: &str,
) -> anyhow::Error {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut dberr = None;
    while let Some(err) = cur {
        if let Some(pg) = err.downcast_ref::<tokio_postgres::Error>() {
            dberr = pg.as_db_error().cloned();
            if dberr.is_none() {
                // The connection failed, not the SQL.
                return fail(
                    Code::Unavailable,
                    format!("lost the database while migrating: {pg}"),
                );
            }
            break;
        }
        cur = err.source();
    }
    let detail = match dberr {
        Some(d) => {
            let line = match d.position() {
                Some(tokio_postgres::error::ErrorPosition::Original(pos)) => {
                    // PostgreSQL counts characters from 1.
                    let upto: String = sql.chars().take(*pos as usize).collect();
                    format!(" at line {}", upto.matches('\n').count() + 1)
                }
                _ => String::new(),
            };
            format!("{line}: {} (SQLSTATE {})", d.message(), d.code().code())
        }
        None => format!(": {e}"),
    };
    fail(
        Code::DataErr,
        format!(
            "migration {origin} failed{detail}; it was rolled back and the database stays at {stays_at}"
        ),
    )
}

/// Applies the pending migrations up to `target`, in order: runs of ordinary ones through
/// refinery (each in its own transaction), each no-transaction one alone. `applied`
/// gets each version as it lands. A lock timeout comes back unconverted, so the caller
/// can retry; any other failure names the file.
pub async fn apply(
    client: &mut Client,
    state: &State,
    target: Option<u32>,
    lock_wait: Duration,
    applied: &mut Vec<(u32, String)>,
) -> Result<()> {
    let pending = state.pending(target);
    if pending.is_empty() {
        return Ok(());
    }
    let migrations = state.refinery_set()?;
    let mut i = 0;
    while i < pending.len() {
        let alone = pending[i..]
            .iter()
            .position(|m| m.no_transaction)
            .map(|k| i + k);
        let end = alone.unwrap_or(pending.len());
        if end > i {
            for m in &pending[i..end] {
                tracing::debug!("applying {}", m.label());
                db::log_sql(&m.up);
            }
            let stop = pending[end - 1].version as i32;
            let run = Runner::new(&migrations)
                .set_target(Target::Version(stop))
                .run_async(client)
                .await;
            let done = match &run {
                Ok(report) => report.applied_migrations().len(),
                Err(e) => e.report().map_or(0, |r| r.applied_migrations().len()),
            };
            for m in &pending[i..i + done] {
                applied.push((m.version, m.name.clone()));
            }
            if let Err(e) = run {
                if crate::pg::locks::is_lock_timeout(&e) {
                    return Err(anyhow::Error::new(e));
                }
                let stays_at = state.version_after(i + done);
                return Err(match pending.get(i + done) {
                    Some(m) => migration_error(&e, &m.up, &m.origin, &stays_at),
                    None => fail(Code::DataErr, format!("migration failed: {e}")),
                });
            }
        }
        if let Some(j) = alone {
            apply_alone(client, pending[j], lock_wait, &state.version_after(j)).await?;
            applied.push((pending[j].version, pending[j].name.clone()));
        }
        i = end + 1;
    }
    Ok(())
}

/// A `-- kronic:no-transaction` migration: its one statement outside a transaction
/// (CREATE INDEX CONCURRENTLY waits for the application's transactions without
/// blocking them, so it may wait the whole --lock-wait), then its history row.
async fn apply_alone(
    client: &Client,
    m: &MigrationFile,
    lock_wait: Duration,
    stays_at: &str,
) -> Result<()> {
    tracing::debug!("applying {} outside a transaction", m.label());
    db::log_sql(&m.up);
    db::batch(
        client,
        &format!("SET lock_timeout = '{}ms'", lock_wait.as_millis().max(1)),
    )
    .await?;
    let ran = db::batch(client, &m.up).await;
    db::batch(client, "RESET lock_timeout").await.ok();
    if let Err(e) = ran {
        let what = crate::sql::statements(&m.up)
            .ok()
            .and_then(|s| s.into_iter().next())
            .map(|(_, s)| s)
            .unwrap_or_default();
        let cleanup = match invalid_index(&what) {
            Some(index) => format!(
                "it may have left an INVALID index: run DROP INDEX CONCURRENTLY IF EXISTS {index}; then kronic migrate up again"
            ),
            None => {
                "it ran outside a transaction, so check what it changed before running it again"
                    .into()
            }
        };
        let code = if crate::pg::locks::is_lock_timeout(&e) {
            Code::TempFail
        } else {
            Code::DataErr
        };
        let db_msg = e
            .as_db_error()
            .map_or_else(|| e.to_string(), |d| d.message().to_string());
        return Err(fail(
            code,
            format!(
                "migration {} failed: {db_msg}; {cleanup}. Its history row was not written: the database stays at {stays_at}",
                m.origin
            ),
        ));
    }
    db::batch(
        client,
        &format!(
            "CREATE TABLE IF NOT EXISTS {HISTORY} (version INT4 PRIMARY KEY, name VARCHAR(255), \
             applied_on VARCHAR(255), checksum VARCHAR(255))"
        ),
    )
    .await?;
    let applied_on = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    db::execute(
        client,
        &format!(
            "INSERT INTO {HISTORY} (version, name, applied_on, checksum) VALUES ($1::int4, $2, $3, $4)"
        ),
        &[
            &(m.version as i32),
            &m.name,
            &applied_on,
            &m.refinery()?.checksum().to_string(),
        ],
    )
    .await
    .with_context(|| format!("{} ran, but its history row could not be written", m.origin))?;
    Ok(())
}

/// The index a `CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS] name` builds.
fn invalid_index(sql: &str) -> Option<String> {
    let words: Vec<&str> = sql.split_whitespace().collect();
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    let at = upper.iter().position(|w| w == "CONCURRENTLY")?;
    if !upper.starts_with(&["CREATE".into()]) || !upper[..at].contains(&"INDEX".to_string()) {
        return None;
    }
    let mut k = at + 1;
    if upper.get(k).map(String::as_str) == Some("IF") {
        k += 3;
    }
    let name = words.get(k)?;
    (upper.get(k).map(String::as_str) != Some("ON")).then(|| name.to_string())
}

/// Records `version` and everything below it as applied without running them (adopting
/// a database the old toolchain made). Some(current) when already at or past it.
pub async fn stamp(client: &mut Client, state: &State, version: u32) -> Result<Option<u32>> {
    if state.file(version).is_none() {
        return Err(fail(
            Code::Usage,
            format!("cannot stamp {version}: no migration has that version"),
        ));
    }
    state.check_consistent()?;
    if let Some(c) = state.current().filter(|c| c.version >= version) {
        return Ok(Some(c.version));
    }
    let migrations = state.refinery_set()?;
    Runner::new(&migrations)
        .set_target(Target::FakeVersion(version as i32))
        .set_grouped(true)
        .run_async(client)
        .await
        .map_err(|e| {
            if crate::pg::locks::is_lock_timeout(&e) {
                return anyhow::Error::new(e);
            }
            fail(
                Code::DataErr,
                format!("cannot stamp version {version}: {e}"),
            )
        })?;
    Ok(None)
}

/// Runs one down script and removes its history row, in one transaction.
pub async fn revert(
    client: &mut Client,
    file: &MigrationFile,
    sql: &str,
    lock_timeout: &str,
) -> Result<()> {
    let tx = client.transaction().await?;
    db::batch(&tx, &format!("SET LOCAL lock_timeout = '{lock_timeout}'")).await?;
    db::batch(&tx, sql).await.map_err(|e| {
        if crate::pg::locks::is_lock_timeout(&e) {
            return anyhow::Error::new(e);
        }
        let stays_at = format!("version {}", file.version);
        migration_error(
            &e,
            sql,
            &format!("{} (down script)", file.origin),
            &stays_at,
        )
    })?;
    db::execute(
        &tx,
        &format!("DELETE FROM {HISTORY} WHERE version = $1::int4"),
        &[&(file.version as i32)],
    )
    .await?;
    tx.commit()
        .await
        .with_context(|| format!("cannot commit the revert of {}", file.label()))
}
