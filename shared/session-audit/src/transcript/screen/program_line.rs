//! What a full-screen program last drew after a `!` on a line: its command line, when it
//! leaves the alternate screen to run something (vim's `:!cmd`, less's, more's and man's
//! `!cmd`: the shell escape of vi and of pagers), where what was typed to it is shown and
//! nowhere else.
//!
//! On the alternate screen nothing is kept of what is drawn but this: from a `!` on, the
//! characters drawn until the cursor is placed or goes to a line's start (a backspace takes
//! one back), and the last such run, at most [`MAX_CHARS`] each. The `!` must open the run
//! or follow a short command that starts with `:` (vim's `:!`, `:r !`, `:'<,'>!`): one
//! inside a line of text (a man page's `!!`, a file's `#!`) is no command line. Text without
//! a `!` costs a vectorised search for one and nothing more (full-screen programs redraw a
//! lot).

/// Characters of one run kept, at most (a command line; the rules need its start).
const MAX_CHARS: usize = 512;
/// Characters a `:` command may draw before its `!` (`:'<,'>`, `:1,$`, `:r `).
const MAX_BEFORE_BANG: usize = 16;

#[derive(Debug, Default, Clone)]
pub(super) struct ProgramLine {
    /// From the `!` on, while one was drawn since the run began (else empty).
    run: String,
    last: String,
    /// Characters drawn in this run before any `!`, and whether the first was a `:`.
    before: usize,
    colon_first: bool,
}

impl ProgramLine {
    /// One character drawn.
    pub(super) fn push(&mut self, c: char) {
        if !self.run.is_empty() {
            if self.run.len() < MAX_CHARS {
                self.run.push(c);
            }
        } else if c == '!' && self.opens_a_command(self.before, self.colon_first) {
            self.run.push(c);
        } else {
            self.colon_first |= self.before == 0 && c == ':';
            self.before += 1;
        }
    }

    /// Whether a `!` after `before` characters (the first a `:` or not) starts a command line.
    fn opens_a_command(&self, before: usize, colon_first: bool) -> bool {
        before == 0 || colon_first && before <= MAX_BEFORE_BANG
    }

    /// A run of printable ASCII drawn.
    pub(super) fn push_run(&mut self, text: &[u8]) {
        let from = match self.run.is_empty() {
            true => {
                let colon_first =
                    self.colon_first || self.before == 0 && text.first() == Some(&b':');
                let at = memchr::memchr(b'!', text);
                match at.filter(|&at| self.opens_a_command(self.before + at, colon_first)) {
                    Some(at) => at,
                    None => {
                        // A later `!` in this run follows more: it opens nothing either.
                        (self.before, self.colon_first) = (self.before + text.len(), colon_first);
                        return;
                    }
                }
            }
            false => 0,
        };
        let text = &text[from..];
        let room = MAX_CHARS.saturating_sub(self.run.len()).min(text.len());
        self.run.extend(text[..room].iter().map(|&b| char::from(b)));
    }

    /// A backspace: the last character drawn is drawn over next.
    pub(super) fn back(&mut self) {
        if self.run.pop().is_none() {
            self.before = self.before.saturating_sub(1);
        }
    }

    /// The cursor was placed, or went to a line's start or down: a new run begins.
    pub(super) fn end_run(&mut self) {
        if !self.run.is_empty() {
            std::mem::swap(&mut self.run, &mut self.last);
            self.run.clear();
        }
        (self.before, self.colon_first) = (0, false);
    }

    /// On leaving the alternate screen: the last run (this one, if it holds a `!`), from its
    /// `!`; both are forgotten.
    pub(super) fn take(&mut self) -> String {
        self.end_run();
        std::mem::take(&mut self.last).trim_end().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_run_from_a_bang_is_taken_with_backspaces_applied() {
        let mut line = ProgramLine::default();
        line.push_run(b"~ file text");
        line.end_run();
        assert_eq!(line.take(), "", "no `!`: nothing kept");
        line.push_run(b"~ file text");
        line.end_run();
        line.push(':');
        line.push_run(b"!chmod u+s /tmp/x");
        line.end_run();
        line.push_run(b"  ");
        assert_eq!(line.take(), "!chmod u+s /tmp/x");
        assert_eq!(line.take(), "", "forgotten once taken");
        line.push('!');
        for b in b"cr" {
            line.push(char::from(*b));
            line.back();
            line.push(char::from(*b));
        }
        assert_eq!(line.take(), "!cr");
        line.push_run(b"!");
        line.push_run(&[b'x'; 2 * MAX_CHARS]);
        assert_eq!(line.take().len(), MAX_CHARS);
    }

    #[test]
    fn a_bang_inside_a_line_of_text_opens_no_command_line() {
        let mut line = ProgramLine::default();
        for text in [&b"Use !! to run it again"[..], b"#!/bin/sh", b"x!crontab -l"] {
            line.push_run(text);
            line.end_run();
            assert_eq!(line.take(), "", "{:?}", std::str::from_utf8(text));
        }
        // vim's commands before their `!`: in pieces, or in one run.
        line.push(':');
        line.push_run(b"'<,'>!sort");
        assert_eq!(line.take(), "!sort");
        line.push_run(b":r !date");
        assert_eq!(line.take(), "!date");
        line.push_run(b":");
        line.push_run(b"this is far too long before it !rm");
        assert_eq!(line.take(), "");
    }
}
