//! Sessions read while they run: the agent's CloudWatch stream, one subscription batch at a
//! time, into commands and findings ([`crate::session_stream`] is the use case over it).
//!
//! A batch holds a few seconds of one session (log stream = session ID). Between batches only
//! a small [`LiveState`] is kept: the shell's learned prompts and open command
//! ([`ShellSnapshot`]), the IDs of the events already read (bounded), and which rules were
//! already published for the command still open, which may grow by continuation lines. So a
//! redelivered batch finds its events read and publishes nothing; a batch that arrives after a
//! later one is read on its own ("late"); nothing in the state grows with the session.
//!
//! The stream is the agent's cleaned text (escapes stripped, markers gone), so commands are
//! read by their prompts, as in the CloudWatch mode of [`crate::transcript`].

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::analysis::{Analyzer, MAX_FINDINGS_PER_RULE};
use crate::finding::Finding;
use crate::transcript::cloudwatch::{events_in, StreamEvent};
use crate::transcript::{Command, Screen, Shell, ShellSink};
use crate::transcript::{ShellSnapshot, Tamper};

/// Event IDs remembered for redelivery; older events are judged by their timestamp.
pub const MAX_SEEN_EVENTS: usize = 2048;

/// How far past its receipt an event's timestamp may lie (clock skew, the agent's one-second
/// tick). CloudWatch keeps the timestamp its writer gives, up to two hours ahead, and anyone
/// with the instance role can write into any session's stream: an event further ahead is not
/// read (counted in `future_events`), so forged timestamps cannot move the state's window
/// forward and make the real events that follow look old.
pub const FUTURE_TOLERANCE_MS: i64 = 60_000;

/// One log event of a subscription batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    /// CloudWatch's event ID.
    pub id: String,
    /// Milliseconds since the epoch (CloudWatch's ingestion-side timestamp).
    pub timestamp: i64,
    /// The agent's streaming JSON.
    pub message: String,
}

/// A subscription's `DATA_MESSAGE`: one log stream's events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// The account that owns the log group.
    pub owner: Option<String>,
    /// The log group's region when the delivery names it (a stream sent through the hub's
    /// destination: its subscription filter's name, [`crate::keys::subscription_filter`]);
    /// `None`: the function's own region (a subscription in the hub's region).
    pub region: Option<String>,
    /// The log group (the transcript log group).
    pub log_group: String,
    /// The session ID: the agent names each stream after its session.
    pub log_stream: String,
    /// The events, oldest first as CloudWatch sends them.
    pub events: Vec<LogEvent>,
}

/// What is kept of a session being streamed, at `audit/live/<sessionId>.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveState {
    /// The session ID (the log stream's name).
    pub session_id: String,
    /// What the shell learned: prompts and the command still open.
    pub shell: ShellSnapshot,
    /// (timestamp, hash of the event ID) of the events read, oldest first, at most
    /// [`MAX_SEEN_EVENTS`] (CloudWatch's IDs are 56 digits; 8 bytes of their SHA-256 keep the
    /// state small, and a collision among 2,048 is out of reach).
    pub seen: VecDeque<(i64, u64)>,
    /// The newest timestamp of an event that fell out of `seen`: an event at or before it
    /// cannot be told from a redelivery and is skipped (counted in `skipped_events`).
    pub horizon: i64,
    /// The newest timestamp read in order; an unseen event before it is late.
    pub newest: i64,
    /// The command still open and the rules already published for it.
    pub open_seq: u64,
    /// The rules already published for the open command.
    pub open_rules: Vec<String>,
    /// Events read.
    pub events: u64,
    /// Commands read (late ones included).
    pub commands: u64,
    /// Commands read from late events (not in the shell's count).
    #[serde(default)]
    pub late_commands: u64,
    /// Findings published.
    pub findings: u64,
    /// Events read late (older than the newest read).
    pub late_events: u64,
    /// Events older than the remembered window: not read.
    pub skipped_events: u64,
    /// Messages that were not the agent's streaming JSON.
    pub unreadable_events: u64,
    /// Events timestamped more than [`FUTURE_TOLERANCE_MS`] after they were received: not read.
    #[serde(default)]
    pub future_events: u64,
    /// Findings published per rule; past [`MAX_FINDINGS_PER_RULE`] (the report's cap) a rule's
    /// findings are counted in `findings_suppressed` instead of published.
    #[serde(default)]
    pub rule_counts: BTreeMap<String, u64>,
    /// Findings past their rule's cap: counted, not published.
    #[serde(default)]
    pub findings_suppressed: u64,
    /// The instance, from the first event that names it.
    pub target: Option<String>,
    /// The stream's `userIdentity.arn`: what the events claim, never who is named (anyone
    /// with the instance role can write them).
    pub user_arn: Option<String>,
    /// Who the session's record names, once it was found: live findings name them.
    #[serde(default)]
    pub attributed: Option<Attribution>,
    /// The OS user the session runs as.
    pub run_as: Option<String>,
    /// The region, from the events.
    pub region: Option<String>,
    /// `<account>/<region>` of a session that is not the hub's own (findings name it in their
    /// origin: a session ID is unique only within its account and region); `None` for the hub's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    /// The agent's `eventTime` of the first event read.
    pub first_event_time: Option<String>,
    /// The agent's `eventTime` of the last event read.
    pub last_event_time: Option<String>,
}

/// Who ran a streamed session and where, from its session record (session-start's, from
/// CloudTrail), never from the stream's own events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribution {
    /// The record's principal (its ARN when it has one).
    pub principal: String,
    /// The person behind it, when the record names one.
    pub person: Option<String>,
    /// The instance the session reaches.
    pub target: Option<String>,
    /// The account it was started in.
    pub account: Option<String>,
}

/// A finding raised live, with what makes its `finding_id` stable across redeliveries.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveFinding {
    /// `live:<sessionId>:<command seq>` (or `:late:<event ID>:<n>` for a late event); another
    /// account's or region's session is `live:<account>/<region>/<sessionId>…`.
    pub origin_id: String,
    /// The agent's `eventTime` of the event that carried the command or line.
    pub time: String,
    /// The finding.
    pub finding: Finding,
}

/// What one batch did to the state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// Events read in this batch.
    pub read: u64,
    /// Events read before (a redelivery).
    pub redelivered: u64,
    /// Events read late.
    pub late: u64,
    /// Events older than the remembered window: not read.
    pub skipped: u64,
    /// Messages that were not the agent's streaming JSON for this session.
    pub unreadable: u64,
    /// Timestamped too far after their receipt: not read.
    pub future: u64,
    /// Commands read.
    pub commands: u64,
    /// Findings past their rule's cap: counted, not published.
    pub suppressed: u64,
}

/// Read `events` (one session's, any order), received at `received_ms` (milliseconds since the
/// epoch), into `state`; the findings they raise, at most [`MAX_FINDINGS_PER_RULE`] per rule
/// over the session.
pub fn advance(
    analyzer: &Analyzer,
    state: &mut LiveState,
    events: &[LogEvent],
    received_ms: i64,
) -> (Progress, Vec<LiveFinding>) {
    let mut progress = Progress::default();
    let mut ordered: Vec<&LogEvent> = events.iter().collect();
    ordered.sort_by(|a, b| (a.timestamp, &a.id).cmp(&(b.timestamp, &b.id)));
    ordered.dedup_by(|a, b| a.id == b.id);
    let mut in_order = Vec::new();
    let mut late = Vec::new();
    for event in ordered {
        let id = id_hash(&event.id);
        if event.timestamp > received_ms.saturating_add(FUTURE_TOLERANCE_MS) {
            progress.future += 1;
        } else if state.seen.iter().any(|(_, seen)| *seen == id) {
            progress.redelivered += 1;
        } else if event.timestamp <= state.horizon && !state.seen.is_empty() {
            progress.skipped += 1;
        } else if event.timestamp < state.newest {
            late.push(event);
        } else {
            in_order.push(event);
        }
    }
    let mut findings = Vec::new();
    let session = state.session_id.clone();
    let seq_before = state.shell.next_seq.max(1);
    let open = (state.open_seq, state.open_rules.clone());
    // The session as its findings name it: another place's is `<account>/<region>/<id>`.
    let named = match &state.place {
        Some(place) => format!("{place}/{session}"),
        None => session.clone(),
    };
    let origin = format!("live:{named}");
    let mut reader = judge_reader(analyzer, state.shell.clone(), open, origin);
    let mut facts = Vec::new();
    for event in &in_order {
        let Some(parsed) = parse(event, &session, &mut progress) else { continue };
        reader.read(&parsed, event.timestamp);
        facts.push(parsed);
    }
    let snapshot = reader.shell.snapshot();
    let judge = reader.shell.sink;
    findings.extend(judge.findings);
    // Commands read, the one still open included (it is judged already).
    progress.commands += snapshot.next_seq.saturating_sub(seq_before);
    state.shell = snapshot;
    state.open_seq = judge.open_seq;
    state.open_rules = judge.open_rules;
    for event in &in_order {
        note_event(state, event, &mut progress);
        state.newest = state.newest.max(event.timestamp);
    }
    // A late event has lost its context: read alone, with the prompts the session taught.
    for event in late {
        progress.late += 1;
        note_event(state, event, &mut progress);
        let Some(parsed) = parse(event, &session, &mut progress) else { continue };
        let alone = ShellSnapshot {
            known_prompts: state.shell.known_prompts.clone(),
            ..ShellSnapshot::default()
        };
        let origin = format!("live:{named}:late:{}", event.id);
        let mut reader = judge_reader(analyzer, alone, (0, Vec::new()), origin);
        reader.read(&parsed, event.timestamp);
        let commands = reader.shell.snapshot().next_seq.saturating_sub(1);
        progress.commands += commands;
        state.late_commands += commands;
        findings.extend(reader.shell.sink.findings);
    }
    for parsed in facts {
        note_facts(state, parsed);
    }
    // Counted from the shell, not added up: a command abandoned at the continuation prompt
    // in a later batch is no longer one.
    state.commands = state.shell.next_seq.saturating_sub(1) + state.late_commands;
    let findings = cap_per_rule(state, findings, &mut progress);
    state.findings += findings.len() as u64;
    state.future_events += progress.future;
    state.late_events += progress.late;
    state.skipped_events += progress.skipped;
    state.unreadable_events += progress.unreadable;
    (progress, findings)
}

/// The findings within their rule's cap for the session; the rest counted. A flood of one
/// command (10,000 `curl … | sh`) gives the report's 200 findings, not 10,000 events.
fn cap_per_rule(
    state: &mut LiveState,
    findings: Vec<LiveFinding>,
    progress: &mut Progress,
) -> Vec<LiveFinding> {
    let mut kept = Vec::with_capacity(findings.len());
    for f in findings {
        let count = state.rule_counts.entry(f.finding.rule_id.clone()).or_default();
        if *count < MAX_FINDINGS_PER_RULE {
            *count += 1;
            kept.push(f);
        } else {
            progress.suppressed += 1;
            state.findings_suppressed += 1;
        }
    }
    kept
}

fn note_event(state: &mut LiveState, event: &LogEvent, progress: &mut Progress) {
    progress.read += 1;
    state.events += 1;
    state.seen.push_back((event.timestamp, id_hash(&event.id)));
    while state.seen.len() > MAX_SEEN_EVENTS {
        if let Some((t, _)) = state.seen.pop_front() {
            state.horizon = state.horizon.max(t);
        }
    }
}

fn id_hash(id: &str) -> u64 {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(id.as_bytes());
    u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// The streaming event of `session` in a log event's message; `None` (counted) when it is not
/// one. An event naming another session is not read: the instance role may put events into
/// the log group, so root on the instance could write "commands" into any session's stream.
pub(crate) fn parse(
    event: &LogEvent,
    session: &str,
    progress: &mut Progress,
) -> Option<StreamEvent> {
    let mut out = Vec::new();
    let Ok(value) = serde_json::from_str(&event.message) else {
        progress.unreadable += 1;
        return None;
    };
    let unrecognised = events_in(value, &mut out);
    let event = out.into_iter().next();
    let foreign = event.as_ref().is_some_and(|e| e.session_id.as_deref() != Some(session));
    if unrecognised > 0 || event.is_none() || foreign {
        progress.unreadable += 1;
    }
    event.filter(|_| !foreign)
}

/// Session facts from the first events that carry them.
fn note_facts(state: &mut LiveState, e: StreamEvent) {
    state.target = state.target.take().or(e.target);
    state.user_arn = state.user_arn.take().or(e.user_arn);
    state.run_as = state.run_as.take().or(e.run_as);
    state.region = state.region.take().or(e.region);
    if state.first_event_time.is_none() {
        state.first_event_time = e.event_time.clone();
    }
    if e.event_time.is_some() {
        state.last_event_time = e.event_time;
    }
}

/// What a stream reader's sink hears besides commands and output: each event's time, and the
/// command still open after it (read from this event, judged or stamped at once).
pub(crate) trait StreamSink: ShellSink {
    fn event_time(&mut self, time: &str);
    fn still_open(&mut self, cmd: &Command);
}

/// The screen and shell that read a stream's events (markers ignored: the stream has lost
/// them), over a snapshot of where the last batch left off.
pub(crate) struct StreamShell<S> {
    screen: Screen,
    pub(crate) shell: Shell<S>,
}

impl<S: StreamSink> StreamShell<S> {
    pub(crate) fn new(sink: S, snapshot: ShellSnapshot) -> Self {
        let mut screen = Screen::new();
        screen.ignore_markers();
        StreamShell { screen, shell: Shell::resume(sink, snapshot) }
    }

    /// One streaming event: each of its lines as the terminal showed it.
    pub(crate) fn read(&mut self, event: &StreamEvent, timestamp: i64) {
        let time = event.event_time.clone().unwrap_or_else(|| rfc3339(timestamp));
        self.shell.sink.event_time(&time);
        for line in &event.data {
            // The agent deleted the CR before a prompt drawn after unterminated text (a
            // pager's status line, `read -p`, readline's search): a known prompt inside a
            // line that does not start with one starts a line of its own.
            let split = mid_line_prompt(self.shell.known_prompts(), line);
            let (before, after) = line.split_at(split.map_or(0, |(at, _)| at));
            let before = if split.is_some_and(|(_, keep)| !keep) { "" } else { before };
            for part in [before, after].into_iter().filter(|p| !p.is_empty() || split.is_none()) {
                self.screen.advance(part.as_bytes(), &mut self.shell);
                self.screen.advance(b"\r\n", &mut self.shell);
            }
        }
        if let Some(open) = self.shell.current().cloned() {
            self.shell.sink.still_open(&open);
        }
    }
}

/// Where a learned prompt (of at least 4 bytes: `$ ` alone is too common in output) starts
/// inside `line`, when the line does not itself start with one, and whether the text before it
/// is kept (output) or was only a drawing of the line being edited.
fn mid_line_prompt(prompts: &[String], line: &str) -> Option<(usize, bool)> {
    let usable = || prompts.iter().filter(|p| p.trim_end().len() >= 4);
    if let Some(p) = usable().find(|p| line.starts_with(p.as_str())) {
        // Readline's incremental search redraws the prompt when it ends: the last drawing
        // is the line read. (Elsewhere a prompt's text after a prompt is the command's.)
        let searched = line.contains("-search)`");
        return line.rfind(p.as_str()).filter(|&at| at > 0 && searched).map(|at| (at, false));
    }
    let at = usable().filter_map(|p| line.find(p.as_str())).filter(|&at| at > 0).min()?;
    Some((at, true))
}

/// Reads one batch of a live session and judges it.
fn judge_reader<'a>(
    analyzer: &'a Analyzer,
    snapshot: ShellSnapshot,
    open: (u64, Vec<String>),
    origin: String,
) -> StreamShell<Judge<'a>> {
    let judge = Judge {
        analyzer,
        origin,
        time: String::new(),
        open_seq: open.0,
        open_rules: open.1,
        findings: Vec::new(),
    };
    StreamShell::new(judge, snapshot)
}

/// Judges commands and output lines as they are read; each rule once per command.
struct Judge<'a> {
    analyzer: &'a Analyzer,
    /// `live:<sessionId>`, or `live:<sessionId>:late:<event ID>` for a late event read alone;
    /// with the command's number it makes the finding's origin.
    origin: String,
    time: String,
    open_seq: u64,
    open_rules: Vec<String>,
    findings: Vec<LiveFinding>,
}

impl Judge<'_> {
    fn judge_command(&mut self, cmd: &Command) {
        let rules = &self.analyzer.rules;
        let hits: Vec<_> = rules.match_command(&cmd.text).cloned().collect();
        for rule in hits {
            let evidence = self.analyzer.evidence(&cmd.text);
            self.raise(cmd.seq, rule.finding(evidence, Some(cmd.seq)));
        }
    }

    /// Publish `finding` unless its rule was already published for command `seq`.
    fn raise(&mut self, seq: u64, finding: Finding) {
        if seq != self.open_seq {
            self.open_seq = seq;
            self.open_rules.clear();
        }
        if self.open_rules.contains(&finding.rule_id) {
            return;
        }
        self.open_rules.push(finding.rule_id.clone());
        let origin_id = format!("{}:{seq}", self.origin);
        self.findings.push(LiveFinding { origin_id, time: self.time.clone(), finding });
    }
}

impl StreamSink for Judge<'_> {
    fn event_time(&mut self, time: &str) {
        self.time.clear();
        self.time.push_str(time);
    }
    fn still_open(&mut self, cmd: &Command) {
        self.judge_command(cmd);
    }
}

impl ShellSink for Judge<'_> {
    fn command(&mut self, cmd: &Command) {
        self.judge_command(cmd);
    }

    fn output(&mut self, seq: u64, line: &str) {
        let rules = &self.analyzer.rules;
        let hits: Vec<_> = rules.match_output(line).cloned().collect();
        for rule in hits {
            let evidence = self.analyzer.evidence(line);
            self.raise(seq, rule.finding(evidence, (seq > 0).then_some(seq)));
        }
    }

    fn tamper(&mut self, _: Tamper, _: Option<u64>, _: &str) {}
}

/// `timestamp` (ms since the epoch) as RFC 3339, for an event without `eventTime`.
fn rfc3339(timestamp: i64) -> String {
    jiff::Timestamp::from_millisecond(timestamp)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}
