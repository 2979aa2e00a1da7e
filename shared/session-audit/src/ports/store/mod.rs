//! The store seam: the audit objects the use cases read and write (records, reports,
//! summaries), behind one small trait. S3 implements it in the AWS crate; [`FsStore`] (a
//! directory, or files named on a command line) and [`MemStore`] (tests) here.
//!
//! Writes are conditional so two deliveries racing on one record cannot overwrite each other:
//! read (with the ETag), merge, write if unchanged.

mod fs;
mod memory;
pub mod spool;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;

use jiff::civil::Date;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::session::{SessionRecord, SESSION_SPAN_DAYS};
pub use fs::FsStore;
pub use memory::MemStore;

/// When a write may happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// Only if no object exists at the key.
    Absent,
    /// Only if the object is still the one read (its ETag).
    Unchanged(String),
    /// Whatever is there (summaries, which a rerun replaces).
    Always,
}

impl Condition {
    /// Whether a write may happen over the object with `current` ETag (`None`: no object), for
    /// stores that check conditions themselves.
    pub fn holds(&self, current: Option<&str>) -> bool {
        match (self, current) {
            (Condition::Always, _) | (Condition::Absent, None) => true,
            (Condition::Unchanged(etag), Some(current)) => current == etag,
            (Condition::Absent, Some(_)) | (Condition::Unchanged(_), None) => false,
        }
    }
}

/// One key a listing found, and what identifies its content without reading it (S3's ETag;
/// a local file's size and modification time), so an object changed in place is noticed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The object's key.
    pub key: String,
    /// Its ETag (quotes removed).
    pub etag: String,
    /// When it was last written (RFC 3339), where the store says.
    pub last_modified: Option<String>,
}

/// One object read whole from a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// The object's content.
    pub bytes: Vec<u8>,
    /// Its ETag, for a conditional write after it.
    pub etag: String,
    /// The version read, where the store keeps versions.
    pub version: Option<String>,
}

/// What a store knows of an object without its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Its ETag.
    pub etag: Option<String>,
    /// Its version ID, in a versioned store.
    pub version: Option<String>,
    /// When it was written (RFC 3339), where the store says.
    pub last_modified: Option<String>,
    /// Its length in bytes, where the store says: a body that ends short of it is an error.
    pub length: Option<u64>,
    /// User metadata written with it (S3's `x-amz-meta-*`).
    pub metadata: BTreeMap<String, String>,
}

/// What is written: bytes in memory, or a file streamed from disk (a report of any size).
#[derive(Debug, Clone)]
pub enum Payload {
    /// Bytes in memory.
    Bytes(Vec<u8>),
    /// A file (a spooled report), streamed from disk.
    File(PathBuf),
}

impl Payload {
    /// The bytes, for stores that hold them (a file is read whole).
    fn into_bytes(self) -> std::io::Result<Vec<u8>> {
        match self {
            Payload::Bytes(b) => Ok(b),
            Payload::File(path) => std::fs::read(path),
        }
    }
}

/// How an object is written: its content type and user metadata.
#[derive(Debug, Clone, Default)]
pub struct Attributes {
    /// The `Content-Type` stored with the object.
    pub content_type: String,
    /// User metadata stored with the object.
    pub metadata: BTreeMap<String, String>,
}

impl Attributes {
    /// Attributes with `content_type` and no metadata.
    pub fn of(content_type: &str) -> Self {
        Attributes { content_type: content_type.to_string(), metadata: BTreeMap::new() }
    }
}

/// An object's body, read a chunk at a time: a transcript is never held whole.
pub trait Body: Send {
    /// The next chunk, or `None` at the end. A body that breaks off is an error.
    fn next_chunk(&mut self) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;
}

/// A body already in memory, handed out in one chunk.
#[derive(Debug)]
pub struct InMemoryBody(Option<Vec<u8>>);

impl Body for InMemoryBody {
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.0.take())
    }
}

/// A failed store call: the operation, where, and the service's error code when there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{op} failed for {uri}: {}{message}", code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default())]
pub struct StoreError {
    /// The store operation that failed (`GetObject`, `PutObject`, …).
    pub op: &'static str,
    /// The object it was for.
    pub uri: String,
    /// The service's error code, when it gave one.
    pub code: Option<String>,
    /// What went wrong.
    pub message: String,
}

/// Audit objects by key (`audit/...`, [`crate::keys`]), and the transcripts beside them.
pub trait AuditStore: Sync {
    /// The body [`AuditStore::open`] hands out.
    type Body: Body;

    /// Where `key` is, for people: `s3://bucket/key` or a path.
    fn uri(&self, key: &str) -> String;

    /// The object at `key` (at `version`, where given and the store keeps versions), or `None`
    /// when there is none.
    fn get(
        &self,
        key: &str,
        version: Option<&str>,
    ) -> impl Future<Output = Result<Option<Object>, StoreError>> + Send;

    /// The object at `key` (at `version`) to be read a chunk at a time, or `None` when there is
    /// no such object or version.
    fn open(
        &self,
        key: &str,
        version: Option<&str>,
    ) -> impl Future<Output = Result<Option<(ObjectInfo, Self::Body)>, StoreError>> + Send;

    /// What the store knows of the object at `key`, or `None` when there is none.
    fn head(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<ObjectInfo>, StoreError>> + Send;

    /// Write `body` if `condition` holds. `Ok(false)`: it did not (another writer got there
    /// first), so read again and merge.
    fn put(
        &self,
        key: &str,
        body: Payload,
        attributes: &Attributes,
        condition: &Condition,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The versions `key` has had, oldest first (delete markers left out): S3's order of
    /// writes, which decides which upload of a transcript came first. Empty where the store
    /// keeps no versions.
    fn versions(&self, key: &str) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// Every key under `prefix`, in key order, with what identifies its content.
    fn list(&self, prefix: &str) -> impl Future<Output = Result<Vec<Entry>, StoreError>> + Send;

    /// Remove `key` if it is still the object read at `etag` (a record that moved).
    fn delete_if_unchanged(
        &self,
        key: &str,
        etag: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// One version of an object, or a delete marker, as a listing of the whole bucket gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedVersion {
    /// The object's key.
    pub key: String,
    /// Its version ID (`None` where the store keeps no versions).
    pub version_id: Option<String>,
    /// When the store recorded it.
    pub last_modified: jiff::Timestamp,
    /// Bytes (0 for a delete marker).
    pub size: u64,
    /// A delete marker: the key was deleted then.
    pub delete_marker: bool,
}

/// Every version a store holds, with the store's time of each: what the digests list.
pub trait VersionListing: Sync {
    /// The versions and delete markers recorded at or after `since` (all of them when `None`),
    /// except those under `skip`; the versions of each key oldest first, in the store's order
    /// of writes (which decides between versions recorded in the same millisecond).
    fn versions_since(
        &self,
        since: Option<jiff::Timestamp>,
        skip: &str,
    ) -> impl Future<Output = Result<Vec<ListedVersion>, StoreError>> + Send;
}

/// One stored JSON object: the parsed value (or why it did not parse) and its ETag.
#[derive(Debug)]
pub struct Stored<T> {
    /// The parsed value, or why it did not parse.
    pub value: Result<T, String>,
    /// The ETag it was read at.
    pub etag: String,
}

/// The JSON object at `key`, or `None` when there is none.
pub async fn get_json<T: DeserializeOwned>(
    store: &impl AuditStore,
    key: &str,
) -> Result<Option<Stored<T>>, StoreError> {
    Ok(store.get(key, None).await?.map(|o| Stored {
        value: serde_json::from_slice(&o.bytes).map_err(|e| e.to_string()),
        etag: o.etag,
    }))
}

/// Write `value` as one line of JSON if `condition` holds (Athena's JSON SerDe reads a record
/// per line, README "Athena").
pub async fn put_json<T: Serialize>(
    store: &impl AuditStore,
    key: &str,
    value: &T,
    condition: &Condition,
) -> Result<bool, StoreError> {
    let mut body = serde_json::to_vec(value).expect("records serialise");
    body.push(b'\n');
    store.put(key, Payload::Bytes(body), &Attributes::of("application/json"), condition).await
}

/// A transcript or stream arrives at most [`SESSION_SPAN_DAYS`] after its session started, and
/// up to a day later if the agent retried: a session record is looked for this many days back.
const RECORD_LOOKBACK_DAYS: i64 = SESSION_SPAN_DAYS + 1;

/// The record of `session`, looked for on `day` (today when unknown) and the days before (and,
/// for the hub's own sessions, where records were filed before places); a record that does not
/// read is a warning, not trusted.
pub async fn find_session_record(
    store: &impl AuditStore,
    session: &crate::keys::SessionAt,
    day: Option<Date>,
    home: &crate::keys::Home,
) -> Result<(Option<SessionRecord>, Option<String>), StoreError> {
    let day = day.unwrap_or_else(|| jiff::Zoned::now().date());
    for back in 0..=RECORD_LOOKBACK_DAYS {
        let Ok(date) = day.checked_sub(jiff::Span::new().days(back)) else { continue };
        for key in crate::keys::session_record_keys(date, session, home) {
            match get_json::<SessionRecord>(store, &key).await? {
                Some(Stored { value: Ok(r), .. }) => return Ok((Some(r), None)),
                Some(Stored { value: Err(why), .. }) => {
                    return Ok((None, Some(format!("session record {key} is unreadable: {why}"))))
                }
                None => {}
            }
        }
    }
    Ok((None, None))
}

/// An ETag for stores that compute their own: a content hash, as S3's is for simple uploads.
fn content_etag(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Run a future to completion on this thread: the CLI drives the use cases over local stores,
/// whose futures never wait on anything, without an async runtime.
pub fn block_on<F: Future>(future: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(out) => return out,
            Poll::Pending => std::thread::park(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The contract every store keeps, run over the local ones (the S3 one is run against the
    /// emulator by the tests crate with the same steps).
    fn contract(store: &impl AuditStore) {
        block_on(async {
            assert_eq!(store.get("audit/a/x.json", None).await.unwrap(), None);
            assert!(put_json(store, "audit/a/x.json", &1, &Condition::Absent).await.unwrap());
            assert!(!put_json(store, "audit/a/x.json", &2, &Condition::Absent).await.unwrap());
            let v = get_json::<u32>(store, "audit/a/x.json").await.unwrap().unwrap();
            assert_eq!(v.value, Ok(1));
            let stale = Condition::Unchanged("not-the-etag".into());
            assert!(!put_json(store, "audit/a/x.json", &3, &stale).await.unwrap());
            let fresh = Condition::Unchanged(v.etag.clone());
            assert!(put_json(store, "audit/a/x.json", &4, &fresh).await.unwrap());
            assert!(put_json(store, "audit/a/y.json", &5, &Condition::Always).await.unwrap());
            assert!(put_json(store, "audit/b/z.json", &6, &Condition::Always).await.unwrap());
            let listed = store.list("audit/a/").await.unwrap();
            let keys: Vec<&str> = listed.iter().map(|e| e.key.as_str()).collect();
            assert_eq!(keys, ["audit/a/x.json", "audit/a/y.json"]);
            assert!(listed.iter().all(|e| !e.etag.is_empty()));
            // A stale ETag deletes nothing; the current one does.
            store.delete_if_unchanged("audit/a/x.json", &v.etag).await.unwrap();
            let now = store.get("audit/a/x.json", None).await.unwrap().unwrap();
            assert_eq!(now.bytes, b"4\n");
            store.delete_if_unchanged("audit/a/x.json", &now.etag).await.unwrap();
            assert_eq!(store.get("audit/a/x.json", None).await.unwrap(), None);
            store.delete_if_unchanged("audit/a/gone.json", "e").await.unwrap();
            assert_eq!(store.versions("audit/a/none.json").await.unwrap(), Vec::<String>::new());
        });
    }

    #[test]
    fn memory_store_keeps_the_contract() {
        contract(&MemStore::default());
    }

    #[test]
    fn file_store_keeps_the_contract() {
        let dir = std::env::temp_dir().join(format!("sa-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        contract(&FsStore::new(&dir));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
