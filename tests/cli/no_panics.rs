//! Hostile values are normal input: every one found to crash kronic is now one line and
//! a documented exit code, and a remote's problem never costs the local backup.

use crate::support::s3;
use crate::support::*;

crate::register!(
    bad_aws_values_are_one_line_and_keep_the_local_backup,
    credentials_in_the_remote_url_are_refused_unechoed,
    a_history_of_any_integer_type_is_read,
    an_empty_search_path_does_not_crash_migrate_check,
    age_inputs_are_bounded_and_armored_backups_restore,
);

/// A single line on stderr, no panic text, the code wanted.
#[track_caller]
fn one_line(out: &Output, code: i32) {
    assert_eq!(out.code, code, "{}", out.all());
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("kronic: "))
        .collect();
    assert_eq!(errors.len(), 1, "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

fn bad_aws_values_are_one_line_and_keep_the_local_backup() {
    let db = TestDb::populated();
    let s3 = s3::shared();
    let prefix = format!("{}-bad", db.name);
    let remote = s3.url(&prefix);
    let cases: &[(&str, &str)] = &[
        ("AWS_REGION", "us-east-1\r"),
        ("AWS_ACCESS_KEY_ID", "kronic\r"),
        ("AWS_SESSION_TOKEN", "token\r"),
        ("AWS_ENDPOINT_URL", "http://"),
        ("AWS_ENDPOINT_URL", "https://"),
        ("AWS_ENDPOINT_URL", "http://[::1"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:99999"),
    ];
    let buckets = ["s3://a b/p", "s3://a<b/p", "s3://a`b/p"];
    let mut n = 0;
    let mut backup = |vars: &[(&str, &str)], url: &str, extra: &[&str]| {
        let mut cmd = db.kronic();
        s3.env(&mut cmd).env("KRONIC_BACKUP_REMOTE", url);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        n += 1;
        std::thread::sleep(std::time::Duration::from_millis(1000));
        run(cmd.arg("backup").args(extra))
    };
    for (var, value) in cases {
        // The remote subcommands: 78 naming the variable, never its value.
        let mut cmd = db.kronic();
        s3.env(&mut cmd)
            .env("KRONIC_BACKUP_REMOTE", &remote)
            .env(var, value);
        let out = run(cmd.args(["backup", "list", "--remote"]));
        one_line(&out, 78);
        assert_stderr(&out, var);
        // A plain backup is still taken, and says why the offsite copy failed: exit 3.
        let out = backup(&[(var, value)], &remote, &[]);
        one_line(&out, 3);
        assert_stderr(&out, "local backup kept");
        assert_stderr(&out, var);
        // With --remote-only the upload is the backup: 78.
        let out = backup(&[(var, value)], &remote, &["--remote-only"]);
        one_line(&out, 78);
    }
    for url in buckets {
        let out = backup(&[], url, &[]);
        one_line(&out, 3);
        assert_stderr(&out, "not a bucket name");
    }
    let kept = std::fs::read_dir(db.backup_dir())
        .unwrap()
        .flatten()
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with("kronic_backup_") && !n.ends_with(".manifest.json")
        })
        .count();
    assert_eq!(
        kept,
        cases.len() + buckets.len(),
        "one local backup per plain run"
    );
    assert!(n > 0);
}

fn credentials_in_the_remote_url_are_refused_unechoed() {
    let db = TestDb::new();
    let url = "s3://AKIAEXAMPLEKEY:hunter2secretkey@bucket/prefix";
    for args in [
        vec!["backup", "list", "--remote", "--remote-url", url],
        vec!["backup", "--remote-only", "--remote", url],
    ] {
        let out = run(db.kronic().args(&args));
        one_line(&out, 78);
        assert_stderr(&out, "holds credentials");
        assert!(!out.all().contains("hunter2secretkey"), "{}", out.all());
        assert!(!out.all().contains("AKIAEXAMPLEKEY"), "{}", out.all());
    }
}

fn a_history_of_any_integer_type_is_read() {
    for ty in ["bigint", "smallint"] {
        let db = TestDb::populated();
        db.client()
            .batch_execute(&format!(
                "ALTER TABLE refinery_schema_history ALTER COLUMN version TYPE {ty}"
            ))
            .unwrap();
        let out = expect(db.kronic().args(["migrate", "current", "--json"]), 0);
        let current: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(current["version"], 1, "{}", out.stdout);
        expect(db.kronic().args(["migrate", "history"]), 0);
        expect(db.kronic().args(["migrate", "check"]), 0);
        let out = expect(db.kronic().arg("health"), 0);
        let health: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(
            health["components"]["database"]["schema"]["version"], 1,
            "{}",
            out.stdout
        );
        expect(db.kronic().arg("backup"), 0);
        expect(db.kronic().args(["backup", "drill"]), 0);
        // Nothing pending: up is a no-op. A pending migration is refused, one line,
        // with the one command that converts the history.
        expect(db.kronic().args(["migrate", "up"]), 0);
        let dir = db.path("migrations");
        std::fs::create_dir_all(&dir).unwrap();
        let set = kronic_migrations_with(&dir);
        let out = run(&mut db.migrate_up(&set));
        one_line(&out, 65);
        assert_stderr(
            &out,
            "ALTER TABLE refinery_schema_history ALTER COLUMN version TYPE integer",
        );
    }
}

/// The built-in migrations copied into a folder, plus a second one.
fn kronic_migrations_with(dir: &std::path::Path) -> std::path::PathBuf {
    copy_builtin_migrations(dir);
    write_file(&dir.join("V2__more.sql"), "CREATE TABLE more (a int);");
    write_file(&dir.join("V2__more.down.sql"), "DROP TABLE more;");
    dir.to_path_buf()
}

fn an_empty_search_path_does_not_crash_migrate_check() {
    let db = TestDb::populated();
    for path in ["''", "\"$user\""] {
        db.client()
            .batch_execute(&format!(
                "ALTER ROLE {APP_USER} IN DATABASE {} SET search_path = {path}",
                db.name
            ))
            .unwrap();
        let out = run(db.kronic().args(["migrate", "check"]));
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
        assert_eq!(out.code, 0, "{}", out.all());
    }
    db.client()
        .batch_execute(&format!(
            "ALTER ROLE {APP_USER} IN DATABASE {} RESET search_path",
            db.name
        ))
        .unwrap();
}

fn age_inputs_are_bounded_and_armored_backups_restore() {
    let db = TestDb::populated();
    let (identity, public) = crate::formats::keygen(db.dir.path(), "key.txt");
    // An identity "file" without end: refused at 1 MiB, at once.
    let started = std::time::Instant::now();
    let out = run(db
        .kronic()
        .args(["backup", "verify", "--latest", "--identity", "/dev/zero"]));
    one_line(&out, 78);
    assert_stderr(&out, "longer than 1 MiB");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    // A recipients file that is not text: 78, naming it.
    let bad = db.path("recipients.bin");
    std::fs::write(&bad, b"age1\xff\xfe\n").unwrap();
    let out = run(db.kronic().arg("backup").arg("--recipients-file").arg(&bad));
    one_line(&out, 78);
    assert_stderr(&out, "not UTF-8");
    // An ssh recipient whose comment holds a comma, as age reads it: one recipient.
    let ssh = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN Smith, Alice (laptop)";
    let out = expect(
        db.kronic()
            .env("KRONIC_BACKUP_RECIPIENTS", format!("{ssh}, {public}"))
            .arg("backup"),
        0,
    );
    let name = completed(&out.stdout);
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(db.backup_dir().join(format!("{name}.manifest.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["recipients"][0], ssh, "{manifest}");
    assert_eq!(manifest["recipients"].as_array().unwrap().len(), 2);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    // An ASCII-armored backup (age -a, by hand) restores like a binary one.
    let out = expect(db.kronic().arg("backup"), 0);
    let name = completed(&out.stdout);
    let plain = db.backup_dir().join(name);
    let armored = db.path("kronic_backup_20260101_000000.sql.gz.age");
    run_ok(
        std::process::Command::new("age")
            .args(["-a", "-r", &public, "-o"])
            .arg(&armored)
            .arg(&plain),
    );
    assert!(
        std::fs::read(&armored)
            .unwrap()
            .starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----")
    );
    let before = content_checksum(&mut db.client());
    db.client().batch_execute("DELETE FROM user_roles").unwrap();
    expect(
        db.kronic()
            .arg("restore")
            .arg(&armored)
            .args(["--yes", "--identity"])
            .arg(&identity),
        0,
    );
    assert_eq!(content_checksum(&mut db.client()), before);
    expect(
        db.kronic()
            .args(["backup", "verify", "--identity"])
            .arg(&identity)
            .arg(&armored),
        0,
    );
}
