//! One configuration file that every command reads (`--config`, `KRONIC_CONFIG`, or
//! /etc/kronic/kronic.env): flags beat the environment, which beats the file; the file
//! is trusted only when nobody else can write it; `kronic config` shows what is in
//! effect, secrets masked.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use crate::support::s3;
use crate::support::*;

crate::register!(
    every_command_reads_the_file,
    flags_beat_the_environment_which_beats_the_file,
    an_untrusted_or_mistyped_file_is_refused,
    kronic_config_shows_settings_and_masks_secrets,
);

/// `lines` in a 0600 file of `db`'s folder.
fn config_file(db: &TestDb, lines: &[String]) -> PathBuf {
    let path = db.path("kronic.env");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// `db`'s settings as configuration-file lines (the password quoted, as an operator
/// would write one with spaces in it).
fn database_lines(db: &TestDb) -> Vec<String> {
    let s = db.server;
    vec![
        format!("KRONIC_DATABASE_HOST={}", s.host),
        format!("KRONIC_DATABASE_PORT={}", s.port),
        format!("KRONIC_DATABASE_NAME={}", db.name),
        format!("KRONIC_DATABASE_USER={APP_USER}"),
        format!("KRONIC_DATABASE_PASSWORD='{APP_PASSWORD}'"),
        format!("KRONIC_BACKUP_DIR={}", db.backup_dir().display()),
    ]
}

/// kronic with nothing but the configuration file.
fn with_file(file: &std::path::Path) -> assert_cmd::Command {
    let mut cmd = kronic_bare();
    cmd.env("KRONIC_CONFIG", file);
    cmd
}

fn every_command_reads_the_file() {
    let db = TestDb::new();
    let s3 = s3::shared();
    let mut lines = database_lines(&db);
    lines.push(format!("KRONIC_BACKUP_REMOTE={}", s3.url(&db.name)));
    lines.extend(s3.vars().into_iter().map(|(k, v)| format!("{k}={v}")));
    lines.push("KRONIC_ADMIN_EMAIL=admin@example.com".into());
    lines.push("KRONIC_ADMIN_PASSWORD=\"a long admin password\"".into());
    let file = config_file(&db, &lines);
    expect(with_file(&file).args(["migrate", "up"]), 0);
    expect(with_file(&file).arg("seed"), 0);
    expect(with_file(&file).arg("health"), 0);
    let out = expect(with_file(&file).arg("backup"), 0);
    assert!(
        out.stdout.contains("Offsite copy completed"),
        "{}",
        out.stdout
    );
    expect(with_file(&file).args(["backup", "list"]), 0);
    let out = expect(with_file(&file).args(["backup", "list", "--remote"]), 0);
    assert!(out.stdout.contains("kronic_backup_"), "{}", out.stdout);
    let before = content_checksum(&mut db.client());
    db.client().batch_execute("DELETE FROM user_roles").unwrap();
    expect(
        with_file(&file).args(["restore", "--remote", "--latest", "--yes"]),
        0,
    );
    assert_eq!(content_checksum(&mut db.client()), before);
    // --config names it too; one that is missing is 66.
    let mut cmd = kronic_bare();
    cmd.env_remove("KRONIC_CONFIG")
        .arg("--config")
        .arg(&file)
        .arg("health");
    expect(&mut cmd, 0);
    let out = expect(
        kronic_bare().args(["--config", "/nonexistent/kronic.env", "health"]),
        66,
    );
    assert_stderr(&out, "/nonexistent/kronic.env");
}

fn flags_beat_the_environment_which_beats_the_file() {
    let db = TestDb::populated();
    let mut lines = database_lines(&db);
    lines.push("KRONIC_BACKUP_DIR=/nonexistent/from-the-file".into());
    let file = config_file(&db, &lines);
    let from_env = db.path("from-env");
    let from_flag = db.path("from-flag");
    // The environment beats the file.
    expect(
        with_file(&file)
            .env("KRONIC_BACKUP_DIR", &from_env)
            .arg("backup"),
        0,
    );
    assert_eq!(backups_in(&from_env).len(), 1);
    // The flag beats both.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    expect(
        with_file(&file)
            .env("KRONIC_BACKUP_DIR", &from_env)
            .args(["backup", "--dir"])
            .arg(&from_flag),
        0,
    );
    assert_eq!(backups_in(&from_flag).len(), 1);
    assert_eq!(backups_in(&from_env).len(), 1);
    // And the file alone.
    let out = expect(with_file(&file).args(["backup", "list"]), 66);
    assert_stderr(&out, "/nonexistent/from-the-file");
}

fn an_untrusted_or_mistyped_file_is_refused() {
    let db = TestDb::new();
    let file = config_file(&db, &database_lines(&db));
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o620)).unwrap();
    let out = expect(with_file(&file).arg("health"), 77);
    assert_stderr(&out, "writable by its group");
    assert_stderr(&out, "chmod go-w");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut lines = database_lines(&db);
    lines.push("KRONIC_BACKUP_KEEP_DAY=7".into());
    let typo = config_file(&db, &lines);
    let out = expect(with_file(&typo).arg("health"), 78);
    assert_stderr(&out, "line 7: unknown setting KRONIC_BACKUP_KEEP_DAY");
    let mut lines = database_lines(&db);
    lines.push("this is not a setting".into());
    let bad = config_file(&db, &lines);
    let out = expect(with_file(&bad).arg("health"), 78);
    assert_stderr(&out, "line 7: not a NAME=value line");
    if rustix::process::geteuid().is_root() {
        let file = config_file(&db, &database_lines(&db));
        std::os::unix::fs::chown(&file, Some(65534), None).unwrap();
        let out = expect(with_file(&file).arg("health"), 77);
        assert_stderr(&out, "not by root or this user");
    }
}

fn kronic_config_shows_settings_and_masks_secrets() {
    let db = TestDb::new();
    let mut lines = database_lines(&db);
    lines.push("AWS_SECRET_ACCESS_KEY=do-not-show-this-secret".into());
    lines.push("KRONIC_DATABASE_URL=postgresql://u:url-password-hidden@h:5/d".into());
    let file = config_file(&db, &lines);
    let out = expect(
        with_file(&file)
            .env("KRONIC_BACKUP_KEEP_DAYS", "9")
            .args(["config", "--json"]),
        0,
    );
    assert!(!out.all().contains("do-not-show-this-secret"));
    assert!(!out.all().contains("url-password-hidden"));
    assert!(!out.all().contains(APP_PASSWORD));
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let get = |name: &str| {
        v["settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(get("KRONIC_DATABASE_NAME")["value"], db.name.as_str());
    assert_eq!(
        get("KRONIC_DATABASE_NAME")["from"],
        format!("{}:3", file.display())
    );
    assert_eq!(get("KRONIC_DATABASE_PASSWORD")["value"], "***");
    assert_eq!(get("KRONIC_BACKUP_KEEP_DAYS")["from"], "environment");
    assert_eq!(get("KRONIC_BACKUP_REMOTE")["from"], "unset");
    assert_eq!(v["file"], file.display().to_string());
    let out = expect(with_file(&file).arg("config"), 0);
    assert!(
        out.stdout.contains("AWS_SECRET_ACCESS_KEY=***"),
        "{}",
        out.stdout
    );
}
