//! `kronic health`: the documented JSON, exit codes, and `--serve`.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

crate::register!(
    json_shape_and_pool_invariant_against_a_live_server,
    server_down_gives_error_json_and_69_quickly,
    wrong_password_gives_77,
    silent_listener_is_bounded_by_timeout,
    wait_until_healthy,
    serve_follows_the_database_down_and_up_under_load,
    serve_never_cuts_a_request_and_keeps_alive_between_them,
    pending_migrations_are_degraded_not_ok,
);

fn parse(out: &Output) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", out.stdout))
}

/// The documented keys, with the right types; returns the database component.
fn check_shape(v: &Value) -> &Value {
    assert!(v["status"].is_string());
    let d = &v["components"]["database"];
    assert!(d["status"].is_string());
    assert!(d["database_url"].is_string());
    for k in ["size", "checked_in", "checked_out", "overflow", "invalid"] {
        assert!(
            d["pool"][k].is_i64() || d["pool"][k].is_u64(),
            "pool.{k} missing: {v}"
        );
    }
    let p = &d["pool"];
    let n = |k: &str| p[k].as_i64().unwrap();
    assert_eq!(
        n("checked_in") + n("checked_out"),
        n("size") + n("overflow"),
        "{p}"
    );
    d
}

fn json_shape_and_pool_invariant_against_a_live_server() {
    let db = TestDb::new();
    expect(db.kronic().args(["migrate", "up"]), 0);
    let out = expect(
        db.kronic()
            .env("KRONIC_DATABASE_POOL_SIZE", "5")
            .arg("health"),
        0,
    );
    assert_no_secret(&out);
    let v = parse(&out);
    assert_eq!(v["status"], "ok");
    let d = check_shape(&v);
    assert_eq!(d["status"], "healthy");
    let s = server();
    assert_eq!(
        d["database_url"],
        format!("{}:{}/{}", s.host, s.port, db.name)
    );
    assert!(!out.stdout.contains(APP_USER), "no user name in the JSON");
    assert_eq!(d["pool"]["size"], 5);
    // One connection was opened for the check and is back in the pool.
    assert_eq!(d["pool"]["checked_in"], 1);
    assert_eq!(d["pool"]["checked_out"], 0);
    assert_eq!(d["pool"]["overflow"], -4);
    assert_eq!(d["schema"]["version"], 1);
    assert_eq!(d["schema"]["pending"], 0);
    assert!(
        d["server_version"]
            .as_str()
            .unwrap()
            .starts_with(char::is_numeric)
    );
    assert!(d["connections"]["max"].as_i64().unwrap() > 0);
}

fn server_down_gives_error_json_and_69_quickly() {
    let port = cluster::free_port();
    let started = Instant::now();
    let out = expect(
        kronic_at(port)
            .env("KRONIC_DATABASE_PASSWORD", "hunter2-health")
            .arg("health"),
        69,
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    let v = parse(&out);
    assert_eq!(v["status"], "error");
    let d = check_shape(&v);
    assert_eq!(d["status"], "unhealthy");
    assert!(
        d["error"].as_str().unwrap().contains("connection refused"),
        "{v}"
    );
    assert!(!out.all().contains("hunter2-health"));
    // The reason on stderr too, for whoever reads the log rather than the JSON.
    assert!(
        out.stderr.starts_with("kronic: error: ") && out.stderr.contains("connection refused"),
        "{}",
        out.stderr
    );
    // A signal while --wait retries ends it like any other run: 130, not 143.
    let mut cmd = kronic_bare_std();
    cmd.env("KRONIC_DATABASE_HOST", "127.0.0.1")
        .env("KRONIC_DATABASE_PORT", port.to_string())
        .args(["health", "--wait", "30"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(700));
    assert_interrupted(&signal_and_wait(child, "-TERM"));
    let mut cmd = kronic_bare_std();
    cmd.env("KRONIC_DATABASE_HOST", "127.0.0.1")
        .env("KRONIC_DATABASE_PORT", port.to_string())
        .args(["migrate", "--wait", "30", "up"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(700));
    assert_interrupted(&signal_and_wait(child, "-TERM"));
}

fn pending_migrations_are_degraded_not_ok() {
    let db = TestDb::seeded_on(server());
    let dir = db.path("migrations");
    copy_builtin_migrations(&dir);
    write_file(&dir.join("V2__more.sql"), "CREATE TABLE more (a int);");
    write_file(&dir.join("V2__more.down.sql"), "DROP TABLE more;");
    let out = expect(
        db.kronic().env("KRONIC_MIGRATIONS_DIR", &dir).arg("health"),
        0,
    );
    let v = parse(&out);
    assert_eq!(v["status"], "degraded", "{v}");
    // Applying it says nothing of NOTICEs ("already exists, skipping").
    let out = expect(
        db.kronic()
            .env("KRONIC_MIGRATIONS_DIR", &dir)
            .args(["migrate", "up"]),
        0,
    );
    assert!(
        !out.all().contains("NOTICE") && !out.all().contains("skipping"),
        "{}",
        out.all()
    );
    let out = expect(
        db.kronic().env("KRONIC_MIGRATIONS_DIR", &dir).arg("health"),
        0,
    );
    assert_eq!(parse(&out)["status"], "ok");
}

fn wrong_password_gives_77() {
    let db = TestDb::new();
    let out = expect(
        db.kronic()
            .env("KRONIC_DATABASE_PASSWORD", "wrong-pw-123")
            .arg("health"),
        77,
    );
    let v = parse(&out);
    assert!(
        v["components"]["database"]["error"]
            .as_str()
            .unwrap()
            .contains("password authentication failed")
    );
    assert!(!out.all().contains("wrong-pw-123"));
}

fn silent_listener_is_bounded_by_timeout() {
    let port = silent_listener();
    let started = Instant::now();
    let out = expect(kronic_at(port).args(["health", "--timeout", "1"]), 75);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let v = parse(&out);
    assert_eq!(v["components"]["database"]["status"], "unhealthy");
}

fn wait_until_healthy() {
    let c = Cluster::start();
    c.stop_server();
    let mut cmd = kronic_bare_std();
    cmd.env("KRONIC_DATABASE_URL", c.superuser_url())
        .args(["health", "--wait", "60"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    std::thread::sleep(Duration::from_secs(2));
    c.start_server();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Reachable, healthy, and not migrated yet: degraded, exit 0.
    assert_eq!(v["status"], "degraded");
    assert_eq!(v["components"]["database"]["status"], "healthy");
}

/// A minimal HTTP GET: (status code, body).
fn get(port: u16, path: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "health server never listened");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn serve_follows_the_database_down_and_up_under_load() {
    let c = Cluster::start();
    let port = cluster::free_port();
    let mut cmd = kronic_bare_std();
    cmd.env("KRONIC_DATABASE_URL", c.superuser_url())
        .env("KRONIC_DATABASE_POOL_SIZE", "5")
        .env("KRONIC_DATABASE_CONNECT_TIMEOUT", "2")
        .args(["health", "--serve", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    wait_for_port(port);

    let (code, body) = get(port, "/healthz");
    assert_eq!(code, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    check_shape(&v);
    assert_eq!(get(port, "/nope").0, 404);

    c.stop_server();
    let (code, body) = get(port, "/healthz");
    assert_eq!(code, 503, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "error");
    check_shape(&v);

    c.start_server();
    let (code, body) = get(port, "/healthz");
    assert_eq!(code, 200, "recovers: {body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(
        v["components"]["database"]["pool"]["invalid"]
            .as_i64()
            .unwrap()
            >= 1,
        "the dead connection was discarded: {v}"
    );

    // 50 at once through a pool of 5.
    let handles: Vec<_> = (0..50)
        .map(|_| std::thread::spawn(move || get(port, "/healthz")))
        .collect();
    for h in handles {
        let (code, body) = h.join().unwrap();
        assert_eq!(code, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let p = &check_shape(&v)["pool"];
        assert!(
            p["checked_in"].as_i64().unwrap() + p["checked_out"].as_i64().unwrap() <= 5,
            "{p}"
        );
    }

    let pid = child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "SIGTERM exits 0: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One keep-alive connection's request: the status, or None when the connection gave
/// no answer.
fn keep_alive_get(s: &mut std::net::TcpStream) -> Option<u16> {
    write!(s, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").ok()?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_string())
        })?
        .parse()
        .ok()?;
    let mut body = vec![0; length];
    s.read_exact(&mut body).ok()?;
    head.split(' ').nth(1)?.parse().ok()
}

fn serve_never_cuts_a_request_and_keeps_alive_between_them() {
    let db = TestDb::populated();
    let port = cluster::free_port();
    let child = db
        .kronic_std()
        .args([
            "health",
            "--timeout",
            "12",
            "--serve",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for_port(port);
    // Keep-alive clients asking every 300 ms for 13 s (past the 10 s idle limit): every
    // request answered.
    let clients: Vec<_> = (0..20)
        .map(|_| {
            std::thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                let until = Instant::now() + Duration::from_secs(13);
                let mut answered = 0;
                while Instant::now() < until {
                    assert_eq!(keep_alive_get(&mut s), Some(200), "after {answered}");
                    answered += 1;
                    std::thread::sleep(Duration::from_millis(300));
                }
                answered
            })
        })
        .collect();
    for c in clients {
        assert!(c.join().unwrap() > 30);
    }
    // An idle keep-alive connection is closed, cleanly, after 10 s, while a check that
    // waits on the database longer than that is answered (503 at its own --timeout),
    // not cut.
    let mut idle = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    assert_eq!(keep_alive_get(&mut idle), Some(200));
    let idle_since = Instant::now();
    let mut app = db.client();
    app.batch_execute("BEGIN; LOCK TABLE refinery_schema_history IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let slow = std::thread::spawn(move || {
        let mut slow = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        slow.set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let started = Instant::now();
        (keep_alive_get(&mut slow), started.elapsed())
    });
    let mut rest = Vec::new();
    let _ = idle.read_to_end(&mut rest);
    let idled = idle_since.elapsed();
    assert!(idled >= Duration::from_secs(9), "{idled:?}");
    assert!(rest.is_empty());
    let (status, took) = slow.join().unwrap();
    assert_eq!(status, Some(503));
    assert!(took >= Duration::from_secs(11), "{took:?}");
    app.batch_execute("ROLLBACK").unwrap();
    let _ = signal_and_wait(child, "-TERM");
}
