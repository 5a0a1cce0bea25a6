//! Every upload is written down in the backup folder before its first part is sent, and
//! struck out once its backup is whole in the bucket (or the upload was aborted): what a
//! run leaves there (the server gone, or the run killed, even by SIGKILL) is cleaned by
//! the next backup or sync against the same bucket and prefix. An upload under way is
//! aborted; an object completed (a member of a parallel backup, or a backup whose
//! manifest never followed) is deleted unless its backup's manifest is in the bucket by
//! then (then it is that backup's). Every writer holds the folder's lock.

use std::path::Path as FsPath;
use std::sync::Mutex;

use anyhow::Context;
use object_store::path::Path;
use object_store::{MultipartId, ObjectStoreExt};

use super::{Remote, first_line};
use crate::backup::repository;

/// Where every upload is written down until its backup is whole, in the backup folder.
const JOURNAL: &str = ".kronic-unfinished-uploads";

/// The upload id written for a completed object to delete.
pub(super) const DELETE: &str = "-";

/// One rewrite at a time in this process (members upload side by side); other processes
/// are kept out by the folder's lock.
static WRITING: Mutex<()> = Mutex::new(());

impl Remote {
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
            let (mut prefix, mut name) = key.rsplit_once('/').unwrap_or(("", key));
            // A parallel backup's member: prefix/NAME.dir/FILE.
            if let Some((p, n)) = prefix.rsplit_once('/').or(Some(("", prefix)))
                && crate::backup::parallel::is_parallel(n)
                && crate::backup::parallel::check_member_name("", name).is_ok()
            {
                (prefix, name) = (p, n);
            }
            if prefix != self.prefix || repository::parse_backup_name(name).is_none() {
                left.push_str(line);
                left.push('\n');
                continue;
            }
            if id == DELETE {
                let manifest = format!("{name}{}", crate::backup::manifest::SUFFIX);
                if self
                    .delete_orphan(&Path::from(key), &manifest)
                    .await
                    .is_err()
                {
                    left.push_str(line);
                    left.push('\n');
                }
                continue;
            }
            let manifest = format!("{name}{}", crate::backup::manifest::SUFFIX);
            let (key, id) = (Path::from(key), MultipartId::from(id.to_string()));
            match self.store.abort_multipart(&key, &id).await {
                // A run killed between completing the upload and writing that down left
                // an object: it goes too, unless its backup is whole in the bucket.
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {
                    tracing::info!("aborted the unfinished upload of {key} left by an earlier run");
                    if self.delete_orphan(&key, &manifest).await.is_err() {
                        left.push_str(&format!("{key}\t{DELETE}\n"));
                    }
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
        let _guard = WRITING.lock().unwrap_or_else(|e| e.into_inner());
        let _ = if left.is_empty() {
            std::fs::remove_file(&path).map_err(anyhow::Error::from)
        } else {
            crate::fsutil::write_atomic(&path, left.as_bytes(), 0o600)
        };
    }
}

impl Remote {
    /// Deletes `key`, a member of a parallel backup that failed, unless the backup's
    /// `manifest` is in the bucket now (a later sync put it whole: the member is its).
    async fn delete_orphan(&self, key: &Path, manifest: &str) -> anyhow::Result<()> {
        match self
            .bounded(manifest, self.store.head(&self.key(manifest)))
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) if crate::report::exit::classify(&e) == crate::report::exit::Code::NoInput => {}
            Err(e) => return Err(e),
        }
        match self.bounded(manifest, self.store.delete(key)).await {
            Ok(()) => {
                tracing::info!("deleted {key}, left by a backup that failed");
                Ok(())
            }
            Err(e) if crate::report::exit::classify(&e) == crate::report::exit::Code::NoInput => {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

/// Writes down `key`'s state in `dir`'s journal, for the next run to clean: its upload
/// `id` (to abort) or `DELETE` (a completed object). Replaces what was there for `key`.
pub(super) fn write_down(dir: &FsPath, key: &Path, id: &str) -> anyhow::Result<()> {
    let key = key.to_string();
    rewrite(dir, |k| k == key, Some((&key, id)))
}

/// Strikes out every key `gone` accepts: its backup is whole in the bucket, or it was
/// cleaned.
pub(super) fn strike(dir: &FsPath, gone: impl Fn(&str) -> bool) -> anyhow::Result<()> {
    rewrite(dir, gone, None)
}

fn rewrite(
    dir: &FsPath,
    gone: impl Fn(&str) -> bool,
    add: Option<(&str, &str)>,
) -> anyhow::Result<()> {
    let _guard = WRITING.lock().unwrap_or_else(|e| e.into_inner());
    let path = dir.join(JOURNAL);
    let old = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
    };
    let mut text: String = old
        .lines()
        .filter(|line| !gone(line.split_once('\t').map_or(*line, |(k, _)| k)))
        .map(|line| format!("{line}\n"))
        .collect();
    if let Some((key, id)) = add {
        text.push_str(&format!("{key}\t{id}\n"));
    }
    if text == old {
        return Ok(());
    }
    if text.is_empty() {
        return std::fs::remove_file(&path)
            .with_context(|| format!("cannot remove {}", path.display()));
    }
    crate::fsutil::write_atomic(&path, text.as_bytes(), 0o600)
}
