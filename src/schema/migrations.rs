//! Migrations: the catalogue (built in or from a folder), what a database has applied,
//! the consistency checks between the two, the lock against concurrent runners, and
//! readable failures. `kronic migrate` prints; this module decides.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use refinery::{Migration, Runner, Target};
use serde::Serialize;
use tokio_postgres::Client;

use crate::pg::db;
use crate::pg::lock_keys::MIGRATE as LOCK_KEY;
use crate::report::exit::{Code, fail};

/// The migrations built into the binary: (file name, contents).
const EMBEDDED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// refinery's history table.
pub const HISTORY: &str = "refinery_schema_history";

/// One migration: its up script, and the down script that undoes it.
#[derive(Debug, Clone)]
pub struct MigrationFile {
    pub version: u32,
    pub name: String,
    /// Where it came from, for messages: a path, or `built-in:` plus the file name.
    pub origin: String,
    pub up: String,
    pub down: Option<String>,
    /// First line `-- kronic:no-transaction`: one statement, run outside a transaction.
    pub no_transaction: bool,
}

/// The first line that marks a migration to run outside a transaction.
pub const NO_TRANSACTION: &str = "-- kronic:no-transaction";

impl MigrationFile {
    pub fn label(&self) -> String {
        format!("V{}__{}", self.version, self.name)
    }

    pub fn refinery(&self) -> Result<Migration> {
        Migration::unapplied(&self.label(), &self.up)
            .map_err(|e| fail(Code::DataErr, format!("migration {}: {e}", self.origin)))
    }
}

/// Splits `V12__add_index.sql` / `V12__add_index.down.sql` into (version, name, is_down).
fn parse_name(file: &str) -> Option<(u32, String, bool)> {
    let rest = file.strip_prefix('V')?;
    let (version, rest) = rest.split_once("__")?;
    let (name, down) = match rest.strip_suffix(".down.sql") {
        Some(n) => (n, true),
        None => (rest.strip_suffix(".sql")?, false),
    };
    let version: u32 = version.parse().ok()?;
    let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    (valid && i32::try_from(version).is_ok()).then(|| (version, name.to_string(), down))
}

/// Pairs up and down scripts. Every `.sql` file must be a well-named migration.
fn assemble(files: Vec<(String, String, String)>) -> Result<Vec<MigrationFile>> {
    let mut ups: BTreeMap<u32, MigrationFile> = BTreeMap::new();
    let mut downs: Vec<(u32, String, String, String)> = Vec::new();
    for (file, origin, sql) in files {
        let Some((version, name, is_down)) = parse_name(&file) else {
            return Err(fail(
                Code::DataErr,
                format!(
                    "{origin}: not a migration name; use V<version>__<name>.sql and V<version>__<name>.down.sql"
                ),
            ));
        };
        if is_down {
            downs.push((version, name, origin, sql));
        } else if let Some(prev) = ups.get(&version) {
            return Err(fail(
                Code::DataErr,
                format!(
                    "version {version} is used twice: {} and {origin}",
                    prev.origin
                ),
            ));
        } else {
            ups.insert(
                version,
                MigrationFile {
                    version,
                    name,
                    no_transaction: sql.lines().next().map(str::trim) == Some(NO_TRANSACTION),
                    origin,
                    up: sql,
                    down: None,
                },
            );
        }
    }
    for (version, name, origin, sql) in downs {
        match ups.get_mut(&version) {
            Some(m) if m.name == name => m.down = Some(sql),
            _ => {
                return Err(fail(
                    Code::DataErr,
                    format!("{origin}: down script without a matching V{version}__{name}.sql"),
                ));
            }
        }
    }
    for m in ups.values() {
        check_script(&m.origin, &m.up, m.no_transaction)?;
        if let Some(down) = &m.down {
            check_script(&format!("{} (down script)", m.origin), down, false)?;
        }
    }
    Ok(ups.into_values().collect())
}

/// Refuses (65), before anything runs, a script that would end kronic's transaction
/// early (it would half-persist while kronic reports a rollback), and a no-transaction
/// migration with other than exactly one statement.
fn check_script(origin: &str, sql: &str, no_transaction: bool) -> Result<()> {
    let statements = crate::backup::dump::statements(sql)
        .map_err(|(line, why)| fail(Code::DataErr, format!("{origin}: line {line}: {why}")))?;
    for (line, stmt) in &statements {
        if let Some(word) = crate::backup::dump::transaction_control(stmt) {
            return Err(fail(
                Code::DataErr,
                format!(
                    "{origin}: line {line}: {word}: a migration must not control its transaction (kronic runs each in its own; for statements that cannot run in one, such as CREATE INDEX CONCURRENTLY, put one in its own file whose first line is {NO_TRANSACTION})"
                ),
            ));
        }
    }
    if no_transaction && statements.len() != 1 {
        return Err(fail(
            Code::DataErr,
            format!(
                "{origin}: a {NO_TRANSACTION} migration holds exactly one statement, not {} (if it failed halfway, nothing could roll the others back)",
                statements.len()
            ),
        ));
    }
    Ok(())
}

/// The migration set: built in, or read from `dir`.
pub fn load(dir: Option<&Path>) -> Result<Vec<MigrationFile>> {
    let files = match dir {
        None => EMBEDDED
            .iter()
            .map(|(f, sql)| (f.to_string(), format!("built-in:{f}"), sql.to_string()))
            .collect(),
        Some(dir) => {
            let entries = std::fs::read_dir(dir).map_err(|e| {
                fail(
                    crate::report::exit::io_code(&e),
                    format!("cannot read migrations folder {}: {e}", dir.display()),
                )
            })?;
            let mut files = Vec::new();
            for entry in entries {
                let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
                let file = entry.file_name().to_string_lossy().into_owned();
                if !file.ends_with(".sql") || !entry.path().is_file() {
                    continue;
                }
                let sql = std::fs::read_to_string(entry.path())
                    .with_context(|| format!("cannot read migration {}", entry.path().display()))?;
                files.push((file, entry.path().display().to_string(), sql));
            }
            files
        }
    };
    assemble(files)
}

/// A row of `refinery_schema_history`.
#[derive(Debug, Clone)]
pub struct Applied {
    pub version: u32,
    pub name: String,
    pub applied_on: String,
    checksum: String,
}

/// What the database has applied, compared with the migration set.
pub struct State {
    pub set: Vec<MigrationFile>,
    /// None when the history table does not exist.
    pub applied: Option<Vec<Applied>>,
}

#[derive(Debug, Serialize, PartialEq, Eq, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Applied,
    Pending,
    Divergent,
    Missing,
}

#[derive(Debug, Serialize)]
pub struct HistoryRow {
    pub version: u32,
    pub name: String,
    pub state: Status,
    pub applied_on: Option<String>,
}

impl State {
    pub async fn read(
        client: &impl tokio_postgres::GenericClient,
        set: Vec<MigrationFile>,
    ) -> Result<State> {
        let exists: bool = db::query(client, "SELECT to_regclass($1) IS NOT NULL", &[&HISTORY])
            .await
            .context("cannot read the migration history")?[0]
            .get(0);
        let applied = if exists {
            let rows = db::query(
                client,
                &format!(
                    "SELECT version, name, applied_on, checksum FROM {HISTORY} ORDER BY version"
                ),
                &[],
            )
            .await
            .with_context(|| format!("cannot read {HISTORY}"))?;
            Some(
                rows.iter()
                    .map(|r| Applied {
                        version: r.get::<_, i32>(0) as u32,
                        name: r.get::<_, Option<String>>(1).unwrap_or_default(),
                        applied_on: r.get::<_, Option<String>>(2).unwrap_or_default(),
                        checksum: r.get::<_, Option<String>>(3).unwrap_or_default(),
                    })
                    .collect(),
            )
        } else {
            None
        };
        Ok(State { set, applied })
    }

    pub fn applied(&self) -> &[Applied] {
        self.applied.as_deref().unwrap_or(&[])
    }

    pub fn file(&self, version: u32) -> Option<&MigrationFile> {
        self.set.iter().find(|m| m.version == version)
    }

    pub fn rows(&self) -> Result<Vec<HistoryRow>> {
        let mut rows = Vec::new();
        for a in self.applied() {
            let state = match self.file(a.version) {
                None => Status::Missing,
                Some(f)
                    if f.name != a.name || f.refinery()?.checksum().to_string() != a.checksum =>
                {
                    Status::Divergent
                }
                Some(_) => Status::Applied,
            };
            rows.push(HistoryRow {
                version: a.version,
                name: a.name.clone(),
                state,
                applied_on: Some(a.applied_on.clone()),
            });
        }
        for f in &self.set {
            if !self.applied().iter().any(|a| a.version == f.version) {
                rows.push(HistoryRow {
                    version: f.version,
                    name: f.name.clone(),
                    state: Status::Pending,
                    applied_on: None,
                });
            }
        }
        rows.sort_by_key(|r| r.version);
        Ok(rows)
    }

    pub fn current(&self) -> Option<&Applied> {
        self.applied().last()
    }

    /// Refuses (65) when the history and the set disagree: divergent, missing, or a
    /// pending migration older than the newest applied one.
    pub fn check_consistent(&self) -> Result<()> {
        let rows = self.rows()?;
        let list = |s: Status| -> Vec<String> {
            rows.iter()
                .filter(|r| r.state == s)
                .map(|r| format!("V{}__{}", r.version, r.name))
                .collect()
        };
        let divergent = list(Status::Divergent);
        if !divergent.is_empty() {
            return Err(fail(
                Code::DataErr,
                format!(
                    "applied migration {} differs from this kronic's file (checksum or name changed after it was applied); restore the original file or revert it first",
                    divergent.join(", ")
                ),
            ));
        }
        let missing = list(Status::Missing);
        if !missing.is_empty() {
            return Err(fail(
                Code::DataErr,
                format!(
                    "applied migration {} is unknown to this kronic (a newer kronic applied it?); refusing to migrate",
                    missing.join(", ")
                ),
            ));
        }
        if let Some(cur) = self.current() {
            let late: Vec<String> = rows
                .iter()
                .filter(|r| r.state == Status::Pending && r.version < cur.version)
                .map(|r| format!("V{}__{}", r.version, r.name))
                .collect();
            if !late.is_empty() {
                return Err(fail(
                    Code::DataErr,
                    format!(
                        "migration {} is older than the applied version {} but was never applied; renumber it",
                        late.join(", "),
                        cur.version
                    ),
                ));
            }
        }
        Ok(())
    }

    /// "version N" (or "no version") after the first `done` pending migrations applied.
    pub fn version_after(&self, done: usize) -> String {
        match (done, self.current()) {
            (0, Some(c)) => format!("version {}", c.version),
            (0, None) => "no version".to_string(),
            (n, _) => format!("version {}", self.pending(None)[n - 1].version),
        }
    }

    /// The down scripts that revert the newest `steps` (default 1) applied migrations,
    /// or all above `target`, newest first. Every one must exist before anything runs.
    pub fn down_plan(
        &self,
        steps: Option<u32>,
        target: Option<u32>,
    ) -> Result<Vec<(&MigrationFile, &str)>> {
        self.check_consistent()?;
        let applied = self.applied();
        let revert: Vec<&Applied> = match target {
            Some(t) => applied.iter().rev().filter(|a| a.version > t).collect(),
            None => {
                let n = steps.unwrap_or(1) as usize;
                if n > applied.len() {
                    return Err(fail(
                        Code::Usage,
                        format!(
                            "cannot revert {n} migration(s): only {} applied",
                            applied.len()
                        ),
                    ));
                }
                applied.iter().rev().take(n).collect()
            }
        };
        let mut plan = Vec::new();
        for a in revert {
            // check_consistent() has made sure every applied version has its file.
            let Some(file) = self.file(a.version) else {
                continue;
            };
            let Some(sql) = &file.down else {
                return Err(fail(
                    Code::DataErr,
                    format!(
                        "migration {} has no down script (V{}__{}.down.sql); nothing was reverted",
                        file.origin, file.version, file.name
                    ),
                ));
            };
            plan.push((file, sql.as_str()));
        }
        Ok(plan)
    }

    pub fn pending(&self, target: Option<u32>) -> Vec<&MigrationFile> {
        self.set
            .iter()
            .filter(|m| !self.applied().iter().any(|a| a.version == m.version))
            .filter(|m| target.is_none_or(|t| m.version <= t))
            .collect()
    }
}

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
    let migrations: Vec<Migration> = state
        .set
        .iter()
        .map(|m| m.refinery())
        .collect::<Result<_>>()?;
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
        let what = crate::backup::dump::statements(&m.up)
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
            "INSERT INTO {HISTORY} (version, name, applied_on, checksum) VALUES ($1, $2, $3, $4)"
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
    let migrations: Vec<Migration> = state
        .set
        .iter()
        .map(|m| m.refinery())
        .collect::<Result<_>>()?;
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
        &format!("DELETE FROM {HISTORY} WHERE version = $1"),
        &[&(file.version as i32)],
    )
    .await?;
    tx.commit()
        .await
        .with_context(|| format!("cannot commit the revert of {}", file.label()))
}

/// Writes the next numbered migration and its down script into `dir`; returns both paths.
pub fn create_next(dir: &Path, description: &str) -> Result<(PathBuf, PathBuf)> {
    let slug = slugify(description);
    if slug.is_empty() {
        return Err(fail(
            Code::Usage,
            format!("description {description:?} has no letters or digits to name the file"),
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        fail(
            Code::CantCreate,
            format!("cannot create {}: {e}", dir.display()),
        )
    })?;
    let existing = load(Some(dir))?;
    let version = existing.iter().map(|m| m.version).max().unwrap_or(0) + 1;
    let up: PathBuf = dir.join(format!("V{version}__{slug}.sql"));
    let down: PathBuf = dir.join(format!("V{version}__{slug}.down.sql"));
    create_new(&up, &format!("-- {description}\n"))?;
    if let Err(e) = create_new(&down, &format!("-- Undo: {description}\n")) {
        let _ = std::fs::remove_file(&up);
        return Err(e);
    }
    Ok((up, down))
}

fn create_new(path: &Path, contents: &str) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| {
            fail(
                Code::CantCreate,
                format!("cannot create {}: {e}", path.display()),
            )
        })?;
    f.write_all(contents.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn slugify(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            parse_name("V1__initial_schema.sql"),
            Some((1, "initial_schema".into(), false))
        );
        assert_eq!(parse_name("V12__x.down.sql"), Some((12, "x".into(), true)));
        assert_eq!(parse_name("V1_initial.sql"), None);
        assert_eq!(parse_name("U1__x.sql"), None);
        assert_eq!(parse_name("V1__a-b.sql"), None);
    }

    #[test]
    fn embedded_set_pairs_every_up_with_a_down() {
        let set = load(None).unwrap();
        assert!(!set.is_empty());
        for m in &set {
            assert!(m.down.is_some(), "{} has no down script", m.label());
        }
    }

    #[test]
    fn duplicate_versions_and_orphan_downs_are_refused() {
        let f = |n: &str| (n.to_string(), n.to_string(), String::new());
        assert!(assemble(vec![f("V1__a.sql"), f("V1__b.sql")]).is_err());
        assert!(assemble(vec![f("V1__a.sql"), f("V1__b.down.sql")]).is_err());
        assert!(assemble(vec![f("notes.sql")]).is_err());
    }

    #[test]
    fn slugs() {
        assert_eq!(slugify("Add users.display_name!"), "add_users_display_name");
        assert_eq!(slugify("  --  "), "");
    }
}
