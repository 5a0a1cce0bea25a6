//! Files that must not lose data: private folders, atomic writes, a temporary file that
//! removes itself unless it is kept.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::exit::{Code, fail, io_code};

/// `O_NOFOLLOW`: opening a symlink fails instead of following it.
pub const NOFOLLOW: i32 = rustix::fs::OFlags::NOFOLLOW.bits() as i32;

/// The temporary name a file is written under before it takes `dest`'s name:
/// `.NAME.tmp-PID` in the same folder.
pub fn temp_path(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dest.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// The final name a temporary name from [`temp_path`] stands for.
pub fn temp_target(temp_name: &str) -> Option<&str> {
    let (base, pid) = temp_name.strip_prefix('.')?.rsplit_once(".tmp-")?;
    pid.parse::<u32>().is_ok().then_some(base)
}

/// Creates `dir` (and missing parents) with mode 0700; an existing folder is left as is.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| {
            fail(
                cant_create(&e),
                format!("cannot create folder {}: {e}", dir.display()),
            )
        })
}

/// Failing to create output is 73, unless the disk or a quota is full (74).
pub fn cant_create(e: &std::io::Error) -> Code {
    use std::io::ErrorKind::*;
    match e.kind() {
        StorageFull | QuotaExceeded | FileTooLarge => Code::IoErr,
        _ => Code::CantCreate,
    }
}

/// The folder a path is in ("." for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Makes a rename or removal in `dir` durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync folder {}", dir.display()))
}

/// A file being written under a temporary name; removed on drop unless [`TempFile::keep`]
/// was called.
pub struct TempFile {
    path: PathBuf,
    kept: bool,
}

impl TempFile {
    /// Creates `path` new (never overwriting), mode 0600.
    pub fn create(path: PathBuf) -> Result<(TempFile, File)> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(NOFOLLOW)
            .open(&path)
            .map_err(|e| {
                fail(
                    cant_create(&e),
                    format!("cannot create {}: {e}", path.display()),
                )
            })?;
        Ok((TempFile { path, kept: false }, file))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Gives the file its final name without ever replacing an existing file (link, then
    /// unlink), and makes that durable.
    pub fn persist_new(mut self, dest: &Path) -> Result<()> {
        std::fs::hard_link(&self.path, dest).map_err(|e| {
            let code = if e.kind() == std::io::ErrorKind::AlreadyExists {
                Code::CantCreate
            } else {
                cant_create(&e)
            };
            fail(
                code,
                format!("cannot create {}: {e} (not overwritten)", dest.display()),
            )
        })?;
        std::fs::remove_file(&self.path)
            .with_context(|| format!("cannot remove {}", self.path.display()))?;
        self.kept = true;
        sync_dir(parent_dir(dest))
    }

    /// Replaces `dest` atomically (rename) and makes that durable.
    pub fn persist_replace(mut self, dest: &Path) -> Result<()> {
        std::fs::rename(&self.path, dest).map_err(|e| {
            fail(
                cant_create(&e),
                format!("cannot write {}: {e}", dest.display()),
            )
        })?;
        self.kept = true;
        sync_dir(parent_dir(dest))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Writes `contents` to `path` atomically: a temporary file in the same folder, fsync,
/// rename, fsync the folder. Readers see the old file or the new one, never a part.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    let (guard, mut file) = TempFile::create(temp_path(path))?;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set the mode of {}", guard.path().display()))?;
    file.write_all(contents)
        .and_then(|_| file.sync_all())
        .map_err(|e| {
            fail(
                io_code(&e),
                format!("cannot write {}: {e}", guard.path().display()),
            )
        })?;
    drop(file);
    guard.persist_replace(path)
}
