//! Statements read word by word: tokens (quoted and `U&` names and strings decoded),
//! what kind a statement is, what it targets, how deep it nests, whether it controls
//! the transaction, and which functions it calls that act outside any transaction.
//! Pure: no I/O. A dump's policy, lint and plan judge statements with these.

/// Functions that read or write server files, signal other sessions, reload the server,
/// or connect elsewhere. pg_dump never calls them at the top level of a dump.
pub const FUNCTIONS: &[&str] = &[
    "LO_IMPORT",
    "LO_EXPORT",
    "PG_READ_FILE",
    "PG_READ_BINARY_FILE",
    "PG_STAT_FILE",
    "PG_LS_DIR",
    "PG_FILE_WRITE",
    "PG_TERMINATE_BACKEND",
    "PG_CANCEL_BACKEND",
    "PG_RELOAD_CONF",
    "PG_ROTATE_LOGFILE",
    "PG_PROMOTE",
    "DBLINK",
    "DBLINK_EXEC",
    "DBLINK_CONNECT",
    "DBLINK_CONNECT_U",
];

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// An unquoted word, upper-cased.
    Word(String),
    /// A "quoted identifier", unquoted.
    Quoted(String),
    /// A string constant's contents.
    Str(String),
    Num,
    Punct(char),
}

/// The tokens of one complete statement (comments are already gone).
pub fn tokens(sql: &str) -> Vec<Tok> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let is_start = |c: u8| c.is_ascii_alphabetic() || c == b'_' || c >= 0x80;
    let is_cont = |c: u8| is_start(c) || c.is_ascii_digit() || c == b'$';
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if (c == b'U' || c == b'u')
            && b.get(i + 1) == Some(&b'&')
            && matches!(b.get(i + 2), Some(b'"' | b'\''))
        {
            // U&"…" and U&'…': judged by what they spell, escapes decoded.
            let q = b[i + 2];
            let (s, n) = quoted(&b[i + 2..], q, false);
            let s = unescape_unicode(&s);
            out.push(if q == b'"' {
                Tok::Quoted(s)
            } else {
                Tok::Str(s)
            });
            i += 2 + n;
        } else if (c == b'E' || c == b'e') && b.get(i + 1) == Some(&b'\'') {
            let (s, n) = quoted(&b[i + 1..], b'\'', true);
            out.push(Tok::Str(s));
            i += 1 + n;
        } else if is_start(c) {
            let s = i;
            while i < b.len() && is_cont(b[i]) {
                i += 1;
            }
            out.push(Tok::Word(sql[s..i].to_ascii_uppercase()));
        } else if c == b'\'' {
            let (s, n) = quoted(&b[i..], b'\'', false);
            out.push(Tok::Str(s));
            i += n;
        } else if c == b'"' {
            let (s, n) = quoted(&b[i..], b'"', false);
            out.push(Tok::Quoted(s));
            i += n;
        } else if c == b'$' && b.get(i + 1).is_some_and(|d| d.is_ascii_digit()) {
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            out.push(Tok::Num);
        } else if c == b'$' {
            // A dollar-quoted string: find the closing tag.
            let tag_end = b[i + 1..]
                .iter()
                .position(|&d| d == b'$')
                .map(|p| i + 2 + p);
            match tag_end {
                Some(te) => {
                    let tag = &sql[i..te];
                    let close = sql[te..].find(tag).map_or(b.len(), |p| te + p + tag.len());
                    out.push(Tok::Str(
                        sql[te..close.saturating_sub(tag.len()).max(te)].into(),
                    ));
                    i = close;
                }
                None => {
                    out.push(Tok::Punct('$'));
                    i += 1;
                }
            }
        } else if c.is_ascii_digit() {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                i += 1;
            }
            out.push(Tok::Num);
        } else {
            let ch = sql[i..].chars().next().unwrap_or('?');
            out.push(Tok::Punct(ch));
            i += ch.len_utf8();
        }
    }
    out
}

/// A quoted token starting at `b[0]` (the quote): its contents and its length.
fn quoted(b: &[u8], q: u8, escapes: bool) -> (String, usize) {
    let mut s = Vec::new();
    let mut i = 1;
    while i < b.len() {
        if escapes && b[i] == b'\\' && i + 1 < b.len() {
            s.push(b[i + 1]);
            i += 2;
        } else if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                s.push(q);
                i += 2;
            } else {
                return (String::from_utf8_lossy(&s).into_owned(), i + 1);
            }
        } else {
            s.push(b[i]);
            i += 1;
        }
    }
    (String::from_utf8_lossy(&s).into_owned(), b.len())
}

pub fn word(t: Option<&Tok>) -> &str {
    match t {
        Some(Tok::Word(w)) => w,
        _ => "",
    }
}

/// The transaction-control keyword a statement starts with, if it ends or starts a
/// transaction (`ROLLBACK TO` a savepoint and `BEGIN ATOMIC` bodies do not).
pub fn transaction_control(sql: &str) -> Option<String> {
    let toks = tokens(sql);
    let w = |i: usize| word(toks.get(i));
    let ends = match w(0) {
        "BEGIN" | "START" | "COMMIT" | "END" | "ABORT" => true,
        "ROLLBACK" => w(1) != "TO",
        "PREPARE" => w(1) == "TRANSACTION",
        _ => false,
    };
    ends.then(|| w(0).to_string())
}

/// The statement as an error names it: its first 60 characters, on one line, control
/// characters (a terminal's escape sequences) shown as '?'.
pub fn excerpt(sql: &str) -> String {
    let one: String = sql
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    match one.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &one[..i]),
        None => one,
    }
}

/// More functions that act at once and outside any transaction, which `migrate plan`
/// must never call on its copy (replication, WAL, backends' memory).
const IRREVERSIBLE: &[&str] = &[
    "PG_LOG_BACKEND_MEMORY_CONTEXTS",
    "PG_SWITCH_WAL",
    "PG_CREATE_RESTORE_POINT",
    "PG_CREATE_PHYSICAL_REPLICATION_SLOT",
    "PG_CREATE_LOGICAL_REPLICATION_SLOT",
    "PG_DROP_REPLICATION_SLOT",
    "PG_COPY_PHYSICAL_REPLICATION_SLOT",
    "PG_COPY_LOGICAL_REPLICATION_SLOT",
    "PG_REPLICATION_ORIGIN_CREATE",
    "PG_REPLICATION_ORIGIN_DROP",
    "PG_LOGICAL_EMIT_MESSAGE",
    "PG_WAL_REPLAY_PAUSE",
    "PG_WAL_REPLAY_RESUME",
];

/// The first function named anywhere in `sql` (string constants and dollar-quoted
/// bodies included, quoted and `U&` names decoded) that acts at once outside the
/// transaction: signals other sessions, reads or writes server files, reloads the
/// server, connects elsewhere. Upper-case; None when there is none.
pub fn irreversible_call(sql: &str) -> Option<String> {
    fn scan(sql: &str, depth: u32) -> Option<String> {
        let toks = tokens(sql);
        for (i, t) in toks.iter().enumerate() {
            let unicode = i >= 2
                && toks[i - 1] == Tok::Punct('&')
                && matches!(&toks[i - 2], Tok::Word(w) if w == "U");
            let text = match t {
                Tok::Word(w) => w.clone(),
                Tok::Quoted(q) if unicode => unescape_unicode(q).to_ascii_uppercase(),
                Tok::Quoted(q) => q.to_ascii_uppercase(),
                Tok::Str(s) if depth < 8 => {
                    let s = if unicode {
                        unescape_unicode(s)
                    } else {
                        s.clone()
                    };
                    if let Some(found) = scan(&s, depth + 1) {
                        return Some(found);
                    }
                    continue;
                }
                _ => continue,
            };
            if FUNCTIONS.contains(&text.as_str())
                || IRREVERSIBLE.contains(&text.as_str())
                || text.starts_with("DBLINK")
            {
                return Some(text);
            }
        }
        None
    }
    scan(sql, 0)
}

/// A `U&"…"` or `U&'…'` body with its `\XXXX`, `\+XXXXXX` and `\\` escapes decoded (the
/// default escape character; a custom UESCAPE is rare and left as written).
pub fn unescape_unicode(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let width = match chars.peek() {
            Some('\\') => {
                chars.next();
                out.push('\\');
                continue;
            }
            Some('+') => {
                chars.next();
                6
            }
            _ => 4,
        };
        let hex: String = chars.by_ref().take(width).collect();
        match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
            Some(d) => out.push(d),
            None => {
                out.push('\\');
                out.push_str(&hex);
            }
        }
    }
    out
}

/// How deep `sql`'s parentheses and brackets nest (outside strings and comments).
pub fn nesting(sql: &str) -> usize {
    let (mut depth, mut most) = (0usize, 0usize);
    for t in tokens(sql) {
        match t {
            Tok::Punct('(' | '[') => {
                depth += 1;
                most = most.max(depth);
            }
            Tok::Punct(')' | ']') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    most
}

/// The (maybe schema-qualified) name starting at token `i`, as `target_table` names
/// tables: unquoted parts lower-case, quoted ones as written, joined by dots.
pub fn name_at(toks: &[Tok], mut i: usize) -> Option<String> {
    let mut parts = Vec::new();
    loop {
        match toks.get(i)? {
            Tok::Word(n) => parts.push(n.to_ascii_lowercase()),
            Tok::Quoted(q) => parts.push(q.clone()),
            _ => return None,
        }
        if toks.get(i + 1) != Some(&Tok::Punct('.')) {
            return Some(parts.join("."));
        }
        i += 2;
    }
}

/// The table a statement changes or creates, lower-case as the catalog names an
/// unquoted name: `CREATE TABLE x`, `ALTER TABLE [ONLY] x`, `CREATE INDEX … ON x`,
/// `SELECT … INTO x`. Schema-qualified names keep their schema.
pub fn target_table(sql: &str) -> Option<String> {
    let toks = tokens(sql);
    let w = |i: usize| word(toks.get(i));
    let name_at = |i: usize| name_at(&toks, i);
    let skip = |mut i: usize, words: &[&str]| {
        while words.contains(&w(i)) {
            i += 1;
        }
        i
    };
    match w(0) {
        "CREATE" => {
            let i = skip(
                1,
                &[
                    "OR",
                    "REPLACE",
                    "TEMP",
                    "TEMPORARY",
                    "UNLOGGED",
                    "GLOBAL",
                    "LOCAL",
                ],
            );
            match w(i) {
                "TABLE" => name_at(skip(i + 1, &["IF", "NOT", "EXISTS"])),
                "UNIQUE" | "INDEX" => {
                    let on = toks.iter().position(|t| *t == Tok::Word("ON".into()))?;
                    name_at(skip(on + 1, &["ONLY"]))
                }
                _ => None,
            }
        }
        "ALTER" if w(1) == "TABLE" => name_at(skip(2, &["IF", "EXISTS", "ONLY"])),
        "VACUUM" | "CLUSTER" => {
            let mut i = 1;
            if toks.get(1) == Some(&Tok::Punct('(')) {
                i = toks.iter().position(|t| *t == Tok::Punct(')'))? + 1;
            }
            name_at(skip(i, &["FULL", "FREEZE", "VERBOSE", "ANALYZE"]))
        }
        "SELECT" => {
            let into = toks.iter().position(|t| *t == Tok::Word("INTO".into()))?;
            name_at(skip(into + 1, &["TEMP", "TEMPORARY", "UNLOGGED", "TABLE"]))
        }
        _ => None,
    }
}

/// A statement's first keyword, upper-case (`WITH … UPDATE` is its UPDATE).
pub fn statement_kind(sql: &str) -> String {
    let toks = tokens(sql);
    let first = word(toks.first()).to_string();
    if first != "WITH" {
        return first;
    }
    // The main statement follows the last CTE's closing parenthesis at depth 0.
    let mut depth = 0i32;
    let mut last = String::new();
    for t in &toks {
        match t {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => depth -= 1,
            Tok::Word(w) if depth == 0 => {
                if matches!(
                    w.as_str(),
                    "SELECT" | "INSERT" | "UPDATE" | "DELETE" | "MERGE"
                ) {
                    last = w.clone();
                }
            }
            _ => {}
        }
    }
    last
}
