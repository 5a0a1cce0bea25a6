//! Multipart uploads: parts fed from the blocking side (the pipeline, or a file being
//! synced) and sent by a task, four at a time; completed only when every byte was sent,
//! aborted on every failure path.

use std::io::{self, Write};
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use anyhow::Result;
use bytes::Bytes;
use object_store::multipart::PartId;
use object_store::path::Path;
use object_store::{MultipartId, ObjectStoreExt, PutPayload};
use tokio::task::JoinSet;

use super::Remote;
use crate::backup::manifest::{Manifest, Sealed};
use crate::report::exit::{Code, fail};
use crate::report::ui::Interrupts;

/// Parts of 8 MiB, four in flight: memory stays near 48 MiB whatever the database's
/// size (a part filling, one queued, four sending); objects up to 80 GB (S3 allows
/// 10,000 parts).
const PART: usize = 8 << 20;
const IN_FLIGHT: usize = 4;

impl Remote {
    /// Starts the multipart upload of `name`: this is also the check that the bucket can
    /// be reached and written to (77 credentials, 66 no such bucket, 69 unreachable,
    /// each within the remote timeout). With a `journal` (the backup folder), the upload
    /// is written down there before any part is sent, so that a run killed outright
    /// leaves nothing the next one does not clean.
    pub async fn start_upload(&self, name: &str, journal: Option<&FsPath>) -> Result<Upload> {
        let key = self.key(name);
        let id = self
            .bounded(name, self.store.create_multipart(&key))
            .await?;
        if let Some(dir) = journal
            && let Err(e) = super::journal::write_down(dir, &key, id.as_ref())
        {
            let _ = self
                .bounded(name, self.store.abort_multipart(&key, &id))
                .await;
            return Err(e.context(format!("{}: not uploaded", self.url_of(name))));
        }
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1);
        let task = tokio::spawn(send_parts(self.store.clone(), key.clone(), id.clone(), rx));
        Ok(Upload {
            remote: self.clone(),
            name: name.to_string(),
            key,
            id,
            journal: journal.map(FsPath::to_path_buf),
            task: Some(task),
            feed: Some(Feed {
                tx: Some(tx),
                buf: Vec::with_capacity(PART),
                required: false,
            }),
        })
    }
}

/// The parts sent, in order, and their bytes.
type Sent = (Vec<PartId>, u64);

/// Sends parts as they come, IN_FLIGHT at most; the part ids in order and the bytes.
async fn send_parts(
    store: Arc<dyn super::backend::Objects>,
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
/// The manifest that goes up with an upload.
pub enum Sidecar {
    /// Made by this backup: its size and digest filled in, signed when a key is set.
    Fresh(
        Box<Manifest>,
        Option<std::sync::Arc<crate::backup::signing::Signer>>,
    ),
    /// A local backup's own, exactly as it was stored and signed (sync never signs).
    Carried(Sealed),
}

pub struct Upload {
    remote: Remote,
    name: String,
    key: Path,
    id: MultipartId,
    /// The backup folder whose journal holds this upload until it is done with.
    journal: Option<PathBuf>,
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

    /// What aborts it, once the Upload itself is gone.
    pub(super) fn key_and_id(&self) -> (Path, MultipartId) {
        (self.key.clone(), self.id.clone())
    }

    /// Completes the upload once the feed is finished: every part sent, the object made
    /// visible, its size checked against `size`, then the manifest (with `sha256`) put
    /// next to it. Any failure aborts (or removes what was completed); so does a signal
    /// while parts are still being sent, but not once the object is being made visible.
    pub async fn complete(
        mut self,
        size: u64,
        sha256: &str,
        sidecar: Sidecar,
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
                self.abort().await;
                return Err(e);
            }
        };
        let (this, sent) = self.sent_or_abort(sent).await?;
        let (r, name, key) = (this.remote.clone(), this.name.clone(), this.key.clone());
        let journal = this.journal.clone();
        this.make_visible(sent, size).await?;
        let checked = async {
            let sealed = match sidecar {
                Sidecar::Fresh(mut manifest, signer) => {
                    manifest.compressed_bytes = size;
                    manifest.sha256 = sha256.to_string();
                    Sealed::seal(&manifest, signer.as_deref())?
                }
                Sidecar::Carried(sealed) => sealed,
            };
            r.put_manifest(&name, &sealed).await
        }
        .await;
        if let Err(e) = checked {
            // No object without its digest next to it.
            remove_object(&r, &name, &key, journal.as_deref()).await;
            return Err(e);
        }
        if let Some(dir) = &journal {
            let key = key.to_string();
            forget(dir, super::journal::strike(dir, |k| k == key));
        }
        Ok(())
    }

    /// Completes a parallel backup's member once its feed is finished: every part sent,
    /// the object made visible at its size. (The backup's manifest, put last, lists it.)
    pub async fn complete_member(mut self, size: u64) -> Result<()> {
        let task = self.task.take().expect("complete or abort once");
        let sent = task.await;
        let (this, sent) = self.sent_or_abort(sent).await?;
        this.make_visible(sent, size).await
    }

    /// The sending task's outcome: the parts it sent, or its error with the upload
    /// aborted.
    async fn sent_or_abort(
        self,
        sent: Result<object_store::Result<Sent>, tokio::task::JoinError>,
    ) -> Result<(Self, Sent)> {
        match sent {
            Ok(Ok(sent)) => Ok((self, sent)),
            Ok(Err(e)) => {
                let e = self.remote.error(&self.name, e);
                self.abort().await;
                Err(e)
            }
            Err(e) => {
                self.abort().await;
                Err(e.into())
            }
        }
    }

    /// Checks that `size` bytes were sent, completes the upload and checks the object's
    /// size; aborts (or removes what was completed) on any failure. The journal then
    /// holds the object as one to delete, until its backup's manifest is up.
    async fn make_visible(self, sent: Sent, size: u64) -> Result<()> {
        let r = self.remote.clone();
        let journal = self.journal.clone();
        if sent.1 != size {
            let e = fail(
                Code::Software,
                format!("{}: {} bytes sent of {size}", self.url(), sent.1),
            );
            self.abort().await;
            return Err(e);
        }
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
                Ok(_) => remove_object(&r, &self.name, &self.key, journal.as_deref()).await,
                Err(_) => {
                    self.abort().await;
                }
            }
            return Err(e);
        }
        if let Some(dir) = &journal {
            let noted = super::journal::write_down(dir, &self.key, super::journal::DELETE);
            forget(dir, noted);
        }
        let meta = r.bounded(&self.name, r.store.head(&self.key)).await;
        match meta {
            Ok(meta) if meta.size == size => Ok(()),
            got => {
                remove_object(&r, &self.name, &self.key, journal.as_deref()).await;
                Err(got.err().unwrap_or_else(|| {
                    fail(
                        Code::IoErr,
                        format!("{} does not hold the {size} bytes uploaded", self.url()),
                    )
                }))
            }
        }
    }

    /// Aborts the upload: no parts left behind. When the server cannot be told (it is
    /// gone), the upload stays written down in the journal (the backup folder) for the
    /// next run to abort.
    pub async fn abort(mut self) -> Option<anyhow::Error> {
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
        let journal = self.journal.as_deref();
        let aborted = r
            .bounded(&self.name, r.store.abort_multipart(&self.key, &self.id))
            .await;
        if let (Ok(()), Some(dir)) = (&aborted, journal) {
            let key = self.key.to_string();
            forget(dir, super::journal::strike(dir, |k| k == key));
        }
        if let Err(e) = aborted {
            let id: &str = self.id.as_ref();
            match journal {
                Some(dir) => {
                    let written = super::journal::write_down(dir, &self.key, id);
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

/// Deletes the completed object `key` of `name` (no object without its manifest); when
/// the server cannot be told, the journal keeps it for the next run.
async fn remove_object(r: &Remote, name: &str, key: &Path, journal: Option<&FsPath>) {
    match r.bounded(name, r.store.delete(key)).await {
        Ok(()) => {
            if let Some(dir) = journal {
                let key = key.to_string();
                forget(dir, super::journal::strike(dir, |k| k == key));
            }
        }
        Err(gone) => {
            let noted =
                journal.map(|dir| super::journal::write_down(dir, key, super::journal::DELETE));
            let next = match noted {
                Some(Ok(())) => "the next backup or sync deletes it",
                _ => "delete it by hand",
            };
            tracing::warn!(
                "{} is left without its manifest ({gone:#}); {next}",
                r.url_of(name)
            );
        }
    }
}

/// A journal that cannot be rewritten is said, not fatal: the upload's own outcome is
/// what the run reports.
fn forget(dir: &FsPath, r: Result<()>) {
    if let Err(e) = r {
        tracing::warn!(
            "cannot update the unfinished uploads' journal in {}: {e:#}",
            dir.display()
        );
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
