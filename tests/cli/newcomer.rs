//! What a newcomer trusted and was misled by: a part of the database settings in the
//! environment that the file's URL would silently override, a typo in a `KRONIC_*`
//! name, a `--dir` typo that created folders, and a killed drill's scratch database
//! that blocked every later drill.

use crate::support::*;

crate::register!(
    an_environment_part_under_the_files_url_is_refused,
    unknown_kronic_names_in_the_environment_are_refused,
    a_dir_typo_creates_no_folders,
    a_killed_drills_scratch_database_is_dropped_by_the_next,
    an_in_place_restore_says_what_it_leaves_and_drop_extra_drops_it,
    a_manifest_that_cannot_be_written_takes_its_backup_with_it,
    quiet_backups_and_restores_that_went_well_print_nothing,
    backup_list_marks_a_future_dated_backup,
);

fn an_environment_part_under_the_files_url_is_refused() {
    let db = TestDb::seeded_on(server());
    let file = db.path("kronic.env");
    write_file(&file, &format!("KRONIC_DATABASE_URL={}\n", db.url()));
    cluster::set_mode(&file, 0o600);
    let out = expect(
        kronic_bare()
            .arg("--config")
            .arg(&file)
            .env("KRONIC_DATABASE_NAME", "somewhere_else")
            .args(["migrate", "current"]),
        78,
    );
    assert_stderr(&out, "KRONIC_DATABASE_NAME is set in the environment");
    // The URL in the environment wins as a whole, as documented.
    expect(
        kronic_bare()
            .arg("--config")
            .arg(&file)
            .env("KRONIC_DATABASE_URL", db.url())
            .args(["migrate", "current"]),
        0,
    );
}

fn unknown_kronic_names_in_the_environment_are_refused() {
    let out = expect(
        kronic_bare()
            .env("KRONIC_BACKUP_KEEP_DAY", "7")
            .arg("config"),
        78,
    );
    assert_stderr(
        &out,
        "unknown setting KRONIC_BACKUP_KEEP_DAY in the environment",
    );
    // The documented escape for a deliberate extra.
    expect(kronic_bare().env("KRONIC_X_RELEASE", "x").arg("config"), 0);
}

fn a_dir_typo_creates_no_folders() {
    let db = TestDb::seeded_on(server());
    let typo = db.path("nope").join("x").join("y");
    let out = expect(db.kronic().arg("backup").arg("--dir").arg(&typo), 73);
    assert_stderr(&out, "does not exist (a typo?)");
    assert!(!db.path("nope").exists(), "a typo created folders");
}

fn a_killed_drills_scratch_database_is_dropped_by_the_next() {
    let db = TestDb::seeded_on(server());
    db.backed_up(&[]);
    // What a drill killed with SIGKILL leaves: its scratch database, marked as kronic's.
    let scratch = format!("{}_drill_scratch", db.name);
    let mut admin = db.client();
    admin
        .batch_execute(&format!("CREATE DATABASE {scratch} OWNER {APP_USER}"))
        .unwrap();
    admin
        .batch_execute(&format!(
            "COMMENT ON DATABASE {scratch} IS 'kronic drill scratch: dropped when the drill ends'"
        ))
        .unwrap();
    let out = expect(db.kronic().args(["backup", "drill"]), 0);
    assert_stderr(&out, "left by a drill that did not finish");
    assert!(!database_exists(&scratch));
}

fn an_in_place_restore_says_what_it_leaves_and_drop_extra_drops_it() {
    let db = TestDb::seeded_on(server());
    let backup = db.backed_up(&[]);
    // A table a later migration made, with rows, after the backup.
    db.client()
        .batch_execute(
            "SET ROLE kronic_app; CREATE TABLE later (id int); INSERT INTO later VALUES (1)",
        )
        .unwrap();
    let exists = |db: &TestDb| -> bool {
        db.client()
            .query_one("SELECT to_regclass('public.later') IS NOT NULL", &[])
            .unwrap()
            .get(0)
    };
    let out = expect(db.kronic().args(["restore", "--yes"]).arg(&backup), 0);
    assert_stderr(&out, "1 table(s) the backup does not hold stay");
    assert_stderr(&out, "--drop-extra");
    assert!(exists(&db), "kept without --drop-extra");
    let out = expect(
        db.kronic()
            .args(["restore", "--yes", "--drop-extra"])
            .arg(&backup),
        0,
    );
    assert_stderr(&out, "public.later");
    assert!(!exists(&db), "--drop-extra left the table");
}

/// The manifest cannot be written (here: its name is taken by a folder, as a full disk
/// would fail it): the backup goes too, with one line saying what to do, so that list,
/// verify and drill agree there is none. For a single file and a parallel backup.
fn a_manifest_that_cannot_be_written_takes_its_backup_with_it() {
    let db = TestDb::populated();
    let dir = db.backup_dir();
    std::fs::create_dir_all(&dir).unwrap();
    for (suffix, args) in [(".sql.gz", vec![]), (".dir", vec!["--jobs", "2"])] {
        // Every name the next seconds could take.
        let now = chrono::Utc::now();
        for s in 0..20 {
            let at = now + chrono::Duration::seconds(s);
            let name = format!(
                "kronic_backup_{}{suffix}.manifest.json",
                at.format("%Y%m%d_%H%M%S")
            );
            std::fs::create_dir_all(dir.join(name).join("x")).unwrap();
        }
        let out = run(db.kronic().arg("backup").args(&args));
        assert_ne!(out.code, 0, "{}", out.all());
        assert_stderr(&out, "so the backup was removed");
        let left: Vec<String> = backups_in(&dir)
            .into_iter()
            .filter(|n| !n.ends_with(".manifest.json"))
            .collect();
        assert!(left.is_empty(), "{suffix}: {left:?}");
        let listed = expect(db.kronic().args(["backup", "list", "--json"]), 0);
        assert!(
            !listed.stdout.contains("kronic_backup_"),
            "{}",
            listed.stdout
        );
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                std::fs::remove_dir_all(p).unwrap();
            }
        }
    }
}

/// `-q`: a backup and a restore that went well print nothing (cron mails only what went
/// wrong); a failure still says why.
fn quiet_backups_and_restores_that_went_well_print_nothing() {
    let db = TestDb::populated();
    let out = expect(db.kronic().args(["-q", "backup"]), 0);
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr, "");
    let backup = backups_in(&db.backup_dir())
        .into_iter()
        .find(|n| n.ends_with(".sql.gz"))
        .expect("a backup was taken");
    let out = expect(
        db.kronic()
            .args(["-q", "restore", "--yes"])
            .arg(db.backup_dir().join(backup)),
        0,
    );
    assert_eq!(out.stdout, "");
    let out = expect(
        db.kronic().args(["-q", "restore", "--yes", "/nonexistent"]),
        66,
    );
    assert!(out.stderr.contains("/nonexistent"), "{}", out.stderr);
}

/// A backup dated days ahead (a clock that was wrong) is listed as "future", with a
/// warning, and never shown as the newest thing that happened.
fn backup_list_marks_a_future_dated_backup() {
    let db = TestDb::populated();
    let dir = db.backup_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let ahead = chrono::Utc::now() + chrono::Duration::days(3);
    let name = format!("kronic_backup_{}.sql.gz", ahead.format("%Y%m%d_%H%M%S"));
    std::fs::write(dir.join(&name), b"x").unwrap();
    let out = expect(db.kronic().args(["backup", "list"]), 0);
    let line = out.stdout.lines().find(|l| l.contains(&name)).unwrap();
    assert!(line.contains("future"), "{line}");
    assert_stderr(&out, "dated in the future");
    let out = expect(db.kronic().args(["backup", "list", "--json"]), 0);
    let rows: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(rows[0]["future"], true, "{}", out.stdout);
}
