//! `migrate plan`: what each pending statement really does, measured on a scratch
//! database that holds a copy of the live schema, never on the live database.
//!
//! Why a database of its own, and not a schema in the live one: a statement that names
//! the live schema (`public.orders`, `SET search_path`, `DROP SCHEMA public`, a `DO`
//! block's dynamic SQL) reaches only the scratch database's own tables, by
//! construction, whatever its spelling. The live database is only read: its schema by
//! `pg_dump --schema-only` (a read-only snapshot), its tables' sizes by a read-only
//! transaction of a session that never runs a migration's SQL.
//!
//! On the scratch database each pending migration runs in its own transaction, as
//! `migrate up` runs it, so each one's locks are its own. A migration is committed there
//! only when it wrote nothing shared by the whole cluster (roles, role and database
//! settings, database ACLs and comments: `shared_writes`); one that did is never
//! committed, and the rest are measured inside its transaction, which is rolled back. A
//! statement that cannot run inside a transaction (VACUUM, CREATE DATABASE …) is not
//! run at all and is reported as not measurable. The few functions that act at once on
//! other sessions or the server, which no rollback undoes (`pg_terminate_backend`, file
//! and replication functions), are refused before anything runs.
//!
//! The scratch database is dropped at the end. A plan killed halfway leaves it; the next
//! plan drops every scratch database with no session (`drop_abandoned`).

mod measure;

use std::collections::BTreeMap;
use std::io::Read;

use anyhow::{Context, Result};
use tokio_postgres::Client;

pub use measure::{Failure, Hold, Lock, Plan, Step, sql_mode, strength};

use crate::backup::dump;
use crate::config::DbConfig;
use crate::pg::tools::{self, Passfile};
use crate::pg::{databases, db};
use crate::report::exit::{Code, classify, fail};
use crate::schema::migrations::MigrationFile;
use crate::sql::{self, words};

/// The scratch databases' names: this, then the process id.
pub const DATABASE_PREFIX: &str = "kronic_plan_";

/// How long the plan waits for any lock, on the live database or the scratch one: it
/// never queues in front of the application.
const LOCK_TIMEOUT: &str = "2s";

/// Plans `pending` against the database `live` is connected to (`db`).
pub async fn plan(
    live: &Client,
    db: &DbConfig,
    pending: &[&MigrationFile],
    max_rewrite: u64,
) -> Result<Plan> {
    for m in pending {
        refuse_irreversible(m)?;
    }
    // This session only reads, from here on: it never runs a migration's SQL.
    db::batch(
        live,
        &format!("SET default_transaction_read_only = on; SET lock_timeout = '{LOCK_TIMEOUT}'"),
    )
    .await?;
    let row = db::query(
        live,
        "SELECT coalesce(current_schema(), 'public')::text, current_setting('search_path')",
        &[],
    )
    .await?
    .remove(0);
    let (schema, search_path): (String, String) = (row.get(0), row.get(1));
    let sizes = live_sizes(live, &schema).await?;
    if pending.is_empty() {
        return Ok(Plan::default());
    }
    drop_abandoned(live, db).await;
    let dump = schema_dump(live, db).await?;
    let scratch = db.with_dbname(&format!("{DATABASE_PREFIX}{}", std::process::id()));
    databases::create(&scratch).await?;
    let planned = async {
        let mut client = db::connect(&scratch).await?;
        load(&client, dump).await?;
        let setup = format!(
            "SET search_path = {search_path}; SET lock_timeout = '{LOCK_TIMEOUT}'; \
             SET synchronous_commit = off"
        );
        db::batch(&client, &setup).await?;
        measure::measure_all(&mut client, &schema, pending, &sizes, max_rewrite).await
    }
    .await;
    let dropped = databases::drop_database(&scratch).await;
    let planned = planned?;
    if let Err(e) = dropped {
        tracing::warn!("{e:#}; the next plan drops it");
    }
    Ok(planned)
}

/// Refuses (65) a migration that calls a function no rollback undoes.
fn refuse_irreversible(m: &MigrationFile) -> Result<()> {
    let statements = sql::statements(&m.up)
        .map_err(|(line, why)| fail(Code::DataErr, format!("{} line {line}: {why}", m.origin)))?;
    for (line, sql) in statements {
        if let Some(name) = words::irreversible_call(&sql) {
            return Err(fail(
                Code::DataErr,
                format!(
                    "{} line {line} calls {name}, which acts at once on other sessions or on the server, and no rollback undoes that: migrate plan does not run it (nothing was run)",
                    m.origin
                ),
            ));
        }
    }
    Ok(())
}

/// The live tables' total sizes (indexes and TOAST included), by the name the plan
/// gives them: bare in the live schema, `schema.table` elsewhere. Read in a read-only
/// transaction, each under a momentary ACCESS SHARE lock (which blocks nobody's reads
/// or writes, and gives up within the lock timeout behind a running migration).
async fn live_sizes(live: &Client, schema: &str) -> Result<BTreeMap<String, u64>> {
    let rows = db::query(
        live,
        &format!(
            "SELECT {}, pg_total_relation_size(c.oid) FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p', 'm') AND {}",
            measure::RELATION_NAME,
            measure::USER_SCHEMAS
        ),
        &[&schema],
    )
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get::<_, i64>(1).max(0) as u64))
        .collect())
}

/// Drops the scratch databases of plans that did not finish: kronic's own (the role
/// owns them), with nobody connected (a running plan always is). Best effort.
async fn drop_abandoned(live: &Client, db: &DbConfig) {
    let names = db::query(
        live,
        "SELECT datname::text FROM pg_database d \
         WHERE starts_with(datname, $1) AND substr(datname, length($1) + 1) ~ '^[0-9]+$' \
           AND pg_has_role(datdba, 'USAGE') AND NOT datistemplate \
           AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)",
        &[&DATABASE_PREFIX],
    )
    .await;
    let names: Vec<String> = match names {
        Ok(rows) => rows.iter().map(|r| r.get(0)).collect(),
        Err(e) => {
            tracing::warn!("cannot look for scratch databases left by earlier plans: {e}");
            return;
        }
    };
    for name in names {
        tracing::info!("dropping {name}, left by a plan that did not finish");
        // Without FORCE: a plan that connects meanwhile keeps its database.
        let client = match db::connect(&db.with_dbname("postgres")).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("cannot drop {name}, left by an earlier plan: {e:#}");
                return;
            }
        };
        let sql = format!("DROP DATABASE IF EXISTS {}", db::quote_ident(&name));
        if let Err(e) = db::batch(&client, &sql).await {
            tracing::warn!("cannot drop {name}, left by an earlier plan: {e}");
        }
    }
}

/// The live schema as `pg_dump --schema-only` prints it: objects of this database only
/// (no owners, grants, publications, subscriptions, tablespaces or security labels), in
/// pg_dump's read-only snapshot, waiting for no lock longer than the plan's timeout.
async fn schema_dump(live: &Client, db: &DbConfig) -> Result<Vec<u8>> {
    let major = tools::server_major(live).await?;
    let pg_dump = tools::find("pg_dump", major).await?;
    let pass = Passfile::new(db)?;
    let mut cmd = tools::command(&pg_dump, db, &pass);
    cmd.args([
        "--schema-only",
        "--no-owner",
        "--no-privileges",
        "--no-publications",
        "--no-subscriptions",
        "--no-tablespaces",
        "--no-security-labels",
        "--lock-wait-timeout=2000",
    ]);
    let (child, mut stdout) = tools::spawn("pg_dump", cmd, pass)?;
    let read = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        stdout.read_to_end(&mut out).map(|_| out)
    });
    let out = read.await.context("the reading task failed")?;
    child.finish().await.map_err(|e| {
        let code = match classify(&e) {
            Code::DataErr => Code::Software,
            c => c,
        };
        fail(
            code,
            format!("cannot read the live schema: {e:#}; nothing was changed"),
        )
    })?;
    out.context("cannot read pg_dump's output")
}

/// Loads the schema dump into the scratch database, through the restore's reader (the
/// same rules as any restore), and commits it there.
async fn load(client: &Client, dump: Vec<u8>) -> Result<()> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let reader = tokio::task::spawn_blocking(move || -> Result<(), dump::DumpError> {
        let mut steps = dump::Reader::new(dump.as_slice());
        while let Some(step) = steps.next_step()? {
            if tx.blocking_send(step).is_err() {
                break;
            }
        }
        Ok(())
    });
    db::batch(client, "BEGIN").await?;
    let phase = crate::report::progress::Phase::quiet();
    let applied = dump::apply::apply(client, &mut rx, &phase, &BTreeMap::new()).await;
    drop(rx);
    let read = reader.await.context("the reading task failed")?;
    let copied = match (read, applied) {
        (Err(e), _) => Err(e.into_error(std::path::Path::new("the live schema's dump"))),
        (Ok(()), Err(e)) => Err(e),
        (Ok(()), Ok(_)) => Ok(()),
    };
    copied.map_err(|e| {
        fail(
            classify(&e),
            format!(
                "cannot copy the live schema into a scratch database: {e:#}; nothing was changed"
            ),
        )
    })?;
    db::batch(client, "COMMIT; RESET ALL").await?;
    Ok(())
}
