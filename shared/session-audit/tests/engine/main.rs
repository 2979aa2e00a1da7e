//! The engine's integration tests, one binary without the AWS SDK: real recorded and public
//! transcripts, the streamed report, and property tests. (The bounded-memory tests are their
//! own binary: a process-wide counting allocator.)

mod golden_recorded;
mod live_stream;
mod public_samples;
mod redaction;
mod report_stream;
mod robustness;
mod screen_chunks;
mod two_threads;

use std::path::PathBuf;

use session_audit::transcript::{Command, Engine, ShellSink, Tamper, TranscriptInfo};

/// `tests/fixtures/<rel>` at the top of the repository.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(rel)
}

/// Collects commands and output lines.
#[derive(Default, Debug)]
pub struct Collect {
    /// The commands, in order.
    pub commands: Vec<Command>,
    /// Each output line with the command it belongs to.
    pub output: Vec<(u64, String)>,
    /// Forged prompts: (the command that printed one, what it printed).
    pub tampered: Vec<(Option<u64>, String)>,
    /// Lines printed after the first line bash echoed from an edited file, by command.
    pub after_edit: Vec<(u64, String)>,
    /// What full-screen programs ran from their command lines, by command.
    pub run_from_programs: Vec<(u64, String)>,
}

impl ShellSink for Collect {
    fn command(&mut self, command: &Command) {
        self.commands.push(command.clone());
    }
    fn output(&mut self, seq: u64, line: &str) {
        self.output.push((seq, line.to_string()));
    }
    fn tamper(&mut self, _kind: Tamper, seq: Option<u64>, evidence: &str) {
        self.tampered.push((seq, evidence.to_string()));
    }
    fn after_edit(&mut self, seq: u64, line: &str) {
        self.after_edit.push((seq, line.to_string()));
    }
    fn run_from_program(&mut self, seq: u64, typed: &str) {
        self.run_from_programs.push((seq, typed.to_string()));
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
