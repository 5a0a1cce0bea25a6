//! `kronic migrate check`: the drift report (see `drift`).

use anyhow::Result;
use tokio_postgres::Client;

use crate::drift;
use crate::exit::Code;
use crate::migrations::{MigrationFile, State};
use crate::ui::say;

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
