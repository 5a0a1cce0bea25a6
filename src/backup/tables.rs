//! Restoring some tables only (`restore --table`, `--schema`): their rows, from a
//! parallel backup's members for them alone (the other members are never opened), or
//! from a single-stream backup read through and skipped past, into the existing tables
//! in one transaction (TRUNCATE, then COPY). The tables must exist in the target;
//! tables outside the choice whose foreign keys point at a chosen one are refused in
//! place, since emptying the chosen table would break them.

use anyhow::{Context, Result};

use crate::backup::dump::{self, Step};
use crate::backup::parallel::Kind;
use crate::backup::source::Source;
use crate::pg::db;
use crate::report::exit::{Code, classify, fail};
use crate::report::progress::Phase;

/// A table chosen in the target database.
#[derive(Debug, Clone)]
pub struct Table {
    pub schema: String,
    pub name: String,
    /// As pg_dump names it (`public.actor`), as a backup's COPY and manifest do.
    pub label: String,
}

/// The tables `--table` and `--schema` name in the target (a table name as SQL reads it,
/// found by the search path unless qualified). 66 for a name that is not a table there.
pub async fn resolve(
    client: &tokio_postgres::Client,
    tables: &[String],
    schemas: &[String],
) -> Result<Vec<Table>> {
    let mut out: Vec<Table> = Vec::new();
    let row = |r: &tokio_postgres::Row| Table {
        schema: r.get(0),
        name: r.get(1),
        label: r.get(2),
    };
    for t in tables {
        let rows = db::query(
            client,
            "SELECT n.nspname::text, c.relname::text, format('%I.%I', n.nspname, c.relname) \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.oid = to_regclass($1) AND c.relkind = 'r'",
            &[t],
        )
        .await;
        let rows =
            rows.map_err(|_| fail(Code::Usage, format!("--table {t:?}: not a table name")))?;
        match rows.first() {
            Some(r) => out.push(row(r)),
            None => {
                return Err(fail(
                    Code::NoInput,
                    format!(
                        "--table {t}: there is no such table in the target database (restore the whole backup, or migrate it first; a partitioned table is restored by naming its partitions)"
                    ),
                ));
            }
        }
    }
    for s in schemas {
        let rows = db::query(
            client,
            "SELECT n.nspname::text, c.relname::text, format('%I.%I', n.nspname, c.relname) \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY 2",
            &[s],
        )
        .await?;
        if rows.is_empty() {
            return Err(fail(
                Code::NoInput,
                format!("--schema {s}: the target database has no tables in such a schema"),
            ));
        }
        out.extend(rows.iter().map(row));
    }
    out.sort_by(|a, b| a.label.cmp(&b.label));
    out.dedup_by(|a, b| a.label == b.label);
    Ok(out)
}

/// Foreign keys of tables outside `chosen` that point at one of them: "child → parent".
pub async fn referencing(client: &tokio_postgres::Client, chosen: &[Table]) -> Result<Vec<String>> {
    let labels: Vec<String> = chosen.iter().map(|t| t.label.clone()).collect();
    let rows = db::query(
        client,
        "SELECT format('%s (%s) → %s', conrelid::regclass, conname, confrelid::regclass) \
         FROM pg_constraint WHERE contype = 'f' \
           AND confrelid IN (SELECT to_regclass(x) FROM unnest($1::text[]) x) \
           AND conrelid NOT IN (SELECT to_regclass(x) FROM unnest($1::text[]) x)",
        &[&labels],
    )
    .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Empties and loads `chosen` from `src` in one transaction on `client`; rows per table.
/// `referenced`: other tables' foreign keys point at them.
/// A table the backup does not hold is refused (66) and nothing changes.
pub async fn restore(
    client: &tokio_postgres::Client,
    src: &Source,
    chosen: &[Table],
    lock_wait: std::time::Duration,
    referenced: bool,
    phase: &Phase,
) -> Result<Vec<(String, u64)>> {
    let holds = |t: &Table| match (&src.manifest, src.parallel) {
        (Some(m), true) => m.members.iter().any(|x| {
            x.kind == Kind::Data
                && x.schema.as_deref() == Some(t.schema.as_str())
                && x.table.as_deref() == Some(t.name.as_str())
        }),
        (Some(m), false) => m.tables.contains_key(&t.label),
        // Without a manifest: told once the backup was read.
        (None, _) => true,
    };
    if let Some(t) = chosen.iter().find(|t| !holds(t)) {
        return Err(not_held(src, t));
    }
    let list = chosen
        .iter()
        .map(|t| {
            format!(
                "{}.{}",
                db::quote_ident(&t.schema),
                db::quote_ident(&t.name)
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    db::batch(client, "BEGIN").await?;
    let done = async {
        db::batch(
            client,
            &format!("SET LOCAL lock_timeout = {}", lock_wait.as_millis().max(1)),
        )
        .await?;
        phase.set("emptying the tables");
        // Other tables' keys point at them (only into --target-db): DELETE, so that a
        // row still referenced fails the restore instead of emptying those tables too.
        match referenced {
            false => db::batch(client, &format!("TRUNCATE ONLY {list}")).await?,
            true => {
                for t in chosen {
                    let one = format!(
                        "{}.{}",
                        db::quote_ident(&t.schema),
                        db::quote_ident(&t.name)
                    );
                    db::batch(client, &format!("DELETE FROM ONLY {one}")).await?;
                }
            }
        }
        db::batch(client, "SET LOCAL lock_timeout = 0").await?;
        let rows = match src.parallel {
            true => from_members(client, src, chosen, phase).await?,
            false => from_stream(client, src, chosen, phase).await?,
        };
        if let Some(t) = chosen
            .iter()
            .find(|t| !rows.iter().any(|(l, _)| *l == t.label))
        {
            return Err(not_held(src, t));
        }
        db::batch(client, "COMMIT").await?;
        Ok::<_, anyhow::Error>(rows)
    }
    .await;
    if let Err(e) = done {
        let _ = db::batch(client, "ROLLBACK").await;
        return Err(fail(
            classify(&e),
            format!("{e:#}; rolled back, the tables are unchanged"),
        ));
    }
    done
}

/// 66: the backup has no rows of `t`.
fn not_held(src: &Source, t: &Table) -> anyhow::Error {
    fail(
        Code::NoInput,
        format!(
            "{}: the backup holds no rows of {}",
            src.label.display(),
            t.label
        ),
    )
}

/// The members of the chosen tables only, each into its table.
async fn from_members(
    client: &tokio_postgres::Client,
    src: &Source,
    chosen: &[Table],
    phase: &Phase,
) -> Result<Vec<(String, u64)>> {
    let m = src.parallel_manifest()?;
    let members = src.members();
    let mut out: Vec<(String, u64)> = Vec::new();
    for t in chosen {
        let mut rows = 0;
        for member in m.members.iter().filter(|x| {
            x.kind == Kind::Data
                && x.schema.as_deref() == Some(t.schema.as_str())
                && x.table.as_deref() == Some(t.name.as_str())
        }) {
            phase.set(format!("data {}", t.label));
            rows += crate::backup::parallel::build::load_member(client, &members, member).await?;
        }
        out.push((t.label.clone(), rows));
    }
    Ok(out)
}

/// A single-stream backup read to its end (its digest checked), only the chosen
/// tables' COPY data applied; every other statement skipped.
async fn from_stream(
    client: &tokio_postgres::Client,
    src: &Source,
    chosen: &[Table],
    phase: &Phase,
) -> Result<Vec<(String, u64)>> {
    let labels: Vec<String> = chosen.iter().map(|t| t.label.clone()).collect();
    let opened = src.open(None).await?;
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let reader = tokio::task::spawn_blocking(move || -> Result<()> {
        let mut steps = opened.statements()?;
        let mut copying = false;
        while let Some(step) = steps.next_step()? {
            let keep = match &step {
                Step::Copy { table, .. } => {
                    copying = labels.contains(table);
                    copying
                }
                Step::Data(_) => copying,
                Step::CopyEnd => std::mem::replace(&mut copying, false),
                _ => false,
            };
            if keep && tx.blocking_send(step).is_err() {
                break;
            }
        }
        Ok(())
    });
    let applied = dump::apply::apply(client, &mut rx, phase, &Default::default()).await;
    drop(rx);
    reader.await.context("the reading task failed")??;
    Ok(applied?.tables)
}
