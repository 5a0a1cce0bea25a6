//! `kronic backup drill`: restore a backup into a scratch database, check it against the
//! backup's manifest, report (text, JSON, Prometheus), and drop the scratch database in
//! every outcome.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::Utc;
use serde_json::{Value, json};

use crate::backup::drill::{Check, names_check, row_check, rows, shown};
use crate::backup::metrics;
use crate::backup::restore::{self, Restored};
use crate::backup::settings;
use crate::backup::source::{Source, Wanted};
use crate::cli::DrillArgs;
use crate::config::{self, Config, DbConfig, vars};
use crate::pg::{databases, db, roles};
use crate::report::exit::{Code, fail};
use crate::report::ui::{say, shutdown_signal};

pub async fn run(config: &Config, args: DrillArgs) -> Result<Code> {
    let metrics_file = config::path_setting(args.metrics_file.clone(), vars::DRILL_METRICS_FILE);
    if let Some(m) = &metrics_file {
        metrics::check_writable(m)?;
    }
    let started = Instant::now();
    let drilled = attempt(config, &args).await;
    // The metrics tell every outcome, a refusal or a failed restore included: an alert
    // on the drill's result fires whatever stopped it.
    if let Some(m) = &metrics_file {
        let (passed, recovery, age) = match &drilled {
            Ok(d) => (d.checks.iter().all(|c| c.ok), d.recovery, d.age),
            Err(_) => (false, started.elapsed(), None),
        };
        metrics::write_drill(m, &config.db, passed, recovery, age)?;
    }
    let d = drilled?;
    report(&args, &d)?;
    match d.checks.iter().find(|c| !c.ok) {
        None => Ok(Code::Ok),
        Some(c) => Err(fail(
            Code::DataErr,
            format!(
                "drill of {} failed the {} check: {}",
                d.src.label.display(),
                c.name,
                c.detail
            ),
        )),
    }
}

/// What one drill found.
struct Drilled {
    src: Source,
    scratch: DbConfig,
    checks: Vec<Check>,
    /// Rows per table: restored, and in the manifest.
    tables: Vec<(String, u64, Option<u64>)>,
    recovery: Duration,
    age: Option<f64>,
}

async fn attempt(config: &Config, args: &DrillArgs) -> Result<Drilled> {
    // The newest backup unless one is named: in the folder, or with --remote in the
    // bucket (the copy that outlives the server is the one worth drilling).
    let scratch = config.db.other_db(
        "--scratch-db",
        &args
            .scratch_db
            .clone()
            .unwrap_or_else(|| format!("{}_drill_scratch", config.db.dbname)),
    )?;
    let named = args.remote.name();
    let latest = args.file.is_none() && named.is_none();
    let trust = settings::trust(args.allow_unsigned, latest)?;
    let want = Wanted {
        trust: &trust,
        database: Some(&config.db.dbname),
        from_database: args.from_database.as_deref(),
    };
    let src = Source::choose(
        args.file.as_deref().or(named.as_deref()),
        args.remote.load()?,
        latest,
        &args.dir.path(),
        args.apply.identity.load()?,
        &want,
    )
    .await?;
    src.check().await?;
    // Who restores is checked before a statement of the backup is read.
    let client = db::connect_wait(&config.db, args.apply.wait.wait).await?;
    roles::refuse_superuser(&client, args.apply.allow_superuser()?).await?;
    // Held until the drill ends (this session lives as long as `client`): a scratch
    // database of kronic's that nobody holds is one a killed drill left.
    let free: bool = db::query(
        &client,
        "SELECT pg_try_advisory_lock($1)",
        &[&crate::pg::lock_keys::DRILL],
    )
    .await?[0]
        .get(0);
    if !free {
        return Err(fail(
            Code::TempFail,
            format!(
                "another drill of {} is running; try again when it has finished",
                config.db.display()
            ),
        ));
    }
    let policy = args.apply.locks.policy()?;
    prepare_scratch(&scratch, args.force).await?;
    let _held = client;

    let started = Instant::now();
    let outcome = tokio::select! {
        r = drill(&scratch, &src, policy, args.allow_empty) => r,
        _ = shutdown_signal() => Err(fail(
            Code::Interrupted,
            format!("interrupted: the drill stopped; {} was dropped", scratch.dbname),
        )),
    };
    let recovery = started.elapsed();
    // In every outcome: the scratch database goes.
    let dropped = drop_scratch(&scratch).await;
    let (checks, restored) = outcome?;
    dropped?;
    let manifest = src.manifest.as_ref();
    let tables = restored
        .tables
        .iter()
        .map(|(t, n)| {
            (
                t.clone(),
                *n,
                manifest.and_then(|m| m.tables.get(t).copied()),
            )
        })
        .collect();
    let age = src
        .time
        .map(|t| (Utc::now() - t).num_milliseconds() as f64 / 1000.0);
    Ok(Drilled {
        src,
        scratch,
        checks,
        tables,
        recovery,
        age,
    })
}

/// Creates the scratch database, marked as a drill's. One that exists is dropped when a
/// killed drill left it (the mark, and no drill holds the lock: the caller does), and
/// otherwise only with --force.
async fn prepare_scratch(scratch: &DbConfig, force: bool) -> Result<()> {
    if databases::exists(scratch).await? {
        let abandoned = databases::comment(scratch).await?.as_deref() == Some(SCRATCH_MARK);
        if abandoned {
            tracing::info!(
                "dropping {}, left by a drill that did not finish",
                scratch.dbname
            );
        } else if !force {
            return Err(fail(
                Code::CantCreate,
                format!(
                    "scratch database {} exists and this drill did not create it: drop it, choose --scratch-db, or add --force",
                    scratch.dbname
                ),
            ));
        }
        drop_scratch(scratch).await?;
    }
    databases::create(scratch).await?;
    databases::set_comment(scratch, SCRATCH_MARK).await?;
    tracing::info!("created database {}", scratch.dbname);
    Ok(())
}

/// The comment that marks a drill's scratch database as kronic's.
const SCRATCH_MARK: &str = "kronic drill scratch: dropped when the drill ends";

async fn drop_scratch(scratch: &DbConfig) -> Result<()> {
    databases::drop_database(scratch).await
}

/// Restores and checks; Err only when the restore itself failed.
async fn drill(
    scratch: &DbConfig,
    src: &Source,
    policy: crate::config::LockPolicy,
    allow_empty: bool,
) -> Result<(Vec<Check>, Restored)> {
    let manifest = src.manifest.as_ref();
    let client = db::connect(scratch).await?;
    let restored = match src.parallel {
        false => restore::restore(&client, scratch, src, policy, false).await?,
        true => crate::backup::parallel::build::for_drill(scratch, &client, src).await?,
    };
    let mut checks = vec![Check {
        name: "restore",
        ok: true,
        detail: format!("{} tables, {} rows", restored.tables.len(), rows(&restored)),
    }];
    if restored.tables.is_empty() && !allow_empty {
        checks.push(Check {
            name: "tables",
            ok: false,
            detail: "the backup holds no table data: a backup of an empty database (migrations not applied?) proves nothing; --allow-empty passes it".into(),
        });
    }
    let Some(m) = manifest else {
        checks.push(match &src.manifest_missing {
            Some(why) => Check {
                name: "manifest",
                ok: false,
                detail: why.clone(),
            },
            None => Check {
                name: "manifest",
                ok: true,
                detail: "none (an older backup): row counts and objects not checked".into(),
            },
        });
        return Ok((checks, restored));
    };
    checks.push(row_check(m, &restored));
    let version = crate::schema::migrations::schema_version(&client).await?;
    checks.push(Check {
        name: "schema version",
        ok: version == m.schema_version,
        detail: format!(
            "{} restored, {} in the manifest",
            shown(version),
            shown(m.schema_version)
        ),
    });
    let indexes = db::texts(
        &client,
        "SELECT indexname::text FROM pg_indexes WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
    )
    .await?;
    checks.push(names_check("indexes", &m.indexes, &indexes));
    let constraints = db::texts(
        &client,
        "SELECT c.conname::text FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace \
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')",
    )
    .await?;
    checks.push(names_check("constraints", &m.constraints, &constraints));
    Ok((checks, restored))
}

fn report(args: &DrillArgs, d: &Drilled) -> Result<()> {
    let passed = d.checks.iter().all(|c| c.ok);
    if args.json {
        let v: Value = json!({
            "backup": PathBuf::from(&d.src.label),
            "scratch_db": d.scratch.display(),
            "passed": passed,
            "recovery_seconds": (d.recovery.as_secs_f64() * 1000.0).round() / 1000.0,
            "backup_age_seconds": d.age,
            "manifest": d.src.manifest.is_some(),
            "checks": d.checks.iter().map(|c| json!({"name": c.name, "ok": c.ok, "detail": c.detail})).collect::<Vec<_>>(),
            "tables": d.tables.iter().map(|(t, restored, manifest)| json!({
                "table": t, "restored_rows": restored, "manifest_rows": manifest,
            })).collect::<Vec<_>>(),
        });
        return say(serde_json::to_string_pretty(&v)?);
    }
    for c in &d.checks {
        say(format!(
            "{} {}: {}",
            if c.ok { "ok  " } else { "FAIL" },
            c.name,
            c.detail
        ))?;
    }
    say(format!(
        "Drill {}: {} restored into {} in {:.1}s (then dropped)",
        if passed { "passed" } else { "failed" },
        d.src.label.display(),
        d.scratch.display(),
        d.recovery.as_secs_f64()
    ))
}
