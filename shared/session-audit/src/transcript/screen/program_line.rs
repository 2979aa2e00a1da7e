//! The text a full-screen program last drew on a line: its command line, when it leaves the
//! alternate screen to run something (vim's `:!cmd`, less's `!cmd`, man's and more's alike),
//! where what was typed to it is shown and nowhere else.
//!
//! On the alternate screen nothing is kept of what is drawn but this: the characters drawn
//! since the cursor was last placed or went to a line's start (a backspace takes one back),
//! and the last such run that held text, at most [`MAX_CHARS`] each.

/// Characters of one run kept, at most (a command line; the rules need its start).
const MAX_CHARS: usize = 512;

#[derive(Debug, Default, Clone)]
pub(super) struct ProgramLine {
    run: String,
    last: String,
}

impl ProgramLine {
    /// One character drawn.
    pub(super) fn push(&mut self, c: char) {
        if self.run.len() < MAX_CHARS {
            self.run.push(c);
        }
    }

    /// A run of printable ASCII drawn.
    pub(super) fn push_run(&mut self, text: &[u8]) {
        let room = MAX_CHARS.saturating_sub(self.run.len()).min(text.len());
        self.run.extend(text[..room].iter().map(|&b| char::from(b)));
    }

    /// A backspace: the last character drawn is drawn over next.
    pub(super) fn back(&mut self) {
        self.run.pop();
    }

    /// The cursor was placed, or went to a line's start or down: a new run begins.
    pub(super) fn end_run(&mut self) {
        if self.run.bytes().any(|b| b != b' ') {
            std::mem::swap(&mut self.run, &mut self.last);
        }
        self.run.clear();
    }

    /// On leaving the alternate screen: the last run that held text (this one, if it does);
    /// both are forgotten.
    pub(super) fn take(&mut self) -> String {
        self.end_run();
        std::mem::take(&mut self.last).trim().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_run_with_text_is_taken_with_backspaces_applied() {
        let mut line = ProgramLine::default();
        line.push_run(b"~ file text");
        line.end_run();
        line.push(':');
        line.push_run(b"!chmod u+s /tmp/x");
        line.end_run();
        line.push_run(b"  ");
        assert_eq!(line.take(), ":!chmod u+s /tmp/x");
        assert_eq!(line.take(), "", "forgotten once taken");
        for b in b"!cr" {
            line.push(char::from(*b));
            line.back();
            line.push(char::from(*b));
        }
        assert_eq!(line.take(), "!cr");
        line.push_run(&[b'x'; 2 * MAX_CHARS]);
        assert_eq!(line.take().len(), MAX_CHARS);
    }
}
