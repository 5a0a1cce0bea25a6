//! Failures reach a human: healthchecks.io-style pings to a local receiver when a
//! backup or drill starts and ends, and from the systemd units' OnFailure=.

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex};

use crate::support::*;

crate::register!(
    backups_and_drills_ping_start_and_outcome,
    pings_follow_no_redirect_and_carry_no_rows,
);

/// The requests a receiver got: (path, body), in order.
type Pings = Arc<Mutex<Vec<(String, String)>>>;

/// A local HTTP receiver: its URL, and what it receives.
fn receiver() -> (String, Pings) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/ping/abc-123",
        listener.local_addr().unwrap().port()
    );
    let got = Arc::new(Mutex::new(Vec::new()));
    let seen = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let path = line.split(' ').nth(1).unwrap_or("").to_string();
            let mut length = 0;
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).unwrap();
                if h.trim().is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            seen.lock()
                .unwrap()
                .push((path, String::from_utf8_lossy(&body).into_owned()));
            let mut out = stream;
            out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK")
                .unwrap();
        }
    });
    (url, got)
}

fn backups_and_drills_ping_start_and_outcome() {
    let db = TestDb::populated();
    let (url, got) = receiver();
    let take = |got: &Pings| std::mem::take(&mut *got.lock().unwrap());
    expect(db.kronic().env("KRONIC_NOTIFY_URL", &url).arg("backup"), 0);
    let pings = take(&got);
    assert_eq!(pings.len(), 2, "{pings:?}");
    assert_eq!(pings[0].0, "/ping/abc-123/start");
    assert_eq!(pings[1].0, "/ping/abc-123/0");
    expect(db.kronic().args(["backup", "drill", "--notify", &url]), 0);
    assert_eq!(take(&got)[1].0, "/ping/abc-123/0");
    // A failure: the exit code and the error line, as a human will read them.
    let out = expect(
        db.kronic()
            .env("KRONIC_NOTIFY_URL", &url)
            .env("KRONIC_DATABASE_PORT", cluster::free_port().to_string())
            .arg("backup"),
        69,
    );
    let pings = take(&got);
    assert_eq!(pings[0].0, "/ping/abc-123/start");
    assert_eq!(pings[1].0, "/ping/abc-123/69");
    assert!(pings[1].1.contains("connection refused"), "{pings:?}");
    assert!(!out.all().contains("abc-123"), "the ping URL is a secret");
    // systemd's OnFailure= template.
    expect(
        kronic_bare().env("KRONIC_NOTIFY_URL", &url).args([
            "notify",
            "--failed",
            "kronic-backup.service",
        ]),
        0,
    );
    let pings = take(&got);
    assert_eq!(
        pings,
        [(
            "/ping/abc-123/fail".to_string(),
            "kronic-backup.service failed".to_string()
        )]
    );
    // A receiver that is gone is a warning, never the run's failure.
    let out = expect(
        db.kronic()
            .env(
                "KRONIC_NOTIFY_URL",
                format!("http://127.0.0.1:{}/x", cluster::free_port()),
            )
            .arg("backup"),
        0,
    );
    assert_stderr(&out, "notification was not delivered");
    let out = expect(
        db.kronic()
            .env("KRONIC_NOTIFY_URL", "ftp://x")
            .arg("backup"),
        78,
    );
    assert_stderr(&out, "KRONIC_NOTIFY_URL");
}

/// A receiver that answers every request with a redirect to `to`.
fn redirecting(to: &str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/ping/xyz-789",
        listener.local_addr().unwrap().port()
    );
    let location = to.to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                    break;
                }
            }
            let mut out = stream;
            let _ = out.write_all(
                format!("HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            );
        }
    });
    url
}

fn pings_follow_no_redirect_and_carry_no_rows() {
    let db = TestDb::populated();
    // The other host a redirect points at gets nothing: not the URL, not the body.
    let (elsewhere, got) = receiver();
    let url = redirecting(&elsewhere);
    let out = expect(db.kronic().env("KRONIC_NOTIFY_URL", &url).arg("backup"), 0);
    assert!(got.lock().unwrap().is_empty(), "a redirect was followed");
    assert_stderr(&out, "a redirect, which kronic does not follow");
    // A cloud metadata address is no place for a ping.
    let out = expect(
        db.kronic()
            .env("KRONIC_NOTIFY_URL", "http://169.254.169.254/latest")
            .arg("backup"),
        78,
    );
    assert_stderr(&out, "link-local");
    // A drill that fails on a row: the ping names the line and the SQLSTATE, never the
    // row the server quotes.
    let (url, got) = receiver();
    let dump = db.path("failing.sql");
    write_file(
        &dump,
        "--\n-- PostgreSQL database dump\n--\n\nSET statement_timeout = 0;\n\
         CREATE TABLE public.people (email text CHECK (email NOT LIKE '%@secret.example'));\n\
         COPY public.people (email) FROM stdin;\nalice@secret.example\n\\.\n\n\
         --\n-- PostgreSQL database dump complete\n--\n\n",
    );
    let out = expect(
        db.kronic()
            .args(["backup", "drill", "--notify", &url])
            .arg(&dump),
        65,
    );
    // The operator still sees the whole story on the terminal.
    assert_stderr(&out, "alice@secret.example");
    let pings = std::mem::take(&mut *got.lock().unwrap());
    let last = &pings.last().unwrap();
    assert_eq!(last.0, "/ping/abc-123/65");
    assert!(last.1.contains("SQLSTATE 23514"), "{last:?}");
    assert!(
        !last.1.contains("alice@secret.example"),
        "a row left in the ping: {last:?}"
    );
}
