//! What the database has applied (`refinery_schema_history`), compared with the
//! migration set: applied, pending, divergent, missing.

use anyhow::{Context, Result};
use serde::Serialize;

use super::file::{HISTORY, MigrationFile};
use crate::pg::db;
use crate::report::exit::{Code, fail};

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
    /// The history's version column type, when it has rows (refinery writes integer).
    pub version_type: Option<String>,
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
        let (applied, version_type) = if exists {
            // Read as bigint whatever the column's integer type (refinery's int8
            // setting makes it bigint): never a type the row getter would panic on.
            let rows = db::query(
                client,
                &format!(
                    "SELECT version::int8, name::text, applied_on::text, checksum::text, \
                     pg_typeof(version)::text FROM {HISTORY} ORDER BY version"
                ),
                &[],
            )
            .await
            .with_context(|| format!("cannot read {HISTORY}"))?;
            let mut applied = Vec::with_capacity(rows.len());
            for r in &rows {
                let version: i64 = r.get(0);
                let version = u32::try_from(version).map_err(|_| {
                    fail(
                        Code::DataErr,
                        format!("{HISTORY} holds version {version}, which no migration file can have (1 to 4294967295)"),
                    )
                })?;
                applied.push(Applied {
                    version,
                    name: r.get::<_, Option<String>>(1).unwrap_or_default(),
                    applied_on: r.get::<_, Option<String>>(2).unwrap_or_default(),
                    checksum: r.get::<_, Option<String>>(3).unwrap_or_default(),
                });
            }
            let version_type = rows.first().map(|r| r.get::<_, String>(4));
            (Some(applied), version_type)
        } else {
            (None, None)
        };
        Ok(State {
            set,
            applied,
            version_type,
        })
    }

    /// refinery writes and reads the history's version as an integer (int4): a history
    /// of another integer type (refinery's int8 setting) is read by kronic, but
    /// applied to only once it is converted (65 naming the command otherwise).
    pub fn check_writable(&self) -> Result<()> {
        match self.version_type.as_deref() {
            None | Some("integer") => Ok(()),
            Some(other) => Err(fail(
                Code::DataErr,
                format!(
                    "{HISTORY}.version is {other}, and kronic's migration runner writes integer versions; nothing was applied. Convert it once: ALTER TABLE {HISTORY} ALTER COLUMN version TYPE integer"
                ),
            )),
        }
    }

    /// The set as refinery runs it, once the history can take its rows.
    pub fn refinery_set(&self) -> Result<Vec<refinery::Migration>> {
        self.check_writable()?;
        self.set.iter().map(MigrationFile::refinery).collect()
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
                    "applied migration {} is unknown to this kronic: a newer kronic applied it, or it came from a migrations folder (KRONIC_MIGRATIONS_DIR) that is not set now; nothing was migrated",
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

/// The newest applied version, read from the history table; None when there is no
/// history table (not a kronic-migrated database) or it is empty.
pub async fn schema_version(client: &impl tokio_postgres::GenericClient) -> Result<Option<i32>> {
    let exists: bool =
        db::query(client, "SELECT to_regclass($1) IS NOT NULL", &[&HISTORY]).await?[0].get(0);
    if !exists {
        return Ok(None);
    }
    let sql = format!("SELECT max(version)::int4 FROM {HISTORY}");
    Ok(db::query(client, &sql, &[]).await?[0].get(0))
}
