//! A store on disk: keys are paths under a root directory (the layout an `aws s3 sync` of the
//! bucket's `audit/` prefix gives), plus, for `session-audit summarize`, files named on the
//! command line and filed under the keys their content says they belong at.
//!
//! One process at a time: conditions are checked, then the file is written atomically (a
//! temporary file renamed into place); two processes racing on one key are not serialised.
//! Versions and user metadata are not kept on disk.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use super::{
    content_etag, Attributes, AuditStore, Condition, Entry, InMemoryBody, Object, ObjectInfo,
    Payload, StoreError,
};

/// The audit store over a directory (the CLI's): keys are paths below it.
#[derive(Debug, Clone)]
pub struct FsStore {
    root: PathBuf,
    /// Keys served from files elsewhere (read-only).
    files: BTreeMap<String, PathBuf>,
}

impl FsStore {
    /// A store rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FsStore { root: root.into(), files: BTreeMap::new() }
    }

    /// A read-only store of the given files, each under its key.
    pub fn of_files(files: BTreeMap<String, PathBuf>) -> Self {
        FsStore { root: PathBuf::new(), files }
    }

    fn error(&self, op: &'static str, key: &str, e: impl ToString) -> StoreError {
        StoreError { op, uri: self.uri(key), code: None, message: e.to_string() }
    }

    /// The file for `key`. Keys are built by [`crate::keys`], which refuses IDs that could
    /// climb out of the root; this checks again, since a path is at stake.
    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        if let Some(p) = self.files.get(key) {
            return Ok(p.clone());
        }
        let rel = Path::new(key);
        let plain = !key.is_empty() && rel.components().all(|c| matches!(c, Component::Normal(_)));
        if !plain || self.root.as_os_str().is_empty() {
            return Err(self.error("resolve", key, "not a key this store can hold"));
        }
        Ok(self.root.join(rel))
    }
}

impl AuditStore for FsStore {
    fn uri(&self, key: &str) -> String {
        match self.files.get(key) {
            Some(p) => p.display().to_string(),
            None => self.root.join(key).display().to_string(),
        }
    }

    type Body = InMemoryBody;

    /// Versions are not kept on disk: `version` is ignored.
    async fn get(&self, key: &str, _version: Option<&str>) -> Result<Option<Object>, StoreError> {
        let path = self.path(key)?;
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(Object { etag: content_etag(&bytes), bytes, version: None })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.error("read", key, e)),
        }
    }

    async fn open(
        &self,
        key: &str,
        version: Option<&str>,
    ) -> Result<Option<(ObjectInfo, InMemoryBody)>, StoreError> {
        Ok(self.get(key, version).await?.map(|o| {
            let info = ObjectInfo {
                etag: Some(o.etag),
                length: Some(o.bytes.len() as u64),
                ..ObjectInfo::default()
            };
            (info, InMemoryBody(Some(o.bytes)))
        }))
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, StoreError> {
        Ok(self.open(key, None).await?.map(|(info, _)| info))
    }

    async fn put(
        &self,
        key: &str,
        body: Payload,
        _attributes: &Attributes,
        condition: &Condition,
    ) -> Result<bool, StoreError> {
        if self.files.contains_key(key) {
            return Err(self.error("write", key, "a file named on the command line is read-only"));
        }
        let current = self.get(key, None).await?;
        if !condition.holds(current.as_ref().map(|o| o.etag.as_str())) {
            return Ok(false);
        }
        let path = self.path(key)?;
        let dir = path.parent().expect("a key has a folder");
        let tmp = dir.join(format!(
            ".{}.tmp-{}",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("object"),
            std::process::id()
        ));
        std::fs::create_dir_all(dir)
            .and_then(|_| match body {
                Payload::Bytes(bytes) => std::fs::write(&tmp, bytes),
                Payload::File(from) => std::fs::copy(from, &tmp).map(drop),
            })
            .and_then(|_| std::fs::rename(&tmp, &path))
            .map_err(|e| self.error("write", key, e))?;
        Ok(true)
    }

    /// A directory keeps no versions.
    async fn versions(&self, _key: &str) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<Entry>, StoreError> {
        let mut keys: Vec<String> = self
            .files
            .range(prefix.to_string()..)
            .map(|(k, _)| k)
            .take_while(|k| k.starts_with(prefix))
            .cloned()
            .collect();
        if !self.root.as_os_str().is_empty() {
            // The deepest folder the prefix names, walked; keys then filtered by the prefix.
            let folder = prefix.rfind('/').map_or("", |i| &prefix[..i]);
            let mut stack = vec![self.root.join(folder)];
            while let Some(dir) = stack.pop() {
                let entries = match std::fs::read_dir(&dir) {
                    Ok(e) => e,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(self.error("list", prefix, e)),
                };
                for entry in entries {
                    let path = entry.map_err(|e| self.error("list", prefix, e))?.path();
                    if path.is_dir() {
                        stack.push(path);
                        continue;
                    }
                    let hidden = path
                        .file_name()
                        .and_then(|n| n.to_str())
                        .is_none_or(|n| n.starts_with('.'));
                    let key = path
                        .strip_prefix(&self.root)
                        .ok()
                        .and_then(Path::to_str)
                        .map(|k| k.replace('\\', "/"));
                    if let Some(key) = key.filter(|k| !hidden && k.starts_with(prefix)) {
                        keys.push(key);
                    }
                }
            }
        }
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .map(|key| {
                let meta =
                    std::fs::metadata(self.path(&key)?).map_err(|e| self.error("list", &key, e))?;
                let modified =
                    meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
                let etag = format!("{}:{}", meta.len(), modified.map_or(0, |d| d.as_nanos()));
                let last_modified = modified
                    .and_then(|d| jiff::Timestamp::from_second(d.as_secs() as i64).ok())
                    .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
                Ok(Entry { key, etag, last_modified })
            })
            .collect()
    }

    async fn delete_if_unchanged(&self, key: &str, etag: &str) -> Result<(), StoreError> {
        if self.get(key, None).await?.is_some_and(|o| o.etag == etag) {
            std::fs::remove_file(self.path(key)?).map_err(|e| self.error("delete", key, e))?;
        }
        Ok(())
    }
}
