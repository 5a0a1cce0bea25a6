//! Retention policies on a real folder: pruning does what the dry run said.

use crate::support::*;

crate::register!(prune_removes_exactly_what_the_dry_run_said);

fn prune_removes_exactly_what_the_dry_run_said() {
    let db = TestDb::populated();
    let out = expect(db.kronic().arg("backup"), 0);
    let dir = db.backup_dir();
    let real = dir.join(
        out.stdout
            .trim()
            .strip_prefix("Backup completed: ")
            .unwrap(),
    );
    // Daily backups over 60 days of 2025, two on some days, some days missing, in
    // both formats.
    let start = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    for i in 0..60 {
        if i % 9 == 4 {
            continue;
        }
        let day = start + chrono::Days::new(i);
        let suffix = if i % 2 == 0 { "sql.gz" } else { "sql.gz.age" };
        for hour in if i % 7 == 0 { vec![2, 14] } else { vec![2] } {
            let name = format!(
                "kronic_backup_{}_{hour:02}0000.{suffix}",
                day.format("%Y%m%d")
            );
            std::fs::copy(&real, dir.join(name)).unwrap();
        }
    }
    let policy = [
        "--keep-daily",
        "5",
        "--keep-weekly",
        "3",
        "--keep-monthly",
        "2",
        "--keep-last",
        "2",
    ];
    let before = backups_in(&dir);
    let out = expect(
        db.kronic()
            .args(["backup", "prune", "--dry-run", "--json"])
            .args(policy),
        0,
    );
    let rows: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), before.len(), "one decision per backup");
    assert_eq!(backups_in(&dir), before, "a dry run deletes nothing");
    let mut keep: Vec<String> = rows
        .iter()
        .filter(|r| r["action"] == "keep")
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    keep.sort();
    for r in rows {
        let kept = r["action"] == "keep";
        assert_eq!(kept, !r["reasons"].as_array().unwrap().is_empty(), "{r}");
    }
    // The newest (today's real backup) is kept; so are 5 dailies and the rest.
    assert_eq!(
        rows[0]["name"],
        real.file_name().unwrap().to_string_lossy().as_ref()
    );
    // By hand: dailies today, Mar 1, Feb 27, Feb 26 (its 14:00 one), Feb 25; weeklies
    // today, Mar 1 (W09), Feb 23 (W08); monthlies today, Mar 1; last two today, Mar 1.
    let today = real.file_name().unwrap().to_string_lossy().into_owned();
    let mut want: Vec<String> = [
        "kronic_backup_20250223_020000.sql.gz.age",
        "kronic_backup_20250225_020000.sql.gz.age",
        "kronic_backup_20250226_140000.sql.gz",
        "kronic_backup_20250227_020000.sql.gz.age",
        "kronic_backup_20250301_020000.sql.gz.age",
    ]
    .map(String::from)
    .to_vec();
    want.push(today);
    assert_eq!(keep, want);
    let text = expect(
        db.kronic()
            .args(["backup", "prune", "--dry-run"])
            .args(policy),
        0,
    );
    assert!(
        text.stdout.contains("keep kronic_backup_"),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("(daily"), "{}", text.stdout);
    expect(db.kronic().args(["backup", "prune"]).args(policy), 0);
    assert_eq!(backups_in(&dir), keep);
}
