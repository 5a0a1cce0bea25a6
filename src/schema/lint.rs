//! Linting migrations with squawk's rules (the `squawk-linter` crate, the library behind
//! the squawk CLI): which rules apply to a runner that sets `lock_timeout` itself, how
//! bad each finding is, the safe pattern to suggest, and waivers (`-- kronic:allow RULE
//! REASON` above a statement; squawk's own `-- squawk-ignore RULE` is honoured by
//! squawk). kronic writes no rules of its own: it only chooses among squawk's.

use serde::Serialize;
use squawk_linter::{Linter, Rule, Version};
use squawk_syntax::{SourceFile, ast::AstNode};

use crate::sql::{self, words};

/// The rule `migrate plan` reports under (waivable like squawk's).
pub const BLOCKING_REWRITE: &str = "blocking-rewrite";
/// Findings about waivers themselves, and files squawk cannot parse.
pub const WAIVER: &str = "waiver";
pub const SYNTAX_ERROR: &str = "syntax-error";
/// A file kronic does not lint (too big, nested too deep, or squawk failed on it): an
/// error, since nothing vouches for it.
pub const NOT_LINTED: &str = "not-linted";
/// A CONCURRENTLY statement in a file kronic runs inside a transaction, where it fails.
pub const CONCURRENTLY_IN_TRANSACTION: &str = "concurrently-in-transaction";

/// The deepest nesting of parentheses kronic hands to squawk, whose parser recurses:
/// real migrations stay far below, and a crafted file is refused at once.
pub const MAX_NESTING: usize = 200;

/// The waiver comment's prefix.
const ALLOW: &str = "kronic:allow";

/// squawk's default rules that kronic's runner makes moot: it sets `lock_timeout` for
/// every migration and retries (the timeouts squawk asks each file to set), and a
/// `statement_timeout` would cut a long backfill short halfway (`migrate plan` measures
/// what a statement does instead).
pub const DROPPED: &[Rule] = &[
    Rule::RequireTimeoutSettings,
    Rule::RequireLockTimeout,
    Rule::RequireStatementTimeout,
];

/// Rules about style, not about the application staying up: warnings.
const WARNINGS: &[Rule] = &[
    Rule::PreferBigintOverInt,
    Rule::PreferBigintOverSmallint,
    Rule::PreferIdentity,
    Rule::PreferTextField,
    Rule::PreferTimestampTz,
    Rule::PreferRobustStmts,
    Rule::BanCharField,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One finding, where it is, and what to write instead.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub rule: String,
    pub severity: Severity,
    pub message: String,
    /// The safe way to do the same thing.
    pub safe: String,
    /// The reason given in a `-- kronic:allow` waiver: the finding stays on record but
    /// fails nothing.
    pub waived: Option<String>,
}

impl Finding {
    /// An error nobody waived: what fails a lint.
    pub fn fails(&self) -> bool {
        self.severity == Severity::Error && self.waived.is_none()
    }
}

/// The rule set kronic lints with, for one file.
fn linter(pg_major: u32, in_transaction: bool) -> Linter {
    let mut linter = Linter::with_rules(&[], DROPPED);
    // Only the major version decides squawk's fast paths.
    linter.settings.pg_version = pg_major.to_string().parse().unwrap_or(Version::default());
    linter.settings.assume_in_transaction = in_transaction;
    linter
}

/// The largest file kronic lints: squawk's parser recurses (a crafted file nests deep
/// enough to exhaust any stack) and some rules are quadratic in a statement's length
/// (a 600 KB expression takes most of a minute, 128 KiB a few seconds). Migrations are far smaller; bigger
/// ones are data loads, left to `migrate plan`.
pub const MAX_LINTED: usize = 128 * 1024;

/// The stack squawk runs on: enough for the deepest nesting a file of MAX_LINTED holds.
const STACK: usize = 512 * 1024 * 1024;

thread_local! {
    /// Set on the thread `with_stack` made: nested calls run in place.
    static ON_STACK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` on a thread with squawk's stack (reserved, not used, until needed), or in
/// place when already on one; None when it panicked.
fn with_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    if ON_STACK.with(std::cell::Cell::get) {
        return std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).ok();
    }
    std::thread::Builder::new()
        .name("squawk".into())
        .stack_size(STACK)
        .spawn(move || {
            ON_STACK.with(|s| s.set(true));
            f()
        })
        .ok()?
        .join()
        .ok()
}

/// Lints many files on one thread with squawk's stack (a thread per file costs more
/// than linting a small migration).
pub fn lint_many(files: Vec<(String, String, bool)>, pg_major: u32) -> Vec<Finding> {
    let fallback = files.clone();
    with_stack(move || {
        files
            .iter()
            .flat_map(|(file, text, nt)| lint(file, text, *nt, pg_major))
            .collect()
    })
    .unwrap_or_else(|| {
        fallback
            .iter()
            .flat_map(|(file, text, nt)| lint(file, text, *nt, pg_major))
            .collect()
    })
}

/// Lints one migration. `file` names it in findings; `no_transaction` says kronic runs
/// it outside a transaction (`-- kronic:no-transaction`), as squawk must then assume.
pub fn lint(file: &str, text: &str, no_transaction: bool, pg_major: u32) -> Vec<Finding> {
    let unlinted = |message: String| Finding {
        file: file.into(),
        line: 1,
        column: 1,
        rule: NOT_LINTED.into(),
        severity: Severity::Error,
        message,
        safe: "kronic migrate plan still measures what it does".into(),
        waived: None,
    };
    if text.len() > MAX_LINTED {
        return vec![unlinted(format!(
            "not linted: {} KiB is more than kronic lints ({} KiB)",
            text.len() / 1024,
            MAX_LINTED / 1024
        ))];
    }
    // The statements as kronic runs them (psql's rules), to bound the nesting before
    // squawk's parser sees it; a file they cannot split goes to squawk, which says why.
    let statements = sql::statements(text).unwrap_or_default();
    if let Some(deepest) = statements.iter().map(|(_, s)| words::nesting(s)).max()
        && deepest > MAX_NESTING
    {
        return vec![unlinted(format!(
            "not linted: parentheses nest {deepest} deep, more than kronic lints ({MAX_NESTING})"
        ))];
    }
    let (file_owned, text_owned) = (file.to_string(), text.to_string());
    let mut findings =
        with_stack(move || lint_here(&file_owned, &text_owned, no_transaction, pg_major))
            .unwrap_or_else(|| vec![unlinted("not linted: squawk failed on this file".into())]);
    runner_findings(file, &statements, no_transaction, &mut findings);
    findings.sort_by_key(|f| (f.line, f.column));
    findings
}

/// What follows from how kronic runs a file, beside squawk's rules: a CONCURRENTLY
/// statement fails inside the transaction kronic runs an ordinary file in; and tables
/// the file itself creates with `CREATE TABLE … AS` or `SELECT … INTO` are new and
/// empty (squawk 2.68 does not know that of them), so findings about locking them are
/// dropped, but for foreign keys, which lock the live table they reference.
fn runner_findings(
    file: &str,
    statements: &[(u64, String)],
    no_transaction: bool,
    findings: &mut Vec<Finding>,
) {
    if !no_transaction {
        for (line, sql) in statements {
            let upper = sql.to_ascii_uppercase();
            let kind = words::statement_kind(sql);
            if matches!(kind.as_str(), "CREATE" | "DROP" | "REINDEX" | "REFRESH")
                && upper.split_whitespace().any(|w| w == "CONCURRENTLY")
                && !findings.iter().any(|f| {
                    f.line == *line as usize
                        && f.rule.contains("concurrent")
                        && f.rule.contains("transaction")
                })
            {
                findings.push(Finding {
                    file: file.into(),
                    line: *line as usize,
                    column: 1,
                    rule: CONCURRENTLY_IN_TRANSACTION.into(),
                    severity: Severity::Error,
                    message: "CONCURRENTLY cannot run inside a transaction block, and kronic runs this file in one: migrate up would fail here".into(),
                    safe: format!("put the statement alone in a migration whose first line is {}", crate::schema::migrations::NO_TRANSACTION),
                    waived: None,
                });
            }
        }
    }
    let mut created = Vec::new();
    let mut at_line = Vec::new();
    for (line, sql) in statements {
        let target = words::target_table(sql);
        let kind = words::statement_kind(sql);
        let makes = (kind == "CREATE" && sql.to_ascii_uppercase().contains(" AS "))
            || (kind == "SELECT" && target.is_some());
        if makes && let Some(t) = &target {
            created.push(t.clone());
        }
        at_line.push((*line as usize, target));
    }
    if created.is_empty() {
        return;
    }
    findings.retain(|f| {
        if f.severity != Severity::Error
            || f.rule == "adding-foreign-key-constraint"
            || f.rule == WAIVER
            || f.rule == SYNTAX_ERROR
        {
            return true;
        }
        let target = at_line
            .iter()
            .rev()
            .find(|(l, _)| *l <= f.line)
            .and_then(|(_, t)| t.as_ref());
        !target.is_some_and(|t| created.contains(t))
    });
}

fn lint_here(file: &str, text: &str, no_transaction: bool, pg_major: u32) -> Vec<Finding> {
    let parse = SourceFile::parse(text);
    let lines = Lines::new(text);
    let mut findings = Vec::new();
    for e in parse.errors() {
        let (line, column) = lines.at(usize::from(e.range().start()));
        findings.push(Finding {
            file: file.into(),
            line,
            column,
            rule: SYNTAX_ERROR.into(),
            severity: Severity::Error,
            message: format!("squawk cannot parse this: {}", e.message()),
            safe: "check the statement with psql; waive with `-- kronic:allow syntax-error REASON` if PostgreSQL accepts it".into(),
            waived: None,
        });
    }
    let mut linter = linter(pg_major, !no_transaction);
    for v in linter.lint(&parse, text) {
        let (line, column) = lines.at(usize::from(v.text_range.start()));
        let severity = match WARNINGS.contains(&v.code) {
            true => Severity::Warning,
            false => Severity::Error,
        };
        findings.push(Finding {
            file: file.into(),
            line,
            column,
            rule: v.code.to_string(),
            severity,
            message: v.message.clone(),
            safe: safe_pattern(v.code)
                .map(str::to_string)
                .or(v.help.clone())
                .unwrap_or_default(),
            waived: None,
        });
    }
    let waivers = Waivers::read(file, text, &statement_starts(text));
    waivers.apply(&mut findings);
    findings.extend(waivers.problems);
    findings
}

/// Where each statement starts: (byte offset, line).
fn statement_starts(text: &str) -> Vec<(usize, usize)> {
    let lines = Lines::new(text);
    SourceFile::parse(text)
        .tree()
        .stmts()
        .map(|s| {
            let start = usize::from(s.syntax().text_range().start());
            (start, lines.at(start).0)
        })
        .collect()
}

/// What to write instead, for the rules about locks, rewrites and running releases.
pub fn safe_pattern(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::RequireConcurrentIndexCreation => {
            "CREATE INDEX CONCURRENTLY, alone in a migration whose first line is -- kronic:no-transaction"
        }
        Rule::RequireConcurrentIndexDeletion => {
            "DROP INDEX CONCURRENTLY, alone in a -- kronic:no-transaction migration"
        }
        Rule::BanConcurrentIndexCreationInTransaction => {
            "move it to its own migration whose first line is -- kronic:no-transaction"
        }
        Rule::ConstraintMissingNotValid => {
            "ADD CONSTRAINT ... NOT VALID here; VALIDATE CONSTRAINT in a later migration (it locks only SHARE UPDATE EXCLUSIVE)"
        }
        Rule::AddingForeignKeyConstraint => {
            "ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID here; VALIDATE CONSTRAINT in a later migration"
        }
        Rule::ChangingColumnType => {
            "add a new column of the new type, backfill it in batches, switch the application over, drop the old column later"
        }
        Rule::AddingFieldWithDefault => {
            "ADD COLUMN without the volatile default (a constant default is instant on PostgreSQL 11+), then backfill in batches"
        }
        Rule::AddingNotNullableField => {
            "ADD CONSTRAINT ... CHECK (col IS NOT NULL) NOT VALID; VALIDATE CONSTRAINT in a later migration; then SET NOT NULL (PostgreSQL 12+ skips the scan) and drop the check"
        }
        Rule::AddingRequiredField => {
            "add the column nullable (or with a constant default), backfill, then the NOT NULL steps"
        }
        Rule::AddingSerialPrimaryKeyField => {
            "CREATE UNIQUE INDEX CONCURRENTLY (no-transaction migration), then ADD CONSTRAINT ... PRIMARY KEY USING INDEX"
        }
        Rule::DisallowedUniqueConstraint => {
            "CREATE UNIQUE INDEX CONCURRENTLY (no-transaction migration), then ADD CONSTRAINT ... UNIQUE USING INDEX"
        }
        Rule::RenamingColumn | Rule::RenamingTable | Rule::RenamingObject => {
            "add the new name beside the old one, move the application over, remove the old name in a later release"
        }
        Rule::BanDropColumn | Rule::BanDropTable => {
            "stop using it in one release, drop it in a later one (take a backup first: kronic migrate up --backup)"
        }
        Rule::TransactionNesting | Rule::BanUncommittedTransaction => {
            "remove BEGIN/COMMIT: kronic runs each migration in one transaction (or none, with -- kronic:no-transaction)"
        }
        Rule::PreferRobustStmts => {
            "IF NOT EXISTS / IF EXISTS, so that a no-transaction migration can be run again after a failure"
        }
        Rule::RequireConcurrentReindex => "REINDEX ... CONCURRENTLY in a no-transaction migration",
        Rule::RequireConcurrentPartitionDetach => {
            "DETACH PARTITION ... CONCURRENTLY in a no-transaction migration"
        }
        _ => return None,
    })
}

/// `-- kronic:allow RULE REASON` comments, each waiving RULE for the statement right
/// below it (only comment lines between them).
struct Waivers {
    /// (statement's first line, rule, reason).
    granted: Vec<(usize, String, String)>,
    /// Every statement's first line.
    starts: Vec<usize>,
    /// Waivers that are findings themselves: no reason, an unknown rule, nothing below.
    problems: Vec<Finding>,
}

impl Waivers {
    fn read(file: &str, text: &str, starts: &[(usize, usize)]) -> Waivers {
        let lines: Vec<&str> = text.lines().collect();
        let mut w = Waivers {
            granted: Vec::new(),
            starts: starts.iter().map(|(_, line)| *line).collect(),
            problems: Vec::new(),
        };
        for (i, raw) in lines.iter().enumerate() {
            let Some(body) = raw.trim_start().strip_prefix("--") else {
                continue;
            };
            let Some(rest) = body.trim_start().strip_prefix(ALLOW) else {
                continue;
            };
            let mut parts = rest.trim().splitn(2, char::is_whitespace);
            let rule = parts.next().unwrap_or("").to_string();
            let reason = parts.next().unwrap_or("").trim().to_string();
            let problem = |message: String| Finding {
                file: file.into(),
                line: i + 1,
                column: 1,
                rule: WAIVER.into(),
                severity: Severity::Error,
                message,
                safe: format!("-- {ALLOW} RULE REASON, on the line above the statement"),
                waived: None,
            };
            if !known_rule(&rule) {
                w.problems.push(problem(format!(
                    "{ALLOW} names no rule kronic knows: {rule:?}"
                )));
                continue;
            }
            if reason.is_empty() {
                w.problems.push(problem(format!(
                    "{ALLOW} {rule} gives no reason: say why this is safe here"
                )));
                continue;
            }
            // The statement it waives: the next line that is not a comment or blank.
            let target = lines[i + 1..]
                .iter()
                .position(|l| {
                    let t = l.trim();
                    !t.is_empty() && !t.starts_with("--")
                })
                .map(|p| i + 1 + p + 1);
            match target.filter(|t| starts.iter().any(|(_, line)| line == t)) {
                Some(line) => w.granted.push((line, rule, reason)),
                None => w
                    .problems
                    .push(problem(format!("{ALLOW} {rule} is above no statement"))),
            }
        }
        w
    }

    /// Marks the findings a waiver covers: those of the statement it is above.
    fn apply(&self, findings: &mut [Finding]) {
        for f in findings.iter_mut() {
            let statement = self.starts.iter().filter(|l| **l <= f.line).max();
            if let Some(line) = statement
                && let Some(reason) = self.reason_for(&f.rule, *line)
            {
                f.waived = Some(reason.to_string());
            }
        }
    }

    /// The reason of the waiver for `rule` on the statement starting at `line`.
    fn reason_for(&self, rule: &str, line: usize) -> Option<&str> {
        self.granted
            .iter()
            .find(|(l, r, _)| *l == line && r == rule)
            .map(|(_, _, reason)| reason.as_str())
    }
}

/// The waiver granted for `rule` on the statement starting at `line`, if any.
pub fn waiver(text: &str, rule: &str, line: usize) -> Option<String> {
    if text.len() > MAX_LINTED {
        return None;
    }
    let (text, rule) = (text.to_string(), rule.to_string());
    with_stack(move || {
        Waivers::read("", &text, &statement_starts(&text))
            .reason_for(&rule, line)
            .map(str::to_string)
    })
    .flatten()
}

fn known_rule(name: &str) -> bool {
    name == BLOCKING_REWRITE || name == SYNTAX_ERROR || name.parse::<Rule>().is_ok()
}

/// Byte offset → (line, column), both from 1.
struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Lines<'a> {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines { text, starts }
    }

    fn at(&self, offset: usize) -> (usize, usize) {
        let line = self.starts.partition_point(|s| *s <= offset);
        let start = self.starts[line - 1];
        let column = self
            .text
            .get(start..offset)
            .map_or(1, |s| s.chars().count() + 1);
        (line, column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Vec<(usize, String, bool)> {
        lint("m.sql", text, false, 15)
            .into_iter()
            .map(|f| (f.line, f.rule, f.waived.is_some()))
            .collect()
    }

    #[test]
    fn the_outage_examples_are_errors_with_their_line() {
        let f = lint(
            "m.sql",
            "-- a\nCREATE INDEX i ON t (a);\nALTER TABLE t ALTER COLUMN a TYPE bigint;\n",
            false,
            15,
        );
        assert_eq!(f[0].rule, "require-concurrent-index-creation");
        assert_eq!((f[0].line, f[0].column), (2, 1));
        assert_eq!(f[0].severity, Severity::Error);
        assert!(f[0].safe.contains("CONCURRENTLY"));
        assert!(
            f.iter()
                .any(|f| f.rule == "changing-column-type" && f.line == 3)
        );
    }

    #[test]
    fn timeouts_are_not_asked_for() {
        let f = rules("ALTER TABLE t ADD COLUMN b text;\n");
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn waivers_need_a_known_rule_and_a_reason() {
        let f = rules(
            "-- kronic:allow require-concurrent-index-creation t has 10 rows\nCREATE INDEX i ON t (a);\n",
        );
        assert_eq!(
            f,
            vec![(2, "require-concurrent-index-creation".into(), true)]
        );
        let f =
            rules("-- kronic:allow require-concurrent-index-creation\nCREATE INDEX i ON t (a);\n");
        assert!(f.contains(&(1, WAIVER.into(), false)), "{f:?}");
        assert!(f.contains(&(2, "require-concurrent-index-creation".into(), false)));
        let f = rules(
            "-- kronic:allow require-concurent-index-creation typo\nCREATE INDEX i ON t (a);\n",
        );
        assert!(f.contains(&(1, WAIVER.into(), false)), "{f:?}");
        // A waiver covers only the statement right below it.
        let f = rules(
            "-- kronic:allow require-concurrent-index-creation small\nCREATE INDEX i ON t (a);\nCREATE INDEX j ON t (b);\n",
        );
        assert!(
            f.contains(&(3, "require-concurrent-index-creation".into(), false)),
            "{f:?}"
        );
    }

    #[test]
    fn squawk_ignore_comments_are_honoured() {
        let f =
            rules("-- squawk-ignore require-concurrent-index-creation\nCREATE INDEX i ON t (a);\n");
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn crafted_files_neither_overflow_nor_hang() {
        let deep = format!("SELECT {}true;", "NOT ".repeat(15_000));
        assert!(deep.len() < MAX_LINTED);
        let f = lint("deep.sql", &deep, false, 15);
        assert!(f.iter().all(|f| !f.fails()), "{f:?}");
        let big = format!("SELECT {};", vec!["1"; 200_000].join("+"));
        let f = lint("big.sql", &big, false, 15);
        assert_eq!(f[0].rule, NOT_LINTED);
        // Not linted is an error: nothing vouches for the file.
        assert!(f[0].fails());
        // Parentheses nested past the bound are refused at once, before squawk.
        let nested = format!("SELECT {}1{};", "(".repeat(50_000), ")".repeat(50_000));
        let started = std::time::Instant::now();
        let f = lint("nested.sql", &nested, false, 15);
        assert!(started.elapsed() < std::time::Duration::from_millis(500));
        assert_eq!(f[0].rule, NOT_LINTED);
        assert!(f[0].message.contains("50000 deep"), "{f:?}");
    }

    #[test]
    fn concurrently_in_a_transaction_is_an_error() {
        let f = rules("CREATE INDEX CONCURRENTLY i ON t (a);\n");
        assert!(
            f.contains(&(1, CONCURRENTLY_IN_TRANSACTION.into(), false)),
            "{f:?}"
        );
        let f = lint(
            "m.sql",
            "-- kronic:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);\n",
            true,
            15,
        );
        assert!(f.iter().all(|f| !f.fails()), "{f:?}");
    }

    #[test]
    fn tables_the_file_creates_as_select_are_new() {
        let f = rules(
            "CREATE TABLE copy AS SELECT * FROM t;\nCREATE INDEX copy_a ON copy (a);\n\
             ALTER TABLE copy ADD CONSTRAINT copy_t FOREIGN KEY (a) REFERENCES t (a);\n",
        );
        assert!(
            !f.iter()
                .any(|(_, r, _)| r == "require-concurrent-index-creation"),
            "{f:?}"
        );
        // The foreign key still locks the live table it references.
        assert!(
            f.iter()
                .any(|(l, r, _)| *l == 3 && r == "adding-foreign-key-constraint"),
            "{f:?}"
        );
        // A live table is still linted.
        assert!(!rules("CREATE INDEX t_a ON t (a);\n").is_empty());
    }
}
