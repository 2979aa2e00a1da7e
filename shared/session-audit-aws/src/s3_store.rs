//! The audit store in the log bucket: the engine's [`AuditStore`] over S3, with conditional
//! requests (`If-None-Match: *`, `If-Match: <etag>`) so two deliveries racing on one record
//! cannot overwrite each other.

use aws_sdk_s3::primitives::ByteStream;
use session_audit::store::{AuditStore, Condition, Object, StoreError};

use crate::AwsError;

/// The objects of one bucket.
#[derive(Debug, Clone)]
pub struct S3Store {
    s3: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Store {
    pub fn new(s3: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        S3Store { s3, bucket: bucket.into() }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.s3
    }

    fn error(&self, op: &'static str, key: &str, e: AwsError) -> StoreError {
        StoreError { op, uri: self.uri(key), code: e.code, message: e.message }
    }
}

const MISSING: [&str; 2] = ["NoSuchKey", "NotFound"];

impl AuditStore for S3Store {
    fn uri(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    async fn get(&self, key: &str, version: Option<&str>) -> Result<Option<Object>, StoreError> {
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
        let etag = out.e_tag().unwrap_or_default().to_string();
        let version = out.version_id().map(str::to_string);
        let bytes = out.body.collect().await.map_err(|e| {
            let message = format!("reading the body: {e}");
            self.error("GetObject", key, AwsError { code: None, message })
        })?;
        Ok(Some(Object { bytes: bytes.into_bytes().to_vec(), etag, version }))
    }

    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        condition: &Condition,
    ) -> Result<bool, StoreError> {
        let mut put = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body));
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

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut pages =
            self.s3.list_objects_v2().bucket(&self.bucket).prefix(prefix).into_paginator().send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.error("ListObjectsV2", prefix, e.into()))?;
            keys.extend(page.contents().iter().filter_map(|o| o.key()).map(str::to_string));
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
