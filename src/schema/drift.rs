//! Schema drift: builds what the applied migrations describe in a throwaway copy (see
//! `copy`), and compares it with the live schema through the catalogs: tables, columns
//! (type, nullability, default, identity), constraints and indexes by definition (a
//! name that alone differs is reported too), and sequences no identity column owns.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use serde::Serialize;
use tokio_postgres::Client;

use crate::pg::db;
use crate::schema::copy;
use crate::schema::migrations::{HISTORY, MigrationFile};

/// One difference, on one table (or the schema).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Difference {
    pub table: String,
    pub what: String,
}

/// What one schema holds, as comparable text.
#[derive(Debug, Default)]
struct Shape {
    /// table → column → description.
    columns: BTreeMap<String, BTreeMap<String, String>>,
    /// table → constraint definition → name.
    constraints: BTreeMap<String, BTreeMap<String, String>>,
    /// table → index definition (without its name) → name.
    indexes: BTreeMap<String, BTreeMap<String, String>>,
    sequences: BTreeSet<String>,
}

/// Tables that are bookkeeping, not the application's.
const IGNORED: &[&str] = &[HISTORY, "alembic_version"];

/// Compares the live schema (the connection's current schema) with what `applied`
/// builds. Runs in a transaction that is always rolled back.
pub async fn check(client: &mut Client, applied: &[&MigrationFile]) -> Result<Vec<Difference>> {
    let live_schema = copy::live_schema(client).await?;
    let tx = client.transaction().await?;
    let live = shape(&tx, &live_schema).await?;
    let scratch = copy::build(&tx, "check", applied).await?;
    let built = shape(&tx, &scratch).await?;
    tx.rollback().await?;
    Ok(compare(&built, &live))
}

async fn shape(tx: &tokio_postgres::Transaction<'_>, schema: &str) -> Result<Shape> {
    // Definitions print names unqualified when their schema is on the search path.
    db::batch(
        tx,
        &format!("SET LOCAL search_path = {}", db::quote_ident(schema)),
    )
    .await?;
    let mut s = Shape {
        columns: columns(tx, schema).await?,
        ..Shape::default()
    };
    for r in db::query(
        tx,
        "SELECT c.relname::text, k.conname::text, pg_get_constraintdef(k.oid) \
         FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1",
        &[&schema],
    )
    .await?
    {
        let table: String = r.get(0);
        if !IGNORED.contains(&table.as_str()) {
            s.constraints
                .entry(table)
                .or_default()
                .insert(r.get(2), r.get(1));
        }
    }
    for r in db::query(
        tx,
        "SELECT tablename::text, indexname::text, indexdef FROM pg_indexes WHERE schemaname = $1",
        &[&schema],
    )
    .await?
    {
        let (table, name, def): (String, String, String) = (r.get(0), r.get(1), r.get(2));
        if IGNORED.contains(&table.as_str()) {
            continue;
        }
        // "CREATE UNIQUE INDEX name ON schema.t USING …" → "UNIQUE … ON t USING …".
        let def = def
            .replacen(&format!(" {name} ON "), " ON ", 1)
            .replace(&format!("{schema}."), "")
            .replace(&format!("{}.", db::quote_ident(schema)), "");
        s.indexes.entry(table).or_default().insert(def, name);
    }
    for r in db::query(
        tx,
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relkind = 'S' AND NOT EXISTS (SELECT 1 FROM pg_depend d \
           WHERE d.objid = c.oid AND d.deptype IN ('a', 'i'))",
        &[&schema],
    )
    .await?
    {
        s.sequences.insert(r.get(0));
    }
    Ok(s)
}

/// table → column → "type NOT NULL default …".
async fn columns(
    tx: &tokio_postgres::Transaction<'_>,
    schema: &str,
) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
    let mut columns: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let cols = db::query(
        tx,
        "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, \
                coalesce(pg_get_expr(d.adbin, d.adrelid), ''), a.attidentity::text \
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped",
        &[&schema],
    )
    .await?;
    for r in cols {
        let table: String = r.get(0);
        if IGNORED.contains(&table.as_str()) {
            continue;
        }
        let (ty, not_null, default, identity): (String, bool, String, String) =
            (r.get(2), r.get(3), r.get(4), r.get(5));
        let mut desc = format!("{ty}{}", if not_null { " NOT NULL" } else { " nullable" });
        match identity.as_str() {
            "d" => desc.push_str(" identity (by default)"),
            "a" => desc.push_str(" identity (always)"),
            _ if default.starts_with("nextval(") => desc.push_str(" serial (a sequence default)"),
            _ if !default.is_empty() => desc.push_str(&format!(" default {default}")),
            _ => {}
        }
        columns.entry(table).or_default().insert(r.get(1), desc);
    }
    Ok(columns)
}

fn compare(built: &Shape, live: &Shape) -> Vec<Difference> {
    let mut out = BTreeSet::new();
    let mut say = |table: &str, what: String| {
        out.insert(Difference {
            table: table.to_string(),
            what,
        });
    };
    let tables: BTreeSet<&String> = built.columns.keys().chain(live.columns.keys()).collect();
    for t in tables {
        let (b, l) = (built.columns.get(t), live.columns.get(t));
        match (b, l) {
            (Some(_), None) => say(t, "table missing here; the migrations create it".into()),
            (None, Some(_)) => say(t, "table here that the migrations do not create".into()),
            (Some(b), Some(l)) => {
                for (col, want) in b {
                    match l.get(col) {
                        None => say(
                            t,
                            format!("{t}.{col}: missing here; {want} in the migrations"),
                        ),
                        Some(have) if have != want => say(
                            t,
                            format!("{t}.{col}: {have} here, {want} in the migrations"),
                        ),
                        _ => {}
                    }
                }
                for (col, have) in l {
                    if !b.contains_key(col) {
                        say(t, format!("{t}.{col}: {have} here, not in the migrations"));
                    }
                }
            }
            (None, None) => {}
        }
        compare_named(
            t,
            "constraint",
            built.constraints.get(t),
            live.constraints.get(t),
            &mut say,
        );
        compare_named(
            t,
            "index",
            built.indexes.get(t),
            live.indexes.get(t),
            &mut say,
        );
    }
    for seq in built.sequences.symmetric_difference(&live.sequences) {
        let here = live.sequences.contains(seq);
        say(
            "(schema)",
            format!(
                "sequence {seq} {}",
                if here {
                    "here, not in the migrations"
                } else {
                    "missing here"
                }
            ),
        );
    }
    out.into_iter().collect()
}

/// Definitions compared, names reported: a definition on one side only is a difference;
/// the same definition under another name is one too, said as such.
fn compare_named(
    table: &str,
    kind: &str,
    built: Option<&BTreeMap<String, String>>,
    live: Option<&BTreeMap<String, String>>,
    say: &mut impl FnMut(&str, String),
) {
    let empty = BTreeMap::new();
    let (b, l) = (built.unwrap_or(&empty), live.unwrap_or(&empty));
    let live_by_name: BTreeMap<&String, &String> = l.iter().map(|(d, n)| (n, d)).collect();
    let mut changed = BTreeSet::new();
    for (def, name) in b {
        match (l.get(def), live_by_name.get(name)) {
            (Some(other), _) if other != name => say(
                table,
                format!("{kind} {def}: named {other} here, {name} in the migrations"),
            ),
            (Some(_), _) => {}
            // The same name, another definition: one line.
            (None, Some(here)) if !b.contains_key(*here) => {
                changed.insert(*here);
                say(
                    table,
                    format!("{kind} {name}: {here} here, {def} in the migrations"),
                );
            }
            (None, _) => say(
                table,
                format!("{kind} {name} {def}: in the migrations, missing here"),
            ),
        }
    }
    for (def, name) in l {
        if !b.contains_key(def) && !changed.contains(def) {
            say(
                table,
                format!("{kind} {name} {def}: here, not in the migrations"),
            );
        }
    }
}
