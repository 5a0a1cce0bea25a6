//! `kronic migrate current` and `kronic migrate history`: the applied state, in text
//! or JSON.

use std::io::Write;

use anyhow::Result;

use crate::report::ui::say;
use crate::schema::migrations::State;

/// `migrate current`.
pub fn current(state: &State, json: bool) -> Result<()> {
    let cur = state.current();
    let pending = state.pending(None).len();
    if json {
        let v = serde_json::json!({
            "version": cur.map(|c| c.version),
            "name": cur.map(|c| c.name.clone()),
            "applied_on": cur.map(|c| c.applied_on.clone()),
            "pending": pending,
        });
        return say(v.to_string());
    }
    match cur {
        Some(c) => say(format!(
            "{} {} (applied {}; {pending} pending)",
            c.version, c.name, c.applied_on
        )),
        None => say(format!("no migrations applied ({pending} pending)")),
    }
}

/// `migrate history`.
pub fn history(state: &State, json: bool) -> Result<()> {
    let rows = state.rows()?;
    if json {
        return say(serde_json::to_string(&rows)?);
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:>7}  {:<9}  {:<30}  NAME",
        "VERSION", "STATE", "APPLIED"
    )?;
    for r in rows {
        let state = serde_json::to_value(r.state)?
            .as_str()
            .unwrap_or_default()
            .to_string();
        writeln!(
            out,
            "{:>7}  {:<9}  {:<30}  {}",
            r.version,
            state,
            r.applied_on.as_deref().unwrap_or("-"),
            r.name
        )?;
    }
    Ok(())
}
