//! Reading one value: a flag or its variable (the environment, then the configuration
//! file), checked into a type, or one line naming it (exit 78).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

use super::file;
use crate::report::exit::{Code, fail};

/// An on/off setting: the flag when given, else the variable (true/false, yes/no, 1/0;
/// anything else is 78: a typo must not silently mean either).
pub fn switch(flag: bool, var: &str) -> Result<bool> {
    if flag {
        return Ok(true);
    }
    match env(var).map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("false" | "no" | "0" | "off") => Ok(false),
        Some("true" | "yes" | "1" | "on") => Ok(true),
        Some(_) => Err(config_err(format!("{var} must be true or false"))),
    }
}

/// A path setting: the flag, else the variable.
pub fn path_setting(flag: Option<PathBuf>, var: &str) -> Option<PathBuf> {
    flag.or_else(|| env(var).map(PathBuf::from))
}

/// A text setting: the flag, else the variable; empty counts as unset.
pub fn text_setting(flag: Option<String>, var: &str) -> Option<String> {
    flag.filter(|s| !s.is_empty()).or_else(|| env(var))
}

/// The one place kronic reads its environment. An empty variable counts as unset (one
/// blank line in an EnvironmentFile must not change anything).
pub fn env(name: &str) -> Option<String> {
    setting(name).map(|(v, _)| v)
}

/// Where a setting comes from, for `kronic config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum From {
    Environment,
    /// The configuration file, and the line.
    File(PathBuf, usize),
}

/// A setting's value and where it comes from: the process environment, else the
/// configuration file (`config::file`). Empty counts as unset.
pub fn setting(name: &str) -> Option<(String, From)> {
    if let Some(v) = std::env::var(name).ok().filter(|v| !v.is_empty()) {
        return Some((v, From::Environment));
    }
    let file = file::loaded();
    let (value, line) = file.values.get(name).filter(|(v, _)| !v.is_empty())?;
    Some((
        value.clone(),
        From::File(file.path.clone().unwrap_or_default(), *line),
    ))
}

/// Every setting whose name starts with `prefix` (a storage backend's own, such as
/// `AWS_`), the environment's over the file's.
pub fn settings_named(prefix: &str) -> Vec<(String, String)> {
    let mut names: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .chain(file::loaded().values.keys().cloned())
        .filter(|k| k.starts_with(prefix))
        .collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|k| {
            // A value that is not UTF-8 is kept, to be refused by name.
            let raw = std::env::var_os(&k)
                .filter(|v| !v.is_empty())
                .map(|v| v.to_string_lossy().into_owned());
            let v = raw.or_else(|| env(&k))?;
            Some((k, v))
        })
        .collect()
}

/// A value that must never be printed: Debug and Display show `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

pub(crate) fn config_err(msg: String) -> anyhow::Error {
    fail(Code::Config, msg)
}

pub(crate) fn count(name: &str, value: &str, min: usize) -> Result<usize> {
    match value.trim().parse::<usize>() {
        Ok(n) if n >= min && n <= 10_000 => Ok(n),
        _ => Err(config_err(format!(
            "{name}={value:?} must be a whole number from {min} to 10000"
        ))),
    }
}

/// Seconds, fractions allowed, at most a day: the one duration parser, for flags and
/// variables. `allow_zero` for timeouts where 0 means "do not wait".
pub fn parse_seconds(value: &str, allow_zero: bool) -> Result<Duration, String> {
    match value.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && (s > 0.0 || (allow_zero && s == 0.0)) && s <= 86_400.0 => {
            Ok(Duration::from_secs_f64(s))
        }
        _ => Err(format!(
            "{value:?} must be a number of seconds {} 86400",
            if allow_zero {
                "from 0 to"
            } else {
                "above 0, at most"
            }
        )),
    }
}

pub(crate) fn seconds(name: &str, value: &str, allow_zero: bool) -> Result<Duration> {
    parse_seconds(value, allow_zero).map_err(|e| config_err(format!("{name}={e}")))
}
