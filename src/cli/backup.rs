//! The arguments of `kronic backup` and its subcommands, and of `kronic restore`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::common::{LockArgs, NotifyArg, WaitArg};
use crate::config::vars;

#[derive(Debug, Args)]
pub struct BackupDir {
    /// Backup folder [env: KRONIC_BACKUP_DIR] [default: /var/backups/kronic].
    #[arg(long = "dir", id = "dir", value_name = "DIR")]
    pub flag: Option<PathBuf>,
}

impl BackupDir {
    /// The flag, else the variable, else the default.
    pub fn path(&self) -> PathBuf {
        crate::backup::settings::backup_dir(self.flag.clone())
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
        crate::backup::settings::retention(&crate::backup::settings::RetentionFlags {
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
        crate::backup::settings::recipients(&self.recipients, self.recipients_file.as_deref())
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
        crate::backup::settings::identities(&self.files)
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
        crate::backup::settings::remote(url)?
            .map(Some)
            .ok_or_else(|| {
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
        /// With --latest: the newest may be a backup of this database, not the
        /// configured one.
        #[arg(long, value_name = "NAME", requires = "latest")]
        from_database: Option<String>,
        /// Verify backups that are not signed by a key of KRONIC_BACKUP_TRUSTED_KEYS,
        /// with a warning (refused with --latest).
        #[arg(long)]
        allow_unsigned: bool,
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
    /// Make a key pair that signs backups (minisign's format), never over existing files.
    ///
    /// The secret key goes to KRONIC_BACKUP_SIGNING_KEY on the host that backs up (root:kronic
    /// 0640 on a packaged host); the public key into KRONIC_BACKUP_TRUSTED_KEYS wherever
    /// backups are restored, and offsite, with the disaster-recovery notes.
    #[command(
        after_help = "Examples:\n  kronic backup keygen --secret-key /etc/kronic/signing.key --public-key /etc/kronic/signing.pub"
    )]
    Keygen {
        /// Where the secret key goes [default: KRONIC_BACKUP_SIGNING_KEY].
        #[arg(long, value_name = "FILE")]
        secret_key: Option<PathBuf>,
        /// Where the public key goes [default: the secret key's path with .pub].
        #[arg(long, value_name = "FILE")]
        public_key: Option<PathBuf>,
        /// Protect the secret key with the password in this file (then
        /// KRONIC_BACKUP_SIGNING_KEY_PASSWORD_FILE names it for backups).
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
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
    /// The scratch database the drill creates and drops [default:
    /// <dbname>_drill_scratch].
    #[arg(long, value_name = "NAME")]
    pub scratch_db: Option<String>,
    /// Drill the newest backup even though it is of this database, not the configured
    /// one (the newest must otherwise be the configured database's).
    #[arg(long, value_name = "NAME")]
    pub from_database: Option<String>,
    /// Drill a backup that is not signed by a key of KRONIC_BACKUP_TRUSTED_KEYS, with
    /// a warning (only one named: never the newest).
    #[arg(long)]
    pub allow_unsigned: bool,
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

    /// With --latest: the newest may be a backup of this database, not the configured
    /// one (it is refused otherwise, 65).
    #[arg(long, value_name = "NAME", requires = "latest")]
    pub from_database: Option<String>,

    /// Restore a backup that is not signed by a key of KRONIC_BACKUP_TRUSTED_KEYS (an
    /// old one), with a warning. Refused with --latest.
    #[arg(long)]
    pub allow_unsigned: bool,

    /// Drop the tables the backup does not hold (made after it, by a later migration)
    /// in the schemas it restores, in the same transaction; without it they stay, with
    /// their rows, and the restore says which.
    #[arg(long)]
    pub drop_extra: bool,

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
