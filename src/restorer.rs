//! Restoring one backup into a database: the file checked and opened (decrypted when
//! needed), read on a plain thread while kronic's own connection applies what the
//! reader allows, the existing tables locked up front without blocking the application,
//! one transaction committed only when the whole file was read. `kronic restore` and
//! `kronic backup drill` use it.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};

use crate::config::DbConfig;
use crate::crypt::Identities;
use crate::db;
use crate::dump::{self, Reader};
use crate::exit::{Code, classify, fail};
use crate::locks::{self, LockPolicy, Watch};
use crate::progress::Progress;
use crate::remote::Remote;
use crate::repository;

/// A backup to restore: a file, or an object streamed from the bucket.
pub struct Source {
    /// The file, or the object's URL (for messages).
    pub path: PathBuf,
    pub size: u64,
    pub time: Option<DateTime<Utc>>,
    /// To decrypt it, when it is encrypted.
    identities: Arc<Identities>,
    object: Option<(Remote, String)>,
}

impl Source {
    /// The backup at `path`, checked before anything connects: a dump by its content,
    /// and for an encrypted one, an identity that opens it (77 otherwise).
    pub fn open(path: PathBuf, identities: Identities) -> Result<Source> {
        let meta = std::fs::metadata(&path).map_err(|e| {
            fail(
                crate::exit::io_code(&e),
                format!("cannot open {}: {e}", path.display()),
            )
        })?;
        if !meta.is_file() {
            return Err(fail(
                Code::NoInput,
                format!("{} is not a file", path.display()),
            ));
        }
        dump::check_opens(dump::open(&path)?, &identities, &path)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let time = repository::parse_backup_name(&name)
            .or_else(|| meta.modified().ok().map(DateTime::<Utc>::from));
        Ok(Source {
            path,
            size: meta.len(),
            time,
            identities: Arc::new(identities),
            object: None,
        })
    }

    /// The object `name` in `remote`, checked like a file (its first bytes are read).
    pub async fn object(remote: &Remote, name: &str, identities: Identities) -> Result<Source> {
        let path = PathBuf::from(remote.url_of(name));
        let (head, size) = remote.reader(name).await?;
        let identities = Arc::new(identities);
        let (ids, label) = (identities.clone(), path.clone());
        tokio::task::spawn_blocking(move || dump::check_opens(head, &ids, &label))
            .await
            .context("the checking task failed")??;
        Ok(Source {
            path,
            size,
            time: repository::parse_backup_name(name),
            identities,
            object: Some((remote.clone(), name.to_string())),
        })
    }

    /// Its manifest, when it has one (next to the file, or next to the object).
    pub async fn manifest(&self) -> Result<Option<crate::manifest::Manifest>> {
        match &self.object {
            None => crate::manifest::Manifest::read(&self.path),
            Some((remote, name)) => remote.manifest(name).await,
        }
    }

    /// Its bytes, from the start.
    async fn bytes(&self) -> Result<Box<dyn Read + Send>> {
        match &self.object {
            None => Ok(Box::new(dump::open(&self.path)?)),
            Some((remote, name)) => Ok(remote.reader(name).await?.0),
        }
    }
}

/// What a restore applied.
pub struct Restored {
    pub sql_bytes: u64,
    /// Rows loaded per table, in dump order.
    pub tables: Vec<(String, u64)>,
}

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

pub async fn create(target: &DbConfig) -> Result<()> {
    let client = db::connect(&target.with_dbname("postgres")).await?;
    let sql = format!("CREATE DATABASE {}", quote_ident(&target.dbname));
    db::batch(&client, &sql).await.map_err(|e| {
        let why = match e.as_db_error() {
            Some(d) if d.code() == &tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE => format!(
                "role {} lacks the CREATEDB privilege (ALTER ROLE {} CREATEDB, or create the database as a superuser)",
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
    tracing::info!("created database {}", target.dbname);
    Ok(())
}

pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Reads the dump on a plain thread (decompressing, splitting, judging every
/// statement) while this task applies what it sends; commits only when the reader has
/// read the whole file and refused nothing.
pub async fn restore(
    client: &tokio_postgres::Client,
    target: &DbConfig,
    src: &Source,
    policy: LockPolicy,
) -> Result<Restored> {
    let file = src.bytes().await?;
    let progress = Progress::new("read", Some(src.size));
    let phase = progress.phase();
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let (identities, path) = (src.identities.clone(), src.path.clone());
    let reader = tokio::task::spawn_blocking(move || -> Result<u64> {
        let counted = CountingReader {
            inner: file,
            progress,
        };
        let mut r = Reader::new(dump::sql_reader(counted, &identities, &path)?);
        // A closed channel means the applying side stopped; it reports why.
        while let Some(step) = r.next_step().map_err(|e| e.into_error(&path))? {
            if tx.blocking_send(step).is_err() {
                break;
            }
        }
        Ok(r.sql_bytes())
    });

    phase.set("locking the existing tables");
    let watch = Watch::start(target, client).await;
    locks::retrying(policy, &watch, "restore", async || {
        db::batch(client, "BEGIN").await?;
        let locked = lock_existing(client, policy).await;
        if locked.is_err() {
            db::batch(client, "ROLLBACK").await.ok();
        }
        locked
    })
    .await?;
    drop(watch);
    let applied = dump::apply(client, &mut rx, &phase).await;
    drop(rx);
    let read = reader.await.context("the reading task failed")?;
    let unchanged = format!("nothing was restored, {} is unchanged", target.display());
    let restored = match (read, applied) {
        // The reader's verdict first: a refused statement or a cut file is the cause.
        (Err(e), _) => {
            return Err(fail(classify(&e), format!("{e:#}; {unchanged}")));
        }
        (Ok(_), Err(e)) => {
            return Err(fail(
                classify(&e),
                format!("restore failed at {e:#}; rolled back, {unchanged}"),
            ));
        }
        (Ok(sql_bytes), Ok(applied)) => {
            let rows: u64 = applied.tables.iter().map(|(_, r)| r).sum();
            tracing::info!("{} rows in {} tables", rows, applied.tables.len());
            Restored {
                sql_bytes,
                tables: applied.tables,
            }
        }
    };
    phase.set("commit");
    db::batch(client, "COMMIT").await.map_err(|e| {
        let e = anyhow::Error::new(e);
        fail(
            classify(&e),
            format!("restore failed at commit: {e:#}; rolled back, {unchanged}"),
        )
    })?;
    // The dump set session settings (search_path to ''): back to the defaults for
    // whatever the caller does next on this connection.
    db::batch(client, "RESET ALL").await?;
    Ok(restored)
}

/// Takes every existing table's lock up front, each try bounded by the policy's
/// timeout: once held, the dump's DROPs cannot queue behind the application (and block
/// it) halfway through. The timeout stays set for the rest of the restore.
async fn lock_existing(client: &tokio_postgres::Client, policy: LockPolicy) -> Result<()> {
    db::batch(
        client,
        &format!("SET LOCAL lock_timeout = '{}'", policy.setting()),
    )
    .await?;
    let names = db::texts(
        client,
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') \
           AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' \
         ORDER BY 1",
    )
    .await?;
    if names.is_empty() {
        return Ok(());
    }
    let sql = format!("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE", names.join(", "));
    db::batch(client, &sql).await?;
    Ok(())
}

/// Counts file bytes for the progress bar.
struct CountingReader {
    inner: Box<dyn Read + Send>,
    progress: Progress,
}

impl Read for CountingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.add(n as u64);
        Ok(n)
    }
}
