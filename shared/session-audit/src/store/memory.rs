//! An in-memory store with versions, for fast use-case tests.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{content_etag, AuditStore, Condition, Object, StoreError};

/// Objects by key; every write keeps the earlier versions (like a versioned bucket).
#[derive(Debug, Default)]
pub struct MemStore {
    objects: Mutex<BTreeMap<String, Vec<Object>>>,
}

impl MemStore {
    /// Every current object, in key order.
    pub fn snapshot(&self) -> Vec<(String, Vec<u8>)> {
        let objects = self.objects.lock().expect("store lock");
        objects.iter().filter_map(|(k, v)| v.last().map(|o| (k.clone(), o.bytes.clone()))).collect()
    }
}

impl AuditStore for MemStore {
    fn uri(&self, key: &str) -> String {
        format!("memory:{key}")
    }

    async fn get(&self, key: &str, version: Option<&str>) -> Result<Option<Object>, StoreError> {
        let objects = self.objects.lock().expect("store lock");
        let versions = objects.get(key).map(Vec::as_slice).unwrap_or_default();
        Ok(match version {
            Some(v) => versions.iter().find(|o| o.version.as_deref() == Some(v)).cloned(),
            None => versions.last().cloned(),
        })
    }

    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        _content_type: &str,
        condition: &Condition,
    ) -> Result<bool, StoreError> {
        let mut objects = self.objects.lock().expect("store lock");
        let versions = objects.entry(key.to_string()).or_default();
        let ok = condition.holds(versions.last().map(|o| o.etag.as_str()));
        if ok {
            let version = Some(format!("v{}", versions.len() + 1));
            versions.push(Object { etag: content_etag(&body), bytes: body, version });
        }
        Ok(ok)
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let objects = self.objects.lock().expect("store lock");
        Ok(objects
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, _)| k.clone())
            .collect())
    }

    async fn delete_if_unchanged(&self, key: &str, etag: &str) -> Result<(), StoreError> {
        let mut objects = self.objects.lock().expect("store lock");
        if objects.get(key).and_then(|v| v.last()).is_some_and(|o| o.etag == etag) {
            objects.remove(key);
        }
        Ok(())
    }
}
