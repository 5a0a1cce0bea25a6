//! Taking a parallel backup: a leader exports its snapshot and holds ACCESS SHARE on
//! every table (as pg_dump does), N workers import that snapshot and COPY the tables out
//! (a big table in page ranges, so that it alone still keeps every worker busy), and
//! three pg_dump runs on the same snapshot write the schema and the other data. Each
//! stream is compressed (and encrypted) as it is written into a temporary folder, which
//! takes the backup's name only when every member is complete and durable.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use anyhow::Result;
use chrono::Utc;

use super::Kind;
use super::write::{Dest, Task, write_members};
use crate::backup::manifest::{Manifest, Sealed};
use crate::backup::metrics::BackupStats;
use crate::backup::take::{self as single, Plan, Taken};
use crate::config::Config;
use crate::pg::db;
use crate::pg::tools;
use crate::report::exit::{Code, classify, fail, io_code};
use crate::report::ui::{Interrupts, done};

/// A table bigger than this is split into page ranges (8 KiB pages: 64 MiB).
const SPLIT_PAGES: u64 = 8192;

/// Takes a parallel backup into a folder in `plan.dir` and, with a remote, into the
/// bucket in the same pass (each member uploaded as it is written, the manifest last).
/// The caller checked that `plan.jobs > 1`.
pub async fn take(config: &Config, plan: &Plan) -> Result<Taken> {
    let dir = &plan.dir;
    let _xfsz = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::from_raw(25));
    let (trusted, _lock) = single::prepare(plan)?;
    let journal = (plan.local && trusted).then(|| dir.clone());

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
    let (remote, offsite_failed) = single::usable_remote(plan).await?;
    if let (Some(r), Some(j)) = (remote, &journal) {
        r.finish_journal(j).await;
    }
    let name = single::free_name(plan, remote).await?;
    let dest = dir.join(&name);
    let uploads = remote.map(|r| r.member_uploads(&name, journal.clone()));
    let mut interrupts = Interrupts::listen();
    let started_at = Utc::now();

    // The snapshot every stream reads, and the locks that keep its tables from being
    // dropped or rewritten until the last worker has it.
    db::batch(&leader, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY").await?;
    let snapshot: String = db::query(&leader, "SELECT pg_export_snapshot()", &[]).await?[0].get(0);
    let tasks = plan_tasks(&leader, plan.jobs).await?;
    lock_tables(&leader, &tasks, plan).await?;

    let tmp = match plan.local {
        true => Some(temp_folder(dir, &name)?),
        false => None,
    };
    tracing::info!(
        "backing up {} to {} with {} jobs ({} table streams, one snapshot)",
        config.db.display(),
        match (&tmp, &uploads) {
            (Some(_), Some(u)) => format!("{} and {}", dest.display(), u.url()),
            (Some(_), None) => dest.display().to_string(),
            (None, _) => remote.map_or(String::new(), |r| r.url_of(&name)),
        },
        plan.jobs,
        tasks.len()
    );
    let started = std::time::Instant::now();
    let labels: std::collections::HashMap<(String, String), String> = tasks
        .iter()
        .map(|t| ((t.schema.clone(), t.table.clone()), t.label.clone()))
        .collect();
    let to = Dest {
        folder: tmp.as_ref().map(|t| t.path()),
        uploads: uploads.as_ref(),
        offsite_failed: Mutex::new(None),
    };
    let work = write_members(config, plan, &pg_dump, &snapshot, tasks, &to);
    let written = tokio::select! {
        r = work => r,
        _ = interrupts.arrived() => Err(fail(
            Code::Interrupted,
            "interrupted: the partial backup was removed and no backup was pruned",
        )),
    };
    let (members, stats) = match written {
        Ok(w) => w,
        Err(e) => {
            if let Some(u) = &uploads {
                u.abandon().await;
            }
            return Err(e);
        }
    };
    drop(leader);
    let offsite_failed =
        offsite_failed.or(to.offsite_failed.into_inner().expect("the offsite state"));

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
    // One manifest (and signature) for both copies.
    let sealed = Sealed::seal(&manifest, plan.signer.as_deref());
    if let Some(tmp) = tmp {
        let kept = keep_local(tmp, &dest, dir, &name, &sealed);
        if let Err(e) = kept {
            if let Some(u) = &uploads {
                u.abandon().await;
            }
            return Err(e);
        }
        done(format!("Backup completed: {name}"))?;
    }
    single::log_stats(&name, &backup_stats);

    // Every member is in the bucket: the manifest makes the backup appear there.
    let offsite = match (&uploads, offsite_failed) {
        (uploads, Some(e)) => {
            if let Some(u) = uploads {
                u.abandon().await;
            }
            Some(Err(single::local_only(&name, &e)))
        }
        (Some(u), None) => {
            let put = match &sealed {
                Ok(sealed) => u.seal(sealed).await,
                Err(e) => Err(fail(classify(e), format!("{e:#}"))),
            };
            match put {
                Ok(()) => {
                    let what = if plan.local { "Offsite copy" } else { "Backup" };
                    done(format!("{what} completed: {}", u.url()))?;
                    Some(Ok(()))
                }
                Err(e) if plan.local => Some(Err(single::local_only(&name, &e))),
                Err(e) => {
                    return Err(fail(
                        classify(&e),
                        format!("{e:#}; no backup was written and none was pruned"),
                    ));
                }
            }
        }
        (None, None) => None,
    };
    single::settle(
        config,
        plan,
        &name,
        &backup_stats,
        &offsite,
        &mut interrupts,
    )?;
    Ok(Taken {
        path: dest,
        trusted,
        offsite,
    })
}

/// The folder members are written into, `.NAME.tmp-*` in the backup folder (0700).
fn temp_folder(dir: &Path, name: &str) -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(&format!(".{name}{}", crate::fsutil::TEMP_MARK))
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir_in(dir)
        .map_err(|e| {
            fail(
                crate::fsutil::cant_create(&e),
                format!("cannot create a temporary folder in {}: {e}", dir.display()),
            )
        })
}

/// Every member durable, then the folder takes its name (one rename: the backup is
/// there whole or not at all), then the manifest next to it. Without its manifest a
/// parallel backup cannot be read: it goes (disk full).
fn keep_local(
    tmp: tempfile::TempDir,
    dest: &Path,
    dir: &Path,
    name: &str,
    sealed: &Result<Sealed>,
) -> Result<()> {
    crate::fsutil::sync_dir(tmp.path())?;
    let tmp_path = tmp.keep();
    std::fs::rename(&tmp_path, dest).map_err(|e| {
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
    let written = match sealed {
        Ok(sealed) => Manifest::write(sealed, dest),
        Err(e) => Err(fail(classify(e), format!("{e:#}"))),
    };
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(dest);
        return Err(fail(
            classify(&e),
            format!(
                "{e:#}: the manifest of {name} could not be written, so the backup was removed (free space, then run the backup again); no backup was pruned"
            ),
        ));
    }
    Ok(())
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
