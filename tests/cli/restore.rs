//! `kronic restore`: all or nothing.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::*;

crate::register!(
    round_trip_into_empty_and_into_modified_databases,
    plain_sql_file_restores,
    a_newer_pg_dumps_settings_are_skipped_on_an_older_server,
    seed_script_dumps_restore_into_empty_and_populated,
    broken_files_and_failing_statements_change_nothing,
    refuses_without_yes_off_a_terminal,
    latest_picks_the_newest_backup,
    target_db_create_for_restore_drills,
    non_dump_files_are_refused_before_connecting,
    killed_or_terminated_halfway_changes_nothing,
);

/// `kronic restore` as the application role into `target`.
fn restore_into(target: &TestDb) -> assert_cmd::Command {
    let mut cmd = target.kronic();
    cmd.arg("restore");
    cmd
}

fn modify(db: &TestDb) {
    db.client()
        .batch_execute(
            "DELETE FROM users WHERE email LIKE 'u1%'; UPDATE roles SET permissions = '{}'; \
             INSERT INTO users (id, email, password_hash) VALUES (gen_random_uuid(), 'intruder@example.com', 'x')",
        )
        .unwrap();
}

fn gunzip(gz: &Path, out: &Path) {
    let mut sql = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::MultiGzDecoder::new(std::fs::File::open(gz).unwrap()),
        &mut sql,
    )
    .unwrap();
    std::fs::write(out, sql).unwrap();
}

fn round_trip_into_empty_and_into_modified_databases() {
    let src = TestDb::populated();
    let file = src.backed_up(&[]);
    let want = content_checksum(&mut src.client());
    let dst = TestDb::new();
    let out = expect(restore_into(&dst).arg(&file).arg("--yes"), 0);
    assert!(
        out.stdout.starts_with("Restore completed: "),
        "{}",
        out.stdout
    );
    assert_no_secret(&out);
    assert_eq!(content_checksum(&mut dst.client()), want);
    modify(&dst);
    assert_ne!(content_checksum(&mut dst.client()), want);
    expect(restore_into(&dst).arg(&file).arg("--yes"), 0);
    assert_eq!(content_checksum(&mut dst.client()), want);
}

fn plain_sql_file_restores() {
    let src = TestDb::populated();
    let gz = src.backed_up(&[]);
    let sql = src.path("dump.sql");
    gunzip(&gz, &sql);
    let dst = TestDb::new();
    expect(restore_into(&dst).arg(&sql).arg("--yes"), 0);
    assert_eq!(
        content_checksum(&mut dst.client()),
        content_checksum(&mut src.client())
    );
    // Told apart by content, not name: a gzip file called .sql works too.
    let disguised = src.path("really-gzip.sql");
    std::fs::copy(&gz, &disguised).unwrap();
    modify(&dst);
    expect(restore_into(&dst).arg(&disguised).arg("--yes"), 0);
    assert_eq!(
        content_checksum(&mut dst.client()),
        content_checksum(&mut src.client())
    );
}

/// pg_dump 17 and later write `SET transaction_timeout = 0;`, which PostgreSQL 15 and
/// 16 do not know (psql -1 -v ON_ERROR_STOP=1 stops there): a host whose client tools
/// are newer than its server makes such backups. The setting is skipped, with a line
/// saying so; the others still run.
fn a_newer_pg_dumps_settings_are_skipped_on_an_older_server() {
    let src = TestDb::populated();
    let sql = src.path("dump.sql");
    gunzip(&src.backed_up(&[]), &sql);
    let text = std::fs::read_to_string(&sql).unwrap();
    let newer = text.replacen(
        "SET lock_timeout = 0;\n",
        "SET lock_timeout = 0;\nSET transaction_timeout = 0;\nSET statement_timeout TO 0;\n",
        1,
    );
    assert_ne!(newer, text);
    std::fs::write(&sql, newer).unwrap();
    let dst = TestDb::new();
    let out = expect(restore_into(&dst).arg(&sql).arg("--yes"), 0);
    assert_stderr(&out, "this server has no setting transaction_timeout");
    assert!(!out.stderr.contains("statement_timeout"), "{}", out.stderr);
    assert_eq!(
        content_checksum(&mut dst.client()),
        content_checksum(&mut src.client())
    );
}

/// A dump made exactly as the seed's backup script makes it.
fn seed_script_dump(src: &TestDb) -> PathBuf {
    let file = src.path("kronic_backup_20231201_120000.sql");
    run_ok(
        pg_tool("pg_dump", &src.name)
            .args(["--verbose", "--clean", "--no-owner", "--no-privileges"])
            .arg(format!("--file={}", file.display())),
    );
    assert!(
        std::process::Command::new("gzip")
            .arg(&file)
            .status()
            .unwrap()
            .success()
    );
    src.path("kronic_backup_20231201_120000.sql.gz")
}

fn seed_script_dumps_restore_into_empty_and_populated() {
    let src = TestDb::populated();
    let file = seed_script_dump(&src);
    let want = content_checksum(&mut src.client());
    let dst = TestDb::new();
    let out = expect(restore_into(&dst).arg(&file).arg("--yes"), 0);
    assert!(out.stdout.contains("Restore completed"), "{}", out.stderr);
    assert_eq!(content_checksum(&mut dst.client()), want);
    modify(&dst);
    expect(restore_into(&dst).arg(&file).arg("--yes"), 0);
    assert_eq!(content_checksum(&mut dst.client()), want);
}

fn broken_files_and_failing_statements_change_nothing() {
    let src = TestDb::populated();
    let gz = src.backed_up(&[]);
    let bytes = std::fs::read(&gz).unwrap();
    let dst = TestDb::new();
    expect(restore_into(&dst).arg(&gz).arg("--yes"), 0);
    modify(&dst);
    let before = content_checksum(&mut dst.client());

    let truncated = src.path("truncated.sql.gz");
    std::fs::write(&truncated, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let mut corrupt = bytes.clone();
    let mid = corrupt.len() / 2;
    for b in &mut corrupt[mid..mid + 32] {
        *b = !*b;
    }
    let corrupted = src.path("corrupt.sql.gz");
    std::fs::write(&corrupted, &corrupt).unwrap();
    let plain = src.path("full.sql");
    gunzip(&gz, &plain);
    let sql = std::fs::read_to_string(&plain).unwrap();
    let cut = src.path("cut.sql");
    // Cut after the data, before the closing line: every statement so far is valid.
    std::fs::write(
        &cut,
        &sql[..sql.rfind("-- PostgreSQL database dump complete").unwrap() - 10],
    )
    .unwrap();
    let failing = src.path("failing.sql");
    let at = sql.rfind("-- PostgreSQL database dump complete").unwrap();
    std::fs::write(
        &failing,
        format!("{}SELECT * FROM no_such_table;\n{}", &sql[..at], &sql[at..]),
    )
    .unwrap();

    for (file, needle) in [
        (&truncated, "truncated.sql.gz"),
        (&corrupted, "corrupt.sql.gz"),
        (&cut, "cut.sql"),
        (&failing, "no_such_table"),
    ] {
        let out = run(restore_into(&dst).arg(file).arg("--yes"));
        assert_ne!(out.code, 0, "{} must fail", file.display());
        assert!(
            out.stderr.contains(needle),
            "{}: {}",
            file.display(),
            out.stderr
        );
        assert!(out.stdout.is_empty());
        assert_eq!(
            content_checksum(&mut dst.client()),
            before,
            "{} changed the database",
            file.display()
        );
    }
    let out = run(restore_into(&dst).arg(&failing).arg("--yes"));
    assert_eq!(out.code, 65);
    assert!(out.stderr.contains("at line "), "{}", out.stderr);
}

fn refuses_without_yes_off_a_terminal() {
    let src = TestDb::populated();
    let gz = src.backed_up(&[]);
    let dst = TestDb::new();
    let out = expect(restore_into(&dst).arg(&gz), 64);
    assert_stderr(&out, "--yes");
    assert_stderr(&out, &dst.name);
    assert_eq!(content_checksum(&mut dst.client()), "");
}

fn latest_picks_the_newest_backup() {
    let db = TestDb::populated();
    db.backed_up(&[]);
    std::thread::sleep(Duration::from_millis(1100));
    modify(&db);
    let newest = db.backed_up(&[]);
    let want = content_checksum(&mut db.client());
    db.client()
        .batch_execute("DELETE FROM user_roles; DELETE FROM users")
        .unwrap();
    let out = expect(db.kronic().args(["restore", "--latest", "--yes"]), 0);
    assert!(
        out.stdout
            .contains(&*newest.file_name().unwrap().to_string_lossy()),
        "{}",
        out.stdout
    );
    assert_eq!(content_checksum(&mut db.client()), want);
}

fn target_db_create_for_restore_drills() {
    let src = TestDb::populated();
    let gz = src.backed_up(&[]);
    let drill = format!("{}_drill", src.name);
    // Without --create a missing database is an error.
    let out = expect(
        src.kronic()
            .args(["restore", "--yes", "--target-db", &drill])
            .arg(&gz),
        69,
    );
    assert!(out.stderr.contains("does not exist"), "{}", out.stderr);
    let out = expect(
        src.kronic()
            .args(["restore", "--yes", "--create", "--target-db", &drill])
            .arg(&gz),
        0,
    );
    assert!(out.stdout.contains(&format!("/{drill}")), "{}", out.stdout);
    let mut c = connect_db(&drill);
    assert_eq!(
        content_checksum(&mut c),
        content_checksum(&mut src.client())
    );
    drop(c);
    // --create on an existing database restores into it.
    expect(
        src.kronic()
            .args(["restore", "--yes", "--create", "--target-db", &drill])
            .arg(&gz),
        0,
    );
    postgres::Client::connect(&server().admin_url, postgres::NoTls)
        .unwrap()
        .batch_execute(&format!("DROP DATABASE {drill} WITH (FORCE)"))
        .unwrap();
}

fn non_dump_files_are_refused_before_connecting() {
    let src = TestDb::populated();
    let custom = src.path("custom.dump");
    let ok = pg_tool("pg_dump", &src.name)
        .args(["-Fc", "-f"])
        .arg(&custom)
        .status()
        .unwrap();
    assert!(ok.success());
    let binary = src.path("random.bin");
    std::fs::write(
        &binary,
        (0..4096u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 7) as u8)
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    let empty = src.path("empty.sql.gz");
    std::fs::write(&empty, b"").unwrap();
    for (file, needle) in [
        (&custom, "custom-format"),
        (&binary, "neither gzip, zstd, age nor SQL"),
        (&empty, "empty"),
    ] {
        // Port 1: had kronic tried to connect, it would be 69.
        let out = expect(
            restore_into(&src)
                .env("KRONIC_DATABASE_PORT", "1")
                .arg(file)
                .arg("--yes"),
            65,
        );
        assert!(out.stderr.contains(needle), "{}", out.stderr);
    }
    expect(
        restore_into(&src)
            .arg(src.path("missing.sql.gz"))
            .arg("--yes"),
        66,
    );
}

/// Waits until kronic's session (application_name kronic) is loading data into `db`, or
/// until it has left: within 2 s of kronic being stopped, whatever the signal.
fn wait_for_session(db: &str, loading: bool) {
    let deadline = Instant::now() + Duration::from_secs(if loading { 60 } else { 2 });
    let mut c = postgres::Client::connect(&server().admin_url, postgres::NoTls).unwrap();
    loop {
        let n: i64 = c
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'kronic' AND ($2 = false OR query LIKE 'COPY%')",
                &[&db, &loading],
            )
            .unwrap()
            .get(0);
        if (n > 0) == loading {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "kronic's session never {}",
            if loading { "started loading" } else { "left" }
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn killed_or_terminated_halfway_changes_nothing() {
    let src = TestDb::populated();
    src.client()
        .batch_execute("SET ROLE kronic_app; CREATE TABLE big AS SELECT i, md5(i::text) || md5((i * 7)::text) AS payload FROM generate_series(1, 1500000) i")
        .unwrap();
    let gz = src.backed_up(&[]);
    let dst = TestDb::new();
    expect(restore_into(&dst).arg(&gz).arg("--yes"), 0);
    modify(&dst);
    dst.client().batch_execute("DROP TABLE big").unwrap();
    let before = content_checksum(&mut dst.client());

    for signal in ["-KILL", "-TERM", "-HUP", "-QUIT", "-INT"] {
        let mut cmd = dst.kronic_std();
        cmd.arg("restore")
            .arg(&gz)
            .arg("--yes")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        let child = cmd.spawn().unwrap();
        wait_for_session(&dst.name, true);
        std::process::Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        let out = child.wait_with_output().unwrap();
        if signal != "-KILL" {
            assert_eq!(
                out.status.code(),
                Some(130),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        wait_for_session(&dst.name, false);
        assert_eq!(
            content_checksum(&mut dst.client()),
            before,
            "{signal} halfway changed the database"
        );
    }
}
