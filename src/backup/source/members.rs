//! A parallel backup's members, wherever the backup is: files in its folder, or objects
//! under its name in the bucket. Each is opened as a backup is (hashed and counted as it
//! is read, decrypted, decompressed) and held to the size and digest its manifest lists.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;

use super::stream::{Check, Opened, open_file};
use super::{At, Source};
use crate::backup::crypt::Identities;
use crate::backup::manifest::{HashingReader, Manifest};
use crate::backup::parallel::Member;
use crate::report::exit::{Code, fail};

/// Where a parallel backup's members are read from.
#[derive(Clone)]
pub struct Members {
    pub(super) at: At,
    pub(super) identities: Arc<Identities>,
    /// The folder, or the backup's URL (for messages).
    pub(super) label: PathBuf,
}

impl Source {
    /// Its members, for a parallel backup.
    pub fn members(&self) -> Members {
        Members {
            at: self.at.clone(),
            identities: self.identities.clone(),
            label: self.label.clone(),
        }
    }
}

impl Members {
    /// Member `m`'s file or object, for messages.
    pub fn label(&self, m: &Member) -> PathBuf {
        self.label.join(&m.file)
    }

    /// Before anything is loaded: the manifest's member list, and every member there at
    /// its recorded size (65 naming the first that is missing, truncated or replaced).
    pub async fn check(&self, m: &Manifest) -> Result<()> {
        crate::backup::parallel::check_members(&self.label, &m.members, &m.sha256)?;
        for member in &m.members {
            let size = match &self.at {
                At::File(folder) => std::fs::symlink_metadata(folder.join(&member.file))
                    .ok()
                    .map(|meta| if meta.is_file() { meta.len() } else { u64::MAX }),
                At::Object(remote, name) => remote.member_size(name, &member.file).await?,
            };
            self.held_to(member, size)?;
        }
        Ok(())
    }

    /// 65 unless `size` (None: missing; u64::MAX: not a file) is `member`'s.
    fn held_to(&self, member: &Member, size: Option<u64>) -> Result<()> {
        let label = self.label(member);
        match size {
            Some(n) if n == member.bytes => Ok(()),
            None => Err(fail(
                Code::DataErr,
                format!("{}: a member of the backup is missing", label.display()),
            )),
            Some(n) => Err(fail(
                Code::DataErr,
                format!(
                    "{}: a member of the backup {}, its manifest says {} bytes: truncated or replaced",
                    label.display(),
                    if n == u64::MAX {
                        "that is not a file".to_string()
                    } else {
                        format!("of {n} bytes")
                    },
                    member.bytes
                ),
            )),
        }
    }

    /// Member `m`, opened: refused (65) before a byte is read when it is missing, not a
    /// plain file, or not its recorded size.
    pub async fn open(&self, m: &Member) -> Result<Opened> {
        let label = self.label(m);
        let (input, size): (Box<dyn Read + Send>, u64) = match &self.at {
            At::File(folder) => {
                let path = folder.join(&m.file);
                let size = std::fs::symlink_metadata(&path)
                    .ok()
                    .map(|meta| if meta.is_file() { meta.len() } else { u64::MAX });
                self.held_to(m, size)?;
                (Box::new(open_file(&path)?), m.bytes)
            }
            At::Object(remote, name) => remote.member_reader(name, &m.file).await?,
        };
        self.held_to(m, Some(size))?;
        let (hashing, digest) = HashingReader::new(input);
        Ok(Opened {
            input: Box::new(hashing),
            check: Check {
                digest,
                label,
                size: m.bytes,
                sha256: Some(m.sha256.clone()),
            },
            identities: self.identities.clone(),
        })
    }
}
