//! Uploading a local backup to the bucket (`backup sync`): the same multipart path as a
//! backup's, the file read once, verified from the same read (through a pipe, on a
//! thread of its own) and held to its manifest; a file that does not verify is not
//! uploaded. A parallel backup goes up member by member, each held to the manifest's
//! size and digest, and its manifest last, as a backup with the remote set puts it.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::backup::crypt::Identities;
use crate::backup::manifest::{HashingReader, Manifest, Sealed};
use crate::backup::remote::Remote;
use crate::backup::remote::upload::Feed;
use crate::backup::remote::upload::Sidecar;
use crate::backup::source;
use crate::report::exit::{Code, fail};
use crate::report::ui::Interrupts;

/// Uploads a local backup file (sync): the same multipart path, read once, and
/// verified from the same read: a file that does not verify is not
/// uploaded. A signal aborts the upload (written down in `journal` if that fails),
/// unless the object is already being made visible: that finishes first.
pub async fn upload_file(
    remote: &Remote,
    path: &Path,
    manifest: Option<(Manifest, Sealed)>,
    journal: Option<&Path>,
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
    let mut upload = remote.start_upload(&name, journal).await?;
    if interrupts.pending() {
        upload.abort().await;
        return Err(interrupted());
    }
    let feed = upload.feed();
    let file = source::open_file(path)?;
    let label = path.to_path_buf();
    let copy = tokio::task::spawn_blocking(move || copy_verified(file, feed, label));
    let copied = tokio::select! {
        r = copy => r?,
        _ = interrupts.arrived() => {
            upload.abort().await;
            return Err(interrupted());
        }
    };
    let (size, sha256) = match copied {
        Ok(done) => done,
        Err(e) => {
            upload.abort().await;
            return Err(e.context("not uploaded"));
        }
    };
    let matches = match &manifest {
        Some((m, _)) => m.check_digest(&path.display().to_string(), &sha256),
        None => Ok(()),
    };
    if let Err(e) = matches {
        upload.abort().await;
        return Err(e.context("not uploaded"));
    }
    // The manifest goes up as it was stored, with its signature: sync signs nothing.
    let sidecar = match manifest {
        Some((_, sealed)) => Sidecar::Carried(sealed),
        None => Sidecar::Fresh(Box::default(), None),
    };
    upload.complete(size, &sha256, sidecar, interrupts).await
}

/// Uploads a local parallel backup (sync): every member as its own object under the
/// backup's name, read once and held to its manifest's size and SHA-256 before its
/// upload completes, then the manifest as it was stored (with its signature), last. A
/// member that does not match, a failure or a signal aborts the uploads under way and
/// deletes the members already up: the bucket never holds half of it under its name.
pub async fn upload_parallel(
    remote: &Remote,
    folder: &Path,
    (manifest, sealed): (Manifest, Sealed),
    journal: Option<&Path>,
    interrupts: &mut Interrupts,
) -> Result<()> {
    let name = folder
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    crate::backup::parallel::check_members(folder, &manifest.members, &manifest.sha256)?;
    let uploads = remote.member_uploads(&name, journal.map(Path::to_path_buf));
    let members = async {
        for member in &manifest.members {
            let path = folder.join(&member.file);
            let file = source::open_file(&path)?;
            let mut upload = uploads.start(&member.file).await?;
            let feed = upload.feed();
            let label = path.clone();
            let (size, sha256) =
                tokio::task::spawn_blocking(move || copy_hashed(file, feed, &label))
                    .await
                    .context("the uploading task failed")??;
            if size != member.bytes || sha256 != member.sha256 {
                return Err(fail(
                    Code::DataErr,
                    format!(
                        "{} does not match its manifest: {size} bytes with SHA-256 {sha256}, the manifest says {} bytes with {} (changed since the backup?)",
                        path.display(),
                        member.bytes,
                        member.sha256
                    ),
                ));
            }
            uploads.complete(&member.file, upload, size).await?;
        }
        Ok(())
    };
    let sent = tokio::select! {
        r = members => r,
        _ = interrupts.arrived() => Err(fail(
            Code::Interrupted,
            format!("interrupted: the upload of {name} was aborted"),
        )),
    };
    if let Err(e) = sent {
        uploads.abandon().await;
        return Err(e.context(format!("{name} was not uploaded")));
    }
    // The manifest is not raced against a signal: once its PUT is sent, the backup may
    // be in the bucket, and its members must stay.
    uploads.seal(&sealed).await
}

/// `file` into `feed`, to its end, and the upload's feed finished: its size and SHA-256.
fn copy_hashed(file: std::fs::File, mut feed: Feed, label: &Path) -> Result<(u64, String)> {
    let (mut hashing, digest) = HashingReader::new(file);
    io::copy(&mut hashing, &mut feed)
        .and_then(|_| feed.finish())
        .map_err(|e| {
            fail(
                crate::report::exit::io_code(&e),
                format!("cannot upload {}: {e}", label.display()),
            )
        })?;
    let (sha256, size) = digest.get();
    Ok((size, sha256))
}

/// `file` into `feed` and, through a pipe, into `source::verify_stream` on a thread of its own:
/// one read for both. Its size and SHA-256 when it verified; the verifier's verdict
/// comes first.
fn copy_verified(file: std::fs::File, mut feed: Feed, label: PathBuf) -> Result<(u64, String)> {
    let (mut hashing, digest) = HashingReader::new(file);
    let (pipe, check) = io::pipe()?;
    let mut check = Some(check);
    let shown = label.clone();
    let verifier =
        std::thread::spawn(move || source::verify_stream(pipe, &Identities::default(), &shown));
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
            crate::report::exit::io_code(e),
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
