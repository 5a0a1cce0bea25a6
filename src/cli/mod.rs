//! The command-line interface: every command's arguments, in one clap tree. The
//! migration and backup commands' arguments live in their own files.

mod backup;
mod common;
mod migrate;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub use backup::*;
use common::parse_seconds;
pub use common::*;
pub use migrate::*;

use crate::config::vars::ENV_VARS;

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
