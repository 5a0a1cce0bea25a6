//! Child processes, through one door: finding a pg_dump that can talk to the server,
//! starting it with a scrubbed environment and the password in memory only, reading its
//! output, and summarising its failure.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context, Result};
use rustix::fs::{MemfdFlags, Mode, fchmod, memfd_create};
use tokio::io::AsyncReadExt;
use tokio::process::Command;

use crate::config::{self, DbConfig, vars};
use crate::pg::tls::effective_mode;
use crate::report::exit::{Code, fail};

/// A PostgreSQL client program and its major version.
#[derive(Debug, Clone)]
pub struct Tool {
    pub path: PathBuf,
    pub major: u32,
}

/// Finds `name` (pg_dump) at least as new as the server: `KRONIC_PG_BINDIR` only,
/// when set; otherwise the first on PATH that is new enough, else the newest under the
/// usual PostgreSQL install folders.
pub async fn find(name: &str, server_major: u32) -> Result<Tool> {
    if let Some(dir) = config::env(vars::PG_BINDIR) {
        let path = Path::new(&dir).join(name);
        let tool = probe(&path).await.ok_or_else(|| {
            fail(
                Code::Unavailable,
                format!(
                    "{}: no working {name} at {}",
                    vars::PG_BINDIR,
                    path.display()
                ),
            )
        })?;
        return check_new_enough(tool, name, server_major);
    }
    let mut candidates: Vec<PathBuf> = config::env("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join(name)).collect())
        .unwrap_or_default();
    let mut installed: Vec<PathBuf> = Vec::new();
    for pattern_dir in [
        "/usr/lib/postgresql",
        "/usr/local/opt",
        "/opt/homebrew/opt",
        "/usr",
    ] {
        if let Ok(entries) = std::fs::read_dir(pattern_dir) {
            for e in entries.flatten() {
                let file = e.file_name().to_string_lossy().into_owned();
                if pattern_dir == "/usr/lib/postgresql"
                    || file.starts_with("postgresql@")
                    || file.starts_with("pgsql-")
                {
                    installed.push(e.path().join("bin").join(name));
                }
            }
        }
    }
    installed.sort();
    candidates.extend(installed.into_iter().rev());
    let mut best: Option<Tool> = None;
    for path in candidates {
        if !path.is_file() {
            continue;
        }
        if let Some(tool) = probe(&path).await {
            if tool.major >= server_major {
                return Ok(tool);
            }
            if best.as_ref().is_none_or(|b| tool.major > b.major) {
                best = Some(tool);
            }
        }
    }
    match best {
        Some(tool) => check_new_enough(tool, name, server_major),
        None => Err(fail(
            Code::Unavailable,
            format!(
                "{name} not found on PATH or under /usr/lib/postgresql: install the PostgreSQL {server_major} client tools or set KRONIC_PG_BINDIR"
            ),
        )),
    }
}

fn check_new_enough(tool: Tool, name: &str, server_major: u32) -> Result<Tool> {
    if tool.major < server_major {
        return Err(fail(
            Code::Unavailable,
            format!(
                "{} is version {} but the server is PostgreSQL {server_major}: {name} cannot work with a newer server; install the PostgreSQL {server_major} client tools or set KRONIC_PG_BINDIR",
                tool.path.display(),
                tool.major
            ),
        ));
    }
    Ok(tool)
}

/// Runs `tool --version` ("pg_dump (PostgreSQL) 15.18 (Debian ...)").
async fn probe(path: &Path) -> Option<Tool> {
    let out = scrubbed(path)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .await
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text.split_whitespace().nth(2)?;
    let major = version.split(['.', 'b', 'r', 'd']).next()?.parse().ok()?;
    Some(Tool {
        path: path.to_path_buf(),
        major,
    })
}

/// The server's major version.
pub async fn server_major(client: &tokio_postgres::Client) -> Result<u32> {
    let row = crate::pg::db::query(
        client,
        "SELECT current_setting('server_version_num')::int",
        &[],
    )
    .await
    .context("cannot read the server version")?;
    Ok((row[0].get::<_, i32>(0) / 10_000) as u32)
}

/// The password for one child, in a memory-only file (memfd, mode 0600) that libpq
/// reads through `PGPASSFILE=/proc/self/fd/N`: never on disk, never in argv or the
/// environment, and gone with the last process holding it, however kronic ends.
pub struct Passfile {
    fd: Option<OwnedFd>,
    /// The role it is for (messages name it).
    user: String,
}

impl Passfile {
    pub fn new(db: &DbConfig) -> Result<Passfile> {
        let user = db.user.clone();
        let Some(pw) = &db.password else {
            return Ok(Passfile { fd: None, user });
        };
        let made = (|| -> std::io::Result<OwnedFd> {
            // No CLOEXEC: the child inherits it under the same number.
            let fd = memfd_create("kronic-pgpass", MemfdFlags::empty())?;
            fchmod(&fd, Mode::from_raw_mode(0o600))?;
            let mut file = File::from(fd);
            // Any host, port, database and user: the file is for this one child.
            file.write_all(format!("*:*:*:*:{}\n", escape(pw.expose())).as_bytes())?;
            Ok(OwnedFd::from(file))
        })();
        let fd = made.map_err(|e| {
            fail(
                Code::Software,
                format!("cannot hand the password to pg_dump (memfd): {e}"),
            )
        })?;
        Ok(Passfile { fd: Some(fd), user })
    }

    /// What `PGPASSFILE` names for the child.
    fn path(&self) -> String {
        match &self.fd {
            Some(fd) => format!("/proc/self/fd/{}", fd.as_raw_fd()),
            None => "/dev/null".into(),
        }
    }
}

/// `\` and `:` are escaped in a passfile field.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace(':', "\\:")
}

/// A command for a child process with nothing of kronic's environment: no `KRONIC_*`
/// variable (they hold passwords), no operator `PG*` setting or `~/.pgpass`, messages
/// in English (kronic reads them). Every child kronic starts is made here.
fn scrubbed(program: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear().env("LC_ALL", "C").kill_on_drop(true);
    if let Some(tz) = std::env::var_os("TZ") {
        cmd.env("TZ", tz);
    }
    cmd
}

/// A command for `tool` connected to `db` through libpq's environment: PG* variables
/// for the target, the passfile for the password, and no prompting.
pub fn command(tool: &Tool, db: &DbConfig, pass: &Passfile) -> Command {
    let mut cmd = scrubbed(&tool.path);
    cmd.env("PGHOST", &db.host)
        .env("PGPORT", db.port.to_string())
        .env("PGDATABASE", &db.dbname)
        .env("PGUSER", &db.user)
        .env("PGSSLMODE", effective_mode(db).as_str())
        .env(
            "PGCONNECT_TIMEOUT",
            db.connect_timeout.as_secs().max(2).to_string(),
        )
        .env("PGAPPNAME", "kronic")
        .env("PGPASSFILE", pass.path());
    if let Some(root) = &db.sslrootcert {
        cmd.env("PGSSLROOTCERT", root);
    }
    cmd.arg("--no-password");
    cmd
}

/// A running client tool: its stdout as a plain file (for a blocking reader thread, no
/// async hop on the path every byte takes), its stderr collected in the background.
pub struct Running {
    name: String,
    child: tokio::process::Child,
    stderr: tokio::task::JoinHandle<String>,
    _pass: Passfile,
}

/// Starts `cmd` (from [`command`]) with stdout piped; `pass` lives as long as the child.
pub fn spawn(name: &str, mut cmd: Command, pass: Passfile) -> Result<(Running, File)> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start {name}"))?;
    let stdout = child.stdout.take().context("no stdout")?;
    let stdout = File::from(stdout.into_owned_fd().context("no stdout")?);
    let mut err = child.stderr.take().context("no stderr")?;
    let stderr = tokio::spawn(async move {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s).await;
        s
    });
    Ok((
        Running {
            name: name.to_string(),
            child,
            stderr,
            _pass: pass,
        },
        stdout,
    ))
}

impl Running {
    pub fn kill(&mut self) {
        let _ = self.child.start_kill();
    }

    /// Waits for the tool; a failure becomes one line (its first `error:` line) and the
    /// exit code its words point to.
    pub async fn finish(mut self) -> Result<()> {
        let status = self
            .child
            .wait()
            .await
            .with_context(|| format!("cannot wait for {}", self.name))?;
        let errors = self.stderr.await.unwrap_or_default();
        for line in errors.lines().filter(|l| !l.trim().is_empty()) {
            tracing::debug!("{}: {line}", self.name);
        }
        if status.success() {
            return Ok(());
        }
        if let Some(table) = forced_row_security(&errors) {
            let role = &self._pass.user;
            return Err(fail(
                Code::NoPerm,
                format!(
                    "{} cannot read every row of table {table}: it has FORCE ROW LEVEL SECURITY, and a dump would silently leave out the rows its policies hide; give the role BYPASSRLS (as a superuser: ALTER ROLE {role} BYPASSRLS), or back up as a role that bypasses row security",
                    self.name
                ),
            ));
        }
        // The "error:" line says what happened; "detail:" lines follow it.
        let first = errors
            .lines()
            .find(|l| l.contains("error:"))
            .or_else(|| errors.lines().rev().find(|l| !l.trim().is_empty()))
            .unwrap_or("no message")
            .trim();
        let how = match status.code() {
            Some(c) => format!("exit {c}"),
            None => "killed by a signal".to_string(),
        };
        Err(fail(
            failure_code(&errors),
            format!("{} failed ({how}): {first}", self.name),
        ))
    }
}

/// The table pg_dump stopped at because row security would hide rows from it.
fn forced_row_security(stderr: &str) -> Option<String> {
    let at = stderr.find("row-level security policy for table ")?;
    let rest = &stderr[at + "row-level security policy for table ".len()..];
    Some(rest.lines().next().unwrap_or("").trim().to_string())
}

/// The exit code for a client tool's failure, from its last words.
pub fn failure_code(stderr: &str) -> Code {
    let s = stderr.to_lowercase();
    if s.contains("password authentication failed")
        || s.contains("no password supplied")
        || s.contains("permission denied")
    {
        Code::NoPerm
    } else if s.contains("connection refused")
        || s.contains("server closed the connection")
        || s.contains("terminating connection")
        || s.contains("could not connect")
        || s.contains("no connection to the server")
        || s.contains("connection to server")
    {
        Code::Unavailable
    } else if s.contains("timeout")
        || s.contains("the database system is starting up")
        // The schema changed under pg_dump (a restore or migration dropped what it
        // had listed: "cache lookup failed for index", "relation … does not exist"
        // for a table it locked): another try later will see a settled schema.
        || s.contains("cache lookup failed")
        || s.contains("could not serialize access")
        || s.contains("deadlock detected")
    {
        Code::TempFail
    } else {
        Code::Software
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passfile_escapes() {
        assert_eq!(escape(r"a:b\c"), r"a\:b\\c");
    }

    #[test]
    fn failure_codes() {
        assert_eq!(
            failure_code(
                "pg_dump: error: connection to server at \"127.0.0.1\", port 5 failed: Connection refused"
            ),
            Code::Unavailable
        );
        assert_eq!(
            failure_code("FATAL:  password authentication failed for user \"x\""),
            Code::NoPerm
        );
        assert_eq!(failure_code("something odd"), Code::Software);
        // A backup racing an in-place restore: retry later, not an internal error.
        assert_eq!(
            failure_code(
                "pg_dump: error: query failed: ERROR:  cache lookup failed for index 16543"
            ),
            Code::TempFail
        );
    }
}
