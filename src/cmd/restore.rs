//! `kronic restore`: streams a backup into psql inside one transaction that kronic commits
//! only after the whole file has been read and checked.
//!
//! psql's own `--single-transaction` commits whenever its input ends, and its input ends
//! early when kronic is killed. So kronic sends `BEGIN` itself and sends `COMMIT` only
//! after the gzip checksum and pg_dump's closing line were seen; any other end (an error,
//! a cut file, Ctrl-C, SIGTERM, SIGKILL) ends the session without it, and PostgreSQL
//! rolls everything back.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use indicatif::HumanBytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::archive::{self, DumpReader, Format};
use crate::cli::RestoreArgs;
use crate::config::{Config, DbConfig};
use crate::db;
use crate::exit::{Code, fail};
use crate::pgtools::{self, Passfile};
use crate::progress::Progress;

struct Source {
    path: PathBuf,
    format: Format,
    size: u64,
    time: Option<DateTime<Utc>>,
}

fn source(args: &RestoreArgs) -> Result<Source> {
    let path = match &args.file {
        Some(f) => f.clone(),
        None => archive::latest(&args.dir.dir)?.path,
    };
    let meta = std::fs::metadata(&path).map_err(|e| {
        fail(
            crate::exit::io_code(&e),
            format!("cannot open {}: {e}", path.display()),
        )
    })?;
    if !meta.is_file() {
        return Err(fail(
            Code::NoInput,
            format!("{} is not a file", path.display()),
        ));
    }
    let format = archive::sniff(&path)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let time = archive::parse_backup_name(&name)
        .or_else(|| meta.modified().ok().map(DateTime::<Utc>::from));
    Ok(Source {
        path,
        format,
        size: meta.len(),
        time,
    })
}

pub async fn run(config: &Config, args: RestoreArgs) -> Result<Code> {
    let src = source(&args)?;
    let target = match &args.target_db {
        Some(name) => config.db.with_dbname(name),
        None => config.db.clone(),
    };

    // Look at the target before asking: it must exist (or be creatable) and we need its version.
    let (client, missing) = match db::connect_wait(&target, args.wait.wait).await {
        Ok(c) => (c, false),
        Err(e) if args.create && is_missing_database(&e) => {
            (db::connect(&target.with_dbname("postgres")).await?, true)
        }
        Err(e) => return Err(e),
    };
    let major = pgtools::server_major(&client).await?;
    let psql = pgtools::find("psql", major).await?;

    let when = src
        .time
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "unknown time".into());
    let question = format!(
        "Restore {} ({when}, {}) into {}{}? Its current contents will be replaced",
        src.path.display(),
        HumanBytes(src.size),
        target.display(),
        if missing { " (to be created)" } else { "" }
    );
    super::confirm(&question, args.yes)?;

    if missing {
        let sql = format!("CREATE DATABASE {}", quote_ident(&target.dbname));
        db::batch(&client, &sql).await.map_err(|e| {
            let code = crate::exit::classify(&anyhow::Error::new(e));
            fail(
                code,
                format!(
                    "cannot create database {}: permission denied or invalid name",
                    target.dbname
                ),
            )
        })?;
        tracing::info!("created database {}", target.dbname);
    }
    drop(client);

    let started = Instant::now();
    let sql_bytes = tokio::select! {
        r = restore(&psql, &target, &src) => r,
        _ = super::shutdown_signal() => Err(fail(
            Code::Interrupted,
            format!("interrupted: the restore was rolled back; {} is unchanged", target.display()),
        )),
    }?;
    let secs = started.elapsed().as_secs_f64();
    super::say(format!(
        "Restore completed: {} into {} ({} of SQL from {} in {secs:.1}s)",
        src.path.display(),
        target.display(),
        HumanBytes(sql_bytes),
        HumanBytes(src.size)
    ))?;
    Ok(Code::Ok)
}

fn is_missing_database(e: &anyhow::Error) -> bool {
    format!("{e}").contains("does not exist")
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// What the reading side concluded about the file.
type Verdict = Result<u64>;

async fn restore(psql: &pgtools::Tool, target: &DbConfig, src: &Source) -> Result<u64> {
    let pass = Passfile::new(target)?;
    let mut cmd = pgtools::command(psql, target, &pass);
    cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        // Not in our process group: a terminal's Ctrl-C reaches kronic, which decides.
        .process_group(0);
    let mut child = cmd.spawn().context("cannot start psql")?;
    let mut stdin = child.stdin.take().context("psql has no stdin")?;
    let mut stderr = child.stderr.take().context("psql has no stderr")?;
    let stderr_task = tokio::spawn(async move {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s).await;
        s
    });

    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(8);
    let file = archive::open(&src.path)?;
    let (format, size, path) = (src.format, src.size, src.path.clone());
    let reader = tokio::task::spawn_blocking(move || read_dump(file, format, size, &path, tx));

    // The same line as the dump's first, so psql's line numbers match the file's.
    let mut psql_gone = stdin.write_all(b"BEGIN; ").await.is_err();
    while let Some(chunk) = rx.recv().await {
        if psql_gone {
            continue;
        }
        if stdin.write_all(&chunk).await.is_err() {
            // psql stopped (an SQL error): its stderr says why.
            psql_gone = true;
            rx.close();
        }
    }
    let verdict: Verdict = reader.await.context("the reading task failed")?;

    if psql_gone {
        let _ = child.start_kill();
        let _ = child.wait().await;
        return Err(psql_error(&stderr_task.await.unwrap_or_default(), target));
    }
    match verdict {
        Err(e) => {
            // Never let psql see the end of its input: kill it, PostgreSQL rolls back.
            let _ = child.start_kill();
            let _ = child.wait().await;
            Err(e)
        }
        Ok(sql_bytes) => {
            stdin.write_all(b"\nCOMMIT;\n").await.ok();
            drop(stdin);
            let status = child.wait().await.context("cannot wait for psql")?;
            let errors = stderr_task.await.unwrap_or_default();
            if status.success() {
                for line in errors.lines().filter(|l| !l.trim().is_empty()) {
                    tracing::debug!("psql: {line}");
                }
                Ok(sql_bytes)
            } else {
                Err(psql_error(&errors, target))
            }
        }
    }
}

/// Reads, decompresses, adapts and checks the dump, sending SQL to `tx`.
fn read_dump(
    file: std::fs::File,
    format: Format,
    size: u64,
    path: &Path,
    tx: tokio::sync::mpsc::Sender<Vec<u8>>,
) -> Verdict {
    let progress = Progress::new("read", Some(size));
    let mut reader = DumpReader::new(
        CountingReader {
            inner: file,
            progress,
        },
        format,
    );
    let mut fixer = CleanFixer::default();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => return Err(archive::read_error(path, e).context("nothing was restored")),
        };
        let mut out = Vec::with_capacity(n + 64);
        fixer.feed(&buf[..n], &mut out);
        if tx.blocking_send(out).is_err() {
            // psql is gone; the caller reports why.
            return Ok(reader.sql_bytes);
        }
    }
    let mut rest = Vec::new();
    fixer.finish(&mut rest);
    if !rest.is_empty() && tx.blocking_send(rest).is_err() {
        return Ok(reader.sql_bytes);
    }
    if !reader.complete() {
        return Err(fail(
            Code::DataErr,
            format!(
                "{} ends before pg_dump's \"dump complete\" line (truncated?); nothing was restored",
                path.display()
            ),
        ));
    }
    Ok(reader.sql_bytes)
}

/// Counts file bytes for the progress bar.
struct CountingReader {
    inner: std::fs::File,
    progress: Progress,
}

impl Read for CountingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.add(n as u64);
        Ok(n)
    }
}

fn psql_error(stderr: &str, target: &DbConfig) -> anyhow::Error {
    let first_error = stderr
        .lines()
        .find(|l| l.contains("ERROR:") || l.contains("FATAL:") || l.contains("error:"))
        .or_else(|| stderr.lines().rev().find(|l| !l.trim().is_empty()))
        .unwrap_or("psql stopped without a message")
        .trim()
        .replace("psql:<stdin>:", "line ");
    let code = match pgtools::failure_code(stderr) {
        Code::Software => Code::DataErr,
        c => c,
    };
    fail(
        code,
        format!(
            "restore failed at {first_error}; rolled back, {} is unchanged",
            target.display()
        ),
    )
}

/// Makes the clean section of dumps made with `--clean` but without `--if-exists` (the
/// seed's script) work on an empty database: its `DROP`s get `IF EXISTS`. The section
/// ends at the first `CREATE` or `COPY`; nothing after it is touched.
#[derive(Default)]
struct CleanFixer {
    done: bool,
    partial: Vec<u8>,
}

/// Object kinds pg_dump drops, longest first so "DROP MATERIALIZED VIEW" wins over "VIEW".
const DROP_KINDS: &[&str] = &[
    "TEXT SEARCH CONFIGURATION",
    "TEXT SEARCH DICTIONARY",
    "FOREIGN DATA WRAPPER",
    "TEXT SEARCH TEMPLATE",
    "TEXT SEARCH PARSER",
    "MATERIALIZED VIEW",
    "OPERATOR FAMILY",
    "OPERATOR CLASS",
    "EVENT TRIGGER",
    "FOREIGN TABLE",
    "ACCESS METHOD",
    "SUBSCRIPTION",
    "PUBLICATION",
    "CONVERSION",
    "STATISTICS",
    "AGGREGATE",
    "COLLATION",
    "EXTENSION",
    "PROCEDURE",
    "TRANSFORM",
    "FUNCTION",
    "LANGUAGE",
    "OPERATOR",
    "SEQUENCE",
    "TRIGGER",
    "DOMAIN",
    "POLICY",
    "SCHEMA",
    "SERVER",
    "INDEX",
    "TABLE",
    "CAST",
    "RULE",
    "TYPE",
    "VIEW",
];

impl CleanFixer {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        if self.done {
            out.extend_from_slice(chunk);
            return;
        }
        self.partial.extend_from_slice(chunk);
        let mut start = 0;
        while let Some(pos) = self.partial[start..].iter().position(|&b| b == b'\n') {
            let line = &self.partial[start..start + pos + 1];
            if line.starts_with(b"CREATE ") || line.starts_with(b"COPY ") {
                self.done = true;
                out.extend_from_slice(&self.partial[start..]);
                self.partial.clear();
                return;
            }
            match std::str::from_utf8(line).ok().and_then(if_exists) {
                Some(fixed) => out.extend_from_slice(fixed.as_bytes()),
                None => out.extend_from_slice(line),
            }
            start += pos + 1;
        }
        self.partial.drain(..start);
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.partial);
    }
}

/// `DROP TABLE public.x;` → `DROP TABLE IF EXISTS public.x;`, and
/// `ALTER TABLE ONLY t DROP CONSTRAINT c;` → `ALTER TABLE IF EXISTS ONLY t DROP CONSTRAINT IF EXISTS c;`.
fn if_exists(line: &str) -> Option<String> {
    if line.contains(" IF EXISTS ") {
        return None;
    }
    if let Some(rest) = line.strip_prefix("DROP ") {
        let kind = DROP_KINDS
            .iter()
            .find(|k| rest.starts_with(&format!("{k} ")))?;
        return Some(format!("DROP {kind} IF EXISTS {}", &rest[kind.len() + 1..]));
    }
    if let Some(rest) = line.strip_prefix("ALTER TABLE ") {
        if !rest.contains(" DROP ") {
            return None;
        }
        let rest = rest.replacen(" DROP CONSTRAINT ", " DROP CONSTRAINT IF EXISTS ", 1);
        return Some(format!("ALTER TABLE IF EXISTS {rest}"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_section_gets_if_exists_and_nothing_else_changes() {
        let dump = "--\nSET x = 1;\n\
            ALTER TABLE ONLY public.user_roles DROP CONSTRAINT user_roles_pkey;\n\
            ALTER TABLE public.roles ALTER COLUMN id DROP DEFAULT;\n\
            DROP INDEX public.user_roles_role_id_idx;\n\
            DROP MATERIALIZED VIEW public.mv;\n\
            DROP TABLE IF EXISTS public.already;\n\
            CREATE TABLE public.users (id int);\n\
            DROP TABLE public.not_in_clean_section;\n";
        let mut f = CleanFixer::default();
        let mut out = Vec::new();
        // Byte by byte: lines split across chunks.
        for b in dump.as_bytes() {
            f.feed(std::slice::from_ref(b), &mut out);
        }
        f.finish(&mut out);
        let out = String::from_utf8(out).unwrap();
        assert_eq!(
            out,
            "--\nSET x = 1;\n\
            ALTER TABLE IF EXISTS ONLY public.user_roles DROP CONSTRAINT IF EXISTS user_roles_pkey;\n\
            ALTER TABLE IF EXISTS public.roles ALTER COLUMN id DROP DEFAULT;\n\
            DROP INDEX IF EXISTS public.user_roles_role_id_idx;\n\
            DROP MATERIALIZED VIEW IF EXISTS public.mv;\n\
            DROP TABLE IF EXISTS public.already;\n\
            CREATE TABLE public.users (id int);\n\
            DROP TABLE public.not_in_clean_section;\n"
        );
    }
}
