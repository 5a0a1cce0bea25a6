//! Plain-SQL dumps as untrusted input: telling gzip from SQL, splitting the SQL into
//! statements and COPY data (`lexer`), judging each (`policy`), rewriting seed-script
//! dumps (`clean`) and applying the result over kronic's own connection (`apply`).

mod apply;
mod clean;
mod lexer;
mod policy;

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use anyhow::Result;
use bytes::Bytes;

use crate::crypt::Identities;
use crate::exit::{Code, fail};

pub use apply::apply;
use lexer::{Lexer, Piece};
use policy::{Policy, Verdict};

/// Why a dump cannot be used.
#[derive(Debug)]
pub enum DumpError {
    /// Reading failed: corrupt compressed data, or an I/O error.
    Io(io::Error),
    /// Malformed or cut SQL at a line.
    Bad { line: u64, why: String },
    /// Something a backup must not contain, at a line.
    Refused { line: u64, why: String },
    /// Not a pg_dump plain-SQL file at all.
    NotADump,
}

impl DumpError {
    pub fn bad(line: u64, why: String) -> DumpError {
        DumpError::Bad { line, why }
    }

    /// The one-line error naming the file (exit 65, or 74 for an I/O error).
    pub fn into_error(self, path: &Path) -> anyhow::Error {
        let p = path.display();
        match self {
            DumpError::Io(e) => read_error(path, e),
            DumpError::Bad { line, why } => fail(Code::DataErr, format!("{p}: line {line}: {why}")),
            DumpError::Refused { line, why } => {
                fail(Code::DataErr, format!("{p}: line {line}: refused {why}"))
            }
            DumpError::NotADump => fail(
                Code::DataErr,
                format!(
                    "{p} is not a pg_dump plain-SQL file (it lacks pg_dump's \"PostgreSQL database dump\" header)"
                ),
            ),
        }
    }
}

/// How a dump is stored, told by its first bytes (never by its name).
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

fn format_of(head: &[u8]) -> Option<Format> {
    if crate::crypt::is_age(head) {
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
fn judge(head: &[u8], path: &Path) -> Result<Format> {
    let bad = |why: &str| {
        Err(fail(
            Code::DataErr,
            format!("{} is not a kronic backup: {why}", path.display()),
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

pub fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| {
        let code = crate::exit::io_code(&e);
        fail(code, format!("cannot open {}: {e}", path.display()))
    })
}

/// The SQL inside `input`, told by content: decrypted with `identities` when it is age,
/// then decompressed (gzip with its CRC and length checked, zstd with its checksum), or
/// read as it is.
pub fn sql_reader(
    input: impl Read + Send + 'static,
    identities: &Identities,
    path: &Path,
) -> Result<Box<dyn Read + Send>> {
    let mut buffered = BufReader::with_capacity(256 * 1024, Source(input));
    let head = buffered.fill_buf().map_err(|e| read_error(path, e))?;
    if format_of(head) == Some(Format::Age) {
        let plain = identities.decrypt(buffered, path)?;
        return decompressed(BufReader::with_capacity(256 * 1024, plain), path);
    }
    decompressed(buffered, path)
}

fn decompressed(
    mut input: BufReader<impl Read + Send + 'static>,
    path: &Path,
) -> Result<Box<dyn Read + Send>> {
    let head = input.fill_buf().map_err(|e| read_error(path, e))?;
    Ok(match format_of(head) {
        Some(Format::Gzip) => Box::new(flate2::read::MultiGzDecoder::new(input)),
        Some(Format::Zstd) => {
            Box::new(zstd::Decoder::with_buffer(input).map_err(|e| read_error(path, e))?)
        }
        Some(Format::Age) => {
            return Err(fail(
                Code::DataErr,
                format!("{} is encrypted twice", path.display()),
            ));
        }
        _ => Box::new(input),
    })
}

/// The file (or stream) under the decoders: its read errors are marked, so that every
/// other error is known to be a decoder's verdict on the data.
struct Source<R>(R);

/// A read error of the file itself, not of the data in it.
#[derive(Debug)]
struct SourceError(io::Error);

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SourceError {}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0
            .read(buf)
            .map_err(|e| io::Error::new(e.kind(), SourceError(e)))
    }
}

/// A failed read of a dump: an I/O error of the file (74), or the decoders' (gzip,
/// zstd, age) verdict that the data is corrupt or cut (65); naming the file.
pub fn read_error(path: &Path, e: io::Error) -> anyhow::Error {
    let of_file = e.get_ref().is_some_and(|inner| inner.is::<SourceError>());
    if of_file && e.kind() != io::ErrorKind::UnexpectedEof {
        return fail(Code::IoErr, format!("cannot read {}: {e}", path.display()));
    }
    fail(Code::DataErr, format!("{} is corrupt: {e}", path.display()))
}

/// One thing to do, in order, to apply a dump.
#[derive(Debug)]
pub enum Step {
    /// Run a statement; `phase` names a step worth showing (an index, a constraint).
    Run {
        line: u64,
        sql: String,
        phase: Option<String>,
    },
    /// Start `COPY table FROM stdin`; `Data` steps follow, then `CopyEnd`.
    Copy {
        line: u64,
        sql: String,
        table: String,
    },
    Data(Bytes),
    CopyEnd,
}

/// A dump read as steps that the policy allows. The end of the steps (None) means the
/// whole input was read and is a complete pg_dump; anything else is an error.
pub struct Reader<R> {
    lexer: Lexer<R>,
    policy: Policy,
}

impl<R: Read> Reader<R> {
    pub fn new(sql: R) -> Reader<R> {
        Reader {
            lexer: Lexer::new(sql),
            policy: Policy::default(),
        }
    }

    /// Bytes of SQL read so far.
    pub fn sql_bytes(&self) -> u64 {
        self.lexer.sql_bytes
    }

    pub fn next_step(&mut self) -> Result<Option<Step>, DumpError> {
        loop {
            let piece = match self.lexer.next_piece() {
                Ok(p) => p,
                Err(DumpError::Bad { .. }) if !self.lexer.saw_header => {
                    return Err(DumpError::NotADump);
                }
                Err(e) => return Err(e),
            };
            let Some(piece) = piece else {
                return self.at_end().map(|()| None);
            };
            if !self.lexer.saw_header {
                return Err(DumpError::NotADump);
            }
            match piece {
                Piece::Statement { line, sql } => match self.policy.statement(&sql) {
                    Verdict::Run { sql, phase } => return Ok(Some(Step::Run { line, sql, phase })),
                    Verdict::Copy { sql, table } => {
                        self.lexer.start_copy();
                        return Ok(Some(Step::Copy { line, sql, table }));
                    }
                    Verdict::Skip => {}
                    Verdict::Refuse(why) => return Err(DumpError::Refused { line, why }),
                },
                Piece::Meta { line, text, inside } => self
                    .policy
                    .meta(&text, inside)
                    .map_err(|why| DumpError::Refused { line, why })?,
                Piece::CopyData(b) => return Ok(Some(Step::Data(b))),
                Piece::CopyEnd => return Ok(Some(Step::CopyEnd)),
            }
        }
    }

    fn at_end(&self) -> Result<(), DumpError> {
        let line = self.lexer.line;
        if !self.lexer.saw_header {
            return Err(DumpError::NotADump);
        }
        self.policy
            .finish()
            .map_err(|why| DumpError::Bad { line, why })?;
        if !self.lexer.complete {
            return Err(DumpError::bad(
                line,
                "incomplete: the file ends before pg_dump's \"dump complete\" line (truncated?)"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// The top-level statements of an SQL script (a migration) and their lines; Err is
/// (line, why) for a cut script or a psql meta-command.
pub fn statements(sql: &str) -> Result<Vec<(u64, String)>, (u64, String)> {
    let mut lexer = Lexer::new(sql.as_bytes());
    let mut out = Vec::new();
    loop {
        match lexer.next_piece() {
            Ok(None) => return Ok(out),
            Ok(Some(Piece::Statement { line, sql })) => out.push((line, sql)),
            Ok(Some(Piece::Meta { line, text, .. })) => {
                return Err((
                    line,
                    format!(
                        "psql meta-command \"{}\" (kronic sends SQL only)",
                        policy::excerpt(&text)
                    ),
                ));
            }
            Ok(Some(_)) => return Err((lexer.line, "COPY data in a script".into())),
            Err(DumpError::Bad { line, why } | DumpError::Refused { line, why }) => {
                return Err((line, why));
            }
            Err(e) => return Err((lexer.line, format!("{e:?}"))),
        }
    }
}

pub use policy::{copy_table, transaction_control};

/// What `verify` could check.
pub struct Verified {
    pub sql_bytes: u64,
    /// False for an encrypted backup checked without an identity: only its header was.
    pub content_checked: bool,
}

/// Reads a whole backup as a restore would, running nothing: decryption, compression
/// integrity, every statement allowed, complete. An encrypted backup without an
/// identity gets its age header checked only.
pub fn verify(path: &Path, identities: &Identities) -> Result<Verified> {
    verify_stream(open(path)?, identities, path)
}

/// `verify` of any stream (an object being downloaded); `label` names it. An encrypted
/// one checked without an identity is still read to its end.
pub fn verify_stream(
    input: impl Read + Send + 'static,
    identities: &Identities,
    label: &Path,
) -> Result<Verified> {
    let mut input = BufReader::with_capacity(256 * 1024, Source(input));
    let format = judge(input.fill_buf().map_err(|e| read_error(label, e))?, label)?;
    if format == Format::Age && identities.is_empty() {
        crate::crypt::check_header(&mut input, label)?;
        io::copy(&mut input, &mut io::sink()).map_err(|e| read_error(label, e))?;
        return Ok(Verified {
            sql_bytes: 0,
            content_checked: false,
        });
    }
    let mut reader = Reader::new(sql_reader(input, identities, label)?);
    loop {
        match reader.next_step() {
            Ok(Some(_)) => {}
            Ok(None) => {
                return Ok(Verified {
                    sql_bytes: reader.sql_bytes(),
                    content_checked: true,
                });
            }
            Err(e) => return Err(e.into_error(label)),
        }
    }
}

/// What `restorer::Source` checks before anything connects, on a stream: a dump by its
/// first bytes, and for an encrypted one an identity that opens it (77 otherwise).
pub fn check_opens(input: impl Read, identities: &Identities, label: &Path) -> Result<()> {
    let mut input = BufReader::with_capacity(8192, Source(input));
    let format = judge(input.fill_buf().map_err(|e| read_error(label, e))?, label)?;
    if format == Format::Age {
        identities.decrypt(input, label)?;
    }
    Ok(())
}

/// Does `tail` (the last bytes of a dump) end with pg_dump's closing comment?
pub fn ends_complete(tail: &[u8]) -> bool {
    let text = String::from_utf8_lossy(tail);
    text.lines()
        .rev()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(3)
        .any(|l| l == "-- PostgreSQL database dump complete")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(sql: &str) -> Result<Vec<Step>, DumpError> {
        let mut r = Reader::new(sql.as_bytes());
        let mut out = Vec::new();
        while let Some(s) = r.next_step()? {
            out.push(s);
        }
        Ok(out)
    }

    const HEAD: &str = "--\n-- PostgreSQL database dump\n--\n\n\\restrict k1\n\nSET a = 1;\n";
    const TAIL: &str = "\n--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict k1\n\n";

    #[test]
    fn a_complete_dump_reads_whole() {
        let steps = read_all(&format!(
            "{HEAD}COPY public.t (a) FROM stdin;\n1\n\\.\n\nBEGIN;\nSELECT pg_catalog.lo_close(0);\nCOMMIT;\n{TAIL}"
        ))
        .unwrap();
        assert_eq!(steps.len(), 5, "{steps:?}");
    }

    #[test]
    fn refusals_name_the_line() {
        let err = read_all(&format!("{HEAD}\\! id\n{TAIL}")).unwrap_err();
        assert!(matches!(err, DumpError::Refused { line: 8, .. }), "{err:?}");
        let err = read_all(&format!("{HEAD}COMMIT;\n{TAIL}")).unwrap_err();
        assert!(matches!(err, DumpError::Refused { line: 8, .. }), "{err:?}");
    }

    #[test]
    fn not_a_dump_and_cut_dumps() {
        assert!(matches!(
            read_all("# README\n\nIt's `kronic`.\n"),
            Err(DumpError::NotADump)
        ));
        assert!(matches!(read_all(HEAD), Err(DumpError::Bad { .. })));
    }

    #[test]
    fn completeness_mark() {
        assert!(ends_complete(
            b"SET x;\n--\n-- PostgreSQL database dump complete\n--\n\n"
        ));
        assert!(!ends_complete(b"COPY public.users (id) FROM stdin;\n1\n"));
    }
}
