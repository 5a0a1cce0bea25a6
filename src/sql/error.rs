//! Why SQL could not be read: the input failed, or it is malformed at a line.

use std::io;

#[derive(Debug)]
pub enum SqlError {
    /// Reading failed: corrupt compressed data, or an I/O error.
    Io(io::Error),
    /// Malformed or cut SQL at a line.
    Bad { line: u64, why: String },
}

impl SqlError {
    pub fn bad(line: u64, why: String) -> SqlError {
        SqlError::Bad { line, why }
    }
}
