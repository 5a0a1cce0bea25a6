//! Connections: one bounded connect with actionable errors, waiting for a server that is
//! still starting, and logging of the SQL kronic sends.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio_postgres::Client;

use crate::config::{DbConfig, SslMode};
use crate::pg::tls;
use crate::report::exit::{Code, fail, sqlstate_code};

/// tokio-postgres settings for `db`. The verify modes are TLS-required at this level;
/// the connector from [`tls::connector`] does the verifying.
pub fn pg_config(db: &DbConfig) -> tokio_postgres::Config {
    let mut c = tokio_postgres::Config::new();
    c.host(&db.host)
        .port(db.port)
        .dbname(&db.dbname)
        .user(&db.user)
        .application_name("kronic")
        // NOTICEs ("already exists, skipping" on every migration run and lock retry)
        // say nothing an operator needs; warnings and errors still come.
        .options("-c client_min_messages=warning")
        .connect_timeout(db.connect_timeout)
        .ssl_mode(match db.sslmode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            _ => tokio_postgres::config::SslMode::Require,
        });
    if let Some(pw) = &db.password {
        c.password(pw.expose());
    }
    c
}

/// A connection failure, and whether waiting could cure it.
pub struct ConnectError {
    pub error: anyhow::Error,
    pub transient: bool,
}

/// Connects once, bounded by the connect timeout (TCP, TLS and authentication).
pub async fn connect(db: &DbConfig) -> Result<Client> {
    try_connect(db).await.map_err(|e| e.error)
}

async fn try_connect(db: &DbConfig) -> Result<Client, ConnectError> {
    let tls = tls::connector(db).map_err(|error| ConnectError {
        error,
        transient: false,
    })?;
    tracing::debug!(
        "connecting to {} (sslmode {})",
        db.display(),
        db.sslmode.as_str()
    );
    let (client, connection) =
        match tokio::time::timeout(db.connect_timeout, pg_config(db).connect(tls)).await {
            Err(_) => return Err(timed_out(db)),
            Ok(Err(e)) => return Err(describe(db, &e)),
            Ok(Ok(pair)) => pair,
        };
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("connection closed: {e}");
        }
    });
    Ok(client)
}

/// Connects, retrying transient failures (refused, reset, server starting, timeout) until
/// `wait` has passed. Without `wait`, tries once.
pub async fn connect_wait(db: &DbConfig, wait: Option<Duration>) -> Result<Client> {
    let Some(wait) = wait else {
        return connect(db).await;
    };
    let deadline = Instant::now() + wait;
    // Say it the first time, then at most every 10 s: not 120 lines for --wait 60.
    let mut said: Option<Instant> = None;
    // A signal while waiting ends the wait like any other run's (130), not as a kill.
    let mut signals = crate::report::ui::Interrupts::listen();
    loop {
        match try_connect(db).await {
            Ok(c) => return Ok(c),
            Err(ConnectError {
                error,
                transient: true,
            }) if Instant::now() < deadline => {
                if said.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                    tracing::info!("database not ready yet ({error}); retrying");
                    said = Some(Instant::now());
                }
                let left = deadline.saturating_duration_since(Instant::now());
                tokio::select! {
                    _ = tokio::time::sleep(left.min(Duration::from_millis(500))) => {}
                    _ = signals.arrived() => {
                        return Err(fail(
                            Code::Interrupted,
                            format!("interrupted while waiting for {}", db.display()),
                        ));
                    }
                }
            }
            Err(ConnectError {
                error,
                transient: true,
            }) => {
                return Err(fail(
                    Code::Unavailable,
                    format!(
                        "gave up after waiting {}s for the database: {error}",
                        wait.as_secs()
                    ),
                ));
            }
            Err(e) => return Err(e.error),
        }
    }
}

fn timed_out(db: &DbConfig) -> ConnectError {
    ConnectError {
        error: connect_timed_out(db, db.connect_timeout),
        transient: true,
    }
}

/// A connection the server accepted but never completed within `after` (the connect
/// timeout, or a shorter bound).
pub fn connect_timed_out(db: &DbConfig, after: Duration) -> anyhow::Error {
    fail(
        Code::TempFail,
        format!(
            "timed out after {}s connecting to {}: the server did not complete the connection; is it PostgreSQL, and is it overloaded? (KRONIC_DATABASE_CONNECT_TIMEOUT)",
            after.as_secs_f64(),
            db.display()
        ),
    )
}

/// Turns a connection error into one line that says what to check, and an exit code.
pub fn describe(db: &DbConfig, e: &tokio_postgres::Error) -> ConnectError {
    if let Some(dbe) = e.as_db_error() {
        // The exit code comes from the one SQLSTATE table; only the words are ours.
        let state = dbe.code().code();
        let (message, transient) = server_refusal(db, dbe);
        return ConnectError {
            error: fail(sqlstate_code(state), message),
            transient,
        };
    }
    if let Some(io) = io_source(e) {
        return network_failure(db, e, io);
    }
    let text = chain(e);
    let message = if text.contains("password missing") {
        // tokio-postgres says only "invalid configuration: password missing".
        return ConnectError {
            error: fail(
                Code::NoPerm,
                format!(
                    "the server asks for a password for user {} and none is configured: set KRONIC_DATABASE_PASSWORD, put it in the URL or in ~/.pgpass",
                    db.user
                ),
            ),
            transient: false,
        };
    } else if text.contains("server does not support TLS") {
        format!(
            "{} does not support TLS, but sslmode is {}: enable ssl on the server, or use sslmode=prefer or disable",
            db.display(),
            db.sslmode.as_str()
        )
    } else {
        format!("cannot connect to {}: {e}", db.display())
    };
    ConnectError {
        error: fail(Code::Unavailable, message),
        transient: false,
    }
}

/// What to say when the server refused the connection, and whether waiting may help.
fn server_refusal(db: &DbConfig, dbe: &tokio_postgres::error::DbError) -> (String, bool) {
    match dbe.code().code() {
        "28P01" => (
            format!(
                "password authentication failed for user {}: check {}",
                db.user,
                db.hint_password()
            ),
            false,
        ),
        "28000" => (
            format!("{} (user {}): check pg_hba.conf", dbe.message(), db.user),
            false,
        ),
        "3D000" => (
            format!(
                "database {} does not exist on {}: create it, or check {}",
                db.dbname,
                db.display(),
                match db.source {
                    crate::config::Source::Parts => "KRONIC_DATABASE_NAME",
                    _ => db.hint_host(),
                }
            ),
            false,
        ),
        "57P03" => (
            format!(
                "{} is not accepting connections yet: {}",
                db.display(),
                dbe.message()
            ),
            true,
        ),
        "53300" => (
            format!(
                "{}: too many connections ({}); lower KRONIC_DATABASE_POOL_SIZE or raise max_connections",
                db.display(),
                dbe.message()
            ),
            true,
        ),
        _ => (
            format!("cannot connect to {}: {}", db.display(), dbe.message()),
            false,
        ),
    }
}

/// The network failed before the server could answer.
fn network_failure(db: &DbConfig, e: &tokio_postgres::Error, io: &std::io::Error) -> ConnectError {
    use std::io::ErrorKind::*;
    let (message, transient) = match io.kind() {
        ConnectionRefused => (
            format!(
                "connection refused at {}:{}: is PostgreSQL running? check {}",
                db.host,
                db.port,
                db.hint_host()
            ),
            true,
        ),
        TimedOut => return timed_out(db),
        NotFound if db.host.starts_with('/') => (
            format!(
                "no PostgreSQL socket in {} for port {}: is PostgreSQL running?",
                db.host, db.port
            ),
            true,
        ),
        ConnectionReset | ConnectionAborted | UnexpectedEof | BrokenPipe => (
            format!("{} closed the connection: {}", db.display(), e),
            true,
        ),
        InvalidData if io.get_ref().is_some_and(|r| r.is::<rustls::Error>()) => (
            format!(
                "TLS with {} failed (sslmode {}): {io}",
                db.display(),
                db.sslmode.as_str()
            ),
            false,
        ),
        // Unknown hosts resolve once their container starts.
        _ => (
            format!(
                "cannot connect to {}: {io}; check {}",
                db.display(),
                db.hint_host()
            ),
            true,
        ),
    };
    ConnectError {
        error: fail(Code::Unavailable, message),
        transient,
    }
}

/// The error and its causes, as text (tokio-postgres keeps the detail in a cause).
fn chain(e: &tokio_postgres::Error) -> String {
    let mut text = e.to_string();
    let mut cur = std::error::Error::source(e);
    while let Some(c) = cur {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cur = c.source();
    }
    text
}

fn io_source(e: &tokio_postgres::Error) -> Option<&std::io::Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        cur = err.source();
    }
    None
}

/// Logs a statement at `-vv` (trace). Only ever called with SQL text, never parameters.
pub fn log_sql(sql: &str) {
    tracing::trace!(target: "kronic::sql", "{}", sql.trim());
}

/// Runs statements without parameters, logging them.
pub async fn batch(
    client: &impl tokio_postgres::GenericClient,
    sql: &str,
) -> Result<(), tokio_postgres::Error> {
    log_sql(sql);
    client.batch_execute(sql).await
}

/// An identifier quoted for SQL: `my"db` → `"my""db"`.
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Runs one query, logging its text (not its parameters).
pub async fn query(
    client: &impl tokio_postgres::GenericClient,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<tokio_postgres::Row>, tokio_postgres::Error> {
    log_sql(sql);
    client.query(sql, params).await
}

/// The first column of every row, as text (names of tables, roles, …).
pub async fn texts(client: &impl tokio_postgres::GenericClient, sql: &str) -> Result<Vec<String>> {
    Ok(query(client, sql, &[])
        .await
        .with_context(|| {
            format!(
                "cannot run {}",
                sql.split_whitespace().take(4).collect::<Vec<_>>().join(" ")
            )
        })?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// Runs one statement, logging its text (not its parameters).
pub async fn execute(
    client: &impl tokio_postgres::GenericClient,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<u64, tokio_postgres::Error> {
    log_sql(sql);
    client.execute(sql, params).await
}

/// Asks the server to cancel whatever `token`'s session is running (a cancel request
/// on a new connection), so that an interrupted kronic leaves no statement behind.
pub async fn cancel(token: &tokio_postgres::CancelToken, db: &DbConfig) {
    let Ok(tls) = tls::connector(db) else { return };
    let sent = tokio::time::timeout(db.connect_timeout, token.cancel_query(tls)).await;
    if !matches!(sent, Ok(Ok(()))) {
        tracing::debug!("the cancel request to {} did not go through", db.display());
    }
}

/// For sessions that may wait or run long (migrations, restores): the server checks
/// every 2 s that kronic is still there, so a killed kronic leaves no session queued
/// behind the application's locks (PostgreSQL 14 and later).
pub async fn guard_session(client: &Client) {
    let sql = "DO $$ BEGIN IF current_setting('server_version_num')::int >= 140000 THEN \
               PERFORM set_config('client_connection_check_interval', '2s', false); END IF; END $$";
    if let Err(e) = batch(client, sql).await {
        tracing::debug!("cannot set client_connection_check_interval: {e}");
    }
}

/// A role whose search_path names no existing schema ('' or "$user" without such a
/// schema) would find no migration history and create nothing: this session uses
/// public instead, and says so.
pub async fn usable_search_path(client: &Client) -> Result<()> {
    let current: Option<String> =
        query(client, "SELECT current_schema()::text", &[]).await?[0].get(0);
    if current.is_none() {
        tracing::warn!(
            "the role's search_path names no existing schema: kronic uses public for this session"
        );
        batch(client, "SET search_path = public").await?;
    }
    Ok(())
}
