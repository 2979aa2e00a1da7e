//! An in-memory store with versions, for fast use-case tests.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{
    content_etag, Attributes, AuditStore, Condition, Entry, InMemoryBody, ListedVersion, Object,
    ObjectInfo, Payload, StoreError, VersionListing,
};

/// One stored version.
#[derive(Debug, Clone)]
struct Version {
    object: Object,
    metadata: BTreeMap<String, String>,
    written: jiff::Timestamp,
}

impl Version {
    fn info(&self) -> ObjectInfo {
        ObjectInfo {
            etag: Some(self.object.etag.clone()),
            version: self.object.version.clone(),
            last_modified: None,
            length: Some(self.object.bytes.len() as u64),
            metadata: self.metadata.clone(),
        }
    }
}

/// Objects by key; every write keeps the earlier versions (like a versioned bucket).
#[derive(Debug, Default)]
pub struct MemStore {
    objects: Mutex<BTreeMap<String, Vec<Version>>>,
    /// The time writes are recorded at ([`MemStore::set_time`]).
    clock: Mutex<jiff::Timestamp>,
}

impl MemStore {
    /// Record the writes from now on at `time` (S3's LastModified), for the digests.
    pub fn set_time(&self, time: jiff::Timestamp) {
        *self.clock.lock().expect("clock lock") = time;
    }

    /// Every current object, in key order.
    pub fn snapshot(&self) -> Vec<(String, Vec<u8>)> {
        let objects = self.objects.lock().expect("store lock");
        objects
            .iter()
            .filter_map(|(k, v)| v.last().map(|o| (k.clone(), o.object.bytes.clone())))
            .collect()
    }
}

impl MemStore {
    fn version(&self, key: &str, version: Option<&str>) -> Option<Version> {
        let objects = self.objects.lock().expect("store lock");
        let versions = objects.get(key).map(Vec::as_slice).unwrap_or_default();
        match version {
            Some(v) => versions.iter().find(|o| o.object.version.as_deref() == Some(v)).cloned(),
            None => versions.last().cloned(),
        }
    }
}

impl AuditStore for MemStore {
    fn uri(&self, key: &str) -> String {
        format!("memory:{key}")
    }

    type Body = InMemoryBody;

    async fn get(&self, key: &str, version: Option<&str>) -> Result<Option<Object>, StoreError> {
        Ok(self.version(key, version).map(|v| v.object))
    }

    async fn open(
        &self,
        key: &str,
        version: Option<&str>,
    ) -> Result<Option<(ObjectInfo, InMemoryBody)>, StoreError> {
        Ok(self.version(key, version).map(|v| (v.info(), InMemoryBody(Some(v.object.bytes)))))
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, StoreError> {
        Ok(self.version(key, None).map(|v| v.info()))
    }

    async fn put(
        &self,
        key: &str,
        body: Payload,
        attributes: &Attributes,
        condition: &Condition,
    ) -> Result<bool, StoreError> {
        let body = body.into_bytes().map_err(|e| StoreError {
            op: "put",
            uri: self.uri(key),
            code: None,
            message: e.to_string(),
        })?;
        let mut objects = self.objects.lock().expect("store lock");
        let versions = objects.entry(key.to_string()).or_default();
        let ok = condition.holds(versions.last().map(|v| v.object.etag.as_str()));
        if ok {
            let version = Some(format!("v{}", versions.len() + 1));
            let object = Object { etag: content_etag(&body), bytes: body, version };
            let written = *self.clock.lock().expect("clock lock");
            versions.push(Version { object, metadata: attributes.metadata.clone(), written });
        }
        Ok(ok)
    }

    async fn versions(&self, key: &str) -> Result<Vec<String>, StoreError> {
        let objects = self.objects.lock().expect("store lock");
        let versions = objects.get(key).map(Vec::as_slice).unwrap_or_default();
        Ok(versions.iter().filter_map(|v| v.object.version.clone()).collect())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<Entry>, StoreError> {
        let objects = self.objects.lock().expect("store lock");
        Ok(objects
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter_map(|(k, v)| {
                let etag = v.last()?.object.etag.clone();
                Some(Entry { key: k.clone(), etag, last_modified: None })
            })
            .collect())
    }

    async fn delete_if_unchanged(&self, key: &str, etag: &str) -> Result<(), StoreError> {
        let mut objects = self.objects.lock().expect("store lock");
        if objects.get(key).and_then(|v| v.last()).is_some_and(|v| v.object.etag == etag) {
            objects.remove(key);
        }
        Ok(())
    }
}

impl VersionListing for MemStore {
    async fn versions_since(
        &self,
        since: Option<jiff::Timestamp>,
        skip: &str,
    ) -> Result<Vec<ListedVersion>, StoreError> {
        let objects = self.objects.lock().expect("store lock");
        let listed = objects.iter().filter(|(k, _)| !k.starts_with(skip)).flat_map(|(k, vs)| {
            vs.iter().map(move |v| ListedVersion {
                key: k.clone(),
                version_id: v.object.version.clone(),
                last_modified: v.written,
                size: v.object.bytes.len() as u64,
                delete_marker: false,
            })
        });
        Ok(listed.filter(|v| since.is_none_or(|s| v.last_modified >= s)).collect())
    }
}
