//! Encrypted (age) and zstd backups: round trips with kronic and with the standard
//! tools both ways, no plaintext on disk, wrong keys, tampering, and folders that mix
//! every kind.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::*;

crate::register!(
    encrypted_backups_round_trip_with_kronic_and_the_age_cli,
    no_plaintext_reaches_the_folder_while_encrypting,
    wrong_identity_tampering_and_truncation_change_nothing,
    bad_recipients_are_78_before_pg_dump,
    verify_with_and_without_an_identity,
    zstd_backups_round_trip_and_corruption_is_caught,
    mixed_folders_list_prune_and_restore_the_latest,
);

/// A fresh age key pair from age-keygen: (identity file, public key).
pub(crate) fn keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let key = dir.join(name);
    run_ok(std::process::Command::new("age-keygen").arg("-o").arg(&key));
    let text = std::fs::read_to_string(&key).unwrap();
    let public = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_string();
    (key, public)
}

fn encrypted_backups_round_trip_with_kronic_and_the_age_cli() {
    let src = TestDb::populated();
    let (key_a, pub_a) = keygen(src.dir.path(), "a.key");
    let (key_b, pub_b) = keygen(src.dir.path(), "b.key");
    // Both recipients from the environment: either identity restores.
    let out = expect(
        src.kronic()
            .env("KRONIC_BACKUP_RECIPIENTS", format!("{pub_a},\n{pub_b}"))
            .arg("backup"),
        0,
    );
    let name = completed(&out.stdout);
    assert!(name.ends_with(".sql.gz.age"), "{name}");
    let file = src.backup_dir().join(name);
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let want = content_checksum(&mut src.client());
    for key in [&key_a, &key_b] {
        let dst = TestDb::new();
        expect(
            dst.kronic()
                .arg("restore")
                .arg(&file)
                .arg("--yes")
                .arg("--identity")
                .arg(key),
            0,
        );
        assert_eq!(content_checksum(&mut dst.client()), want);
    }
    // The manual path the README documents.
    let dst = TestDb::new();
    shell_restore(
        &dst.name,
        &format!("age -d -i {} \"$1\" | gunzip", key_a.display()),
        &file,
    );
    assert_eq!(content_checksum(&mut dst.client()), want);

    // And a file the age CLI made restores with kronic.
    let by_hand = src.path("by-hand.sql.gz.age");
    let dump = pg_tool("pg_dump", &src.name)
        .args(["--clean", "--if-exists", "--no-owner", "--no-privileges"])
        .output()
        .unwrap();
    assert!(dump.status.success());
    let sql = src.path("by-hand.sql");
    std::fs::write(&sql, &dump.stdout).unwrap();
    run_ok(std::process::Command::new("sh").arg("-c").arg(format!(
        "gzip -c {} | age -r {pub_b} > {}",
        sql.display(),
        by_hand.display()
    )));
    let dst = TestDb::new();
    expect(
        dst.kronic()
            .env("KRONIC_BACKUP_IDENTITY_FILE", &key_b)
            .arg("restore")
            .arg(&by_hand)
            .arg("--yes"),
        0,
    );
    assert_eq!(content_checksum(&mut dst.client()), want);
}

fn no_plaintext_reaches_the_folder_while_encrypting() {
    let db = TestDb::populated();
    db.client()
        .batch_execute(
            "SET ROLE kronic_app; CREATE TABLE big AS SELECT i, md5(i::text) AS p FROM generate_series(1, 400000) i",
        )
        .unwrap();
    let (_, public) = keygen(db.dir.path(), "k");
    let mut cmd = db.kronic_std();
    cmd.args(["backup", "--recipient", &public])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut looked = 0;
    while child.try_wait().unwrap().is_none() {
        for e in std::fs::read_dir(db.backup_dir())
            .into_iter()
            .flatten()
            .flatten()
        {
            let Ok(bytes) = std::fs::read(e.path()) else {
                continue;
            };
            let name = e.file_name().to_string_lossy().into_owned();
            if name.contains(".manifest.json") {
                // Metadata only (sizes, counts, names), never a row.
                let text = String::from_utf8_lossy(&bytes);
                assert!(!text.contains("@example.com"), "{name}: {text}");
                continue;
            }
            if bytes.is_empty() {
                continue;
            }
            looked += 1;
            assert!(
                bytes.starts_with(b"age-encryption.org/v1\n"),
                "{:?} holds something other than ciphertext",
                e.file_name()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(child.wait().unwrap().success());
    assert!(looked > 0, "never saw the file being written");
    let files: Vec<String> = std::fs::read_dir(db.backup_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with(".kronic_backup.lock") && !n.ends_with(".manifest.json"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].ends_with(".sql.gz.age"));
}

fn wrong_identity_tampering_and_truncation_change_nothing() {
    let db = TestDb::populated();
    let (key, public) = keygen(db.dir.path(), "k");
    let (other, _) = keygen(db.dir.path(), "other");
    let file = db.backed_up(&["--recipient", &public]);
    db.client().batch_execute("DELETE FROM user_roles").unwrap();
    let before = content_checksum(&mut db.client());
    let out = expect(
        db.kronic()
            .arg("restore")
            .arg(&file)
            .arg("--yes")
            .arg("-i")
            .arg(&other),
        77,
    );
    assert_stderr(&out, "no identity matches this backup's recipients");
    let out = expect(db.kronic().arg("restore").arg(&file).arg("--yes"), 77);
    assert_stderr(&out, "--identity");
    let bytes = std::fs::read(&file).unwrap();
    let mut cases: Vec<(String, Vec<u8>)> = [200, bytes.len() / 3, bytes.len() - 10]
        .iter()
        .map(|&n| (format!("cut at {n}"), bytes[..n].to_vec()))
        .collect();
    let mut flipped = bytes.clone();
    let at = bytes.len() / 2;
    flipped[at] ^= 0x01;
    cases.push(("one flipped byte".into(), flipped));
    for (what, data) in cases {
        let bad = db.path("bad.sql.gz.age");
        std::fs::write(&bad, data).unwrap();
        let out = expect(
            db.kronic()
                .arg("restore")
                .arg(&bad)
                .arg("--yes")
                .arg("-i")
                .arg(&key),
            65,
        );
        assert!(
            out.stderr.contains("bad.sql.gz.age"),
            "{what}: {}",
            out.stderr
        );
        assert_eq!(
            content_checksum(&mut db.client()),
            before,
            "{what} changed the database"
        );
    }
}

fn bad_recipients_are_78_before_pg_dump() {
    let db = TestDb::new();
    for (env, flag) in [
        (Some("age1notakey"), None),
        (None, Some("ssh-ed25519 AAAAnope")),
    ] {
        let mut cmd = db.kronic();
        cmd.arg("backup");
        if let Some(v) = env {
            cmd.env("KRONIC_BACKUP_RECIPIENTS", format!("# mine\n{v}"));
        }
        if let Some(f) = flag {
            cmd.args(["--recipient", f]);
        }
        let out = expect(&mut cmd, 78);
        let source = if env.is_some() {
            "KRONIC_BACKUP_RECIPIENTS: line 2"
        } else {
            "--recipient: line 1"
        };
        assert_stderr(&out, source);
        assert!(
            !db.backup_dir().exists() || std::fs::read_dir(db.backup_dir()).unwrap().count() == 0
        );
    }
}

fn verify_with_and_without_an_identity() {
    let db = TestDb::populated();
    let (key, public) = keygen(db.dir.path(), "k");
    let file = db.backed_up(&["--recipient", &public]);
    let out = expect(
        db.kronic()
            .args(["backup", "verify", "-i"])
            .arg(&key)
            .arg(&file),
        0,
    );
    assert!(out.stdout.contains("of SQL, complete"), "{}", out.stdout);
    // Without the identity nothing but the header was read: said plainly, and exit 1
    // so that monitoring can tell it from a pass.
    let out = expect(db.kronic().args(["backup", "verify", "--latest"]), 1);
    assert!(out.stdout.starts_with("not checked: "), "{}", out.stdout);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert_stderr(&out, "its content was not checked");
    // A zero-byte or foreign .age file is still caught without an identity.
    let empty = db.path("empty.sql.gz.age");
    std::fs::write(&empty, b"").unwrap();
    expect(db.kronic().args(["backup", "verify"]).arg(&empty), 65);
    let foreign = db.path("foreign.sql.gz.age");
    std::fs::write(&foreign, b"age-encryption.org/v1\n-> nonsense\n").unwrap();
    expect(db.kronic().args(["backup", "verify"]).arg(&foreign), 65);
}

fn zstd_backups_round_trip_and_corruption_is_caught() {
    let src = TestDb::populated();
    let file = src.backed_up(&["--compression", "zstd"]);
    assert!(file.to_string_lossy().ends_with(".sql.zst"));
    let want = content_checksum(&mut src.client());
    let dst = TestDb::new();
    expect(dst.kronic().arg("restore").arg(&file).arg("--yes"), 0);
    assert_eq!(content_checksum(&mut dst.client()), want);
    let by_hand = TestDb::new();
    shell_restore(&by_hand.name, "zstd -dc \"$1\"", &file);
    assert_eq!(content_checksum(&mut by_hand.client()), want);
    // Told by content: a zstd file under another name restores too.
    let renamed = src.path("renamed.bin");
    std::fs::copy(&file, &renamed).unwrap();
    expect(dst.kronic().arg("restore").arg(&renamed).arg("--yes"), 0);

    let bytes = std::fs::read(&file).unwrap();
    let mut flipped = bytes.clone();
    let at = bytes.len() / 2;
    flipped[at] ^= 0x20;
    dst.client()
        .batch_execute("DELETE FROM user_roles")
        .unwrap();
    let before = content_checksum(&mut dst.client());
    for (what, data) in [
        ("truncated", bytes[..bytes.len() / 2].to_vec()),
        ("corrupted", flipped),
    ] {
        let bad = src.path("bad.sql.zst");
        std::fs::write(&bad, data).unwrap();
        expect(dst.kronic().arg("restore").arg(&bad).arg("--yes"), 65);
        expect(dst.kronic().args(["backup", "verify"]).arg(&bad), 65);
        assert_eq!(content_checksum(&mut dst.client()), before, "{what}");
    }
    // Encrypted zstd.
    let (key, public) = keygen(src.dir.path(), "k");
    let enc = src.backed_up(&["--compression", "zstd", "--recipient", &public]);
    assert!(enc.to_string_lossy().ends_with(".sql.zst.age"));
    let dst = TestDb::new();
    expect(
        dst.kronic()
            .arg("restore")
            .arg(&enc)
            .arg("--yes")
            .arg("-i")
            .arg(&key),
        0,
    );
    assert_eq!(content_checksum(&mut dst.client()), want);
    // A level zstd does not have is a usage error.
    expect(
        src.kronic().args([
            "backup",
            "--compression",
            "zstd",
            "--compression-level",
            "30",
        ]),
        64,
    );
    expect(
        src.kronic()
            .env("KRONIC_BACKUP_COMPRESSION", "lz4")
            .arg("backup"),
        78,
    );
}

fn mixed_folders_list_prune_and_restore_the_latest() {
    let db = TestDb::populated();
    let (key, public) = keygen(db.dir.path(), "k");
    let dir = db.backup_dir();
    let gz = db.backed_up(&[]);
    std::thread::sleep(Duration::from_millis(1100));
    let zst = db.backed_up(&["--compression", "zstd"]);
    std::thread::sleep(Duration::from_millis(1100));
    db.client().batch_execute("DELETE FROM user_roles WHERE user_id IN (SELECT id FROM users WHERE email LIKE 'user2%')").unwrap();
    let want = content_checksum(&mut db.client());
    let age = db.backed_up(&["--recipient", &public]);
    // Two old ones, of two kinds (each backup prunes, so they come last).
    std::fs::copy(&age, dir.join("kronic_backup_20000101_000000.sql.gz.age")).unwrap();
    std::fs::copy(&zst, dir.join("kronic_backup_20000102_000000.sql.zst")).unwrap();
    let out = expect(db.kronic().args(["backup", "list", "--json"]), 0);
    let rows: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let names: Vec<(&str, bool)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["file"].as_str().unwrap(),
                r["encrypted"].as_bool().unwrap(),
            )
        })
        .collect();
    let file = |p: &Path| p.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(names[0], (file(&age).as_str(), true));
    assert_eq!(names[1], (file(&zst).as_str(), false));
    assert_eq!(names[2], (file(&gz).as_str(), false));
    assert_eq!(names.len(), 5);
    // Pruning counts every kind together: the two old ones go.
    let out = expect(db.kronic().args(["backup", "prune"]), 0);
    assert!(
        out.stdout
            .contains("kronic_backup_20000101_000000.sql.gz.age"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("kronic_backup_20000102_000000.sql.zst"),
        "{}",
        out.stdout
    );
    assert_eq!(
        std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .filter(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n.starts_with("kronic_backup_") && !n.ends_with(".manifest.json")
            })
            .count(),
        3
    );
    // --latest is the encrypted one.
    db.client().batch_execute("DELETE FROM user_roles").unwrap();
    let out = expect(
        db.kronic()
            .args(["restore", "--latest", "--yes", "-i"])
            .arg(&key),
        0,
    );
    assert!(out.stdout.contains(&file(&age)), "{}", out.stdout);
    assert_eq!(content_checksum(&mut db.client()), want);
}
