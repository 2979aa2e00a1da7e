//! The prompt a `PS1` assignment will draw. A person may set any prompt (`➜ ~ (main) `, a
//! theme's arrows): no pattern of usual shapes finds where it ends, but the assignment typed in
//! the session says what bash will draw, with the parts that change (`\w`, `$(git …)`) left
//! open. Its last line is what precedes the typed text on the row submitted.
//!
//! Only a template with some fixed text of its own is kept: `PS1='\w '` would end at the first
//! space of any line, a program's prompt included.

use serde::{Deserialize, Serialize};

/// A piece of a prompt as bash draws it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Piece {
    /// Drawn as written.
    Text(String),
    /// Whatever bash or a command substitution puts there (`\u`, `\w`, `$(…)`, `$VAR`): any
    /// text without a line break, as short as the rest allows.
    Open,
    /// `\$`: `#` for root, `$` for anyone else.
    Dollar,
}

/// Fixed characters, other than spaces, a template must draw itself.
const MIN_FIXED: usize = 2;

/// The last line of the prompt a `PS1` assignment draws (kept between two pieces of a
/// session read apart, see `ShellSnapshot`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template(Vec<Piece>);

impl Template {
    /// The template of the last `PS1=` assignment in `command` (`PS1='…'`, `export PS1="…"`,
    /// unquoted), if it draws enough fixed text to be told from other lines.
    pub(super) fn assigned_in(command: &str) -> Option<Self> {
        // Where a command starts (`export` or `declare -x` before it): not `echo PS1=…`.
        let at = command.rmatch_indices("PS1=").map(|(i, _)| i).find(|&i| {
            let before = command[..i].trim_end();
            before.is_empty()
                || before.ends_with([';', '&', '|', '(', '{'])
                || before.ends_with("export")
                || before.ends_with("declare -x")
        })?;
        let value = shell_word(&command[at + 4..]);
        let last_line = value.rsplit(['\n']).next().unwrap_or("");
        let last_line = last_line.rsplit("\\n").next().unwrap_or("");
        let pieces = pieces(last_line);
        let fixed: usize = pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.chars().filter(|c| !c.is_whitespace()).count(),
                Piece::Dollar => 1,
                Piece::Open => 0,
            })
            .sum();
        // It must end in something fixed, or where the prompt ends is not drawn.
        let ends_fixed = !matches!(pieces.last(), None | Some(Piece::Open));
        (fixed >= MIN_FIXED && ends_fixed).then_some(Template(pieces))
    }

    /// The length of the prompt at the start of `line`, when it is this template's (a prompt
    /// alone on its line may have lost its trailing spaces) and its open pieces end within
    /// the first `limit` bytes: the caller says how long a prompt may be.
    pub(super) fn prompt_len(&self, line: &str, limit: usize) -> Option<usize> {
        matches(&self.0, line, limit)
    }
}

/// Where the pieces, matched from the start of `line`, end; open pieces as short as possible,
/// each ending within `limit` bytes and before any line break.
///
/// Each run of fixed pieces is placed at the first place it fits after the open piece before
/// it. Nothing else needs trying: a match not anchored at the line's end that exists with a
/// run placed later exists with it placed first too, as every later run then has more room
/// (no fixed piece matches a line break, so none is jumped). A search of every place for
/// every open piece cost the product of the line's length over the open pieces: the output
/// of a session that typed `PS1='\u@\h:\w:\$ '` made any line of `@:` a trap.
fn matches(pieces: &[Piece], line: &str, limit: usize) -> Option<usize> {
    let line_end = line.find('\n').unwrap_or(line.len());
    let (mut at, mut open, mut rest) = (0, false, pieces);
    while let Some((first, after)) = rest.split_first() {
        if matches!(first, Piece::Open) {
            (open, rest) = (true, after);
            continue;
        }
        let run = rest.iter().position(|p| matches!(p, Piece::Open)).unwrap_or(rest.len());
        let (fixed, after) = rest.split_at(run);
        let last = after.is_empty();
        at = if open {
            (at..=line_end.min(limit))
                .filter(|&i| line.is_char_boundary(i))
                .find_map(|i| fixed_run(fixed, line, i, last))?
        } else {
            fixed_run(fixed, line, at, last)?
        };
        (open, rest) = (false, after);
    }
    Some(at)
}

/// Where fixed pieces placed at `at` end in `line`; when they are the template's `last`, the
/// prompt may stand alone on its line with its trailing spaces trimmed.
fn fixed_run(pieces: &[Piece], line: &str, mut at: usize, last: bool) -> Option<usize> {
    for (n, piece) in pieces.iter().enumerate() {
        let tail = &line[at..];
        at += match piece {
            Piece::Text(text) if tail.starts_with(text.as_str()) => text.len(),
            Piece::Text(text) if last && n + 1 == pieces.len() && text.trim_end() == tail => {
                tail.len()
            }
            Piece::Dollar if tail.starts_with(['$', '#']) => 1,
            Piece::Text(_) | Piece::Dollar | Piece::Open => return None,
        };
    }
    Some(at)
}

/// The value of the shell word at the start of `s`, quotes removed (`'…'` literal, `"…"` with
/// `\"`, `\\`, `\$` and `` \` `` unescaped); it ends at unquoted whitespace or `;`.
fn shell_word(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => out.extend(chars.by_ref().take_while(|&c| c != '\'')),
            '"' => {
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' if chars.peek().is_some_and(|n| "\"\\$`".contains(*n)) => {
                            // `"\$ "` is `\$` to the prompt, as `'\$ '` is.
                            let n = chars.next().unwrap_or('\\');
                            if n == '$' {
                                out.push('\\');
                            }
                            out.push(n);
                        }
                        c => out.push(c),
                    }
                }
            }
            c if c.is_whitespace() || c == ';' || c == '&' || c == '|' => break,
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push('\\');
                    out.push(n);
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// bash's prompt escapes, expanded into what the screen shows: colours and titles removed
/// (the screen does not keep them), `\$` and the changing parts as pieces.
fn pieces(value: &str) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    let mut text = String::new();
    let push = |out: &mut Vec<Piece>, text: &mut String, piece: Option<Piece>| {
        if !text.is_empty() {
            out.push(Piece::Text(std::mem::take(text)));
        }
        if let Some(piece) = piece {
            if !(piece == Piece::Open && out.last() == Some(&Piece::Open)) {
                out.push(piece);
            }
        }
    };
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &value[i..];
        if let Some(seq) = escape_len(rest) {
            i += seq; // ESC written as `\e`, `\033`, `\E` or raw: not on the screen
            continue;
        }
        match bytes[i] {
            b'\\' if i + 1 < bytes.len() => {
                let n = bytes[i + 1];
                i += 2;
                match n {
                    b'[' | b']' => {}
                    b'$' => push(&mut out, &mut text, Some(Piece::Dollar)),
                    b'\\' => text.push('\\'),
                    b'a' => {}
                    b'D' => {
                        // `\D{format}`: a date.
                        i += value[i..].find('}').map_or(0, |e| e + 1);
                        push(&mut out, &mut text, Some(Piece::Open));
                    }
                    b'0'..=b'7' => {
                        let digits = value[i - 1..].bytes().take(3).take_while(u8::is_ascii_digit);
                        i += digits.count() - 1;
                    }
                    _ => push(&mut out, &mut text, Some(Piece::Open)),
                }
            }
            b'$' if bytes.get(i + 1).is_some_and(|b| {
                *b == b'(' || *b == b'{' || b.is_ascii_alphabetic() || *b == b'_'
            }) =>
            {
                i += substitution_len(&value[i..]);
                push(&mut out, &mut text, Some(Piece::Open));
            }
            b'`' => {
                i += value[i + 1..].find('`').map_or(value.len() - i, |e| e + 2);
                push(&mut out, &mut text, Some(Piece::Open));
            }
            _ => {
                let c = rest.chars().next().unwrap_or(' ');
                text.push(c);
                i += c.len_utf8();
            }
        }
    }
    push(&mut out, &mut text, None);
    out
}

/// The length of an escape sequence at the start of `s` written the ways a `PS1` writes ESC
/// (`\e[32m`, `\033]0;t\007`, a raw ESC), through its final byte.
fn escape_len(s: &str) -> Option<usize> {
    let after = ["\\e", "\\E", "\\033", "\\x1b", "\\x1B", "\x1b"]
        .iter()
        .find_map(|esc| s.strip_prefix(esc).map(|rest| (s.len() - rest.len(), rest)))?;
    let (start, rest) = after;
    let body = match rest.as_bytes().first() {
        Some(b'[') => rest[1..].find(|c: char| ('@'..='~').contains(&c)).map(|e| e + 2),
        // A title: up to BEL (`\a`, `\007`) or ST (`\e\\`).
        Some(b']') => ["\\a", "\\007", "\x07", "\\e\\\\", "\\033\\\\"]
            .iter()
            .filter_map(|end| rest.find(end).map(|e| e + end.len()))
            .min(),
        Some(_) => Some(1),
        None => Some(0),
    }?;
    Some(start + body)
}

/// The length of `$(…)`, `${…}` or `$NAME` at the start of `s` (nested parentheses counted).
fn substitution_len(s: &str) -> usize {
    let bytes = s.as_bytes();
    let close = match bytes.get(1) {
        Some(b'(') => b')',
        Some(b'{') => b'}',
        _ => {
            let name = s[1..].find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
            return 1 + name.unwrap_or(s.len() - 1);
        }
    };
    let open = bytes[1];
    let mut depth = 0;
    for (i, &b) in bytes.iter().enumerate().skip(1) {
        if b == open {
            depth += 1;
        } else if b == close {
            depth -= 1;
            if depth == 0 {
                return i + 1;
            }
        }
    }
    s.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split<'a>(command: &str, line: &'a str) -> Option<&'a str> {
        let template = Template::assigned_in(command)?;
        template.prompt_len(line, usize::MAX).map(|len| &line[..len])
    }

    #[test]
    fn the_prompt_a_ps1_assignment_draws_is_found_on_its_line() {
        let arrow = r"PS1='\[\e[32m\]➜ \W (main)\[\e[0m\] '";
        assert_eq!(split(arrow, "➜ ~ (main) echo arrow"), Some("➜ ~ (main) "));
        assert_eq!(split(arrow, "➜ my dir (main) ls (main) x"), Some("➜ my dir (main) "));
        assert_eq!(split(arrow, "➜ ~ (main)"), Some("➜ ~ (main)"), "alone, trimmed");
        assert_eq!(split(arrow, "sqlite> select 1;"), None);
        let two_lines = r"PS1='\n\u@\h \w\n[\!] \$ '";
        assert_eq!(split(two_lines, "[12] # id"), Some("[12] # "), "its last line");
        let subst = r#"export PS1="\u:$(git branch 2>/dev/null | cut -c3-) λ ""#;
        assert_eq!(split(subst, "ann:main λ git push"), Some("ann:main λ "));
        let title = r"PS1='\[\033]0;\u@\h\007\]=> '";
        assert_eq!(split(title, "=> uptime"), Some("=> "));
        let octal = r"PS1='\033[1;31m\]>>> \[\033[0m'; PS0=x";
        assert_eq!(split(octal, ">>> whoami"), Some(">>> "));
        assert_eq!(split("PS1=%%:", "%%:ls"), Some("%%:"), "unquoted");
    }

    /// The search as first written: every place for every open piece, shortest first.
    fn every_place(pieces: &[Piece], line: &str, at: usize) -> Option<usize> {
        let Some((first, rest)) = pieces.split_first() else { return Some(at) };
        let tail = &line[at..];
        match first {
            Piece::Text(text) if tail.starts_with(text.as_str()) => {
                every_place(rest, line, at + text.len())
            }
            Piece::Text(text) if rest.is_empty() && text.trim_end() == tail => Some(line.len()),
            Piece::Text(_) => None,
            Piece::Dollar if tail.starts_with(['$', '#']) => every_place(rest, line, at + 1),
            Piece::Dollar => None,
            Piece::Open => tail
                .char_indices()
                .map(|(i, _)| at + i)
                .chain(std::iter::once(line.len()))
                .take_while(|&i| !line[at..i].contains('\n'))
                .find_map(|i| every_place(rest, line, i)),
        }
    }

    #[test]
    fn each_run_placed_first_finds_what_every_place_finds() {
        // Lines made of the templates' own fixed texts, so that many hold a prompt (several
        // places for an open piece to end), and line breaks.
        const TOKENS: [&str; 14] =
            ["@", ":", "$ ", "#", " ", " (main) λ ", "[", "]", "u", "\n", "=> ", " :: ", "a", "$"];
        let templates = [
            r"PS1='\u@\h:\w:\$ '",
            r"PS1='\w (main) λ '",
            r"PS1='[\u \W]\$ '",
            r"PS1='\u:$(b) :: '",
            r"PS1='=> '",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let mut found_some = 0;
        for _ in 0..20_000 {
            let Template(pieces) = Template::assigned_in(templates[next(templates.len())]).unwrap();
            let line: String = (0..next(14)).map(|_| TOKENS[next(TOKENS.len())]).collect();
            let limit = [3, 8, usize::MAX][next(3)];
            let expected = every_place(&pieces, &line, 0).filter(|&n| n <= limit);
            let found = matches(&pieces, &line, limit).filter(|&n| n <= limit);
            assert_eq!(found, expected, "{pieces:?} {line:?} {limit}");
            found_some += usize::from(found.is_some());
        }
        assert!(found_some > 500, "too few lines held a prompt: {found_some}");
    }

    #[test]
    fn lines_full_of_a_templates_fixed_text_are_searched_once() {
        // Three open pieces: every place for each cost the cube of the line's length.
        let template = r"PS1='\u@\h:\w:\$ '";
        let trap = "@:".repeat(8 * 1024);
        assert_eq!(split(template, &trap), None);
        let prompt = format!("{}$ ", "@:".repeat(100));
        assert_eq!(split(template, &format!("{prompt}ls")), Some(&*prompt));
        assert_eq!(split(template, "ann@box:/tmp:$ ls"), Some("ann@box:/tmp:$ "));
    }

    #[test]
    fn a_template_with_too_little_of_its_own_is_not_kept() {
        for loose in [
            r"PS1='\w '",
            r"PS1='\n\w\n\$ '",
            r"PS1='$(prompt_fn)'",
            "PS1='> '",
            r"PS1='\u\w'",
            "echo PS1=ab",
        ] {
            assert_eq!(Template::assigned_in(loose), None, "{loose}");
        }
        assert!(Template::assigned_in("x=1; PS1='ab '").is_some());
    }
}
