//! Signed backups: a restore accepts only what this deployment's kronic wrote. Backups
//! planted in the folder and the bucket, signed by another key, renamed, given another
//! backup's manifest, or of another database are refused (or passed over by --latest);
//! a rotated key's backups stay restorable; minisign itself checks a signature.

use std::path::{Path, PathBuf};

use crate::support::*;

crate::register!(
    keygen_writes_a_pair_and_never_overwrites,
    only_backups_signed_by_a_trusted_key_are_restored,
    a_planted_backup_in_the_bucket_is_passed_over,
    sync_carries_signatures_and_refuses_unsigned_backups,
);

/// A key pair made by `kronic backup keygen` in `dir`: (secret, public).
pub(crate) fn keys(db: &TestDb, stem: &str) -> (PathBuf, PathBuf) {
    let (secret, public) = (
        db.path(&format!("{stem}.key")),
        db.path(&format!("{stem}.pub")),
    );
    let out = expect(&mut keygen_cmd(&secret, &public), 0);
    assert!(out.stdout.starts_with("key "), "{}", out.stdout);
    (secret, public)
}

fn keygen_cmd(secret: &Path, public: &Path) -> assert_cmd::Command {
    let mut cmd = kronic_bare();
    cmd.args(["backup", "keygen", "--secret-key"])
        .arg(secret)
        .arg("--public-key")
        .arg(public);
    cmd
}

/// A backup of `db` signed with `secret` (None: unsigned): its path.
fn signed_backup(db: &TestDb, secret: Option<&Path>) -> PathBuf {
    let before = backups_in(&db.backup_dir());
    let mut cmd = db.kronic();
    if let Some(s) = secret {
        cmd.env("KRONIC_BACKUP_SIGNING_KEY", s);
    }
    expect(cmd.arg("backup"), 0);
    // Names are to the second: the next backup must not share one.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let after = backups_in(&db.backup_dir());
    let new = after.iter().find(|n| !before.contains(n)).unwrap();
    db.backup_dir().join(new)
}

fn manifest_of(backup: &Path) -> PathBuf {
    PathBuf::from(format!("{}.manifest.json", backup.display()))
}

fn sig_of(backup: &Path) -> PathBuf {
    PathBuf::from(format!("{}.manifest.json.minisig", backup.display()))
}

/// Copies a backup with its manifest (and signature, if any) under `name`.
fn copy_as(backup: &Path, name: &str) -> PathBuf {
    let to = backup.with_file_name(name);
    std::fs::copy(backup, &to).unwrap();
    std::fs::copy(manifest_of(backup), manifest_of(&to)).unwrap();
    if sig_of(backup).exists() {
        std::fs::copy(sig_of(backup), sig_of(&to)).unwrap();
    }
    to
}

/// A backup name `secs` seconds from now.
fn name_in(secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(secs))
        .format("kronic_backup_%Y%m%d_%H%M%S.sql.gz")
        .to_string()
}

fn keygen_writes_a_pair_and_never_overwrites() {
    let db = TestDb::new();
    let (secret, public) = keys(&db, "signing");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let before = std::fs::read(&secret).unwrap();
    let out = expect(&mut keygen_cmd(&secret, &public), 73);
    assert_stderr(&out, "never overwrites a key");
    assert_eq!(std::fs::read(&secret).unwrap(), before);
    // The secret key is never printed, in any output.
    let text = std::fs::read_to_string(&secret).unwrap();
    let key_line = text.lines().nth(1).unwrap();
    assert!(!out.all().contains(key_line));
}

fn only_backups_signed_by_a_trusted_key_are_restored() {
    let db = TestDb::seeded_on(server());
    let (secret, public) = keys(&db, "signing");
    let genuine = signed_backup(&db, Some(&secret));
    let expected = content_checksum(&mut db.client());
    assert!(
        sig_of(&genuine).exists(),
        "no signature beside the manifest"
    );
    // minisign itself accepts kronic's signature.
    if std::process::Command::new("minisign")
        .arg("-v")
        .output()
        .is_ok()
    {
        let out = std::process::Command::new("minisign")
            .arg("-Vm")
            .arg(manifest_of(&genuine))
            .arg("-p")
            .arg(&public)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "minisign: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "minisign is missing in CI"
        );
    }
    let trusted = |cmd: &mut assert_cmd::Command| {
        cmd.env("KRONIC_BACKUP_TRUSTED_KEYS", &public);
    };
    // The application's data changes; a planted backup holds other rows, with a valid
    // SHA-256 manifest, and is the newest.
    db.client()
        .batch_execute("INSERT INTO roles (name, permissions) VALUES ('planted', '[]')")
        .unwrap();
    let planted = signed_backup(&db, None);
    let restore = |args: &[&str]| {
        let mut cmd = db.kronic();
        trusted(&mut cmd);
        cmd.args(["restore", "--yes"]).args(args);
        cmd
    };
    let out = expect(&mut restore(&["--latest"]), 0);
    assert_stderr(&out, "passing over");
    assert_stderr(&out, "not signed");
    assert_eq!(
        content_checksum(&mut db.client()),
        expected,
        "the planted backup was restored"
    );
    let out = expect(&mut restore(&[planted.to_str().unwrap()]), 65);
    assert_stderr(&out, "not signed");
    let out = expect(
        db.kronic()
            .env("KRONIC_BACKUP_TRUSTED_KEYS", &public)
            .args(["backup", "verify", planted.to_str().unwrap()]),
        65,
    );
    assert_stderr(&out, "not signed");
    // --allow-unsigned reads a named one with a warning, never the newest.
    expect(&mut restore(&["--latest", "--allow-unsigned"]), 64);
    std::fs::remove_file(&planted).unwrap();
    std::fs::remove_file(manifest_of(&planted)).unwrap();

    // Signed by another key.
    let (other_secret, other_public) = keys(&db, "other");
    let foreign = signed_backup(&db, Some(&other_secret));
    let out = expect(&mut restore(&[foreign.to_str().unwrap()]), 65);
    assert_stderr(&out, "which");
    assert_stderr(&out, "does not hold");
    // A rotation: both public keys trusted, both keys' backups restore.
    let both = db.path("trusted.pub");
    let mut text = std::fs::read_to_string(&public).unwrap();
    text.push_str(&std::fs::read_to_string(&other_public).unwrap());
    std::fs::write(&both, text).unwrap();
    for b in [&genuine, &foreign] {
        let mut cmd = db.kronic();
        cmd.env("KRONIC_BACKUP_TRUSTED_KEYS", &both)
            .args(["restore", "--yes"])
            .arg(b);
        expect(&mut cmd, 0);
    }
    std::fs::remove_file(&foreign).unwrap();
    std::fs::remove_file(manifest_of(&foreign)).unwrap();
    std::fs::remove_file(sig_of(&foreign)).unwrap();

    // A genuine older backup renamed to look newest.
    let renamed = copy_as(&genuine, &name_in(3600));
    let out = expect(&mut restore(&[renamed.to_str().unwrap()]), 65);
    assert_stderr(&out, "is the manifest of");
    std::fs::remove_file(&renamed).unwrap();
    std::fs::remove_file(manifest_of(&renamed)).unwrap();
    std::fs::remove_file(sig_of(&renamed)).unwrap();

    // Two genuine backups, their manifests (and signatures) swapped.
    let second = signed_backup(&db, Some(&secret));
    let tmp = db.path("swap");
    std::fs::rename(manifest_of(&genuine), &tmp).unwrap();
    std::fs::rename(manifest_of(&second), manifest_of(&genuine)).unwrap();
    std::fs::rename(&tmp, manifest_of(&second)).unwrap();
    std::fs::rename(sig_of(&genuine), &tmp).unwrap();
    std::fs::rename(sig_of(&second), sig_of(&genuine)).unwrap();
    std::fs::rename(&tmp, sig_of(&second)).unwrap();
    for b in [&genuine, &second] {
        expect(&mut restore(&[b.to_str().unwrap()]), 65);
    }
    // A manifest changed after signing.
    std::fs::rename(manifest_of(&second), manifest_of(&genuine)).unwrap();
    std::fs::rename(sig_of(&second), sig_of(&genuine)).unwrap();
    let m = std::fs::read_to_string(manifest_of(&genuine)).unwrap();
    // (still valid JSON with the same digest: only the signature sees the change)
    std::fs::write(manifest_of(&genuine), format!("{m}\n")).unwrap();
    let out = expect(&mut restore(&[genuine.to_str().unwrap()]), 65);
    assert_stderr(&out, "does not cover this manifest");

    // A signed backup of database A offered to database B.
    let b = TestDb::seeded_on(server());
    let of_a = signed_backup(&db, Some(&secret));
    let before_b = content_checksum(&mut b.client());
    let mut cmd = b.kronic();
    cmd.env("KRONIC_BACKUP_TRUSTED_KEYS", &public)
        .args(["restore", "--yes"])
        .arg(&of_a);
    let out = expect(&mut cmd, 65);
    assert_stderr(&out, &format!("a backup of database {}", db.name));
    assert_eq!(content_checksum(&mut b.client()), before_b);
}

fn a_planted_backup_in_the_bucket_is_passed_over() {
    let db = TestDb::seeded_on(server());
    let s3 = crate::support::s3::shared();
    let (secret, public) = keys(&db, "signing");
    let remote = |cmd: &mut assert_cmd::Command| {
        s3.env(cmd).env("KRONIC_BACKUP_REMOTE", s3.url(&db.name));
    };
    let mut cmd = db.kronic();
    remote(&mut cmd);
    expect(
        cmd.env("KRONIC_BACKUP_SIGNING_KEY", &secret)
            .args(["backup", "--remote-only"]),
        0,
    );
    let expected = content_checksum(&mut db.client());
    std::thread::sleep(std::time::Duration::from_millis(1100));
    db.client()
        .batch_execute("INSERT INTO roles (name, permissions) VALUES ('planted', '[]')")
        .unwrap();
    // Whoever holds the bucket's credentials uploads a newer, unsigned backup.
    let mut cmd = db.kronic();
    remote(&mut cmd);
    expect(cmd.args(["backup", "--remote-only"]), 0);
    let mut cmd = db.kronic();
    remote(&mut cmd);
    let out = expect(
        cmd.env("KRONIC_BACKUP_TRUSTED_KEYS", &public)
            .args(["restore", "--remote", "--latest", "--yes"]),
        0,
    );
    assert_stderr(&out, "passing over");
    assert_eq!(content_checksum(&mut db.client()), expected);
}

fn sync_carries_signatures_and_refuses_unsigned_backups() {
    let db = TestDb::seeded_on(server());
    let s3 = crate::support::s3::shared();
    let (secret, public) = keys(&db, "signing");
    signed_backup(&db, Some(&secret));
    let expected = content_checksum(&mut db.client());
    let prefix = format!("{}-sync", db.name);
    let remote = |cmd: &mut assert_cmd::Command| {
        s3.env(cmd)
            .env("KRONIC_BACKUP_REMOTE", s3.url(&prefix))
            .env("KRONIC_BACKUP_TRUSTED_KEYS", &public);
    };
    // Sync signs nothing: the local signature goes up with the manifest, and a restore
    // from the bucket that trusts only signed backups takes it.
    let mut cmd = db.kronic();
    remote(&mut cmd);
    expect(cmd.args(["backup", "sync"]), 0);
    let mut cmd = db.kronic();
    remote(&mut cmd);
    expect(cmd.args(["restore", "--remote", "--latest", "--yes"]), 0);
    assert_eq!(content_checksum(&mut db.client()), expected);
    // An unsigned backup in the folder is not carried offsite.
    let planted = signed_backup(&db, None);
    let mut cmd = db.kronic();
    remote(&mut cmd);
    let out = expect(cmd.args(["backup", "sync"]), 65);
    assert_stderr(&out, "not signed");
    assert_stderr(&out, &planted.file_name().unwrap().to_string_lossy());
}
