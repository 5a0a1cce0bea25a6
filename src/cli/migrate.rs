//! `kronic migrate`'s arguments.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::common::{LockArgs, WaitArg};

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Load migrations from this folder instead of the ones built into kronic
    /// [env: KRONIC_MIGRATIONS_DIR].
    #[arg(long, global = true, value_name = "DIR")]
    pub migrations: Option<PathBuf>,

    #[command(flatten)]
    pub locks: LockArgs,

    #[command(flatten)]
    pub wait: WaitArg,

    #[command(subcommand)]
    pub command: MigrateCommand,
}

#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// Apply pending migrations (all, or up to --target), each in its own transaction.
    #[command(
        after_help = "Examples:\n  kronic migrate up\n  kronic migrate up --target 3 --dry-run"
    )]
    Up {
        /// Stop after this version.
        #[arg(long, value_name = "VERSION")]
        target: Option<u32>,
        /// Print the SQL that would run, in order, and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// First take a verified backup (the normal one, into the backup folder); if a
        /// migration then fails, the error names the command that restores it.
        #[arg(long, conflicts_with = "dry_run")]
        backup: bool,
        /// Lint the pending migrations first: deny stops before anything runs when a
        /// finding is an error, warn prints them (and asks, on a terminal), off skips
        /// linting [default: warn on a terminal, deny otherwise].
        #[arg(long, value_enum, value_name = "MODE", hide_possible_values = true)]
        lint: Option<LintMode>,
    },

    /// Lint migrations with squawk's rules: the pending ones, the named files, or --all.
    ///
    /// Rules are set for the server's major version (read from the server, or
    /// --pg-version), with one transaction per migration (none for -- kronic:no-transaction
    /// files). Waive a finding with `-- kronic:allow RULE REASON` (or squawk's
    /// `-- squawk-ignore RULE`) on the line above the statement. Exit 4 when a finding is
    /// an error.
    #[command(
        after_help = "Examples:\n  kronic migrate lint\n  kronic migrate lint --all --pg-version 16 --format github\n  kronic migrate lint migrations/V7__index_orders.sql"
    )]
    Lint {
        /// Migration files to lint instead of the pending ones.
        #[arg(value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Lint every migration, applied ones included.
        #[arg(long, conflicts_with = "files")]
        all: bool,
        /// The server's major version (15, 16, …), instead of asking the server.
        #[arg(long, value_name = "MAJOR", value_parser = parse_pg_version)]
        pg_version: Option<u32>,
        /// text, json, github (workflow commands: annotations on the pull request) or
        /// gitlab (code-quality JSON).
        #[arg(
            long,
            value_enum,
            default_value = "text",
            value_name = "FORMAT",
            hide_possible_values = true
        )]
        format: LintFormat,
        /// Same as --format json.
        #[arg(long, conflicts_with = "format")]
        json: bool,
    },

    /// Measure what each pending statement locks and rewrites, on a scratch database.
    ///
    /// Copies the live schema (pg_dump --schema-only, read-only) into a scratch database
    /// kronic_plan_<pid> (the role needs CREATEDB), runs each pending migration there in
    /// its own transaction, and reports per statement the locks it took (pg_locks), the
    /// tables and indexes it rewrote or scanned, the rows it changes, and the size of the
    /// live table; per migration, each table's strongest lock and what runs while it is
    /// held until COMMIT. The live database is only read; a migration that changes roles
    /// or database settings is never committed anywhere; calls that act at once on other
    /// sessions (pg_terminate_backend) are refused. Exit 4 when a statement or a held lock
    /// would block writes over more than --max-rewrite; 65 when a statement fails (with
    /// --json the document still says "failed": true).
    #[command(
        after_help = "Examples:\n  kronic migrate plan\n  kronic migrate plan --json --max-rewrite 1GB"
    )]
    Plan {
        /// Print JSON for CI.
        #[arg(long)]
        json: bool,
        /// The largest table a statement may rewrite or scan while it blocks writes.
        #[arg(long, value_name = "SIZE", default_value = "100MB", value_parser = parse_size)]
        max_rewrite: u64,
    },

    /// Revert the newest N applied migrations (default 1), or down to --target.
    ///
    /// Each down script and the removal of its history row run in one transaction.
    /// Destructive: asks on a terminal, and needs --yes otherwise.
    #[command(
        after_help = "Examples:\n  kronic migrate down --yes\n  kronic migrate down --target 0 --yes   # revert everything"
    )]
    Down {
        /// How many migrations to revert.
        #[arg(value_name = "N", conflicts_with = "target")]
        steps: Option<u32>,
        /// Revert every migration above this version (0 reverts all).
        #[arg(long, value_name = "VERSION")]
        target: Option<u32>,
        /// Print the SQL that would run, in order, and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },

    /// Show the applied version.
    #[command(
        after_help = "Examples:\n  kronic migrate current\n  kronic migrate current --json\n  kronic migrate current --exit-code   # CI gate: exit 1 while migrations are pending"
    )]
    Current {
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
        /// Exit 1 when migrations are pending (for CI gates).
        #[arg(long)]
        exit_code: bool,
    },

    /// List every migration: applied, pending, divergent or missing.
    #[command(
        after_help = "Examples:\n  kronic migrate history\n  kronic migrate history --json | jq '.[] | select(.state == \"pending\")'"
    )]
    History {
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },

    /// Create the next numbered migration and its down script.
    #[command(after_help = "Examples:\n  kronic migrate new \"add users.display_name\"")]
    New {
        /// What the migration does; becomes the file name.
        description: String,
        /// Folder to write into.
        #[arg(long, default_value = "migrations")]
        dir: PathBuf,
    },

    /// Compare the live schema with what the applied migrations build.
    ///
    /// Builds the applied migrations in a throwaway schema inside a transaction that is
    /// rolled back (no CREATEDB needed, nothing left behind) and compares the catalogs:
    /// tables, columns (type, nullability, default, identity or serial), constraints
    /// and indexes by definition, sequences. Exit 0 when they match, 1 when they differ.
    #[command(after_help = "Examples:\n  kronic migrate check\n  kronic migrate check --json")]
    Check {
        /// Print JSON for CI.
        #[arg(long)]
        json: bool,
    },

    /// Record VERSION (and everything below it) as applied without running anything.
    ///
    /// Adopts a database created by the old Alembic toolchain: its tables exist, but
    /// kronic has no history for them.
    #[command(after_help = "Examples:\n  kronic migrate stamp 1")]
    Stamp {
        /// The version the database is already at.
        version: u32,
    },
}

/// `migrate up --lint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LintMode {
    Deny,
    Warn,
    Off,
}

/// `migrate lint --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LintFormat {
    Text,
    Json,
    Github,
    Gitlab,
}

/// A byte size: `100MB`, `2GiB`, `1048576`.
fn parse_size(s: &str) -> Result<u64, String> {
    s.trim()
        .parse::<bytesize::ByteSize>()
        .map(|b| b.as_u64())
        .map_err(|_| format!("{s:?} is not a size (use 100MB, 2GiB or bytes)"))
}

/// A PostgreSQL major version: `16`, or `16.4` (the major is what counts).
fn parse_pg_version(s: &str) -> Result<u32, String> {
    let major = s.split('.').next().unwrap_or("");
    match major.parse::<u32>() {
        Ok(v) if (10..=99).contains(&v) => Ok(v),
        _ => Err(format!(
            "{s:?} is not a PostgreSQL major version (such as 15 or 16)"
        )),
    }
}
