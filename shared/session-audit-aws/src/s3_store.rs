//! The audit store in the log bucket: the engine's [`AuditStore`] over S3, with conditional
//! requests (`If-None-Match: *`, `If-Match: <etag>`) so two deliveries racing on one record
//! cannot overwrite each other.

use aws_sdk_s3::primitives::ByteStream;
use session_audit::ports::store::{
    Attributes, AuditStore, Body, Condition, Entry, ListedVersion, Object, ObjectInfo, Payload,
    StoreError, VersionListing,
};

use crate::AwsError;

/// The objects of one bucket.
#[derive(Debug, Clone)]
pub struct S3Store {
    s3: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Store {
    /// A store over `bucket`.
    pub fn new(s3: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        S3Store { s3, bucket: bucket.into() }
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The S3 client (for calls outside the store's seam, such as the tests').
    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.s3
    }

    fn error(&self, op: &'static str, key: &str, e: AwsError) -> StoreError {
        StoreError { op, uri: self.uri(key), code: e.code, message: e.message }
    }
}

/// What GetObject and HeadObject say of an object (the two outputs share these accessors).
macro_rules! info {
    ($out:expr) => {
        ObjectInfo {
            etag: $out.e_tag().map(str::to_string),
            version: $out.version_id().map(str::to_string),
            last_modified: $out.last_modified().map(|t| t.to_string()),
            length: $out.content_length().and_then(|n| u64::try_from(n).ok()),
            metadata: $out.metadata().cloned().unwrap_or_default().into_iter().collect(),
        }
    };
}

/// Error codes that mean "no such object" (or version of it).
const MISSING: [&str; 3] = ["NoSuchKey", "NoSuchVersion", "NotFound"];

/// An object body streamed from S3.
pub struct S3Body {
    body: ByteStream,
    uri: String,
}

impl Body for S3Body {
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, StoreError> {
        self.body.try_next().await.map(|c| c.map(|b| b.to_vec())).map_err(|e| StoreError {
            op: "GetObject",
            uri: self.uri.clone(),
            code: None,
            message: format!("reading the body: {e}"),
        })
    }
}

impl AuditStore for S3Store {
    type Body = S3Body;

    fn uri(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    async fn get(&self, key: &str, version: Option<&str>) -> Result<Option<Object>, StoreError> {
        let Some((info, mut body)) = self.open(key, version).await? else { return Ok(None) };
        let mut bytes = Vec::new();
        while let Some(chunk) = body.next_chunk().await? {
            bytes.extend_from_slice(&chunk);
        }
        Ok(Some(Object { bytes, etag: info.etag.unwrap_or_default(), version: info.version }))
    }

    async fn open(
        &self,
        key: &str,
        version: Option<&str>,
    ) -> Result<Option<(ObjectInfo, S3Body)>, StoreError> {
        let get = self.s3.get_object().bucket(&self.bucket).key(key);
        let out = match get.set_version_id(version.map(str::to_string)).send().await {
            Ok(out) => out,
            Err(e) => {
                let e = AwsError::from(e);
                return if e.is(&MISSING) {
                    Ok(None)
                } else {
                    Err(self.error("GetObject", key, e))
                };
            }
        };
        let info = info!(out);
        Ok(Some((info, S3Body { body: out.body, uri: self.uri(key) })))
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, StoreError> {
        let head = self.s3.head_object().bucket(&self.bucket).key(key).send().await;
        let out = match head.map_err(AwsError::from) {
            Ok(out) => out,
            Err(e) if e.is(&MISSING) => return Ok(None),
            Err(e) => return Err(self.error("HeadObject", key, e)),
        };
        Ok(Some(info!(out)))
    }

    async fn put(
        &self,
        key: &str,
        body: Payload,
        attributes: &Attributes,
        condition: &Condition,
    ) -> Result<bool, StoreError> {
        let body = match body {
            Payload::Bytes(bytes) => ByteStream::from(bytes),
            Payload::File(path) => ByteStream::from_path(&path).await.map_err(|e| {
                let message = format!("cannot read {}: {e}", path.display());
                self.error("PutObject", key, AwsError { code: None, message })
            })?,
        };
        let mut put = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(&attributes.content_type)
            .set_metadata(
                (!attributes.metadata.is_empty())
                    .then(|| attributes.metadata.clone().into_iter().collect()),
            )
            .body(body);
        put = match condition {
            Condition::Absent => put.if_none_match("*"),
            Condition::Unchanged(etag) => put.if_match(etag),
            Condition::Always => put,
        };
        match put.send().await.map_err(AwsError::from) {
            Ok(_) => Ok(true),
            Err(e) if e.is(&["PreconditionFailed", "ConditionalRequestConflict"]) => Ok(false),
            Err(e) => Err(self.error("PutObject", key, e)),
        }
    }

    async fn versions(&self, key: &str) -> Result<Vec<String>, StoreError> {
        // Listed by prefix: the key's versions come newest first, then longer keys it
        // prefixes (left out). No paginator in the SDK: the markers are followed by hand.
        let mut newest_first = Vec::new();
        let mut markers: (Option<String>, Option<String>) = (None, None);
        loop {
            let page = self
                .s3
                .list_object_versions()
                .bucket(&self.bucket)
                .prefix(key)
                .set_key_marker(markers.0.take())
                .set_version_id_marker(markers.1.take())
                .send()
                .await
                .map_err(|e| self.error("ListObjectVersions", key, e.into()))?;
            newest_first.extend(
                page.versions()
                    .iter()
                    .filter(|v| v.key() == Some(key))
                    .filter_map(|v| v.version_id().map(str::to_string)),
            );
            let past_the_key = page.next_key_marker().is_some_and(|k| k != key);
            if page.is_truncated() != Some(true) || past_the_key {
                break;
            }
            markers = (
                page.next_key_marker().map(str::to_string),
                page.next_version_id_marker().map(str::to_string),
            );
        }
        newest_first.reverse();
        Ok(newest_first)
    }

    async fn list(&self, prefix: &str) -> Result<Vec<Entry>, StoreError> {
        let mut pages =
            self.s3.list_objects_v2().bucket(&self.bucket).prefix(prefix).into_paginator().send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.error("ListObjectsV2", prefix, e.into()))?;
            keys.extend(page.contents().iter().filter_map(|o| {
                let etag = o.e_tag().unwrap_or_default().to_string();
                let last_modified = o.last_modified().map(|t| t.to_string());
                Some(Entry { key: o.key()?.to_string(), etag, last_modified })
            }));
        }
        Ok(keys)
    }

    async fn delete_if_unchanged(&self, key: &str, etag: &str) -> Result<(), StoreError> {
        let current = self.s3.head_object().bucket(&self.bucket).key(key).send().await;
        match current.map_err(AwsError::from) {
            Ok(head) if head.e_tag() == Some(etag) => {
                let delete = self.s3.delete_object().bucket(&self.bucket).key(key).send().await;
                delete.map_err(|e| self.error("DeleteObject", key, e.into()))?;
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(e) if e.is(&MISSING) => Ok(()),
            Err(e) => Err(self.error("HeadObject", key, e)),
        }
    }
}

/// S3's time as the engine's.
fn timestamp(t: &aws_sdk_s3::primitives::DateTime) -> Option<jiff::Timestamp> {
    jiff::Timestamp::new(t.secs(), t.subsec_nanos() as i32).ok()
}

impl VersionListing for S3Store {
    async fn versions_since(
        &self,
        since: Option<jiff::Timestamp>,
        skip: &str,
    ) -> Result<Vec<ListedVersion>, StoreError> {
        // The whole bucket, page by page (no paginator for ListObjectVersions in the SDK); only
        // what is recent enough is kept, so memory follows the window, not the bucket.
        let mut listed = Vec::new();
        let mut markers: (Option<String>, Option<String>) = (None, None);
        let keep = |key: &str, at: Option<jiff::Timestamp>| {
            at.filter(|t| !key.starts_with(skip) && since.is_none_or(|s| *t >= s))
        };
        loop {
            let page = self
                .s3
                .list_object_versions()
                .bucket(&self.bucket)
                .set_key_marker(markers.0.take())
                .set_version_id_marker(markers.1.take())
                .send()
                .await
                .map_err(|e| self.error("ListObjectVersions", "", e.into()))?;
            for v in page.versions() {
                let key = v.key().unwrap_or_default();
                if let Some(at) = keep(key, v.last_modified().and_then(timestamp)) {
                    let version = ListedVersion {
                        key: key.to_string(),
                        version_id: v.version_id().map(str::to_string),
                        last_modified: at,
                        size: v.size().and_then(|n| u64::try_from(n).ok()).unwrap_or_default(),
                        delete_marker: false,
                    };
                    listed.push((version, v.is_latest() == Some(true)));
                }
            }
            for m in page.delete_markers() {
                let key = m.key().unwrap_or_default();
                if let Some(at) = keep(key, m.last_modified().and_then(timestamp)) {
                    let marker = ListedVersion {
                        key: key.to_string(),
                        version_id: m.version_id().map(str::to_string),
                        last_modified: at,
                        size: 0,
                        delete_marker: true,
                    };
                    listed.push((marker, m.is_latest() == Some(true)));
                }
            }
            if page.is_truncated() != Some(true) {
                break;
            }
            markers = (
                page.next_key_marker().map(str::to_string),
                page.next_version_id_marker().map(str::to_string),
            );
        }
        // S3 lists each key's versions newest first, delete markers apart; the current one
        // (`IsLatest`) is the newest of any that share its millisecond.
        listed.reverse();
        listed.sort_by(|(a, a_latest), (b, b_latest)| {
            (&a.key, a.last_modified, a_latest).cmp(&(&b.key, b.last_modified, b_latest))
        });
        Ok(listed.into_iter().map(|(v, _)| v).collect())
    }
}
