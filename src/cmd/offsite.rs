//! The offsite copies: `backup list|verify|prune --remote` and `backup sync`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::Utc;
use indicatif::HumanBytes;

use crate::crypt::Identities;
use crate::exit::{Code, fail};
use crate::manifest::{HashingReader, Manifest};
use crate::remote::Remote;
use crate::repository;
use crate::retention::Policy;
use crate::ui::{Interrupts, say};

use super::backup::{Listed, print_list};

pub async fn list(remote: &Remote, json: bool) -> Result<Code> {
    let mut rows = Vec::new();
    for b in remote.list().await? {
        rows.push(Listed {
            manifest: match json {
                true => remote.manifest(&b.name).await.ok().flatten(),
                false => None,
            },
            location: ("url", b.url),
            name: b.name,
            time: b.time,
            size: b.size,
        });
    }
    print_list(&rows, remote.url(), json)
}

/// The name a user gave for an object: a bare backup name, or its full URL.
fn object_name(given: &Path) -> String {
    given
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Streams each object through the checks of a local verify, and compares its SHA-256
/// and size with the manifest uploaded next to it.
pub async fn verify(
    remote: &Remote,
    given: &[PathBuf],
    latest: bool,
    identities: Identities,
) -> Result<Code> {
    let names: Vec<String> = match (given.is_empty(), latest) {
        (true, true) => vec![remote.latest().await?.name],
        (true, false) => {
            return Err(fail(
                Code::Usage,
                "backup verify --remote needs backup names, or --latest for the newest in the bucket",
            ));
        }
        (false, _) => given.iter().map(|g| object_name(g)).collect(),
    };
    let identities = Arc::new(identities);
    for name in &names {
        let url = remote.url_of(name);
        let manifest = remote.manifest(name).await?;
        let (reader, size) = remote.reader(name).await?;
        let (hashing, digest) = HashingReader::new(reader);
        let (ids, label) = (identities.clone(), PathBuf::from(&url));
        let verified =
            tokio::task::spawn_blocking(move || crate::dump::verify_stream(hashing, &ids, &label))
                .await
                .context("the verifying task failed")??;
        let (sha256, read) = digest.get();
        if read != size {
            return Err(fail(
                Code::DataErr,
                format!("{url}: {read} bytes read, the object holds {size}"),
            ));
        }
        match &manifest {
            Some(m) => m.check_digest(&url, &sha256)?,
            None => tracing::warn!("{url} has no manifest: its SHA-256 could not be compared"),
        }
        if verified.content_checked {
            say(format!(
                "ok: {url} ({} of SQL, complete, SHA-256 {})",
                HumanBytes(verified.sql_bytes),
                if manifest.is_some() {
                    "matches"
                } else {
                    "not recorded"
                }
            ))?;
        } else {
            say(format!("ok: {url} (age header and SHA-256 only)"))?;
            tracing::warn!(
                "{url} is encrypted and no identity was given: only its age header and digest were checked, not its content"
            );
        }
    }
    Ok(Code::Ok)
}

/// Uploads the folder's backups that the bucket lacks, oldest first, each verified and
/// its digest checked as it streams; then prunes the bucket by `policy`.
pub async fn sync(dir: &Path, remote: &Remote, policy: &Policy, dry_run: bool) -> Result<Code> {
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
        let manifest = Manifest::read(&b.path)?;
        remote
            .upload_file(&b.path, manifest, Some(dir), &mut interrupts)
            .await?;
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
