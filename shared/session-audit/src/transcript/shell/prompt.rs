//! What a prompt looks like: the patterns a command line is recognised by when the shell
//! leaves no line-editor markers, the lines that are never commands, and the prompts a
//! session's shell has shown ([`Prompts`]).

use std::sync::LazyLock;

use regex::Regex;

use super::ps1::Template;
use super::repeated;

/// Which prompts the session's shell prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptStyle {
    /// `$`/`#` prompts of sh, dash, bash and zsh.
    Unix,
    /// `PS C:\…>` prompts of PowerShell.
    PowerShell,
}

/// Prompts remembered, at most (the oldest is forgotten first).
const MAX_KNOWN_PROMPTS: usize = 16;
/// The longest prompt read by pattern, in bytes.
pub(super) const MAX_PROMPT_CHARS: usize = 256;

// Unbounded repetitions and ASCII classes on purpose: bounded Unicode repetitions
// (`\w{1,64}`) compile to NFAs of tens of megabytes. Lengths are checked in code.
pub(super) static UNIX_PROMPT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:\([^()\s]+\) )?",
        r"(?:\[[^\]\n]+\] ?[$#]|[A-Za-z0-9._-]+@[A-Za-z0-9._-]+(?::[^\s$#]*)? ?[$#]",
        r"|(?:sh|bash|zsh)-[0-9]+(?:\.[0-9]+)*[$#%]|[$#])(?: |$)"
    ))
    .expect("prompt pattern")
});
pub(super) static POWERSHELL_PROMPT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^PS [^>\n]+> ?").expect("prompt pattern"));

pub(super) fn is_continuation_prompt(prompt: &str) -> bool {
    prompt == "> " || prompt == ">"
}

pub(super) fn is_banner_rule(text: &str) -> bool {
    text.len() >= 10 && text.bytes().all(|b| b == b'*')
}

/// Nothing but whitespace (what `trim().is_empty()` says, deciding at the first character
/// that is not: a line is asked this once or twice).
pub(crate) fn is_blank(text: &str) -> bool {
    text.chars().all(char::is_whitespace)
}

/// The prompt's length in bytes at the start of `line`, by the shapes of `style`'s prompts
/// (and `> `, the continuation prompt). Inside a marked region (`from_markers`) the prompt is
/// also whatever precedes the first `$ `, `# `, `> ` or `% ` (or the whole line when nothing
/// was typed).
pub(super) fn by_pattern(style: PromptStyle, line: &str, from_markers: bool) -> Option<usize> {
    if line.starts_with("> ") || line == ">" {
        return Some(line.len().min(2)); // PS2, the continuation prompt
    }
    let found = match style {
        PromptStyle::PowerShell => POWERSHELL_PROMPT.find(line).map(|m| m.end()),
        PromptStyle::Unix => UNIX_PROMPT.find(line).map(|m| m.end()),
    };
    if found.is_some() || !from_markers {
        return found.filter(|len| *len <= MAX_PROMPT_CHARS);
    }
    let end = line
        .char_indices()
        .take(MAX_PROMPT_CHARS)
        .find(|(i, c)| "$#>%".contains(*c) && line[i + 1..].starts_with(' '))
        .map(|(i, _)| i + 2);
    end.or_else(|| line.ends_with(['$', '#', '>', '%']).then_some(line.len()))
}

/// The prompts a session's shell has shown (newest last), and the one the last `PS1=` typed
/// draws (see [`Template`]): where a line's prompt ends when it is one of them.
#[derive(Debug, Default)]
pub(super) struct Prompts {
    known: Vec<String>,
    ps1: Option<Template>,
    /// The distinct last bytes of the known prompts [`Prompts::glued`] looks for (trailing
    /// space trimmed), kept with `known`: one search of a line for all of them says it holds
    /// none of those prompts, where a search per prompt cost a fifth of a marker-less line.
    glue_ends: Vec<u8>,
}

impl Prompts {
    /// Prompts a snapshot kept (at most the number remembered).
    pub fn resume(mut known: Vec<String>, ps1: Option<Template>) -> Self {
        known.truncate(MAX_KNOWN_PROMPTS);
        let mut prompts = Prompts { known, ps1, glue_ends: Vec::new() };
        prompts.find_glue_ends();
        prompts
    }

    fn find_glue_ends(&mut self) {
        self.glue_ends.clear();
        for p in self.known.iter().filter(|p| !is_continuation_prompt(p)) {
            if let Some(&last) = p.trim_end().as_bytes().last() {
                if !self.glue_ends.contains(&last) {
                    self.glue_ends.push(last);
                }
            }
        }
    }

    pub fn known(&self) -> &[String] {
        &self.known
    }

    pub fn ps1(&self) -> Option<&Template> {
        self.ps1.as_ref()
    }

    /// A command line that may assign `PS1`: the prompt it draws, when it says.
    pub fn assigned_in(&mut self, text: &str) {
        self.ps1 = Template::assigned_in(text).or(self.ps1.take());
    }

    pub fn is_known(&self, prompt: &str) -> bool {
        self.known.iter().any(|p| p == prompt)
    }

    /// `line` starts with a prompt shown before.
    pub fn starts(&self, line: &str) -> bool {
        self.known.iter().any(|p| line.starts_with(p.as_str()))
    }

    pub fn remember(&mut self, prompt: &str) {
        if prompt.is_empty() || self.is_known(prompt) {
            return;
        }
        if self.known.len() == MAX_KNOWN_PROMPTS {
            self.known.remove(0);
        }
        self.known.push(prompt.to_string());
        self.find_glue_ends();
    }

    /// The length of the longest known prompt `line` starts with (or is, its trailing space
    /// trimmed), else of the prompt the `PS1=` template draws there.
    pub fn known_len(&self, line: &str) -> Option<usize> {
        // A known prompt's first byte first: nearly every line fails it (no memcmp call).
        let first = line.as_bytes().first();
        let known = self
            .known
            .iter()
            .filter(|p| p.as_bytes().first() == first)
            // A line at least as long as a prompt can only start with it; a shorter one can
            // only be it with its trailing space trimmed (no trim for nearly every line).
            .filter(|p| {
                if line.len() >= p.len() {
                    line.starts_with(p.as_str())
                } else {
                    line == p.trim_end()
                }
            })
            .map(String::len)
            .max();
        let drawn = || {
            self.ps1.as_ref()?.prompt_len(line, MAX_PROMPT_CHARS).filter(|&n| n <= MAX_PROMPT_CHARS)
        };
        known.or_else(drawn)
    }

    /// The prompt of `line` when a known prompt of no usual shape is at its start with its
    /// changing words changed (see [`repeated`]); the newest such prompt decides.
    pub fn repeated_len(&self, line: &str) -> Option<usize> {
        repeated::newest_prompt_len(&self.known, line)
    }

    /// Without markers, where a known prompt starts inside `line`: a shell prints its prompt
    /// right after output that did not end with a newline (`printf x`, JSON from `curl`), so
    /// the prompt and the command typed at it follow the output on one line. The last such
    /// prompt, glued to the output (a bare `$ ` or `# ` right after a character that is not
    /// blank: `cost: $ 5` is output), with something typed after it. Never `> `: output is
    /// full of it.
    pub fn glued(&self, line: &str) -> Option<usize> {
        // Most output holds no `$`, `#` or `]`: one vectorised search says so.
        let bytes = line.as_bytes();
        let holds_an_end = match self.glue_ends[..] {
            [] => false,
            [a] => memchr::memchr(a, bytes).is_some(),
            [a, b] => memchr::memchr2(a, b, bytes).is_some(),
            [a, b, c] => memchr::memchr3(a, b, c, bytes).is_some(),
            ref ends => bytes.iter().any(|b| ends.contains(b)),
        };
        if !holds_an_end {
            return None;
        }
        self.known
            .iter()
            .filter(|p| !is_continuation_prompt(p))
            .filter_map(|p| {
                let last = *p.trim_end().as_bytes().last()?;
                memchr::memrchr(last, bytes)?;
                let at = line.rfind(p.as_str()).filter(|&at| at > 0)?;
                let bare = matches!(p.trim_end(), "$" | "#");
                let glued = !line[..at].ends_with(char::is_whitespace);
                let typed = !is_blank(&line[at + p.len()..]);
                (typed && (glued || !bare)).then_some(at)
            })
            .max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_prompts_are_bounded_and_the_longest_one_a_line_starts_with_wins() {
        let mut prompts = Prompts::default();
        for i in 0..MAX_KNOWN_PROMPTS + 3 {
            prompts.remember(&format!("p{i}$ "));
        }
        prompts.remember("p18$ "); // already known: not added twice
        assert_eq!(prompts.known().len(), MAX_KNOWN_PROMPTS);
        assert!(!prompts.is_known("p0$ ") && prompts.is_known("p3$ "));
        prompts.remember("[u@h ~]$ ");
        prompts.remember("[u@h ~]$ sudo ");
        assert_eq!(prompts.known_len("[u@h ~]$ sudo ls"), Some(14));
        assert_eq!(prompts.known_len("[u@h ~]$"), Some(9), "alone on its line, trimmed");
        assert_eq!(prompts.known_len("ls"), None);
        assert_eq!(prompts.glued("done[u@h ~]$ ls"), Some(4));
        assert_eq!(prompts.glued("done [u@h ~]$ "), None, "nothing typed at it");
    }

    #[test]
    fn a_glued_prompt_is_found_whichever_of_the_known_prompts_it_is() {
        let mut prompts = Prompts::default();
        prompts.remember("> ");
        assert_eq!(prompts.glued("done> ls"), None, "never the continuation prompt");
        for (n, prompt) in ["a$ ", "b# ", "c% ", "[d]", "e❯ "].into_iter().enumerate() {
            prompts.remember(prompt);
            let line = format!("x{prompt}ls");
            assert_eq!(prompts.glued(&line), Some(1), "{n}: {line}");
            assert_eq!(prompts.glued(&format!("x{prompt}")), None, "{n}: nothing typed");
        }
        let resumed = Prompts::resume(prompts.known().to_vec(), None);
        assert_eq!(resumed.glued("x[d]ls"), Some(1), "the ends are found again on resume");
    }

    #[test]
    fn a_typed_ps1_draws_prompts_no_longer_than_a_prompt_may_be() {
        let mut prompts = Prompts::default();
        prompts.assigned_in("PS1='box> '");
        assert_eq!(prompts.known_len("box> ls"), Some(5));
        prompts.assigned_in("echo unrelated");
        assert!(prompts.ps1().is_some(), "kept until another PS1= says otherwise");
        prompts.assigned_in("PS1='\\w ::> '");
        let long = format!("{} ::> ls", "d".repeat(MAX_PROMPT_CHARS));
        assert_eq!(prompts.known_len(&long), None);
        assert_eq!(prompts.known_len("/tmp ::> ls"), Some(9));
    }
}
