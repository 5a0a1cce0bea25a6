//! Listings shared by the folder and the bucket: `backup list` and what `backup prune`
//! decided.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use chrono::Utc;
use indicatif::HumanBytes;

use crate::backup::manifest::Manifest;
use crate::backup::remote::Remote;
use crate::backup::repository;
use crate::backup::retention::{Dated, Decision};
use crate::report::exit::Code;

/// The folder's backups, newest first.
pub fn list(dir: &Path, json: bool) -> Result<Code> {
    let rows: Vec<Listed> = repository::list(dir)?
        .into_iter()
        .map(|b| Listed {
            manifest: json
                .then(|| Manifest::read(&b.path).ok().flatten())
                .flatten(),
            location: ("path", b.path.display().to_string()),
            name: b.name,
            time: b.time,
            size: b.size,
        })
        .collect();
    print_list(&rows, "FILE", json)
}

impl Dated for &Listed {
    fn time(&self) -> chrono::DateTime<Utc> {
        self.time
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn location(&self) -> String {
        self.location.1.clone()
    }
}

/// One backup in a listing, from the folder or the bucket.
struct Listed {
    pub name: String,
    /// `("path", …)` or `("url", …)`, for the JSON.
    pub location: (&'static str, String),
    pub time: chrono::DateTime<Utc>,
    pub size: u64,
    /// Read only for JSON.
    pub manifest: Option<Manifest>,
}

/// The listing: JSON for scripts, or a table of time, size, age and name (`title`
/// heads the last column).
fn print_list(rows: &[Listed], title: &str, json: bool) -> Result<Code> {
    let now = Utc::now();
    let mut out = std::io::stdout().lock();
    if json {
        let rows: Vec<serde_json::Value> = rows
            .iter()
            .map(|b| {
                let mut row = serde_json::json!({ "file": b.name });
                row[b.location.0] = b.location.1.clone().into();
                row["time"] = b.time.to_rfc3339().into();
                row["size_bytes"] = b.size.into();
                row["encrypted"] = (b.name.ends_with(".age")
                    || b.manifest
                        .as_ref()
                        .is_some_and(|m| !m.recipients.is_empty()))
                .into();
                row["future"] = repository::is_future(b.time, now).into();
                row["manifest"] = serde_json::to_value(&b.manifest).unwrap_or_default();
                row["age_seconds"] = (now - b.time).num_seconds().into();
                row
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
        return Ok(Code::Ok);
    }
    writeln!(
        out,
        "{:<20}  {:>10}  {:>8}  {title}",
        "TIME (UTC)", "SIZE", "AGE"
    )?;
    for b in rows {
        writeln!(
            out,
            "{:<20}  {:>10}  {:>8}  {}",
            b.time.format("%Y-%m-%d %H:%M:%S"),
            HumanBytes(b.size).to_string(),
            match repository::is_future(b.time, now) {
                true => "future".to_string(),
                false => age((now - b.time).num_seconds()),
            },
            b.name
        )?;
    }
    // Said once: such a backup is listed, but never taken as the newest nor pruned.
    repository::current(rows.iter().collect::<Vec<_>>(), now);
    Ok(Code::Ok)
}

fn age(secs: i64) -> String {
    match secs {
        s if s < 3600 => format!("{}m", s.max(0) / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d {}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// The bucket's backups, newest first (each manifest fetched for JSON only).
pub async fn list_remote(remote: &Remote, json: bool) -> Result<Code> {
    let mut rows = Vec::new();
    for b in remote.list().await? {
        rows.push(Listed {
            manifest: match json {
                true => remote.manifest(&b.name).await.ok().flatten(),
                false => None,
            },
            location: ("url", b.url),
            name: b.name,
            time: b.time,
            size: b.size,
        });
    }
    print_list(&rows, remote.url(), json)
}

/// Per backup, keep or remove and the rules that keep it (dry run), or what was pruned.
pub fn print_prune<B: Dated>(decisions: &[Decision<B>], dry_run: bool, json: bool) -> Result<Code> {
    let mut out = std::io::stdout().lock();
    if json {
        let rows: Vec<serde_json::Value> = decisions
            .iter()
            .map(|d| {
                serde_json::json!({
                    "name": d.backup.name(),
                    "action": if d.keep { "keep" } else { "remove" },
                    "reasons": d.reasons,
                })
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
        return Ok(Code::Ok);
    }
    for d in decisions {
        match (d.keep, dry_run) {
            (true, true) => writeln!(out, "keep {} ({})", d.backup.name(), d.reasons.join(", "))?,
            (false, true) => writeln!(out, "would prune {}", d.backup.name())?,
            (false, false) => writeln!(out, "pruned {}", d.backup.name())?,
            (true, false) => {}
        }
    }
    if decisions.iter().all(|d| d.keep) {
        writeln!(out, "nothing to prune")?;
    }
    Ok(Code::Ok)
}
