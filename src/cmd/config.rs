//! `kronic config`: the effective settings, where each comes from, secrets masked.

use anyhow::Result;
use serde_json::json;

use crate::config::{From, file, setting, vars};
use crate::report::exit::Code;
use crate::report::ui::say;

/// The AWS settings kronic reads, besides its own.
const AWS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ALLOW_HTTP",
    "AWS_CA_BUNDLE",
    "AWS_PROXY_URL",
    "AWS_PROXY_EXCLUDES",
    "AWS_PROXY_CA_CERTIFICATE",
    "AWS_ALLOW_INVALID_CERTIFICATES",
    "AWS_VIRTUAL_HOSTED_STYLE_REQUEST",
];

/// A value as `kronic config` may show it: secrets as ***, a URL's password as ***.
fn shown(name: &str, value: &str) -> String {
    if ["PASSWORD", "SECRET", "TOKEN"]
        .iter()
        .any(|s| name.contains(s))
    {
        return "***".into();
    }
    match url::Url::parse(value) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => value.to_string(),
    }
}

pub fn run(json: bool) -> Result<Code> {
    let names = vars::ENV_VARS
        .iter()
        .map(|(n, _)| *n)
        .chain(AWS.iter().copied())
        .filter(|n| n.starts_with("KRONIC_") || AWS.contains(n));
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
