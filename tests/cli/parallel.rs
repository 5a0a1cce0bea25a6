//! Parallel backups and restores (`--jobs`): one snapshot in per-table members, built
//! aside on N connections, checked, swapped in; the replaced database kept for
//! `--rollback`. Judged as the corpus judges a restore: the schema as pg_dump prints it
//! and every table's rows and digest, sequences and large objects.

use std::path::{Path, PathBuf};

use crate::corpus::{kitchen_sink, pagila, snapshot};
use crate::support::*;

crate::register!(
    parallel_round_trip_equals_the_source_on_postgresql_15,
    parallel_round_trip_equals_the_source_on_postgresql_18,
    a_changed_or_missing_member_is_refused_before_the_swap,
    a_backup_taken_while_writers_commit_restores_consistent,
);

/// The backup folder the run made (`Backup completed: NAME`).
fn parallel_backup(db: &TestDb, args: &[&str]) -> PathBuf {
    let out = expect(db.kronic().args(["backup", "--jobs", "2"]).args(args), 0);
    let text = out.stdout.clone();
    let name = text
        .lines()
        .find_map(|l| l.strip_prefix("Backup completed: "))
        .unwrap_or_else(|| panic!("no backup name in {text:?}"))
        .trim()
        .to_string();
    assert!(name.ends_with(".dir"), "{name}");
    let path = db.backup_dir().join(name);
    assert!(path.is_dir(), "{}", path.display());
    path
}

fn drop_db(db: &TestDb, name: &str) {
    db.server
        .connect("postgres")
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
}

fn databases_like(db: &TestDb, pattern: &str) -> Vec<String> {
    db.server
        .connect("postgres")
        .query(
            "SELECT datname::text FROM pg_database WHERE datname LIKE $1 ORDER BY 1",
            &[&pattern],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn round_trip(server: &'static Server) {
    let builds: &[(&str, fn(&TestDb))] = &[("pagila", pagila), ("kitchen sink", kitchen_sink)];
    for (what, build) in builds {
        let src = TestDb::on(server);
        build(&src);
        let reference = snapshot(&src);
        let backup = parallel_backup(&src, &["--compression", "zstd"]);
        // More than one data member, each listed with its digest.
        let manifest: serde_json::Value = serde_json::from_slice(
            &std::fs::read(format!("{}.manifest.json", backup.display())).unwrap(),
        )
        .unwrap();
        assert_eq!(manifest["format"], 2, "{what}");
        let data = manifest["members"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["kind"] == "data")
            .count();
        assert!(data > 5, "{what}: {data} data members");
        expect(src.kronic().args(["backup", "verify"]).arg(&backup), 0);
        let listed = expect(src.kronic().args(["backup", "list"]), 0);
        assert!(listed.all().contains(".dir"), "{what}: {}", listed.all());

        // Into a new database.
        let new = format!("{}_par", src.name);
        expect(
            src.kronic()
                .args([
                    "restore",
                    "--jobs",
                    "2",
                    "--yes",
                    "--create",
                    "--target-db",
                    &new,
                ])
                .arg(&backup),
            0,
        );
        let copy = TestDb {
            name: new.clone(),
            dir: tempfile::tempdir().unwrap(),
            server,
        };
        assert_eq!(snapshot(&copy), reference, "{what}: into a new database");
        drop(copy);

        // In place, over a changed database: swapped in, the old one kept, rolled back.
        src.client()
            .batch_execute(&format!(
                "SET ROLE {APP_USER}; DELETE FROM {}",
                first_table(what)
            ))
            .unwrap();
        let changed = snapshot(&src);
        let out = expect(
            src.kronic()
                .args(["restore", "--jobs", "2", "--yes"])
                .arg(&backup),
            0,
        );
        assert!(out.all().contains("kept as"), "{}", out.all());
        assert_eq!(snapshot(&src), reference, "{what}: in place");
        let kept = format!("{}_kronic_old", src.name);
        assert_eq!(databases_like(&src, &kept), vec![kept.clone()]);
        expect(src.kronic().args(["restore", "--rollback", "--yes"]), 0);
        assert_eq!(snapshot(&src), changed, "{what}: rolled back");
        assert!(databases_like(&src, "kronic\\_restore\\_%").is_empty());
        drop_db(&src, &kept);
    }
}

fn first_table(what: &str) -> &'static str {
    match what {
        "pagila" => "payment",
        _ => "billing.invoices",
    }
}

fn parallel_round_trip_equals_the_source_on_postgresql_15() {
    round_trip(server());
}

fn parallel_round_trip_equals_the_source_on_postgresql_18() {
    round_trip(server_of(18));
}

fn member(backup: &Path, kind: &str) -> PathBuf {
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(format!("{}.manifest.json", backup.display())).unwrap(),
    )
    .unwrap();
    let file = manifest["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == kind)
        .unwrap()["file"]
        .as_str()
        .unwrap()
        .to_string();
    backup.join(file)
}

/// A member replaced (same size, other bytes), truncated or missing: 65 before the
/// swap, the target unchanged, no scratch database left.
fn a_changed_or_missing_member_is_refused_before_the_swap() {
    let src = TestDb::on(server());
    pagila(&src);
    let reference = snapshot(&src);
    let cases: &[(&str, fn(&Path))] = &[
        ("replaced", |p| {
            let mut bytes = std::fs::read(p).unwrap();
            let last = bytes.len() - 1;
            bytes[last] ^= 0xff;
            std::fs::write(p, bytes).unwrap();
        }),
        ("truncated", |p| {
            let bytes = std::fs::read(p).unwrap();
            std::fs::write(p, &bytes[..bytes.len() / 2]).unwrap();
        }),
        ("missing", |p| std::fs::remove_file(p).unwrap()),
    ];
    for (what, spoil) in cases {
        let backup = parallel_backup(&src, &[]);
        spoil(&member(&backup, "data"));
        let out = expect(
            src.kronic()
                .args(["restore", "--jobs", "2", "--yes"])
                .arg(&backup),
            65,
        );
        assert!(
            out.all().contains("unchanged") || out.all().contains("member"),
            "{what}: {}",
            out.all()
        );
        expect(src.kronic().args(["backup", "verify"]).arg(&backup), 65);
        assert_eq!(snapshot(&src), reference, "{what}");
        assert!(
            databases_like(&src, "kronic\\_restore\\_%").is_empty(),
            "{what}"
        );
        assert!(databases_like(&src, &format!("{}_kronic_old", src.name)).is_empty());
        std::fs::remove_dir_all(&backup).unwrap();
        std::fs::remove_file(format!("{}.manifest.json", backup.display())).unwrap();
    }
}

/// Writers commit parent and child rows together while the backup runs: every member
/// reads the one snapshot, so the restore has no orphan and the same rows as a table
/// pair at one instant.
fn a_backup_taken_while_writers_commit_restores_consistent() {
    let src = TestDb::on(server());
    src.client()
        .batch_execute(&format!(
            "SET ROLE {APP_USER}; \
             CREATE TABLE parent (id bigint PRIMARY KEY, pad text); \
             CREATE TABLE child (id bigserial PRIMARY KEY, parent_id bigint NOT NULL REFERENCES parent, pad text); \
             INSERT INTO parent SELECT g, repeat('p', 200) FROM generate_series(1, 200000) g; \
             INSERT INTO child (parent_id, pad) SELECT g, repeat('c', 200) FROM generate_series(1, 200000) g;"
        ))
        .unwrap();
    let mut writer = src
        .bash(&format!(
            "for i in $(seq 200001 203000); do echo \"BEGIN; INSERT INTO parent VALUES ($i, 'x'); INSERT INTO child (parent_id) VALUES ($i); COMMIT;\"; done | psql -X -q -v ON_ERROR_STOP=1 {} >/dev/null",
            quote_literal(&src.url())
        ))
        .spawn()
        .unwrap();
    let backup = parallel_backup(&src, &[]);
    assert!(writer.wait().unwrap().success());
    let new = format!("{}_w", src.name);
    expect(
        src.kronic()
            .args([
                "restore",
                "--jobs",
                "2",
                "--yes",
                "--create",
                "--target-db",
                &new,
            ])
            .arg(&backup),
        0,
    );
    let mut c = src.server.connect(&new);
    let row = c
        .query_one(
            "SELECT (SELECT count(*) FROM parent), (SELECT count(*) FROM child), \
                    (SELECT count(*) FROM child WHERE parent_id NOT IN (SELECT id FROM parent))",
            &[],
        )
        .unwrap();
    let (parents, children, orphans): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(orphans, 0);
    assert_eq!(
        parents, children,
        "one snapshot: each parent with its child"
    );
    drop(c);
    drop_db(&src, &new);
}
