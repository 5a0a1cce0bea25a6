//! The arguments of `kronic backup` and its subcommands, and of `kronic restore`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::common::{LockArgs, NotifyArg, WaitArg};
pub use crate::backup::settings::{BackupDir, EncryptArgs, IdentityArgs, RemoteSel, Retention};
use crate::config::vars;

#[derive(Debug, Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub dir: BackupDir,

    #[command(flatten)]
    pub notify: NotifyArg,

    #[command(flatten)]
    pub keep: crate::backup::settings::Retention,

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

    /// Streams: above 1, a parallel backup: one folder (NAME.dir) of per-table streams
    /// read from one snapshot on N connections, restored with `restore --jobs`. 1 (the
    /// default) keeps the single file that `gunzip -c FILE | psql` reads. Offsite, one
    /// object per member under NAME.dir/, the manifest last [env: KRONIC_BACKUP_JOBS].
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,

    /// Back up a database that has no tables (refused otherwise: exit 65, since a green
    /// backup of nothing hides a missing `migrate up` or the wrong database).
    #[arg(long)]
    pub allow_empty: bool,

    #[command(flatten)]
    pub wait: WaitArg,

    #[command(subcommand)]
    pub action: Option<BackupAction>,
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
        keep: crate::backup::settings::Retention,
        /// Print JSON (name, action, reasons) for scripts.
        #[arg(long)]
        json: bool,
        /// Only say what would be deleted.
        #[arg(long)]
        dry_run: bool,
    },
    /// Upload the local backups that the offsite copy lacks (after an outage), oldest
    /// first, each checked (a parallel backup member by member, each held to its
    /// manifest, the manifest last); then prune the offsite copies by the retention rules.
    #[command(
        after_help = "Examples:\n  kronic backup sync --dry-run\n  kronic backup sync --remote s3://backups/kronic"
    )]
    Sync {
        #[command(flatten)]
        dir: BackupDir,
        /// The offsite location, s3://BUCKET/PREFIX [env: KRONIC_BACKUP_REMOTE].
        #[arg(long = "remote", alias = "remote-url", value_name = "URL")]
        remote_url: Option<String>,
        #[command(flatten)]
        keep: crate::backup::settings::Retention,
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

    /// Restore only this table's rows (repeatable; `schema.table`, or a name the search
    /// path finds): the existing table is emptied and loaded in one transaction. From a
    /// parallel backup only its members are read. Refused in place when other tables'
    /// foreign keys point at it (restore into --target-db instead).
    #[arg(long, value_name = "NAME", conflicts_with = "drop_extra")]
    pub table: Vec<String>,

    /// Restore only the rows of this schema's tables (repeatable), as --table does.
    #[arg(long, value_name = "NAME", conflicts_with = "drop_extra")]
    pub schema: Vec<String>,

    /// Connections a parallel backup (a NAME.dir folder) is loaded on [default: the
    /// cores, at most 8; env: KRONIC_BACKUP_JOBS]. It is built in a scratch database,
    /// checked, then swapped in under the target's name. A single-file backup is always
    /// one transaction on one connection.
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,

    /// After a parallel restore, keep the old database as NAME_kronic_old for `restore
    /// --rollback` (true or false).
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set, hide_possible_values = true)]
    pub keep_old: bool,

    /// Before the swap, end the target's sessions (pg_terminate_backend) instead of
    /// waiting up to KRONIC_LOCK_WAIT for them to close.
    #[arg(long)]
    pub terminate_sessions: bool,

    /// Swap the database a parallel restore replaced (NAME_kronic_old) back in; the
    /// restored one becomes NAME_kronic_old, so a second --rollback undoes the first.
    #[arg(long, conflicts_with_all = ["file", "latest"])]
    pub rollback: bool,

    #[command(flatten)]
    pub apply: ApplyArgs,
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
