//! `kronic config`: the effective settings, where each comes from (and what it
//! overrides), the defaults of those unset, secrets masked; and every value checked as
//! the commands check it, so that a value every command would refuse is found here.

use anyhow::Result;
use serde_json::json;

use crate::config::{From, file, setting, vars};
use crate::report::exit::{Code, classify};
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

/// Where a value comes from (the environment, or the file's line), and what is worth
/// knowing beside: the file line the environment overrides; for a database part, that
/// the URL makes it unused.
fn origin(name: &str, from: &From) -> (String, Option<String>) {
    let file = file::loaded();
    let (from, mut note) = match from {
        From::Environment => (
            "environment".to_string(),
            file.values.get(name).map(|(_, line)| {
                let path = file.path.clone().unwrap_or_default();
                format!("overrides {}:{line}", path.display())
            }),
        ),
        From::File(p, line) => (format!("{}:{line}", p.display()), None),
    };
    let parts = [
        vars::DATABASE_HOST,
        vars::DATABASE_PORT,
        vars::DATABASE_NAME,
        vars::DATABASE_USER,
    ];
    if parts.contains(&name) && setting(vars::DATABASE_URL).is_some() {
        note = Some("not used: KRONIC_DATABASE_URL names the database".into());
    }
    (from, note)
}

/// Every setting checked as the commands that read it check them: what any command
/// would refuse, each one line naming its variable, with its exit code.
fn problems() -> Vec<(Code, String)> {
    use crate::backup::settings;
    let checks: [Result<()>; 11] = [
        crate::config::Config::from_env(None).map(drop),
        settings::retention(&settings::Retention::default()).map(drop),
        settings::compression(None, None).map(drop),
        settings::recipients(&[], None).map(drop),
        settings::identities(&[]).map(drop),
        settings::signer().map(drop),
        settings::trust(false, false).map(drop),
        settings::remote(None).map(drop),
        settings::jobs(None, 1).map(drop),
        crate::config::lock_policy(None, None).map(drop),
        crate::report::notify::Notifier::new(crate::config::env(vars::NOTIFY_URL)).map(drop),
    ];
    let switch = crate::config::switch(false, vars::ALLOW_SUPERUSER).map(drop);
    checks
        .into_iter()
        .chain([switch])
        .filter_map(Result::err)
        .map(|e| (classify(&e), format!("{e:#}")))
        .collect()
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
        let (value, (from, note)) = match setting(name) {
            Some((v, from)) => (Some(shown(name, &v)), origin(name, &from)),
            None => (None, ("unset".to_string(), None)),
        };
        rows.push((name, value, from, note, vars::default_of(name)));
    }
    let problems = problems();
    let code = problems.first().map_or(Code::Ok, |(c, _)| *c);
    let path = file::loaded().path.clone();
    if json {
        let settings: Vec<_> = rows
            .iter()
            .map(|(n, v, f, note, d)| {
                json!({"name": n, "value": v, "from": f, "note": note, "default": d})
            })
            .collect();
        let problems: Vec<_> = problems
            .iter()
            .map(|(c, m)| json!({"exit_code": c.as_u8(), "message": m}))
            .collect();
        say(serde_json::to_string_pretty(&json!({
            "file": path,
            "settings": settings,
            "problems": problems,
        }))?)?;
        return Ok(code);
    }
    say(format!(
        "configuration file: {}",
        path.map_or_else(|| "none".into(), |p| p.display().to_string())
    ))?;
    for (name, value, from, note, default) in rows {
        match (value, default) {
            (Some(v), _) => match note {
                Some(note) => say(format!("{name}={v}  ({from}; {note})"))?,
                None => say(format!("{name}={v}  ({from})"))?,
            },
            (None, Some(d)) => say(format!("{name}  (unset; default: {d})"))?,
            (None, None) => say(format!("{name}  (unset)"))?,
        }
    }
    // Every problem, not only the first: a command stops at its first.
    for (_, message) in &problems {
        eprintln!("kronic: error: {message}");
    }
    Ok(code)
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
