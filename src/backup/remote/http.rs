//! object_store's HTTP client as kronic uses it, and what its errors say.

use std::io;
use std::time::Duration;

use futures_util::StreamExt;

use object_store::ClientOptions;
use object_store::client::{
    HttpClient, HttpConnector, HttpError, HttpErrorKind, HttpRequest, HttpResponse, HttpService,
};

/// The HTTP settings a backend reads from its own variables: CA certificates to trust,
/// a proxy and what it excludes, and whether invalid certificates are accepted.
#[derive(Debug, Clone, Default)]
pub struct HttpSettings {
    pub roots: Vec<reqwest::Certificate>,
    pub proxy: Option<String>,
    pub proxy_ca: Option<reqwest::Certificate>,
    pub proxy_excludes: Option<String>,
    pub allow_invalid_certificates: bool,
}

/// kronic's HTTP client for the object store (object_store speaks through it):
/// - redirects are never followed: a signed request is only valid for its host, and a
///   server must not send kronic's session token on to another one;
/// - a TLS certificate that is not trusted is not retried like a refused connection
///   (it will not become trusted within the timeout): its error comes back at once;
/// - an error answer's body is read up to ERROR_BODY_MAX bytes only (object_store would
///   read a hostile server's hundred megabytes whole, to quote them).
#[derive(Debug)]
pub(super) struct UntrustedFailsFast {
    pub settings: HttpSettings,
    /// The whole request, when bounded; connecting and each read, always.
    pub timeout: Option<Duration>,
    pub stall: Duration,
}

/// Enough of an error answer for S3's `<Code>` and `<Message>`.
const ERROR_BODY_MAX: usize = 64 << 10;

impl HttpConnector for UntrustedFailsFast {
    fn connect(&self, _: &ClientOptions) -> object_store::Result<HttpClient> {
        let s = &self.settings;
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("kronic/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(self.stall)
            .read_timeout(self.stall)
            .danger_accept_invalid_certs(s.allow_invalid_certificates);
        if let Some(t) = self.timeout {
            builder = builder.timeout(t);
        }
        for cert in s.roots.iter().chain(&s.proxy_ca) {
            builder = builder.add_root_certificate(cert.clone());
        }
        let failed = |e: reqwest::Error| object_store::Error::Generic {
            store: "S3",
            source: Box::new(e),
        };
        if let Some(url) = &s.proxy {
            let mut proxy = reqwest::Proxy::all(url).map_err(failed)?;
            if let Some(excludes) = &s.proxy_excludes {
                proxy = proxy.no_proxy(reqwest::NoProxy::from_string(excludes));
            }
            builder = builder.proxy(proxy);
        }
        let client = builder.build().map_err(failed)?;
        Ok(HttpClient::new(NoRetryOnTls(HttpClient::new(client))))
    }
}

#[derive(Debug)]
struct NoRetryOnTls(HttpClient);

#[async_trait::async_trait]
impl HttpService for NoRetryOnTls {
    async fn call(&self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
        let response = self
            .0
            .execute(req)
            .await
            .map_err(|e| match tls_failure(&e) {
                Some(_) => HttpError::new(HttpErrorKind::Unknown, e),
                None => e,
            })?;
        if response.status().is_success() || response.status().is_redirection() {
            return Ok(response);
        }
        let (parts, body) = response.into_parts();
        let mut kept = Vec::new();
        let mut stream = body.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let Ok(chunk) = chunk else { break };
            let room = ERROR_BODY_MAX - kept.len();
            kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if kept.len() == ERROR_BODY_MAX {
                break;
            }
        }
        Ok(HttpResponse::from_parts(parts, kept.into()))
    }
}

/// The TLS error somewhere in `e`'s sources (rustls reports inside io::Errors, and an
/// io::Error's `source` skips what it wraps: `get_ref` is followed instead).
pub(super) fn tls_failure<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    let mut next = Some(e);
    while let Some(e) = next {
        if let Some(t) = e.downcast_ref::<rustls::Error>() {
            return Some(t);
        }
        next = match e.downcast_ref::<io::Error>().and_then(io::Error::get_ref) {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    None
}

/// An error's innermost useful text (object_store wraps the HTTP client's).
pub(super) fn source_text(e: &object_store::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = s.to_string();
        source = s.source();
    }
    text
}

pub(super) fn first_line(s: &str) -> String {
    let line = s
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    line.chars().take(300).collect()
}
