//! A shell without line-editor markers taking over from one with them.
//!
//! A marked shell (bash 5.1+) brackets every line it reads. After it runs a command, lines
//! outside any region are that command's output — unless the command started a shell that
//! reads lines without markers: a dumb terminal, `--noediting`, dash, an old bash in a
//! container or over ssh, however the command was spelled (an alias, a variable, a script).
//! That shell's prompt and the echo of what is typed at it are plainly on the screen, and
//! they must be read as commands.
//!
//! The screen cannot tell such a line from the same text printed by the command (`cat` of an
//! old transcript, a script printing a fake prompt) when it arrives; what follows tells. So
//! from the first line shaped as a shell prompt with something typed after it, the lines are
//! held until one of these decides:
//! * the session ends (or the held lines reach a bound) with no marked prompt back: a shell
//!   without markers read them (when unsure, the shell's: a command must never hide);
//! * the markers come back after a held command that leaves a shell or starts one (`exit`,
//!   `bash`, `exec …`): that shell read them, and a marked one is back;
//! * the markers come back otherwise: the command printed them and the same shell prompts
//!   again. They are that command's output; the report counts them and says which command
//!   printed them, so a stretch read as output is never silent.

use super::foreground::hands_over;
use super::switch::leaves_the_shell;
use crate::transcript::screen::LineFlags;

/// Lines held before deciding without waiting for the markers (a shell without markers that
/// runs for hours must not grow memory).
const MAX_HELD_LINES: usize = 2048;
/// … and bytes.
const MAX_HELD_BYTES: usize = 1 << 20;

/// Lines outside any region since the first one shaped as prompt + typed text.
#[derive(Debug, Default)]
pub(super) struct Held {
    lines: Vec<(String, LineFlags)>,
    bytes: usize,
    /// What was typed on the last prompt-shaped line.
    last_typed: String,
    /// How many held lines were shaped as prompt + typed text.
    prompt_lines: u64,
}

/// Who wrote the held lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Writer {
    /// A shell without markers: prompts and the echo of lines typed at them.
    ShellWithoutMarkers,
    /// The command that was running: its output.
    Command,
}

impl Held {
    /// Hold `line`; `typed` is what follows its prompt when it is shaped as one.
    pub(super) fn push(&mut self, line: &str, flags: LineFlags, typed: Option<&str>) {
        if let Some(typed) = typed {
            self.prompt_lines += 1;
            self.last_typed.clear();
            self.last_typed.push_str(typed.trim());
        }
        self.bytes += line.len();
        self.lines.push((line.to_string(), flags));
    }

    /// Whether to decide now, without waiting for the markers.
    pub(super) fn full(&self) -> bool {
        self.lines.len() >= MAX_HELD_LINES || self.bytes >= MAX_HELD_BYTES
    }

    /// Who wrote the held lines, now that a marked prompt is back.
    pub(super) fn writer_when_markers_return(&self) -> Writer {
        let last = self.last_typed.as_str();
        if leaves_the_shell(last) || hands_over(last) {
            Writer::ShellWithoutMarkers
        } else {
            Writer::Command
        }
    }

    /// Whether the last line typed left the shell (`exit`): the markers that come back are
    /// the shell's that started it, and nothing reads without markers any more.
    pub(super) fn left_the_shell(&self) -> bool {
        leaves_the_shell(&self.last_typed)
    }

    /// How many held lines were shaped as prompt + typed text.
    pub(super) fn prompt_lines(&self) -> u64 {
        self.prompt_lines
    }

    /// The held lines, in order.
    pub(super) fn into_lines(self) -> Vec<(String, LineFlags)> {
        self.lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(lines: &[(&str, Option<&str>)]) -> Held {
        let mut h = Held::default();
        lines.iter().for_each(|(l, t)| h.push(l, LineFlags::default(), *t));
        h
    }

    #[test]
    fn a_shell_left_or_replaced_last_wrote_the_lines() {
        for last in ["exit", "logout", "exit 3", "exec bash", "bash", "sudo -i", "ssh db1"] {
            let h = held(&[("u@h:~$ id", Some("id")), ("uid=1", None), ("u@h:~$ x", Some(last))]);
            assert_eq!(h.writer_when_markers_return(), Writer::ShellWithoutMarkers, "{last}");
        }
    }

    #[test]
    fn otherwise_the_running_command_printed_them() {
        let h = held(&[("u@h:~$ rm -rf /", Some("rm -rf /")), ("done", None)]);
        assert_eq!(h.writer_when_markers_return(), Writer::Command);
        assert_eq!(h.prompt_lines(), 1);
        assert_eq!(h.into_lines().len(), 2, "every line is kept, output ones too");
    }

    #[test]
    fn holding_is_bounded_by_lines_and_bytes() {
        let mut h = Held::default();
        while !h.full() {
            h.push("output", LineFlags::default(), None);
        }
        assert_eq!(h.lines.len(), MAX_HELD_LINES);
        let mut h = Held::default();
        h.push(&"x".repeat(MAX_HELD_BYTES), LineFlags::default(), None);
        assert!(h.full());
    }
}
