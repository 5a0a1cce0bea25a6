//! Installing like a system tool: the Debian package, its user, folders, units and
//! env file, and the backup its unit runs, as the README's install steps say. The
//! package test installs and removes a package, so it runs only where .ci/run asks for
//! it (KRONIC_TEST_DEB names the built package) and as root.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use crate::support::*;

crate::register!(
    the_package_installs_runs_its_backup_unit_and_removes,
    root_refuses_a_folder_owned_by_another_user,
);

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn id(flag: &str, name: &str) -> u32 {
    let out = run_ok(std::process::Command::new("id").args([flag, name]));
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[track_caller]
fn owned(path: &str, user: &str, group: &str, mode: u32) {
    let m = std::fs::metadata(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(m.uid(), id("-u", user), "{path} owner");
    assert_eq!(m.gid(), id("-g", group), "{path} group");
    assert_eq!(m.permissions().mode() & 0o7777, mode, "{path} mode");
}

/// The env file's `KEY=value` lines, as systemd's EnvironmentFile reads them.
fn env_file(path: &str) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && l.contains('='))
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.trim().to_string(), v.to_string())
        })
        .collect()
}

/// The unit's ExecStart, run as its user with its env file and nothing else.
fn run_unit_command(args: &[&str]) -> std::process::Output {
    let mut cmd = std::process::Command::new("runuser");
    cmd.args(["-u", "kronic", "--", "env", "-i", "PATH=/usr/bin:/bin"]);
    for (k, v) in env_file("/etc/kronic/kronic.env") {
        cmd.arg(format!("{k}={v}"));
    }
    cmd.arg("/usr/bin/kronic").args(args);
    cmd.output().unwrap()
}

fn the_package_installs_runs_its_backup_unit_and_removes() {
    let Some(deb) = std::env::var_os("KRONIC_TEST_DEB") else {
        eprintln!("KRONIC_TEST_DEB not set: the package test runs from .ci/run");
        return;
    };
    assert!(is_root(), "installing a package needs root");
    run_ok(std::process::Command::new("dpkg").arg("-i").arg(&deb));
    owned("/usr/bin/kronic", "root", "root", 0o755);
    owned("/etc/kronic/kronic.env", "root", "kronic", 0o640);
    owned("/var/backups/kronic", "kronic", "kronic", 0o700);
    for f in [
        "/usr/share/man/man1/kronic-backup.1.gz",
        "/usr/share/bash-completion/completions/kronic",
        "/usr/share/zsh/vendor-completions/_kronic",
        "/usr/share/fish/vendor_completions.d/kronic.fish",
    ] {
        assert!(Path::new(f).is_file(), "{f}");
    }
    let units = [
        "kronic-backup.service",
        "kronic-backup.timer",
        "kronic-drill.service",
        "kronic-drill.timer",
        "kronic-health.service",
    ];
    for unit in units {
        let path = format!("/lib/systemd/system/{unit}");
        assert!(Path::new(&path).is_file(), "{path}");
        if Path::new("/usr/bin/systemd-analyze").exists() {
            let out = std::process::Command::new("systemd-analyze")
                .args(["verify", &path])
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{unit}: {err}");
        }
    }
    let version = run_ok(std::process::Command::new("/usr/bin/kronic").arg("--version"));
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("kronic "));
    if Path::new("/usr/bin/man").exists() {
        run_ok(std::process::Command::new("man").args(["-w", "kronic-backup"]));
    }
    if Path::new("/usr/bin/lintian").exists() {
        let out = std::process::Command::new("lintian")
            .arg(&deb)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !text.lines().any(|l| l.starts_with("E:")),
            "lintian errors:\n{text}"
        );
    }

    // The README's steps: point the env file at the database, run what the unit runs.
    let db = TestDb::populated();
    let mut env = std::fs::read_to_string("/etc/kronic/kronic.env").unwrap();
    env.push_str(&format!("KRONIC_DATABASE_URL={}\n", db.url()));
    std::fs::write("/etc/kronic/kronic.env", env).unwrap();
    let out = run_unit_command(&["backup"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run_unit_command(&["backup", "verify", "--latest"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run_unit_command(&[
        "backup",
        "drill",
        "--scratch-db",
        &format!("{}_pkgdrill", db.name),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The README's cron line, as written, under env -i: the URL in the crontab, the
    // password in the kronic user's ~/.pgpass.
    let s = server();
    let pgpass = "/var/lib/kronic/.pgpass";
    let escaped = APP_PASSWORD.replace('\\', "\\\\").replace(':', "\\:");
    std::fs::write(
        pgpass,
        format!("{}:{}:{}:{APP_USER}:{escaped}\n", s.host, s.port, db.name),
    )
    .unwrap();
    std::fs::set_permissions(pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::chown(pgpass, Some(id("-u", "kronic")), Some(id("-g", "kronic"))).unwrap();
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let cron = readme
        .lines()
        .find(|l| l.starts_with("0 2 * * * kronic "))
        .expect("the README's cron line");
    let command = cron.strip_prefix("0 2 * * * kronic ").unwrap();
    let before = std::fs::read_dir("/var/backups/kronic").unwrap().count();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = std::process::Command::new("runuser")
        .args([
            "-u",
            "kronic",
            "--",
            "env",
            "-i",
            "HOME=/var/lib/kronic",
            "PATH=/usr/bin:/bin",
            "SHELL=/bin/sh",
        ])
        .arg(format!(
            "KRONIC_DATABASE_URL=postgresql://{APP_USER}@{}:{}/{}",
            s.host, s.port, db.name
        ))
        .args(["sh", "-c", command])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::read_dir("/var/backups/kronic").unwrap().count() > before,
        "the cron line made no backup"
    );

    run_ok(std::process::Command::new("dpkg").args(["-r", "kronic"]));
    assert!(!Path::new("/usr/bin/kronic").exists());
    assert!(
        Path::new("/var/backups/kronic").is_dir(),
        "the backups stay"
    );
    // Leave the machine as it was for the next run.
    let _ = std::process::Command::new("dpkg")
        .args(["--purge", "kronic"])
        .status();
    let _ = std::fs::remove_dir_all("/var/backups/kronic");
    let _ = std::fs::remove_dir_all("/var/lib/kronic");
    let _ = std::process::Command::new("deluser")
        .args(["--system", "kronic"])
        .output();
}

fn root_refuses_a_folder_owned_by_another_user() {
    if !is_root() {
        return;
    }
    let db = TestDb::populated();
    let dir = db.path("nobodys");
    std::fs::create_dir(&dir).unwrap();
    std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = expect(db.kronic().args(["backup", "--dir"]).arg(&dir), 77);
    assert_stderr(
        &out,
        "run kronic as that user (runuser -u nobody -- kronic backup)",
    );
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
}
