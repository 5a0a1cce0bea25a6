//! `kronic seed`: roles and the admin user, idempotent, all or nothing.

use argon2::password_hash::PasswordVerifier;
use argon2::password_hash::phc::PasswordHash;

use crate::support::*;

crate::register!(
    a_password_typed_on_a_terminal_is_not_echoed,
    creates_roles_and_an_admin_whose_hash_verifies,
    second_run_changes_nothing,
    reset_admin_password_changes_only_hash_and_updated_at,
    email_case_is_the_same_admin,
    password_from_stdin,
    differing_roles_are_reported_and_updated_on_request,
    bad_input_writes_nothing,
    password_never_appears_even_at_trace,
    the_admin_is_found_as_the_database_compares_emails,
);

const EMAIL: &str = "admin@example.com";
const PASSWORD: &str = "correct horse battery $taple";

fn migrated() -> TestDb {
    let db = TestDb::new();
    expect(db.kronic().args(["migrate", "up"]), 0);
    db
}

fn seed(db: &TestDb) -> assert_cmd::Command {
    let mut cmd = db.kronic();
    cmd.env("KRONIC_ADMIN_EMAIL", EMAIL)
        .env("KRONIC_ADMIN_PASSWORD", PASSWORD)
        .arg("seed");
    cmd
}

/// (id, email, password_hash, created_at, updated_at, is_active, is_verified, last_login) as text.
fn users(db: &TestDb) -> Vec<Vec<Option<String>>> {
    db.client()
        .query(
            "SELECT id::text, email::text, password_hash::text, created_at::text, updated_at::text, is_active::text, is_verified::text, last_login::text FROM users ORDER BY email",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (0..8).map(|i| r.get::<_, Option<String>>(i)).collect())
        .collect()
}

pub fn verifies(phc: &str, password: &str) -> bool {
    let h = PasswordHash::new(phc).unwrap();
    argon2::Argon2::default()
        .verify_password(password.as_bytes(), &h)
        .is_ok()
}

fn creates_roles_and_an_admin_whose_hash_verifies() {
    let db = migrated();
    let out = expect(&mut seed(&db), 0);
    assert!(
        out.stdout.contains("role admin: created") && out.stdout.contains("role user: created"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!("admin {EMAIL}: created")),
        "{}",
        out.stdout
    );
    let mut c = db.client();
    let roles: Vec<(String, String)> = c
        .query(
            "SELECT name::text, permissions::text FROM roles ORDER BY name",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        roles.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        ["admin", "user"]
    );
    let admin_perms: serde_json::Value = serde_json::from_str(&roles[0].1).unwrap();
    assert_eq!(
        admin_perms["users"],
        serde_json::json!(["create", "read", "update", "delete"])
    );

    let u = users(&db);
    assert_eq!(u.len(), 1);
    let row = &u[0];
    assert_eq!(row[1].as_deref(), Some(EMAIL));
    assert_eq!(row[5].as_deref(), Some("true"), "active");
    assert_eq!(row[6].as_deref(), Some("true"), "verified");
    assert_eq!(row[7], None, "never logged in");
    let phc = row[2].as_deref().unwrap();
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    assert!(verifies(phc, PASSWORD));
    assert!(!verifies(phc, "correct horse battery staple"));
    let has_admin: bool = c
        .query_one(
            "SELECT EXISTS (SELECT FROM user_roles ur JOIN roles r ON r.id = ur.role_id JOIN users u ON u.id = ur.user_id WHERE r.name = 'admin' AND u.email = $1)",
            &[&EMAIL],
        )
        .unwrap()
        .get(0);
    assert!(has_admin);
}

fn second_run_changes_nothing() {
    let db = migrated();
    expect(&mut seed(&db), 0);
    let before = content_checksum(&mut db.client());
    let users_before = users(&db);
    let out = expect(&mut seed(&db), 0);
    assert!(
        out.stdout.contains("seed: nothing changed"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!("admin {EMAIL}: unchanged")),
        "{}",
        out.stdout
    );
    assert_eq!(users(&db), users_before, "every column, updated_at too");
    assert_eq!(content_checksum(&mut db.client()), before);
    // A different password is reported, not applied.
    let out = expect(
        seed(&db).env("KRONIC_ADMIN_PASSWORD", "another long password"),
        0,
    );
    assert!(out.stdout.contains("different password"), "{}", out.stdout);
    assert_eq!(content_checksum(&mut db.client()), before);
}

fn reset_admin_password_changes_only_hash_and_updated_at() {
    let db = migrated();
    expect(&mut seed(&db), 0);
    let before = users(&db).remove(0);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let new_pw = "a brand new passphrase";
    let out = expect(
        seed(&db)
            .env("KRONIC_ADMIN_PASSWORD", new_pw)
            .arg("--reset-admin-password"),
        0,
    );
    assert!(out.stdout.contains("password reset"), "{}", out.stdout);
    let after = users(&db).remove(0);
    for i in [0, 1, 3, 5, 6, 7] {
        assert_eq!(before[i], after[i], "column {i} must not change");
    }
    assert_ne!(before[2], after[2], "hash");
    assert_ne!(before[4], after[4], "updated_at");
    assert!(verifies(after[2].as_deref().unwrap(), new_pw));
    assert!(!verifies(after[2].as_deref().unwrap(), PASSWORD));
}

fn email_case_is_the_same_admin() {
    let db = migrated();
    expect(seed(&db).env("KRONIC_ADMIN_EMAIL", "Admin@Example.COM"), 0);
    let out = expect(&mut seed(&db), 0);
    assert!(
        out.stdout.contains("seed: nothing changed"),
        "{}",
        out.stdout
    );
    let u = users(&db);
    assert_eq!(u.len(), 1);
    assert_eq!(u[0][1].as_deref(), Some(EMAIL));
}

fn password_from_stdin() {
    let db = migrated();
    let out = expect(
        db.kronic()
            .env("KRONIC_ADMIN_EMAIL", EMAIL)
            .args(["seed", "--admin-password-stdin"])
            .write_stdin(format!("{PASSWORD}\n")),
        0,
    );
    assert!(out.stdout.contains("created"));
    assert!(verifies(users(&db)[0][2].as_deref().unwrap(), PASSWORD));
}

fn differing_roles_are_reported_and_updated_on_request() {
    let db = migrated();
    expect(&mut seed(&db), 0);
    db.client()
        .execute(
            "UPDATE roles SET permissions = '{\"profile\": [\"read\"]}' WHERE name = 'user'",
            &[],
        )
        .unwrap();
    let before = content_checksum(&mut db.client());
    let out = expect(&mut seed(&db), 0);
    assert!(
        out.stdout.contains("role user: permissions differ"),
        "{}",
        out.stdout
    );
    assert_eq!(content_checksum(&mut db.client()), before);
    let out = expect(seed(&db).arg("--update-roles"), 0);
    assert!(
        out.stdout.contains("role user: permissions updated"),
        "{}",
        out.stdout
    );
    let perms: String = db
        .client()
        .query_one(
            "SELECT permissions::text FROM roles WHERE name = 'user'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(perms.contains("update"), "{perms}");
}

fn bad_input_writes_nothing() {
    let db = migrated();
    let empty = content_checksum(&mut db.client());
    type Case<'a> = (Vec<(&'a str, &'a str)>, i32, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec![("KRONIC_ADMIN_PASSWORD", PASSWORD)],
            78,
            "KRONIC_ADMIN_EMAIL",
        ),
        (
            vec![("KRONIC_ADMIN_EMAIL", EMAIL)],
            78,
            "KRONIC_ADMIN_PASSWORD",
        ),
        (
            vec![
                ("KRONIC_ADMIN_EMAIL", "not-an-address"),
                ("KRONIC_ADMIN_PASSWORD", PASSWORD),
            ],
            65,
            "not an email address",
        ),
        (
            vec![
                ("KRONIC_ADMIN_EMAIL", EMAIL),
                ("KRONIC_ADMIN_PASSWORD", "short-pw"),
            ],
            65,
            "at least 12 characters",
        ),
    ];
    for (vars, code, needle) in cases {
        let mut cmd = db.kronic();
        cmd.arg("seed");
        for (k, v) in &vars {
            cmd.env(k, v);
        }
        let out = expect(&mut cmd, code);
        assert!(out.stderr.contains(needle), "{vars:?}: {}", out.stderr);
        assert!(!out.all().contains("short-pw") && !out.all().contains(PASSWORD));
        assert_eq!(content_checksum(&mut db.client()), empty);
    }
    // Not migrated.
    let fresh = TestDb::new();
    let out = expect(&mut seed(&fresh), 65);
    assert_stderr(&out, "run `kronic migrate up` first");
    assert_eq!(content_checksum(&mut fresh.client()), "");
}

fn password_never_appears_even_at_trace() {
    let db = migrated();
    let out = expect(seed(&db).arg("-vv"), 0);
    assert!(
        out.stderr.contains("INSERT INTO users"),
        "SQL is logged: {}",
        out.stderr
    );
    let hash = users(&db)[0][2].clone().unwrap();
    for secret in [PASSWORD, hash.as_str()] {
        assert!(!out.all().contains(secret), "leaked: {}", out.all());
    }
    assert_no_secret(&out);
    let out = expect(seed(&db).args(["-vv", "--reset-admin-password"]), 0);
    assert!(!out.all().contains(PASSWORD));
}

/// Emails are compared as the database compares them (its ctype's lower case), not as
/// Rust lowercases them: under LC_CTYPE C, PostgreSQL's lower() leaves "Ä" alone.
fn the_admin_is_found_as_the_database_compares_emails() {
    for ctype in ["C", "C.UTF-8"] {
        let db = TestDb::new();
        let mut admin = postgres::Client::connect(&server().admin_url, postgres::NoTls).unwrap();
        let name = format!("{}_ctype", db.name);
        admin
            .batch_execute(&format!(
                "CREATE DATABASE {name} OWNER {APP_USER} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE '{ctype}' LC_CTYPE '{ctype}'"
            ))
            .unwrap();
        let mut cmd = db.kronic();
        cmd.env("KRONIC_DATABASE_NAME", &name);
        expect(cmd.args(["migrate", "up"]), 0);
        // The old toolchain stored the address as typed.
        connect_db(&name)
            .batch_execute(
                "INSERT INTO users (id, email, password_hash) VALUES (gen_random_uuid(), 'ÄDMIN@Example.com', 'x')",
            )
            .unwrap();
        for given in ["Ädmin@example.COM", "ÄDMIN@EXAMPLE.COM"] {
            let mut cmd = db.kronic();
            cmd.env("KRONIC_DATABASE_NAME", &name)
                .env("KRONIC_ADMIN_EMAIL", given)
                .env("KRONIC_ADMIN_PASSWORD", PASSWORD)
                .arg("seed");
            expect(&mut cmd, 0);
        }
        let n: i64 = connect_db(&name)
            .query_one("SELECT count(*) FROM users", &[])
            .unwrap()
            .get(0);
        assert_eq!(n, 1, "LC_CTYPE {ctype}: one admin");
        drop(admin);
        postgres::Client::connect(&server().admin_url, postgres::NoTls)
            .unwrap()
            .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .unwrap();
    }
}

/// `--admin-password-stdin` on a terminal (a pty, through script(1)): asked for, and
/// typed without echo; the hash verifies.
fn a_password_typed_on_a_terminal_is_not_echoed() {
    let db = migrated();
    let mut cmd = db.bash(&format!(
        "(sleep 1; echo '{PASSWORD}') | KRONIC_ADMIN_EMAIL={EMAIL} script -qec \"$0 seed --admin-password-stdin\" /dev/null"
    ));
    cmd.arg(env!("CARGO_BIN_EXE_kronic"));
    let out = run_ok(&mut cmd);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Admin password:"), "{text}");
    assert!(!text.contains(PASSWORD), "the password was echoed: {text}");
    assert!(verifies(users(&db)[0][2].as_deref().unwrap(), PASSWORD));
}
