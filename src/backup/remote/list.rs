//! Listing the prefix: S3's ListObjectsV2, sent by kronic itself one page a request
//! (through object_store's HTTP client and signer, so proxy, CA and credentials are the
//! same), because a broken or hostile server must not cost a backup:
//! - each page is bounded by the remote timeout (as documented: per request);
//! - each answer is read up to a cap on the bytes actually received, and the whole
//!   listing up to a number of pages;
//! - an answer that is not S3's `ListBucketResult` (an HTML page) is an error, never an
//!   empty bucket;
//! - a foreign key that object_store could not use (a tab, `//`, `..`) is skipped, with
//!   one warning, instead of failing the listing.

use std::collections::HashSet;

use anyhow::Result;
use futures_util::StreamExt;
use object_store::aws::AwsAuthorizer;
use object_store::client::{HttpRequest, HttpRequestBody};
use object_store::path::Path;
use serde::Deserialize;

use super::{Remote, RemoteBackup};
use crate::backup::{manifest, repository};
use crate::report::exit::{Code, fail};
use crate::report::ui::one_line;

/// One page's answer may be this big (a real page of 1,000 keys is well under 1 MiB).
const PAGE_MAX: usize = 16 << 20;
/// Pages in one listing (10 million keys).
const PAGES_MAX: usize = 10_000;

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

impl Remote {
    /// The backups directly under the prefix, newest first: exact backup names only
    /// (other keys and anything under sub-prefixes are not kronic's).
    pub async fn list(&self) -> Result<Vec<RemoteBackup>> {
        let mut keys: Vec<(String, u64)> = Vec::new();
        let mut token: Option<String> = None;
        let mut skipped: Option<String> = None;
        for page in 0.. {
            if page == PAGES_MAX {
                return Err(fail(
                    Code::Unavailable,
                    format!(
                        "{}: the listing goes on past {PAGES_MAX} pages: not a backup prefix (or a server listing forever)",
                        self.url
                    ),
                ));
            }
            let body = self.page(token.as_deref()).await?;
            let result = parse(&body).map_err(|why| {
                fail(
                    Code::Unavailable,
                    format!(
                        "{}: the endpoint's answer to a listing is not S3's ({why}); check AWS_ENDPOINT_URL",
                        self.url
                    ),
                )
            })?;
            for c in result.contents {
                let name = c.key.strip_prefix(&self.list_prefix()).unwrap_or(&c.key);
                if name.contains('/') {
                    continue;
                }
                if Path::parse(&c.key).is_err() {
                    skipped.get_or_insert_with(|| one_line(&c.key, 100));
                    continue;
                }
                keys.push((name.to_string(), c.size));
            }
            match (result.is_truncated, result.next_continuation_token) {
                (true, Some(next)) if token.as_deref() != Some(&next) => token = Some(next),
                (true, _) => {
                    return Err(fail(
                        Code::Unavailable,
                        format!(
                            "{}: the listing says it goes on, without a new continuation token; check AWS_ENDPOINT_URL",
                            self.url
                        ),
                    ));
                }
                (false, _) => break,
            }
        }
        if let Some(key) = skipped {
            tracing::warn!(
                "{}: skipping keys kronic cannot use, such as {key:?} (not kronic's)",
                self.url
            );
        }
        let names: HashSet<&str> = keys.iter().map(|(n, _)| n.as_str()).collect();
        let mut out: Vec<RemoteBackup> = keys
            .iter()
            .filter_map(|(name, size)| {
                let time = repository::parse_backup_name(name)?;
                Some(RemoteBackup {
                    url: self.url_of(name),
                    has_manifest: names.contains(manifest::name_for(name).as_str()),
                    name: name.clone(),
                    time,
                    size: *size,
                })
            })
            .collect();
        out.sort_by(|a, b| b.time.cmp(&a.time).then(b.name.cmp(&a.name)));
        Ok(out)
    }

    /// The prefix as S3 lists it: empty, or ending in '/'.
    fn list_prefix(&self) -> String {
        match self.prefix.is_empty() {
            true => String::new(),
            false => format!("{}/", self.prefix),
        }
    }

    /// One page of the listing, within the remote timeout, at most PAGE_MAX bytes.
    async fn page(&self, token: Option<&str>) -> Result<Vec<u8>> {
        let timeout = self.timeout;
        match tokio::time::timeout(timeout, self.fetch_page(token)).await {
            Ok(r) => r,
            Err(_) => Err(self.no_answer()),
        }
    }

    async fn fetch_page(&self, token: Option<&str>) -> Result<Vec<u8>> {
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
            q.append_pair("prefix", &self.list_prefix());
            if let Some(t) = token {
                q.append_pair("continuation-token", t);
            }
        }
        let credential = self
            .store
            .credentials()
            .get_credential()
            .await
            .map_err(|e| self.error("list", e))?;
        let mut request: HttpRequest = http::Request::builder()
            .method(http::Method::GET)
            .uri(url.as_str())
            .body(HttpRequestBody::empty())
            .map_err(|e| fail(Code::Config, format!("{}: {e}", self.url)))?;
        AwsAuthorizer::new(&credential, "s3", &self.region)
            .try_authorize(&mut request, None)
            .map_err(|e| self.error("list", e))?;
        let response = self.http.execute(request).await.map_err(|e| {
            self.error(
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
