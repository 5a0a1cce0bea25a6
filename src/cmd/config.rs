//! `kronic config`: the effective settings, where each comes from, secrets masked.

use anyhow::Result;
use serde_json::json;

use crate::config::{From, file, setting, vars};
use crate::report::exit::Code;
use crate::report::ui::say;

/// A value as `kronic config` may show it: secrets as ***; a URL with its password and
/// any password-like query value as ***; the ping URL (the check's secret) as its scheme
/// and host only; a URL kronic cannot parse not at all (its password could be anywhere).
fn shown(name: &str, value: &str) -> String {
    if ["PASSWORD", "SECRET", "TOKEN"]
        .iter()
        .any(|s| name.contains(s))
    {
        return "***".into();
    }
    let is_url = name.ends_with("_URL") || value.contains("://");
    if !is_url {
        return value.to_string();
    }
    let Ok(mut u) = url::Url::parse(value) else {
        return "*** (not a URL kronic can parse, so not shown)".into();
    };
    if name == vars::NOTIFY_URL {
        return format!("{}://{}/***", u.scheme(), u.host_str().unwrap_or(""));
    }
    if u.password().is_some() {
        let _ = u.set_password(Some("***"));
    }
    let masked: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| {
            let secret = ["pass", "secret", "token", "key"]
                .iter()
                .any(|s| k.to_ascii_lowercase().contains(s));
            (
                k.into_owned(),
                if secret { "***".into() } else { v.into_owned() },
            )
        })
        .collect();
    if !masked.is_empty() {
        u.query_pairs_mut().clear().extend_pairs(masked);
    }
    u.to_string()
}

pub fn run(json: bool) -> Result<Code> {
    let names = vars::ENV_VARS
        .iter()
        .map(|(n, _)| *n)
        .chain(crate::backup::remote::s3::SETTINGS.iter().copied())
        .filter(|n| n.starts_with("KRONIC_") || crate::backup::remote::s3::SETTINGS.contains(n));
    let mut rows = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for name in names {
        if !seen.insert(name) {
            continue;
        }
        let (value, from) = match setting(name) {
            Some((v, From::Environment)) => (Some(shown(name, &v)), "environment".to_string()),
            Some((v, From::File(p, line))) => {
                (Some(shown(name, &v)), format!("{}:{line}", p.display()))
            }
            None => (None, "unset".to_string()),
        };
        rows.push((name, value, from));
    }
    let path = file::loaded().path.clone();
    if json {
        let settings: Vec<_> = rows
            .iter()
            .map(|(n, v, f)| json!({"name": n, "value": v, "from": f}))
            .collect();
        return say(serde_json::to_string_pretty(&json!({
            "file": path,
            "settings": settings,
        }))?)
        .map(|()| Code::Ok);
    }
    say(format!(
        "configuration file: {}",
        path.map_or_else(|| "none".into(), |p| p.display().to_string())
    ))?;
    for (name, value, from) in rows {
        match value {
            Some(v) => say(format!("{name}={v}  ({from})"))?,
            None => say(format!("{name}  (unset)"))?,
        }
    }
    Ok(Code::Ok)
}

#[cfg(test)]
mod tests {
    use super::shown;

    #[test]
    fn secrets_never_show() {
        for (name, value, secret) in [
            (
                "KRONIC_DATABASE_URL",
                "postgres://app:s3cret@db/app",
                "s3cret",
            ),
            (
                "KRONIC_DATABASE_URL",
                "postgres://app:se/cret@db/app",
                "cret",
            ),
            (
                "KRONIC_DATABASE_URL",
                "postgres://app:se#cret@db/app",
                "cret",
            ),
            (
                "KRONIC_DATABASE_URL",
                "postgres://db/app?password=s3cret",
                "s3cret",
            ),
            (
                "KRONIC_DATABASE_URL",
                "postgres://app:s3cret@h1,h2/app",
                "s3cret",
            ),
            (
                "KRONIC_NOTIFY_URL",
                "https://hc-ping.com/0f4d9c1e-uuid",
                "0f4d9c1e",
            ),
            ("KRONIC_NOTIFY_URL", "not a url 0f4d9c1e", "0f4d9c1e"),
        ] {
            let s = shown(name, value);
            assert!(!s.contains(secret), "{name}={value} shown as {s}");
        }
        assert_eq!(shown("KRONIC_BACKUP_DIR", "/var/backups"), "/var/backups");
    }
}
