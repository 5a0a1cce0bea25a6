//! Failures that reach a human: healthchecks.io-style pings (the protocol that service,
//! its self-hosted form and many others speak) to `KRONIC_NOTIFY_URL` or `--notify`:
//! `URL/start` when a backup or drill starts, then `URL/<exit code>` (0 is success)
//! with the outcome's line as the body. A ping that fails is a warning: it never
//! changes what the run did or its exit code.

use std::time::Duration;

use anyhow::Result;

use crate::report::exit::{Code, fail};
use crate::report::ui::one_line;

/// A host in 169.254.0.0/16 or fe80::/10: cloud metadata services live there.
fn link_local(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_link_local(),
        Some(url::Host::Ipv6(ip)) => (ip.segments()[0] & 0xffc0) == 0xfe80,
        _ => false,
    }
}

/// How long a ping may take.
const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// Where pings go, if anywhere.
pub struct Notifier {
    url: Option<url::Url>,
}

impl Notifier {
    /// `url` (the flag, else `KRONIC_NOTIFY_URL`, as the command resolved it); an
    /// http(s) URL (78 otherwise, never echoed: a ping URL is a capability, like a
    /// password).
    pub fn new(url: Option<String>) -> Result<Notifier> {
        let Some(text) = url.filter(|f| !f.is_empty()) else {
            return Ok(Notifier { url: None });
        };
        let bad = || {
            fail(
                Code::Config,
                "KRONIC_NOTIFY_URL (or --notify) is not an http:// or https:// URL",
            )
        };
        let url = url::Url::parse(text.trim_end_matches('/')).map_err(|_| bad())?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(bad());
        }
        if link_local(&url) {
            return Err(fail(
                Code::Config,
                "KRONIC_NOTIFY_URL (or --notify) names a link-local address (a cloud metadata service), where no ping belongs",
            ));
        }
        Ok(Notifier { url: Some(url) })
    }

    /// Whether pings go anywhere.
    pub fn enabled(&self) -> bool {
        self.url.is_some()
    }

    /// `URL/fail`, naming what failed (a systemd unit, from its OnFailure=).
    pub async fn failed(&self, what: &str) {
        self.ping("fail", format!("{} failed", one_line(what, 200)))
            .await;
    }

    /// `URL/start`.
    pub async fn start(&self) {
        self.ping("start", String::new()).await;
    }

    /// `URL/<code>`, the outcome's line as the body, without what the server said
    /// about the data (a failing row's values): the line and the SQLSTATE stay.
    pub async fn finish(&self, code: Code, line: &str) {
        let body = crate::report::redact::scrub(line);
        self.ping(&code.as_u8().to_string(), one_line(&body, 10_000))
            .await;
    }

    async fn ping(&self, what: &str, body: String) {
        let Some(url) = &self.url else { return };
        let target = format!("{}/{what}", url.as_str().trim_end_matches('/'));
        let sent = async {
            // No redirects (a redirect would hand the URL, the check's secret, and the
            // body to another host), and no Referer.
            let client = reqwest::Client::builder()
                .timeout(PING_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .referer(false)
                .build()?;
            client.post(&target).body(body).send().await
        };
        // The URL itself is not shown: it is the check's secret.
        let why = match sent.await {
            Ok(r) if r.status().is_success() => return,
            Ok(r) if r.status().is_redirection() => {
                format!(
                    "HTTP {}, a redirect, which kronic does not follow",
                    r.status().as_u16()
                )
            }
            Ok(r) => format!("HTTP {}", r.status().as_u16()),
            Err(e) if e.is_timeout() => "no answer within 10 s".to_string(),
            Err(e) if e.is_connect() => "connection refused or unreachable".to_string(),
            Err(_) => "the request failed".to_string(),
        };
        tracing::warn!("the {what} notification was not delivered ({why})");
    }
}
