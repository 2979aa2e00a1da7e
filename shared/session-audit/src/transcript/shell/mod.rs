//! From screen lines to commands: prompts, continuation lines, output, abandoned input.
//!
//! Two sources of truth, best first:
//! * **Line-editor markers.** bash 5.1+ (Amazon Linux 2023's `sh-5.2$`, RHEL 9, Ubuntu 22.04+)
//!   turns bracketed paste on while readline reads a line and off when it returns. The last
//!   line submitted inside that region is exactly the line bash received; a region closed
//!   without a line feed was abandoned (Ctrl-C). Nothing outside a region is a command.
//! * **Prompt patterns.** dash, old bash and PowerShell leave no markers; a line that starts
//!   with the session's prompt is a command line. Confidence says which source was used.

use serde::{Deserialize, Serialize};

mod ahead;
mod foreground;
mod hidden;
mod prompt;
mod ps1;
mod reason;
mod region_row;
mod repeated;
mod switch;
mod syntax;
mod takeover;

use super::history::{self, Recent};
use super::rows::Unseen;
use super::screen::{LineFlags, ScreenListener};
use ahead::{bare_prompts, Early};
use hidden::{AwayStretch, Hidden};
pub(crate) use prompt::is_blank;
pub use prompt::PromptStyle;
use prompt::{is_banner_rule, is_continuation_prompt, Prompts, MAX_PROMPT_CHARS, UNIX_PROMPT};
pub use ps1::Template;
use reason::Reason;
use region_row::{row_joins, RegionRow};
use switch::{
    holds_marker_word, leaves_the_shell, may_start_a_shell, runs_as_root_via_sudo, EDITOR_OFF,
    SPELLED_MARKER,
};
use syntax::{join_continuation, Reading};
use takeover::{Held, Writer};

/// A command as the shell received it, before redaction and rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Command {
    /// The command's position in the session, from 1.
    pub seq: u64,
    /// The command line as the shell received it (continuation lines joined).
    pub text: String,
    /// The prompt it was typed at.
    pub prompt: String,
    /// How sure the reconstruction is: 1 when the line editor's markers delimited it.
    pub confidence: f32,
    /// Why confidence is below 1, `; `-separated.
    pub reason: Option<String>,
    /// Non-blank output lines that followed (a full-screen program's screen is not output).
    pub output_lines: u64,
    /// Ran with root privileges: a root prompt (`#`) or a `sudo` command (not `-u` another user).
    pub privileged: bool,
    /// The command switched to the alternate screen (an editor, pager, `top`).
    pub fullscreen: bool,
    /// Where it was seen when that is not the main screen: `alternate_screen` (a shell
    /// hidden there by hand, or by a prompt that switches screens). Not kept in a
    /// [`ShellSnapshot`]: the CloudWatch stream has lost the escapes that show it.
    #[serde(skip)]
    pub seen_in: Option<&'static str>,
}

/// What a shell read by its prompts (the CloudWatch stream: markers stripped) must remember
/// between two pieces of one session read apart (two Lambda invocations): the prompts it
/// learned and the command still open. Small and bounded (16 prompts, one command).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ShellSnapshot {
    /// Prompts learned so far (at most 16).
    pub known_prompts: Vec<String>,
    /// The command still open (waiting for continuation lines or its output's end).
    pub current: Option<Command>,
    /// Whether a command line is open (more lines may join it).
    pub open: bool,
    /// The next command's sequence number.
    pub next_seq: u64,
    /// Whether a prompt has been seen (output before the first prompt is not a command's).
    pub prompt_seen: bool,
    /// Lines typed and never submitted so far.
    pub abandoned: u64,
    /// The prompt the last `PS1=` typed draws, where one was (see `ps1.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ps1: Option<Template>,
    /// The last line of no known prompt shape read whole as a command (see `repeated.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsplit: Option<String>,
    /// A prompt of no usual shape was learned from two lines (see `repeated.rs`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unusual_prompts: bool,
    /// The open command may hold a history reference bash cannot expand, and no output has
    /// come yet: its first line may be bash's error (the command then never ran).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub may_fail_expansion: bool,
}

/// What the shell layer saw a person do to the transcript itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// A line editor region (prompt and markers) printed by a command, not read by a shell.
    ForgedPrompt,
    /// A command line the terminal did not show as it was typed, or erased or wrote over
    /// after it was submitted: what hid it.
    NotShown(&'static str),
}

/// Where finished commands and output lines go.
pub trait ShellSink {
    /// A finished command. Borrowed: the shell reuses its buffers for the next one.
    fn command(&mut self, command: &Command);
    /// One non-blank output line of command `seq` (0 = before the first command).
    fn output(&mut self, seq: u64, line: &str);
    /// Evidence of tampering, about command `seq` (the one that did it), with what was seen.
    fn tamper(&mut self, _kind: Tamper, _seq: Option<u64>, _evidence: &str) {}
    /// What was typed at the prompt of the program command `seq` started (its input, sent as
    /// that command's output line too). A shell whose prompt looks like a program's would
    /// hide its commands here: the command rules read it.
    fn program_input(&mut self, _seq: u64, _typed: &str) {}
    /// What was typed as command `seq` before an editor replaced it (Ctrl-X Ctrl-E, `fc`):
    /// the screen only says an editor showed bash's file, which a command can fake, so the
    /// command rules read what was typed too.
    fn edited_away(&mut self, _seq: u64, _typed: &str) {}
    /// Said just before [`ShellSink::command`] of a command read as going on past the
    /// terminal's last line ([`LineFlags::joined_at_margin`]): where in its text (bytes,
    /// ascending) a row that filled the width was read as going on. Each may be where one line
    /// ended and the next began, so what starts there is judged as a command too. (Not part
    /// of [`Command`], which every command moves: nearly none has any.)
    fn command_joins(&mut self, _joins: &[u32]) {}
    /// A line typed at a prompt that bash said it could not expand (`!x: event not found`):
    /// nothing of it ran and it is no command. The command rules read it: the error could
    /// have been printed by what ran.
    fn not_expanded(&mut self, _typed: &str) {}
    /// What a full-screen program command `seq` started ran from its command line: it left its
    /// screen with that line drawn and came back (vim's `:!cmd`, less's `!cmd`; the part after
    /// the first `!`). The command rules read it.
    fn run_from_program(&mut self, _seq: u64, _typed: &str) {}
    /// A line printed after the first line bash echoed from the file edited for command `seq`
    /// (see [`ShellSink::edited_away`]), before the next prompt: bash echoes each further line
    /// of that file before it runs it, among their output, so the command rules read it.
    fn after_edit(&mut self, _seq: u64, _line: &str) {}
}

/// What the transcript source adds around the user's shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preamble {
    /// Nothing: the user's shell from the first byte.
    None,
    /// Pre-2020 agents ran `ssm-session-logger` in a root shell first and `exit`ed it last.
    LegacyAgentLogger,
}

/// Warnings naming a command that printed prompt lines or after which lines were typed
/// unseen, at most (a session doing it after every command must not grow its report): the
/// rest are counted in one more.
const MAX_NOTES: usize = 10;
const LEGACY_PREAMBLE_MAX_LINES: usize = 40;
/// Bytes one line-editor region's rows hold until it ends, allocated (a paste of ten thousand
/// lines fits; the analysis' heap stays within 4 MiB: `tests/bounded_memory.rs`).
const MAX_REGION_BYTES: usize = 1 << 20;
/// A command read from bash's edited file grows by the lines echoed for it up to this many
/// bytes (an editor's signal can be faked, and what follows it printed without end).
const MAX_EDITED_COMMAND_BYTES: usize = 64 * 1024;

/// The shell layer. It is a [`ScreenListener`]; finished commands go to its sink.
pub struct Shell<S> {
    /// Where finished commands go.
    pub sink: S,
    style: PromptStyle,
    preamble: Preamble,
    preamble_lines: usize,
    wrapper_prompt: Option<String>,
    markers_seen: bool,
    /// The rows of the open line-editor region (the screen sends them when it ends, or
    /// sooner when they are more than a screen holds).
    region: Vec<RegionRow>,
    /// The columns the screen said the next line was read as going on at.
    next_joins: Vec<u16>,
    /// Where the line about to be submitted was read as going on (bytes of that line).
    joins: Vec<u32>,
    /// Where the current command's text was read as going on (see [`ShellSink::command_joins`]).
    current_joins: Vec<u32>,
    /// Bytes of `region`'s rows, and rows not kept past [`MAX_REGION_BYTES`] (said in a note).
    region_bytes: usize,
    region_rows_left_out: usize,
    current: Option<Command>,
    /// The current command was just submitted and nothing has been printed since, so a
    /// continuation prompt (`> `) extends it.
    open: bool,
    /// The prompts this shell showed, and the one a typed `PS1=` draws.
    prompts: Prompts,
    in_banner: bool,
    prompt_seen: bool,
    next_seq: u64,
    abandoned: u64,
    /// The line editor was turned off: read command lines by their prompt until it is back.
    editor_off: bool,
    /// A command was read by its prompt (a shell without markers ran in this session), so a
    /// marked shell's `exit` may return to it.
    read_unmarked: bool,
    /// The line being submitted is the part of a line after output (see [`Prompts::glued`]).
    glued: bool,
    /// The current command's text when it spells line-editor markers out: a region whose line
    /// is written in it was printed by the command, not read by a shell.
    spelled: Option<String>,
    /// The current command may hold a history reference (`!!`) or be `fc -s`: bash prints
    /// the line it runs before its output.
    expands: bool,
    /// The current command may hold a history reference bash cannot expand: its first output
    /// line may be bash's error instead (with or without markers).
    may_fail_expansion: bool,
    /// The last marked line whose prompt was of no known shape, read whole as the shell's
    /// command: the next such line may show where the prompt ends (see [`repeated`]).
    unsplit: Option<String>,
    /// Without markers, that line, to be read again as a command before the line that showed
    /// its prompt (see [`Self::unmarked_repetition`]).
    mend: Option<String>,
    /// Without markers, a prompt of no usual shape was learned so: the known prompts are
    /// compared word by word with lines of no known shape (only then: it costs).
    unusual_prompts: bool,
    /// An editor on the current command line (bash's `fc` file) closed: bash echoes the first
    /// line it runs from the file next.
    edited: bool,
    /// The current command ran bash's edited file: its output lines may be that file's
    /// further lines, echoed as bash runs them (until the next command or prompt).
    ran_edited_file: bool,
    /// The first line bash echoed from that file opened a command (a `for`, a quote) it reads
    /// on before running anything: the lines it echoes next are that command's.
    edited_open: Option<Reading>,
    /// What the current command's full-screen program last drew on a line as it left the
    /// alternate screen: what was typed on its command line, if it comes back (see
    /// [`ScreenListener::full_screen_left`]).
    left_with: Option<String>,
    /// The last commands read with markers, which history references point into.
    recent: Recent,
    /// A command turned history expansion off (`set +H`): a line after a `!…` is then the
    /// command's own output, never taken as bash's expansion of it or as printed instead of
    /// running (`:p`).
    expansion_off: bool,
    /// Lines submitted that never reached the screen (see [`hidden`]).
    hidden: Hidden,
    /// Lines before the first prompt, until it shows whether the shell read them (see
    /// [`ahead`]); `None` from then on.
    early: Option<Early>,
    /// Lines echoed before the first prompt that a line editor showed again: the commands
    /// read with markers that match them say where they came from.
    echoed_ahead: Vec<String>,
    /// The prompts commands were submitted at: whose prompt is active (see [`foreground`]).
    shell_prompts: foreground::ShellPrompts,
    program_inputs: u64,
    /// Lines outside regions held since one shaped as a shell's prompt (see [`takeover`]).
    held: Option<Held>,
    /// Commands are being read from a shell without markers that took over unannounced.
    taken_over: bool,
    printed_prompts: u64,
    /// Parse warnings: stretches of prompt-shaped lines read as a command's output, and of
    /// lines typed while the shell's echo went elsewhere.
    notes: Vec<String>,
    /// Such stretches past [`MAX_NOTES`].
    notes_left_out: u64,
    /// Buffers handed back after use, for the next command and region row (no allocation
    /// per command in a long session).
    spare_command: Option<Command>,
    spare_row: String,
}

/// Counts the shell layer reports at the end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShellStats {
    /// Lines typed and never submitted (Ctrl-C, an abandoned paste).
    pub abandoned_lines: u64,
    /// Lines submitted with nothing of them on screen (a prompt, then output): echo off.
    pub hidden_inputs: u64,
    /// Whether the line editor's markers were seen.
    pub markers_seen: bool,
    /// A shell prompt was recognised at least once (an empty session still has one).
    pub prompts_seen: bool,
    /// Lines typed to a program's own line editor (sqlite3, psql, bc, a REPL): its input,
    /// kept as the output of the command that started it, never as commands.
    pub program_inputs: u64,
    /// Lines shaped as a shell prompt and a command that a running command printed (the
    /// same shell prompted again with its markers): read as that command's output.
    pub printed_prompt_lines: u64,
}

impl<S: ShellSink> Shell<S> {
    /// A shell layer sending commands to `sink`.
    pub fn new(sink: S, style: PromptStyle, preamble: Preamble) -> Self {
        Shell {
            sink,
            style,
            preamble,
            preamble_lines: 0,
            wrapper_prompt: None,
            markers_seen: false,
            region: Vec::new(),
            next_joins: Vec::new(),
            joins: Vec::new(),
            current_joins: Vec::new(),
            region_bytes: 0,
            region_rows_left_out: 0,
            current: None,
            open: false,
            prompts: Prompts::default(),
            in_banner: false,
            prompt_seen: false,
            next_seq: 1,
            abandoned: 0,
            editor_off: false,
            read_unmarked: false,
            glued: false,
            spelled: None,
            expands: false,
            may_fail_expansion: false,
            edited: false,
            ran_edited_file: false,
            edited_open: None,
            left_with: None,
            unsplit: None,
            mend: None,
            unusual_prompts: false,
            recent: Recent::default(),
            expansion_off: false,
            hidden: Hidden::default(),
            early: Some(Early::default()),
            echoed_ahead: Vec::new(),
            shell_prompts: foreground::ShellPrompts::default(),
            program_inputs: 0,
            held: None,
            taken_over: false,
            printed_prompts: 0,
            notes: Vec::new(),
            notes_left_out: 0,
            spare_command: None,
            spare_row: String::new(),
        }
    }

    /// A shell that goes on where `snapshot` left off (see [`ShellSnapshot`]).
    pub fn resume(sink: S, snapshot: ShellSnapshot) -> Self {
        let mut shell = Shell::new(sink, PromptStyle::Unix, Preamble::None);
        shell.prompts = Prompts::resume(snapshot.known_prompts, snapshot.ps1);
        shell.current = snapshot.current;
        shell.open = snapshot.open;
        shell.next_seq = snapshot.next_seq.max(1);
        shell.prompt_seen = snapshot.prompt_seen;
        shell.abandoned = snapshot.abandoned;
        shell.unsplit = snapshot.unsplit;
        shell.unusual_prompts = snapshot.unusual_prompts;
        shell.may_fail_expansion = snapshot.may_fail_expansion;
        shell.early = None; // a piece of a session read apart: its start was read before
        shell
    }

    /// What [`Shell::resume`] needs to go on; the open command stays open (not sent).
    pub fn snapshot(&self) -> ShellSnapshot {
        ShellSnapshot {
            known_prompts: self.prompts.known().to_vec(),
            current: self.current.clone(),
            open: self.open,
            next_seq: self.next_seq,
            prompt_seen: self.prompt_seen,
            abandoned: self.abandoned,
            ps1: self.prompts.ps1().cloned(),
            unsplit: self.unsplit.clone(),
            unusual_prompts: self.unusual_prompts,
            may_fail_expansion: self.may_fail_expansion,
        }
    }

    /// The prompts learned so far (newest last).
    pub fn known_prompts(&self) -> &[String] {
        self.prompts.known()
    }

    /// The command read last, not yet sent to the sink (more continuation lines may follow).
    pub fn current(&self) -> Option<&Command> {
        self.current.as_ref()
    }

    /// Set what the format detection found, before the first line arrives.
    pub fn configure(&mut self, style: PromptStyle, preamble: Preamble) {
        self.style = style;
        self.preamble = preamble;
    }

    /// The session ended while the line editor was still reading (a region the shell never
    /// closed): what was typed there was not submitted, like a line left with Ctrl-C; a
    /// command still open at a continuation prompt never ran.
    pub fn input_cut(&mut self) {
        let mut rows = std::mem::take(&mut self.region);
        let start = self.edited_row(&rows).unwrap_or(0);
        let typed = rows.drain(..).nth(start).map(|row| row.text).unwrap_or_default();
        self.input_end(&typed);
    }

    /// Emit the last command. Call once, after the screen has flushed its last line.
    pub fn finish(&mut self) -> ShellStats {
        if let (Preamble::LegacyAgentLogger, Some(cmd)) = (self.preamble, &self.current) {
            if cmd.text == "exit" && self.wrapper_prompt.as_deref() == Some(cmd.prompt.as_str()) {
                self.current = None; // the agent's own exit from its wrapper shell
                self.next_seq -= 1;
            }
        }
        if self.held.is_some() {
            // No marked prompt came back: a shell without markers read them.
            self.release_held(Writer::ShellWithoutMarkers);
        }
        if let Some(stretch) = self.hidden.finish() {
            self.note_echo_away(stretch);
        }
        self.close_early("", 0);
        if self.notes_left_out > 0 {
            let n = std::mem::take(&mut self.notes_left_out);
            self.notes.push(format!("{n} more stretch(es) like the ones above: left out of the warnings (counted in printed_prompt_lines and hidden_inputs)"));
        }
        self.flush_current();
        ShellStats {
            abandoned_lines: self.abandoned,
            hidden_inputs: self.hidden.count(),
            markers_seen: self.markers_seen,
            prompts_seen: self.markers_seen || self.prompt_seen,
            program_inputs: self.program_inputs,
            printed_prompt_lines: self.printed_prompts,
        }
    }

    /// Why some lines were read the way they were (warnings for the report).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    fn flush_current(&mut self) {
        if let Some(cmd) = self.current.take() {
            if !self.current_joins.is_empty() {
                self.sink.command_joins(&self.current_joins);
            }
            self.sink.command(&cmd);
            self.recent.push(&cmd.text);
            self.spare_command = Some(cmd);
        }
        self.open = false;
    }

    /// Lines the pre-2020 agent printed before the user's shell started.
    fn skip_preamble(&mut self, text: &str) -> bool {
        if self.preamble != Preamble::LegacyAgentLogger
            || self.preamble_lines >= LEGACY_PREAMBLE_MAX_LINES
        {
            return false;
        }
        self.preamble_lines += 1;
        if self.wrapper_prompt.is_none() {
            if let Some(at) = text.find("/usr/bin/ssm-session-logger") {
                self.wrapper_prompt = Some(text[..at].to_string());
            }
        }
        if text.contains("New Seelog Logger Creation Complete") {
            self.preamble_lines = LEGACY_PREAMBLE_MAX_LINES;
        }
        true
    }

    fn output_line(&mut self, text: &str) {
        if is_blank(text) {
            return;
        }
        if let (Some(early), None) = (&mut self.early, &self.current) {
            if self.style == PromptStyle::Unix && early.push(text) {
                return;
            }
            self.close_early("", 0);
        }
        self.open = false;
        if let (Some(reading), Some(cmd)) = (&mut self.edited_open, &mut self.current) {
            // bash reads a whole command from the file before it runs it: nothing is printed
            // between the lines it echoes for it.
            cmd.text.push('\n');
            cmd.text.push_str(text);
            reading.line(text);
            if !reading.needs_more() || cmd.text.len() > MAX_EDITED_COMMAND_BYTES {
                self.edited_open = None;
            }
            return;
        }
        if self.ran_edited_file {
            if let Some(seq) = self.current.as_ref().map(|cmd| cmd.seq) {
                self.sink.after_edit(seq, text);
            }
        }
        if std::mem::take(&mut self.edited) {
            if let Some(cmd) = &mut self.current {
                // bash echoes each line it reads from the edited file before running it: the
                // first one ran in place of what was typed.
                let typed = std::mem::replace(&mut cmd.text, text.to_string());
                lower_confidence(cmd, &[(true, Reason::Edited)]);
                let seq = cmd.seq;
                self.sink.edited_away(seq, &typed);
                self.ran_edited_file = true;
                let mut reading = Reading::default();
                reading.line(text);
                self.edited_open = reading.needs_more().then_some(reading);
                self.note(|| format!(
                    "command {seq} was edited in an editor before it ran (bash's `fc`, Ctrl-X Ctrl-E, vi mode's `v`): reported as the first command bash echoed from the edited file (all its lines), not as typed; the file's further commands are read as its output, and the command rules read each of their lines"
                ));
                return;
            }
        }
        let failed = std::mem::take(&mut self.may_fail_expansion)
            && self.current.as_ref().is_some_and(|cmd| history::expansion_failed(&cmd.text, text));
        if failed {
            self.expands = false;
            // bash could not expand the line: it ran nothing of it (and keeps nothing). What
            // was typed is still read by the command rules: the error can be printed.
            if let Some(cmd) = self.current.take() {
                self.abandoned += 1;
                self.next_seq = cmd.seq;
                self.sink.not_expanded(&cmd.text);
                self.spare_command = Some(cmd);
            }
            return;
        }
        // With expansion off, bash expands nothing (`expands` is false): a line that looks like
        // an expansion is the command's own output. `fc -s` runs again either way.
        if std::mem::take(&mut self.expands) {
            let printed_instead = self.current.as_ref().is_some_and(|cmd| {
                history::prints_only(&cmd.text)
                    && history::is_expansion(&cmd.text, text, &self.recent)
            });
            if printed_instead {
                // `:p`: bash printed the expansion and keeps it in its history; nothing ran.
                if let Some(cmd) = self.current.take() {
                    self.abandoned += 1;
                    self.next_seq = cmd.seq;
                    self.spare_command = Some(cmd);
                }
                self.recent.push(text);
                return;
            }
            if let Some(cmd) = &mut self.current {
                if history::is_expansion(&cmd.text, text, &self.recent) {
                    // What bash ran (and keeps in its history), not what was typed.
                    cmd.text.clear();
                    cmd.text.push_str(text);
                    return;
                }
            }
        }
        self.hidden.output(text);
        let seq = match &mut self.current {
            Some(cmd) => {
                cmd.output_lines += 1;
                cmd.seq
            }
            None => 0,
        };
        self.sink.output(seq, text);
    }

    /// A line that a shell read: prompt plus the user's input.
    fn submit(&mut self, line: &str, from_markers: bool, flags: LineFlags) {
        let joins = std::mem::take(&mut self.joins); // of this line, not of one submitted below
        let split = self.split_prompt(line, from_markers);
        if let Some(earlier) = self.mend.take() {
            // Read as output when it came; its prompt, now known, makes it a command.
            self.submit(&earlier, false, LineFlags::default());
        }
        let Some(split) = split else {
            match (!from_markers).then(|| self.prompts.glued(line)).flatten() {
                Some(at) => {
                    self.output_line(&line[..at]);
                    self.glued = true;
                    self.submit(&line[at..], false, flags);
                    self.glued = false;
                }
                None => self.output_line(line),
            }
            return;
        };
        if self.early.is_some() {
            // "$ $ pwd": the first prompt read a line typed ahead.
            self.close_early(split.prompt, split.repeats);
        }
        if let Some(stretch) = self.hidden.prompt_back() {
            self.note_echo_away(stretch);
        }
        // Typed text concealed: past the prompt (the columns are the row's).
        let concealed = flags.concealed_to > 0
            && usize::from(flags.concealed_to) > split.prompt.chars().count().min(254);
        // What kept the typed text off the screen, if anything did.
        let not_shown = if concealed && flags.same_ink {
            Some("same_ink_as_background")
        } else if concealed {
            Some("concealed")
        } else {
            flags.past_margin.then_some("past_margin_wrap_off")
        };
        // Why confidence is lower, where the condition holds (no allocation per command).
        let reasons = [
            (!from_markers, Reason::Pattern),
            (self.glued, Reason::Glued),
            (!split.recognised, Reason::Prompt),
            (split.bare && !from_markers, Reason::Bare),
            (flags.overflowed, Reason::Overflow),
            (flags.geometry_unknown, Reason::Geometry),
            (flags.alternate, Reason::Alternate),
            (self.taken_over && !from_markers, Reason::Takeover),
            (concealed && !flags.same_ink, Reason::Concealed),
            (concealed && flags.same_ink, Reason::SameInk),
            (flags.past_margin, Reason::PastMargin),
            (flags.joined_at_margin, Reason::JoinedAtMargin),
        ];
        let text = split.command;
        if !from_markers && text.ends_with("^C") {
            self.abandoned += 1; // cooked-mode Ctrl-C echo: the line was never run
            if is_continuation_prompt(split.prompt) {
                self.abandon_open_command();
            }
            self.open = false;
            return;
        }
        if self.open && is_continuation_prompt(split.prompt) {
            if let Some(cmd) = &mut self.current {
                if cmd.prompt != split.prompt {
                    join_continuation(&mut cmd.text, text);
                    lower_confidence(cmd, &reasons);
                    return;
                }
            }
        }
        let foreground = self.current.as_ref().map(|c| c.text.as_str());
        if from_markers && self.shell_prompts.program_owns(split.prompt, foreground) {
            // Typed to the program the last command started, at its own prompt.
            if !is_blank(text) {
                self.program_inputs += 1;
                self.output_line(line);
                if let Some(cmd) = &self.current {
                    self.sink.program_input(cmd.seq, text);
                    self.shell_prompts.typed_to_program(&cmd.text, text);
                }
            }
            return;
        }
        if is_blank(text) {
            self.open = false; // an empty line at the prompt ends any open command
            return;
        }
        // Leaving a shell a program started returns to that program, not to a shell without
        // markers.
        let back_to_a_program = from_markers && {
            self.shell_prompts.learn(split.prompt);
            self.shell_prompts.command(split.prompt, text)
        };
        let seen_in = flags.alternate.then_some("alternate_screen").or(not_shown);
        let mut cmd = self.start_command(split.prompt, text, seen_in);
        // The command is the end of the line.
        let base = line.len() - text.len();
        self.current_joins.extend(joins.iter().filter_map(|&at| {
            let at = (at as usize).checked_sub(base).filter(|&at| at > 0 && at < text.len())?;
            u32::try_from(at).ok()
        }));
        if from_markers && !self.echoed_ahead.is_empty() {
            let first = self.echoed_ahead.remove(0);
            if first == text {
                lower_confidence(&mut cmd, &[(true, Reason::EchoedAhead)]);
            } else {
                self.echoed_ahead.clear(); // the shell read something else first
            }
        }
        if let Some(what) = not_shown {
            self.sink.tamper(Tamper::NotShown(what), Some(cmd.seq), text);
        }
        self.hidden.command(cmd.seq, text);
        if from_markers {
            // Cheap necessary conditions first: nearly every command fails them.
            let words = holds_marker_word(text);
            self.editor_off = (words || may_start_a_shell(text)) && EDITOR_OFF.is_match(text)
                // Leaving a marked shell started from one without markers (dash, then
                // `bash`): the prompts that follow are that shell's again. A marked parent
                // turns the markers back on at its next prompt.
                || (self.read_unmarked && leaves_the_shell(text) && !back_to_a_program);
            let spells = words && SPELLED_MARKER.is_match(text);
            self.spelled = spells.then(|| text.to_string());
            // Read before this line's own `set +H` takes effect, as bash expands it first.
            self.expands = (history::may_expand(text) && !self.expansion_off)
                || history::Rerun::parse(text).is_some();
        } else {
            self.read_unmarked = true;
        }
        self.may_fail_expansion = !self.expansion_off && history::may_expand(text);
        if let Some(on) = history::toggles_expansion(text) {
            self.expansion_off = !on;
        }
        if memchr::memmem::find(text.as_bytes(), b"PS1=").is_some() {
            self.prompts.assigned_in(text);
        }
        lower_confidence(&mut cmd, &reasons);
        self.next_seq += 1;
        self.current = Some(cmd);
        self.open = true;
    }

    /// A new command (the current one is sent on): the buffers of the last one reused.
    fn start_command(
        &mut self,
        prompt: &str,
        text: &str,
        seen_in: Option<&'static str>,
    ) -> Command {
        self.flush_current();
        self.edited = false;
        self.ran_edited_file = false;
        self.edited_open = None;
        self.left_with = None;
        self.current_joins.clear();
        let (mut text_buf, mut prompt_buf) = match self.spare_command.take() {
            Some(old) => (old.text, old.prompt),
            None => (String::new(), String::new()),
        };
        text_buf.clear();
        text_buf.push_str(text);
        prompt_buf.clear();
        prompt_buf.push_str(prompt);
        Command {
            seq: self.next_seq,
            text: text_buf,
            prompt: prompt_buf,
            confidence: 1.0,
            reason: None,
            output_lines: 0,
            privileged: prompt.trim_end().ends_with('#') || runs_as_root_via_sudo(text),
            fullscreen: false,
            seen_in,
        }
    }

    /// The first prompt is here (see [`ahead`]): of the lines before it, the first `read` were
    /// typed ahead and read at `prompt` without being shown again; the rest are output.
    fn close_early(&mut self, prompt: &str, read: usize) {
        let Some(early) = self.early.take() else { return };
        let (read, output) = early.split(read);
        if read.is_empty() {
            // A line editor shows what was typed ahead again: say so on those commands.
            self.echoed_ahead = output.iter().take(4).cloned().collect();
        }
        output.iter().for_each(|line| self.output_line(line));
        for text in read {
            let mut cmd = self.start_command(prompt, &text, None);
            lower_confidence(&mut cmd, &[(true, Reason::TypedAhead)]);
            self.hidden.command(cmd.seq, &text);
            self.next_seq += 1;
            self.current = Some(cmd);
        }
        self.open = false;
    }

    /// Ctrl-C at the continuation prompt: the shell discards the whole command it was still
    /// reading (its first lines never ran), so it is not a command; its lines are counted as
    /// abandoned.
    fn abandon_open_command(&mut self) {
        if !self.open {
            return;
        }
        if let Some(cmd) = self.current.take() {
            self.abandoned += cmd.text.lines().count() as u64;
            self.next_seq = cmd.seq;
        }
        self.open = false;
    }

    fn split_prompt<'t>(&mut self, line: &'t str, from_markers: bool) -> Option<Split<'t>> {
        let (prompt_len, recognised) = match self.prompts.known_len(line) {
            Some(len) => (len.min(line.len()), true),
            None => match self.match_prompt(line, from_markers) {
                Some(len) => (len, true),
                None if from_markers => match self.prompt_from_repetition(line) {
                    Some(len) => (len, true),
                    None => (0, false),
                },
                None => {
                    (self.changed_prompt(line).or_else(|| self.unmarked_repetition(line))?, true)
                }
            },
        };
        let prompt = &line[..prompt_len];
        if from_markers {
            self.unsplit = (!recognised).then(|| line.to_string());
        }
        let bare = matches!(prompt.trim_end(), "$" | "#");
        if !from_markers && !self.accept_heuristic_prompt(prompt, bare) {
            return None;
        }
        self.prompt_seen |= recognised;
        // A prompt alone on its line has lost its trailing space to trimming: not a template.
        if recognised && prompt_len < line.len() {
            self.prompts.remember(prompt);
        }
        // CloudWatch's cleaned stream can repeat the prompt of empty Enters: "sh-4.2$ sh-4.2$ ls".
        let (mut command, mut repeats) = (&line[prompt_len..], 0);
        while !prompt.is_empty() && prompt.ends_with(' ') && command.starts_with(prompt) {
            command = &command[prompt.len()..];
            repeats += 1;
        }
        Some(Split { prompt, command, recognised, bare, repeats })
    }

    /// The prompt of a marked `line` of no known shape, as the last such line shows it (see
    /// [`repeated`]). That line was read whole as a command, the shell's: it is mended (its
    /// prompt taken off), and the prompt is the shell's from now on.
    /// A known prompt of no usual shape shows it too, with its changing part changed
    /// (`λ ~ ❯ ` then `λ tmp ❯ `).
    fn prompt_from_repetition(&mut self, line: &str) -> Option<usize> {
        let Some(earlier) = self.unsplit.take() else {
            let len = repeated::newest_prompt_len(self.shell_prompts.known(), line)?;
            self.shell_prompts.learn(&line[..len]);
            return Some(len);
        };
        let len = repeated::prompt_len(&earlier, line)?;
        let earlier_len = repeated::prompt_len(line, &earlier)?;
        self.shell_prompts.learn(&line[..len]);
        if let Some(cmd) = &mut self.current {
            let prompt = &earlier[..earlier_len];
            if cmd.prompt.is_empty() && cmd.text.starts_with(prompt) {
                cmd.text.drain(..prompt.len());
                cmd.prompt.push_str(prompt);
                if cmd.reason.as_deref() == Some(Reason::Prompt.text()) {
                    (cmd.reason, cmd.confidence) = (None, 1.0);
                }
            }
        }
        Some(len)
    }

    /// The prompt's length in bytes, by pattern.
    fn match_prompt(&self, line: &str, from_markers: bool) -> Option<usize> {
        prompt::by_pattern(self.style, line, from_markers)
    }

    /// Without markers, right after a command that may set the prompt (`PS1=…`, `bash`,
    /// `source`): a line starting with a word that ends as bash's `\$` or zsh's `%` end a
    /// prompt (`ssmuser$ `, `/tmp# `) holds the new prompt, learned from here on.
    fn changed_prompt(&self, line: &str) -> Option<usize> {
        let command = self.current.as_ref()?;
        if !foreground::hands_over(&command.text) {
            return None;
        }
        let word = line.split(' ').next()?;
        let ends = word.len() >= 2 && word.ends_with(['$', '#', '%']) && line.len() > word.len();
        (ends && word.len() < 64).then_some(word.len() + 1)
    }

    /// Without markers, right after a command that may set the prompt: a line of no known
    /// shape is kept, and the next one that shares a prompt with it (see [`repeated`]) shows
    /// the new prompt; the kept line, read as output, is then read again as a command.
    /// Once such a prompt is known, a line at it with its changing part changed is at it too.
    fn unmarked_repetition(&mut self, line: &str) -> Option<usize> {
        if self.unusual_prompts && repeated::may_hold_prompt(line) {
            if let Some(len) = self.prompts.repeated_len(line) {
                return Some(len);
            }
        }
        if !repeated::may_hold_prompt(line) {
            return None; // output between the prompts (most lines): the kept line stays
        }
        let command = self.current.as_ref()?;
        if !foreground::hands_over(&command.text) {
            return None;
        }
        let earlier = self.unsplit.replace(line.to_string())?;
        let (Some(len), Some(earlier_len)) =
            (repeated::prompt_len(&earlier, line), repeated::prompt_len(line, &earlier))
        else {
            return None;
        };
        self.unsplit = None;
        self.prompts.remember(&earlier[..earlier_len]);
        self.unusual_prompts = true;
        self.mend = Some(earlier);
        Some(len)
    }

    /// Without markers, a new prompt must look like one and appear where a prompt can.
    fn accept_heuristic_prompt(&self, prompt: &str, bare: bool) -> bool {
        if self.prompts.is_known(prompt) {
            return true;
        }
        if self.open && is_continuation_prompt(prompt) {
            return true;
        }
        if is_continuation_prompt(prompt) {
            return false;
        }
        let switched = self.current.as_ref().is_none_or(|c| foreground::hands_over(&c.text));
        // A shell without markers that took over prompts as it likes (dash's bare `$ `).
        !bare || switched || self.prompts.known().is_empty() || self.taken_over
    }
}

struct Split<'t> {
    prompt: &'t str,
    command: &'t str,
    recognised: bool,
    bare: bool,
    /// The prompt was repeated before the command this many times (nothing typed at it).
    repeats: usize,
}

/// Lower `cmd`'s confidence for each reason that holds, and say why (each reason once).
fn lower_confidence(cmd: &mut Command, reasons: &[(bool, Reason)]) {
    for &(holds, reason) in reasons {
        if !holds {
            continue;
        }
        cmd.confidence = cmd.confidence.min(reason.confidence());
        let text = reason.text();
        match &mut cmd.reason {
            // No reason holds a `;`, so they are told apart by it.
            Some(r) if !r.split(';').any(|known| known.trim_start() == text) => {
                r.push_str("; ");
                r.push_str(text);
            }
            Some(_) => {}
            None => cmd.reason = Some(text.to_string()),
        }
    }
}

impl<S: ShellSink> ScreenListener for Shell<S> {
    fn line(&mut self, text: &str, input: bool, input_from: usize, flags: LineFlags) {
        // Nearly every line has none: nothing is taken then.
        let columns = match self.next_joins.is_empty() {
            true => Vec::new(),
            false => std::mem::take(&mut self.next_joins),
        };
        if self.skip_preamble(text) {
            return;
        }
        if self.style == PromptStyle::PowerShell && is_banner_rule(text) {
            self.in_banner = !self.in_banner;
            return;
        }
        if self.in_banner {
            return;
        }
        if self.hidden.follows_blind_region() && self.hidden.follow_blind_region(text, input) {
            // Back to a shell without markers that started this one (as for `exit`).
            self.editor_off |= self.read_unmarked;
        }
        if input {
            let ascii = text.as_bytes().get(..input_from).is_some_and(<[u8]>::is_ascii);
            let from = if ascii {
                input_from // chars are bytes: nearly every prompt
            } else {
                text.char_indices().nth(input_from).map_or(text.len(), |(i, _)| i)
            };
            if self.early.is_some() && self.region.is_empty() {
                // "$ " before a marked prompt: a shell without a line editor read a line
                // typed ahead and started this one.
                let (read, len) = bare_prompts(&text[..from]);
                self.close_early(&text[..len], read);
            }
            let mut row = std::mem::take(&mut self.spare_row);
            row.clear();
            row.push_str(&text[from..]);
            let joins =
                if columns.is_empty() { Vec::new() } else { row_joins(text, from, &columns) };
            let mut flags = flags;
            let from = u8::try_from(input_from).unwrap_or(u8::MAX);
            flags.concealed_to = flags.concealed_to.saturating_sub(from);
            let size = row.capacity()
                + joins.capacity() * std::mem::size_of::<u32>()
                + std::mem::size_of::<RegionRow>();
            if self.region_bytes + size > MAX_REGION_BYTES {
                self.region_rows_left_out += 1;
                return;
            }
            self.region_bytes += size;
            self.region.push(RegionRow { text: row, flags, joins });
        } else if self.markers_seen && !self.editor_off {
            self.outside_regions(text, flags);
        } else {
            self.submit(text, false, flags);
        }
    }

    fn input_begin(&mut self) {
        if let Some(held) = &self.held {
            let writer = held.writer_when_markers_return();
            self.release_held(writer);
        }
        self.markers_seen = true;
        self.ran_edited_file = false; // the shell prompts again: the file has run
        self.edited_open = None;
        self.left_with = None;
        self.editor_off = false;
        self.taken_over = false;
        if let Some(stretch) = self.hidden.region_opened() {
            self.note_echo_away(stretch);
        }
        self.region.clear();
        self.region_bytes = 0;
    }

    fn input_end(&mut self, pending: &str) {
        self.region_bytes = 0;
        if self.region_rows_left_out > 0 {
            let rows = std::mem::take(&mut self.region_rows_left_out);
            self.note(|| format!(
                "a line-editor region (a paste) held more than {MAX_REGION_BYTES} bytes: its last {rows} row(s) were not read, so commands pasted after the last one reported from it may be missing"
            ));
        }
        if self.hidden.waits_for_exit() {
            self.hidden.follow_blind_region(pending, true);
        }
        if !self.region.is_empty() && !is_blank(pending) {
            // Rows, then text left on the line without a line feed: a multi-line buffer (a
            // paste, a completion listing) left with Ctrl-C. Readline returned nothing.
            let rows = std::mem::take(&mut self.region);
            let start = self.edited_row(&rows).unwrap_or(0);
            let at_ps2 = self
                .split_prompt(&rows[start].text, true)
                .is_some_and(|s| is_continuation_prompt(s.prompt));
            self.abandoned += 1;
            if at_ps2 {
                self.abandon_open_command();
            }
            self.open = false;
            return;
        }
        if self.region.len() == 1 {
            // Nearly every region: a prompt and one line typed. The row list keeps its
            // allocation for the next region.
            let row = self.region.pop().expect("one row");
            self.submit_region(row, Vec::new());
            return;
        }
        let rows = std::mem::take(&mut self.region);
        // What readline returned starts at the region's last row holding a prompt: rows
        // before it were completion listings or redraws; rows after it are the rest of a
        // multi-line buffer (a paste), which bash runs line by line.
        let start = self.edited_row(&rows).unwrap_or(rows.len().saturating_sub(1));
        let mut rows = rows.into_iter().skip(start);
        if let Some(first) = rows.next() {
            self.submit_region(first, rows.collect());
            return;
        }
        let split = self.split_prompt(pending, true);
        let at_ps2 = split.as_ref().is_some_and(|s| is_continuation_prompt(s.prompt));
        let typed = split.map_or("", |s| s.command);
        if !is_blank(typed) {
            self.abandoned += 1;
        }
        if at_ps2 {
            self.abandon_open_command();
        }
        // A prompt with nothing on it (an empty region is readline resetting after Ctrl-C,
        // not a prompt).
        if is_blank(typed) && !is_blank(pending) {
            self.hidden.region_closed_empty(pending);
        }
        self.open = false;
    }

    fn alternate_screen(&mut self, entered: bool) {
        if let (true, Some(cmd)) = (entered, &mut self.current) {
            cmd.fullscreen = true;
            self.open = false;
            if let Some(line) = self.left_with.take() {
                // The program left its screen and came back: it ran what its command line
                // held after a `!` (`:!cmd`, `!cmd`), whose output was on the main screen.
                let escaped = line.strip_prefix('!').unwrap_or(&line).trim();
                self.sink.run_from_program(cmd.seq, escaped);
            }
        }
    }

    fn full_screen_left(&mut self, last_line: &str) {
        self.left_with = self.current.is_some().then(|| last_line.to_string());
    }

    fn title(&mut self, text: &str) {
        self.hidden.title(text);
    }

    fn history_edited(&mut self) {
        self.edited = self.current.is_some();
    }

    fn joined_at(&mut self, columns: &[u16]) {
        self.next_joins.clear();
        self.next_joins.extend_from_slice(columns);
    }

    fn submitted_row_hidden(&mut self, what: Unseen) {
        // The next command is not read until its region ends: the current one's row it was.
        let Some(cmd) = &mut self.current else { return };
        cmd.seen_in = cmd.seen_in.or(Some(what.as_str()));
        lower_confidence(cmd, &[(true, Reason::RowHidden)]);
        let (seq, text) = (cmd.seq, cmd.text.clone()); // rare: a person hiding a command
        self.sink.tamper(Tamper::NotShown(what.as_str()), Some(seq), &text);
    }
}

impl<S: ShellSink> Shell<S> {
    /// A line outside any region while a marked shell's command runs: its output, unless a
    /// shell without markers took over (see [`takeover`]): from the first line shaped as a
    /// shell's prompt with something typed after it, lines are held until that is decided.
    fn outside_regions(&mut self, text: &str, flags: LineFlags) {
        let Some(cmd) = &self.current else {
            return self.output_line(text);
        };
        if let Some(typed) = foreground::typed_after_program_prompt(text) {
            // A program's input echoed without markers may start a shell too.
            self.shell_prompts.typed_to_program(&cmd.text, typed);
        }
        let typed = self.unmarked_command(text);
        match &mut self.held {
            Some(held) => held.push(text, flags, typed),
            None if typed.is_some() => {
                let mut held = Held::default();
                held.push(text, flags, typed);
                self.held = Some(held);
            }
            None => return self.output_line(text),
        }
        if self.held.as_ref().is_some_and(Held::full) {
            // Long enough that waiting costs memory: when unsure, the shell's. Read on
            // without markers until they come back.
            self.release_held(Writer::ShellWithoutMarkers);
            self.editor_off = true;
            self.taken_over = true;
        }
    }

    /// With markers on, what is typed after a line's prompt when the line is shaped as a
    /// shell's prompt and something typed at it: a prompt the shell used, or a usual shell
    /// prompt's shape, a bare `$ `/`# ` too (dash's, started however the command spelled it).
    fn unmarked_command<'t>(&self, line: &'t str) -> Option<&'t str> {
        let len = match self.shell_prompts.prefix_of(line) {
            Some(len) => len,
            // A prompt's `$`, `#` or `%` is near the line's start: most output has none there.
            None if memchr::memchr3(b'$', b'#', b'%', &line.as_bytes()[..line.len().min(128)])
                .is_none() =>
            {
                return None
            }
            None => UNIX_PROMPT.find(line).map(|m| m.end()).filter(|&l| l <= MAX_PROMPT_CHARS)?,
        };
        let typed = &line[len..];
        (!is_blank(typed)).then_some(typed)
    }

    /// A parse warning, while fewer than [`MAX_NOTES`] were given (the rest are counted).
    fn note(&mut self, text: impl FnOnce() -> String) {
        if self.notes.len() >= MAX_NOTES {
            self.notes_left_out += 1;
        } else {
            self.notes.push(text());
        }
    }

    /// Output while the shell's stderr was away: a line was typed there unseen.
    fn note_echo_away(&mut self, AwayStretch { seq, output_lines, typed }: AwayStretch) {
        self.note(|| format!(
            "command {seq} sent the shell's stderr (its prompt and, with a line editor, the echo of what is typed) away from the terminal; {output_lines} output line(s) followed before its prompt was back: at least {typed} line(s) typed at prompts not on screen (counted in hidden_inputs)"
        ));
    }

    /// Send the held lines on as `writer` wrote them.
    fn release_held(&mut self, writer: Writer) {
        let Some(held) = self.held.take() else { return };
        if writer == Writer::Command {
            let n = held.prompt_lines();
            self.printed_prompts += n;
            if let Some(seq) = self.current.as_ref().map(|cmd| cmd.seq) {
                self.note(|| format!(
                    "{n} line(s) shaped as a prompt and a command were printed by command {seq} before its shell prompted again with its line-editor markers: read as its output"
                ));
            }
            held.into_lines().iter().for_each(|(line, _)| self.output_line(line));
            return;
        }
        self.taken_over = true;
        // Left with `exit` before the markers came back: no shell without markers is left
        // for a marked one's `exit` to return to.
        let left = held.left_the_shell();
        for (line, flags) in held.into_lines() {
            self.submit(&line, false, flags);
        }
        self.read_unmarked = !left;
        self.taken_over = self.editor_off;
    }

    /// Submit a region's line, and the rows a multi-line buffer continued it with: each line
    /// a command, except where the shell needs more (an open quote, a trailing `\` or pipe,
    /// an unfinished `for`/`if`/`case`/`{`), which it joins.
    fn submit_region(&mut self, first: RegionRow, pasted: Vec<RegionRow>) {
        let RegionRow { text: line, flags, joins } = first;
        if self.printed_by_current(&line) {
            // Printed by the current command, which spelled the markers and this line out:
            // its output, the rows under it too.
            let seq = self.current.as_ref().map(|c| c.seq);
            self.sink.tamper(Tamper::ForgedPrompt, seq, &line);
            self.output_line(&line);
            pasted.iter().for_each(|row| self.output_line(&row.text));
            return;
        }
        if pasted.is_empty() {
            self.joins = joins;
            self.submit(&line, true, flags);
            self.spare_row = line;
            return;
        }
        let prompt = self.split_prompt(&line, true).map_or(String::new(), |s| s.prompt.to_string());
        let mut reading = Reading::default();
        line[prompt.len().min(line.len())..].lines().for_each(|typed| reading.line(typed));
        let (mut text, mut text_joins) = (line, joins);
        // The first row's facts hold for the command; a row read as going on past the
        // terminal's last line is said of the command it is in, and where.
        let mut joined = flags.joined_at_margin;
        for row in pasted {
            if reading.needs_more() {
                text.push('\n');
            } else {
                self.joins = std::mem::take(&mut text_joins);
                self.submit(&text, true, LineFlags { joined_at_margin: joined, ..flags });
                self.open = false;
                text.clear();
                text.push_str(&prompt);
                reading = Reading::default();
                joined = false;
            }
            let at = u32::try_from(text.len()).unwrap_or(u32::MAX);
            text_joins.extend(row.joins.iter().map(|&j| j.saturating_add(at)));
            text.push_str(&row.text);
            joined |= row.flags.joined_at_margin;
            reading.line(&row.text);
        }
        self.joins = text_joins;
        self.submit(&text, true, LineFlags { joined_at_margin: joined, ..flags });
    }

    /// The region's last row holding a prompt: the line readline was editing (rows before it
    /// are completion listings or redraws, rows after it the rest of a multi-line buffer).
    /// The last row starting with a prompt seen before; else with one of a prompt's shapes;
    /// else with a bare `$ ` or `# `, which a pasted comment line (`# …`) also starts with.
    fn edited_row(&self, rows: &[RegionRow]) -> Option<usize> {
        let known = |line: &str| self.prompts.starts(line);
        let shaped = |line: &str, bare_too: bool| {
            self.match_prompt(line, false)
                .is_some_and(|len| bare_too || !matches!(line[..len].trim_end(), "$" | "#"))
        };
        let last = |test: &dyn Fn(&str) -> bool| rows.iter().rposition(|row| test(&row.text));
        last(&known).or_else(|| last(&|l| shaped(l, false))).or_else(|| last(&|l| shaped(l, true)))
    }
}

impl<S> Shell<S> {
    /// Whether a region's line is written out in the current command, which spelled the
    /// markers: then the command printed the region (a forged command line).
    fn printed_by_current(&self, line: &str) -> bool {
        let line = line.trim();
        !line.is_empty() && self.spelled.as_deref().is_some_and(|text| text.contains(line))
    }
}

#[cfg(test)]
mod tests;
