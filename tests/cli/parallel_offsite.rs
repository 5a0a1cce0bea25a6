//! Parallel backups offsite: every member uploaded in the same pass as its own object
//! under the backup's name, the manifest last; restored, verified, pruned whole and
//! restored table by table from the bucket (the real S3 test server).

use std::os::unix::process::ExitStatusExt;

use crate::corpus::{pagila, snapshot};
use crate::remote::kronic_s3;
use crate::support::s3::S3;
use crate::support::*;

crate::register!(
    a_parallel_backup_goes_offsite_in_the_same_pass_and_restores_from_there_on_postgresql_15,
    a_parallel_backup_goes_offsite_in_the_same_pass_and_restores_from_there_on_postgresql_18,
    a_remote_only_parallel_backup_leaves_nothing_local,
    a_member_missing_or_replaced_offsite_is_refused_before_the_swap,
    a_parallel_backup_is_pruned_from_the_bucket_whole,
    an_unusable_bucket_keeps_the_local_parallel_backup_with_exit_3,
    sync_uploads_a_parallel_backup_whole_or_not_at_all_on_postgresql_15,
    sync_uploads_a_parallel_backup_whole_or_not_at_all_on_postgresql_18,
    an_encrypted_signed_parallel_backup_offsite_is_only_ciphertext,
    a_signal_during_a_parallel_offsite_backup_leaves_nothing_behind,
    the_server_killed_during_a_parallel_backup_keeps_the_local_one,
    journaled_members_go_unless_their_backup_is_whole,
    a_kill_9_half_way_offsite_is_cleaned_by_the_next_run,
    a_signal_or_the_server_dying_during_sync_leaves_no_half_backup,
);

/// A pg_dump that holds its post-data section back for a while (a marker file says it
/// got there): the table members are written and uploaded meanwhile, so a test can act
/// while the backup is half in the bucket.
fn slow_post_data_bindir(db: &TestDb) -> std::path::PathBuf {
    let bin = db.path("slowbin");
    std::fs::create_dir_all(&bin).unwrap();
    let real = cluster::bindir().join("pg_dump");
    let script = format!(
        "#!/bin/sh\ncase \"$*\" in *--section=post-data*) touch {marker}; sleep 8;; esac\nexec {real} \"$@\"\n",
        marker = db.path("post-data").display(),
        real = real.display()
    );
    write_file(&bin.join("pg_dump"), &script);
    cluster::set_mode(&bin.join("pg_dump"), 0o755);
    bin
}

/// `kronic backup --jobs 2` to `s3`'s `prefix` with the slow pg_dump, started; returns
/// once the post-data section is held back and some member is complete in the bucket.
fn half_offsite(db: &TestDb, s3: &S3, prefix: &str) -> std::process::Child {
    let mut cmd = db.kronic_std();
    for (k, v) in s3.vars() {
        cmd.env(k, v);
    }
    let child = cmd
        .env("KRONIC_BACKUP_REMOTE", s3.url(prefix))
        .env("KRONIC_REMOTE_TIMEOUT", "3")
        .env("KRONIC_PG_BINDIR", slow_post_data_bindir(db))
        .args(["backup", "--jobs", "2"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !db.path("post-data").exists()
        || !s3.objects(prefix).iter().any(|(k, _)| k.contains(".dir/"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no member reached the bucket"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    child
}

/// The objects of the parallel backup `name` under `prefix` (member files), and
/// whether its manifest is there.
fn offsite(s3: &S3, prefix: &str, name: &str) -> (Vec<String>, bool) {
    let objects = s3.objects(prefix);
    let members = objects
        .iter()
        .filter_map(|(k, _)| k.strip_prefix(&format!("{name}/")))
        .map(str::to_string)
        .collect();
    let manifest = objects
        .iter()
        .any(|(k, _)| *k == format!("{name}.manifest.json"));
    (members, manifest)
}

/// `kronic backup --jobs 2` to the bucket: the backup's name.
fn backup_offsite(db: &TestDb, s3: &S3, args: &[&str]) -> (String, Output) {
    let out = expect(
        kronic_s3(db, s3, &db.name)
            .args(["backup", "--jobs", "2"])
            .args(args),
        0,
    );
    (offsite_name(&out), out)
}

/// The parallel backup a run put in the bucket (`… completed: s3://…/NAME`).
fn offsite_name(out: &Output) -> String {
    let name = out
        .stdout
        .lines()
        .find_map(|l| {
            l.rsplit_once('/')
                .filter(|_| l.contains("completed: s3://"))
        })
        .map(|(_, n)| n.trim().to_string())
        .unwrap_or_else(|| panic!("no offsite copy in {:?}", out.stdout));
    assert!(name.ends_with(".dir"), "{name}");
    name
}

/// `restore URL --jobs 2` into a new database `<src>_<suffix>`: its snapshot.
fn restored_new(src: &TestDb, s3: &S3, url: &str, suffix: &str) -> String {
    let new = format!("{}_{suffix}", src.name);
    expect(
        kronic_s3(src, s3, &src.name).args([
            "restore",
            url,
            "--jobs",
            "2",
            "--yes",
            "--create",
            "--target-db",
            &new,
        ]),
        0,
    );
    let copy = TestDb {
        name: new,
        dir: tempfile::tempdir().unwrap(),
        server: src.server,
    };
    snapshot(&copy)
}

fn a_parallel_backup_goes_offsite_in_the_same_pass_and_restores_from_there_on_postgresql_15() {
    offsite_round_trip(server());
}

fn a_parallel_backup_goes_offsite_in_the_same_pass_and_restores_from_there_on_postgresql_18() {
    offsite_round_trip(server_of(18));
}

fn offsite_round_trip(server: &'static Server) {
    let src = TestDb::on(server);
    pagila(&src);
    let reference = snapshot(&src);
    let s3 = crate::support::s3::shared();
    let (name, _) = backup_offsite(&src, s3, &["--compression", "zstd"]);
    let url = format!("{}/{name}", s3.url(&src.name));
    // The local folder and the bucket hold the same members, byte for byte.
    let local = src.backup_dir().join(&name);
    let (members, manifest) = offsite(s3, &src.name, &name);
    assert!(manifest);
    // Every member was written down before it went up, and struck out with the manifest.
    assert!(!src.backup_dir().join(crate::remote::JOURNAL).exists());
    let mut files: Vec<String> = std::fs::read_dir(&local)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(members, files);
    let first = &files[3];
    assert_eq!(
        s3.get(&format!("{}/{name}/{first}", src.name)),
        std::fs::read(local.join(first)).unwrap()
    );
    assert!(s3.uploads().iter().all(|k| !k.contains(&name)));
    let listed = expect(
        kronic_s3(&src, s3, &src.name).args(["backup", "list", "--remote", "--json"]),
        0,
    );
    assert!(listed.stdout.contains(&name), "{}", listed.stdout);
    expect(
        kronic_s3(&src, s3, &src.name).args(["backup", "verify", "--remote", &name]),
        0,
    );

    // The local copy gone: restored from the bucket, into a new database and in place.
    std::fs::remove_dir_all(&local).unwrap();
    assert_eq!(restored_new(&src, s3, &url, "off"), reference);

    // One table from the bucket, the rest as it is now.
    src.client()
        .batch_execute(
            "DELETE FROM film_actor; UPDATE language SET name = 'Klingon' WHERE language_id = 1",
        )
        .unwrap();
    let changed = snapshot(&src);
    expect(
        kronic_s3(&src, s3, &src.name).args(["restore", &url, "--table", "film_actor", "--yes"]),
        0,
    );
    let after = snapshot(&src);
    let line = |s: &str, t: &str| {
        s.lines()
            .find(|l| l.starts_with(&format!("{t}: ")))
            .unwrap()
            .to_string()
    };
    assert_eq!(
        line(&after, "public.film_actor"),
        line(&reference, "public.film_actor")
    );
    assert_eq!(
        line(&after, "public.language"),
        line(&changed, "public.language")
    );

    // In place, --latest from the bucket: the database as it was backed up.
    expect(
        kronic_s3(&src, s3, &src.name).args([
            "restore",
            "--remote",
            "--latest",
            "--jobs",
            "2",
            "--yes",
            "--keep-old",
            "false",
        ]),
        0,
    );
    assert_eq!(snapshot(&src), reference);
}

fn a_remote_only_parallel_backup_leaves_nothing_local() {
    let src = TestDb::on(server());
    pagila(&src);
    let reference = snapshot(&src);
    let s3 = crate::support::s3::shared();
    let (name, out) = backup_offsite(&src, s3, &["--remote-only"]);
    let url = format!("{}/{name}", s3.url(&src.name));
    assert!(
        out.stdout.contains("Backup completed: s3://"),
        "{}",
        out.stdout
    );
    assert!(backups_in(&src.backup_dir()).is_empty());
    let (members, manifest) = offsite(s3, &src.name, &name);
    assert!(manifest && members.len() > 5, "{members:?}");
    assert_eq!(restored_new(&src, s3, &url, "ro"), reference);
}

fn a_member_missing_or_replaced_offsite_is_refused_before_the_swap() {
    let src = TestDb::on(server());
    pagila(&src);
    let s3 = crate::support::s3::shared();
    let (name, _) = backup_offsite(&src, s3, &["--remote-only"]);
    let url = format!("{}/{name}", s3.url(&src.name));
    src.client().batch_execute("DELETE FROM payment").unwrap();
    let changed = snapshot(&src);
    let (members, _) = offsite(s3, &src.name, &name);
    let key = |m: &str| format!("{}/{name}/{m}", src.name);
    let data = members.iter().find(|m| m.contains("-data.copy")).unwrap();
    let original = s3.get(&key(data));
    let restore = || {
        kronic_s3(&src, s3, &src.name)
            .args(["restore", &url, "--jobs", "2", "--yes"])
            .output()
            .unwrap()
    };
    // Replaced by other bytes of the same size: the digest, after loading, before the swap.
    let mut other = original.clone();
    let last = other.len() - 1;
    other[last] ^= 0xff;
    s3.put(&key(data), &other);
    let out = restore();
    assert_eq!(
        out.status.code(),
        Some(65),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(snapshot(&src), changed);
    // Truncated, then missing: refused before anything is made.
    s3.put(&key(data), &original[..original.len() / 2]);
    let out = restore();
    assert_eq!(out.status.code(), Some(65));
    assert!(String::from_utf8_lossy(&out.stderr).contains("truncated or replaced"));
    s3.aws(&["s3", "rm", &format!("s3://{}/{}", s3.bucket, key(data))]);
    let out = restore();
    assert_eq!(out.status.code(), Some(65));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is missing"));
    assert_eq!(snapshot(&src), changed);
    let scratch: i64 = src
        .server
        .connect("postgres")
        .query_one(
            "SELECT count(*) FROM pg_database WHERE shobj_description(oid, 'pg_database') LIKE $1",
            &[&format!("kronic restore of {}:%", src.name)],
        )
        .unwrap()
        .get(0);
    assert_eq!(scratch, 0);
    // verify says so too.
    expect(
        kronic_s3(&src, s3, &src.name).args(["backup", "verify", "--remote", &name]),
        65,
    );
}

fn a_parallel_backup_is_pruned_from_the_bucket_whole() {
    let db = TestDb::populated();
    let s3 = crate::support::s3::shared();
    let (first, _) = backup_offsite(&db, s3, &[]);
    let (second, _) = backup_offsite(&db, s3, &["--keep-last", "1"]);
    assert_ne!(first, second);
    assert_eq!(offsite(s3, &db.name, &first), (Vec::new(), false));
    let (members, manifest) = offsite(s3, &db.name, &second);
    assert!(manifest && !members.is_empty());
}

fn an_unusable_bucket_keeps_the_local_parallel_backup_with_exit_3() {
    let db = TestDb::populated();
    let s3 = crate::support::s3::shared();
    let mut cmd = db.kronic();
    s3.env(&mut cmd)
        .env("KRONIC_BACKUP_REMOTE", "s3://no-such-bucket-kronic/p")
        .args(["backup", "--jobs", "2"]);
    let out = expect(&mut cmd, 3);
    assert_stderr(&out, "local backup kept");
    let kept = backups_in(&db.backup_dir());
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].ends_with(".dir"));
    expect(
        db.kronic()
            .args(["backup", "verify"])
            .arg(db.backup_dir().join(&kept[0])),
        0,
    );
}

/// `backup sync` uploads local parallel backups (taken with no bucket set) as a backup
/// with the remote set would: members, then the manifest. One whose member changed on
/// disk since is refused (65) with nothing of it left in the bucket; the other restores
/// from the bucket equal to the source.
fn sync_uploads_a_parallel_backup_whole_or_not_at_all_on_postgresql_15() {
    sync_whole_or_not_at_all(server());
}

fn sync_uploads_a_parallel_backup_whole_or_not_at_all_on_postgresql_18() {
    sync_whole_or_not_at_all(server_of(18));
}

fn sync_whole_or_not_at_all(server: &'static Server) {
    let src = TestDb::on(server);
    pagila(&src);
    let reference = snapshot(&src);
    let s3 = crate::support::s3::shared();
    let local = |db: &TestDb| -> String {
        let out = expect(db.kronic().args(["backup", "--jobs", "2"]), 0);
        out.stdout
            .lines()
            .find_map(|l| l.strip_prefix("Backup completed: "))
            .unwrap()
            .trim()
            .to_string()
    };
    let first = local(&src);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = local(&src);
    // A data member of the newer one changed on disk (same size, other bytes).
    let folder = src.backup_dir().join(&second);
    let member = std::fs::read_dir(&folder)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().contains("-data.copy"))
        .unwrap();
    let mut bytes = std::fs::read(&member).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&member, bytes).unwrap();
    let out = expect(kronic_s3(&src, s3, &src.name).args(["backup", "sync"]), 65);
    assert_stderr(&out, "does not match its manifest");
    let count = std::fs::read_dir(src.backup_dir().join(&first))
        .unwrap()
        .count();
    let (members, manifest) = offsite(s3, &src.name, &first);
    assert!(manifest, "{first} has no manifest in the bucket");
    assert_eq!(members.len(), count, "{members:?}");
    let (members, manifest) = offsite(s3, &src.name, &second);
    assert!(!manifest && members.is_empty(), "{members:?}");
    assert!(
        s3.uploads().iter().all(|k| !k.contains(&second)),
        "{:?}",
        s3.uploads()
    );
    let url = format!("{}/{first}", s3.url(&src.name));
    assert_eq!(restored_new(&src, s3, &url, "synced"), reference);
    // Listed, and a second sync has nothing of it to upload.
    let out = expect(
        kronic_s3(&src, s3, &src.name).args(["backup", "list", "--remote"]),
        0,
    );
    assert!(out.stdout.contains(&first), "{}", out.stdout);
}

/// Encrypted and signed, offsite only: every object in the bucket is an age file, the
/// manifest is signed, and a restore that trusts only that key, with the identity,
/// equals the source.
fn an_encrypted_signed_parallel_backup_offsite_is_only_ciphertext() {
    let src = TestDb::on(server());
    pagila(&src);
    let reference = snapshot(&src);
    let s3 = crate::support::s3::shared();
    let (identity, recipient) = crate::formats::keygen(src.dir.path(), "age.key");
    let (secret, public) = crate::signed::keys(&src, "sign");
    let out = expect(
        kronic_s3(&src, s3, &src.name)
            .env("KRONIC_BACKUP_SIGNING_KEY", &secret)
            .args(["backup", "--jobs", "2", "--remote-only"])
            .args(["--recipient", &recipient]),
        0,
    );
    let name = offsite_name(&out);
    let (members, manifest) = offsite(s3, &src.name, &name);
    assert!(manifest && members.len() > 3, "{members:?}");
    for m in &members {
        let bytes = s3.get(&format!("{}/{name}/{m}", src.name));
        assert!(
            bytes.starts_with(b"age-encryption.org/v1"),
            "{m} is not ciphertext"
        );
        assert!(
            !bytes.windows(8).any(|w| w == b"PENELOPE"),
            "{m} holds plaintext rows"
        );
    }
    let objects: Vec<String> = s3.objects(&src.name).into_iter().map(|(k, _)| k).collect();
    assert!(
        objects
            .iter()
            .any(|k| k.ends_with(".dir.manifest.json.minisig")),
        "{objects:?}"
    );
    let url = format!("{}/{name}", s3.url(&src.name));
    let new = format!("{}_enc_offsite", src.name);
    let restore = |extra: &[&str]| {
        let mut cmd = kronic_s3(&src, s3, &src.name);
        cmd.env("KRONIC_BACKUP_TRUSTED_KEYS", &public)
            .args(["restore", &url, "--jobs", "2", "--yes", "--create"])
            .args(["--target-db", &new])
            .args(extra);
        cmd
    };
    // Without the identity: refused before anything is made.
    expect(&mut restore(&[]), 77);
    expect(&mut restore(&["--identity", identity.to_str().unwrap()]), 0);
    let copy = TestDb {
        name: new,
        dir: tempfile::tempdir().unwrap(),
        server: src.server,
    };
    assert_eq!(snapshot(&copy), reference);
}

/// SIGTERM while a parallel backup is half in the bucket (members complete, the
/// post-data still being written): 130, and nothing of it stays, in the bucket (no
/// member, no manifest, no upload under way) or in the folder.
fn a_signal_during_a_parallel_offsite_backup_leaves_nothing_behind() {
    let db = TestDb::on(server());
    pagila(&db);
    let s3 = crate::support::s3::shared();
    let prefix = format!("{}-term", db.name);
    let child = half_offsite(&db, s3, &prefix);
    let out = signal_and_wait(child, "-TERM");
    assert_interrupted(&out);
    let left: Vec<String> = s3.objects(&prefix).into_iter().map(|(k, _)| k).collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(
        s3.uploads().iter().all(|k| !k.starts_with(&prefix)),
        "{:?}",
        s3.uploads()
    );
    let local: Vec<String> = std::fs::read_dir(db.backup_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("kronic_backup_") || n.contains(".tmp"))
        .collect();
    assert!(local.is_empty(), "{local:?}");
}

/// The S3 server killed while a parallel backup is half in the bucket: the local backup
/// is kept whole (exit 3, it verifies), and no manifest appears offsite. With the server
/// back, `backup sync` uploads it, and the bucket's copy verifies.
fn the_server_killed_during_a_parallel_backup_keeps_the_local_one() {
    let db = TestDb::on(server());
    pagila(&db);
    let s3 = S3::start("kronic-pkill");
    let prefix = "daily";
    let child = half_offsite(&db, &s3, prefix);
    s3.kill();
    let killed = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    // Bounded by the remote timeout (3 s) for the bucket, not by one per member to
    // clean (the slow pg_dump itself holds the backup back 8 s).
    assert!(killed.elapsed().as_secs() < 30, "{:?}", killed.elapsed());
    assert!(!stderr.contains(&s3.secret));
    let name = backups_in(&db.backup_dir())
        .into_iter()
        .find(|n| n.ends_with(".dir"))
        .unwrap_or_else(|| panic!("no local backup: {stderr}"));
    assert!(
        stderr.contains(&format!("local backup kept: {name}; offsite copy failed: ")),
        "{stderr}"
    );
    expect(db.kronic().args(["backup", "verify", "--latest"]), 0);
    s3.run();
    let (_, manifest) = offsite(&s3, prefix, &name);
    assert!(
        !manifest,
        "a manifest appeared for a backup that failed offsite"
    );
    expect(kronic_s3(&db, &s3, prefix).args(["backup", "sync"]), 0);
    let (_, manifest) = offsite(&s3, prefix, &name);
    assert!(manifest);
    assert!(s3.uploads().is_empty(), "{:?}", s3.uploads());
    expect(
        kronic_s3(&db, &s3, prefix).args(["backup", "verify", "--remote", &name]),
        0,
    );
}

/// Members a failed backup could not delete are written down; the next run deletes them,
/// but never a member of a backup whose manifest is in the bucket by then.
fn journaled_members_go_unless_their_backup_is_whole() {
    let db = TestDb::populated();
    let s3 = crate::support::s3::shared();
    let prefix = format!("{}-journal", db.name);
    let failed = "kronic_backup_20260101_010101.dir";
    let whole = "kronic_backup_20260102_010101.dir";
    let member = "0003-data.copy.gz";
    for name in [failed, whole] {
        s3.put(&format!("{prefix}/{name}/{member}"), b"rows");
    }
    s3.put(&format!("{prefix}/{whole}.manifest.json"), b"{}");
    std::fs::create_dir_all(db.backup_dir()).unwrap();
    let journal = db.backup_dir().join(crate::remote::JOURNAL);
    write_file(
        &journal,
        &format!("{prefix}/{failed}/{member}\t-\n{prefix}/{whole}/{member}\t-\n"),
    );
    cluster::set_mode(&journal, 0o600);
    let out = run(kronic_s3(&db, s3, &prefix).args(["backup", "sync"]));
    assert_stderr(&out, &format!("deleted {prefix}/{failed}/{member}"));
    let left: Vec<String> = s3.objects(&prefix).into_iter().map(|(k, _)| k).collect();
    assert!(!left.contains(&format!("{failed}/{member}")), "{left:?}");
    assert!(left.contains(&format!("{whole}/{member}")), "{left:?}");
    assert!(!journal.exists(), "the journal was not emptied");
}

/// kill -9 while a parallel backup is half in the bucket: nothing can clean up then, but
/// every upload was written down before it started, so the next run against the bucket
/// (a sync here) deletes the members and aborts the uploads; the journal is emptied.
fn a_kill_9_half_way_offsite_is_cleaned_by_the_next_run() {
    let db = TestDb::on(server());
    pagila(&db);
    let s3 = crate::support::s3::shared();
    let prefix = format!("{}-kill9", db.name);
    let child = half_offsite(&db, s3, &prefix);
    let out = signal_and_wait(child, "-KILL");
    assert_eq!(out.status.signal(), Some(9));
    let left: Vec<String> = s3.objects(&prefix).into_iter().map(|(k, _)| k).collect();
    assert!(left.iter().any(|k| k.contains(".dir/")), "{left:?}");
    assert!(
        !left.iter().any(|k| k.ends_with(".manifest.json")),
        "{left:?}"
    );
    let journal = db.backup_dir().join(crate::remote::JOURNAL);
    assert!(
        journal.exists(),
        "nothing was written down before the uploads"
    );

    let out = run(kronic_s3(&db, s3, &prefix).args(["backup", "sync"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_stderr(&out, &format!("deleted {prefix}/"));
    let left: Vec<String> = s3.objects(&prefix).into_iter().map(|(k, _)| k).collect();
    assert!(left.is_empty(), "{left:?}");
    let uploads: Vec<String> = s3
        .uploads()
        .into_iter()
        .filter(|k| k.starts_with(&format!("{prefix}/")))
        .collect();
    assert!(uploads.is_empty(), "{uploads:?}");
    assert!(!journal.exists(), "the journal was not emptied");
}

/// `backup sync` of a parallel backup, its first member's parts held in flight: SIGTERM
/// aborts it (130, nothing of it in the bucket); the S3 server killed instead fails it
/// naming the backup, the local backup untouched, and with the server back the next sync
/// puts it whole.
fn a_signal_or_the_server_dying_during_sync_leaves_no_half_backup() {
    use crate::support::s3::{DelayProxy, holds};
    let db = TestDb::on(server());
    pagila(&db);
    let out = expect(db.kronic().args(["backup", "--jobs", "2"]), 0);
    let name = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Backup completed: "))
        .unwrap()
        .trim()
        .to_string();
    let parts = |c: &[u8]| c.starts_with(b"PUT ") && holds(c, b"?partNumber=");
    let sync = |s3: &S3, proxy: &DelayProxy, prefix: &str| {
        let mut cmd = db.kronic_std();
        for (k, v) in s3.vars() {
            cmd.env(k, v);
        }
        cmd.env("AWS_ENDPOINT_URL", proxy.endpoint())
            .env("KRONIC_BACKUP_REMOTE", s3.url(prefix))
            .env("KRONIC_REMOTE_TIMEOUT", "3")
            .args(["backup", "sync"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let nothing_of_it = |s3: &S3, prefix: &str| {
        let left: Vec<String> = s3.objects(prefix).into_iter().map(|(k, _)| k).collect();
        assert!(left.is_empty(), "{left:?}");
        let uploads: Vec<String> = s3
            .uploads()
            .into_iter()
            .filter(|k| k.starts_with(&format!("{prefix}/")))
            .collect();
        assert!(uploads.is_empty(), "{uploads:?}");
    };

    let shared = crate::support::s3::shared();
    let prefix = format!("{}-syncterm", db.name);
    let proxy = DelayProxy::start(shared.port(), parts, std::time::Duration::from_secs(3));
    let child = sync(shared, &proxy, &prefix);
    proxy.wait_held();
    let out = signal_and_wait(child, "-TERM");
    assert_interrupted(&out);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("{name} was not uploaded")),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    nothing_of_it(shared, &prefix);

    let own = S3::start("kronic-psync");
    let prefix = "daily";
    let proxy = DelayProxy::start(own.port(), parts, std::time::Duration::from_secs(3));
    let child = sync(&own, &proxy, prefix);
    proxy.wait_held();
    own.kill();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !matches!(out.status.code(), Some(0) | Some(130)),
        "{:?} {stderr}",
        out.status
    );
    assert!(
        stderr.contains(&format!("{name} was not uploaded")),
        "{stderr}"
    );
    assert!(!stderr.contains(&own.secret));
    expect(db.kronic().args(["backup", "verify", "--latest"]), 0);
    own.run();
    let (_, manifest) = offsite(&own, prefix, &name);
    assert!(!manifest, "a manifest appeared for a sync that failed");
    expect(kronic_s3(&db, &own, prefix).args(["backup", "sync"]), 0);
    let (members, manifest) = offsite(&own, prefix, &name);
    assert!(manifest);
    let count = std::fs::read_dir(db.backup_dir().join(&name))
        .unwrap()
        .count();
    assert_eq!(members.len(), count, "{members:?}");
    assert!(own.uploads().is_empty(), "{:?}", own.uploads());
    expect(
        kronic_s3(&db, &own, prefix).args(["backup", "verify", "--remote", &name]),
        0,
    );
}
