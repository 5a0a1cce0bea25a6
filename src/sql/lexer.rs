//! Splits SQL (a plain dump, a migration) into top-level statements, psql meta-commands
//! and COPY data, by psql's lexical rules, in bounded memory. It runs nothing and decides
//! nothing: a dump's policy (`backup::dump::policy`) says what each piece may be.

use std::io::{self, Read};

use bytes::Bytes;

use super::error::SqlError;

/// The longest statement kronic accepts: PostgreSQL's own limit for a query (1 GiB,
/// less one byte), as psql would send it. A statement is held whole in memory until
/// sent (as psql holds it); table data in COPY form is streamed in chunks and never is.
pub const MAX_STATEMENT: usize = (1 << 30) - 1;
const BUF: usize = 256 * 1024;
/// pg_dump's first comment, and its last.
const HEADER: &[u8] = b" PostgreSQL database dump";
const CLOSING: &[u8] = b" PostgreSQL database dump complete";

/// One piece of a dump.
#[derive(Debug, PartialEq)]
pub enum Piece {
    /// A top-level statement, comments removed, ending with `;`.
    Statement { line: u64, sql: String },
    /// A psql meta-command: the line from the backslash on (at most 200 bytes of it).
    /// `inside` is true when it stands inside a statement.
    Meta {
        line: u64,
        text: String,
        inside: bool,
    },
    /// A chunk of COPY data (whole lines, or a part of a long one).
    CopyData(Bytes),
    /// The `\.` line that ends COPY data.
    CopyEnd,
}

#[derive(Clone, Copy, PartialEq)]
enum St {
    Normal,
    /// A '…' string; `escapes` for E'…', where a backslash escapes the next byte.
    Quote {
        escapes: bool,
    },
    Ident,
    /// A $tag$…$tag$ body; the body starts at `open_end` in the statement buffer.
    Dollar {
        open_end: usize,
    },
    LineComment,
    BlockComment {
        depth: u32,
    },
}

pub struct Lexer<R> {
    input: R,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
    eof: bool,
    /// The line `pos` is on (1-based).
    pub line: u64,
    /// Bytes of SQL read so far.
    pub sql_bytes: u64,
    /// pg_dump's header comment came before any statement.
    pub saw_header: bool,
    /// pg_dump's closing comment came, and no statement after it.
    pub complete: bool,
    seen_piece: bool,
    /// For a dump: pg_dump's header must come within this many bytes, or the input is
    /// refused there, whatever follows (a huge first line is never read whole).
    header_within: Option<u64>,
    copying: bool,
    copy_first: bool,
    bol: bool,
    copy_end_pending: bool,
}

fn ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn ident_cont(b: u8) -> bool {
    ident_start(b) || b.is_ascii_digit() || b == b'$'
}

impl<R: Read> Lexer<R> {
    pub fn new(input: R) -> Lexer<R> {
        Lexer {
            input,
            buf: vec![0; BUF].into_boxed_slice(),
            pos: 0,
            len: 0,
            eof: false,
            line: 1,
            sql_bytes: 0,
            saw_header: false,
            complete: false,
            seen_piece: false,
            header_within: None,
            copying: false,
            copy_first: false,
            bol: true,
            copy_end_pending: false,
        }
    }

    /// Requires pg_dump's header comment within the first `limit` bytes.
    pub fn expect_header_within(&mut self, limit: u64) {
        self.header_within = Some(limit);
    }

    /// Bytes consumed so far (read from the input and not still buffered ahead).
    fn consumed(&self) -> u64 {
        self.sql_bytes - (self.len - self.pos) as u64
    }

    /// The statement just returned was `COPY … FROM stdin`: data follows, up to `\.`.
    pub fn start_copy(&mut self) {
        self.copying = true;
        self.copy_first = true;
    }

    /// The next piece, or None at the end of a well-formed input.
    pub fn next_piece(&mut self) -> Result<Option<Piece>, SqlError> {
        if self.copying {
            return self.copy_piece().map(Some);
        }
        let piece = self.statement()?;
        if piece.is_some() {
            self.seen_piece = true;
        }
        if let Some(Piece::Statement { .. }) = piece {
            self.complete = false;
        }
        Ok(piece)
    }

    /// Makes at least `n` bytes available from `pos`, unless the input ends first.
    fn ensure(&mut self, n: usize) -> Result<(), SqlError> {
        if self.len - self.pos >= n || self.eof {
            return Ok(());
        }
        self.buf.copy_within(self.pos..self.len, 0);
        self.len -= self.pos;
        self.pos = 0;
        while self.len < n && !self.eof {
            match self.input.read(&mut self.buf[self.len..]) {
                Ok(0) => self.eof = true,
                Ok(k) => {
                    self.len += k;
                    self.sql_bytes += k as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(SqlError::Io(e)),
            }
        }
        Ok(())
    }

    fn peek_at(&mut self, k: usize) -> Result<Option<u8>, SqlError> {
        self.ensure(k + 1)?;
        Ok(self.buf[self.pos..self.len].get(k).copied())
    }

    fn byte(&mut self) -> Result<Option<u8>, SqlError> {
        let b = self.peek_at(0)?;
        if let Some(b) = b {
            self.pos += 1;
            if b == b'\n' {
                self.line += 1;
            }
        }
        Ok(b)
    }

    fn statement(&mut self) -> Result<Option<Piece>, SqlError> {
        let mut s = Scan {
            sql: Vec::new(),
            start: self.line,
            st: St::Normal,
            comment: Vec::new(),
            depth: Depth::default(),
            word: Vec::new(),
        };
        loop {
            let Some(b) = self.byte()? else {
                return self.at_end(s.sql, s.st, s.start);
            };
            if let Some(limit) = self.header_within
                && !self.saw_header
                && self.consumed() > limit
            {
                return Err(SqlError::bad(
                    self.line,
                    format!("no pg_dump header in the first {} KiB", limit / 1024),
                ));
            }
            if s.sql.len() > MAX_STATEMENT {
                return Err(SqlError::bad(
                    s.start,
                    "a statement longer than 1 GiB, which PostgreSQL refuses".into(),
                ));
            }
            let (was_empty, here) = (s.sql.is_empty(), self.line);
            match s.st {
                St::Normal => {
                    if let Some(piece) = self.normal(&mut s, b, was_empty, here)? {
                        return Ok(Some(piece));
                    }
                }
                St::Quote { escapes } => self.quoted(&mut s, b, escapes)?,
                St::Ident => self.quoted_ident(&mut s, b)?,
                St::Dollar { open_end } => s.dollar(b, open_end),
                St::LineComment => self.line_comment(&mut s, b),
                St::BlockComment { depth } => self.block_comment(&mut s, b, depth)?,
            }
            if was_empty && !s.sql.is_empty() {
                s.start = here;
            }
        }
    }

    /// A byte outside quotes and comments; a finished statement or meta-command.
    fn normal(
        &mut self,
        s: &mut Scan,
        b: u8,
        was_empty: bool,
        here: u64,
    ) -> Result<Option<Piece>, SqlError> {
        if !s.word.is_empty() && !ident_cont(b) {
            s.depth.ident(&s.word);
            s.word.clear();
        }
        match b {
            b'-' if self.peek_at(0)? == Some(b'-') => {
                self.pos += 1;
                s.comment.clear();
                s.st = St::LineComment;
            }
            b'/' if self.peek_at(0)? == Some(b'*') => {
                self.pos += 1;
                s.st = St::BlockComment { depth: 1 };
            }
            b'\\' => {
                let line = self.line;
                let text = self.rest_of_line(b'\\')?;
                let inside = !s.sql.is_empty();
                return Ok(Some(Piece::Meta { line, text, inside }));
            }
            b'\'' => {
                let n = s.sql.len();
                let escapes = n >= 1
                    && matches!(s.sql[n - 1], b'E' | b'e')
                    && (n == 1 || !ident_cont(s.sql[n - 2]));
                s.sql.push(b);
                s.st = St::Quote { escapes };
            }
            b'"' => {
                s.sql.push(b);
                s.st = St::Ident;
            }
            b'$' if s.sql.last().is_none_or(|&p| !ident_cont(p)) => {
                s.sql.push(b);
                if let Some(tag_len) = self.dollar_tag()? {
                    // Copy the tag and its closing '$' into the statement.
                    for _ in 0..=tag_len {
                        let c = self.byte()?.unwrap_or(b'$');
                        s.sql.push(c);
                    }
                    s.st = St::Dollar {
                        open_end: s.sql.len(),
                    };
                }
            }
            b'(' => {
                s.depth.paren += 1;
                s.sql.push(b);
            }
            b')' => {
                s.depth.paren = s.depth.paren.saturating_sub(1);
                s.sql.push(b);
            }
            b';' if s.depth.paren == 0 && s.depth.begin == 0 => {
                s.sql.push(b);
                let start = if was_empty { here } else { s.start };
                return self.finish(std::mem::take(&mut s.sql), start).map(Some);
            }
            b if b.is_ascii_whitespace() && s.sql.is_empty() => {}
            b => {
                let starts_word = ident_start(b) && s.sql.last().is_none_or(|&p| !ident_cont(p));
                if ident_cont(b) && (!s.word.is_empty() || starts_word) {
                    s.word.push(b);
                }
                s.sql.push(b);
            }
        }
        Ok(None)
    }

    /// Inside '…' (doubled quotes stay inside; in E'…' a backslash escapes a byte).
    fn quoted(&mut self, s: &mut Scan, b: u8, escapes: bool) -> Result<(), SqlError> {
        s.sql.push(b);
        if escapes && b == b'\\' {
            if let Some(c) = self.byte()? {
                s.sql.push(c);
            }
        } else if b == b'\'' {
            if self.peek_at(0)? == Some(b'\'') {
                self.pos += 1;
                s.sql.push(b'\'');
            } else {
                s.st = St::Normal;
            }
        }
        Ok(())
    }

    /// Inside "…" (doubled quotes stay inside).
    fn quoted_ident(&mut self, s: &mut Scan, b: u8) -> Result<(), SqlError> {
        s.sql.push(b);
        if b == b'"' {
            if self.peek_at(0)? == Some(b'"') {
                self.pos += 1;
                s.sql.push(b'"');
            } else {
                s.st = St::Normal;
            }
        }
        Ok(())
    }

    /// Inside `--`: dropped, but pg_dump's header and closing comments are noticed.
    fn line_comment(&mut self, s: &mut Scan, b: u8) {
        // PostgreSQL and psql end a `--` comment at CR as well as LF: a statement
        // hidden behind a lone CR is a statement, not part of the comment.
        if b != b'\n' && b != b'\r' {
            if s.comment.len() < 64 {
                s.comment.push(b);
            }
            return;
        }
        if s.sql.is_empty() {
            if s.comment == HEADER && !self.seen_piece {
                self.saw_header = true;
            }
            if s.comment == CLOSING {
                self.complete = true;
            }
        } else {
            s.sql.push(b'\n');
        }
        s.st = St::Normal;
    }

    /// Inside `/* … */`, which nests.
    fn block_comment(&mut self, s: &mut Scan, b: u8, depth: u32) -> Result<(), SqlError> {
        let next = self.peek_at(0)?;
        if b == b'/' && next == Some(b'*') {
            self.pos += 1;
            s.st = St::BlockComment { depth: depth + 1 };
        } else if b == b'*' && next == Some(b'/') {
            self.pos += 1;
            s.st = if depth == 1 {
                if !s.sql.is_empty() {
                    s.sql.push(b' ');
                }
                St::Normal
            } else {
                St::BlockComment { depth: depth - 1 }
            };
        }
        Ok(())
    }

    /// After a '$' outside an identifier: the length of a dollar-quote tag (0 for `$$`)
    /// if one follows, else None (a parameter like `$1`, or a lone '$').
    fn dollar_tag(&mut self) -> Result<Option<usize>, SqlError> {
        let mut k = 0;
        loop {
            match self.peek_at(k)? {
                Some(b'$') => return Ok(Some(k)),
                Some(c) if (k == 0 && ident_start(c)) || (k > 0 && ident_cont(c) && c != b'$') => {
                    k += 1;
                    if k > 1024 {
                        return Ok(None);
                    }
                }
                _ => return Ok(None),
            }
        }
    }

    /// Consumes the rest of the line, returning its first 200 bytes after `first`.
    fn rest_of_line(&mut self, first: u8) -> Result<String, SqlError> {
        let mut text = vec![first];
        while let Some(b) = self.byte()? {
            if b == b'\n' {
                break;
            }
            if text.len() < 200 {
                text.push(b);
            }
        }
        let text = String::from_utf8_lossy(&text);
        Ok(text.trim_end().to_string())
    }

    fn finish(&mut self, sql: Vec<u8>, start: u64) -> Result<Piece, SqlError> {
        let sql = String::from_utf8(sql)
            .map_err(|_| SqlError::bad(start, "a statement that is not valid UTF-8".into()))?;
        Ok(Piece::Statement { line: start, sql })
    }

    fn at_end(&mut self, sql: Vec<u8>, st: St, start: u64) -> Result<Option<Piece>, SqlError> {
        let inside = match st {
            St::Normal | St::LineComment if sql.is_empty() => return Ok(None),
            St::Normal | St::LineComment => "a statement with no closing semicolon",
            St::Quote { .. } => "a quoted string",
            St::Ident => "a quoted identifier",
            St::Dollar { .. } => "a dollar-quoted string",
            St::BlockComment { .. } => "a /* comment */",
        };
        Err(SqlError::bad(
            start,
            format!("incomplete: the file ends inside {inside} (truncated?)"),
        ))
    }

    /// COPY data up to its `\.` line, in chunks of at most one buffer.
    fn copy_piece(&mut self) -> Result<Piece, SqlError> {
        if self.copy_end_pending {
            self.copy_end_pending = false;
            self.copying = false;
            return Ok(Piece::CopyEnd);
        }
        if self.copy_first {
            // The rest of the COPY statement's line must be blank: data starts on the next.
            self.copy_first = false;
            self.bol = true;
            let line = self.line;
            loop {
                match self.byte()? {
                    Some(b'\n') => break,
                    Some(b) if b.is_ascii_whitespace() => {}
                    Some(_) => {
                        return Err(SqlError::bad(
                            line,
                            "text after COPY … FROM stdin; on the same line".into(),
                        ));
                    }
                    None => break,
                }
            }
        }
        self.ensure(4)?;
        let s = &self.buf[self.pos..self.len];
        if s.is_empty() {
            return Err(SqlError::bad(
                self.line,
                "incomplete: the file ends inside COPY data (truncated?)".into(),
            ));
        }
        let mut i = 0;
        let mut lines = 0;
        let mut end = None;
        while i < s.len() {
            if self.bol && s[i] == b'\\' {
                match terminator(&s[i..], self.eof) {
                    Some(Some(n)) => {
                        end = Some(n);
                        break;
                    }
                    // A possible "\." cut by the buffer's end: decide on the next call.
                    Some(None) if i > 0 => break,
                    _ => {}
                }
            }
            match memchr::memchr(b'\n', &s[i..]) {
                Some(j) => {
                    i += j + 1;
                    lines += 1;
                    self.bol = true;
                }
                None => {
                    i = s.len();
                    self.bol = false;
                }
            }
        }
        let data = Bytes::copy_from_slice(&s[..i]);
        self.pos += i;
        self.line += lines;
        if let Some(n) = end {
            self.pos += n;
            self.line += 1;
            if data.is_empty() {
                self.copying = false;
                return Ok(Piece::CopyEnd);
            }
            self.copy_end_pending = true;
        }
        Ok(Piece::CopyData(data))
    }
}

/// Does `s` (at the start of a line, starting with '\') begin with COPY's end marker?
/// Some(Some(len)) yes; Some(None) cannot tell yet (more input needed); None no.
fn terminator(s: &[u8], eof: bool) -> Option<Option<usize>> {
    for t in [&b"\\.\n"[..], b"\\.\r\n"] {
        if s.starts_with(t) {
            return Some(Some(t.len()));
        }
    }
    let prefix_of_one = [&b"\\.\n"[..], b"\\.\r\n"].iter().any(|t| t.starts_with(s));
    match (prefix_of_one, eof) {
        // "\." or "\.\r" as the very last bytes.
        (true, true) if s.len() >= 2 => Some(Some(s.len())),
        (true, false) => Some(None),
        _ => None,
    }
}

/// The `$tag$` that opened a dollar quote ending at the end of `opened`.
fn open_delimiter(opened: &[u8]) -> &[u8] {
    let before = &opened[..opened.len() - 1];
    let start = before.iter().rposition(|&b| b == b'$').unwrap_or(0);
    &opened[start..]
}

/// One statement being read.
struct Scan {
    sql: Vec<u8>,
    start: u64,
    st: St,
    /// The current `--` comment's first bytes.
    comment: Vec<u8>,
    depth: Depth,
    /// The identifier being read (for BEGIN … END nesting).
    word: Vec<u8>,
}

impl Scan {
    /// Inside $tag$…$tag$ (the body starts at `open_end`).
    fn dollar(&mut self, b: u8, open_end: usize) {
        self.sql.push(b);
        if b == b'$' {
            let open = open_delimiter(&self.sql[..open_end]);
            if self.sql.len() >= open_end + open.len() && self.sql.ends_with(open) {
                self.st = St::Normal;
            }
        }
    }
}

/// psql's nesting: parentheses, and BEGIN … END in SQL-standard function bodies
/// (`CREATE [OR REPLACE] FUNCTION|PROCEDURE … BEGIN ATOMIC … END`), inside which a
/// semicolon does not end the statement.
#[derive(Default)]
struct Depth {
    paren: u32,
    begin: u32,
    idents: [u8; 4],
    count: usize,
}

impl Depth {
    fn ident(&mut self, word: &[u8]) {
        let w = word.to_ascii_lowercase();
        if matches!(
            &w[..],
            b"create" | b"function" | b"procedure" | b"or" | b"replace"
        ) && self.count < self.idents.len()
        {
            self.idents[self.count] = w[0];
        }
        self.count += 1;
        let i = self.idents;
        let routine = i[0] == b'c'
            && (i[1] == b'f'
                || i[1] == b'p'
                || (i[1] == b'o' && i[2] == b'r' && (i[3] == b'f' || i[3] == b'p')));
        if routine && self.paren == 0 {
            match &w[..] {
                b"begin" => self.begin += 1,
                b"case" if self.begin >= 1 => self.begin += 1,
                b"end" if self.begin > 0 => self.begin -= 1,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
#[path = "lexer_tests.rs"]
mod tests;
