//! Configuration: the `KRONIC_DATABASE_*` environment and the global flags, validated
//! into a [`Config`] before anything connects.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::{Certificate, ClientOptions};

use crate::crypt::{Identities, Recipients};
use crate::exit::{Code, fail};
use crate::locks::LockPolicy;
use crate::pipeline::Compression;
use crate::remote::Remote;
use crate::retention::{Policy, Span};

/// The names of every environment variable kronic reads.
pub mod vars {
    pub const DATABASE_URL: &str = "KRONIC_DATABASE_URL";
    pub const DATABASE_HOST: &str = "KRONIC_DATABASE_HOST";
    pub const DATABASE_PORT: &str = "KRONIC_DATABASE_PORT";
    pub const DATABASE_NAME: &str = "KRONIC_DATABASE_NAME";
    pub const DATABASE_USER: &str = "KRONIC_DATABASE_USER";
    pub const DATABASE_PASSWORD: &str = "KRONIC_DATABASE_PASSWORD";
    pub const DATABASE_SSLMODE: &str = "KRONIC_DATABASE_SSLMODE";
    pub const DATABASE_SSLROOTCERT: &str = "KRONIC_DATABASE_SSLROOTCERT";
    pub const DATABASE_CONNECT_TIMEOUT: &str = "KRONIC_DATABASE_CONNECT_TIMEOUT";
    pub const DATABASE_POOL_SIZE: &str = "KRONIC_DATABASE_POOL_SIZE";
    pub const DATABASE_MAX_OVERFLOW: &str = "KRONIC_DATABASE_MAX_OVERFLOW";
    pub const DATABASE_POOL_TIMEOUT: &str = "KRONIC_DATABASE_POOL_TIMEOUT";
    pub const ADMIN_EMAIL: &str = "KRONIC_ADMIN_EMAIL";
    pub const ADMIN_PASSWORD: &str = "KRONIC_ADMIN_PASSWORD";
    pub const BACKUP_DIR: &str = "KRONIC_BACKUP_DIR";
    pub const BACKUP_KEEP_DAYS: &str = "KRONIC_BACKUP_KEEP_DAYS";
    pub const BACKUP_KEEP_LAST: &str = "KRONIC_BACKUP_KEEP_LAST";
    pub const BACKUP_KEEP_DAILY: &str = "KRONIC_BACKUP_KEEP_DAILY";
    pub const BACKUP_KEEP_WEEKLY: &str = "KRONIC_BACKUP_KEEP_WEEKLY";
    pub const BACKUP_KEEP_MONTHLY: &str = "KRONIC_BACKUP_KEEP_MONTHLY";
    pub const BACKUP_KEEP_YEARLY: &str = "KRONIC_BACKUP_KEEP_YEARLY";
    pub const BACKUP_KEEP_WITHIN: &str = "KRONIC_BACKUP_KEEP_WITHIN";
    pub const BACKUP_METRICS_FILE: &str = "KRONIC_BACKUP_METRICS_FILE";
    pub const BACKUP_COMPRESSION: &str = "KRONIC_BACKUP_COMPRESSION";
    pub const BACKUP_RECIPIENTS: &str = "KRONIC_BACKUP_RECIPIENTS";
    pub const BACKUP_RECIPIENTS_FILE: &str = "KRONIC_BACKUP_RECIPIENTS_FILE";
    pub const BACKUP_IDENTITY_FILE: &str = "KRONIC_BACKUP_IDENTITY_FILE";
    pub const BACKUP_REMOTE: &str = "KRONIC_BACKUP_REMOTE";
    pub const REMOTE_TIMEOUT: &str = "KRONIC_REMOTE_TIMEOUT";
    pub const CA_BUNDLE: &str = "AWS_CA_BUNDLE";
    pub const MIGRATIONS_DIR: &str = "KRONIC_MIGRATIONS_DIR";
    pub const DRILL_METRICS_FILE: &str = "KRONIC_DRILL_METRICS_FILE";
    pub const LOCK_TIMEOUT: &str = "KRONIC_LOCK_TIMEOUT";
    pub const LOCK_WAIT: &str = "KRONIC_LOCK_WAIT";
    pub const PG_BINDIR: &str = "KRONIC_PG_BINDIR";
    pub const LOG: &str = "KRONIC_LOG";
}

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

/// The retention numbers as given: flags, each `None` when not given (its variable is
/// read then).
#[derive(Debug, Default, Clone, Copy)]
pub struct RetentionFlags {
    pub keep_days: Option<u32>,
    pub keep_last: Option<u32>,
    pub keep_daily: Option<u32>,
    pub keep_weekly: Option<u32>,
    pub keep_monthly: Option<u32>,
    pub keep_yearly: Option<u32>,
    pub keep_within: Option<Span>,
}

/// The retention policy: each flag, else its variable; `--keep-days N` is
/// `--keep-within Nd`, and `--keep-days 0` keeps every backup whatever the other rules
/// say; with no option at all, `--keep-within 30d`, the seed script's behaviour.
pub fn retention(r: &RetentionFlags) -> Result<Policy> {
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

/// Lock waits: the flags, else `KRONIC_LOCK_TIMEOUT` (default 1 s a try) and
/// `KRONIC_LOCK_WAIT` (default 60 s in all).
pub fn lock_policy(per_try: Option<Duration>, budget: Option<Duration>) -> Result<LockPolicy> {
    let per_try = match per_try {
        Some(d) => d,
        None => match env(vars::LOCK_TIMEOUT) {
            Some(v) => seconds(vars::LOCK_TIMEOUT, &v, false)?,
            None => Duration::from_secs(1),
        },
    };
    if per_try.is_zero() {
        return Err(config_err(
            "--lock-timeout must be above 0: 0 would wait for locks forever".into(),
        ));
    }
    let budget = match budget {
        Some(d) => d,
        None => match env(vars::LOCK_WAIT) {
            Some(v) => seconds(vars::LOCK_WAIT, &v, true)?,
            None => Duration::from_secs(60),
        },
    };
    Ok(LockPolicy { per_try, budget })
}

/// The offsite location: the flag, else `KRONIC_BACKUP_REMOTE`; None when neither is
/// set. Bounded by `KRONIC_REMOTE_TIMEOUT` (default 30 s). The AWS_* variables
/// (credentials, region, endpoint, instance and container roles) are read here too, by
/// object_store's own `from_env`, and `AWS_CA_BUNDLE`. A plain-http endpoint must be
/// allowed explicitly (`AWS_ALLOW_HTTP=true`): requests are signed, but the data would
/// cross in the clear.
pub fn remote(flag: Option<String>) -> Result<Option<Remote>> {
    let Some(url) = text_setting(flag, vars::BACKUP_REMOTE) else {
        return Ok(None);
    };
    let timeout = match env(vars::REMOTE_TIMEOUT) {
        Some(v) => seconds(vars::REMOTE_TIMEOUT, &v, false)?,
        None => Duration::from_secs(30),
    };
    let endpoint = env("AWS_ENDPOINT_URL").or_else(|| env("AWS_ENDPOINT"));
    if let Some(e) = &endpoint {
        let allowed = env("AWS_ALLOW_HTTP").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if e.starts_with("http://") && !allowed {
            return Err(config_err(format!(
                "AWS_ENDPOINT_URL={e} is plain http: set AWS_ALLOW_HTTP=true to allow it, or use https"
            )));
        }
        if !e.starts_with("http://") && !e.starts_with("https://") {
            return Err(config_err(format!(
                "AWS_ENDPOINT_URL={e:?}: use an http:// or https:// URL"
            )));
        }
    }
    Remote::new(&url, timeout, AmazonS3Builder::from_env(), http_client()?).map(Some)
}

/// The object store's HTTP client settings: the ones object_store reads from AWS_*
/// (proxy, allow_http, certificate switches…), and the CA certificates in
/// `AWS_CA_BUNDLE` (a private S3 service's own CA), as the AWS CLI reads them.
fn http_client() -> Result<ClientOptions> {
    let mut options = ClientOptions::new();
    for (key, value) in std::env::vars_os() {
        let (Some(key), Some(value)) = (key.to_str(), value.to_str()) else {
            continue;
        };
        if !key.starts_with("AWS_") || value.is_empty() {
            continue;
        }
        if let Ok(AmazonS3ConfigKey::Client(k)) = key.to_ascii_lowercase().parse() {
            options = options.with_config(k, value);
        }
    }
    if let Some(path) = env(vars::CA_BUNDLE) {
        let bad = |why: String| config_err(format!("{}={path}: {why}", vars::CA_BUNDLE));
        let pem = std::fs::read(&path).map_err(|e| bad(e.to_string()))?;
        let certs = Certificate::from_pem_bundle(&pem).map_err(|e| bad(e.to_string()))?;
        if certs.is_empty() {
            return Err(bad("no PEM certificate in the file".into()));
        }
        options = certs
            .into_iter()
            .fold(options, ClientOptions::with_root_certificate);
    }
    Ok(options)
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
                "--compression-level {level}: {compression:?} takes {} to {}",
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

/// A path setting: the flag, else the variable.
pub fn path_setting(flag: Option<PathBuf>, var: &str) -> Option<PathBuf> {
    flag.or_else(|| env(var).map(PathBuf::from))
}

/// A text setting: the flag, else the variable; empty counts as unset.
pub fn text_setting(flag: Option<String>, var: &str) -> Option<String> {
    flag.filter(|s| !s.is_empty()).or_else(|| env(var))
}

/// The one place kronic reads its environment. An empty variable counts as unset (one
/// blank line in an EnvironmentFile must not change anything).
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// A value that must never be printed: Debug and Display show `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// libpq's sslmode values (tokio-postgres knows only the first three).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(s: &str) -> Option<SslMode> {
        Some(match s {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// Where the connection settings came from, so error hints name the right knob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Flag,
    UrlEnv,
    Parts,
}

#[derive(Debug, Clone)]
pub struct DbConfig {
    /// A host name, an IP address, or a Unix socket folder (starts with `/`).
    pub host: String,
    pub port: u16,
    pub dbname: String,
    pub user: String,
    pub password: Option<Secret>,
    /// Where the password came from, for "check …" hints.
    pub password_from: String,
    pub sslmode: SslMode,
    pub sslrootcert: Option<PathBuf>,
    /// Bounds TCP connect, TLS and authentication together.
    pub connect_timeout: Duration,
    pub source: Source,
}

impl DbConfig {
    /// `host:port/dbname`: the only way kronic ever names the database in output.
    pub fn display(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}/{}", self.host, self.port, self.dbname)
        } else {
            format!("{}:{}/{}", self.host, self.port, self.dbname)
        }
    }

    /// The same server, another database (restore drills).
    pub fn with_dbname(&self, dbname: &str) -> DbConfig {
        DbConfig {
            dbname: dbname.to_string(),
            ..self.clone()
        }
    }

    /// The same server, another database that kronic may create, drop or restore over
    /// (`flag` names it): never an empty name (PostgreSQL would read it as the role's
    /// name, often the production database), never the configured database itself,
    /// never `postgres` or a template. Exit 64, naming the flag.
    pub fn other_db(&self, flag: &str, name: &str) -> Result<DbConfig> {
        let refuse = |why: String| Err(fail(Code::Usage, format!("{flag} {name:?}: {why}")));
        if name.trim().is_empty() {
            return refuse(
                "an empty database name (an unset shell variable?) is refused: PostgreSQL would read it as the role's own database".into(),
            );
        }
        if name == self.dbname {
            return refuse(format!(
                "that is the configured database ({}); kronic never drops or restores over it through {flag} (restore into it with plain `kronic restore`)",
                vars::DATABASE_NAME
            ));
        }
        if RESERVED_DBS.contains(&name) {
            return refuse(
                "postgres and the template databases are never created, dropped or restored over"
                    .into(),
            );
        }
        Ok(self.with_dbname(name))
    }

    /// Which settings to check when the host or port is wrong.
    pub fn hint_host(&self) -> &'static str {
        match self.source {
            Source::Flag => "--database-url",
            Source::UrlEnv => "KRONIC_DATABASE_URL",
            Source::Parts => "KRONIC_DATABASE_HOST/PORT",
        }
    }

    /// Which setting to check when the password is wrong.
    pub fn hint_password(&self) -> String {
        self.password_from.clone()
    }
}

/// Pool settings. deadpool has no overflow: kronic opens at most `size + max_overflow`
/// connections, and reports connections beyond `size` as overflow, as SQLAlchemy did.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolConfig {
    pub size: usize,
    pub max_overflow: usize,
    /// How long a caller waits for a free connection.
    pub timeout: Duration,
}

impl PoolConfig {
    pub fn max_size(&self) -> usize {
        self.size + self.max_overflow
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub db: DbConfig,
    pub pool: PoolConfig,
}

pub const DEFAULT_HOST: &str = "localhost";
pub const DEFAULT_PORT: u16 = 5432;
pub const DEFAULT_NAME: &str = "kronic";
pub const DEFAULT_USER: &str = "kronic";
/// Databases kronic never creates, drops or restores over under another name.
const RESERVED_DBS: &[&str] = &["postgres", "template0", "template1"];

impl Config {
    /// Reads the process environment.
    pub fn from_env(url_flag: Option<&str>) -> Result<Config> {
        Config::load(url_flag, env)
    }

    /// Builds and validates the configuration from a flag and an environment lookup.
    /// Empty variables count as unset.
    pub fn load(url_flag: Option<&str>, env: impl Fn(&str) -> Option<String>) -> Result<Config> {
        let env = |k: &str| env(k).filter(|v| !v.is_empty());

        let sslmode_env = match env(vars::DATABASE_SSLMODE) {
            Some(v) => {
                Some(SslMode::parse(&v).ok_or_else(|| bad_sslmode(vars::DATABASE_SSLMODE, &v))?)
            }
            None => None,
        };
        let connect_timeout = match env(vars::DATABASE_CONNECT_TIMEOUT) {
            Some(v) => seconds(vars::DATABASE_CONNECT_TIMEOUT, &v, false)?,
            None => Duration::from_secs(10),
        };
        let mut db = DbConfig {
            host: env(vars::DATABASE_HOST).unwrap_or_else(|| DEFAULT_HOST.into()),
            port: match env(vars::DATABASE_PORT) {
                Some(v) => port(vars::DATABASE_PORT, &v)?,
                None => DEFAULT_PORT,
            },
            dbname: env(vars::DATABASE_NAME).unwrap_or_else(|| DEFAULT_NAME.into()),
            user: env(vars::DATABASE_USER).unwrap_or_else(|| DEFAULT_USER.into()),
            password: env(vars::DATABASE_PASSWORD).map(Secret::new),
            password_from: vars::DATABASE_PASSWORD.into(),
            sslmode: sslmode_env.unwrap_or(SslMode::Prefer),
            sslrootcert: match env(vars::DATABASE_SSLROOTCERT) {
                Some(v) => Some(rootcert(vars::DATABASE_SSLROOTCERT, &v)?),
                None => None,
            },
            connect_timeout,
            source: Source::Parts,
        };

        let url = match url_flag.filter(|u| !u.is_empty()) {
            Some(u) => Some(("--database-url", u.to_string(), Source::Flag)),
            None => env(vars::DATABASE_URL).map(|u| (vars::DATABASE_URL, u, Source::UrlEnv)),
        };
        if let Some((name, url, source)) = url {
            // The URL overrides the parts; what it leaves out takes the defaults, except
            // the password: a URL without one uses KRONIC_DATABASE_PASSWORD (the README's
            // cron recipe keeps the password out of the crontab that way).
            db = DbConfig {
                host: DEFAULT_HOST.into(),
                port: DEFAULT_PORT,
                dbname: DEFAULT_NAME.into(),
                user: DEFAULT_USER.into(),
                source,
                ..db
            };
            apply_url(&mut db, name, &url)?;
        }
        if db.password.is_none()
            && let Some((pw, file)) = passfile_password(&db, &env)
        {
            db.password = Some(pw);
            db.password_from = file;
        }

        if matches!(db.sslmode, SslMode::VerifyCa | SslMode::VerifyFull) && db.sslrootcert.is_none()
        {
            // libpq's default root certificate location.
            let home = env("HOME").map(PathBuf::from).unwrap_or_default();
            db.sslrootcert = Some(home.join(".postgresql/root.crt"));
        }

        let pool = PoolConfig {
            size: match env(vars::DATABASE_POOL_SIZE) {
                Some(v) => count(vars::DATABASE_POOL_SIZE, &v, 1)?,
                None => 20,
            },
            max_overflow: match env(vars::DATABASE_MAX_OVERFLOW) {
                Some(v) => count(vars::DATABASE_MAX_OVERFLOW, &v, 0)?,
                None => 0,
            },
            timeout: match env(vars::DATABASE_POOL_TIMEOUT) {
                Some(v) => seconds(vars::DATABASE_POOL_TIMEOUT, &v, true)?,
                None => Duration::from_secs(30),
            },
        };
        Ok(Config { db, pool })
    }
}

/// libpq's password file: `PGPASSFILE`, else `~/.pgpass`; ignored (with a warning)
/// unless it is a regular file that only its owner can read and write; lines
/// `host:port:database:user:password` with `*` wildcards and `\` escapes; the first
/// match wins. A Unix-socket host matches `localhost`, as in libpq.
fn passfile_password(
    db: &DbConfig,
    env: &impl Fn(&str) -> Option<String>,
) -> Option<(Secret, String)> {
    use std::os::unix::fs::MetadataExt;
    let path = env("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".pgpass")))?;
    let meta = std::fs::metadata(&path).ok()?;
    if !meta.is_file() {
        return None;
    }
    if meta.mode() & 0o077 != 0 {
        tracing::warn!(
            "password file {} has group or world access and is ignored (as libpq does); chmod 0600 it",
            path.display()
        );
        return None;
    }
    let text = std::fs::read_to_string(&path).ok()?;
    let host = if db.host.starts_with('/') {
        "localhost"
    } else {
        db.host.as_str()
    };
    let port = db.port.to_string();
    let want = [host, port.as_str(), db.dbname.as_str(), db.user.as_str()];
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .find_map(|line| {
            let fields = passfile_fields(line);
            if fields.len() < 5 {
                return None;
            }
            let matches = fields[..4]
                .iter()
                .zip(want)
                .all(|(f, w)| f == "*" || f == w);
            matches.then(|| {
                (
                    Secret::new(fields[4..].join(":")),
                    format!("the password for {} in {}", db.user, path.display()),
                )
            })
        })
}

/// A passfile line's fields: split on unescaped ':', with `\` escaping the next byte.
fn passfile_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(n), Some(f)) = (chars.next(), fields.last_mut()) {
                    f.push(n);
                }
            }
            ':' => fields.push(String::new()),
            c => {
                if let Some(f) = fields.last_mut() {
                    f.push(c);
                }
            }
        }
    }
    fields
}

fn config_err(msg: String) -> anyhow::Error {
    fail(Code::Config, msg)
}

fn bad_sslmode(name: &str, value: &str) -> anyhow::Error {
    config_err(format!(
        "{name}: unknown sslmode {value:?} (use disable, prefer, require, verify-ca or verify-full)"
    ))
}

/// libpq 16's `system` (the operating system's trust store) is refused: the pg_dump
/// that kronic runs may use an older libpq that would read it as a file name.
fn rootcert(name: &str, value: &str) -> Result<PathBuf> {
    if value == "system" {
        return Err(config_err(format!(
            "{name}: sslrootcert \"system\" is not supported; give the path of a CA bundle, for example /etc/ssl/certs/ca-certificates.crt"
        )));
    }
    Ok(PathBuf::from(value))
}

fn port(name: &str, value: &str) -> Result<u16> {
    match value.trim().parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(config_err(format!(
            "{name}={value:?} is not a port number (1-65535)"
        ))),
    }
}

fn count(name: &str, value: &str, min: usize) -> Result<usize> {
    match value.trim().parse::<usize>() {
        Ok(n) if n >= min && n <= 10_000 => Ok(n),
        _ => Err(config_err(format!(
            "{name}={value:?} must be a whole number from {min} to 10000"
        ))),
    }
}

/// Seconds, fractions allowed, at most a day: the one duration parser, for flags and
/// variables. `allow_zero` for timeouts where 0 means "do not wait".
pub fn parse_seconds(value: &str, allow_zero: bool) -> Result<Duration, String> {
    match value.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && (s > 0.0 || (allow_zero && s == 0.0)) && s <= 86_400.0 => {
            Ok(Duration::from_secs_f64(s))
        }
        _ => Err(format!(
            "{value:?} must be a number of seconds {} 86400",
            if allow_zero {
                "from 0 to"
            } else {
                "above 0, at most"
            }
        )),
    }
}

fn seconds(name: &str, value: &str, allow_zero: bool) -> Result<Duration> {
    parse_seconds(value, allow_zero).map_err(|e| config_err(format!("{name}={e}")))
}

fn decode(name: &str, what: &str, s: &str) -> Result<String> {
    percent_decode(s).ok_or_else(|| {
        config_err(format!(
            "{name}: the {what} is not valid percent-encoded UTF-8"
        ))
    })
}

fn percent_decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

/// Parses `postgres[ql]://user:password@host:port/dbname?sslmode=...` into `db`.
/// Never echoes the URL: it may hold the password.
fn apply_url(db: &mut DbConfig, name: &str, raw: &str) -> Result<()> {
    let url =
        url::Url::parse(raw).map_err(|e| config_err(format!("{name} is not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "postgres" | "postgresql") {
        return Err(config_err(format!(
            "{name}: scheme must be postgresql:// or postgres://, not {}://",
            url.scheme()
        )));
    }
    match url.host() {
        Some(url::Host::Ipv6(a)) => db.host = a.to_string(),
        Some(h) => db.host = decode(name, "host", &h.to_string())?,
        None => {}
    }
    // url accepts ports above 65535 as a parse error already; port 0 is ours to refuse.
    if let Some(p) = url.port() {
        if p == 0 {
            return Err(config_err(format!(
                "{name}: port 0 is not a port number (1-65535)"
            )));
        }
        db.port = p;
    }
    if !url.username().is_empty() {
        db.user = decode(name, "user name", url.username())?;
    }
    if let Some(p) = url.password() {
        db.password = Some(Secret::new(decode(name, "password", p)?));
        db.password_from = format!("the password in {name}");
    }
    let path = url.path().trim_start_matches('/');
    if !path.is_empty() {
        if path.contains('/') {
            return Err(config_err(format!(
                "{name}: the database name must not contain '/'"
            )));
        }
        db.dbname = decode(name, "database name", path)?;
    }
    for (k, v) in url.query_pairs() {
        match &*k {
            "sslmode" => db.sslmode = SslMode::parse(&v).ok_or_else(|| bad_sslmode(name, &v))?,
            "sslrootcert" => db.sslrootcert = Some(rootcert(name, &v)?),
            "connect_timeout" => {
                db.connect_timeout = seconds(&format!("{name} connect_timeout"), &v, false)?
            }
            "host" => db.host = v.into_owned(),
            "port" => db.port = port(&format!("{name} port"), &v)?,
            "user" => db.user = v.into_owned(),
            "dbname" => db.dbname = v.into_owned(),
            "application_name" => {}
            other => {
                return Err(config_err(format!(
                    "{name}: unknown parameter {other:?} (kronic knows sslmode, sslrootcert, connect_timeout, host, port, user, dbname, application_name)"
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(flag: Option<&str>, vars: &[(&str, &str)]) -> Result<Config> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::load(flag, |k| map.get(k).cloned())
    }

    fn err(flag: Option<&str>, vars: &[(&str, &str)]) -> (Code, String) {
        let e = load(flag, vars).expect_err("should be refused");
        (crate::exit::classify(&e), format!("{e:#}"))
    }

    #[test]
    fn defaults() {
        let c = load(None, &[]).unwrap();
        assert_eq!(c.db.host, "localhost");
        assert_eq!(c.db.port, 5432);
        assert_eq!(c.db.dbname, "kronic");
        assert_eq!(c.db.user, "kronic");
        assert!(c.db.password.is_none());
        assert_eq!(c.db.sslmode, SslMode::Prefer);
        assert_eq!(c.db.connect_timeout, Duration::from_secs(10));
        assert_eq!(
            c.pool,
            PoolConfig {
                size: 20,
                max_overflow: 0,
                timeout: Duration::from_secs(30)
            }
        );
        assert_eq!(c.db.display(), "localhost:5432/kronic");
    }

    #[test]
    fn every_variable() {
        let c = load(
            None,
            &[
                ("KRONIC_DATABASE_HOST", "db.example"),
                ("KRONIC_DATABASE_PORT", "6543"),
                ("KRONIC_DATABASE_NAME", "prod"),
                ("KRONIC_DATABASE_USER", "app"),
                ("KRONIC_DATABASE_PASSWORD", "p w'\"$@:/"),
                ("KRONIC_DATABASE_POOL_SIZE", "5"),
                ("KRONIC_DATABASE_MAX_OVERFLOW", "3"),
                ("KRONIC_DATABASE_POOL_TIMEOUT", "2.5"),
                ("KRONIC_DATABASE_CONNECT_TIMEOUT", "4"),
                ("KRONIC_DATABASE_SSLMODE", "require"),
            ],
        )
        .unwrap();
        assert_eq!(c.db.display(), "db.example:6543/prod");
        assert_eq!(c.db.user, "app");
        assert_eq!(c.db.password.as_ref().unwrap().expose(), "p w'\"$@:/");
        assert_eq!(c.db.sslmode, SslMode::Require);
        assert_eq!(c.db.connect_timeout, Duration::from_secs(4));
        assert_eq!(
            c.pool,
            PoolConfig {
                size: 5,
                max_overflow: 3,
                timeout: Duration::from_millis(2500)
            }
        );
        assert_eq!(c.pool.max_size(), 8);
    }

    #[test]
    fn url_beats_parts_and_flag_beats_url() {
        let vars = [
            ("KRONIC_DATABASE_HOST", "parts-host"),
            ("KRONIC_DATABASE_NAME", "parts-db"),
            ("KRONIC_DATABASE_PASSWORD", "parts-pw"),
            (
                "KRONIC_DATABASE_URL",
                "postgresql://envuser:env%40pw@env-host:7000/envdb?sslmode=disable",
            ),
        ];
        let c = load(None, &vars).unwrap();
        assert_eq!(c.db.display(), "env-host:7000/envdb");
        assert_eq!(c.db.user, "envuser");
        assert_eq!(c.db.password.unwrap().expose(), "env@pw");
        assert_eq!(c.db.sslmode, SslMode::Disable);
        assert_eq!(c.db.source, Source::UrlEnv);

        let c = load(Some("postgres://flag-host/flagdb"), &vars).unwrap();
        assert_eq!(c.db.display(), "flag-host:5432/flagdb");
        assert_eq!(
            c.db.password.unwrap().expose(),
            "parts-pw",
            "a URL without a password uses KRONIC_DATABASE_PASSWORD"
        );
        assert_eq!(c.db.source, Source::Flag);
    }

    #[test]
    fn url_with_every_special_character_in_the_password() {
        let c = load(
            None,
            &[(
                "KRONIC_DATABASE_URL",
                "postgresql://u:%20%27%22%24%40%3A%2F%25x@[::1]:5433/d",
            )],
        )
        .unwrap();
        assert_eq!(c.db.password.as_ref().unwrap().expose(), " '\"$@:/%x");
        assert_eq!(c.db.host, "::1");
        assert_eq!(c.db.display(), "[::1]:5433/d");
    }

    #[test]
    fn verify_modes_default_to_libpq_root_cert() {
        let c = load(None, &[("KRONIC_DATABASE_SSLMODE", "verify-full")]).unwrap();
        assert!(c.db.sslrootcert.unwrap().ends_with(".postgresql/root.crt"));
        let c = load(
            None,
            &[(
                "KRONIC_DATABASE_URL",
                "postgres://h/d?sslmode=verify-ca&sslrootcert=/x/ca.pem",
            )],
        )
        .unwrap();
        assert_eq!(c.db.sslmode, SslMode::VerifyCa);
        assert_eq!(c.db.sslrootcert.unwrap(), PathBuf::from("/x/ca.pem"));
    }

    #[test]
    fn invalid_values_name_the_variable() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("KRONIC_DATABASE_PORT", "abc")],
                "KRONIC_DATABASE_PORT=\"abc\"",
            ),
            (&[("KRONIC_DATABASE_PORT", "70000")], "KRONIC_DATABASE_PORT"),
            (&[("KRONIC_DATABASE_PORT", "0")], "KRONIC_DATABASE_PORT"),
            (
                &[("KRONIC_DATABASE_POOL_SIZE", "0")],
                "KRONIC_DATABASE_POOL_SIZE=\"0\"",
            ),
            (
                &[("KRONIC_DATABASE_POOL_SIZE", "-3")],
                "KRONIC_DATABASE_POOL_SIZE",
            ),
            (
                &[("KRONIC_DATABASE_MAX_OVERFLOW", "x")],
                "KRONIC_DATABASE_MAX_OVERFLOW",
            ),
            (
                &[("KRONIC_DATABASE_POOL_TIMEOUT", "-1")],
                "KRONIC_DATABASE_POOL_TIMEOUT",
            ),
            (
                &[("KRONIC_DATABASE_CONNECT_TIMEOUT", "0")],
                "KRONIC_DATABASE_CONNECT_TIMEOUT",
            ),
            (
                &[("KRONIC_DATABASE_CONNECT_TIMEOUT", "soon")],
                "KRONIC_DATABASE_CONNECT_TIMEOUT",
            ),
            (
                &[("KRONIC_DATABASE_SSLMODE", "allow-ish")],
                "KRONIC_DATABASE_SSLMODE",
            ),
            (
                &[("KRONIC_DATABASE_URL", "not a url")],
                "KRONIC_DATABASE_URL is not a valid URL",
            ),
            (
                &[("KRONIC_DATABASE_URL", "mysql://h/d")],
                "KRONIC_DATABASE_URL: scheme",
            ),
            (
                &[("KRONIC_DATABASE_URL", "postgres://h:99999/d")],
                "KRONIC_DATABASE_URL",
            ),
            (
                &[("KRONIC_DATABASE_URL", "postgres://h/d?sslmode=bogus")],
                "KRONIC_DATABASE_URL: unknown sslmode",
            ),
            (
                &[("KRONIC_DATABASE_SSLROOTCERT", "system")],
                "KRONIC_DATABASE_SSLROOTCERT: sslrootcert \"system\" is not supported",
            ),
            (
                &[(
                    "KRONIC_DATABASE_URL",
                    "postgres://h/d?sslmode=verify-full&sslrootcert=system",
                )],
                "KRONIC_DATABASE_URL: sslrootcert \"system\"",
            ),
            (
                &[("KRONIC_DATABASE_URL", "postgres://h/d?foo=1")],
                "unknown parameter \"foo\"",
            ),
        ];
        for (vars, needle) in cases {
            let (code, msg) = err(None, vars);
            assert_eq!(code, Code::Config, "{vars:?}");
            assert!(msg.contains(needle), "{msg:?} should contain {needle:?}");
            assert!(!msg.contains('\n'), "one line: {msg:?}");
        }
    }

    #[test]
    fn url_errors_never_echo_the_password() {
        let (_, msg) = err(
            None,
            &[(
                "KRONIC_DATABASE_URL",
                "postgres://u:hunter2secret@h:99999/d",
            )],
        );
        assert!(!msg.contains("hunter2secret"), "{msg}");
        let (_, msg) = err(Some("postgres://u:hunter2secret@h/d?x=1"), &[]);
        assert!(!msg.contains("hunter2secret"), "{msg}");
        assert!(msg.contains("--database-url"));
    }

    #[test]
    fn secrets_do_not_debug_print() {
        let c = load(None, &[("KRONIC_DATABASE_PASSWORD", "hunter2secret")]).unwrap();
        assert!(!format!("{c:?}").contains("hunter2secret"));
    }
}
