//! Real application databases restore: what their owner role can restore with psql,
//! kronic restores (materialized views, foreign tables and catalog views in the
//! target, extensions a DBA created, `BEGIN ATOMIC` bodies, quoted names, old-style
//! dumps with large objects), and what a restore must not do it refuses (a superuser's
//! session, a table whose rows row security would hide from the dump).

use crate::support::*;

crate::register!(
    views_materialized_views_and_foreign_tables_in_the_target,
    extensions_the_dba_owns_are_kept_and_missing_ones_created_or_named,
    begin_atomic_bodies_are_stored_not_judged,
    drills_read_quoted_names,
    old_style_dumps_with_large_objects_restore_into_an_empty_database,
    a_failed_create_leaves_no_database_behind,
    a_table_with_forced_row_security_is_not_backed_up_partially,
    superusers_are_refused_unless_allowed,
);

/// Runs `sql` in `db` as the application role (objects it owns).
fn as_app(db: &TestDb, sql: &str) {
    db.client()
        .batch_execute(&format!("SET ROLE {APP_USER}; {sql}"))
        .unwrap();
}

fn views_materialized_views_and_foreign_tables_in_the_target() {
    let db = TestDb::populated();
    db.client()
        .batch_execute(&format!(
            "CREATE EXTENSION postgres_fdw; \
             GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO {APP_USER}"
        ))
        .unwrap();
    as_app(
        &db,
        "CREATE SERVER elsewhere FOREIGN DATA WRAPPER postgres_fdw OPTIONS (dbname 'nowhere'); \
         CREATE MATERIALIZED VIEW user_count AS SELECT count(*) AS n FROM users; \
         CREATE VIEW sessions AS SELECT pid, state FROM pg_stat_activity; \
         CREATE VIEW relations AS SELECT relname FROM pg_class; \
         CREATE FOREIGN TABLE remote_things (a int) SERVER elsewhere",
    );
    let file = db.backed_up(&[]);
    let expected = content_checksum(&mut db.client());
    // In place, over changed data: the up-front lock takes the tables only.
    as_app(
        &db,
        "DELETE FROM user_roles; DELETE FROM users WHERE email LIKE 'user1%'",
    );
    let out = expect(db.kronic().arg("restore").arg(&file).arg("--yes"), 0);
    assert!(out.stdout.contains("Restore completed"), "{}", out.all());
    assert_eq!(content_checksum(&mut db.client()), expected);
    let n: i64 = db
        .client()
        .query_one("SELECT n FROM user_count", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 2001, "the materialized view is restored with its data");
    // A lock the application holds still ends in the usual "unchanged" form when the
    // wait runs out.
    let mut app = db.client();
    app.batch_execute("BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let out = expect(
        db.kronic()
            .args(["restore", "--yes", "--lock-wait", "1"])
            .arg(&file),
        75,
    );
    assert_stderr(&out, "is unchanged");
    app.batch_execute("ROLLBACK").unwrap();
}

fn extensions_the_dba_owns_are_kept_and_missing_ones_created_or_named() {
    let db = TestDb::populated();
    // A DBA's extensions (trusted), one at an older version, used by columns, defaults
    // and indexes of the application's tables.
    db.client()
        .batch_execute(
            "CREATE EXTENSION pgcrypto; CREATE EXTENSION citext; CREATE EXTENSION pg_trgm; \
             CREATE EXTENSION hstore VERSION '1.4'",
        )
        .unwrap();
    as_app(
        &db,
        "CREATE TABLE contacts (id uuid DEFAULT gen_random_uuid() PRIMARY KEY, \
             email citext UNIQUE, attrs hstore, digest bytea); \
         CREATE INDEX contacts_trgm ON contacts USING gin ((email::text) gin_trgm_ops); \
         INSERT INTO contacts (email, attrs, digest) \
             SELECT 'User' || i || '@Example.com', hstore('k', i::text), digest(i::text, 'sha256') \
             FROM generate_series(1, 50) i",
    );
    let file = db.backed_up(&[]);
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(format!("{}.manifest.json", file.display())).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["extensions"]["hstore"], "1.4", "{manifest}");
    let expected = content_checksum(&mut db.client());
    // In place, as the owner role: the extensions are the server's and stay.
    as_app(&db, "DELETE FROM contacts");
    let out = expect(db.kronic().args(["restore", "--latest", "--yes"]), 0);
    assert_stderr(&out, "keeping extension pgcrypto");
    assert_eq!(content_checksum(&mut db.client()), expected);
    // The database's hstore is updated: the backup's older version is named.
    db.client()
        .batch_execute("ALTER EXTENSION hstore UPDATE")
        .unwrap();
    let out = expect(db.kronic().args(["restore", "--latest", "--yes"]), 0);
    assert_stderr(&out, "the backup was made with 1.4");
    // Into a new database: trusted ones are created by the owner role.
    let into_new = |name: &str| {
        let mut cmd = db.kronic();
        cmd.args([
            "restore",
            "--latest",
            "--yes",
            "--create",
            "--target-db",
            name,
        ]);
        cmd
    };
    let fresh = format!("{}_fresh", db.name);
    let out = expect(&mut into_new(&fresh), 0);
    assert_stderr(&out, "created extension citext");
    assert_eq!(content_checksum(&mut connect_db(&fresh)), expected);
    // And the drill, which restores into a database of its own.
    expect(db.kronic().args(["backup", "drill"]), 0);
    // An untrusted extension (postgres_fdw) that a new database lacks: 77, naming the
    // one command a superuser runs, and nothing is left behind.
    db.client()
        .batch_execute("CREATE EXTENSION postgres_fdw")
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    db.backed_up(&[]);
    let other = format!("{}_other", db.name);
    let out = expect(&mut into_new(&other), 77);
    assert_stderr(&out, "extension postgres_fdw is not installed");
    assert_stderr(&out, "CREATE EXTENSION postgres_fdw;");
    assert_stderr(&out, "dropped again");
    assert!(!database_exists(&other));
    let out = expect(db.kronic().args(["backup", "drill"]), 77);
    assert_stderr(&out, "CREATE EXTENSION postgres_fdw;");
    assert!(!database_exists(&format!("{}_drill_scratch", db.name)));
    let mut admin = postgres::Client::connect(&server().admin_url, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!("DROP DATABASE {fresh}"))
        .unwrap();
}

fn begin_atomic_bodies_are_stored_not_judged() {
    let db = TestDb::populated();
    as_app(
        &db,
        "CREATE FUNCTION set_tenant(t text) RETURNS text LANGUAGE sql \
             BEGIN ATOMIC SELECT set_config('app.tenant', t, true); END; \
         CREATE FUNCTION stop(p int) RETURNS boolean LANGUAGE sql \
             BEGIN ATOMIC SELECT pg_cancel_backend(p); END; \
         CREATE FUNCTION nested() RETURNS text LANGUAGE plpgsql AS $outer$ \
             BEGIN RETURN $inner$ a ; b $inner$; END $outer$; \
         CREATE VIEW tenant AS SELECT current_setting('app.tenant', true) AS t",
    );
    let file = db.backed_up(&[]);
    expect(db.kronic().args(["backup", "verify", "--latest"]), 0);
    expect(db.kronic().args(["backup", "drill"]), 0);
    as_app(&db, "DROP FUNCTION set_tenant(text)");
    expect(db.kronic().arg("restore").arg(&file).arg("--yes"), 0);
    let t: String = db
        .client()
        .query_one("SELECT set_tenant('acme')", &[])
        .unwrap()
        .get(0);
    assert_eq!(t, "acme");
    // The same calls at the top level of a file still run, and are still refused.
    let crafted = db.path("crafted.sql");
    let sql = std::fs::read_to_string(&file)
        .ok()
        .unwrap_or_else(|| gunzip_to_string(&file));
    let at = sql
        .find("\n--\n-- PostgreSQL database dump complete")
        .unwrap();
    for call in [
        "SELECT pg_catalog.set_config('app.tenant', 'x', false);",
        "SELECT pg_cancel_backend(1);",
    ] {
        write_file(&crafted, &format!("{}\n{call}\n{}", &sql[..at], &sql[at..]));
        let out = expect(db.kronic().arg("restore").arg(&crafted).arg("--yes"), 65);
        assert_stderr(&out, "refused");
    }
}

fn gunzip_to_string(file: &std::path::Path) -> String {
    let mut sql = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::MultiGzDecoder::new(std::fs::File::open(file).unwrap()),
        &mut sql,
    )
    .unwrap();
    sql
}

fn drills_read_quoted_names() {
    let db = TestDb::populated();
    as_app(
        &db,
        "CREATE TABLE \"Order Items\" (id int CONSTRAINT \"Order Items_pkey\" PRIMARY KEY, \"Qty\" int); \
         CREATE INDEX \"Order Items by qty\" ON \"Order Items\" (\"Qty\"); \
         CREATE TABLE \"ünïcode tæble\" (\"ключ\" text PRIMARY KEY); \
         INSERT INTO \"Order Items\" SELECT i, i FROM generate_series(1, 10) i",
    );
    let file = db.backed_up(&[]);
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(format!("{}.manifest.json", file.display())).unwrap(),
    )
    .unwrap();
    let has = |key: &str, name: &str| manifest[key].as_array().unwrap().iter().any(|n| n == name);
    assert!(has("constraints", "Order Items_pkey"), "{manifest}");
    assert!(has("indexes", "Order Items by qty"), "{manifest}");
    let out = expect(db.kronic().args(["backup", "drill", "--json"]), 0);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["passed"], true, "{report}");
}

fn old_style_dumps_with_large_objects_restore_into_an_empty_database() {
    let src = TestDb::populated();
    as_app(
        &src,
        "CREATE TABLE documents (id int PRIMARY KEY, body oid); \
         INSERT INTO documents VALUES (1, lo_from_bytea(0, 'hello, large object'))",
    );
    // The original backup script's dump: --clean without --if-exists.
    let dump = src.path("old-style.sql");
    let out = run_ok(
        pg_tool("pg_dump", &src.name)
            .args(["--clean", "--no-owner", "--no-privileges", "-f"])
            .arg(&dump),
    );
    assert!(out.status.success());
    let text = std::fs::read_to_string(&dump).unwrap();
    assert!(text.contains("SELECT pg_catalog.lo_unlink('"), "{text}");
    for target in ["empty", "populated"] {
        let db = match target {
            "empty" => TestDb::new(),
            _ => TestDb::populated(),
        };
        expect(db.kronic().arg("restore").arg(&dump).arg("--yes"), 0);
        let body: Vec<u8> = db
            .client()
            .query_one("SELECT lo_get(body) FROM documents WHERE id = 1", &[])
            .unwrap()
            .get(0);
        assert_eq!(body, b"hello, large object", "{target}");
    }
}

fn a_failed_create_leaves_no_database_behind() {
    let db = TestDb::populated();
    let file = db.backed_up(&[]);
    // Cut in half: the restore fails after the database was created.
    let bytes = std::fs::read(&file).unwrap();
    let cut = db.path("cut.sql.gz");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let target = format!("{}_made", db.name);
    let out = expect(
        db.kronic()
            .arg("restore")
            .arg(&cut)
            .args(["--yes", "--create", "--target-db", &target]),
        65,
    );
    assert_stderr(
        &out,
        "was created for this restore and has been dropped again",
    );
    assert!(!database_exists(&target));
}

fn a_table_with_forced_row_security_is_not_backed_up_partially() {
    let db = TestDb::populated();
    as_app(
        &db,
        "CREATE TABLE secrets (tenant text, v text); \
         INSERT INTO secrets VALUES ('a', '1'), ('b', '2'); \
         ALTER TABLE secrets ENABLE ROW LEVEL SECURITY; \
         ALTER TABLE secrets FORCE ROW LEVEL SECURITY; \
         CREATE POLICY only_a ON secrets USING (tenant = 'a')",
    );
    let out = expect(db.kronic().arg("backup"), 77);
    assert_stderr(&out, "secrets");
    assert_stderr(&out, "FORCE ROW LEVEL SECURITY");
    assert_stderr(&out, &format!("ALTER ROLE {APP_USER} BYPASSRLS"));
    assert_eq!(
        out.stderr
            .lines()
            .filter(|l| l.starts_with("kronic: "))
            .count(),
        1,
        "{}",
        out.stderr
    );
    let written: Vec<_> = std::fs::read_dir(db.backup_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("kronic_backup_"))
        .collect();
    assert!(written.is_empty(), "{written:?}");
    // With BYPASSRLS, every row is in the backup.
    db.client()
        .batch_execute(&format!("ALTER ROLE {APP_USER} BYPASSRLS"))
        .unwrap();
    let backed_up = run(db.kronic().arg("backup"));
    db.client()
        .batch_execute(&format!("ALTER ROLE {APP_USER} NOBYPASSRLS"))
        .unwrap();
    assert_eq!(backed_up.code, 0, "{}", backed_up.all());
}

fn superusers_are_refused_unless_allowed() {
    let db = TestDb::populated();
    let file = db.backed_up(&[]);
    let admin: postgres::Config = server().admin_url.parse().unwrap();
    let (user, password) = (
        admin.get_user().unwrap().to_string(),
        String::from_utf8_lossy(admin.get_password().unwrap()).into_owned(),
    );
    as_app(
        &db,
        "INSERT INTO roles (name, permissions) VALUES ('after', '[]')",
    );
    let before = content_checksum(&mut db.client());
    let as_superuser = |args: &[&str]| {
        let mut cmd = db.kronic();
        cmd.env("KRONIC_DATABASE_USER", &user)
            .env("KRONIC_DATABASE_PASSWORD", &password)
            .args(args);
        cmd
    };
    let path = file.to_str().unwrap();
    let out = expect(&mut as_superuser(&["restore", path, "--yes"]), 77);
    assert_stderr(&out, "is a superuser");
    assert_stderr(&out, "--allow-superuser");
    assert_eq!(content_checksum(&mut db.client()), before);
    let out = expect(&mut as_superuser(&["backup", "drill", path]), 77);
    assert_stderr(&out, "is a superuser");
    assert!(!database_exists(&format!("{}_drill_scratch", db.name)));
    // A member of pg_read_server_files, through another role, is refused the same way.
    let power = format!("{}_power", db.name);
    db.client()
        .batch_execute(&format!(
            "CREATE ROLE {power} NOLOGIN IN ROLE pg_read_server_files; GRANT {power} TO {APP_USER}"
        ))
        .unwrap();
    let out = expect(db.kronic().args(["restore", path, "--yes"]), 77);
    assert_stderr(&out, "is a member of pg_read_server_files");
    db.client()
        .batch_execute(&format!(
            "REVOKE {power} FROM {APP_USER}; DROP ROLE {power}"
        ))
        .unwrap();
    // Overridden by the operator, with the flag or the variable.
    expect(
        &mut as_superuser(&["restore", path, "--yes", "--allow-superuser"]),
        0,
    );
    expect(
        as_superuser(&["backup", "drill", path]).env("KRONIC_ALLOW_SUPERUSER", "true"),
        0,
    );
    let out = expect(
        as_superuser(&["backup", "drill", path]).env("KRONIC_ALLOW_SUPERUSER", "maybe"),
        78,
    );
    assert_stderr(&out, "KRONIC_ALLOW_SUPERUSER");
}
