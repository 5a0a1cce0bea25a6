//! A broken or hostile object store: each answer read within the timeout of its own
//! request and up to a cap on the bytes that arrive, what it says shown as one bounded
//! printable line, an answer that is not S3's never taken for an empty bucket, and keys
//! kronic cannot use skipped, not fatal.

use std::time::{Duration, Instant};

use crate::support::hostile_s3::{Answer, HostileS3, listing};
use crate::support::s3;
use crate::support::*;

crate::register!(
    the_remote_timeout_is_per_request,
    a_huge_listing_is_refused_at_the_cap,
    manifests_are_capped_as_they_arrive_and_timed,
    server_messages_are_one_bounded_printable_line,
    an_html_answer_is_not_an_empty_bucket,
    foreign_keys_kronic_cannot_use_are_skipped,
    redirects_are_not_followed_with_the_token,
);

fn kronic_at_store(db: &TestDb, store: &HostileS3) -> assert_cmd::Command {
    let mut cmd = db.kronic();
    cmd.envs(store.vars())
        .env("KRONIC_BACKUP_REMOTE", "s3://b/p")
        .env("KRONIC_REMOTE_TIMEOUT", "2");
    cmd
}

fn name(i: usize) -> String {
    format!(
        "kronic_backup_2026{:02}{:02}_020000.sql.gz",
        1 + i / 28 % 12,
        1 + i % 28
    )
}

fn xml(status: u16, body: &str) -> Answer {
    Answer::Full {
        status,
        headers: vec![("Content-Type".into(), "application/xml".into())],
        body: body.as_bytes().to_vec(),
    }
}

fn the_remote_timeout_is_per_request() {
    // 100 pages, each answered after 50 ms: 5 s in all, 2 s allowed per request.
    let store = HostileS3::start(|req| {
        let page: usize = req
            .split("continuation-token=")
            .nth(1)
            .and_then(|t| t.split([' ', '&']).next())
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        let next = (page < 99).then(|| (page + 1).to_string());
        Answer::Late {
            delay: Duration::from_millis(50),
            body: listing(&[format!("p/{}", name(page))], next.as_deref()),
        }
    });
    let db = TestDb::new();
    let started = Instant::now();
    let out = expect(
        kronic_at_store(&db, &store).args(["backup", "list", "--remote", "--json"]),
        0,
    );
    assert!(started.elapsed() > Duration::from_secs(4));
    let rows: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 100);
}

fn a_huge_listing_is_refused_at_the_cap() {
    let store = HostileS3::start(|_| Answer::Chunked {
        content_length: None,
        total: 400 << 20,
        fill: b'x',
    });
    let db = TestDb::new();
    let started = Instant::now();
    let out = expect(
        kronic_at_store(&db, &store).args(["backup", "list", "--remote"]),
        69,
    );
    assert_stderr(&out, "over 16 MiB");
    assert!(started.elapsed() < Duration::from_secs(30));
}

fn manifests_are_capped_as_they_arrive_and_timed() {
    let backup = name(0);
    let manifest = format!("{backup}.manifest.json");
    for drip in [false, true] {
        let (b, m) = (backup.clone(), manifest.clone());
        let store = HostileS3::start(move |req| {
            if req.contains("list-type=2") {
                return Answer::Full {
                    status: 200,
                    headers: vec![],
                    body: listing(&[format!("p/{b}"), format!("p/{m}")], None),
                };
            }
            if req.contains(".manifest.json") && req.starts_with("GET ") {
                return match drip {
                    // "Content-Length: 300", then 20 MiB.
                    false => Answer::Chunked {
                        content_length: Some(300),
                        total: 20 << 20,
                        fill: b' ',
                    },
                    // Two bytes a second.
                    true => Answer::Drip {
                        body: vec![b' '; 400],
                        step: 2,
                        every: Duration::from_secs(1),
                    },
                };
            }
            Answer::Full {
                status: 200,
                headers: vec![
                    ("ETag".into(), "\"e\"".into()),
                    (
                        "Last-Modified".into(),
                        "Mon, 30 Nov 2026 00:00:00 GMT".into(),
                    ),
                ],
                body: vec![0x1f, 0x8b, 0, 0, 0, 0, 0, 0, 0, 0],
            }
        });
        let db = TestDb::new();
        let started = Instant::now();
        let out = run(kronic_at_store(&db, &store).args(["backup", "verify", "--remote", &backup]));
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "drip {drip}: {:?}",
            started.elapsed()
        );
        match drip {
            false => {
                assert_eq!(out.code, 65, "{}", out.all());
                assert_stderr(&out, "not a kronic manifest");
            }
            true => {
                assert_eq!(out.code, 69, "{}", out.all());
                assert_stderr(&out, "no answer within 2s");
            }
        }
    }
}

fn server_messages_are_one_bounded_printable_line() {
    let store = HostileS3::start(|_| {
        xml(
            403,
            &format!(
                "<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>no\nkronic: Backup completed: forged\u{1b}[2J{}</Message></Error>",
                "x".repeat(100 << 20)
            ),
        )
    });
    let db = TestDb::new();
    let out = expect(
        kronic_at_store(&db, &store).args(["backup", "list", "--remote"]),
        77,
    );
    assert_eq!(out.stderr.lines().count(), 1, "{:.300}", out.stderr);
    assert!(!out.stderr.contains('\u{1b}'), "{:.300}", out.stderr);
    assert!(out.stderr.len() < 1000, "{} bytes", out.stderr.len());
    assert!(out.stderr.starts_with("kronic: error: "));
}

fn an_html_answer_is_not_an_empty_bucket() {
    let store = HostileS3::start(|_| Answer::Full {
        status: 200,
        headers: vec![("Content-Type".into(), "text/html".into())],
        body: b"<!DOCTYPE html><html><body>Welcome to nginx!</body></html>".to_vec(),
    });
    let db = TestDb::populated();
    let out = expect(
        kronic_at_store(&db, &store).args(["backup", "list", "--remote"]),
        69,
    );
    assert_stderr(&out, "is not S3's");
    let out = expect(
        kronic_at_store(&db, &store).args(["restore", "--remote", "--latest", "--yes"]),
        69,
    );
    assert_stderr(&out, "is not S3's");
    // The backup is still taken, and the run says why the offsite copy is not there.
    let out = expect(kronic_at_store(&db, &store).arg("backup"), 3);
    assert_stderr(&out, "local backup kept");
    assert_stderr(&out, "is not S3's");
}

fn foreign_keys_kronic_cannot_use_are_skipped() {
    let db = TestDb::populated();
    let s3 = s3::shared();
    let prefix = format!("{}-foreign", db.name);
    // SeaweedFS refuses "." and ".." segments (AWS stores them: the stand-in below
    // lists them); a tab and "//" it keeps.
    for key in ["a\ttab", "a//double"] {
        s3.put(&format!("{prefix}/{key}"), b"not kronic's");
    }
    let mut cmd = db.kronic();
    s3.env(&mut cmd)
        .env("KRONIC_BACKUP_REMOTE", s3.url(&prefix));
    let out = expect(cmd.arg("backup"), 0);
    assert_stderr(&out, "skipping keys kronic cannot use");
    let mut cmd = db.kronic();
    s3.env(&mut cmd)
        .env("KRONIC_BACKUP_REMOTE", s3.url(&prefix));
    let out = expect(cmd.args(["backup", "list", "--remote", "--json"]), 0);
    let rows: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    let store = HostileS3::start(|_| Answer::Full {
        status: 200,
        headers: vec![],
        body: listing(
            &[
                "p/..".into(),
                "p/.".into(),
                "p/a\tb".into(),
                format!("p/{}", name(3)),
            ],
            None,
        ),
    });
    let out = expect(
        kronic_at_store(&db, &store).args(["backup", "list", "--remote", "--json"]),
        0,
    );
    assert_stderr(&out, "skipping keys kronic cannot use");
    let rows: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
}

fn redirects_are_not_followed_with_the_token() {
    // Whoever the redirect points at: a listener that counts the connections it gets.
    let elsewhere = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = elsewhere.local_addr().unwrap().port();
    let reached = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = reached.clone();
    std::thread::spawn(move || {
        for s in elsewhere.incoming().flatten() {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(s);
        }
    });
    let store = HostileS3::start(move |_| Answer::Full {
        status: 307,
        headers: vec![("Location".into(), format!("http://127.0.0.1:{port}/steal"))],
        body: Vec::new(),
    });
    let db = TestDb::populated();
    for args in [
        vec!["backup", "list", "--remote"],
        vec!["backup", "--remote-only"],
    ] {
        let out = run(kronic_at_store(&db, &store)
            .env("AWS_SESSION_TOKEN", "session-token-do-not-forward")
            .args(&args));
        assert_ne!(out.code, 0, "{}", out.all());
        assert!(!out.all().contains("session-token-do-not-forward"));
    }
    assert_eq!(
        reached.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "a redirect was followed"
    );
}
