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
