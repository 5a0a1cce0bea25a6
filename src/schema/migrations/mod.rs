//! Migrations: the catalogue (built in or from a folder; here), what a database has
//! applied and the consistency checks between the two (`state`), and changing the
//! database under a lock against concurrent runners, with readable failures (`run`).
//! `kronic migrate` prints; this module decides.

mod file;
mod run;
mod state;

pub use file::*;
pub use run::*;
pub use state::*;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::report::exit::{Code, fail};

/// The migrations built into the binary: (file name, contents).
const EMBEDDED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

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
    let statements = crate::sql::statements(sql)
        .map_err(|(line, why)| fail(Code::DataErr, format!("{origin}: line {line}: {why}")))?;
    for (line, stmt) in &statements {
        if let Some(word) = crate::sql::words::transaction_control(stmt) {
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

/// Writes the next numbered migration and its down script into `dir`; returns the
/// files written, the new pair last. A folder without migrations first gets the
/// built-in ones: it is the set from now on (KRONIC_MIGRATIONS_DIR), so the numbering
/// goes on after them instead of writing a second version 1.
pub fn create_next(dir: &Path, description: &str) -> Result<Vec<PathBuf>> {
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
    let mut written = Vec::new();
    let mut existing = load(Some(dir))?;
    if existing.is_empty() {
        for (name, sql) in EMBEDDED {
            let path = dir.join(name);
            create_new(&path, sql)?;
            written.push(path);
        }
        existing = load(Some(dir))?;
    }
    let version = existing.iter().map(|m| m.version).max().unwrap_or(0) + 1;
    let up: PathBuf = dir.join(format!("V{version}__{slug}.sql"));
    let down: PathBuf = dir.join(format!("V{version}__{slug}.down.sql"));
    create_new(&up, &template(description))?;
    if let Err(e) = create_new(&down, &format!("-- Undo: {description}\n")) {
        let _ = std::fs::remove_file(&up);
        return Err(e);
    }
    written.extend([up, down]);
    Ok(written)
}

/// A new migration's text: its description, and the safe forms of what takes an
/// application down at deploy time (`kronic migrate lint` flags the unsafe ones).
fn template(description: &str) -> String {
    format!(
        "-- {description}
--
-- Safe patterns (each statement here runs in one transaction; kronic sets lock_timeout):
--   an index:            CREATE INDEX CONCURRENTLY ... (alone in a file with -- kronic:no-transaction)
--   a foreign key:       ALTER TABLE t ADD CONSTRAINT c FOREIGN KEY (...) REFERENCES ... NOT VALID;
--                        then, in the next migration: ALTER TABLE t VALIDATE CONSTRAINT c;
--   a CHECK:             the same, NOT VALID then VALIDATE CONSTRAINT
--   NOT NULL:            a CHECK (col IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL
--   a column default:    a constant (PostgreSQL 11+ adds it without a rewrite), not volatile()
--   a type change:       a new column, backfilled in batches, then a swap
-- Check before merging: kronic migrate lint (squawk's rules), and kronic migrate plan
-- (what each statement locks and rewrites, measured on a throwaway copy of the schema).
-- A finding you have measured and accept: on the line above its statement,
--   -- kronic:allow RULE why it is safe here
"
    )
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
