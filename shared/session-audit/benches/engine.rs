//! Throughput and peak memory of the transcript engine on a large generated transcript.
//!
//!     cargo bench -p session-audit --bench engine -- [SIZE_MB]   (default 200)
//!
//! Builds `target/bench/transcript-<SIZE>MB.log` once: a `script` header, then a realistic
//! session repeated (readline-marked prompts with edits, coloured `ls` output, wrapped lines,
//! a pager on the alternate screen, long command output), then the footer. It then streams the
//! file through the full analysis (engine, rules, redaction, JSON report to a sink) and, for
//! scale, through a plain newline count with the same read size. Peak RSS is the process's
//! VmHWM, read after each phase.

use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;
use std::time::Instant;

use session_audit::analysis::{Analyzer, Input, CHUNK_BYTES};
use session_audit::report::JsonReportWriter;

#[path = "synthetic.rs"]
mod synthetic;
use synthetic::build;

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

fn line_count(path: &PathBuf) -> io::Result<u64> {
    let mut f = File::open(path)?;
    let mut buf = vec![0u8; CHUNK_BYTES];
    let mut lines = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(lines);
        }
        lines += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
    }
}

fn main() -> io::Result<()> {
    let size_mb: u64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(200);
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let path = target.join("bench").join(format!("transcript-{size_mb}MB.log"));
    build(&path, size_mb << 20)?;
    let bytes = std::fs::metadata(&path)?.len();
    let mb = bytes as f64 / (1 << 20) as f64;
    println!("input: {} ({mb:.0} MiB)", path.display());
    println!("peak RSS before analysis: {:.1} MiB", peak_rss_mb());

    let analyzer = Analyzer::default();
    println!("peak RSS after compiling rules: {:.1} MiB", peak_rss_mb());
    let started = Instant::now();
    let lines = line_count(&path)?;
    let count_secs = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let writer = JsonReportWriter::start(io::sink())?;
    let (report, writer) =
        analyzer.analyze(File::open(&path)?, Input::default(), writer).map_err(io::Error::other)?;
    writer.finish(&report.tail())?;
    let secs = started.elapsed().as_secs_f64();

    println!("| pass | time | throughput |");
    println!("|---|---|---|");
    println!(
        "| plain newline count ({lines} lines) | {count_secs:.2} s | {:.0} MiB/s |",
        mb / count_secs
    );
    println!(
        "| full analysis ({} commands, {} findings) | {secs:.2} s | {:.0} MiB/s |",
        report.stats.commands,
        report.findings.len() as u64 + report.stats.findings_suppressed,
        mb / secs
    );
    println!("peak RSS (whole process): {:.1} MiB", peak_rss_mb());
    Ok(())
}
