//! Databases as whole objects: whether one exists, creating and dropping kronic's own
//! (a restore's target with --create, a drill's scratch, a plan's copy), always asked
//! of the server's `postgres` database, never of the one being created or dropped. A
//! template database is never restored over or dropped.

use anyhow::Result;

use crate::config::DbConfig;
use crate::pg::db;
use crate::report::exit::{Code, classify, fail};

/// Does `target`'s database exist? Asked of the server's `postgres` database. A
/// template database is refused (64): kronic never restores over or drops one.
pub async fn exists(target: &DbConfig) -> Result<bool> {
    let client = db::connect(&target.with_dbname("postgres")).await?;
    let rows = db::query(
        &client,
        "SELECT datistemplate FROM pg_database WHERE datname = $1",
        &[&target.dbname],
    )
    .await?;
    match rows.first().map(|r| r.get::<_, bool>(0)) {
        Some(true) => Err(template(target)),
        Some(false) => Ok(true),
        None => Ok(false),
    }
}

/// The database `client` is connected to, refused (64) if it is a template.
pub async fn refuse_template(client: &tokio_postgres::Client, target: &DbConfig) -> Result<()> {
    let rows = db::query(
        client,
        "SELECT datistemplate FROM pg_database WHERE datname = current_database()",
        &[],
    )
    .await?;
    match rows.first().map(|r| r.get::<_, bool>(0)) {
        Some(true) => Err(template(target)),
        _ => Ok(()),
    }
}

fn template(target: &DbConfig) -> anyhow::Error {
    fail(
        Code::Usage,
        format!(
            "database {} is a template: kronic never restores over or drops a template database",
            target.dbname
        ),
    )
}

/// Creates `target`'s database, owned by kronic's role (which needs CREATEDB).
pub async fn create(target: &DbConfig) -> Result<()> {
    let client = db::connect(&target.with_dbname("postgres")).await?;
    let sql = format!("CREATE DATABASE {}", db::quote_ident(&target.dbname));
    db::batch(&client, &sql).await.map_err(|e| {
        let why = match e.as_db_error() {
            Some(d) if d.code() == &tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE => format!(
                "role {} lacks the CREATEDB privilege, which restores with --create, drills and migrate plan need (as a superuser: ALTER ROLE {} CREATEDB)",
                target.user, target.user
            ),
            Some(d) => d.message().to_string(),
            None => e.to_string(),
        };
        fail(
            classify(&anyhow::Error::new(e)),
            format!("cannot create database {}: {why}", target.dbname),
        )
    })?;
    tracing::debug!("created database {}", target.dbname);
    Ok(())
}

/// Drops `target`'s database (a scratch or a just-created one), closing its sessions.
pub async fn drop_database(target: &DbConfig) -> Result<()> {
    let client = db::connect(&target.with_dbname("postgres")).await?;
    let sql = format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        db::quote_ident(&target.dbname)
    );
    db::batch(&client, &sql).await.map_err(|e| {
        let e = anyhow::Error::new(e);
        fail(
            classify(&e),
            format!("cannot drop database {}: {e:#}", target.dbname),
        )
    })
}

/// Drops the scratch databases named `prefix` then a process id that runs killed
/// halfway left: ones the role owns, carrying kronic's `mark` as their comment (a
/// database that only looks like one is never touched), with nobody connected, and
/// whose run's advisory lock `(key, pid)` nobody holds (a running one holds it from
/// before its database exists until it is dropped, so a database just made and not yet
/// connected to is not taken for abandoned). Best effort; `live` is a connection to the
/// database every run takes that lock on (advisory locks belong to one database): the
/// maintenance database.
pub async fn drop_abandoned(
    live: &tokio_postgres::Client,
    db: &DbConfig,
    prefix: &str,
    mark: &str,
    key: i32,
) {
    let names = db::query(
        live,
        "SELECT datname::text, substr(datname, length($1) + 1)::int FROM pg_database d \
         WHERE starts_with(datname, $1) AND substr(datname, length($1) + 1) ~ '^[0-9]{1,9}$' \
           AND pg_has_role(datdba, 'USAGE') AND NOT datistemplate \
           AND shobj_description(oid, 'pg_database') = $2 \
           AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)",
        &[&prefix, &mark],
    )
    .await;
    let names: Vec<(String, i32)> = match names {
        Ok(rows) => rows.iter().map(|r| (r.get(0), r.get(1))).collect(),
        Err(e) => {
            tracing::warn!("cannot look for scratch databases left by earlier runs: {e}");
            return;
        }
    };
    for (name, pid) in names {
        let free = db::query(live, "SELECT pg_try_advisory_lock($1, $2)", &[&key, &pid])
            .await
            .is_ok_and(|r| r[0].get::<_, bool>(0));
        if !free {
            continue;
        }
        tracing::info!("dropping {name}, left by a run that did not finish");
        // Without FORCE: a run that connects meanwhile keeps its database.
        match db::connect(&db.with_dbname("postgres")).await {
            Ok(client) => {
                let sql = format!("DROP DATABASE IF EXISTS {}", db::quote_ident(&name));
                if let Err(e) = db::batch(&client, &sql).await {
                    tracing::warn!("cannot drop {name}, left by an earlier run: {e}");
                }
            }
            Err(e) => tracing::warn!("cannot drop {name}, left by an earlier run: {e:#}"),
        }
        let _ = db::query(live, "SELECT pg_advisory_unlock($1, $2)", &[&key, &pid]).await;
    }
}

/// `target`'s database comment (None: no comment, or no such database).
pub async fn comment(target: &DbConfig) -> Result<Option<String>> {
    let client = db::connect(&target.with_dbname("postgres")).await?;
    let rows = db::query(
        &client,
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
        &[&target.dbname],
    )
    .await?;
    Ok(rows.first().and_then(|r| r.get(0)))
}

/// Comments `target`'s database (kronic's own, which it owns).
pub async fn set_comment(target: &DbConfig, text: &str) -> Result<()> {
    let client = db::connect(&target.with_dbname("postgres")).await?;
    let sql = format!(
        "COMMENT ON DATABASE {} IS '{}'",
        db::quote_ident(&target.dbname),
        text.replace('\'', "''")
    );
    db::batch(&client, &sql).await.map_err(|e| {
        let e = anyhow::Error::new(e);
        fail(
            classify(&e),
            format!("cannot mark database {}: {e:#}", target.dbname),
        )
    })
}

/// What a database carries beside its contents, copied from `from` to `to` before a
/// swap puts `to` under `from`'s name: its settings (`ALTER DATABASE … SET`, and a
/// role's `ALTER ROLE … IN DATABASE … SET`) and its grants (who may connect, create
/// schemas, make temporary tables; a `REVOKE CONNECT … FROM PUBLIC` included). Each is
/// copied on its own: one this role may not set (another role's settings need CREATEROLE,
/// a superuser's parameters a superuser) is a warning naming it, never a failed restore. `maint` is a connection to the maintenance database.
pub async fn carry(maint: &tokio_postgres::Client, from: &str, to: &str) {
    let mut sql = Vec::new();
    let settings = db::query(
        maint,
        "SELECT CASE WHEN s.setrole = 0 THEN NULL ELSE quote_ident(pg_get_userbyid(s.setrole)) END, \
                unnest(s.setconfig) \
         FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase \
         WHERE d.datname = $1",
        &[&from],
    )
    .await;
    let grants = db::query(
        maint,
        "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END, \
                a.privilege_type, a.is_grantable \
         FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = $1",
        &[&from],
    )
    .await;
    let (settings, grants) = match (settings, grants) {
        (Ok(s), Ok(g)) => (s, g),
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!(
                "cannot read the settings and grants of {from} to carry them over: {e}; set them again on the restored database"
            );
            return;
        }
    };
    let to_sql = db::quote_ident(to);
    for row in &settings {
        let (role, setting): (Option<String>, String) = (row.get(0), row.get(1));
        let Some((name, value)) = setting.split_once('=') else {
            continue;
        };
        let set = format!(
            "SET {} TO {}",
            db::quote_ident(name),
            setting_value(name, value)
        );
        sql.push(match role {
            None => format!("ALTER DATABASE {to_sql} {set}"),
            Some(role) => format!("ALTER ROLE {role} IN DATABASE {to_sql} {set}"),
        });
    }
    // No ACL at all means the defaults, which the new database has too; any ACL is
    // copied whole, from nothing (PUBLIC's defaults taken away first).
    if !grants.is_empty() {
        sql.push(format!("REVOKE ALL ON DATABASE {to_sql} FROM PUBLIC"));
        for row in &grants {
            let (who, what, grantable): (String, String, bool) =
                (row.get(0), row.get(1), row.get(2));
            sql.push(format!(
                "GRANT {what} ON DATABASE {to_sql} TO {who}{}",
                if grantable { " WITH GRANT OPTION" } else { "" }
            ));
        }
    }
    for statement in sql {
        if let Err(e) = db::batch(maint, &statement).await {
            tracing::warn!(
                "cannot carry over to the restored database: {statement}: {:#}; do it again by hand",
                anyhow::Error::new(e)
            );
        }
    }
}

/// A stored setting's value as SQL: the list settings (`search_path` and the like)
/// element by element, as pg_dump writes them; any other as one string.
fn setting_value(name: &str, value: &str) -> String {
    let lists = [
        "search_path",
        "temp_tablespaces",
        "session_preload_libraries",
        "local_preload_libraries",
    ];
    if !lists.contains(&name.to_ascii_lowercase().as_str()) {
        return quote_literal(value);
    }
    split_list(value)
        .iter()
        .map(|v| quote_literal(v))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A list setting's elements: separated by commas, each maybe double-quoted (`""`
/// inside for one quote), spaces around them dropped.
fn split_list(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur).trim().to_string()),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur.trim().to_string());
    out
}

fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The name a parallel restore keeps the database it replaced under (for `restore
/// --rollback`): `NAME_kronic_old`. A name that would pass PostgreSQL's 63 bytes is
/// refused (64) rather than cut to something that could be another database.
pub fn kept_name(target: &str) -> Result<String> {
    let name = format!("{target}_kronic_old");
    if name.len() > 63 {
        return Err(fail(
            Code::Usage,
            format!(
                "database {target}: its name is too long to keep the old database beside it as {name} (63 bytes at most); use --keep-old false, or restore into a shorter --target-db"
            ),
        ));
    }
    Ok(name)
}

/// Who else is connected to database `name`: "user from address (application)".
pub async fn sessions(client: &tokio_postgres::Client, name: &str) -> Result<Vec<String>> {
    let rows = db::query(
        client,
        "SELECT format('%s from %s (%s, pid %s)', usename, coalesce(client_addr::text, 'local'), \
                coalesce(nullif(application_name, ''), 'no name'), pid) \
         FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        &[&name],
    )
    .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Ends every other session on database `name` (pg_terminate_backend; the role needs to
/// be theirs or hold pg_signal_backend).
pub async fn terminate_sessions(client: &tokio_postgres::Client, name: &str) -> Result<()> {
    db::query(
        client,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = $1 AND pid <> pg_backend_pid()",
        &[&name],
    )
    .await?;
    Ok(())
}

/// Renames databases in one transaction, as `(from, to)` pairs in order, then runs
/// `then` in the same transaction: all of it happens or none (a kill -9 at any point leaves every name where it was, or every
/// rename done). `client` is on another database. Renaming needs nobody connected to
/// either side: their sessions are ended (`terminate`) or waited for until `deadline`,
/// then 75 naming who is connected.
pub async fn rename_all(
    client: &tokio_postgres::Client,
    renames: &[(&str, &str)],
    then: &str,
    terminate: bool,
    deadline: std::time::Instant,
) -> Result<()> {
    let sql = renames
        .iter()
        .map(|(from, to)| {
            format!(
                "ALTER DATABASE {} RENAME TO {};",
                db::quote_ident(from),
                db::quote_ident(to)
            )
        })
        .collect::<String>();
    let mut waited = false;
    loop {
        if terminate {
            for (from, _) in renames {
                terminate_sessions(client, from).await?;
            }
        }
        let tried = db::batch(client, &format!("BEGIN; {sql} {then} COMMIT")).await;
        let e = match tried {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        let _ = db::batch(client, "ROLLBACK").await;
        let in_use = e.code() == Some(&tokio_postgres::error::SqlState::OBJECT_IN_USE);
        if !in_use {
            let e = anyhow::Error::new(e);
            return Err(fail(
                classify(&e),
                format!("cannot rename the databases: {e:#}"),
            ));
        }
        if std::time::Instant::now() >= deadline {
            let mut who = Vec::new();
            for (from, _) in renames {
                who.extend(sessions(client, from).await.unwrap_or_default());
            }
            return Err(fail(
                Code::TempFail,
                format!(
                    "the databases are still in use by {}: they must be closed for the swap (--terminate-sessions ends them; KRONIC_LOCK_WAIT is how long kronic waits)",
                    if who.is_empty() {
                        "other sessions".into()
                    } else {
                        who.join(", ")
                    }
                ),
            ));
        }
        if !waited {
            let mut who = Vec::new();
            for (from, _) in renames {
                who.extend(sessions(client, from).await.unwrap_or_default());
            }
            tracing::info!(
                "waiting for the sessions on the databases to close: {}",
                who.join(", ")
            );
            waited = true;
        }
        // Only between tries: a rename sent is never cut short.
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_millis(250)) => {}
            _ = crate::report::ui::shutdown_signal() => {
                return Err(fail(Code::Interrupted, "interrupted while waiting for the swap"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_settings_are_written_element_by_element() {
        assert_eq!(
            setting_value("search_path", "\"$user\", public, \"My \"\"x\"\"\""),
            "'$user', 'public', 'My \"x\"'"
        );
        assert_eq!(setting_value("work_mem", "8MB"), "'8MB'");
        assert_eq!(
            setting_value("application_name", "it's, one"),
            "'it''s, one'"
        );
    }
}
