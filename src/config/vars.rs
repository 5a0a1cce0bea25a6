//! The names of every environment variable kronic reads, and what each means: the
//! help, the man pages and the README's table come from or are checked against this.

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
pub const BACKUP_SIGNING_KEY: &str = "KRONIC_BACKUP_SIGNING_KEY";
pub const BACKUP_SIGNING_KEY_PASSWORD_FILE: &str = "KRONIC_BACKUP_SIGNING_KEY_PASSWORD_FILE";
pub const BACKUP_TRUSTED_KEYS: &str = "KRONIC_BACKUP_TRUSTED_KEYS";
pub const BACKUP_REMOTE: &str = "KRONIC_BACKUP_REMOTE";
pub const BACKUP_JOBS: &str = "KRONIC_BACKUP_JOBS";
pub const REMOTE_TIMEOUT: &str = "KRONIC_REMOTE_TIMEOUT";
pub const MIGRATIONS_DIR: &str = "KRONIC_MIGRATIONS_DIR";
pub const DRILL_METRICS_FILE: &str = "KRONIC_DRILL_METRICS_FILE";
pub const LOCK_TIMEOUT: &str = "KRONIC_LOCK_TIMEOUT";
pub const LOCK_WAIT: &str = "KRONIC_LOCK_WAIT";
pub const PG_BINDIR: &str = "KRONIC_PG_BINDIR";
pub const LOG: &str = "KRONIC_LOG";
pub const ALLOW_SUPERUSER: &str = "KRONIC_ALLOW_SUPERUSER";
pub const CONFIG: &str = "KRONIC_CONFIG";
pub const NOTIFY_URL: &str = "KRONIC_NOTIFY_URL";

/// Every environment variable kronic reads: (name, meaning). The help, the man pages and
/// the README's table come from or are checked against this list.
pub const ENV_VARS: &[(&str, &str)] = &[
    (
        CONFIG,
        "the configuration file every command reads [default: /etc/kronic/kronic.env, when it exists]",
    ),
    (
        DATABASE_URL,
        "postgresql://user:password@host:port/dbname?sslmode=...; overrides the parts below",
    ),
    (
        DATABASE_HOST,
        "host name, IP address or socket folder [default: localhost]",
    ),
    (DATABASE_PORT, "[default: 5432]"),
    (DATABASE_NAME, "[default: kronic]"),
    (DATABASE_USER, "[default: kronic]"),
    (DATABASE_PASSWORD, "never printed, never passed in argv"),
    (
        DATABASE_SSLMODE,
        "disable, prefer, require, verify-ca, verify-full [default: prefer]",
    ),
    (
        DATABASE_SSLROOTCERT,
        "CA certificates (PEM) for verify-ca/verify-full [default: ~/.postgresql/root.crt]",
    ),
    (
        DATABASE_CONNECT_TIMEOUT,
        "seconds for TCP, TLS and authentication together [default: 10]",
    ),
    (DATABASE_POOL_SIZE, "health pool size [default: 20]"),
    (
        DATABASE_MAX_OVERFLOW,
        "connections allowed beyond the pool size [default: 0]",
    ),
    (
        DATABASE_POOL_TIMEOUT,
        "seconds to wait for a free pooled connection [default: 30]",
    ),
    (ADMIN_EMAIL, "the admin user kronic seed creates"),
    (ADMIN_PASSWORD, "its password (at least 12 characters)"),
    (BACKUP_DIR, "backup folder [default: /var/backups/kronic]"),
    (
        BACKUP_KEEP_DAYS,
        "the same as KRONIC_BACKUP_KEEP_WITHIN=DAYSd; 0 keeps all [default: 30]",
    ),
    (BACKUP_KEEP_LAST, "keep the N newest backups"),
    (
        BACKUP_KEEP_DAILY,
        "keep the newest backup of each of the last N days",
    ),
    (BACKUP_KEEP_WEEKLY, "... of each of the last N ISO weeks"),
    (BACKUP_KEEP_MONTHLY, "... of each of the last N months"),
    (BACKUP_KEEP_YEARLY, "... of each of the last N years"),
    (
        BACKUP_KEEP_WITHIN,
        "keep every backup within this of the newest (30d, 12h, 1y6m) [default: 30d when no retention option is set]",
    ),
    (BACKUP_COMPRESSION, "gzip or zstd [default: gzip]"),
    (
        BACKUP_RECIPIENTS,
        "age recipients (age1..., ssh public keys), by commas or newlines: every backup is encrypted",
    ),
    (
        BACKUP_RECIPIENTS_FILE,
        "a file of age recipients, one per line",
    ),
    (
        BACKUP_IDENTITY_FILE,
        "age identity file (or unencrypted ssh key) to restore and verify encrypted backups",
    ),
    (
        BACKUP_SIGNING_KEY,
        "a minisign secret key file (kronic backup keygen): every backup's manifest is signed",
    ),
    (
        BACKUP_SIGNING_KEY_PASSWORD_FILE,
        "a file holding the signing key's password, when it has one",
    ),
    (
        BACKUP_TRUSTED_KEYS,
        "a file of minisign public keys: restore, drill, verify and sync accept only backups signed by one",
    ),
    (
        BACKUP_REMOTE,
        "s3://BUCKET/PREFIX: every backup is also uploaded there, in the same pass",
    ),
    (
        BACKUP_JOBS,
        "streams of a backup (above 1: a parallel backup, a folder) and of a parallel restore [default: 1 for a backup, the cores up to 8 for a restore]",
    ),
    (
        REMOTE_TIMEOUT,
        "seconds the object store may take to answer [default: 30]",
    ),
    (
        "AWS_ACCESS_KEY_ID",
        "object-store credentials (with AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)",
    ),
    (
        "AWS_SECRET_ACCESS_KEY",
        "never printed or passed to pg_dump",
    ),
    ("AWS_SESSION_TOKEN", "temporary credentials"),
    (
        "AWS_REGION",
        "[default: us-east-1]; AWS_DEFAULT_REGION also works",
    ),
    (
        "AWS_ENDPOINT_URL",
        "a non-AWS service (MinIO, Ceph, R2, B2, SeaweedFS) [default: AWS]",
    ),
    (
        "AWS_ALLOW_HTTP",
        "true allows a plain-http AWS_ENDPOINT_URL",
    ),
    (
        "AWS_CA_BUNDLE",
        "PEM file of CA certificates to trust for an https AWS_ENDPOINT_URL",
    ),
    (
        BACKUP_METRICS_FILE,
        "Prometheus textfile written after each successful backup",
    ),
    (
        DRILL_METRICS_FILE,
        "Prometheus textfile written after each backup drill",
    ),
    (
        MIGRATIONS_DIR,
        "load migrations from this folder instead of the built-in ones",
    ),
    (
        LOCK_TIMEOUT,
        "seconds to wait for table locks on each try before retrying [default: 1]",
    ),
    (
        LOCK_WAIT,
        "seconds to wait for locks in all, then exit 75 [default: 60]",
    ),
    (
        PG_BINDIR,
        "folder with pg_dump [default: PATH, then /usr/lib/postgresql/*/bin]",
    ),
    (
        NOTIFY_URL,
        "healthchecks.io-style URL pinged when a backup or drill starts, succeeds or fails",
    ),
    (
        ALLOW_SUPERUSER,
        "true lets restore and drill run as a superuser (the backup's functions run with its power)",
    ),
    (
        LOG,
        "log filter such as debug or kronic=trace; overrides -v and -q",
    ),
];

/// The default a variable's meaning states (`[default: …]`), if it states one: what
/// `kronic config` shows for an unset variable, and what the README's table is held to.
pub fn default_of(name: &str) -> Option<&'static str> {
    let (_, meaning) = ENV_VARS.iter().find(|(n, _)| *n == name)?;
    let start = meaning.find("[default: ")? + "[default: ".len();
    let len = meaning[start..].find(']')?;
    Some(&meaning[start..start + len])
}

/// Names kronic's own scripts and tests put in the environment (never read by kronic):
/// not typos.
const TOOLING: &[&str] = &[
    "KRONIC_TEST_",
    "KRONIC_BENCH_",
    "KRONIC_DEB_PROFILE",
    "KRONIC_STATIC_PROFILE",
    "KRONIC_UPDATE_GENERATED",
    "KRONIC_FUZZ_CASES",
    "KRONIC_WEED",
    "KRONIC_PG_CACHE",
    "KRONIC_BIN",
];

/// The `KRONIC_*` names in `names` that kronic does not know: a typo in the environment
/// must not silently mean "not set", as it does not in the configuration file. Names
/// starting with `KRONIC_X_` are the documented escape for deliberate extras.
pub fn unknown<'a>(names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    names
        .filter(|n| n.starts_with("KRONIC_") && !n.starts_with("KRONIC_X_"))
        .filter(|n| !ENV_VARS.iter().any(|(v, _)| v == n))
        .filter(|n| !TOOLING.iter().any(|t| n.starts_with(t)))
        .collect()
}
