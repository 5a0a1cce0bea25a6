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
//! The scratch copy is made by `backup::schema_copy` (pg_dump and the restore's reader)
//! and dropped at the end; `cmd/migrate_plan` puts the two together. A plan killed
//! halfway leaves its scratch database; the next plan drops every one nobody is
//! connected to (`pg::databases::drop_abandoned`).

mod measure;

use std::collections::BTreeMap;

use anyhow::Result;
use tokio_postgres::Client;

pub use measure::{Failure, Hold, Lock, Plan, Step, sql_mode, strength};

use crate::pg::db;
use crate::report::exit::{Code, fail};
use crate::schema::migrations::MigrationFile;
use crate::sql::{self, words};

/// The scratch databases' names: this, then the process id.
pub const DATABASE_PREFIX: &str = "kronic_plan_";

/// The comment that marks a scratch database as a plan's: only a marked one is ever
/// dropped as left by a killed plan (an application's database may share the name).
pub const SCRATCH_MARK: &str = "kronic migrate plan scratch: dropped when the plan ends";

/// How long the plan waits for any lock, on the live database or the scratch one: it
/// never queues in front of the application.
const LOCK_TIMEOUT: &str = "2s";

/// What the plan needs of the live database, read by a session that only reads.
pub struct Live {
    /// The live schema (the connection's current one).
    pub schema: String,
    pub search_path: String,
    /// The live tables' total sizes (indexes and TOAST included), by the plan's name.
    pub sizes: BTreeMap<String, u64>,
}

impl Live {
    /// Refuses (65) a pending migration that calls a function no rollback undoes,
    /// puts `live` in read-only mode with the plan's lock timeout (it never runs a
    /// migration's SQL), and reads what the plan needs.
    pub async fn read(live: &Client, pending: &[&MigrationFile]) -> Result<Live> {
        for m in pending {
            refuse_irreversible(m)?;
        }
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
        Ok(Live {
            schema,
            search_path,
            sizes,
        })
    }
}

/// The scratch database of this plan.
pub fn scratch_name() -> String {
    format!("{DATABASE_PREFIX}{}", std::process::id())
}

/// Measures `pending` on `scratch`, a connection to a database that holds a copy of the
/// live schema (and nothing else of value: what the migrations do there stays there).
pub async fn measure(
    scratch: &mut Client,
    live: &Live,
    pending: &[&MigrationFile],
    max_rewrite: u64,
) -> Result<Plan> {
    let setup = format!(
        "SET search_path = {}; SET lock_timeout = '{LOCK_TIMEOUT}'; SET synchronous_commit = off",
        live.search_path
    );
    db::batch(scratch, &setup).await?;
    measure::measure_all(scratch, &live.schema, pending, &live.sizes, max_rewrite).await
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
