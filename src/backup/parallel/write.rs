//! Writing a parallel backup's members: the COPY tasks on the workers and the three
//! pg_dump sections beside them, each stream compressed (and encrypted) as it is
//! written, into the backup's temporary folder, into its upload, or both at once.

use std::collections::VecDeque;
use std::fs::OpenOptions;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use bytes::Bytes;
use futures_util::StreamExt;
use indicatif::HumanBytes;

use super::{Kind, Member};
use crate::backup::manifest::{DumpStats, Observed};
use crate::backup::pipeline::{self, Failure, Output, Sink};
use crate::backup::remote::members::MemberUploads;
use crate::backup::remote::upload::Upload;
use crate::backup::take::{self as single, Plan};
use crate::config::Config;
use crate::pg::db;
use crate::pg::tools::{self, Passfile};
use crate::report::exit::{Code, fail, io_code};
use crate::report::progress::Progress;

/// What a worker hands its compressing thread at a time.
const CHUNK: usize = 256 << 10;

/// One COPY a worker runs.
#[derive(Clone)]
pub(super) struct Task {
    pub(super) schema: String,
    pub(super) table: String,
    pub(super) columns: Vec<String>,
    pub(super) pages: Option<(u64, Option<u64>)>,
    /// Its expected share of the work (pages), for the biggest-first order.
    pub(super) weight: u64,
    /// The table as pg_dump's COPY names it (the manifest's `tables` key).
    pub(super) label: String,
}

impl Task {
    pub(super) fn copy_sql(&self) -> String {
        let q = db::quote_ident;
        let cols: Vec<String> = self.columns.iter().map(|c| q(c)).collect();
        let table = format!("{}.{}", q(&self.schema), q(&self.table));
        match self.pages {
            None => format!("COPY {table} ({}) TO STDOUT", cols.join(", ")),
            // A TID range scan (PostgreSQL 14+) reads only those pages. ONLY: a parent's
            // partitions are members of their own.
            Some((from, to)) => format!(
                "COPY (SELECT {} FROM ONLY {table} WHERE ctid >= '({from},0)'::tid{}) TO STDOUT",
                cols.join(", "),
                to.map(|t| format!(" AND ctid < '({t},0)'::tid"))
                    .unwrap_or_default()
            ),
        }
    }
}

/// What the SQL members counted.
#[derive(Default)]
pub(super) struct Counted {
    pub(super) sql_bytes: u64,
    pub(super) dumped: DumpStats,
}

/// Where members go: the temporary folder (None: `--remote-only`), the bucket, or both.
pub(super) struct Dest<'a> {
    pub(super) folder: Option<&'a Path>,
    pub(super) uploads: Option<&'a MemberUploads>,
    /// With a local copy, the offsite copy's first failure: later members go to the
    /// folder only, and the backup ends with exit 3 (without one, a failure is the
    /// backup's).
    pub(super) offsite_failed: Mutex<Option<anyhow::Error>>,
}

impl Dest<'_> {
    /// Member `file`'s path, or its object's URL (for messages).
    fn label(&self, file: &str) -> PathBuf {
        match (self.folder, self.uploads) {
            (Some(folder), _) => folder.join(file),
            (None, Some(u)) => PathBuf::from(u.url()).join(file),
            (None, None) => PathBuf::from(file),
        }
    }

    /// Member `file`'s output: a new file (0600), its upload, or both; through
    /// encryption when recipients are set.
    async fn open(&self, file: &str, plan: &Plan) -> Result<(Output, Option<Upload>)> {
        let local = match self.folder {
            Some(folder) => Some(create_member(&folder.join(file))?),
            None => None,
        };
        let mut upload = None;
        if let Some(uploads) = self.uploads
            && !self.offsite_lost()
        {
            match uploads.start(file).await {
                Ok(u) => upload = Some(u),
                Err(e) => self.lose_offsite(e)?,
            }
        }
        let feed = upload.as_mut().map(Upload::feed);
        let output = Output::new(Sink::new(local, feed), plan.recipients.as_ref())?;
        Ok((output, upload))
    }

    /// Completes member `file`'s upload, if it has one, once its `bytes` are written.
    async fn finish(&self, file: &str, upload: Option<Upload>, bytes: u64) -> Result<()> {
        match (self.uploads, upload) {
            (Some(uploads), Some(u)) if !self.offsite_lost() => {
                if let Err(e) = uploads.complete(file, u, bytes).await {
                    self.lose_offsite(e)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn offsite_lost(&self) -> bool {
        self.offsite_failed
            .lock()
            .expect("the offsite state")
            .is_some()
    }

    /// An upload failed: the backup's failure without a local copy; with one, written
    /// down (the first) and the backup goes on locally.
    fn lose_offsite(&self, e: anyhow::Error) -> Result<()> {
        if self.folder.is_none() {
            return Err(e);
        }
        let mut failed = self.offsite_failed.lock().expect("the offsite state");
        if failed.is_none() {
            tracing::warn!("{e:#}; the backup goes on locally");
            *failed = Some(e);
        }
        Ok(())
    }
}

/// Writes every member to `dest`: the COPY tasks on `plan.jobs` workers, the three
/// pg_dump sections beside them. The members in the manifest's order.
pub(super) async fn write_members(
    config: &Config,
    plan: &Plan,
    pg_dump: &tools::Tool,
    snapshot: &str,
    tasks: Vec<Task>,
    dest: &Dest<'_>,
) -> Result<(Vec<Member>, Counted)> {
    let ext = format!(
        "{}{}",
        plan.compression.suffix().trim_start_matches(".sql"),
        if plan.recipients.is_some() {
            ".age"
        } else {
            ""
        }
    );
    let exclude: Vec<String> = tasks
        .iter()
        .map(|t| format!("{}.{}", pattern(&t.schema), pattern(&t.table)))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let sections = [
        (
            Kind::PreData,
            "--section=pre-data",
            format!("0000-pre-data.sql{ext}"),
        ),
        (
            Kind::OtherData,
            "--section=data",
            format!("0001-other-data.sql{ext}"),
        ),
        (
            Kind::PostData,
            "--section=post-data",
            format!("0002-post-data.sql{ext}"),
        ),
    ];
    let mut dumps = Vec::new();
    for (kind, section, file) in sections {
        let mut args = vec![section.to_string(), format!("--snapshot={snapshot}")];
        if kind == Kind::OtherData {
            args.extend(exclude.iter().map(|p| format!("--exclude-table-data={p}")));
        }
        dumps.push(dump_section(config, plan, pg_dump, args, dest, kind, file));
    }
    let queue: Arc<Mutex<VecDeque<(usize, Task)>>> =
        Arc::new(Mutex::new(tasks.into_iter().enumerate().collect()));
    let mut workers = Vec::new();
    for _ in 0..plan.jobs {
        workers.push(worker(config, plan, snapshot, queue.clone(), dest, &ext));
    }
    let (dumped, copied) = tokio::join!(
        futures_util::future::try_join_all(dumps),
        futures_util::future::try_join_all(workers)
    );
    let (dumped, copied) = (dumped?, copied?);
    let mut counted = Counted::default();
    let mut members = Vec::new();
    let mut data: Vec<(usize, Member, u64)> = copied.into_iter().flatten().collect();
    data.sort_by_key(|(i, _, _)| *i);
    counted.sql_bytes = data.iter().map(|(_, _, sql_bytes)| sql_bytes).sum();
    for (member, sql_bytes, stats) in dumped {
        counted.sql_bytes += sql_bytes;
        counted.dumped.indexes.extend(stats.indexes);
        counted.dumped.constraints.extend(stats.constraints);
        members.push(member);
    }
    // pre-data, the table data, then the other data and post-data: the order a restore
    // loads them in.
    let post = members.split_off(1);
    members.extend(data.into_iter().map(|(_, m, _)| m));
    members.extend(post);
    Ok((members, counted))
}

/// A name as a pg_dump pattern that matches only itself (inside double quotes every
/// pattern character is literal).
fn pattern(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// One pg_dump section on the snapshot into member `file`.
async fn dump_section(
    config: &Config,
    plan: &Plan,
    pg_dump: &tools::Tool,
    args: Vec<String>,
    dest: &Dest<'_>,
    kind: Kind,
    file: String,
) -> Result<(Member, u64, DumpStats)> {
    let pass = Passfile::new(&config.db)?;
    let mut cmd = tools::command(pg_dump, &config.db, &pass);
    cmd.args(["--format=plain", "--no-owner", "--no-privileges"])
        .args(&args)
        .arg(format!(
            "--lock-wait-timeout={}ms",
            plan.lock_wait.as_millis().max(1)
        ));
    let path = dest.label(&file);
    let (output, upload) = dest.open(&file, plan).await?;
    let (mut child, stdout) = tools::spawn("pg_dump", cmd, pass)?;
    let (compression, level) = (plan.compression, plan.level);
    let written = tokio::task::spawn_blocking(move || {
        let mut dumped = DumpStats::new();
        let input = Observed {
            inner: stdout,
            stats: &mut dumped,
        };
        let r = pipeline::compress_on(
            input,
            output,
            compression,
            level,
            1,
            &mut Progress::hidden(),
        );
        (r, dumped)
    })
    .await
    .context("a compression task failed")?;
    let (flowed, dumped) = written;
    if flowed.is_err() {
        child.kill();
    }
    let finished = child.finish().await;
    let flowed = flowed.map_err(|f| member_failure(&path, f))?;
    single::dump_complete(finished, flowed.complete)?;
    dest.finish(&file, upload, flowed.out_bytes).await?;
    Ok((
        Member {
            file,
            kind,
            schema: None,
            table: None,
            columns: Vec::new(),
            pages: None,
            rows: 0,
            bytes: flowed.out_bytes,
            sha256: flowed.sha256,
        },
        flowed.sql_bytes,
        dumped,
    ))
}

/// A member file, new, 0600.
fn create_member(path: &Path) -> Result<std::fs::File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| {
            fail(
                crate::fsutil::cant_create(&e),
                format!(
                    "cannot create {}: {e}; no backup was pruned",
                    path.display()
                ),
            )
        })
}

fn member_failure(path: &Path, f: Failure) -> anyhow::Error {
    match f {
        Failure::Write(e) => fail(
            match io_code(&e) {
                Code::NoPerm => Code::CantCreate,
                _ => Code::IoErr,
            },
            format!(
                "cannot write {}: {e}; the partial backup was removed and no backup was pruned",
                path.display()
            ),
        ),
        Failure::Read(e) => fail(
            Code::IoErr,
            format!("cannot read the data of {}: {e}", path.display()),
        ),
    }
}

/// One worker: its own connection in the leader's snapshot, taking tasks until none
/// are left. The members it wrote, with their task numbers and their COPY bytes.
async fn worker(
    config: &Config,
    plan: &Plan,
    snapshot: &str,
    queue: Arc<Mutex<VecDeque<(usize, Task)>>>,
    dest: &Dest<'_>,
    ext: &str,
) -> Result<Vec<(usize, Member, u64)>> {
    let client = db::connect(&config.db).await?;
    db::batch(
        &client,
        &format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SET TRANSACTION SNAPSHOT '{}'; SET LOCAL row_security = off",
            snapshot.replace('\'', "''")
        ),
    )
    .await?;
    let mut out = Vec::new();
    loop {
        let next = queue.lock().expect("the task queue").pop_front();
        let Some((i, task)) = next else { break };
        let file = format!("{:04}-data.copy{ext}", i + 3);
        let path = dest.label(&file);
        let (output, upload) = dest.open(&file, plan).await?;
        let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(8);
        let (compression, level) = (plan.compression, plan.level);
        let writer = tokio::task::spawn_blocking(move || {
            let mut rows = Rows {
                rx,
                pending: Bytes::new(),
                lines: 0,
            };
            let r = pipeline::compress_on(
                &mut rows,
                output,
                compression,
                level,
                1,
                &mut Progress::hidden(),
            );
            (r, rows.lines)
        });
        let sql = task.copy_sql();
        db::log_sql(&sql);
        let stream = client.copy_out(sql.as_str()).await;
        // A task of its own: the runtime runs it where the connection's task wakes it
        // (mostly the same thread), instead of waking this command's thread for every
        // batch of rows (measured in docs/performance.md). Stopped if this worker is.
        let sent = tokio_util::task::AbortOnDropHandle::new(tokio::spawn(async move {
            let sent = gather(stream, &tx).await;
            if let Err(e) = &sent {
                let _ = tx.send(Err(io::Error::other(e.to_string()))).await;
            }
            sent
        }))
        .await
        .context("a copying task failed")?;
        let (flowed, rows) = writer.await.context("a compression task failed")?;
        sent.map_err(|e| {
            fail(
                e.code().map_or(Code::Unavailable, |c| {
                    crate::report::exit::sqlstate_code(c.code())
                }),
                format!(
                    "cannot copy {}.{}: {}; no backup was written",
                    task.schema,
                    task.table,
                    db_error(&e)
                ),
            )
        })?;
        let flowed = flowed.map_err(|f| member_failure(&path, f))?;
        dest.finish(&file, upload, flowed.out_bytes).await?;
        tracing::debug!(
            "{file}: {} rows of {}.{}, {}",
            rows,
            task.schema,
            task.table,
            HumanBytes(flowed.out_bytes)
        );
        out.push((
            i,
            Member {
                file,
                kind: Kind::Data,
                schema: Some(task.schema),
                table: Some(task.table),
                columns: task.columns,
                pages: task.pages,
                rows,
                bytes: flowed.out_bytes,
                sha256: flowed.sha256,
            },
            flowed.sql_bytes,
        ));
    }
    Ok(out)
}

/// COPY arrives a row a message: gathered into chunks, so that the compressing thread
/// is woken per chunk, not per row.
async fn gather(
    stream: Result<tokio_postgres::CopyOutStream, tokio_postgres::Error>,
    tx: &tokio::sync::mpsc::Sender<io::Result<Bytes>>,
) -> Result<(), tokio_postgres::Error> {
    let mut stream = std::pin::pin!(stream?);
    let mut gathered = bytes::BytesMut::with_capacity(CHUNK);
    while let Some(chunk) = stream.next().await {
        gathered.extend_from_slice(&chunk?);
        if gathered.len() >= CHUNK && tx.send(Ok(gathered.split().freeze())).await.is_err() {
            return Ok(());
        }
    }
    if !gathered.is_empty() {
        let _ = tx.send(Ok(gathered.freeze())).await;
    }
    Ok(())
}

fn db_error(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => d.message().to_string(),
        None => e.to_string(),
    }
}

/// COPY's rows as a blocking reader (for the compressing thread), counting its lines:
/// in COPY's text format one line is one row.
struct Rows {
    rx: tokio::sync::mpsc::Receiver<io::Result<Bytes>>,
    pending: Bytes,
    lines: u64,
}

impl Read for Rows {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pending.is_empty() {
            match self.rx.blocking_recv() {
                None => return Ok(0),
                Some(chunk) => self.pending = chunk?,
            }
        }
        let n = buf.len().min(self.pending.len());
        let part = self.pending.split_to(n);
        self.lines += memchr::memchr_iter(b'\n', &part).count() as u64;
        buf[..n].copy_from_slice(&part);
        Ok(n)
    }
}
