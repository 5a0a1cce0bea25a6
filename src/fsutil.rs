//! Files that must not lose data: private folders, atomic writes, a temporary file (the
//! `tempfile` crate's) that removes itself unless it is kept.

use std::fs::{DirBuilder, File};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use anyhow::{Context, Result};

use crate::report::exit::{Code, fail, io_code};

/// `O_NOFOLLOW`: opening a symlink fails instead of following it.
pub const NOFOLLOW: i32 = rustix::fs::OFlags::NOFOLLOW.bits() as i32;

/// Marks a temporary name: `.NAME.tmp-XXXXXX` in the folder `NAME` lands in.
pub const TEMP_MARK: &str = ".tmp-";

/// The final name a temporary file (from [`TempFile::create`]) stands for.
pub fn temp_target(temp_name: &str) -> Option<&str> {
    let (base, _) = temp_name.strip_prefix('.')?.rsplit_once(TEMP_MARK)?;
    Some(base)
}

/// Creates `dir` with mode 0700 (its parent must exist); an existing folder is left as is.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    // One level only, under a folder that exists: a typo (`--dir /var/backup/kronic`)
    // must not create a tree of folders that the next run then trusts.
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(p) = parent
        && !p.is_dir()
    {
        return Err(fail(
            Code::CantCreate,
            format!(
                "cannot create folder {}: {} does not exist (a typo?); kronic creates the last folder only",
                dir.display(),
                p.display()
            ),
        ));
    }
    DirBuilder::new().mode(0o700).create(dir).map_err(|e| {
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

/// A file being written under a temporary name next to its destination, mode 0600,
/// created new (never through a planted link); removed on drop unless persisted.
pub struct TempFile(tempfile::NamedTempFile);

impl TempFile {
    /// A new temporary file for `dest`, and a handle to write it.
    pub fn create(dest: &Path) -> Result<(TempFile, File)> {
        let dir = parent_dir(dest);
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}{TEMP_MARK}"))
            .permissions(std::fs::Permissions::from_mode(0o600))
            .tempfile_in(dir)
            .map_err(|e| {
                fail(
                    cant_create(&e),
                    format!("cannot create a temporary file in {}: {e}", dir.display()),
                )
            })?;
        let file = tmp
            .as_file()
            .try_clone()
            .with_context(|| format!("cannot open {}", tmp.path().display()))?;
        Ok((TempFile(tmp), file))
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// Gives the file its final name without ever replacing an existing file, and makes
    /// that durable.
    pub fn persist_new(self, dest: &Path) -> Result<()> {
        self.0.persist_noclobber(dest).map_err(|e| {
            let code = if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                Code::CantCreate
            } else {
                cant_create(&e.error)
            };
            fail(
                code,
                format!(
                    "cannot create {}: {} (not overwritten)",
                    dest.display(),
                    e.error
                ),
            )
        })?;
        sync_dir(parent_dir(dest))
    }

    /// Replaces `dest` atomically (rename) and makes that durable.
    pub fn persist_replace(self, dest: &Path) -> Result<()> {
        self.0.persist(dest).map_err(|e| {
            fail(
                cant_create(&e.error),
                format!("cannot write {}: {}", dest.display(), e.error),
            )
        })?;
        sync_dir(parent_dir(dest))
    }
}

/// Writes `contents` to `path` atomically: a temporary file in the same folder, fsync,
/// rename, fsync the folder. Readers see the old file or the new one, never a part.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    let (guard, mut file) = TempFile::create(path)?;
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

/// A reader of a file (or a download) under the decoders: its own read errors are
/// marked, so that every other error is known to be a decoder's verdict on the data.
pub struct FileRead<R>(pub R);

/// A read error of the file itself, not of the data in it.
#[derive(Debug)]
struct FileReadError(std::io::Error);

impl std::fmt::Display for FileReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for FileReadError {}

impl<R: std::io::Read> std::io::Read for FileRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0
            .read(buf)
            .map_err(|e| std::io::Error::new(e.kind(), FileReadError(e)))
    }
}

/// A failed read of a backup: an I/O error of the file (74), or the decoders' (gzip,
/// zstd, age) verdict that the data is corrupt or cut (65); naming the file.
pub fn read_error(path: &Path, e: std::io::Error) -> anyhow::Error {
    let of_file = e.get_ref().is_some_and(|inner| inner.is::<FileReadError>());
    if of_file && e.kind() != std::io::ErrorKind::UnexpectedEof {
        return fail(Code::IoErr, format!("cannot read {}: {e}", path.display()));
    }
    fail(Code::DataErr, format!("{} is corrupt: {e}", path.display()))
}
