//! `Analyzer::analyze` runs the screen on a second thread past its first MiB (the fixtures
//! stay on one; `transcript::pipeline`'s unit tests run them on two); `Analysis::feed` (the
//! Lambda's streamed S3 body) runs everything on one. Same report, and the two-thread run
//! stops cleanly on a read or write error.

use std::io::{self, Read};

use crate::fixture;
use session_audit::analysis::{AnalyzeError, Analyzer, Input};
use session_audit::report::{CommandWriter, Report, ReportCommand};

#[path = "../../benches/synthetic.rs"]
mod synthetic;

/// The report of one thread: bytes fed in `chunk`-byte pieces.
fn one_thread(analyzer: &Analyzer, bytes: &[u8], chunk: usize) -> Report {
    let mut analysis = analyzer.start(Vec::new());
    for part in bytes.chunks(chunk) {
        analysis.feed(part).unwrap();
    }
    let (mut report, commands) = analysis.finish(Input::default()).unwrap();
    report.commands = commands;
    report
}

/// The report of two threads, read through `reader`.
fn two_threads(analyzer: &Analyzer, reader: impl Read) -> Report {
    let (mut report, commands) = analyzer.analyze(reader, Input::default(), Vec::new()).unwrap();
    report.commands = commands;
    report
}

/// Serves `bytes` at most `chunk` at a time, saying "interrupted" before every third read
/// (a signal: the reader must try again, not stop).
struct Uneven<'a> {
    bytes: &'a [u8],
    chunk: usize,
    reads: usize,
}

impl Read for Uneven<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reads += 1;
        if self.reads.is_multiple_of(3) {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let n = self.chunk.min(buf.len()).min(self.bytes.len());
        buf[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

/// A transcript of `blocks` generated sessions blocks, output-heavy and command-dense mixed.
fn generated(blocks: usize) -> Vec<u8> {
    let mut t = b"Script started on 2026-11-27 22:33:47+00:00 [COMMAND=\"cat ipcTempFile.log\" <not executed on terminal>]\n".to_vec();
    for i in 0..blocks {
        t.extend(synthetic::session_block(i));
        for j in 0..20 {
            t.extend(synthetic::command_block(i * 20 + j));
        }
    }
    t.extend(b"\nScript done on 2026-11-27 23:59:59+00:00 [COMMAND_EXIT_CODE=\"0\"]\n");
    t
}

#[test]
fn two_threads_give_the_one_thread_report() {
    let analyzer = Analyzer::default();
    let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
    for dir in ["recorded", "public"] {
        for entry in std::fs::read_dir(fixture(dir)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if [".log", ".bin", ".json", ".txt"].iter().any(|e| name.ends_with(e))
                && !name.ends_with(".source.txt")
                && !name.ends_with(".expected.json")
            {
                inputs.push((name, std::fs::read(&path).unwrap()));
            }
        }
    }
    assert!(inputs.len() > 30, "the fixtures were found");
    // Many reads and many logs: more than the threads keep in flight, so the reading waits.
    let big = generated(300);
    assert!(big.len() > 3 << 20);
    inputs.push(("generated".to_string(), big));
    for (name, bytes) in &inputs {
        let reference = one_thread(&analyzer, bytes, 1000);
        // Reads of a few bytes make lines span reads and logs; not over megabytes (slow).
        let tiny = if bytes.len() < 1 << 20 { 7 } else { 509 };
        for chunk in [tiny, 4093, 1 << 20] {
            let reader = Uneven { bytes, chunk, reads: 0 };
            assert_eq!(two_threads(&analyzer, reader), reference, "{name}, reads of {chunk}");
        }
    }
}

/// Serves a generated command-dense transcript of `total` bytes, counting what it served, and
/// fails with "disk gone" after `fail_after` bytes.
struct Endless {
    served: usize,
    total: usize,
    fail_after: usize,
    pending: Vec<u8>,
    block: usize,
}

impl Endless {
    fn new(total: usize, fail_after: usize) -> Self {
        let header = b"Script started on 2026-11-27 22:33:47+00:00 [COMMAND=\"x\" <not executed on terminal>]\n";
        Endless { served: 0, total, fail_after, pending: header.to_vec(), block: 0 }
    }
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.served >= self.fail_after {
            return Err(io::Error::other("disk gone"));
        }
        if self.pending.is_empty() && self.served < self.total {
            self.pending = synthetic::command_block(self.block);
            self.block += 1;
        }
        let n = buf.len().min(self.pending.len()).min(self.total - self.served);
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        self.served += n;
        Ok(n)
    }
}

/// Takes `left` commands, then fails as a full disk would.
struct Fails {
    left: usize,
}

impl CommandWriter for Fails {
    fn command(&mut self, _: &ReportCommand) -> io::Result<()> {
        if self.left == 0 {
            return Err(io::Error::other("no space left"));
        }
        self.left -= 1;
        Ok(())
    }
}

#[test]
fn a_writer_that_fails_stops_the_reading() {
    let analyzer = Analyzer::default();
    let mut input = Endless::new(1 << 30, usize::MAX);
    // Past the first MiB read on one thread: the writer fails while two are running.
    let result = analyzer.analyze(&mut input, Input::default(), Fails { left: 20_000 });
    let Err(AnalyzeError::Write(e)) = result else { panic!("a write error is reported") };
    assert_eq!(e.to_string(), "no space left");
    // Stopped after the reads in flight, not at the end of the gigabyte.
    assert!(input.served > 2 << 20, "the writer failed on two threads");
    assert!(input.served < 16 << 20, "read {} bytes after the writer failed", input.served);
}

#[test]
fn a_read_that_fails_is_the_error_reported() {
    let analyzer = Analyzer::default();
    // On one thread (0, 1000) and on two (3 MiB).
    for fail_after in [0, 1000, 3 << 20] {
        let input = Endless::new(1 << 30, fail_after);
        let result = analyzer.analyze(input, Input::default(), Vec::new());
        let Err(AnalyzeError::Read(e)) = result else { panic!("a read error is reported") };
        assert_eq!(e.to_string(), "disk gone", "after {fail_after} bytes");
    }
    // The same input, ending before the failure: the report is whole.
    let (report, commands) =
        analyzer.analyze(Endless::new(1 << 20, 2 << 20), Input::default(), Vec::new()).unwrap();
    assert_eq!(report.stats.bytes, 1 << 20);
    assert_eq!(report.stats.commands as usize, commands.len());
    assert!(commands.len() > 4000);
}
