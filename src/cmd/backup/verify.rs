//! `kronic backup verify`: each backup read through `backup::source` as a restore would
//! read it, running nothing, and held to its manifest; from the folder or the bucket.

use std::path::{Path, PathBuf};

use anyhow::Result;
use indicatif::HumanBytes;

use crate::backup::crypt::Identities;
use crate::backup::remote::Remote;
use crate::backup::repository;
use crate::backup::source::Source;
use crate::report::exit::{Code, classify, fail};
use crate::report::ui::say;

/// With --latest: whose backup the newest must be.
pub struct Newest {
    pub database: Option<String>,
    pub from_database: Option<String>,
}

/// The backups to verify: `given` (files, or names in the bucket), else the newest,
/// which must be the expected database's and started when its name says.
async fn sources(
    given: &[PathBuf],
    newest: Option<&Newest>,
    dir: &Path,
    remote: Option<&Remote>,
    identities: &Identities,
) -> Result<Vec<Result<Source>>> {
    let mut out = Vec::new();
    let check = |src: Result<Source>| match (src, newest) {
        (Ok(src), Some(n)) => src
            .check_newest(n.database.as_deref(), n.from_database.as_deref())
            .map(|()| src),
        (src, _) => src,
    };
    match (given.is_empty(), newest.is_some(), remote) {
        (true, false, _) => {
            return Err(fail(
                Code::Usage,
                "backup verify needs backup FILEs (with --remote: names), or --latest for the newest",
            ));
        }
        (true, true, Some(r)) => {
            let name = r.latest().await?.name;
            out.push(check(Source::object(r, &name, identities.clone()).await));
        }
        (true, true, None) => {
            let path = repository::latest(dir)?.path;
            out.push(check(Source::file(path, identities.clone())));
        }
        (false, _, Some(r)) => {
            for g in given {
                let name = g
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                out.push(Source::object(r, &name, identities.clone()).await);
            }
        }
        (false, _, None) => {
            for g in given {
                out.push(Source::file(g.clone(), identities.clone()));
            }
        }
    }
    Ok(out)
}

/// Verifies every backup; one failure is its own error, several are each named and
/// summed up (exit code of the first).
pub async fn run(
    given: &[PathBuf],
    newest: Option<&Newest>,
    dir: &Path,
    remote: Option<&Remote>,
    identities: Identities,
) -> Result<Code> {
    let sources = sources(given, newest, dir, remote, &identities).await?;
    let count = sources.len();
    let mut failed = Vec::new();
    let mut unchecked = false;
    for (n, src) in sources.into_iter().enumerate() {
        let label = given
            .get(n)
            .map(|g| g.display().to_string())
            .unwrap_or_default();
        let checked = match src {
            Ok(src) => one(&src)
                .await
                .map_err(|e| (src.label.display().to_string(), e)),
            Err(e) => Err((label, e)),
        };
        match checked {
            Ok(content) => unchecked |= !content,
            Err((_, e)) if count == 1 => return Err(e),
            Err((label, e)) => {
                eprintln!("kronic: error: {e:#}");
                failed.push((label, classify(&e)));
            }
        }
    }
    match failed.first() {
        // Nothing failed, but something was not looked at: monitoring must be able to
        // tell that from a pass.
        None if unchecked => Ok(Code::Attention),
        None => Ok(Code::Ok),
        Some((_, code)) => Err(fail(
            *code,
            format!(
                "{} of {count} backups failed verification: {}",
                failed.len(),
                failed
                    .iter()
                    .map(|(p, _)| p.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// Verifies one backup and says how it went; whether its content was checked.
async fn one(src: &Source) -> Result<bool> {
    let verified = src.verify().await?;
    let label = src.label.display();
    let digest = if src.manifest.is_some() {
        "SHA-256 matches"
    } else {
        "SHA-256 not recorded"
    };
    if verified.content_checked {
        say(format!(
            "ok: {label} ({} of SQL, complete, {digest})",
            HumanBytes(verified.sql_bytes)
        ))?;
    } else {
        say(format!(
            "not checked: {label} is encrypted and no identity was given; only its age header was read ({digest})"
        ))?;
        tracing::warn!(
            "{label}: its content was not checked (exit 1); give the identity with --identity or KRONIC_BACKUP_IDENTITY_FILE"
        );
    }
    Ok(verified.content_checked)
}
