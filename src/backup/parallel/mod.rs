//! Parallel backups (`backup --jobs N`): one folder per backup, one member file per
//! stream, all read from one snapshot; its manifest lists every member with its rows,
//! bytes and SHA-256. The format is written down in docs/parallel-backups.md, so that a
//! person can restore one by hand. `take` writes one, `build` loads one into an empty
//! database on N connections (the restore swaps it in; a drill checks it).

pub mod build;
mod post;
pub mod restore;
pub mod take;
mod write;

use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::report::exit::{Code, fail};

/// A parallel backup's name ends with this (a folder, never a file).
pub const SUFFIX: &str = ".dir";

/// The manifest format of a parallel backup (a single-stream one stays at 1).
pub const FORMAT: u32 = 2;

/// What a member holds.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// pg_dump --section=pre-data: types, functions, tables, sequences (plain SQL).
    PreData,
    /// One table's rows (or a range of its pages): COPY text format, no SQL at all.
    Data,
    /// pg_dump --section=data for what is not a table member: sequence values, large
    /// objects, extension configuration tables (plain SQL).
    OtherData,
    /// pg_dump --section=post-data: indexes, constraints, triggers, rules (plain SQL).
    PostData,
}

/// One member file of a parallel backup.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Member {
    /// Its file name in the backup's folder.
    pub file: String,
    pub kind: Kind,
    /// For data: the table's schema and name, unquoted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// For data: the columns the COPY lists, unquoted, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// For data: the table's pages this member holds, `[from, to)` (no `to`: to the end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages: Option<(u64, Option<u64>)>,
    /// COPY rows (data members).
    #[serde(default)]
    pub rows: u64,
    /// The member's bytes as stored (compressed, encrypted) and their SHA-256.
    pub bytes: u64,
    pub sha256: String,
}

impl Member {
    /// `schema.table` as SQL names it (each part quoted).
    pub fn qualified(&self) -> Option<String> {
        let q = crate::pg::db::quote_ident;
        Some(format!(
            "{}.{}",
            q(self.schema.as_deref()?),
            q(self.table.as_deref()?)
        ))
    }
}

/// A member's file name is a plain name in the folder: letters, digits, '.', '-', '_',
/// not starting with '.'; a crafted manifest cannot name a file elsewhere (65).
pub fn check_member_name(backup: &str, file: &str) -> Result<()> {
    let plain = !file.is_empty()
        && file.len() <= 100
        && !file.starts_with('.')
        && file
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if plain {
        return Ok(());
    }
    Err(fail(
        Code::DataErr,
        format!(
            "{backup}: its manifest names a member {:?}, which is not a plain file name in the backup's folder",
            crate::report::ui::one_line(file, 100)
        ),
    ))
}

/// Is `name` a parallel backup's (a folder locally; a manifest and members in a bucket)?
pub fn is_parallel(name: &str) -> bool {
    name.ends_with(SUFFIX)
}

/// Checks the manifest's member list before anything is loaded: plain names, one of
/// each SQL section, data members that name a table, the list's digest. (Each member
/// there at its size is the reader's part: `source::Members::check`.)
pub fn check_members(backup: &Path, members: &[Member], sha256: &str) -> Result<()> {
    let label = backup.display().to_string();
    let bad = |why: String| fail(Code::DataErr, format!("{label}: {why}"));
    for kind in [Kind::PreData, Kind::OtherData, Kind::PostData] {
        let n = members.iter().filter(|x| x.kind == kind).count();
        if n != 1 {
            return Err(bad(format!(
                "its manifest lists {n} {kind:?} members, not one"
            )));
        }
    }
    for member in members {
        check_member_name(&label, &member.file)?;
        if member.kind == Kind::Data && member.qualified().is_none() {
            return Err(bad(format!("member {} names no table", member.file)));
        }
    }
    if digest_of(members) != sha256 {
        return Err(bad(
            "its member list does not match the manifest's digest".into()
        ));
    }
    Ok(())
}

/// The digest a parallel manifest records for the whole backup: over its members' names
/// and digests, one `sha256  file` line each (what `sha256sum` prints), in order.
pub fn digest_of(members: &[Member]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for m in members {
        h.update(format!("{}  {}\n", m.sha256, m.file));
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names_stay_in_the_folder() {
        for good in ["0000-pre-data.sql.zst", "0012-data.copy.gz.age"] {
            assert!(check_member_name("b", good).is_ok(), "{good}");
        }
        for bad in ["", "../x", "a/b", ".hidden", "x\n", "/etc/passwd", "a b"] {
            assert!(check_member_name("b", bad).is_err(), "{bad:?}");
        }
    }
}
