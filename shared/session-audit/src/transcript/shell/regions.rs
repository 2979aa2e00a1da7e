//! Lines outside the line editor's regions while a marked shell's command runs (its output,
//! or a shell without markers that took over), and a region's rows submitted as the shell
//! would run them.

use super::prompt::{is_blank, UNIX_PROMPT};
use super::syntax::needs_more;
use super::takeover::{Held, Writer};
use super::{
    foreground, AwayStretch, LineFlags, Shell, ShellSink, Tamper, MAX_NOTES, MAX_PROMPT_CHARS,
};

impl<S: ShellSink> Shell<S> {
    /// A line outside any region while a marked shell's command runs: its output, unless a
    /// shell without markers took over (see [`takeover`]): from the first line shaped as a
    /// shell's prompt with something typed after it, lines are held until that is decided.
    pub(super) fn outside_regions(&mut self, text: &str, flags: LineFlags) {
        let Some(cmd) = &self.current else {
            return self.output_line(text);
        };
        if let Some(typed) = foreground::typed_after_program_prompt(text) {
            // A program's input echoed without markers may start a shell too.
            self.shell_prompts.typed_to_program(&cmd.text, typed);
        }
        let typed = self.unmarked_command(text);
        match &mut self.held {
            Some(held) => held.push(text, flags, typed),
            None if typed.is_some() => {
                let mut held = Held::default();
                held.push(text, flags, typed);
                self.held = Some(held);
            }
            None => return self.output_line(text),
        }
        if self.held.as_ref().is_some_and(Held::full) {
            // Long enough that waiting costs memory: when unsure, the shell's. Read on
            // without markers until they come back.
            self.release_held(Writer::ShellWithoutMarkers);
            self.editor_off = true;
            self.taken_over = true;
        }
    }

    /// With markers on, what is typed after a line's prompt when the line is shaped as a
    /// shell's prompt and something typed at it: a prompt the shell used, or a usual shell
    /// prompt's shape, a bare `$ `/`# ` too (dash's, started however the command spelled it).
    pub(super) fn unmarked_command<'t>(&self, line: &'t str) -> Option<&'t str> {
        let len = match self.shell_prompts.prefix_of(line) {
            Some(len) => len,
            // A prompt's `$`, `#` or `%` is near the line's start: most output has none there.
            None if memchr::memchr3(b'$', b'#', b'%', &line.as_bytes()[..line.len().min(128)])
                .is_none() =>
            {
                return None
            }
            None => UNIX_PROMPT.find(line).map(|m| m.end()).filter(|&l| l <= MAX_PROMPT_CHARS)?,
        };
        let typed = &line[len..];
        (!is_blank(typed)).then_some(typed)
    }

    /// A parse warning, while fewer than [`MAX_NOTES`] were given (the rest are counted).
    pub(super) fn note(&mut self, text: impl FnOnce() -> String) {
        if self.notes.len() >= MAX_NOTES {
            self.notes_left_out += 1;
        } else {
            self.notes.push(text());
        }
    }

    /// Output while the shell's stderr was away: a line was typed there unseen.
    pub(super) fn note_echo_away(&mut self, AwayStretch { seq, output_lines, typed }: AwayStretch) {
        self.note(|| format!(
            "command {seq} sent the shell's stderr (its prompt and, with a line editor, the echo of what is typed) away from the terminal; {output_lines} output line(s) followed before its prompt was back: at least {typed} line(s) typed at prompts not on screen (counted in hidden_inputs)"
        ));
    }

    /// Send the held lines on as `writer` wrote them.
    pub(super) fn release_held(&mut self, writer: Writer) {
        let Some(held) = self.held.take() else { return };
        if writer == Writer::Command {
            let n = held.prompt_lines();
            self.printed_prompts += n;
            if let Some(seq) = self.current.as_ref().map(|cmd| cmd.seq) {
                self.note(|| format!(
                    "{n} line(s) shaped as a prompt and a command were printed by command {seq} before its shell prompted again with its line-editor markers: read as its output"
                ));
            }
            held.into_lines().iter().for_each(|(line, _)| self.output_line(line));
            return;
        }
        self.taken_over = true;
        // Left with `exit` before the markers came back: no shell without markers is left
        // for a marked one's `exit` to return to.
        let left = held.left_the_shell();
        for (line, flags) in held.into_lines() {
            self.submit(&line, false, flags);
        }
        self.read_unmarked = !left;
        self.taken_over = self.editor_off;
    }

    /// Submit a region's line, and the rows a multi-line buffer continued it with: each line
    /// a command, except where the shell needs more (an open quote, a trailing `\` or pipe,
    /// an unfinished `for`/`if`/`case`/`{`), which it joins.
    pub(super) fn submit_region(
        &mut self,
        (line, flags): (String, LineFlags),
        pasted: Vec<(String, LineFlags)>,
    ) {
        if self.printed_by_current(&line) {
            // Printed by the current command, which spelled the markers and this line out:
            // its output, the rows under it too.
            let seq = self.current.as_ref().map(|c| c.seq);
            self.sink.tamper(Tamper::ForgedPrompt, seq, &line);
            self.output_line(&line);
            pasted.iter().for_each(|(row, _)| self.output_line(row));
            return;
        }
        if pasted.is_empty() {
            self.submit(&line, true, flags);
            self.spare_row = line;
            return;
        }
        let prompt = self.split_prompt(&line, true).map_or(String::new(), |s| s.prompt.to_string());
        let mut text = line;
        for (row, _) in pasted {
            if needs_more(&text[prompt.len().min(text.len())..]) {
                text.push('\n');
                text.push_str(&row);
            } else {
                self.submit(&text, true, flags);
                self.open = false;
                text = format!("{prompt}{row}");
            }
        }
        self.submit(&text, true, flags);
    }

    /// The region's last row holding a prompt: the line readline was editing (rows before it
    /// are completion listings or redraws, rows after it the rest of a multi-line buffer).
    /// The last row starting with a prompt seen before; else with one of a prompt's shapes;
    /// else with a bare `$ ` or `# `, which a pasted comment line (`# …`) also starts with.
    pub(super) fn edited_row(&self, rows: &[(String, LineFlags)]) -> Option<usize> {
        let known = |line: &str| self.known_prompts.iter().any(|p| line.starts_with(p.as_str()));
        let shaped = |line: &str, bare_too: bool| {
            self.match_prompt(line, false)
                .is_some_and(|len| bare_too || !matches!(line[..len].trim_end(), "$" | "#"))
        };
        let last = |test: &dyn Fn(&str) -> bool| rows.iter().rposition(|(line, _)| test(line));
        last(&known).or_else(|| last(&|l| shaped(l, false))).or_else(|| last(&|l| shaped(l, true)))
    }
}

impl<S> Shell<S> {
    /// Whether a region's line is written out in the current command, which spelled the
    /// markers: then the command printed the region (a forged command line).
    pub(super) fn printed_by_current(&self, line: &str) -> bool {
        let line = line.trim();
        !line.is_empty() && self.spelled.as_deref().is_some_and(|text| text.contains(line))
    }
}
