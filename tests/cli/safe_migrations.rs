//! Safe migrations in CI: `migrate lint` (squawk's rules) and `migrate plan` (the locks,
//! rewrites and scans each pending statement really takes, measured on a copy), and the
//! lint gate of `migrate up`. The outage examples of the issue, each in a migration of
//! its own, and the controls that must not be flagged, against the real server.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::*;

crate::register!(
    lint_names_file_line_and_rule_of_each_example_and_spares_the_controls,
    lint_follows_the_server_version_and_pg_version,
    plan_measures_locks_rewrites_and_scans_on_15,
    plan_measures_locks_rewrites_and_scans_on_18,
    plan_leaves_the_database_as_it_was_and_never_blocks_the_application,
    plan_behind_an_exclusive_lock_gives_up_and_leaves_nothing,
    waivers_need_a_reason_and_squawk_ignore_is_honoured,
    github_and_gitlab_formats_are_valid,
    up_lint_deny_refuses_with_nothing_applied,
    the_readme_ci_jobs_run_as_written,
);

/// The schema the examples change, with data to rewrite and scan.
const V1: &str = "CREATE TABLE accounts (id bigint PRIMARY KEY, n int NOT NULL, email text);\n\
                  CREATE TABLE orders (id bigint PRIMARY KEY, account_id bigint, total int);\n";

/// The issue's outage examples.
const EXAMPLES: &[(&str, &str)] = &[
    (
        "V2__widen.sql",
        "ALTER TABLE accounts ALTER COLUMN n TYPE bigint;\n",
    ),
    (
        "V3__index.sql",
        "CREATE INDEX orders_account ON orders (account_id);\n",
    ),
    (
        "V4__constraints.sql",
        "ALTER TABLE orders ADD CONSTRAINT orders_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id);\n\
         ALTER TABLE orders ADD CONSTRAINT total_positive CHECK (total > 0);\n",
    ),
    (
        "V5__not_null.sql",
        "ALTER TABLE orders ALTER COLUMN total SET NOT NULL;\n",
    ),
    (
        "V6__token.sql",
        "ALTER TABLE accounts ADD COLUMN token uuid DEFAULT gen_random_uuid();\n",
    ),
];

/// What must not be flagged: a constant default, an index built concurrently outside a
/// transaction, a constraint added NOT VALID and validated in a later migration.
const CONTROLS: &[(&str, &str)] = &[
    (
        "V7__flag.sql",
        "ALTER TABLE accounts ADD COLUMN flag boolean DEFAULT false;\n",
    ),
    (
        "V8__index_concurrently.sql",
        "-- kronic:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS orders_total ON orders (total);\n",
    ),
    (
        "V9__check_not_valid.sql",
        "ALTER TABLE accounts ADD CONSTRAINT n_positive CHECK (n > 0) NOT VALID;\n",
    ),
    (
        "V10__validate.sql",
        "ALTER TABLE accounts VALIDATE CONSTRAINT n_positive;\n",
    ),
];

/// A database at V1 with 20,000 rows in each table, and `pending` in its folder.
fn at_v1(server: &'static Server, pending: &[(&str, &str)]) -> (TestDb, PathBuf) {
    let db = TestDb::on(server);
    let dir = db.path("migrations");
    write_file(&dir.join("V1__tables.sql"), V1);
    expect(&mut db.migrate_up(&dir), 0);
    db.client()
        .batch_execute(
            "INSERT INTO accounts SELECT i, i, 'user' || i || '@example.com' FROM generate_series(1, 20000) i; \
             INSERT INTO orders SELECT i, i, i FROM generate_series(1, 20000) i; ANALYZE",
        )
        .unwrap();
    for (name, sql) in pending {
        write_file(&dir.join(name), sql);
    }
    (db, dir)
}

fn migrate(db: &TestDb, dir: &Path, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = db.kronic();
    cmd.args(["migrate", "--migrations"]).arg(dir).args(args);
    cmd
}

fn json(out: &Output) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

/// (file name, line, rule) of the findings that fail.
fn errors(report: &Value) -> Vec<(String, u64, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error" && f["waived"].is_null())
        .map(|f| {
            let file = f["file"].as_str().unwrap();
            let name = Path::new(file).file_name().unwrap().to_str().unwrap();
            (
                name.to_string(),
                f["line"].as_u64().unwrap(),
                f["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn all_pending() -> Vec<(&'static str, &'static str)> {
    EXAMPLES.iter().chain(CONTROLS).copied().collect()
}

fn lint_names_file_line_and_rule_of_each_example_and_spares_the_controls() {
    let (db, dir) = at_v1(server(), &all_pending());
    // The pending migrations, rules for the server's version (read from it).
    let out = expect(&mut migrate(&db, &dir, &["lint", "--json"]), 4);
    let report = json(&out);
    assert_eq!(report["pg_version"], 15);
    assert_eq!(report["migrations"], 9, "V1 is applied, not linted");
    let found = errors(&report);
    for expected in [
        ("V2__widen.sql", 1, "changing-column-type"),
        ("V3__index.sql", 1, "require-concurrent-index-creation"),
        ("V4__constraints.sql", 1, "adding-foreign-key-constraint"),
        ("V4__constraints.sql", 2, "constraint-missing-not-valid"),
        ("V5__not_null.sql", 1, "adding-not-nullable-field"),
        ("V6__token.sql", 1, "adding-field-with-default"),
    ] {
        assert!(
            found
                .iter()
                .any(|(f, l, r)| (f.as_str(), *l, r.as_str()) == expected),
            "{expected:?} not in {found:?}"
        );
    }
    for (control, _) in CONTROLS {
        assert!(
            !found.iter().any(|(f, _, _)| f == control),
            "{control} flagged: {found:?}"
        );
    }
    // Each finding says what to write instead.
    let text = expect(&mut migrate(&db, &dir, &["lint"]), 4);
    assert!(
        text.stdout
            .contains("V3__index.sql:1:1: error require-concurrent-index-creation: ")
            && text.stdout.contains("safe: CREATE INDEX CONCURRENTLY"),
        "{}",
        text.stdout
    );
    // The controls alone are clean: exit 0.
    let files: Vec<PathBuf> = CONTROLS.iter().map(|(n, _)| dir.join(n)).collect();
    let out = expect(migrate(&db, &dir, &["lint", "--json"]).args(&files), 0);
    assert!(errors(&json(&out)).is_empty());
}

fn lint_follows_the_server_version_and_pg_version() {
    let constant_default = db_free_file("V2__flag.sql", CONTROLS[0].1);
    // PostgreSQL 10 rewrote the table for any default; 11 and later do not.
    let out = expect(
        kronic_bare()
            .args(["migrate", "lint", "--json", "--pg-version", "10"])
            .arg(&constant_default.1),
        4,
    );
    assert_eq!(errors(&json(&out))[0].2, "adding-field-with-default");
    let out = expect(
        kronic_bare()
            .args(["migrate", "lint", "--json", "--pg-version", "16.4"])
            .arg(&constant_default.1),
        0,
    );
    assert_eq!(json(&out)["pg_version"], 16);
    // Without --pg-version it asks the server: none here, so it says how to go without.
    let out = expect(
        kronic_bare()
            .env("KRONIC_DATABASE_PORT", silent_port_refused().to_string())
            .args(["migrate", "lint", "--all"]),
        69,
    );
    assert!(out.stderr.contains("connection refused"), "{}", out.stderr);
    expect(
        kronic_bare().args(["migrate", "lint", "--pg-version", "x9"]),
        64,
    );
    // A file that does not exist is named.
    let out = expect(
        kronic_bare().args(["migrate", "lint", "--pg-version", "15", "nope/V1__x.sql"]),
        66,
    );
    assert_stderr(&out, "nope/V1__x.sql");
}

/// A migration file outside any database's folder.
fn db_free_file(name: &str, sql: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    write_file(&path, sql);
    (dir, path)
}

/// A local port nothing listens on.
fn silent_port_refused() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// The plan's statement of `migration` at `line`.
fn step<'a>(plan: &'a Value, migration: &str, line: u64) -> &'a Value {
    plan["statements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["migration"] == migration && s["line"] == line)
        .unwrap_or_else(|| panic!("no step {migration}:{line} in {plan:#}"))
}

#[track_caller]
fn took(step: &Value, relation: &str, mode: &str) {
    assert!(
        step["locks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["relation"] == relation && l["mode"] == mode),
        "no {mode} on {relation}: {step:#}"
    );
}

fn has(step: &Value, field: &str, relation: &str) -> bool {
    step[field]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r == relation)
}

/// The issue's outage examples as the plan must measure them, one a line: the step
/// (migration:line), the locks it takes (relation=mode, comma-separated), whether it
/// rewrites or scans, which table, and what that blocks.
const MEASURED: &[&str] = &[
    "V2__widen:1 | accounts=AccessExclusiveLock | rewrites | accounts | reads and writes",
    "V3__index:1 | orders=ShareLock | scans | orders | writes",
    "V4__constraints:1 | orders=ShareRowExclusiveLock,accounts=ShareRowExclusiveLock | scans | orders | writes",
    "V4__constraints:2 | orders=AccessExclusiveLock | scans | orders | reads and writes",
    "V5__not_null:1 | orders=AccessExclusiveLock | scans | orders | reads and writes",
    "V6__token:1 | accounts=AccessExclusiveLock | rewrites | accounts | reads and writes",
];

fn plan_measures_locks_rewrites_and_scans(server: &'static Server) {
    let (db, dir) = at_v1(server, &all_pending());
    let out = expect(
        &mut migrate(&db, &dir, &["plan", "--json", "--max-rewrite", "100kB"]),
        4,
    );
    let plan = json(&out);
    assert_eq!(plan["max_rewrite_bytes"], 100_000);

    for row in MEASURED {
        let f: Vec<&str> = row.split(" | ").collect();
        let (migration, line) = f[0].split_once(':').unwrap();
        let s = step(&plan, migration, line.parse().unwrap());
        for lock in f[1].split(',') {
            let (relation, mode) = lock.split_once('=').unwrap();
            took(s, relation, mode);
        }
        let (what, table, blocks) = (f[2], f[3], f[4]);
        assert!(has(s, what, table), "{what} {table}: {s:#}");
        assert_eq!(s["blocks"], blocks, "{s:#}");
        assert!(s["table_bytes"].as_u64().unwrap() > 100_000, "{s:#}");
        assert_eq!(s["dangerous"], true, "{s:#}");
    }
    // An index build reads the table; it does not rewrite it.
    assert!(!has(step(&plan, "V3__index", 1), "rewrites", "orders"));

    // The controls: catalog-only, concurrent, or a lock that blocks nobody.
    let flag = step(&plan, "V7__flag", 1);
    took(flag, "accounts", "AccessExclusiveLock");
    assert!(flag["rewrites"].as_array().unwrap().is_empty(), "{flag:#}");
    assert!(flag["scans"].as_array().unwrap().is_empty(), "{flag:#}");
    assert_eq!(flag["dangerous"], false);
    let concurrently = step(&plan, "V8__index_concurrently", 2);
    took(concurrently, "orders", "ShareUpdateExclusiveLock");
    assert_eq!(concurrently["dangerous"], false);
    assert_eq!(step(&plan, "V9__check_not_valid", 1)["dangerous"], false);
    assert!(
        step(&plan, "V9__check_not_valid", 1)["scans"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let validate = step(&plan, "V10__validate", 1);
    took(validate, "accounts", "ShareUpdateExclusiveLock");
    assert!(has(validate, "scans", "accounts"), "{validate:#}");
    assert!(validate["blocks"].is_null(), "{validate:#}");
    assert_eq!(validate["dangerous"], false);
    // V4's foreign key holds SHARE ROW EXCLUSIVE on accounts (blocking its writes)
    // while the next statement scans orders: the hold is dangerous too.
    let held = plan["holds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["migration"] == "V4__constraints" && h["table"] == "accounts")
        .unwrap_or_else(|| panic!("{plan:#}"));
    assert_eq!(held["mode"], "ShareRowExclusiveLock");
    assert_eq!(held["statements"], 2);
    assert_eq!(held["dangerous"], true);
    assert_eq!(plan["dangerous"], 7);

    // Text: the dangerous ones first, then a line per statement.
    let out = expect(
        &mut migrate(&db, &dir, &["plan", "--max-rewrite", "100kB"]),
        4,
    );
    let first = out.stdout.lines().next().unwrap();
    assert!(first.starts_with("dangerous:"), "{}", out.stdout);
    assert!(
        out.stdout.contains(
            "ALTER TABLE accounts ALTER COLUMN n TYPE bigint;  ACCESS EXCLUSIVE on accounts"
        ),
        "{}",
        out.stdout
    );
    // Over a bigger limit nothing is dangerous: exit 0.
    expect(
        &mut migrate(&db, &dir, &["plan", "--max-rewrite", "1GB"]),
        0,
    );
}

fn plan_measures_locks_rewrites_and_scans_on_15() {
    plan_measures_locks_rewrites_and_scans(server());
}

fn plan_measures_locks_rewrites_and_scans_on_18() {
    plan_measures_locks_rewrites_and_scans(server_of(18));
}

/// The schema as pg_dump prints it, every relation's file node, and the schemas.
fn fingerprint(db: &TestDb) -> (String, Vec<(String, u32)>, Vec<String>) {
    let out = run_ok(db.server.tool("pg_dump", &db.name).arg("--schema-only"));
    let mut c = db.client();
    let files = c
        .query(
            "SELECT c.relname::text, pg_relation_filenode(c.oid) FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get::<_, Option<u32>>(1).unwrap_or(0)))
        .collect();
    let schemas = c
        .query("SELECT nspname::text FROM pg_namespace ORDER BY 1", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    // Without pg_dump's random \restrict key, which differs on every run.
    let schema = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
        .collect::<Vec<_>>()
        .join("\n");
    (schema, files, schemas)
}

fn plan_leaves_the_database_as_it_was_and_never_blocks_the_application() {
    let (db, dir) = at_v1(server(), &all_pending());
    let before = fingerprint(&db);
    // The application, mid-transaction, holding its row locks on both tables.
    let mut app = db.client();
    let mut tx = app.transaction().unwrap();
    tx.batch_execute(
        "SET LOCAL lock_timeout = '5s'; UPDATE accounts SET email = email WHERE id < 100; \
         UPDATE orders SET total = total WHERE id < 100",
    )
    .unwrap();
    let started = std::time::Instant::now();
    let out = expect(
        &mut migrate(&db, &dir, &["plan", "--json", "--max-rewrite", "100kB"]),
        4,
    );
    assert_eq!(json(&out)["statements"].as_array().unwrap().len(), 10);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "the plan waited"
    );
    // And the application goes on writing, unblocked, while the plan is done.
    tx.batch_execute("UPDATE accounts SET n = n WHERE id = 1")
        .unwrap();
    tx.commit().unwrap();
    drop(app);
    assert_eq!(fingerprint(&db), before);
    // Nothing applied either.
    let out = expect(&mut migrate(&db, &dir, &["current", "--json"]), 0);
    assert_eq!(json(&out)["pending"], 9);
}

/// Someone holds ACCESS EXCLUSIVE on a live table (another migration running): the
/// plan's size query would wait for it, and the plan must not queue in front of the
/// application behind it. It gives up within its lock timeout, 75, nothing left behind.
fn plan_behind_an_exclusive_lock_gives_up_and_leaves_nothing() {
    let (db, dir) = at_v1(server(), &all_pending());
    let before = fingerprint(&db);
    let mut other = db.client();
    let mut tx = other.transaction().unwrap();
    tx.batch_execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let started = std::time::Instant::now();
    let out = expect(&mut migrate(&db, &dir, &["plan"]), 75);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "the plan queued behind the lock"
    );
    assert_stderr(&out, "lock");
    assert!(out.stderr.lines().count() <= 2, "{}", out.stderr);
    tx.rollback().unwrap();
    drop(other);
    assert_eq!(fingerprint(&db), before);
}

fn waivers_need_a_reason_and_squawk_ignore_is_honoured() {
    let (db, dir) = at_v1(
        server(),
        &[
            (
                "V2__small_index.sql",
                "-- accounts stays small (a lookup table)\n\
                 -- kronic:allow require-concurrent-index-creation 20k rows, indexed in 30 ms\n\
                 -- kronic:allow blocking-rewrite measured: well under a second\n\
                 CREATE INDEX accounts_email ON accounts (email);\n",
            ),
            (
                "V3__squawk_style.sql",
                "-- squawk-ignore require-concurrent-index-creation\nCREATE INDEX orders_total ON orders (total);\n",
            ),
        ],
    );
    let out = expect(&mut migrate(&db, &dir, &["lint", "--json"]), 0);
    let report = json(&out);
    assert_eq!(report["waived"], 1, "{report:#}");
    let waived = &report["findings"][0];
    assert_eq!(waived["rule"], "require-concurrent-index-creation");
    assert_eq!(waived["line"], 4);
    assert_eq!(waived["waived"], "20k rows, indexed in 30 ms");
    // The plan honours its own waiver: dangerous, waived, exit 0.
    let out = expect(
        &mut migrate(&db, &dir, &["plan", "--json", "--max-rewrite", "1kB"]),
        4,
    );
    let plan = json(&out);
    let index = step(&plan, "V2__small_index", 4);
    assert_eq!(index["dangerous"], true);
    assert_eq!(index["waived"], "measured: well under a second");
    // V3 is dangerous and carries no blocking-rewrite waiver.
    assert_eq!(step(&plan, "V3__squawk_style", 2)["waived"], Value::Null);

    // A waiver without a reason, or for a rule nobody knows, is itself an error.
    write_file(
        &dir.join("V2__small_index.sql"),
        "-- kronic:allow require-concurrent-index-creation\nCREATE INDEX accounts_email ON accounts (email);\n",
    );
    write_file(
        &dir.join("V3__squawk_style.sql"),
        "-- kronic:allow require-concurrent-index-creaton typo here\nCREATE INDEX orders_total ON orders (total);\n",
    );
    let out = expect(&mut migrate(&db, &dir, &["lint", "--json"]), 4);
    let found = errors(&json(&out));
    for expected in [
        ("V2__small_index.sql", 1, "waiver"),
        (
            "V2__small_index.sql",
            2,
            "require-concurrent-index-creation",
        ),
        ("V3__squawk_style.sql", 1, "waiver"),
        (
            "V3__squawk_style.sql",
            2,
            "require-concurrent-index-creation",
        ),
    ] {
        assert!(
            found
                .iter()
                .any(|(f, l, r)| (f.as_str(), *l, r.as_str()) == expected),
            "{expected:?} not in {found:?}"
        );
    }
}

fn github_and_gitlab_formats_are_valid() {
    // A folder name with the characters workflow commands must escape.
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("ci,migrations:v2");
    for (name, sql) in EXAMPLES {
        write_file(&folder.join(name), sql);
    }
    // The same finding twice on one line (a GitLab fingerprint each).
    write_file(
        &folder.join("V9__twice.sql"),
        "CREATE INDEX a ON t (x); CREATE INDEX b ON t (x);\n",
    );
    let mut files: Vec<PathBuf> = EXAMPLES.iter().map(|(n, _)| folder.join(n)).collect();
    files.push(folder.join("V9__twice.sql"));
    let lint_as = |format: &str| {
        let mut cmd = kronic_bare();
        cmd.args(["migrate", "lint", "--pg-version", "15", "--format", format])
            .args(&files);
        expect(&mut cmd, 4)
    };
    let out = lint_as("github");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines.len() >= 6, "{}", out.stdout);
    for l in &lines {
        assert!(workflow_command(l), "not a workflow command: {l}");
        assert!(l.contains("ci%2Cmigrations%3Av2"), "{l}");
    }
    assert!(lines.iter().any(|l| l.starts_with("::error ")
        && l.contains("title=changing-column-type::")
        && l.contains("%0ASafe: add a new column")));

    let out = lint_as("gitlab");
    let report: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    let mut fingerprints = std::collections::BTreeSet::new();
    for issue in &report {
        for key in ["description", "check_name", "fingerprint", "severity"] {
            assert!(issue[key].is_string(), "{key} in {issue:#}");
        }
        assert!(
            issue["location"]["path"]
                .as_str()
                .unwrap()
                .ends_with(".sql")
        );
        assert!(issue["location"]["lines"]["begin"].as_u64().unwrap() >= 1);
        assert!(
            ["info", "minor", "major", "critical", "blocker"]
                .contains(&issue["severity"].as_str().unwrap())
        );
        assert!(fingerprints.insert(issue["fingerprint"].as_str().unwrap().to_string()));
    }
    assert!(
        report
            .iter()
            .filter(|i| i["location"]["path"]
                .as_str()
                .unwrap()
                .ends_with("V9__twice.sql"))
            .count()
            >= 2
    );
    // A file that cannot be read: the JSON document still comes, "failed": true.
    let out = expect(
        kronic_bare()
            .args(["migrate", "lint", "--pg-version", "15", "--json"])
            .arg(folder.join("V404__missing.sql")),
        66,
    );
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["failed"], true);
    assert!(
        report["error"]
            .as_str()
            .unwrap()
            .contains("V404__missing.sql")
    );
}

/// `::LEVEL file=F,line=N,col=N,title=T::MESSAGE`, each property escaped (no `:` or
/// `,` inside), the message on one line.
fn workflow_command(l: &str) -> bool {
    let Some((level, rest)) = l.strip_prefix("::").and_then(|r| r.split_once(' ')) else {
        return false;
    };
    let Some((props, message)) = rest.split_once("::") else {
        return false;
    };
    let keys: Vec<&str> = props
        .split(',')
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            let numeric = matches!(k, "line" | "col");
            (!v.is_empty()
                && !v.contains(':')
                && (!numeric || v.bytes().all(|b| b.is_ascii_digit())))
            .then_some(k)
        })
        .collect();
    ["error", "warning", "notice"].contains(&level)
        && keys == ["file", "line", "col", "title"]
        && !message.is_empty()
        && !message.contains('\r')
}

fn up_lint_deny_refuses_with_nothing_applied() {
    let (db, dir) = at_v1(server(), &EXAMPLES[..1]);
    let type_of_n = |db: &TestDb| -> String {
        db.client()
            .query_one(
                "SELECT data_type::text FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'n'",
                &[],
            )
            .unwrap()
            .get(0)
    };
    let out = expect(&mut migrate(&db, &dir, &["up", "--lint", "deny"]), 4);
    assert_stderr(&out, "V2__widen.sql:1:");
    assert_stderr(&out, "changing-column-type");
    assert_stderr(&out, "nothing was applied");
    // Off a terminal, deny is the default.
    expect(&mut migrate(&db, &dir, &["up"]), 4);
    assert_eq!(type_of_n(&db), "integer");
    let out = expect(&mut migrate(&db, &dir, &["current", "--json"]), 0);
    assert_eq!(json(&out)["version"], 1);
    // warn applies, saying why it would not have.
    let out = expect(&mut migrate(&db, &dir, &["up", "--lint", "warn"]), 0);
    assert_stderr(&out, "changing-column-type");
    assert_eq!(type_of_n(&db), "bigint");
}

/// The `kronic` lines of the README's CI jobs (GitHub's `- run: kronic …`, GitLab's
/// `- kronic …`), job by job.
fn readme_ci_jobs() -> Vec<Vec<String>> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("Safe migrations in CI"))
        .unwrap();
    let mut jobs = Vec::new();
    for block in section.split("```yaml\n").skip(1) {
        let body = block.split("```").next().unwrap();
        let lines: Vec<String> = body
            .lines()
            .filter_map(|l| {
                let l = l.trim_start().strip_prefix("- ")?;
                let l = l.strip_prefix("run: ").unwrap_or(l);
                // kronic's own lines and the one that fetches and checks the binary
                // (git and apt are the runner's business: the checkout stands for them).
                (l.starts_with("kronic ") || l.contains("$KRONIC_X_RELEASE")).then(|| l.to_string())
            })
            .collect();
        jobs.push(lines);
    }
    assert_eq!(jobs.len(), 2, "a GitHub and a GitLab job");
    jobs
}

/// A checkout: `migrations/` with the built-in set and `pending`, and the main
/// branch's `../main/migrations` with the built-in set only.
fn checkout(pending: (&str, &str)) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    for dir in ["work/migrations", "main/migrations"] {
        copy_builtin_migrations(&root.path().join(dir));
    }
    write_file(
        &root.path().join("work/migrations").join(pending.0),
        pending.1,
    );
    root
}

/// A release location as `scripts/build-static` leaves one: the static binary (where
/// .ci/run built it, else the test build) as `kronic`, and `kronic.sha256`.
fn release() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let bin = std::env::var_os("KRONIC_TEST_STATIC")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_kronic")));
    std::fs::copy(&bin, dir.path().join("kronic")).unwrap();
    let sum = sha256_hex(&std::fs::read(&bin).unwrap());
    write_file(
        &dir.path().join("kronic.sha256"),
        &format!("{sum}  kronic\n"),
    );
    dir
}

/// Runs a job's lines in order, in the checkout, as the CI runner would: the binary
/// fetched from the release location and checked, then kronic's steps (the database
/// from the service container: here the test's); the first failing line's exit code.
fn run_job(db: &TestDb, root: &Path, job: &[String]) -> i32 {
    let release = release();
    let home = root.join("home");
    std::fs::create_dir_all(&home).unwrap();
    for line in job {
        let out = db
            .bash(line)
            .current_dir(root.join("work"))
            // Only the fetched kronic is on the PATH ($HOME/bin, as the job puts it).
            .env(
                "PATH",
                format!(
                    "{}/bin:{}",
                    home.display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .env("HOME", &home)
            .env("GITHUB_PATH", root.join("github_path"))
            .env(
                "KRONIC_X_RELEASE",
                format!("file://{}", release.path().display()),
            )
            .env("KRONIC_MIGRATIONS_DIR", "migrations")
            .output()
            .unwrap();
        let code = out.status.code().unwrap_or(-1);
        if code != 0 {
            eprintln!(
                "{line}: exit {code}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            return code;
        }
    }
    0
}

fn the_readme_ci_jobs_run_as_written() {
    let safe = (
        "V2__nickname.sql",
        "ALTER TABLE users ADD COLUMN nickname text;\n",
    );
    let unsafe_ = (
        "V2__email_index.sql",
        "CREATE INDEX users_email_lower ON users (lower(email));\n",
    );
    for job in readme_ci_jobs() {
        // A pull request with a safe migration: every step passes, and it is applied.
        let db = TestDb::new();
        let root = checkout(safe);
        assert_eq!(run_job(&db, root.path(), &job), 0, "{job:?}");
        let version: i32 = db
            .client()
            .query_one("SELECT max(version) FROM refinery_schema_history", &[])
            .unwrap()
            .get(0);
        assert_eq!(version, 2);
        if let Some(report) = job
            .iter()
            .find(|l| l.contains("gl-code-quality-report.json"))
        {
            let path = root.path().join("work/gl-code-quality-report.json");
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{report}: {e}"));
            assert!(v.is_array());
        }
        // One that would block writes: the job stops at lint, with nothing applied.
        let db = TestDb::new();
        let root = checkout(unsafe_);
        assert_eq!(run_job(&db, root.path(), &job), 4, "{job:?}");
        assert!(
            !db.client()
                .query_one(
                    "SELECT EXISTS (SELECT FROM refinery_schema_history WHERE version = 2)",
                    &[]
                )
                .unwrap()
                .get::<_, bool>(0)
        );
    }
}
