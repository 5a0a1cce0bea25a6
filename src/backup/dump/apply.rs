//! Applies a dump's steps over kronic's own connection. The caller owns the transaction:
//! it sends BEGIN before and COMMIT only after the reader has read and allowed the whole
//! file, so nothing here can make a restore half-happen.

use std::pin::pin;

use anyhow::Result;
use bytes::Bytes;
use futures_util::SinkExt;
use tokio::sync::mpsc::Receiver;
use tokio_postgres::Client;

use super::Step;
use crate::report::exit::{Code, fail, sqlstate_code};
use crate::report::progress::Phase;

/// What was applied: each table's rows, in dump order.
#[derive(Debug, Default)]
pub struct Applied {
    pub tables: Vec<(String, u64)>,
}

/// Runs `steps` until they end (the reader finished or stopped). An error names the
/// dump line whose statement failed.
pub async fn apply(client: &Client, steps: &mut Receiver<Step>, phase: &Phase) -> Result<Applied> {
    let mut applied = Applied::default();
    while let Some(step) = steps.recv().await {
        match step {
            Step::Run {
                line,
                sql,
                phase: p,
            } => {
                if let Some(p) = p {
                    phase.set(p);
                }
                tracing::trace!(target: "kronic::sql", "line {line}: {}", super::policy::excerpt(&sql));
                client
                    .execute_typed(&sql, &[])
                    .await
                    .map_err(|e| sql_error(line, None, &e))?;
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
            let mut msg = format!("line {line}{what}: {}: {}", db.severity(), db.message());
            if let Some(d) = db.detail() {
                msg.push_str(&format!("; {d}"));
            }
            if let Some(w) = db.where_() {
                msg.push_str(&format!(" ({})", w.lines().next().unwrap_or(w)));
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
