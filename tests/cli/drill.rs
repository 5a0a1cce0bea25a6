//! Restore drills and manifests: a backup proves it restores, into a scratch database
//! that never outlives the drill.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::*;

crate::register!(
    a_good_backup_drills_clean_and_reports,
    altered_or_cut_backups_fail_the_drill,
    the_scratch_database_goes_in_every_outcome,
    an_existing_database_is_not_touched_without_force,
    verify_catches_a_file_that_no_longer_matches_its_manifest,
    empty_databases_are_not_green_and_refusals_reach_the_metrics,
);

fn a_good_backup_drills_clean_and_reports() {
    let db = TestDb::populated();
    let file = db.backed_up(&[]);
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(format!("{}.manifest.json", file.display())).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["tables"]["public.users"], 2001, "{manifest}");
    assert_eq!(manifest["schema_version"], 1);
    assert!(
        manifest["indexes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i == "user_roles_role_id_idx")
    );
    let prom = db.path("drill.prom");
    let out = expect(
        db.kronic()
            .args(["backup", "drill", "--json", "--metrics-file"])
            .arg(&prom),
        0,
    );
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["passed"], true, "{report}");
    let checks = report["checks"].as_array().unwrap();
    let names: Vec<&str> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "restore",
            "rows",
            "schema version",
            "indexes",
            "constraints"
        ]
    );
    assert!(
        checks[0]["detail"].as_str().unwrap().contains("rows"),
        "{report}"
    );
    assert!(!database_exists(&format!("{}_drill_scratch", db.name)));
    let metrics = std::fs::read_to_string(&prom).unwrap();
    for line in [
        "kronic_drill_last_result{",
        "kronic_drill_last_duration_seconds{",
        "kronic_drill_backup_age_seconds{",
        "kronic_drill_last_success_timestamp_seconds{",
    ] {
        assert!(metrics.contains(line), "{line}: {metrics}");
    }
    assert!(
        metrics.contains("kronic_drill_last_result{database=") && metrics.contains("} 1\n"),
        "{metrics}"
    );
    // Encrypted, with the identity, as text.
    let key = db.path("k");
    run_ok(std::process::Command::new("age-keygen").arg("-o").arg(&key));
    let public = std::fs::read_to_string(&key)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# public key: ").map(String::from))
        .unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let enc = db.backed_up(&["--recipient", &public]);
    let out = expect(
        db.kronic()
            .args(["backup", "drill", "-i"])
            .arg(&key)
            .arg(&enc),
        0,
    );
    assert!(out.stdout.contains("Drill passed"), "{}", out.stdout);
}

/// `file` rewritten through `edit` of its SQL, gzip kept valid (the manifest stays).
fn rewrite(file: &Path, edit: impl Fn(String) -> String) {
    let mut sql = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::MultiGzDecoder::new(std::fs::File::open(file).unwrap()),
        &mut sql,
    )
    .unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(edit(sql).as_bytes()).unwrap();
    std::fs::write(file, gz.finish().unwrap()).unwrap();
}

fn altered_or_cut_backups_fail_the_drill() {
    let db = TestDb::populated();
    db.client()
        .batch_execute(
            "SET ROLE kronic_app; CREATE TABLE notes AS SELECT i FROM generate_series(1, 10) i",
        )
        .unwrap();
    let file = db.backed_up(&[]);
    // One row removed from the COPY data; still a valid, complete dump.
    rewrite(&file, |sql| {
        let at = sql.find("COPY public.notes").unwrap();
        let row_start = sql[at..].find('\n').unwrap() + at + 1;
        let row_end = sql[row_start..].find('\n').unwrap() + row_start + 1;
        format!("{}{}", &sql[..row_start], &sql[row_end..])
    });
    // The bytes no longer match the manifest's SHA-256: refused before the drill
    // could pass, whatever the rows say.
    let out = expect(db.kronic().args(["backup", "drill"]).arg(&file), 65);
    assert_stderr(&out, "does not match its manifest");
    assert!(!out.stdout.contains("Drill passed"), "{}", out.stdout);
    // A manifest whose digest was made to match (by whoever changed the file): the rows
    // still tell.
    let manifest_path = format!("{}.manifest.json", file.display());
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    manifest["sha256"] = sha256_hex(&bytes).into();
    manifest["compressed_bytes"] = bytes.len().into();
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    let out = expect(db.kronic().args(["backup", "drill"]).arg(&file), 65);
    assert_stderr(
        &out,
        "failed the rows check: public.notes: 9 restored, 10 in the manifest",
    );
    assert!(out.stdout.contains("FAIL rows"), "{}", out.stdout);
    // Cut before the end: the restore itself fails.
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    let out = expect(db.kronic().args(["backup", "drill"]).arg(&file), 65);
    assert_stderr(&out, "corrupt");
    assert!(!database_exists(&format!("{}_drill_scratch", db.name)));
}

fn the_scratch_database_goes_in_every_outcome() {
    let db = TestDb::populated();
    db.client()
        .batch_execute("SET ROLE kronic_app; CREATE TABLE big AS SELECT i, md5(i::text) AS p FROM generate_series(1, 1000000) i")
        .unwrap();
    let file = db.backed_up(&[]);
    let scratch = format!("{}_sigterm", db.name);
    let mut cmd = db.kronic_std();
    cmd.args(["backup", "drill", "--scratch-db", &scratch])
        .arg(&file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n: i64 = postgres::Client::connect(&server().admin_url, postgres::NoTls)
            .unwrap()
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'COPY%'",
                &[&scratch],
            )
            .unwrap()
            .get(0);
        if n > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the drill never started loading");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = signal_and_wait(child, "-TERM");
    assert_interrupted(&out);
    assert!(
        !database_exists(&scratch),
        "SIGTERM left the scratch database"
    );
}

fn an_existing_database_is_not_touched_without_force() {
    let db = TestDb::populated();
    let file = db.backed_up(&[]);
    let other = TestDb::new();
    other
        .client()
        .batch_execute("CREATE TABLE precious (a int); INSERT INTO precious VALUES (42)")
        .unwrap();
    let out = expect(
        db.kronic()
            .args(["backup", "drill", "--scratch-db", &other.name])
            .arg(&file),
        73,
    );
    assert_stderr(&out, "--force");
    let n: i64 = other
        .client()
        .query_one("SELECT count(*) FROM precious", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
    // With --force the drill drops and reuses it, and it is gone afterwards.
    let scratch = other.name.clone();
    drop(other);
    let reborn = format!("{scratch}_again");
    postgres::Client::connect(&server().admin_url, postgres::NoTls)
        .unwrap()
        .batch_execute(&format!("CREATE DATABASE {reborn} OWNER {APP_USER}"))
        .unwrap();
    expect(
        db.kronic()
            .args(["backup", "drill", "--force", "--scratch-db", &reborn])
            .arg(&file),
        0,
    );
    assert!(!database_exists(&reborn));
}

fn verify_catches_a_file_that_no_longer_matches_its_manifest() {
    let db = TestDb::populated();
    let file = db.backed_up(&[]);
    expect(db.kronic().args(["backup", "verify"]).arg(&file), 0);
    // Another valid, complete dump under this name: only the manifest can tell.
    rewrite(&file, |sql| {
        sql.replace("user1@example.com", "user1@example.org")
    });
    let out = expect(db.kronic().args(["backup", "verify"]).arg(&file), 65);
    assert_stderr(&out, "does not match its manifest");
    // A backup without a manifest still verifies.
    std::fs::remove_file(format!("{}.manifest.json", file.display())).unwrap();
    expect(db.kronic().args(["backup", "verify"]).arg(&file), 0);
    let out = expect(db.kronic().args(["backup", "list", "--json"]), 0);
    assert!(out.stdout.contains("\"manifest\": null"), "{}", out.stdout);
}

fn empty_databases_are_not_green_and_refusals_reach_the_metrics() {
    let db = TestDb::new();
    // Nothing migrated: a backup of nothing is refused, and writes nothing.
    let out = expect(db.kronic().arg("backup"), 65);
    assert_stderr(&out, "has no tables");
    assert_stderr(&out, "--allow-empty");
    assert!(backups_in(&db.backup_dir()).is_empty());
    // Taken anyway, it does not drill green.
    let file = db.backed_up(&["--allow-empty"]);
    let prom = db.path("drill.prom");
    let out = expect(
        db.kronic()
            .args(["backup", "drill", "--metrics-file"])
            .arg(&prom)
            .arg(&file),
        65,
    );
    assert_stderr(&out, "failed the tables check");
    assert!(std::fs::read_to_string(&prom).unwrap().contains("} 0\n"));
    expect(
        db.kronic()
            .args(["backup", "drill", "--allow-empty"])
            .arg(&file),
        0,
    );
    // A drill refused before it restores anything still writes its metrics (result 0).
    std::fs::remove_file(&prom).unwrap();
    let out = expect(
        db.kronic()
            .args([
                "backup",
                "drill",
                "--scratch-db",
                "postgres",
                "--metrics-file",
            ])
            .arg(&prom),
        64,
    );
    assert_stderr(&out, "--scratch-db");
    let metrics = std::fs::read_to_string(&prom).unwrap();
    assert!(
        metrics.contains("kronic_drill_last_result{") && metrics.contains("} 0\n"),
        "{metrics}"
    );
    // The JSON report names each table's rows, restored and recorded.
    let db = TestDb::populated();
    db.backed_up(&[]);
    let out = expect(db.kronic().args(["backup", "drill", "--json"]), 0);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let users = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "public.users")
        .cloned()
        .unwrap();
    assert_eq!(users["restored_rows"], 2001, "{report}");
    assert_eq!(users["manifest_rows"], 2001, "{report}");
}
