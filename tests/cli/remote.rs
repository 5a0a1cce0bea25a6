//! Offsite copies against a real S3 server (SeaweedFS): upload in the same pass, restore
//! from the bucket, every failure before and during the upload, sync and remote prune.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::s3::{self, DelayProxy, S3, holds};
use crate::support::*;

crate::register!(
    a_backup_lands_in_the_bucket_with_its_digest,
    restores_from_the_bucket_plain_and_encrypted,
    the_server_killed_mid_upload_keeps_the_local_backup_and_leaves_no_upload,
    a_wrong_secret_keeps_the_local_backup_and_is_77_with_remote_only,
    missing_bucket_and_unreachable_keep_the_local_backup_within_the_timeout,
    remote_only_leaves_no_local_file,
    sync_uploads_exactly_the_missing_backups,
    remote_prune_touches_only_old_backups_directly_under_the_prefix,
    other_schemes_are_not_supported_yet,
    a_planted_journal_aborts_nobody_elses_upload,
    https_with_a_private_ca_in_aws_ca_bundle,
    drills_the_offsite_copy_against_its_own_manifest,
    a_restore_from_the_bucket_resumes_a_broken_download,
    a_signal_while_an_upload_is_created_or_completed_leaves_nothing_half_done,
    downloads_go_through_the_configured_proxy,
    a_completion_whose_answer_never_comes_leaves_no_object,
    a_kill_9_mid_upload_is_aborted_by_the_next_run,
    an_unwritable_journal_keeps_the_local_backup_and_uploads_nothing,
);

/// The backup folder's journal of unfinished uploads.
pub(crate) const JOURNAL: &str = ".kronic-unfinished-uploads";

/// kronic for `db`, with the shared server's credentials and `prefix` as the remote.
pub(crate) fn kronic_s3(db: &TestDb, s3: &S3, prefix: &str) -> assert_cmd::Command {
    let mut cmd = db.kronic();
    s3.env(&mut cmd).env("KRONIC_BACKUP_REMOTE", s3.url(prefix));
    cmd
}

/// Neither the secret nor anything but one line per error.
fn assert_no_aws_secret(s3: &S3, out: &Output) {
    assert!(
        !out.all().contains(&s3.secret),
        "the AWS secret leaked: {}",
        out.all()
    );
}

/// The one backup file in `dir`.
fn only_backup(dir: &Path) -> String {
    let names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("kronic_backup_") && !n.ends_with(".manifest.json"))
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    names[0].clone()
}

fn a_backup_lands_in_the_bucket_with_its_digest() {
    let db = TestDb::populated();
    let s3 = s3::shared();
    let out = expect(
        kronic_s3(&db, s3, &db.name).args(["backup", "--compression", "zstd"]),
        0,
    );
    assert_no_aws_secret(s3, &out);
    let name = only_backup(&db.backup_dir());
    assert!(name.ends_with(".sql.zst"), "{name}");
    // Written down before its first part, struck out once whole: nothing left to clean.
    assert!(!db.backup_dir().join(JOURNAL).exists());
    assert!(
        out.stdout.contains(&format!(
            "Offsite copy completed: {}/{name}",
            s3.url(&db.name)
        )),
        "{}",
        out.stdout
    );
    let local = std::fs::read(db.backup_dir().join(&name)).unwrap();
    let manifest_name = format!("{name}.manifest.json");
    assert_eq!(
        s3.objects(&db.name),
        vec![
            (name.clone(), local.len() as u64),
            (
                manifest_name.clone(),
                s3.get(&format!("{}/{manifest_name}", db.name)).len() as u64
            )
        ]
    );
    // The same bytes as the local file, and the digest recorded next to them.
    let object = s3.get(&format!("{}/{name}", db.name));
    assert_eq!(object, local);
    let sidecar: serde_json::Value =
        serde_json::from_slice(&s3.get(&format!("{}/{manifest_name}", db.name))).unwrap();
    assert_eq!(sidecar["sha256"], sha256_hex(&object));
    assert_eq!(sidecar["compressed_bytes"], object.len() as u64);
    assert_eq!(sidecar["tables"]["public.users"], 2001);

    let out = expect(
        kronic_s3(&db, s3, &db.name).args(["backup", "verify", "--remote", "--latest"]),
        0,
    );
    assert!(
        out.stdout.contains("complete, SHA-256 matches"),
        "{}",
        out.stdout
    );
    let out = expect(
        kronic_s3(&db, s3, &db.name).args(["backup", "list", "--remote", "--json"]),
        0,
    );
    let rows: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["file"], name.as_str());
    assert_eq!(rows[0]["size_bytes"], local.len() as u64);

    // A changed object fails verification: the digest catches what the format cannot.
    let mut tampered = object.clone();
    tampered.extend_from_slice(&object[..64]);
    s3.put(&format!("{}/{name}", db.name), &tampered);
    let out = expect(
        kronic_s3(&db, s3, &db.name).args(["backup", "verify", "--remote", &name]),
        65,
    );
    assert_stderr(&out, &format!("{}/{name}", s3.url(&db.name)));
    // --remote takes the bucket's URL wherever it stands, as `backup --remote URL` does.
    let out = expect(
        s3.env(&mut db.kronic())
            .args(["backup", "list", "--remote", &s3.url(&db.name)]),
        0,
    );
    assert!(out.stdout.contains("kronic_backup_"), "{}", out.stdout);
}

fn restores_from_the_bucket_plain_and_encrypted() {
    let db = TestDb::populated();
    let s3 = s3::shared();
    let expected = content_checksum(&mut db.client());
    let out = expect(kronic_s3(&db, s3, &db.name).arg("backup"), 0);
    let name = only_backup(&db.backup_dir());
    // No local copy to fall back on: the object itself is restored.
    std::fs::remove_dir_all(db.backup_dir()).unwrap();
    let url = format!("{}/{name}", s3.url(&db.name));
    let plain = TestDb::new();
    let out2 = expect(
        kronic_s3(&db, s3, &db.name).args(["restore", &url, "--target-db", &plain.name, "--yes"]),
        0,
    );
    assert!(
        out2.stdout.contains(&format!("Restore completed: {url}")),
        "{}",
        out2.stdout
    );
    assert_eq!(content_checksum(&mut plain.client()), expected);
    assert_no_aws_secret(s3, &out);

    let (identity, public) = crate::formats::keygen(db.dir.path(), "key.txt");
    let prefix = format!("{}-age", db.name);
    expect(
        kronic_s3(&db, s3, &prefix)
            .env("KRONIC_BACKUP_RECIPIENTS", &public)
            .args(["backup", "--remote-only"]),
        0,
    );
    let objects = s3.objects(&prefix);
    assert!(objects[0].0.ends_with(".sql.gz.age"), "{objects:?}");
    let object = s3.get(&format!("{prefix}/{}", objects[0].0));
    assert!(
        object.starts_with(b"age-encryption.org/v1"),
        "only ciphertext is uploaded"
    );
    // Without the key: 77 before anything connects; with it, the newest restores.
    let target = TestDb::new();
    let restore = [
        "restore",
        "--remote",
        "--latest",
        "--target-db",
        &target.name,
        "--yes",
    ];
    expect(kronic_s3(&db, s3, &prefix).args(restore), 77);
    expect(
        kronic_s3(&db, s3, &prefix)
            .args(restore)
            .arg("--identity")
            .arg(&identity),
        0,
    );
    assert_eq!(content_checksum(&mut target.client()), expected);
}

/// A `kronic backup` to `s3`'s `prefix` whose pg_dump waits for the lock an application
/// transaction (`app`) holds on users: the upload is under way when this returns.
fn backup_held_by_a_lock(
    db: &TestDb,
    s3: &S3,
    prefix: &str,
    app: &mut postgres::Client,
    args: &[&str],
) -> std::process::Child {
    let spy = crate::backup::spy_bindir(db.dir.path());
    let _ = std::fs::remove_file(db.path("env"));
    app.batch_execute("BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let mut cmd = db.kronic_std();
    for (k, v) in s3.vars() {
        cmd.env(k, v);
    }
    let child = cmd
        .env("KRONIC_BACKUP_REMOTE", s3.url(prefix))
        .env("KRONIC_REMOTE_TIMEOUT", "3")
        .env("KRONIC_PG_BINDIR", &spy)
        .env("KRONIC_LOG", "trace")
        .arg("backup")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while s3.uploads().is_empty() || !db.path("env").exists() {
        assert!(
            Instant::now() < deadline,
            "the upload or pg_dump never started"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // pg_dump runs now: its argv and environment hold no AWS secret.
    std::thread::sleep(Duration::from_millis(200));
    let env = std::fs::read_to_string(db.path("env")).unwrap();
    let argv = std::fs::read_to_string(db.path("argv")).unwrap();
    assert!(!env.contains("AWS_") && !env.contains(&s3.secret), "{env}");
    assert!(!argv.contains(&s3.secret));
    child
}

fn gauge(metrics: &Path, start: &str) -> String {
    let text = std::fs::read_to_string(metrics).unwrap();
    text.lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("{start} not in {text}"))
        .to_string()
}

fn remote_timestamp(metrics: &Path) -> String {
    gauge(
        metrics,
        "kronic_backup_remote_last_success_timestamp_seconds{",
    )
}

fn the_server_killed_mid_upload_keeps_the_local_backup_and_leaves_no_upload() {
    let db = TestDb::populated();
    let s3 = S3::start("kronic-kill");
    let prefix = "daily";
    let metrics = db.path("backup.prom");
    let metrics_arg = format!("--metrics-file={}", metrics.display());
    // A first good backup, for the metrics' last offsite success.
    expect(
        s3.env(&mut db.kronic())
            .env("KRONIC_BACKUP_REMOTE", s3.url(prefix))
            .args([
                "backup",
                "--dir",
                db.path("first").to_str().unwrap(),
                &metrics_arg,
            ]),
        0,
    );
    let before = remote_timestamp(&metrics);
    let local_before = gauge(&metrics, "kronic_backup_last_success_timestamp_seconds{");
    std::thread::sleep(Duration::from_millis(1100));

    let mut app = db.client();
    let child = backup_held_by_a_lock(&db, &s3, prefix, &mut app, &[&metrics_arg]);
    s3.kill();
    app.batch_execute("COMMIT").unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(!stderr.contains(&s3.secret));
    let name = only_backup(&db.backup_dir());
    assert!(
        stderr.contains(&format!("local backup kept: {name}; offsite copy failed: ")),
        "{stderr}"
    );
    // The local backup is whole and counted; the offsite success is not.
    expect(db.kronic().args(["backup", "verify", "--latest"]), 0);
    assert_eq!(remote_timestamp(&metrics), before);
    assert_ne!(
        gauge(&metrics, "kronic_backup_last_success_timestamp_seconds{"),
        local_before
    );

    s3.run();
    let first: Vec<String> = s3.objects(prefix).into_iter().map(|(k, _)| k).collect();
    assert!(
        !first.iter().any(|k| k.starts_with(&name)),
        "no object may appear: {first:?}"
    );
    // What could not be aborted with the server gone is aborted by the next run, which
    // also uploads the backup that was missed.
    let out = expect(
        s3.env(&mut db.kronic())
            .env("KRONIC_BACKUP_REMOTE", s3.url(prefix))
            .args(["backup", "sync"]),
        0,
    );
    assert!(
        out.stdout
            .contains(&format!("uploaded {}/{name}", s3.url(prefix))),
        "{}",
        out.stdout
    );
    assert_eq!(
        s3.uploads(),
        Vec::<String>::new(),
        "no multipart upload is left"
    );
    let local = std::fs::read(db.backup_dir().join(&name)).unwrap();
    assert_eq!(s3.get(&format!("{prefix}/{name}")), local);
    assert!(!db.backup_dir().join(JOURNAL).exists());

    // Every signal mid-upload: the upload is aborted, nothing appears, nothing is left.
    for signal in ["-TERM", "-INT", "-HUP", "-QUIT"] {
        let child = backup_held_by_a_lock(&db, &s3, prefix, &mut app, &[]);
        let out = signal_and_wait(child, signal);
        app.batch_execute("COMMIT").unwrap();
        assert_interrupted(&out);
        assert!(!String::from_utf8_lossy(&out.stderr).contains(&s3.secret));
        assert_eq!(
            s3.uploads(),
            Vec::<String>::new(),
            "{signal}: an upload is left"
        );
        assert_eq!(s3.objects(prefix).len(), first.len() + 2, "{signal}");
        assert_eq!(only_backup(&db.backup_dir()), name, "{signal}");
    }
}

fn a_wrong_secret_keeps_the_local_backup_and_is_77_with_remote_only() {
    let db = TestDb::populated();
    let s3 = s3::shared();
    let wrong = "Wrong-S3cret-DoNotLeak-0xC0FFEE";
    // A plain backup is taken whatever the bucket says: exit 3, naming the problem.
    let out = expect(
        kronic_s3(&db, s3, &db.name)
            .env("AWS_SECRET_ACCESS_KEY", wrong)
            .arg("backup"),
        3,
    );
    assert_stderr(&out, "local backup kept");
    assert_stderr(&out, "access denied (");
    assert!(!out.all().contains(wrong), "{}", out.all());
    only_backup(&db.backup_dir());
    std::fs::remove_dir_all(db.backup_dir()).unwrap();
    // --remote-only: the upload is the backup, so 77 before pg_dump runs.
    let spy = crate::backup::spy_bindir(db.dir.path());
    let out = expect(
        kronic_s3(&db, s3, &db.name)
            .env("AWS_SECRET_ACCESS_KEY", wrong)
            .env("KRONIC_PG_BINDIR", &spy)
            .env("KRONIC_LOG", "trace")
            .args(["backup", "--remote-only"]),
        77,
    );
    assert_stderr(&out, &format!("{}: access denied (", s3.url(&db.name)));
    assert_stderr(&out, "check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY");
    assert!(
        !out.all().contains(wrong) && !out.all().contains(&s3.secret),
        "{}",
        out.all()
    );
    assert!(!db.path("argv").exists(), "pg_dump ran");
    let files: Vec<_> = std::fs::read_dir(db.backup_dir())
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        files
            .iter()
            .all(|f| f.to_string_lossy().starts_with(".kronic")),
        "{files:?}"
    );
}

fn missing_bucket_and_unreachable_keep_the_local_backup_within_the_timeout() {
    let db = TestDb::populated();
    let s3 = s3::shared();
    let out = expect(
        s3.env(&mut db.kronic())
            .args(["backup", "--remote", "s3://no-such-bucket-kronic/x"]),
        3,
    );
    assert_stderr(&out, "local backup kept");
    let out = expect(
        s3.env(&mut db.kronic()).args([
            "backup",
            "--remote-only",
            "--remote",
            "s3://no-such-bucket-kronic/x",
        ]),
        66,
    );
    assert_stderr(
        &out,
        "s3://no-such-bucket-kronic/x: the bucket does not exist (NoSuchBucket",
    );
    assert_no_aws_secret(s3, &out);

    // A server that accepts and never answers: the local backup once the timeout has
    // passed (exit 3), 69 when the upload is the backup.
    let port = silent_listener();
    let started = Instant::now();
    let out = expect(
        kronic_s3(&db, s3, "x")
            .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
            .env("KRONIC_REMOTE_TIMEOUT", "2")
            .arg("backup"),
        3,
    );
    assert_stderr(&out, "local backup kept");
    let started_only = Instant::now();
    let out = expect(
        kronic_s3(&db, s3, "x")
            .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
            .env("KRONIC_REMOTE_TIMEOUT", "2")
            .args(["backup", "--remote-only"]),
        69,
    );
    assert!(started_only.elapsed() < Duration::from_secs(8));
    let took = started.elapsed();
    assert!(took < Duration::from_secs(8), "took {took:?}");
    assert_stderr(
        &out,
        "cannot reach the object store: no answer within 2s (KRONIC_REMOTE_TIMEOUT); check AWS_ENDPOINT_URL",
    );
    // Nothing listening: 69 as well, naming the endpoint variable to check.
    let out = expect(
        kronic_s3(&db, s3, "x")
            .env(
                "AWS_ENDPOINT_URL",
                format!("http://127.0.0.1:{}", cluster::free_port()),
            )
            .env("KRONIC_REMOTE_TIMEOUT", "2")
            .args(["backup", "list", "--remote"]),
        69,
    );
    assert_stderr(&out, "cannot reach the object store");
    assert_no_aws_secret(s3, &out);
}

fn remote_only_leaves_no_local_file() {
    let db = TestDb::populated();
    let s3 = s3::shared();
    let metrics = db.path("backup.prom");
    let out = expect(
        kronic_s3(&db, s3, &db.name)
            .args(["backup", "--remote-only", "--metrics-file"])
            .arg(&metrics),
        0,
    );
    assert!(!db.backup_dir().exists(), "a local folder was made");
    let objects = s3.objects(&db.name);
    assert_eq!(objects.len(), 2, "{objects:?}");
    assert!(out.stdout.contains(&format!(
        "Backup completed: {}/{}",
        s3.url(&db.name),
        objects[0].0
    )));
    let text = std::fs::read_to_string(&metrics).unwrap();
    assert!(
        text.contains("kronic_backup_remote_last_success_timestamp_seconds{"),
        "{text}"
    );
    expect(
        kronic_s3(&db, s3, &db.name).args(["backup", "verify", "--remote", "--latest"]),
        0,
    );
    // Without a remote, --remote-only is a usage error.
    expect(db.kronic().args(["backup", "--remote-only"]), 64);
}

fn sync_uploads_exactly_the_missing_backups() {
    let db = TestDb::populated();
    let s3 = s3::shared();
    expect(kronic_s3(&db, s3, &db.name).arg("backup"), 0);
    let first = s3.objects(&db.name);
    expect(db.kronic().arg("backup"), 0);
    expect(db.kronic().args(["backup", "--compression", "zstd"]), 0);
    let mut names: Vec<String> = std::fs::read_dir(db.backup_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("kronic_backup_") && !n.ends_with(".json"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 3);
    assert_eq!(first[0].0, names[0]);

    let out = expect(
        kronic_s3(&db, s3, &db.name).args(["backup", "sync", "--dry-run"]),
        0,
    );
    assert_eq!(
        out.stdout
            .lines()
            .filter(|l| l.starts_with("would upload"))
            .collect::<Vec<_>>(),
        vec![
            format!("would upload {}", names[1]),
            format!("would upload {}", names[2])
        ]
    );
    assert_eq!(s3.objects(&db.name), first, "a dry run uploads nothing");

    let out = expect(kronic_s3(&db, s3, &db.name).args(["backup", "sync"]), 0);
    let uploaded: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("uploaded"))
        .collect();
    assert_eq!(uploaded.len(), 2, "{}", out.stdout);
    for (i, name) in names.iter().enumerate() {
        let local = std::fs::read(db.backup_dir().join(name)).unwrap();
        assert_eq!(s3.get(&format!("{}/{name}", db.name)), local, "{name}");
        if i > 0 {
            assert!(
                uploaded[i - 1].ends_with(name.as_str()),
                "oldest first: {uploaded:?}"
            );
        }
    }
    assert_eq!(s3.objects(&db.name).len(), 6);
    let out = expect(kronic_s3(&db, s3, &db.name).args(["backup", "sync"]), 0);
    assert!(out.stdout.contains("nothing to upload"), "{}", out.stdout);

    // A local backup that no longer matches its manifest is not uploaded.
    expect(db.kronic().arg("backup"), 0);
    let newest = std::fs::read_dir(db.backup_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".manifest.json"))
        .max()
        .unwrap();
    let text = std::fs::read_to_string(&newest).unwrap();
    let sha = serde_json::from_str::<serde_json::Value>(&text).unwrap()["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::write(&newest, text.replace(&sha, &"0".repeat(64))).unwrap();
    let out = expect(kronic_s3(&db, s3, &db.name).args(["backup", "sync"]), 65);
    assert_stderr(&out, "not uploaded");
    assert_stderr(&out, "does not match its manifest");
    assert_eq!(s3.objects(&db.name).len(), 6, "nothing was uploaded");
    assert!(
        s3.uploads().iter().all(|k| !k.starts_with(&db.name)),
        "no upload is left"
    );

    // Nor one cut in half (no manifest to compare): verified from the same read as the
    // upload, and refused before the object is made.
    let file = newest.to_string_lossy().replace(".manifest.json", "");
    std::fs::remove_file(&newest).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    let out = expect(kronic_s3(&db, s3, &db.name).args(["backup", "sync"]), 65);
    assert_stderr(&out, &format!("not uploaded: {file} does not verify"));
    assert_eq!(s3.objects(&db.name).len(), 6, "nothing was uploaded");
    assert!(
        s3.uploads().iter().all(|k| !k.starts_with(&db.name)),
        "no upload is left"
    );
}

fn remote_prune_touches_only_old_backups_directly_under_the_prefix() {
    let db = TestDb::populated();
    let s3 = s3::shared();
    let p = &db.name;
    let old = "kronic_backup_20200101_000000.sql.gz";
    let older = "kronic_backup_20190101_000000.sql.gz";
    for key in [
        format!("{p}/{old}"),
        format!("{p}/{old}.manifest.json"),
        format!("{p}/{older}"),
        format!("{p}/notes.txt"),
        format!("{p}/{old}.bak"),
        format!("{p}/sub/{older}"),
        format!("{p}-other/{older}"),
    ] {
        s3.put(&key, b"not a backup, but named like one");
    }
    // Only old backups: the newest of them stays, whatever the rules say.
    let out = expect(
        kronic_s3(&db, s3, p).args(["backup", "prune", "--remote", "--keep-days", "7"]),
        0,
    );
    assert_eq!(out.stdout.trim(), format!("pruned {older}"));
    let keys: Vec<String> = s3.objects(p).into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        vec![
            old.to_string(),
            format!("{old}.bak"),
            format!("{old}.manifest.json"),
            "notes.txt".into(),
            format!("sub/{older}"),
        ]
    );
    // A backup with an upload: then the old one goes too, with its manifest.
    expect(
        kronic_s3(&db, s3, p).args(["backup", "--keep-days", "7"]),
        0,
    );
    let keys: Vec<String> = s3.objects(p).into_iter().map(|(k, _)| k).collect();
    let name = only_backup(&db.backup_dir());
    assert_eq!(
        keys,
        vec![
            format!("{old}.bak"),
            name.clone(),
            format!("{name}.manifest.json"),
            "notes.txt".into(),
            format!("sub/{older}"),
        ]
    );
    assert_eq!(s3.objects(&format!("{p}-other")).len(), 1);
}

fn other_schemes_are_not_supported_yet() {
    let db = TestDb::populated();
    for url in ["gs://bucket/prefix", "az://container/prefix"] {
        let out = expect(db.kronic().args(["backup", "--remote", url]), 3);
        assert_stderr(&out, "is not supported yet; use an s3:// bucket");
        let out = expect(
            db.kronic()
                .args(["backup", "--remote-only", "--remote", url]),
            78,
        );
        assert_stderr(&out, "is not supported yet; use an s3:// bucket");
    }
    let out = expect(
        db.kronic()
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .args(["backup", "--remote-only", "--remote", "s3://b/p"]),
        78,
    );
    assert_stderr(
        &out,
        "AWS_ENDPOINT_URL=http://127.0.0.1:9 is plain http: set AWS_ALLOW_HTTP=true",
    );
}

fn a_planted_journal_aborts_nobody_elses_upload() {
    let db = TestDb::populated();
    let s3 = s3::shared();
    let p = &db.name;
    // Someone else's uploads in progress: under another prefix, and a foreign key here.
    let create = |key: &str| {
        let out = s3.aws(&[
            "s3api",
            "create-multipart-upload",
            "--bucket",
            &s3.bucket,
            "--key",
            key,
            "--output",
            "json",
        ]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["UploadId"].as_str().unwrap().to_string()
    };
    let theirs = [
        format!("{p}-other/kronic_backup_20200101_000000.sql.gz"),
        format!("{p}/notes.txt"),
    ];
    let mut journal = String::new();
    for key in &theirs {
        journal.push_str(&format!("{key}\t{}\n", create(key)));
    }
    std::fs::create_dir_all(db.backup_dir()).unwrap();
    cluster::set_mode(&db.backup_dir(), 0o700);
    let planted = db.backup_dir().join(JOURNAL);
    std::fs::write(&planted, &journal).unwrap();

    expect(kronic_s3(&db, s3, p).arg("backup"), 0);
    let uploads = s3.uploads();
    for key in &theirs {
        assert!(uploads.contains(key), "{key} was aborted: {uploads:?}");
    }
    // Kept for a run against their own prefix, not acted on here.
    assert_eq!(std::fs::read_to_string(&planted).unwrap(), journal);

    // In a folder others can write to, the journal is not even read.
    cluster::set_mode(&db.backup_dir(), 0o777);
    std::fs::write(
        &planted,
        format!("{p}/kronic_backup_20200101_000000.sql.gz\tbogus\n"),
    )
    .unwrap();
    expect(kronic_s3(&db, s3, p).arg("backup"), 0);
    assert!(std::fs::read_to_string(&planted).unwrap().contains("bogus"));
    cluster::set_mode(&db.backup_dir(), 0o700);
}

/// kronic over TLS to the shared server: `AWS_CA_BUNDLE` trusts its private CA; without
/// it, or under a name the certificate does not carry, nothing is sent (69, before
/// pg_dump); a bundle that cannot be read is 78.
fn https_with_a_private_ca_in_aws_ca_bundle() {
    let db = TestDb::populated();
    let s3 = s3::shared();
    let tls = |cmd: &mut assert_cmd::Command, endpoint: &str| {
        cmd.env("AWS_ENDPOINT_URL", endpoint)
            .env_remove("AWS_ALLOW_HTTP")
            .env("KRONIC_REMOTE_TIMEOUT", "3");
    };
    let mut cmd = kronic_s3(&db, s3, &db.name);
    tls(&mut cmd, &s3.https_endpoint());
    let out = expect(cmd.env("AWS_CA_BUNDLE", s3.ca_file()).arg("backup"), 0);
    let name = only_backup(&db.backup_dir());
    let local = std::fs::read(db.backup_dir().join(&name)).unwrap();
    assert_eq!(s3.get(&format!("{}/{name}", db.name)), local);
    assert_no_aws_secret(s3, &out);
    // Reads go through the same trust: the object streamed back and checked.
    let mut cmd = kronic_s3(&db, s3, &db.name);
    tls(&mut cmd, &s3.https_endpoint());
    let out = expect(
        cmd.env("AWS_CA_BUNDLE", s3.ca_file())
            .args(["backup", "verify", "--remote", "--latest"]),
        0,
    );
    assert!(out.stdout.contains("SHA-256 matches"), "{}", out.stdout);

    // Not trusted: the system roots do not know the test CA.
    let other = db.path("other-backups");
    for (endpoint, bundle) in [
        (s3.https_endpoint(), None),
        // The certificate names localhost, not 127.0.0.1.
        (
            s3.https_endpoint().replace("localhost", "127.0.0.1"),
            Some(s3.ca_file()),
        ),
    ] {
        let mut cmd = kronic_s3(&db, s3, &db.name);
        tls(&mut cmd, &endpoint);
        if let Some(b) = &bundle {
            cmd.env("AWS_CA_BUNDLE", b);
        }
        let started = Instant::now();
        let out = expect(
            cmd.args(["backup", "--remote-only", "--dir"]).arg(&other),
            69,
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        assert_stderr(&out, "certificate");
        assert_stderr(&out, "AWS_CA_BUNDLE");
        assert_no_aws_secret(s3, &out);
        let written: Vec<_> = std::fs::read_dir(&other)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("kronic_backup_"))
            .collect();
        assert!(written.is_empty(), "pg_dump ran: {written:?}");
    }

    // A bundle that is missing or holds no certificate names the variable.
    let not_pem = db.path("not-a-ca.pem");
    std::fs::write(&not_pem, "hello\n").unwrap();
    for bundle in [db.path("missing.pem"), not_pem] {
        let mut cmd = kronic_s3(&db, s3, &db.name);
        tls(&mut cmd, &s3.https_endpoint());
        let out = expect(
            cmd.env("AWS_CA_BUNDLE", &bundle)
                .args(["backup", "--remote-only"]),
            78,
        );
        assert_stderr(&out, &format!("AWS_CA_BUNDLE={}", bundle.display()));
    }
    assert_eq!(
        s3.objects(&db.name).len(),
        2,
        "only the first backup landed"
    );
}

/// `drill --remote` restores the bucket's copy (with no local folder at all) into a
/// scratch database and checks it against the manifest stored next to it.
fn drills_the_offsite_copy_against_its_own_manifest() {
    let db = TestDb::populated();
    let s3 = s3::shared();
    expect(
        kronic_s3(&db, s3, &db.name).args(["backup", "--remote-only"]),
        0,
    );
    let (name, _) = s3.objects(&db.name).remove(0);
    let out = expect(
        kronic_s3(&db, s3, &db.name).args(["backup", "drill", "--remote", "--json"]),
        0,
    );
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["passed"], true, "{report}");
    assert_eq!(report["backup"], format!("{}/{name}", s3.url(&db.name)));
    assert_eq!(report["manifest"], true, "{report}");
    let rows = &report["checks"][1];
    assert_eq!(rows["name"], "rows");
    assert!(
        rows["detail"]
            .as_str()
            .unwrap()
            .contains("tables match the manifest"),
        "{report}"
    );
    assert!(!db.backup_dir().exists(), "a local folder was made");

    // The bucket's manifest is the one checked: a sidecar that claims other counts fails
    // the drill, named by its URL; the scratch database is gone either way.
    let key = format!("{}/{name}.manifest.json", db.name);
    let mut sidecar: serde_json::Value = serde_json::from_slice(&s3.get(&key)).unwrap();
    sidecar["tables"]["public.users"] = 9999.into();
    s3.put(&key, &serde_json::to_vec(&sidecar).unwrap());
    let url = format!("{}/{name}", s3.url(&db.name));
    let out = expect(s3.env(&mut db.kronic()).args(["backup", "drill", &url]), 65);
    assert_stderr(
        &out,
        &format!(
            "drill of {url} failed the rows check: public.users: 2001 restored, 9999 in the manifest"
        ),
    );
    let scratch = format!("{}_drill_scratch", db.name);
    let left: Option<postgres::Row> =
        postgres::Client::connect(&server().admin_url, postgres::NoTls)
            .unwrap()
            .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&scratch])
            .unwrap();
    assert!(left.is_none(), "the scratch database was left behind");
    // A "manifest" the size of a backup is not read into memory: 65, named.
    s3.put(&key, &vec![b' '; (16 << 20) + 1]);
    let out = expect(s3.env(&mut db.kronic()).args(["backup", "drill", &url]), 65);
    assert_stderr(
        &out,
        &format!("the manifest of {url} is 16777217 bytes: not a kronic manifest"),
    );
    // --remote with a NAME that is not a backup's: a usage error, nothing fetched.
    expect(
        kronic_s3(&db, s3, &db.name).args(["backup", "drill", "--remote", "../etc/passwd"]),
        64,
    );
}

/// Rows of the `noise` table, summed up.
fn noise_fingerprint(db: &TestDb) -> (i64, String) {
    let row = db
        .client()
        .query_one(
            "SELECT count(*), md5(string_agg(h, '' ORDER BY i)) FROM noise",
            &[],
        )
        .unwrap();
    (row.get(0), row.get(1))
}

/// The server killed and restarted under a restore that is waiting for an application's
/// lock, long after the download's first answer: the restore resumes the download
/// where its bytes stopped (same object, checked by ETag) and restores everything.
fn a_restore_from_the_bucket_resumes_a_broken_download() {
    let db = TestDb::populated();
    // Tens of MB that do not compress away: more than the sockets can buffer.
    db.client()
        .batch_execute(
            "SET ROLE kronic_app; CREATE TABLE noise AS SELECT i, \
             encode(sha256(i::text::bytea), 'base64') AS h FROM generate_series(1, 1000000) i",
        )
        .unwrap();
    let s3 = S3::start("kronic-resume");
    expect(
        s3.env(&mut db.kronic())
            .env("KRONIC_BACKUP_REMOTE", s3.url("resume"))
            .args(["backup", "--remote-only"]),
        0,
    );
    let want = noise_fingerprint(&db);

    let mut app = db.client();
    app.batch_execute("BEGIN; SELECT count(*) FROM noise")
        .unwrap();
    let mut cmd = db.kronic_std();
    for (k, v) in s3.vars() {
        cmd.env(k, v);
    }
    let child = cmd
        .env("KRONIC_BACKUP_REMOTE", s3.url("resume"))
        .env("KRONIC_REMOTE_TIMEOUT", "2")
        .env("KRONIC_LOG", "info,object_store=info")
        .args(["restore", "--remote", "--latest", "--yes"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The download has started once the restore waits for the application's lock.
    let mut admin = db.client();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let waiting: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND wait_event_type = 'Lock' AND query LIKE 'LOCK TABLE%'",
                &[],
            )
            .unwrap()
            .get(0);
        if waiting > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the restore never waited for the lock"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Past the remote timeout since the download began, then the server goes away.
    std::thread::sleep(Duration::from_secs(3));
    s3.kill();
    std::thread::sleep(Duration::from_secs(1));
    s3.run();
    app.batch_execute("ROLLBACK").unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("Encountered error while reading response body"),
        "the download never broke: {stderr}"
    );
    assert!(!stderr.contains(&s3.secret));
    assert_eq!(noise_fingerprint(&db), want);
}

/// kronic `args` through `proxy`, sent SIGTERM while the proxy holds a request back.
fn signalled(db: &TestDb, s3: &S3, proxy: &DelayProxy, args: &[&str]) -> std::process::Output {
    let out = sent_while_held(db, s3, proxy, &db.name, args, "-TERM");
    assert_interrupted(&out);
    out
}

/// kronic `args` with the remote `prefix` through `proxy`, sent `signal` while the proxy
/// holds a request back.
fn sent_while_held(
    db: &TestDb,
    s3: &S3,
    proxy: &DelayProxy,
    prefix: &str,
    args: &[&str],
    signal: &str,
) -> std::process::Output {
    let mut cmd = db.kronic_std();
    for (k, v) in s3.vars() {
        cmd.env(k, v);
    }
    let child = cmd
        .env("AWS_ENDPOINT_URL", proxy.endpoint())
        .env("KRONIC_BACKUP_REMOTE", s3.url(prefix))
        .env("KRONIC_REMOTE_TIMEOUT", "20")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    proxy.wait_held();
    signal_and_wait(child, signal)
}

/// The steps a signal cannot cut short: the upload being created (before pg_dump) and
/// being completed, and `sync` mid-upload. A signal then no longer kills kronic
/// outright: the upload is aborted, or completed first, and the message says which.
fn a_signal_while_an_upload_is_created_or_completed_leaves_nothing_half_done() {
    let db = TestDb::populated();
    let s3 = s3::shared();
    let mine = |s3: &S3| -> Vec<String> {
        s3.uploads()
            .into_iter()
            .filter(|k| k.starts_with(&format!("{}/", db.name)))
            .collect()
    };
    let hold = Duration::from_secs(3);

    // Being created: aborted once the server answers; pg_dump never ran.
    let creating = DelayProxy::start(s3.port(), |c| holds(c, b"?uploads="), hold);
    let out = signalled(&db, s3, &creating, &["backup"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("interrupted before the dump started: no backup was written"),
        "{stderr}"
    );
    assert_eq!(mine(s3), Vec::<String>::new(), "an upload is left");
    assert!(s3.objects(&db.name).is_empty());
    let files: Vec<_> = std::fs::read_dir(db.backup_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("kronic_backup_"))
        .collect();
    assert!(files.is_empty(), "{files:?}");

    // Being completed: completed first, then stopped, saying the backup was kept.
    let completing = DelayProxy::start(
        s3.port(),
        |c| c.starts_with(b"POST ") && holds(c, b"?uploadId="),
        hold,
    );
    let out = signalled(&db, s3, &completing, &["backup"]);
    let name = only_backup(&db.backup_dir());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "interrupted while the backup was completed: {name} was kept (locally and offsite); none was pruned"
        )),
        "{stderr}"
    );
    let local = std::fs::read(db.backup_dir().join(&name)).unwrap();
    assert_eq!(s3.get(&format!("{}/{name}", db.name)), local);
    assert_eq!(s3.objects(&db.name).len(), 2, "the object and its manifest");
    assert_eq!(mine(s3), Vec::<String>::new());

    // sync mid-upload: aborted; the next sync uploads it.
    let out = expect(db.kronic().arg("backup"), 0);
    let second = out
        .stdout
        .trim()
        .strip_prefix("Backup completed: ")
        .unwrap()
        .to_string();
    let uploading = DelayProxy::start(
        s3.port(),
        |c| c.starts_with(b"PUT ") && holds(c, b"?partNumber="),
        hold,
    );
    let out = signalled(&db, s3, &uploading, &["backup", "sync"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("interrupted: the upload of {second} was aborted")),
        "{stderr}"
    );
    assert_eq!(mine(s3), Vec::<String>::new(), "an upload is left");
    assert_eq!(s3.objects(&db.name).len(), 2);
    expect(kronic_s3(&db, s3, &db.name).args(["backup", "sync"]), 0);
    assert_eq!(s3.objects(&db.name).len(), 4);
}

/// `AWS_PROXY_URL` applies to the streamed download as to every other request (the
/// download client once dropped the environment's HTTP settings).
fn downloads_go_through_the_configured_proxy() {
    let db = TestDb::populated();
    let s3 = s3::shared();
    expect(
        kronic_s3(&db, s3, &db.name).args(["backup", "--remote-only"]),
        0,
    );
    // A forwarding proxy: requests reach it in absolute form; it counts the object's GETs.
    let proxy = DelayProxy::start(
        s3.port(),
        |c| c.starts_with(b"GET http://") && holds(c, b".sql.gz HTTP/1.1"),
        Duration::ZERO,
    );
    let out = expect(
        kronic_s3(&db, s3, &db.name)
            .env("AWS_PROXY_URL", proxy.endpoint())
            .args(["backup", "verify", "--remote", "--latest"]),
        0,
    );
    assert!(out.stdout.contains("SHA-256 matches"), "{}", out.stdout);
    proxy.wait_held();
}

/// The server completes the upload but its answer never reaches kronic in time: kronic
/// cannot know the object exists, so it looks, and removes it (no object without its
/// manifest); the local backup is kept (3) and `sync` uploads it whole later.
fn a_completion_whose_answer_never_comes_leaves_no_object() {
    let db = TestDb::populated();
    let s3 = s3::shared();
    let proxy = DelayProxy::answering_late(
        s3.port(),
        |c| c.starts_with(b"POST ") && holds(c, b"?uploadId="),
        Duration::from_secs(6),
    );
    let out = expect(
        kronic_s3(&db, s3, &db.name)
            .env("AWS_ENDPOINT_URL", proxy.endpoint())
            .env("KRONIC_REMOTE_TIMEOUT", "2")
            .arg("backup"),
        3,
    );
    proxy.wait_held();
    let name = only_backup(&db.backup_dir());
    assert_stderr(
        &out,
        &format!("local backup kept: {name}; offsite copy failed: "),
    );
    assert_eq!(s3.objects(&db.name), Vec::<(String, u64)>::new());
    let left: Vec<String> = s3
        .uploads()
        .into_iter()
        .filter(|k| k.starts_with(&format!("{}/", db.name)))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    expect(kronic_s3(&db, s3, &db.name).args(["backup", "sync"]), 0);
    assert_eq!(s3.objects(&db.name).len(), 2, "the object and its manifest");
}

/// kill -9 while parts go up: the upload was written down before its first part, so the
/// next run against the bucket aborts it (no parts kept, billed, forever).
fn a_kill_9_mid_upload_is_aborted_by_the_next_run() {
    let db = TestDb::populated();
    let s3 = s3::shared();
    let prefix = format!("{}-kill9", db.name);
    let mine = |s3: &S3| -> Vec<String> {
        s3.uploads()
            .into_iter()
            .filter(|k| k.starts_with(&format!("{prefix}/")))
            .collect()
    };
    let uploading = DelayProxy::start(
        s3.port(),
        |c| c.starts_with(b"PUT ") && holds(c, b"?partNumber="),
        Duration::from_secs(30),
    );
    let out = sent_while_held(&db, s3, &uploading, &prefix, &["backup"], "-KILL");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&out.status),
        Some(9)
    );
    assert_eq!(mine(s3).len(), 1, "no upload under way to abort");

    let out = run(kronic_s3(&db, s3, &prefix).args(["backup", "sync"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_stderr(&out, "aborted the unfinished upload of");
    assert_eq!(mine(s3), Vec::<String>::new(), "the upload is left");
    assert!(!db.backup_dir().join(JOURNAL).exists());
}

/// An upload nobody could clean up after a kill is not started: when the journal cannot
/// be written (here a folder stands in its place), the offsite copy fails naming it
/// (exit 3), the local backup is kept whole, and no upload is left in the bucket.
fn an_unwritable_journal_keeps_the_local_backup_and_uploads_nothing() {
    let db = TestDb::populated();
    let s3 = s3::shared();
    let prefix = format!("{}-nojournal", db.name);
    std::fs::create_dir_all(db.backup_dir().join(JOURNAL)).unwrap();
    let out = run(kronic_s3(&db, s3, &prefix).arg("backup"));
    assert_eq!(out.code, 3, "{}", out.stderr);
    let name = only_backup(&db.backup_dir());
    assert_stderr(
        &out,
        &format!("local backup kept: {name}; offsite copy failed: "),
    );
    assert_stderr(&out, JOURNAL);
    let errors = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("kronic: error:"));
    assert_eq!(errors.count(), 1, "{}", out.stderr);
    expect(db.kronic().args(["backup", "verify", "--latest"]), 0);
    assert!(s3.objects(&prefix).is_empty());
    assert!(
        s3.uploads()
            .iter()
            .all(|k| !k.starts_with(&format!("{prefix}/"))),
        "{:?}",
        s3.uploads()
    );
}
