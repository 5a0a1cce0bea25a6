//! `kronic backup`: atomic, complete, pruned, verifiable files; every failure leaves no
//! file and prunes nothing.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::*;

crate::register!(
    backup_restores_with_the_seed_restore_command,
    no_password_in_any_argv_or_environment,
    server_down_before_the_dump_leaves_nothing,
    server_stopped_or_pg_dump_killed_mid_dump_leaves_nothing,
    truncated_pg_dump_output_is_not_a_backup,
    unwritable_folder_exits_73,
    old_pg_dump_is_refused_before_writing,
    file_size_limit_exits_74_and_leaves_nothing,
    concurrent_backup_exits_75_at_once,
    pruning_deletes_only_old_backup_files,
    list_and_verify_good_truncated_and_corrupt_files,
    a_multi_block_backup_is_one_gzip_file_and_a_cut_between_blocks_is_caught,
    metrics_file_is_written_on_success,
);

/// Files left from a 50 and a 40 day old backup (sorted by name), to prove failures
/// prune nothing.
pub(crate) fn plant_old_backups(dir: &Path) -> Vec<String> {
    plant_backups_aged(dir, &[50, 40])
}

/// Backup files `days` old (oldest first), in `dir`.
fn plant_backups_aged(dir: &Path, days: &[i64]) -> Vec<String> {
    std::fs::create_dir_all(dir).unwrap();
    let now = chrono::Utc::now();
    let names: Vec<String> = days
        .iter()
        .map(|d| {
            format!(
                "kronic_backup_{}.sql.gz",
                (now - chrono::Duration::days(*d)).format("%Y%m%d_%H%M%S")
            )
        })
        .collect();
    for n in &names {
        std::fs::write(dir.join(n), b"old").unwrap();
    }
    names
}

/// The seed's restore command: `gunzip -c FILE | psql`.
fn seed_restore(db_name: &str, gz_file: &Path) {
    shell_restore(db_name, "gunzip -c \"$1\"", gz_file);
}

fn backup_restores_with_the_seed_restore_command() {
    let db = TestDb::populated();
    let dir = db.backup_dir();
    let started = chrono::Utc::now();
    let out = expect(db.kronic().arg("backup"), 0);
    assert_no_secret(&out);
    let files = backups_in(&dir);
    assert_eq!(files.len(), 1, "{files:?}");
    let name = &files[0];
    assert_eq!(
        out.stdout,
        format!("Backup completed: {name}\n"),
        "exactly the seed's line"
    );
    let stamp = chrono::NaiveDateTime::parse_from_str(
        &name["kronic_backup_".len()..name.len() - 7],
        "%Y%m%d_%H%M%S",
    )
    .unwrap()
    .and_utc();
    assert!(
        (stamp - started).num_seconds().abs() <= 2,
        "UTC time in the name: {name}"
    );
    assert!(
        out.stderr.contains("compressed from"),
        "size and throughput logged: {}",
        out.stderr
    );
    // Not a terminal (cron): plain lines, no progress bar control characters.
    assert!(
        !out.stderr.contains('\r') && !out.stderr.contains('\x1b'),
        "{:?}",
        out.stderr
    );
    let meta = std::fs::metadata(dir.join(name)).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );

    let fresh = TestDb::new();
    seed_restore(&fresh.name, &dir.join(name));
    assert_eq!(
        content_checksum(&mut fresh.client()),
        content_checksum(&mut db.client())
    );
    // Also restores over a populated database (--clean --if-exists).
    seed_restore(&fresh.name, &dir.join(name));
    assert_eq!(
        content_checksum(&mut fresh.client()),
        content_checksum(&mut db.client())
    );
}

/// A pg_dump that records how it was called, then runs the real one.
pub(crate) fn spy_bindir(dir: &Path) -> PathBuf {
    let bin = dir.join("spybin");
    std::fs::create_dir_all(&bin).unwrap();
    let real = cluster::bindir().join("pg_dump");
    let script = format!(
        "#!/bin/sh\nif [ \"$1\" = --version ]; then exec {real} --version; fi\n\
         echo \"$0 $*\" > {log}/argv\nenv > {log}/env\nstat -L -c %a \"$PGPASSFILE\" > {log}/passfile_mode\n\
         echo \"$PGPASSFILE\" > {log}/passfile_path\nexec {real} \"$@\"\n",
        real = real.display(),
        log = dir.display()
    );
    write_file(&bin.join("pg_dump"), &script);
    cluster::set_mode(&bin.join("pg_dump"), 0o755);
    bin
}

fn no_password_in_any_argv_or_environment() {
    let db = TestDb::populated();
    let spy = spy_bindir(db.dir.path());
    expect(db.kronic().env("KRONIC_PG_BINDIR", &spy).arg("backup"), 0);
    let argv = std::fs::read_to_string(db.path("argv")).unwrap();
    let env = std::fs::read_to_string(db.path("env")).unwrap();
    assert!(
        argv.contains("--clean --if-exists --no-owner --no-privileges")
            && argv.contains("--no-password"),
        "{argv}"
    );
    for leak in [APP_PASSWORD, &percent_encode(APP_PASSWORD)] {
        assert!(!argv.contains(leak), "password in argv: {argv}");
        assert!(!env.contains(leak), "password in the environment");
    }
    assert!(!env.contains("PGPASSWORD"));
    assert_eq!(
        std::fs::read_to_string(db.path("passfile_mode"))
            .unwrap()
            .trim(),
        "600"
    );
    // The passfile is a memory-only file the child inherited: nothing on disk.
    let passfile = std::fs::read_to_string(db.path("passfile_path")).unwrap();
    assert!(passfile.trim().starts_with("/proc/self/fd/"), "{passfile}");
    // Nothing of kronic's environment reaches the child.
    assert!(!env.contains("KRONIC_"), "{env}");
}

fn server_down_before_the_dump_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let planted = plant_old_backups(dir.path());
    let out = expect(
        kronic_at(cluster::free_port())
            .args(["backup", "--dir"])
            .arg(dir.path()),
        69,
    );
    assert!(out.stdout.is_empty());
    assert_eq!(
        backups_in(dir.path()),
        planted,
        "no file, no temporary file, old backups kept"
    );
}

/// A private cluster with enough data that a dump takes a moment.
fn big_cluster() -> Cluster {
    let c = Cluster::start();
    let mut client = postgres::Client::connect(&c.superuser_url(), postgres::NoTls).unwrap();
    client
        .batch_execute(
            "CREATE TABLE big AS SELECT i, md5(i::text) || md5((i * 7)::text) || md5((i * 13)::text) AS payload \
             FROM generate_series(1, 1500000) i",
        )
        .unwrap();
    c
}

/// Starts a backup and waits until its temporary file has data (or it ended). The
/// caller waits for it.
#[allow(clippy::zombie_processes)]
fn start_backup(c: &Cluster, dir: &Path, bindir: Option<&Path>) -> std::process::Child {
    let mut cmd = kronic_bare_std();
    cmd.env("KRONIC_DATABASE_URL", c.superuser_url())
        .args(["backup", "--dir"])
        .arg(dir);
    if let Some(b) = bindir {
        cmd.env("KRONIC_PG_BINDIR", b);
    }
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let growing = std::fs::read_dir(dir).unwrap().flatten().any(|e| {
            e.file_name().to_string_lossy().contains(".tmp-")
                && e.metadata().map(|m| m.len() > 0).unwrap_or(false)
        });
        // Or it already failed (the caller looks at how).
        if growing || child.try_wait().unwrap().is_some() {
            return child;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("backup never started writing");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn server_stopped_or_pg_dump_killed_mid_dump_leaves_nothing() {
    let c = big_cluster();
    let work = tempfile::tempdir().unwrap();

    // 1. pg_dump is killed mid-dump (SIGKILL once it has been writing for a moment).
    let dir = work.path().join("b");
    let planted = plant_old_backups(&dir);
    let bin = work.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let real = cluster::bindir().join("pg_dump");
    write_file(
        &bin.join("pg_dump"),
        &format!(
            "#!/bin/sh\n[ \"$1\" = --version ] && exec {real} --version\n{real} \"$@\" &\nsleep 0.5\nkill -KILL $!\nkill -KILL $$\n",
            real = real.display()
        ),
    );
    cluster::set_mode(&bin.join("pg_dump"), 0o755);
    let child = start_backup(&c, &dir, Some(&bin));
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("killed by a signal"), "{stderr}");
    assert_eq!(backups_in(&dir), planted);

    // 2. kronic itself gets SIGTERM mid-dump.
    let dir = work.path().join("c");
    let planted = plant_old_backups(&dir);
    let child = start_backup(&c, &dir, None);
    let out = signal_and_wait(child, "-TERM");
    assert_interrupted(&out);
    assert_eq!(backups_in(&dir), planted);
    // 3. The server goes away mid-dump (last: an immediate stop may lose recent writes).
    let dir = work.path().join("a");
    let planted = plant_old_backups(&dir);
    let child = start_backup(&c, &dir, None);
    c.stop_server();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(69), "{stderr}");
    assert!(stderr.contains("pg_dump failed"), "{stderr}");
    assert!(out.stdout.is_empty());
    assert_eq!(backups_in(&dir), planted);
}

fn truncated_pg_dump_output_is_not_a_backup() {
    // The seed script's flaw: gzip of a cut (or empty) dump looks like a backup.
    let db = TestDb::populated();
    let bin = db.path("bin");
    let real = cluster::bindir().join("pg_dump");
    write_file(
        &bin.join("pg_dump"),
        &format!(
            "#!/bin/bash\nif [ \"$1\" = --version ]; then exec {real} --version; fi\n{real} \"$@\" | head -c 4000\nexit 0\n",
            real = real.display()
        ),
    );
    cluster::set_mode(&bin.join("pg_dump"), 0o755);
    let planted = plant_old_backups(&db.backup_dir());
    let out = expect(db.kronic().env("KRONIC_PG_BINDIR", &bin).arg("backup"), 70);
    assert!(out.stderr.contains("dump complete"), "{}", out.stderr);
    assert_eq!(backups_in(&db.backup_dir()), planted);
}

fn old_pg_dump_is_refused_before_writing() {
    let db = TestDb::populated();
    let bin = db.path("oldbin");
    write_file(
        &bin.join("pg_dump"),
        "#!/bin/sh\necho 'pg_dump (PostgreSQL) 13.9'\n",
    );
    cluster::set_mode(&bin.join("pg_dump"), 0o755);
    let out = expect(db.kronic().env("KRONIC_PG_BINDIR", &bin).arg("backup"), 69);
    assert!(
        out.stderr
            .contains("is version 13 but the server is PostgreSQL"),
        "{}",
        out.stderr
    );
    assert!(backups_in(&db.backup_dir()).is_empty());
}

fn unwritable_folder_exits_73() {
    let db = TestDb::populated();
    let blocker = db.path("not-a-folder");
    std::fs::write(&blocker, "x").unwrap();
    let out = expect(
        db.kronic()
            .args(["backup", "--dir"])
            .arg(blocker.join("backups")),
        73,
    );
    assert_stderr(&out, "not-a-folder/backups");
}

fn file_size_limit_exits_74_and_leaves_nothing() {
    let db = TestDb::populated();
    let planted = plant_old_backups(&db.backup_dir());
    let mut shell = db.bash("ulimit -f 16; exec \"$0\" backup");
    shell.arg(env!("CARGO_BIN_EXE_kronic"));
    let out = shell.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(74), "{stderr}");
    // The operating system's own reason (EFBIG), not a wrapper's.
    assert!(
        stderr.contains("cannot write the backup: File too large"),
        "{stderr}"
    );
    assert_eq!(backups_in(&db.backup_dir()), planted);
}

fn concurrent_backup_exits_75_at_once() {
    let db = TestDb::populated();
    std::fs::create_dir_all(db.backup_dir()).unwrap();
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(db.backup_dir().join(".kronic_backup.lock"))
        .unwrap();
    lock.lock().unwrap();
    let started = Instant::now();
    let out = expect(db.kronic().arg("backup"), 75);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_stderr(&out, "another backup is in progress");
    assert!(backups_in(&db.backup_dir()).is_empty());
    drop(lock);
    expect(db.kronic().arg("backup"), 0);
}

fn pruning_deletes_only_old_backup_files() {
    let db = TestDb::populated();
    let dir = db.backup_dir();
    let planted = plant_old_backups(&dir);
    let now = chrono::Utc::now();
    let young = format!(
        "kronic_backup_{}.sql.gz",
        (now - chrono::Duration::days(10)).format("%Y%m%d_%H%M%S")
    );
    let old_stamp = (now - chrono::Duration::days(60))
        .format("%Y%m%d_%H%M%S")
        .to_string();
    std::fs::write(dir.join(&young), "young").unwrap();
    for other in [
        "notes.txt",
        "kronic_backup_latest.sql.gz",
        &format!("kronic_backup_{old_stamp}.sql"),
    ] {
        std::fs::write(dir.join(other), "keep").unwrap();
    }
    let outside = db.path("precious.sql.gz");
    std::fs::write(&outside, "precious").unwrap();
    std::os::unix::fs::symlink(
        &outside,
        dir.join(format!("kronic_backup_{old_stamp}.sql.gz")),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("archive")).unwrap();
    std::fs::write(dir.join("archive").join(&planted[0]), "nested").unwrap();

    // A dry run deletes nothing.
    let out = expect(db.kronic().args(["backup", "prune", "--dry-run"]), 0);
    for p in &planted {
        assert!(
            out.stdout.contains(&format!("would prune {p}")),
            "{}",
            out.stdout
        );
        assert!(dir.join(p).exists());
    }

    let out = expect(db.kronic().arg("backup"), 0);
    for p in &planted {
        assert!(!dir.join(p).exists(), "{p} should be pruned");
        assert!(
            out.stderr
                .lines()
                .any(|l| l.contains("pruned ") && l.contains(p.as_str())),
            "deletions are logged: {}",
            out.stderr
        );
    }
    assert!(dir.join(&young).exists());
    for other in [
        "notes.txt",
        "kronic_backup_latest.sql.gz",
        &format!("kronic_backup_{old_stamp}.sql"),
    ] {
        assert!(dir.join(other).exists(), "{other}");
    }
    assert!(
        dir.join(format!("kronic_backup_{old_stamp}.sql.gz"))
            .symlink_metadata()
            .is_ok(),
        "symlink kept"
    );
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "precious");
    assert!(
        dir.join("archive").join(&planted[0]).exists(),
        "not below the folder"
    );

    // The newest backup survives however old; 0 disables pruning. 30 days count back
    // from the newest backup (100 days old is 60 days before it), not from now.
    let lone = tempfile::tempdir().unwrap();
    let olds = plant_backups_aged(lone.path(), &[100, 40]);
    expect(
        db.kronic()
            .args(["backup", "prune", "--keep-days", "0", "--dir"])
            .arg(lone.path()),
        0,
    );
    assert_eq!(backups_in(lone.path()), olds);
    let out = expect(
        db.kronic()
            .args(["backup", "prune", "--dir"])
            .arg(lone.path()),
        0,
    );
    assert_eq!(out.stdout.trim(), format!("pruned {}", olds[0]));
    // Said once: on stdout, not again in the log.
    assert!(!out.stderr.contains(olds[0].as_str()), "{}", out.stderr);
    assert_eq!(
        backups_in(lone.path()),
        [olds[1].clone()],
        "the newest (40 days) is kept"
    );
}

fn list_and_verify_good_truncated_and_corrupt_files() {
    let db = TestDb::populated();
    expect(db.kronic().arg("backup"), 0);
    let dir = db.backup_dir();
    let name = backups_in(&dir).pop().unwrap();
    let good = dir.join(&name);
    plant_old_backups(&dir);

    let out = expect(db.kronic().args(["backup", "list", "--json"]), 0);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["file"], name.as_str(), "newest first");
    assert_eq!(
        rows[0]["size_bytes"].as_u64().unwrap(),
        std::fs::metadata(&good).unwrap().size()
    );
    assert!(rows[2]["age_seconds"].as_i64().unwrap() >= 50 * 86_400);
    let out = expect(db.kronic().args(["backup", "list"]), 0);
    assert!(
        out.stdout.lines().nth(1).unwrap().ends_with(&name),
        "{}",
        out.stdout
    );

    let out = expect(db.kronic().args(["backup", "verify", "--latest"]), 0);
    assert!(out.stdout.starts_with("ok: "), "{}", out.stdout);
    expect(db.kronic().args(["backup", "verify"]).arg(&good), 0);

    let bytes = std::fs::read(&good).unwrap();
    let truncated = db.path("truncated.sql.gz");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let out = expect(db.kronic().args(["backup", "verify"]).arg(&truncated), 65);
    assert!(out.stderr.contains("truncated.sql.gz"), "{}", out.stderr);

    let corrupt = db.path("corrupt.sql.gz");
    let mut c = bytes.clone();
    let mid = c.len() / 2;
    for b in &mut c[mid..mid + 16] {
        *b ^= 0x5a;
    }
    std::fs::write(&corrupt, &c).unwrap();
    expect(db.kronic().args(["backup", "verify"]).arg(&corrupt), 65);

    // A plain dump cut short is incomplete.
    let plain = db.path("cut.sql");
    let mut sql = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&bytes[..]), &mut sql)
        .unwrap();
    std::fs::write(&plain, &sql[..sql.len() - 200]).unwrap();
    let out = expect(db.kronic().args(["backup", "verify"]).arg(&plain), 65);
    assert!(out.stderr.contains("incomplete"), "{}", out.stderr);
    let missing = expect(
        db.kronic()
            .args(["backup", "verify"])
            .arg(db.path("nope.sql.gz")),
        66,
    );
    assert!(missing.stderr.contains("nope.sql.gz"));
}

/// Backups are written as one gzip member per 1 MiB block: the system gunzip must read
/// them whole, and a file cut exactly between two members (itself a valid gzip file)
/// must still be refused as incomplete.
fn a_multi_block_backup_is_one_gzip_file_and_a_cut_between_blocks_is_caught() {
    let db = TestDb::populated();
    db.client()
        .batch_execute(
            "INSERT INTO users (id, email, password_hash) \
             SELECT gen_random_uuid(), 'bulk' || i || '@example.com', md5(random()::text) || md5(i::text) \
             FROM generate_series(1, 40000) i",
        )
        .unwrap();
    expect(db.kronic().arg("backup"), 0);
    let file = db
        .backup_dir()
        .join(backups_in(&db.backup_dir()).pop().unwrap());
    let bytes = std::fs::read(&file).unwrap();

    let gunzip = std::process::Command::new("gunzip")
        .arg("-c")
        .arg(&file)
        .output()
        .unwrap();
    assert!(gunzip.status.success(), "gunzip -c failed");
    let mut sql = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&bytes[..]), &mut sql)
        .unwrap();
    assert_eq!(gunzip.stdout, sql, "gunzip reads every block");
    assert!(sql.len() > 3 << 20, "several blocks: {} bytes", sql.len());

    // The last member boundary: a gzip header from which the prefix decodes cleanly.
    let cut = (1..bytes.len() - 3)
        .rev()
        .filter(|&i| bytes[i..i + 3] == [0x1f, 0x8b, 0x08])
        .find(|&i| {
            let mut out = Vec::new();
            std::io::Read::read_to_end(
                &mut flate2::read::MultiGzDecoder::new(&bytes[..i]),
                &mut out,
            )
            .is_ok()
        })
        .expect("a member boundary");
    let cut_file = db.path("kronic_backup_20200101_000000.sql.gz");
    std::fs::write(&cut_file, &bytes[..cut]).unwrap();
    let out = expect(db.kronic().args(["backup", "verify"]).arg(&cut_file), 65);
    assert!(out.stderr.contains("incomplete"), "{}", out.stderr);

    // Restoring it over the database (pg_dump --clean drops every table first) must
    // change nothing.
    let before = content_checksum(&mut db.client());
    let out = expect(db.kronic().arg("restore").arg(&cut_file).arg("--yes"), 65);
    assert_stderr(&out, "kronic_backup_20200101_000000.sql.gz");
    assert_eq!(content_checksum(&mut db.client()), before);
}

fn metrics_file_is_written_on_success() {
    let db = TestDb::populated();
    let metrics = db.path("textfile/kronic.prom");
    std::fs::create_dir_all(metrics.parent().unwrap()).unwrap();
    expect(
        db.kronic()
            .arg("backup")
            .arg("--metrics-file")
            .arg(&metrics),
        0,
    );
    let text = std::fs::read_to_string(&metrics).unwrap();
    let value = |name: &str| -> f64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(name) && !l.starts_with('#'))
            .unwrap_or_else(|| panic!("{name} in {text}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    let now = chrono::Utc::now().timestamp() as f64;
    assert!(
        (value("kronic_backup_last_success_timestamp_seconds") - now).abs() < 30.0,
        "{text}"
    );
    let file = db
        .backup_dir()
        .join(backups_in(&db.backup_dir()).pop().unwrap());
    assert_eq!(
        value("kronic_backup_last_size_bytes") as u64,
        std::fs::metadata(file).unwrap().size()
    );
    assert!(text.contains("# TYPE kronic_backup_last_duration_seconds gauge"));
    assert!(!text.contains(APP_PASSWORD));
    // A failed backup leaves the last success in place.
    let before = text.clone();
    expect(
        db.kronic()
            .env("KRONIC_DATABASE_PASSWORD", "wrong")
            .arg("backup")
            .arg("--metrics-file")
            .arg(&metrics),
        77,
    );
    assert_eq!(std::fs::read_to_string(&metrics).unwrap(), before);
}
