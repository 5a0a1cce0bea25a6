//! A throwaway copy of the schema: what the applied migrations build, in a schema of its
//! own, inside the caller's transaction. No CREATEDB is needed, and only catalogs are
//! read: the application's tables are never locked. `migrate check` compares the copy
//! with the live schema and rolls it back (nothing is left behind, even when killed).

use anyhow::{Context, Result};
use tokio_postgres::Transaction;

use crate::pg::db;
use crate::report::exit::{Code, fail};
use crate::schema::migrations::MigrationFile;

/// The live schema's name: the connection's current schema (NULL when the search_path
/// names no existing schema, which `db::usable_search_path` turns into public).
pub async fn live_schema(client: &impl tokio_postgres::GenericClient) -> Result<String> {
    let current: Option<String> =
        db::query(client, "SELECT current_schema()::text", &[]).await?[0].get(0);
    Ok(current.unwrap_or_else(|| "public".into()))
}

/// Builds `applied` into a new schema named for `purpose` and this process, and puts it
/// first on the transaction's search_path. Returns the schema's name.
pub async fn build(
    tx: &Transaction<'_>,
    purpose: &str,
    applied: &[&MigrationFile],
) -> Result<String> {
    let scratch = format!("kronic_{purpose}_{}", std::process::id());
    db::batch(tx, &format!("CREATE SCHEMA {scratch}"))
        .await
        .with_context(
            || "cannot create a throwaway schema (the role needs CREATE on the database)",
        )?;
    db::batch(tx, &format!("SET LOCAL search_path = {scratch}")).await?;
    for m in applied {
        db::batch(tx, &runnable(m)).await.map_err(|e| {
            fail(
                Code::DataErr,
                format!("cannot rebuild {} in a throwaway schema: {e}", m.origin),
            )
        })?;
    }
    Ok(scratch)
}

/// The migration's script as it can run inside the copy's transaction: CREATE INDEX
/// CONCURRENTLY cannot, and the plain form builds the same index.
pub fn runnable(m: &MigrationFile) -> String {
    match m.no_transaction {
        true => without_concurrently(&m.up),
        false => m.up.clone(),
    }
}

/// `sql` without its CONCURRENTLY keywords.
pub fn without_concurrently(sql: &str) -> String {
    sql.replace("CONCURRENTLY", "")
        .replace("concurrently", "")
        .replace("Concurrently", "")
}
