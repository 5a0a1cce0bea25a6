//! The Prometheus textfile that node_exporter reads after each backup.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use chrono::Utc;

use crate::config::DbConfig;
use crate::fsutil;
use crate::report::exit::{Code, fail};

/// Fails (73) before the backup starts when the metrics file's folder is missing, so a
/// typo is found before a whole dump, not after it.
pub fn check_writable(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if dir.is_dir() {
        return Ok(());
    }
    Err(fail(
        Code::CantCreate,
        format!(
            "metrics file {}: folder {} does not exist; create it or fix --metrics-file / KRONIC_BACKUP_METRICS_FILE",
            path.display(),
            dir.display()
        ),
    ))
}

/// What the last successful backup measured.
pub struct BackupStats {
    pub sql_bytes: u64,
    pub out_bytes: u64,
    pub sha256: String,
    pub elapsed: Duration,
}

const REMOTE_SUCCESS: &str = "kronic_backup_remote_last_success_timestamp_seconds";

/// A gauge's value in the textfile as it is now (to carry a last success over).
fn previous(path: &Path, gauge: &str) -> Option<f64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find(|l| l.starts_with(gauge))
        .and_then(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()))
}

/// Prometheus textfile metrics for node_exporter, replaced atomically. With an offsite
/// copy (`remote`: whether it succeeded), its own last success: a failed upload leaves
/// it as it was, so monitoring sees the offsite copy falling behind.
pub fn write_backup(
    path: &Path,
    db: &DbConfig,
    d: &BackupStats,
    remote: Option<bool>,
) -> Result<()> {
    let label = db.display().replace('\\', "\\\\").replace('"', "\\\"");
    let now = Utc::now().timestamp_millis() as f64 / 1000.0;
    let mut text = String::new();
    let remote_success = match remote {
        Some(true) => Some(now),
        Some(false) => previous(path, REMOTE_SUCCESS),
        None => None,
    };
    let remote_gauges = remote_success.map(|t| {
        (
            REMOTE_SUCCESS,
            "Unix time of the last backup whose offsite copy succeeded.",
            t,
        )
    });
    for (name, help, value) in [
        (
            "kronic_backup_last_success_timestamp_seconds",
            "Unix time of the last successful kronic backup.",
            now,
        ),
        (
            "kronic_backup_last_duration_seconds",
            "How long the last successful backup took.",
            d.elapsed.as_secs_f64(),
        ),
        (
            "kronic_backup_last_size_bytes",
            "Size of the last successful backup file.",
            d.out_bytes as f64,
        ),
        (
            "kronic_backup_last_sql_bytes",
            "Uncompressed size of the last successful dump.",
            d.sql_bytes as f64,
        ),
    ]
    .into_iter()
    .chain(remote_gauges)
    {
        text.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name}{{database=\"{label}\"}} {value}\n"
        ));
    }
    // 0644: node_exporter runs as another user, and nothing here is secret.
    fsutil::write_atomic(path, text.as_bytes(), 0o644)
}

/// The drill's textfile: result, recovery time and backup age every time; the last
/// success's timestamp only on success (otherwise carried over from the file).
pub fn write_drill(
    path: &Path,
    db: &DbConfig,
    passed: bool,
    recovery: Duration,
    backup_age: Option<f64>,
) -> Result<()> {
    const SUCCESS: &str = "kronic_drill_last_success_timestamp_seconds";
    let label = db.display().replace('\\', "\\\\").replace('"', "\\\"");
    let previous_success = previous(path, SUCCESS);
    let now = Utc::now().timestamp_millis() as f64 / 1000.0;
    let success = if passed { Some(now) } else { previous_success };
    let mut gauges = vec![
        (
            "kronic_drill_last_result",
            "1 when the last drill passed every check, 0 otherwise.",
            if passed { 1.0 } else { 0.0 },
        ),
        (
            "kronic_drill_last_duration_seconds",
            "How long the last drill's restore took (the measured recovery time).",
            recovery.as_secs_f64(),
        ),
    ];
    if let Some(age) = backup_age {
        gauges.push((
            "kronic_drill_backup_age_seconds",
            "Age of the drilled backup when the drill ran.",
            age,
        ));
    }
    if let Some(t) = success {
        gauges.push((SUCCESS, "Unix time of the last drill that passed.", t));
    }
    let mut text = String::new();
    for (name, help, value) in gauges {
        text.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name}{{database=\"{label}\"}} {value}\n"
        ));
    }
    fsutil::write_atomic(path, text.as_bytes(), 0o644)
}
