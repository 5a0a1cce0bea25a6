//! The database settings: `KRONIC_DATABASE_*`, `KRONIC_DATABASE_URL` or
//! `--database-url`, libpq's password file, checked into a [`Config`].

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

use super::value::{Secret, config_err, count, env, seconds};
use super::vars;
use crate::report::exit::{Code, fail};

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

/// Refuses (78) a `KRONIC_DATABASE_*` part in the environment when the configuration
/// file's `KRONIC_DATABASE_URL` would win over it: `KRONIC_DATABASE_NAME=x kronic restore`
/// must not restore over the file's database. (`--database-url` beats both, as documented.)
fn refuse_mixed_sources(url_flag: Option<&str>) -> Result<()> {
    if url_flag.is_some_and(|u| !u.is_empty()) {
        return Ok(());
    }
    let Some((_, super::value::From::File(path, line))) = super::value::setting(vars::DATABASE_URL)
    else {
        return Ok(());
    };
    for part in [
        vars::DATABASE_HOST,
        vars::DATABASE_PORT,
        vars::DATABASE_NAME,
        vars::DATABASE_USER,
    ] {
        if let Some((_, super::value::From::Environment)) = super::value::setting(part) {
            return Err(config_err(format!(
                "{part} is set in the environment, but {}:{line} sets KRONIC_DATABASE_URL, which wins over the parts: {part} would be ignored; set KRONIC_DATABASE_URL in the environment instead, or unset {part}",
                path.display()
            )));
        }
    }
    Ok(())
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
        refuse_mixed_sources(url_flag)?;
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
        (crate::report::exit::classify(&e), format!("{e:#}"))
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

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any value of any database variable (or URL) is a Config or a one-line 78.
        #[test]
        fn any_environment_is_checked_never_a_panic(
            var in prop::sample::select(vec![
                vars::DATABASE_URL, vars::DATABASE_HOST, vars::DATABASE_PORT,
                vars::DATABASE_NAME, vars::DATABASE_USER, vars::DATABASE_PASSWORD,
                vars::DATABASE_SSLMODE, vars::DATABASE_SSLROOTCERT,
                vars::DATABASE_CONNECT_TIMEOUT, vars::DATABASE_POOL_SIZE,
                vars::DATABASE_MAX_OVERFLOW, vars::DATABASE_POOL_TIMEOUT,
            ]),
            value in "\\PC{0,40}|postgres(ql)?://[a-z:@%/?=&.\\[\\]0-9\\-]{0,40}",
        ) {
            let got = Config::load(None, |k| (k == var).then(|| value.clone()));
            if let Err(e) = got {
                prop_assert_eq!(crate::report::exit::classify(&e), Code::Config);
                let shown = format!("{e:#}");
                prop_assert!(!shown.contains('\n'), "{}", shown);
            }
        }

        #[test]
        fn seconds_never_panic(value in "\\PC{0,30}|[0-9eE.+-]{1,30}") {
            let _ = crate::config::parse_seconds(&value, true);
            let _ = crate::config::parse_seconds(&value, false);
        }
    }
}
