//! Lines submitted that never reached the screen, counted (a lower bound, never a guess):
//! * a region closed with nothing typed, then a line feed: echo off (see [`Blind`]);
//! * lines typed while the shell's own output went elsewhere. bash writes its prompt, the
//!   echo of what is typed and the line editor's markers to stderr: after `exec 2>/dev/null`
//!   none of them reaches the screen, only what commands print on stdout does (see
//!   [`EchoAway`]). Nor does any line typed there; but a shell that sets the window title
//!   before every prompt (RHEL's and Amazon Linux's `PROMPT_COMMAND`) does so on stdout:
//!   each such title is a prompt drawn, and every prompt drawn but the last had a line typed
//!   at it (see [`PromptTitles`]).

use super::prompt::is_blank;
use super::switch::leaves_the_shell;

/// A region closed with nothing typed on it (its prompt kept). A line feed next means a line
/// was submitted that the terminal never showed (echo off), or Ctrl-D: readline prints
/// nothing for either, and bash then prints `exit` as it does for a typed `exit`. A shell
/// that exited does not prompt again; one that ran a hidden command does.
#[derive(Debug, Default)]
enum Blind {
    #[default]
    None,
    /// The region closed; the prompt it showed.
    Closed(String),
    /// … and a line feed followed: a line was submitted.
    Submitted(String),
    /// … and the shell printed `exit`: hidden only if the same prompt comes back.
    Exited(String),
}

/// Since a command sent the shell's stderr away from the terminal: what was printed.
/// `exec 2>…` prints nothing when it works and one line naming its target when it fails
/// (`bash: /x/y: No such file or directory`), then the shell prompts as before. Anything
/// else printed before the shell's prompt is back was printed by a line typed unseen.
#[derive(Debug)]
struct EchoAway {
    /// The command that sent it away.
    seq: u64,
    /// The redirect's target as typed (a failed redirect's message names it).
    target: String,
    output_lines: u64,
    /// The first output line names the target (only then can it be the failure message).
    first_names_target: bool,
    /// Titles set as the shell sets them before a prompt, when it was known to.
    prompt_titles: Option<u64>,
}

/// The titles a shell sets before each of its prompts, learned from marked prompts: how
/// many were set after the last output and before the markers, and their text up to the
/// first `:` (`user@host` of RHEL's `user@host:dir`, which `cd` does not change).
#[derive(Debug, Default)]
struct PromptTitles {
    /// Since the last output line or command: how many, and the first's text.
    trailing: u32,
    trailing_text: String,
    /// Learned: titles per prompt and their text, and for how many prompts in a row.
    per_prompt: u32,
    text: String,
    in_a_row: u32,
}

/// Marked prompts in a row with the same titles before them before the titles are trusted
/// to tell prompts drawn out of sight.
const TITLES_TRUSTED_AFTER: u32 = 2;

impl PromptTitles {
    fn title(&mut self, text: &str) {
        let key = title_key(text);
        if self.trailing == 0 {
            self.trailing_text.clear();
            self.trailing_text.push_str(key);
        }
        if key == self.trailing_text {
            self.trailing += 1;
        }
    }

    /// A marked prompt: were the titles before it the same as before the last ones? One
    /// with none tells nothing (stdout was away, or titles stopped: then none are counted).
    fn prompt(&mut self) {
        let trailing = std::mem::take(&mut self.trailing);
        if trailing == 0 {
            return;
        }
        if trailing == self.per_prompt && self.trailing_text == self.text {
            self.in_a_row = self.in_a_row.saturating_add(1);
        } else {
            self.per_prompt = trailing;
            self.in_a_row = 1;
            std::mem::swap(&mut self.text, &mut self.trailing_text);
        }
    }

    fn trusted(&self) -> bool {
        self.in_a_row >= TITLES_TRUSTED_AFTER
    }

    /// Whether a title set is the one the shell sets before its prompts.
    fn is_prompts(&self, text: &str) -> bool {
        self.trusted() && title_key(text) == self.text
    }
}

fn title_key(text: &str) -> &str {
    &text[..memchr::memchr(b':', text.as_bytes()).unwrap_or(text.len())]
}

/// Counts hidden lines (see the module's documentation).
#[derive(Debug, Default)]
pub(super) struct Hidden {
    blind: Blind,
    away: Option<EchoAway>,
    titles: PromptTitles,
    count: u64,
}

/// What [`Hidden`] found when the shell's prompt came back after an [`EchoAway`] stretch.
pub(super) struct AwayStretch {
    /// The command that sent the shell's stderr away.
    pub seq: u64,
    pub output_lines: u64,
    /// Lines typed unseen, at least.
    pub typed: u64,
}

impl Hidden {
    /// Lines submitted unseen so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Whether a region closed with nothing typed is being followed.
    pub fn follows_blind_region(&self) -> bool {
        !matches!(self.blind, Blind::None)
    }

    /// A region closed with nothing typed on it, after `prompt`.
    pub fn region_closed_empty(&mut self, prompt: &str) {
        self.blind = Blind::Closed(prompt.trim_end().to_string());
    }

    /// The next line (or a region's first row) after a region closed with nothing typed.
    /// True when the shell printed `exit` for the hidden line (it may have left).
    pub fn follow_blind_region(&mut self, text: &str, input: bool) -> bool {
        let mut left = false;
        self.blind = match std::mem::take(&mut self.blind) {
            Blind::Closed(prompt) if !input && is_blank(text) => Blind::Submitted(prompt),
            Blind::Submitted(prompt) if !input && leaves_the_shell(text) => {
                left = true;
                Blind::Exited(prompt)
            }
            Blind::Submitted(_) => {
                self.count += 1; // output of a line the terminal never showed
                Blind::None
            }
            Blind::Exited(prompt) if input => {
                if text.starts_with(&prompt) {
                    self.count += 1; // the shell went on: a hidden `exit` did not run
                }
                Blind::None
            }
            other @ Blind::Exited(_) => other,
            _ => Blind::None,
        };
        left
    }

    /// A region opens: the markers are back (so is the shell's stderr).
    pub fn region_opened(&mut self) -> Option<AwayStretch> {
        match std::mem::take(&mut self.blind) {
            Blind::Submitted(_) => self.count += 1, // the same shell prompts again
            exited @ Blind::Exited(_) => self.blind = exited, // told by the prompt's row
            _ => {}
        }
        if self.away.is_some() {
            self.titles.trailing = 0; // not a prompt to learn from
            return self.prompt_back();
        }
        self.titles.prompt();
        None
    }

    /// The window title was set.
    pub fn title(&mut self, text: &str) {
        if let Some(away) = &mut self.away {
            if let Some(n) = &mut away.prompt_titles {
                *n += u64::from(self.titles.is_prompts(text));
            }
            return;
        }
        self.titles.title(text);
    }

    /// Whether a region that closed empty is waiting for its `exit` to be told apart.
    pub fn waits_for_exit(&self) -> bool {
        matches!(self.blind, Blind::Exited(_))
    }

    /// Command `seq` was submitted at a prompt on screen: if it sends the shell's stderr
    /// away, what follows is watched.
    pub fn command(&mut self, seq: u64, text: &str) {
        self.titles.trailing = 0;
        self.away = stderr_sent_away(text).map(|target| EchoAway {
            seq,
            target: target.to_string(),
            output_lines: 0,
            first_names_target: false,
            prompt_titles: self.titles.trusted().then_some(0),
        });
    }

    /// A non-blank output line.
    pub fn output(&mut self, line: &str) {
        self.titles.trailing = 0;
        if let Some(away) = &mut self.away {
            if away.output_lines == 0 {
                away.first_names_target =
                    !away.target.is_empty() && line.contains(away.target.as_str());
            }
            away.output_lines += 1;
        }
    }

    /// The shell's prompt is on screen again (or the session ended): in an [`EchoAway`]
    /// stretch, a line was typed at every prompt drawn but the last (the one back, or the
    /// one the session ended at); output other than a failed redirect's message proves one.
    pub fn prompt_back(&mut self) -> Option<AwayStretch> {
        let away = self.away.take()?;
        let failed = away.output_lines == 1 && away.first_names_target;
        let printed = u64::from(away.output_lines > 0 && !failed);
        let per_prompt = u64::from(self.titles.per_prompt.max(1));
        let prompts = away.prompt_titles.unwrap_or(0) / per_prompt;
        let typed = prompts.saturating_sub(1).max(printed);
        if typed == 0 {
            return None;
        }
        self.count += typed;
        Some(AwayStretch { seq: away.seq, output_lines: away.output_lines, typed })
    }

    /// The session ended.
    pub fn finish(&mut self) -> Option<AwayStretch> {
        if let Blind::Submitted(_) = std::mem::take(&mut self.blind) {
            self.count += 1;
        }
        self.prompt_back()
    }
}

/// Where an fd points, as far as the command line tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fd {
    Terminal,
    /// A file, `/dev/null`, or closed.
    Away,
    /// Cannot tell from the text (`/dev/pts/3`, `$LOG`, an fd opened earlier).
    Unknown,
}

/// When `text` is the shell's own `exec` with redirections only, run last on its line, and
/// it certainly leaves fd 2 off the terminal: the file it went to as typed (empty when it
/// was closed). Anything else (`exec 2>$(tty)`, `exec 2>&3`, `exec 2>/dev/null; ls`, whose
/// output would not be from a line typed later) is not watched; the rule SA-TRN-BLINDED
/// names every such redirect.
fn stderr_sent_away(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    if memchr::memchr(b'>', bytes).is_none() || memchr::memmem::find(bytes, b"exec").is_none() {
        return None; // nearly every command
    }
    let mut words = last_segment(text).split_whitespace();
    if words.next() != Some("exec") {
        return None;
    }
    // Each fd: where it points and the file it was opened on.
    let mut fds = [(Fd::Unknown, ""); 10];
    fds[..3].fill((Fd::Terminal, ""));
    while let Some(word) = words.next() {
        let (fd, op, rest) = split_redirect(word)?;
        let rest = match rest {
            "" => words.next()?, // `2> /dev/null`
            rest => rest,
        };
        // `>&file` (not a number) is `&>file`.
        let both =
            op.starts_with('&') || (op == ">&" && fd.is_none() && rest.parse::<u8>().is_err());
        let to = if op.ends_with('&') && !both {
            match rest {
                "-" => (Fd::Away, ""),
                n => n
                    .parse::<usize>()
                    .ok()
                    .and_then(|n| fds.get(n).copied())
                    .unwrap_or((Fd::Unknown, "")),
            }
        } else {
            file(rest, &fds)
        };
        if both {
            fds[1] = to;
            fds[2] = to;
        } else if let Some(slot) =
            fds.get_mut(fd.unwrap_or(if op.starts_with('<') { 0 } else { 1 }))
        {
            *slot = to;
        }
    }
    (fds[2].0 == Fd::Away).then_some(fds[2].1)
}

/// What runs last on a command line: after its last `;`, `&`, `&&`, `|`, `||` or newline
/// (quotes are not followed: the first word must still be `exec`).
fn last_segment(text: &str) -> &str {
    let b = text.as_bytes();
    let cut = (0..b.len()).rev().find(|&i| {
        let before = i.checked_sub(1).map(|j| b[j]);
        match b[i] {
            b';' | b'\n' => true,
            b'|' => before != Some(b'>'),
            b'&' => !matches!(before, Some(b'>' | b'<')) && b.get(i + 1) != Some(&b'>'),
            _ => false,
        }
    });
    cut.map_or(text, |i| &text[i + 1..])
}

/// A redirection word's fd, operator and what follows it (`2>>log` → 2, `>>`, `log`).
fn split_redirect(word: &str) -> Option<(Option<usize>, &str, &str)> {
    let digits = word.bytes().take_while(u8::is_ascii_digit).count();
    let fd = (digits > 0).then(|| word[..digits].parse().ok()).flatten();
    let rest = &word[digits..];
    const OPS: [&str; 9] = ["&>>", "&>", ">&", ">>", ">|", "<>", "<&", ">", "<"];
    let op = OPS.iter().find(|op| rest.starts_with(*op))?;
    if fd.is_some() && op.starts_with('&') {
        return None; // `2&>x` is not a redirection
    }
    Some((fd, op, &rest[op.len()..]))
}

/// Where a redirection to `path` leaves an fd, and the file.
fn file<'t>(path: &'t str, fds: &[(Fd, &'t str); 10]) -> (Fd, &'t str) {
    let path = path.trim_matches(['"', '\'']);
    let kind = match path {
        "/dev/tty" => Fd::Terminal,
        "/dev/stdin" => return fds[0],
        "/dev/stdout" => return fds[1],
        "/dev/stderr" => return fds[2],
        _ if path.contains(['$', '`', '*', '?', '[', '{']) => Fd::Unknown,
        _ if path.starts_with("/dev/fd/")
            || path.starts_with("/proc/")
            || path.starts_with("/dev/pts")
            || path.starts_with("/dev/tty")
            || path.starts_with("/dev/console") =>
        {
            Fd::Unknown
        }
        _ => Fd::Away,
    };
    (kind, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_that_send_the_shells_stderr_away_are_told_from_others() {
        let away = [
            ("exec 2>/dev/null", "/dev/null"),
            ("exec 2> /tmp/e", "/tmp/e"),
            ("exec 2>>log", "log"),
            ("exec &>/dev/null", "/dev/null"),
            ("exec >/dev/null 2>&1", "/dev/null"),
            ("exec >&/tmp/all", "/tmp/all"),
            ("exec 2>&-", ""),
            ("cd /tmp; exec 2>x", "x"),
            ("true && exec 3>&2 2>/dev/null", "/dev/null"),
        ];
        for (cmd, target) in away {
            assert_eq!(stderr_sent_away(cmd), Some(target), "{cmd}");
        }
        let not_away = [
            "exec >/dev/null",       // stdout only: prompts still shown
            "exec 2>/dev/tty",       // back to the terminal
            "exec 2>/dev/null 2>&1", // stdout is still the terminal
            "exec 2>$LOG",           // cannot tell
            "exec 2>/dev/pts/0",     // maybe this terminal
            "exec 2>&3",             // an fd opened earlier
            "exec 2>/dev/null; ls",  // later output is ls's
            "exec bash 2>/dev/null", // a new shell: its rc files may print
            "ls 2>/dev/null",        // not the shell's own fds
            "(exec 2>/dev/null)",    // a subshell
            "echo exec 2>/dev/null", // not the exec builtin
            "exec 2>/dev/null &",    // in the background
            "exec 2>&1",
        ];
        for cmd in not_away {
            assert_eq!(stderr_sent_away(cmd), None, "{cmd}");
        }
    }

    #[test]
    fn output_while_stderr_is_away_counts_one_hidden_line_per_stretch() {
        let mut h = Hidden::default();
        h.command(3, "exec 2>/dev/null");
        h.output("uid=0(root)");
        h.output("second");
        let stretch = h.prompt_back().expect("a stretch with output");
        assert_eq!((stretch.seq, stretch.output_lines, h.count()), (3, 2, 1));
        // Nothing printed: nothing proves a line was typed (zsh's line editor writes to the
        // terminal itself, so its prompt comes back at once).
        h.command(4, "exec 2>/dev/null");
        assert!(h.region_opened().is_none());
        // A failed redirect prints one line naming its target and the shell prompts again.
        h.command(5, "exec 2>/nope/x");
        h.output("bash: /nope/x: No such file or directory");
        assert!(h.prompt_back().is_none());
        // The session ending counts too; a command that is not such a redirect ends watching.
        h.command(6, "exec 2>/dev/null");
        h.output("printed");
        assert!(h.finish().is_some());
        h.command(7, "exec 2>/dev/null");
        h.command(8, "ls");
        h.output("file");
        assert!(h.finish().is_none());
        assert_eq!(h.count(), 2);
    }

    /// A shell that sets the title before each prompt: two marked prompts in a row teach it,
    /// then each such title in a stretch is a prompt drawn out of sight.
    fn learned(prompts: usize) -> Hidden {
        let mut h = Hidden::default();
        for seq in 0..prompts {
            h.title("u@host:~");
            assert!(h.region_opened().is_none());
            h.command(seq as u64 + 1, "ls");
            h.output("file");
        }
        h
    }

    #[test]
    fn titles_set_before_each_prompt_count_the_prompts_drawn_out_of_sight() {
        let mut h = learned(2);
        h.command(3, "exec 2>/dev/null");
        h.title("u@host:~"); // the prompt after the redirect
        h.output("uid=0");
        h.title("u@host:/tmp"); // `cd` changes the directory, not the user and host
        h.title("vim: notes.txt"); // a program's own title is no prompt
        h.title("u@host:/tmp"); // the prompt back
        let stretch = h.region_opened().expect("lines typed");
        assert_eq!((stretch.typed, h.count()), (2, 2));
        // Not yet learned (one prompt), or titles that changed: output proves one line only.
        let mut h = learned(1);
        h.command(2, "exec 2>/dev/null");
        (0..4).for_each(|_| h.title("u@host:~"));
        h.output("x");
        assert_eq!(h.prompt_back().map(|s| s.typed), Some(1));
        // A prompt whose titles differ starts learning again.
        let mut h = learned(3);
        h.title("other");
        h.title("other");
        h.region_opened();
        h.command(4, "exec 2>/dev/null");
        (0..4).for_each(|_| h.title("other"));
        assert!(h.prompt_back().is_none());
    }
}
