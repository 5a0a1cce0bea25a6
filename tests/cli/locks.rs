//! Never take the application down: with an application session holding locks, kronic
//! waits a short time per try, lets the application's queries through, names who
//! blocks, gives up with 75 within its budget, and leaves no session behind.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::*;

crate::register!(
    migrate_restore_and_backup_give_up_naming_the_blocker,
    the_application_keeps_running_while_kronic_waits,
    a_blocker_that_commits_between_tries_lets_the_migration_through,
    sigterm_leaves_no_kronic_session_behind,
    no_transaction_migration_builds_an_index_while_the_app_writes,
    migrations_with_transaction_control_are_refused_before_anything_runs,
    current_exit_code_gates_ci,
    up_with_backup_names_the_restore_command_on_failure,
);

/// An application session on `db`, named `app-web`.
fn app(db: &TestDb) -> (postgres::Client, i32) {
    let mut cfg: postgres::Config = server().admin_url.parse().unwrap();
    cfg.dbname(&db.name).application_name("app-web");
    let mut c = cfg.connect(postgres::NoTls).unwrap();
    let pid: i32 = c.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    (c, pid)
}

/// The application holds ACCESS SHARE on users, as any open transaction that read it.
fn hold_users(c: &mut postgres::Client) {
    c.batch_execute("BEGIN; SELECT count(*) FROM users")
        .unwrap();
}

fn with_v3(db: &TestDb) -> PathBuf {
    let dir = db.path("migrations");
    copy_builtin_migrations(&dir);
    write_file(
        &dir.join("V3__display_name.sql"),
        "ALTER TABLE users ADD COLUMN display_name text;\n",
    );
    write_file(
        &dir.join("V3__display_name.down.sql"),
        "ALTER TABLE users DROP COLUMN display_name;\n",
    );
    dir
}

fn version(db: &TestDb) -> i32 {
    db.client()
        .query_one(
            "SELECT coalesce(max(version), 0) FROM refinery_schema_history",
            &[],
        )
        .unwrap()
        .get(0)
}

#[track_caller]
fn assert_names_blocker(out: &Output, pid: i32) {
    assert!(
        out.stderr.contains(&format!("pid {pid} (app-web")),
        "blocker not named:\n{}",
        out.stderr
    );
}

fn migrate_restore_and_backup_give_up_naming_the_blocker() {
    let db = TestDb::populated();
    let set = with_v3(&db);
    let gz = {
        let out = expect(db.kronic().arg("backup"), 0);
        db.backup_dir().join(
            out.stdout
                .trim()
                .strip_prefix("Backup completed: ")
                .unwrap(),
        )
    };
    let before = content_checksum(&mut db.client());
    let (mut app, pid) = app(&db);
    hold_users(&mut app);
    for (what, args) in [
        ("migrate up", vec!["migrate", "--lock-wait", "3", "up"]),
        (
            "migrate down",
            vec!["migrate", "--lock-wait", "3", "down", "--yes"],
        ),
        ("restore", vec!["restore", "--lock-wait", "3", "--yes"]),
    ] {
        let started = Instant::now();
        let mut cmd = db.kronic();
        cmd.args(&args);
        if what == "restore" {
            cmd.arg(&gz);
        } else {
            cmd.arg("--migrations").arg(&set);
        }
        let out = expect(&mut cmd, 75);
        assert!(
            started.elapsed() < Duration::from_secs(9),
            "{what} took {:?}",
            started.elapsed()
        );
        assert_names_blocker(&out, pid);
        assert!(out.stderr.contains("users"), "{what}: {}", out.stderr);
        assert_eq!(version(&db), 1, "{what}");
        assert_eq!(content_checksum(&mut db.client()), before, "{what}");
    }
    app.batch_execute("COMMIT").unwrap();

    // pg_dump is stopped only by ACCESS EXCLUSIVE.
    app.batch_execute("BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let files = std::fs::read_dir(db.backup_dir()).unwrap().count();
    let started = Instant::now();
    let out = expect(db.kronic().args(["backup", "--lock-wait", "2"]), 75);
    assert!(started.elapsed() < Duration::from_secs(9));
    assert!(
        out.stderr
            .contains(&format!("users held by pid {pid} (app-web")),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read_dir(db.backup_dir()).unwrap().count(), files);
    // The application runs as another role: PostgreSQL hides its state from kronic's,
    // and the message says so instead of guessing.
    assert!(
        out.stderr.contains(&format!(
            "(app-web, user postgres; its state is hidden from {APP_USER}: grant it pg_read_all_stats to see it)"
        )),
        "{}",
        out.stderr
    );
    app.batch_execute("ROLLBACK").unwrap();

    // The same role as kronic's: its state and how long its transaction has been open.
    let mut cfg: postgres::Config = db.url().parse().unwrap();
    cfg.application_name("app-worker");
    let mut same = cfg.connect(postgres::NoTls).unwrap();
    let pid: i32 = same
        .query_one("SELECT pg_backend_pid()", &[])
        .unwrap()
        .get(0);
    same.batch_execute("BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let out = expect(db.kronic().args(["backup", "--lock-wait", "1"]), 75);
    assert!(
        out.stderr.contains(&format!(
            "users held by pid {pid} (app-worker, user {APP_USER}, "
        )) && out.stderr.contains(", idle in transaction for "),
        "{}",
        out.stderr
    );
    same.batch_execute("ROLLBACK").unwrap();
}

/// A populated database, an application transaction holding users, and `migrate up` of
/// a V3 that alters users, started (with `extra` arguments) and waiting.
fn blocked_migration(extra: &[&str]) -> (TestDb, postgres::Client, std::process::Child) {
    let db = TestDb::populated();
    let set = with_v3(&db);
    let (mut blocker, _) = app(&db);
    hold_users(&mut blocker);
    let mut cmd = db.kronic_std();
    cmd.args(["migrate", "up", "--migrations"])
        .arg(&set)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    (db, blocker, child)
}

fn the_application_keeps_running_while_kronic_waits() {
    let (db, _blocker, mut child) = blocked_migration(&["--lock-wait", "6"]);
    let (mut other, _) = app(&db);
    other.batch_execute("SET statement_timeout = '3s'").unwrap();
    // Several queries spread over kronic's tries: none waits more than one try.
    for _ in 0..4 {
        std::thread::sleep(Duration::from_millis(700));
        let t = Instant::now();
        other.query_one("SELECT count(*) FROM users", &[]).unwrap();
        assert!(
            t.elapsed() < Duration::from_millis(1500),
            "app query took {:?}",
            t.elapsed()
        );
    }
    assert_eq!(child.wait().unwrap().code(), Some(75));
}

fn a_blocker_that_commits_between_tries_lets_the_migration_through() {
    let (db, mut blocker, child) = blocked_migration(&[]);
    std::thread::sleep(Duration::from_millis(2500));
    blocker.batch_execute("COMMIT").unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("waiting for a lock on users"), "{stderr}");
    assert_eq!(version(&db), 3);
}

fn kronic_sessions(db: &TestDb) -> i64 {
    postgres::Client::connect(&server().admin_url, postgres::NoTls)
        .unwrap()
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'kronic'",
            &[&db.name],
        )
        .unwrap()
        .get(0)
}

fn sigterm_leaves_no_kronic_session_behind() {
    let (db, _blocker, child) = blocked_migration(&[]);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(kronic_sessions(&db) > 0, "kronic was not connected");
    let out = signal_and_wait(child, "-TERM");
    assert_interrupted(&out);
    let stopped = Instant::now();
    while kronic_sessions(&db) > 0 {
        assert!(
            stopped.elapsed() < Duration::from_secs(2),
            "a kronic session is left"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The application's next query runs at once.
    let (mut other, _) = app(&db);
    let t = Instant::now();
    other.query_one("SELECT count(*) FROM users", &[]).unwrap();
    assert!(t.elapsed() < Duration::from_millis(500));
    assert_eq!(version(&db), 1);
}

fn no_transaction_migration_builds_an_index_while_the_app_writes() {
    let db = TestDb::populated();
    let set = with_v3(&db);
    write_file(
        &set.join("V4__login_index.sql"),
        "-- kronic:no-transaction\nCREATE INDEX CONCURRENTLY users_last_login_idx ON users (last_login);\n",
    );
    write_file(
        &set.join("V4__login_index.down.sql"),
        "DROP INDEX users_last_login_idx;\n",
    );
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (mut c, _) = app(&db);
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                c.execute(
                    "INSERT INTO users (id, email, password_hash) VALUES (gen_random_uuid(), $1, 'x')",
                    &[&format!("w{n}@example.com")],
                )
                .unwrap();
                n += 1;
            }
            n
        })
    };
    let out = expect(&mut db.migrate_up(&set), 0);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.join().unwrap();
    assert!(written > 0);
    assert!(
        out.stdout.contains("applied 4 login_index"),
        "{}",
        out.stdout
    );
    let valid: bool = db
        .client()
        .query_one(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'users_last_login_idx'::regclass",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(valid);
    expect(
        db.kronic()
            .args(["migrate", "history", "--migrations"])
            .arg(&set),
        0,
    );

    // One that fails halfway leaves its INVALID index, says how to clean, and does not
    // advance the history.
    write_file(
        &set.join("V5__unique_hash.sql"),
        "-- kronic:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY users_hash_uq ON users (password_hash);\n",
    );
    write_file(
        &set.join("V5__unique_hash.down.sql"),
        "DROP INDEX users_hash_uq;\n",
    );
    let out = expect(&mut db.migrate_up(&set), 65);
    assert!(
        out.stderr
            .contains("DROP INDEX CONCURRENTLY IF EXISTS users_hash_uq")
            && out.stderr.contains("stays at version 4"),
        "{}",
        out.stderr
    );
    assert_eq!(version(&db), 4);
}

fn migrations_with_transaction_control_are_refused_before_anything_runs() {
    let db = TestDb::new();
    let set = db.path("m");
    write_file(
        &set.join("V1__half.sql"),
        "CREATE TABLE first_half (a int);\n-- a comment; COMMIT in a comment is fine\nCOMMIT;\nCREATE TABLE second_half (a int);\n",
    );
    write_file(&set.join("V1__half.down.sql"), "DROP TABLE first_half;\n");
    let out = expect(&mut db.migrate_up(&set), 65);
    assert_stderr(&out, "V1__half.sql: line 3: COMMIT");
    let exists: bool = db
        .client()
        .query_one("SELECT to_regclass('first_half') IS NOT NULL", &[])
        .unwrap()
        .get(0);
    assert!(!exists, "something ran");
    // Two statements in a no-transaction migration: refused too.
    write_file(
        &set.join("V1__half.sql"),
        "-- kronic:no-transaction\nCREATE INDEX CONCURRENTLY a ON t (a);\nCREATE INDEX CONCURRENTLY b ON t (b);\n",
    );
    let out = expect(&mut db.migrate_up(&set), 65);
    assert_stderr(&out, "exactly one statement");
}

fn current_exit_code_gates_ci() {
    let db = TestDb::new();
    let out = expect(db.kronic().args(["migrate", "current", "--exit-code"]), 1);
    assert!(out.stdout.contains("1 pending"), "{}", out.stdout);
    expect(db.kronic().args(["migrate", "up"]), 0);
    expect(db.kronic().args(["migrate", "current", "--exit-code"]), 0);
}

fn up_with_backup_names_the_restore_command_on_failure() {
    let db = TestDb::populated();
    let set = with_v3(&db);
    write_file(
        &set.join("V4__broken.sql"),
        "ALTER TABLE no_such_table ADD COLUMN x int;\n",
    );
    write_file(&set.join("V4__broken.down.sql"), "SELECT 1;\n");
    let out = expect(
        db.kronic()
            .args(["migrate", "up", "--backup", "--migrations"])
            .arg(&set),
        65,
    );
    let backups: Vec<_> = std::fs::read_dir(db.backup_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".sql.gz"))
        .collect();
    assert_eq!(backups.len(), 1);
    let path = backups[0].path();
    assert!(
        out.stderr
            .contains(&format!("kronic restore {} --yes", path.display())),
        "{}",
        out.stderr
    );
    // V3 applied before V4 failed; the backup restores the database as it was.
    assert_eq!(version(&db), 3);
    expect(db.kronic().arg("restore").arg(&path).arg("--yes"), 0);
    assert_eq!(version(&db), 1);
}
