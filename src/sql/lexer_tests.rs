//! Tests of `lexer`.

use super::*;

/// Every piece of `input`, read through a reader that returns `step` bytes at a time
/// so that every construct is also cut across buffer refills.
fn pieces(input: &str, step: usize) -> Vec<Piece> {
    struct Trickle<'a>(&'a [u8], usize);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(self.1).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let mut lx = Lexer::new(Trickle(input.as_bytes(), step));
    let mut out = Vec::new();
    while let Some(p) = lx.next_piece().unwrap() {
        if let Piece::Statement { sql, .. } = &p
            && sql.starts_with("COPY")
        {
            lx.start_copy();
        }
        out.push(p);
    }
    // Merge data chunks so that results do not depend on the step.
    let mut merged: Vec<Piece> = Vec::new();
    for p in out {
        match (merged.last_mut(), p) {
            (Some(Piece::CopyData(a)), Piece::CopyData(b)) => {
                *a = Bytes::from([&a[..], &b[..]].concat());
            }
            (_, p) => merged.push(p),
        }
    }
    merged
}

fn stmt(line: u64, sql: &str) -> Piece {
    Piece::Statement {
        line,
        sql: sql.into(),
    }
}

#[test]
fn quotes_comments_and_dollar_bodies_hide_semicolons_and_backslashes() {
    let dump = "-- a; comment\nSET x = 'a;b''c\\';\n\
        CREATE FUNCTION f() RETURNS text AS $body$ SELECT ';' ; \\. $$ $body$ LANGUAGE sql;\n\
        SELECT E'it\\'s; \\\\' , \"we;ird\"\"name\" /* c; /* nested; */ still */ , $1;\n\
        CREATE PROCEDURE p() BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 1 END; END;\n";
    for step in [1, 2, 3, 7, 4096] {
        assert_eq!(
            pieces(dump, step),
            vec![
                stmt(2, "SET x = 'a;b''c\\';"),
                stmt(
                    3,
                    "CREATE FUNCTION f() RETURNS text AS $body$ SELECT ';' ; \\. $$ $body$ LANGUAGE sql;"
                ),
                stmt(4, "SELECT E'it\\'s; \\\\' , \"we;ird\"\"name\"   , $1;"),
                stmt(
                    5,
                    "CREATE PROCEDURE p() BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 1 END; END;"
                ),
            ],
            "step {step}"
        );
    }
}

#[test]
fn copy_data_runs_to_the_end_marker_only_at_a_line_start() {
    let dump = "COPY t (a) FROM stdin;\nx\\.y\n\\\\.\n\\.z\n\\.\nSELECT 1;\n";
    for step in [1, 2, 5, 4096] {
        assert_eq!(
            pieces(dump, step),
            vec![
                stmt(1, "COPY t (a) FROM stdin;"),
                Piece::CopyData(Bytes::from_static(b"x\\.y\n\\\\.\n\\.z\n")),
                Piece::CopyEnd,
                stmt(6, "SELECT 1;"),
            ],
            "step {step}"
        );
    }
}

#[test]
fn meta_commands_are_reported_with_their_line() {
    let p = pieces("--\n\\! id > /tmp/x\nSELECT 1 \\g\n", 3);
    assert_eq!(
        p[0],
        Piece::Meta {
            line: 2,
            text: "\\! id > /tmp/x".into(),
            inside: false
        }
    );
    assert_eq!(
        p[1],
        Piece::Meta {
            line: 3,
            text: "\\g".into(),
            inside: true
        }
    );
}

#[test]
fn cut_inputs_are_errors() {
    for bad in [
        "SELECT 'abc",
        "SELECT 1",
        "CREATE FUNCTION f() AS $$ x",
        "/* x",
        "COPY t FROM stdin;\n1\n",
    ] {
        let mut lx = Lexer::new(bad.as_bytes());
        let mut err = None;
        loop {
            match lx.next_piece() {
                Ok(Some(Piece::Statement { .. })) if bad.starts_with("COPY") => lx.start_copy(),
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        assert!(
            matches!(err, Some(SqlError::Bad { .. })),
            "{bad:?} gave {err:?}"
        );
    }
}

#[test]
fn header_and_closing_comments_are_noticed() {
    let mut lx = Lexer::new(
        &b"--\n-- PostgreSQL database dump\n--\nSET a = 1;\n--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict k\n"[..],
    );
    while let Some(p) = lx.next_piece().unwrap() {
        let _ = p;
    }
    assert!(lx.saw_header && lx.complete);
}
