//! Lines typed before the shell's first prompt. The agent writes the session preferences'
//! `shellProfile` into the terminal as soon as the shell starts (agent/session/shell,
//! `runShellProfile`), before the shell reads anything: the terminal echoes it at once, so it
//! is on screen *before* the first prompt. A shell with a line editor shows it again at that
//! prompt (a command as any other); one without (dash, `sh` on Debian) reads it without
//! showing anything: its first prompt is followed straight by the next prompt ("$ $ pwd", or
//! bash's marked prompt after "$ "). Each prompt with nothing after it read one line: the
//! lines echoed before, in order.

use super::prompt::{is_blank, UNIX_PROMPT};

/// Lines held before the first prompt, at most (a transcript whose shell never prompts must
/// not grow memory): past either bound they are output.
const MAX_LINES: usize = 16;
const MAX_BYTES: usize = 16 * 1024;

/// Lines seen before the first prompt, held until it says whether a shell read them.
#[derive(Debug, Default)]
pub(super) struct Early {
    lines: Vec<String>,
    bytes: usize,
}

impl Early {
    /// Hold `line`; false when the bounds are reached (the caller then lets them all go).
    pub fn push(&mut self, line: &str) -> bool {
        if self.lines.len() == MAX_LINES || self.bytes + line.len() > MAX_BYTES {
            return false;
        }
        self.bytes += line.len();
        self.lines.push(line.to_string());
        true
    }

    /// The first `read` lines (those the shell read), and the rest (output printed before
    /// the shell prompted: its startup files').
    pub fn split(mut self, read: usize) -> (Vec<String>, Vec<String>) {
        let rest = self.lines.split_off(read.min(self.lines.len()));
        (self.lines, rest)
    }
}

/// How many prompts with nothing after them start `prefix` (the text on a row before the line
/// editor's region, or a prompt repeated on its line), and the first one's length: each read
/// a line without showing it. Zero unless the prefix is nothing but prompts.
pub(super) fn bare_prompts(prefix: &str) -> (usize, usize) {
    let (mut count, mut first, mut rest) = (0, 0, prefix);
    while let Some(m) = UNIX_PROMPT.find(rest).filter(|m| m.end() > 0) {
        if count == 0 {
            first = m.end();
        }
        count += 1;
        rest = &rest[m.end()..];
    }
    if is_blank(rest) {
        (count, first)
    } else {
        (0, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_with_nothing_after_them_are_counted() {
        assert_eq!(bare_prompts("$ "), (1, 2));
        assert_eq!(bare_prompts("$ $ "), (2, 2));
        assert_eq!(bare_prompts("[u@h ~]$ "), (1, 9));
        assert_eq!(bare_prompts(""), (0, 0));
        assert_eq!(bare_prompts("Welcome $ "), (0, 0), "text before a prompt is output");
        assert_eq!(bare_prompts("$ ls "), (0, 0), "something typed");
    }

    #[test]
    fn held_lines_are_bounded_and_split_in_order() {
        let mut early = Early::default();
        assert!((0..MAX_LINES).all(|i| early.push(&format!("line {i}"))));
        assert!(!early.push("one more"));
        let (read, rest) = early.split(2);
        assert_eq!(read, ["line 0", "line 1"]);
        assert_eq!(rest.len(), MAX_LINES - 2);
        let mut early = Early::default();
        assert!(!early.push(&"x".repeat(MAX_BYTES + 1)));
        let mut early = Early::default();
        early.push("only");
        assert_eq!(early.split(5), (vec!["only".to_string()], vec![]));
    }
}
