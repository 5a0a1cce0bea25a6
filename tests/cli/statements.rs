//! kronic's statement reader against psql's own splitting: generated scripts with
//! tricky quoting, dollar quotes, `U&""` names, nested comments and comments ended by a
//! CR, and COPY data are run by psql and by kronic
//! (its reader's steps sent over a connection), and must print the same.

use std::io::Write;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use kronic::backup::dump::{Reader, Step};

use crate::support::*;

crate::register!(the_reader_splits_scripts_as_psql_does);

/// A string literal in one of SQL's spellings, and the value it stands for.
fn literal() -> impl Strategy<Value = String> {
    let text = "[a-z;'\"$\\\\ \n\t]{0,12}";
    prop_oneof![
        text.prop_map(|t| format!("'{}'", t.replace('\'', "''"))),
        text.prop_map(|t| format!(
            "E'{}'",
            t.replace('\\', "\\\\")
                .replace('\'', "\\'")
                .replace('\n', "\\n")
        )),
        (text, "[a-z]{0,3}").prop_map(|(t, tag)| {
            let t = t.replace('$', "");
            format!("${tag}${t}${tag}$")
        }),
        Just("$a$ nested $b$ ; $b$ still $a$".to_string()),
    ]
}

/// A quoted identifier, doubled quotes and semicolons inside, plain or in `U&""` form
/// with escapes.
fn ident() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z; \"]{1,8}".prop_map(|t| format!("\"{}\"", t.replace('"', "\"\""))),
        "[a-z; ]{1,6}".prop_map(|t| {
            let escaped: String = t.chars().map(|c| format!("\\{:04x}", c as u32)).collect();
            format!("U&\"{escaped}\"")
        }),
    ]
}

/// Something between statements that is not one.
fn filler() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\n".to_string()),
        "[a-z ;']{0,10}".prop_map(|c| format!("-- {c}\n")),
        // PostgreSQL and psql end a `--` comment at CR too: what follows is SQL.
        "[a-z ;']{0,10}".prop_map(|c| format!("-- {c}\r")),
        "[a-z ;']{0,10}".prop_map(|c| format!("/* {c} /* nested; */ {c} */ ")),
    ]
}

/// One piece of a script: a SELECT of literals, or COPY data read back.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (prop::collection::vec((literal(), ident()), 1..3), filler()).prop_map(|(cols, f)| {
            let cols: Vec<String> = cols.into_iter().map(|(l, i)| format!("{l} AS {i}")).collect();
            format!("SELECT {f}{};\n", cols.join(", "))
        }),
        // A statement hidden behind a comment that a lone CR ends.
        1 => "[a-z ;']{0,10}".prop_map(|c| format!("SELECT 'before'; -- {c}\rSELECT 'after cr';\n")),
        1 => prop::collection::vec("[a-z;'$ ]{0,6}|\\\\\\\\|\\\\t|\\\\n|\\\\\\\\\\.", 0..4).prop_map(|rows| {
            let mut s = "DROP TABLE t;\nCREATE TEMP TABLE t (a text);\nCOPY t (a) FROM stdin;\n".to_string();
            for r in &rows {
                s.push_str(r);
                s.push('\n');
            }
            s.push_str("\\.\nSELECT coalesce(string_agg(a, '|' ORDER BY a), '-') FROM t;\n");
            s
        }),
    ]
}

const HEAD: &str = "--\n-- PostgreSQL database dump\n--\n\nCREATE TEMP TABLE t (a text);\n";
const TAIL: &str = "\n--\n-- PostgreSQL database dump complete\n--\n\n";

/// What kronic's reader makes of `script`, run over `client`: each SELECT's values, one
/// a line, as psql -At prints them.
fn through_kronic(client: &mut postgres::Client, script: &str) -> String {
    let mut reader = Reader::new(script.as_bytes());
    let mut out = String::new();
    let mut copy: Option<(String, Vec<u8>)> = None;
    loop {
        match reader
            .next_step()
            .expect("the reader refused a generated script")
        {
            None => break,
            Some(Step::Run { sql, .. }) if sql.starts_with("SELECT") => {
                for row in client.simple_query(&sql).unwrap() {
                    if let postgres::SimpleQueryMessage::Row(r) = row {
                        let values: Vec<&str> =
                            (0..r.len()).map(|i| r.get(i).unwrap_or("")).collect();
                        out.push_str(&values.join("|"));
                        out.push('\n');
                    }
                }
            }
            Some(Step::Run { sql, .. }) => {
                client.batch_execute(&sql).unwrap();
            }
            Some(Step::Copy { sql, .. }) => copy = Some((sql, Vec::new())),
            Some(Step::Data(bytes)) => copy.as_mut().unwrap().1.extend_from_slice(&bytes),
            Some(Step::CopyEnd) => {
                let (sql, data) = copy.take().unwrap();
                let mut w = client.copy_in(&sql).unwrap();
                w.write_all(&data).unwrap();
                w.finish().unwrap();
            }
            Some(other) => panic!("unexpected step {other:?}"),
        }
    }
    out
}

fn the_reader_splits_scripts_as_psql_does() {
    let db = TestDb::new();
    let client = std::cell::RefCell::new(db.client());
    let file = db.path("script.sql");
    let cases: u32 = std::env::var("KRONIC_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&prop::collection::vec(piece(), 1..6), |pieces| {
            let script = format!("{HEAD}{}{TAIL}", pieces.concat());
            std::fs::write(&file, &script).unwrap();
            let psql = pg_tool("psql", &db.name)
                .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-f"])
                .arg(&file)
                .output()
                .unwrap();
            prop_assert!(
                psql.status.success(),
                "psql: {}\n{script}",
                String::from_utf8_lossy(&psql.stderr)
            );
            let mut client = client.borrow_mut();
            client
                .batch_execute("DROP TABLE IF EXISTS pg_temp.t")
                .unwrap();
            let kronic = through_kronic(&mut client, &script);
            prop_assert_eq!(
                kronic,
                String::from_utf8_lossy(&psql.stdout).to_string(),
                "{}",
                script
            );
            Ok(())
        })
        .unwrap();
}
