//! `kronic restore` of a parallel backup: built aside, checked, swapped in; and
//! `--rollback`.

use std::time::Instant;

use anyhow::Result;
use indicatif::HumanBytes;

use crate::backup::parallel;
use crate::backup::settings;
use crate::backup::source::Source;
use crate::cli::RestoreArgs;
use crate::config::DbConfig;
use crate::pg::{databases, roles};
use crate::report::exit::{Code, fail};

/// A parallel backup: built aside on N connections, checked, swapped in.
pub async fn parallel(target: &DbConfig, args: &RestoreArgs, src: &Source) -> Result<Code> {
    let jobs = settings::jobs(args.jobs, settings::default_restore_jobs())?;
    let policy = args.apply.locks.policy()?;
    let maint = parallel::restore::lock(target).await?;
    roles::refuse_superuser(&maint, args.apply.allow_superuser()?).await?;
    let exists = databases::exists(target).await?;
    if !exists && !args.create {
        return Err(fail(
            Code::Unavailable,
            format!(
                "database {} does not exist on {}: add --create to create it",
                target.dbname,
                target.display()
            ),
        ));
    }
    let kept = databases::kept_name(&target.dbname)?;
    let after = match (exists, args.keep_old) {
        (false, _) => " (to be created)".to_string(),
        (true, true) => format!(
            "; it is built aside, checked, then swapped in, and the current database is kept as {kept} (kronic restore --rollback; an older {kept} is dropped)"
        ),
        (true, false) => {
            "; it is built aside, checked, then swapped in, and the current database is dropped"
                .into()
        }
    };
    let question = format!(
        "Restore {} ({}) into {} on {jobs} connections{after}?",
        src.label.display(),
        HumanBytes(src.size),
        target.display()
    );
    crate::report::ui::confirm(&question, args.yes)?;
    tracing::info!(
        "restoring {} into {} on {jobs} connections",
        src.label.display(),
        target.display()
    );
    let started = Instant::now();
    let how = parallel::restore::Swap {
        jobs,
        keep_old: args.keep_old,
        terminate_sessions: args.terminate_sessions,
        wait: policy.budget,
    };
    let done = parallel::restore::restore(&maint, target, src, &how).await?;
    let kept = match &done.kept {
        Some(k) => format!("; the previous database is kept as {k} (kronic restore --rollback)"),
        None => String::new(),
    };
    crate::report::ui::done(format!(
        "Restore completed: {} into {} ({} rows in {} tables in {:.1}s, swapped in {:.2}s){kept}",
        src.label.display(),
        target.display(),
        done.rows,
        done.tables,
        started.elapsed().as_secs_f64(),
        done.swap_time.as_secs_f64()
    ))?;
    Ok(Code::Ok)
}

/// `restore --rollback`: the database a parallel restore replaced, back in.
pub async fn rollback(target: &DbConfig, args: &RestoreArgs) -> Result<Code> {
    let policy = args.apply.locks.policy()?;
    let maint = parallel::restore::lock(target).await?;
    let kept = databases::kept_name(&target.dbname)?;
    crate::report::ui::confirm(
        &format!(
            "Swap {kept} back in as {} (the current one becomes {kept})?",
            target.display()
        ),
        args.yes,
    )?;
    parallel::restore::rollback(&maint, target, args.terminate_sessions, policy.budget).await?;
    crate::report::ui::done(format!(
        "Rolled back: {} is the database the last parallel restore replaced; the restored one is now {kept}",
        target.display()
    ))?;
    Ok(Code::Ok)
}
