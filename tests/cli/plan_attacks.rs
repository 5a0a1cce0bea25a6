//! `migrate plan` never changes the live database: every attack of the issue, each a
//! pending migration of its own, planned against a live database with rows, a second
//! schema, a sequence, a function, comments and an application session; after each one
//! the live database (schema, rows, sequences, file nodes, role and database settings,
//! ACLs, comments, other databases) is what it was, and the application's session is
//! alive. `migrate up` refuses the hidden COMMIT before anything runs.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::*;

crate::register!(
    plan_attacks_leave_the_live_database_as_it_was,
    plan_reports_what_cannot_be_measured_and_cluster_wide_migrations,
    plan_json_on_failure_says_failed_with_what_was_measured,
    plan_holds_a_lock_across_a_later_slow_statement,
    a_commit_hidden_behind_a_carriage_return_is_refused_before_anything_runs,
    an_abandoned_plan_database_is_dropped,
);

const V1: &str = "CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL);\n\
                  CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int REFERENCES customers, total int);\n\
                  CREATE SCHEMA billing;\n\
                  CREATE TABLE billing.invoices (id int PRIMARY KEY, amount int);\n\
                  CREATE FUNCTION public.answer() RETURNS int LANGUAGE sql AS 'SELECT 42';\n\
                  COMMENT ON TABLE orders IS 'the orders';\n\
                  UPDATE customers SET name = name || '!';\n";

/// A live database at V1 with rows, and an empty folder for one pending migration.
fn live() -> (TestDb, PathBuf) {
    let db = TestDb::new();
    let dir = db.path("migrations");
    write_file(&dir.join("V1__tables.sql"), V1);
    expect(&mut db.migrate_up(&dir), 0);
    db.client()
        .batch_execute(
            "INSERT INTO customers (name) SELECT 'c' || i FROM generate_series(1, 2000) i; \
             INSERT INTO orders SELECT i, 1 + i % 2000, i FROM generate_series(1, 20000) i; \
             INSERT INTO billing.invoices SELECT i, i FROM generate_series(1, 100) i; ANALYZE",
        )
        .unwrap();
    (db, dir)
}

/// `migrate plan --json` with `sql` as the one pending migration.
fn plan(db: &TestDb, dir: &Path, sql: &str, code: i32) -> Output {
    plan_with(db, dir, sql, &["--json", "--max-rewrite", "1GB"], code)
}

/// `migrate plan ARGS` with `sql` as the one pending migration.
fn plan_with(db: &TestDb, dir: &Path, sql: &str, args: &[&str], code: i32) -> Output {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if !p.ends_with("V1__tables.sql") {
            std::fs::remove_file(p).unwrap();
        }
    }
    write_file(&dir.join("V2__attack.sql"), sql);
    let mut cmd = db.kronic();
    cmd.args(["migrate", "--migrations"])
        .arg(dir)
        .arg("plan")
        .args(args);
    expect(&mut cmd, code)
}

/// Everything the issue compares, as text.
fn fingerprint(db: &TestDb) -> String {
    let out = run_ok(db.server.tool("pg_dump", &db.name).arg("--schema-only"));
    let schema: String = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut c = db.client();
    let mut parts = vec![schema, content_checksum(&mut c)];
    for q in [
        "SELECT string_agg(id || ':' || amount, ',' ORDER BY id) FROM billing.invoices",
        "SELECT string_agg(sequencename || '=' || coalesce(last_value, 0), ',' ORDER BY 1) FROM pg_sequences",
        "SELECT string_agg(c.relname || '=' || pg_relation_filenode(c.oid), ',' ORDER BY 1) FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('public', 'billing')",
        // Shared catalogs, as far as this database and kronic's role go (other tests
        // create roles and databases meanwhile).
        "SELECT string_agg(setdatabase || '/' || setrole || '=' || array_to_string(setconfig, ';'), ',' ORDER BY 1) \
         FROM pg_db_role_setting WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database()) \
            OR setrole = (SELECT oid FROM pg_roles WHERE rolname = 'kronic_app')",
        "SELECT string_agg(datname || '=' || coalesce(datacl::text, '') || coalesce(shobj_description(oid, 'pg_database'), ''), ',' ORDER BY 1) \
         FROM pg_database WHERE datname IN ('postgres', 'template0', 'template1') OR datname = current_database()",
        "SELECT string_agg(rolname || '=' || coalesce(array_to_string(rolconfig, ';'), ''), ',' ORDER BY 1) FROM pg_roles \
         WHERE rolname = 'kronic_app' OR rolname LIKE 'pg\\_%'",
        "SELECT string_agg(nspname || '=' || coalesce(nspacl::text, '') || coalesce(obj_description(oid, 'pg_namespace'), ''), ',' ORDER BY 1) \
         FROM pg_namespace",
    ] {
        let v: Option<String> = c.query_one(q, &[]).unwrap().get(0);
        parts.push(v.unwrap_or_default());
    }
    parts.join("\n---\n")
}

fn plan_attacks_leave_the_live_database_as_it_was() {
    let (db, dir) = live();
    // Another database on the server, which a hidden DROP DATABASE aimed at.
    let other = TestDb::new();
    let before = fingerprint(&db);
    // The application, connected throughout as kronic's own role (which can signal it).
    let mut app = postgres::Config::new()
        .host(&db.server.host)
        .port(db.server.port)
        .dbname(&db.name)
        .user(APP_USER)
        .password(APP_PASSWORD)
        .connect(postgres::NoTls)
        .unwrap();
    let attacks: &[(&str, i32)] = &[
        ("DROP SCHEMA public CASCADE;\n", 0),
        ("SET search_path = public;\nDROP TABLE orders;\n", 0),
        (
            "DO $$ BEGIN EXECUTE 'DROP TABLE pub' || 'lic.orders'; END $$;\n",
            0,
        ),
        ("DROP TABLE billing.invoices;\n", 0),
        ("SELECT setval('public.customers_id_seq', 1);\n", 0),
        (
            "CREATE OR REPLACE FUNCTION public.answer() RETURNS int LANGUAGE sql AS 'SELECT 7';\n",
            0,
        ),
        ("GRANT ALL ON ALL TABLES IN SCHEMA public TO PUBLIC;\n", 0),
        ("ALTER SCHEMA public RENAME TO gone;\n", 0),
        ("COMMENT ON SCHEMA public IS 'changed';\n", 0),
        ("UPDATE public.customers SET name = name || '!';\n", 0),
        ("CREATE INDEX orders_total ON public.orders (total);\n", 0),
        (
            "SET search_path = public;\nALTER TABLE orders ALTER COLUMN total TYPE bigint;\n",
            0,
        ),
        (
            "ALTER TABLE U&\"\\0070ublic\".orders ADD COLUMN x int;\n",
            0,
        ),
        (
            "TRUNCATE orders CASCADE;\nDELETE FROM billing.invoices;\n",
            0,
        ),
        (
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid();\n",
            65,
        ),
        (
            "SELECT \"pg_terminate_backend\"(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid();\n",
            65,
        ),
        (
            "SELECT U&\"\\0070g_terminate_backend\"(pid) FROM pg_stat_activity;\n",
            65,
        ),
        (
            "DO $$ BEGIN PERFORM pg_cancel_backend(pid) FROM pg_stat_activity; END $$;\n",
            65,
        ),
        ("SELECT 1; -- note\rCOMMIT;\nDELETE FROM orders;\n", 65),
        (
            &format!(
                "SELECT 1; -- note\rCOMMIT;\nDROP DATABASE {};\n",
                other.name
            ),
            65,
        ),
    ];
    for (sql, code) in attacks {
        let out = plan(&db, &dir, sql, *code);
        let report: Value = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("{sql}: {e}: {}", out.stdout));
        assert_eq!(report["failed"], *code != 0, "{sql}: {}", out.stdout);
        assert_eq!(
            fingerprint(&db),
            before,
            "plan changed the live database: {sql}"
        );
        app.query_one("SELECT 1", &[])
            .unwrap_or_else(|e| panic!("the application's session died with {sql}: {e}"));
    }
    // Shared catalogs: role and database settings, database grants and comments. The
    // migration is measured, never committed.
    let cluster = format!(
        "ALTER ROLE {APP_USER} SET statement_timeout = '1ms';\n\
         ALTER DATABASE {db} SET work_mem = '1MB';\n\
         GRANT ALL ON DATABASE {db} TO PUBLIC;\n\
         COMMENT ON DATABASE {db} IS 'changed';\n\
         GRANT SELECT ON orders TO PUBLIC;\n",
        db = db.name
    );
    plan(&db, &dir, &cluster, 0);
    assert!(fingerprint(&db) == before, "plan changed the cluster");
    assert!(database_exists(&other.name));
    // kronic can still connect: its role got no 1 ms statement timeout.
    expect(db.kronic().args(["migrate", "current"]), 0);
    // No scratch database is left (other tests' plans may be running meanwhile, with a
    // session in theirs; the sweep test's own fixtures come and go).
    let left: Vec<String> = db
        .client()
        .query(
            "SELECT datname::text FROM pg_database d WHERE datname LIKE 'kronic\\_plan\\_%' \
               AND datname NOT IN ('kronic_plan_999999', 'kronic_plan_999998', 'kronic_plan_999997') \
               AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

fn plan_reports_what_cannot_be_measured_and_cluster_wide_migrations() {
    let (db, dir) = live();
    let out = plan(
        &db,
        &dir,
        "VACUUM FULL orders;\nCREATE DATABASE kronic_plan_never;\nALTER TABLE orders ADD COLUMN note text;\n",
        0,
    );
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    let steps = report["statements"].as_array().unwrap();
    assert_eq!(steps.len(), 3, "{report:#}");
    for s in &steps[..2] {
        assert!(
            s["not_measured"]
                .as_str()
                .is_some_and(|w| w.contains("cannot run inside a transaction")),
            "{s:#}"
        );
    }
    assert!(steps[2]["not_measured"].is_null());
    // VACUUM FULL is flagged all the same: a rewrite of orders under ACCESS EXCLUSIVE.
    assert_eq!(steps[0]["rewrites"][0], "orders", "{report:#}");
    assert_eq!(steps[0]["blocks"], "reads and writes");
    let out = plan_with(
        &db,
        &dir,
        "VACUUM FULL orders;\n",
        &["--max-rewrite", "10kB"],
        4,
    );
    assert!(out.stdout.contains("dangerous"), "{}", out.stdout);
    assert!(!database_exists("kronic_plan_never"));
    // A migration changing its role's settings is measured, and the next one inside
    // its transaction, never committed.
    write_file(
        &dir.join("V2__role.sql"),
        &format!(
            "ALTER ROLE {APP_USER} SET work_mem = '2MB';\nGRANT SELECT ON orders TO PUBLIC;\n"
        ),
    );
    write_file(
        &dir.join("V3__after.sql"),
        "ALTER TABLE orders ADD COLUMN seen boolean;\n",
    );
    std::fs::remove_file(dir.join("V2__attack.sql")).unwrap();
    let mut cmd = db.kronic();
    cmd.args(["migrate", "--migrations"])
        .arg(&dir)
        .args(["plan", "--json"]);
    let report: Value = serde_json::from_str(&expect(&mut cmd, 0).stdout).unwrap();
    let steps = report["statements"].as_array().unwrap();
    assert_eq!(steps.len(), 3, "{report:#}");
    assert!(
        steps[2]["note"]
            .as_str()
            .is_some_and(|n| n.contains("V2__role")),
        "{report:#}"
    );
    let settings: i64 = db
        .client()
        .query_one("SELECT count(*) FROM pg_db_role_setting", &[])
        .unwrap()
        .get(0);
    assert_eq!(settings, 0, "the plan changed a role's settings");
}

fn plan_json_on_failure_says_failed_with_what_was_measured() {
    let (db, dir) = live();
    let out = plan(
        &db,
        &dir,
        "ALTER TABLE orders ADD COLUMN a int;\nALTER TABLE orders ADD COLUMN a int;\n",
        65,
    );
    assert_stderr(&out, "V2__attack.sql line 2 fails on a copy of the schema");
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["failed"], true);
    assert_eq!(report["statements"].as_array().unwrap().len(), 1);
    assert_eq!(report["failure"]["line"], 2);
    assert_eq!(report["failure"]["sqlstate"], "42701");
    assert!(
        report["failure"]["message"]
            .as_str()
            .unwrap()
            .contains("already exists")
    );
}

fn plan_holds_a_lock_across_a_later_slow_statement() {
    let (db, dir) = live();
    // customers is small and its ACCESS EXCLUSIVE is quick, but it is held while the
    // big orders table is indexed: the outage is the index build's.
    let out = plan(
        &db,
        &dir,
        "ALTER TABLE customers ADD COLUMN vip boolean;\nCREATE INDEX orders_total ON orders (total);\n",
        0,
    );
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    let hold = report["holds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["table"] == "customers")
        .unwrap_or_else(|| panic!("{report:#}"))
        .clone();
    assert_eq!(hold["mode"], "AccessExclusiveLock");
    assert_eq!(hold["line"], 1);
    assert_eq!(hold["statements"], 2);
    assert!(
        hold["bytes_meanwhile"].as_u64().unwrap() > 100_000,
        "{hold:#}"
    );
    // Under a small limit the hold is what fails the plan.
    let mut cmd = db.kronic();
    cmd.args(["migrate", "--migrations"])
        .arg(&dir)
        .args(["plan", "--max-rewrite", "10kB"]);
    let out = expect(&mut cmd, 4);
    assert!(
        out.stdout
            .contains("holds ACCESS EXCLUSIVE on customers until COMMIT: 2 statement(s)"),
        "{}",
        out.stdout
    );
    // A backfill UPDATE locks the rows it changes.
    let report: Value =
        serde_json::from_str(&plan(&db, &dir, "UPDATE orders SET total = total + 1;\n", 0).stdout)
            .unwrap();
    let step = &report["statements"][0];
    assert_eq!(step["row_locks"][0], "orders", "{step:#}");
    assert_eq!(step["blocks"], "writes to the rows it changes");
    // A materialized view's refresh takes ACCESS EXCLUSIVE on it.
    db.client()
        .batch_execute("CREATE MATERIALIZED VIEW totals AS SELECT customer_id, sum(total) FROM orders GROUP BY 1")
        .unwrap();
    let report: Value =
        serde_json::from_str(&plan(&db, &dir, "REFRESH MATERIALIZED VIEW totals;\n", 0).stdout)
            .unwrap();
    let step = &report["statements"][0];
    assert!(
        step["locks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["relation"] == "totals" && l["mode"] == "AccessExclusiveLock"),
        "{step:#}"
    );
}

fn a_commit_hidden_behind_a_carriage_return_is_refused_before_anything_runs() {
    let (db, dir) = live();
    let before = fingerprint(&db);
    write_file(
        &dir.join("V2__hidden.sql"),
        "ALTER TABLE orders ADD COLUMN smuggled int; -- note\rCOMMIT;\nSELECT 1/0;\n",
    );
    for lint in ["off", "warn", "deny"] {
        let mut cmd = db.kronic();
        cmd.args(["migrate", "--migrations"])
            .arg(&dir)
            .args(["up", "--lint", lint]);
        let out = expect(&mut cmd, 65);
        assert_stderr(&out, "COMMIT: a migration must not control its transaction");
        assert!(
            fingerprint(&db) == before,
            "--lint {lint} changed the database"
        );
    }
}

fn an_abandoned_plan_database_is_dropped() {
    let (db, dir) = live();
    // What a plan killed with SIGKILL leaves: its scratch database, marked as kronic's,
    // nobody connected. Beside it, an application's database that only shares the name.
    let mut admin = db.client();
    for name in [
        "kronic_plan_999999",
        "kronic_plan_999998",
        "kronic_plan_999997",
    ] {
        admin
            .batch_execute(&format!("CREATE DATABASE {name} OWNER {APP_USER}"))
            .unwrap();
    }
    for name in ["kronic_plan_999999", "kronic_plan_999997"] {
        admin
            .batch_execute(&format!(
                "COMMENT ON DATABASE {name} IS 'kronic migrate plan scratch: dropped when the plan ends'"
            ))
            .unwrap();
    }
    // 999997 is a plan that is running: it holds its lock, before it has connected; on
    // the maintenance database, where plans against any database look for it.
    let mut running = db.server.connect("postgres");
    running
        .query(
            "SELECT pg_advisory_lock($1, 999997)",
            &[&kronic::pg::lock_keys::PLAN_SCRATCH],
        )
        .unwrap();
    plan(&db, &dir, "ALTER TABLE orders ADD COLUMN y int;\n", 0);
    assert!(!database_exists("kronic_plan_999999"));
    assert!(
        database_exists("kronic_plan_999998"),
        "a database without kronic's mark was dropped"
    );
    assert!(
        database_exists("kronic_plan_999997"),
        "a running plan's database was dropped"
    );
    drop(running);
    for name in ["kronic_plan_999998", "kronic_plan_999997"] {
        admin
            .batch_execute(&format!("DROP DATABASE {name}"))
            .unwrap();
    }
}
