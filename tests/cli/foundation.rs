//! The binary, configuration, connections, TLS and exit codes.

use std::time::{Duration, Instant};

use crate::support::*;

crate::register!(
    version_and_help,
    help_never_shows_secret_values,
    invalid_configuration_exits_78_before_connecting,
    parts_connect_with_a_password_full_of_special_characters,
    url_beats_parts_and_flag_beats_url,
    wrong_password_exits_77_without_echoing_it,
    nothing_listening_exits_69_quickly,
    silent_listener_is_bounded_by_the_connect_timeout,
    missing_database_is_named,
    sslmode_matrix_behaves_like_libpq,
    very_verbose_logs_sql_but_no_secret,
);

fn version_and_help() {
    let out = expect(kronic_bare().arg("--version"), 0);
    assert_eq!(
        out.stdout.trim(),
        format!("kronic {}", env!("CARGO_PKG_VERSION"))
    );
    let out = expect(kronic_bare().arg("--help"), 0);
    for cmd in ["migrate", "seed", "backup", "restore", "health"] {
        assert!(out.stdout.contains(cmd), "--help lacks {cmd}");
    }
    assert!(out.stdout.contains("KRONIC_DATABASE_URL") && out.stdout.contains("Exit codes"));
    let out = expect(kronic_bare().args(["backup", "--help"]), 0);
    assert!(out.stdout.contains("Examples:"));
    // Usage errors are 64 for scripts, not clap's 2.
    let out = run(kronic_bare().args(["migrate", "sideways"]));
    assert_eq!(out.code, 64, "{}", out.stderr);
}

fn help_never_shows_secret_values() {
    let out = expect(
        kronic_bare()
            .env("KRONIC_ADMIN_PASSWORD", "hunter2-admin-secret")
            .env("KRONIC_DATABASE_PASSWORD", "hunter2-db-secret")
            .args(["seed", "--help"]),
        0,
    );
    assert!(
        out.stdout.contains("KRONIC_ADMIN_PASSWORD"),
        "{}",
        out.stdout
    );
    assert!(!out.all().contains("hunter2"), "{}", out.all());
}

fn invalid_configuration_exits_78_before_connecting() {
    // Port 1 on loopback refuses: reaching it would be 69, so 78 proves no attempt.
    let cases = [
        ("KRONIC_DATABASE_PORT", "abc"),
        ("KRONIC_DATABASE_POOL_SIZE", "0"),
        ("KRONIC_DATABASE_POOL_TIMEOUT", "-5"),
        ("KRONIC_DATABASE_CONNECT_TIMEOUT", "-1"),
        ("KRONIC_DATABASE_MAX_OVERFLOW", "lots"),
        ("KRONIC_DATABASE_SSLMODE", "sometimes"),
        (
            "KRONIC_DATABASE_URL",
            "postgresql://u:secretpw@host:notaport/db",
        ),
    ];
    for (var, value) in cases {
        let out = run(kronic_at(1).env(var, value).args(["migrate", "current"]));
        assert_eq!(out.code, 78, "{var}={value}: {}", out.all());
        assert!(out.stderr.contains(var), "{var} not named: {}", out.stderr);
        assert_eq!(
            out.stderr.trim().lines().count(),
            1,
            "one line: {}",
            out.stderr
        );
        assert!(!out.all().contains("secretpw"));
    }
}

fn parts_connect_with_a_password_full_of_special_characters() {
    let db = TestDb::new();
    let out = expect(db.kronic().args(["migrate", "current"]), 0);
    assert!(
        out.stdout.contains("no migrations applied"),
        "{}",
        out.stdout
    );
    assert_no_secret(&out);
}

fn url_beats_parts_and_flag_beats_url() {
    let db = TestDb::new();
    // Parts point nowhere; the URL (password percent-encoded) is used.
    let out = expect(
        db.kronic()
            .env("KRONIC_DATABASE_HOST", "127.0.0.1")
            .env("KRONIC_DATABASE_PORT", "1")
            .env("KRONIC_DATABASE_URL", db.url())
            .args(["migrate", "current"]),
        0,
    );
    assert_no_secret(&out);
    // The env URL points nowhere; the flag wins.
    let out = expect(
        db.kronic()
            .env(
                "KRONIC_DATABASE_URL",
                "postgresql://x:y@127.0.0.1:1/nowhere",
            )
            .args(["--database-url", &db.url(), "migrate", "current"]),
        0,
    );
    assert_no_secret(&out);
}

fn wrong_password_exits_77_without_echoing_it() {
    let db = TestDb::new();
    let out = expect(
        db.kronic()
            .env("KRONIC_DATABASE_PASSWORD", "not-the-password-42")
            .args(["migrate", "current"]),
        77,
    );
    assert!(
        out.stderr.contains(&format!(
            "password authentication failed for user {APP_USER}: check KRONIC_DATABASE_PASSWORD"
        )),
        "{}",
        out.stderr
    );
    assert!(!out.all().contains("not-the-password-42"));
    // The same through the URL names the URL.
    let url = db.url().replace(&percent_encode(APP_PASSWORD), "wrong");
    let out = expect(
        db.kronic()
            .env("KRONIC_DATABASE_URL", url)
            .args(["migrate", "current"]),
        77,
    );
    assert!(out.stderr.contains("KRONIC_DATABASE_URL"), "{}", out.stderr);
}

fn nothing_listening_exits_69_quickly() {
    let port = cluster::free_port();
    let started = Instant::now();
    let out = expect(
        kronic_at(port)
            .env("KRONIC_DATABASE_CONNECT_TIMEOUT", "5")
            .args(["migrate", "current"]),
        69,
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_stderr(
        &out,
        &format!(
            "connection refused at 127.0.0.1:{port}: is PostgreSQL running? check KRONIC_DATABASE_HOST/PORT"
        ),
    );
}

fn silent_listener_is_bounded_by_the_connect_timeout() {
    let port = silent_listener();
    let started = Instant::now();
    let out = expect(
        kronic_at(port)
            .env("KRONIC_DATABASE_CONNECT_TIMEOUT", "1.5")
            .args(["migrate", "current"]),
        75,
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1400) && took < Duration::from_secs(10),
        "took {took:?}"
    );
    assert_stderr(&out, "timed out after 1.5s");
}

fn missing_database_is_named() {
    let db = TestDb::new();
    let out = expect(
        db.kronic()
            .env("KRONIC_DATABASE_NAME", "no_such_db_here")
            .args(["migrate", "current"]),
        69,
    );
    assert!(
        out.stderr
            .contains("database no_such_db_here does not exist"),
        "{}",
        out.stderr
    );
    assert_stderr(&out, "KRONIC_DATABASE_NAME");
}

fn sslmode_matrix_behaves_like_libpq() {
    let c = tls_cluster();
    let mut admin = postgres::Client::connect(&c.superuser_url(), postgres::NoTls).unwrap();
    admin
        .batch_execute(
            "DO $$ BEGIN \
             IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kronic_tls') THEN CREATE ROLE kronic_tls LOGIN PASSWORD 'tls-pw-1'; END IF; \
             IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kronic_plain') THEN CREATE ROLE kronic_plain LOGIN PASSWORD 'plain-pw-1'; END IF; \
             END $$",
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let wrong_ca = dir.path().join("other-ca.pem");
    std::fs::write(&wrong_ca, cluster::make_certs().ca_pem).unwrap();
    let ca = c.ca_path().display().to_string();
    let wrong = wrong_ca.display().to_string();

    // kronic_tls may only connect over TLS, kronic_plain only without.
    let attempt = |user: &str, pw: &str, host: &str, mode: &str, root: Option<&str>| {
        let mut cmd = kronic_bare();
        cmd.env("KRONIC_DATABASE_HOST", host)
            .env("KRONIC_DATABASE_PORT", c.port.to_string())
            .env("KRONIC_DATABASE_NAME", "postgres")
            .env("KRONIC_DATABASE_USER", user)
            .env("KRONIC_DATABASE_PASSWORD", pw)
            .env("KRONIC_DATABASE_SSLMODE", mode)
            .env("HOME", dir.path())
            .args(["migrate", "current"]);
        if let Some(r) = root {
            cmd.env("KRONIC_DATABASE_SSLROOTCERT", r);
        }
        run(&mut cmd)
    };
    let tls = |host, mode, root| attempt("kronic_tls", "tls-pw-1", host, mode, root);
    let plain = |host, mode, root| attempt("kronic_plain", "plain-pw-1", host, mode, root);

    // disable: no TLS at all.
    assert_eq!(plain("127.0.0.1", "disable", None).code, 0);
    assert_eq!(
        tls("127.0.0.1", "disable", None).code,
        77,
        "a TLS-only role must be refused without TLS"
    );
    // prefer and require encrypt without verifying (no CA given, self-signed chain).
    assert_eq!(tls("127.0.0.1", "prefer", None).code, 0);
    let out = tls("127.0.0.1", "require", None);
    assert_eq!(out.code, 0, "{}", out.all());
    // verify-ca: the chain must lead to the given CA; the host name is not checked.
    assert_eq!(tls("127.0.0.1", "verify-ca", Some(&ca)).code, 0);
    let out = tls("127.0.0.1", "verify-ca", Some(&wrong));
    assert_eq!(out.code, 69, "{}", out.all());
    assert!(out.stderr.contains("TLS"), "{}", out.stderr);
    // verify-full: the certificate names localhost only.
    assert_eq!(tls("localhost", "verify-full", Some(&ca)).code, 0);
    let out = tls("127.0.0.1", "verify-full", Some(&ca));
    assert_eq!(
        out.code,
        69,
        "wrong host name must be rejected: {}",
        out.all()
    );
    // verify modes without a root certificate (none in $HOME) are a configuration error.
    let out = tls("localhost", "verify-full", None);
    assert_eq!(out.code, 78, "{}", out.all());
    assert!(out.stderr.contains("root.crt"), "{}", out.stderr);
    // libpq: require plus a root certificate verifies the chain.
    assert_eq!(tls("127.0.0.1", "require", Some(&wrong)).code, 69);
}

fn very_verbose_logs_sql_but_no_secret() {
    let db = TestDb::new();
    let out = expect(db.kronic().args(["-vv", "migrate", "current"]), 0);
    assert!(out.stderr.contains("SELECT to_regclass"), "{}", out.stderr);
    assert_no_secret(&out);
}
