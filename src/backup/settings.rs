//! The backup settings: the folder, retention, compression, encryption, signing and
//! the offsite location, each from its flag or its variable, resolved in this one place.
//! The flags' groups (`--dir`, `--keep-*`, `--recipient`, `--identity`, `--remote`) are
//! defined here too, next to what they build; the commands flatten them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;

use crate::backup::crypt::{Identities, Recipients};
use crate::backup::pipeline::Compression;
use crate::backup::remote::Remote;
use crate::backup::retention::{Policy, Span};
use crate::backup::signing::{Signer, Trust, Trusted};
use crate::config::{config_err, env, seconds, text_setting, vars};
use crate::report::exit::{Code, fail};

pub const DEFAULT_BACKUP_DIR: &str = "/var/backups/kronic";
pub const DEFAULT_KEEP_DAYS: u32 = 30;

/// The backup folder: the flag, else `KRONIC_BACKUP_DIR`, else the default.
pub fn backup_dir(flag: Option<PathBuf>) -> PathBuf {
    flag.or_else(|| env(vars::BACKUP_DIR).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_BACKUP_DIR))
}

/// A retention count: the flag, else the variable (78 when not a whole number that
/// fits).
fn count_setting(flag: Option<u32>, var: &str) -> Result<Option<u32>> {
    if flag.is_some() {
        return Ok(flag);
    }
    env(var)
        .map(|v| {
            v.trim().parse::<u32>().map_err(|_| {
                config_err(format!(
                    "{var}={v:?} must be a whole number from 0 to 4294967295"
                ))
            })
        })
        .transpose()
}

/// Which backups pruning keeps (restic's `forget` rules; a backup is kept if any rule
/// keeps it, and the newest always is). With no option at all: --keep-within 30d.
#[derive(Debug, clap::Args, Default)]
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
    #[arg(long, value_name = "DURATION", value_parser = crate::backup::retention::Span::parse)]
    pub keep_within: Option<Span>,
}

impl Retention {
    /// The flags, else their variables (78 naming a bad one), else --keep-within 30d.
    pub fn policy(&self) -> Result<Policy> {
        retention(self)
    }
}

/// The retention policy: each flag, else its variable; `--keep-days N` is
/// `--keep-within Nd`, and `--keep-days 0` keeps every backup whatever the other rules
/// say; with no option at all, `--keep-within 30d`, the seed script's behaviour.
pub fn retention(r: &Retention) -> Result<Policy> {
    let within = match r.keep_within {
        Some(s) => Some(s),
        None => env(vars::BACKUP_KEEP_WITHIN)
            .map(|v| {
                Span::parse(&v)
                    .map_err(|why| config_err(format!("{}={why}", vars::BACKUP_KEEP_WITHIN)))
            })
            .transpose()?,
    };
    let days = count_setting(r.keep_days, vars::BACKUP_KEEP_DAYS)?;
    let mut policy = Policy {
        last: count_setting(r.keep_last, vars::BACKUP_KEEP_LAST)?.unwrap_or(0),
        daily: count_setting(r.keep_daily, vars::BACKUP_KEEP_DAILY)?.unwrap_or(0),
        weekly: count_setting(r.keep_weekly, vars::BACKUP_KEEP_WEEKLY)?.unwrap_or(0),
        monthly: count_setting(r.keep_monthly, vars::BACKUP_KEEP_MONTHLY)?.unwrap_or(0),
        yearly: count_setting(r.keep_yearly, vars::BACKUP_KEEP_YEARLY)?.unwrap_or(0),
        within,
        all: days == Some(0),
    };
    if policy.within.is_none() {
        policy.within = match days {
            Some(0) => None,
            Some(d) => Some(Span {
                days: d,
                ..Span::default()
            }),
            None if policy.keep_all() => Some(Span {
                days: DEFAULT_KEEP_DAYS,
                ..Span::default()
            }),
            None => None,
        };
    }
    Ok(policy)
}

/// The offsite location: the flag, else `KRONIC_BACKUP_REMOTE`; None when neither is
/// set. Bounded by `KRONIC_REMOTE_TIMEOUT` (default 30 s). The storage service's own
/// settings (for S3, the AWS_* variables) are read by its backend.
pub fn remote(flag: Option<String>) -> Result<Option<Remote>> {
    let Some(url) = text_setting(flag, vars::BACKUP_REMOTE) else {
        return Ok(None);
    };
    let timeout = match env(vars::REMOTE_TIMEOUT) {
        Some(v) => seconds(vars::REMOTE_TIMEOUT, &v, false)?,
        None => Duration::from_secs(30),
    };
    Remote::new(&url, timeout).map(Some)
}

/// The most streams kronic runs at once (each is a server connection).
pub const MAX_JOBS: usize = 64;

/// Streams: the flag, else `KRONIC_BACKUP_JOBS`, else `default`. 1 to MAX_JOBS; 64 for
/// a bad flag, 78 for a bad variable.
pub fn jobs(flag: Option<usize>, default: usize) -> Result<usize> {
    if let Some(n) = flag {
        if !(1..=MAX_JOBS).contains(&n) {
            return Err(fail(
                Code::Usage,
                format!("--jobs {n}: use 1 to {MAX_JOBS}"),
            ));
        }
        return Ok(n);
    }
    match env(vars::BACKUP_JOBS) {
        None => Ok(default),
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_JOBS).contains(&n) => Ok(n),
            _ => Err(config_err(format!(
                "{}={v:?}: use a whole number from 1 to {MAX_JOBS}",
                vars::BACKUP_JOBS
            ))),
        },
    }
}

/// A parallel restore's default: the cores, at most 8.
pub fn default_restore_jobs() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8)
}

/// Compression and level: the flags, else `KRONIC_BACKUP_COMPRESSION` (78 when neither
/// gzip nor zstd), else gzip; the level must suit the format.
pub fn compression(flag: Option<Compression>, level: Option<u32>) -> Result<(Compression, u32)> {
    let compression = match flag {
        Some(c) => c,
        None => match env(vars::BACKUP_COMPRESSION) {
            Some(v) => Compression::parse(v.trim()).ok_or_else(|| {
                config_err(format!(
                    "{}={v:?}: use gzip or zstd",
                    vars::BACKUP_COMPRESSION
                ))
            })?,
            None => Compression::Gzip,
        },
    };
    let level = level.unwrap_or(compression.default_level());
    if !compression.levels().contains(&level) {
        return Err(fail(
            Code::Usage,
            format!(
                "--compression-level {level}: {} takes {} to {}",
                compression.name(),
                compression.levels().start(),
                compression.levels().end()
            ),
        ));
    }
    Ok((compression, level))
}

/// The age recipients to encrypt to, if any: the flags, else `KRONIC_BACKUP_RECIPIENTS`
/// and `KRONIC_BACKUP_RECIPIENTS_FILE`. A bad one is 78, naming where it came from.
/// Encryption fails closed: when any of them is set, finding no recipient in it (a file
/// of comments, `=,`) is 78 too, never a plaintext backup.
pub fn recipients(flags: &[String], file: Option<&Path>) -> Result<Option<Recipients>> {
    let mut all = Recipients::parse("", "")?;
    let mut configured = Vec::new();
    if flags.is_empty() && file.is_none() {
        if let Some(v) = env(vars::BACKUP_RECIPIENTS) {
            all.extend(Recipients::parse(&v, vars::BACKUP_RECIPIENTS)?);
            configured.push(vars::BACKUP_RECIPIENTS.to_string());
        }
        if let Some(f) = env(vars::BACKUP_RECIPIENTS_FILE) {
            all.extend(Recipients::from_file(
                Path::new(&f),
                vars::BACKUP_RECIPIENTS_FILE,
            )?);
            configured.push(format!("{}={f}", vars::BACKUP_RECIPIENTS_FILE));
        }
    }
    for r in flags {
        all.extend(Recipients::parse(r, "--recipient")?);
        configured.push("--recipient".into());
    }
    if let Some(f) = file {
        all.extend(Recipients::from_file(f, "--recipients-file")?);
        configured.push(format!("--recipients-file {}", f.display()));
    }
    if all.is_empty() && !configured.is_empty() {
        configured.dedup();
        return Err(config_err(format!(
            "encryption is configured ({}) but holds no recipient (only comments or separators?): refusing to write an unencrypted backup",
            configured.join(", ")
        )));
    }
    Ok((!all.is_empty()).then_some(all))
}

/// The identities to decrypt with: the flags, else `KRONIC_BACKUP_IDENTITY_FILE`.
pub fn identities(flags: &[PathBuf]) -> Result<Identities> {
    let files: Vec<PathBuf> = if flags.is_empty() {
        env(vars::BACKUP_IDENTITY_FILE)
            .map(PathBuf::from)
            .into_iter()
            .collect()
    } else {
        flags.to_vec()
    };
    Identities::load(&files)
}

/// The key that signs every backup's manifest, when `KRONIC_BACKUP_SIGNING_KEY` names
/// one (checked like the identity; its password from
/// `KRONIC_BACKUP_SIGNING_KEY_PASSWORD_FILE`).
pub fn signer() -> Result<Option<std::sync::Arc<Signer>>> {
    let Some(path) = env(vars::BACKUP_SIGNING_KEY).map(PathBuf::from) else {
        return Ok(None);
    };
    let password = env(vars::BACKUP_SIGNING_KEY_PASSWORD_FILE).map(PathBuf::from);
    Ok(Some(std::sync::Arc::new(Signer::load(
        &path,
        password.as_deref(),
    )?)))
}

/// What a backup must be to be read: signed by a key of `KRONIC_BACKUP_TRUSTED_KEYS`
/// (when set), unless `allow_unsigned` (refused with --latest: the newest must never be
/// an unsigned file someone planted).
pub fn trust(allow_unsigned: bool, latest: bool) -> Result<Trust> {
    let keys = match env(vars::BACKUP_TRUSTED_KEYS) {
        Some(p) => Some(Trusted::load(Path::new(&p))?),
        None => None,
    };
    if allow_unsigned && latest {
        return Err(fail(
            Code::Usage,
            "--allow-unsigned is refused with --latest: name the backup to restore",
        ));
    }
    Ok(Trust {
        keys,
        allow_unsigned,
    })
}

// The command-line groups these settings come from (flattened into the commands that
// take them), each resolved here, next to what it builds.

#[derive(Debug, clap::Args)]
pub struct BackupDir {
    /// Backup folder [env: KRONIC_BACKUP_DIR] [default: /var/backups/kronic].
    #[arg(long = "dir", id = "dir", value_name = "DIR")]
    pub flag: Option<PathBuf>,
}

impl BackupDir {
    /// The flag, else the variable, else the default.
    pub fn path(&self) -> PathBuf {
        backup_dir(self.flag.clone())
    }
}

/// age recipients: when any is configured, every backup is encrypted.
#[derive(Debug, clap::Args)]
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
        recipients(&self.recipients, self.recipients_file.as_deref())
    }
}

/// age identities (private keys) that can decrypt encrypted backups.
#[derive(Debug, clap::Args)]
pub struct IdentityArgs {
    /// An age identity file (AGE-SECRET-KEY-1... lines) or an unencrypted ssh private key;
    /// repeatable [env: KRONIC_BACKUP_IDENTITY_FILE].
    #[arg(long = "identity", id = "identity", short = 'i', value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

impl IdentityArgs {
    pub fn load(&self) -> anyhow::Result<crate::backup::crypt::Identities> {
        identities(&self.files)
    }
}

/// The offsite copies instead of the folder (list, verify, prune, restore).
#[derive(Debug, clap::Args)]
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
        remote(url)?.map(Some).ok_or_else(|| {
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
