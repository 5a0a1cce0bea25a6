//! The configuration file every command reads: `--config FILE`, else `KRONIC_CONFIG`,
//! else `/etc/kronic/kronic.env` when it exists. The same `VARIABLE=value` lines the
//! systemd units' EnvironmentFile took; a variable in the environment beats the file,
//! a flag beats both. The file holds passwords, so it is trusted like ssh trusts its
//! files: a file that others can write to is refused, and so is a `KRONIC_*` name that
//! kronic does not know (a typo must not silently mean "not set").

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::Result;

use super::vars;
use crate::report::exit::{Code, fail};

/// Where the packaged configuration lives.
pub const DEFAULT_PATH: &str = "/etc/kronic/kronic.env";

/// The file's settings, once read.
#[derive(Debug, Default)]
pub struct File {
    pub path: Option<PathBuf>,
    /// Name → (value, line).
    pub values: BTreeMap<String, (String, usize)>,
}

static LOADED: OnceLock<File> = OnceLock::new();

/// The file read at start (empty when there is none).
pub fn loaded() -> &'static File {
    LOADED.get_or_init(File::default)
}

/// Reads the configuration file for this run: `flag`, else `KRONIC_CONFIG`, else the
/// default path if it exists. Once per process, before anything reads a setting.
pub fn load(flag: Option<&Path>) -> Result<()> {
    let named = flag.map(Path::to_path_buf).or_else(|| {
        std::env::var_os(vars::CONFIG)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    let path = match named {
        Some(p) => p,
        None if Path::new(DEFAULT_PATH).exists() => PathBuf::from(DEFAULT_PATH),
        None => return Ok(()),
    };
    let file = read(&path)?;
    let _ = LOADED.set(file);
    Ok(())
}

/// Refuses (78) a `KRONIC_*` name in the environment that kronic does not know, as the
/// file's are refused: `KRONIC_BACKUP_KEEP_DAY=7` must not silently mean the default.
/// `KRONIC_X_*` names are left alone (deliberate extras, such as a pipeline's own).
pub fn refuse_unknown_environment() -> Result<()> {
    let names: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .collect();
    match vars::unknown(names.iter().map(String::as_str)).first() {
        Some(name) => Err(fail(
            Code::Config,
            format!(
                "unknown setting {name} in the environment (a typo? `kronic --help` lists them; name a deliberate extra KRONIC_X_…)"
            ),
        )),
        None => Ok(()),
    }
}

fn read(path: &Path) -> Result<File> {
    let p = path.display();
    // The folders first, as ssh's StrictModes checks them: once none of them can be
    // changed by another user, nobody can swap the file between the checks and the
    // read. Then the file is opened once, and what was opened is what is checked.
    let real = std::fs::canonicalize(path).map_err(|e| {
        fail(
            crate::report::exit::io_code(&e),
            format!("configuration file {p}: {e}"),
        )
    })?;
    for folder in real.ancestors().skip(1) {
        trusted_folder(folder, &p)?;
    }
    let mut opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(&real)
        .map_err(|e| read_failed(&e, &p))?;
    let meta = opened.metadata().map_err(|e| read_failed(&e, &p))?;
    if !meta.is_file() {
        return Err(fail(
            Code::Config,
            format!("configuration file {p} is not a file"),
        ));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(fail(
            Code::NoPerm,
            format!(
                "configuration file {p} is writable by {} (mode {mode:04o}): kronic does not trust it; fix with: chmod go-w {p}",
                if mode & 0o002 != 0 {
                    "anyone"
                } else {
                    "its group"
                }
            ),
        ));
    }
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != 0 && meta.uid() != me {
        return Err(fail(
            Code::NoPerm,
            format!(
                "configuration file {p} is owned by uid {}, not by root or this user: kronic does not trust it; fix with: chown root {p}",
                meta.uid()
            ),
        ));
    }
    let mut text = Vec::new();
    std::io::Read::read_to_end(&mut opened, &mut text).map_err(|e| read_failed(&e, &p))?;
    let text = String::from_utf8(text).map_err(|_| {
        fail(
            Code::Config,
            format!("configuration file {p} is not UTF-8 text"),
        )
    })?;
    let mut values = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let (name, value) = match parse_line(line) {
            Ok(Some(kv)) => kv,
            Ok(None) => continue,
            Err(why) => {
                return Err(fail(
                    Code::Config,
                    format!("configuration file {p}: line {}: {why}", n + 1),
                ));
            }
        };
        if name.starts_with("KRONIC_") && !vars::ENV_VARS.iter().any(|(v, _)| *v == name) {
            return Err(fail(
                Code::Config,
                format!(
                    "configuration file {p}: line {}: unknown setting {name} (a typo? `kronic --help` lists them)",
                    n + 1
                ),
            ));
        }
        values.insert(name, (value, n + 1));
    }
    Ok(File {
        path: Some(path.to_path_buf()),
        values,
    })
}

/// A folder on the configuration file's path, trusted as ssh's StrictModes trusts one:
/// owned by root or this user, and writable by nobody else, except a root-owned sticky
/// folder such as /tmp (where others cannot rename or replace what is not theirs).
fn trusted_folder(folder: &Path, file: &std::path::Display<'_>) -> Result<()> {
    let meta = std::fs::metadata(folder).map_err(|e| {
        fail(
            crate::report::exit::io_code(&e),
            format!(
                "configuration file {file}: folder {}: {e}",
                folder.display()
            ),
        )
    })?;
    let me = rustix::process::geteuid().as_raw();
    let mode = meta.mode();
    let sticky_root = mode & 0o1000 != 0 && meta.uid() == 0;
    let foreign_owner = meta.uid() != 0 && meta.uid() != me;
    if foreign_owner || (mode & 0o022 != 0 && !sticky_root) {
        return Err(fail(
            Code::NoPerm,
            format!(
                "configuration file {file}: its folder {} is {} (mode {:04o}): another user could replace the file; kronic does not trust it",
                folder.display(),
                if foreign_owner {
                    format!("owned by uid {}", meta.uid())
                } else {
                    "writable by others".to_string()
                },
                mode & 0o7777
            ),
        ));
    }
    Ok(())
}

fn read_failed(e: &std::io::Error, p: &std::path::Display<'_>) -> anyhow::Error {
    let hint = if e.kind() == std::io::ErrorKind::PermissionDenied {
        " (run as root, or as a member of the file's group: the package makes it root:kronic 0640)"
    } else {
        ""
    };
    fail(
        crate::report::exit::io_code(e),
        format!("configuration file {p}: {e}{hint}"),
    )
}

/// One line: None for a blank line or a `#` comment, else `NAME=value` (an `export `
/// in front allowed; a value in matching single or double quotes unquoted, and the
/// escapes in double quotes read, as systemd's EnvironmentFile reads them).
fn parse_line(line: &str) -> Result<Option<(String, String)>, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
        return Ok(None);
    }
    let line = line.strip_prefix("export ").unwrap_or(line);
    // The line may hold a password: an error names at most its first word, and only
    // when that is a variable name.
    let first: String = line
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let named = match first.is_empty() {
        true => String::new(),
        false => format!(" (it starts with {first})"),
    };
    let Some((name, value)) = line.split_once('=') else {
        return Err(format!("not a NAME=value line{named}"));
    };
    let name = name.trim();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(format!(
            "not a NAME=value line{named}: a name is letters, digits and _ only"
        ));
    }
    let value = value.trim();
    if value.contains('\0') {
        return Err(format!("the value of {name} holds a NUL byte"));
    }
    if let Some(inner) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        return Ok(Some((name.to_string(), inner.to_string())));
    }
    if let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        return Ok(Some((name.to_string(), unescape_double(inner))));
    }
    Ok(Some((name.to_string(), value.to_string())))
}

/// Inside double quotes, as systemd's EnvironmentFile (and a shell) reads them: a
/// backslash before `"`, `\`, `` ` `` or `$` stands for that character; any other
/// backslash stays.
fn unescape_double(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some(&n)) if matches!(n, '"' | '\\' | '`' | '$') => {
                out.push(n);
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::parse_line;

    #[test]
    fn lines_as_environment_files_have_them() {
        let kv = |l| parse_line(l).unwrap().unwrap();
        assert_eq!(kv("A=b"), ("A".into(), "b".into()));
        assert_eq!(kv(" export A = 'b c' "), ("A".into(), "b c".into()));
        assert_eq!(kv("A=\"x=y\""), ("A".into(), "x=y".into()));
        assert_eq!(kv("A="), ("A".into(), String::new()));
        // Escapes in double quotes, as systemd reads them; none in single quotes.
        assert_eq!(
            kv(r#"A="a\"b\\c\$d\x""#),
            ("A".into(), r#"a"b\c$d\x"#.into())
        );
        assert_eq!(kv(r#"A='a\"b'"#), ("A".into(), r#"a\"b"#.into()));
        assert!(
            parse_line("KRONIC_DATABASE_HOST=db\0x")
                .unwrap_err()
                .contains("KRONIC_DATABASE_HOST")
        );
        assert_eq!(parse_line("# c").unwrap(), None);
        assert_eq!(parse_line("").unwrap(), None);
        assert!(parse_line("nonsense").is_err());
        assert!(parse_line("A B=c").is_err());
        // The value (a password) never shows in the error.
        let e = parse_line("KRONIC_DATABASE_PASSWORD s3cret=x").unwrap_err();
        assert!(
            !e.contains("s3cret") && e.contains("KRONIC_DATABASE_PASSWORD"),
            "{e}"
        );
        let e = parse_line("KRONIC_DATABASE_PASSWORD s3cret").unwrap_err();
        assert!(!e.contains("s3cret"), "{e}");
    }
}
