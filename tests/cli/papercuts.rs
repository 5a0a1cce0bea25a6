//! The newcomer's papercuts, each through the real binary: a wrong file refused before
//! anything connects, "no" at a prompt, `kronic config` checking what commands check,
//! health blaming the server and not the pool, a quiet wait, a failed `up --backup`
//! that changed nothing, and the down script's name.

use std::time::Instant;

use crate::support::*;

crate::register!(
    a_file_that_is_not_a_dump_is_refused_before_anything_connects,
    answering_no_exits_1_and_changes_nothing,
    config_checks_values_shows_defaults_and_what_overrides_what,
    health_against_a_silent_server_blames_the_server,
    health_wait_says_an_unchanged_reason_once,
    a_failed_up_backup_that_changed_nothing_says_so,
    down_dry_run_names_the_down_script,
);

fn a_file_that_is_not_a_dump_is_refused_before_anything_connects() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.sql.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, b"shopping list\n").unwrap();
    std::fs::write(&file, gz.finish().unwrap()).unwrap();
    // Nothing listens on this port: reaching for the server would be exit 69.
    let port = cluster::free_port();
    for args in [vec!["restore", "--yes"], vec!["backup", "drill"]] {
        let out = expect(kronic_at(port).args(&args).arg(&file), 65);
        assert_stderr(&out, "is not a pg_dump plain-SQL file");
    }
}

fn answering_no_exits_1_and_changes_nothing() {
    let db = TestDb::populated();
    let backup = db.backed_up(&[]);
    // Rows written after the backup: a restore would take them away.
    db.client()
        .batch_execute("DELETE FROM users WHERE email LIKE 'user1%'")
        .unwrap();
    let before = content_checksum(&mut db.client());
    // A terminal (a pty, through script(1)) whose person answers "n".
    let mut cmd = db.bash(&format!(
        "(sleep 1; echo n) | script -qec \"$0 restore {}\" /dev/null",
        backup.display()
    ));
    cmd.arg(env!("CARGO_BIN_EXE_kronic"));
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("cancelled: nothing was changed"), "{text}");
    assert_eq!(content_checksum(&mut db.client()), before);
}

fn config_checks_values_shows_defaults_and_what_overrides_what() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kronic.env");
    write_file(
        &file,
        "KRONIC_BACKUP_KEEP_DAYS=7 # a week\nKRONIC_LOCK_WAIT=5\nKRONIC_DATABASE_NAME=other\n",
    );
    cluster::set_mode(&file, 0o600);
    let out = expect(
        kronic_bare()
            .arg("--config")
            .arg(&file)
            .env("KRONIC_LOCK_WAIT", "9")
            .env("KRONIC_DATABASE_URL", "postgresql://app@db.internal/app")
            .arg("config"),
        78,
    );
    // What every command would refuse, refused here too, naming the variable.
    assert_stderr(&out, "KRONIC_BACKUP_KEEP_DAYS=\"7 # a week\"");
    let line = |name: &str| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {}", out.stdout))
            .to_string()
    };
    assert!(line("KRONIC_DATABASE_PORT").contains("unset; default: 5432"));
    assert!(line("KRONIC_BACKUP_DIR").contains("default: /var/backups/kronic"));
    assert!(line("KRONIC_LOCK_WAIT=9").contains("environment; overrides"));
    assert!(line("KRONIC_LOCK_WAIT=9").contains("kronic.env:2"));
    assert!(line("KRONIC_DATABASE_NAME=other").contains("not used: KRONIC_DATABASE_URL"));
    // The same in JSON, and a good configuration is 0.
    let out = expect(
        kronic_bare()
            .env("KRONIC_BACKUP_JOBS", "0")
            .args(["config", "--json"]),
        78,
    );
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(
        v["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("KRONIC_BACKUP_JOBS"),
        "{v}"
    );
    expect(kronic_bare().arg("config"), 0);
}

fn health_against_a_silent_server_blames_the_server() {
    let port = silent_listener();
    let out = expect(kronic_at(port).args(["health", "--timeout", "1"]), 75);
    assert_stderr(&out, "timed out after 1s connecting to");
    assert_stderr(&out, "the server did not complete the connection");
    assert!(!out.stderr.contains("pool"), "{}", out.stderr);
    assert!(!out.stderr.contains("Create"), "{}", out.stderr);
}

fn health_wait_says_an_unchanged_reason_once() {
    let port = cluster::free_port();
    let started = Instant::now();
    let out = expect(kronic_at(port).args(["health", "--wait", "3"]), 69);
    assert!(started.elapsed().as_secs_f64() >= 2.5);
    let said = out.stderr.matches("not healthy yet").count();
    assert_eq!(said, 1, "{}", out.stderr);
}

fn a_failed_up_backup_that_changed_nothing_says_so() {
    let db = TestDb::populated();
    let set = db.path("set");
    copy_builtin_migrations(&set);
    expect(&mut db.migrate_up(&set), 0);
    write_file(
        &set.join("V90__broken.sql"),
        "ALTER TABLE no_such_table ADD COLUMN x int;\n",
    );
    write_file(&set.join("V90__broken.down.sql"), "SELECT 1;\n");
    let out = expect(
        db.kronic()
            .args(["migrate", "--migrations"])
            .arg(&set)
            .args(["up", "--backup"]),
        65,
    );
    assert_stderr(&out, "nothing was migrated, so there is nothing to restore");
    assert!(!out.stderr.contains("kronic restore"), "{}", out.stderr);
}

fn down_dry_run_names_the_down_script() {
    let db = TestDb::populated();
    let out = expect(db.kronic().args(["migrate", "down", "--dry-run"]), 0);
    let first = out.stdout.lines().next().unwrap_or("");
    assert!(first.contains(".down.sql)"), "{}", out.stdout);
}
