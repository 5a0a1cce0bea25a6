//! What a backup may contain. A backup file is untrusted input: kronic runs only the
//! kinds of statement pg_dump writes, and refuses what could end its transaction, act
//! outside the database, or act as another role. The README lists the rules and why.

/// What to do with one statement of a dump.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// Run it; `phase` names a step worth showing (an index, a constraint).
    Run { sql: String, phase: Option<String> },
    /// `COPY table … FROM stdin`: run it and stream the data that follows.
    Copy { sql: String, table: String },
    /// pg_dump's own `BEGIN;` / `COMMIT;` around large objects: kronic's transaction
    /// already covers them, so they are not sent.
    Skip,
    /// Refused: the reason, naming the statement.
    Refuse(String),
    /// A clean section's `ALTER TABLE … DROP CONSTRAINT`: a partition's constraint
    /// inherited from its parent cannot be dropped on its own (pg_dump writes the drop
    /// anyway), and the partition's own DROP removes it.
    CleanDrop(String),
    /// `CREATE`, `DROP` or `COMMENT ON` an extension: the server's, not the backup's to
    /// drop; decided against the target database when applied.
    Extension {
        sql: String,
        name: String,
        action: ExtensionAction,
    },
    /// A session `SET name = …` (pg_dump's preamble): a setting a newer pg_dump knows
    /// but the target server does not (`transaction_timeout` before 17) is skipped when
    /// applied, as psql's restore would move past it.
    Setting { sql: String, name: String },
}

/// What a dump does with an extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtensionAction {
    Create,
    Drop,
    Comment,
}

/// The statement kinds pg_dump writes in a plain dump; everything else is refused.
const ALLOWED: &[&str] = &[
    "SET", "SELECT", "CREATE", "ALTER", "DROP", "COMMENT", "COPY", "GRANT", "REVOKE", "SECURITY",
    "REFRESH", "INSERT",
];

const TRANSACTION: &[&str] = &[
    "BEGIN",
    "START",
    "COMMIT",
    "END",
    "ROLLBACK",
    "ABORT",
    "SAVEPOINT",
    "RELEASE",
    "PREPARE",
];

/// Objects that live outside the database (or connect elsewhere).
const CLUSTER_OBJECTS: &[&str] = &[
    "ROLE",
    "USER",
    "GROUP",
    "DATABASE",
    "TABLESPACE",
    "SUBSCRIPTION",
];

/// Functions that read or write server files, signal other sessions, reload the server,
/// or connect elsewhere. pg_dump never calls them at the top level of a dump.
const FUNCTIONS: &[&str] = &[
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
enum Tok {
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
fn tokens(sql: &str) -> Vec<Tok> {
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

fn word(t: Option<&Tok>) -> &str {
    match t {
        Some(Tok::Word(w)) => w,
        _ => "",
    }
}

/// The table a `COPY table [(columns)] FROM stdin;` statement loads, as restore names
/// it; None for any other statement.
pub fn copy_table(sql: &str) -> Option<String> {
    let toks = tokens(sql);
    (word(toks.first()) == "COPY").then(|| copy_from_stdin(&toks))?
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

/// The policy's state as it reads a dump from top to bottom.
#[derive(Default)]
pub struct Policy {
    /// Between pg_dump's `BEGIN;` and `COMMIT;` around large objects.
    large_objects: bool,
    /// Past the clean section (the first CREATE or COPY ends it).
    past_clean: bool,
    /// The key of pg_dump's `\restrict` line.
    restrict_key: Option<String>,
}

impl Policy {
    /// Judges one statement.
    pub fn statement(&mut self, sql: &str) -> Verdict {
        let toks = tokens(sql);
        let first = word(toks.first());
        let bare = toks.len() == 2 && toks[1] == Tok::Punct(';');
        if self.large_objects {
            if bare && matches!(first, "COMMIT" | "END") {
                self.large_objects = false;
                return Verdict::Skip;
            }
            if large_object_write(&toks) {
                return Verdict::Run {
                    sql: sql.into(),
                    phase: None,
                };
            }
            return Verdict::Refuse(format!(
                "\"{}\" between pg_dump's BEGIN and COMMIT for large objects (only lo_open, lowrite and lo_close belong there)",
                excerpt(sql)
            ));
        }
        if bare && first == "BEGIN" {
            self.large_objects = true;
            return Verdict::Skip;
        }
        if toks.is_empty() || toks == [Tok::Punct(';')] {
            return Verdict::Skip;
        }
        if TRANSACTION.contains(&first) {
            return Verdict::Refuse(format!(
                "transaction control \"{}\": a backup must not end or split kronic's transaction",
                excerpt(sql)
            ));
        }
        if !ALLOWED.contains(&first) {
            return Verdict::Refuse(format!(
                "\"{}\": not a kind of statement pg_dump writes",
                excerpt(sql)
            ));
        }
        if let Some(why) = outside_the_database(&toks) {
            return Verdict::Refuse(format!("\"{}\": {why}", excerpt(sql)));
        }
        if first == "COPY" {
            return match copy_from_stdin(&toks) {
                Some(table) => {
                    self.past_clean = true;
                    Verdict::Copy {
                        sql: sql.into(),
                        table,
                    }
                }
                None => Verdict::Refuse(format!(
                    "\"{}\": only COPY table FROM stdin is allowed (not TO, a file or PROGRAM)",
                    excerpt(sql)
                )),
            };
        }
        if let Some((action, name)) = extension(&toks) {
            if action == ExtensionAction::Create {
                self.past_clean = true;
            }
            return Verdict::Extension {
                sql: sql.into(),
                name,
                action,
            };
        }
        if first == "SET"
            && let Some((name, at)) = setting_name(&toks)
        {
            if KRONIC_TIMEOUTS.contains(&name.as_str()) {
                // pg_dump's `SET lock_timeout = 0` would let the restore queue behind
                // the application forever; kronic's own bounded timeouts stay, however
                // the statement spells the setting.
                return Verdict::Skip;
            }
            // `name = …` or `name TO …`: not SQL's own forms (`SET TIME ZONE …`,
            // `SET SCHEMA '…'`, `SET CONSTRAINTS …`), which always run.
            if toks.get(at + 1) == Some(&Tok::Punct('=')) || word(toks.get(at + 1)) == "TO" {
                return Verdict::Setting {
                    sql: sql.into(),
                    name: name.to_ascii_lowercase(),
                };
            }
        }
        let mut sql = sql.to_string();
        if first == "CREATE" {
            self.past_clean = true;
        } else if !self.past_clean {
            if let Some(fixed) = super::clean::if_exists(&sql) {
                sql = fixed;
            }
            let drops_constraint = toks.windows(2).any(|p| {
                p[0] == Tok::Word("DROP".into()) && p[1] == Tok::Word("CONSTRAINT".into())
            });
            if first == "ALTER" && word(toks.get(1)) == "TABLE" && drops_constraint {
                return Verdict::CleanDrop(sql);
            }
        }
        Verdict::Run {
            phase: phase(&toks),
            sql,
        }
    }

    /// Judges a psql meta-command; Err is the refusal. Only pg_dump's `\restrict KEY`
    /// (once, first) and the matching `\unrestrict KEY` pass, and kronic ignores both.
    pub fn meta(&mut self, text: &str, inside: bool) -> Result<(), String> {
        let mut parts = text.split_whitespace();
        let name = parts.next().unwrap_or("\\");
        let key = parts.next();
        let ok = !inside
            && parts.next().is_none()
            && match (name, key) {
                ("\\restrict", Some(k)) if self.restrict_key.is_none() => {
                    self.restrict_key = Some(k.to_string());
                    true
                }
                ("\\unrestrict", Some(k)) => self.restrict_key.as_deref() == Some(k),
                _ => false,
            };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "psql meta-command \"{}\": a backup is data, and kronic runs no psql commands from it",
                excerpt(text)
            ))
        }
    }

    /// At the end of the input: nothing may be left open.
    pub fn finish(&self) -> Result<(), String> {
        if self.large_objects {
            return Err("the large-object section has no COMMIT (truncated?)".into());
        }
        Ok(())
    }
}

/// Settings kronic sets for its own session, which a dump must not undo: the lock
/// timeout that keeps a restore from queueing behind the application (75 within
/// --lock-wait instead).
const KRONIC_TIMEOUTS: &[&str] = &["LOCK_TIMEOUT"];

/// `SET [SESSION|LOCAL] name …`: the setting's name (upper-case, quotes removed) and
/// the index of its token.
fn setting_name(toks: &[Tok]) -> Option<(String, usize)> {
    let mut i = 1;
    if matches!(word(toks.get(i)), "SESSION" | "LOCAL") {
        i += 1;
    }
    let name = match toks.get(i)? {
        Tok::Word(n) => n.clone(),
        Tok::Quoted(n) => n.to_ascii_uppercase(),
        _ => return None,
    };
    Some((name, i))
}

/// Statements whose expressions are stored, not evaluated, when the dump runs: function
/// bodies, plain views, rules, policies, triggers (their functions are bodies too) and
/// comments. Everything else may evaluate what it contains (a CHECK or default during
/// COPY, an index expression over the rows, CREATE TABLE AS, a materialized view).
fn stores_expressions(toks: &[Tok]) -> bool {
    let w = |i: usize| word(toks.get(i));
    let mut i = 1;
    if w(1) == "OR" && w(2) == "REPLACE" {
        i = 3;
    }
    match w(0) {
        "COMMENT" => true,
        "CREATE" => {
            matches!(
                w(i),
                "FUNCTION"
                    | "PROCEDURE"
                    | "VIEW"
                    | "RULE"
                    | "POLICY"
                    | "TRIGGER"
                    | "AGGREGATE"
                    | "OPERATOR"
                    | "RECURSIVE"
            ) || (matches!(w(i), "TEMP" | "TEMPORARY") && w(i + 1) == "VIEW")
        }
        _ => false,
    }
}

/// The name of the function a token calls, if it is a function name followed by `(`:
/// quoted names unquoted, upper-case.
fn called(toks: &[Tok], i: usize) -> Option<String> {
    if toks.get(i + 1) != Some(&Tok::Punct('(')) {
        return None;
    }
    match &toks[i] {
        Tok::Word(w) => Some(w.clone()),
        Tok::Quoted(q) => Some(q.to_ascii_uppercase()),
        _ => None,
    }
}

/// Why a statement would act outside the database or as someone else, if it would.
fn outside_the_database(toks: &[Tok]) -> Option<&'static str> {
    let w = |i: usize| word(toks.get(i));
    let first = w(0);
    if first == "ALTER" && w(1) == "SYSTEM" {
        return Some("ALTER SYSTEM changes the server's configuration");
    }
    if matches!(first, "CREATE" | "ALTER" | "DROP")
        && CLUSTER_OBJECTS.contains(&w(1))
        && !(w(1) == "USER" && w(2) == "MAPPING")
    {
        return Some("roles, databases, tablespaces and subscriptions live outside the database");
    }
    if first == "SET" {
        let (name, i) = setting_name(toks).unwrap_or_default();
        if matches!(
            name.as_str(),
            "ROLE" | "AUTHORIZATION" | "SESSION_AUTHORIZATION"
        ) {
            return Some("a backup must not switch roles");
        }
        let value = toks.iter().skip(i + 1).find_map(|t| match t {
            Tok::Word(v) => Some(v.clone()),
            Tok::Str(v) | Tok::Quoted(v) => Some(v.to_ascii_uppercase()),
            Tok::Num => Some("0".into()),
            Tok::Punct(_) => None,
        });
        let value = value.unwrap_or_default();
        if name == "STANDARD_CONFORMING_STRINGS" && !matches!(value.as_str(), "ON" | "TRUE") {
            return Some(
                "kronic reads dumps with standard_conforming_strings on, as pg_dump writes them",
            );
        }
        if name == "BACKSLASH_QUOTE" {
            return Some("it changes how the server reads quoted strings (pg_dump never sets it)");
        }
        if name == "CLIENT_ENCODING" && !matches!(value.as_str(), "UTF8" | "UTF-8" | "UNICODE") {
            return Some("kronic restores UTF8 dumps only (convert the file with iconv first)");
        }
    }
    if matches!(first, "GRANT" | "REVOKE") && !toks.iter().any(|t| *t == Tok::Word("ON".into())) {
        return Some("granting roles changes cluster-wide role membership");
    }
    // Function bodies, view, rule and policy definitions are stored, not run: every
    // other statement is judged by the functions it calls, by their names unquoted.
    if stores_expressions(toks) {
        return None;
    }
    for i in 0..toks.len() {
        let Some(name) = called(toks, i) else {
            continue;
        };
        if FUNCTIONS.contains(&name.as_str()) {
            return Some("it calls a function that reaches outside the database");
        }
        if name == "SET_CONFIG"
            && !matches!(toks.get(i + 2), Some(Tok::Str(s)) if s == "search_path")
        {
            return Some("set_config is allowed for search_path only");
        }
    }
    None
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

/// The table a statement changes or creates, lower-case as the catalog names an
/// unquoted name: `CREATE TABLE x`, `ALTER TABLE [ONLY] x`, `CREATE INDEX … ON x`,
/// `SELECT … INTO x`. Schema-qualified names keep their schema.
pub fn target_table(sql: &str) -> Option<String> {
    let toks = tokens(sql);
    let w = |i: usize| word(toks.get(i));
    let name_at = |mut i: usize| -> Option<String> {
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
    };
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

/// `CREATE EXTENSION [IF NOT EXISTS] name …`, `DROP EXTENSION [IF EXISTS] name …` and
/// `COMMENT ON EXTENSION name IS …`, as pg_dump writes them (one extension each).
fn extension(toks: &[Tok]) -> Option<(ExtensionAction, String)> {
    let w = |i: usize| word(toks.get(i));
    let (action, mut at) = match (w(0), w(1), w(2)) {
        ("CREATE", "EXTENSION", _) => (ExtensionAction::Create, 2),
        ("DROP", "EXTENSION", _) => (ExtensionAction::Drop, 2),
        ("COMMENT", "ON", "EXTENSION") => (ExtensionAction::Comment, 3),
        _ => return None,
    };
    if w(at) == "IF" {
        at += if w(at + 1) == "NOT" { 3 } else { 2 };
    }
    let name = match toks.get(at)? {
        Tok::Word(n) => n.to_ascii_lowercase(),
        Tok::Quoted(n) => n.clone(),
        _ => return None,
    };
    Some((action, name))
}

/// `COPY name[.name] [(columns)] FROM stdin;`: the table, or None for any other COPY.
fn copy_from_stdin(toks: &[Tok]) -> Option<String> {
    let mut i = 1;
    let mut table = Vec::new();
    loop {
        match toks.get(i)? {
            Tok::Word(w) => table.push(w.to_ascii_lowercase()),
            Tok::Quoted(q) => table.push(q.clone()),
            _ => return None,
        }
        i += 1;
        if toks.get(i) != Some(&Tok::Punct('.')) {
            break;
        }
        i += 1;
    }
    if toks.get(i) == Some(&Tok::Punct('(')) {
        while toks.get(i)? != &Tok::Punct(')') {
            i += 1;
        }
        i += 1;
    }
    let rest = &toks[i..];
    let tail_ok = rest.len() == 3
        && rest[0] == Tok::Word("FROM".into())
        && rest[1] == Tok::Word("STDIN".into())
        && rest[2] == Tok::Punct(';');
    tail_ok.then(|| table.join("."))
}

/// `SELECT pg_catalog.lo_open|lowrite|lo_close(constants);`, as pg_dump writes large objects.
fn large_object_write(toks: &[Tok]) -> bool {
    let mut i = 1;
    if word(toks.get(1)) == "PG_CATALOG" && toks.get(2) == Some(&Tok::Punct('.')) {
        i = 3;
    }
    if word(toks.first()) != "SELECT"
        || !matches!(word(toks.get(i)), "LO_OPEN" | "LOWRITE" | "LO_CLOSE")
        || toks.get(i + 1) != Some(&Tok::Punct('('))
    {
        return false;
    }
    let args = &toks[i + 2..];
    let n = args.len();
    n >= 2
        && args[n - 2] == Tok::Punct(')')
        && args[n - 1] == Tok::Punct(';')
        && args[..n - 2]
            .iter()
            .all(|t| matches!(t, Tok::Str(_) | Tok::Num | Tok::Punct(',')))
}

/// A step of the restore worth naming: index builds and constraints.
fn phase(toks: &[Tok]) -> Option<String> {
    created(toks).map(|(kind, name)| format!("{kind} {name}"))
}

/// The index or constraint a statement creates, named as the catalog names it (quotes
/// read by the reader's rules: `"Order Items_pkey"` is one name).
fn created(toks: &[Tok]) -> Option<(&'static str, String)> {
    let name = |t: Option<&Tok>| match t {
        Some(Tok::Word(w)) => Some(w.to_ascii_lowercase()),
        Some(Tok::Quoted(q)) => Some(q.clone()),
        _ => None,
    };
    let w = |i: usize| word(toks.get(i));
    match (w(0), w(1), w(2)) {
        ("CREATE", "INDEX", _) | ("CREATE", "UNIQUE", "INDEX") => {
            let on = toks.iter().position(|t| *t == Tok::Word("ON".into()))?;
            Some(("index", name(toks.get(on.checked_sub(1)?))?))
        }
        ("ALTER", "TABLE", _) | ("ADD", "CONSTRAINT", _) => {
            let at = toks.windows(2).position(|p| {
                p[0] == Tok::Word("ADD".into()) && p[1] == Tok::Word("CONSTRAINT".into())
            })?;
            Some(("constraint", name(toks.get(at + 2))?))
        }
        _ => None,
    }
}

/// `created` for one line of SQL (the manifest's statistics read a dump line by line).
pub fn created_object(sql: &str) -> Option<(&'static str, String)> {
    created(&tokens(sql))
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
