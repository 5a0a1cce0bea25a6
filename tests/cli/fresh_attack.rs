//! What a fresh attack found: a role that can become a superuser by membership (or,
//! before PostgreSQL 16, by CREATEROLE) is refused like a superuser; the restore rules
//! judge quoted and `U&` names, every statement that evaluates, and settings however
//! spelled; secrets stay out of `kronic config`'s output and errors.

use std::path::PathBuf;

use crate::support::*;

crate::register!(
    roles_that_can_become_a_superuser_are_refused_on_15,
    roles_that_can_become_a_superuser_are_refused_on_18,
    restore_rules_judge_names_unquoted_and_every_statement_that_evaluates,
    latest_is_this_databases_backup_and_started_when_named,
    a_config_file_in_a_folder_others_can_change_is_refused,
    secrets_stay_out_of_config_output_and_crafted_inputs_stay_bounded,
);

/// A login role for `db`, member of the application role (so it may restore its
/// tables), with `setup` run as the superuser (`{role}` replaced). Returns its name.
fn role(db: &TestDb, setup: &str) -> String {
    let role = format!("{}_r", db.name);
    db.client()
        .batch_execute(&format!(
            "CREATE ROLE {role} LOGIN PASSWORD 'pw' IN ROLE {APP_USER}; {}",
            setup.replace("{role}", &role)
        ))
        .unwrap();
    role
}

fn drop_role(db: &TestDb, role: &str) {
    db.client()
        .batch_execute(&format!(
            "DROP OWNED BY {role} CASCADE; DROP ROLE {role}; DROP ROLE IF EXISTS {role}_mid"
        ))
        .unwrap();
}

fn roles_that_can_become_a_superuser_are_refused(server: &'static Server) {
    let db = TestDb::on(server);
    expect(db.kronic().args(["migrate", "up"]), 0);
    let file = db.backed_up(&[]);
    let before = content_checksum(&mut db.client());
    let admin: postgres::Config = server.admin_url.parse().unwrap();
    let superuser = admin.get_user().unwrap().to_string();
    let major: i32 = db
        .client()
        .query_one(
            "SELECT current_setting('server_version_num')::int / 10000",
            &[],
        )
        .unwrap()
        .get(0);
    let mut cases = vec![
        (
            "GRANT {super} TO {role}",
            "is a member of the superuser role",
        ),
        (
            "CREATE ROLE {role}_mid NOLOGIN NOINHERIT; GRANT {super} TO {role}_mid; GRANT {role}_mid TO {role}",
            "is a member of the superuser role",
        ),
    ];
    if major < 16 {
        cases.push(("ALTER ROLE {role} CREATEROLE", "has CREATEROLE"));
    } else {
        cases.push((
            "GRANT {super} TO {role} WITH INHERIT FALSE",
            "is a member of the superuser role",
        ));
    }
    for (setup, needle) in cases {
        let role = role(&db, &setup.replace("{super}", &superuser));
        let as_role = |args: &[&str]| {
            let mut cmd = db.kronic();
            cmd.env("KRONIC_DATABASE_USER", &role)
                .env("KRONIC_DATABASE_PASSWORD", "pw")
                .args(args)
                .arg(&file);
            cmd
        };
        let out = expect(&mut as_role(&["restore", "--yes"]), 77);
        assert_stderr(&out, needle);
        assert_stderr(&out, "--allow-superuser");
        let out = expect(&mut as_role(&["backup", "drill"]), 77);
        assert_stderr(&out, needle);
        assert_eq!(content_checksum(&mut db.client()), before, "{setup}");
        drop_role(&db, &role);
    }
    // CREATEROLE on 16+ cannot grant what it does not administer: allowed.
    if major >= 16 {
        let role = role(&db, "ALTER ROLE {role} CREATEROLE");
        let mut cmd = db.kronic();
        cmd.env("KRONIC_DATABASE_USER", &role)
            .env("KRONIC_DATABASE_PASSWORD", "pw")
            .args(["restore", "--yes"])
            .arg(&file);
        expect(&mut cmd, 0);
        drop_role(&db, &role);
    }
}

fn roles_that_can_become_a_superuser_are_refused_on_15() {
    roles_that_can_become_a_superuser_are_refused(server());
}

fn roles_that_can_become_a_superuser_are_refused_on_18() {
    roles_that_can_become_a_superuser_are_refused(server_of(18));
}

/// A plain-SQL backup of `db` with `text` inserted just before its first CREATE TABLE,
/// written next to it; the file and the line `text` starts on.
fn crafted(db: &TestDb, text: &str) -> (PathBuf, usize) {
    let (_, sql) = db.backup_sql();
    let at = sql.find("\nCREATE TABLE").unwrap() + 1;
    let line = sql[..at].matches('\n').count() + 1;
    let file = db.path("crafted.sql");
    std::fs::write(&file, format!("{}{text}{}", &sql[..at], &sql[at..])).unwrap();
    (file, line)
}

fn restore_rules_judge_names_unquoted_and_every_statement_that_evaluates() {
    let db = TestDb::seeded_on(server());
    let before = content_checksum(&mut db.client());
    for (text, needle) in [
        (
            "SELECT \"pg_terminate_backend\"(pid) FROM pg_stat_activity;\n",
            "reaches outside the database",
        ),
        (
            "SELECT U&\"\\0070g_terminate_backend\"(pid) FROM pg_stat_activity;\n",
            "reaches outside the database",
        ),
        (
            "CREATE TABLE public.x AS SELECT pg_terminate_backend(pid) FROM pg_stat_activity;\n",
            "reaches outside the database",
        ),
        (
            "SELECT \"set_config\"('standard_conforming_strings', 'off', false);\n",
            "set_config is allowed for search_path only",
        ),
        (
            "SET SESSION standard_conforming_strings = off;\n",
            "standard_conforming_strings on",
        ),
        (
            "SELECT set_config('lock_timeout', '0', false);\n",
            "set_config is allowed for search_path only",
        ),
    ] {
        let (file, line) = crafted(&db, text);
        for verb in [&["restore", "--yes"][..], &["backup", "verify"][..]] {
            let out = expect(db.kronic().args(verb).arg(&file), 65);
            assert_stderr(&out, &format!("crafted.sql: line {line}: refused "));
            assert_stderr(&out, needle);
            assert_eq!(content_checksum(&mut db.client()), before, "{text}");
        }
    }
    // kronic's lock timeout stays whatever the dump says: such lines are skipped, and
    // the backup restores.
    let (file, _) = crafted(
        &db,
        "SET SESSION lock_timeout = 0;\nSET \"lock_timeout\" = 0;\nSET LOCAL lock_timeout = 0;\n",
    );
    expect(db.kronic().args(["restore", "--yes"]).arg(&file), 0);
    assert_eq!(content_checksum(&mut db.client()), before);
}

fn latest_is_this_databases_backup_and_started_when_named() {
    let a = TestDb::seeded_on(server());
    let b = TestDb::seeded_on(server());
    let before = content_checksum(&mut b.client());
    // A's backup, newer than B's own, placed in B's folder with its manifest.
    b.backed_up(&[]);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let from_a = a.backed_up(&[]);
    let moved = b.backup_dir().join(from_a.file_name().unwrap());
    std::fs::copy(&from_a, &moved).unwrap();
    std::fs::copy(
        format!("{}.manifest.json", from_a.display()),
        format!("{}.manifest.json", moved.display()),
    )
    .unwrap();
    for args in [
        &["restore", "--latest", "--yes"][..],
        &["backup", "verify", "--latest"][..],
        &["backup", "drill"][..],
    ] {
        let out = expect(b.kronic().args(args), 65);
        assert_stderr(&out, &format!("is a backup of database {}", a.name));
        assert_stderr(&out, "--from-database");
    }
    assert_eq!(content_checksum(&mut b.client()), before);
    expect(
        b.kronic()
            .args(["backup", "verify", "--latest", "--from-database", &a.name]),
        0,
    );
    std::fs::remove_file(&moved).unwrap();
    std::fs::remove_file(format!("{}.manifest.json", moved.display())).unwrap();
    // B's own older backup copied under a newer name: its manifest gives it away.
    let old = b.backed_up(&[]);
    let copy = b.backup_dir().join(
        (chrono::Utc::now() + chrono::Duration::hours(2))
            .format("kronic_backup_%Y%m%d_%H%M%S.sql.gz")
            .to_string(),
    );
    std::fs::copy(&old, &copy).unwrap();
    std::fs::copy(
        format!("{}.manifest.json", old.display()),
        format!("{}.manifest.json", copy.display()),
    )
    .unwrap();
    let out = expect(b.kronic().args(["restore", "--latest", "--yes"]), 65);
    assert_stderr(&out, "is the manifest of");
    assert_eq!(content_checksum(&mut b.client()), before);
}

fn a_config_file_in_a_folder_others_can_change_is_refused() {
    let db = TestDb::new();
    let folder = db.path("etc");
    let file = folder.join("kronic.env");
    write_file(&file, "KRONIC_BACKUP_KEEP_DAYS=7\n");
    cluster::set_mode(&file, 0o600);
    cluster::set_mode(&folder, 0o775);
    let out = expect(kronic_bare().arg("--config").arg(&file).arg("config"), 77);
    assert_stderr(&out, "writable by others");
    cluster::set_mode(&folder, 0o755);
    expect(kronic_bare().arg("--config").arg(&file).arg("config"), 0);
    // A folder another user owns, where that user could swap the file.
    if rustix::process::geteuid().is_root() {
        std::os::unix::fs::chown(&folder, Some(65534), None).unwrap();
        let out = expect(kronic_bare().arg("--config").arg(&file).arg("config"), 77);
        assert_stderr(&out, "owned by uid 65534");
        std::os::unix::fs::chown(&folder, Some(0), None).unwrap();
    }
    // A link to a trusted file is read.
    let link = db.path("link.env");
    std::os::unix::fs::symlink(&file, &link).unwrap();
    expect(kronic_bare().arg("--config").arg(&link).arg("config"), 0);
}

fn secrets_stay_out_of_config_output_and_crafted_inputs_stay_bounded() {
    let db = TestDb::new();
    // 9, 10: a URL kronic cannot parse, and the ping URL, never shown whole.
    for (name, value, secret) in [
        (
            "KRONIC_DATABASE_URL",
            "postgres://app:se/cret9@h/d",
            "cret9",
        ),
        (
            "KRONIC_DATABASE_URL",
            "postgres://app:pw@h1,h2/d?password=s3cret9",
            "s3cret9",
        ),
        (
            "KRONIC_NOTIFY_URL",
            "https://hc-ping.com/0f4d9c1e-check",
            "0f4d9c1e",
        ),
    ] {
        let out = run(kronic_bare().env(name, value).arg("config"));
        assert!(!out.all().contains(secret), "{name}: {}", out.all());
    }
    // 11: a line with a space for '=' is refused without its value.
    let file = db.path("bad.env");
    write_file(&file, "KRONIC_DATABASE_PASSWORD s3cret11\n");
    cluster::set_mode(&file, 0o600);
    let out = expect(kronic_bare().arg("--config").arg(&file).arg("config"), 78);
    assert!(!out.all().contains("s3cret11"), "{}", out.all());
    // 17: systemd's escapes in double quotes.
    let file = db.path("escaped.env");
    write_file(&file, "KRONIC_BACKUP_DIR=\"/var/b\\\"x\"\n");
    cluster::set_mode(&file, 0o600);
    let out = expect(kronic_bare().arg("--config").arg(&file).arg("config"), 0);
    assert!(
        out.stdout.contains("KRONIC_BACKUP_DIR=/var/b\"x "),
        "{}",
        out.stdout
    );
    // 18: a NUL in a value is 78 naming the variable.
    let file = db.path("nul.env");
    std::fs::write(&file, b"KRONIC_DATABASE_HOST=db\0x\n").unwrap();
    cluster::set_mode(&file, 0o600);
    let out = expect(
        kronic_bare()
            .arg("--config")
            .arg(&file)
            .args(["migrate", "current"]),
        78,
    );
    assert_stderr(&out, "KRONIC_DATABASE_HOST");
    // 14: an age header with thousands of recipients is refused at once.
    let mut crafted = b"age-encryption.org/v1\n".to_vec();
    for _ in 0..3000 {
        crafted.extend_from_slice(b"-> X25519 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\nAAAA\n");
    }
    crafted.extend_from_slice(b"--- AAAA\n");
    let age = db.path("kronic_backup_20260101_000000.sql.gz.age");
    std::fs::write(&age, &crafted).unwrap();
    let started = std::time::Instant::now();
    let out = expect(db.kronic().args(["backup", "verify"]).arg(&age), 65);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_stderr(&out, "recipients");
}
