//! Seeding: the application's roles and its admin account, created or checked inside
//! the caller's transaction, each step noted for the summary. `kronic seed` reads the
//! input and prints; this module decides.

use anyhow::Result;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use serde_json::{Value, json};
use tokio_postgres::Transaction;

use crate::config::Secret;
use crate::pg::db;
use crate::pg::lock_keys::SEED as SEED_LOCK;
use crate::report::exit::{Code, fail};

/// The roles kronic creates. Permissions map a resource to the actions allowed on it.
/// Changing a definition here is reported on existing databases; `--update-roles`
/// applies it.
pub fn roles() -> Vec<(&'static str, Value)> {
    vec![
        (
            "admin",
            json!({
                "users": ["create", "read", "update", "delete"],
                "roles": ["create", "read", "update", "delete"],
                "settings": ["read", "update"],
            }),
        ),
        (
            "user",
            json!({
                "profile": ["read", "update"],
            }),
        ),
    ]
}

const ADMIN_ROLE: &str = "admin";
const MIN_PASSWORD_CHARS: usize = 12;

/// The admin account to seed, checked before anything connects.
pub struct Admin {
    pub email: String,
    password: Secret,
}

impl Admin {
    /// Checks the email and the password's length (65 when wrong).
    pub fn new(email: &str, password: String) -> Result<Admin> {
        // Lowercased by the database, as it compares them (its ctype decides what the
        // lower case of a non-ASCII letter is, not Rust's): here only trimmed.
        let email = email.trim().to_string();
        if !valid_email(&email) {
            return Err(fail(
                Code::DataErr,
                format!("admin email {email:?} is not an email address"),
            ));
        }
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(fail(
                Code::DataErr,
                format!(
                    "the admin password is too short: use at least {MIN_PASSWORD_CHARS} characters"
                ),
            ));
        }
        Ok(Admin {
            email,
            password: Secret::new(password),
        })
    }
}

/// A deliberately plain check: one `@`, something before it, a dotted domain after it,
/// no spaces, fits the column.
fn valid_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && e.len() <= 255
}

/// argon2id with OWASP's parameters (m=19456 KiB, t=2, p=1: the crate's defaults) and a
/// random salt, as a PHC string. Slow on purpose, so off the async threads.
async fn hash(password: &Secret) -> Result<String> {
    let pw = password.clone();
    tokio::task::spawn_blocking(move || {
        argon2::Argon2::default()
            .hash_password(pw.expose().as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| {
                fail(
                    Code::Software,
                    format!("cannot hash the admin password: {e}"),
                )
            })
    })
    .await?
}

async fn verifies(password: &Secret, phc: &str) -> bool {
    let (pw, phc) = (password.clone(), phc.to_string());
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&phc).is_ok_and(|h| {
            argon2::Argon2::default()
                .verify_password(pw.expose().as_bytes(), &h)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}

/// What a seed did, line by line.
#[derive(Default)]
pub struct Summary {
    pub lines: Vec<String>,
    pub changed: usize,
}

impl Summary {
    fn note(&mut self, line: String, changed: bool) {
        self.lines.push(line);
        self.changed += usize::from(changed);
    }
}

/// Refuses (65) a database whose schema is not migrated.
pub async fn require_schema(client: &tokio_postgres::Client) -> Result<()> {
    let missing = db::texts(
        client,
        "SELECT t FROM unnest(ARRAY['users', 'roles', 'user_roles']) AS t WHERE to_regclass(t) IS NULL",
    )
    .await?;
    if missing.is_empty() {
        return Ok(());
    }
    Err(fail(
        Code::DataErr,
        format!(
            "the schema is not migrated (no table {}): run `kronic migrate up` first",
            missing.join(", ")
        ),
    ))
}

/// Serialises concurrent seeds for the rest of the transaction.
pub async fn lock(tx: &Transaction<'_>) -> Result<()> {
    db::execute(tx, "SELECT pg_advisory_xact_lock($1)", &[&SEED_LOCK]).await?;
    Ok(())
}

/// Creates missing roles; reports (or with `update`, rewrites) differing ones.
pub async fn roles_in(tx: &Transaction<'_>, update: bool, summary: &mut Summary) -> Result<()> {
    for (name, permissions) in roles() {
        let row = db::query(
            tx,
            "SELECT permissions::jsonb = $2::jsonb FROM roles WHERE name = $1",
            &[&name, &permissions],
        )
        .await?;
        match row.first().map(|r| r.get::<_, bool>(0)) {
            None => {
                db::execute(
                    tx,
                    "INSERT INTO roles (name, permissions) VALUES ($1, $2)",
                    &[&name, &permissions],
                )
                .await?;
                summary.note(format!("role {name}: created"), true);
            }
            Some(true) => summary.note(format!("role {name}: unchanged"), false),
            Some(false) if update => {
                db::execute(
                    tx,
                    "UPDATE roles SET permissions = $2 WHERE name = $1",
                    &[&name, &permissions],
                )
                .await?;
                summary.note(format!("role {name}: permissions updated"), true);
            }
            Some(false) => {
                tracing::warn!(
                    "role {name} has permissions that differ from kronic's definition; --update-roles rewrites them"
                );
                summary.note(format!("role {name}: permissions differ from kronic's (left as they are; --update-roles rewrites them)"), false);
            }
        }
    }
    Ok(())
}

/// Creates the admin, or checks (with `reset`, replaces) its password, then makes sure
/// it has the admin role.
pub async fn admin_in(
    tx: &Transaction<'_>,
    admin: &Admin,
    reset: bool,
    summary: &mut Summary,
) -> Result<()> {
    let existing = db::query(
        tx,
        "SELECT id, password_hash FROM users WHERE lower(email) = lower($1)",
        &[&admin.email],
    )
    .await?;
    let user_id: uuid::Uuid = match existing.first() {
        None => {
            let id = uuid::Uuid::new_v4();
            let phc = hash(&admin.password).await?;
            db::execute(
                tx,
                "INSERT INTO users (id, email, password_hash, is_active, is_verified) VALUES ($1, lower($2), $3, true, true)",
                &[&id, &admin.email, &phc],
            )
            .await?;
            summary.note(format!("admin {}: created", admin.email), true);
            id
        }
        Some(row) => {
            let id: uuid::Uuid = row.get(0);
            let current: String = row.get(1);
            if reset {
                let phc = hash(&admin.password).await?;
                db::execute(
                    tx,
                    "UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1",
                    &[&id, &phc],
                )
                .await?;
                summary.note(format!("admin {}: password reset", admin.email), true);
            } else if verifies(&admin.password, &current).await {
                summary.note(format!("admin {}: unchanged", admin.email), false);
            } else {
                tracing::warn!(
                    "the admin's stored password differs from the one given; --reset-admin-password replaces it"
                );
                summary.note(
                    format!("admin {}: exists with a different password (left as it is; --reset-admin-password replaces it)", admin.email),
                    false,
                );
            }
            id
        }
    };
    let linked = db::execute(
        tx,
        "INSERT INTO user_roles (user_id, role_id) SELECT $1, id FROM roles WHERE name = $2 ON CONFLICT DO NOTHING",
        &[&user_id, &ADMIN_ROLE],
    )
    .await?;
    summary.note(
        format!(
            "admin {} has role {ADMIN_ROLE}: {}",
            admin.email,
            if linked == 1 { "granted" } else { "unchanged" }
        ),
        linked == 1,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for ok in ["admin@example.com", "a.b+c@sub.example.org"] {
            assert!(valid_email(ok), "{ok}");
        }
        for bad in [
            "admin",
            "@example.com",
            "admin@",
            "admin@localhost",
            "a b@example.com",
            "a@b@c.com",
            "a@.com",
            "a@b..com",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn admin_role_exists_with_every_user_permission() {
        let roles = roles();
        let admin = roles.iter().find(|(n, _)| *n == ADMIN_ROLE).unwrap();
        assert_eq!(admin.1["users"].as_array().unwrap().len(), 4);
        assert!(roles.iter().any(|(n, _)| *n == "user"));
    }
}
