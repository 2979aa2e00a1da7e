//! What a prompt looks like: the patterns a command line is recognised by when the shell
//! leaves no line-editor markers, and the lines that are never commands.

use std::sync::LazyLock;

use regex::Regex;

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
