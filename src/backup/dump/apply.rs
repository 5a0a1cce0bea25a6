//! Applies a dump's steps over kronic's own connection. The caller owns the transaction:
//! it sends BEGIN before and COMMIT only after the reader has read and allowed the whole
//! file, so nothing here can make a restore half-happen.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::pin::pin;

use anyhow::Result;
use bytes::Bytes;
use futures_util::SinkExt;
use tokio::sync::mpsc::Receiver;
use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

use super::{ExtensionAction, Step};
use crate::report::exit::{Code, fail, sqlstate_code};
use crate::report::progress::Phase;

/// What was applied: each table's rows, in dump order.
#[derive(Debug, Default)]
pub struct Applied {
    pub tables: Vec<(String, u64)>,
}

/// Runs `steps` until they end (the reader finished or stopped). An error names the
/// dump line whose statement failed. `extensions` are the backup's own extension
/// versions (from its manifest), to compare with the target's.
pub async fn apply(
    client: &Client,
    steps: &mut Receiver<Step>,
    phase: &Phase,
    extensions: &BTreeMap<String, String>,
) -> Result<Applied> {
    let mut applied = Applied::default();
    let mut created = HashSet::new();
    let mut settings = HashMap::new();
    while let Some(step) = steps.recv().await {
        match step {
            Step::CleanDrop { line, sql } => {
                client.batch_execute("SAVEPOINT kronic_clean").await?;
                match client.execute_typed(&sql, &[]).await {
                    Ok(_) => {
                        client
                            .batch_execute("RELEASE SAVEPOINT kronic_clean")
                            .await?
                    }
                    // invalid_table_definition: "cannot drop inherited constraint".
                    Err(e) if e.code() == Some(&SqlState::INVALID_TABLE_DEFINITION) => {
                        tracing::debug!("line {line}: left to the partition's own DROP: {e}");
                        client
                            .batch_execute("ROLLBACK TO SAVEPOINT kronic_clean")
                            .await?;
                    }
                    Err(e) => return Err(sql_error(line, None, &e)),
                }
            }
            Step::Extension {
                line,
                sql,
                name,
                action,
            } => {
                let backup = extensions.get(&name).map(String::as_str);
                extension(client, line, &sql, &name, action, backup, &mut created).await?;
            }
            Step::Run {
                line,
                sql,
                phase: p,
            } => {
                if let Some(p) = p {
                    phase.set(p);
                }
                tracing::trace!(target: "kronic::sql", "line {line}: {}", crate::sql::words::excerpt(&sql));
                client
                    .execute_typed(&sql, &[])
                    .await
                    .map_err(|e| sql_error(line, None, &e))?;
            }
            Step::Setting { line, sql, name } => {
                let known = match settings.get(&name) {
                    Some(known) => *known,
                    None => {
                        let known = known_setting(client, &name)
                            .await
                            .map_err(|e| sql_error(line, None, &e))?;
                        settings.insert(name.clone(), known);
                        if !known {
                            tracing::info!(
                                "skipping line {line}: this server has no setting {name} (the dump was made by a newer pg_dump)"
                            );
                        }
                        known
                    }
                };
                if known {
                    client
                        .execute_typed(&sql, &[])
                        .await
                        .map_err(|e| sql_error(line, None, &e))?;
                }
            }
            Step::Copy { line, sql, table } => {
                phase.set(format!("data {table}"));
                let rows = copy(client, steps, line, &sql, &table).await?;
                applied.tables.push((table, rows));
            }
            Step::Data(_) | Step::CopyEnd => {
                return Err(fail(Code::Software, "COPY data outside a COPY"));
            }
        }
    }
    Ok(applied)
}

/// Whether the server has a setting of that name. A custom one (`app.x`, with a dot)
/// is always taken as known: the server accepts any of those.
async fn known_setting(client: &Client, name: &str) -> Result<bool, tokio_postgres::Error> {
    if name.contains('.') {
        return Ok(true);
    }
    let row = client
        .query_one(
            "SELECT EXISTS (SELECT FROM pg_catalog.pg_settings WHERE name = $1)",
            &[&name],
        )
        .await?;
    Ok(row.get(0))
}

/// Extensions belong to the server, not to the backup: one that exists is kept (its
/// `DROP`, `CREATE` and `COMMENT` skipped, one line saying so, a warning when the
/// backup had another version); a missing one is created if the role may (a trusted
/// extension and CREATE on the database, or a superuser); otherwise 77 naming the
/// command a superuser runs once. `created` holds the ones this restore created (their
/// comments are the dump's to set).
async fn extension(
    client: &Client,
    line: u64,
    sql: &str,
    name: &str,
    action: ExtensionAction,
    backup: Option<&str>,
    created: &mut HashSet<String>,
) -> Result<()> {
    let run = async |sql: &str| {
        client
            .execute_typed(sql, &[])
            .await
            .map(|_| ())
            .map_err(|e| sql_error(line, None, &e))
    };
    match action {
        ExtensionAction::Drop => Ok(()),
        ExtensionAction::Comment if created.contains(name) => run(sql).await,
        ExtensionAction::Comment => Ok(()),
        ExtensionAction::Create => {
            let have = client
                .query_opt(
                    "SELECT extversion FROM pg_extension WHERE extname = $1",
                    &[&name],
                )
                .await
                .map_err(|e| sql_error(line, None, &e))?;
            if let Some(row) = have {
                let version: String = row.get(0);
                match backup {
                    Some(b) if b != version => tracing::warn!(
                        "keeping extension {name} {version} of the database; the backup was made with {b}"
                    ),
                    Some(_) => {
                        tracing::info!("keeping extension {name} {version} (the backup's too)")
                    }
                    None => tracing::info!("keeping extension {name} {version} of the database"),
                }
                return Ok(());
            }
            let row = client
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = $1), \
                            coalesce((SELECT v.trusted FROM pg_available_extension_versions v \
                                      JOIN pg_available_extensions a ON a.name = v.name \
                                      AND a.default_version = v.version WHERE v.name = $1), false), \
                            has_database_privilege(current_database(), 'CREATE'), \
                            (SELECT rolsuper FROM pg_roles WHERE rolname = current_user), \
                            current_database()::text",
                    &[&name],
                )
                .await
                .map_err(|e| sql_error(line, None, &e))?;
            let (available, trusted, create, superuser, db): (bool, bool, bool, bool, String) =
                (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
            if !available {
                return Err(fail(
                    Code::Unavailable,
                    format!(
                        "line {line}: extension {name} is not available on this server: install its package (the backup needs it)"
                    ),
                ));
            }
            if !(superuser || (trusted && create)) {
                let why = if trusted {
                    "the role lacks CREATE on the database"
                } else {
                    "it is not a trusted extension"
                };
                return Err(fail(
                    Code::NoPerm,
                    format!(
                        "line {line}: extension {name} is not installed in database {db}, and this role cannot create it ({why}); a superuser runs once, in that database: \"CREATE EXTENSION {name};\" (or in template1, for every new database)"
                    ),
                ));
            }
            run(sql).await?;
            tracing::info!("created extension {name}");
            created.insert(name.to_string());
            Ok(())
        }
    }
}

/// Streams one table's COPY data, chunk by chunk: a huge row never needs its own size in
/// memory.
async fn copy(
    client: &Client,
    steps: &mut Receiver<Step>,
    line: u64,
    sql: &str,
    table: &str,
) -> Result<u64> {
    let err = |e: &tokio_postgres::Error| sql_error(line, Some(table), e);
    let mut sink = pin!(client.copy_in::<_, Bytes>(sql).await.map_err(|e| err(&e))?);
    loop {
        match steps.recv().await {
            Some(Step::Data(chunk)) => sink.send(chunk).await.map_err(|e| err(&e))?,
            Some(Step::CopyEnd) => break,
            // The reader stopped (its error is the one to report); the COPY is abandoned.
            _ => return Err(fail(Code::DataErr, "the dump ended inside COPY data")),
        }
    }
    sink.as_mut().finish().await.map_err(|e| err(&e))
}

/// "line N: <server message>" with the server's detail and context, and the exit code
/// its SQLSTATE maps to.
fn sql_error(line: u64, table: Option<&str>, e: &tokio_postgres::Error) -> anyhow::Error {
    let what = table.map(|t| format!(" (data of {t})")).unwrap_or_default();
    match e.as_db_error() {
        Some(db) => {
            // The message, DETAIL and CONTEXT may quote the backup's rows: they stay on
            // this machine (report::redact), the line and SQLSTATE may go to a ping.
            crate::report::redact::server_text(db.message());
            let mut msg = format!(
                "line {line}{what}: {}: {} (SQLSTATE {})",
                db.severity(),
                db.message(),
                db.code().code()
            );
            if let Some(d) = db.detail() {
                crate::report::redact::server_text(d);
                msg.push_str(&format!("; {d}"));
            }
            if let Some(w) = db.where_() {
                let w = w.lines().next().unwrap_or(w);
                crate::report::redact::server_text(w);
                msg.push_str(&format!(" ({w})"));
            }
            fail(sqlstate_code(db.code().code()), msg)
        }
        None if e.is_closed() => fail(
            Code::Unavailable,
            format!("line {line}{what}: the server closed the connection"),
        ),
        None => fail(Code::Unavailable, format!("line {line}{what}: {e}")),
    }
}
