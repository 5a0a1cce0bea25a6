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
use crate::report::exit::{Code, classify, fail};
use crate::report::progress::Progress;

/// What a restore applied.
pub struct Restored {
    pub sql_bytes: u64,
    /// Rows loaded per table, in dump order.
    pub tables: Vec<(String, u64)>,
}

/// Does `target`'s database exist? Asked of the server's `postgres` database. A
/// template database is refused (64): kronic never restores over or drops one.
pub async fn exists(target: &DbConfig) -> Result<bool> {
    let client = db::connect(&target.with_dbname("postgres")).await?;
    let rows = db::query(
        &client,
        "SELECT datistemplate FROM pg_database WHERE datname = $1",
        &[&target.dbname],
    )
    .await?;
    match rows.first().map(|r| r.get::<_, bool>(0)) {
        Some(true) => Err(template(target)),
        Some(false) => Ok(true),
        None => Ok(false),
    }
}

/// The database `client` is connected to, refused (64) if it is a template.
pub async fn refuse_template(client: &tokio_postgres::Client, target: &DbConfig) -> Result<()> {
    let rows = db::query(
        client,
        "SELECT datistemplate FROM pg_database WHERE datname = current_database()",
        &[],
    )
    .await?;
    match rows.first().map(|r| r.get::<_, bool>(0)) {
        Some(true) => Err(template(target)),
        _ => Ok(()),
    }
}

fn template(target: &DbConfig) -> anyhow::Error {
    fail(
        Code::Usage,
        format!(
            "database {} is a template: kronic never restores over or drops a template database",
            target.dbname
        ),
    )
}

pub async fn create(target: &DbConfig) -> Result<()> {
    let client = db::connect(&target.with_dbname("postgres")).await?;
    let sql = format!("CREATE DATABASE {}", db::quote_ident(&target.dbname));
    db::batch(&client, &sql).await.map_err(|e| {
        let why = match e.as_db_error() {
            Some(d) if d.code() == &tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE => format!(
                "role {} lacks the CREATEDB privilege, which restores with --create and drills need (as a superuser: ALTER ROLE {} CREATEDB)",
                target.user, target.user
            ),
            Some(d) => d.message().to_string(),
            None => e.to_string(),
        };
        fail(
            classify(&anyhow::Error::new(e)),
            format!("cannot create database {}: {why}", target.dbname),
        )
    })?;
    tracing::info!("created database {}", target.dbname);
    Ok(())
}

/// Drops `target`'s database (a scratch or a just-created one), closing its sessions.
pub async fn drop_database(target: &DbConfig) -> Result<()> {
    let client = db::connect(&target.with_dbname("postgres")).await?;
    let sql = format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        db::quote_ident(&target.dbname)
    );
    db::batch(&client, &sql).await.map_err(|e| {
        let e = anyhow::Error::new(e);
        fail(
            classify(&e),
            format!("cannot drop database {}: {e:#}", target.dbname),
        )
    })
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
