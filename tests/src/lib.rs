//! Shared helpers for the integration tests: fixture paths, a collecting sink, the local AWS
//! harness and a Lambda Runtime API double that runs the functions' real binaries.

pub mod counting_alloc;
pub mod findings_capture;
mod http;
pub mod local_aws;
pub mod runtime_api;

use std::path::PathBuf;

use session_audit::transcript::{Command, Engine, ShellSink, TranscriptInfo};

/// `tests/fixtures/<rel>`.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(rel)
}

/// Collects commands and output lines.
#[derive(Default, Debug)]
pub struct Collect {
    pub commands: Vec<Command>,
    pub output: Vec<(u64, String)>,
}

impl ShellSink for Collect {
    fn command(&mut self, command: Command) {
        self.commands.push(command);
    }
    fn output(&mut self, seq: u64, line: &str) {
        self.output.push((seq, line.to_string()));
    }
}

/// Run the engine over `bytes`, fed in chunks of `chunk` bytes.
pub fn reconstruct(bytes: &[u8], chunk: usize) -> (TranscriptInfo, Collect) {
    let mut engine = Engine::new(Collect::default());
    for part in bytes.chunks(chunk.max(1)) {
        engine.feed(part);
    }
    engine.finish()
}
