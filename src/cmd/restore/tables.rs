//! `kronic restore --table`/`--schema`: some tables' rows, in one transaction.

use anyhow::Result;

use crate::backup::source::Source;
use crate::backup::tables;
use crate::cli::RestoreArgs;
use crate::config::DbConfig;
use crate::pg::{databases, db, roles};
use crate::report::exit::{Code, fail};

/// `restore --table`/`--schema`: those tables' rows only, in one transaction.
pub async fn some_tables(target: &DbConfig, args: &RestoreArgs, src: &Source) -> Result<Code> {
    let client = db::connect_wait(target, args.apply.wait.wait).await?;
    databases::refuse_template(&client, target).await?;
    roles::refuse_superuser(&client, args.apply.allow_superuser()?).await?;
    let chosen = tables::resolve(&client, &args.table, &args.schema).await?;
    let refs = tables::referencing(&client, &chosen).await?;
    if args.target_db.is_none() && !refs.is_empty() {
        return Err(fail(
            Code::Usage,
            format!(
                "other tables' foreign keys point at the tables to restore ({}): emptying them in place would break those; restore them into another database with --target-db, or name the referencing tables too",
                refs.join(", ")
            ),
        ));
    }

    let names: Vec<&str> = chosen.iter().map(|t| t.label.as_str()).collect();
    crate::report::ui::confirm(
        &format!(
            "Replace the rows of {} in {} with those in {}?",
            names.join(", "),
            target.display(),
            src.label.display()
        ),
        args.yes,
    )?;
    let progress = crate::report::progress::Progress::new("restored", None);
    let policy = args.apply.locks.policy()?;
    let rows = tables::restore(
        &client,
        src,
        &chosen,
        policy.budget,
        !refs.is_empty(),
        &progress.phase(),
    )
    .await?;
    drop(progress);
    let total: u64 = rows.iter().map(|(_, n)| n).sum();
    crate::report::ui::done(format!(
        "Restore completed: {total} rows into {} in {} from {}",
        names.join(", "),
        target.display(),
        src.label.display()
    ))?;
    Ok(Code::Ok)
}
