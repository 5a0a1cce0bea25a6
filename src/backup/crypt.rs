//! Encrypted backups (age, age-encryption.org/v1): recipients to encrypt to, identities
//! to decrypt with, read from configuration and checked before anything runs. The
//! machine that makes backups needs only public keys; only an identity can read them.

use std::io::{BufReader, Read};

use age::armor::ArmoredReader;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::Result;

use crate::report::exit::{Code, fail};

/// The magic line an age file starts with.
pub const MAGIC: &[u8] = b"age-encryption.org/v1\n";
/// How an ASCII-armored age file (`age -a`) starts.
const ARMORED: &[u8] = b"-----BEGIN AGE ENCRYPTED FILE-----";
/// An identity file is a few hundred bytes; reading stops here (`--identity /dev/zero`).
const IDENTITY_MAX: u64 = 1 << 20;

/// Public keys a backup is encrypted to, and their text (the manifest lists them).
pub struct Recipients(Vec<Box<dyn age::Recipient + Send + Sync>>, Vec<String>);

impl std::fmt::Debug for Recipients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Recipients({})", self.0.len())
    }
}

/// One recipient: `age1…`, or an ssh public key (`ssh-ed25519 …`, `ssh-rsa …`).
fn recipient(text: &str) -> Option<Box<dyn age::Recipient + Send + Sync>> {
    if let Ok(r) = age::x25519::Recipient::from_str(text) {
        return Some(Box::new(r));
    }
    age::ssh::Recipient::from_str(text)
        .ok()
        .map(|r| Box::new(r) as Box<dyn age::Recipient + Send + Sync>)
}

impl Recipients {
    /// Recipients separated by commas or newlines (`#` starts a comment line), named
    /// `source` in errors (78, with the line). Empty entries are skipped.
    pub fn parse(text: &str, source: &str) -> Result<Recipients> {
        let mut out = Vec::new();
        let mut names = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.starts_with('#') {
                continue;
            }
            for entry in entries(line) {
                match recipient(&entry) {
                    Some(r) => {
                        out.push(r);
                        names.push(entry.to_string());
                    }
                    None => {
                        let shown: String = entry.chars().take(24).collect();
                        return Err(fail(
                            Code::Config,
                            format!(
                                "{source}: line {}: {shown:?}… is not an age recipient (age1… or an ssh-ed25519/ssh-rsa public key)",
                                n + 1
                            ),
                        ));
                    }
                }
            }
        }
        Ok(Recipients(out, names))
    }

    /// A recipients file in age's format (one per line, `#` comments).
    pub fn from_file(path: &Path, source: &str) -> Result<Recipients> {
        let shown = format!("{source} {}", path.display());
        let bytes =
            read_bounded(path).map_err(|e| fail(key_file_code(&e), format!("{shown}: {e}")))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| fail(Code::Config, format!("{shown}: not UTF-8 text")))?;
        Recipients::parse(&text, &shown)
    }

    pub fn extend(&mut self, other: Recipients) {
        self.0.extend(other.0);
        self.1.extend(other.1);
    }

    /// The recipients as configured (public keys).
    pub fn names(&self) -> &[String] {
        &self.1
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// An age encryptor to every recipient.
    pub fn encryptor(&self) -> Result<age::Encryptor> {
        age::Encryptor::with_recipients(self.0.iter().map(|r| r.as_ref() as &dyn age::Recipient))
            .map_err(|e| {
                fail(
                    Code::Config,
                    format!("cannot encrypt to the recipients: {e}"),
                )
            })
    }
}

/// Private keys that can decrypt backups (shared: cloning is cheap).
#[derive(Default, Clone)]
pub struct Identities(std::sync::Arc<Vec<Box<dyn age::Identity + Send + Sync>>>);

impl Identities {
    /// Reads identity files: `AGE-SECRET-KEY-1…` lines, or an unencrypted ssh private
    /// key. Missing is 66, unreadable 77, not an identity 78; readable by group or others
    /// is a warning, as ssh gives.
    pub fn load(paths: &[PathBuf]) -> Result<Identities> {
        let mut out: Vec<Box<dyn age::Identity + Send + Sync>> = Vec::new();
        for path in paths {
            let p = path.display();
            let text = read_bounded(path)
                .map_err(|e| fail(key_file_code(&e), format!("identity file {p}: {e}")))?;
            // root:kronic 0640 is the packaged layout (the drill timer runs as kronic):
            // only what lets anyone else read or change it is warned about.
            if std::fs::metadata(path).is_ok_and(|m| m.mode() & 0o026 != 0) {
                tracing::warn!(
                    "identity file {p} can be read by anyone or changed by its group; chmod 640 it (root:kronic) or 600"
                );
            }
            let bad = |why: String| fail(Code::Config, format!("identity file {p}: {why}"));
            if text.windows(15).any(|w| w == b"AGE-SECRET-KEY-") {
                let file =
                    age::IdentityFile::from_buffer(&text[..]).map_err(|e| bad(e.to_string()))?;
                out.extend(file.into_identities().map_err(|e| bad(e.to_string()))?);
                continue;
            }
            match age::ssh::Identity::from_buffer(&text[..], Some(p.to_string())) {
                Ok(id @ age::ssh::Identity::Unencrypted(_)) => out.push(Box::new(id)),
                Ok(age::ssh::Identity::Encrypted(_)) => {
                    return Err(bad(
                        "a passphrase-protected ssh key; kronic runs unattended: use an unencrypted key or an age identity".into(),
                    ));
                }
                _ => return Err(bad("neither an age identity nor an ssh private key".into())),
            }
        }
        Ok(Identities(std::sync::Arc::new(out)))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Opens an age stream for reading: 77 when no identity matches, 65 for a header
    /// that is not age's.
    pub fn decrypt<R: Read>(&self, input: R, path: &Path) -> Result<Plain<R>> {
        let p = path.display();
        if self.0.is_empty() {
            return Err(fail(
                Code::NoPerm,
                format!(
                    "{p} is encrypted: give the identity (private key) with --identity or KRONIC_BACKUP_IDENTITY_FILE"
                ),
            ));
        }
        let decryptor =
            age::Decryptor::new(bounded_header(input, path)?).map_err(|e| header_error(e, path))?;
        decryptor
            .decrypt(self.0.iter().map(|i| i.as_ref() as &dyn age::Identity))
            .map_err(|e| match e {
                age::DecryptError::NoMatchingKeys => fail(
                    Code::NoPerm,
                    format!("{p}: no identity matches this backup's recipients"),
                ),
                e => header_error(e, path),
            })
    }
}

/// Checks an age file's header without decrypting anything (verify without identity).
pub fn check_header(input: impl Read, path: &Path) -> Result<()> {
    age::Decryptor::new(bounded_header(input, path)?)
        .map(|_| ())
        .map_err(|e| header_error(e, path))
}

/// The decrypted stream of an age file.
pub type Plain<R> = age::stream::StreamReader<HeaderThenRest<R>>;

/// The header, read ahead, then the rest of the (de-armored) file.
pub type HeaderThenRest<R> = std::io::Chain<std::io::Cursor<Vec<u8>>, ArmoredReader<BufReader<R>>>;

/// The largest age header kronic reads, and the most recipient stanzas: a real backup
/// has a handful. The age crate parses its header again for every line it reads (its
/// time grows with the square of the stanzas), so a crafted header with thousands of
/// them is refused before age sees it.
const MAX_HEADER: usize = 64 * 1024;
const MAX_STANZAS: usize = 64;

/// Reads an age file's header (armored, `age -a`, or binary: the armor reader passes
/// binary through) up to its `---` line, refusing (65) one over MAX_HEADER bytes or
/// MAX_STANZAS stanzas; then hands age the header and the rest.
fn bounded_header<R: Read>(input: R, path: &Path) -> Result<HeaderThenRest<R>> {
    let mut armored = ArmoredReader::new(input);
    let mut header = Vec::new();
    let mut line_start = 0;
    let mut stanzas = 0;
    let mut byte = [0u8; 1];
    loop {
        let n = armored
            .read(&mut byte)
            .map_err(|e| crate::fsutil::read_error(path, e))?;
        if n == 0 {
            break; // age says what is missing.
        }
        header.push(byte[0]);
        if byte[0] == b'\n' {
            let line = &header[line_start..];
            if line.starts_with(b"-> ") {
                stanzas += 1;
            }
            if line.starts_with(b"--- ") {
                break;
            }
            line_start = header.len();
        }
        if header.len() > MAX_HEADER || stanzas > MAX_STANZAS {
            return Err(fail(
                Code::DataErr,
                format!(
                    "{} is not a backup kronic wrote: its age header is over {} KiB or names over {MAX_STANZAS} recipients",
                    path.display(),
                    MAX_HEADER / 1024
                ),
            ));
        }
    }
    Ok(std::io::Cursor::new(header).chain(armored))
}

fn header_error(e: age::DecryptError, path: &Path) -> anyhow::Error {
    let p = path.display();
    match e {
        age::DecryptError::Io(io) => crate::fsutil::read_error(path, io),
        e => fail(Code::DataErr, format!("{p} is not a valid age file: {e}")),
    }
}

/// Does `head` start like an age file (binary, or ASCII-armored)?
pub fn is_age(head: &[u8]) -> bool {
    head.starts_with(MAGIC) || head.starts_with(ARMORED)
}

/// A small file read whole, refused past IDENTITY_MAX bytes (a device or a log given by
/// mistake must not be read without end).
fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(IDENTITY_MAX + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > IDENTITY_MAX {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "longer than 1 MiB: not an age key file",
        ));
    }
    Ok(bytes)
}

/// A key file that cannot be read is 66, 77 or 74; one that is far too long is not a key
/// file at all (78).
fn key_file_code(e: &std::io::Error) -> Code {
    match e.kind() {
        std::io::ErrorKind::InvalidData => Code::Config,
        _ => crate::report::exit::io_code(e),
    }
}

/// The recipients on one line: commas separate them, but an ssh key's comment may hold
/// commas itself (age reads the whole line as one key), so a piece that does not start
/// a recipient belongs to the ssh key before it.
fn entries(line: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for piece in line.split(',') {
        let t = piece.trim();
        let starts = t.starts_with("age1") || t.starts_with("ssh-");
        match out.last_mut() {
            Some(prev) if !starts && !t.is_empty() && prev.starts_with("ssh-") => {
                prev.push(',');
                prev.push_str(piece);
            }
            _ if t.is_empty() => {}
            _ => out.push(t.to_string()),
        }
    }
    out
}

/// Reads the whole of `r`, for tests of round trips.
#[cfg(test)]
fn read_all(mut r: impl Read) -> std::io::Result<Vec<u8>> {
    let mut v = Vec::new();
    r.read_to_end(&mut v)?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn round_trip_and_wrong_identity() {
        let key = age::x25519::Identity::generate();
        let other = age::x25519::Identity::generate();
        let recipients =
            Recipients::parse(&format!("# ours\n{}, \n", key.to_public()), "test").unwrap();
        assert_eq!(recipients.0.len(), 1);
        let mut out = Vec::new();
        let mut w = recipients
            .encryptor()
            .unwrap()
            .wrap_output(&mut out)
            .unwrap();
        w.write_all(b"secret rows").unwrap();
        w.finish().unwrap();
        assert!(is_age(&out));
        let ids = Identities(std::sync::Arc::new(vec![Box::new(key)]));
        let plain = read_all(ids.decrypt(&out[..], Path::new("x")).unwrap()).unwrap();
        assert_eq!(plain, b"secret rows");
        let wrong = Identities(std::sync::Arc::new(vec![Box::new(other)]));
        let e = wrong.decrypt(&out[..], Path::new("x")).err().unwrap();
        assert_eq!(crate::report::exit::classify(&e), Code::NoPerm);
    }

    #[test]
    fn a_header_with_thousands_of_stanzas_is_refused_at_once() {
        let mut file = MAGIC.to_vec();
        for _ in 0..5000 {
            file.extend_from_slice(
                b"-> X25519 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\nAAAA\n",
            );
        }
        file.extend_from_slice(b"--- AAAA\n");
        let started = std::time::Instant::now();
        let e = check_header(&file[..], Path::new("x")).unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        assert!(format!("{e:#}").contains("recipients"), "{e:#}");
    }

    #[test]
    fn ssh_comments_may_hold_commas() {
        let key =
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN";
        let age1 = age::x25519::Identity::generate().to_public().to_string();
        let r = Recipients::parse(
            &format!("{key} Smith, Alice (laptop), {age1}\n{key}"),
            "test",
        )
        .unwrap();
        assert_eq!(r.0.len(), 3, "{:?}", r.1);
        assert_eq!(r.1[0], format!("{key} Smith, Alice (laptop)"));
    }

    #[test]
    fn armored_files_decrypt() {
        let key = age::x25519::Identity::generate();
        let armored = {
            let mut out = Vec::new();
            let armor =
                age::armor::ArmoredWriter::wrap_output(&mut out, age::armor::Format::AsciiArmor)
                    .unwrap();
            let recipient = key.to_public();
            let mut w = age::Encryptor::with_recipients(std::iter::once(&recipient as _))
                .unwrap()
                .wrap_output(armor)
                .unwrap();
            w.write_all(b"armored rows").unwrap();
            w.finish().unwrap().finish().unwrap();
            out
        };
        assert!(is_age(&armored));
        let ids = Identities(std::sync::Arc::new(vec![Box::new(key)]));
        let plain = read_all(ids.decrypt(&armored[..], Path::new("x")).unwrap()).unwrap();
        assert_eq!(plain, b"armored rows");
    }

    #[test]
    fn bad_recipients_name_the_source_and_line() {
        let e = Recipients::parse("\nage1nope", "KRONIC_BACKUP_RECIPIENTS").unwrap_err();
        assert_eq!(crate::report::exit::classify(&e), Code::Config);
        assert!(
            format!("{e:#}").contains("KRONIC_BACKUP_RECIPIENTS: line 2"),
            "{e:#}"
        );
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any recipients text is recipients or a one-line 78.
        #[test]
        fn any_recipients_text(text in "\\PC{0,80}|(age1[a-z0-9]{0,60}|ssh-ed25519 [A-Za-z0-9+/=]{0,70}[ ,a-z]{0,10}|#[^\n]{0,10}|[,\n ]){0,6}") {
            if let Err(e) = Recipients::parse(&text, "test") {
                prop_assert_eq!(crate::report::exit::classify(&e), Code::Config);
            }
        }
    }
}
