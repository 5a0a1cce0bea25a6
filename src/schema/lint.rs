//! Linting migrations with squawk's rules (the `squawk-linter` crate, the library behind
//! the squawk CLI): which rules apply to a runner that sets `lock_timeout` itself, how
//! bad each finding is, the safe pattern to suggest, and waivers (`-- kronic:allow RULE
//! REASON` above a statement; squawk's own `-- squawk-ignore RULE` is honoured by
//! squawk). kronic writes no rules of its own: it only chooses among squawk's.

use serde::Serialize;
use squawk_linter::{Linter, Rule, Version};
use squawk_syntax::{SourceFile, SyntaxKind, ast::AstNode};

/// The rule `migrate plan` reports under (waivable like squawk's).
pub const BLOCKING_REWRITE: &str = "blocking-rewrite";
/// Findings about waivers themselves, and files squawk cannot parse.
pub const WAIVER: &str = "waiver";
pub const SYNTAX_ERROR: &str = "syntax-error";
/// A file kronic does not lint (too big, or squawk failed on it): a warning.
pub const NOT_LINTED: &str = "not-linted";

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

/// Runs `f` on a thread with squawk's stack (reserved, not used, until needed).
fn with_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    std::thread::Builder::new()
        .name("squawk".into())
        .stack_size(STACK)
        .spawn(f)
        .ok()?
        .join()
        .ok()
}

/// Lints one migration. `file` names it in findings; `no_transaction` says kronic runs
/// it outside a transaction (`-- kronic:no-transaction`), as squawk must then assume.
pub fn lint(file: &str, text: &str, no_transaction: bool, pg_major: u32) -> Vec<Finding> {
    let unlinted = |message: String| Finding {
        file: file.into(),
        line: 1,
        column: 1,
        rule: NOT_LINTED.into(),
        severity: Severity::Warning,
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
    let (file_owned, text_owned) = (file.to_string(), text.to_string());
    with_stack(move || lint_here(&file_owned, &text_owned, no_transaction, pg_major))
        .unwrap_or_else(|| vec![unlinted("not linted: squawk failed on this file".into())])
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
    findings.sort_by_key(|f| (f.line, f.column));
    findings
}

/// The statements of a migration, as squawk's parser splits them: (line, SQL). A file
/// squawk cannot parse is one statement, run as written.
pub fn statements(text: &str) -> Vec<(usize, String)> {
    let whole = || vec![(1, text.to_string())];
    if text.len() > MAX_LINTED {
        return whole();
    }
    let owned = text.to_string();
    with_stack(move || statements_here(&owned)).unwrap_or_else(whole)
}

fn statements_here(text: &str) -> Vec<(usize, String)> {
    let parse = SourceFile::parse(text);
    let lines = Lines::new(text);
    let stmts: Vec<_> = parse.tree().stmts().collect();
    if !parse.errors().is_empty() || stmts.is_empty() {
        return vec![(1, text.to_string())];
    }
    stmts
        .iter()
        .map(|s| {
            let range = s.syntax().text_range();
            let start = usize::from(range.start());
            (
                lines.at(start).0,
                text[start..usize::from(range.end())].to_string(),
            )
        })
        .collect()
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

/// Whether `text` names something in `schema` explicitly (`public.users`): such a
/// statement would act on the live table, not on `migrate plan`'s copy.
pub fn names_schema(text: &str, schema: &str) -> bool {
    // Too big to parse: assume the worst (plan refuses, naming the file).
    if text.len() > MAX_LINTED {
        return text.contains(&format!("{schema}."));
    }
    let (owned, schema) = (text.to_string(), schema.to_string());
    with_stack(move || names_schema_here(&owned, &schema)).unwrap_or(true)
}

fn names_schema_here(text: &str, schema: &str) -> bool {
    let parse = SourceFile::parse(text);
    let tokens: Vec<_> = parse
        .syntax_node()
        .descendants_with_tokens()
        .filter_map(|e| e.into_token())
        .filter(|t| !matches!(t.kind(), SyntaxKind::WHITESPACE | SyntaxKind::COMMENT))
        .collect();
    tokens.windows(2).any(|w| {
        w[1].kind() == SyntaxKind::DOT
            && w[0].text().trim_matches('"').eq_ignore_ascii_case(schema)
            && (w[0].kind() == SyntaxKind::IDENT || w[0].text().starts_with('"'))
    })
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
    fn statements_split_with_their_lines() {
        let s = statements(
            "CREATE TABLE a (x int);\n\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;\n",
        );
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].0, 3);
        assert!(s[1].1.contains("$$ SELECT 1; $$"), "{:?}", s[1].1);
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
        assert_eq!(statements(&big).len(), 1);
    }

    #[test]
    fn explicit_schema_names_are_seen() {
        assert!(names_schema("ALTER TABLE public.users ADD x int", "public"));
        assert!(names_schema(
            "ALTER TABLE \"public\".users ADD x int",
            "public"
        ));
        assert!(!names_schema(
            "ALTER TABLE users ADD x int -- public.users",
            "public"
        ));
        assert!(!names_schema("SELECT 'public.users'", "public"));
    }
}
