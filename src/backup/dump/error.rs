//! Why a dump cannot be used, and the one line that says so.

use std::io;
use std::path::Path;

use crate::fsutil::read_error;
use crate::report::exit::{Code, fail};
use crate::sql::SqlError;

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

impl From<SqlError> for DumpError {
    fn from(e: SqlError) -> DumpError {
        match e {
            SqlError::Io(e) => DumpError::Io(e),
            SqlError::Bad { line, why } => DumpError::Bad { line, why },
        }
    }
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
