//! What a prompt looks like: the patterns a command line is recognised by when the shell
//! leaves no line-editor markers, the lines that are never commands, and where a line's
//! prompt ends (the prompts a session used, learned as it goes).

use std::sync::LazyLock;

use regex::Regex;

use super::{foreground, PromptStyle, Shell, ShellSink, MAX_KNOWN_PROMPTS, MAX_PROMPT_CHARS};

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

impl<S: ShellSink> Shell<S> {
    pub(super) fn remember_prompt(&mut self, prompt: &str) {
        if prompt.is_empty() || self.known_prompts.iter().any(|p| p == prompt) {
            return;
        }
        if self.known_prompts.len() == MAX_KNOWN_PROMPTS {
            self.known_prompts.remove(0);
        }
        self.known_prompts.push(prompt.to_string());
    }

    pub(super) fn split_prompt<'t>(
        &mut self,
        line: &'t str,
        from_markers: bool,
    ) -> Option<Split<'t>> {
        // A known prompt's first byte first: nearly every line fails it (no memcmp call).
        let first = line.as_bytes().first();
        let known = self
            .known_prompts
            .iter()
            .filter(|p| p.as_bytes().first() == first)
            .filter(|p| line.starts_with(p.as_str()) || line == p.trim_end())
            .map(String::len)
            .max();
        let (prompt_len, recognised) = match known {
            Some(len) => (len.min(line.len()), true),
            None => match self.match_prompt(line, from_markers) {
                Some(len) => (len, true),
                None if from_markers => (0, false),
                None => (self.changed_prompt(line)?, true),
            },
        };
        let prompt = &line[..prompt_len];
        let bare = matches!(prompt.trim_end(), "$" | "#");
        if !from_markers && !self.accept_heuristic_prompt(prompt, bare) {
            return None;
        }
        self.prompt_seen |= recognised;
        // A prompt alone on its line has lost its trailing space to trimming: not a template.
        if recognised && prompt_len < line.len() {
            self.remember_prompt(prompt);
        }
        // CloudWatch's cleaned stream can repeat the prompt of empty Enters: "sh-4.2$ sh-4.2$ ls".
        let (mut command, mut repeats) = (&line[prompt_len..], 0);
        while !prompt.is_empty() && prompt.ends_with(' ') && command.starts_with(prompt) {
            command = &command[prompt.len()..];
            repeats += 1;
        }
        Some(Split { prompt, command, recognised, bare, repeats })
    }

    /// The prompt's length in bytes, by pattern.
    pub(super) fn match_prompt(&self, line: &str, from_markers: bool) -> Option<usize> {
        if line.starts_with("> ") || line == ">" {
            return Some(line.len().min(2)); // PS2, the continuation prompt
        }
        let found = match self.style {
            PromptStyle::PowerShell => POWERSHELL_PROMPT.find(line).map(|m| m.end()),
            PromptStyle::Unix => UNIX_PROMPT.find(line).map(|m| m.end()),
        };
        if found.is_some() || !from_markers {
            return found.filter(|len| *len <= MAX_PROMPT_CHARS);
        }
        // Inside a marked region the prompt is whatever precedes the first "$ ", "# ", "> "
        // or "% " (or the whole line when nothing was typed).
        let end = line
            .char_indices()
            .take(MAX_PROMPT_CHARS)
            .find(|(i, c)| "$#>%".contains(*c) && line[i + 1..].starts_with(' '))
            .map(|(i, _)| i + 2);
        end.or_else(|| line.ends_with(['$', '#', '>', '%']).then_some(line.len()))
    }

    /// Without markers, right after a command that may set the prompt (`PS1=…`, `bash`,
    /// `source`): a line starting with a word that ends as bash's `\$` or zsh's `%` end a
    /// prompt (`ssmuser$ `, `/tmp# `) holds the new prompt, learned from here on.
    pub(super) fn changed_prompt(&self, line: &str) -> Option<usize> {
        let command = self.current.as_ref()?;
        if !foreground::hands_over(&command.text) {
            return None;
        }
        let word = line.split(' ').next()?;
        let ends = word.len() >= 2 && word.ends_with(['$', '#', '%']) && line.len() > word.len();
        (ends && word.len() < 64).then_some(word.len() + 1)
    }

    /// Without markers, where a known prompt starts inside `line`: a shell prints its prompt
    /// right after output that did not end with a newline (`printf x`, JSON from `curl`), so
    /// the prompt and the command typed at it follow the output on one line. The last such
    /// prompt, glued to the output (a bare `$ ` or `# ` right after a character that is not
    /// blank: `cost: $ 5` is output), with something typed after it. Never `> `: output is
    /// full of it.
    pub(super) fn glued_prompt(&self, line: &str) -> Option<usize> {
        self.known_prompts
            .iter()
            .filter(|p| !is_continuation_prompt(p))
            .filter_map(|p| {
                // Most output holds no `$`, `#` or `]`: one vectorised search says so.
                let last = *p.trim_end().as_bytes().last()?;
                memchr::memrchr(last, line.as_bytes())?;
                let at = line.rfind(p.as_str()).filter(|&at| at > 0)?;
                let bare = matches!(p.trim_end(), "$" | "#");
                let glued = !line[..at].ends_with(char::is_whitespace);
                let typed = !is_blank(&line[at + p.len()..]);
                (typed && (glued || !bare)).then_some(at)
            })
            .max()
    }

    /// Without markers, a new prompt must look like one and appear where a prompt can.
    pub(super) fn accept_heuristic_prompt(&self, prompt: &str, bare: bool) -> bool {
        if self.known_prompts.iter().any(|p| p == prompt) {
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
        !bare || switched || self.known_prompts.is_empty() || self.taken_over
    }
}

/// A line split at its prompt.
pub(super) struct Split<'t> {
    pub prompt: &'t str,
    pub command: &'t str,
    pub recognised: bool,
    pub bare: bool,
    /// The prompt was repeated before the command this many times (nothing typed at it).
    pub repeats: usize,
}
