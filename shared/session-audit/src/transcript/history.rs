//! bash's history expansion (`sudo !!`, `echo !$`, `^old^new`): what ran is not what was typed.
//!
//! bash expands the typed line before running it and prints the expanded line first, so the
//! line after the command is the command that ran (and what bash's history keeps). A person
//! can make that line up (`set +H`, then a command printing something), so it is taken only
//! when it is the typed line with each history reference replaced by text of a recent
//! command: every character typed outside the references is still there, in order.
//!
//! `fc -s [old=new …] [command]` (and POSIX's `fc -e - …`) is the same with other spelling:
//! bash prints the command it runs again, runs it, and its history keeps that command in place
//! of the `fc` ([`Rerun`]).
//!
//! A reference with the `:p` modifier (`!!:p`, `echo !$:p`, `^old^new^:p`) makes bash print the
//! expanded line and keep it in its history without running anything ([`prints_only`]).

/// How many recent commands a reference is looked up in.
const RECENT: usize = 8;
/// `fc -s` substitutions read, at most; a line with more is reported as typed.
const MAX_SUBSTITUTIONS: usize = 32;
/// The longest text an `fc -s` substitution may make on its way to the printed line (four
/// times the longest line the screen keeps: a later substitution may shorten it again).
const MAX_RERUN_CHARS: usize = 64 * 1024;

/// Whether bash could expand something in `typed` (a `!` or a leading `^`).
pub(crate) fn may_expand(typed: &str) -> bool {
    typed.starts_with('^') || memchr::memchr(b'!', typed.as_bytes()).is_some()
}

/// The last commands, newest last; buffers reused (no allocation per command once full).
#[derive(Debug, Default)]
pub(crate) struct Recent {
    texts: Vec<String>,
    next: usize,
}

impl Recent {
    pub(crate) fn push(&mut self, text: &str) {
        if self.texts.len() < RECENT {
            self.texts.push(text.to_string());
        } else {
            let slot = &mut self.texts[self.next];
            slot.clear();
            slot.push_str(text);
        }
        self.next = (self.next + 1) % RECENT;
    }

    /// Newest first.
    fn iter(&self) -> impl Iterator<Item = &str> {
        let n = self.texts.len();
        (1..=n).map(move |k| self.texts[(self.next + RECENT - k) % RECENT].as_str())
    }

    fn last(&self) -> Option<&str> {
        self.iter().next()
    }
}

/// Whether `printed` is bash's expansion of `typed`, given the commands before it.
pub(crate) fn is_expansion(typed: &str, printed: &str, recent: &Recent) -> bool {
    if printed == typed || printed.is_empty() {
        return false;
    }
    if let Some(rerun) = Rerun::parse(typed) {
        return rerun.printed(printed, recent);
    }
    if let Some(quick) = typed.strip_prefix('^') {
        // `^old^new^`: the previous command with the first `old` replaced; text after the last
        // `^` is appended, unless it is modifiers (`:p`).
        let mut parts = quick.splitn(3, '^');
        let (Some(old), Some(new)) = (parts.next(), parts.next()) else { return false };
        let tail = parts.next().filter(|t| !t.starts_with(':')).unwrap_or("");
        return !old.is_empty()
            && recent.last().is_some_and(|prev| {
                prev.contains(old) && prev.replacen(old, new, 1) + tail == printed
            });
    }
    let (literals, references) = split(typed);
    if references.is_empty() {
        return false; // no reference bash would expand
    }
    // Each gap between two literals is one reference's text: found in a recent command, or
    // holding what its substitution (`:s/old/new/`) wrote.
    let gap_ok = |gap: &str, reference: &str| {
        from_recent(gap, recent) || replacement(reference).is_some_and(|new| gap.contains(new))
    };
    let (first, last) = (literals[0], literals[literals.len() - 1]);
    let Some(mut rest) = printed.strip_prefix(first) else { return false };
    let Some(body) = rest.strip_suffix(last) else { return false };
    rest = body;
    for (literal, reference) in literals[1..literals.len() - 1].iter().zip(&references) {
        let Some(at) = (if literal.is_empty() { Some(0) } else { rest.find(literal) }) else {
            return false;
        };
        if !gap_ok(&rest[..at], reference) {
            return false;
        }
        rest = &rest[at + literal.len()..];
    }
    gap_ok(rest, references[references.len() - 1])
}

/// `fc -s [old=new …] [command]` or `fc -e - …`, a line by itself: bash runs again the newest
/// command starting with `command` (the last one without it; `-N` counts back), with every
/// `old` replaced by `new`, and prints it first. Quoted or compound lines are not read (the
/// typed line is then reported as it was).
#[derive(Debug, PartialEq)]
pub(crate) struct Rerun<'a> {
    substitutions: Vec<(&'a str, &'a str)>,
    command: Option<&'a str>,
}

impl<'a> Rerun<'a> {
    pub(crate) fn parse(typed: &'a str) -> Option<Self> {
        let rest = typed.trim().strip_prefix("fc")?.strip_prefix([' ', '\t'])?;
        let rest = rest
            .trim_start()
            .strip_prefix("-s")
            .or_else(|| rest.trim_start().strip_prefix("-e")?.trim_start().strip_prefix('-'))?;
        if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
            return None; // `fc -sx`, `fc -e -x`
        }
        if rest.contains(|c| "'\"\\;&|<>()`$\n".contains(c)) {
            return None;
        }
        let mut words = rest.split_whitespace().peekable();
        let mut substitutions = Vec::new();
        while let Some(sub) = words.next_if(|w| w.contains('=')) {
            let (old, new) = sub.split_once('=')?;
            if substitutions.len() == MAX_SUBSTITUTIONS {
                return None; // not read: reported as typed
            }
            substitutions.push((old, new));
        }
        let command = words.next();
        words.next().is_none().then_some(Rerun { substitutions, command })
    }

    /// Whether `printed` is the command this runs again, given the commands before it.
    fn printed(&self, printed: &str, recent: &Recent) -> bool {
        let again = |text: &str| {
            let mut text = text.to_string();
            for (old, new) in self.substitutions.iter().filter(|(old, _)| !old.is_empty()) {
                match replace_within(&text, old, new, printed.len().max(MAX_RERUN_CHARS)) {
                    Some(replaced) => text = replaced,
                    None => return false,
                }
            }
            text == printed
        };
        match self.command {
            None => recent.last().is_some_and(again),
            Some(back) if back.starts_with('-') && back[1..].parse::<usize>().is_ok() => {
                let n: usize = back[1..].parse().unwrap_or(0);
                n > 0 && recent.iter().nth(n - 1).is_some_and(again)
            }
            // A history number: which one is not in the transcript.
            Some(number) if number.parse::<usize>().is_ok() => recent.iter().any(again),
            Some(prefix) => recent.iter().find(|c| c.starts_with(prefix)).is_some_and(again),
        }
    }
}

/// `text` with every `old` replaced by `new`, unless that is longer than `limit` bytes: a
/// typed `fc -s a=aa a=aa …` doubles the text at each substitution (forty of them asked for
/// a terabyte), and a text that long is no line the screen kept.
fn replace_within(text: &str, old: &str, new: &str, limit: usize) -> Option<String> {
    let grows = new.len().saturating_sub(old.len());
    if grows > 0 && text.len() + text.len() / old.len() * grows > limit {
        // Non-overlapping, from the left: as `replace` finds them.
        let found = memchr::memmem::find_iter(text.as_bytes(), old.as_bytes()).count();
        if text.len() + found * grows > limit {
            return None;
        }
    }
    Some(text.replace(old, new))
}

/// The text a substitution modifier of `reference` (`:s/old/new/`, `:gs/old/new/`, any
/// delimiter) writes, when it has one.
fn replacement(reference: &str) -> Option<&str> {
    reference.split(':').skip(1).find_map(|m| {
        let body = m.strip_prefix('g').unwrap_or(m).strip_prefix('s')?;
        let delimiter = body.chars().next()?;
        body[delimiter.len_utf8()..].split(delimiter).nth(1).filter(|new| !new.is_empty())
    })
}

fn from_recent(text: &str, recent: &Recent) -> bool {
    !text.is_empty() && recent.iter().any(|c| c.contains(text))
}

/// What bash says when a history expansion fails; it then runs nothing of the line and keeps
/// nothing of it in its history.
const EXPANSION_FAILURES: [&str; 5] = [
    ": event not found",
    ": substitution failed",
    ": bad word specifier",
    ": no previous substitution",
    ": unrecognized history modifier",
];

/// Whether `line` is the shell's error for a history expansion in `typed` that failed
/// (`bash: !sh: event not found`): the shell's name, then a reference (`!…`) or modifier
/// (`:…`) typed where bash expands one (not in single quotes, not after a backslash). A
/// command that prints such a line with its reference quoted ran, and is not taken for it.
pub(crate) fn expansion_failed(typed: &str, line: &str) -> bool {
    let Some(rest) = EXPANSION_FAILURES.iter().find_map(|f| line.strip_suffix(f)) else {
        return false;
    };
    let Some((shell, what)) = rest.split_once(": ") else { return false };
    if shell.is_empty() || shell.contains(' ') || !(what.starts_with('!') || what.starts_with(':'))
    {
        return false;
    }
    typed.match_indices(what).any(|(at, _)| expanded_at(typed, at))
}

/// Whether bash's history expansion reads `typed` at byte `at`: outside single quotes and
/// not after a backslash (double quotes do not stop it).
fn expanded_at(typed: &str, at: usize) -> bool {
    let (mut single, mut double, mut escaped) = (false, false, false);
    for b in typed.as_bytes()[..at].iter() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if !single => escaped = true,
            b'\'' if !double => single = !single,
            b'"' if !single => double = !double,
            _ => {}
        }
    }
    !single && !escaped
}

/// Whether bash only prints `typed` after expanding it: one of its history references carries
/// the `:p` modifier (its modifiers, `:`-separated after the event, include `p`).
pub(crate) fn prints_only(typed: &str) -> bool {
    let is_p = |reference: &str| reference.split(':').skip(1).any(|m| m == "p");
    match typed.strip_prefix('^') {
        Some(quick) => quick.splitn(3, '^').nth(2).is_some_and(is_p),
        None => split(typed).1.into_iter().any(is_p),
    }
}

/// Whether `command` turns bash's history expansion on (`Some(true)`: `set -H`,
/// `set -o histexpand`) or off (`Some(false)`: `set +H`, `set +o histexpand`, `set +eH`).
pub(crate) fn toggles_expansion(command: &str) -> Option<bool> {
    // Nearly every command holds no `set`: told from its `s`es (a `str` search builds a
    // searcher for each call, ~240 instructions).
    let bytes = command.as_bytes();
    if !memchr::memchr_iter(b's', bytes).any(|at| bytes[at..].starts_with(b"set")) {
        return None;
    }
    let words: Vec<&str> = command.split_whitespace().collect();
    let mut found = None;
    // `set` where a command starts: first, or after `;`, `&&`, `||`, `|`, `(`, `{`, `then` …
    let starts = |i: usize| {
        i == 0
            || words[i - 1].ends_with(';')
            || ["&&", "||", "|", "(", "{", "then", "do", "else"].contains(&words[i - 1])
    };
    for i in (0..words.len()).filter(|&i| words[i] == "set" && starts(i)) {
        for (j, option) in words[i + 1..].iter().enumerate() {
            let on = match option.as_bytes().first() {
                Some(b'-') => true,
                Some(b'+') => false,
                _ => break,
            };
            let named = matches!(*option, "-o" | "+o")
                && words.get(i + 2 + j).is_some_and(|n| *n == "histexpand");
            if named || (!option.ends_with('o') && option[1..].contains('H')) {
                found = Some(on);
            }
        }
    }
    found
}

/// The typed line split around its history references: its n + 1 literals and n references.
fn split(typed: &str) -> (Vec<&str>, Vec<&str>) {
    let bytes = typed.as_bytes();
    let mut references = Vec::new();
    let (mut out, mut from, mut i) = (Vec::new(), 0, 0);
    let (mut single, mut double) = (false, false);
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if !single => i += 1,
            b'\'' if !double => single = !single,
            b'"' if !single => double = !double,
            b'!' if !single => {
                let end = reference_end(bytes, i, double);
                if end > i + 1 {
                    out.push(&typed[from..i]);
                    references.push(&typed[i..end]);
                    from = end;
                    i = end;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    out.push(&typed[from..]);
    (out, references)
}

/// Where a history reference starting at `bytes[at] == b'!'` ends (`at + 1`: none there).
fn reference_end(bytes: &[u8], at: usize, in_double_quotes: bool) -> usize {
    let stop = |b: u8| b.is_ascii_whitespace() || b";&|<>()`'\"".contains(&b);
    let mut i = at + 1;
    match bytes.get(i) {
        // Not a reference: bash leaves these alone.
        None | Some(b' ' | b'\t' | b'\n' | b'=' | b'(') => return at + 1,
        Some(b'"') if in_double_quotes => return at + 1,
        Some(b'!' | b'$' | b'^' | b'*' | b'#') => i += 1,
        Some(b'?') => {
            i += 1;
            while i < bytes.len() && bytes[i] != b'?' && bytes[i] != b'\n' {
                i += 1;
            }
            i = (i + 1).min(bytes.len());
        }
        Some(b'-') | Some(b'0'..=b'9') => {
            i += 1;
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        Some(&b) if !stop(b) => {
            while bytes.get(i).is_some_and(|&b| !stop(b) && b != b':') {
                i += 1;
            }
        }
        Some(_) => return at + 1,
    }
    // Word designators and modifiers: `:1`, `:$`, `:h`, `:s/a/b/`.
    while bytes.get(i) == Some(&b':') && bytes.get(i + 1).is_some_and(|&b| !stop(b)) {
        i += 1;
        while bytes.get(i).is_some_and(|&b| !stop(b) && b != b':') {
            i += 1;
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recent(texts: &[&str]) -> Recent {
        let mut r = Recent::default();
        texts.iter().for_each(|t| r.push(t));
        r
    }

    #[test]
    fn an_expansion_is_the_typed_line_with_references_from_recent_commands() {
        let r = recent(&["rm -rf /data/old", "ls -d /tmp"]);
        assert!(is_expansion("!!", "ls -d /tmp", &r));
        assert!(is_expansion("sudo !-2", "sudo rm -rf /data/old", &r));
        assert!(is_expansion("echo !$", "echo /tmp", &r));
        assert!(is_expansion("cd !$ && !rm", "cd /tmp && rm -rf /data/old", &r));
        assert!(is_expansion("echo \"!!\"", "echo \"ls -d /tmp\"", &r));
        assert!(is_expansion("^tmp^var", "ls -d /var", &r));
        // Made up by the command itself (`set +H`): not from a recent command, or the typed
        // text outside the references is not all there.
        assert!(!is_expansion("!!", "sh: !!: command not found", &r));
        assert!(!is_expansion("rm -rf /x !!", "/x !!", &r));
        assert!(!is_expansion("echo !$", "echo nothing-recent", &r));
        assert!(!is_expansion("^nope^x", "ls -d /tmp", &r));
        // Nothing bash expands: quoted, escaped, or `!` before a blank, `=` or `(`.
        for typed in ["echo '!!'", "echo \\!!", "echo hi !", "[ ! -f x ]", "a!=b", "echo \"hi!\""] {
            assert!(!is_expansion(typed, "ls -d /tmp", &r), "{typed}");
        }
    }

    #[test]
    fn a_reference_with_p_only_prints_and_substitutions_are_expansions() {
        for typed in ["!!:p", "echo !$:p", "!ech:p", "^abc^xyz^:p", "!!:s/a/b/:p", "cd !-2:1:p x"] {
            assert!(prints_only(typed), "{typed}");
        }
        for typed in ["!!", "echo !$:h", "echo ':p'", "^p^q^", "!!:s/a/p/", "echo a:p", "!p"] {
            assert!(!prints_only(typed), "{typed}");
        }
        assert!(is_expansion("^abc^xyz^:p", "echo xyz", &recent(&["echo abc"])));
        let r = recent(&["echo abc", "ls -d /etc"]);
        assert!(is_expansion("!!:s/etc/usr/:p", "ls -d /usr", &r));
        assert!(is_expansion("!-2:gs/abc/de/", "echo de", &r));
        assert!(!is_expansion("!!:s/etc/usr/:p", "something else", &r), "the new text is there");
        assert_eq!(replacement("!!:s/a/b/:p"), Some("b"));
        assert_eq!(replacement("!!:h"), None);
    }

    #[test]
    fn turning_history_expansion_off_and_on_is_seen() {
        for (command, on) in [
            ("set +H", Some(false)),
            ("set -H", Some(true)),
            ("set +o histexpand", Some(false)),
            ("true; set -o histexpand", Some(true)),
            ("set +eH", Some(false)),
            ("set -e", None),
            ("set +o vi", None),
            ("echo set +H", None),
            ("ls", None),
        ] {
            assert_eq!(toggles_expansion(command), on, "{command}");
        }
    }

    #[test]
    fn references_end_where_bash_ends_them() {
        let literals = |typed| split(typed).0;
        assert_eq!(literals("sudo !!"), ["sudo ", ""]);
        assert_eq!(literals("echo !$ !vi:1 x"), ["echo ", " ", " x"]);
        assert_eq!(literals("echo !?foo? done"), ["echo ", " done"]);
        assert_eq!(literals("!-2:s/a/b/;ls"), ["", ";ls"]);
        assert_eq!(literals("echo '!!'"), ["echo '!!'"]);
    }

    #[test]
    fn fc_s_prints_the_command_it_runs_again() {
        let r = recent(&["echo alpha", "ls -d /tmp", "echo after clear"]);
        assert!(is_expansion("fc -s", "echo after clear", &r));
        assert!(is_expansion("fc -s alpha=gamma echo", "echo after clear", &r), "newest first");
        assert!(is_expansion("fc -s tmp=etc ls", "ls -d /etc", &r));
        assert!(is_expansion("fc -e - a=A -3", "echo AlphA", &r), "every instance, -N back");
        assert!(is_expansion("fc -s 12", "ls -d /tmp", &r), "a history number: any recent");
        assert!(!is_expansion("fc -s ls", "echo alpha", &r), "not the newest starting so");
        assert!(!is_expansion("fc -s", "echo alpha", &r));
        assert!(!is_expansion("fc -s -9", "echo alpha", &r), "past what is known");
        assert!(!is_expansion("fc -s ech", "bash: fc: no command found", &r));
        for not_read in [
            "fc -l",
            "fc -sl",
            "fc-s",
            "fc -e vi",
            "fc -s 'a b'=c",
            "fc -s; echo alpha",
            "fc -s a b",
        ] {
            assert_eq!(Rerun::parse(not_read), None, "{not_read}");
        }
        assert!(!prints_only("fc -s"));
    }

    #[test]
    fn fc_s_substitutions_cannot_grow_the_text_without_bound() {
        let r = recent(&["echo a"]);
        // Forty doublings: a terabyte, were each made.
        let doubling = format!("fc -s {}", ["a=aa"; 40].join(" "));
        assert!(!is_expansion(&doubling, "echo aa", &r));
        // Grown, then shortened again, within the bound: still read.
        assert!(is_expansion("fc -s a=aaaa aaaa=b", "echo b", &r));
        let grown = format!("fc -s {}", ["a=aa"; 10].join(" "));
        assert!(is_expansion(&grown, &format!("echo {}", "a".repeat(1024)), &r));
        let too_many = format!("fc -s {}", ["x=y"; MAX_SUBSTITUTIONS + 1].join(" "));
        assert_eq!(Rerun::parse(&too_many), None, "reported as typed");
        assert_eq!(replace_within("abab", "ab", "abc", 6), Some("abcabc".into()), "exact");
        assert_eq!(replace_within("abab", "ab", "abc", 5), None);
    }

    #[test]
    fn recent_keeps_the_last_eight_newest_first() {
        let texts: Vec<String> = (0..20).map(|i| format!("cmd {i}")).collect();
        let mut r = Recent::default();
        for (i, t) in texts.iter().enumerate() {
            r.push(t);
            assert_eq!(r.last(), Some(t.as_str()));
            let want: Vec<&str> =
                texts[..=i].iter().rev().take(RECENT).map(String::as_str).collect();
            assert_eq!(r.iter().collect::<Vec<_>>(), want);
        }
    }

    #[test]
    fn a_failed_expansion_is_told_by_the_shells_error_naming_what_was_typed() {
        assert!(expansion_failed("!sh", "bash: !sh: event not found"));
        assert!(expansion_failed("echo !!:9", "-bash: !!:9: bad word specifier"));
        assert!(expansion_failed("!!:s/x/y/", "sh-5.2: :s/x/y/: substitution failed"));
        assert!(!expansion_failed("!sh", "bash: !other: event not found"), "not what was typed");
        assert!(!expansion_failed("!sh", "the event not found"));
        assert!(!expansion_failed("!sh", "bash: !sh: command not found"));
        // Printed by what ran: the reference is quoted or escaped there, so bash read it as is.
        let printed = "printf 'bash: %s: event not found\\n' '!x'; chmod u+s /tmp/f";
        assert!(!expansion_failed(printed, "bash: !x: event not found"));
        assert!(!expansion_failed("echo \\!x", "bash: !x: event not found"));
        assert!(expansion_failed("echo \"!x\"", "bash: !x: event not found"));
        assert!(!expansion_failed("bash: !x: y", "bash: x: event not found"), "no reference");
    }
}
