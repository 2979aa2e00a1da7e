//! The live path on a large subscription batch: 10,000 lines of recorded sessions streamed the
//! way the agent streams them (stripped lines, a prompt line held back), in events of about a
//! second each, through the whole session-stream use case (state read, reconstruction, rules,
//! redaction, finding events, state written) over the in-memory store and sink. Then the same
//! session as 10,000 one-line batches (state read and written every time).
//!
//!     cargo bench -p session-audit --bench live -- [LINES]   (default 10000)
//!
//! Prints wall time, lines per second and the peak heap of each (a counting allocator).

use std::time::Instant;

use session_audit::live::{Batch, LogEvent};
use session_audit::ports::sink::MemSink;
use session_audit::ports::store::{block_on, MemStore};
use session_audit::publish::Metrics;
use session_audit::session_stream::SessionStream;
use session_audit::transcript::agent_stream::{message, ticks_of_recording, StreamedSession};
use session_audit::Analyzer;

#[path = "counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{peak_since, reset_peak, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

const SESSION: &str = "bench-0123456789abcdef0";

/// Lines of the recorded sessions, in ticks of a few lines, repeated to `lines` in total.
fn ticks(lines: usize) -> Vec<Vec<String>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/recorded");
    let mut sessions: Vec<_> = std::fs::read_dir(dir)
        .expect("recorded fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    sessions.sort();
    let mut out = Vec::new();
    let mut total = 0;
    'fill: loop {
        for path in &sessions {
            for tick in ticks_of_recording(&std::fs::read(path).unwrap(), |i| 1 + (i * 7 + 3) % 5) {
                total += tick.len();
                out.push(tick);
                if total >= lines {
                    break 'fill;
                }
            }
        }
    }
    out
}

fn events(ticks: &[Vec<String>]) -> Vec<LogEvent> {
    let who = StreamedSession {
        session_id: SESSION,
        target: "i-0123456789abcdef0",
        user_arn: "arn:aws:sts::123456789012:assumed-role/Admin/bench",
        run_as: "ssm-user",
        region: "us-east-1",
    };
    // About a second of a busy session per event (the agent's events hold up to 33,000 bytes).
    ticks
        .chunks(8)
        .enumerate()
        .map(|(i, group)| {
            let lines: Vec<String> = group.concat();
            let time = format!("2026-11-30T09:{:02}:{:02}Z", (i / 60) % 60, i % 60);
            let timestamp = 1_795_000_000_000 + i as i64 * 1000;
            LogEvent { id: format!("{i:056}"), timestamp, message: message(&who, &time, &lines) }
        })
        .collect()
}

fn run(stream: &SessionStream<MemStore, MemSink>, batches: &[Batch]) -> (f64, usize, u64) {
    let base = reset_peak();
    let started = Instant::now();
    let mut commands = 0;
    for batch in batches {
        let out = block_on(stream.handle(batch, &mut Metrics::default())).expect("handled");
        commands += out.commands;
    }
    (started.elapsed().as_secs_f64(), peak_since(base), commands)
}

fn main() {
    let lines: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(10_000);
    let ticks = ticks(lines);
    let events = events(&ticks);
    let n: usize = ticks.iter().map(Vec::len).sum();
    let bytes: usize = events.iter().map(|e| e.message.len()).sum();
    println!("{n} lines in {} events ({:.1} KiB of messages)", events.len(), bytes as f64 / 1024.0);
    let batch = |events: Vec<LogEvent>| Batch {
        owner: Some("123456789012".into()),
        region: None,
        log_group: "/session-audit/bench/sessions".into(),
        log_stream: SESSION.into(),
        events,
    };
    let stream = || SessionStream {
        store: MemStore::default(),
        sink: MemSink::default(),
        analyzer: Analyzer::default(),
        home: session_audit::keys::Place::new("123456789012", "eu-central-1").ok(),
    };
    for round in 1..=3 {
        let (secs, peak, commands) = run(&stream(), &[batch(events.clone())]);
        println!(
            "one batch of {n} lines (round {round}): {:.1} ms, {:.0} lines/s, {commands} commands, peak heap {:.2} MiB",
            secs * 1e3,
            n as f64 / secs,
            peak as f64 / (1 << 20) as f64
        );
    }
    let singles: Vec<Batch> = events.iter().map(|e| batch(vec![e.clone()])).collect();
    let (secs, peak, commands) = run(&stream(), &singles);
    println!(
        "{} batches of one event: {:.1} ms in all ({:.3} ms per batch), {commands} commands, peak heap {:.2} MiB",
        singles.len(),
        secs * 1e3,
        secs * 1e3 / singles.len() as f64,
        peak as f64 / (1 << 20) as f64
    );
}
