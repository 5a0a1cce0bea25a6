//! One migration as kronic holds it, and the names it shares with refinery.

use anyhow::Result;
use refinery::Migration;

use crate::report::exit::{Code, fail};

/// refinery's history table.
pub const HISTORY: &str = "refinery_schema_history";

/// One migration: its up script, and the down script that undoes it.
#[derive(Debug, Clone)]
pub struct MigrationFile {
    pub version: u32,
    pub name: String,
    /// Where it came from, for messages: a path, or `built-in:` plus the file name.
    pub origin: String,
    pub up: String,
    pub down: Option<String>,
    /// First line `-- kronic:no-transaction`: one statement, run outside a transaction.
    pub no_transaction: bool,
}

/// The first line that marks a migration to run outside a transaction.
pub const NO_TRANSACTION: &str = "-- kronic:no-transaction";

impl MigrationFile {
    pub fn label(&self) -> String {
        format!("V{}__{}", self.version, self.name)
    }

    /// Where its down script comes from, for messages: the origin, `.down.sql` for `.sql`.
    pub fn down_origin(&self) -> String {
        match self.origin.strip_suffix(".sql") {
            Some(stem) => format!("{stem}.down.sql"),
            None => self.origin.clone(),
        }
    }

    pub fn refinery(&self) -> Result<Migration> {
        Migration::unapplied(&self.label(), &self.up)
            .map_err(|e| fail(Code::DataErr, format!("migration {}: {e}", self.origin)))
    }
}
