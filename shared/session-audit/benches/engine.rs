//! Throughput and peak memory of the transcript engine on two large generated transcripts.
//!
//!     cargo bench -p session-audit --bench engine -- [SIZE_MB]   (default 200)
//!
//! Builds, once each, under `target/bench/`:
//! * **output-heavy** (`transcript-<SIZE>MB.log`): a session block repeated (readline-marked
//!   prompts with edits, coloured `ls` output, wrapped lines, a pager on the alternate screen,
//!   long command output: one command per ~1.6 KB);
//! * **command-dense** (`commands-<SIZE>MB.log`): one command per ~210 bytes with AL2023 bash
//!   prompts (title, colours, bracketed-paste markers) and a line or two of output, the way
//!   busy admin sessions look;
//! * **recorded** (`recorded-<SIZE>MB.log`): the real sessions recorded for the golden tests
//!   (`tests/fixtures/recorded`: bash and dash, edits, wraps, pagers, completion listings, a
//!   binary dump, the adversarial ones) one after another, over and over.
//!
//! Each is streamed through the full analysis (engine, rules, redaction, JSON report to a sink)
//! twice, each time in a process of its own so the peak RSS printed (VmHWM) is that run's: on
//! two threads (`Analyzer::analyze`: the screen on its own thread, as the CLI runs) and on one
//! (`Analysis::feed`, as the Lambda functions run), and counted by `wc -l` for scale.

use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;
use std::time::Instant;

use session_audit::analysis::{Analyzer, Input, CHUNK_BYTES};
use session_audit::report::{JsonReportWriter, Report};

#[path = "synthetic.rs"]
mod synthetic;
use synthetic::{build_with, command_block, recorded_sessions, session_block};

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

/// `wc -l` of `path` (read once first, so both passes read from the page cache): its output
/// and the wall time it took.
fn wc_lines(path: &std::path::Path) -> io::Result<(u64, f64)> {
    std::process::Command::new("wc").arg("-l").arg(path).output()?;
    let started = Instant::now();
    let out = std::process::Command::new("wc").arg("-l").arg(path).output()?;
    let secs = started.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines = text.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0);
    Ok((lines, secs))
}

/// Analyse `path` on two threads (`Analyzer::analyze`, the CLI's way) or on one (an
/// [`Analysis`](session_audit::analysis::Analysis) fed read by read, the Lambda's way).
fn analyse(path: &std::path::Path, threads: usize) -> io::Result<Report> {
    let analyzer = Analyzer::default();
    let writer = JsonReportWriter::start(io::sink())?;
    let (report, writer) = if threads == 2 {
        analyzer.analyze(File::open(path)?, Input::default(), writer).map_err(io::Error::other)?
    } else {
        let mut analysis = analyzer.start(writer);
        let mut file = File::open(path)?;
        let mut buf = vec![0u8; CHUNK_BYTES];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            analysis.feed(&buf[..n]).map_err(io::Error::other)?;
        }
        analysis.finish(Input::default()).map_err(io::Error::other)?
    };
    writer.finish(&report.tail())?;
    Ok(report)
}

/// One workload, in this process: build its file, count it, analyse it, print a table row.
fn workload(name: &str, threads: usize, size_mb: u64) -> io::Result<()> {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let path = |file: &str| target.join("bench").join(format!("{file}-{size_mb}MB.log"));
    let path = match name {
        "output-heavy" => {
            build_with(&path("transcript"), size_mb << 20, session_block)?;
            path("transcript")
        }
        "command-dense" => {
            build_with(&path("commands"), size_mb << 20, command_block)?;
            path("commands")
        }
        _ => {
            let sessions = recorded_sessions()?;
            build_with(&path("recorded"), size_mb << 20, |i| sessions[i % sessions.len()].clone())?;
            path("recorded")
        }
    };
    let mb = std::fs::metadata(&path)?.len() as f64 / 1e6;
    let (lines, wc_secs) = wc_lines(&path)?;
    let started = Instant::now();
    let report = analyse(&path, threads)?;
    let secs = started.elapsed().as_secs_f64();
    let commands = report.stats.commands;
    println!(
        "| {name} | {threads} | {mb:.0} MB, {lines} lines | {:.0} MB/s ({wc_secs:.2} s) | {secs:.2} s | {:.0} MB/s | {commands} ({:.2} M/s) | {} | {:.1} MiB |",
        mb / wc_secs,
        mb / secs,
        commands as f64 / secs / 1e6,
        report.findings.len() as u64 + report.stats.findings_suppressed,
        peak_rss_mb()
    );
    Ok(())
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let size_mb: u64 = args.iter().skip(1).find_map(|a| a.parse().ok()).unwrap_or(200);
    if let Some(i) = args.iter().position(|a| a == "--workload") {
        let threads = if args.iter().any(|a| a == "--one-thread") { 1 } else { 2 };
        return workload(&args[i + 1], threads, size_mb);
    }
    println!(
        "| workload | threads | input | wc -l | analysis | throughput | commands | findings | peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for name in ["output-heavy", "command-dense", "recorded"] {
        for threads in ["--two-threads", "--one-thread"] {
            // A process per run: VmHWM is the process's peak, so each gets its own.
            let status = std::process::Command::new(std::env::current_exe()?)
                .args([&size_mb.to_string(), "--workload", name, threads])
                .status()?;
            if !status.success() {
                return Err(io::Error::other(format!("{name} {threads}: {status}")));
            }
        }
    }
    Ok(())
}
