//! `kronic migrate lint` and the lint gate of `migrate up`: which migrations, which
//! server version, and the output formats. The rules live in `schema::lint`.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Result;
use tokio_postgres::Client;

use crate::cli::{LintFormat, LintMode, MigrateArgs};
use crate::config::Config;
use crate::pg::db;
use crate::report::exit::{Code, fail};
use crate::report::ui::{confirm, say};
use crate::schema::lint::{self, Finding, Severity};
use crate::schema::migrations::{MigrationFile, NO_TRANSACTION, State};

/// Migration files named on the command line, as kronic would run them.
pub fn read_files(files: &[PathBuf]) -> Result<Vec<MigrationFile>> {
    files
        .iter()
        .map(|path| {
            let up = std::fs::read_to_string(path).map_err(|e| {
                let code = match e.kind() {
                    std::io::ErrorKind::NotFound => Code::NoInput,
                    std::io::ErrorKind::InvalidData => Code::DataErr,
                    _ => Code::IoErr,
                };
                fail(code, format!("cannot read {}: {e}", path.display()))
            })?;
            Ok(MigrationFile {
                version: 0,
                name: String::new(),
                origin: path.display().to_string(),
                no_transaction: up.lines().next().map(str::trim) == Some(NO_TRANSACTION),
                up,
                down: None,
            })
        })
        .collect()
}

/// Lints `files` for PostgreSQL `pg_major`.
pub fn lint_all(files: &[&MigrationFile], pg_major: u32) -> Vec<Finding> {
    let owned = files
        .iter()
        .map(|m| (m.origin.clone(), m.up.clone(), m.no_transaction))
        .collect();
    lint::lint_many(owned, pg_major)
}

/// Prints `findings` in `format`; the exit code (4 when one fails).
pub fn report(
    findings: &[Finding],
    files: usize,
    pg_major: u32,
    format: LintFormat,
) -> Result<Code> {
    let count = |f: &dyn Fn(&Finding) -> bool| findings.iter().filter(|x| f(x)).count();
    let errors = count(&|f| f.fails());
    let warnings = count(&|f| f.severity == Severity::Warning && f.waived.is_none());
    let waived = count(&|f| f.waived.is_some());
    match format {
        LintFormat::Text => {
            for f in findings {
                say(text_line(f))?;
            }
            say(match findings.len() {
                0 => format!("no findings in {files} migration(s) (PostgreSQL {pg_major} rules)"),
                n => format!(
                    "{n} finding(s) in {files} migration(s): {errors} error(s), {warnings} warning(s), {waived} waived (PostgreSQL {pg_major} rules)"
                ),
            })?;
        }
        LintFormat::Json => say(serde_json::to_string_pretty(&serde_json::json!({
            "failed": false,
            "pg_version": pg_major,
            "migrations": files,
            "errors": errors,
            "warnings": warnings,
            "waived": waived,
            "findings": findings,
        }))?)?,
        LintFormat::Github => {
            for f in findings {
                say(github_line(f))?;
            }
        }
        LintFormat::Gitlab => say(serde_json::to_string_pretty(&gitlab(findings))?)?,
    }
    Ok(if errors > 0 { Code::Unsafe } else { Code::Ok })
}

/// `file:line:col: error rule: message`, then the safe pattern.
fn text_line(f: &Finding) -> String {
    let level = match (&f.waived, f.severity) {
        (Some(_), _) => "waived",
        (None, Severity::Error) => "error",
        (None, Severity::Warning) => "warning",
    };
    let mut line = format!(
        "{}:{}:{}: {level} {}: {}",
        f.file, f.line, f.column, f.rule, f.message
    );
    match &f.waived {
        Some(reason) => line.push_str(&format!("\n  waived: {reason}")),
        None if !f.safe.is_empty() => line.push_str(&format!("\n  safe: {}", f.safe)),
        None => {}
    }
    line
}

/// A GitHub Actions workflow command: an annotation on the file and line.
fn github_line(f: &Finding) -> String {
    let level = match (&f.waived, f.severity) {
        (Some(_), _) => "notice",
        (None, Severity::Error) => "error",
        (None, Severity::Warning) => "warning",
    };
    let mut message = f.message.clone();
    match &f.waived {
        Some(reason) => message.push_str(&format!(" (waived: {reason})")),
        None if !f.safe.is_empty() => message.push_str(&format!("\nSafe: {}", f.safe)),
        None => {}
    }
    format!(
        "::{level} file={},line={},col={},title={}::{}",
        github_property(&f.file),
        f.line,
        f.column,
        github_property(&f.rule),
        github_data(&message)
    )
}

/// Escapes a workflow command's message (GitHub's toolkit rules).
fn github_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value.
fn github_property(s: &str) -> String {
    github_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// GitLab's code-quality report (a JSON array; the fingerprint identifies a finding
/// across pipelines).
fn gitlab(findings: &[Finding]) -> Vec<serde_json::Value> {
    use sha2::{Digest, Sha256};
    let mut seen = std::collections::HashMap::new();
    findings
        .iter()
        .map(|f| {
            let severity = match (&f.waived, f.severity) {
                (Some(_), _) => "info",
                (None, Severity::Error) => "major",
                (None, Severity::Warning) => "minor",
            };
            // Two findings alike but for the column, or alike entirely (the same rule
            // twice on one line), still get fingerprints of their own.
            let key = format!(
                "{}\n{}\n{}\n{}\n{}",
                f.file, f.line, f.column, f.rule, f.message
            );
            let n = seen.entry(key.clone()).or_insert(0usize);
            *n += 1;
            let fingerprint = crate::backup::manifest::hex(&Sha256::digest(format!("{key}\n{n}")));
            serde_json::json!({
                "description": format!("{}: {} Safe: {}", f.rule, f.message, f.safe),
                "check_name": f.rule,
                "fingerprint": fingerprint,
                "severity": severity,
                "location": { "path": f.file, "lines": { "begin": f.line } },
            })
        })
        .collect()
}

/// `migrate up`'s gate: lints what is about to run, prints the errors on stderr, and
/// stops (deny), asks (warn, on a terminal) or goes on.
pub async fn gate(
    client: &Client,
    pending: &[&MigrationFile],
    mode: Option<LintMode>,
) -> Result<()> {
    let mode = mode.unwrap_or(match std::io::stdin().is_terminal() {
        true => LintMode::Warn,
        false => LintMode::Deny,
    });
    if mode == LintMode::Off {
        return Ok(());
    }
    let major = crate::pg::tools::server_major(client).await?;
    let findings = lint_all(pending, major);
    // Errors only: warnings are about style, and `migrate lint` lists them.
    for f in findings.iter().filter(|f| f.fails()) {
        tracing::warn!("{}", text_line(f));
    }
    let errors = findings.iter().filter(|f| f.fails()).count();
    if errors == 0 {
        return Ok(());
    }
    match mode {
        LintMode::Deny => Err(fail(
            Code::Unsafe,
            format!(
                "{errors} error finding(s) in the pending migrations (above); nothing was applied. Use the safe pattern, or waive a statement with `-- kronic:allow RULE REASON` above it (--lint warn applies anyway)"
            ),
        )),
        _ if std::io::stdin().is_terminal() => confirm(
            &format!("{errors} error finding(s) in the pending migrations (above). Apply anyway?"),
            false,
        ),
        _ => Ok(()),
    }
}

/// The JSON document of a lint that could not run (a file that cannot be read, no
/// server): `"failed": true`, the error, no findings.
pub fn print_failed(e: &anyhow::Error) -> Result<()> {
    say(serde_json::to_string_pretty(&serde_json::json!({
        "failed": true,
        "error": format!("{e:#}"),
        "errors": 0,
        "warnings": 0,
        "waived": 0,
        "findings": [],
    }))?)
}

/// `migrate lint`: the named files, every migration, or the pending ones (which needs
/// the database, as does the server's version unless --pg-version gives it).
pub async fn lint(
    config: &Config,
    args: &MigrateArgs,
    set: Vec<MigrationFile>,
    files: &[PathBuf],
    all: bool,
    pg_version: Option<u32>,
    format: LintFormat,
) -> Result<Code> {
    let named = read_files(files)?;
    let wants_pending = files.is_empty() && !all;
    let (major, pending) = match (pg_version, wants_pending) {
        (Some(v), false) => (v, None),
        _ => {
            let client = db::connect_wait(&config.db, args.wait.wait).await?;
            db::usable_search_path(&client).await?;
            let major = match pg_version {
                Some(v) => v,
                None => crate::pg::tools::server_major(&client).await?,
            };
            let pending: Option<Vec<u32>> = match wants_pending {
                true => Some(
                    State::read(&client, set.clone())
                        .await?
                        .pending(None)
                        .iter()
                        .map(|m| m.version)
                        .collect(),
                ),
                false => None,
            };
            (major, pending)
        }
    };
    let chosen: Vec<&MigrationFile> = match pending {
        Some(versions) => set
            .iter()
            .filter(|m| versions.contains(&m.version))
            .collect(),
        None if all => set.iter().collect(),
        None => named.iter().collect(),
    };
    let findings = lint_all(&chosen, major);
    report(&findings, chosen.len(), major, format)
}
