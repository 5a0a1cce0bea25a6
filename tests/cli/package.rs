//! Installing like a system tool, and the README's runbook run as written: the Debian
//! package, its user, folders and units; then the README's Install, First backup, Daily
//! operations and Disaster recovery steps, line by line, as the users they name, with
//! nothing of the test's environment (the host is lost before the last: package purged,
//! backups folder, database and role gone; only the records and the bucket left). The
//! test installs and removes a package, so it runs only where .ci/run asks for it
//! (KRONIC_TEST_DEB names the built package) and as root.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::formats::keygen;
use crate::support::s3::{S3, shared};
use crate::support::*;

crate::register!(
    the_readme_runbook_installs_backs_up_and_recovers_a_lost_host,
    root_refuses_a_folder_owned_by_another_user,
);

/// The role and password the README's install steps create.
const ROLE_PASSWORD: &str = "choose-a-password";
const ADMIN_PASSWORD: &str = "a long admin password, typed at the prompt";

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn id(flag: &str, name: &str) -> u32 {
    let out = run_ok(Command::new("id").args([flag, name]));
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[track_caller]
fn owned(path: &str, user: &str, group: &str, mode: u32) {
    let m = std::fs::metadata(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(m.uid(), id("-u", user), "{path} owner");
    assert_eq!(m.gid(), id("-g", group), "{path} group");
    assert_eq!(m.permissions().mode() & 0o7777, mode, "{path} mode");
}

/// The lines of the `sh` blocks in the README section under `heading` (before its
/// first subsection).
fn runbook(heading: &str) -> Vec<String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with(heading))
        .unwrap_or_else(|| panic!("README has no section {heading:?}"))
        .split("\n### ")
        .next()
        .unwrap();
    let mut lines = Vec::new();
    let mut in_block = false;
    for line in section.lines() {
        match line {
            "```sh" => in_block = true,
            "```" => in_block = false,
            l if in_block && !l.trim().is_empty() && !l.starts_with('#') => {
                lines.push(l.to_string())
            }
            _ => {}
        }
    }
    assert!(
        !lines.is_empty(),
        "README section {heading:?} has no sh block"
    );
    lines
}

/// This machine standing in for the README's host: the package file, the folder the
/// operator types in (the identity file is there), the database server, the bucket.
struct Host {
    deb: std::ffi::OsString,
    cwd: tempfile::TempDir,
    server: &'static Server,
    s3: &'static S3,
    prefix: String,
    recipient: String,
}

impl Host {
    /// The configuration "from your records", as `sudoedit /etc/kronic/kronic.env`
    /// would leave it.
    fn write_configuration(&self) {
        let mut text = std::fs::read_to_string("/etc/kronic/kronic.env").unwrap();
        text.push_str(&format!(
            "KRONIC_DATABASE_URL=postgresql://kronic:{ROLE_PASSWORD}@{}:{}/kronic\n\
             KRONIC_ADMIN_EMAIL=admin@example.com\n\
             KRONIC_BACKUP_RECIPIENTS={}\n\
             KRONIC_BACKUP_IDENTITY_FILE=/etc/kronic/backup.key\n\
             KRONIC_BACKUP_SIGNING_KEY=/etc/kronic/signing.key\n\
             KRONIC_BACKUP_TRUSTED_KEYS=/etc/kronic/signing.pub\n\
             KRONIC_BACKUP_REMOTE={}\n",
            self.server.host,
            self.server.port,
            self.recipient,
            self.s3.url(&self.prefix),
        ));
        for (k, v) in self.s3.vars() {
            text.push_str(&format!("{k}={v}\n"));
        }
        std::fs::write("/etc/kronic/kronic.env", text).unwrap();
    }

    /// One runbook line, as the user it names, with nothing of the test's environment;
    /// the configuration is the package's file. `None` for a step this machine cannot
    /// take (systemctl without systemd).
    fn command(&self, line: &str) -> Option<Command> {
        let clean = |cmd: &mut Command| {
            cmd.env_clear()
                .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
                .env("LANG", "C.UTF-8");
        };
        if line == "sudo apt install ./kronic_0.1.0_amd64.deb" {
            let mut cmd = Command::new("dpkg");
            cmd.arg("-i").arg(&self.deb);
            return Some(cmd);
        }
        if line.starts_with("sudo systemctl ") || line.starts_with("journalctl ") {
            return Path::new("/run/systemd/system").is_dir().then(|| {
                let mut cmd = Command::new("sh");
                cmd.args(["-c", line.trim_start_matches("sudo ")]);
                cmd
            });
        }
        if let Some(rest) = line.strip_prefix("sudo -u postgres ") {
            // PostgreSQL's superuser on the database server: here, the test server's,
            // its programs first on PATH.
            let psql = self.server.tool("psql", "postgres");
            let bin = Path::new(psql.get_program()).parent().unwrap();
            let mut cmd = Command::new("sh");
            clean(&mut cmd);
            cmd.args(["-c", rest])
                .envs(psql.get_envs().filter_map(|(k, v)| Some((k, v?))))
                .env("PATH", format!("{}:/usr/bin:/bin", bin.display()));
            return Some(cmd);
        }
        if let Some(rest) = line.strip_prefix("sudo -u kronic ") {
            let mut cmd = Command::new("runuser");
            clean(&mut cmd);
            cmd.args([
                "-u",
                "kronic",
                "--",
                "env",
                "HOME=/var/lib/kronic",
                "sh",
                "-c",
                rest,
            ])
            .current_dir("/");
            return Some(cmd);
        }
        if let Some(rest) = line.strip_prefix("sudo ") {
            let mut cmd = Command::new("sh");
            clean(&mut cmd);
            cmd.args(["-c", rest])
                .env("HOME", "/root")
                .current_dir(self.cwd.path());
            return Some(cmd);
        }
        panic!("the runbook test does not know who runs {line:?}");
    }

    /// Runs a runbook line (the admin's password on standard input, for the seed) and
    /// asserts it succeeded; its output.
    fn step(&self, line: &str) -> String {
        let Some(mut cmd) = self.command(line) else {
            eprintln!("skipped (no systemd here): {line}");
            return String::new();
        };
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        let _ = child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{ADMIN_PASSWORD}\n").as_bytes());
        let out = child.wait_with_output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "README step failed: {line}\n{text}");
        if line.starts_with("sudo apt install ") {
            self.write_configuration();
        }
        text
    }

    /// The host is lost: package purged (configuration and identity with it), backups
    /// folder gone, database and role dropped. The bucket and the records remain.
    fn lose(&self) {
        run_ok(Command::new("dpkg").args(["--purge", "kronic"]));
        let _ = std::fs::remove_dir_all("/var/backups/kronic");
        let _ = std::fs::remove_dir_all("/etc/kronic");
        forget_database(self.server);
    }
}

fn forget_database(server: &Server) {
    let mut admin = server.connect("postgres");
    for sql in [
        "DROP DATABASE IF EXISTS kronic WITH (FORCE)",
        "DROP DATABASE IF EXISTS kronic_drill_scratch WITH (FORCE)",
        "DROP DATABASE IF EXISTS kronic_restored WITH (FORCE)",
        "DROP ROLE IF EXISTS kronic",
    ] {
        admin.batch_execute(sql).unwrap();
    }
}

/// What the package put where, as the README's Install section says.
fn check_the_installed_package(deb: &std::ffi::OsStr) {
    owned("/usr/bin/kronic", "root", "root", 0o755);
    owned("/etc/kronic/kronic.env", "root", "kronic", 0o640);
    owned("/var/backups/kronic", "kronic", "kronic", 0o700);
    for f in [
        "/usr/share/man/man1/kronic-backup.1.gz",
        "/usr/share/bash-completion/completions/kronic",
        "/usr/share/zsh/vendor-completions/_kronic",
        "/usr/share/fish/vendor_completions.d/kronic.fish",
        "/usr/share/doc/kronic/README.md",
        "/lib/systemd/system/kronic-notify@.service",
    ] {
        assert!(Path::new(f).is_file(), "{f}");
    }
    for unit in [
        "kronic-backup.service",
        "kronic-backup.timer",
        "kronic-drill.service",
        "kronic-drill.timer",
        "kronic-health.service",
    ] {
        let path = format!("/lib/systemd/system/{unit}");
        assert!(Path::new(&path).is_file(), "{path}");
        if Path::new("/usr/bin/systemd-analyze").exists() {
            let out = Command::new("systemd-analyze")
                .args(["verify", &path])
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{unit}: {err}");
        }
    }
    if Path::new("/usr/bin/man").exists() {
        run_ok(Command::new("man").args(["-w", "kronic-backup"]));
    }
    if Path::new("/usr/bin/lintian").exists() {
        let out = Command::new("lintian").arg(deb).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !text.lines().any(|l| l.starts_with("E:")),
            "lintian errors:\n{text}"
        );
    }
}

/// The README's cron line, as cron runs it: its user, cron's bare environment, `/`.
fn run_the_cron_line() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let command = readme
        .lines()
        .find_map(|l| l.strip_prefix("0 2 * * * kronic "))
        .expect("the README's cron line");
    run_ok(
        Command::new("runuser")
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .args(["-u", "kronic", "--", "env", "HOME=/var/lib/kronic"])
            .args(["PATH=/usr/bin:/bin", "SHELL=/bin/sh", "sh", "-c", command])
            .current_dir("/"),
    );
}

fn the_readme_runbook_installs_backs_up_and_recovers_a_lost_host() {
    let Some(deb) = std::env::var_os("KRONIC_TEST_DEB") else {
        eprintln!("KRONIC_TEST_DEB not set: the package test runs from .ci/run");
        return;
    };
    assert!(is_root(), "installing a package needs root");
    let cwd = tempfile::tempdir().unwrap();
    // The identity is made elsewhere and kept in the records; here, in the folder the
    // operator types in, as the README's `install` line expects.
    let (_, recipient) = keygen(cwd.path(), "kronic-backup.key");
    // And the signing pair, made where the records are kept.
    run_ok(
        Command::new(env!("CARGO_BIN_EXE_kronic"))
            .args(["backup", "keygen", "--secret-key", "kronic-signing.key"])
            .args(["--public-key", "kronic-signing.pub"])
            .env("KRONIC_CONFIG", no_config())
            .current_dir(cwd.path()),
    );
    let host = Host {
        deb,
        cwd,
        server: server(),
        s3: shared(),
        prefix: format!("runbook-{}", std::process::id()),
        recipient,
    };
    forget_database(host.server);

    for line in runbook("Install") {
        host.step(&line);
    }
    check_the_installed_package(&host.deb);
    owned("/etc/kronic/backup.key", "root", "kronic", 0o640);
    owned("/etc/kronic/signing.key", "root", "kronic", 0o640);
    let config = host.step("sudo kronic config");
    assert!(config.contains("KRONIC_BACKUP_REMOTE"), "{config}");
    assert!(!config.contains(ROLE_PASSWORD), "{config}");
    assert!(!config.contains(&host.s3.secret), "{config}");

    let mut first = String::new();
    for line in runbook("First backup") {
        first.push_str(&host.step(&line));
    }
    assert!(
        first.contains("Backup completed: kronic_backup_"),
        "{first}"
    );

    // A day of the application's writes, then the timer's (or cron's) nightly backup.
    let mut app = host.server.connect("kronic");
    app.batch_execute(
        "INSERT INTO users (id, email, password_hash) \
         SELECT gen_random_uuid(), 'user' || i || '@example.com', md5(i::text) \
         FROM generate_series(1, 500) i",
    )
    .unwrap();
    let at_backup = content_checksum(&mut app);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    run_the_cron_line();
    // The daily commands, as the README lists them (a restored copy included).
    for line in runbook("Daily operations") {
        host.step(&line);
    }
    let mut copy = host.server.connect("kronic_restored");
    assert_eq!(content_checksum(&mut copy), at_backup);
    drop(copy);
    // Written after the last backup: the runbook says this is lost.
    app.batch_execute(
        "INSERT INTO users (id, email, password_hash) VALUES \
         (gen_random_uuid(), 'after-the-backup@example.com', 'x')",
    )
    .unwrap();
    drop(app);
    let offsite = host.s3.objects(&host.prefix);
    assert!(
        offsite.iter().filter(|(k, _)| k.ends_with(".age")).count() >= 2,
        "both backups offsite, encrypted: {offsite:?}"
    );
    assert!(
        offsite
            .iter()
            .filter(|(k, _)| k.ends_with(".minisig"))
            .count()
            >= 2,
        "both backups offsite, signed: {offsite:?}"
    );

    host.lose();
    assert!(!Path::new("/usr/bin/kronic").exists());
    for line in runbook("Disaster recovery") {
        host.step(&line);
    }
    let mut restored = host.server.connect("kronic");
    assert_eq!(content_checksum(&mut restored), at_backup);
    let owner: String = restored
        .query_one(
            "SELECT tableowner::text FROM pg_tables WHERE tablename = 'users'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(owner, "kronic", "restored as the configured role");
    drop(restored);

    // Removing keeps the backups; purging (as the next run expects) removes the rest.
    run_ok(Command::new("dpkg").args(["-r", "kronic"]));
    assert!(!Path::new("/usr/bin/kronic").exists());
    assert!(
        Path::new("/var/backups/kronic").is_dir(),
        "the backups stay"
    );
    host.lose();
    let _ = Command::new("deluser")
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
