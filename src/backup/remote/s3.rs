//! S3 and S3-compatible services (MinIO, Ceph, R2, B2, SeaweedFS): the one backend
//! that knows AWS. Every `AWS_*` name kronic reads is here: the builder object_store
//! fills from them, the checks of their values, the HTTP settings (CA bundle, proxy),
//! S3's listing (ListObjectsV2, sent by kronic itself) and S3's error codes.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use futures_util::StreamExt;
use object_store::ObjectStore;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey, AwsAuthorizer};
use object_store::client::{HttpClient, HttpConnector, HttpRequest, HttpRequestBody};
use serde::Deserialize;

use super::backend::{Backend, Objects, Page};
use super::http::{HttpSettings, UntrustedFailsFast, first_line, source_text, tls_failure};
use crate::config::{config_err, env, file, switch};
use crate::report::exit::{Code, fail};
use crate::report::ui::one_line;

/// The AWS settings kronic reads, besides its own (`kronic config` shows them).
pub const SETTINGS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ALLOW_HTTP",
    CA_BUNDLE,
    "AWS_PROXY_URL",
    "AWS_PROXY_EXCLUDES",
    "AWS_PROXY_CA_CERTIFICATE",
    "AWS_ALLOW_INVALID_CERTIFICATES",
    "AWS_VIRTUAL_HOSTED_STYLE_REQUEST",
];

/// A private S3 service's own CA certificates, as the AWS CLI reads them.
const CA_BUNDLE: &str = "AWS_CA_BUNDLE";

/// A download's retries are bounded by their number (10), not by time.
const DOWNLOAD_RETRY_BUDGET: Duration = Duration::from_secs(7 * 24 * 3600);

/// One page's answer may be this big (a real page of 1,000 keys is well under 1 MiB).
const PAGE_MAX: usize = 16 << 20;

/// S3's error codes for credentials it does not accept.
const DENIED: &[&str] = &[
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
    "AllAccessDisabled",
];

/// A bucket, through object_store's S3 client and kronic's HTTP client.
pub struct S3 {
    /// `s3://bucket/prefix`, for messages.
    url: String,
    store: Arc<AmazonS3>,
    reads: Arc<AmazonS3>,
    /// For the listing kronic sends itself: the same HTTP settings, signed by
    /// object_store's signer for `region`, sent to `bucket_endpoint`.
    http: HttpClient,
    bucket_endpoint: String,
    region: String,
    timeout: Duration,
}

impl S3 {
    /// `bucket`, with credentials, region and endpoint from the AWS_* settings (the
    /// environment's over the configuration file's, as object_store's `from_env` reads
    /// them) and kronic's HTTP settings. Every request is bounded by `timeout` while
    /// nothing arrives. A bad value is 78, naming the variable, never its value.
    pub fn from_settings(bucket: &str, url: &str, timeout: Duration) -> Result<S3> {
        check_values()?;
        if let Some(e) = env("AWS_ENDPOINT_URL").or_else(|| env("AWS_ENDPOINT")) {
            endpoint(&e)?;
        }
        let builder = crate::config::settings_named("AWS_").into_iter().fold(
            AmazonS3Builder::default(),
            |b, (k, v)| match k.to_ascii_lowercase().parse() {
                Ok(key) => b.with_config(key, v),
                Err(_) => b,
            },
        );
        S3::new(bucket, url, timeout, builder, http_settings()?)
    }

    fn new(
        bucket: &str,
        url: &str,
        timeout: Duration,
        builder: AmazonS3Builder,
        http: HttpSettings,
    ) -> Result<S3> {
        let bad = |why: &str| fail(Code::Config, format!("remote {url:?}: {why}"));
        let builder = builder.with_bucket_name(bucket);
        let build = |request: Option<Duration>, retry_timeout: Duration| {
            builder
                .clone()
                .with_http_connector(UntrustedFailsFast {
                    settings: http.clone(),
                    timeout: request,
                    stall: timeout,
                })
                .with_retry(object_store::RetryConfig {
                    max_retries: 10,
                    retry_timeout,
                    ..Default::default()
                })
                .build()
                .map(Arc::new)
                .map_err(|e| bad(&first_line(&e.to_string())))
        };
        // Requests and uploaded parts: each whole request bounded (an 8 MiB part gets
        // at least two minutes, for slow links), retries too.
        let whole = (timeout * 4).max(Duration::from_secs(120));
        let store = build(Some(whole), timeout)?;
        // Downloads feed a restore for as long as it takes: no limit on the whole
        // request, only on a stalled read. object_store resumes a broken download where
        // it stopped (a range request, the same ETag) while its retry budget lasts, and
        // that budget counts from the request's start: hours into a restore, only the
        // number of retries may bound it. (The first answer is bounded by the caller.)
        let reads = build(None, DOWNLOAD_RETRY_BUDGET)?;
        let http = UntrustedFailsFast {
            settings: http.clone(),
            timeout: Some(timeout),
            stall: timeout,
        }
        .connect(&object_store::ClientOptions::new())
        .map_err(|e| bad(&first_line(&e.to_string())))?;
        let (bucket_endpoint, region) = bucket_endpoint(&builder, bucket);
        Ok(S3 {
            url: url.to_string(),
            store,
            reads,
            http,
            bucket_endpoint,
            region,
            timeout,
        })
    }

    /// An error answer (`status`, its body) to a request kronic sent itself.
    fn status_error(&self, status: u16, body: &str) -> anyhow::Error {
        let detail = match reason(body) {
            r if body.contains("<Code>") => one_line(&r, 300),
            r => one_line(&format!("{status}: {r}"), 300),
        };
        let code = detail.split(':').next().unwrap_or("");
        self.explain_detail(
            &detail,
            matches!(status, 401 | 403) || DENIED.contains(&code),
        )
    }

    /// The one line for a failure the server explained as `detail`.
    fn explain_detail(&self, detail: &str, denied: bool) -> anyhow::Error {
        let code = detail.split(':').next().unwrap_or("");
        if denied {
            return fail(
                Code::NoPerm,
                format!(
                    "{}: access denied ({detail}); check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) and the bucket's policy",
                    self.url
                ),
            );
        }
        if code == "NoSuchBucket" {
            return fail(
                Code::NoInput,
                format!(
                    "{}: the bucket does not exist ({detail}); create it or fix KRONIC_BACKUP_REMOTE",
                    self.url
                ),
            );
        }
        if detail.contains("timed out") {
            return self.no_answer(self.timeout);
        }
        fail(
            Code::Unavailable,
            format!(
                "{}: cannot reach the object store ({detail}); check AWS_ENDPOINT_URL, AWS_REGION and the network",
                self.url
            ),
        )
    }

    async fn fetch_page(&self, prefix: &str, token: Option<&str>) -> Result<Vec<u8>> {
        let mut url = url::Url::parse(&self.bucket_endpoint).map_err(|e| {
            fail(
                Code::Config,
                format!("{}: the endpoint is not a URL ({e})", self.url),
            )
        })?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("list-type", "2");
            q.append_pair("delimiter", "/");
            q.append_pair("prefix", prefix);
            if let Some(t) = token {
                q.append_pair("continuation-token", t);
            }
        }
        let credential = self
            .store
            .credentials()
            .get_credential()
            .await
            .map_err(|e| self.explain("list", e))?;
        let mut request: HttpRequest = http::Request::builder()
            .method(http::Method::GET)
            .uri(url.as_str())
            .body(HttpRequestBody::empty())
            .map_err(|e| fail(Code::Config, format!("{}: {e}", self.url)))?;
        AwsAuthorizer::new(&credential, "s3", &self.region)
            .try_authorize(&mut request, None)
            .map_err(|e| self.explain("list", e))?;
        let response = self.http.execute(request).await.map_err(|e| {
            self.explain(
                "list",
                object_store::Error::Generic {
                    store: "S3",
                    source: Box::new(e),
                },
            )
        })?;
        let status = response.status();
        let mut body = Vec::new();
        let mut stream = response.into_body().bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                fail(
                    Code::Unavailable,
                    format!(
                        "{}: the listing broke off ({})",
                        self.url,
                        one_line(&e.to_string(), 200)
                    ),
                )
            })?;
            if body.len() + chunk.len() > PAGE_MAX {
                return Err(fail(
                    Code::Unavailable,
                    format!(
                        "{}: an answer to a listing is over {} MiB: not an S3 listing page",
                        self.url,
                        PAGE_MAX >> 20
                    ),
                ));
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body);
            return Err(self.status_error(status.as_u16(), &text));
        }
        Ok(body)
    }
}

#[async_trait::async_trait]
impl Backend for S3 {
    fn objects(&self) -> Arc<dyn Objects> {
        self.store.clone()
    }

    fn reads(&self) -> Arc<dyn ObjectStore> {
        self.reads.clone()
    }

    async fn list_page(&self, prefix: &str, token: Option<&str>) -> Result<Page> {
        let body = self.fetch_page(prefix, token).await?;
        let result = parse(&body).map_err(|why| {
            fail(
                Code::Unavailable,
                format!(
                    "{}: the endpoint's answer to a listing is not S3's ({why}); check AWS_ENDPOINT_URL",
                    self.url
                ),
            )
        })?;
        Ok(Page {
            keys: result
                .contents
                .into_iter()
                .map(|c| (c.key, c.size))
                .collect(),
            truncated: result.is_truncated,
            next: result.next_continuation_token,
        })
    }

    /// Told by the error kind and by S3's error code (listing errors arrive as generic
    /// ones).
    fn explain(&self, what: &str, e: object_store::Error) -> anyhow::Error {
        use object_store::Error as E;
        // What the server said is one printable line of bounded length: it may hold a
        // newline and a terminal's escapes, or be a hundred megabytes long.
        let detail = one_line(&reason(&source_text(&e)), 300);
        let code = detail.split(':').next().unwrap_or("");
        let denied = matches!(e, E::Unauthenticated { .. } | E::PermissionDenied { .. })
            || DENIED.contains(&code)
            || detail.starts_with("403");
        if let E::NotFound { .. } = e
            && code != "NoSuchBucket"
        {
            return fail(Code::NoInput, format!("{}/{what} does not exist", self.url));
        }
        if let Some(t) = tls_failure(&e) {
            return fail(
                Code::Unavailable,
                format!(
                    "{}: the object store's TLS certificate is not trusted ({t}); if it uses a private CA, set {CA_BUNDLE} to that CA's certificate, and name the host as the certificate does in AWS_ENDPOINT_URL",
                    self.url
                ),
            );
        }
        self.explain_detail(&detail, denied)
    }

    fn no_answer(&self, timeout: Duration) -> anyhow::Error {
        fail(
            Code::Unavailable,
            format!(
                "{}: cannot reach the object store: no answer within {}s (KRONIC_REMOTE_TIMEOUT); check AWS_ENDPOINT_URL and the network",
                self.url,
                timeout.as_secs()
            ),
        )
    }
}

/// Where the bucket is, and its region, as object_store works them out: the endpoint
/// (path-style, or the bucket's own host when virtual-hosted), else AWS's.
fn bucket_endpoint(builder: &AmazonS3Builder, bucket: &str) -> (String, String) {
    let get = |k| builder.get_config_value(&k).filter(|v| !v.is_empty());
    let region = get(AmazonS3ConfigKey::Region).unwrap_or_else(|| "us-east-1".into());
    let virtual_hosted =
        get(AmazonS3ConfigKey::VirtualHostedStyleRequest).is_some_and(|v| v == "true");
    let endpoint = match (get(AmazonS3ConfigKey::Endpoint), virtual_hosted) {
        (Some(e), true) => e,
        (Some(e), false) => format!("{}/{bucket}", e.trim_end_matches('/')),
        (None, true) => format!("https://{bucket}.s3.{region}.amazonaws.com"),
        (None, false) => format!("https://s3.{region}.amazonaws.com/{bucket}"),
    };
    (endpoint, region)
}

/// S3's own `<Code>` and `<Message>` when the text carries an error document, else its
/// first line.
fn reason(text: &str) -> String {
    let tag = |name: &str| {
        let start = text.find(&format!("<{name}>"))? + name.len() + 2;
        let end = start + text[start..].find(&format!("</{name}>"))?;
        Some(text[start..end].to_string())
    };
    match (tag("Code"), tag("Message")) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code,
        _ => first_line(text)
            .trim_start_matches("Server returned non-2xx status code: ")
            .trim_end_matches(':')
            .to_string(),
    }
}

/// Every `AWS_*` value object_store may read is text without control characters: a CR
/// left by a CRLF-edited env file would otherwise reach an HTTP header. 78 naming the
/// variable (never its value: it may be a secret).
fn check_values() -> Result<()> {
    for (key, value) in crate::config::settings_named("AWS_") {
        if value.contains('\u{fffd}') {
            return Err(config_err(format!("{key} is not valid UTF-8")));
        }
        if value.chars().any(char::is_control) {
            return Err(config_err(format!(
                "{key} holds a control character (a carriage return from a file edited on Windows?); remove it"
            )));
        }
    }
    for key in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
        // Present but empty (a template's blank): not "use the instance role".
        let empty_in_env = std::env::var_os(key).is_some_and(|v| v.is_empty());
        let empty_in_file = file::loaded()
            .values
            .get(key)
            .is_some_and(|(v, _)| v.is_empty());
        if env(key).is_none() && (empty_in_env || empty_in_file) {
            return Err(config_err(format!(
                "{key} is set but empty: give the key, or remove the line to use the instance or container role"
            )));
        }
    }
    Ok(())
}

/// `AWS_ENDPOINT_URL`: an http(s) URL with a host and a valid port; plain http only
/// when `AWS_ALLOW_HTTP=true` (requests are signed, but the data would cross in the
/// clear). 78 otherwise.
fn endpoint(e: &str) -> Result<()> {
    let bad = |why: &str| config_err(format!("AWS_ENDPOINT_URL={e:?}: {why}"));
    let url = url::Url::parse(e).map_err(|why| bad(&format!("not a URL ({why})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("use an http:// or https:// URL"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("the host is missing"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(config_err(
            "AWS_ENDPOINT_URL holds credentials: give them in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into(),
        ));
    }
    let allowed = env("AWS_ALLOW_HTTP").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if url.scheme() == "http" && !allowed {
        return Err(config_err(format!(
            "AWS_ENDPOINT_URL={e} is plain http: set AWS_ALLOW_HTTP=true to allow it, or use https"
        )));
    }
    Ok(())
}

/// The object store's HTTP settings: the CA certificates in `AWS_CA_BUNDLE`;
/// `AWS_PROXY_URL` with `AWS_PROXY_CA_CERTIFICATE` (PEM text) and `AWS_PROXY_EXCLUDES`;
/// `AWS_ALLOW_INVALID_CERTIFICATES=true`. A bad one is 78, naming it.
fn http_settings() -> Result<HttpSettings> {
    let pem_certs = |name: &str, pem: &[u8]| -> Result<Vec<reqwest::Certificate>> {
        let bad = |why: String| config_err(format!("{name}: {why}"));
        let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| bad(e.to_string()))?;
        if certs.is_empty() {
            return Err(bad("no PEM certificate in it".into()));
        }
        Ok(certs)
    };
    let mut settings = HttpSettings {
        proxy: env("AWS_PROXY_URL"),
        proxy_excludes: env("AWS_PROXY_EXCLUDES"),
        allow_invalid_certificates: switch(false, "AWS_ALLOW_INVALID_CERTIFICATES")?,
        ..HttpSettings::default()
    };
    if let Some(pem) = env("AWS_PROXY_CA_CERTIFICATE") {
        settings.proxy_ca = pem_certs("AWS_PROXY_CA_CERTIFICATE", pem.as_bytes())?
            .into_iter()
            .next();
    }
    if let Some(path) = env(CA_BUNDLE) {
        let name = format!("{CA_BUNDLE}={path}");
        let pem = std::fs::read(&path).map_err(|e| config_err(format!("{name}: {e}")))?;
        settings.roots = pem_certs(&name, &pem)?;
    }
    Ok(settings)
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct ListBucketResult {
    #[serde(default)]
    contents: Vec<Contents>,
    #[serde(default)]
    is_truncated: bool,
    #[serde(default)]
    next_continuation_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Contents {
    key: String,
    #[serde(default)]
    size: u64,
}

/// One page, parsed: S3's answer, or why it is not one.
fn parse(body: &[u8]) -> Result<ListBucketResult, String> {
    let text = std::str::from_utf8(body).map_err(|_| "not UTF-8 text".to_string())?;
    let start = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .strip_prefix("<?xml")
        .map_or(text.trim_start(), |r| {
            r.split_once("?>").map_or("", |(_, rest)| rest.trim_start())
        });
    if !start.starts_with("<ListBucketResult") {
        let shown: String = start.chars().take(60).collect();
        return Err(format!("\"{}\"", one_line(&shown, 60)));
    }
    quick_xml::de::from_str(text).map_err(|e| format!("unreadable XML ({e})"))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn pages_and_what_is_not_one() {
        let page = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>
<Contents><Key>p/kronic_backup_20261125_020000.sql.gz</Key><Size>42</Size></Contents>
<Contents><Key>p/a	tab</Key><Size>1</Size></Contents>
<IsTruncated>true</IsTruncated><NextContinuationToken>t2</NextContinuationToken>
</ListBucketResult>"#;
        let r = parse(page.as_bytes()).unwrap();
        assert_eq!(r.contents.len(), 2);
        assert_eq!(r.contents[0].size, 42);
        assert!(r.is_truncated);
        assert_eq!(r.next_continuation_token.as_deref(), Some("t2"));
        for bad in [
            "<html><body>Welcome</body></html>",
            "<?xml version=\"1.0\"?><Error><Code>x</Code></Error>",
            "",
            "\u{1b}[2J",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }
}

#[cfg(test)]
mod properties {
    use super::parse;
    use proptest::prelude::*;

    proptest! {
        /// Any answer to a listing is a page or "not S3's": never a panic.
        #[test]
        fn any_answer_is_judged(body in prop::collection::vec(any::<u8>(), 0..500)) {
            let _ = parse(&body);
        }

        #[test]
        fn any_xml_like_answer_is_judged(
            body in "(<\\?xml[^>]{0,10}\\?>)?<ListBucketResult>(<Contents><Key>[^<]{0,20}</Key><Size>[0-9a-z-]{0,25}</Size></Contents>|<IsTruncated>[a-z]{0,6}</IsTruncated>|<[A-Za-z]{1,8}>|[^<]{0,10}){0,8}(</ListBucketResult>)?",
        ) {
            let _ = parse(body.as_bytes());
        }
    }
}
