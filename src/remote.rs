//! The offsite copy: backups in S3-compatible object storage under `s3://bucket/prefix`.
//! The same names as in the folder, directly under the prefix, each with its manifest
//! as a sidecar object `<name>.manifest.json` (holding the SHA-256 and size of the
//! uploaded bytes). Uploads are multipart, fed while the dump is compressed, and become
//! visible only when completed; a failed one is aborted, and one that could not be
//! aborted (the server gone) is written down in the backup folder and aborted by the
//! next run.

use std::io::{self, Read, Write};
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::client::{
    HttpClient, HttpConnector, HttpError, HttpErrorKind, HttpRequest, HttpResponse, HttpService,
    ReqwestConnector,
};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use object_store::{ClientOptions, MultipartId, ObjectStore, ObjectStoreExt, PutPayload};
use tokio::task::JoinSet;

use crate::exit::{Code, fail};
use crate::manifest::Manifest;
use crate::repository;
use crate::retention::{self, Dated, Decision, Policy};
use crate::ui::Interrupts;

/// Parts of 8 MiB, four in flight: memory stays near 48 MiB whatever the database's
/// size (a part filling, one queued, four sending); objects up to 80 GB (S3 allows
/// 10,000 parts).
const PART: usize = 8 << 20;
const IN_FLIGHT: usize = 4;
/// Where uploads that could not be aborted are written down, in the backup folder.
const JOURNAL: &str = ".kronic-unfinished-uploads";

/// An `s3://bucket/prefix` location and a client for it.
#[derive(Clone)]
pub struct Remote {
    url: String,
    prefix: String,
    store: Arc<AmazonS3>,
    /// The same bucket, for streaming downloads (no whole-request time limit).
    reads: Arc<AmazonS3>,
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
    /// Credentials, region and endpoint come with `builder` (the AWS_* variables), the
    /// HTTP client's settings (proxy, CA certificates) with `http`.
    pub fn new(
        url: &str,
        timeout: Duration,
        builder: AmazonS3Builder,
        http: ClientOptions,
    ) -> Result<Remote> {
        let bad = |why: &str| fail(Code::Config, format!("remote {url:?}: {why}"));
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(bad("use s3://BUCKET/PREFIX"));
        };
        match scheme {
            "s3" => {}
            "gs" | "az" | "azure" | "abfs" | "abfss" | "adl" => {
                return Err(bad(&format!(
                    "{scheme}:// is not supported yet; use an s3:// bucket (any S3-compatible service works)"
                )));
            }
            _ => return Err(bad("use s3://BUCKET/PREFIX")),
        }
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_matches('/');
        if bucket.is_empty() {
            return Err(bad("the bucket name is missing"));
        }
        if !prefix.is_empty()
            && prefix
                .split('/')
                .any(|p| p.is_empty() || p == "." || p == "..")
        {
            return Err(bad("the prefix has an empty, . or .. segment"));
        }
        let builder = builder.with_bucket_name(bucket);
        let build = |options: ClientOptions, retry_timeout: Duration| {
            builder
                .clone()
                .with_http_connector(UntrustedFailsFast)
                .with_retry(object_store::RetryConfig {
                    max_retries: 10,
                    retry_timeout,
                    ..Default::default()
                })
                .with_client_options(
                    options
                        .with_connect_timeout(timeout)
                        .with_read_timeout(timeout),
                )
                .build()
                .map(Arc::new)
                .map_err(|e| bad(&first_line(&e.to_string())))
        };
        // Requests and uploaded parts: each whole request bounded (an 8 MiB part gets
        // at least two minutes, for slow links), retries too.
        let whole = (timeout * 4).max(Duration::from_secs(120));
        let store = build(http.clone().with_timeout(whole), timeout)?;
        // Downloads feed a restore for as long as it takes: no limit on the whole
        // request, only on a stalled read. object_store resumes a broken download where
        // it stopped (a range request, the same ETag) while its retry budget lasts, and
        // that budget counts from the request's start: hours into a restore, only the
        // number of retries may bound it. (The first answer is bounded by `bounded`.)
        let reads = build(http.with_timeout_disabled(), DOWNLOAD_RETRY_BUDGET)?;
        Ok(Remote {
            url: format!(
                "s3://{bucket}{}{prefix}",
                if prefix.is_empty() { "" } else { "/" }
            ),
            prefix: prefix.to_string(),
            store,
            reads,
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

    /// The backups directly under the prefix, newest first: exact backup names only
    /// (other keys and anything under sub-prefixes are not kronic's).
    pub async fn list(&self) -> Result<Vec<RemoteBackup>> {
        let prefix = (!self.prefix.is_empty()).then(|| Path::from(self.prefix.as_str()));
        let listed = self
            .bounded("list", self.store.list_with_delimiter(prefix.as_ref()))
            .await?;
        let mut out: Vec<RemoteBackup> = listed
            .objects
            .into_iter()
            .filter_map(|o| {
                let name = o.location.filename()?.to_string();
                let time = repository::parse_backup_name(&name)?;
                Some(RemoteBackup {
                    url: self.url_of(&name),
                    name,
                    time,
                    size: o.size,
                })
            })
            .collect();
        out.sort_by(|a, b| b.time.cmp(&a.time).then(b.name.cmp(&a.name)));
        Ok(out)
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
                tracing::info!(
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

    /// The backup's bytes as a blocking reader (for the restore's reading thread),
    /// streamed: no temporary copy. Its size.
    pub async fn reader(&self, name: &str) -> Result<(Box<dyn Read + Send>, u64)> {
        let got = self
            .bounded(name, self.reads.get(&self.key(name)))
            .await
            .map_err(|e| match crate::exit::classify(&e) {
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
        let key = self.key(&crate::manifest::name_for(name));
        let got = match self.store.get(&key).await {
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.error(name, e)),
            Ok(g) => g,
        };
        // A manifest is a few KiB; a server's answer is not trusted to be one.
        if got.meta.size > MANIFEST_MAX {
            return Err(fail(
                Code::DataErr,
                format!(
                    "the manifest of {} is {} bytes: not a kronic manifest",
                    self.url_of(name),
                    got.meta.size
                ),
            ));
        }
        let bytes = got.bytes().await.map_err(|e| self.error(name, e))?;
        serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            fail(
                Code::DataErr,
                format!(
                    "the manifest of {} is not a kronic manifest: {e}",
                    self.url_of(name)
                ),
            )
        })
    }

    async fn put_manifest(&self, name: &str, manifest: &Manifest) -> Result<()> {
        let text = serde_json::to_vec_pretty(manifest)?;
        let key = self.key(&crate::manifest::name_for(name));
        self.bounded(name, self.store.put(&key, PutPayload::from(text)))
            .await
            .map(|_| ())
    }

    /// Deletes a backup and its manifest.
    pub async fn delete(&self, name: &str) -> Result<()> {
        self.store
            .delete(&self.key(name))
            .await
            .map_err(|e| self.error(name, e))?;
        let sidecar = self.key(&crate::manifest::name_for(name));
        match self.store.delete(&sidecar).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error(name, e)),
        }
    }

    /// Starts the multipart upload of `name`: this is also the check that the bucket can
    /// be reached and written to (77 credentials, 66 no such bucket, 69 unreachable,
    /// each within the remote timeout).
    pub async fn start_upload(&self, name: &str) -> Result<Upload> {
        let key = self.key(name);
        let id = self
            .bounded(name, self.store.create_multipart(&key))
            .await?;
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1);
        let task = tokio::spawn(send_parts(self.store.clone(), key.clone(), id.clone(), rx));
        Ok(Upload {
            remote: self.clone(),
            name: name.to_string(),
            key,
            id,
            task: Some(task),
            feed: Some(Feed {
                tx: Some(tx),
                buf: Vec::with_capacity(PART),
                required: false,
            }),
        })
    }

    /// Uploads a local backup file (sync): the same multipart path, read once, and
    /// verified (`dump::verify`) from the same read: a file that does not verify is not
    /// uploaded. A signal aborts the upload (written down in `journal` if that fails),
    /// unless the object is already being made visible: that finishes first.
    pub async fn upload_file(
        &self,
        path: &FsPath,
        manifest: Option<Manifest>,
        journal: Option<&FsPath>,
        interrupts: &mut Interrupts,
    ) -> Result<()> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let interrupted = || {
            fail(
                Code::Interrupted,
                format!("interrupted: the upload of {name} was aborted"),
            )
        };
        let mut upload = self.start_upload(&name).await?;
        if interrupts.pending() {
            upload.abort(journal).await;
            return Err(interrupted());
        }
        let feed = upload.feed();
        let file = crate::dump::open(path)?;
        let label = path.to_path_buf();
        let copy = tokio::task::spawn_blocking(move || copy_verified(file, feed, label));
        let copied = tokio::select! {
            r = copy => r?,
            _ = interrupts.arrived() => {
                upload.abort(journal).await;
                return Err(interrupted());
            }
        };
        let (size, sha256) = match copied {
            Ok(done) => done,
            Err(e) => {
                upload.abort(journal).await;
                return Err(e.context("not uploaded"));
            }
        };
        let matches = match &manifest {
            Some(m) => m.check_digest(&path.display().to_string(), &sha256),
            None => Ok(()),
        };
        if let Err(e) = matches {
            upload.abort(journal).await;
            return Err(e.context("not uploaded"));
        }
        let manifest = manifest.unwrap_or_default();
        upload
            .complete(size, &sha256, manifest, journal, interrupts)
            .await
    }

    /// Aborts the uploads an earlier run could not abort (written down in `dir`).
    pub async fn finish_journal(&self, dir: &FsPath) {
        let path = dir.join(JOURNAL);
        let Ok(text) = std::fs::read_to_string(&path) else {
            return;
        };
        let mut left = String::new();
        for line in text.lines() {
            let Some((key, id)) = line.split_once('\t') else {
                continue;
            };
            // Only kronic's own under this prefix: a backup name directly in it (another
            // prefix's lines wait for a run against that one).
            let (prefix, name) = key.rsplit_once('/').unwrap_or(("", key));
            if prefix != self.prefix || repository::parse_backup_name(name).is_none() {
                left.push_str(line);
                left.push('\n');
                continue;
            }
            let (key, id) = (Path::from(key), MultipartId::from(id.to_string()));
            match self.store.abort_multipart(&key, &id).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {
                    tracing::info!("aborted the unfinished upload of {key} left by an earlier run");
                }
                Err(e) => {
                    tracing::warn!(
                        "cannot abort the unfinished upload of {key} yet: {}",
                        first_line(&e.to_string())
                    );
                    left.push_str(line);
                    left.push('\n');
                }
            }
        }
        let _ = if left.is_empty() {
            std::fs::remove_file(&path).map_err(anyhow::Error::from)
        } else {
            crate::fsutil::write_atomic(&path, left.as_bytes(), 0o600)
        };
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

    /// One line naming the URL and what to check; never a credential. Told by the
    /// error kind and by S3's error code (listing errors arrive as generic ones).
    fn error(&self, what: &str, e: object_store::Error) -> anyhow::Error {
        use object_store::Error as E;
        let detail = reason(&source_text(&e));
        let code = detail.split(':').next().unwrap_or("");
        let denied = matches!(e, E::Unauthenticated { .. } | E::PermissionDenied { .. })
            || DENIED.contains(&code)
            || detail.starts_with("403");
        if denied {
            return fail(
                Code::NoPerm,
                format!(
                    "{}: access denied ({detail}); check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) and the bucket's policy",
                    self.url
                ),
            );
        }
        if code == "NoSuchBucket" {
            return fail(
                Code::NoInput,
                format!(
                    "{}: the bucket does not exist ({detail}); create it or fix KRONIC_BACKUP_REMOTE",
                    self.url
                ),
            );
        }
        if let E::NotFound { .. } = e {
            return fail(
                Code::NoInput,
                format!("{} does not exist", self.url_of(what)),
            );
        }
        if let Some(t) = tls_failure(&e) {
            return fail(
                Code::Unavailable,
                format!(
                    "{}: the object store's TLS certificate is not trusted ({t}); if it uses a private CA, set AWS_CA_BUNDLE to that CA's certificate, and name the host as the certificate does in AWS_ENDPOINT_URL",
                    self.url
                ),
            );
        }
        if detail.contains("timed out") {
            return self.no_answer();
        }
        fail(
            Code::Unavailable,
            format!(
                "{}: cannot reach the object store ({detail}); check AWS_ENDPOINT_URL, AWS_REGION and the network",
                self.url
            ),
        )
    }

    fn no_answer(&self) -> anyhow::Error {
        fail(
            Code::Unavailable,
            format!(
                "{}: cannot reach the object store: no answer within {}s (KRONIC_REMOTE_TIMEOUT); check AWS_ENDPOINT_URL and the network",
                self.url,
                self.timeout.as_secs()
            ),
        )
    }
}

/// `file` into `feed` and, through a pipe, into `dump::verify` on a thread of its own:
/// one read for both. Its size and SHA-256 when it verified; the verifier's verdict
/// comes first.
fn copy_verified(file: std::fs::File, mut feed: Feed, label: PathBuf) -> Result<(u64, String)> {
    let (mut hashing, digest) = crate::manifest::HashingReader::new(file);
    let (pipe, check) = io::pipe()?;
    let mut check = Some(check);
    let shown = label.clone();
    let verifier = std::thread::spawn(move || {
        crate::dump::verify_stream(pipe, &crate::crypt::Identities::default(), &shown)
    });
    // Err((true, e)) when the file could not be read: that, not the verdict on a
    // stream cut short, is the cause.
    let copied = (|| -> Result<(), (bool, io::Error)> {
        let mut buf = vec![0; 256 * 1024];
        loop {
            let n = hashing.read(&mut buf).map_err(|e| (true, e))?;
            if n == 0 {
                return Ok(());
            }
            feed.write_all(&buf[..n]).map_err(|e| (false, e))?;
            // A verifier that stopped reading has its verdict: the rest still uploads.
            if check
                .as_mut()
                .is_some_and(|c| c.write_all(&buf[..n]).is_err())
            {
                check = None;
            }
        }
    })();
    drop(check);
    let verdict = verifier
        .join()
        .map_err(|_| anyhow::anyhow!("the verifying thread failed"))?;
    if let Err((true, e)) = &copied {
        return Err(fail(
            crate::exit::io_code(e),
            format!("cannot read {}: {e}", label.display()),
        ));
    }
    verdict.with_context(|| format!("{} does not verify", label.display()))?;
    copied
        .map_err(|(_, e)| e)
        .and_then(|()| feed.finish())
        .map_err(|e| {
            fail(
                Code::IoErr,
                format!("cannot upload {}: {e}", label.display()),
            )
        })?;
    let (sha256, size) = digest.get();
    Ok((size, sha256))
}

const MANIFEST_MAX: u64 = 16 << 20;

/// A download's retries are bounded by their number (10), not by time.
const DOWNLOAD_RETRY_BUDGET: Duration = Duration::from_secs(7 * 24 * 3600);

/// object_store's own HTTP client, with one change: a TLS certificate that is not
/// trusted is not retried like a refused connection (it will not become trusted within
/// the timeout); its error comes back at once, to be reported as what it is.
#[derive(Debug)]
struct UntrustedFailsFast;

impl HttpConnector for UntrustedFailsFast {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        let inner = ReqwestConnector::default().connect(options)?;
        Ok(HttpClient::new(NoRetryOnTls(inner)))
    }
}

#[derive(Debug)]
struct NoRetryOnTls(HttpClient);

#[async_trait::async_trait]
impl HttpService for NoRetryOnTls {
    async fn call(&self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
        self.0
            .execute(req)
            .await
            .map_err(|e| match tls_failure(&e) {
                Some(_) => HttpError::new(HttpErrorKind::Unknown, e),
                None => e,
            })
    }
}

/// The TLS error somewhere in `e`'s sources (rustls reports inside io::Errors, and an
/// io::Error's `source` skips what it wraps: `get_ref` is followed instead).
fn tls_failure<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(e);
    while let Some(e) = next {
        if let Some(t) = e.downcast_ref::<rustls::Error>() {
            return Some(t);
        }
        next = match e.downcast_ref::<io::Error>().and_then(io::Error::get_ref) {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    None
}

/// S3's error codes for credentials it does not accept.
const DENIED: &[&str] = &[
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
    "AllAccessDisabled",
];

/// An error's innermost useful text (object_store wraps the HTTP client's).
fn source_text(e: &object_store::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = s.to_string();
        source = s.source();
    }
    text
}

/// S3's own `<Code>` and `<Message>` when the text carries an error document, else its
/// first line.
fn reason(text: &str) -> String {
    let tag = |name: &str| {
        let start = text.find(&format!("<{name}>"))? + name.len() + 2;
        let end = start + text[start..].find(&format!("</{name}>"))?;
        Some(text[start..end].to_string())
    };
    match (tag("Code"), tag("Message")) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code,
        _ => first_line(text)
            .trim_start_matches("Server returned non-2xx status code: ")
            .trim_end_matches(':')
            .to_string(),
    }
}

fn first_line(s: &str) -> String {
    let line = s
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    line.chars().take(300).collect()
}

/// The parts sent, in order, and their bytes.
type Sent = (Vec<PartId>, u64);

/// Sends parts as they come, IN_FLIGHT at most; the part ids in order and the bytes.
async fn send_parts(
    store: Arc<AmazonS3>,
    key: Path,
    id: MultipartId,
    mut rx: tokio::sync::mpsc::Receiver<Bytes>,
) -> object_store::Result<Sent> {
    let mut running: JoinSet<object_store::Result<(usize, PartId)>> = JoinSet::new();
    let mut parts: Vec<Option<PartId>> = Vec::new();
    let mut bytes = 0u64;
    let collect = |done: (usize, PartId), parts: &mut Vec<Option<PartId>>| {
        parts[done.0] = Some(done.1);
    };
    while let Some(chunk) = rx.recv().await {
        while running.len() >= IN_FLIGHT {
            let done = running.join_next().await.expect("running is not empty")??;
            collect(done, &mut parts);
        }
        let idx = parts.len();
        parts.push(None);
        bytes += chunk.len() as u64;
        let (store, key, id) = (store.clone(), key.clone(), id.clone());
        running.spawn(async move {
            let part = store
                .put_part(&key, &id, idx, PutPayload::from_bytes(chunk))
                .await?;
            Ok((idx, part))
        });
    }
    while let Some(done) = running.join_next().await {
        collect(done??, &mut parts);
    }
    Ok((
        parts
            .into_iter()
            .map(|p| p.expect("every part was sent"))
            .collect(),
        bytes,
    ))
}

/// An upload in progress. Complete it, or abort it: on every failure path.
pub struct Upload {
    remote: Remote,
    name: String,
    key: Path,
    id: MultipartId,
    task: Option<tokio::task::JoinHandle<object_store::Result<Sent>>>,
    feed: Option<Feed>,
}

impl Upload {
    /// The blocking side that the pipeline writes into (once).
    pub fn feed(&mut self) -> Feed {
        self.feed.take().expect("the feed is taken once")
    }

    pub fn url(&self) -> String {
        self.remote.url_of(&self.name)
    }

    /// Completes the upload once the feed is finished: every part sent, the object made
    /// visible, its size checked against `size`, then the manifest (with `sha256`) put
    /// next to it. Any failure aborts (or removes what was completed); so does a signal
    /// while parts are still being sent, but not once the object is being made visible.
    pub async fn complete(
        mut self,
        size: u64,
        sha256: &str,
        mut manifest: Manifest,
        journal: Option<&FsPath>,
        interrupts: &mut Interrupts,
    ) -> Result<()> {
        let mut task = self.task.take().expect("complete or abort once");
        let sent = tokio::select! {
            r = &mut task => r,
            _ = interrupts.arrived() => {
                let e = fail(
                    Code::Interrupted,
                    format!("interrupted: the upload of {} was aborted", self.name),
                );
                // The sending task goes with the upload (not left sending parts).
                self.task = Some(task);
                self.abort(journal).await;
                return Err(e);
            }
        };
        let sent = match sent {
            Ok(Ok(sent)) => sent,
            Ok(Err(e)) => {
                let e = self.remote.error(&self.name, e);
                self.abort(journal).await;
                return Err(e);
            }
            Err(e) => {
                self.abort(journal).await;
                return Err(e.into());
            }
        };
        if sent.1 != size {
            let e = fail(
                Code::Software,
                format!("{}: {} bytes sent of {size}", self.url(), sent.1),
            );
            self.abort(journal).await;
            return Err(e);
        }
        let r = self.remote.clone();
        if let Err(e) = r
            .bounded(
                &self.name,
                r.store.complete_multipart(&self.key, &self.id, sent.0),
            )
            .await
        {
            // An answer that never came may hide a completion that happened: then the
            // object goes again (none without its manifest); else the upload is aborted.
            match r.bounded(&self.name, r.store.head(&self.key)).await {
                Ok(_) => {
                    if let Err(gone) = r.bounded(&self.name, r.store.delete(&self.key)).await {
                        tracing::warn!("{} is left without its manifest: {gone:#}", self.url());
                    }
                }
                Err(_) => {
                    self.abort(journal).await;
                }
            }
            return Err(e);
        }
        let checked = async {
            let meta = r.bounded(&self.name, r.store.head(&self.key)).await?;
            if meta.size != size {
                return Err(fail(
                    Code::IoErr,
                    format!(
                        "{} holds {} bytes, {size} were uploaded",
                        self.url(),
                        meta.size
                    ),
                ));
            }
            manifest.compressed_bytes = size;
            manifest.sha256 = sha256.to_string();
            r.put_manifest(&self.name, &manifest).await
        }
        .await;
        if let Err(e) = checked {
            // No object without its digest next to it.
            let _ = r.store.delete(&self.key).await;
            return Err(e);
        }
        Ok(())
    }

    /// Aborts the upload: no parts left behind. When the server cannot be told (it is
    /// gone), the upload is written down in `journal` (the backup folder) for the next
    /// run to abort.
    pub async fn abort(mut self, journal: Option<&FsPath>) -> Option<anyhow::Error> {
        drop(self.feed.take());
        // The sending task's own error, when it stopped first: the cause to report.
        let cause = match self.task.take() {
            Some(task) if task.is_finished() => match task.await {
                Ok(Err(e)) => Some(self.remote.error(&self.name, e)),
                _ => None,
            },
            Some(task) => {
                task.abort();
                None
            }
            None => None,
        };
        let r = self.remote.clone();
        if let Err(e) = r
            .bounded(&self.name, r.store.abort_multipart(&self.key, &self.id))
            .await
        {
            let id: &str = self.id.as_ref();
            match journal {
                Some(dir) => {
                    let line = format!("{}\t{id}\n", self.key);
                    let path = dir.join(JOURNAL);
                    let old = std::fs::read_to_string(&path).unwrap_or_default();
                    let written = crate::fsutil::write_atomic(
                        &path,
                        format!("{old}{line}").as_bytes(),
                        0o600,
                    );
                    tracing::warn!(
                        "cannot abort the upload of {} ({e:#}); {}",
                        self.url(),
                        if written.is_ok() {
                            "the next backup or sync aborts it"
                        } else {
                            "abort it by hand"
                        }
                    );
                }
                None => tracing::warn!(
                    "cannot abort the upload of {} ({e:#}); abort multipart upload {id} by hand (or set a lifecycle rule)",
                    self.url()
                ),
            }
        }
        cause
    }
}

/// The blocking writer the pipeline feeds: bytes gathered into parts and handed to the
/// sending task. When the task stopped (its error is reported by `complete`), writes go
/// nowhere, so that the local file is still finished; unless the upload is the only
/// copy (`set_required`), when they fail.
pub struct Feed {
    tx: Option<tokio::sync::mpsc::Sender<Bytes>>,
    buf: Vec<u8>,
    required: bool,
}

impl Feed {
    pub fn set_required(&mut self) {
        self.required = true;
    }

    fn send(&mut self) -> io::Result<()> {
        let part = std::mem::replace(&mut self.buf, Vec::with_capacity(PART));
        if let Some(tx) = &self.tx
            && tx.blocking_send(Bytes::from(part)).is_err()
        {
            self.tx = None;
        }
        match (&self.tx, self.required) {
            (None, true) => Err(io::Error::other("the upload stopped")),
            _ => Ok(()),
        }
    }

    /// Sends the last part; the sending task then ends with the stream.
    pub fn finish(mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.send()?;
        }
        Ok(())
    }
}

impl Write for Feed {
    fn write(&mut self, mut data: &[u8]) -> io::Result<usize> {
        let n = data.len();
        while !data.is_empty() {
            let take = (PART - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.buf.len() == PART {
                self.send()?;
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(url: &str) -> Result<Remote> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Remote::new(
            url,
            Duration::from_secs(1),
            AmazonS3Builder::new().with_region("us-east-1"),
            ClientOptions::new(),
        )
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
        ] {
            let e = remote(bad).err().unwrap();
            assert_eq!(crate::exit::classify(&e), Code::Config, "{bad}");
        }
        let e = remote("gs://b").err().unwrap();
        assert!(e.to_string().contains("not supported yet"), "{e}");
    }
}
