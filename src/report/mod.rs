//! What kronic tells people and programs: exit codes (`exit`), lines on stdout and
//! questions (`ui`), progress on a terminal (`progress`), the log (`logging`), pings (`notify`) and what pings must not carry
//! (`redact`).

pub mod exit;
pub mod logging;
pub mod notify;
pub mod progress;
pub mod redact;
pub mod ui;
