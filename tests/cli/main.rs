//! Integration tests: the real `kronic` binary against a real PostgreSQL.
//!
//! One test binary (links once) with a module per command. The harness starts one
//! throwaway cluster for the run, gives every test its own database, and stops the
//! cluster at the end.

mod support;

mod backup;
mod config;
mod corpus;
mod docs;
mod drift;
mod drill;
mod formats;
mod foundation;
mod fresh_attack;
mod guards;
mod health;
mod hostile;
mod hostile_store;
mod locks;
mod migrate;
mod newcomer;
mod no_panics;
mod notify;
mod package;
mod papercuts;
mod parallel;
mod parallel_offsite;
mod plan_attacks;
mod realdb;
mod remote;
mod restore;
mod retention;
mod safe_migrations;
mod secrets;
mod seed;
mod signed;
mod statements;
mod static_binary;

/// Registers test functions under `module::name`.
#[macro_export]
macro_rules! register {
    ($($f:ident),* $(,)?) => {
        pub fn tests() -> Vec<libtest_mimic::Trial> {
            let module = module_path!().trim_start_matches("cli::");
            vec![$(libtest_mimic::Trial::test(format!("{module}::{}", stringify!($f)), || {
                let started = std::time::Instant::now();
                $f();
                $crate::support::record_time(module_path!(), stringify!($f), started.elapsed());
                Ok(())
            })),*]
        }
    };
}

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let mut tests = Vec::new();
    tests.extend(foundation::tests());
    tests.extend(config::tests());
    tests.extend(migrate::tests());
    tests.extend(health::tests());
    tests.extend(seed::tests());
    tests.extend(backup::tests());
    tests.extend(restore::tests());
    tests.extend(hostile::tests());
    tests.extend(locks::tests());
    tests.extend(secrets::tests());
    tests.extend(formats::tests());
    tests.extend(retention::tests());
    tests.extend(drill::tests());
    tests.extend(guards::tests());
    tests.extend(no_panics::tests());
    tests.extend(notify::tests());
    tests.extend(hostile_store::tests());
    tests.extend(realdb::tests());
    tests.extend(corpus::tests());
    tests.extend(statements::tests());
    tests.extend(safe_migrations::tests());
    tests.extend(plan_attacks::tests());
    tests.extend(fresh_attack::tests());
    tests.extend(signed::tests());
    tests.extend(static_binary::tests());
    tests.extend(newcomer::tests());
    tests.extend(papercuts::tests());
    tests.extend(package::tests());
    tests.extend(drift::tests());
    tests.extend(remote::tests());
    tests.extend(docs::tests());
    tests.extend(parallel::tests());
    tests.extend(parallel_offsite::tests());
    // The package test installs a package: only where .ci/run built one (and says so as
    // "ignored", not "ok", elsewhere).
    let no_package = std::env::var_os("KRONIC_TEST_DEB").is_none();
    // Likewise the static binary, where .ci/run built one (scripts/build-static).
    let no_static = std::env::var_os("KRONIC_TEST_STATIC").is_none();
    let tests = tests
        .into_iter()
        .map(|t| {
            let ignored = (no_package && t.name().starts_with("package::"))
                || (no_static && t.name().starts_with("static_binary::"));
            t.with_ignored_flag(ignored)
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, tests);
    support::shutdown();
    conclusion.exit();
}
