//! Backup files: their names, the folder's listing and pruning, telling gzip from plain
//! SQL, and reading a dump while checking that it is whole.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::Result;
use chrono::{DateTime, NaiveDateTime, Utc};

use crate::exit::{Code, fail};

const PREFIX: &str = "kronic_backup_";
const SUFFIX: &str = ".sql.gz";
const STAMP: &str = "%Y%m%d_%H%M%S";
/// pg_dump's last line in a complete plain dump.
pub const COMPLETE_MARK: &[u8] = b"-- PostgreSQL database dump complete";

/// `kronic_backup_YYYYmmdd_HHMMSS.sql.gz` for `at` (UTC).
pub fn backup_name(at: DateTime<Utc>) -> String {
    format!("{PREFIX}{}{SUFFIX}", at.format(STAMP))
}

/// The time in a backup name; None for any other name.
pub fn parse_backup_name(name: &str) -> Option<DateTime<Utc>> {
    let stamp = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
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
}

/// The regular files directly in `dir` named like backups, newest first. Symlinks,
/// folders and other names are not backups.
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
            fail(
                Code::IoErr,
                format!("cannot read backup folder {}: {e}", dir.display()),
            )
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(time) = parse_backup_name(&name) else {
            continue;
        };
        let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
        out.push(Backup {
            path: entry.path().to_path_buf(),
            name,
            time,
            size,
        });
    }
    out.sort_by(|a, b| b.time.cmp(&a.time).then(b.name.cmp(&a.name)));
    Ok(out)
}

pub fn latest(dir: &Path) -> Result<Backup> {
    list(dir)?
        .into_iter()
        .next()
        .ok_or_else(|| fail(Code::NoInput, format!("no backups in {}", dir.display())))
}

/// Backups older than `keep_days`, never the newest one. `keep_days == 0` keeps all.
pub fn expired(backups: &[Backup], keep_days: u32, now: DateTime<Utc>) -> Vec<Backup> {
    if keep_days == 0 {
        return Vec::new();
    }
    let limit = chrono::Duration::days(i64::from(keep_days));
    backups
        .iter()
        .skip(1)
        .filter(|b| now - b.time > limit)
        .cloned()
        .collect()
}

/// Deletes (or with `dry_run` only names) the expired backups, logging each.
pub fn prune(dir: &Path, keep_days: u32, dry_run: bool) -> Result<Vec<Backup>> {
    let now = Utc::now();
    let victims = expired(&list(dir)?, keep_days, now);
    for b in &victims {
        let age = (now - b.time).num_days();
        if dry_run {
            tracing::info!("would prune {} ({age} days old)", b.name);
        } else {
            std::fs::remove_file(&b.path).map_err(|e| {
                fail(
                    Code::IoErr,
                    format!("cannot delete {}: {e}", b.path.display()),
                )
            })?;
            tracing::info!("pruned {} ({age} days old)", b.name);
        }
    }
    if !dry_run && !victims.is_empty() {
        crate::fsutil::sync_dir(dir)?;
    }
    Ok(victims)
}

/// How a dump file is stored, told by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Gzip,
    Plain,
}

/// Looks at the first bytes: gzip, or plain SQL text. Custom-format archives, binaries
/// and empty files are refused (65) before anything reads further.
pub fn sniff(path: &Path) -> Result<Format> {
    let mut f = open(path)?;
    let mut head = vec![0u8; 4096];
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) => {
                return Err(fail(
                    Code::IoErr,
                    format!("cannot read {}: {e}", path.display()),
                ));
            }
        }
    }
    let head = &head[..n];
    let bad = |why: &str| {
        Err(fail(
            Code::DataErr,
            format!("{} is not a kronic backup: {why}", path.display()),
        ))
    };
    if head.is_empty() {
        return bad("the file is empty");
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        return Ok(Format::Gzip);
    }
    if head.starts_with(b"PGDMP") {
        return bad("it is a pg_dump custom-format archive (restore it with pg_restore)");
    }
    // Text, allowing a character cut at the end of the sample.
    let text = std::str::from_utf8(head).map_or_else(|e| e.error_len().is_none(), |_| true);
    if head.contains(&0) || !text {
        return bad("it is neither gzip nor SQL text");
    }
    Ok(Format::Plain)
}

pub fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| {
        let code = crate::exit::io_code(&e);
        fail(code, format!("cannot open {}: {e}", path.display()))
    })
}

/// Reads the SQL of a dump (decompressing gzip, checking its CRC and length) and
/// remembers the last bytes, so the caller can tell a complete dump from a cut one.
pub struct DumpReader {
    inner: Box<dyn Read + Send>,
    tail: Vec<u8>,
    pub sql_bytes: u64,
}

impl DumpReader {
    pub fn new(file: impl Read + Send + 'static, format: Format) -> DumpReader {
        let inner: Box<dyn Read + Send> = match format {
            Format::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(
                256 * 1024,
                file,
            ))),
            Format::Plain => Box::new(file),
        };
        DumpReader {
            inner,
            tail: Vec::new(),
            sql_bytes: 0,
        }
    }

    /// After the end of input: does the dump end with pg_dump's closing line?
    pub fn complete(&self) -> bool {
        ends_complete(&self.tail)
    }
}

impl Read for DumpReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sql_bytes += n as u64;
        self.tail.extend_from_slice(&buf[..n]);
        if self.tail.len() > 256 {
            self.tail.drain(..self.tail.len() - 256);
        }
        Ok(n)
    }
}

/// pg_dump's closing mark among the last non-empty lines.
pub fn ends_complete(tail: &[u8]) -> bool {
    let text = String::from_utf8_lossy(tail);
    text.lines()
        .rev()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(3)
        .any(|l| l.as_bytes() == COMPLETE_MARK)
}

/// A failed read of a dump: corrupt data (65) or an I/O error (74), naming the file.
pub fn read_error(path: &Path, e: io::Error) -> anyhow::Error {
    use io::ErrorKind::*;
    match e.kind() {
        InvalidInput | InvalidData | UnexpectedEof => {
            fail(Code::DataErr, format!("{} is corrupt: {e}", path.display()))
        }
        _ => fail(Code::IoErr, format!("cannot read {}: {e}", path.display())),
    }
}

/// Reads a whole backup: gzip integrity and completeness. Returns the SQL size.
pub fn verify(path: &Path) -> Result<u64> {
    let format = sniff(path)?;
    let mut reader = DumpReader::new(open(path)?, format);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => return Err(read_error(path, e)),
        }
    }
    if !reader.complete() {
        return Err(fail(
            Code::DataErr,
            format!(
                "{} is incomplete: it does not end with pg_dump's \"dump complete\" line (truncated?)",
                path.display()
            ),
        ));
    }
    Ok(reader.sql_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn names_round_trip_and_reject_lookalikes() {
        let t = Utc.with_ymd_and_hms(2026, 11, 25, 2, 0, 7).unwrap();
        assert_eq!(backup_name(t), "kronic_backup_20261125_020007.sql.gz");
        assert_eq!(
            parse_backup_name("kronic_backup_20261125_020007.sql.gz"),
            Some(t)
        );
        for bad in [
            "kronic_backup_20261125_020007.sql",
            "kronic_backup_20261125_020007.sql.gz.tmp",
            ".kronic_backup_20261125_020007.sql.gz.tmp-1",
            "kronic_backup_20261325_020007.sql.gz",
            "kronic_backup_2026112_0200071.sql.gz",
            "kronic_backup_+0261125_020007.sql.gz",
            "xkronic_backup_20261125_020007.sql.gz",
        ] {
            assert_eq!(parse_backup_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn expiry_keeps_the_newest_and_young_ones() {
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 0).unwrap();
        let b = |days: i64| Backup {
            path: PathBuf::new(),
            name: format!("{days}"),
            time: now - chrono::Duration::days(days),
            size: 0,
        };
        // Newest first, as list() returns them.
        let all = vec![b(40), b(45), b(60)];
        let gone: Vec<String> = expired(&all, 30, now).into_iter().map(|b| b.name).collect();
        assert_eq!(gone, ["45", "60"], "the newest survives even when old");
        let all = vec![b(1), b(29), b(31)];
        assert_eq!(expired(&all, 30, now).len(), 1);
        assert!(expired(&all, 0, now).is_empty());
    }

    #[test]
    fn completeness_mark() {
        assert!(ends_complete(
            b"SET x;\n--\n-- PostgreSQL database dump complete\n--\n\n"
        ));
        assert!(!ends_complete(b"COPY public.users (id) FROM stdin;\n1\n"));
    }
}
