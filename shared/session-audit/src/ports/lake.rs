//! The Security Lake seam: where OCSF events are filed. The AWS crate writes them as Parquet
//! objects (`session-audit-lake`) with each class's custom-source role; [`MemLake`] keeps
//! them for tests.

use std::future::Future;
use std::sync::Mutex;

use serde_json::Value;

/// Events not filed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("writing to the lake failed: {0}")]
pub struct LakeWriteError(pub String);

/// Where OCSF events go (Security Lake's custom sources in AWS).
pub trait LakeWriter: Sync {
    /// File `events` (any classes) as objects named `name` (the same name again overwrites
    /// the same objects: a retried hour writes no second copy); the keys written.
    fn write(
        &self,
        events: &[Value],
        name: &str,
    ) -> impl Future<Output = Result<Vec<String>, LakeWriteError>> + Send;
}

/// Keeps every write: its name and events.
#[derive(Debug, Default)]
pub struct MemLake {
    /// `(name, events)` per write, in order.
    pub written: Mutex<Vec<(String, Vec<Value>)>>,
}

impl LakeWriter for MemLake {
    async fn write(&self, events: &[Value], name: &str) -> Result<Vec<String>, LakeWriteError> {
        let mut written = self.written.lock().expect("lake lock");
        written.retain(|(n, _)| n != name);
        written.push((name.to_string(), events.to_vec()));
        Ok(vec![name.to_string()])
    }
}
