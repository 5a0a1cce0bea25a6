//! A parallel backup in the bucket: its members as objects under `NAME/` (NAME ends in
//! `.dir`, as the folder does), uploaded side by side while they are written, and its
//! manifest put last, `NAME.manifest.json` beside them. The backup is in the bucket once
//! its manifest is: listing finds it by the manifest, and deleting removes the manifest
//! first, so that no listing ever shows half a backup.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::Result;
use object_store::path::Path;
use object_store::{MultipartId, ObjectStoreExt};

use super::Remote;
use super::upload::Upload;
use crate::backup::manifest::Sealed;
use crate::report::exit::{Code, classify, fail};

/// The object name of member `file` of the parallel backup `name`.
fn member_name(name: &str, file: &str) -> String {
    format!("{name}/{file}")
}

/// The uploads of one parallel backup's members: those under way (aborted if the
/// backup fails) and those completed (deleted if it fails), until the manifest is put.
pub struct MemberUploads {
    remote: Remote,
    name: String,
    journal: Option<PathBuf>,
    open: Mutex<HashMap<String, (Path, MultipartId)>>,
    done: Mutex<Vec<Path>>,
}

impl Remote {
    /// Uploads for the members of the parallel backup `name`; uploads that cannot be
    /// aborted are written down in `journal` (the backup folder) for the next run.
    pub fn member_uploads(&self, name: &str, journal: Option<PathBuf>) -> MemberUploads {
        MemberUploads {
            remote: self.clone(),
            name: name.to_string(),
            journal,
            open: Mutex::default(),
            done: Mutex::default(),
        }
    }

    /// Member `file` of the parallel backup `name`, streamed, and its size (65 when it is
    /// not there: a backup whose manifest lists it is missing a part).
    pub async fn member_reader(
        &self,
        name: &str,
        file: &str,
    ) -> Result<(Box<dyn Read + Send>, u64)> {
        let object = member_name(name, file);
        self.reader(&object).await.map_err(|e| match classify(&e) {
            Code::NoInput => fail(
                Code::DataErr,
                format!(
                    "{}: a member of the backup is missing",
                    self.url_of(&object)
                ),
            ),
            _ => e,
        })
    }

    /// The size of member `file` of `name` (None: not there).
    pub async fn member_size(&self, name: &str, file: &str) -> Result<Option<u64>> {
        let object = member_name(name, file);
        match self.store.head(&self.key(&object)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error(&object, e)),
        }
    }

    /// Deletes the parallel backup `name`: its manifest (and signature) first, then
    /// every object under `name/`.
    pub(super) async fn delete_parallel(&self, name: &str) -> Result<()> {
        self.delete_sidecars(name).await?;
        let prefix = format!("{}{name}/", self.list_prefix());
        let mut token: Option<String> = None;
        for _ in 0..super::list::PAGES_MAX {
            let listed = self.backend.list_page(&prefix, token.as_deref());
            let page = match tokio::time::timeout(self.timeout, listed).await {
                Ok(page) => page?,
                Err(_) => return Err(self.no_answer()),
            };
            for (key, _) in page.keys {
                let key = Path::parse(&key).map_err(|e| {
                    fail(
                        Code::Unavailable,
                        format!("{}: cannot delete {key:?}: {e}", self.url_of(name)),
                    )
                })?;
                match self.store.delete(&key).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(self.error(name, e)),
                }
            }
            match (page.truncated, page.next) {
                (true, Some(next)) if token.as_deref() != Some(&next) => token = Some(next),
                _ => return Ok(()),
            }
        }
        Ok(())
    }
}

impl MemberUploads {
    /// `s3://bucket/prefix/NAME`.
    pub fn url(&self) -> String {
        self.remote.url_of(&self.name)
    }

    /// Starts the upload of member `file`.
    pub async fn start(&self, file: &str) -> Result<Upload> {
        let upload = self
            .remote
            .start_upload(&member_name(&self.name, file), self.journal.as_deref())
            .await?;
        let (key, id) = upload.key_and_id();
        self.open
            .lock()
            .expect("the open uploads")
            .insert(file.to_string(), (key, id));
        Ok(upload)
    }

    /// Completes member `file`'s upload (its feed finished): `size` bytes.
    pub async fn complete(&self, file: &str, upload: Upload, size: u64) -> Result<()> {
        let (key, _) = upload.key_and_id();
        let r = upload.complete_member(size).await;
        self.open.lock().expect("the open uploads").remove(file);
        if r.is_ok() {
            self.done.lock().expect("the completed uploads").push(key);
        }
        r
    }

    /// Puts the manifest: the backup is in the bucket from here on. When that fails, the
    /// members go.
    pub async fn seal(&self, sealed: &Sealed) -> Result<()> {
        let put = self.remote.put_manifest(&self.name, sealed).await;
        match (&put, &self.journal) {
            (Err(_), _) => self.abandon().await,
            // Whole in the bucket: its members are no longer the journal's.
            (Ok(()), Some(dir)) => {
                let under = format!("{}/", self.remote.key(&self.name));
                if let Err(e) = super::journal::strike(dir, |k| k.starts_with(&under)) {
                    tracing::warn!(
                        "cannot update the unfinished uploads' journal in {}: {e:#}",
                        dir.display()
                    );
                }
            }
            (Ok(()), None) => {}
        }
        put
    }

    /// The backup failed: uploads under way are aborted, completed members deleted.
    /// Once one of these fails (the server gone), the rest are not tried (each would
    /// wait out the timeout): what is left is written down in the journal, for the next
    /// backup or sync against this bucket. Best effort; says what it could not do.
    pub async fn abandon(&self) {
        let open: Vec<(Path, MultipartId)> = self
            .open
            .lock()
            .expect("the open uploads")
            .drain()
            .map(|(_, v)| v)
            .collect();
        let done: Vec<Path> =
            std::mem::take(&mut *self.done.lock().expect("the completed uploads"));
        let r = &self.remote;
        let mut reachable = true;
        let mut left: Vec<(Path, String)> = Vec::new();
        let mut cleaned: Vec<String> = Vec::new();
        for (key, id) in open {
            reachable = reachable
                && r.bounded(&self.name, r.store.abort_multipart(&key, &id))
                    .await
                    .is_ok();
            match reachable {
                true => cleaned.push(key.to_string()),
                false => left.push((key, id.to_string())),
            }
        }
        for key in done {
            reachable = reachable && r.bounded(&self.name, r.store.delete(&key)).await.is_ok();
            match reachable {
                true => cleaned.push(key.to_string()),
                false => left.push((key, super::journal::DELETE.to_string())),
            }
        }
        if let Some(dir) = &self.journal {
            let _ = super::journal::strike(dir, |k| cleaned.iter().any(|c| c == k));
        }
        if left.is_empty() {
            return;
        }
        let written = self.journal.as_deref().is_some_and(|dir| {
            left.iter()
                .all(|(key, id)| super::journal::write_down(dir, key, id).is_ok())
        });
        tracing::warn!(
            "cannot clean {} object(s) of the failed backup {} from the bucket; {}",
            left.len(),
            self.url(),
            if written {
                "the next backup or sync against it does"
            } else {
                "delete them by hand (or set a lifecycle rule)"
            }
        );
    }
}
