//! `kronic migrate plan`: what each pending statement locks, rewrites and scans,
//! measured on a scratch copy of the schema (`schema::plan`), in text or JSON.

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Result;
use bytesize::ByteSize;
use tokio_postgres::Client;

use crate::backup::schema_copy;
use crate::config::DbConfig;
use crate::pg::{databases, db, lock_keys};
use crate::report::exit::Code;
use crate::report::exit::fail;
use crate::report::ui::say;
use crate::schema::migrations::State;
use crate::schema::plan::{self, Hold, Plan, Step};

/// `migrate plan`. With --json, a statement that fails on the copy still prints the
/// document, `"failed": true`, with what was measured before it.
pub async fn plan(
    client: &mut Client,
    db: &DbConfig,
    state: &State,
    json: bool,
    max_rewrite: u64,
) -> Result<Code> {
    state.check_consistent()?;
    let pending = state.pending(None);
    let live = plan::Live::read(client, &pending).await?;
    let planned = match pending.is_empty() {
        true => Plan::default(),
        false => {
            // Held from before the scratch database exists until it is dropped: a
            // concurrent plan's sweep leaves a database it has not connected to yet.
            // Advisory locks belong to a database: this one is held and looked for on
            // the maintenance database, where plans against every database meet.
            let maint = db::connect(&db.with_dbname("postgres")).await?;
            let pid = std::process::id() as i32;
            db::query(
                &maint,
                "SELECT pg_advisory_lock($1, $2)",
                &[&lock_keys::PLAN_SCRATCH, &pid],
            )
            .await?;
            databases::drop_abandoned(
                &maint,
                db,
                plan::DATABASE_PREFIX,
                plan::SCRATCH_MARK,
                lock_keys::PLAN_SCRATCH,
            )
            .await;
            let scratch = db.with_dbname(&plan::scratch_name());
            let mut copy = schema_copy::make(client, db, &scratch, plan::SCRATCH_MARK).await?;
            let measured = plan::measure(&mut copy, &live, &pending, max_rewrite).await;
            drop(copy);
            if let Err(e) = databases::drop_database(&scratch).await {
                tracing::warn!("{e:#}; the next plan drops it");
            }
            drop(maint);
            measured?
        }
    };
    let failing = planned.statements.iter().filter(|s| s.fails()).count()
        + planned.holds.iter().filter(|h| h.fails()).count();
    let limit = ByteSize(max_rewrite).display().si().to_string();
    if json {
        PRINTED.store(true, Ordering::Relaxed);
        say(serde_json::to_string_pretty(&serde_json::json!({
            "max_rewrite_bytes": max_rewrite,
            "migrations": pending.len(),
            "failed": planned.failure.is_some(),
            "dangerous": failing,
            "statements": planned.statements,
            "holds": planned.holds,
            "failure": planned.failure,
        }))?)?;
    } else if pending.is_empty() {
        say("nothing to plan: no pending migrations")?;
    } else {
        text(&planned, &limit)?;
        if planned.failure.is_none() {
            say(format!(
                "{} statement(s) in {} pending migration(s): {failing} dangerous (limit {limit}); measured on a scratch copy of the schema, the live database was only read",
                planned.statements.len(),
                pending.len()
            ))?;
        }
    }
    if let Some(f) = &planned.failure {
        return Err(fail(
            Code::DataErr,
            format!(
                "{} line {} fails on a copy of the schema: {}{}; nothing was changed",
                f.file,
                f.line,
                f.message,
                f.sqlstate
                    .as_ref()
                    .map_or(String::new(), |s| format!(" (SQLSTATE {s})"))
            ),
        ));
    }
    Ok(if failing > 0 { Code::Unsafe } else { Code::Ok })
}

/// Set once the JSON document is printed (one command per process).
static PRINTED: AtomicBool = AtomicBool::new(false);

/// The document of a plan that could not run at all (`"failed": true`, the error),
/// unless the plan printed its own.
pub fn print_failed(e: &anyhow::Error, max_rewrite: u64) -> Result<()> {
    if PRINTED.load(Ordering::Relaxed) {
        return Ok(());
    }
    say(serde_json::to_string_pretty(&serde_json::json!({
        "max_rewrite_bytes": max_rewrite,
        "failed": true,
        "error": format!("{e:#}"),
        "dangerous": 0,
        "statements": [],
        "holds": [],
        "failure": null,
    }))?)
}

/// The plan as text: the dangerous statements and locks first, then a line per
/// statement, then the write-blocking locks held across more than one statement.
fn text(planned: &Plan, limit: &str) -> Result<()> {
    let dangerous: Vec<&Step> = planned.statements.iter().filter(|s| s.dangerous).collect();
    let held: Vec<&Hold> = planned.holds.iter().filter(|h| h.dangerous).collect();
    if !dangerous.is_empty() || !held.is_empty() {
        say(format!(
            "dangerous: blocks the application while rewriting or scanning more than {limit}:"
        ))?;
        for s in &dangerous {
            say(format!("  {}", step_line(s)))?;
        }
        for h in &held {
            say(format!("  {}", hold_line(h)))?;
        }
        say("")?;
    }
    for s in &planned.statements {
        say(step_line(s))?;
    }
    // A lock held by one statement alone is that statement's line already.
    for h in planned.holds.iter().filter(|h| h.statements > 1) {
        say(hold_line(h))?;
    }
    Ok(())
}

/// `file:line  holds MODE on table until COMMIT: N statement(s), SIZE meanwhile`.
fn hold_line(h: &Hold) -> String {
    let mut line = format!(
        "{}:{}  holds {} on {} until COMMIT: {} statement(s), {} rewritten, scanned or changed meanwhile; blocks {}",
        h.file,
        h.line,
        plan::sql_mode(&h.mode),
        h.table,
        h.statements,
        match h.bytes_meanwhile {
            0 => "nothing".into(),
            n => size_text(n),
        },
        h.blocks
    );
    if let Some(w) = &h.waived {
        line.push_str(&format!("; waived: {w}"));
    }
    line
}

/// `file:line  statement  locks; rewrite or scan; size; what it blocks`.
fn step_line(s: &Step) -> String {
    let mut parts = Vec::new();
    // Per relation, the strongest mode this statement took (the JSON has them all),
    // grouped by mode, strongest first.
    let mut strongest: Vec<(usize, &str, &str)> = Vec::new();
    for l in &s.locks {
        let rank = plan::strength(&l.mode);
        match strongest.iter_mut().find(|(_, rel, _)| *rel == l.relation) {
            Some(e) if e.0 < rank => *e = (rank, &l.relation, &l.mode),
            Some(_) => {}
            None => strongest.push((rank, &l.relation, &l.mode)),
        }
    }
    strongest.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let mut grouped: Vec<(&str, Vec<&str>)> = Vec::new();
    for (_, rel, mode) in &strongest {
        match grouped.last_mut() {
            Some((m, rels)) if m == mode => rels.push(rel),
            _ => grouped.push((mode, vec![rel])),
        }
    }
    for (mode, rels) in &grouped {
        parts.push(format!("{} on {}", plan::sql_mode(mode), rels.join(", ")));
    }
    if let Some(why) = &s.not_measured {
        parts.push(format!("not measured: {why}"));
    } else if s.locks.is_empty() {
        parts.push("no lock beyond what its migration already holds".into());
    }
    if !s.row_locks.is_empty() {
        parts.push(format!(
            "locks the rows it changes in {} until COMMIT",
            s.row_locks.join(", ")
        ));
    }
    if !s.rewrites.is_empty() {
        parts.push(format!("rewrote {}", s.rewrites.join(", ")));
    }
    if !s.scans.is_empty() {
        parts.push(format!("scanned {}", s.scans.join(", ")));
    }
    match (&s.table, s.blocks) {
        (Some(t), Some(b)) => parts.push(format!(
            "{t} is {}; blocks {b} meanwhile",
            size_text(s.table_bytes)
        )),
        (Some(t), None) => parts.push(format!("{t} is {}", size_text(s.table_bytes))),
        (None, _) if !s.locks.is_empty() => parts.push("no rewrite (catalog only)".into()),
        (None, _) => {}
    }
    if let Some(n) = &s.note {
        parts.push(n.clone());
    }
    if let Some(w) = &s.waived {
        parts.push(format!("waived: {w}"));
    }
    format!(
        "{}:{}  {}  {}",
        s.file,
        s.line,
        s.statement,
        parts.join("; ")
    )
}

fn size_text(bytes: u64) -> String {
    match bytes {
        0 => "empty or new".into(),
        n => ByteSize(n).display().si().to_string(),
    }
}
