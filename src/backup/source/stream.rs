//! The byte side of reading a backup: telling its format by content, decrypting,
//! decompressing, hashing as it is read, and holding the bytes to the manifest (a
//! whole backup's, or one member's of a parallel backup) once read to their end.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Result;

use crate::backup::crypt::{self, Identities};
use crate::backup::dump::{Reader, Step};
use crate::backup::manifest::Digest256;
use crate::fsutil::{FileRead, read_error};
use crate::report::exit::{Code, fail};
use crate::report::progress::Progress;

/// How a backup is stored, told by its first bytes (never by its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// age-encrypted; what is inside is told after decrypting.
    Age,
    Gzip,
    Zstd,
    Plain,
}

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
const BUF: usize = 256 * 1024;

fn format_of(head: &[u8]) -> Option<Format> {
    if crypt::is_age(head) {
        Some(Format::Age)
    } else if head.starts_with(GZIP_MAGIC) {
        Some(Format::Gzip)
    } else if head.starts_with(ZSTD_MAGIC) {
        Some(Format::Zstd)
    } else {
        None
    }
}

/// Looks at the first bytes: age, gzip, zstd, or plain SQL text. Custom-format
/// archives, binaries and empty files are refused (65) before anything reads further.
fn judge(head: &[u8], label: &Path) -> Result<Format> {
    let bad = |why: &str| {
        Err(fail(
            Code::DataErr,
            format!("{} is not a kronic backup: {why}", label.display()),
        ))
    };
    if head.is_empty() {
        return bad("the file is empty");
    }
    if let Some(format) = format_of(head) {
        return Ok(format);
    }
    if head.starts_with(b"PGDMP") {
        return bad("it is a pg_dump custom-format archive (restore it with pg_restore)");
    }
    // Text, allowing a character cut at the end of the sample.
    let text = std::str::from_utf8(head).map_or_else(|e| e.error_len().is_none(), |_| true);
    if head.contains(&0) || !text {
        return bad("it is neither gzip, zstd, age nor SQL text");
    }
    Ok(Format::Plain)
}

/// Opens a backup file for reading (66 missing, 77 not allowed, 74 otherwise).
pub fn open_file(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| {
        let code = crate::report::exit::io_code(&e);
        fail(code, format!("cannot open {}: {e}", path.display()))
    })
}

/// The SQL inside `input` (positioned at its first byte), told by content: decrypted
/// with `identities` when it is age, then decompressed (gzip with its CRC and length
/// checked, zstd with its checksum), or read as it is.
fn sql_reader(
    mut input: BufReader<impl Read + Send + 'static>,
    identities: &Identities,
    label: &Path,
) -> Result<Box<dyn Read + Send>> {
    let head = input.fill_buf().map_err(|e| read_error(label, e))?;
    if format_of(head) == Some(Format::Age) {
        let plain = identities.decrypt(input, label)?;
        return decompressed(BufReader::with_capacity(BUF, plain), label);
    }
    decompressed(input, label)
}

fn decompressed(
    mut input: BufReader<impl Read + Send + 'static>,
    label: &Path,
) -> Result<Box<dyn Read + Send>> {
    let head = input.fill_buf().map_err(|e| read_error(label, e))?;
    Ok(match format_of(head) {
        Some(Format::Gzip) => Box::new(flate2::read::MultiGzDecoder::new(input)),
        Some(Format::Zstd) => {
            Box::new(zstd::Decoder::with_buffer(input).map_err(|e| read_error(label, e))?)
        }
        Some(Format::Age) => {
            return Err(fail(
                Code::DataErr,
                format!("{} is encrypted twice", label.display()),
            ));
        }
        _ => Box::new(input),
    })
}

/// What a verify could check.
pub struct Verified {
    pub sql_bytes: u64,
    /// False for an encrypted backup checked without an identity: only its header (and
    /// its digest, when it has a manifest) was.
    pub content_checked: bool,
}

/// Reads a whole stream as a restore would, running nothing: decryption, compression
/// integrity, every statement allowed, complete. An encrypted one without an identity
/// gets its age header checked and is still read to its end. `label` names it.
pub fn verify_stream(
    input: impl Read + Send + 'static,
    identities: &Identities,
    label: &Path,
) -> Result<Verified> {
    let mut input = BufReader::with_capacity(BUF, FileRead(input));
    let format = judge(input.fill_buf().map_err(|e| read_error(label, e))?, label)?;
    if format == Format::Age && identities.is_empty() {
        crypt::check_header(&mut input, label)?;
        io::copy(&mut input, &mut io::sink()).map_err(|e| read_error(label, e))?;
        return Ok(Verified {
            sql_bytes: 0,
            content_checked: false,
        });
    }
    let mut reader = Reader::new(sql_reader(input, identities, label)?);
    while reader
        .next_step()
        .map_err(|e| e.into_error(label))?
        .is_some()
    {}
    Ok(Verified {
        sql_bytes: reader.sql_bytes(),
        content_checked: true,
    })
}

/// What is checked before anything connects, on the first bytes of a stream: a dump by
/// its format, for an encrypted one an identity that opens it (77 otherwise), and, when
/// it holds SQL (`sql`), pg_dump's header within its first 64 KiB (65 otherwise), so
/// that a wrong file is refused before the database is touched.
pub(super) fn check_opens(
    input: impl Read + Send + 'static,
    identities: &Identities,
    label: &Path,
    sql: bool,
) -> Result<()> {
    let mut input = BufReader::with_capacity(8192, FileRead(input));
    let format = judge(input.fill_buf().map_err(|e| read_error(label, e))?, label)?;
    if !sql {
        if format == Format::Age {
            identities.decrypt(input, label)?;
        }
        return Ok(());
    }
    crate::backup::dump::check_header(sql_reader(input, identities, label)?)
        .map_err(|e| e.into_error(label))
}

/// What the bytes are held to once read: the manifest's SHA-256 and the size.
pub(super) struct Check {
    pub(super) digest: Digest256,
    pub(super) label: PathBuf,
    pub(super) size: u64,
    /// The SHA-256 its manifest recorded, when it has one.
    pub(super) sha256: Option<String>,
}

impl Check {
    /// After the last byte: every byte was read, and they are the ones the manifest
    /// recorded (65 otherwise, before anything is committed or passed).
    pub(super) fn held(&self) -> Result<()> {
        let (sha256, read) = self.digest.get();
        let label = self.label.display().to_string();
        if read != self.size {
            return Err(fail(
                Code::DataErr,
                format!("{label}: {read} bytes read, the backup holds {}", self.size),
            ));
        }
        match &self.sha256 {
            Some(want) if *want != sha256 => Err(fail(
                Code::DataErr,
                format!(
                    "{label} does not match its manifest: SHA-256 {sha256}, the manifest says {want} (changed since the backup?)"
                ),
            )),
            _ => Ok(()),
        }
    }
}

/// A backup opened for reading; read it on a plain thread.
pub struct Opened {
    pub(super) input: Box<dyn Read + Send>,
    pub(super) check: Check,
    pub(super) identities: Arc<Identities>,
}

impl Opened {
    /// The statements, in order.
    pub fn statements(self) -> Result<Statements> {
        let label = self.check.label.clone();
        let mut input = BufReader::with_capacity(BUF, FileRead(self.input));
        judge(input.fill_buf().map_err(|e| read_error(&label, e))?, &label)?;
        Ok(Statements {
            reader: Reader::new(sql_reader(input, &self.identities, &label)?),
            check: self.check,
        })
    }

    /// `verify_stream`, then the bytes against the manifest.
    pub(super) fn verify(self) -> Result<Verified> {
        let verified = verify_stream(self.input, &self.identities, &self.check.label)?;
        self.check.held()?;
        Ok(verified)
    }
}

impl Opened {
    /// A data member's bytes (COPY text), decrypted and decompressed, and what checks
    /// them once read to their end.
    pub fn data(self) -> Result<(Box<dyn Read + Send>, Held)> {
        let label = self.check.label.clone();
        let mut input = BufReader::with_capacity(BUF, FileRead(self.input));
        judge(input.fill_buf().map_err(|e| read_error(&label, e))?, &label)?;
        Ok((
            sql_reader(input, &self.identities, &label)?,
            Held(self.check),
        ))
    }
}

/// What a member's bytes are held to once read to their end.
pub struct Held(Check);

impl Held {
    /// Every byte was read and they are the ones the manifest recorded (65 otherwise).
    pub fn check(&self) -> Result<()> {
        self.0.held()
    }
}

/// A backup's statements as the dump's policy allows them.
pub struct Statements {
    reader: Reader<Box<dyn Read + Send>>,
    check: Check,
}

impl Statements {
    /// The next step; None once the whole backup was read, is a complete dump and its
    /// bytes matched the manifest. Anything else is an error naming the backup.
    pub fn next_step(&mut self) -> Result<Option<Step>> {
        match self.reader.next_step() {
            Ok(Some(step)) => Ok(Some(step)),
            Ok(None) => self.check.held().map(|()| None),
            Err(e) => Err(e.into_error(&self.check.label)),
        }
    }

    /// Bytes of SQL read so far.
    pub fn sql_bytes(&self) -> u64 {
        self.reader.sql_bytes()
    }
}

/// Counts bytes for the progress bar.
pub(super) struct Counting {
    pub(super) inner: Box<dyn Read + Send>,
    pub(super) progress: Option<Progress>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(p) = &mut self.progress {
            p.add(n as u64);
        }
        Ok(n)
    }
}
