//! The two channels of one session checked against each other: the S3 transcript (uploaded at
//! session end, from a file root on the instance could edit first) and the CloudWatch stream
//! (sent second by second while the session ran). The report takes each command's `time` from
//! the stream, and a command the stream saw that the transcript lacks is
//! `SA-TRN-CHANNELS-DISAGREE`.
//!
//! The stream's text is damaged by the agent's cleanup (non-ASCII bytes lost, escapes gone), so
//! commands are compared on their printable ASCII only, after the same redaction as the report.

use std::collections::VecDeque;

use crate::live::{parse, LogEvent, Progress, StreamShell, StreamSink};
use crate::redact::Redactor;
use crate::report::{Channels, CommandWriter, ReportCommand};
use crate::transcript::{Command, ShellSink, ShellSnapshot};

/// Stream lines kept for the comparison (their printable ASCII, a few dozen bytes each); a
/// longer session is compared up to here (the report says so).
pub const MAX_STREAM_LINES: usize = 1_000_000;
/// How far ahead in the stream a transcript command is looked for.
const LOOKAHEAD: usize = 64;
/// How far ahead in the stream's lines a transcript command's line is looked for (its time).
const LINE_LOOKAHEAD: usize = 512;
/// Transcript commands after a skipped stream command that may still account for it (a
/// drawing of a line the shell received later, a prompt printed as output).
const PENDING_COMMANDS: u32 = 16;
/// Transcript commands after the stream's last one (none of them in the stream) that say the
/// stream stopped while the session went on. Honest recordings end with at most one (the
/// agent may not stream the very last line before the session closes).
pub const STREAM_STOPPED_AFTER: u64 = 3;

/// A command as the stream showed it: redacted, compared on its printable ASCII.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamCommand {
    /// The redacted text's printable ASCII, compared with the report's (redacted) commands.
    pub key: String,
    /// The text's printable ASCII before redaction, compared with output lines (not stored).
    pub raw_key: String,
    /// The command as the stream showed it (redacted).
    pub text: String,
    /// The `eventTime` of the event that carried it.
    pub time: String,
}

/// One line of the stream (a command line or output), for the commands' times.
#[derive(Debug, Clone, PartialEq, Eq)]
struct StreamLine {
    /// Printable ASCII of the redacted line.
    key: String,
    /// Index into [`StreamCommands::times`].
    time: u32,
}

/// Reads a session's stream, event by event, into its commands and lines.
pub struct StreamReader<'r> {
    shell: StreamShell<Collect<'r>>,
    progress: Progress,
    session: String,
    /// The session's window (milliseconds since the epoch, inclusive): events outside it are
    /// not read, only counted.
    window: (i64, i64),
}

impl<'r> StreamReader<'r> {
    /// A reader of `session`'s stream (events naming another session are not read).
    pub fn new(redactor: &'r Redactor, session: &str) -> Self {
        let sink = Collect { redactor, open: (0, 0), read: StreamCommands::default() };
        StreamReader {
            shell: StreamShell::new(sink, ShellSnapshot::default()),
            progress: Progress::default(),
            session: session.to_string(),
            window: (i64::MIN, i64::MAX),
        }
    }

    /// Read only events timestamped from `from_ms` to `to_ms`: the stream is a witness of the
    /// session while it ran, and anyone with the instance role can add events at any time.
    pub fn within(mut self, from_ms: i64, to_ms: i64) -> Self {
        self.window = (from_ms, to_ms);
        self
    }

    /// Read one event of the stream.
    pub fn feed(&mut self, event: &LogEvent) {
        if event.timestamp < self.window.0 || event.timestamp > self.window.1 {
            self.shell.shell.sink.read.outside += 1;
            return;
        }
        self.shell.shell.sink.read.events += 1;
        if let Some(parsed) = parse(event, &self.session, &mut self.progress) {
            self.shell.read(&parsed, event.timestamp);
        }
    }

    /// The stream's commands (the last one included) and lines.
    pub fn finish(mut self) -> StreamCommands {
        if let Some(cmd) = self.shell.shell.current().cloned() {
            self.shell.shell.sink.command(&cmd);
        }
        std::mem::take(&mut self.shell.shell.sink.read)
    }
}

/// A session's stream, read.
#[derive(Debug, Clone, Default)]
pub struct StreamCommands {
    /// The commands, in order.
    pub commands: VecDeque<StreamCommand>,
    lines: VecDeque<StreamLine>,
    /// The distinct event times, in order.
    times: Vec<String>,
    /// Events read.
    pub events: u64,
    /// Events outside the session's window: not read.
    pub outside: u64,
    /// The stream had more lines than are kept: compared up to there.
    pub cut: bool,
}

impl StreamCommands {
    /// The `eventTime` of the last event read (the session was running then).
    pub fn last_time(&self) -> Option<&str> {
        self.times.last().map(String::as_str)
    }

    fn push_line(&mut self, key: String) {
        if self.lines.len() == MAX_STREAM_LINES {
            self.cut = true;
            return;
        }
        let time = self.times.len().saturating_sub(1) as u32;
        self.lines.push_back(StreamLine { key, time });
    }
}

struct Collect<'r> {
    redactor: &'r Redactor,
    /// The open command's number and the time (index) of the event that carried it.
    open: (u64, u32),
    read: StreamCommands,
}

impl ShellSink for Collect<'_> {
    fn command(&mut self, cmd: &Command) {
        if self.read.cut {
            return;
        }
        let now = self.read.times.len().saturating_sub(1) as u32;
        let at = if cmd.seq == self.open.0 { self.open.1 } else { now };
        let time = self.read.times.get(at as usize).cloned().unwrap_or_default();
        let text = self.redactor.redact(&cmd.text).into_owned();
        let key = comparable(&text);
        let raw_key = comparable(&cmd.text);
        self.read.push_line(key.clone());
        self.read.commands.push_back(StreamCommand { key, raw_key, text, time });
    }
    fn output(&mut self, _: u64, line: &str) {
        if !self.read.cut {
            self.read.push_line(comparable(&self.redactor.redact(line)));
        }
    }
}

impl StreamSink for Collect<'_> {
    fn event_time(&mut self, time: &str) {
        if self.read.times.last().map(String::as_str) != Some(time) {
            self.read.times.push(time.to_string());
        }
    }
    fn still_open(&mut self, cmd: &Command) {
        if cmd.seq != self.open.0 {
            self.open = (cmd.seq, self.read.times.len().saturating_sub(1) as u32);
        }
    }
}

/// The stream's rendering of a line edited with escapes it lost (`ESC [ K` erasing a tail,
/// cursor moves before an overwrite) keeps the characters the shell received, in order, among
/// the ones erased: `transcript` is a subsequence of `stream`, at least half of it. An edit of
/// the transcript that keeps half a command's text in order is not told apart from this.
fn rendered(transcript: &str, stream: &str) -> bool {
    !transcript.is_empty()
        && transcript.len() * 2 >= stream.len()
        && is_subsequence(transcript, stream)
}

/// Every byte of `short` appears in `long`, in order.
fn is_subsequence(short: &str, long: &str) -> bool {
    let mut rest = long.bytes();
    short.bytes().all(|b| rest.any(|l| l == b))
}

/// What two channels agree on: printable ASCII, nothing else.
fn comparable(text: &str) -> String {
    text.chars().filter(char::is_ascii_graphic).collect()
}

/// Whether stream command `s` (its key) was an earlier drawing of the transcript command
/// `text` (key `t`) that came right after it: the line before a completion was inserted, or
/// the first line of a multi-line paste. It ends where `text` goes on inside a word or at a
/// line break, never at a space (that would be another, shorter command).
fn drawn_before(text: &str, t: &str, s: &str) -> bool {
    if s.is_empty() || s.len() >= t.len() || !t.starts_with(s) {
        return false;
    }
    let mut graphic = 0;
    for c in text.chars() {
        if graphic == s.len() {
            return c == '\n' || !c.is_whitespace();
        }
        graphic += usize::from(c.is_ascii_graphic());
    }
    false
}

/// A stream command skipped over, waiting to be accounted for by a later transcript command
/// or output line, else missing from the transcript.
struct Pending {
    cmd: StreamCommand,
    /// Transcript commands seen since it was skipped.
    age: u32,
}

/// A [`CommandWriter`] that stamps each transcript command with its stream time and notes
/// the stream's commands the transcript lacks, then passes it on. Without a stream it only
/// passes commands on.
pub struct Joined<W> {
    /// The writer every command goes on to.
    pub inner: W,
    stream: Option<StreamCommands>,
    channels: Channels,
    pending: Vec<Pending>,
    /// The last transcript commands' keys, for skipped stream commands that are a repeat of
    /// one already written.
    recent: VecDeque<String>,
    /// The first command the stream saw and the transcript lacks.
    first_missing: Option<StreamCommand>,
    /// Transcript commands since the last one the stream also holds, and the first of them.
    trailing: (u64, Option<String>),
    /// The time of the last transcript command the stream holds.
    last_timed: Option<String>,
    scratch: ReportCommand,
}

/// What the comparison found, at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// The counts for the report's stats.
    pub channels: Channels,
    /// The first command the stream saw that the transcript lacks.
    pub first_missing: Option<StreamCommand>,
    /// Transcript commands after the last one the stream holds, and the first of them
    /// (redacted).
    pub trailing: (u64, Option<String>),
    /// The stream time of the last transcript command it holds.
    pub last_timed: Option<String>,
}

impl<W: CommandWriter> Joined<W> {
    /// Commands go on to `inner`, each stamped and checked against `stream` when there is one.
    pub fn new(inner: W, stream: Option<StreamCommands>) -> Self {
        let channels = stream.as_ref().map_or_else(Channels::default, |s| Channels {
            stream_events: s.events,
            stream_commands: s.commands.len() as u64,
            cut: s.cut,
            ..Channels::default()
        });
        Joined {
            inner,
            stream,
            channels,
            pending: Vec::new(),
            recent: VecDeque::new(),
            first_missing: None,
            trailing: (0, None),
            last_timed: None,
            scratch: ReportCommand::default(),
        }
    }

    /// The writer, and the comparison when there was a stream: its commands after the
    /// transcript's last one, and those still pending, are missing from the transcript.
    pub fn finish(mut self) -> (W, Option<Comparison>) {
        let Some(stream) = self.stream.take() else { return (self.inner, None) };
        let rest = self.pending.drain(..).map(|p| p.cmd).collect::<Vec<_>>();
        for cmd in rest.into_iter().chain(stream.commands) {
            self.settle(cmd);
        }
        let comparison = Comparison {
            channels: self.channels,
            first_missing: self.first_missing,
            trailing: self.trailing,
            last_timed: self.last_timed,
        };
        (self.inner, Some(comparison))
    }

    /// A stream command no transcript command matched: accounted for by a recent one, or
    /// missing.
    fn settle(&mut self, cmd: StreamCommand) {
        if self.recent.contains(&cmd.key) {
            self.channels.stream_explained += 1;
        } else {
            self.channels.stream_only += 1;
            self.first_missing.get_or_insert(cmd);
        }
    }

    /// The stream time of the first line ahead holding this command's first line.
    fn time_of(stream: &mut StreamCommands, first: &str) -> Option<String> {
        if first.is_empty() {
            return None;
        }
        let window = stream.lines.len().min(LINE_LOOKAHEAD);
        let holds = |l: &StreamLine| l.key.contains(first) || rendered(first, &l.key);
        let at = (0..window).find(|&i| holds(&stream.lines[i]))?;
        let line = stream.lines.drain(..=at).next_back()?;
        stream.times.get(line.time as usize).cloned()
    }
}

impl<W: CommandWriter> CommandWriter for Joined<W> {
    fn command(&mut self, command: &ReportCommand) -> std::io::Result<()> {
        let Some(stream) = &mut self.stream else { return self.inner.command(command) };
        let key = comparable(&command.command);
        let first = comparable(command.command.lines().next().unwrap_or_default());
        let time = Self::time_of(stream, &first);
        // Which stream command is this one: the next (exactly, or drawn with lost erasures),
        // else the first exact one ahead. The ones skipped wait to be accounted for.
        // The stream drew this command's line before it was complete (a paste's first line).
        while stream.commands.front().is_some_and(|s| drawn_before(&command.command, &key, &s.key))
        {
            stream.commands.pop_front();
            self.channels.stream_explained += 1;
        }
        let window = stream.commands.len().min(LOOKAHEAD);
        let same = |i: usize| stream.commands[i].key == key;
        let at = (window > 0 && (same(0) || rendered(&key, &stream.commands[0].key)))
            .then_some(0)
            .or_else(|| (1..window).find(|&i| same(i)));
        let skipped: Vec<StreamCommand> = match at {
            Some(at) => stream.commands.drain(..=at).take(at).collect(),
            None => Vec::new(),
        };
        self.pending.extend(skipped.into_iter().map(|cmd| Pending { cmd, age: 0 }));
        // This command accounts for pending ones it drew just before; the others age.
        let mut still = Vec::with_capacity(self.pending.len());
        for mut p in std::mem::take(&mut self.pending) {
            let drawn = p.age == 0 && drawn_before(&command.command, &key, &p.cmd.key);
            if drawn || p.cmd.key == key {
                self.channels.stream_explained += 1;
            } else if p.age >= PENDING_COMMANDS {
                self.settle(p.cmd);
            } else {
                p.age += 1;
                still.push(p);
            }
        }
        self.pending = still;
        self.recent.push_back(key);
        if self.recent.len() > PENDING_COMMANDS as usize {
            self.recent.pop_front();
        }
        let Some(time) = time else {
            self.channels.transcript_only += 1;
            self.trailing.0 += 1;
            self.trailing.1.get_or_insert_with(|| command.command.chars().take(200).collect());
            return self.inner.command(command);
        };
        self.channels.timed += 1;
        self.trailing = (0, None);
        self.last_timed = Some(time.clone());
        self.scratch.clone_from(command);
        self.scratch.time = Some(time);
        self.inner.command(&self.scratch)
    }

    fn output(&mut self, seq: u64, line: &str) {
        self.inner.output(seq, line);
        let Some(stream) = &mut self.stream else { return };
        if self.pending.is_empty() && stream.commands.is_empty() {
            return;
        }
        // A prompt a program printed: the stream read it as a command, the transcript shows
        // it as output (the next stream commands, or one skipped over).
        let key = comparable(line);
        let shows = |c: &StreamCommand| !c.raw_key.is_empty() && key.ends_with(c.raw_key.as_str());
        if let Some(i) = self.pending.iter().position(|p| shows(&p.cmd)) {
            self.pending.remove(i);
            self.channels.stream_explained += 1;
        } else if let Some(i) = stream.commands.iter().take(4).position(shows) {
            stream.commands.remove(i);
            self.channels.stream_explained += 1;
        }
    }
}

impl Comparison {
    /// A warning when the stream was read but none of its lines read as a command while the
    /// transcript has some (a prompt no pattern knows): nothing could be compared, and a
    /// deletion from the transcript would go unnoticed.
    pub fn not_compared(&self, transcript_commands: u64) -> Option<String> {
        (self.channels.stream_events > 0
            && self.channels.stream_commands == 0
            && transcript_commands > 0)
            .then(|| format!("the CloudWatch stream ({} events) held no line read as a command (its prompt is not recognised): the transcript's {transcript_commands} commands were not checked against it", self.channels.stream_events))
    }

    /// The evidence of `SA-TRN-STREAM-STOPPED`: the stream was read, and the transcript goes
    /// on for [`STREAM_STOPPED_AFTER`] or more commands after the last one the stream holds
    /// (the stream was cut — its endpoint routed away, the agent's streaming stopped — while the
    /// session went on, so only the transcript, which root can edit, holds the rest).
    pub fn stream_stopped(&self) -> Option<String> {
        let (count, first) = &self.trailing;
        if self.channels.stream_events == 0 || *count < STREAM_STOPPED_AFTER {
            return None;
        }
        let since = match &self.last_timed {
            Some(t) => format!("after its command at {t}"),
            None => "before any command the transcript holds".to_string(),
        };
        Some(format!(
            "the CloudWatch stream ({} events) has nothing {since}, while the S3 transcript goes \
             on for {count} more command(s), from `{}`: those are in the transcript only",
            self.channels.stream_events,
            first.as_deref().unwrap_or_default()
        ))
    }

    /// The evidence of `SA-TRN-CHANNELS-DISAGREE`, when the transcript lacks stream commands.
    pub fn disagreement(&self) -> Option<String> {
        let first = self.first_missing.as_ref()?;
        let text: String = first.text.chars().take(200).collect();
        Some(format!(
            "the CloudWatch stream holds `{text}` at {}, which the S3 transcript does not ({} stream command(s) only in the stream; {} transcript commands matched and timed by it): the channels disagree — the transcript file changed before upload, it was cut, or the stream holds events the session's shell did not print",
            first.time, self.channels.stream_only, self.channels.timed
        ))
    }
}
