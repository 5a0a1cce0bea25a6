//! One health check: a deadpool pool whose manager counts the connections it discards,
//! and the documented /healthz JSON with the pool's numbers, the server's and the
//! schema's, bounded by a timeout.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use deadpool::managed::{Manager, Metrics, RecycleResult};
use deadpool_postgres::{ClientWrapper, ManagerConfig, RecyclingMethod, Runtime};
use serde_json::{Value, json};

use crate::config::{Config, DbConfig};
use crate::pg::db;
use crate::report::exit::{Code, classify, fail};
use crate::schema::migrations::{MigrationFile, State};

/// deadpool's manager, counting connections discarded as broken when recycled
/// (the health JSON's `invalid`).
struct CountingManager {
    inner: deadpool_postgres::Manager,
    invalid: Arc<AtomicU64>,
}

impl Manager for CountingManager {
    type Type = ClientWrapper;
    type Error = tokio_postgres::Error;

    async fn create(&self) -> Result<ClientWrapper, tokio_postgres::Error> {
        self.inner.create().await
    }

    async fn recycle(
        &self,
        client: &mut ClientWrapper,
        metrics: &Metrics,
    ) -> RecycleResult<tokio_postgres::Error> {
        let result = self.inner.recycle(client, metrics).await;
        if result.is_err() {
            self.invalid.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    fn detach(&self, client: &mut ClientWrapper) {
        self.inner.detach(client)
    }
}

type Pool = deadpool::managed::Pool<CountingManager>;

/// The pool and what the checks need beside it.
pub struct Checker {
    pool: Pool,
    invalid: Arc<AtomicU64>,
    config: Config,
    timeout: Duration,
    /// How long opening a connection may take (the connect timeout, at most `timeout`).
    connect: Duration,
    migrations: Vec<MigrationFile>,
}

impl Checker {
    pub fn new(config: &Config, timeout: Duration) -> Result<Checker> {
        let invalid = Arc::new(AtomicU64::new(0));
        let manager = CountingManager {
            inner: deadpool_postgres::Manager::from_config(
                db::pg_config(&config.db),
                crate::pg::tls::connector(&config.db)?,
                // A test query on every checkout: a dead connection is discarded, not handed out.
                ManagerConfig {
                    recycling_method: RecyclingMethod::Verified,
                },
            ),
            invalid: invalid.clone(),
        };
        let connect = config.db.connect_timeout.min(timeout);
        let pool = Pool::builder(manager)
            .max_size(config.pool.max_size())
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(config.pool.timeout))
            .create_timeout(Some(connect))
            .recycle_timeout(Some(connect))
            .build()
            .map_err(|e| {
                fail(
                    Code::Software,
                    format!("cannot build the connection pool: {e}"),
                )
            })?;
        // The same set `migrate` uses: KRONIC_MIGRATIONS_DIR when it names one.
        let dir = crate::config::path_setting(None, crate::config::vars::MIGRATIONS_DIR);
        let migrations = crate::schema::migrations::load(dir.as_deref())?;
        Ok(Checker {
            pool,
            invalid,
            config: config.clone(),
            timeout,
            connect,
            migrations,
        })
    }

    /// One check, bounded by the timeout: the JSON and the exit code it stands for.
    pub async fn check(&self) -> (Value, Code) {
        let started = Instant::now();
        let result = match tokio::time::timeout(self.timeout, self.probe()).await {
            Ok(r) => r,
            Err(_) => Err(fail(
                Code::TempFail,
                format!(
                    "health check of {} timed out after {}s",
                    self.config.db.display(),
                    self.timeout.as_secs_f64()
                ),
            )),
        };
        let mut database = json!({
            "status": "healthy",
            "database_url": self.config.db.display(),
            "pool": self.pool_json(),
        });
        let code = match result {
            Ok(extra) => {
                if let (Value::Object(d), Value::Object(e)) = (&mut database, extra) {
                    d.extend(e);
                }
                Code::Ok
            }
            Err(e) => {
                database["status"] = json!("unhealthy");
                database["error"] = json!(format!("{e:#}"));
                classify(&e)
            }
        };
        database["check_ms"] = json!(millis(started.elapsed()));
        // Reachable but with migrations pending (a deploy half done): still 200 for a
        // load balancer, "degraded" for a human.
        let pending = database["schema"]["pending"].as_u64().unwrap_or(0) > 0;
        let status = match (code, pending) {
            (Code::Ok, false) => "ok",
            (Code::Ok, true) => "degraded",
            _ => "error",
        };
        (
            json!({ "status": status, "components": { "database": database } }),
            code,
        )
    }

    async fn probe(&self) -> Result<Value> {
        let client = self
            .pool
            .get()
            .await
            .map_err(|e| pool_error(&self.config.db, self.connect, e))?;
        let t = Instant::now();
        db::query(&**client, "SELECT 1", &[]).await?;
        let latency = t.elapsed();
        let row = db::query(
            &**client,
            "SELECT current_setting('server_version'), \
             (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'), \
             current_setting('max_connections')::int8",
            &[],
        )
        .await?
        .remove(0);
        let schema = State::read(&**client, self.migrations.clone()).await?;
        Ok(json!({
            "latency_ms": millis(latency),
            "server_version": row.get::<_, String>(0),
            "connections": { "in_use": row.get::<_, i64>(1), "max": row.get::<_, i64>(2) },
            "schema": {
                "version": schema.current().map(|c| c.version),
                "pending": schema.pending(None).len(),
            },
        }))
    }

    /// SQLAlchemy's pool numbers from deadpool's: checked_in + checked_out = size + overflow.
    fn pool_json(&self) -> Value {
        let s = self.pool.status();
        let size = self.config.pool.size as i64;
        let open = s.size as i64;
        let idle = s.available as i64;
        json!({
            "size": size,
            "checked_in": idle,
            "checked_out": open - idle,
            "overflow": open - size,
            "invalid": self.invalid.load(Ordering::Relaxed),
            "max_overflow": self.config.pool.max_overflow,
            "waiting": s.waiting,
        })
    }
}

fn pool_error(
    db: &DbConfig,
    connect: Duration,
    e: deadpool::managed::PoolError<tokio_postgres::Error>,
) -> anyhow::Error {
    use deadpool::managed::{PoolError, TimeoutType};
    match e {
        PoolError::Backend(pg) => db::describe(db, &pg).error,
        // Opening a new connection timed out: the server, not the pool.
        PoolError::Timeout(TimeoutType::Create) => db::connect_timed_out(db, connect),
        PoolError::Timeout(TimeoutType::Wait) => fail(
            Code::TempFail,
            format!(
                "{}: no pooled connection came free in time: every one is busy (KRONIC_DATABASE_POOL_SIZE, KRONIC_DATABASE_POOL_TIMEOUT)",
                db.display()
            ),
        ),
        PoolError::Timeout(TimeoutType::Recycle) => fail(
            Code::TempFail,
            format!(
                "{}: a pooled connection did not answer its check in time: is the server overloaded?",
                db.display()
            ),
        ),
        other => fail(Code::Software, format!("connection pool: {other}")),
    }
}

/// Milliseconds rounded to the microsecond: no float noise (7.708905000000001) in JSON.
fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}
