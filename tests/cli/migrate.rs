//! `kronic migrate`: up, down, current, history, new, stamp, locking, waiting, failures.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::*;

crate::register!(
    a_migration_from_a_folder_not_set_now_is_named_so,
    up_creates_the_seed_schema,
    up_twice_is_a_no_op,
    targets_down_and_up_again,
    down_off_a_terminal_needs_yes,
    current_and_history_text_and_json,
    new_writes_files_the_next_build_picks_up,
    alembic_database_needs_stamp_then_up_succeeds,
    eight_concurrent_ups_apply_each_migration_once,
    lock_wait_exits_75,
    wait_for_a_server_that_starts_later,
    dry_runs_change_nothing,
    broken_migration_rolls_back_and_names_its_file,
    divergent_checksum_refuses,
    missing_down_script_refuses_before_changing_anything,
);

use kronic::pg::lock_keys::MIGRATE as LOCK_KEY;

/// The built-in migrations plus `extra` files, in a folder for `--migrations`.
fn migration_set(db: &TestDb, extra: &[(&str, &str)]) -> PathBuf {
    let dir = db.path("migrations");
    copy_builtin_migrations(&dir);
    for (name, sql) in extra {
        write_file(&dir.join(name), sql);
    }
    dir
}

const V2: (&str, &str) = (
    "V2__add_audit_log.sql",
    "CREATE TABLE audit_log (id serial PRIMARY KEY, note text);\n",
);
const V2_DOWN: (&str, &str) = ("V2__add_audit_log.down.sql", "DROP TABLE audit_log;\n");
const V3: (&str, &str) = (
    "V3__add_display_name.sql",
    "ALTER TABLE users ADD COLUMN display_name text;\n",
);
const V3_DOWN: (&str, &str) = (
    "V3__add_display_name.down.sql",
    "ALTER TABLE users DROP COLUMN display_name;\n",
);

fn versions(db: &TestDb) -> Vec<i32> {
    let mut c = db.client();
    let exists: bool = c
        .query_one(
            "SELECT to_regclass('refinery_schema_history') IS NOT NULL",
            &[],
        )
        .unwrap()
        .get(0);
    if !exists {
        return vec![];
    }
    c.query(
        "SELECT version FROM refinery_schema_history ORDER BY version",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

fn tables(db: &TestDb) -> Vec<String> {
    db.client()
        .query("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn up_creates_the_seed_schema() {
    let db = TestDb::new();
    let out = expect(db.kronic().args(["migrate", "up"]), 0);
    assert_eq!(out.stdout.trim(), "applied 1 initial_schema");
    assert_no_secret(&out);
    let mut c = db.client();
    let cols: Vec<(String, String, String, Option<i32>, String)> = c
        .query(
            "SELECT table_name::text, column_name::text, data_type::text, character_maximum_length, is_nullable::text \
             FROM information_schema.columns WHERE table_schema = 'public' AND table_name IN ('users','roles','user_roles') \
             ORDER BY table_name, ordinal_position",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect();
    let ts = "timestamp without time zone";
    let want: Vec<(&str, &str, &str, Option<i32>, &str)> = vec![
        ("roles", "id", "integer", None, "NO"),
        ("roles", "name", "character varying", Some(50), "NO"),
        ("roles", "permissions", "json", None, "NO"),
        ("user_roles", "user_id", "uuid", None, "NO"),
        ("user_roles", "role_id", "integer", None, "NO"),
        ("users", "id", "uuid", None, "NO"),
        ("users", "email", "character varying", Some(255), "NO"),
        (
            "users",
            "password_hash",
            "character varying",
            Some(255),
            "NO",
        ),
        ("users", "created_at", ts, None, "NO"),
        ("users", "updated_at", ts, None, "NO"),
        ("users", "is_active", "boolean", None, "NO"),
        ("users", "is_verified", "boolean", None, "NO"),
        ("users", "last_login", ts, None, "YES"),
    ];
    let got: Vec<(&str, &str, &str, Option<i32>, &str)> = cols
        .iter()
        .map(|(a, b, c, d, e)| (a.as_str(), b.as_str(), c.as_str(), *d, e.as_str()))
        .collect();
    assert_eq!(got, want);
    // Unique email and role name; composite key; deleting a user or role removes its links.
    let uniques: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'u' AND conrelid IN ('users'::regclass, 'roles'::regclass)",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(uniques, 2);
    let cascades: i64 = c
        .query_one("SELECT count(*) FROM pg_constraint WHERE conrelid = 'user_roles'::regclass AND contype = 'f' AND confdeltype = 'c'", &[])
        .unwrap()
        .get(0);
    assert_eq!(cascades, 2);
    c.batch_execute(
        "INSERT INTO users (id, email, password_hash) VALUES (gen_random_uuid(), 'a@b.c', 'x'); \
         INSERT INTO roles (name, permissions) VALUES ('r', '{}'); \
         INSERT INTO user_roles SELECT u.id, r.id FROM users u, roles r; DELETE FROM users;",
    )
    .unwrap();
    let links: i64 = c
        .query_one("SELECT count(*) FROM user_roles", &[])
        .unwrap()
        .get(0);
    assert_eq!(links, 0);
}

fn up_twice_is_a_no_op() {
    let db = TestDb::new();
    expect(db.kronic().args(["migrate", "up"]), 0);
    let before = content_checksum(&mut db.client());
    let out = expect(db.kronic().args(["migrate", "up"]), 0);
    assert_eq!(
        out.stdout.trim(),
        "nothing to apply: the database is at version 1 (initial_schema)"
    );
    assert_eq!(content_checksum(&mut db.client()), before);
}

fn targets_down_and_up_again() {
    let db = TestDb::new();
    let set = migration_set(&db, &[V2, V2_DOWN, V3, V3_DOWN]);
    let m = |args: &[&str]| {
        let mut cmd = db.kronic();
        cmd.arg("migrate").arg("--migrations").arg(&set).args(args);
        cmd
    };
    let out = expect(&mut m(&["up", "--target", "2"]), 0);
    assert_eq!(
        out.stdout,
        "applied 1 initial_schema\napplied 2 add_audit_log\n"
    );
    assert_eq!(versions(&db), [1, 2]);
    expect(&mut m(&["up"]), 0);
    assert_eq!(versions(&db), [1, 2, 3]);

    let out = expect(&mut m(&["down", "--yes"]), 0);
    assert_eq!(out.stdout.trim(), "reverted 3 add_display_name");
    assert_eq!(versions(&db), [1, 2]);
    let has_col: bool = db
        .client()
        .query_one("SELECT EXISTS (SELECT FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'display_name')", &[])
        .unwrap()
        .get(0);
    assert!(!has_col);

    expect(&mut m(&["up"]), 0);
    let out = expect(&mut m(&["down", "2", "--yes"]), 0);
    assert_eq!(
        out.stdout,
        "reverted 3 add_display_name\nreverted 2 add_audit_log\n"
    );
    assert_eq!(versions(&db), [1]);
    assert!(!tables(&db).contains(&"audit_log".to_string()));

    // More than applied is refused.
    expect(&mut m(&["down", "5", "--yes"]), 64);
    assert_eq!(versions(&db), [1]);

    expect(&mut m(&["up"]), 0);
    expect(&mut m(&["down", "--target", "0", "--yes"]), 0);
    assert_eq!(versions(&db), Vec::<i32>::new());
    assert_eq!(tables(&db), ["refinery_schema_history"]);

    expect(&mut m(&["up"]), 0);
    assert_eq!(versions(&db), [1, 2, 3]);
}

fn down_off_a_terminal_needs_yes() {
    let db = TestDb::new();
    expect(db.kronic().args(["migrate", "up"]), 0);
    let out = expect(db.kronic().args(["migrate", "down"]), 64);
    assert!(out.stderr.contains("--yes"), "{}", out.stderr);
    assert_eq!(versions(&db), [1]);
    assert!(tables(&db).contains(&"users".to_string()));
}

fn current_and_history_text_and_json() {
    let db = TestDb::new();
    let set = migration_set(&db, &[V2, V2_DOWN]);
    let out = expect(db.kronic().args(["migrate", "current", "--json"]), 0);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(v["version"].is_null());
    assert_eq!(v["pending"], 1);

    expect(db.kronic().args(["migrate", "up"]), 0);
    let out = expect(db.kronic().args(["migrate", "current"]), 0);
    assert!(
        out.stdout.starts_with("1 initial_schema (applied 20"),
        "{}",
        out.stdout
    );
    let out = expect(db.kronic().args(["migrate", "current", "--json"]), 0);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["name"], "initial_schema");
    assert!(v["applied_on"].as_str().unwrap().starts_with("20"));

    // With a set that has V2 pending.
    let out = expect(
        db.kronic()
            .args(["migrate", "--migrations"])
            .arg(&set)
            .args(["history", "--json"]),
        0,
    );
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0]["version"].as_u64(), rows[0]["state"].as_str()),
        (Some(1), Some("applied"))
    );
    assert_eq!(
        (rows[1]["version"].as_u64(), rows[1]["state"].as_str()),
        (Some(2), Some("pending"))
    );
    assert!(rows[1]["applied_on"].is_null());
    let out = expect(
        db.kronic()
            .args(["migrate", "--migrations"])
            .arg(&set)
            .arg("history"),
        0,
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0].contains("VERSION")
            && lines[1].contains("applied")
            && lines[2].contains("pending"),
        "{}",
        out.stdout
    );

    // A migration applied by another kronic, unknown to this one, shows as missing.
    db.client()
        .execute("INSERT INTO refinery_schema_history VALUES (9, 'from_the_future', '2026-01-01T00:00:00Z', '1')", &[])
        .unwrap();
    let out = expect(db.kronic().args(["migrate", "history", "--json"]), 0);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(rows.last().unwrap()["state"], "missing");
    let out = expect(db.kronic().args(["migrate", "up"]), 65);
    assert!(out.stderr.contains("V9__from_the_future"), "{}", out.stderr);
}

fn new_writes_files_the_next_build_picks_up() {
    let db = TestDb::new();
    let set = migration_set(&db, &[]);
    let out = expect(
        kronic_bare()
            .args(["migrate", "new", "Add users.display_name!", "--dir"])
            .arg(&set),
        0,
    );
    let up = set.join("V2__add_users_display_name.sql");
    let down = set.join("V2__add_users_display_name.down.sql");
    assert_eq!(
        out.stdout,
        format!("{}\n{}\n", up.display(), down.display())
    );
    std::fs::write(&up, "ALTER TABLE users ADD COLUMN display_name text;\n").unwrap();
    std::fs::write(&down, "ALTER TABLE users DROP COLUMN display_name;\n").unwrap();
    // An empty folder gets the built-in set first, so that it can be the set
    // (KRONIC_MIGRATIONS_DIR) without a second version 1; the new file shows the safe
    // patterns.
    let fresh = db.path("fresh-migrations");
    let out = expect(
        kronic_bare()
            .args(["migrate", "new", "reconcile", "--dir"])
            .arg(&fresh),
        0,
    );
    assert!(
        out.stdout.contains("V1__initial_schema.sql"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.trim_end().ends_with("V2__reconcile.down.sql"),
        "{}",
        out.stdout
    );
    let template = std::fs::read_to_string(fresh.join("V2__reconcile.sql")).unwrap();
    assert!(template.contains("CREATE INDEX CONCURRENTLY"), "{template}");
    // The same loader the build uses takes them.
    let out = expect(&mut db.migrate_up(&set), 0);
    assert_eq!(
        out.stdout,
        "applied 1 initial_schema\napplied 2 add_users_display_name\n"
    );
    expect(
        db.kronic()
            .args(["migrate", "--migrations"])
            .arg(&set)
            .args(["down", "--yes"]),
        0,
    );
    // Never overwrites; numbering continues.
    let out = expect(
        kronic_bare()
            .args(["migrate", "new", "next one", "--dir"])
            .arg(&set),
        0,
    );
    assert!(out.stdout.contains("V3__next_one.sql"));
}

fn alembic_database_needs_stamp_then_up_succeeds() {
    let db = TestDb::new();
    let set = migration_set(&db, &[V2, V2_DOWN]);
    // What the old Alembic toolchain left: the tables and alembic_version.
    let alembic_schema = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/V1__initial_schema.sql"),
    )
    .unwrap();
    let mut c = db.client();
    c.batch_execute(&alembic_schema).unwrap();
    c.batch_execute(
        "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY); INSERT INTO alembic_version VALUES ('3f2a1b');\
         INSERT INTO users (id, email, password_hash) VALUES (gen_random_uuid(), 'old@example.com', 'x');\
         ALTER TABLE users OWNER TO kronic_app; ALTER TABLE roles OWNER TO kronic_app; ALTER TABLE user_roles OWNER TO kronic_app;",
    )
    .unwrap();
    let before = content_checksum(&mut c);
    let m = |args: &[&str]| {
        let mut cmd = db.kronic();
        cmd.arg("migrate").arg("--migrations").arg(&set).args(args);
        cmd
    };
    let out = expect(&mut m(&["up"]), 65);
    assert_stderr(&out, "kronic migrate stamp");
    assert!(!out.stderr.contains("already exists"), "{}", out.stderr);
    assert_eq!(content_checksum(&mut c), before, "nothing changed");
    assert!(!tables(&db).contains(&"refinery_schema_history".to_string()));

    let out = expect(&mut m(&["stamp", "1"]), 0);
    assert!(out.stdout.contains("stamped version 1"), "{}", out.stdout);
    let out = expect(&mut m(&["up"]), 0);
    assert_eq!(out.stdout.trim(), "applied 2 add_audit_log");
    assert_eq!(versions(&db), [1, 2]);
    let n: i64 = c
        .query_one(
            "SELECT count(*) FROM users WHERE email = 'old@example.com'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(n, 1, "data kept");
    expect(&mut m(&["stamp", "9"]), 64);
}

fn eight_concurrent_ups_apply_each_migration_once() {
    let db = TestDb::new();
    // Not idempotent: a second run of V2 would fail on the existing table.
    let set = migration_set(&db, &[V2, V2_DOWN, V3, V3_DOWN]);
    let children: Vec<_> = (0..8)
        .map(|_| {
            let mut cmd = db.kronic_std();
            cmd.arg("migrate").arg("--migrations").arg(&set).arg("up");
            cmd.stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut applied_lines = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        applied_lines += stdout.lines().filter(|l| l.starts_with("applied")).count();
    }
    assert_eq!(
        applied_lines, 3,
        "each migration applied by exactly one runner"
    );
    assert_eq!(versions(&db), [1, 2, 3]);
}

fn lock_wait_exits_75() {
    let db = TestDb::new();
    let mut holder = db.client();
    holder
        .execute("SELECT pg_advisory_lock($1)", &[&LOCK_KEY])
        .unwrap();
    let started = Instant::now();
    let out = expect(db.kronic().args(["migrate", "--lock-wait", "1", "up"]), 75);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_stderr(&out, "another kronic is migrating");
    assert_eq!(versions(&db), Vec::<i32>::new());
    holder
        .execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY])
        .unwrap();
    expect(db.kronic().args(["migrate", "--lock-wait", "1", "up"]), 0);
}

fn wait_for_a_server_that_starts_later() {
    let c = Cluster::start();
    c.stop_server();
    let mut cmd = kronic_bare_std();
    cmd.env(
        "KRONIC_DATABASE_URL",
        c.superuser_url()
            .replace("/postgres?", "/postgres?connect_timeout=2&"),
    )
    .args(["migrate", "up", "--wait", "60"])
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    std::thread::sleep(Duration::from_secs(3));
    c.start_server();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("not ready yet"), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "applied 1 initial_schema"
    );

    // A deadline that passes is 69; without --wait one refused attempt fails at once.
    c.stop_server();
    let out = expect(
        kronic_bare()
            .env("KRONIC_DATABASE_URL", c.superuser_url())
            .args(["migrate", "up", "--wait", "1"]),
        69,
    );
    assert_stderr(&out, "gave up after waiting 1s");
    c.start_server();
    // Authentication errors do not wait.
    let started = Instant::now();
    let bad = c.superuser_url().replace(&c.superuser_password, "wrong");
    expect(
        kronic_bare()
            .env("KRONIC_DATABASE_URL", bad)
            .args(["migrate", "up", "--wait", "30"]),
        77,
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

fn dry_runs_change_nothing() {
    let db = TestDb::new();
    let out = expect(db.kronic().args(["migrate", "up", "--dry-run"]), 0);
    assert!(
        out.stdout.contains("-- V1__initial_schema") && out.stdout.contains("CREATE TABLE users"),
        "{}",
        out.stdout
    );
    assert!(tables(&db).is_empty(), "{:?}", tables(&db));
    expect(db.kronic().args(["migrate", "up"]), 0);
    let before = content_checksum(&mut db.client());
    let out = expect(db.kronic().args(["migrate", "down", "--dry-run"]), 0);
    let user_roles = out.stdout.find("DROP TABLE user_roles").unwrap();
    let users = out.stdout.find("DROP TABLE users").unwrap();
    assert!(user_roles < users, "in order: {}", out.stdout);
    assert_eq!(versions(&db), [1]);
    assert!(tables(&db).contains(&"users".to_string()));
    assert_eq!(content_checksum(&mut db.client()), before);
}

fn broken_migration_rolls_back_and_names_its_file() {
    let db = TestDb::new();
    let broken = (
        "V2__broken.sql",
        "CREATE TABLE half_done (id int);\n\nSELECT * FROM no_such_table;\n",
    );
    let set = migration_set(&db, &[broken]);
    let out = expect(&mut db.migrate_up(&set), 65);
    assert_eq!(out.stdout.trim(), "applied 1 initial_schema");
    let err = out.stderr.trim();
    assert!(
        err.contains(&set.join("V2__broken.sql").display().to_string()),
        "{err}"
    );
    assert!(
        err.contains("at line 3")
            && err.contains("no_such_table")
            && err.contains("does not exist"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(versions(&db), [1]);
    assert!(
        !tables(&db).contains(&"half_done".to_string()),
        "rolled back"
    );
}

fn divergent_checksum_refuses() {
    let db = TestDb::new();
    let set = migration_set(&db, &[V2, V2_DOWN]);
    expect(&mut db.migrate_up(&set), 0);
    std::fs::write(
        set.join(V2.0),
        "CREATE TABLE audit_log (id bigserial PRIMARY KEY);\n",
    )
    .unwrap();
    write_file(&set.join("V3__more.sql"), "CREATE TABLE more (id int);");
    let out = expect(&mut db.migrate_up(&set), 65);
    assert_stderr(&out, "V2__add_audit_log");
    assert_stderr(&out, "differs");
    assert_eq!(versions(&db), [1, 2]);
    let out = expect(
        db.kronic()
            .arg("migrate")
            .arg("--migrations")
            .arg(&set)
            .args(["history", "--json"]),
        0,
    );
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(rows[1]["state"], "divergent");
}

fn missing_down_script_refuses_before_changing_anything() {
    let db = TestDb::new();
    let set = migration_set(
        &db,
        &[
            V2,
            V2_DOWN,
            ("V3__no_way_back.sql", "CREATE TABLE one_way (id int);"),
        ],
    );
    expect(&mut db.migrate_up(&set), 0);
    let out = expect(
        db.kronic()
            .arg("migrate")
            .arg("--migrations")
            .arg(&set)
            .args(["down", "2", "--yes"]),
        65,
    );
    assert_stderr(&out, "V3__no_way_back");
    assert_stderr(&out, "no down script");
    assert_eq!(versions(&db), [1, 2, 3]);
    assert!(tables(&db).contains(&"audit_log".to_string()));
}

/// A migration applied from a custom folder, checked without it: the message says the
/// folder may be the reason, for check and up alike, and that nothing was migrated.
fn a_migration_from_a_folder_not_set_now_is_named_so() {
    let db = TestDb::new();
    let set = migration_set(&db, &[V2]);
    expect(&mut db.migrate_up(&set), 0);
    for cmd in ["check", "up"] {
        let out = expect(db.kronic().args(["migrate", cmd]), 65);
        assert_stderr(&out, "KRONIC_MIGRATIONS_DIR");
        assert_stderr(&out, "nothing was migrated");
        assert!(!out.stderr.contains("refusing"), "{}", out.stderr);
    }
}
