//! The read side of the pipeline, mirroring `pipeline`'s write side: a backup's location
//! (a file, or an object in the bucket) → its bytes, hashed and counted as they pass →
//! its format, told by content → decrypted → decompressed → statements. Restore, drill
//! and verify all read a backup through here, and the bytes are held to the backup's
//! manifest as they stream: the last statement is handed on only once the digest and
//! the size match what the manifest recorded.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};

use crate::backup::crypt::Identities;
use crate::backup::manifest::{self, HashingReader, Manifest, Sealed};
use crate::backup::parallel::Kind;
use crate::backup::remote::Remote;
use crate::backup::repository;
use crate::backup::signing::Trust;
use crate::fsutil::read_error;
use crate::report::exit::{Code, fail};
use crate::report::progress::Progress;

pub mod members;
mod stream;

use stream::{Check, Counting, check_opens};
pub use stream::{Format, Held, Opened, Statements, Verified, open_file, verify_stream};

/// Where a backup is.
#[derive(Clone)]
enum At {
    File(PathBuf),
    Object(Remote, String),
}

/// What a backup must be to be read: its signature (`trust`) and whose it is (the
/// configured database, or the one `--from-database` names).
pub struct Wanted<'a> {
    pub trust: &'a Trust,
    pub database: Option<&'a str>,
    pub from_database: Option<&'a str>,
}

/// A backup to read: a file, or an object streamed from the bucket, with its manifest.
pub struct Source {
    /// The file, or the object's URL (for messages).
    pub label: PathBuf,
    pub size: u64,
    pub time: Option<DateTime<Utc>>,
    /// The manifest next to it, when there is one.
    pub manifest: Option<Manifest>,
    /// The manifest's exact bytes and signature.
    pub sealed: Option<Sealed>,
    /// Set when it has no manifest while the backups next to it have one: deleted, or
    /// the backup was replaced. Verify and drills fail on it; a restore warns.
    pub manifest_missing: Option<String>,
    /// A parallel backup's folder (`backup::parallel`), read member by member.
    pub parallel: bool,
    identities: Arc<Identities>,
    at: At,
}

impl Source {
    /// The backup a restore or a drill reads: `file` (a path, or an object's s3:// URL,
    /// whose bucket `url_remote` opens); with `remote`, the object `file` names under
    /// the prefix, or the bucket's newest; else the folder's newest, when `latest`.
    pub async fn locate(
        file: Option<&Path>,
        remote: Option<Remote>,
        url_remote: impl FnOnce(&str) -> Result<Option<Remote>>,
        latest: bool,
        dir: &Path,
        identities: Identities,
    ) -> Result<Source> {
        if let Some(url) = file.and_then(Path::to_str).filter(|f| f.contains("://")) {
            let (location, name) = url.rsplit_once('/').unwrap_or((url, ""));
            let remote = url_remote(location)?
                .ok_or_else(|| fail(Code::Usage, format!("{url} names no bucket")))?;
            backup_name(name, url)?;
            return Source::object(&remote, name, identities).await;
        }
        if let Some(remote) = remote {
            let name = match file {
                Some(f) => {
                    let name = f.to_string_lossy().into_owned();
                    backup_name(&name, &remote.url_of(&name))?;
                    name
                }
                None if latest => remote.latest().await?.name,
                None => {
                    return Err(fail(
                        Code::Usage,
                        "--remote needs a backup NAME or --latest (or give the object's s3:// URL)",
                    ));
                }
            };
            return Source::object(&remote, &name, identities).await;
        }
        let path = match (file, latest) {
            (Some(f), _) => f.to_path_buf(),
            (None, true) => repository::latest(dir)?.path,
            (None, false) => {
                return Err(fail(
                    Code::Usage,
                    "restore needs a backup FILE, or --latest for the newest in the backup folder",
                ));
            }
        };
        Source::file(path, identities)
    }

    /// The backup a restore, drill or verify reads (`locate`, a bucket named in an s3://
    /// URL opened with the offsite settings), held to `want` (its signature, its
    /// database). With trusted keys, `--latest` passes over backups that fail those
    /// checks, one line each, and takes the newest that passes. Not yet opened: a restore
    /// or drill then `check`s it before anything connects (verify reads an encrypted
    /// backup without identity).
    pub async fn choose(
        file: Option<&Path>,
        remote: Option<Remote>,
        latest: bool,
        dir: &Path,
        identities: Identities,
        want: &Wanted<'_>,
    ) -> Result<Source> {
        Ok(match (file, latest, want.trust.keys.is_some()) {
            (None, true, true) => Source::newest_trusted(remote, dir, identities, want).await?,
            _ => {
                let src = Source::locate(
                    file,
                    remote,
                    |url| crate::backup::settings::remote(Some(url.to_string())),
                    latest,
                    dir,
                    identities,
                )
                .await?;
                if latest {
                    src.check_newest(want.database, want.from_database)?;
                }
                src.check_trust(want)?;
                src
            }
        })
    }

    /// The newest backup, in the bucket or the folder, that its signature and manifest
    /// vouch for.
    async fn newest_trusted(
        remote: Option<Remote>,
        dir: &Path,
        identities: Identities,
        want: &Wanted<'_>,
    ) -> Result<Source> {
        let now = Utc::now();
        let (candidates, place): (Vec<Result<Source>>, String) = match &remote {
            Some(r) => {
                let mut out = Vec::new();
                for b in repository::current(r.list().await?, now) {
                    out.push(Source::object(r, &b.name, identities.clone()).await);
                }
                (out, r.url().to_string())
            }
            None => {
                repository::trusted_dir(dir)?;
                let out = repository::current(repository::list(dir)?, now)
                    .into_iter()
                    .filter(|b| repository::distrust(b).is_none())
                    .map(|b| Source::file(b.path, identities.clone()))
                    .collect();
                (out, dir.display().to_string())
            }
        };
        for candidate in candidates {
            let checked = candidate.and_then(|src| {
                src.check_newest(want.database, want.from_database)?;
                src.check_trust(want)?;
                Ok(src)
            });
            match checked {
                Ok(src) => return Ok(src),
                Err(e) => tracing::warn!("passing over {e:#}"),
            }
        }
        Err(fail(
            Code::NoInput,
            format!("no backup in {place} is signed by a trusted key"),
        ))
    }

    /// With trusted keys configured: the manifest is signed by one of them over exactly
    /// its bytes, and what the signature binds holds: the backup's own name, the
    /// database (unless `--from-database` names the manifest's), a format kronic reads.
    /// 65 naming the backup otherwise; `--allow-unsigned` turns that into a warning.
    pub fn check_trust(&self, want: &Wanted<'_>) -> Result<()> {
        let Some(keys) = &want.trust.keys else {
            return Ok(());
        };
        let label = self.label.display().to_string();
        let checked = (|| {
            let (bytes, sig) = match &self.sealed {
                Some(s) => (&s.bytes[..], s.signature.as_deref()),
                None => (&[][..], None),
            };
            let id = keys.check(&label, bytes, sig)?;
            let m = self.manifest.as_ref().expect("a signed manifest was read");
            let own = self
                .label
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let untrusted = |why: String| fail(Code::DataErr, format!("{label}: {why}"));
            if m.name.as_deref() != Some(own.as_str()) {
                return Err(untrusted(format!(
                    "its manifest, signed by key {id}, is the manifest of {} (renamed, or another backup's manifest)",
                    m.name.as_deref().unwrap_or("an unnamed backup")
                )));
            }
            if m.format.is_none_or(|f| f > crate::backup::parallel::FORMAT) {
                return Err(untrusted(format!(
                    "its manifest's format {:?} is not one this kronic reads",
                    m.format
                )));
            }
            let db = m.database.rsplit('/').next().unwrap_or(&m.database);
            if let Some(wanted) = want.from_database.or(want.database)
                && db != wanted
            {
                return Err(untrusted(format!(
                    "a backup of database {db} (signed by key {id}), not of {wanted}: --from-database {db} to restore it anyway"
                )));
            }
            tracing::debug!("{label}: signed by trusted key {id}");
            Ok(())
        })();
        match checked {
            Err(e) if want.trust.allow_unsigned => {
                tracing::warn!("{e:#}; reading it anyway (--allow-unsigned)");
                Ok(())
            }
            r => r,
        }
    }

    /// A backup picked as the newest is taken only if its manifest agrees: it is a
    /// backup of `database` (or of `from_database`, when the operator names another),
    /// and it started when its name says (an older backup copied under a newer name is
    /// not the newest). 65 otherwise, naming the backup and what disagrees.
    pub fn check_newest(&self, database: Option<&str>, from_database: Option<&str>) -> Result<()> {
        let Some(m) = &self.manifest else {
            return Ok(());
        };
        let label = self.label.display();
        // The manifest names the database as host:port/name; the name is what must
        // match (a restore onto a new host keeps it).
        let name = m.database.rsplit('/').next().unwrap_or(&m.database);
        if let Some(wanted) = from_database.or(database)
            && name != wanted
        {
            return Err(fail(
                Code::DataErr,
                format!(
                    "{label} is a backup of database {name}, not of {wanted}: --latest takes only {wanted}'s backups (to use it anyway: --from-database {name})"
                ),
            ));
        }
        // A manifest names its backup (format 1): a copy under a newer name is caught
        // exactly. An older one without a name is judged by its start time instead.
        let own = self
            .label
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(n) = &m.name {
            if *n != own {
                return Err(fail(
                    Code::DataErr,
                    format!(
                        "{label}: its manifest is the manifest of {n}: a backup renamed or copied under a newer name is not taken as the newest (name it explicitly to use it)"
                    ),
                ));
            }
            return Ok(());
        }
        let started = DateTime::parse_from_rfc3339(&m.started_at).map(|t| t.with_timezone(&Utc));
        if let (Some(named), Ok(started)) = (self.time, started)
            && (named - started).num_seconds().abs() > 300
        {
            return Err(fail(
                Code::DataErr,
                format!(
                    "{label}: its manifest says it started at {}, but its name says {}: a backup renamed or copied under a newer name is not taken as the newest (name it explicitly to use it)",
                    started.format("%Y-%m-%d %H:%M:%S UTC"),
                    named.format("%Y-%m-%d %H:%M:%S UTC")
                ),
            ));
        }
        Ok(())
    }

    /// The backup at `path`, checked before anything connects: a dump by its content,
    /// and for an encrypted one, an identity that opens it (77 otherwise).
    pub fn file(path: PathBuf, identities: Identities) -> Result<Source> {
        let meta = std::fs::metadata(&path).map_err(|e| {
            fail(
                crate::report::exit::io_code(&e),
                format!("cannot open {}: {e}", path.display()),
            )
        })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let parallel = meta.is_dir() && name.ends_with(crate::backup::parallel::SUFFIX);
        if !meta.is_file() && !parallel {
            return Err(fail(
                Code::NoInput,
                format!("{} is not a file", path.display()),
            ));
        }
        let time = repository::parse_backup_name(&name)
            .or_else(|| meta.modified().ok().map(DateTime::<Utc>::from));
        let (manifest, sealed) = match Manifest::read_sealed(&path)? {
            Some((m, s)) => (Some(m), Some(s)),
            None => (None, None),
        };
        let manifest_missing = match manifest {
            Some(_) => None,
            None => missing_in_folder(&path, &name),
        };
        let size = match &manifest {
            Some(m) if parallel => m.compressed_bytes,
            _ => meta.len(),
        };
        Ok(Source {
            label: path.clone(),
            size,
            time,
            manifest,
            sealed,
            manifest_missing,
            parallel,
            identities: Arc::new(identities),
            at: At::File(path),
        })
    }

    /// The object `name` in `remote`, checked like a file (its first bytes are read); or
    /// the parallel backup `name` there, by its manifest.
    pub async fn object(remote: &Remote, name: &str, identities: Identities) -> Result<Source> {
        let label = PathBuf::from(remote.url_of(name));
        let parallel = crate::backup::parallel::is_parallel(name);
        let (manifest, sealed) = match remote.manifest_sealed(name).await? {
            Some((m, s)) => (Some(m), Some(s)),
            None if parallel => {
                return Err(fail(
                    Code::NoInput,
                    format!(
                        "{} is not in the bucket (a parallel backup is there once its manifest is)",
                        label.display()
                    ),
                ));
            }
            None => (None, None),
        };
        let size = match &manifest {
            Some(m) if parallel => m.compressed_bytes,
            _ => remote.size(name).await?,
        };
        let manifest_missing = match manifest {
            Some(_) => None,
            None => {
                let others = remote.list().await?;
                others
                    .iter()
                    .any(|b| b.name != name && b.has_manifest)
                    .then(|| {
                        format!(
                            "{} has no manifest, while the backups next to it have one (deleted, or the backup replaced?)",
                            label.display()
                        )
                    })
            }
        };
        Ok(Source {
            label,
            size,
            time: repository::parse_backup_name(name),
            manifest,
            sealed,
            manifest_missing,
            parallel,
            identities: Arc::new(identities),
            at: At::Object(remote.clone(), name.to_string()),
        })
    }

    /// What a restore checks before anything connects: a dump by its first bytes, and
    /// for an encrypted one an identity that opens it (77 otherwise).
    pub async fn check(&self) -> Result<()> {
        if self.parallel {
            let m = self.parallel_manifest()?;
            let members = self.members();
            members.check(m).await?;
            let first = &m.members[0];
            let head = members.open(first).await?.input;
            let (ids, label) = (self.identities.clone(), members.label(first));
            let sql = first.kind != crate::backup::parallel::Kind::Data;
            return tokio::task::spawn_blocking(move || check_opens(head, &ids, &label, sql))
                .await
                .context("the checking task failed")?;
        }
        let head = self.raw().await?;
        let (ids, label) = (self.identities.clone(), self.label.clone());
        tokio::task::spawn_blocking(move || check_opens(head, &ids, &label, true))
            .await
            .context("the checking task failed")?
    }

    async fn raw(&self) -> Result<Box<dyn Read + Send>> {
        Ok(match &self.at {
            At::File(path) => Box::new(open_file(path)?),
            At::Object(remote, name) => remote.reader(name).await?.0,
        })
    }

    /// Its bytes, from the start, hashed and counted as they are read (and shown on
    /// `progress`).
    pub async fn open(&self, progress: Option<Progress>) -> Result<Opened> {
        let (hashing, digest) = HashingReader::new(Counting {
            inner: self.raw().await?,
            progress,
        });
        Ok(Opened {
            input: Box::new(hashing),
            check: Check {
                digest,
                label: self.label.clone(),
                size: self.size,
                sha256: self.manifest.as_ref().map(|m| m.sha256.clone()),
            },
            identities: self.identities.clone(),
        })
    }

    /// Verifies the whole backup as a restore would read it, and its bytes against its
    /// manifest; a manifest missing among neighbours that have one fails it (65).
    pub async fn verify(&self) -> Result<Verified> {
        if let Some(why) = &self.manifest_missing {
            return Err(fail(Code::DataErr, why.clone()));
        }
        if self.parallel {
            return self.verify_members().await;
        }
        let opened = self.open(None).await?;
        tokio::task::spawn_blocking(move || opened.verify())
            .await
            .context("the verifying task failed")?
    }
}

impl Source {
    /// The identities it is decrypted with.
    pub fn identities(&self) -> Identities {
        (*self.identities).clone()
    }

    /// A parallel backup's manifest: without one its members cannot be told apart (65).
    pub fn parallel_manifest(&self) -> Result<&Manifest> {
        self.manifest.as_ref().ok_or_else(|| {
            fail(
                Code::DataErr,
                format!(
                    "{}: a parallel backup without its manifest ({}) cannot be read",
                    self.label.display(),
                    manifest::name_for(
                        &self.label.file_name().unwrap_or_default().to_string_lossy()
                    )
                ),
            )
        })
    }

    /// Every member read as a restore reads it and held to its size and digest; the SQL
    /// members' statements judged. An encrypted backup without an identity: the sizes
    /// and digests only.
    async fn verify_members(&self) -> Result<Verified> {
        let m = self.parallel_manifest()?.clone();
        let members = self.members();
        members.check(&m).await?;
        let decrypt = m.recipients.is_empty() || !self.identities.is_empty();
        let mut sql_bytes = 0;
        for member in &m.members {
            let opened = members.open(member).await?;
            let (label, data) = (members.label(member), member.kind == Kind::Data);
            sql_bytes += tokio::task::spawn_blocking(move || -> Result<u64> {
                if !decrypt {
                    let check = opened.check;
                    io::copy(&mut { opened.input }, &mut io::sink())
                        .map_err(|e| read_error(&check.label, e))?;
                    check.held()?;
                    return Ok(0);
                }
                if data {
                    let (mut input, held) = opened.data()?;
                    let n =
                        io::copy(&mut input, &mut io::sink()).map_err(|e| read_error(&label, e))?;
                    held.check()?;
                    return Ok(n);
                }
                let mut steps = opened.statements()?;
                while steps.next_step()?.is_some() {}
                Ok(steps.sql_bytes())
            })
            .await
            .context("the verifying task failed")??;
        }
        Ok(Verified {
            sql_bytes,
            content_checked: decrypt,
        })
    }
}

/// A backup name, or 64 naming what was given (`shown`).
fn backup_name(name: &str, shown: &str) -> Result<()> {
    match repository::parse_backup_name(name) {
        Some(_) => Ok(()),
        None => Err(fail(
            Code::Usage,
            format!(
                "{shown} does not name a kronic backup (kronic_backup_YYYYmmdd_HHMMSS.sql.gz and the like)"
            ),
        )),
    }
}

/// Why a backup file without a manifest is suspicious, if it is: other backups in its
/// folder have one.
fn missing_in_folder(path: &Path, name: &str) -> Option<String> {
    repository::parse_backup_name(name)?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty())?;
    let others = repository::list(dir).ok()?;
    others
        .iter()
        .any(|b| b.name != name && manifest::path_for(&b.path).is_file())
        .then(|| {
            format!(
                "{} has no manifest, while the backups next to it have one (deleted, or the backup replaced?)",
                path.display()
            )
        })
}
