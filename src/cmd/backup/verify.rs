//! `kronic backup verify`: each backup read through `backup::source` as a restore would
//! read it, running nothing, and held to its manifest; from the folder or the bucket.

use std::path::{Path, PathBuf};

use anyhow::Result;
use indicatif::HumanBytes;

use crate::backup::crypt::Identities;
use crate::backup::remote::Remote;
use crate::backup::source::{Source, Wanted};
use crate::report::exit::{Code, classify, fail};
use crate::report::ui::say;

/// The backups to verify: `given` (files, or names in the bucket), each held to
/// `want`'s signature rules, else the newest that `want` allows.
async fn sources(
    given: &[PathBuf],
    latest: bool,
    want: &Wanted<'_>,
    dir: &Path,
    remote: Option<&Remote>,
    identities: &Identities,
) -> Result<Vec<Result<Source>>> {
    let mut out = Vec::new();
    let trusted = |src: Result<Source>| src.and_then(|s| s.check_trust(want).map(|()| s));
    match (given.is_empty(), latest, remote) {
        (true, false, _) => {
            return Err(fail(
                Code::Usage,
                "backup verify needs backup FILEs (with --remote: names), or --latest for the newest",
            ));
        }
        (true, true, r) => {
            let r = r.cloned();
            out.push(Source::choose(None, r, true, dir, identities.clone(), want).await);
        }
        (false, _, Some(r)) => {
            for g in given {
                let name = g
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                out.push(trusted(Source::object(r, &name, identities.clone()).await));
            }
        }
        (false, _, None) => {
            for g in given {
                out.push(trusted(Source::file(g.clone(), identities.clone())));
            }
        }
    }
    Ok(out)
}

/// Verifies every backup; one failure is its own error, several are each named and
/// summed up (exit code of the first).
pub async fn run(
    given: &[PathBuf],
    latest: bool,
    want: &Wanted<'_>,
    dir: &Path,
    remote: Option<&Remote>,
    identities: Identities,
) -> Result<Code> {
    let sources = sources(given, latest, want, dir, remote, &identities).await?;
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
