//! What a storage service must give the offsite copy. `Remote` (names, listing rules,
//! retention, uploads, manifests) is written against this interface only; S3 is its
//! first implementation (`s3.rs`), and a second service (GCS, Azure) is one more file
//! here plus one arm in `Remote::new`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use object_store::ObjectStore;
use object_store::multipart::MultipartStore;

/// A store that takes multipart uploads (every object_store cloud backend does).
pub trait Objects: ObjectStore + MultipartStore {}
impl<T: ObjectStore + MultipartStore> Objects for T {}

/// One page of a listing: the keys directly under the prefix (delimited by '/'), each
/// with its size, and the token for the next page when there is one.
pub struct Page {
    pub keys: Vec<(String, u64)>,
    /// The service says the listing goes on...
    pub truncated: bool,
    /// ...from this token.
    pub next: Option<String>,
}

#[async_trait::async_trait]
pub trait Backend: Send + Sync {
    /// For requests that are bounded as a whole (heads, small objects, parts, deletes).
    fn objects(&self) -> Arc<dyn Objects>;

    /// For streaming downloads: no limit on the whole request, only on a stalled read.
    fn reads(&self) -> Arc<dyn ObjectStore>;

    /// One page of the keys directly under `prefix` (empty, or ending in '/'), from
    /// `token`. The caller bounds it in time; the backend bounds the bytes it reads, and
    /// an answer that is not a listing is an error, never an empty page.
    async fn list_page(&self, prefix: &str, token: Option<&str>) -> Result<Page>;

    /// One line for a failed request about `what`: what failed and which settings to
    /// check (never a credential), with kronic's exit code.
    fn explain(&self, what: &str, e: object_store::Error) -> anyhow::Error;

    /// One line for a service that did not answer within `timeout`.
    fn no_answer(&self, timeout: Duration) -> anyhow::Error;
}
