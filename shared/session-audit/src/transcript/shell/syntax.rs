//! Just enough of the shell's syntax to tell a complete command line from one that goes on
//! (an open quote, a compound command, a here-document, a trailing backslash), and to join the
//! continuation lines as bash's history does.

/// A backslash-newline is removed (as bash's history does); other lines keep their newline.
pub(super) fn join_continuation(text: &mut String, next: &str) {
    let trailing = text.chars().rev().take_while(|c| *c == '\\').count();
    if trailing % 2 == 1 {
        text.pop();
    } else {
        text.push('\n');
    }
    text.push_str(next);
}

/// Whether a shell reading `text` would wait for more lines (the whole text at once).
#[cfg(test)]
pub(super) fn needs_more(text: &str) -> bool {
    let mut reading = Reading::default();
    text.lines().for_each(|line| reading.line(line));
    reading.needs_more()
}

/// What a shell knows after the lines it has read of one command: a line at a time, so a
/// paste of thousands of rows is read once (asking [`needs_more`] of the whole text again
/// at each row cost the square of its length).
#[derive(Default)]
pub(super) struct Reading {
    /// Here-documents opened and not yet ended, oldest first: their bodies are data.
    open: Vec<(String, bool)>,
    lexer: Comments,
    /// Quotes of the code read so far (comments and bodies left out).
    quotes: Comments,
    /// Compound commands (`for`, `if`, `{` …) opened and not closed.
    depth: i32,
    /// The last line of code holding more than spaces ends in `\`, `|`, `&&` or `||`.
    ends_open: bool,
}

impl Reading {
    pub(super) fn line(&mut self, line: &str) {
        if let Some((word, strip_tabs)) = self.open.first() {
            let body = if *strip_tabs { line.trim_start_matches('\t') } else { line };
            if body == word {
                self.open.remove(0);
            }
            return;
        }
        let code = self.lexer.code_of(line);
        let bytes = code.as_bytes();
        // Nearly every line opens no here-document and holds no quote or backslash: then
        // neither search below could change anything, and both are skipped.
        if memchr::memchr(b'<', bytes).is_some() {
            self.open.extend(here_documents(&code));
        }
        if self.quotes.escaped || memchr::memchr3(b'\\', b'\'', b'"', bytes).is_some() {
            self.quotes.scan(&code);
            self.quotes.scan("\n");
        }
        let end = code.trim_end();
        if !end.is_empty() {
            self.ends_open = end.ends_with('\\')
                || end.ends_with('|')
                || end.ends_with("&&")
                || end.ends_with("||");
        }
        self.depth += depth_change(&code);
    }

    /// Whether the shell waits for more lines.
    pub(super) fn needs_more(&self) -> bool {
        !self.open.is_empty() || self.ends_open || self.quotes.quoted() || self.depth > 0
    }
}

/// What bash's lexer knows at the end of a line that decides whether a `#` on the next one
/// starts a comment: an open quote, a backslash.
#[derive(Default)]
struct Comments {
    single: bool,
    double: bool,
    escaped: bool,
}

impl Comments {
    /// `line` without its comment: from a `#` that starts a word, outside quotes, to the end
    /// (a quote, a keyword, a `|` or a trailing backslash there opens and continues nothing).
    fn code_of<'l>(&mut self, line: &'l str) -> std::borrow::Cow<'l, str> {
        let special = |b: &u8| matches!(b, b'#' | b'\'' | b'"' | b'\\');
        if !line.as_bytes().iter().any(special) && !self.quoted() && !self.escaped {
            return line.into(); // nearly every line
        }
        // After a backslash-newline the line goes on the word before it: no word starts here.
        let mut prev: Option<char> = self.escaped.then_some('\\');
        for (i, c) in line.char_indices() {
            match c {
                _ if self.escaped => self.escaped = false,
                '\\' if !self.single => self.escaped = true,
                '\'' if !self.double => self.single = !self.single,
                '"' if !self.single => self.double = !self.double,
                '#' if !self.quoted()
                    && prev.is_none_or(|p| p.is_whitespace() || ";&|()".contains(p)) =>
                {
                    return line[..i].into();
                }
                _ => {}
            }
            prev = Some(c);
        }
        line.into()
    }

    fn quoted(&self) -> bool {
        self.single || self.double
    }

    /// Follow the quotes of `code` (no comment is looked for: it was cut off already).
    fn scan(&mut self, code: &str) {
        for c in code.chars() {
            match c {
                _ if self.escaped => self.escaped = false,
                '\\' if !self.single => self.escaped = true,
                '\'' if !self.double => self.single = !self.single,
                '"' if !self.single => self.double = !self.double,
                _ => {}
            }
        }
    }
}

/// The here-documents a line of shell code opens (`<<WORD`, `<<-WORD`, quoted or not), in
/// order: each word and whether its body may indent the word with tabs (`<<-`).
fn here_documents(line: &str) -> Vec<(String, bool)> {
    let bytes = line.as_bytes();
    let (mut words, mut i) = (Vec::new(), 0);
    let (mut single, mut double, mut arithmetic) = (false, false, 0usize);
    while i < bytes.len() {
        let code = !single && !double;
        match bytes[i] {
            b'\\' if !single => i += 1,
            b'\'' if !double => single = !single,
            b'"' if !single => double = !double,
            // `$((1 << 2))` and `(( x <<= 1 ))` shift, they open nothing.
            b'(' if code && bytes[i + 1..].starts_with(b"(") => {
                arithmetic += 1;
                i += 1;
            }
            b')' if code && arithmetic > 0 && bytes[i + 1..].starts_with(b")") => {
                arithmetic -= 1;
                i += 1;
            }
            b'<' if code && arithmetic == 0 && bytes[i + 1..].starts_with(b"<") => {
                i += 2;
                if bytes.get(i) == Some(&b'<') {
                    i += 1; // `<<<`: a here-string, no body
                    continue;
                }
                let strip_tabs = bytes.get(i) == Some(&b'-');
                i += usize::from(strip_tabs);
                while matches!(bytes.get(i), Some(b' ' | b'\t')) {
                    i += 1;
                }
                let start = i;
                let (mut q1, mut q2) = (false, false);
                while let Some(&b) = bytes.get(i) {
                    match b {
                        b'\'' if !q2 => q1 = !q1,
                        b'"' if !q1 => q2 = !q2,
                        b' ' | b'\t' | b';' | b'&' | b'|' | b'<' | b'>' | b'(' | b')'
                            if !q1 && !q2 =>
                        {
                            break
                        }
                        _ => {}
                    }
                    i += 1;
                }
                // Quotes and backslashes in the word only stop expansion in the body.
                let word: String =
                    line[start..i].chars().filter(|c| !matches!(c, '\'' | '"' | '\\')).collect();
                if !word.is_empty() {
                    words.push((word, strip_tabs));
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    words
}

/// How many compound commands one line of shell code opens (less those it closes): reserved
/// words count where a command starts (`echo for you` opens nothing).
fn depth_change(line: &str) -> i32 {
    let (mut depth, mut at_start) = (0, true);
    // bash splits words at blanks (space and tab) only: `for\u{a0}x` is one word to it.
    let words = line.as_bytes().split(|&b| b == b' ' || b == b'\t').filter(|w| !w.is_empty());
    for word in words {
        let (word, ends) = match word.strip_suffix(b";") {
            Some(w) => (w, true),
            None => (word, false),
        };
        if at_start {
            match word {
                b"for" | b"while" | b"until" | b"select" | b"if" | b"case" | b"{" => depth += 1,
                b"done" | b"fi" | b"esac" | b"}" => depth -= 1,
                _ => {}
            }
        }
        at_start =
            ends || matches!(word, b"&&" | b"||" | b"|" | b";" | b"do" | b"then" | b"else" | b"{");
    }
    depth
}
