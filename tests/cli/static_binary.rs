//! The static binary (`scripts/build-static`, KRONIC_TEST_STATIC names it) runs with
//! nothing installed: in a root holding only itself, the migrations and a CA file (no
//! libc, no /etc, no /tmp, no HOME), it lints, migrates, checks and reports health
//! against the test server over TLS, and says in one line that a backup needs pg_dump.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::*;

crate::register!(the_static_binary_runs_in_an_empty_root);

fn static_binary() -> PathBuf {
    PathBuf::from(std::env::var_os("KRONIC_TEST_STATIC").expect("KRONIC_TEST_STATIC"))
}

/// `kronic ARGS` chrooted into `root`, with only `env` in its environment.
fn in_root(root: &Path, env: &[(&str, String)], args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new("/usr/sbin/chroot");
    cmd.arg(root).arg("/kronic").args(args).env_clear();
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn the_static_binary_runs_in_an_empty_root() {
    let bin = static_binary();
    // What the loader sees: a static executable.
    let file = run_ok(Command::new("file").arg(&bin));
    let file = String::from_utf8_lossy(&file.stdout).to_string();
    assert!(file.contains("static"), "{file}");
    let ldd = Command::new("ldd").arg(&bin).output().unwrap();
    let ldd = format!(
        "{}{}",
        String::from_utf8_lossy(&ldd.stdout),
        String::from_utf8_lossy(&ldd.stderr)
    );
    assert!(
        ldd.contains("not a dynamic executable") || ldd.contains("statically linked"),
        "{ldd}"
    );

    let db = TestDb::new();
    let root = db.path("root");
    std::fs::create_dir_all(root.join("migrations")).unwrap();
    std::fs::copy(&bin, root.join("kronic")).unwrap();
    copy_builtin_migrations(&root.join("migrations"));
    let ca = tls_cluster().ca_path();
    std::fs::copy(&ca, root.join("ca.pem")).unwrap();
    let entries: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries.len(), 3, "the root holds more: {entries:?}");

    let s = db.server;
    let env = [
        // An address: there is no /etc/hosts to name localhost.
        ("KRONIC_DATABASE_HOST", "127.0.0.1".to_string()),
        ("KRONIC_DATABASE_PORT", s.port.to_string()),
        ("KRONIC_DATABASE_NAME", db.name.clone()),
        ("KRONIC_DATABASE_USER", APP_USER.to_string()),
        ("KRONIC_DATABASE_PASSWORD", APP_PASSWORD.to_string()),
        // The chain checked against the CA file (verify-full would need the name).
        ("KRONIC_DATABASE_SSLMODE", "verify-ca".to_string()),
        ("KRONIC_DATABASE_SSLROOTCERT", "/ca.pem".to_string()),
        ("KRONIC_MIGRATIONS_DIR", "/migrations".to_string()),
    ];
    let ok = |args: &[&str]| {
        let out = in_root(&root, &env, args);
        assert!(
            out.status.success(),
            "kronic {args:?} in the empty root: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(ok(&["--version"]).starts_with("kronic "));
    ok(&["migrate", "lint"]);
    ok(&["migrate", "up"]);
    let current: serde_json::Value =
        serde_json::from_str(&ok(&["migrate", "current", "--json"])).unwrap();
    assert_eq!(current["pending"], 0, "{current}");
    ok(&["migrate", "check"]);
    let health: serde_json::Value = serde_json::from_str(&ok(&["health"])).unwrap();
    assert_eq!(health["status"], "ok", "{health}");
    // The migrations really landed, over TLS.
    let n: i64 = db
        .client()
        .query_one("SELECT count(*) FROM refinery_schema_history", &[])
        .unwrap()
        .get(0);
    assert!(n > 0);
    // A backup needs pg_dump: one line saying so, and where kronic looked.
    let out = in_root(&root, &env, &["backup", "--dir", "/backups"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(69), "{stderr}");
    assert!(stderr.contains("pg_dump"), "{stderr}");
    assert_eq!(
        stderr.lines().filter(|l| l.contains("error")).count(),
        1,
        "{stderr}"
    );
}
