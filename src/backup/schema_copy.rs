//! A copy of a live database's schema in a scratch database: `pg_dump --schema-only`
//! of the live one (read-only, objects of this database only), loaded through the
//! restore's reader (the same rules as any restore) and committed there. `migrate plan`
//! measures pending migrations on such a copy.

use std::collections::BTreeMap;
use std::io::Read;

use anyhow::{Context, Result};
use tokio_postgres::Client;

use crate::backup::dump;
use crate::config::DbConfig;
use crate::pg::tools::{self, Passfile};
use crate::pg::{databases, db};
use crate::report::exit::{Code, classify, fail};

/// Creates `scratch`, marked as kronic's with `mark` (its comment), and loads the schema
/// of `live` (`db`) into it; a connection to it.
/// On failure the scratch database is dropped again.
pub async fn make(live: &Client, db: &DbConfig, scratch: &DbConfig, mark: &str) -> Result<Client> {
    let dump = schema_dump(live, db).await?;
    databases::create(scratch).await?;
    let copied = async {
        databases::set_comment(scratch, mark).await?;
        let client = db::connect(scratch).await?;
        load(&client, dump).await?;
        Ok(client)
    }
    .await;
    if copied.is_err()
        && let Err(e) = databases::drop_database(scratch).await
    {
        tracing::warn!("{e:#}");
    }
    copied
}

/// The live schema as `pg_dump --schema-only` prints it: objects of this database only
/// (no owners, grants, publications, subscriptions, tablespaces or security labels), in
/// pg_dump's read-only snapshot, waiting for no lock longer than the plan's timeout.
async fn schema_dump(live: &Client, db: &DbConfig) -> Result<Vec<u8>> {
    let major = tools::server_major(live).await?;
    let pg_dump = tools::find("pg_dump", major).await?;
    let pass = Passfile::new(db)?;
    let mut cmd = tools::command(&pg_dump, db, &pass);
    cmd.args([
        "--schema-only",
        "--no-owner",
        "--no-privileges",
        "--no-publications",
        "--no-subscriptions",
        "--no-tablespaces",
        "--no-security-labels",
        "--lock-wait-timeout=2000",
    ]);
    let (child, mut stdout) = tools::spawn("pg_dump", cmd, pass)?;
    let read = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        stdout.read_to_end(&mut out).map(|_| out)
    });
    let out = read.await.context("the reading task failed")?;
    child.finish().await.map_err(|e| {
        let code = match classify(&e) {
            Code::DataErr => Code::Software,
            c => c,
        };
        fail(
            code,
            format!("cannot read the live schema: {e:#}; nothing was changed"),
        )
    })?;
    out.context("cannot read pg_dump's output")
}

/// Loads the schema dump into the scratch database, through the restore's reader (the
/// same rules as any restore), and commits it there.
async fn load(client: &Client, dump: Vec<u8>) -> Result<()> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let reader = tokio::task::spawn_blocking(move || -> Result<(), dump::DumpError> {
        let mut steps = dump::Reader::new(dump.as_slice());
        while let Some(step) = steps.next_step()? {
            if tx.blocking_send(step).is_err() {
                break;
            }
        }
        Ok(())
    });
    db::batch(client, "BEGIN").await?;
    let phase = crate::report::progress::Phase::quiet();
    let applied = dump::apply::apply(client, &mut rx, &phase, &BTreeMap::new()).await;
    drop(rx);
    let read = reader.await.context("the reading task failed")?;
    let copied = match (read, applied) {
        (Err(e), _) => Err(e.into_error(std::path::Path::new("the live schema's dump"))),
        (Ok(()), Err(e)) => Err(e),
        (Ok(()), Ok(_)) => Ok(()),
    };
    copied.map_err(|e| {
        fail(
            classify(&e),
            format!(
                "cannot copy the live schema into a scratch database: {e:#}; nothing was changed"
            ),
        )
    })?;
    db::batch(client, "COMMIT; RESET ALL").await?;
    Ok(())
}
