//! pg_dump (and any other PostgreSQL client tool): finding a version that can talk to the server, and handing them the
//! connection settings without ever putting the password in argv or the environment.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tokio::process::Command;

use crate::config::DbConfig;
use crate::exit::{Code, fail};
use crate::tls::effective_mode;

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
    if let Some(dir) = std::env::var_os("KRONIC_PG_BINDIR").filter(|d| !d.is_empty()) {
        let path = Path::new(&dir).join(name);
        let tool = probe(&path).await.ok_or_else(|| {
            fail(
                Code::Unavailable,
                format!("KRONIC_PG_BINDIR: no working {name} at {}", path.display()),
            )
        })?;
        return check_new_enough(tool, name, server_major);
    }
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
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
    let out = Command::new(path)
        .arg("--version")
        .kill_on_drop(true)
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
    let row = crate::db::query(
        client,
        "SELECT current_setting('server_version_num')::int",
        &[],
    )
    .await
    .context("cannot read the server version")?;
    Ok((row[0].get::<_, i32>(0) / 10_000) as u32)
}

/// A private (0600) passfile that lives as long as this value. libpq reads it through
/// PGPASSFILE, so the password is neither in argv nor in /proc/PID/environ.
pub struct Passfile {
    path: Option<PathBuf>,
}

impl Passfile {
    pub fn new(db: &DbConfig) -> Result<Passfile> {
        let Some(pw) = &db.password else {
            return Ok(Passfile { path: None });
        };
        let dir = std::env::temp_dir();
        remove_stale_passfiles(&dir);
        for attempt in 0..100u32 {
            let path = dir.join(format!("kronic-pgpass-{}-{attempt}", std::process::id()));
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
            {
                Ok(mut f) => {
                    // Any host, port, database and user: the file is for this one child.
                    let line = format!("*:*:*:*:{}\n", escape(pw.expose()));
                    let written = f.write_all(line.as_bytes());
                    let pass = Passfile { path: Some(path) };
                    written.context("cannot write the private passfile")?;
                    return Ok(pass);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(fail(
                        Code::CantCreate,
                        format!("cannot create a passfile in {}: {e}", dir.display()),
                    ));
                }
            }
        }
        Err(fail(
            Code::CantCreate,
            format!("cannot create a passfile in {}", dir.display()),
        ))
    }
}

impl Drop for Passfile {
    fn drop(&mut self) {
        if let Some(p) = &self.path {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Passfiles of kronic processes that no longer exist (killed with SIGKILL, which no
/// cleanup survives): removed by the next run, so a password does not linger on disk.
fn remove_stale_passfiles(dir: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("kronic-pgpass-")
            .and_then(|r| r.split('-').next())
        else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// `\` and `:` are escaped in a passfile field.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace(':', "\\:")
}

/// A command for `tool` connected to `db` through libpq's environment: PG* variables for
/// the target, the passfile for the password, and no prompting.
pub fn command(tool: &Tool, db: &DbConfig, pass: &Passfile) -> Command {
    let mut cmd = Command::new(&tool.path);
    // Only our settings: nothing from the operator's PG* environment or ~/.pgpass, and
    // no KRONIC_* variable (they hold passwords) in the child's /proc/PID/environ.
    for (k, _) in std::env::vars_os() {
        let k_str = k.to_string_lossy();
        if k_str.starts_with("PG") || k_str.starts_with("KRONIC_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("PGHOST", &db.host)
        .env("PGPORT", db.port.to_string())
        .env("PGDATABASE", &db.dbname)
        .env("PGUSER", &db.user)
        .env("PGSSLMODE", effective_mode(db).as_str())
        .env(
            "PGCONNECT_TIMEOUT",
            db.connect_timeout.as_secs().max(2).to_string(),
        )
        .env("PGAPPNAME", "kronic");
    if let Some(root) = &db.sslrootcert {
        cmd.env("PGSSLROOTCERT", root);
    }
    match &pass.path {
        Some(p) => cmd.env("PGPASSFILE", p),
        None => cmd.env("PGPASSFILE", "/dev/null"),
    };
    cmd.arg("--no-password").kill_on_drop(true);
    cmd
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
    } else if s.contains("timeout") || s.contains("the database system is starting up") {
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
    }
}
