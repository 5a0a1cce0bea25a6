//! `migrate plan`: what each pending statement really does, measured on a throwaway copy
//! of the schema, statement by statement: the locks kronic's own backend holds
//! afterwards (`pg_locks`), the relations it rewrote (their relfilenode changed), the
//! tables it scanned (`pg_stat_xact_user_tables` counts validation scans and index
//! builds), beside the size of the live table of the same name.
//!
//! The copy is built as `migrate check` builds it (`copy::build`), but committed, in a
//! schema of its own: a table created in the measuring transaction would already be
//! held ACCESS EXCLUSIVE and hide every lock a statement takes. Each pending migration
//! then runs in its own transaction on the copy, as `migrate up` would run it, and the
//! copy is dropped at the end. A plan killed halfway leaves its schema; the next plan
//! drops it (each plan holds an advisory lock while its copy exists, so a running plan's
//! copy is never taken for an abandoned one), and backups leave such schemas out.
//!
//! The application's tables are never touched: the copy lives in its own schema, a
//! statement naming the live schema explicitly is refused before anything runs, every
//! lock is checked to be on the copy after each statement (the plan stops otherwise),
//! and `lock_timeout` keeps the plan from ever queueing behind the application. The
//! live tables' sizes are read first, each under a momentary ACCESS SHARE lock (which
//! blocks nobody's reads or writes).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use serde::Serialize;
use tokio_postgres::{Client, Statement, Transaction};

use crate::pg::db;
use crate::report::exit::{Code, fail};
use crate::schema::migrations::MigrationFile;
use crate::schema::{copy, lint};

/// Lock modes that block the application's writes (SHARE and stronger), weakest first.
const BLOCKS_WRITES: &[&str] = &[
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
];

/// One lock: the relation (its name in the live schema) and the mode as `pg_locks`
/// names it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Lock {
    pub relation: String,
    pub mode: String,
}

/// What one statement did to the copy.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub migration: String,
    pub file: String,
    pub line: usize,
    /// The statement, on one line, shortened.
    pub statement: String,
    /// Locks this statement took that the transaction did not hold before it.
    pub locks: Vec<Lock>,
    /// Tables and indexes it rewrote (new relfilenode).
    pub rewrites: Vec<String>,
    /// Tables it read through (a validation scan, an index build).
    pub scans: Vec<String>,
    /// The largest live table it rewrote or scanned, and its size (indexes and TOAST
    /// included); 0 for a table the pending migrations create.
    pub table: Option<String>,
    pub table_bytes: u64,
    /// "writes" or "reads and writes": what the lock held on that table blocks while
    /// the rewrite or scan runs.
    pub blocks: Option<&'static str>,
    /// Blocks the application while rewriting or scanning more than --max-rewrite.
    pub dangerous: bool,
    /// The reason of a `-- kronic:allow blocking-rewrite` waiver.
    pub waived: Option<String>,
    pub note: Option<String>,
}

impl Step {
    /// Dangerous and not waived: fails the plan.
    pub fn fails(&self) -> bool {
        self.dangerous && self.waived.is_none()
    }
}

/// The copies' schema names start with this.
pub const SCHEMA_PREFIX: &str = "kronic_plan_";

/// Plans `pending` on a copy of what `applied` builds.
pub async fn plan(
    client: &mut Client,
    applied: &[&MigrationFile],
    pending: &[&MigrationFile],
    max_rewrite: u64,
) -> Result<Vec<Step>> {
    let live = copy::live_schema(client).await?;
    for m in pending {
        if lint::names_schema(&m.up, &live) {
            return Err(fail(
                Code::DataErr,
                format!(
                    "{} names the schema {live} explicitly: migrate plan applies migrations to a copy and cannot plan a statement aimed at the live tables (leave the schema out; kronic's search_path is {live})",
                    m.origin
                ),
            ));
        }
    }
    // Never queue behind the application, not even for the sizes' ACCESS SHARE (which
    // only an ACCESS EXCLUSIVE holder, such as a running migration, would make wait).
    db::batch(client, "SET lock_timeout = '2s'").await?;
    let sizes = live_sizes(client, &live).await?;
    drop_abandoned(client).await?;
    let pid = std::process::id();
    db::query(
        client,
        "SELECT pg_advisory_lock($1, $2)",
        &[&PLAN_KEY, &(pid as i32)],
    )
    .await?;
    let tx = client.transaction().await?;
    let scratch = copy::build(&tx, "plan", applied).await?;
    tx.commit().await?;
    let steps = measure_all(client, &scratch, pending, &sizes, max_rewrite).await;
    let dropped = db::batch(client, &format!("DROP SCHEMA IF EXISTS {scratch} CASCADE")).await;
    db::query(
        client,
        "SELECT pg_advisory_unlock($1, $2)",
        &[&PLAN_KEY, &(pid as i32)],
    )
    .await?;
    let steps = steps?;
    dropped?;
    Ok(steps)
}

/// The advisory lock's first key ("kplan"); the second is the plan's process id, the
/// number in its schema's name.
const PLAN_KEY: i32 = 0x6b70_6c61;

/// Drops copies whose plan is gone (killed halfway): nobody holds their lock.
async fn drop_abandoned(client: &Client) -> Result<()> {
    let rows = db::query(
        client,
        "SELECT nspname::text FROM pg_namespace WHERE starts_with(nspname, $1)",
        &[&SCHEMA_PREFIX],
    )
    .await?;
    for r in rows {
        let name: String = r.get(0);
        let Some(pid) = name
            .strip_prefix(SCHEMA_PREFIX)
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        let free: bool = db::query(
            client,
            "SELECT pg_try_advisory_lock($1, $2)",
            &[&PLAN_KEY, &pid],
        )
        .await?[0]
            .get(0);
        if free {
            tracing::info!("dropping {name}, left by a plan that did not finish");
            // Someone else's (another role's plan): theirs to drop; this plan goes on.
            let drop = format!("DROP SCHEMA IF EXISTS {name} CASCADE");
            if let Err(e) = db::batch(client, &drop).await {
                tracing::warn!("cannot drop {name}, left by an earlier plan: {e}");
            }
            db::query(
                client,
                "SELECT pg_advisory_unlock($1, $2)",
                &[&PLAN_KEY, &pid],
            )
            .await?;
        }
    }
    Ok(())
}

/// Runs each pending migration in its own transaction on the copy, measuring each
/// statement.
async fn measure_all(
    client: &mut Client,
    scratch: &str,
    pending: &[&MigrationFile],
    sizes: &BTreeMap<String, u64>,
    max_rewrite: u64,
) -> Result<Vec<Step>> {
    let mut steps = Vec::new();
    let queries = Queries::prepare(client).await?;
    for m in pending {
        let tx = client.transaction().await?;
        // Never wait behind the application: the copy's own locks are always free. The
        // copy is thrown away: its commits need not wait for the disk.
        db::batch(
            &tx,
            &format!(
                "SET LOCAL search_path = {scratch}; SET LOCAL lock_timeout = '2s'; \
                 SET LOCAL synchronous_commit = off"
            ),
        )
        .await?;
        let mut before = Snapshot::take(&tx, &queries, scratch).await?;
        for (line, sql) in lint::statements(&m.up) {
            let concurrently =
                m.no_transaction && sql.to_ascii_uppercase().contains("CONCURRENTLY");
            let runnable = match concurrently {
                true => copy::without_concurrently(&sql),
                false => sql.clone(),
            };
            db::batch(&tx, &runnable).await.map_err(|e| {
                fail(
                    Code::DataErr,
                    format!(
                        "{} line {line} fails on a copy of the schema: {}; nothing was changed",
                        m.origin,
                        e.as_db_error().map_or(e.to_string(), |d| format!(
                            "{} (SQLSTATE {})",
                            d.message(),
                            d.code().code()
                        ))
                    ),
                )
            })?;
            let after = Snapshot::take(&tx, &queries, scratch).await?;
            if let Some(outside) = after.outside.first() {
                return Err(fail(
                    Code::Software,
                    format!(
                        "{} line {line} locked {outside}, outside the plan's copy; the plan stopped and rolled back",
                        m.origin
                    ),
                ));
            }
            let mut step = measure(&before, &after, sizes, max_rewrite);
            step.migration = m.label();
            step.file = m.origin.clone();
            step.line = line;
            step.statement = one_line(&sql);
            if concurrently {
                // Measured without CONCURRENTLY, which cannot run in a transaction; what
                // it takes instead is documented and fixed.
                step.locks = step
                    .locks
                    .iter()
                    .filter(|l| after.tables.contains(&l.relation))
                    .map(|l| Lock {
                        relation: l.relation.clone(),
                        mode: "ShareUpdateExclusiveLock".into(),
                    })
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                step.blocks = None;
                step.dangerous = false;
                step.note = Some(
                    "CONCURRENTLY: SHARE UPDATE EXCLUSIVE, which blocks no reads or writes (measured without it: it cannot run in a transaction)".into(),
                );
            }
            if step.dangerous {
                step.waived = lint::waiver(&m.up, lint::BLOCKING_REWRITE, line);
            }
            steps.push(step);
            before = after;
        }
        tx.commit().await?;
    }
    Ok(steps)
}

/// The live tables' total sizes, by name.
async fn live_sizes(client: &Client, live: &str) -> Result<BTreeMap<String, u64>> {
    let rows = db::query(
        client,
        "SELECT c.relname::text, pg_total_relation_size(c.oid) FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'm')",
        &[&live],
    )
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get::<_, i64>(1).max(0) as u64))
        .collect())
}

/// What the transaction holds and what the copy looks like, between two statements.
struct Snapshot {
    /// (relation, mode) on the copy's relations, by their (live) names.
    locks: BTreeSet<Lock>,
    /// oid → (name, the table it belongs to, relfilenode).
    files: BTreeMap<u32, (String, String, u32)>,
    /// table → sequential scans so far in this transaction.
    scans: BTreeMap<String, i64>,
    /// The copy's tables.
    tables: BTreeSet<String>,
    /// Relations locked outside the copy (other than the catalogs).
    outside: Vec<String>,
}

/// The snapshot's queries, prepared once for the whole plan and sent together.
struct Queries {
    locks: Statement,
    files: Statement,
    scans: Statement,
}

impl Queries {
    async fn prepare(client: &Client) -> Result<Queries> {
        Ok(Queries {
            locks: client
                .prepare(
                    "SELECT c.relname::text, l.mode, n.nspname::text FROM pg_locks l \
                     JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE l.pid = pg_backend_pid() AND l.granted AND l.locktype = 'relation' \
                       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                )
                .await?,
            files: client
                .prepare(
                    "SELECT c.oid, c.relname::text, coalesce(t.relname, c.relname)::text, \
                            pg_relation_filenode(c.oid), c.relkind::text \
                     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                     LEFT JOIN pg_index i ON i.indexrelid = c.oid LEFT JOIN pg_class t ON t.oid = i.indrelid \
                     WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'm', 'i')",
                )
                .await?,
            scans: client
                .prepare(
                    "SELECT relname::text, coalesce(seq_scan, 0) FROM pg_stat_xact_user_tables \
                     WHERE schemaname = $1",
                )
                .await?,
        })
    }
}

impl Snapshot {
    async fn take(tx: &Transaction<'_>, q: &Queries, scratch: &str) -> Result<Snapshot> {
        let mut s = Snapshot {
            locks: BTreeSet::new(),
            files: BTreeMap::new(),
            scans: BTreeMap::new(),
            tables: BTreeSet::new(),
            outside: Vec::new(),
        };
        // Pipelined: one round trip for the three.
        let schema: &[&(dyn tokio_postgres::types::ToSql + Sync)] = &[&scratch];
        let (locks, files, scans) = tokio::try_join!(
            tx.query(&q.locks, &[]),
            tx.query(&q.files, schema),
            tx.query(&q.scans, schema),
        )?;
        for r in locks {
            let (relation, mode, schema): (String, String, String) = (r.get(0), r.get(1), r.get(2));
            if schema == scratch {
                s.locks.insert(Lock { relation, mode });
            } else if !matches!(
                schema.as_str(),
                "pg_catalog" | "pg_toast" | "information_schema"
            ) && !schema.starts_with("pg_temp")
                && !schema.starts_with("pg_toast_temp")
            {
                s.outside.push(format!("{schema}.{relation} ({mode})"));
            }
        }
        for r in files {
            let kind: String = r.get(4);
            if kind != "i" {
                s.tables.insert(r.get(1));
            }
            let filenode: Option<u32> = r.get(3);
            s.files
                .insert(r.get(0), (r.get(1), r.get(2), filenode.unwrap_or(0)));
        }
        for r in scans {
            s.scans.insert(r.get(0), r.get(1));
        }
        Ok(s)
    }

    /// The strongest mode held on `table`.
    fn strongest(&self, table: &str) -> Option<&'static str> {
        BLOCKS_WRITES
            .iter()
            .rev()
            .find(|m| {
                self.locks
                    .iter()
                    .any(|l| l.relation == table && l.mode == **m)
            })
            .copied()
    }
}

/// What happened between `before` and `after`.
fn measure(
    before: &Snapshot,
    after: &Snapshot,
    sizes: &BTreeMap<String, u64>,
    max_rewrite: u64,
) -> Step {
    // New locks, on relations that existed before (one the statement creates is its own).
    let locks: Vec<Lock> = after
        .locks
        .difference(&before.locks)
        .filter(|l| {
            before
                .files
                .values()
                .any(|(name, _, _)| *name == l.relation)
        })
        .cloned()
        .collect();
    let mut rewrites = Vec::new();
    let mut touched = BTreeSet::new();
    for (oid, (name, table, node)) in &after.files {
        if let Some((_, _, old)) = before.files.get(oid)
            && old != node
        {
            rewrites.push(name.clone());
            touched.insert(table.clone());
        }
    }
    // A rewrite reads the old table too: that is not a scan of its own.
    let scans: Vec<String> = after
        .scans
        .iter()
        .filter(|(t, n)| before.scans.get(*t).is_some_and(|b| *n > b) && !touched.contains(*t))
        .map(|(t, _)| t.clone())
        .collect();
    touched.extend(scans.iter().cloned());
    // The table that matters: the largest live one among those touched.
    let table = touched
        .iter()
        .max_by_key(|t| sizes.get(*t).copied().unwrap_or(0))
        .cloned();
    let table_bytes = table
        .as_ref()
        .and_then(|t| sizes.get(t).copied())
        .unwrap_or(0);
    let blocks = table
        .as_ref()
        .and_then(|t| after.strongest(t))
        .map(|m| match m {
            "AccessExclusiveLock" => "reads and writes",
            _ => "writes",
        });
    Step {
        migration: String::new(),
        file: String::new(),
        line: 0,
        statement: String::new(),
        locks,
        rewrites,
        scans,
        dangerous: blocks.is_some() && table_bytes > max_rewrite,
        table,
        table_bytes,
        blocks,
        waived: None,
        note: None,
    }
}

/// A statement on one line, at most 80 characters.
fn one_line(sql: &str) -> String {
    let flat = sql
        .lines()
        .map(|l| l.split("--").next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    match flat.char_indices().nth(79) {
        Some((i, _)) => format!("{}…", &flat[..i]),
        None => flat,
    }
}

/// How strong a lock mode is, from ACCESS SHARE (1) to ACCESS EXCLUSIVE (8).
pub fn strength(mode: &str) -> usize {
    const ORDER: [&str; 8] = [
        "AccessShareLock",
        "RowShareLock",
        "RowExclusiveLock",
        "ShareUpdateExclusiveLock",
        "ShareLock",
        "ShareRowExclusiveLock",
        "ExclusiveLock",
        "AccessExclusiveLock",
    ];
    ORDER.iter().position(|m| *m == mode).map_or(0, |p| p + 1)
}

/// `pg_locks`' mode as SQL names it: AccessExclusiveLock → ACCESS EXCLUSIVE.
pub fn sql_mode(mode: &str) -> String {
    let name = mode.strip_suffix("Lock").unwrap_or(mode);
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_uppercase() && !out.is_empty() {
            out.push(' ');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_modes_read_as_sql_names_them() {
        assert_eq!(sql_mode("AccessExclusiveLock"), "ACCESS EXCLUSIVE");
        assert_eq!(
            sql_mode("ShareUpdateExclusiveLock"),
            "SHARE UPDATE EXCLUSIVE"
        );
        assert_eq!(sql_mode("ShareLock"), "SHARE");
    }

    #[test]
    fn statements_fit_on_a_line() {
        assert_eq!(
            one_line("ALTER TABLE t -- why\n  ADD x int;"),
            "ALTER TABLE t ADD x int;"
        );
        assert_eq!(one_line(&"x".repeat(200)).chars().count(), 80);
    }
}
