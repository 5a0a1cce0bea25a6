//! PostgreSQL advisory lock keys kronic takes (the tests take them too, to hold kronic
//! back).

/// Every kronic migrating a database ("kronic-m" in ASCII).
pub const MIGRATE: i64 = 0x6b72_6f6e_6963_2d6d;

/// Concurrent seeds ("kronic-s").
pub const SEED: i64 = 0x6b72_6f6e_6963_2d73;

/// A drill and its scratch database ("kronic-d"): held for the whole drill, so that a
/// scratch database left with nobody holding it is known to be abandoned.
pub const DRILL: i64 = 0x6b72_6f6e_6963_2d64;

/// A parallel restore or rollback of one target database ("krrt", with the hash of the
/// target's name): one at a time per target.
pub const RESTORE_TARGET: i32 = 0x6b72_7274;

/// A parallel restore's scratch database ("krrs", with the pid in its name): held for
/// the whole restore, so that a scratch database nobody holds is known to be abandoned.
pub const RESTORE_SCRATCH: i32 = 0x6b72_7273;

/// A `migrate plan`'s scratch database ("krps", with the pid in its name): held by the
/// plan from before its scratch database exists until it is dropped.
pub const PLAN_SCRATCH: i32 = 0x6b72_7073;
