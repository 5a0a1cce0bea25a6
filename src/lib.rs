//! kronic: run a PostgreSQL-backed application's database from one binary. The binary
//! (`main.rs`) parses the command line and calls [`cmd::run`]; everything else lives
//! here, so that tests import the exit table, the lock keys and the statement reader
//! instead of copying them.

pub mod backup;
pub mod cli;
pub mod cmd;
pub mod config;
#[cfg(test)]
mod docs;
pub mod fsutil;
pub mod health;
#[cfg(test)]
mod layout;
pub mod pg;
pub mod report;
pub mod schema;
pub mod sql;
