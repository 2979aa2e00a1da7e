//! JSON records in the log bucket, read and written with S3 conditional requests so that two
//! deliveries racing on one record cannot overwrite each other (read, merge, write if unchanged).

use aws_sdk_s3::primitives::ByteStream;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::AwsError;

/// One stored object: the parsed value (or why it did not parse) and the ETag it was read at.
#[derive(Debug)]
pub struct Stored<T> {
    pub value: Result<T, String>,
    pub etag: String,
}

/// When a write may happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// Only if no object exists at the key.
    Absent,
    /// Only if the object is still the one read (its ETag).
    Unchanged(String),
}

/// The records under one bucket.
#[derive(Debug, Clone)]
pub struct JsonStore {
    s3: aws_sdk_s3::Client,
    bucket: String,
}

impl JsonStore {
    pub fn new(s3: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        JsonStore { s3, bucket: bucket.into() }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// `s3://bucket/key`, for logs and events.
    pub fn uri(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// The object at `key`, or `None` when there is none.
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<Stored<T>>, AwsError> {
        let out = match self.s3.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(out) => out,
            Err(e) => {
                let e = AwsError::from(e);
                return if e.is(&["NoSuchKey", "NotFound"]) { Ok(None) } else { Err(e) };
            }
        };
        let etag = out.e_tag().unwrap_or_default().to_string();
        let bytes = out.body.collect().await.map_err(|e| AwsError {
            code: None,
            message: format!("reading s3://{}/{key}: {e}", self.bucket),
        })?;
        let value = serde_json::from_slice(&bytes.into_bytes()).map_err(|e| e.to_string());
        Ok(Some(Stored { value, etag }))
    }

    /// Write `value` as one line of JSON if `condition` holds. `Ok(false)`: it did not (another
    /// writer got there first), so read again and merge.
    pub async fn put<T: Serialize>(
        &self,
        key: &str,
        value: &T,
        condition: &Condition,
    ) -> Result<bool, AwsError> {
        // One line per object: Athena's JSON SerDe reads a record per line (README, Athena).
        let mut body = serde_json::to_vec(value).expect("records serialise");
        body.push(b'\n');
        let mut put = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body));
        put = match condition {
            Condition::Absent => put.if_none_match("*"),
            Condition::Unchanged(etag) => put.if_match(etag),
        };
        match put.send().await.map_err(AwsError::from) {
            Ok(_) => Ok(true),
            Err(e) if e.is(&["PreconditionFailed", "ConditionalRequestConflict"]) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Remove `key` if it is still the object read at `etag` (a record that moved).
    pub async fn delete_if_unchanged(&self, key: &str, etag: &str) -> Result<(), AwsError> {
        let current = self.s3.head_object().bucket(&self.bucket).key(key).send().await;
        match current.map_err(AwsError::from) {
            Ok(head) if head.e_tag() == Some(etag) => {
                self.s3.delete_object().bucket(&self.bucket).key(key).send().await?;
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(e) if e.is(&["NotFound", "NoSuchKey"]) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
