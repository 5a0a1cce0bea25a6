//! Backups as untrusted input: crafted files, planted files and links, shared folders.
//! Nothing in a backup may run, write a file, switch databases or end kronic's
//! transaction; real dumps of every shape still restore.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::support::*;

crate::register!(
    meta_commands_and_escapes_are_refused_before_anything_commits,
    real_dumps_with_tricky_text_large_objects_and_quotes_restore,
    a_200_mb_value_restores_in_bounded_memory,
    a_huge_first_line_is_refused_from_a_bounded_prefix,
    shared_folders_and_foreign_files_are_not_trusted,
    a_planted_lock_symlink_is_not_followed,
    future_dated_names_do_not_pin_latest,
);

/// `sql` with `text` inserted before byte `at`, and the line `text` starts on.
fn insert(sql: &str, at: usize, text: &str) -> (String, usize) {
    let line = sql[..at].matches('\n').count() + 1;
    (format!("{}{text}{}", &sql[..at], &sql[at..]), line)
}

fn after(sql: &str, needle: &str) -> usize {
    sql.find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in dump"))
        + needle.len()
}

fn meta_commands_and_escapes_are_refused_before_anything_commits() {
    let src = TestDb::populated();
    let (_, sql) = src.backup_sql();
    let dst = TestDb::new();
    let good = dst.path("good.sql");
    std::fs::write(&good, &sql).unwrap();
    expect(dst.kronic().arg("restore").arg(&good).arg("--yes"), 0);
    dst.client()
        .batch_execute("DELETE FROM user_roles WHERE user_id IN (SELECT id FROM users WHERE email LIKE 'user1%')")
        .unwrap();
    let before = content_checksum(&mut dst.client());
    let mark = dst.path("pwned");
    let m = mark.display().to_string();
    let restrict_line = sql.lines().find(|l| l.starts_with("\\restrict ")).unwrap();
    let key = restrict_line.trim_start_matches("\\restrict ");
    let top = after(&sql, &format!("{restrict_line}\n"));
    let after_copy = after(&sql, "\n\\.\n");
    let first_create = sql.find("\nCREATE TABLE").unwrap() + 1;
    let without_restrict = sql.replacen(&format!("{restrict_line}\n"), "\n", 1);

    let cases: Vec<(&str, String, usize, String)> = vec![
        {
            let (s, l) = insert(&sql, top, &format!("\\! touch {m}\n"));
            ("shell at the top", s, l, format!("\\! touch {m}"))
        },
        {
            let (s, l) = insert(&sql, after_copy, &format!("\\! touch {m}\n"));
            ("shell after a COPY block", s, l, "\\! touch".into())
        },
        {
            let at = after(&without_restrict, "-- PostgreSQL database dump\n--\n");
            let (s, l) = insert(&without_restrict, at, &format!("\\! touch {m}\n"));
            ("shell with \\restrict removed", s, l, "\\! touch".into())
        },
        {
            let (s, l) = insert(&sql, top, &format!("\\unrestrict {key}\n\\! touch {m}\n"));
            (
                "shell after the file's own \\unrestrict",
                s,
                l + 1,
                "\\! touch".into(),
            )
        },
        {
            let (s, l) = insert(&sql, top, "\\connect postgres\n");
            ("\\connect", s, l, "\\connect postgres".into())
        },
        {
            let (s, l) = insert(&sql, top, "\\set ON_ERROR_STOP off\n");
            ("\\set", s, l, "\\set ON_ERROR_STOP off".into())
        },
        {
            let (s, l) = insert(&sql, top, &format!("\\o {m}\n"));
            ("\\o", s, l, "\\o".into())
        },
        {
            let (s, l) = insert(&sql, after_copy, &format!("\\copy public.users to '{m}'\n"));
            ("\\copy", s, l, "\\copy public.users".into())
        },
        {
            let (s, l) = insert(&sql, first_create, "COMMIT;\n");
            (
                "an injected COMMIT after the DROP section",
                s,
                l,
                "transaction control \"COMMIT;\"".into(),
            )
        },
        {
            let (s, l) = insert(
                &sql,
                after_copy,
                &format!("COPY public.roles FROM PROGRAM 'touch {m}';\n"),
            );
            (
                "COPY … PROGRAM",
                s,
                l,
                "COPY public.roles FROM PROGRAM".into(),
            )
        },
        {
            let (s, l) = insert(&sql, after_copy, &format!("COPY public.users TO '{m}';\n"));
            ("COPY … TO a file", s, l, "COPY public.users TO".into())
        },
        {
            let (s, l) = insert(&sql, first_create, "SET ROLE postgres;\n");
            ("SET ROLE", s, l, "SET ROLE postgres".into())
        },
    ];
    for (what, text, line, needle) in cases {
        let file = dst.path("crafted.sql");
        std::fs::write(&file, &text).unwrap();
        for verb in [&["restore", "--yes"][..], &["backup", "verify"][..]] {
            let out = expect(dst.kronic().args(verb).arg(&file), 65);
            assert!(
                out.stderr
                    .contains(&format!("crafted.sql: line {line}: refused "))
                    && out.stderr.contains(&needle),
                "{what} ({verb:?}): wanted line {line} and {needle:?}:\n{}",
                out.stderr
            );
            assert_eq!(
                out.stderr.lines().filter(|l| l.contains("error")).count(),
                1,
                "{what}: one line:\n{}",
                out.stderr
            );
            assert!(out.stdout.is_empty(), "{what}: {}", out.stdout);
            assert!(!mark.exists(), "{what}: a command ran");
            assert_eq!(
                content_checksum(&mut dst.client()),
                before,
                "{what} changed the database"
            );
        }
    }
    // The whole message for one of them, exactly.
    let (text, line) = insert(&sql, top, "\\! id\n");
    let file = dst.path("crafted.sql");
    std::fs::write(&file, &text).unwrap();
    let out = expect(dst.kronic().args(["restore", "--yes"]).arg(&file), 65);
    assert_eq!(
        out.stderr.lines().last().unwrap(),
        format!(
            "kronic: error: {}: line {line}: refused psql meta-command \"\\! id\": a backup is data, and kronic runs no psql commands from it; nothing was restored, {}:{}/{} is unchanged",
            file.display(),
            server().host,
            server().port,
            dst.name
        )
    );
}

fn real_dumps_with_tricky_text_large_objects_and_quotes_restore() {
    let src = TestDb::populated();
    src.client()
        .batch_execute(
            r#"SET ROLE kronic_app;
            CREATE FUNCTION tricky(x text) RETURNS text LANGUAGE plpgsql AS $fn$
            BEGIN
              -- a comment; with a semicolon
              RETURN x || ';' || E'\n\\.\n' || $$ $ inner; $$;
            END;
            $fn$;
            CREATE TABLE "we'ird ""t""" (id int PRIMARY KEY, "col;1" text);
            INSERT INTO "we'ird ""t""" VALUES (1, 'it''s; a \ backslash'), (2, E'tab\tnew\nline\\.'),
              (3, '\.'), (4, NULL);
            CREATE VIEW v AS SELECT tricky('a') AS t;
            SELECT lo_from_bytea(0, '\x00ff6b726f6e6963'::bytea);
            "#,
        )
        .unwrap();
    let (gz, _) = src.backup_sql();
    let dst = TestDb::new();
    expect(dst.kronic().arg("restore").arg(&gz).arg("--yes"), 0);
    assert_eq!(
        content_checksum(&mut dst.client()),
        content_checksum(&mut src.client())
    );
    let probe = "SELECT tricky('q'), (SELECT string_agg(encode(lo_get(oid), 'hex'), ',') FROM pg_largeobject_metadata)";
    let want = src.client().query_one(probe, &[]).unwrap();
    let got = dst.client().query_one(probe, &[]).unwrap();
    assert_eq!(got.get::<_, String>(0), want.get::<_, String>(0));
    assert_eq!(got.get::<_, String>(1), "00ff6b726f6e6963");
    // Restoring again over it (the dump drops and recreates the large object too).
    expect(dst.kronic().arg("restore").arg(&gz).arg("--yes"), 0);
    assert_eq!(
        content_checksum(&mut dst.client()),
        content_checksum(&mut src.client())
    );
}

/// Peak RSS (KiB) of `cmd` run to completion, from the kernel's rusage of a child.
fn peak_rss_kib(cmd: &std::process::Command) -> (i32, u64) {
    let mut py = std::process::Command::new("python3");
    py.arg("-c").arg(
        "import resource, subprocess, sys\n\
         r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n\
         print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)",
    );
    py.arg(cmd.get_program()).args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => py.env(k, v),
            None => py.env_remove(k),
        };
    }
    let out = py.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.split_whitespace();
    (
        it.next().unwrap().parse().unwrap(),
        it.next().unwrap().parse().unwrap(),
    )
}

/// A gzip file whose first line is `mib` MiB of one byte and no newline: the same
/// 64 MiB gzip member repeated (multi-member gzip, as kronic's own backups are).
fn huge_first_line(path: &Path, mib: usize) {
    use std::io::Write;
    let chunk = 64usize.min(mib);
    let mut member = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    member.write_all(&vec![b'x'; chunk << 20]).unwrap();
    let member = member.finish().unwrap();
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for _ in 0..mib / chunk {
        out.write_all(&member).unwrap();
    }
    out.flush().unwrap();
}

fn a_huge_first_line_is_refused_from_a_bounded_prefix() {
    let db = TestDb::seeded_on(server());
    let before = content_checksum(&mut db.client());
    for mib in [192, 2048] {
        let file = db.path(&format!("line-{mib}.sql.gz"));
        huge_first_line(&file, mib);
        for verb in [&["restore", "--yes"][..], &["backup", "verify"][..]] {
            let mut cmd = db.kronic_std();
            cmd.args(verb).arg(&file);
            let started = std::time::Instant::now();
            let (code, kib) = peak_rss_kib(&cmd);
            assert_eq!(code, 65, "{mib} MiB, {verb:?}");
            assert!(
                kib < 100 * 1024,
                "peak RSS {kib} KiB for a {mib} MiB first line"
            );
            assert!(
                started.elapsed() < std::time::Duration::from_secs(5),
                "{mib} MiB: {:?}",
                started.elapsed()
            );
            let out = expect(db.kronic().args(verb).arg(&file), 65);
            assert_stderr(&out, "is not a pg_dump plain-SQL file");
        }
        std::fs::remove_file(&file).unwrap();
    }
    assert_eq!(content_checksum(&mut db.client()), before);
}

fn a_200_mb_value_restores_in_bounded_memory() {
    let src = TestDb::new();
    src.client()
        .batch_execute(
            "SET ROLE kronic_app; CREATE TABLE big (id int, v text); \
             INSERT INTO big SELECT 1, repeat('0123456789abcdef', 200 * 65536);",
        )
        .unwrap();
    let (gz, _) = src.backup_sql();
    let dst = TestDb::new();
    let mut cmd = dst.kronic_std();
    cmd.arg("restore").arg(&gz).arg("--yes");
    let (code, kib) = peak_rss_kib(&cmd);
    assert_eq!(code, 0);
    assert!(kib < 64 * 1024, "peak RSS {kib} KiB for a 200 MB value");
    let n: i64 = dst
        .client()
        .query_one("SELECT length(v)::int8 FROM big", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 200 << 20);
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

fn shared_folders_and_foreign_files_are_not_trusted() {
    let db = TestDb::populated();
    let (good, _) = db.backup_sql();
    let dir = db.backup_dir();
    let old = dir.join("kronic_backup_20000101_000000.sql.gz");
    std::fs::copy(&good, &old).unwrap();
    let planted = dir.join("kronic_backup_20991231_235959.sql.gz");

    // A folder anyone can write to: no --latest, no verify --latest, no pruning.
    chmod(&dir, 0o777);
    std::fs::copy(&good, &planted).unwrap();
    let want = format!(
        "backup folder {} is writable by anyone (mode 0777",
        dir.display()
    );
    for args in [
        &["restore", "--latest", "--yes"][..],
        &["backup", "verify", "--latest"],
        &["backup", "prune"],
    ] {
        let out = expect(db.kronic().args(args), 77);
        assert!(
            out.stderr.contains(&want)
                && out
                    .stderr
                    .contains(&format!("chmod go-w {}", dir.display())),
            "{args:?}: {}",
            out.stderr
        );
    }
    // A backup still happens, with a warning, and prunes nothing.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = expect(db.kronic().arg("backup"), 0);
    assert_eq!(
        out.stderr.matches("writable by anyone").count(),
        1,
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("not pruning"), "{}", out.stderr);
    assert!(old.exists(), "pruned in an untrusted folder");
    std::fs::remove_file(&planted).unwrap();

    // A trusted folder, but the newest file is group-writable: refused, named.
    chmod(&dir, 0o700);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (newest, _) = db.backup_sql();
    chmod(&newest, 0o664);
    std::fs::copy(&good, &old).unwrap();
    let out = expect(db.kronic().args(["restore", "--latest", "--yes"]), 77);
    assert!(
        out.stderr.contains(&format!(
            "backup {} is writable by its group (mode 0664",
            newest.display()
        )),
        "{}",
        out.stderr
    );
    // Pruning skips it and removes only what it trusts.
    let out = expect(db.kronic().args(["backup", "prune"]), 0);
    assert!(
        out.stdout.contains("kronic_backup_20000101_000000.sql.gz"),
        "{}",
        out.stdout
    );
    assert!(newest.exists() && !old.exists());
    chmod(&newest, 0o600);

    if is_root() {
        // Owned by another user: refused for --latest, never pruned.
        let soon = chrono::Utc::now() + chrono::Duration::hours(1);
        let nobody = dir.join(
            soon.format("kronic_backup_%Y%m%d_%H%M%S.sql.gz")
                .to_string(),
        );
        std::fs::copy(&good, &nobody).unwrap();
        std::os::unix::fs::chown(&nobody, Some(65534), None).unwrap();
        let out = expect(db.kronic().args(["backup", "verify", "--latest"]), 77);
        assert_stderr(&out, "is owned by");
        assert_stderr(&out, "chown");
    }
}

fn a_planted_lock_symlink_is_not_followed() {
    let db = TestDb::populated();
    let dir = db.backup_dir();
    std::fs::create_dir_all(&dir).unwrap();
    chmod(&dir, 0o700);
    let target = db.path("created-through-the-link");
    std::os::unix::fs::symlink(&target, dir.join(".kronic_backup.lock")).unwrap();
    let out = expect(db.kronic().arg("backup"), 77);
    assert!(
        out.stderr
            .contains(".kronic_backup.lock is a symbolic link"),
        "{}",
        out.stderr
    );
    assert!(!target.exists(), "the link was followed");
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "no backup was written"
    );
}

fn future_dated_names_do_not_pin_latest() {
    let db = TestDb::populated();
    let (real, _) = db.backup_sql();
    let want = content_checksum(&mut db.client());
    // An old, different backup under a name dated far ahead.
    let other = TestDb::new();
    other
        .client()
        .batch_execute(&format!("SET ROLE {APP_USER}; CREATE TABLE other (a int)"))
        .unwrap();
    let (other_gz, _) = other.backup_sql();
    let future = db.backup_dir().join("kronic_backup_29991231_235959.sql.gz");
    std::fs::copy(&other_gz, &future).unwrap();
    db.client().batch_execute("DELETE FROM user_roles").unwrap();
    let out = expect(db.kronic().args(["restore", "--latest", "--yes"]), 0);
    assert!(
        out.stdout
            .contains(&*real.file_name().unwrap().to_string_lossy()),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains(&format!(
            "ignoring {}: its name is dated in the future",
            future.display()
        )),
        "{}",
        out.stderr
    );
    assert_eq!(content_checksum(&mut db.client()), want);
}
