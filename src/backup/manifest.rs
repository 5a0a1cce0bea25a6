//! A backup's manifest, `<backup>.manifest.json` next to it: what was dumped (server,
//! database, schema version, times, sizes, the file's SHA-256, recipients) and, counted
//! from the COPY data as it streams through (so inside pg_dump's snapshot), every
//! table's rows and the objects the dump creates. Drills check a restore against it;
//! verify checks the file's digest. Old backups without one still list, verify and
//! restore.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::fsutil;
use crate::report::exit::{Code, fail};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Manifest {
    pub kronic_version: String,
    pub server_version: String,
    pub database: String,
    /// The newest applied migration when the dump started (None: no kronic history).
    pub schema_version: Option<i32>,
    pub started_at: String,
    pub finished_at: String,
    pub compression: String,
    pub compressed_bytes: u64,
    pub sql_bytes: u64,
    pub sha256: String,
    /// The public keys the backup is encrypted to (empty: not encrypted).
    pub recipients: Vec<String>,
    /// Rows per table, as pg_dump's snapshot saw them.
    pub tables: BTreeMap<String, u64>,
    /// Indexes and constraints the dump creates, by name.
    pub indexes: Vec<String>,
    pub constraints: Vec<String>,
    /// The database's extensions and their versions (older manifests have none).
    #[serde(default)]
    pub extensions: BTreeMap<String, String>,
    /// The backup's own name, the server's system identifier and the manifest's format:
    /// bound by the signature, so a signed manifest cannot be given to another file, and
    /// says which server it came from (older manifests have none).
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub system_identifier: Option<String>,
    #[serde(default)]
    pub format: Option<u32>,
    /// A parallel backup's member files (format 2); a single-stream backup has none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<crate::backup::parallel::Member>,
}

/// The manifest format kronic writes for a single-stream backup; it reads up to
/// `parallel::FORMAT`.
pub const FORMAT: u32 = 1;

/// A manifest as it was stored: its exact bytes (what a signature covers) and its
/// signature, if it has one.
#[derive(Debug, Clone, Default)]
pub struct Sealed {
    pub bytes: Vec<u8>,
    pub signature: Option<String>,
}

impl Sealed {
    /// `manifest`'s bytes, signed with `signer` when there is one (the signed comment
    /// names the backup and its database, for whoever checks it by hand).
    pub fn seal(
        manifest: &Manifest,
        signer: Option<&crate::backup::signing::Signer>,
    ) -> Result<Sealed> {
        let bytes = serde_json::to_vec_pretty(manifest)?;
        let signature = match signer {
            Some(s) => Some(s.sign(
                &bytes,
                &format!(
                    "kronic backup {} of {} started {}",
                    manifest.name.as_deref().unwrap_or("?"),
                    manifest.database,
                    manifest.started_at
                ),
            )?),
            None => None,
        };
        Ok(Sealed { bytes, signature })
    }
}

/// What a manifest's name adds to its backup's.
pub const SUFFIX: &str = ".manifest.json";

/// Where the manifest of `backup` lives.
pub fn path_for(backup: &Path) -> PathBuf {
    let name = backup.file_name().unwrap_or_default().to_string_lossy();
    backup.with_file_name(name_for(&name))
}

/// The manifest's name for a backup called `backup` (in a folder or a bucket).
pub fn name_for(backup: &str) -> String {
    format!("{backup}{SUFFIX}")
}

impl Manifest {
    /// Writes `sealed` atomically next to `backup`, 0600 like the backup: the signature
    /// first, so that a manifest is never there without the signature made for it.
    pub fn write(sealed: &Sealed, backup: &Path) -> Result<()> {
        let path = path_for(backup);
        if let Some(sig) = &sealed.signature {
            fsutil::write_atomic(
                &crate::backup::signing::sig_path(&path),
                sig.as_bytes(),
                0o600,
            )?;
        }
        fsutil::write_atomic(&path, &sealed.bytes, 0o600)
    }

    /// Were the bytes read from `what` (their SHA-256) the ones this manifest recorded?
    /// 65 naming both digests otherwise.
    pub fn check_digest(&self, what: &str, sha256: &str) -> Result<()> {
        if sha256 == self.sha256 {
            return Ok(());
        }
        Err(fail(
            Code::DataErr,
            format!(
                "{what} does not match its manifest: SHA-256 {sha256}, the manifest says {} (changed since the backup?)",
                self.sha256
            ),
        ))
    }

    /// The manifest of `backup`, if it has one (an unreadable or invalid one is 65).
    pub fn read(backup: &Path) -> Result<Option<Manifest>> {
        Ok(Manifest::read_sealed(backup)?.map(|(m, _)| m))
    }

    /// The manifest of `backup` with its exact bytes and its signature, if it has one.
    pub fn read_sealed(backup: &Path) -> Result<Option<(Manifest, Sealed)>> {
        let path = path_for(backup);
        let read = |path: &Path| match std::fs::read(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(fail(
                crate::report::exit::io_code(&e),
                format!("cannot read {}: {e}", path.display()),
            )),
            Ok(bytes) => Ok(Some(bytes)),
        };
        let Some(bytes) = read(&path)? else {
            return Ok(None);
        };
        let manifest = Manifest::parse(&bytes, &path.display().to_string())?;
        let signature = read(&crate::backup::signing::sig_path(&path))?
            .map(|b| String::from_utf8_lossy(&b).into_owned());
        Ok(Some((manifest, Sealed { bytes, signature })))
    }

    /// A manifest's bytes as a manifest (65 naming `what` otherwise).
    pub fn parse(bytes: &[u8], what: &str) -> Result<Manifest> {
        serde_json::from_slice(bytes).map_err(|e| {
            fail(
                Code::DataErr,
                format!("{what} is not a kronic manifest: {e}"),
            )
        })
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A reader that hashes what is read through it (uploads and remote verifies). The
/// digest and count are shared, so they can be read after the reader was handed on.
pub struct HashingReader<R> {
    inner: R,
    state: std::sync::Arc<std::sync::Mutex<(Sha256, u64)>>,
}

/// The digest side of a `HashingReader`.
#[derive(Clone)]
pub struct Digest256(std::sync::Arc<std::sync::Mutex<(Sha256, u64)>>);

impl Digest256 {
    /// The hex SHA-256 and the byte count so far.
    pub fn get(&self) -> (String, u64) {
        let state = self.0.lock().unwrap_or_else(|p| p.into_inner());
        (hex(&state.0.clone().finalize()), state.1)
    }
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> (HashingReader<R>, Digest256) {
        let state = std::sync::Arc::new(std::sync::Mutex::new((Sha256::new(), 0)));
        (
            HashingReader {
                inner,
                state: state.clone(),
            },
            Digest256(state),
        )
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.0.update(&buf[..n]);
        state.1 += n as u64;
        Ok(n)
    }
}

/// Counts, from a plain dump streaming past, each table's COPY rows and the indexes
/// and constraints created: one pass, looking only at line starts (memchr).
#[derive(Default)]
pub struct DumpStats {
    pub tables: BTreeMap<String, u64>,
    pub indexes: Vec<String>,
    pub constraints: Vec<String>,
    /// The table whose COPY data is streaming.
    copying: Option<String>,
    /// The start of the current line, when it began in an earlier chunk (bounded).
    partial: Vec<u8>,
    at_line_start: bool,
}

impl DumpStats {
    pub fn new() -> DumpStats {
        DumpStats {
            at_line_start: true,
            ..DumpStats::default()
        }
    }

    pub fn feed(&mut self, mut chunk: &[u8]) {
        while !chunk.is_empty() {
            match memchr::memchr(b'\n', chunk) {
                Some(i) => {
                    self.take_line_part(&chunk[..i]);
                    let line = std::mem::take(&mut self.partial);
                    self.line(&line);
                    self.at_line_start = true;
                    chunk = &chunk[i + 1..];
                }
                None => {
                    self.take_line_part(chunk);
                    chunk = &[];
                }
            }
        }
    }

    /// Keeps the first 512 bytes of a line: enough for any statement line it looks at.
    fn take_line_part(&mut self, part: &[u8]) {
        self.at_line_start = false;
        let room = 512usize.saturating_sub(self.partial.len());
        self.partial
            .extend_from_slice(&part[..part.len().min(room)]);
    }

    fn line(&mut self, line: &[u8]) {
        if let Some(table) = &self.copying {
            if line == b"\\." {
                self.copying = None;
            } else if let Some(n) = self.tables.get_mut(table) {
                *n += 1;
            }
            return;
        }
        let Ok(text) = std::str::from_utf8(line) else {
            return;
        };
        if text.starts_with("COPY ")
            && let Some(table) = crate::backup::dump::copy_table(text)
        {
            self.tables.insert(table.clone(), 0);
            self.copying = Some(table);
            return;
        }
        let trimmed = text.trim_start();
        if !["CREATE ", "ALTER TABLE ", "ADD CONSTRAINT "]
            .iter()
            .any(|p| trimmed.starts_with(p))
        {
            return;
        }
        match crate::backup::dump::created_object(trimmed) {
            Some(("index", name)) => self.indexes.push(name),
            Some((_, name)) => self.constraints.push(name),
            None => {}
        }
    }
}

/// A reader that shows every byte it passes to `stats`.
pub struct Observed<'a, R> {
    pub inner: R,
    pub stats: &'a mut DumpStats,
}

impl<R: Read> Read for Observed<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.stats.feed(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_copy_rows_and_names_objects_across_chunks() {
        let dump = "SET x = 1;\nCREATE TABLE public.t (a text);\nCOPY public.t (a) FROM stdin;\n1\n\\\\.\n\\.x\n3\n\\.\n\
            COPY public.\"we ird\" (a) FROM stdin;\n\\.\n\
            CREATE UNIQUE INDEX t_a_idx ON public.t USING btree (a);\n\
            ALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_pkey PRIMARY KEY (a);\n\
            ALTER TABLE ONLY public.t ADD CONSTRAINT t_fk FOREIGN KEY (a) REFERENCES public.t(a);\n\
            CREATE INDEX \"Order Items_idx\" ON public.\"Order Items\" USING btree (a);\n\
            ALTER TABLE ONLY public.\"Order Items\"\n    ADD CONSTRAINT \"Order Items_pkey\" PRIMARY KEY (a);\n";
        for step in [1, 3, 7, 4096] {
            let mut s = DumpStats::new();
            for c in dump.as_bytes().chunks(step) {
                s.feed(c);
            }
            assert_eq!(s.tables["public.t"], 4, "step {step}");
            assert_eq!(s.tables["public.we ird"], 0);
            assert_eq!(s.indexes, ["t_a_idx", "Order Items_idx"]);
            assert_eq!(
                s.constraints,
                ["t_pkey", "t_fk", "Order Items_pkey"],
                "step {step}"
            );
        }
    }

    #[test]
    fn manifests_sit_next_to_their_backup() {
        assert_eq!(
            path_for(Path::new("/b/kronic_backup_20261125_020000.sql.gz.age")),
            Path::new("/b/kronic_backup_20261125_020000.sql.gz.age.manifest.json")
        );
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The statistics of any stream, in any chunking: never a panic.
        #[test]
        fn any_stream_is_counted(
            text in prop::collection::vec(any::<u8>(), 0..2000),
            step in 1usize..64,
        ) {
            let mut s = DumpStats::new();
            for c in text.chunks(step) {
                s.feed(c);
            }
        }

        /// Any manifest text is a manifest or an error.
        #[test]
        fn any_manifest_parses_or_not(text in "\\PC{0,200}") {
            let _ = serde_json::from_str::<Manifest>(&text);
        }
    }
}
