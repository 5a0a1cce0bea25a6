//! The drift report (see `drift`): `kronic migrate check`, and the warning after
//! `kronic migrate stamp`, so that adoption never hides drift.

use anyhow::Result;
use tokio_postgres::Client;

use crate::report::exit::Code;
use crate::report::ui::say;
use crate::schema::drift;
use crate::schema::migrations::{MigrationFile, State};

/// `migrate check`: the differences, one a line, grouped by table; exit 1 when any.
pub async fn run(client: &mut Client, state: &State, json: bool) -> Result<Code> {
    state.check_consistent()?;
    let applied: Vec<&MigrationFile> = state
        .set
        .iter()
        .filter(|m| state.applied().iter().any(|a| a.version == m.version))
        .collect();
    let diffs = drift::check(client, &applied).await?;
    if json {
        say(serde_json::to_string_pretty(&diffs)?)?;
    } else if diffs.is_empty() {
        say(format!(
            "the schema matches what the {} applied migration(s) build",
            applied.len()
        ))?;
    } else {
        let mut table = "";
        for d in &diffs {
            if d.table != table {
                table = &d.table;
                say(format!("{table}:"))?;
            }
            say(format!("  {}", d.what))?;
        }
    }
    Ok(if diffs.is_empty() {
        Code::Ok
    } else {
        Code::Attention
    })
}

/// After `stamp`: what was stamped, then how the database differs from it.
pub async fn after_stamp(
    client: &mut Client,
    state: &State,
    version: u32,
    stamped: Option<u32>,
) -> Result<()> {
    if let Some(at) = stamped {
        return say(format!("already at version {at}; nothing stamped"));
    }
    say(format!(
        "stamped version {version}: recorded as applied, nothing was run"
    ))?;
    // Adoption must not hide drift: compare what was stamped with what is there.
    let applied: Vec<&MigrationFile> = state.set.iter().filter(|m| m.version <= version).collect();
    let diffs = drift::check(client, &applied).await?;
    if !diffs.is_empty() {
        tracing::warn!(
            "the database differs from what migrations 1..={version} build, in {} places; see `kronic migrate check`:",
            diffs.len()
        );
        for d in &diffs {
            tracing::warn!("  {}", d.what);
        }
    }
    Ok(())
}
