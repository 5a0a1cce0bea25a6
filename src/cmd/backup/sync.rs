//! `kronic backup sync`: the local backups the offsite copy lacks, uploaded.

use std::collections::HashSet;
use std::path::Path;

use anyhow::Result;
use chrono::Utc;

use crate::backup::manifest::Manifest;
use crate::backup::remote::Remote;
use crate::backup::repository;
use crate::backup::retention::Policy;
use crate::backup::signing::Trust;
use crate::backup::sync;
use crate::report::exit::{Code, fail};
use crate::report::ui::{Interrupts, say};

/// Uploads the folder's backups that the bucket lacks, oldest first, each verified and
/// its digest checked as it streams; then prunes the bucket by `policy`.
pub async fn sync(
    dir: &Path,
    remote: &Remote,
    policy: &Policy,
    dry_run: bool,
    trust: &Trust,
) -> Result<Code> {
    repository::trusted_dir(dir)?;
    // No backup may be written while the folder is read (a dry run changes nothing).
    let _lock = if dry_run {
        None
    } else {
        Some(repository::lock(dir)?)
    };
    if !dry_run {
        remote.finish_journal(dir).await;
    }
    let present: HashSet<String> = remote.list().await?.into_iter().map(|b| b.name).collect();
    let mut missing: Vec<repository::Backup> =
        repository::current(repository::list(dir)?, Utc::now())
            .into_iter()
            .filter(|b| !present.contains(&b.name))
            .filter(|b| match repository::distrust(b) {
                Some(why) => {
                    tracing::warn!("not uploading: {why}");
                    false
                }
                None => true,
            })
            .collect();
    missing.reverse();
    let mut interrupts = Interrupts::listen();
    for b in &missing {
        if dry_run {
            say(format!("would upload {}", b.name))?;
            continue;
        }
        let manifest = Manifest::read_sealed(&b.path)?;
        if let Some(keys) = &trust.keys {
            // A planted file must not reach the offsite copy: the same check as a restore.
            let (bytes, sig) = match &manifest {
                Some((_, s)) => (&s.bytes[..], s.signature.as_deref()),
                None => (&[][..], None),
            };
            keys.check(&b.path.display().to_string(), bytes, sig)?;
        }
        match (crate::backup::parallel::is_parallel(&b.name), manifest) {
            (true, Some(manifest)) => {
                sync::upload_parallel(remote, &b.path, manifest, Some(dir), &mut interrupts).await?
            }
            // Its manifest is what lists its members: without one it is not a backup.
            (true, None) => {
                tracing::warn!("not uploading {}: it has no manifest", b.name);
                continue;
            }
            (false, manifest) => {
                sync::upload_file(remote, &b.path, manifest, Some(dir), &mut interrupts).await?
            }
        }
        say(format!("uploaded {}", remote.url_of(&b.name)))?;
        if interrupts.pending() {
            return Err(fail(
                Code::Interrupted,
                format!("interrupted: {} was uploaded; nothing was pruned", b.name),
            ));
        }
    }
    if missing.is_empty() {
        say(format!(
            "nothing to upload: {} has every backup",
            remote.url()
        ))?;
    }
    let decisions = remote.prune(policy, dry_run).await?;
    for d in decisions.iter().filter(|d| !d.keep) {
        say(format!(
            "{} {}",
            if dry_run { "would prune" } else { "pruned" },
            d.backup.url
        ))?;
    }
    Ok(Code::Ok)
}
