//! Uploads that could not be aborted (the server gone) are written down in the backup
//! folder, and aborted by the next run against the same bucket and prefix; so are the
//! members of a failed parallel backup that could not be deleted, deleted by the next
//! run unless that backup's manifest is in the bucket by then (then they are its).

use std::path::Path as FsPath;

use object_store::path::Path;
use object_store::{MultipartId, ObjectStoreExt};

use super::{Remote, first_line};
use crate::backup::repository;

/// Where uploads that could not be aborted are written down, in the backup folder.
const JOURNAL: &str = ".kronic-unfinished-uploads";

/// The upload id written for a completed member to delete.
pub(super) const DELETE: &str = "-";

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

/// Writes down the upload `id` of `key` in `dir`'s journal, for the next run to abort.
pub(super) fn write_down(dir: &FsPath, key: &Path, id: &str) -> anyhow::Result<()> {
    let path = dir.join(JOURNAL);
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    crate::fsutil::write_atomic(&path, format!("{old}{key}\t{id}\n").as_bytes(), 0o600)
}
