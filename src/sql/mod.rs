//! SQL as psql reads it: the lexer that splits a dump or a migration into statements,
//! meta-commands and COPY data (`lexer`), and statements read word by word (`words`).
//! Pure, with its own error type: `backup` (dumps), `schema` (migrations, lint, plan)
//! and the tests use it, and it uses nothing of theirs.

mod error;
pub mod lexer;
pub mod words;

pub use error::SqlError;
use lexer::{Lexer, Piece};

/// The top-level statements of an SQL script (a migration) and their lines; Err is
/// (line, why) for a cut script or a psql meta-command.
pub fn statements(sql: &str) -> Result<Vec<(u64, String)>, (u64, String)> {
    let mut lexer = Lexer::new(sql.as_bytes());
    let mut out = Vec::new();
    loop {
        match lexer.next_piece() {
            Ok(None) => return Ok(out),
            Ok(Some(Piece::Statement { line, sql })) => out.push((line, sql)),
            Ok(Some(Piece::Meta { line, text, .. })) => {
                return Err((
                    line,
                    format!(
                        "psql meta-command \"{}\" (kronic sends SQL only)",
                        words::excerpt(&text)
                    ),
                ));
            }
            Ok(Some(_)) => return Err((lexer.line, "COPY data in a script".into())),
            Err(SqlError::Bad { line, why }) => return Err((line, why)),
            Err(e) => return Err((lexer.line, format!("{e:?}"))),
        }
    }
}

/// Does `tail` (the last bytes of a dump) end with pg_dump's closing comment?
pub fn ends_complete(tail: &[u8]) -> bool {
    let text = String::from_utf8_lossy(tail);
    text.lines()
        .rev()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(3)
        .any(|l| l == "-- PostgreSQL database dump complete")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn completeness_mark() {
        assert!(ends_complete(
            b"SET x;\n--\n-- PostgreSQL database dump complete\n--\n\n"
        ));
        assert!(!ends_complete(b"COPY public.users (id) FROM stdin;\n1\n"));
    }

    proptest! {
        /// Scripts of SQL-looking text split without panicking.
        #[test]
        fn any_script_splits(sql in "([a-z ;'\"$\\-/*\\\\\n(){}]|BEGIN ATOMIC|END|COPY x FROM stdin;\n){0,40}") {
            let _ = statements(&sql);
        }
    }
}
