//! The backup folder: backup names, the folder's lock, temporary files, listing,
//! pruning, and whether the folder and its files can be trusted at all.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::Result;
use chrono::{DateTime, NaiveDateTime, Utc};

use crate::backup::retention::{self, Dated, Decision, Policy};
use crate::fsutil;
use crate::report::exit::{Code, fail};

const PREFIX: &str = "kronic_backup_";
/// What a backup name may end with: compression, then `.age` when encrypted; `.dir` for
/// a parallel backup's folder.
const SUFFIXES: &[&str] = &[".sql.gz", ".sql.gz.age", ".sql.zst", ".sql.zst.age", ".dir"];
const STAMP: &str = "%Y%m%d_%H%M%S";

/// `kronic_backup_YYYYmmdd_HHMMSS<suffix>` for `at` (UTC); `suffix` is `.sql.gz`,
/// `.sql.zst`, either with `.age`.
pub fn backup_name(at: DateTime<Utc>, suffix: &str) -> String {
    format!("{PREFIX}{}{suffix}", at.format(STAMP))
}

/// The time in a backup name; None for any other name.
pub fn parse_backup_name(name: &str) -> Option<DateTime<Utc>> {
    let rest = name.strip_prefix(PREFIX)?;
    let stamp = rest.get(..15)?;
    if !SUFFIXES.contains(&rest.get(15..)?) {
        return None;
    }
    if stamp.len() != 15
        || !stamp.bytes().enumerate().all(|(i, b)| {
            if i == 8 {
                b == b'_'
            } else {
                b.is_ascii_digit()
            }
        })
    {
        return None;
    }
    NaiveDateTime::parse_from_str(stamp, STAMP)
        .ok()
        .map(|t| t.and_utc())
}

/// A backup in the folder.
#[derive(Debug, Clone)]
pub struct Backup {
    pub path: PathBuf,
    pub name: String,
    pub time: DateTime<Utc>,
    pub size: u64,
    /// Owner and permission bits, for the trust checks.
    pub uid: u32,
    pub mode: u32,
}

impl Dated for Backup {
    fn time(&self) -> DateTime<Utc> {
        self.time
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }
}

/// The regular files directly in `dir` named like backups, and the folders named like
/// parallel backups, newest first. Symlinks and other names are not backups.
pub fn list(dir: &Path) -> Result<Vec<Backup>> {
    if !dir.is_dir() {
        return Err(fail(
            Code::NoInput,
            format!("backup folder {} does not exist", dir.display()),
        ));
    }
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir)
        .min_depth(1)
        .max_depth(1)
        .follow_links(false)
    {
        let entry = entry.map_err(|e| {
            let (code, why) = match e.io_error() {
                Some(io) => (crate::report::exit::io_code(io), io.to_string()),
                None => (Code::IoErr, e.to_string()),
            };
            fail(
                code,
                format!("cannot read backup folder {}: {why}", dir.display()),
            )
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let folder = name.ends_with(crate::backup::parallel::SUFFIX);
        let kind = entry.file_type();
        if !(kind.is_file() && !folder || kind.is_dir() && folder) {
            continue;
        }
        let Some(time) = parse_backup_name(&name) else {
            continue;
        };
        // Not followed: a symlink was already skipped above.
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        let size = match folder {
            true => folder_size(entry.path()),
            false => meta.len(),
        };
        out.push(Backup {
            path: entry.path().to_path_buf(),
            name,
            time,
            size,
            uid: meta.uid(),
            mode: meta.mode() & 0o7777,
        });
    }
    out.sort_by(|a, b| b.time.cmp(&a.time).then(b.name.cmp(&a.name)));
    Ok(out)
}

/// The bytes of the regular files directly in a parallel backup's folder.
fn folder_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Deletes a backup: a file, or a parallel backup's folder with its members (never
/// following a symlink).
pub fn remove_backup(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path)?.is_dir() {
        true => std::fs::remove_dir_all(path),
        false => std::fs::remove_file(path),
    }
}

/// The newest backup that can be trusted: the folder and the file pass the trust
/// checks (exit 77 otherwise). Names dated more than a day ahead are passed over with a
/// warning, so that a clock that was once wrong cannot pin "latest" forever.
pub fn latest(dir: &Path) -> Result<Backup> {
    trusted_dir(dir)?;
    let newest = current(list(dir)?, Utc::now())
        .into_iter()
        .next()
        .ok_or_else(|| fail(Code::NoInput, format!("no backups in {}", dir.display())))?;
    match distrust(&newest) {
        Some(why) => Err(fail(Code::NoPerm, why)),
        None => Ok(newest),
    }
}

/// Dated more than a day ahead: never taken as the newest, never pruned.
pub fn is_future(time: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    time > now + chrono::Duration::days(1)
}

/// `backups` (in the folder or the bucket) without the ones dated more than a day in
/// the future, warning about those.
pub fn current<B: Dated>(backups: Vec<B>, now: DateTime<Utc>) -> Vec<B> {
    let (future, current): (Vec<B>, Vec<B>) =
        backups.into_iter().partition(|b| is_future(b.time(), now));
    for b in &future {
        tracing::warn!(
            "ignoring {}: its name is dated in the future ({}); rename or remove it",
            b.location(),
            b.time().format("%Y-%m-%d %H:%M:%S UTC")
        );
    }
    current
}

/// Applies `policy` to the folder's backups and deletes (unless `dry_run`) those it does
/// not keep, logging each; returns every decision. Only in a trusted folder, and never a
/// file the trust checks reject or one dated in the future (those are left out).
pub fn prune(dir: &Path, policy: &Policy, dry_run: bool) -> Result<Vec<Decision<Backup>>> {
    trusted_dir(dir)?;
    let now = Utc::now();
    let mut candidates = Vec::new();
    for b in current(list(dir)?, now) {
        match distrust(&b) {
            Some(why) => tracing::warn!("not pruning: {why}"),
            None => candidates.push(b),
        }
    }
    let decisions = retention::apply(policy, candidates);
    let victims: Vec<&Backup> = decisions
        .iter()
        .filter(|d| !d.keep)
        .map(|d| &d.backup)
        .collect();
    for b in &victims {
        if dry_run {
            continue;
        }
        remove_backup(&b.path).map_err(|e| {
            fail(
                Code::IoErr,
                format!("cannot delete {}: {e}", b.path.display()),
            )
        })?;
        // Its manifest and signature go with it (never through a symlink: remove_file
        // removes links).
        let manifest = crate::backup::manifest::path_for(&b.path);
        let _ = std::fs::remove_file(crate::backup::signing::sig_path(&manifest));
        let _ = std::fs::remove_file(manifest);
        // The caller reports what went (`backup prune` on stdout).
        tracing::debug!("pruned {} ({} days old)", b.name, (now - b.time).num_days());
    }
    if !dry_run && !victims.is_empty() {
        fsutil::sync_dir(dir)?;
    }
    Ok(decisions)
}

/// Like ssh's StrictModes: a backup folder that others can write to can hold planted
/// backups, so kronic does not pick, verify or prune backups there (exit 77).
pub fn trusted_dir(dir: &Path) -> Result<()> {
    let meta = std::fs::metadata(dir).map_err(|e| {
        fail(
            crate::report::exit::io_code(&e),
            format!("cannot open backup folder {}: {e}", dir.display()),
        )
    })?;
    match untrusted("backup folder", dir, meta.uid(), meta.mode() & 0o7777) {
        Some(why) => Err(fail(Code::NoPerm, why)),
        None => Ok(()),
    }
}

/// Root writing into a folder another user owns (the packaged `kronic` user's) would
/// leave backups that user cannot read or prune: refused (77), saying to run as the
/// folder's owner.
pub fn not_root_in_anothers_folder(dir: &Path) -> Result<()> {
    let owner = std::fs::metadata(dir).map(|m| m.uid()).unwrap_or(0);
    if rustix::process::geteuid().is_root() && owner != 0 {
        let user = user_name(owner);
        return Err(fail(
            Code::NoPerm,
            format!(
                "backup folder {} belongs to {user}: run kronic as that user (runuser -u {user} -- kronic backup), so that its backups stay readable and prunable by it",
                dir.display()
            ),
        ));
    }
    Ok(())
}

/// Why a backup file cannot be trusted, if it cannot.
pub fn distrust(b: &Backup) -> Option<String> {
    untrusted("backup", &b.path, b.uid, b.mode)
}

/// The user the package's units run as: root trusts its folder and files (they are the
/// backups root would restore), so that `sudo kronic restore --latest` works on a
/// packaged host.
const SERVICE_USER: &str = "kronic";

fn untrusted(what: &str, path: &Path, uid: u32, mode: u32) -> Option<String> {
    let me = rustix::process::geteuid().as_raw();
    let p = path.display();
    let service = (me == 0).then(|| user_id(SERVICE_USER)).flatten();
    if mode & 0o022 != 0 {
        let who = if mode & 0o002 != 0 {
            "anyone"
        } else {
            "its group"
        };
        return Some(format!(
            "{what} {p} is writable by {who} (mode {mode:04o}, owner {}): kronic does not trust it; fix with: chmod go-w {p}",
            user_name(uid)
        ));
    }
    if uid != me && uid != 0 && Some(uid) != service {
        let trusted = match me {
            0 => format!("root or {SERVICE_USER}"),
            _ => format!("{} or root", user_name(me)),
        };
        return Some(format!(
            "{what} {p} is owned by {}, not by {trusted}: kronic does not trust it; fix with: chown {} {p} (or run kronic as {})",
            user_name(uid),
            user_name(me),
            user_name(uid)
        ));
    }
    None
}

/// A user's id from /etc/passwd.
fn user_id(name: &str) -> Option<u32> {
    std::fs::read_to_string("/etc/passwd")
        .ok()?
        .lines()
        .find_map(|l| {
            let mut f = l.split(':');
            (f.next()? == name).then(|| f.nth(1)?.parse().ok())?
        })
}

/// The user's name from /etc/passwd, or the number.
fn user_name(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                let mut f = l.split(':');
                let name = f.next()?;
                (f.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_string())
            })
        })
        .unwrap_or_else(|| uid.to_string())
}

/// Holds the folder's lock: one backup at a time per folder. flock is released by the
/// kernel when the process dies, so a killed run cannot leave it stuck.
pub struct FolderLock {
    _file: File,
}

/// Takes the folder's lock (exit 75 while another run holds it). The lock file is
/// never followed if it is a symlink: a planted link must not make kronic create or
/// truncate another file.
pub fn lock(dir: &Path) -> Result<FolderLock> {
    let path = dir.join(".kronic_backup.lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(fsutil::NOFOLLOW)
        .open(&path)
        .map_err(|e| {
            let meta = std::fs::symlink_metadata(&path);
            if meta.as_ref().is_ok_and(|m| m.file_type().is_symlink()) {
                fail(
                    Code::NoPerm,
                    format!(
                        "lock file {} is a symbolic link: kronic does not follow it; remove it",
                        path.display()
                    ),
                )
            } else if let Ok(m) = meta.as_ref()
                && e.kind() == std::io::ErrorKind::PermissionDenied
            {
                let me = user_name(rustix::process::geteuid().as_raw());
                fail(
                    Code::NoPerm,
                    format!(
                        "lock file {} belongs to {} (left by a run as that user?), and {me} cannot open it; fix with: chown {me} {}",
                        path.display(),
                        user_name(m.uid()),
                        path.display()
                    ),
                )
            } else {
                fail(
                    fsutil::cant_create(&e),
                    format!("cannot create lock file {}: {e}", path.display()),
                )
            }
        })?;
    // Root taking the lock in the service user's folder leaves the file to that user,
    // or its next run could not open it.
    if let Ok(owner) = std::fs::metadata(dir).map(|m| m.uid())
        && rustix::process::geteuid().is_root()
        && owner != 0
    {
        let _ = std::os::unix::fs::fchown(&file, Some(owner), None);
    }
    match file.try_lock() {
        Ok(()) => Ok(FolderLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => Err(fail(
            Code::TempFail,
            format!(
                "another backup is in progress in {}; try again when it has finished",
                dir.display()
            ),
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(fail(
            Code::IoErr,
            format!("cannot lock {}: {e}", path.display()),
        )),
    }
}

/// Temporary files of runs that were killed (SIGKILL, power loss). Only called while
/// holding the folder lock, so none of them belongs to a live run.
pub fn remove_stale_temp_files(dir: &Path, _lock: &FolderLock) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let is_ours = fsutil::temp_target(&name).is_some_and(|n| {
            let n = n.strip_suffix(".minisig").unwrap_or(n);
            parse_backup_name(n.strip_suffix(".manifest.json").unwrap_or(n)).is_some()
        });
        if !is_ours {
            continue;
        }
        let removed = match e.file_type() {
            Ok(t) if t.is_file() => std::fs::remove_file(e.path()).is_ok(),
            // A parallel backup's temporary folder.
            Ok(t) if t.is_dir() => std::fs::remove_dir_all(e.path()).is_ok(),
            _ => false,
        };
        if removed {
            tracing::warn!("removed {name}, left by an interrupted backup");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn names_round_trip_and_reject_lookalikes() {
        let t = Utc.with_ymd_and_hms(2026, 11, 25, 2, 0, 7).unwrap();
        assert_eq!(
            backup_name(t, ".sql.gz"),
            "kronic_backup_20261125_020007.sql.gz"
        );
        for suffix in SUFFIXES {
            assert_eq!(
                parse_backup_name(&format!("kronic_backup_20261125_020007{suffix}")),
                Some(t)
            );
        }
        for bad in [
            "kronic_backup_20261125_020007.sql",
            "kronic_backup_20261125_020007.sql.gz.tmp",
            "kronic_backup_20261125_020007.sql.age",
            "kronic_backup_20261125_020007.sql.zst.age.x",
            ".kronic_backup_20261125_020007.sql.gz.tmp-1",
            "kronic_backup_20261325_020007.sql.gz",
            "kronic_backup_2026112_0200071.sql.gz",
            "kronic_backup_+0261125_020007.sql.gz",
            "xkronic_backup_20261125_020007.sql.gz",
        ] {
            assert_eq!(parse_backup_name(bad), None, "{bad}");
        }
    }

    mod properties {
        use super::*;
        use crate::backup::retention::Span;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(48))]

            /// What the dry run says would go is exactly what the real prune removes.
            #[test]
            fn the_dry_run_is_the_prune(
                hours in prop::collection::btree_set(0i64..(2 * 365 * 24), 1..40),
                last in 0u32..4, daily in 0u32..8, monthly in 0u32..4, days in 0u32..60,
            ) {
                let dir = tempfile::tempdir().unwrap();
                let start = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
                for h in &hours {
                    let name = backup_name(start + chrono::Duration::hours(*h), ".sql.gz");
                    std::fs::write(dir.path().join(name), b"x").unwrap();
                }
                let policy = Policy {
                    last,
                    daily,
                    monthly,
                    within: (days > 0).then_some(Span { days, ..Span::default() }),
                    ..Policy::default()
                };
                let said: Vec<String> = prune(dir.path(), &policy, true)
                    .unwrap()
                    .into_iter()
                    .filter(|d| !d.keep)
                    .map(|d| d.backup.name)
                    .collect();
                let before: Vec<String> = list(dir.path()).unwrap().into_iter().map(|b| b.name).collect();
                prop_assert_eq!(before.len(), hours.len(), "a dry run deletes nothing");
                let done: Vec<String> = prune(dir.path(), &policy, false)
                    .unwrap()
                    .into_iter()
                    .filter(|d| !d.keep)
                    .map(|d| d.backup.name)
                    .collect();
                prop_assert_eq!(&said, &done);
                let after: Vec<String> = list(dir.path()).unwrap().into_iter().map(|b| b.name).collect();
                prop_assert!(after.iter().all(|n| !said.contains(n)));
                prop_assert_eq!(after.len() + said.len(), hours.len());
            }
        }
    }
}
