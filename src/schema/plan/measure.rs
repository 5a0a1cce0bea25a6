//! Measuring pending migrations on the scratch database, statement by statement: the
//! locks kronic's own backend holds afterwards (`pg_locks`), the relations it rewrote
//! (their relfilenode changed), the tables it scanned (`pg_stat_xact_user_tables`
//! counts validation scans and index builds) and the rows it changed, beside the size
//! of the live table of the same name; then, per migration, how long each table's
//! strongest lock is held (from the statement that takes it to COMMIT) and what runs
//! meanwhile.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use serde::Serialize;
use tokio_postgres::{Client, Statement};

use crate::pg::db;
use crate::schema::migrations::MigrationFile;
use crate::schema::{copy, lint};
use crate::sql::{self, words};

/// A relation's name as the plan gives it (`$1` is the live schema): bare in it,
/// `schema.name` in any other.
pub const RELATION_NAME: &str = "CASE WHEN n.nspname = $1 THEN c.relname::text \
     ELSE n.nspname || '.' || c.relname END";

/// The application's schemas: not the catalogs', TOAST or temporary ones.
pub const USER_SCHEMAS: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') \
     AND n.nspname !~ '^pg_(toast|temp)'";

/// Lock modes that block the application's writes (SHARE and stronger), weakest first.
const BLOCKS_WRITES: &[&str] = &[
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
];

/// Why a statement that cannot run inside a transaction is not measured.
const NOT_IN_TRANSACTION: &str = "25001";

/// One lock: the relation and the mode as `pg_locks` names it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Lock {
    pub relation: String,
    pub mode: String,
}

/// What one statement did to the copy.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Step {
    pub migration: String,
    pub file: String,
    pub line: usize,
    /// The statement, on one line, shortened.
    pub statement: String,
    /// Locks this statement took that its migration did not hold before it.
    pub locks: Vec<Lock>,
    /// Tables and indexes it rewrote (new relfilenode).
    pub rewrites: Vec<String>,
    /// Tables it read through (a validation scan, an index build).
    pub scans: Vec<String>,
    /// Tables whose rows it changes (UPDATE, DELETE, MERGE): each changed row stays
    /// locked until COMMIT, and the application's writes to it wait.
    pub row_locks: Vec<String>,
    /// The largest live table it rewrote, scanned or changed, and its size (indexes and
    /// TOAST included); 0 for a table the pending migrations create.
    pub table: Option<String>,
    pub table_bytes: u64,
    /// "writes", "reads and writes" or "writes to the rows it changes": what the lock
    /// held on that table blocks while the statement runs.
    pub blocks: Option<&'static str>,
    /// Blocks the application while rewriting or scanning more than --max-rewrite.
    pub dangerous: bool,
    /// The reason of a `-- kronic:allow blocking-rewrite` waiver.
    pub waived: Option<String>,
    /// Why the statement was not measured (it cannot run inside a transaction).
    pub not_measured: Option<String>,
    pub note: Option<String>,
}

impl Step {
    /// Dangerous and not waived: fails the plan.
    pub fn fails(&self) -> bool {
        self.dangerous && self.waived.is_none()
    }
}

/// The strongest lock a migration takes on one table, and what it blocks until the
/// migration commits: every statement from the one that takes it to the last.
#[derive(Debug, Clone, Serialize)]
pub struct Hold {
    pub migration: String,
    pub file: String,
    pub table: String,
    pub mode: String,
    /// The statement that takes it.
    pub line: usize,
    /// Statements that run while it is held, that one included.
    pub statements: usize,
    /// The sizes of the live tables rewritten, scanned or changed meanwhile: the real
    /// length of the outage.
    pub bytes_meanwhile: u64,
    pub blocks: &'static str,
    pub dangerous: bool,
    pub waived: Option<String>,
}

impl Hold {
    pub fn fails(&self) -> bool {
        self.dangerous && self.waived.is_none()
    }
}

/// The statement that failed on the copy.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub migration: String,
    pub file: String,
    pub line: usize,
    pub statement: String,
    pub sqlstate: Option<String>,
    pub message: String,
}

/// A plan: the statements measured, the locks held per migration, and the failure
/// that stopped it, if one did.
#[derive(Debug, Default, Serialize)]
pub struct Plan {
    pub statements: Vec<Step>,
    pub holds: Vec<Hold>,
    pub failure: Option<Failure>,
}

/// Runs each pending migration in its own transaction on the scratch database,
/// measuring each statement; commits it there only if it wrote nothing the whole
/// cluster shares, and otherwise keeps its transaction open for the rest (rolled back).
pub async fn measure_all(
    client: &mut Client,
    schema: &str,
    pending: &[&MigrationFile],
    sizes: &BTreeMap<String, u64>,
    max_rewrite: u64,
) -> Result<Plan> {
    let queries = Queries::prepare(client).await?;
    let mut plan = Plan::default();
    // Set once a migration wrote a shared catalog: from then on nothing is committed.
    let mut open_since: Option<String> = None;
    for m in pending {
        if open_since.is_none() {
            db::batch(client, "BEGIN").await?;
        }
        let shared_before = shared_writes(client, &queries).await?;
        let mut before = Snapshot::take(client, &queries, schema).await?;
        let first = plan.statements.len();
        let statements = sql::statements(&m.up).unwrap_or_else(|_| vec![(1, m.up.clone())]);
        for (line, sql) in statements {
            let line = line as usize;
            let concurrently =
                m.no_transaction && sql.to_ascii_uppercase().contains("CONCURRENTLY");
            let runnable = match concurrently {
                true => copy::without_concurrently(&sql),
                false => sql.clone(),
            };
            db::batch(client, "SAVEPOINT kronic_plan_step").await?;
            if let Err(e) = db::batch(client, &runnable).await {
                let state = e.as_db_error().map(|d| d.code().code().to_string());
                db::batch(client, "ROLLBACK TO SAVEPOINT kronic_plan_step").await?;
                if state.as_deref() == Some(NOT_IN_TRANSACTION) {
                    let mut step = Step {
                        migration: m.label(),
                        file: m.origin.clone(),
                        line,
                        statement: one_line(&sql),
                        not_measured: Some(
                            "it cannot run inside a transaction, and the plan runs nothing outside one".into(),
                        ),
                        ..Step::default()
                    };
                    rewrites_whole(&mut step, &sql, sizes, max_rewrite);
                    if step.dangerous {
                        step.waived = lint::waiver(&m.up, lint::BLOCKING_REWRITE, line);
                    }
                    plan.statements.push(step);
                    continue;
                }
                db::batch(client, "ROLLBACK").await.ok();
                plan.failure = Some(Failure {
                    migration: m.label(),
                    file: m.origin.clone(),
                    line,
                    statement: one_line(&sql),
                    sqlstate: state,
                    message: e
                        .as_db_error()
                        .map_or_else(|| e.to_string(), |d| d.message().to_string()),
                });
                return Ok(plan);
            }
            db::batch(client, "RELEASE SAVEPOINT kronic_plan_step").await?;
            let after = Snapshot::take(client, &queries, schema).await?;
            let mut step = measure(&before, &after, &sql, sizes, max_rewrite);
            step.migration = m.label();
            step.file = m.origin.clone();
            step.line = line;
            step.statement = one_line(&sql);
            if concurrently {
                concurrent(&mut step, &after);
            }
            if let Some(earlier) = &open_since {
                step.note = Some(format!(
                    "measured in {earlier}'s transaction (never committed): a lock it already holds is not shown again"
                ));
            }
            if step.dangerous {
                step.waived = lint::waiver(&m.up, lint::BLOCKING_REWRITE, line);
            }
            plan.statements.push(step);
            before = after;
        }
        let steps = &plan.statements[first..];
        plan.holds.extend(holds(m, steps, max_rewrite));
        let shared = shared_writes(client, &queries).await?;
        let wrote: Vec<&String> = shared
            .iter()
            .filter(|(t, n)| shared_before.get(*t).is_none_or(|b| *n > b))
            .map(|(t, _)| t)
            .collect();
        if open_since.is_none() {
            if wrote.is_empty() {
                db::batch(client, "COMMIT").await?;
            } else {
                tracing::info!(
                    "{} writes {} (shared by every database of the server): measured in a transaction that is never committed",
                    m.origin,
                    wrote
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                open_since = Some(m.label());
            }
        }
    }
    if open_since.is_some() {
        db::batch(client, "ROLLBACK").await?;
    }
    Ok(plan)
}

/// VACUUM FULL and CLUSTER, which cannot run in the plan's transaction: what they do is
/// known without measuring (a rewrite of the whole table under ACCESS EXCLUSIVE).
fn rewrites_whole(step: &mut Step, sql: &str, sizes: &BTreeMap<String, u64>, max_rewrite: u64) {
    let kind = words::statement_kind(sql);
    let full = kind == "CLUSTER"
        || sql
            .to_ascii_uppercase()
            .split_whitespace()
            .any(|w| w == "FULL" || w == "FULL," || w == "(FULL");
    if !matches!(kind.as_str(), "VACUUM" | "CLUSTER") || !full {
        return;
    }
    let Some(table) = words::target_table(sql) else {
        step.note = Some(format!(
            "{kind} of every table: rewrites each under ACCESS EXCLUSIVE"
        ));
        return;
    };
    step.locks = vec![Lock {
        relation: table.clone(),
        mode: "AccessExclusiveLock".into(),
    }];
    step.rewrites = vec![table.clone()];
    step.table_bytes = sizes.get(&table).copied().unwrap_or(0);
    step.table = Some(table);
    step.blocks = Some("reads and writes");
    step.dangerous = step.table_bytes > max_rewrite;
    step.note = Some(format!(
        "{kind} rewrites the whole table under ACCESS EXCLUSIVE (known, not measured)"
    ));
}

/// A CREATE INDEX CONCURRENTLY, measured without CONCURRENTLY (which cannot run in a
/// transaction): what it takes instead is documented and fixed.
fn concurrent(step: &mut Step, after: &Snapshot) {
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

/// Per table, the strongest write-blocking lock `steps` (one migration's) take, from
/// the first statement that takes it to COMMIT.
fn holds(m: &MigrationFile, steps: &[Step], max_rewrite: u64) -> Vec<Hold> {
    let mut strongest: BTreeMap<&str, (usize, &str)> = BTreeMap::new();
    for (i, s) in steps.iter().enumerate() {
        for l in &s.locks {
            if !BLOCKS_WRITES.contains(&l.mode.as_str()) {
                continue;
            }
            let e = strongest.entry(&l.relation).or_insert((i, &l.mode));
            if strength(&l.mode) > strength(e.1) {
                *e = (i, &l.mode);
            }
        }
    }
    strongest
        .into_iter()
        .map(|(table, (i, mode))| {
            let meanwhile = &steps[i..];
            let bytes_meanwhile = meanwhile.iter().map(|s| s.table_bytes).sum();
            // Dangerous when later statements keep it held over more work: the
            // statement that takes it is judged on its own.
            let later: u64 = meanwhile[1..].iter().map(|s| s.table_bytes).sum();
            let dangerous = bytes_meanwhile > max_rewrite && later > 0;
            Hold {
                migration: m.label(),
                file: m.origin.clone(),
                table: table.to_string(),
                mode: mode.to_string(),
                line: steps[i].line,
                statements: meanwhile.len(),
                bytes_meanwhile,
                blocks: blocks(mode),
                dangerous,
                waived: dangerous
                    .then(|| lint::waiver(&m.up, lint::BLOCKING_REWRITE, steps[i].line))
                    .flatten(),
            }
        })
        .collect()
}

fn blocks(mode: &str) -> &'static str {
    match mode {
        "AccessExclusiveLock" => "reads and writes",
        _ => "writes",
    }
}

/// Writes so far to the catalogs every database shares (roles, databases, settings,
/// comments, tablespaces), but for pg_shdepend, which only records who owns what in
/// this database. Compared before and after a migration: counts include earlier
/// transactions not yet reported.
async fn shared_writes(client: &Client, q: &Queries) -> Result<BTreeMap<String, i64>> {
    Ok(client
        .query(&q.shared, &[])
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// What the transaction holds and what the copy looks like, between two statements.
struct Snapshot {
    /// (relation, mode) on the application's relations.
    locks: BTreeSet<Lock>,
    /// oid → (name, the table it belongs to, relfilenode).
    files: BTreeMap<u32, (String, String, u32)>,
    /// table → (sequential scans, rows updated or deleted) so far in this transaction.
    scans: BTreeMap<String, (i64, i64)>,
    /// The copy's tables.
    tables: BTreeSet<String>,
}

/// The snapshot's queries, prepared once for the whole plan and sent together.
struct Queries {
    locks: Statement,
    files: Statement,
    scans: Statement,
    shared: Statement,
}

impl Queries {
    async fn prepare(client: &Client) -> Result<Queries> {
        Ok(Queries {
            locks: client
                .prepare(&format!(
                    "SELECT {RELATION_NAME}, l.mode FROM pg_locks l \
                     JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE l.pid = pg_backend_pid() AND l.granted AND l.locktype = 'relation' \
                       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                       AND {USER_SCHEMAS}"
                ))
                .await?,
            files: client
                .prepare(&format!(
                    "SELECT c.oid, {RELATION_NAME}, \
                            coalesce(CASE WHEN tn.nspname = $1 THEN t.relname::text \
                                          ELSE tn.nspname || '.' || t.relname END, {RELATION_NAME}), \
                            pg_relation_filenode(c.oid), c.relkind::text \
                     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                     LEFT JOIN pg_index i ON i.indexrelid = c.oid LEFT JOIN pg_class t ON t.oid = i.indrelid \
                     LEFT JOIN pg_namespace tn ON tn.oid = t.relnamespace \
                     WHERE {USER_SCHEMAS} AND c.relkind IN ('r', 'p', 'm', 'i')"
                ))
                .await?,
            scans: client
                .prepare(
                    "SELECT CASE WHEN schemaname = $1 THEN relname::text \
                            ELSE schemaname || '.' || relname END, \
                            coalesce(seq_scan, 0), coalesce(n_tup_upd + n_tup_del, 0) \
                     FROM pg_stat_xact_user_tables",
                )
                .await?,
            shared: client
                .prepare(
                    "SELECT relname::text, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_sys_tables \
                     WHERE relid IN (SELECT oid FROM pg_class WHERE relisshared) AND relname <> 'pg_shdepend'",
                )
                .await?,
        })
    }
}

impl Snapshot {
    async fn take(client: &Client, q: &Queries, schema: &str) -> Result<Snapshot> {
        let mut s = Snapshot {
            locks: BTreeSet::new(),
            files: BTreeMap::new(),
            scans: BTreeMap::new(),
            tables: BTreeSet::new(),
        };
        // Pipelined: one round trip for the three.
        let param: &[&(dyn tokio_postgres::types::ToSql + Sync)] = &[&schema];
        let (locks, files, scans) = tokio::try_join!(
            client.query(&q.locks, param),
            client.query(&q.files, param),
            client.query(&q.scans, param),
        )?;
        for r in locks {
            s.locks.insert(Lock {
                relation: r.get(0),
                mode: r.get(1),
            });
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
            s.scans.insert(r.get(0), (r.get(1), r.get(2)));
        }
        Ok(s)
    }

    /// The strongest write-blocking mode held on `table`.
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

/// What `sql` did between `before` and `after`.
fn measure(
    before: &Snapshot,
    after: &Snapshot,
    sql: &str,
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
    let grew = |t: &String, pick: fn(&(i64, i64)) -> i64, n: &(i64, i64)| {
        before.scans.get(t).is_some_and(|b| pick(n) > pick(b))
    };
    // A rewrite reads the old table too: that is not a scan of its own.
    let scans: Vec<String> = after
        .scans
        .iter()
        .filter(|(t, n)| grew(t, |c| c.0, n) && !touched.contains(*t))
        .map(|(t, _)| t.clone())
        .collect();
    touched.extend(scans.iter().cloned());
    // The copy's tables are empty: an UPDATE or DELETE is known by its kind and the ROW
    // EXCLUSIVE lock it took (or by rows it changed, where the copy has some).
    let changes_rows = matches!(
        words::statement_kind(sql).as_str(),
        "UPDATE" | "DELETE" | "MERGE"
    );
    let row_locks: Vec<String> = after
        .scans
        .iter()
        .filter(|(t, n)| {
            grew(t, |c| c.1, n)
                || (changes_rows
                    && locks
                        .iter()
                        .any(|l| l.relation == **t && l.mode == "RowExclusiveLock"))
        })
        .map(|(t, _)| t.clone())
        .collect();
    touched.extend(row_locks.iter().cloned());
    // The table that matters: the largest live one among those touched.
    let table = touched
        .iter()
        .max_by_key(|t| sizes.get(*t).copied().unwrap_or(0))
        .cloned();
    let table_bytes = table
        .as_ref()
        .and_then(|t| sizes.get(t).copied())
        .unwrap_or(0);
    let blocks = table.as_ref().and_then(|t| match after.strongest(t) {
        Some(m) => Some(blocks(m)),
        None if row_locks.contains(t) => Some("writes to the rows it changes"),
        None => None,
    });
    Step {
        locks,
        rewrites,
        scans,
        row_locks,
        dangerous: blocks.is_some() && table_bytes > max_rewrite,
        table,
        table_bytes,
        blocks,
        ..Step::default()
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
