//! A typo must not destroy data: the names kronic drops or restores over, the numbers
//! that decide what to prune, and the settings that decide whether to encrypt are
//! checked, and the dangerous reading is refused with nothing changed.

use std::path::{Path, PathBuf};

use crate::support::*;

crate::register!(
    drills_and_restores_refuse_the_production_and_system_databases,
    retention_numbers_beyond_the_calendar_keep_everything,
    keep_days_zero_keeps_everything_with_other_rules,
    encryption_configured_but_empty_fails_closed,
);

fn backup(db: &TestDb) -> PathBuf {
    let out = expect(db.kronic().arg("backup"), 0);
    db.backup_dir().join(
        out.stdout
            .lines()
            .find_map(|l| l.strip_prefix("Backup completed: "))
            .unwrap(),
    )
}

fn database_exists(name: &str) -> bool {
    postgres::Client::connect(&server().admin_url, postgres::NoTls)
        .unwrap()
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .unwrap()
        .is_some()
}

fn drills_and_restores_refuse_the_production_and_system_databases() {
    let db = TestDb::populated();
    backup(&db);
    // Rows written after the backup: a restore over production would lose them.
    db.client()
        .batch_execute("INSERT INTO roles (name, permissions) VALUES ('after', '[]')")
        .unwrap();
    let before = content_checksum(&mut db.client());
    let template = format!("{}_tpl", db.name);
    postgres::Client::connect(&server().admin_url, postgres::NoTls)
        .unwrap()
        .batch_execute(&format!(
            "CREATE DATABASE {template} OWNER {APP_USER} IS_TEMPLATE true"
        ))
        .unwrap();
    for name in [
        db.name.as_str(),
        "",
        " ",
        "postgres",
        "template0",
        "template1",
    ] {
        let out = expect(
            db.kronic()
                .args(["backup", "drill", "--force", "--scratch-db", name]),
            64,
        );
        assert_stderr(&out, "--scratch-db");
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(!out.stdout.contains("Drill passed"), "{}", out.stdout);
        let out = expect(
            db.kronic().args([
                "restore",
                "--latest",
                "--create",
                "--yes",
                "--target-db",
                name,
            ]),
            64,
        );
        assert_stderr(&out, "--target-db");
    }
    // A template that is not one of the three well-known names: the server says so.
    let out = expect(
        db.kronic()
            .args(["backup", "drill", "--force", "--scratch-db", &template]),
        64,
    );
    assert_stderr(&out, "is a template");
    let out = expect(
        db.kronic()
            .args(["restore", "--latest", "--yes", "--target-db", &template]),
        64,
    );
    assert_stderr(&out, "is a template");
    assert!(database_exists(&template));
    assert!(database_exists("template1") && database_exists("postgres"));
    assert_eq!(
        content_checksum(&mut db.client()),
        before,
        "production changed"
    );
    let mut admin = postgres::Client::connect(&server().admin_url, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!("ALTER DATABASE {template} IS_TEMPLATE false"))
        .unwrap();
    admin
        .batch_execute(&format!("DROP DATABASE {template}"))
        .unwrap();
}

/// Seven backups, one a week, the newest this week.
fn seven_weeks(db: &TestDb) -> Vec<String> {
    let real = backup(db);
    let now = chrono::Utc::now();
    let mut names = Vec::new();
    for week in 1..7 {
        let t = now - chrono::Duration::weeks(week);
        let name = format!("kronic_backup_{}.sql.gz", t.format("%Y%m%d_%H%M%S"));
        std::fs::copy(&real, db.backup_dir().join(&name)).unwrap();
        names.push(name);
    }
    names.push(real.file_name().unwrap().to_string_lossy().into_owned());
    names.sort();
    names
}

fn backups_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("kronic_backup_") && !n.ends_with(".manifest.json"))
        .collect();
    v.sort();
    v
}

fn retention_numbers_beyond_the_calendar_keep_everything() {
    let db = TestDb::populated();
    let all = seven_weeks(&db);
    let dir = db.backup_dir();
    for span in [
        "300000y",
        "5000000m",
        "4294967295y",
        "357913942y",
        "4294967295h",
        "99999999d",
    ] {
        let out = expect(
            db.kronic().args(["backup", "prune", "--keep-within", span]),
            0,
        );
        assert!(
            out.stdout.contains("nothing to prune"),
            "{span}: {}",
            out.stdout
        );
        assert_eq!(backups_in(&dir), all, "{span}");
        expect(
            db.kronic()
                .env("KRONIC_BACKUP_KEEP_WITHIN", span)
                .args(["backup", "prune"]),
            0,
        );
        assert_eq!(backups_in(&dir), all, "KRONIC_BACKUP_KEEP_WITHIN={span}");
    }
    expect(
        db.kronic()
            .env("KRONIC_BACKUP_KEEP_DAYS", "4294967295")
            .args(["backup", "prune"]),
        0,
    );
    assert_eq!(backups_in(&dir), all);
    // Numbers that do not fit, and a zero span (which would keep only the newest while
    // --keep-days 0 keeps all): refused, one line, nothing pruned.
    for (flag, value) in [
        ("--keep-within", "0d"),
        ("--keep-within", "99999999999d"),
        ("--keep-last", "99999999999"),
        ("--keep-days", "-1"),
    ] {
        let out = expect(db.kronic().args(["backup", "prune", flag, value]), 64);
        assert_stderr(&out, value);
    }
    for (var, value) in [
        ("KRONIC_BACKUP_KEEP_WITHIN", "0d"),
        ("KRONIC_BACKUP_KEEP_WITHIN", "99999999999d"),
        ("KRONIC_BACKUP_KEEP_LAST", "99999999999"),
        ("KRONIC_BACKUP_KEEP_DAYS", "4294967296"),
    ] {
        let out = expect(db.kronic().env(var, value).args(["backup", "prune"]), 78);
        assert_stderr(&out, var);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    }
    assert_eq!(backups_in(&dir), all);
}

fn keep_days_zero_keeps_everything_with_other_rules() {
    let db = TestDb::populated();
    let all = seven_weeks(&db);
    let dir = db.backup_dir();
    let out = expect(
        db.kronic()
            .env("KRONIC_BACKUP_KEEP_DAYS", "0")
            .env("KRONIC_BACKUP_KEEP_LAST", "2")
            .args(["backup", "prune", "--dry-run"]),
        0,
    );
    assert!(!out.stdout.contains("would prune"), "{}", out.stdout);
    expect(
        db.kronic()
            .env("KRONIC_BACKUP_KEEP_DAYS", "0")
            .env("KRONIC_BACKUP_KEEP_LAST", "2")
            .args(["backup", "prune"]),
        0,
    );
    assert_eq!(backups_in(&dir), all);
    expect(
        db.kronic()
            .args(["backup", "prune", "--keep-days", "0", "--keep-weekly", "1"]),
        0,
    );
    assert_eq!(backups_in(&dir), all);
    // The control: --keep-last 2 alone does prune.
    expect(db.kronic().args(["backup", "prune", "--keep-last", "2"]), 0);
    assert_eq!(backups_in(&dir).len(), 2);
}

fn encryption_configured_but_empty_fails_closed() {
    let db = TestDb::populated();
    let comments = db.path("comments.txt");
    write_file(
        &comments,
        "# age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq\n\n",
    );
    let empty = db.path("empty.txt");
    write_file(&empty, "");
    let cases: Vec<(Vec<(&str, &str)>, Vec<&str>)> = vec![
        (
            vec![("KRONIC_BACKUP_RECIPIENTS_FILE", comments.to_str().unwrap())],
            vec![],
        ),
        (
            vec![("KRONIC_BACKUP_RECIPIENTS_FILE", empty.to_str().unwrap())],
            vec![],
        ),
        (vec![("KRONIC_BACKUP_RECIPIENTS", "# age1abc")], vec![]),
        (vec![("KRONIC_BACKUP_RECIPIENTS", ",")], vec![]),
        (vec![("KRONIC_BACKUP_RECIPIENTS", " , \n ")], vec![]),
        (
            vec![],
            vec!["--recipients-file", comments.to_str().unwrap()],
        ),
        (vec![], vec!["--recipient", ","]),
    ];
    for (vars, args) in cases {
        let out = expect(db.kronic().envs(vars.clone()).arg("backup").args(&args), 78);
        assert_stderr(&out, "no recipient");
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(
            !db.backup_dir().exists() || backups_in(&db.backup_dir()).is_empty(),
            "{vars:?} {args:?} wrote a backup"
        );
    }
}
