//! The compatibility corpus: a kitchen-sink schema with every object kind pg_dump writes
//! and the pagila sample database, dumped by kronic and by pg_dump with other options,
//! each restored into a new database and in place over a changed one, and compared
//! with the source (schema text, rows per table and their digest, sequences, large
//! objects). psql's single-transaction restore of the same file is the reference: what
//! it restores cleanly, kronic restores. On PostgreSQL 15 (the machine's), 16, 17 and 18.

use std::path::{Path, PathBuf};

use crate::support::*;

crate::register!(
    corpus_round_trips_on_postgresql_15,
    corpus_round_trips_on_postgresql_16,
    corpus_round_trips_on_postgresql_17,
    corpus_round_trips_on_postgresql_18,
    main_commands_on_postgresql_16,
    main_commands_on_postgresql_17,
    main_commands_on_postgresql_18,
);

/// A source database: how it is built, and how a copy of it is changed before a
/// restore in place.
struct Corpus {
    name: &'static str,
    build: fn(&TestDb),
    change: &'static str,
}

const CORPUS: &[Corpus] = &[
    Corpus {
        name: "kitchen sink",
        build: kitchen_sink,
        change: "DELETE FROM billing.invoices WHERE no % 2 = 0; DROP VIEW public.tenant; \
                 UPDATE public.customers SET name = 'changed' WHERE id < 10; \
                 SELECT lo_unlink(min(oid)) FROM pg_largeobject_metadata",
    },
    Corpus {
        name: "pagila",
        build: pagila,
        change: "DELETE FROM payment WHERE payment_id % 3 = 0; DROP VIEW actor_info; \
                 UPDATE film SET title = 'changed' WHERE film_id < 5",
    },
];

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// psql of `db`'s server, connected as the application role (or the superuser).
fn psql(db: &TestDb, as_app: bool) -> std::process::Command {
    let mut cmd = db.server.tool("psql", &db.name);
    if as_app {
        cmd.env("PGUSER", APP_USER).env("PGPASSWORD", APP_PASSWORD);
    }
    cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1"]);
    cmd
}

pub(crate) fn kitchen_sink(db: &TestDb) {
    db.client()
        .batch_execute(
            "CREATE EXTENSION citext; CREATE EXTENSION hstore; CREATE EXTENSION pg_trgm; \
             CREATE EXTENSION btree_gist",
        )
        .unwrap();
    run_ok(
        psql(db, true)
            .arg("-f")
            .arg(corpus_dir().join("kitchen_sink.sql")),
    );
    // A value whose --inserts statement is over 16 MiB, as psql sends it.
    db.client()
        .batch_execute(&format!(
            "SET ROLE {APP_USER}; CREATE TABLE public.blobs (id int PRIMARY KEY, b bytea); \
             INSERT INTO public.blobs SELECT 1, decode(repeat(md5('x'), 620000), 'hex')"
        ))
        .unwrap();
}

pub(crate) fn pagila(db: &TestDb) {
    run_ok(
        psql(db, true)
            .arg("-f")
            .arg(corpus_dir().join("pagila/schema.sql")),
    );
    run_ok(
        psql(db, false)
            .arg("-f")
            .arg(corpus_dir().join("pagila/data.sql")),
    );
}

/// What must survive a round trip: the schema as pg_dump prints it, every table's rows
/// (count and digest), every sequence's position, every large object.
pub(crate) fn snapshot(db: &TestDb) -> String {
    let out = run_ok(db.server.tool("pg_dump", &db.name).args([
        "--schema-only",
        "--no-owner",
        "--no-privileges",
    ]));
    let schema: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| {
            !(l.is_empty()
                || l.starts_with("--")
                || l.starts_with("\\restrict")
                || l.starts_with("\\unrestrict"))
        })
        .map(String::from)
        .collect();
    let mut client = db.client();
    let mut parts = vec![schema.join("\n")];
    let relations = client
        .query(
            "SELECT format('%I.%I', n.nspname, c.relname), c.relkind::text FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'm', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
               AND n.nspname NOT LIKE 'pg\\_toast%' ORDER BY 1",
            &[],
        )
        .unwrap();
    for r in relations {
        let (name, kind): (String, String) = (r.get(0), r.get(1));
        let sql = match kind.as_str() {
            "S" => format!("SELECT last_value::text || ' ' || is_called::text FROM {name}"),
            _ => format!(
                "SELECT count(*)::text || ' ' || md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM {name} t"
            ),
        };
        let v: String = client.query_one(&sql, &[]).unwrap().get(0);
        parts.push(format!("{name}: {v}"));
    }
    let objects: String = client
        .query_one(
            "SELECT coalesce(string_agg(oid::text || ':' || md5(lo_get(oid)), ',' ORDER BY oid), '') \
             FROM pg_largeobject_metadata",
            &[],
        )
        .unwrap()
        .get(0);
    parts.push(format!("large objects: {objects}"));
    parts.join("\n")
}

/// The dumps of `src` to restore: kronic's own backup, and pg_dump's with other options
/// (as the application role, with the server's own pg_dump).
fn dumps(src: &TestDb, server_major: u32) -> Vec<(String, PathBuf)> {
    let mut dumps = vec![("kronic backup".to_string(), src.backed_up(&[]))];
    let mut variants: Vec<(&str, Vec<&str>)> = vec![
        (
            "--clean without --if-exists",
            vec!["--clean", "--no-owner", "--no-privileges"],
        ),
        (
            "--inserts",
            vec![
                "--clean",
                "--if-exists",
                "--inserts",
                "--no-owner",
                "--no-privileges",
            ],
        ),
        (
            "--column-inserts --rows-per-insert",
            vec![
                "--clean",
                "--if-exists",
                "--column-inserts",
                "--rows-per-insert=10",
                "--no-owner",
                "--no-privileges",
            ],
        ),
        (
            "--quote-all-identifiers",
            vec![
                "--clean",
                "--if-exists",
                "--quote-all-identifiers",
                "--no-owner",
                "--no-privileges",
            ],
        ),
        ("owners and privileges", vec!["--clean", "--if-exists"]),
    ];
    if server_major >= 18 {
        variants.push((
            "--statistics",
            vec!["--clean", "--if-exists", "--statistics", "--no-owner"],
        ));
    }
    for (i, (what, args)) in variants.into_iter().enumerate() {
        let file = src.path(&format!("dump-{i}.sql"));
        run_ok(
            src.server
                .tool("pg_dump", &src.name)
                .env("PGUSER", APP_USER)
                .env("PGPASSWORD", APP_PASSWORD)
                .args(args)
                .arg("-f")
                .arg(&file),
        );
        dumps.push((what.to_string(), file));
    }
    dumps
}

/// The SQL of a dump file (kronic's backups are gzip).
fn plain(file: &Path, dir: &Path) -> PathBuf {
    let bytes = std::fs::read(file).unwrap();
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return file.to_path_buf();
    }
    let mut sql = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&bytes[..]), &mut sql)
        .unwrap();
    let out = dir.join("kronic-backup.sql");
    std::fs::write(&out, sql).unwrap();
    out
}

fn round_trips(server: &'static Server, major: u32) {
    for corpus in CORPUS {
        let src = TestDb::on(server);
        (corpus.build)(&src);
        let reference = snapshot(&src);
        for (what, file) in dumps(&src, major) {
            let case = format!("PostgreSQL {major}, {}, {what}", corpus.name);
            // The reference: psql in one transaction, stopping at the first error, into
            // an empty database; a --clean dump without --if-exists fails there (its
            // DROPs), so into a copy of the source instead.
            let by_psql = TestDb::on(server);
            let sql = plain(&file, src.dir.path());
            let psql_restore = |db: &TestDb| {
                psql(db, true)
                    .arg("-1")
                    .arg("-f")
                    .arg(&sql)
                    .output()
                    .unwrap()
            };
            let mut psql_out = psql_restore(&by_psql);
            if !psql_out.status.success() && what.contains("without --if-exists") {
                expect(by_psql.kronic().arg("restore").arg(&file).arg("--yes"), 0);
                psql_out = psql_restore(&by_psql);
            }
            // Where psql restores the file, it restores the source; where it cannot (a
            // --clean dump of partitions with keys, over themselves: pg_dump drops the
            // partitions' inherited keys), kronic still has to.
            if psql_out.status.success() {
                assert_eq!(snapshot(&by_psql), reference, "{case}: psql's restore");
            } else {
                eprintln!(
                    "{case}: psql cannot restore it: {}",
                    String::from_utf8_lossy(&psql_out.stderr).trim()
                );
            }
            // kronic, into a database it creates.
            let fresh = format!("{}_k", by_psql.name);
            let out = run(src.kronic().arg("restore").arg(&file).args([
                "--yes",
                "--create",
                "--target-db",
                &fresh,
            ]));
            assert_eq!(out.code, 0, "{case}: into a new database\n{}", out.all());
            let target = TestDb {
                name: fresh,
                dir: tempfile::tempdir().unwrap(),
                server,
            };
            assert_eq!(snapshot(&target), reference, "{case}: into a new database");
            // And in place, over a changed database.
            target.client().batch_execute(corpus.change).unwrap();
            assert_ne!(snapshot(&target), reference);
            let out = run(target.kronic().arg("restore").arg(&file).arg("--yes"));
            assert_eq!(out.code, 0, "{case}: in place\n{}", out.all());
            assert_eq!(snapshot(&target), reference, "{case}: in place");
        }
    }
}

fn corpus_round_trips_on_postgresql_15() {
    round_trips(server(), 15);
}

fn corpus_round_trips_on_postgresql_16() {
    round_trips(server_of(16), 16);
}

fn corpus_round_trips_on_postgresql_17() {
    round_trips(server_of(17), 17);
}

fn corpus_round_trips_on_postgresql_18() {
    round_trips(server_of(18), 18);
}

fn main_commands_on_postgresql_16() {
    main_commands_on(16);
}

fn main_commands_on_postgresql_17() {
    main_commands_on(17);
}

fn main_commands_on_postgresql_18() {
    main_commands_on(18);
}

/// The main commands against another major version, with its pg_dump (18's for 16 and
/// 17).
fn main_commands_on(major: u32) {
    let db = TestDb::seeded_on(server_of(major));
    let version: String = db
        .client()
        .query_one("SHOW server_version_num", &[])
        .unwrap()
        .get(0);
    assert!(version.starts_with(&major.to_string()), "{version}");
    let before = content_checksum(&mut db.client());
    expect(db.kronic().arg("backup"), 0);
    expect(db.kronic().args(["backup", "verify", "--latest"]), 0);
    expect(db.kronic().args(["backup", "drill"]), 0);
    db.client().batch_execute("DELETE FROM user_roles").unwrap();
    expect(db.kronic().args(["restore", "--latest", "--yes"]), 0);
    assert_eq!(content_checksum(&mut db.client()), before);
    expect(db.kronic().args(["migrate", "check"]), 0);
    let out = expect(db.kronic().arg("health"), 0);
    assert!(
        out.stdout
            .contains(&format!("\"server_version\": \"{major}.")),
        "{}",
        out.stdout
    );
}
