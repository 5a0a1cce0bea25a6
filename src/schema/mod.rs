//! The application's schema: migrations (catalogue, state, lock, apply, revert),
//! drift between the live schema and what the migrations build, and seeding.

pub mod copy;
pub mod drift;
pub mod lint;
pub mod migrations;
pub mod plan;
pub mod seed;
