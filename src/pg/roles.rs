//! Who kronic is connected as, where that decides what is safe: a restore runs the
//! backup's own functions (defaults, index expressions, triggers, `setval` arguments),
//! and a superuser's session is no boundary for them (a function can `RESET ROLE`).

use anyhow::Result;
use tokio_postgres::Client;

use crate::pg::db;
use crate::report::exit::{Code, fail};

/// The server-wide powers a restoring role must not have, and what each would let a
/// crafted backup do.
const POWERS: &[(&str, &str)] = &[
    (
        "pg_execute_server_program",
        "run programs on the database host",
    ),
    ("pg_read_server_files", "read the server's files"),
    ("pg_write_server_files", "write the server's files"),
];

/// Refuses (77) a session whose role is a superuser, can become one (a member, by any
/// chain of grants, INHERIT or not, of a superuser role), is a member of a role in
/// `POWERS`, or holds CREATEROLE on a server before 16 (where it may grant itself any of
/// those), unless `allowed`: then it warns.
pub async fn refuse_superuser(client: &Client, allowed: bool) -> Result<()> {
    let row = db::query(
        client,
        "SELECT current_user::text, rolsuper, \
                (SELECT string_agg(s.rolname, ', ' ORDER BY s.rolname) FROM pg_roles s \
                 WHERE s.rolsuper AND s.oid <> r.oid AND pg_has_role(r.oid, s.oid, 'MEMBER')), \
                rolcreaterole AND current_setting('server_version_num')::int < 160000, \
                pg_has_role(current_user, 'pg_execute_server_program', 'MEMBER'), \
                pg_has_role(current_user, 'pg_read_server_files', 'MEMBER'), \
                pg_has_role(current_user, 'pg_write_server_files', 'MEMBER') \
         FROM pg_roles r WHERE rolname = current_user",
        &[],
    )
    .await?
    .remove(0);
    let role: String = row.get(0);
    let member_of: Option<String> = row.get(2);
    let power = if row.get::<_, bool>(1) {
        Some(format!("{role} is a superuser"))
    } else if let Some(supers) = member_of {
        Some(format!(
            "{role} is a member of the superuser role {supers} (it may SET ROLE to it)"
        ))
    } else if row.get::<_, bool>(3) {
        Some(format!(
            "{role} has CREATEROLE, with which a server before PostgreSQL 16 lets it grant itself pg_execute_server_program"
        ))
    } else {
        POWERS
            .iter()
            .enumerate()
            .find(|(i, _)| row.get::<_, bool>(i + 4))
            .map(|(_, (name, what))| format!("{role} is a member of {name} (it may {what})"))
    };
    let Some(power) = power else {
        return Ok(());
    };
    if allowed {
        tracing::warn!(
            "{power}: restoring anyway (--allow-superuser); the backup's functions run with that power"
        );
        return Ok(());
    }
    Err(fail(
        Code::NoPerm,
        format!(
            "refusing to restore as {role}: {power}, and a backup's own functions run during a restore (defaults, index expressions, triggers, setval), with that power; restore as the application's owner role (KRONIC_DATABASE_USER), or add --allow-superuser for a backup whose history you know"
        ),
    ))
}
