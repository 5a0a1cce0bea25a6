//! Health: the check behind `kronic health` and /healthz (`check`: the pool, the
//! server, the schema) and the HTTP listener that serves it without letting a slow or
//! hostile client exhaust anything (`listener`).

pub mod check;
pub mod listener;
