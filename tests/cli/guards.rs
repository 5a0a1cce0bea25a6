//! A typo must not destroy data: the names kronic drops or restores over, the numbers
//! that decide what to prune, and the settings that decide whether to encrypt are
//! checked, and the dangerous reading is refused with nothing changed.

use std::path::PathBuf;

use crate::support::*;

crate::register!(
    drills_and_restores_refuse_the_production_and_system_databases,
    retention_numbers_beyond_the_calendar_keep_everything,
    keep_days_zero_keeps_everything_with_other_rules,
    encryption_configured_but_empty_fails_closed,
    restores_and_drills_hold_the_bytes_to_the_manifest,
    a_missing_manifest_among_neighbours_is_flagged,
    the_bucket_object_is_held_to_its_manifest,
);

fn drills_and_restores_refuse_the_production_and_system_databases() {
    let db = TestDb::populated();
    db.backed_up(&[]);
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
    let real = db.backed_up(&[]);
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
    type Case<'a> = (Vec<(&'a str, &'a str)>, Vec<&'a str>);
    let cases: Vec<Case> = vec![
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

/// A second, valid backup of other data, to plant in place of `file`.
fn other_backup(db: &TestDb) -> Vec<u8> {
    let other = TestDb::new();
    other
        .client()
        .batch_execute(&format!(
            "SET ROLE {APP_USER}; CREATE TABLE planted (a int); INSERT INTO planted VALUES (1)"
        ))
        .unwrap();
    let out = expect(
        other
            .kronic()
            .env("KRONIC_BACKUP_DIR", db.path("other"))
            .arg("backup"),
        0,
    );
    std::fs::read(db.path("other").join(completed(&out.stdout))).unwrap()
}

fn restores_and_drills_hold_the_bytes_to_the_manifest() {
    let db = TestDb::populated();
    let file = db.backed_up(&[]);
    // The file replaced by another valid backup, its manifest left as it was.
    std::fs::write(&file, other_backup(&db)).unwrap();
    let before = content_checksum(&mut db.client());
    let out = expect(db.kronic().args(["restore", "--latest", "--yes"]), 65);
    assert_stderr(&out, "does not match its manifest");
    assert_stderr(&out, "is unchanged");
    assert_eq!(content_checksum(&mut db.client()), before);
    let out = expect(db.kronic().args(["backup", "drill", "--json"]), 65);
    assert_stderr(&out, "does not match its manifest");
    let out = expect(db.kronic().args(["backup", "verify", "--latest"]), 65);
    assert_stderr(&out, "does not match its manifest");
    assert!(!database_exists(&format!("{}_drill_scratch", db.name)));
}

fn a_missing_manifest_among_neighbours_is_flagged() {
    let db = TestDb::populated();
    db.backed_up(&[]);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let newest = db.backed_up(&[]);
    let manifest = PathBuf::from(format!("{}.manifest.json", newest.display()));
    // Emptied: not a manifest at all.
    std::fs::write(&manifest, "").unwrap();
    let out = expect(db.kronic().args(["backup", "drill"]), 65);
    assert_stderr(&out, "manifest");
    // Deleted while the older backup still has one: the drill and verify fail, a
    // restore says so and goes on (the statements are still checked).
    std::fs::remove_file(&manifest).unwrap();
    let out = expect(db.kronic().args(["backup", "drill"]), 65);
    assert_stderr(
        &out,
        "has no manifest, while the backups next to it have one",
    );
    assert!(out.stdout.contains("FAIL manifest"), "{}", out.stdout);
    let out = expect(db.kronic().args(["backup", "verify", "--latest"]), 65);
    assert_stderr(&out, "has no manifest");
    let target = TestDb::new();
    let out = expect(
        db.kronic()
            .args(["restore", "--latest", "--yes", "--target-db", &target.name]),
        0,
    );
    assert_stderr(&out, "has no manifest");
    // A lone backup without one (an older kronic's) is not flagged.
    let lone = db.path("lone");
    std::fs::create_dir_all(&lone).unwrap();
    std::fs::copy(&newest, lone.join(newest.file_name().unwrap())).unwrap();
    expect(db.kronic().args(["backup", "drill", "--dir"]).arg(&lone), 0);
}

fn the_bucket_object_is_held_to_its_manifest() {
    let db = TestDb::populated();
    let s3 = crate::support::s3::shared();
    let prefix = format!("{}-held", db.name);
    let mut cmd = db.kronic();
    s3.env(&mut cmd)
        .env("KRONIC_BACKUP_REMOTE", s3.url(&prefix));
    expect(cmd.args(["backup", "--remote-only"]), 0);
    let objects = s3.objects(&prefix);
    let name = objects
        .iter()
        .map(|(k, _)| k.clone())
        .find(|k| !k.ends_with(".manifest.json"))
        .unwrap();
    let remote = |args: &[&str]| {
        let mut cmd = db.kronic();
        s3.env(&mut cmd)
            .env("KRONIC_BACKUP_REMOTE", s3.url(&prefix))
            .args(args);
        cmd
    };
    expect(
        &mut remote(&["backup", "verify", "--remote", "--latest"]),
        0,
    );
    // Replaced after the verify: another valid backup under the same name.
    s3.put(&format!("{prefix}/{name}"), &other_backup(&db));
    let before = content_checksum(&mut db.client());
    let out = expect(
        &mut remote(&["restore", "--remote", "--latest", "--yes"]),
        65,
    );
    assert_stderr(&out, "does not match its manifest");
    assert_eq!(content_checksum(&mut db.client()), before);
    let out = expect(&mut remote(&["backup", "drill", "--remote"]), 65);
    assert_stderr(&out, "does not match its manifest");
}
