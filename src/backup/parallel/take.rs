//! Taking a parallel backup: a leader exports its snapshot and holds ACCESS SHARE on
//! every table (as pg_dump does), N workers import that snapshot and COPY the tables out
//! (a big table in page ranges, so that it alone still keeps every worker busy), and
//! three pg_dump runs on the same snapshot write the schema and the other data. Each
//! stream is compressed (and encrypted) as it is written into a temporary folder, which
//! takes the backup's name only when every member is complete and durable.

use std::collections::{BTreeMap, VecDeque};
use std::fs::OpenOptions;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use bytes::Bytes;
use chrono::Utc;
use futures_util::StreamExt;
use indicatif::HumanBytes;

use super::{Kind, Member};
use crate::backup::manifest::{DumpStats, Manifest, Observed, Sealed};
use crate::backup::metrics::BackupStats;
use crate::backup::pipeline::{self, Failure, Output, Sink};
use crate::backup::take::{self as single, Plan, Taken};
use crate::config::Config;
use crate::pg::db;
use crate::pg::tools::{self, Passfile};
use crate::report::exit::{Code, classify, fail, io_code};
use crate::report::progress::Progress;
use crate::report::ui::{Interrupts, done};

/// What a worker hands its compressing thread at a time.
const CHUNK: usize = 256 << 10;

/// A table bigger than this is split into page ranges (8 KiB pages: 64 MiB).
const SPLIT_PAGES: u64 = 8192;

/// One COPY a worker runs.
#[derive(Clone)]
struct Task {
    schema: String,
    table: String,
    columns: Vec<String>,
    pages: Option<(u64, Option<u64>)>,
    /// Its expected share of the work (pages), for the biggest-first order.
    weight: u64,
    /// The table as pg_dump's COPY names it (the manifest's `tables` key).
    label: String,
}

impl Task {
    fn copy_sql(&self) -> String {
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

/// Takes a parallel backup into a folder in `plan.dir`. The caller checked that it is
/// local only and `plan.jobs > 1`.
pub async fn take(config: &Config, plan: &Plan) -> Result<Taken> {
    let dir = &plan.dir;
    let _xfsz = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::from_raw(25));
    let (trusted, _lock) = single::prepare(plan)?;

    let leader = db::connect_wait(&config.db, plan.wait).await?;
    let major = tools::server_major(&leader).await?;
    let server = single::describe_server(&leader).await?;
    if server.tables == 0 && !plan.allow_empty {
        return Err(fail(
            Code::DataErr,
            format!(
                "{} has no tables: there is nothing to back up (migrations not applied yet, or the wrong database?); --allow-empty backs it up anyway",
                config.db.display()
            ),
        ));
    }
    let pg_dump = tools::find("pg_dump", major).await?;
    let name = single::free_name(plan, None).await?;
    let dest = dir.join(&name);
    let mut interrupts = Interrupts::listen();
    let started_at = Utc::now();

    // The snapshot every stream reads, and the locks that keep its tables from being
    // dropped or rewritten until the last worker has it.
    db::batch(&leader, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY").await?;
    let snapshot: String = db::query(&leader, "SELECT pg_export_snapshot()", &[]).await?[0].get(0);
    let tasks = plan_tasks(&leader, plan.jobs).await?;
    lock_tables(&leader, &tasks, plan).await?;

    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}{}", crate::fsutil::TEMP_MARK))
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir_in(dir)
        .map_err(|e| {
            fail(
                crate::fsutil::cant_create(&e),
                format!("cannot create a temporary folder in {}: {e}", dir.display()),
            )
        })?;
    tracing::info!(
        "backing up {} to {} with {} jobs ({} table streams, one snapshot)",
        config.db.display(),
        dest.display(),
        plan.jobs,
        tasks.len()
    );
    let started = std::time::Instant::now();
    let labels: std::collections::HashMap<(String, String), String> = tasks
        .iter()
        .map(|t| ((t.schema.clone(), t.table.clone()), t.label.clone()))
        .collect();
    let work = write_members(config, plan, &pg_dump, &snapshot, tasks, tmp.path());
    let written = tokio::select! {
        r = work => r,
        _ = interrupts.arrived() => Err(fail(
            Code::Interrupted,
            "interrupted: the partial backup was removed and no backup was pruned",
        )),
    };
    let (members, stats) = written?;
    drop(leader);

    let tables: BTreeMap<String, u64> =
        members
            .iter()
            .filter(|m| m.kind == Kind::Data)
            .fold(BTreeMap::new(), |mut acc, m| {
                let key = (
                    m.schema.clone().unwrap_or_default(),
                    m.table.clone().unwrap_or_default(),
                );
                let label = labels.get(&key).cloned().unwrap_or_default();
                *acc.entry(label).or_default() += m.rows;
                acc
            });
    let out_bytes = members.iter().map(|m| m.bytes).sum();
    let sha256 = super::digest_of(&members);
    let backup_stats = BackupStats {
        sql_bytes: stats.sql_bytes,
        out_bytes,
        sha256: sha256.clone(),
        elapsed: started.elapsed(),
    };
    let manifest = Manifest {
        kronic_version: env!("CARGO_PKG_VERSION").into(),
        server_version: server.version.clone(),
        database: config.db.display(),
        schema_version: server.schema_version,
        started_at: started_at.to_rfc3339(),
        finished_at: Utc::now().to_rfc3339(),
        compression: plan.compression.name().into(),
        compressed_bytes: out_bytes,
        sql_bytes: stats.sql_bytes,
        sha256,
        recipients: plan
            .recipients
            .as_ref()
            .map(|r| r.names().to_vec())
            .unwrap_or_default(),
        tables,
        indexes: stats.dumped.indexes,
        constraints: stats.dumped.constraints,
        extensions: server.extensions.clone(),
        name: Some(name.clone()),
        system_identifier: server.system_identifier.clone(),
        format: Some(super::FORMAT),
        members,
    };
    // Every member durable, then the folder takes its name (one rename: the backup is
    // there whole or not at all), then the manifest next to it.
    crate::fsutil::sync_dir(tmp.path())?;
    let tmp_path = tmp.keep();
    std::fs::rename(&tmp_path, &dest).map_err(|e| {
        let _ = std::fs::remove_dir_all(&tmp_path);
        fail(
            io_code(&e),
            format!(
                "cannot name the backup {}: {e}; no backup was pruned",
                dest.display()
            ),
        )
    })?;
    crate::fsutil::sync_dir(dir)?;
    // Without its manifest a parallel backup cannot be read: it goes (disk full).
    if let Err(e) = Sealed::seal(&manifest, plan.signer.as_deref())
        .and_then(|sealed| Manifest::write(&sealed, &dest))
    {
        let _ = std::fs::remove_dir_all(&dest);
        return Err(fail(
            classify(&e),
            format!(
                "{e:#}: the manifest of {name} could not be written, so the backup was removed (free space, then run the backup again); no backup was pruned"
            ),
        ));
    }
    done(format!("Backup completed: {name}"))?;
    single::log_stats(&name, &backup_stats);
    single::settle(config, plan, &name, &backup_stats, &None, &mut interrupts)?;
    Ok(Taken {
        path: dest,
        trusted,
        offsite: None,
    })
}

/// The tables whose rows kronic copies itself (ordinary and partition tables outside the
/// system schemas, not an extension's), with the columns COPY lists (generated ones are
/// not dumped), split by pages when big; biggest first.
async fn plan_tasks(leader: &tokio_postgres::Client, jobs: usize) -> Result<Vec<Task>> {
    let rows = db::query(
        leader,
        "SELECT n.nspname::text, c.relname::text, \
                array(SELECT a.attname::text FROM pg_attribute a \
                      WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
                        AND a.attgenerated = '' ORDER BY a.attnum), \
                (pg_relation_size(c.oid) / current_setting('block_size')::int)::bigint, \
                format('%I.%I', n.nspname, c.relname) \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind = 'r' AND c.relpersistence IN ('p', 'u') \
           AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' \
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass \
                           AND d.objid = c.oid AND d.deptype = 'e') \
         ORDER BY 4 DESC, 1, 2",
        &[],
    )
    .await?;
    let total: u64 = rows.iter().map(|r| r.get::<_, i64>(3) as u64).sum();
    // A range is at least SPLIT_PAGES, and small enough that the biggest table alone is
    // shared by every worker.
    let chunk = (total / (jobs as u64 * 2).max(1)).max(SPLIT_PAGES);
    let mut tasks = Vec::new();
    for r in rows {
        let (schema, table, columns, label): (String, String, Vec<String>, String) =
            (r.get(0), r.get(1), r.get(2), r.get(4));
        let pages = r.get::<_, i64>(3) as u64;
        let task = |range, weight| Task {
            schema: schema.clone(),
            table: table.clone(),
            columns: columns.clone(),
            pages: range,
            weight,
            label: label.clone(),
        };
        if pages <= chunk || columns.is_empty() {
            tasks.push(task(None, pages));
            continue;
        }
        let mut from = 0;
        while from < pages {
            let to = from + chunk;
            // The last range is open: the table may have grown since it was measured.
            let end = (to < pages).then_some(to);
            tasks.push(task(Some((from, end)), chunk.min(pages - from)));
            from = to;
        }
    }
    tasks.sort_by_key(|t| std::cmp::Reverse(t.weight));
    Ok(tasks)
}

/// ACCESS SHARE on every table copied, within the lock budget (an application holding
/// ACCESS EXCLUSIVE is waited for that long, then named).
async fn lock_tables(leader: &tokio_postgres::Client, tasks: &[Task], plan: &Plan) -> Result<()> {
    let mut names: Vec<String> = tasks
        .iter()
        .map(|t| {
            format!(
                "{}.{}",
                db::quote_ident(&t.schema),
                db::quote_ident(&t.table)
            )
        })
        .collect();
    names.sort();
    names.dedup();
    db::batch(
        leader,
        &format!(
            "SET LOCAL lock_timeout = {}",
            plan.lock_wait.as_millis().max(1)
        ),
    )
    .await?;
    for chunk in names.chunks(500) {
        let sql = format!("LOCK TABLE {} IN ACCESS SHARE MODE", chunk.join(", "));
        if let Err(e) = db::batch(leader, &sql).await {
            let e = anyhow::Error::new(e);
            if classify(&e) == Code::TempFail {
                return Err(fail(
                    Code::TempFail,
                    format!(
                        "{e:#}: a table stayed locked for {}s; no backup was written",
                        plan.lock_wait.as_secs()
                    ),
                ));
            }
            return Err(e);
        }
    }
    Ok(())
}

/// What the SQL members counted.
#[derive(Default)]
struct Counted {
    sql_bytes: u64,
    dumped: DumpStats,
}

/// Writes every member into `folder`: the COPY tasks on `plan.jobs` workers, the three
/// pg_dump sections beside them. The members in the manifest's order.
async fn write_members(
    config: &Config,
    plan: &Plan,
    pg_dump: &tools::Tool,
    snapshot: &str,
    tasks: Vec<Task>,
    folder: &Path,
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
        dumps.push(dump_section(
            config,
            plan,
            pg_dump,
            args,
            folder.join(&file),
            kind,
            file,
        ));
    }
    let queue: Arc<Mutex<VecDeque<(usize, Task)>>> =
        Arc::new(Mutex::new(tasks.into_iter().enumerate().collect()));
    let mut workers = Vec::new();
    for _ in 0..plan.jobs {
        workers.push(worker(config, plan, snapshot, queue.clone(), folder, &ext));
    }
    let (dumped, copied) = tokio::join!(
        futures_util::future::try_join_all(dumps),
        futures_util::future::try_join_all(workers)
    );
    let (dumped, copied) = (dumped?, copied?);
    let mut counted = Counted::default();
    let mut members = Vec::new();
    let mut data: Vec<(usize, Member)> = copied.into_iter().flatten().collect();
    data.sort_by_key(|(i, _)| *i);
    for (member, sql_bytes, stats) in dumped {
        counted.sql_bytes += sql_bytes;
        counted.dumped.indexes.extend(stats.indexes);
        counted.dumped.constraints.extend(stats.constraints);
        members.push(member);
    }
    // pre-data, the table data, then the other data and post-data: the order a restore
    // loads them in.
    let post = members.split_off(1);
    members.extend(data.into_iter().map(|(_, m)| m));
    members.extend(post);
    Ok((members, counted))
}

/// A name as a pg_dump pattern that matches only itself (inside double quotes every
/// pattern character is literal).
fn pattern(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// One pg_dump section on the snapshot into `path`.
async fn dump_section(
    config: &Config,
    plan: &Plan,
    pg_dump: &tools::Tool,
    args: Vec<String>,
    path: PathBuf,
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
    let output = open_member(&path, plan)?;
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

/// A member file (new, 0600), through encryption when recipients are set.
fn open_member(path: &Path, plan: &Plan) -> Result<Output> {
    let file = OpenOptions::new()
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
        })?;
    let sink = Sink::new(Some(file), None);
    Output::new(sink, plan.recipients.as_ref())
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
/// are left. The members it wrote, with their task numbers.
async fn worker(
    config: &Config,
    plan: &Plan,
    snapshot: &str,
    queue: Arc<Mutex<VecDeque<(usize, Task)>>>,
    folder: &Path,
    ext: &str,
) -> Result<Vec<(usize, Member)>> {
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
        let path = folder.join(&file);
        let output = open_member(&path, plan)?;
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
        let sent = async {
            let stream = stream?;
            let mut stream = std::pin::pin!(stream);
            // COPY arrives a row a message: gathered into 256 KiB chunks, so that the
            // compressing thread is woken per chunk, not per row.
            let mut gathered = bytes::BytesMut::with_capacity(CHUNK);
            while let Some(chunk) = stream.next().await {
                gathered.extend_from_slice(&chunk?);
                if gathered.len() >= CHUNK && tx.send(Ok(gathered.split().freeze())).await.is_err()
                {
                    return Ok(());
                }
            }
            if !gathered.is_empty() {
                let _ = tx.send(Ok(gathered.freeze())).await;
            }
            Ok::<(), tokio_postgres::Error>(())
        }
        .await;
        if let Err(e) = &sent {
            let _ = tx.send(Err(io::Error::other(e.to_string()))).await;
        }
        drop(tx);
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
        ));
    }
    Ok(out)
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
