//! The command-line interface: every command's arguments, in one clap tree.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::vars::{self, ENV_VARS};

/// The text after `kronic --help`: the environment and the exit codes.
fn help_footer() -> String {
    let mut s = String::from("Environment:\n");
    for (name, meaning) in ENV_VARS {
        s.push_str(&format!("  {name:<32} {meaning}\n"));
    }
    s.push_str("\nExit codes:\n");
    for (code, meaning) in crate::report::exit::table() {
        s.push_str(&format!("  {code:<4} {meaning}\n"));
    }
    s
}

/// Run a PostgreSQL-backed application's database: migrations, seeding, backups,
/// restores and health checks.
///
/// kronic reads its connection settings from the KRONIC_DATABASE_* environment (or
/// --database-url), checks them before connecting, and exits with a documented code
/// that scripts can act on.
#[derive(Debug, Parser)]
#[command(name = "kronic", version, after_long_help = help_footer(), max_term_width = 100)]
pub struct Cli {
    /// Database URL; overrides KRONIC_DATABASE_URL and the KRONIC_DATABASE_* parts.
    ///
    /// Prefer the environment for URLs with a password: command lines are visible to
    /// other users in `ps`.
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,

    /// The configuration file (VARIABLE=value lines) every command reads; the
    /// environment beats it, flags beat both [env: KRONIC_CONFIG] [default:
    /// /etc/kronic/kronic.env, when it exists].
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// More logging: -v debug, -vv also every SQL statement kronic sends.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Only warnings and errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per run: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply, revert and inspect schema migrations.
    #[command(
        after_help = "Examples:\n  kronic migrate up --wait 30\n  kronic migrate history --json"
    )]
    Migrate(MigrateArgs),

    /// Create the application's roles and the admin user (safe to run again).
    ///
    /// Roles: admin (every permission) and user. The admin user comes from
    /// KRONIC_ADMIN_EMAIL and KRONIC_ADMIN_PASSWORD (or the flags, or
    /// --admin-password-stdin), is active and verified, and has the admin role. The
    /// password is stored as an argon2id hash. Everything happens in one transaction.
    #[command(
        after_help = "Examples:\n  KRONIC_ADMIN_EMAIL=admin@example.com kronic seed --admin-password-stdin < admin.pw"
    )]
    Seed(SeedArgs),

    /// Back up the database into a compressed, atomic, pruned file; list, verify, drill and
    /// prune backups.
    ///
    /// Runs pg_dump (plain SQL, --clean --if-exists --no-owner --no-privileges),
    /// compresses it as it streams (gzip, or zstd), encrypts it when age recipients are
    /// configured, and gives the finished file its name only when pg_dump succeeded and
    /// the dump is complete: kronic_backup_YYYYmmdd_HHMMSS.sql.gz (UTC; .sql.zst, .age
    /// when encrypted), with a manifest next to it. With a remote (s3://), the same bytes
    /// are uploaded in the same pass; exit 3 means the local backup was kept but the
    /// offsite copy failed. After a successful backup, the retention policy prunes (by
    /// default: older than 30 days, never the newest), in the bucket too.
    #[command(
        args_conflicts_with_subcommands = true,
        after_help = "Examples:\n  kronic backup --dir /var/backups/kronic --metrics-file /var/lib/prometheus/node-exporter/kronic_backup.prom\n  kronic backup --remote s3://acme-backups/kronic\n  kronic backup list --remote\n  kronic backup verify --latest"
    )]
    Backup(BackupArgs),

    /// Restore a backup into the database, completely or not at all.
    ///
    /// Accepts gzip, zstd, age-encrypted or plain SQL dumps (told apart by content),
    /// from a file or streamed from s3://BUCKET/PREFIX/NAME. kronic applies it
    /// itself, in a single transaction, running only the statements pg_dump writes: psql
    /// meta-commands, transaction control and anything that reaches outside the database
    /// are refused (exit 65). Any error, a truncated or corrupt file, Ctrl-C or SIGTERM
    /// leaves the database as it was. --latest trusts only a backup folder and file that
    /// no other user can write to.
    #[command(
        after_help = "Examples:\n  kronic restore --latest --yes\n  kronic restore backup.sql.gz --target-db kronic_restored --create --yes\n  kronic restore --remote --latest --yes"
    )]
    Restore(RestoreArgs),

    /// Send the failure notification for a systemd unit that failed (its OnFailure=).
    ///
    /// Pings KRONIC_NOTIFY_URL with URL/fail and the unit's name, for failures kronic
    /// could not report itself (killed, timed out). Without a URL configured, it says so
    /// and exits 0.
    #[command(after_help = "Examples:\n  kronic notify --failed kronic-backup.service")]
    Notify {
        /// The unit that failed (systemd's %i).
        #[arg(long, value_name = "UNIT")]
        failed: String,
    },

    /// Show the effective settings and where each comes from (secrets masked).
    ///
    /// Every variable kronic reads, with its value from the environment or the
    /// configuration file (and the line), or unset; passwords, secret keys and tokens
    /// are shown as ***.
    #[command(after_help = "Examples:\n  kronic config\n  sudo kronic config --json")]
    Config {
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },

    /// Check the database and print the health JSON (or serve it at /healthz).
    ///
    /// Exit codes: 0 healthy, 69 unreachable, 75 timeout or not accepting connections
    /// yet, 77 authentication failed.
    #[command(
        after_help = "Examples:\n  kronic health\n  kronic health --wait 60\n  kronic health --serve 127.0.0.1:8080"
    )]
    Health(HealthArgs),
}

/// Where to report a run's start and end, for a human to hear of failures.
#[derive(Debug, Args)]
pub struct NotifyArg {
    /// Ping this healthchecks.io-style URL: URL/start when the run starts, URL/<exit
    /// code> with the outcome's line when it ends (0 is success) [env:
    /// KRONIC_NOTIFY_URL].
    #[arg(long = "notify", id = "notify", value_name = "URL")]
    pub url: Option<String>,
}

/// How long to wait for the database to accept connections.
#[derive(Debug, Args)]
pub struct WaitArg {
    /// Keep retrying the connection for up to SECS seconds while the server is down or
    /// starting (refused, reset, starting up); authentication errors fail at once.
    #[arg(long, global = true, value_name = "SECS", value_parser = parse_seconds)]
    pub wait: Option<std::time::Duration>,
}

/// How long kronic may wait for locks, so that it never holds the application up.
#[derive(Debug, Args)]
pub struct LockArgs {
    /// Seconds to wait for table locks on each try; then kronic steps back (letting the
    /// application's queries through) and tries again [env: KRONIC_LOCK_TIMEOUT]
    /// [default: 1].
    #[arg(long = "lock-timeout", id = "lock_timeout", global = true, value_name = "SECS", value_parser = parse_seconds)]
    pub per_try: Option<std::time::Duration>,

    /// Seconds kronic may spend waiting for locks in all (table locks, retried; another
    /// kronic's migration; pg_dump's --lock-wait-timeout), then exit 75 with nothing
    /// changed [env: KRONIC_LOCK_WAIT] [default: 60].
    #[arg(long = "lock-wait", id = "lock_wait", global = true, value_name = "SECS", value_parser = parse_seconds)]
    pub budget: Option<std::time::Duration>,
}

impl LockArgs {
    pub fn policy(&self) -> anyhow::Result<crate::config::LockPolicy> {
        crate::config::lock_policy(self.per_try, self.budget)
    }
}

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

    /// Measure what each pending statement locks and rewrites, on a throwaway copy.
    ///
    /// Applies the pending migrations to a copy of the schema inside a transaction that
    /// is rolled back, and reports per statement the locks kronic's backend took
    /// (pg_locks), whether it rewrote a table or index or scanned a table, and the size
    /// of the live table. Never touches or locks the application's tables. Exit 4 when a
    /// statement would block writes while rewriting or scanning more than --max-rewrite.
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

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// The admin user's email address [env: KRONIC_ADMIN_EMAIL].
    #[arg(long, value_name = "EMAIL")]
    pub admin_email: Option<String>,

    /// The admin user's password (at least 12 characters) [env: KRONIC_ADMIN_PASSWORD].
    /// Prefer the environment or --admin-password-stdin: command lines are visible in
    /// `ps`.
    #[arg(long, value_name = "PASSWORD")]
    pub admin_password: Option<String>,

    /// Read the admin password from the first line of standard input (beats
    /// KRONIC_ADMIN_PASSWORD).
    #[arg(long, conflicts_with = "admin_password")]
    pub admin_password_stdin: bool,

    /// Replace an existing admin user's password with the given one.
    #[arg(long)]
    pub reset_admin_password: bool,

    /// Rewrite roles whose permissions differ from kronic's definitions.
    #[arg(long)]
    pub update_roles: bool,

    #[command(flatten)]
    pub wait: WaitArg,
}

#[derive(Debug, Args)]
pub struct BackupDir {
    /// Backup folder [env: KRONIC_BACKUP_DIR] [default: /var/backups/kronic].
    #[arg(long = "dir", id = "dir", value_name = "DIR")]
    pub flag: Option<PathBuf>,
}

impl BackupDir {
    /// The flag, else the variable, else the default.
    pub fn path(&self) -> PathBuf {
        crate::config::backup_dir(self.flag.clone())
    }
}

/// Which backups pruning keeps (restic's `forget` rules; a backup is kept if any rule
/// keeps it, and the newest always is). With no option at all: --keep-within 30d.
#[derive(Debug, Args, Default)]
pub struct Retention {
    /// The same as --keep-within DAYSd; 0 keeps every backup, whatever the other rules
    /// say [env: KRONIC_BACKUP_KEEP_DAYS].
    #[arg(long, value_name = "DAYS", conflicts_with = "keep_within")]
    pub keep_days: Option<u32>,
    /// Keep the N newest backups [env: KRONIC_BACKUP_KEEP_LAST].
    #[arg(long, value_name = "N")]
    pub keep_last: Option<u32>,
    /// Keep the newest backup of each of the last N days (UTC) [env: KRONIC_BACKUP_KEEP_DAILY].
    #[arg(long, value_name = "N")]
    pub keep_daily: Option<u32>,
    /// Keep the newest backup of each of the last N ISO weeks [env: KRONIC_BACKUP_KEEP_WEEKLY].
    #[arg(long, value_name = "N")]
    pub keep_weekly: Option<u32>,
    /// Keep the newest backup of each of the last N months [env: KRONIC_BACKUP_KEEP_MONTHLY].
    #[arg(long, value_name = "N")]
    pub keep_monthly: Option<u32>,
    /// Keep the newest backup of each of the last N years [env: KRONIC_BACKUP_KEEP_YEARLY].
    #[arg(long, value_name = "N")]
    pub keep_yearly: Option<u32>,
    /// Keep every backup within DURATION of the newest backup: 30d, 12h, 1y6m (0 is
    /// refused: see --keep-days 0) [env: KRONIC_BACKUP_KEEP_WITHIN].
    #[arg(long, value_name = "DURATION", value_parser = parse_span)]
    pub keep_within: Option<crate::backup::retention::Span>,
}

impl Retention {
    /// The flags, else their variables (78 naming a bad one), else --keep-within 30d.
    pub fn policy(&self) -> anyhow::Result<crate::backup::retention::Policy> {
        crate::config::retention(&crate::config::RetentionFlags {
            keep_days: self.keep_days,
            keep_last: self.keep_last,
            keep_daily: self.keep_daily,
            keep_weekly: self.keep_weekly,
            keep_monthly: self.keep_monthly,
            keep_yearly: self.keep_yearly,
            keep_within: self.keep_within,
        })
    }
}

/// age recipients: when any is configured, every backup is encrypted.
#[derive(Debug, Args)]
pub struct EncryptArgs {
    /// Encrypt to this age recipient (age1..., or an ssh-ed25519/ssh-rsa public key);
    /// repeatable. With any --recipient or --recipients-file, KRONIC_BACKUP_RECIPIENTS
    /// and KRONIC_BACKUP_RECIPIENTS_FILE are not read.
    #[arg(long = "recipient", value_name = "RECIPIENT")]
    pub recipients: Vec<String>,

    /// Encrypt to the recipients in this file (age's format: one per line, # comments)
    /// [env: KRONIC_BACKUP_RECIPIENTS_FILE].
    #[arg(long, value_name = "FILE")]
    pub recipients_file: Option<PathBuf>,
}

impl EncryptArgs {
    pub fn recipients(&self) -> anyhow::Result<Option<crate::backup::crypt::Recipients>> {
        crate::config::recipients(&self.recipients, self.recipients_file.as_deref())
    }
}

/// age identities (private keys) that can decrypt encrypted backups.
#[derive(Debug, Args)]
pub struct IdentityArgs {
    /// An age identity file (AGE-SECRET-KEY-1... lines) or an unencrypted ssh private key;
    /// repeatable [env: KRONIC_BACKUP_IDENTITY_FILE].
    #[arg(long = "identity", id = "identity", short = 'i', value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

impl IdentityArgs {
    pub fn load(&self) -> anyhow::Result<crate::backup::crypt::Identities> {
        crate::config::identities(&self.files)
    }
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub dir: BackupDir,

    #[command(flatten)]
    pub notify: NotifyArg,

    #[command(flatten)]
    pub keep: Retention,

    /// On success, write Prometheus textfile metrics here (for node_exporter)
    /// [env: KRONIC_BACKUP_METRICS_FILE].
    #[arg(long, value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,

    #[command(flatten)]
    pub locks: LockArgs,

    /// gzip (the default; `gunzip -c FILE | psql` reads it) or zstd (multi-threaded,
    /// much cheaper per byte; `zstd -dc FILE | psql`) [env: KRONIC_BACKUP_COMPRESSION].
    #[arg(long, value_name = "FORMAT", value_parser = compression_values(), hide_possible_values = true)]
    pub compression: Option<crate::backup::pipeline::Compression>,

    /// Compression level: gzip 1-9 [default: 6], zstd 1-19 [default: 3].
    #[arg(long, value_name = "LEVEL")]
    pub compression_level: Option<u32>,

    #[command(flatten)]
    pub encrypt: EncryptArgs,

    /// Also upload every backup, in the same pass, to s3://BUCKET/PREFIX (any
    /// S3-compatible service; credentials and endpoint from the AWS_* variables) [env:
    /// KRONIC_BACKUP_REMOTE].
    #[arg(long, value_name = "URL")]
    pub remote: Option<String>,

    /// Upload only, keeping no file in the backup folder (hosts with little disk).
    #[arg(long)]
    pub remote_only: bool,

    /// Back up a database that has no tables (refused otherwise: exit 65, since a green
    /// backup of nothing hides a missing `migrate up` or the wrong database).
    #[arg(long)]
    pub allow_empty: bool,

    #[command(flatten)]
    pub wait: WaitArg,

    #[command(subcommand)]
    pub action: Option<BackupAction>,
}

/// The offsite copies instead of the folder (list, verify, prune, restore).
#[derive(Debug, Args)]
pub struct RemoteSel {
    /// Work on the offsite copies instead of the backup folder: in s3://BUCKET/PREFIX
    /// when given, else in KRONIC_BACKUP_REMOTE (as `backup --remote URL` uploads).
    #[arg(long, value_name = "URL", num_args = 0..=1, default_missing_value = "")]
    pub remote: Option<String>,

    /// The same as --remote URL (kept for scripts that use it).
    #[arg(long, value_name = "URL", hide = true)]
    pub remote_url: Option<String>,
}

impl RemoteSel {
    /// The remote, with --remote (or --remote-url); None without.
    pub fn load(&self) -> anyhow::Result<Option<crate::backup::remote::Remote>> {
        let url = match (&self.remote, &self.remote_url) {
            (_, Some(url)) => Some(url.clone()),
            (Some(v), None) if v.contains("://") => Some(v.clone()),
            (Some(_), None) => None,
            (None, None) => return Ok(None),
        };
        crate::config::remote(url)?.map(Some).ok_or_else(|| {
            crate::report::exit::fail(
                crate::report::exit::Code::Config,
                "--remote needs KRONIC_BACKUP_REMOTE or --remote s3://BUCKET/PREFIX",
            )
        })
    }

    /// A backup NAME written right after --remote (`restore --remote NAME`): it is the
    /// command's backup, not a URL.
    pub fn name(&self) -> Option<PathBuf> {
        self.remote
            .as_ref()
            .filter(|v| !v.is_empty() && !v.contains("://"))
            .map(PathBuf::from)
    }
}

#[derive(Debug, Subcommand)]
pub enum BackupAction {
    /// List backups, newest first.
    #[command(
        after_help = "Examples:\n  kronic backup list --dir /var/backups/kronic\n  kronic backup list --json"
    )]
    List {
        #[command(flatten)]
        dir: BackupDir,
        #[command(flatten)]
        remote: RemoteSel,
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Check that a backup decompresses completely, holds only what a restore allows, and
    /// ends like a complete pg_dump.
    #[command(
        after_help = "Examples:\n  kronic backup verify --latest\n  kronic backup verify /var/backups/kronic/kronic_backup_20261125_020000.sql.gz"
    )]
    Verify {
        #[command(flatten)]
        dir: BackupDir,
        /// The backup files (each is checked; the failures are named).
        #[arg(conflicts_with = "latest", value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Verify the newest backup in the folder (with --remote: in the bucket).
        #[arg(long)]
        latest: bool,
        #[command(flatten)]
        remote: RemoteSel,
        #[command(flatten)]
        identity: IdentityArgs,
    },
    /// Prove that a backup restores: into a scratch database, checked against its
    /// manifest (rows per table, schema version, indexes and constraints), then dropped.
    ///
    /// Exit 0 only if every check passed; 65 naming the failing check otherwise. The
    /// scratch database is dropped in every outcome, SIGTERM included.
    #[command(
        after_help = "Examples:\n  kronic backup drill\n  kronic backup drill --json --metrics-file /var/lib/prometheus/node-exporter/kronic_drill.prom"
    )]
    Drill(DrillArgs),
    /// Delete backups the retention policy does not keep (never the newest).
    #[command(after_help = "Examples:\n  kronic backup prune --dry-run --keep-days 14")]
    Prune {
        #[command(flatten)]
        dir: BackupDir,
        #[command(flatten)]
        remote: RemoteSel,
        #[command(flatten)]
        keep: Retention,
        /// Print JSON (name, action, reasons) for scripts.
        #[arg(long)]
        json: bool,
        /// Only say what would be deleted.
        #[arg(long)]
        dry_run: bool,
    },
    /// Upload the local backups that the offsite copy lacks (after an outage), oldest
    /// first, each checked; then prune the offsite copies by the retention rules.
    #[command(
        after_help = "Examples:\n  kronic backup sync --dry-run\n  kronic backup sync --remote-url s3://backups/kronic"
    )]
    Sync {
        #[command(flatten)]
        dir: BackupDir,
        /// The offsite location, s3://BUCKET/PREFIX [env: KRONIC_BACKUP_REMOTE].
        #[arg(long = "remote", alias = "remote-url", value_name = "URL")]
        remote_url: Option<String>,
        #[command(flatten)]
        keep: Retention,
        /// Only say what would be uploaded.
        #[arg(long)]
        dry_run: bool,
    },
}

/// `kronic backup drill`.
#[derive(Debug, Args)]
pub struct DrillArgs {
    /// The backup to drill: a file, or s3://BUCKET/PREFIX/NAME (with --remote, a NAME in
    /// the bucket) [default: the newest in the backup folder, or in the bucket].
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub notify: NotifyArg,
    #[command(flatten)]
    pub dir: BackupDir,
    #[command(flatten)]
    pub remote: RemoteSel,
    /// The scratch database the drill creates and drops [default: <dbname>_drill].
    #[arg(long, value_name = "NAME")]
    pub scratch_db: Option<String>,
    /// Drop and reuse an existing scratch database that kronic did not create.
    #[arg(long)]
    pub force: bool,
    /// Pass a backup with no tables (it fails the drill otherwise).
    #[arg(long)]
    pub allow_empty: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Write Prometheus textfile metrics here (for node_exporter) [env:
    /// KRONIC_DRILL_METRICS_FILE].
    #[arg(long, value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,
    #[command(flatten)]
    pub apply: ApplyArgs,
}

/// What applying a backup to a database takes: the key for encrypted backups, lock
/// waits, and how long to wait for the server (restore and drill share them).
#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub identity: IdentityArgs,
    #[command(flatten)]
    pub locks: LockArgs,
    #[command(flatten)]
    pub wait: WaitArg,
    /// Restore even when connected as a superuser (or a member of
    /// pg_execute_server_program, pg_read_server_files or pg_write_server_files): the
    /// backup's own functions then run with that power. Only for a backup whose history
    /// you know [env: KRONIC_ALLOW_SUPERUSER].
    #[arg(long)]
    pub allow_superuser: bool,
}

impl ApplyArgs {
    /// The flag, else `KRONIC_ALLOW_SUPERUSER` (true/false; 78 otherwise).
    pub fn allow_superuser(&self) -> anyhow::Result<bool> {
        crate::config::switch(self.allow_superuser, vars::ALLOW_SUPERUSER)
    }
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup to restore: a file, or s3://BUCKET/PREFIX/NAME streamed from object
    /// storage (with --remote, a NAME in the bucket), or --latest.
    #[arg(conflicts_with = "latest")]
    pub file: Option<PathBuf>,

    /// Restore the newest backup in the backup folder (with --remote: in the bucket).
    #[arg(long)]
    pub latest: bool,

    #[command(flatten)]
    pub remote: RemoteSel,

    #[command(flatten)]
    pub dir: BackupDir,

    /// Restore into this database on the same server instead.
    #[arg(long, value_name = "NAME")]
    pub target_db: Option<String>,

    /// Create the --target-db database first if it does not exist.
    #[arg(long, requires = "target_db")]
    pub create: bool,

    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,

    #[command(flatten)]
    pub apply: ApplyArgs,
}

#[derive(Debug, Args)]
pub struct HealthArgs {
    /// Seconds the whole check may take.
    #[arg(long, default_value = "5", value_name = "SECS", value_parser = parse_seconds)]
    pub timeout: std::time::Duration,

    /// Keep checking for up to SECS seconds until the database is healthy.
    #[arg(long, value_name = "SECS", value_parser = parse_seconds, conflicts_with = "serve")]
    pub wait: Option<std::time::Duration>,

    /// Serve GET /healthz on ADDR until SIGTERM or Ctrl-C: HOST:PORT (a name or an
    /// address; 0.0.0.0:PORT for every interface), or a PORT alone for 127.0.0.1.
    #[arg(long, value_name = "ADDR", value_parser = parse_serve)]
    pub serve: Option<String>,
}

/// `8080` (loopback), `localhost:8081`, `0.0.0.0:8080`, `[::1]:8080`.
fn parse_serve(s: &str) -> Result<String, String> {
    let port = match s.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() => port,
        Some(_) => return Err(format!("{s:?}: give HOST:PORT or a PORT")),
        None => s,
    };
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(if s.contains(':') {
            s.to_string()
        } else {
            format!("127.0.0.1:{p}")
        }),
        _ if port == s => Err(format!("{s:?} is not a port (1-65535)")),
        _ => Err(format!("{s:?}: {port:?} is not a port (1-65535)")),
    }
}

fn parse_span(s: &str) -> Result<crate::backup::retention::Span, String> {
    crate::backup::retention::Span::parse(s)
}

/// gzip or zstd (gz and zst too): the shells complete these, not file names.
fn compression_values()
-> impl clap::builder::TypedValueParser<Value = crate::backup::pipeline::Compression> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(["gzip", "zstd", "gz", "zst"])
        .try_map(|s: String| parse_compression(&s))
}

fn parse_compression(s: &str) -> Result<crate::backup::pipeline::Compression, String> {
    crate::backup::pipeline::Compression::parse(s).ok_or_else(|| format!("{s:?}: use gzip or zstd"))
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

fn parse_seconds(s: &str) -> Result<std::time::Duration, String> {
    crate::config::parse_seconds(s, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_visible_command_has_an_example() {
        fn walk(cmd: &clap::Command, path: &str) {
            for sub in cmd
                .get_subcommands()
                .filter(|s| !s.is_hide_set() && s.get_name() != "help")
            {
                let name = format!("{path} {}", sub.get_name());
                let help = sub
                    .get_after_help()
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                assert!(help.contains("Examples:"), "{name} has no example");
                walk(sub, &name);
            }
        }
        walk(&Cli::command(), "kronic");
    }
}
