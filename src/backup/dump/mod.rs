//! Plain-SQL dumps as untrusted input: splitting the SQL into statements and COPY data
//! (`lexer`), judging each (`policy`), rewriting seed-script dumps (`clean`) and
//! applying the result over kronic's own connection (`apply`). Getting at the SQL
//! (the file or object, decryption, decompression) is `backup::source`'s.

pub mod apply;
mod clean;
mod error;
mod policy;

use std::io::Read;

use bytes::Bytes;

use crate::sql::SqlError;
use crate::sql::lexer::{Lexer, Piece};
pub use error::DumpError;
pub use policy::ExtensionAction;
use policy::{Policy, Verdict};

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
    /// A clean section's constraint drop: one a partition inherited is left to the
    /// partition's own DROP (`apply`).
    CleanDrop {
        line: u64,
        sql: String,
    },
    /// A session setting, skipped when the target server has no such setting (`apply`).
    Setting {
        line: u64,
        sql: String,
        name: String,
    },
    /// An extension statement, decided against the target database (`apply`).
    Extension {
        line: u64,
        sql: String,
        name: String,
        action: ExtensionAction,
    },
}

/// pg_dump's header comes in its first few hundred bytes: what has none in its first
/// 64 KiB is not a dump, decided before reading further (a crafted first line of
/// gigabytes is neither held nor read to its end).
const HEADER_WITHIN: u64 = 64 * 1024;

/// A dump read as steps that the policy allows. The end of the steps (None) means the
/// whole input was read and is a complete pg_dump; anything else is an error.
pub struct Reader<R> {
    lexer: Lexer<R>,
    policy: Policy,
}

impl<R: Read> Reader<R> {
    pub fn new(sql: R) -> Reader<R> {
        let mut lexer = Lexer::new(sql);
        lexer.expect_header_within(HEADER_WITHIN);
        Reader {
            lexer,
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
                Err(SqlError::Bad { .. }) if !self.lexer.saw_header => {
                    return Err(DumpError::NotADump);
                }
                Err(e) => return Err(e.into()),
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
                    Verdict::CleanDrop(sql) => return Ok(Some(Step::CleanDrop { line, sql })),
                    Verdict::Setting { sql, name } => {
                        return Ok(Some(Step::Setting { line, sql, name }));
                    }
                    Verdict::Skip => {}
                    Verdict::Refuse(why) => return Err(DumpError::Refused { line, why }),
                    Verdict::Extension { sql, name, action } => {
                        return Ok(Some(Step::Extension {
                            line,
                            sql,
                            name,
                            action,
                        }));
                    }
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

/// Whether `sql` starts as a pg_dump does, its header within the first 64 KiB, read
/// no further than that. Whatever else is wrong is found when it is read whole.
pub fn check_header(sql: impl Read) -> Result<(), DumpError> {
    match Reader::new(sql.take(HEADER_WITHIN)).next_step() {
        Err(DumpError::NotADump) => Err(DumpError::NotADump),
        _ => Ok(()),
    }
}

pub use policy::{copy_table, created_object};

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
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the bytes after a dump's header, reading them ends in steps or an
        /// error, never a panic or a loop.
        #[test]
        fn any_bytes_read_to_an_end(body in prop::collection::vec(any::<u8>(), 0..600)) {
            let mut input = b"--\n-- PostgreSQL database dump\n--\n".to_vec();
            input.extend(body);
            let mut r = Reader::new(&input[..]);
            for _ in 0..10_000 {
                match r.next_step() {
                    Ok(Some(_)) => {}
                    _ => break,
                }
            }
        }

    }
}
