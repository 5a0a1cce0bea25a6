//! `kronic migrate plan`: what each pending statement locks, rewrites and scans,
//! measured on a throwaway copy (`schema::plan`), in text or JSON.

use anyhow::Result;
use bytesize::ByteSize;
use tokio_postgres::Client;

use crate::report::exit::Code;
use crate::report::ui::say;
use crate::schema::migrations::{MigrationFile, State};
use crate::schema::plan::{self, Step};

/// `migrate plan`.
pub async fn plan(
    client: &mut Client,
    state: &State,
    json: bool,
    max_rewrite: u64,
) -> Result<Code> {
    state.check_consistent()?;
    let pending = state.pending(None);
    let applied: Vec<&MigrationFile> = state
        .set
        .iter()
        .filter(|m| state.applied().iter().any(|a| a.version == m.version))
        .collect();
    let steps = plan::plan(client, &applied, &pending, max_rewrite).await?;
    let failing = steps.iter().filter(|s| s.fails()).count();
    let limit = ByteSize(max_rewrite).display().si().to_string();
    if json {
        say(serde_json::to_string_pretty(&serde_json::json!({
            "max_rewrite_bytes": max_rewrite,
            "migrations": pending.len(),
            "dangerous": failing,
            "statements": steps,
        }))?)?;
    } else if pending.is_empty() {
        say("nothing to plan: no pending migrations")?;
    } else {
        let dangerous: Vec<&Step> = steps.iter().filter(|s| s.dangerous).collect();
        if !dangerous.is_empty() {
            say(format!(
                "dangerous: blocks the application while rewriting or scanning more than {limit}:"
            ))?;
            for s in &dangerous {
                say(format!("  {}", step_line(s)))?;
            }
            say("")?;
        }
        for s in &steps {
            say(step_line(s))?;
        }
        say(format!(
            "{} statement(s) in {} pending migration(s): {failing} dangerous (limit {limit}); measured on a copy, nothing was changed",
            steps.len(),
            pending.len()
        ))?;
    }
    Ok(if failing > 0 { Code::Unsafe } else { Code::Ok })
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
    if s.locks.is_empty() {
        parts.push("no lock beyond what its migration already holds".into());
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
