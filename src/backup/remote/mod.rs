//! The offsite copy: backups in object storage under `s3://bucket/prefix`, through a
//! storage backend (`backend.rs`; S3 and S3-compatible services in `s3.rs`).
//! The same names as in the folder, directly under the prefix, each with its manifest
//! as a sidecar object `<name>.manifest.json` (holding the SHA-256 and size of the
//! uploaded bytes). Uploads are multipart, fed while the dump is compressed, and become
//! visible only when completed; a failed one is aborted, and one that could not be
//! aborted (the server gone) is written down in the backup folder and aborted by the
//! next run.

use std::io::{self, Read};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Utc};
use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::backup::manifest::{Manifest, Sealed};
use crate::backup::repository;
use crate::backup::retention::{self, Dated, Decision, Policy};
use crate::backup::signing;
use crate::report::exit::{Code, fail};
use crate::report::ui::one_line;

pub mod backend;
mod http;
mod journal;
mod list;
pub mod members;
pub mod s3;
pub mod upload;

use backend::{Backend, Objects};
use http::first_line;

const MANIFEST_MAX: u64 = 16 << 20;

/// Schemes of services object_store knows that kronic has no backend for yet.
const UNSUPPORTED: &[&str] = &["gs", "az", "azure", "abfs", "abfss", "adl"];

/// An `s3://bucket/prefix` location and a client for it.
#[derive(Clone)]
pub struct Remote {
    url: String,
    prefix: String,
    backend: Arc<dyn Backend>,
    store: Arc<dyn Objects>,
    /// The same bucket, for streaming downloads (no whole-request time limit).
    reads: Arc<dyn ObjectStore>,
    timeout: Duration,
}

/// A backup in the bucket.
#[derive(Debug, Clone)]
pub struct RemoteBackup {
    pub name: String,
    /// `s3://bucket/prefix/NAME`.
    pub url: String,
    pub time: DateTime<Utc>,
    pub size: u64,
    /// Its manifest is in the bucket too.
    pub has_manifest: bool,
}

impl Dated for RemoteBackup {
    fn time(&self) -> DateTime<Utc> {
        self.time
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn location(&self) -> String {
        self.url.clone()
    }
}

impl Remote {
    /// `url` must be `s3://bucket[/prefix]`; gs:// and az:// are not supported yet (78).
    /// The backend reads its own settings (for S3, the AWS_* variables). Every request is
    /// bounded by `timeout`.
    pub fn new(url: &str, timeout: Duration) -> Result<Remote> {
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(fail(
                Code::Config,
                format!("remote {:?}: use s3://BUCKET/PREFIX", one_line(url, 200)),
            ));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        // KEY:SECRET@bucket (a secret may hold '/'): never echoed.
        if rest.contains('@') || bucket.contains(':') {
            // Never echoed: what stands before '@' is a key and a secret.
            return Err(fail(
                Code::Config,
                "the remote URL holds credentials (KEY:SECRET@bucket): give them in the storage service's own settings (for S3, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), and use s3://BUCKET/PREFIX",
            ));
        }
        let bad = |why: &str| {
            fail(
                Code::Config,
                format!("remote {:?}: {why}", one_line(url, 200)),
            )
        };
        if scheme != "s3" && !UNSUPPORTED.contains(&scheme) {
            return Err(bad("use s3://BUCKET/PREFIX"));
        }
        let prefix = prefix.trim_matches('/');
        if bucket.is_empty() {
            return Err(bad("the bucket name is missing"));
        }
        // S3's bucket names (and the older ones with capitals or underscores): anything
        // else cannot be a bucket, and would reach a URL or a header.
        if bucket.len() > 255
            || !bucket
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            return Err(bad(
                "not a bucket name (letters, digits, '.', '-' and '_' only)",
            ));
        }
        if prefix.chars().any(char::is_control) {
            return Err(bad("the prefix holds a control character"));
        }
        if !prefix.is_empty()
            && prefix
                .split('/')
                .any(|p| p.is_empty() || p == "." || p == "..")
        {
            return Err(bad("the prefix has an empty, . or .. segment"));
        }
        let url = format!(
            "{scheme}://{bucket}{}{prefix}",
            if prefix.is_empty() { "" } else { "/" }
        );
        // One arm per storage service.
        let backend: Arc<dyn Backend> = match scheme {
            "s3" => Arc::new(s3::S3::from_settings(bucket, &url, timeout)?),
            _ => {
                return Err(bad(&format!(
                    "{scheme}:// is not supported yet; use an s3:// bucket (any S3-compatible service works)"
                )));
            }
        };
        Ok(Remote {
            store: backend.objects(),
            reads: backend.reads(),
            backend,
            url,
            prefix: prefix.to_string(),
            timeout,
        })
    }

    /// `s3://bucket/prefix`, for messages (never credentials).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `s3://bucket/prefix/NAME`.
    pub fn url_of(&self, name: &str) -> String {
        format!("{}/{name}", self.url)
    }

    fn key(&self, name: &str) -> Path {
        if self.prefix.is_empty() {
            Path::from(name)
        } else {
            Path::from(format!("{}/{name}", self.prefix))
        }
    }

    /// The newest backup, passing over names dated more than a day ahead.
    pub async fn latest(&self) -> Result<RemoteBackup> {
        repository::current(self.list().await?, Utc::now())
            .into_iter()
            .next()
            .ok_or_else(|| fail(Code::NoInput, format!("no backups in {}", self.url)))
    }

    /// Applies `policy` to the backups directly under the prefix, as in the folder (never
    /// the newest, nothing dated in the future) and deletes (unless `dry_run`) what it
    /// does not keep, each with its manifest. Other keys are never touched.
    pub async fn prune(
        &self,
        policy: &Policy,
        dry_run: bool,
    ) -> Result<Vec<Decision<RemoteBackup>>> {
        let now = Utc::now();
        let backups = repository::current(self.list().await?, now);
        let decisions = retention::apply(policy, backups);
        for d in decisions.iter().filter(|d| !d.keep) {
            if !dry_run {
                self.delete(&d.backup.name).await?;
                // The caller reports what went (`backup prune` on stdout).
                tracing::debug!(
                    "pruned {} ({} days old)",
                    d.backup.url,
                    (now - d.backup.time).num_days()
                );
            }
        }
        Ok(decisions)
    }

    /// Can the bucket be reached and read (77 credentials, 66 no such bucket, 69
    /// unreachable)? Writing is checked by starting the upload. Listing first also
    /// keeps servers that create buckets on the first write from doing so.
    pub async fn check(&self) -> Result<()> {
        self.list().await.map(|_| ())
    }

    /// Is there an object called `name`?
    pub async fn exists(&self, name: &str) -> Result<bool> {
        match self.store.head(&self.key(name)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.error(name, e)),
        }
    }

    /// The size of the object `name` (66 when there is none).
    pub async fn size(&self, name: &str) -> Result<u64> {
        let meta = self.bounded(name, self.store.head(&self.key(name))).await?;
        Ok(meta.size)
    }

    /// The backup's bytes as a blocking reader (for the restore's reading thread),
    /// streamed: no temporary copy. Its size.
    pub async fn reader(&self, name: &str) -> Result<(Box<dyn Read + Send>, u64)> {
        let got = self
            .bounded(name, self.reads.get(&self.key(name)))
            .await
            .map_err(|e| match crate::report::exit::classify(&e) {
                Code::NoInput => fail(
                    Code::NoInput,
                    format!("{} does not exist", self.url_of(name)),
                ),
                _ => e,
            })?;
        let size = got.meta.size;
        let stream = got.into_stream().map_err(io::Error::other);
        let reader = tokio_util::io::StreamReader::new(stream);
        Ok((Box::new(tokio_util::io::SyncIoBridge::new(reader)), size))
    }

    /// The manifest uploaded with `name`, if there is one.
    pub async fn manifest(&self, name: &str) -> Result<Option<Manifest>> {
        Ok(self.manifest_sealed(name).await?.map(|(m, _)| m))
    }

    /// The manifest uploaded with `name` with its exact bytes and its signature.
    pub async fn manifest_sealed(&self, name: &str) -> Result<Option<(Manifest, Sealed)>> {
        let manifest = crate::backup::manifest::name_for(name);
        // The whole fetch within the remote timeout (a server dripping bytes cannot hold
        // kronic), and the bytes counted as they arrive (whatever Content-Length says).
        let fetch = |key: String| async move {
            match tokio::time::timeout(self.timeout, self.small_object(name, &key)).await {
                Ok(r) => r,
                Err(_) => Err(self.no_answer()),
            }
        };
        let Some(bytes) = fetch(manifest.clone()).await? else {
            return Ok(None);
        };
        let parsed = serde_json::from_slice(&bytes).map_err(|e| {
            fail(
                Code::DataErr,
                format!(
                    "the manifest of {} is not a kronic manifest: {}",
                    self.url_of(name),
                    one_line(&e.to_string(), 200)
                ),
            )
        })?;
        let signature = fetch(signing::sig_name(&manifest))
            .await?
            .map(|b| String::from_utf8_lossy(&b).into_owned());
        Ok(Some((parsed, Sealed { bytes, signature })))
    }

    /// A sidecar object of `name` (its manifest, its signature), bounded in size.
    async fn small_object(&self, name: &str, object: &str) -> Result<Option<Vec<u8>>> {
        let key = self.key(object);
        let got = match self.store.get(&key).await {
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.error(name, e)),
            Ok(g) => g,
        };
        let too_big = |size: String| {
            fail(
                Code::DataErr,
                format!(
                    "the manifest of {} is {size} bytes: not a kronic manifest",
                    self.url_of(name)
                ),
            )
        };
        // A manifest is a few KiB; a server's answer is not trusted to be one.
        if got.meta.size > MANIFEST_MAX {
            return Err(too_big(got.meta.size.to_string()));
        }
        let mut bytes = Vec::new();
        let mut stream = got.into_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.error(name, e))?;
            bytes.extend_from_slice(&chunk);
            if bytes.len() as u64 > MANIFEST_MAX {
                return Err(too_big(format!("over {MANIFEST_MAX}")));
            }
        }
        Ok(Some(bytes))
    }

    /// The manifest's exact bytes, after its signature (a manifest is never there
    /// without the signature made for it).
    async fn put_manifest(&self, name: &str, sealed: &Sealed) -> Result<()> {
        let manifest = crate::backup::manifest::name_for(name);
        if let Some(sig) = &sealed.signature {
            let key = self.key(&signing::sig_name(&manifest));
            self.bounded(
                name,
                self.store
                    .put(&key, PutPayload::from(sig.clone().into_bytes())),
            )
            .await?;
        }
        let key = self.key(&manifest);
        self.bounded(
            name,
            self.store.put(&key, PutPayload::from(sealed.bytes.clone())),
        )
        .await
        .map(|_| ())
    }

    /// Deletes a backup and its manifest (a parallel one: its manifest, then its members).
    pub async fn delete(&self, name: &str) -> Result<()> {
        if crate::backup::parallel::is_parallel(name) {
            return self.delete_parallel(name).await;
        }
        self.store
            .delete(&self.key(name))
            .await
            .map_err(|e| self.error(name, e))?;
        self.delete_sidecars(name).await
    }

    /// Deletes `name`'s manifest and its signature.
    async fn delete_sidecars(&self, name: &str) -> Result<()> {
        let manifest = crate::backup::manifest::name_for(name);
        for sidecar in [manifest.clone(), signing::sig_name(&manifest)] {
            match self.store.delete(&self.key(&sidecar)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.error(name, e)),
            }
        }
        Ok(())
    }

    /// `op` bounded by the remote timeout, its error explained.
    async fn bounded<T>(
        &self,
        what: &str,
        op: impl Future<Output = object_store::Result<T>>,
    ) -> Result<T> {
        match tokio::time::timeout(self.timeout, op).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.error(what, e)),
            Err(_) => Err(self.no_answer()),
        }
    }

    /// One line naming the URL and what to check; never a credential.
    fn error(&self, what: &str, e: object_store::Error) -> anyhow::Error {
        self.backend.explain(what, e)
    }

    fn no_answer(&self) -> anyhow::Error {
        self.backend.no_answer(self.timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(url: &str) -> Result<Remote> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Remote::new(url, Duration::from_secs(1))
    }

    #[test]
    fn urls() {
        assert_eq!(remote("s3://b/p/q/").unwrap().url(), "s3://b/p/q");
        assert_eq!(remote("s3://b").unwrap().url_of("x"), "s3://b/x");
        for bad in [
            "gs://b/p",
            "az://c/p",
            "https://b",
            "s3:///p",
            "s3://b/a//c",
            "s3://b/../c",
            "s3://b c/p",
            "s3://a<b/p",
            "s3://a`b/p",
            "s3://b/p\r",
        ] {
            let e = remote(bad).err().unwrap();
            assert_eq!(crate::report::exit::classify(&e), Code::Config, "{bad}");
        }
        let e = remote("s3://AKIAEXAMPLE:hunter2secret@bucket/p")
            .err()
            .unwrap();
        assert_eq!(crate::report::exit::classify(&e), Code::Config);
        assert!(!format!("{e:#}").contains("hunter2secret"), "{e:#}");
        let e = remote("gs://b").err().unwrap();
        assert!(e.to_string().contains("not supported yet"), "{e}");
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any remote URL is a remote or a one-line 78 that never echoes a secret.
        #[test]
        fn any_remote_url(url in "\\PC{0,40}|s3://[a-zA-Z0-9._<` @:%/-]{0,30}") {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let got = Remote::new(&url, Duration::from_secs(1));
            if let Err(e) = got {
                prop_assert_eq!(crate::report::exit::classify(&e), Code::Config);
                if let Some((_, rest)) = url.split_once("://")
                    && let Some((creds, _)) = rest.split_once('@')
                    && creds.len() > 3
                {
                    let shown = format!("{e:#}");
                    prop_assert!(!shown.contains(creds), "{}", shown);
                }
            }
        }
    }
}
