//! Backups: taking them (`take`, through the write side `pipeline`), reading them back
//! (`source`, the read side), where they are kept (`repository`, `remote`), what they
//! promise (`manifest`), how long they are kept (`retention`), encryption (`crypt`),
//! dumps as untrusted input (`dump`), applying one to a database (`restore`), and a
//! live schema copied into a scratch database (`schema_copy`, for `migrate plan`).

pub mod crypt;
pub mod drill;
pub mod dump;
pub mod manifest;
pub mod metrics;
pub mod parallel;
pub mod pipeline;
pub mod remote;
pub mod repository;
pub mod restore;
pub mod retention;
pub mod schema_copy;
pub mod settings;
pub mod signing;
pub mod source;
pub mod sync;
pub mod tables;
pub mod take;
