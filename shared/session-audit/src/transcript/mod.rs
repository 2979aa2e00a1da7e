//! Transcript reconstruction: raw Session Manager logs in, the commands a person ran out.
//!
//! [`Engine`] is fed bytes in chunks of any size (an S3 body stream, stdin, a file) and keeps
//! a bounded amount of state: the first [`format::SNIFF_BYTES`] until the format is known,
//! then one terminal line and one command. Commands go to a [`ShellSink`] as they finish.

pub mod agent_stream;
pub mod cloudwatch;
mod clusters;
mod fc_file;
pub mod format;
mod history;
mod pen;
mod pipeline;
pub mod rows;
mod scan;
pub mod screen;
mod sequences;
pub mod shell;

use serde::Serialize;

pub use format::{Format, ScriptHeader};
pub use pipeline::read_on_two_threads;
pub use screen::{LineFlags, Screen, ScreenListener};
pub use shell::{
    Command, Preamble, PromptStyle, Shell, ShellSink, ShellSnapshot, ShellStats, Tamper,
};

use cloudwatch::{JsonProblem, JsonValues, StreamEvent};

/// Session facts carried by CloudWatch streaming events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StreamMeta {
    /// The session ID the events name.
    pub session_id: Option<String>,
    /// The instance they name.
    pub target: Option<String>,
    /// Their `userIdentity.arn`.
    pub user_arn: Option<String>,
    /// The OS user the session ran as.
    pub run_as: Option<String>,
    /// The first event's `eventTime`.
    pub first_event_time: Option<String>,
    /// The last event's `eventTime`.
    pub last_event_time: Option<String>,
    /// Events read.
    pub events: u64,
}

/// Everything the engine learned about the transcript besides its commands.
#[derive(Debug, Clone, PartialEq)]
pub struct TranscriptInfo {
    /// The format detected.
    pub format: Format,
    /// The `script` header, when there was one.
    pub header: Option<ScriptHeader>,
    /// Time on the `Script done on …` footer, when there was one.
    pub footer_time: Option<String>,
    /// A `script` transcript without its footer was cut off (upload interrupted, disk full).
    pub truncated: bool,
    /// Why the input is not a transcript at all.
    pub unparseable: Option<String>,
    /// Bytes read.
    pub bytes: u64,
    /// Lines read.
    pub lines: u64,
    /// The terminal width learned.
    pub width: Option<usize>,
    /// What the CloudWatch events said about the session, for a CloudWatch export.
    pub stream: Option<StreamMeta>,
    /// What the shell layer counted.
    pub shell: ShellStats,
    /// What could not be read as expected, in words.
    pub warnings: Vec<String>,
}

enum Mode {
    Sniffing(Vec<u8>),
    Terminal,
    CloudWatch(JsonValues),
    Ignore,
}

/// Where the screen's lines go: the shell layer ([`Framing`]), or a log of them that is
/// played to it on another thread ([`pipeline::LineLog`]).
pub(crate) trait Lines: ScreenListener {
    /// The format is known: how its shell prompts and what comes before the shell.
    fn configure(&mut self, style: PromptStyle, preamble: Preamble);
}

/// The streaming transcript engine.
pub struct Engine<S: ShellSink> {
    reader: Reader<Framing<S>>,
}

impl<S: ShellSink> Engine<S> {
    /// An engine sending commands to `sink`.
    pub fn new(sink: S) -> Self {
        Engine { reader: Reader::new(Framing::new(sink)) }
    }

    /// The sink, to drain what it collected between feeds.
    pub fn sink(&mut self) -> &mut S {
        &mut self.reader.lines.shell.sink
    }

    /// Feed the next bytes of the transcript.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.reader.feed(bytes);
    }

    /// End of input: flush everything and return what was learned.
    pub fn finish(self) -> (TranscriptInfo, S) {
        let (read, framing) = self.reader.finish();
        framing.conclude(read)
    }
}

/// Between the screen and the shell: takes the `script` footer out of the content.
struct Framing<S: ShellSink> {
    shell: Shell<S>,
    footer: Option<Option<String>>,
    /// The footer landed on a line editor's open prompt: the session ended there.
    footer_in_region: bool,
    lines: u64,
    overflowed: u64,
}

impl<S: ShellSink> ScreenListener for Framing<S> {
    fn line(&mut self, text: &str, input: bool, input_from: usize, flags: LineFlags) {
        self.lines += 1;
        self.overflowed += u64::from(flags.overflowed);
        // The footer `script` appends can land inside a line-editor region still open (a
        // session ended at its prompt): it is the footer there too, never a command.
        if let Some(time) = format::parse_footer(text).filter(|t| !input || t.is_some()) {
            self.footer = Some(time);
            self.footer_in_region = input;
            return;
        }
        if !input && self.footer.is_some() && !shell::is_blank(text) {
            self.footer = None; // more content after a footer: it did not end the file
        }
        self.shell.line(text, input, input_from, flags);
    }
    fn input_begin(&mut self) {
        self.shell.input_begin();
    }
    fn input_end(&mut self, pending: &str) {
        if std::mem::take(&mut self.footer_in_region) {
            // The line editor never returned (that turns the markers off): whatever was
            // typed there, the footer's line feed included, was not submitted.
            self.shell.input_cut();
        } else {
            self.shell.input_end(pending);
        }
    }
    fn alternate_screen(&mut self, entered: bool) {
        self.shell.alternate_screen(entered);
    }
    fn title(&mut self, text: &str) {
        self.shell.title(text);
    }
    fn submitted_row_hidden(&mut self, what: rows::Unseen) {
        self.shell.submitted_row_hidden(what);
    }
    fn history_edited(&mut self) {
        self.shell.history_edited();
    }
    fn joined_at(&mut self, columns: &[u16]) {
        self.shell.joined_at(columns);
    }
    fn full_screen_left(&mut self, last_line: &str) {
        self.shell.full_screen_left(last_line);
    }
}

impl<S: ShellSink> Lines for Framing<S> {
    fn configure(&mut self, style: PromptStyle, preamble: Preamble) {
        self.shell.configure(style, preamble);
    }
}

impl<S: ShellSink> Framing<S> {
    fn new(sink: S) -> Self {
        Framing {
            shell: Shell::new(sink, PromptStyle::Unix, Preamble::None),
            footer: None,
            footer_in_region: false,
            lines: 0,
            overflowed: 0,
        }
    }

    /// Every line heard: the shell's last command, the footer, and the warnings, in the
    /// order a report lists them.
    fn conclude(mut self, read: ReadFacts) -> (TranscriptInfo, S) {
        let mut info = read.info;
        info.shell = self.shell.finish();
        info.lines = self.lines;
        if matches!(info.format, Format::LinuxScript | Format::LegacyAgentScript) {
            match self.footer.take() {
                Some(time) => info.footer_time = time,
                None => info.truncated = true,
            }
        }
        let warnings = &mut info.warnings;
        warnings.extend_from_slice(self.shell.notes());
        if read.json_problems > 0 {
            warnings.push(format!(
                "{} CloudWatch JSON value(s) could not be read (invalid or over 64 MiB)",
                read.json_problems
            ));
        }
        if read.unrecognised_values > 0 {
            warnings.push(format!(
                "{} JSON value(s) were not Session Manager streaming events",
                read.unrecognised_values
            ));
        }
        if self.overflowed > 0 {
            warnings.push(format!(
                "{} line(s) longer than {} characters were cut",
                self.overflowed,
                screen::MAX_LINE_CHARS
            ));
        }
        if read.in_alternate_screen {
            warnings.push("the transcript ends inside a full-screen program".to_string());
        }
        if info.truncated {
            warnings.push("no `Script done on` footer: the transcript was cut off".to_string());
        }
        (info, self.shell.sink)
    }
}

/// The format, the terminal and CloudWatch's events: everything before the shell layer.
struct Reader<L: Lines> {
    mode: Mode,
    screen: Screen,
    lines: L,
    info: TranscriptInfo,
    json_problems: u64,
    unrecognised_values: u64,
}

/// What the [`Reader`] learned, for [`Framing::conclude`].
struct ReadFacts {
    info: TranscriptInfo,
    json_problems: u64,
    unrecognised_values: u64,
    in_alternate_screen: bool,
}

impl<L: Lines> Reader<L> {
    fn new(lines: L) -> Self {
        Reader {
            mode: Mode::Sniffing(Vec::with_capacity(format::SNIFF_BYTES)),
            screen: Screen::new(),
            lines,
            info: TranscriptInfo {
                format: Format::Unparseable,
                header: None,
                footer_time: None,
                truncated: false,
                unparseable: None,
                bytes: 0,
                lines: 0,
                width: None,
                stream: None,
                shell: ShellStats::default(),
                warnings: Vec::new(),
            },
            json_problems: 0,
            unrecognised_values: 0,
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.info.bytes += bytes.len() as u64;
        if let Mode::Sniffing(buf) = &mut self.mode {
            let take = (format::SNIFF_BYTES - buf.len()).min(bytes.len());
            buf.extend_from_slice(&bytes[..take]);
            if buf.len() < format::SNIFF_BYTES {
                return;
            }
            self.decide();
            self.process(&bytes[take..]);
            return;
        }
        self.process(bytes);
    }

    /// The same reading, its lines now going to `lines`; the old listener back.
    fn replace_lines<M: Lines>(self, lines: M) -> (Reader<M>, L) {
        let Reader { mode, screen, lines: old, info, json_problems, unrecognised_values } = self;
        (Reader { mode, screen, lines, info, json_problems, unrecognised_values }, old)
    }

    /// End of input: the last line to `lines`, and what was learned.
    fn finish(mut self) -> (ReadFacts, L) {
        if matches!(self.mode, Mode::Sniffing(_)) {
            self.decide();
        }
        self.process_json(|json, sink| json.finish(sink));
        self.screen.finish(&mut self.lines);
        self.info.width = self.screen.width();
        let read = ReadFacts {
            info: self.info,
            json_problems: self.json_problems,
            unrecognised_values: self.unrecognised_values,
            in_alternate_screen: self.screen.in_alternate_screen(),
        };
        (read, self.lines)
    }

    fn decide(&mut self) {
        let Mode::Sniffing(prefix) = std::mem::replace(&mut self.mode, Mode::Ignore) else {
            return;
        };
        let detected = format::detect(&prefix);
        let after_header = &prefix[detected.skip.min(prefix.len())..];
        if detected.header.is_some() && format::binary_reason(after_header).is_some() {
            self.info.warnings.push(
                "binary output (a program printed non-text bytes): read as terminal output"
                    .to_string(),
            );
        }
        self.info.format = detected.format;
        self.info.header = detected.header;
        let (style, preamble) = match detected.format {
            Format::PowerShell => {
                self.info.warnings.push(
                    "Windows PowerShell transcript: best-effort parsing of `PS …>` prompt lines"
                        .to_string(),
                );
                (PromptStyle::PowerShell, Preamble::None)
            }
            Format::LegacyAgentScript => (PromptStyle::Unix, Preamble::LegacyAgentLogger),
            _ => (PromptStyle::Unix, Preamble::None),
        };
        self.lines.configure(style, preamble);
        if let Some(cols) = self.info.header.as_ref().and_then(|h| h.columns) {
            self.screen.set_width_hint(cols);
        }
        self.mode = match detected.format {
            Format::Unparseable => {
                self.info.unparseable = detected.reason;
                Mode::Ignore
            }
            Format::CloudWatchJson => {
                self.screen.ignore_markers();
                Mode::CloudWatch(JsonValues::default())
            }
            Format::RawTerminal => {
                self.info.warnings.push(
                    "no `Script started on` header: analysed as raw terminal output".to_string(),
                );
                Mode::Terminal
            }
            _ => Mode::Terminal,
        };
        self.process(&prefix[detected.skip.min(prefix.len())..]);
    }

    fn process(&mut self, bytes: &[u8]) {
        match &mut self.mode {
            Mode::Terminal => self.screen.advance(bytes, &mut self.lines),
            Mode::CloudWatch(_) => self.process_json(|json, sink| json.feed(bytes, sink)),
            Mode::Sniffing(_) | Mode::Ignore => {}
        }
    }

    /// Run the JSON splitter (feed or finish) and play the events it completed.
    fn process_json(
        &mut self,
        step: impl FnOnce(&mut JsonValues, &mut dyn FnMut(Result<serde_json::Value, JsonProblem>)),
    ) {
        let Mode::CloudWatch(json) = &mut self.mode else { return };
        let mut events = Vec::new();
        let (mut problems, mut unrecognised) = (0u64, 0u64);
        step(json, &mut |value| match value {
            Ok(v) => unrecognised += cloudwatch::events_in(v, &mut events) as u64,
            Err(_) => problems += 1,
        });
        self.json_problems += problems;
        self.unrecognised_values += unrecognised;
        self.play_events(events);
    }

    fn play_events(&mut self, events: Vec<StreamEvent>) {
        for event in events {
            let meta = self.info.stream.get_or_insert_with(StreamMeta::default);
            meta.events += 1;
            fill(&mut meta.session_id, event.session_id);
            fill(&mut meta.target, event.target);
            fill(&mut meta.user_arn, event.user_arn);
            fill(&mut meta.run_as, event.run_as);
            if meta.first_event_time.is_none() {
                meta.first_event_time = event.event_time.clone();
            }
            if event.event_time.is_some() {
                meta.last_event_time = event.event_time;
            }
            for chunk in &event.data {
                self.screen.advance(chunk.as_bytes(), &mut self.lines);
                self.screen.advance(b"\r\n", &mut self.lines);
            }
        }
    }
}

fn fill(slot: &mut Option<String>, value: Option<String>) {
    if slot.is_none() {
        *slot = value;
    }
}
