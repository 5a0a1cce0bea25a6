//! Parallel backups offsite: every member uploaded in the same pass as its own object
//! under the backup's name, the manifest last; restored, verified, pruned whole and
//! restored table by table from the bucket (the real S3 test server).

use crate::corpus::{pagila, snapshot};
use crate::remote::kronic_s3;
use crate::support::s3::S3;
use crate::support::*;

crate::register!(
    a_parallel_backup_goes_offsite_in_the_same_pass_and_restores_from_there,
    a_remote_only_parallel_backup_leaves_nothing_local,
    a_member_missing_or_replaced_offsite_is_refused_before_the_swap,
    a_parallel_backup_is_pruned_from_the_bucket_whole,
    an_unusable_bucket_keeps_the_local_parallel_backup_with_exit_3,
    sync_uploads_a_parallel_backup_whole_or_not_at_all,
);

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
    (name, out)
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

fn a_parallel_backup_goes_offsite_in_the_same_pass_and_restores_from_there() {
    let src = TestDb::on(server());
    pagila(&src);
    let reference = snapshot(&src);
    let s3 = crate::support::s3::shared();
    let (name, _) = backup_offsite(&src, s3, &["--compression", "zstd"]);
    let url = format!("{}/{name}", s3.url(&src.name));
    // The local folder and the bucket hold the same members, byte for byte.
    let local = src.backup_dir().join(&name);
    let (members, manifest) = offsite(s3, &src.name, &name);
    assert!(manifest);
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
fn sync_uploads_a_parallel_backup_whole_or_not_at_all() {
    let src = TestDb::on(server());
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
