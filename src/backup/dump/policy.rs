//! What a backup may contain. A backup file is untrusted input: kronic runs only the
//! kinds of statement pg_dump writes, and refuses what could end its transaction, act
//! outside the database, or act as another role. The README lists the rules and why.

use crate::sql::words::{FUNCTIONS, Tok, excerpt, tokens, word};

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

/// The table a `COPY table [(columns)] FROM stdin;` statement loads, as restore names
/// it; None for any other statement.
pub fn copy_table(sql: &str) -> Option<String> {
    let toks = tokens(sql);
    (word(toks.first()) == "COPY").then(|| copy_from_stdin(&toks))?
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
