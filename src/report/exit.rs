//! Exit codes, in one place: every failure is mapped to one of these (sysexits.h).

use std::fmt;

/// The documented exit codes. The README's table is the contract with scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Ok = 0,
    /// Migrations are pending (`migrate current --exit-code`), the schema differs from
    /// what the migrations build (`migrate check`), or a question was answered no.
    Attention = 1,
    /// The backup was kept in the folder, but its offsite copy failed.
    LocalOnly = 3,
    /// A migration would take the application down: an error finding of `migrate lint`,
    /// a blocking rewrite in `migrate plan`, or `migrate up --lint deny` refusing.
    Unsafe = 4,
    /// Wrong usage: a missing `--yes` off a terminal, conflicting flags.
    Usage = 64,
    /// Bad input data: a failing or divergent migration, an invalid email, a corrupt backup.
    DataErr = 65,
    /// An input file (a backup, a migration folder) does not exist.
    NoInput = 66,
    /// The database cannot be reached (refused, no route, unknown host, no such database).
    Unavailable = 69,
    /// A bug or an unexpected failure.
    Software = 70,
    /// An output file or folder cannot be created.
    CantCreate = 73,
    /// Reading or writing failed (disk full, I/O error).
    IoErr = 74,
    /// Try again later: timeout, lock held, too many connections, server starting.
    TempFail = 75,
    /// Authentication failed or permission denied.
    NoPerm = 77,
    /// Invalid configuration: a bad variable, flag or URL.
    Config = 78,
    /// Stopped by SIGINT, SIGTERM, SIGHUP or SIGQUIT after cleaning up (128 + SIGINT, as
    /// shells report for Ctrl-C).
    Interrupted = 130,
}

impl Code {
    /// Every code, in order.
    pub const ALL: [Code; 15] = [
        Code::Ok,
        Code::Attention,
        Code::LocalOnly,
        Code::Unsafe,
        Code::Usage,
        Code::DataErr,
        Code::NoInput,
        Code::Unavailable,
        Code::Software,
        Code::CantCreate,
        Code::IoErr,
        Code::TempFail,
        Code::NoPerm,
        Code::Config,
        Code::Interrupted,
    ];

    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// What the code means, for the help, the man pages and the README.
    pub fn meaning(self) -> &'static str {
        match self {
            Code::Ok => "success",
            Code::Attention => {
                "migrations are pending (migrate current --exit-code), the live schema differs from what the migrations build (migrate check), backup verify could not check an encrypted backup's content (no identity given), or a question was answered no (nothing was changed)"
            }
            Code::LocalOnly => {
                "the backup was kept in the backup folder, but its offsite copy failed (local backup kept: NAME; offsite copy failed: …); kronic backup sync uploads it later"
            }
            Code::Unsafe => {
                "a pending migration would lock the application out: an unwaived error finding of migrate lint, a blocking rewrite over --max-rewrite in migrate plan, or migrate up --lint deny refusing (nothing was applied)"
            }
            Code::Usage => {
                "usage error (bad arguments; a destructive command without --yes off a terminal)"
            }
            Code::DataErr => {
                "bad input data (failing, divergent or missing migration; invalid seed input; corrupt, incomplete or crafted backup; SQL error during a restore)"
            }
            Code::NoInput => "input missing (backup file or folder not found)",
            Code::Unavailable => {
                "database unreachable (refused, unknown host, no such database, TLS rejected), or no usable pg_dump"
            }
            Code::Software => "internal error (including pg_dump dying unexpectedly)",
            Code::CantCreate => "cannot create output (backup folder, file, lock)",
            Code::IoErr => "I/O error (disk full, file-size limit, read error)",
            Code::TempFail => {
                "temporary failure, retry later (timeout, migration lock held, backup in progress, too many connections, server starting)"
            }
            Code::NoPerm => {
                "authentication failed or permission denied (including a backup folder or file that other users can write to, and a planted lock-file symlink)"
            }
            Code::Config => "configuration error (an invalid variable, flag or URL)",
            Code::Interrupted => {
                "interrupted by SIGINT, SIGTERM, SIGHUP or SIGQUIT, after cleaning up (and, for a restore or migration, after cancelling its statement on the server)"
            }
        }
    }
}

/// Every exit code and what it means: (code, meaning).
pub fn table() -> impl Iterator<Item = (u8, &'static str)> {
    Code::ALL.into_iter().map(|c| (c.as_u8(), c.meaning()))
}

/// A failure that decides the exit code. Commands raise it where they know what went
/// wrong; everything else falls back to [`classify`].
#[derive(Debug)]
pub struct Fail {
    pub code: Code,
    pub message: String,
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Fail {}

/// Builds an error that exits with `code`.
pub fn fail(code: Code, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Fail {
        code,
        message: message.into(),
    })
}

/// The exit code for an error: the outermost [`Fail`] in its chain decides; then
/// database and I/O errors by kind; anything else is internal (70).
pub fn classify(err: &anyhow::Error) -> Code {
    for cause in err.chain() {
        if let Some(f) = cause.downcast_ref::<Fail>() {
            return f.code;
        }
    }
    for cause in err.chain() {
        if let Some(db) = cause.downcast_ref::<tokio_postgres::error::DbError>() {
            return sqlstate_code(db.code().code());
        }
        if let Some(pg) = cause.downcast_ref::<tokio_postgres::Error>() {
            if let Some(db) = pg.as_db_error() {
                return sqlstate_code(db.code().code());
            }
            if pg.is_closed() {
                return Code::Unavailable;
            }
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return io_code(io);
        }
    }
    Code::Software
}

/// Exit code for a PostgreSQL SQLSTATE.
pub fn sqlstate_code(state: &str) -> Code {
    match state {
        // invalid_password, invalid_authorization_specification, insufficient_privilege
        "28P01" | "28000" | "42501" => Code::NoPerm,
        // cannot_connect_now (starting up / shutting down), too_many_connections,
        // lock_not_available, deadlock, serialization failure, query canceled (timeout)
        "57P03" | "53300" | "55P03" | "40P01" | "40001" | "57014" => Code::TempFail,
        // admin_shutdown, crash_shutdown, invalid_catalog_name (no such database)
        "57P01" | "57P02" | "3D000" => Code::Unavailable,
        s if s.starts_with("08") => Code::Unavailable,
        // Everything else is about the SQL kronic was asked to run.
        _ => Code::DataErr,
    }
}

/// Exit code for an I/O error.
pub fn io_code(io: &std::io::Error) -> Code {
    use std::io::ErrorKind::*;
    match io.kind() {
        NotFound => Code::NoInput,
        PermissionDenied => Code::NoPerm,
        TimedOut => Code::TempFail,
        ConnectionRefused | ConnectionReset | ConnectionAborted | HostUnreachable
        | NetworkUnreachable | AddrNotAvailable => Code::Unavailable,
        _ => Code::IoErr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outermost_fail_decides() {
        let err = fail(Code::NoPerm, "auth").context("while connecting");
        assert_eq!(classify(&err), Code::NoPerm);
    }

    #[test]
    fn io_errors_map_by_kind() {
        let err = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::StorageFull))
            .context("writing");
        assert_eq!(classify(&err), Code::IoErr);
        let err = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::NotFound));
        assert_eq!(classify(&err), Code::NoInput);
    }

    #[test]
    fn unknown_errors_are_internal() {
        assert_eq!(classify(&anyhow::anyhow!("boom")), Code::Software);
    }

    #[test]
    fn sqlstates() {
        assert_eq!(sqlstate_code("28P01"), Code::NoPerm);
        assert_eq!(sqlstate_code("57P03"), Code::TempFail);
        assert_eq!(sqlstate_code("08006"), Code::Unavailable);
        assert_eq!(sqlstate_code("42P01"), Code::DataErr);
    }
}
