//! PostgreSQL advisory lock keys kronic takes (the tests take them too, to hold kronic
//! back).

/// Every kronic migrating a database ("kronic-m" in ASCII).
pub const MIGRATE: i64 = 0x6b72_6f6e_6963_2d6d;

/// Concurrent seeds ("kronic-s").
pub const SEED: i64 = 0x6b72_6f6e_6963_2d73;

/// A drill and its scratch database ("kronic-d"): held for the whole drill, so that a
/// scratch database left with nobody holding it is known to be abandoned.
pub const DRILL: i64 = 0x6b72_6f6e_6963_2d64;

/// A parallel restore or rollback on this server ("kronic-r"): held from before its
/// scratch database is made until the swap, so one left with nobody holding it is
/// known to be abandoned.
pub const RESTORE: i64 = 0x6b72_6f6e_6963_2d72;
