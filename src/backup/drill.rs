//! What a restore drill checks: the restored database against the backup's manifest
//! (rows per table, index and constraint names).

use crate::backup::manifest::Manifest;
use crate::backup::restore::Restored;

/// One check of the restored database.
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// A schema version as people read it: the number, or "none".
pub fn shown(v: Option<i32>) -> String {
    v.map_or_else(|| "none".into(), |v| v.to_string())
}

pub fn rows(r: &Restored) -> u64 {
    r.tables.iter().map(|(_, n)| n).sum()
}

pub fn row_check(m: &Manifest, restored: &Restored) -> Check {
    let wrong: Vec<String> = m
        .tables
        .iter()
        .filter_map(|(table, want)| {
            let got = restored
                .tables
                .iter()
                .find(|(t, _)| t == table)
                .map(|(_, n)| *n);
            (got != Some(*want)).then(|| {
                format!(
                    "{table}: {} restored, {want} in the manifest",
                    got.map_or("none".into(), |n| n.to_string())
                )
            })
        })
        .collect();
    Check {
        name: "rows",
        ok: wrong.is_empty(),
        detail: if wrong.is_empty() {
            format!("{} tables match the manifest", m.tables.len())
        } else {
            wrong.join("; ")
        },
    }
}

pub fn names_check(name: &'static str, want: &[String], have: &[String]) -> Check {
    let missing: Vec<&String> = want
        .iter()
        .filter(|w| !have.contains(&w.trim_matches('"').to_string()))
        .collect();
    Check {
        name,
        ok: missing.is_empty(),
        detail: if missing.is_empty() {
            format!("all {} present", want.len())
        } else {
            format!("missing {missing:?}")
        },
    }
}
