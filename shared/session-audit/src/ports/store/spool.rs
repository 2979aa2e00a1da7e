//! A local file for what is too large to hold in memory (a report being written, a report
//! being read back), removed when dropped, whatever happened.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Body, StoreError};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A file under a work directory, unique to this process, removed on drop.
#[derive(Debug)]
pub struct Spool(pub PathBuf);

impl Spool {
    /// `<dir>/<what>-<pid>-<n>.json`.
    pub fn new(dir: &Path, what: &str) -> Spool {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        Spool(dir.join(format!("{what}-{}-{n}.json", std::process::id())))
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A body read for parsing: in memory when it ends within `in_memory` bytes, else written to
/// a spool file in `dir` as it arrives, so only a chunk of a body of any size is in memory.
#[derive(Debug)]
pub enum Read {
    /// Small enough to hold in memory.
    Memory(Vec<u8>),
    /// Spooled to a file in the work directory.
    Spooled(Spool),
}

impl Read {
    /// Read `key` into memory, or spool it to disk when it is large.
    pub async fn from(
        mut body: impl Body,
        in_memory: usize,
        dir: &Path,
        uri: &str,
    ) -> Result<Read, StoreError> {
        use std::io::Write;
        let local = |e: std::io::Error, spool: &Spool| StoreError {
            op: "spool to local disk",
            uri: uri.to_string(),
            code: None,
            message: format!("{}: {e}", spool.0.display()),
        };
        let mut bytes = Vec::new();
        let mut file = None;
        while let Some(chunk) = body.next_chunk().await? {
            if file.is_none() && bytes.len() + chunk.len() <= in_memory {
                bytes.extend_from_slice(&chunk);
                continue;
            }
            let (spool, out) = match &mut file {
                Some(f) => f,
                None => {
                    let spool = Spool::new(dir, "summary-read");
                    let out = std::fs::File::create(&spool.0).map_err(|e| local(e, &spool))?;
                    let mut out = std::io::BufWriter::new(out);
                    out.write_all(&std::mem::take(&mut bytes)).map_err(|e| local(e, &spool))?;
                    file.insert((spool, out))
                }
            };
            out.write_all(&chunk).map_err(|e| local(e, spool))?;
        }
        match file {
            None => Ok(Read::Memory(bytes)),
            Some((spool, mut out)) => {
                out.flush().map_err(|e| local(e, &spool))?;
                Ok(Read::Spooled(spool))
            }
        }
    }
}
