//! A parallel restore, all-or-nothing without one long transaction: the backup is built
//! in a scratch database (`kronic_restore_<pid>`) on N connections, checked against its
//! manifest, and only then swapped in under the target's name in one transaction of
//! renames; the database it replaced is kept as `NAME_kronic_old` for `--rollback`.
//! Anything that fails before the swap drops the scratch database and leaves the target
//! as it was; a kill -9 leaves the target's name on the old database or the new one.

use std::time::{Duration, Instant};

use anyhow::Result;

use crate::backup::source::Source;
use crate::config::DbConfig;
use crate::pg::{databases, db, lock_keys};
use crate::report::exit::{Code, classify, fail};
use crate::report::progress::Progress;

/// The scratch databases' names: this prefix and the pid.
pub const SCRATCH_PREFIX: &str = "kronic_restore_";

/// The start of a scratch database's comment: what marks it as kronic's.
const SCRATCH_MARK: &str = "kronic restore of ";

/// The comment that marks a scratch database for `target` as kronic's.
fn scratch_mark(target: &str) -> String {
    format!("{SCRATCH_MARK}{target}: dropped or swapped in when it ends")
}

/// How a parallel restore goes.
pub struct Swap {
    pub jobs: usize,
    /// Keep the replaced database as NAME_kronic_old (else drop it after the swap).
    pub keep_old: bool,
    pub terminate_sessions: bool,
    /// How long the swap waits for the target's sessions to close.
    pub wait: Duration,
}

/// What a parallel restore did.
pub struct Swapped {
    pub rows: u64,
    pub tables: usize,
    /// Where the replaced database is kept, when it is.
    pub kept: Option<String>,
    pub swap_time: Duration,
}

/// The maintenance connection that holds the locks: one parallel restore or rollback
/// of a target at a time, and this run's scratch database (one nobody holds is
/// abandoned: dropped here).
pub async fn lock(target: &DbConfig) -> Result<tokio_postgres::Client> {
    let maint = db::connect(&target.with_dbname("postgres")).await?;
    let got: bool = db::query(
        &maint,
        "SELECT pg_try_advisory_lock($1, hashtext($2))",
        &[&lock_keys::RESTORE_TARGET, &target.dbname],
    )
    .await?[0]
        .get(0);
    if !got {
        return Err(fail(
            Code::TempFail,
            format!(
                "another parallel restore or rollback of {} is running; try again when it has finished",
                target.display()
            ),
        ));
    }
    let pid = std::process::id() as i32;
    db::query(
        &maint,
        "SELECT pg_advisory_lock($1, $2)",
        &[&lock_keys::RESTORE_SCRATCH, &pid],
    )
    .await?;
    drop_abandoned(&maint, target).await;
    Ok(maint)
}

/// Drops the scratch databases of killed restores of this same target: kronic's own
/// names and mark, which the role owns, whose run's lock nobody holds (a database that
/// only looks like one, without the mark, is never touched; nor is another target's,
/// which its own next restore sweeps). Best effort.
async fn drop_abandoned(maint: &tokio_postgres::Client, target: &DbConfig) {
    let names = db::query(
        maint,
        "SELECT datname::text, substr(datname, length($1) + 1)::int FROM pg_database \
         WHERE starts_with(datname, $1) AND substr(datname, length($1) + 1) ~ '^[0-9]{1,9}$' \
           AND pg_has_role(datdba, 'USAGE') AND NOT datistemplate \
           AND shobj_description(oid, 'pg_database') = $2",
        &[&SCRATCH_PREFIX, &scratch_mark(&target.dbname)],
    )
    .await;
    let Ok(rows) = names else { return };
    for r in rows {
        let (name, pid): (String, i32) = (r.get(0), r.get(1));
        let free = db::query(
            maint,
            "SELECT pg_try_advisory_lock($1, $2)",
            &[&lock_keys::RESTORE_SCRATCH, &pid],
        )
        .await
        .is_ok_and(|r| r[0].get::<_, bool>(0));
        if !free || pid == std::process::id() as i32 {
            continue;
        }
        tracing::info!("dropping {name}, left by a run that did not finish");
        if let Err(e) = databases::drop_database(&target.with_dbname(&name)).await {
            tracing::warn!("cannot drop {name}, left by an earlier run: {e:#}");
        }
        let _ = db::query(
            maint,
            "SELECT pg_advisory_unlock($1, $2)",
            &[&lock_keys::RESTORE_SCRATCH, &pid],
        )
        .await;
    }
}

/// Builds `src` in a scratch database, checks it, swaps it in as `target` (which may not
/// exist yet). `maint` holds the restore lock.
pub async fn restore(
    maint: &tokio_postgres::Client,
    target: &DbConfig,
    src: &Source,
    how: &Swap,
) -> Result<Swapped> {
    let m = src.parallel_manifest()?;
    let label = src.label.display().to_string();
    let kept_name = databases::kept_name(&target.dbname)?;
    let scratch = target.with_dbname(&format!("{SCRATCH_PREFIX}{}", std::process::id()));
    let unchanged = format!("{} is unchanged", target.display());
    databases::create(&scratch).await?;
    databases::set_comment(&scratch, &scratch_mark(&target.dbname)).await?;
    let progress = Progress::new("restored", None);
    let phase = progress.phase();
    let built = async {
        let loaded =
            crate::backup::parallel::build::build(&scratch, &src.members(), m, how.jobs, &phase)
                .await?;
        phase.set("checking");
        let client = db::connect(&scratch).await?;
        crate::backup::parallel::build::check(&client, m, &label).await?;
        Ok::<_, anyhow::Error>(loaded)
    };
    let built = tokio::select! {
        r = built => r,
        _ = crate::report::ui::shutdown_signal() => Err(fail(
            Code::Interrupted,
            "interrupted before the swap",
        )),
    };
    drop(progress);
    let loaded = match built {
        Ok(l) => l,
        Err(e) => {
            let dropped = match databases::drop_database(&scratch).await {
                Ok(()) => format!("the scratch database {} was dropped", scratch.dbname),
                Err(d) => format!(
                    "the scratch database {} could not be dropped ({d:#}); the next restore drops it",
                    scratch.dbname
                ),
            };
            return Err(fail(classify(&e), format!("{e:#}; {unchanged}, {dropped}")));
        }
    };
    // Checked: now the short step. An older kept database gives way in the same
    // transaction (renamed aside, dropped once the swap is done), so a failed swap
    // still leaves it.
    let exists = databases::exists(target).await?;
    if exists {
        // Settings and grants live on the database, not in the dump: the target's go
        // with its name to the restored one.
        databases::carry(maint, &target.dbname, &scratch.dbname).await;
    }
    let older = exists && databases::exists(&target.with_dbname(&kept_name)).await?;
    let aside = format!("kronic_dropped_{}", std::process::id());
    let deadline = Instant::now() + how.wait;
    let started = Instant::now();
    let mut renames: Vec<(&str, &str)> = Vec::new();
    if older {
        renames.push((&kept_name, &aside));
    }
    if exists {
        renames.push((&target.dbname, &kept_name));
    }
    renames.push((&scratch.dbname, &target.dbname));
    // The database's comment stays with the name (the scratch database's mark goes).
    let comment = match exists {
        true => databases::comment(target).await?,
        false => None,
    };
    let then = format!(
        "COMMENT ON DATABASE {} IS {};",
        db::quote_ident(&target.dbname),
        comment.map_or("NULL".into(), |c| format!("'{}'", c.replace('\'', "''")))
    );
    if let Err(e) =
        databases::rename_all(maint, &renames, &then, how.terminate_sessions, deadline).await
    {
        let _ = databases::drop_database(&scratch).await;
        return Err(fail(
            classify(&e),
            format!("{e:#}; {unchanged}, the restored copy was dropped"),
        ));
    }
    if older {
        tracing::info!("dropping the {kept_name} an earlier restore kept");
        if let Err(e) = databases::drop_database(&target.with_dbname(&aside)).await {
            tracing::warn!(
                "cannot drop {aside} (the {kept_name} an earlier restore kept): {e:#}; drop it by hand"
            );
        }
    }
    let swap_time = started.elapsed();
    tracing::info!(
        "swapped {} in as {} in {:.3}s",
        scratch.dbname,
        target.dbname,
        swap_time.as_secs_f64()
    );
    let kept = match (exists, how.keep_old) {
        (false, _) => None,
        (true, true) => Some(kept_name),
        (true, false) => {
            databases::drop_database(&target.with_dbname(&kept_name)).await?;
            None
        }
    };
    Ok(Swapped {
        rows: loaded.rows,
        tables: loaded.tables,
        kept,
        swap_time,
    })
}

/// `restore --rollback`: the kept database back under the target's name, and the
/// restored one kept in its place (so a second rollback undoes the first).
pub async fn rollback(
    maint: &tokio_postgres::Client,
    target: &DbConfig,
    terminate: bool,
    wait: Duration,
) -> Result<String> {
    let kept = databases::kept_name(&target.dbname)?;
    if !databases::exists(&target.with_dbname(&kept)).await? {
        return Err(fail(
            Code::NoInput,
            format!(
                "there is no {kept} to roll back to: no parallel restore kept one on {}",
                target.display()
            ),
        ));
    }
    let swap = format!("kronic_swap_{}", std::process::id());
    let renames = [
        (target.dbname.as_str(), swap.as_str()),
        (kept.as_str(), target.dbname.as_str()),
        (swap.as_str(), kept.as_str()),
    ];
    databases::rename_all(maint, &renames, "", terminate, Instant::now() + wait).await?;
    Ok(kept)
}
