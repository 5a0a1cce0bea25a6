//! Listing the prefix one page a request (the backend sends and reads each page,
//! bounded in bytes; an answer that is not a listing is an error, never an empty
//! bucket), because a broken or hostile server must not cost a backup:
//! - each page is bounded by the remote timeout (as documented: per request);
//! - the whole listing is bounded by a number of pages, and must make progress;
//! - a foreign key that object_store could not use (a tab, `//`, `..`) is skipped, with
//!   one warning, instead of failing the listing.

use std::collections::HashSet;

use anyhow::Result;
use object_store::path::Path;

use super::{Remote, RemoteBackup};
use crate::backup::{manifest, repository};
use crate::report::exit::{Code, fail};
use crate::report::ui::one_line;

/// Pages in one listing (10 million keys).
pub(super) const PAGES_MAX: usize = 10_000;

impl Remote {
    /// The backups directly under the prefix, newest first: exact backup names only
    /// (other keys and anything under sub-prefixes are not kronic's).
    pub async fn list(&self) -> Result<Vec<RemoteBackup>> {
        let mut keys: Vec<(String, u64)> = Vec::new();
        let mut token: Option<String> = None;
        let mut skipped: Option<String> = None;
        for page in 0.. {
            if page == PAGES_MAX {
                return Err(fail(
                    Code::Unavailable,
                    format!(
                        "{}: the listing goes on past {PAGES_MAX} pages: not a backup prefix (or a server listing forever)",
                        self.url
                    ),
                ));
            }
            let prefix = self.list_prefix();
            let listed = self.backend.list_page(&prefix, token.as_deref());
            let page = match tokio::time::timeout(self.timeout, listed).await {
                Ok(page) => page?,
                Err(_) => return Err(self.backend.no_answer(self.timeout)),
            };
            for (key, size) in page.keys {
                let name = key.strip_prefix(&prefix).unwrap_or(&key);
                if name.contains('/') {
                    continue;
                }
                if Path::parse(&key).is_err() {
                    skipped.get_or_insert_with(|| one_line(&key, 100));
                    continue;
                }
                keys.push((name.to_string(), size));
            }
            match (page.truncated, page.next) {
                (true, Some(next)) if token.as_deref() != Some(&next) => token = Some(next),
                (true, _) => {
                    return Err(fail(
                        Code::Unavailable,
                        format!(
                            "{}: the listing says it goes on, without a new continuation token: not a listing kronic can trust",
                            self.url
                        ),
                    ));
                }
                (false, _) => break,
            }
        }
        if let Some(key) = skipped {
            tracing::warn!(
                "{}: skipping keys kronic cannot use, such as {key:?} (not kronic's)",
                self.url
            );
        }
        let names: HashSet<&str> = keys.iter().map(|(n, _)| n.as_str()).collect();
        let mut out: Vec<RemoteBackup> = keys
            .iter()
            .filter_map(|(name, size)| {
                let time = repository::parse_backup_name(name)?;
                Some(RemoteBackup {
                    url: self.url_of(name),
                    has_manifest: names.contains(manifest::name_for(name).as_str()),
                    name: name.clone(),
                    time,
                    size: *size,
                })
            })
            .collect();
        // A parallel backup is there once its manifest is (put last); its size is its
        // members', from the manifest.
        for (key, _) in &keys {
            let Some(name) = key.strip_suffix(manifest::SUFFIX) else {
                continue;
            };
            if !crate::backup::parallel::is_parallel(name) {
                continue;
            }
            let Some(time) = repository::parse_backup_name(name) else {
                continue;
            };
            let size = match self.manifest(name).await {
                Ok(Some(m)) => m.compressed_bytes,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!("{e:#}");
                    0
                }
            };
            out.push(RemoteBackup {
                url: self.url_of(name),
                has_manifest: true,
                name: name.to_string(),
                time,
                size,
            });
        }
        out.sort_by(|a, b| b.time.cmp(&a.time).then(b.name.cmp(&a.name)));
        Ok(out)
    }

    /// The prefix as S3 lists it: empty, or ending in '/'.
    pub(super) fn list_prefix(&self) -> String {
        match self.prefix.is_empty() {
            true => String::new(),
            false => format!("{}/", self.prefix),
        }
    }
}
