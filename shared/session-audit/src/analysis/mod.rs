//! One transcript in, one report out: the engine, the rules and redaction put together.
//!
//! [`Analyzer`] holds what is built once per process (the compiled rule pack, the redaction
//! key) and is borrowed by every analysis. [`Analyzer::analyze`] streams: it reads the input in
//! chunks, hands each finished command to a [`CommandWriter`] already redacted, and returns the
//! rest of the report (findings, stats, status) at the end.

pub mod output_lines;
pub mod stretches;
pub mod verdicts;

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{self, Read};

use serde_json::json;

use crate::finding::{Finding, Severity};
use crate::redact::Redactor;
use crate::report::{CommandWriter, Report, ReportCommand, Source, Stats, Status, SCHEMA};
use crate::rules::{Rule, RulePack, Target};
use crate::transcript::{
    read_on_two_threads, Command, Engine, Format, ShellSink, Tamper, TranscriptInfo,
};
use output_lines::OutputBatch;
use stretches::stretches;
use verdicts::{Verdict, Verdicts};

/// Read size for streaming input.
pub const CHUNK_BYTES: usize = 128 * 1024;
/// [`Analyzer::analyze`] reads this much on the calling thread before it gives the terminal
/// model a thread of its own: a session transcript is usually far smaller, and a thread costs
/// more than it saves there (a 100 KiB transcript took twice as long on two threads).
pub const ONE_THREAD_BYTES: u64 = 1 << 20;
/// One rule lists at most this many findings per session; the rest are counted.
pub const MAX_FINDINGS_PER_RULE: u64 = 200;
/// Evidence is cut to this many characters.
pub const MAX_EVIDENCE_CHARS: usize = 300;
/// Bytes of stretches of commands read as going on past the terminal's last line judged in
/// one analysis, at most (see [`stretches()`]): a paste made of nothing else costs about a
/// hundred times its size, so the bound keeps such a transcript to about a second.
pub const MAX_STRETCH_BYTES: usize = 256 << 20;

/// Rules and redaction, built once and shared.
#[derive(Debug, Clone)]
pub struct Analyzer {
    /// The rule pack judged against.
    pub rules: RulePack,
    /// The redaction every stored field goes through.
    pub redactor: Redactor,
}

/// The analysis failed; nothing was judged.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    /// Reading the transcript failed.
    #[error("reading the transcript: {0}")]
    Read(#[source] io::Error),
    /// Writing the report failed.
    #[error("writing the report: {0}")]
    Write(#[source] io::Error),
}

/// Facts about the transcript known before reading it.
#[derive(Debug, Clone, Default)]
pub struct Input {
    /// Where the transcript came from (stored in the report's `source`).
    pub source: Source,
    /// Usually the object key's or file's stem (`<sessionId>.log`).
    pub session_id: Option<String>,
    /// Why reading stopped before the transcript's end (a size cap), when it did: the report
    /// is truncated for this reason.
    pub cut: Option<String>,
}

impl Default for Analyzer {
    fn default() -> Self {
        Analyzer { rules: RulePack::builtin(), redactor: Redactor::default() }
    }
}

impl Analyzer {
    /// An analyzer judging with `rules` and redacting with `redactor`.
    pub fn new(rules: RulePack, redactor: Redactor) -> Self {
        Analyzer { rules, redactor }
    }

    /// Analyse `input`; commands go to `writer` as they finish. The returned report has an
    /// empty `commands` list (they went to the writer) and everything else filled in.
    pub fn analyze<R: Read, W: CommandWriter>(
        &self,
        input: R,
        meta: Input,
        writer: W,
    ) -> Result<(Report, W), AnalyzeError> {
        // Past the first MiB, the terminal on a second thread; reading, the shell and the
        // judging on this one: the report feeding an [`Analysis`] gives, in about two thirds
        // of the time on two cores (see `transcript::pipeline`).
        let judge = Judge::new(self, writer);
        let (info, judge) =
            read_on_two_threads(input, judge, CHUNK_BYTES, ONE_THREAD_BYTES, |judge| {
                judge.error.is_none()
            })
            .map_err(AnalyzeError::Read)?;
        judge.conclude(info, meta)
    }

    /// What a finding shows of `text`: redacted, cut to [`MAX_EVIDENCE_CHARS`] characters.
    pub fn evidence(&self, text: &str) -> String {
        let red = self.redactor.redact(text);
        match red.char_indices().nth(MAX_EVIDENCE_CHARS) {
            Some((i, _)) => format!("{}…", &red[..i]),
            None => red.into_owned(),
        }
    }

    /// An analysis fed chunk by chunk, for input that arrives asynchronously (an S3 body).
    pub fn start<W: CommandWriter>(&self, writer: W) -> Analysis<'_, W> {
        Analysis { engine: Engine::new(Judge::new(self, writer)) }
    }

    /// Analyse bytes already in memory into a complete report (commands included).
    pub fn analyze_bytes(&self, bytes: &[u8], meta: Input) -> Report {
        let (mut report, commands) =
            self.analyze(bytes, meta, Vec::new()).expect("in-memory reads and writes cannot fail");
        report.commands = commands;
        report
    }
}

/// One transcript being analysed: [`Analysis::feed`] its bytes in any chunking, then
/// [`Analysis::finish`].
pub struct Analysis<'a, W: CommandWriter> {
    engine: Engine<Judge<'a, W>>,
}

impl<W: CommandWriter> Analysis<'_, W> {
    /// Feed the next bytes of the transcript (any split).
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), AnalyzeError> {
        self.engine.feed(bytes);
        match self.engine.sink().error.take() {
            Some(e) => Err(AnalyzeError::Write(e)),
            None => Ok(()),
        }
    }

    /// The report, once every byte has been fed, completed with `meta`.
    pub fn finish(self, meta: Input) -> Result<(Report, W), AnalyzeError> {
        let (info, judge) = self.engine.finish();
        judge.conclude(info, meta)
    }
}

/// Receives commands from the engine, judges and redacts them.
struct Judge<'a, W> {
    analyzer: &'a Analyzer,
    writer: W,
    findings: Vec<Finding>,
    /// Findings per rule id, listed or not.
    per_rule: HashMap<&'a str, u64>,
    /// (rule, command) → index of its output finding, to count repeats instead of listing them.
    output_findings: HashMap<(&'a str, u64), usize>,
    suppressed: u64,
    commands: u64,
    error: Option<io::Error>,
    /// The last prompt (its redacted form is in `stored`): a session repeats one prompt for
    /// every command.
    prompt: String,
    /// The command being written, refilled for each.
    stored: ReportCommand,
    verdicts: Verdicts,
    /// Output lines not judged yet (see [`OutputBatch`]).
    output: OutputBatch,
    /// Bytes of stretches judged (see [`Judge::judge_stretches`]), and stretches left
    /// unjudged past [`MAX_STRETCH_BYTES`] (said in a warning).
    stretch_bytes: usize,
    stretches_left_out: u64,
    /// Where the next command's text may be cut (see [`ShellSink::command_joins`]).
    joins: Vec<u32>,
}

impl<'a, W: CommandWriter> Judge<'a, W> {
    fn new(analyzer: &'a Analyzer, writer: W) -> Self {
        Judge {
            analyzer,
            writer,
            findings: Vec::new(),
            per_rule: HashMap::new(),
            output_findings: HashMap::new(),
            suppressed: 0,
            commands: 0,
            error: None,
            prompt: String::new(),
            stored: ReportCommand::default(),
            verdicts: Verdicts::default(),
            output: OutputBatch::default(),
            stretch_bytes: 0,
            stretches_left_out: 0,
            joins: Vec::new(),
        }
    }

    /// Text typed that is not command `seq`'s text but may have run (see the callers): the
    /// command rules read it, and the evidence says where it was typed.
    fn judge_typed(&mut self, seq: u64, typed: &str, (before, after): (&str, &str)) {
        let analyzer = self.analyzer;
        for i in analyzer.rules.command_rule_indexes(typed) {
            let rule = &analyzer.rules.rules()[i];
            let evidence = |a: &Analyzer| format!("{before} {seq}{after}: {}", a.evidence(typed));
            self.add(rule, evidence, Some(seq));
        }
    }

    /// A command read as going on past the terminal's last line: each stretch between the
    /// places it may be cut at (see [`stretches()`]) is judged as a command of its own, for the
    /// rules the whole did not raise (`found`), within [`MAX_STRETCH_BYTES`] an analysis.
    fn judge_stretches(&mut self, cmd: &Command, joins: &[u32], found: &[usize]) {
        let analyzer = self.analyzer;
        let mut raised: Vec<usize> = Vec::new();
        for (from, to) in stretches(cmd.text.len(), joins) {
            let Some(stretch) = cmd.text.get(from..to) else { continue };
            if self.stretch_bytes + stretch.len() > MAX_STRETCH_BYTES {
                self.stretches_left_out += 1;
                continue;
            }
            self.stretch_bytes += stretch.len();
            for i in analyzer.rules.command_rule_indexes(stretch) {
                if found.contains(&i) || raised.contains(&i) {
                    continue;
                }
                raised.push(i);
                let rule = &analyzer.rules.rules()[i];
                let evidence = |a: &Analyzer| {
                    let stretch = a.evidence(stretch);
                    format!("read as going on past the terminal's last line, where a row filled its width; from there it may be a command of its own: {stretch}")
                };
                self.add(rule, evidence, Some(cmd.seq));
            }
        }
    }

    /// A finding of `rule`, unless the rule has listed its most already (then it is counted):
    /// its evidence is only made (redacted, cut) for a finding listed.
    fn add(
        &mut self,
        rule: &'a Rule,
        evidence: impl FnOnce(&Analyzer) -> String,
        seq: Option<u64>,
    ) -> Option<usize> {
        let count = self.per_rule.entry(rule.id.as_str()).or_insert(0);
        *count += 1;
        if *count > MAX_FINDINGS_PER_RULE {
            self.suppressed += 1;
            return None;
        }
        self.findings.push(rule.finding(evidence(self.analyzer), seq));
        Some(self.findings.len() - 1)
    }

    fn session_finding(&mut self, condition: &str, evidence: &str) {
        let analyzer = self.analyzer;
        if let Some(rule) = analyzer.rules.session_rule(condition) {
            self.add(rule, |_| evidence.to_string(), None);
        }
    }

    fn conclude(
        mut self,
        info: TranscriptInfo,
        mut meta: Input,
    ) -> Result<(Report, W), AnalyzeError> {
        self.judge_output_batch();
        if let Some(e) = self.error.take() {
            return Err(AnalyzeError::Write(e));
        }
        let no_shell = info.format == Format::RawTerminal && !info.shell.prompts_seen;
        let unparseable = info.unparseable.clone().or_else(|| {
            no_shell.then(|| {
                "no `script` header and no shell prompt: not a session transcript".to_string()
            })
        });
        let (status, reason) = if let Some(reason) = unparseable {
            self.session_finding("transcript_unparseable", &reason);
            (Status::Unparseable, Some(reason))
        } else if let Some(reason) = meta.cut.take().or_else(|| {
            info.truncated
                .then(|| "no `Script done on` footer: the transcript was cut off".to_string())
        }) {
            self.session_finding("transcript_truncated", &reason);
            (Status::Truncated, Some(reason))
        } else if self.findings.iter().any(|f| f.severity >= Severity::Low) {
            (Status::NonCompliant, None)
        } else {
            (Status::Compliant, None)
        };
        if info.shell.hidden_inputs > 0 {
            let n = info.shell.hidden_inputs;
            let what = format!(
                "{n} line(s) submitted at a prompt with nothing of them on screen (terminal echo off, or the shell's stderr sent away): what ran there is not in the transcript"
            );
            self.session_finding("hidden_input", &what);
        }
        // By command; within one, its output's findings first: the shell sends a command
        // when the next one starts, after its output (output is judged in batches, so a
        // command's findings can be added before its output's).
        let rules = &self.analyzer.rules;
        let from_command =
            |f: &Finding| rules.get(&f.rule_id).is_some_and(|r| r.target == Target::Command);
        self.findings.sort_by_cached_key(|f| (f.command_seq.unwrap_or(0), from_command(f)));
        let mut warnings = info.warnings.clone();
        if self.stretches_left_out > 0 {
            let n = self.stretches_left_out;
            warnings.push(format!(
                "commands read as going on past the terminal's last line: {n} stretch(es) where they may be cut were not judged (more than {MAX_STRETCH_BYTES} bytes of them in this transcript)"
            ));
        }
        if self.analyzer.redactor.uses_default_key() {
            warnings.push("redaction used the built-in key: configure a redaction key so tokens cannot be recomputed".into());
        }
        let mut by_severity = std::collections::BTreeMap::new();
        for f in &self.findings {
            *by_severity.entry(f.severity).or_insert(0) += 1;
        }
        let stream = info.stream.clone().unwrap_or_default();
        let header_time = info.header.as_ref().and_then(|h| h.time.clone());
        let session_id =
            meta.session_id.or(stream.session_id.clone()).unwrap_or_else(|| "unknown".to_string());
        let red = |s: Option<String>| s.map(|v| self.analyzer.redactor.redact(&v).into_owned());
        let identity = stream.user_arn.is_some().then(
            || json!({"arn": red(stream.user_arn.clone()), "run_as": red(stream.run_as.clone())}),
        );
        let target = stream.target.is_some().then(|| json!({"instance_id": stream.target}));
        let mut source = meta.source;
        source.format = Some(info.format);
        source.written_at = source.written_at.or(header_time.clone());
        let report = Report {
            schema: SCHEMA.to_string(),
            session_id,
            status,
            status_reason: reason,
            source,
            identity,
            target,
            started_at: stream.first_event_time.clone(),
            // The agent writes the transcript when the session ends.
            ended_at: stream.last_event_time.or(info.footer_time.clone()).or(header_time),
            commands: Vec::new(),
            findings: self.findings,
            stats: Stats {
                bytes: info.bytes,
                lines: info.lines,
                commands: self.commands,
                parse_warnings: warnings,
                abandoned_lines: info.shell.abandoned_lines,
                hidden_inputs: info.shell.hidden_inputs,
                program_input_lines: info.shell.program_inputs,
                printed_prompt_lines: info.shell.printed_prompt_lines,
                line_editor_markers: info.shell.markers_seen,
                terminal_width: info.width,
                findings_suppressed: self.suppressed,
                findings_by_severity: by_severity,
                channels: None,
            },
            generator: concat!("session-audit ", env!("CARGO_PKG_VERSION")).to_string(),
        };
        Ok((report, self.writer))
    }
}

impl<W: CommandWriter> ShellSink for Judge<'_, W> {
    fn command(&mut self, cmd: &Command) {
        self.commands += 1;
        let analyzer = self.analyzer;
        let judge = |text: &str| Verdict {
            rules: analyzer.rules.command_rule_indexes(text).collect(),
            redacted: match analyzer.redactor.redact(text) {
                Cow::Owned(redacted) => Some(redacted.into()),
                Cow::Borrowed(_) => None,
            },
        };
        let verdict = self.verdicts.get(&cmd.text, judge);
        for &i in &verdict.rules {
            let rule = &analyzer.rules.rules()[i];
            self.add(rule, |a| a.evidence(&cmd.text), Some(cmd.seq));
        }
        if !self.joins.is_empty() {
            let joins = std::mem::take(&mut self.joins);
            self.judge_stretches(cmd, &joins, &verdict.rules);
        }
        if self.prompt != cmd.prompt {
            // Where a prompt ends is inferred for prompts of no usual shape: text typed and
            // taken for the prompt must not escape the rules. Each new prompt is judged
            // (remembered like a command's text: prompts come back).
            let prompt = self.verdicts.get(&cmd.prompt, judge);
            for i in prompt.rules.iter().filter(|i| !verdict.rules.contains(i)) {
                let rule = &analyzer.rules.rules()[*i];
                let why = |a: &Analyzer| {
                    format!("in the text read as the prompt: {}", a.evidence(&cmd.prompt))
                };
                self.add(rule, why, Some(cmd.seq));
            }
            self.stored.prompt.clear();
            self.stored.prompt.push_str(prompt.redacted.as_deref().unwrap_or(&cmd.prompt));
            self.prompt.clone_from(&cmd.prompt);
        }
        // One ReportCommand, refilled: no allocation per command beyond the shell's text.
        let stored = &mut self.stored;
        stored.command.clear();
        stored.command.push_str(verdict.redacted.as_deref().unwrap_or(&cmd.text));
        stored.seq = cmd.seq;
        stored.confidence = cmd.confidence;
        stored.reason.clone_from(&cmd.reason);
        stored.output_lines = cmd.output_lines;
        stored.privileged = cmd.privileged;
        stored.fullscreen = cmd.fullscreen;
        stored.seen_in = cmd.seen_in.map(str::to_string);
        if self.error.is_none() {
            if let Err(e) = self.writer.command(stored) {
                self.error = Some(e);
            }
        }
    }

    fn tamper(&mut self, kind: Tamper, seq: Option<u64>, evidence: &str) {
        self.judge_output_batch();
        let analyzer = self.analyzer;
        match kind {
            Tamper::ForgedPrompt => {
                let Some(rule) = analyzer.rules.session_rule("forged_prompt") else { return };
                self.add(rule, |a| format!("printed, not typed: {}", a.evidence(evidence)), seq);
            }
            Tamper::NotShown(what) => {
                // The command is reported; what hid it is named, as for any blinding.
                let Some(rule) = analyzer.rules.get("SA-TRN-BLINDED") else { return };
                let why = |a: &Analyzer| {
                    format!("not plainly on screen ({what}): {}", a.evidence(evidence))
                };
                self.add(rule, why, seq);
            }
        }
    }

    fn program_input(&mut self, seq: u64, typed: &str) {
        self.judge_typed(seq, typed, ("typed at the prompt of the program command", " started"));
    }

    fn edited_away(&mut self, seq: u64, typed: &str) {
        self.judge_typed(
            seq,
            typed,
            ("typed, then replaced in an editor before it ran, as command", ""),
        );
    }

    fn not_expanded(&mut self, typed: &str) {
        let analyzer = self.analyzer;
        for i in analyzer.rules.command_rule_indexes(typed) {
            let rule = &analyzer.rules.rules()[i];
            let evidence = |a: &Analyzer| {
                let typed = a.evidence(typed);
                format!("typed at a prompt, which bash said it could not expand (not run): {typed}")
            };
            self.add(rule, evidence, None);
        }
    }

    fn command_joins(&mut self, joins: &[u32]) {
        self.joins.clear();
        self.joins.extend_from_slice(joins);
    }

    fn run_from_program(&mut self, seq: u64, typed: &str) {
        let before = "run from the command line of the full-screen program command";
        self.judge_typed(seq, typed, (before, " started (it left its screen to run it)"));
    }

    fn after_edit(&mut self, seq: u64, line: &str) {
        self.judge_typed(
            seq,
            line,
            (
                "printed after the first line bash echoed from the file edited for command",
                ", where bash echoes each further line of that file as it runs it",
            ),
        );
    }

    fn output(&mut self, seq: u64, line: &str) {
        self.writer.output(seq, line);
        match self.analyzer.rules.output_scan() {
            Some(_) if self.output.push(seq, line) => self.judge_output_batch(),
            Some(_) => {}
            None => self.judge_output(seq, line),
        }
    }
}

impl<'a, W: CommandWriter> Judge<'a, W> {
    /// Judge the output lines gathered so far (when the batch is full, before a tamper finding
    /// and at the end).
    fn judge_output_batch(&mut self) {
        let Some(scan) = self.analyzer.rules.output_scan() else { return };
        let mut batch = std::mem::take(&mut self.output);
        batch.judge_with(scan, |seq, line| self.judge_output(seq, line));
        self.output = batch;
    }

    fn judge_output(&mut self, seq: u64, line: &str) {
        let analyzer: &'a Analyzer = self.analyzer;
        for rule in analyzer.rules.match_output(line) {
            let key = (rule.id.as_str(), seq);
            if let Some(&i) = self.output_findings.get(&key) {
                self.findings[i].occurrences += 1;
                continue;
            }
            let finding_seq = (seq > 0).then_some(seq);
            if let Some(i) = self.add(rule, |a| a.evidence(line), finding_seq) {
                self.output_findings.insert(key, i);
            }
        }
    }
}
