//! `kronic migrate check`: how a live database differs from what its migrations build.

use crate::support::*;

crate::register!(
    a_fresh_database_checks_clean_and_leaves_nothing,
    an_alembic_database_reports_its_drift_after_stamp,
    hand_made_changes_are_reported,
    a_role_without_createdb_can_check,
);

/// The schema as the seed's SQLAlchemy models and `alembic upgrade head` built it.
const ALEMBIC: &str = "
CREATE TABLE alembic_version (version_num varchar(32) NOT NULL PRIMARY KEY);
CREATE TABLE users (
    id uuid PRIMARY KEY, email varchar(255) NOT NULL, password_hash varchar(255) NOT NULL,
    created_at timestamp, updated_at timestamp, is_active boolean, is_verified boolean,
    last_login timestamp);
CREATE UNIQUE INDEX ix_users_email ON users (email);
CREATE TABLE roles (id serial PRIMARY KEY, name varchar(50) NOT NULL UNIQUE, permissions json);
CREATE TABLE user_roles (
    user_id uuid NOT NULL REFERENCES users (id), role_id integer NOT NULL REFERENCES roles (id),
    PRIMARY KEY (user_id, role_id));
";

fn leftovers(db: &TestDb) -> i64 {
    db.client()
        .query_one(
            "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'kronic_check%'",
            &[],
        )
        .unwrap()
        .get(0)
}

fn a_fresh_database_checks_clean_and_leaves_nothing() {
    let db = TestDb::new();
    expect(db.kronic().args(["migrate", "up"]), 0);
    let out = expect(db.kronic().args(["migrate", "check"]), 0);
    assert!(out.stdout.contains("the schema matches"), "{}", out.stdout);
    let out = expect(db.kronic().args(["migrate", "check", "--json"]), 0);
    assert_eq!(out.stdout.trim(), "[]");
    assert_eq!(leftovers(&db), 0);
    let rows: i64 = db
        .client()
        .query_one("SELECT count(*) FROM refinery_schema_history", &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, 1, "no history row added");
}

fn an_alembic_database_reports_its_drift_after_stamp() {
    let db = TestDb::new();
    let mut c = db.client();
    c.batch_execute(&format!("SET ROLE {APP_USER}; {ALEMBIC}"))
        .unwrap();
    let out = expect(db.kronic().args(["migrate", "stamp", "1"]), 0);
    assert_stderr(&out, "see `kronic migrate check`");
    let out = expect(db.kronic().args(["migrate", "check"]), 1);
    for line in [
        "roles.id: integer NOT NULL serial (a sequence default) here, integer NOT NULL identity (by default) in the migrations",
        "roles.permissions: json nullable here, json NOT NULL in the migrations",
        "users.created_at: timestamp without time zone nullable here, timestamp without time zone NOT NULL default now() in the migrations",
        "users.is_active: boolean nullable here, boolean NOT NULL default true in the migrations",
        "users.is_verified: boolean nullable here, boolean NOT NULL default false in the migrations",
        "users.updated_at: timestamp without time zone nullable here",
        "constraint users_email_key UNIQUE (email): in the migrations, missing here",
        "index CREATE UNIQUE INDEX ON users USING btree (email): named ix_users_email here, users_email_key in the migrations",
        "constraint user_roles_user_id_fkey: FOREIGN KEY (user_id) REFERENCES users(id) here, FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE in the migrations",
        "constraint user_roles_role_id_fkey: FOREIGN KEY (role_id) REFERENCES roles(id) here, FOREIGN KEY (role_id) REFERENCES roles(id) ON DELETE CASCADE in the migrations",
        "index user_roles_role_id_idx",
    ] {
        assert!(
            out.stdout.contains(line),
            "{line:?} not in:\n{}",
            out.stdout
        );
    }
    let json = expect(db.kronic().args(["migrate", "check", "--json"]), 1);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .all(|d| d["table"].is_string() && d["what"].is_string())
    );
    assert_eq!(leftovers(&db), 0);
}

fn hand_made_changes_are_reported() {
    let db = TestDb::new();
    expect(db.kronic().args(["migrate", "up"]), 0);
    db.client()
        .batch_execute(
            "DROP INDEX user_roles_role_id_idx; ALTER TABLE users ALTER COLUMN last_login TYPE date; \
             CREATE TABLE scratch_notes (a int)",
        )
        .unwrap();
    let out = expect(db.kronic().args(["migrate", "check"]), 1);
    for line in [
        "index user_roles_role_id_idx CREATE INDEX ON user_roles USING btree (role_id): in the migrations, missing here",
        "users.last_login: date nullable here, timestamp without time zone nullable in the migrations",
        "scratch_notes:\n  table here that the migrations do not create",
    ] {
        assert!(
            out.stdout.contains(line),
            "{line:?} not in:\n{}",
            out.stdout
        );
    }
}

fn a_role_without_createdb_can_check() {
    let admin_db = TestDb::new();
    let mut admin = postgres::Client::connect(&server().admin_url, postgres::NoTls).unwrap();
    admin
        .batch_execute(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kt_nocreatedb') THEN \
             CREATE ROLE kt_nocreatedb LOGIN PASSWORD 'nocreatedb-pw'; END IF; END $$",
        )
        .unwrap();
    let name = format!("{}_owned", admin_db.name);
    admin
        .batch_execute(&format!("CREATE DATABASE {name} OWNER kt_nocreatedb"))
        .unwrap();
    let as_role = |args: &[&str], code| {
        expect(
            admin_db
                .kronic()
                .env("KRONIC_DATABASE_NAME", &name)
                .env("KRONIC_DATABASE_USER", "kt_nocreatedb")
                .env("KRONIC_DATABASE_PASSWORD", "nocreatedb-pw")
                .args(args),
            code,
        )
    };
    as_role(&["migrate", "up"], 0);
    as_role(&["migrate", "check"], 0);
    admin
        .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .unwrap();
}
