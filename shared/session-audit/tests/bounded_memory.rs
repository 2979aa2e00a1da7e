//! Memory does not grow with transcript size, whatever the input.
//!
//! A counting global allocator measures the peak of live heap bytes while inputs of 2 MiB and
//! 32 MiB are streamed through the analysis. The inputs are generated on the fly by a reader,
//! so the only memory in play is the analysis' own. This file is its own test binary with a
//! single test, so no other test allocates concurrently.

use std::io::Read;

use session_audit::analysis::{Analyzer, Input};
use session_audit::report::{CommandWriter, ReportCommand};
#[path = "../benches/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{peak_since, reset_peak, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Repeats `unit` until `total` bytes, after an optional header.
struct Pattern {
    header: &'static [u8],
    unit: Vec<u8>,
    total: usize,
    sent: usize,
}

impl Read for Pattern {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut filled = 0;
        while filled < buf.len() && self.sent < self.total {
            let (source, at) = if self.sent < self.header.len() {
                (self.header, self.sent)
            } else {
                (&self.unit[..], (self.sent - self.header.len()) % self.unit.len())
            };
            let n = (source.len() - at).min(self.total - self.sent).min(buf.len() - filled);
            buf[filled..filled + n].copy_from_slice(&source[at..at + n]);
            self.sent += n;
            filled += n;
        }
        Ok(filled)
    }
}

/// Discards commands: the measurement is of the analysis, not of a collection.
struct Discard(u64);

impl CommandWriter for Discard {
    fn command(&mut self, _: &ReportCommand) -> std::io::Result<()> {
        self.0 += 1;
        Ok(())
    }
}

fn peak_for(analyzer: &Analyzer, header: &'static [u8], unit: &[u8], total: usize) -> usize {
    let input = Pattern { header, unit: unit.to_vec(), total, sent: 0 };
    let base = reset_peak();
    let (report, _) = analyzer.analyze(input, Input::default(), Discard(0)).unwrap();
    assert_eq!(report.stats.bytes as usize, total);
    drop(report);
    peak_since(base)
}

#[test]
fn peak_heap_is_bounded_and_independent_of_size() {
    let analyzer = Analyzer::default();
    const HEADER: &[u8] = b"Script started on 2026-11-27 10:00:00+00:00\n";
    let cases: Vec<(&str, &'static [u8], Vec<u8>)> = vec![
        ("one endless line", HEADER, b"abcdefgh".to_vec()),
        ("unterminated OSC", b"\x1b]0;", b"title-without-end ".to_vec()),
        (
            "input region never closed",
            b"\x1b[?2004hsh-5.2$ ",
            b"typing and never pressing enter\r\r\n".to_vec(),
        ),
        ("endless alternate screen", b"\x1b[?1049h", b"\x1b[H\x1b[2Jscreen content\r\n".to_vec()),
        (
            "many commands",
            HEADER,
            b"\x1b[?2004hsh-5.2$ sudo cat /etc/shadow\r\r\n\x1b[?2004l\rroot:*:1::\r\r\n".to_vec(),
        ),
        (
            "many output findings",
            HEADER,
            b"\x1b[?2004h$ x\r\r\n\x1b[?2004l\ruser is not in the sudoers file\r\n".to_vec(),
        ),
        (
            "CloudWatch events",
            b"",
            b"{\"sessionId\":\"s\",\"sessionData\":[\"sh-4.2$ ls\",\"a b c\"]}\n".to_vec(),
        ),
        ("one endless JSON string", b"{\"sessionData\":[\"", b"xxxxxxxx".to_vec()),
    ];
    for (name, header, unit) in cases {
        let small = peak_for(&analyzer, header, &unit, 2 << 20);
        let large = peak_for(&analyzer, header, &unit, 32 << 20);
        eprintln!("{name}: peak {small} B at 2 MiB, {large} B at 32 MiB");
        // One JSON value is buffered up to its cap (a Vec doubling to it holds 1.5x briefly).
        let cap = session_audit::transcript::cloudwatch::MAX_VALUE_BYTES;
        let limit = if name == "one endless JSON string" { cap * 2 + (1 << 20) } else { 4 << 20 };
        assert!(large <= limit, "{name}: {large} bytes live at 32 MiB");
        if name != "one endless JSON string" {
            assert!(
                large <= small * 2 + (256 << 10),
                "{name}: grows with size ({small} → {large})"
            );
        }
    }
}
