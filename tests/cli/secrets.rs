//! Secrets never reach a child, a disk or a log; configuration behaves as documented;
//! the messages a sysadmin reads at 3 a.m. say what to do.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::*;

crate::register!(
    children_get_no_kronic_variable_and_no_password,
    kill_9_mid_backup_leaves_the_password_nowhere,
    trace_logs_hold_no_password_and_no_admin_hash,
    url_without_password_uses_the_password_variable_then_pgpass,
    no_password_configured_is_77_with_what_to_do,
    empty_variables_are_unset_and_flags_beat_variables,
    invalid_variables_are_78_naming_the_variable,
    metrics_are_world_readable_and_a_missing_folder_fails_first,
    healthz_survives_idle_connections,
    serve_accepts_a_port_or_a_host_name,
    three_am_messages,
);

/// A pg_dump that writes its environment (for both the version probe and the dump) next
/// to `dir`, then runs the real one.
fn env_spy(dir: &Path) -> std::path::PathBuf {
    let bin = dir.join("envspy");
    std::fs::create_dir_all(&bin).unwrap();
    let real = cluster::bindir().join("pg_dump");
    write_file(
        &bin.join("pg_dump"),
        &format!(
            "#!/bin/sh\nenv >> {log}/child-env\necho --- >> {log}/child-env\nexec {real} \"$@\"\n",
            real = real.display(),
            log = dir.display()
        ),
    );
    cluster::set_mode(&bin.join("pg_dump"), 0o755);
    bin
}

fn children_get_no_kronic_variable_and_no_password() {
    let db = TestDb::populated();
    let spy = env_spy(db.dir.path());
    expect(
        db.kronic()
            .env("KRONIC_PG_BINDIR", &spy)
            .env("KRONIC_X_SOMETHING_ELSE", "x")
            .env("PGPASSWORD", "operator-pgpassword")
            .arg("backup"),
        0,
    );
    let env = std::fs::read_to_string(db.path("child-env")).unwrap();
    let runs: Vec<&str> = env
        .split("---\n")
        .filter(|r| !r.trim().is_empty())
        .collect();
    assert!(runs.len() >= 2, "the version probe and the dump: {env}");
    for run in runs {
        assert!(!run.contains("KRONIC_"), "{run}");
        assert!(
            !run.contains(APP_PASSWORD),
            "password in a child's environment"
        );
        assert!(!run.contains("operator-pgpassword"), "{run}");
        assert!(run.contains("LC_ALL=C"), "{run}");
    }
}

/// Every regular file under `dir` (not following links) written since `since` that
/// contains `needle` (older files, such as this test's own build, cannot be kronic's).
fn files_holding(
    dir: &Path,
    needle: &[u8],
    since: std::time::SystemTime,
) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    if dir.join("PG_VERSION").exists() {
        // A test cluster's data: its role passwords are SCRAM verifiers.
        return found;
    }
    for e in entries.flatten() {
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() {
            found.extend(files_holding(&e.path(), needle, since));
        } else if t.is_file()
            && e.metadata()
                .is_ok_and(|m| m.len() < 4 << 20 && m.modified().is_ok_and(|t| t >= since))
            && std::fs::read(e.path()).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle))
        {
            found.push(e.path());
        }
    }
    found
}

fn kill_9_mid_backup_leaves_the_password_nowhere() {
    let db = TestDb::populated();
    db.client()
        .batch_execute(
            "SET ROLE kronic_app; CREATE TABLE big AS SELECT i, md5(i::text) || md5((i * 7)::text) AS p \
             FROM generate_series(1, 1500000) i",
        )
        .unwrap();
    let since = std::time::SystemTime::now();
    let mut cmd = db.kronic_std();
    cmd.arg("backup")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n: i64 = db
            .client()
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'COPY%'",
                &[],
            )
            .unwrap()
            .get(0);
        if n > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "pg_dump never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    for dir in [
        std::env::temp_dir(),
        "/var/tmp".into(),
        "/dev/shm".into(),
        db.dir.path().into(),
    ] {
        let found = files_holding(&dir, APP_PASSWORD.as_bytes(), since);
        assert!(found.is_empty(), "the password is on disk: {found:?}");
    }
}

fn trace_logs_hold_no_password_and_no_admin_hash() {
    let db = TestDb::new();
    let trace = |cmd: &mut assert_cmd::Command| {
        let out = expect(cmd.env("KRONIC_LOG", "trace"), 0);
        assert_no_secret(&out);
        out.all()
    };
    let mut logs = trace(db.kronic().args(["migrate", "up"]));
    logs += &trace(
        db.kronic()
            .env("KRONIC_ADMIN_EMAIL", "admin@example.com")
            .env("KRONIC_ADMIN_PASSWORD", "a long admin password")
            .args(["seed", "--reset-admin-password"]),
    );
    let backup = trace(db.kronic().arg("backup"));
    let name = backup
        .lines()
        .find_map(|l| l.strip_prefix("Backup completed: "))
        .unwrap()
        .to_string();
    logs += &backup;
    logs += &trace(
        db.kronic()
            .arg("restore")
            .arg(db.backup_dir().join(name))
            .arg("--yes"),
    );
    let hash = db.admin_hash();
    assert!(logs.contains("TRACE"), "trace was on");
    assert!(!logs.contains("a long admin password"));
    assert!(!logs.contains(&hash), "the admin hash is in a log");
    assert!(!logs.contains("$argon2id$"), "an argon2 hash is in a log");
}

fn url_without_password_uses_the_password_variable_then_pgpass() {
    let db = TestDb::new();
    let s = server();
    let url = format!("postgresql://{APP_USER}@{}:{}/{}", s.host, s.port, db.name);
    // The README's cron recipe: the URL in the crontab, the password beside it.
    expect(
        kronic_bare()
            .env("KRONIC_DATABASE_URL", &url)
            .env("KRONIC_DATABASE_PASSWORD", APP_PASSWORD)
            .args(["migrate", "current"]),
        0,
    );
    // No password configured: ~/.pgpass, with libpq's escapes and its 0600 rule.
    let home = db.path("home");
    std::fs::create_dir_all(&home).unwrap();
    let escaped = APP_PASSWORD.replace('\\', "\\\\").replace(':', "\\:");
    let pgpass = home.join(".pgpass");
    write_file(
        &pgpass,
        &format!(
            "# a comment\nother:1:*:*:wrong\n{}:{}:*:{APP_USER}:{escaped}\n",
            s.host, s.port
        ),
    );
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    expect(
        kronic_bare()
            .env("HOME", &home)
            .env("KRONIC_DATABASE_URL", &url)
            .args(["migrate", "current"]),
        0,
    );
    // PGPASSFILE names another file; a group-readable one is ignored, with a warning.
    let elsewhere = db.path("pgpass");
    std::fs::copy(&pgpass, &elsewhere).unwrap();
    std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = expect(
        kronic_bare()
            .env("HOME", &home)
            .env("PGPASSFILE", &elsewhere)
            .env("KRONIC_DATABASE_URL", &url)
            .args(["migrate", "current"]),
        77,
    );
    assert_stderr(&out, "group or world access");
}

fn no_password_configured_is_77_with_what_to_do() {
    let db = TestDb::new();
    let s = server();
    let out = expect(
        kronic_bare()
            .env("HOME", db.dir.path())
            .env("KRONIC_DATABASE_HOST", &s.host)
            .env("KRONIC_DATABASE_PORT", s.port.to_string())
            .env("KRONIC_DATABASE_NAME", &db.name)
            .env("KRONIC_DATABASE_USER", APP_USER)
            .args(["migrate", "current"]),
        77,
    );
    assert!(
        out.stderr.contains(&format!(
            "the server asks for a password for user {APP_USER} and none is configured: set KRONIC_DATABASE_PASSWORD, put it in the URL or in ~/.pgpass"
        )),
        "{}",
        out.stderr
    );
}

fn empty_variables_are_unset_and_flags_beat_variables() {
    let db = TestDb::populated();
    expect(
        db.kronic()
            .env("KRONIC_BACKUP_KEEP_DAYS", "")
            .env("KRONIC_BACKUP_METRICS_FILE", "")
            .arg("backup"),
        0,
    );
    let out = expect(
        db.kronic()
            .env("KRONIC_BACKUP_KEEP_DAYS", "")
            .env("KRONIC_BACKUP_DIR", "")
            .args(["backup", "prune", "--dry-run", "--dir"])
            .arg(db.backup_dir()),
        0,
    );
    assert_eq!(out.stdout.lines().last(), Some("nothing to prune"));
    // --admin-password-stdin beats KRONIC_ADMIN_PASSWORD, and an empty one is unset.
    for env_pw in ["the variable's password", ""] {
        expect(
            db.kronic()
                .env("KRONIC_ADMIN_EMAIL", "admin@example.com")
                .env("KRONIC_ADMIN_PASSWORD", env_pw)
                .args(["seed", "--reset-admin-password", "--admin-password-stdin"])
                .write_stdin("the stdin password\n"),
            0,
        );
        let hash = db.admin_hash();
        assert!(
            crate::seed::verifies(&hash, "the stdin password"),
            "stdin must win"
        );
    }
}

fn invalid_variables_are_78_naming_the_variable() {
    let db = TestDb::new();
    for bad in ["abc", "-1", "7d"] {
        let out = expect(
            db.kronic()
                .env("KRONIC_BACKUP_KEEP_DAYS", bad)
                .args(["backup", "prune", "--dry-run"]),
            78,
        );
        assert_stderr(&out, "KRONIC_BACKUP_KEEP_DAYS");
        assert!(!out.stderr.contains("--keep-days"), "{}", out.stderr);
    }
    let out = expect(
        db.kronic()
            .env("KRONIC_LOCK_WAIT", "soon")
            .args(["migrate", "up"]),
        78,
    );
    assert!(out.stderr.contains("KRONIC_LOCK_WAIT"), "{}", out.stderr);
}

fn metrics_are_world_readable_and_a_missing_folder_fails_first() {
    let db = TestDb::populated();
    let prom = db.path("kronic.prom");
    expect(
        db.kronic().arg("backup").arg("--metrics-file").arg(&prom),
        0,
    );
    assert_eq!(
        std::fs::metadata(&prom).unwrap().permissions().mode() & 0o777,
        0o644
    );
    let missing = db.path("no-such-folder/kronic.prom");
    let before = std::fs::read_dir(db.backup_dir()).unwrap().count();
    std::thread::sleep(Duration::from_millis(1100));
    let out = expect(
        db.kronic()
            .arg("backup")
            .arg("--metrics-file")
            .arg(&missing),
        73,
    );
    assert!(out.stderr.contains("no-such-folder"), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "no backup was made: {}", out.stdout);
    assert_eq!(std::fs::read_dir(db.backup_dir()).unwrap().count(), before);
    // Writing the metrics fails after a good backup (the path is a folder): the backup
    // is kept, and the error says so.
    let blocked = db.path("prom-is-a-folder");
    std::fs::create_dir_all(&blocked).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let out = run(db
        .kronic()
        .arg("backup")
        .arg("--metrics-file")
        .arg(&blocked));
    assert_ne!(out.code, 0);
    assert_stderr(&out, "was kept, but the metrics file was not written");
    let name = out
        .stdout
        .trim()
        .strip_prefix("Backup completed: ")
        .unwrap();
    assert!(db.backup_dir().join(name).exists());
    // A dry run says "would prune" once, on stdout only.
    let old = db.backup_dir().join("kronic_backup_20000101_000000.sql.gz");
    std::fs::copy(db.backup_dir().join(name), &old).unwrap();
    let out = expect(db.kronic().args(["backup", "prune", "--dry-run"]), 0);
    assert_eq!(
        out.stdout.matches("would prune").count(),
        1,
        "{}",
        out.stdout
    );
    assert!(!out.stderr.contains("would prune"), "{}", out.stderr);
}

fn http_get(port: u16) -> Result<u16, String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).map_err(|e| e.to_string())?;
    resp.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or(resp)
}

/// Holds `n` idle connections to `port` in a Python process (its own descriptor limit);
/// returns it once they are all open, and a file where it reports how many the server
/// closed when asked (`kill -USR1`).
fn idle_connections(port: u16, n: usize, dir: &Path) -> (std::process::Child, std::path::PathBuf) {
    let report = dir.join("closed");
    let script = format!(
        "import resource, signal, socket, sys, time\n\
         soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n\
         resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))\n\
         socks = [socket.create_connection(('127.0.0.1', {port})) for _ in range({n})]\n\
         def count(*_):\n\
         \x20   closed = 0\n\
         \x20   for s in socks:\n\
         \x20       s.setblocking(False)\n\
         \x20       try:\n\
         \x20           closed += s.recv(1) == b''\n\
         \x20       except BlockingIOError:\n\
         \x20           pass\n\
         \x20       except OSError:\n\
         \x20           closed += 1\n\
         \x20   open('{report}', 'w').write(str(closed))\n\
         signal.signal(signal.SIGUSR1, count)\n\
         print('ready', flush=True)\n\
         while True: time.sleep(1)\n",
        report = report.display()
    );
    let mut child = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "ready");
    (child, report)
}

fn healthz_survives_idle_connections() {
    let db = TestDb::new();
    let port = cluster::free_port();
    // Under a 1024-descriptor limit, as in the report.
    let mut server = db
        .bash(&format!(
            "ulimit -n 1024; exec {} health --serve 127.0.0.1:{port}",
            env!("CARGO_BIN_EXE_kronic")
        ))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while http_get(port).is_err() {
        assert!(Instant::now() < deadline, "never served");
        std::thread::sleep(Duration::from_millis(50));
    }
    // 1,100 idle connections: real probes are still answered, at once.
    let (mut idle, report) = idle_connections(port, 1100, db.dir.path());
    for _ in 0..5 {
        let t = Instant::now();
        assert_eq!(http_get(port), Ok(200));
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "probe took {:?}",
            t.elapsed()
        );
    }
    // Connections that send nothing are closed within about 10 s.
    std::thread::sleep(Duration::from_secs(11));
    std::process::Command::new("kill")
        .args(["-USR1", &idle.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !report.exists() {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    let closed: usize = std::fs::read_to_string(&report)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(closed, 1100, "idle connections left open");
    idle.kill().unwrap();
    idle.wait().unwrap();
    assert_eq!(http_get(port), Ok(200));
    server.kill().unwrap();
    server.wait().unwrap();
}

fn serve_accepts_a_port_or_a_host_name() {
    let db = TestDb::new();
    for form in ["PORT", "localhost:PORT"] {
        let port = cluster::free_port();
        let mut server = db
            .kronic_std()
            .args([
                "health",
                "--serve",
                &form.replace("PORT", &port.to_string()),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while http_get(port) != Ok(200) {
            assert!(Instant::now() < deadline, "{form}: never served");
            std::thread::sleep(Duration::from_millis(50));
        }
        server.kill().unwrap();
        server.wait().unwrap();
    }
    let out = expect(
        db.kronic().args(["health", "--serve", "localhost:http"]),
        64,
    );
    assert!(out.stderr.starts_with("kronic: error:"), "{}", out.stderr);
}

/// A server that refuses TLS ('N' to the SSLRequest), then hangs up.
fn no_tls_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let mut req = [0u8; 8];
            if s.read_exact(&mut req).is_ok() {
                let _ = s.write_all(b"N");
            }
        }
    });
    port
}

fn three_am_messages() {
    let db = TestDb::populated();
    let out = expect(db.kronic().arg("backup"), 0);
    let gz = db.backup_dir().join(
        out.stdout
            .trim()
            .strip_prefix("Backup completed: ")
            .unwrap(),
    );
    // A missing --target-db: say --create.
    let out = expect(
        db.kronic()
            .args(["restore", "--yes", "--target-db", "kt_nowhere"])
            .arg(&gz),
        69,
    );
    assert!(out.stderr.contains("add --create"), "{}", out.stderr);
    // --create without CREATEDB.
    postgres::Client::connect(&server().admin_url, postgres::NoTls)
        .unwrap()
        .batch_execute("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kt_nocreatedb') THEN CREATE ROLE kt_nocreatedb LOGIN PASSWORD 'nocreatedb-pw'; END IF; END $$")
        .unwrap();
    let out = expect(
        db.kronic()
            .env("KRONIC_DATABASE_USER", "kt_nocreatedb")
            .env("KRONIC_DATABASE_PASSWORD", "nocreatedb-pw")
            .args(["restore", "--yes", "--create", "--target-db", "kt_nowhere"])
            .arg(&gz),
        77,
    );
    assert_stderr(&out, "lacks the CREATEDB privilege");
    // Not a dump at all.
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let out = expect(db.kronic().args(["restore", "--yes"]).arg(&readme), 65);
    assert_stderr(&out, "is not a pg_dump plain-SQL file");
    // No file: say --latest.
    let out = expect(db.kronic().args(["restore", "--yes"]), 64);
    assert!(out.stderr.contains("--latest"), "{}", out.stderr);
    // Argument errors look like every other error.
    let out = expect(db.kronic().args(["backup", "--no-such-flag"]), 64);
    assert!(out.stderr.starts_with("kronic: error:"), "{}", out.stderr);
    // sslmode=require against a server without TLS.
    let out = expect(
        kronic_at(no_tls_server())
            .env("KRONIC_DATABASE_SSLMODE", "require")
            .args(["migrate", "current"]),
        69,
    );
    assert_stderr(&out, "does not support TLS");
    // verify names each failure among several files.
    let bad = db.path("kronic_backup_20200101_000000.sql.gz");
    std::fs::write(&bad, b"\x1f\x8b garbage").unwrap();
    let out = expect(
        db.kronic().args(["backup", "verify"]).arg(&gz).arg(&bad),
        65,
    );
    assert!(
        out.stdout.contains(&format!("ok: {}", gz.display())),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains("1 of 2 backups failed verification")
            && out.stderr.contains(&*bad.to_string_lossy()),
        "{}",
        out.stderr
    );
    // Two backups back to back in the same second: both succeed, with two names.
    let a = expect(db.kronic().arg("backup"), 0);
    let b = expect(db.kronic().arg("backup"), 0);
    assert_ne!(a.stdout, b.stdout);
    // --wait says it is waiting once, not every 500 ms.
    let out = expect(
        kronic_at(cluster::free_port()).args(["migrate", "current", "--wait", "3"]),
        69,
    );
    assert_eq!(
        out.stderr.matches("not ready yet").count(),
        1,
        "{}",
        out.stderr
    );
    // "nothing to apply" once, on stdout.
    let out = expect(db.kronic().args(["migrate", "up"]), 0);
    assert!(out.stdout.contains("nothing to apply") && !out.stderr.contains("nothing to apply"));
    // Health JSON without float noise.
    let out = expect(db.kronic().arg("health"), 0);
    for key in ["check_ms", "latency_ms"] {
        let v = out.stdout.split(&format!("\"{key}\": ")).nth(1).unwrap();
        let num: &str = v.split([',', '\n', '}']).next().unwrap();
        let decimals = num.split('.').nth(1).map_or(0, str::len);
        assert!(decimals <= 3, "{key}: {num}");
    }
    // An unreadable backup folder: 77, the path once.
    if std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
    {
        let locked = db.path("locked");
        std::fs::create_dir_all(&locked).unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::set_permissions(db.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let out = std::process::Command::new("runuser")
            .args(["-u", "nobody", "--"])
            .arg(env!("CARGO_BIN_EXE_kronic"))
            .args(["backup", "list", "--dir"])
            .arg(&locked)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(77), "{stderr}");
        assert_eq!(
            stderr.matches(&*locked.to_string_lossy()).count(),
            1,
            "{stderr}"
        );
    }
}
