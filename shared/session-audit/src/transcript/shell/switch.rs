//! Commands that change whose prompt comes next: the line editor turned off, another shell
//! started or left, markers spelled out by a command, and privilege taken through `sudo`.

use std::sync::LazyLock;

use memchr::memmem::Finder;
use regex::Regex;

/// Commands that turn the line editor (and with it the markers) off while the shell goes on,
/// or start a shell without one (`sh` is dash on Debian and Ubuntu; where it is bash the
/// markers return at its first prompt and the mode ends), interactively (a script argument is
/// not a shell to type into): from then on command lines are read by their prompt, until the
/// markers come back.
pub(super) static EDITOR_OFF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"\bset\s+\+o\s+(?:emacs|vi)\b|enable-bracketed-paste\W+(?:off|0)\b|--noediting\b",
        r"|^\s*(?:exec\s+)?(?:sudo\s+(?:\S+\s+)*?)?(?:/bin/|/usr/bin/)?(?:dash|ash|ksh|mksh|sh|busybox\s+sh)(?:\s+-[a-z]+)*\s*$"
    ))
    .expect("editor-off pattern")
});
/// A bracketed-paste "on" spelled out in a command line (`printf '\e[?2004h…'`): the command
/// prints line-editor markers itself, so the next regions are its output, not a shell's.
pub(super) static SPELLED_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\\e|\\E|\\0?33|\\x1[bB]|\\u001[bB]|\x1b)\[\?2004h").expect("marker pattern")
});

/// Whether `text` holds one of the literals every match of [`EDITOR_OFF`]'s non-shell
/// alternatives and of [`SPELLED_MARKER`] holds. One pass over the bytes with a table of the
/// words' first bytes: cheaper on a short command than any searcher's setup.
pub(super) fn holds_marker_word(text: &str) -> bool {
    const WORDS: [&[u8]; 4] = [b"+o", b"bracketed", b"noediting", b"2004h"];
    const FIRST: [bool; 256] = {
        let mut first = [false; 256];
        let mut i = 0;
        while i < WORDS.len() {
            first[WORDS[i][0] as usize] = true;
            i += 1;
        }
        first
    };
    let bytes = text.as_bytes();
    (0..bytes.len())
        .any(|i| FIRST[bytes[i] as usize] && WORDS.iter().any(|w| bytes[i..].starts_with(w)))
}

/// True for every command [`EDITOR_OFF`]'s shell alternative matches: the last word that is
/// not a flag ends in `sh`.
pub(super) fn may_start_a_shell(text: &str) -> bool {
    static SH: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("sh"));
    SH.find(text.as_bytes()).is_some()
        && text
            .split_whitespace()
            .rev()
            .find(|w| !w.starts_with('-'))
            .is_some_and(|w| w.ends_with("sh"))
}

/// `exit` or `logout`, with or without a status.
pub(super) fn leaves_the_shell(text: &str) -> bool {
    let start = text.trim_start();
    if !start.starts_with("exit") && !start.starts_with("logout") {
        return false; // nearly every command: no split
    }
    let mut words = start.split_whitespace();
    matches!(words.next(), Some("exit" | "logout")) && words.all(|w| w.parse::<i32>().is_ok())
}

/// Commands after which a different prompt is expected.
pub(super) static SHELL_SWITCH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:sudo|su|bash|sh|dash|zsh|ksh|exit|logout|ssh|newgrp|sg|exec|docker|kubectl|runuser|chroot|nsenter)\b")
        .expect("switch pattern")
});

pub(super) fn runs_as_root_via_sudo(command: &str) -> bool {
    let start = command.trim_start();
    if !start.starts_with("sudo") {
        return false; // nearly every command: no split
    }
    let mut words = start.split_whitespace();
    if words.next() != Some("sudo") {
        return false;
    }
    let rest: Vec<&str> = words.collect();
    match rest.iter().position(|w| *w == "-u" || w.starts_with("--user")) {
        None => true,
        Some(i) => {
            let user = rest[i].strip_prefix("--user=").or_else(|| rest.get(i + 1).copied());
            matches!(user, Some("root" | "0" | "#0"))
        }
    }
}
