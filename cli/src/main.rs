//! `session-audit`: offline analysis of Session Manager transcripts.
//!
//! Exit status: 0 done, 1 a finding at or above `--fail-on`, 2 usage or I/O error.

mod events;
mod inputs;
mod progress;
mod summarize;
mod verify;

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use session_audit::analysis::{Analyzer, Input};
use session_audit::finding::Severity;
use session_audit::ocsf::{OcsfLines, SessionFacts};
use session_audit::publish::FindingContext;
use session_audit::redact::Redactor;
use session_audit::report::{CappedCommands, JsonReportWriter, Report, Source};

/// Commands kept in memory for a Markdown report; the JSON report always has them all.

#[derive(Parser)]
#[command(
    name = "session-audit",
    version,
    about = "Audit AWS Session Manager sessions: transcripts in, compliance reports out"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Reconstruct the commands in transcripts (S3 logs, CloudWatch exports, PowerShell) and judge them.
    Analyze(AnalyzeArgs),
    /// Audit Session Manager calls in CloudTrail JSON (records, EventBridge events, trail files).
    Events(events::EventsArgs),
    /// Access patterns and transcript completeness from records and reports (as the access-summary function).
    Summarize(summarize::SummarizeArgs),
    /// Check a bucket export against its signed digest chain, offline (exit 1 names what is wrong).
    Verify(verify::VerifyArgs),
}

#[derive(clap::Args)]
struct AnalyzeArgs {
    /// Transcript files, directories (searched for .log/.json/.jsonl/.txt files), or - for stdin.
    #[arg(required = true)]
    inputs: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutFormat::Json)]
    format: OutFormat,
    /// A user rule pack (TOML) that adds, overrides or disables built-in rules by ID.
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
    /// Write one report per input into DIR (named after the session) and print a summary line each.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Exit with status 1 when any finding is at or above this severity.
    #[arg(long, value_name = "SEVERITY")]
    fail_on: Option<SeverityArg>,
    /// File holding the HMAC key for redaction tokens (else $SESSION_AUDIT_REDACTION_KEY).
    #[arg(long, value_name = "FILE")]
    redaction_key_file: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutFormat {
    /// One report object (a JSON array of them for several inputs).
    Json,
    /// One report per line.
    Jsonl,
    /// Markdown for people.
    Md,
    /// OCSF 1.1.0 events, one per line: Process Activity per command, Detection Finding per
    /// finding (what the stack writes to Security Lake, as JSON).
    Ocsf,
}

#[derive(Clone, Copy, ValueEnum)]
enum SeverityArg {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl From<SeverityArg> for Severity {
    fn from(s: SeverityArg) -> Self {
        match s {
            SeverityArg::Info => Severity::Info,
            SeverityArg::Low => Severity::Low,
            SeverityArg::Medium => Severity::Medium,
            SeverityArg::High => Severity::High,
            SeverityArg::Critical => Severity::Critical,
        }
    }
}

/// A failure that ends the run (exit 2), already phrased for the user.
struct Fatal(String);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Analyze(args) => analyze(args),
        Cmd::Events(args) => events::run(args).map(ExitCode::from).map_err(Fatal),
        Cmd::Summarize(args) => summarize::run(args).map(ExitCode::from).map_err(Fatal),
        Cmd::Verify(args) => verify::run(args).map(ExitCode::from).map_err(Fatal),
    };
    match result {
        Ok(code) => code,
        Err(Fatal(message)) => {
            eprintln!("session-audit: {message}");
            ExitCode::from(2)
        }
    }
}

fn build_analyzer(args: &AnalyzeArgs) -> Result<Analyzer, Fatal> {
    let rules = inputs::load_rules(args.rules.as_deref()).map_err(Fatal)?;
    let key =
        match &args.redaction_key_file {
            Some(path) => Some(std::fs::read(path).map_err(|e| {
                Fatal(format!("cannot read redaction key '{}': {e}", path.display()))
            })?),
            None => std::env::var("SESSION_AUDIT_REDACTION_KEY").ok().map(String::into_bytes),
        };
    let key = key.map(|k| k.trim_ascii().to_vec());
    Ok(Analyzer::new(rules, Redactor::new(key.as_deref())))
}

fn analyze(args: AnalyzeArgs) -> Result<ExitCode, Fatal> {
    let analyzer = build_analyzer(&args)?;
    let (specs, mut failed) = inputs::expand(&args.inputs);
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).map_err(|e| {
            Fatal(format!("cannot create output directory '{}': {e}", dir.display()))
        })?;
    }
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let many = specs.len() > 1;
    let mut progress = progress::Progress::new(specs.len());
    let array = args.out.is_none() && args.format == OutFormat::Json && many;
    if array {
        write_out(&mut out, b"[\n")?;
    }
    let mut worst: Option<Severity> = None;
    let mut written = 0usize;
    let mut names = std::collections::HashSet::new();
    for spec in &specs {
        progress.tick(&spec.display());
        let reader: Box<dyn Read> = match spec.open() {
            Ok(r) => r,
            Err(e) => {
                eprintln!("session-audit: cannot read '{}': {e}", spec.display());
                failed = true;
                continue;
            }
        };
        let meta = Input {
            source: Source {
                path: spec.path().map(|p| p.display().to_string()),
                ..Source::default()
            },
            session_id: spec.session_id(),
            cut: None,
        };
        if array && written > 0 {
            write_out(&mut out, b",\n")?;
        }
        let result = match &args.out {
            Some(dir) => {
                report_to_dir(&analyzer, reader, meta, dir, args.format, &mut out, &mut names)
            }
            None => report_to(&analyzer, reader, meta, args.format, &mut out, written > 0),
        };
        match result {
            Ok(report) => {
                written += 1;
                let top = report.findings.iter().map(|f| f.severity).max();
                worst = worst.max(top);
            }
            Err(message) => {
                eprintln!("session-audit: '{}': {message}", spec.display());
                failed = true;
            }
        }
    }
    progress.done();
    if array {
        write_out(&mut out, b"]\n")?;
    }
    out.flush().map_err(|e| Fatal(format!("cannot write output: {e}")))?;
    if failed {
        return Ok(ExitCode::from(2));
    }
    let threshold = args.fail_on.map(Severity::from);
    Ok(match (threshold, worst) {
        (Some(t), Some(w)) if w >= t => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    })
}

fn write_out(out: &mut impl Write, bytes: &[u8]) -> Result<(), Fatal> {
    out.write_all(bytes).map_err(|e| Fatal(format!("cannot write output: {e}")))
}

fn report_to(
    analyzer: &Analyzer,
    reader: Box<dyn Read>,
    meta: Input,
    format: OutFormat,
    out: &mut impl Write,
    separate: bool,
) -> Result<Report, String> {
    match format {
        OutFormat::Md => {
            let (mut report, capped) = analyzer
                .analyze(reader, meta, CappedCommands::default())
                .map_err(|e| e.to_string())?;
            report.commands = capped.kept;
            let sep: &[u8] = if separate { b"\n---\n\n" } else { b"" };
            out.write_all(sep).map_err(|e| e.to_string())?;
            out.write_all(report.to_markdown(capped.omitted).as_bytes())
                .map_err(|e| e.to_string())?;
            Ok(report)
        }
        OutFormat::Json | OutFormat::Jsonl => {
            let writer = JsonReportWriter::start_with(&mut *out, format == OutFormat::Jsonl)
                .map_err(|e| e.to_string())?;
            let (report, writer) =
                analyzer.analyze(reader, meta, writer).map_err(|e| e.to_string())?;
            writer.finish(&report.tail()).map_err(|e| e.to_string())?;
            Ok(report)
        }
        OutFormat::Ocsf => {
            let session_id = meta.session_id.clone().unwrap_or_else(|| "stdin".into());
            let now = jiff::Timestamp::now().as_millisecond();
            let facts = SessionFacts { session_id, ..SessionFacts::default() };
            let lines = OcsfLines::new(&mut *out, facts, now);
            let (report, lines) =
                analyzer.analyze(reader, meta, lines).map_err(|e| e.to_string())?;
            let ctx = FindingContext {
                origin_id: report.session_id.clone(),
                session_id: Some(report.session_id.clone()),
                time: report.ended_at.clone().unwrap_or_default(),
                record: report
                    .source
                    .path
                    .clone()
                    .or(report.source.key.clone())
                    .unwrap_or_default(),
                stage: "offline",
                ..FindingContext::default()
            };
            lines.finish(&report, &ctx).map_err(|e| e.to_string())?;
            Ok(report)
        }
    }
}

fn report_to_dir(
    analyzer: &Analyzer,
    reader: Box<dyn Read>,
    meta: Input,
    dir: &Path,
    format: OutFormat,
    summary: &mut impl Write,
    names: &mut std::collections::HashSet<String>,
) -> Result<Report, String> {
    let ext = match format {
        OutFormat::Md => "md",
        OutFormat::Ocsf => "ocsf.jsonl",
        OutFormat::Json | OutFormat::Jsonl => "json",
    };
    let name = unique_name(&safe_name(meta.session_id.as_deref().unwrap_or("stdin")), ext, names);
    let path = dir.join(&name);
    // Written under a temporary name and renamed when complete: a failed analysis never
    // leaves a half-written report that looks finished.
    let partial = dir.join(format!(".{name}.partial"));
    let result = (|| -> Result<Report, String> {
        let file = File::create(&partial)
            .map_err(|e| format!("cannot create '{}': {e}", partial.display()))?;
        let mut file = BufWriter::new(file);
        let report = report_to(analyzer, reader, meta, format, &mut file, false)?;
        file.flush().map_err(|e| format!("cannot write '{}': {e}", partial.display()))?;
        std::fs::rename(&partial, &path)
            .map_err(|e| format!("cannot write '{}': {e}", path.display()))?;
        Ok(report)
    })();
    let report = result.inspect_err(|_| {
        let _ = std::fs::remove_file(&partial);
    })?;
    let line = format!(
        "{}\t{}\t{} commands\t{} findings\t{}\n",
        report.session_id,
        report.status.as_str(),
        report.stats.commands,
        report.findings.len(),
        path.display()
    );
    summary.write_all(line.as_bytes()).map_err(|e| e.to_string())?;
    Ok(report)
}

/// `<stem>.<ext>`, or `<stem>-2.<ext>`… when two inputs of one run share a session name.
fn unique_name(stem: &str, ext: &str, used: &mut std::collections::HashSet<String>) -> String {
    let mut name = format!("{stem}.{ext}");
    let mut n = 1;
    while !used.insert(name.clone()) {
        n += 1;
        name = format!("{stem}-{n}.{ext}");
    }
    name
}

/// A file name from a session ID: path separators and control characters replaced.
fn safe_name(id: &str) -> String {
    id.chars().map(|c| if c == '/' || c == '\\' || c.is_control() { '_' } else { c }).collect()
}
