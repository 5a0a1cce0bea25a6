//! Restoring one backup into a database: read on a plain thread (through `source`)
//! while kronic's own connection applies what the reader allows, the existing tables
//! locked up front without blocking the application, one transaction committed only
//! when the whole backup was read and held to its manifest. `kronic restore` and
//! `kronic backup drill` use it.

use anyhow::{Context, Result};

use crate::backup::dump;
use crate::backup::source::Source;
use crate::config::{DbConfig, LockPolicy};
use crate::pg::db;
use crate::pg::locks::{self, Watch};
use crate::report::exit::{classify, fail};
use crate::report::progress::Progress;

/// What a restore applied.
pub struct Restored {
    pub sql_bytes: u64,
    /// Rows loaded per table, in dump order.
    pub tables: Vec<(String, u64)>,
}

/// Reads the dump on a plain thread (decompressing, splitting, judging every
/// statement, hashing the bytes) while this task applies what it sends; commits only
/// when the reader has read the whole backup, refused nothing, and found the bytes to
/// be the ones its manifest recorded.
pub async fn restore(
    client: &tokio_postgres::Client,
    target: &DbConfig,
    src: &Source,
    policy: LockPolicy,
    drop_extra: bool,
) -> Result<Restored> {
    let progress = Progress::new("read", Some(src.size));
    let phase = progress.phase();
    let opened = src.open(Some(progress)).await?;
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let reader = tokio::task::spawn_blocking(move || -> Result<u64> {
        let mut steps = opened.statements()?;
        // A closed channel means the applying side stopped; it reports why.
        while let Some(step) = steps.next_step()? {
            if tx.blocking_send(step).is_err() {
                break;
            }
        }
        Ok(steps.sql_bytes())
    });

    phase.set("locking the existing tables");
    let unchanged = format!("nothing was restored, {} is unchanged", target.display());
    let watch = Watch::start(target, client).await;
    locks::retrying(policy, &watch, "restore", async || {
        db::batch(client, "BEGIN").await?;
        let locked = lock_existing(client, policy).await;
        if locked.is_err() {
            db::batch(client, "ROLLBACK").await.ok();
        }
        locked
    })
    .await
    .map_err(|e| {
        fail(
            classify(&e),
            format!("cannot lock the existing tables: {e:#}; {unchanged}"),
        )
    })?;
    drop(watch);
    let extensions = src
        .manifest
        .as_ref()
        .map(|m| m.extensions.clone())
        .unwrap_or_default();
    let applied = dump::apply::apply(client, &mut rx, &phase, &extensions).await;
    drop(rx);
    let read = reader.await.context("the reading task failed")?;
    let restored = match (read, applied) {
        // The reader's verdict first: a refused statement or a cut file is the cause.
        (Err(e), _) => {
            return Err(fail(classify(&e), format!("{e:#}; {unchanged}")));
        }
        (Ok(_), Err(e)) => {
            return Err(fail(
                classify(&e),
                format!("restore failed at {e:#}; rolled back, {unchanged}"),
            ));
        }
        (Ok(sql_bytes), Ok(applied)) => {
            let rows: u64 = applied.tables.iter().map(|(_, r)| r).sum();
            tracing::info!("{} rows in {} tables", rows, applied.tables.len());
            Restored {
                sql_bytes,
                tables: applied.tables,
            }
        }
    };
    let extra = extra_tables(client, &restored.tables).await?;
    if drop_extra && !extra.is_empty() {
        phase.set(format!(
            "dropping {} table(s) the backup does not hold",
            extra.len()
        ));
        let sql = format!("DROP TABLE IF EXISTS {} CASCADE", extra.join(", "));
        db::batch(client, &sql).await.map_err(|e| {
            let e = anyhow::Error::new(e);
            fail(
                classify(&e),
                format!("restore failed dropping the tables the backup does not hold: {e:#}; rolled back, {unchanged}"),
            )
        })?;
        tracing::info!(
            "dropped {}, which the backup does not hold",
            extra.join(", ")
        );
    } else if !extra.is_empty() {
        tracing::warn!(
            "{} table(s) the backup does not hold stay, with their rows: {} (--drop-extra drops them)",
            extra.len(),
            extra.join(", ")
        );
    }
    phase.set("commit");
    db::batch(client, "COMMIT").await.map_err(|e| {
        let e = anyhow::Error::new(e);
        fail(
            classify(&e),
            format!("restore failed at commit: {e:#}; rolled back, {unchanged}"),
        )
    })?;
    // The dump set session settings (search_path to ''): back to the defaults for
    // whatever the caller does next on this connection.
    db::batch(client, "RESET ALL").await?;
    Ok(restored)
}

/// Tables in the schemas a restore filled that the backup does not hold (made after it:
/// a later migration's), quoted as SQL names them. `restored` names tables as the
/// backup's COPY statements do (`schema.table`); inside the restore's transaction, a
/// table that transaction created is the backup's even without data (a dump made with
/// `--exclude-table-data`).
pub async fn extra_tables(
    client: &tokio_postgres::Client,
    restored: &[(String, u64)],
) -> Result<Vec<String>> {
    let held: Vec<String> = restored.iter().map(|(t, _)| t.clone()).collect();
    let schemas: Vec<String> = held
        .iter()
        .filter_map(|t| t.split_once('.').map(|(s, _)| s.to_string()))
        .collect();
    if schemas.is_empty() {
        return Ok(Vec::new());
    }
    let rows = db::query(
        client,
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind = 'r' AND NOT c.relispartition AND n.nspname = ANY($1) \
           AND NOT (n.nspname || '.' || c.relname) = ANY($2) \
           AND c.xmin::text <> (txid_current() % 4294967296)::text \
           AND pg_has_role(c.relowner, 'MEMBER') ORDER BY 1",
        &[&schemas, &held],
    )
    .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Takes the lock of every table the restore may drop or fill up front (tables and
/// partitioned tables the role owns), each try bounded by the policy's timeout: once
/// held, the dump's DROPs cannot queue behind the application (and block it) halfway
/// through. Views, materialized views and foreign tables cannot be locked with LOCK
/// TABLE (or lock what they read, with their owner's rights): their own DROPs take
/// their locks, under the same timeout, which stays set for the rest of the restore.
async fn lock_existing(client: &tokio_postgres::Client, policy: LockPolicy) -> Result<()> {
    db::batch(
        client,
        &format!("SET LOCAL lock_timeout = '{}'", policy.setting()),
    )
    .await?;
    let names = db::texts(
        client,
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p') AND pg_has_role(c.relowner, 'MEMBER') \
           AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' \
         ORDER BY 1",
    )
    .await?;
    if names.is_empty() {
        return Ok(());
    }
    let sql = format!("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE", names.join(", "));
    db::batch(client, &sql).await?;
    Ok(())
}
