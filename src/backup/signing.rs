//! Signed backups: each backup's manifest (which holds the backup's SHA-256, its name,
//! its time, the database and the format version) is signed with an Ed25519 key in
//! minisign's format, as the sidecar `<backup>.manifest.json.minisig`, so that
//! `minisign -Vm <manifest> -P <public key>` checks it by hand. With trusted keys
//! configured, a restore, drill, verify or sync accepts only a manifest signed by one
//! of them, over exactly its bytes (the `minisign` crate, the Rust implementation by
//! minisign's author that rsign2 is built on).

use std::io::{Cursor, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::Result;
use minisign::{KeyPair, PublicKey, SecretKey, SecretKeyBox, SignatureBox};

use crate::report::exit::{Code, fail};

/// The signature's name beside a manifest (minisign's own convention).
pub fn sig_name(manifest: &str) -> String {
    format!("{manifest}.minisig")
}

/// A key's id as minisign prints it (`minisign -V` says "key ID …").
fn key_id(keynum: &[u8]) -> String {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&keynum[..8.min(keynum.len())]);
    format!("{:016X}", u64::from_le_bytes(bytes))
}

/// A small key file read whole; refused past 64 KiB (not a key file).
fn read_key_file(path: &Path, what: &str) -> Result<String> {
    let p = path.display();
    let meta = std::fs::metadata(path)
        .map_err(|e| fail(crate::report::exit::io_code(&e), format!("{what} {p}: {e}")))?;
    if meta.len() > 64 * 1024 {
        return Err(fail(Code::Config, format!("{what} {p}: not a key file")));
    }
    std::fs::read_to_string(path)
        .map_err(|e| fail(crate::report::exit::io_code(&e), format!("{what} {p}: {e}")))
}

/// The key that signs this deployment's backups.
pub struct Signer {
    sk: SecretKey,
    pk: PublicKey,
    pub id: String,
}

impl Signer {
    /// Reads the secret key file (root:kronic 0640 on the packaged host; one others can
    /// read or change is refused, 77) and, for a key with a password, the password file.
    pub fn load(path: &Path, password_file: Option<&Path>) -> Result<Signer> {
        let p = path.display();
        let text = read_key_file(path, "signing key")?;
        if std::fs::metadata(path).is_ok_and(|m| m.mode() & 0o026 != 0) {
            return Err(fail(
                Code::NoPerm,
                format!(
                    "signing key {p} can be read by anyone or changed by its group: chmod 640 it (root:kronic) or 600"
                ),
            ));
        }
        let bad = |why: String| fail(Code::Config, format!("signing key {p}: {why}"));
        let boxed = SecretKeyBox::from_string(&text)
            .map_err(|_| bad("not a minisign secret key".into()))?;
        let password = match password_file {
            Some(f) => Some(
                read_key_file(f, "signing key password file")?
                    .trim_end_matches(['\n', '\r'])
                    .to_string(),
            ),
            None => None,
        };
        // The box says whether it is encrypted; one without a password needs none.
        let sk = match password {
            Some(pw) => boxed.into_secret_key(Some(pw)),
            None => boxed.into_unencrypted_secret_key(),
        }
        .map_err(|_| {
            bad(format!(
                "cannot open it (a key with a password needs {}, and the right one)",
                crate::config::vars::BACKUP_SIGNING_KEY_PASSWORD_FILE
            ))
        })?;
        let pk = PublicKey::from_secret_key(&sk).map_err(|e| bad(e.to_string()))?;
        let id = key_id(pk.keynum());
        Ok(Signer { sk, pk, id })
    }

    /// The minisign signature of `manifest` (its exact bytes), with `about` (the backup's
    /// name and database) as the signed trusted comment.
    pub fn sign(&self, manifest: &[u8], about: &str) -> Result<String> {
        let sig = minisign::sign(
            Some(&self.pk),
            &self.sk,
            Cursor::new(manifest),
            Some(about),
            Some(&format!("kronic backup manifest, key {}", self.id)),
        )
        .map_err(|e| fail(Code::Software, format!("cannot sign the manifest: {e}")))?;
        Ok(sig.into_string())
    }
}

/// The public keys whose signatures a restore accepts (several, so a rotated key's old
/// backups stay trusted).
pub struct Trusted {
    keys: Vec<(String, PublicKey)>,
    source: String,
}

impl Trusted {
    /// A file of public keys: minisign `.pub` files concatenated, or one base64 key a
    /// line; `untrusted comment:` and `#` lines are skipped. An empty file is refused
    /// (78): trusting nobody would refuse every backup.
    pub fn load(path: &Path) -> Result<Trusted> {
        let p = path.display();
        let text = read_key_file(path, "trusted keys file")?;
        // Whoever can write this file decides what a restore trusts: as the
        // configuration file, it is root's or this user's, and nobody else may write it.
        if let Ok(m) = std::fs::metadata(path) {
            let me = rustix::process::geteuid().as_raw();
            if m.mode() & 0o022 != 0 || (m.uid() != 0 && m.uid() != me) {
                return Err(fail(
                    Code::NoPerm,
                    format!(
                        "trusted keys file {p} can be changed by another user (mode {:04o}, uid {}): kronic does not trust it; fix with: chown root {p} && chmod 644 {p}",
                        m.mode() & 0o7777,
                        m.uid()
                    ),
                ));
            }
        }
        let mut keys = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with("untrusted comment:") {
                continue;
            }
            let pk = PublicKey::from_base64(line).map_err(|_| {
                fail(
                    Code::Config,
                    format!(
                        "trusted keys file {p}: line {}: not a minisign public key",
                        n + 1
                    ),
                )
            })?;
            keys.push((key_id(pk.keynum()), pk));
        }
        if keys.is_empty() {
            return Err(fail(
                Code::Config,
                format!("trusted keys file {p} holds no public key"),
            ));
        }
        Ok(Trusted {
            keys,
            source: p.to_string(),
        })
    }

    /// Checks that `signature` is a signature of exactly `manifest` by a trusted key: the
    /// key's id, or 65 naming `backup` and why (unsigned, unknown key, bad signature).
    pub fn check(&self, backup: &str, manifest: &[u8], signature: Option<&str>) -> Result<String> {
        let untrusted = |why: String| fail(Code::DataErr, format!("{backup}: {why}"));
        let Some(signature) = signature else {
            return Err(untrusted(format!(
                "not signed, and only backups signed by a key in {} are accepted (--allow-unsigned for one you know)",
                self.source
            )));
        };
        let sig = SignatureBox::from_string(signature)
            .map_err(|_| untrusted("its signature file is not a minisign signature".into()))?;
        let id = key_id(sig.keynum());
        let Some((_, pk)) = self.keys.iter().find(|(k, _)| *k == id) else {
            return Err(untrusted(format!(
                "signed by key {id}, which {} does not hold",
                self.source
            )));
        };
        minisign::verify(pk, &sig, Cursor::new(manifest), true, false, false).map_err(|_| {
            untrusted(format!(
                "the signature by key {id} does not cover this manifest (changed or swapped since it was signed)"
            ))
        })?;
        Ok(id)
    }
}

/// What a restore, drill, verify or sync asks of a backup's signature.
pub struct Trust {
    /// None: no trusted keys configured, every backup is read as before.
    pub keys: Option<Trusted>,
    /// Read an unsigned (or untrusted) one anyway, with a warning.
    pub allow_unsigned: bool,
}

impl Trust {
    /// Trusts every backup (nothing configured).
    pub fn none() -> Trust {
        Trust {
            keys: None,
            allow_unsigned: false,
        }
    }
}

/// `kronic backup keygen`: a new key pair, the secret key 0600 (then chgrp kronic and
/// chmod 640 on a packaged host) and the public key 0644, never over an existing file.
/// Returns the key id.
pub fn keygen(secret: &Path, public: &Path, password: Option<String>) -> Result<String> {
    let KeyPair { pk, sk } = match password {
        Some(pw) => KeyPair::generate_encrypted_keypair(Some(pw)),
        None => KeyPair::generate_unencrypted_keypair(),
    }
    .map_err(|e| fail(Code::Software, format!("cannot make a key pair: {e}")))?;
    let id = key_id(pk.keynum());
    let sk_text = sk
        .to_box(Some(&format!("kronic backup signing key {id}")))
        .map_err(|e| fail(Code::Software, e.to_string()))?
        .into_string();
    let pk_text = pk
        .to_box()
        .map_err(|e| fail(Code::Software, e.to_string()))?
        .into_string();
    create_new(secret, sk_text.as_bytes(), 0o600)?;
    if let Err(e) = create_new(public, pk_text.as_bytes(), 0o644) {
        let _ = std::fs::remove_file(secret);
        return Err(e);
    }
    Ok(id)
}

/// Writes a new file, refusing (73) to replace one.
fn create_new(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let p = path.display();
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| {
            let why = match e.kind() {
                std::io::ErrorKind::AlreadyExists => {
                    "it exists, and kronic never overwrites a key".to_string()
                }
                _ => e.to_string(),
            };
            fail(Code::CantCreate, format!("cannot write {p}: {why}"))
        })?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| fail(Code::IoErr, format!("cannot write {p}: {e}")))
}

/// Where the signature of the manifest at `manifest` is.
pub fn sig_path(manifest: &Path) -> PathBuf {
    let name = manifest.file_name().unwrap_or_default().to_string_lossy();
    manifest.with_file_name(sig_name(&name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_manifests_verify_and_changed_ones_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let (sk, pk) = (dir.path().join("k.key"), dir.path().join("k.pub"));
        let id = keygen(&sk, &pk, None).unwrap();
        assert!(keygen(&sk, &pk, None).is_err(), "overwrote a key");
        let signer = Signer::load(&sk, None).unwrap();
        assert_eq!(signer.id, id);
        let sig = signer.sign(b"{\"a\":1}", "kronic backup x").unwrap();
        let trusted = Trusted::load(&pk).unwrap();
        assert_eq!(trusted.check("b", b"{\"a\":1}", Some(&sig)).unwrap(), id);
        let e = trusted.check("b", b"{\"a\":2}", Some(&sig)).unwrap_err();
        assert!(format!("{e:#}").contains("does not cover"), "{e:#}");
        let e = trusted.check("b", b"{\"a\":1}", None).unwrap_err();
        assert!(format!("{e:#}").contains("not signed"), "{e:#}");
        // Another key's signature names that key.
        let (sk2, pk2) = (dir.path().join("k2.key"), dir.path().join("k2.pub"));
        let id2 = keygen(&sk2, &pk2, Some("pw".into())).unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "pw\n").unwrap();
        let other = Signer::load(&sk2, Some(&pw)).unwrap();
        let sig2 = other.sign(b"{\"a\":1}", "x").unwrap();
        let e = trusted.check("b", b"{\"a\":1}", Some(&sig2)).unwrap_err();
        assert!(format!("{e:#}").contains(&id2), "{e:#}");
        assert!(
            Signer::load(&sk2, None).is_err(),
            "opened without its password"
        );
        // A trusted keys file others can write to decides nothing.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pk, std::fs::Permissions::from_mode(0o666)).unwrap();
        let e = Trusted::load(&pk).err().unwrap();
        assert!(
            format!("{e:#}").contains("can be changed by another user"),
            "{e:#}"
        );
    }
}
