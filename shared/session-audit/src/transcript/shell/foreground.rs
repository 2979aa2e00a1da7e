//! Whose prompt is active. After the shell runs a command, the terminal belongs to that
//! command until the shell prompts again: a program with a line editor of its own (sqlite3,
//! psql, bc, a REPL, `read -e`) opens line-editor regions too, with its own prompt (or none).
//! What is typed there is that program's input, not a command the shell ran.
//!
//! The shell's prompts are the ones commands were submitted at while no program held the
//! terminal; a prompt of the usual shell shapes (`[user@host dir]$`, `user@host:dir$`,
//! `sh-5.2$`, a bare `$`/`#`) is the shell's whatever it says, and so is one that differs from
//! a known one only in its middle (the working directory in a custom `PS1`). A command that may
//! start or reshape a shell (`bash`, `sudo -s`, `ssh`, `exec`, anything ending in `sh`, setting
//! `PS1` or `PROMPT_COMMAND`, sourcing a file or `eval`) hands the terminal to whatever prompts
//! next: its prompt is a shell's. So is any prompt ending as bash's `\$` (`$ `, `# `) or zsh's
//! `% ` do. When unsure the prompt is the shell's: a command is never hidden as input. Lines typed to a program are counted and kept as that command's output, never
//! dropped.

use super::prompt::{is_continuation_prompt, UNIX_PROMPT};
use super::switch::{leaves_the_shell, may_start_a_shell, SHELL_SWITCH};

/// Shell prompts remembered (oldest forgotten first).
const MAX_SHELL_PROMPTS: usize = 16;

/// The shell's prompts, as learned.
#[derive(Debug, Default)]
pub(super) struct ShellPrompts {
    known: Vec<String>,
    /// The first bytes of the known prompts, as a set (see [`Self::prefix_of`]).
    first_bytes: [u64; 4],
    /// A program was told to start a shell (sqlite3's `.shell bash`, python's
    /// `os.system("sh")`): that shell reads lines, whatever its prompt looks like.
    nested: Option<Nested>,
    /// That shell was left: the terminal is the program's again.
    back_to: Option<String>,
}

/// A shell a program started, and what to go back to when it is left.
#[derive(Debug)]
struct Nested {
    program: String,
    known_before: Vec<String>,
}

impl ShellPrompts {
    /// `prompt` was the shell's: commands were submitted at it.
    pub(super) fn learn(&mut self, prompt: &str) {
        if prompt.is_empty()
            || is_continuation_prompt(prompt)
            || self.known.iter().any(|p| p == prompt)
        {
            return;
        }
        if self.known.len() == MAX_SHELL_PROMPTS {
            self.known.remove(0);
        }
        self.known.push(prompt.to_string());
        self.index_first_bytes();
    }

    /// The shell prompts learned, oldest first.
    pub(super) fn known(&self) -> &[String] {
        &self.known
    }

    fn index_first_bytes(&mut self) {
        self.first_bytes = [0; 4];
        for p in &self.known {
            let b = p.as_bytes()[0];
            self.first_bytes[usize::from(b >> 6)] |= 1 << (b & 63);
        }
    }

    /// Whether a line-editor region with `prompt`, read while `foreground` (the last command
    /// the shell ran) may hold the terminal, is that program's input rather than the shell's.
    pub(super) fn program_owns(&self, prompt: &str, foreground: Option<&str>) -> bool {
        if self.nested.is_some() {
            return false; // a shell the program started
        }
        let Some(command) = self.back_to.as_deref().or(foreground) else { return false };
        // The shell's own prompt first: nearly every region has it, and it costs a comparison.
        !self.known.is_empty() && !self.is_shell(prompt) && !hands_over(command)
    }

    /// `typed` was the input of `program`: when it may start a shell, that shell's prompts
    /// are a shell's until it is left.
    pub(super) fn typed_to_program(&mut self, program: &str, typed: &str) {
        if self.nested.is_none() && names_a_shell(typed) {
            let known_before = self.known.clone();
            self.nested = Some(Nested { program: program.to_string(), known_before });
        }
    }

    /// A command was submitted at a shell's `prompt`: leaving a shell a program started gives
    /// the terminal back to the program, with the prompts known before. A prompt known before
    /// it started means the program and any shell it started are gone.
    /// Returns whether the terminal went back to a program so.
    pub(super) fn command(&mut self, prompt: &str, text: &str) -> bool {
        self.back_to = None;
        if self.nested.as_ref().is_some_and(|n| n.known_before.iter().any(|p| p == prompt)) {
            self.nested = None;
        }
        if leaves_the_shell(text) {
            if let Some(nested) = self.nested.take() {
                self.known = nested.known_before;
                self.index_first_bytes();
                self.back_to = Some(nested.program);
                return true;
            }
        }
        false
    }

    /// The length of the longest shell prompt `line` starts with.
    pub(super) fn prefix_of(&self, line: &str) -> Option<usize> {
        // Called for every output line: most start with a byte no prompt starts with.
        let first = *line.as_bytes().first()?;
        if self.first_bytes[usize::from(first >> 6)] & (1 << (first & 63)) == 0 {
            return None;
        }
        self.known.iter().filter(|p| line.starts_with(p.as_str())).map(String::len).max()
    }

    /// Whether `prompt` is a shell's. When unsure, it is: a shell's command taken for a
    /// program's input would escape the command rules; a program's line taken for a command
    /// only adds a line to the report.
    fn is_shell(&self, prompt: &str) -> bool {
        // Cheapest first: nearly every region's prompt is a known one, or ends as a shell's.
        self.known.iter().any(|p| p == prompt)
            || ends_like_a_shell(prompt)
            || self.known.iter().any(|p| same_shape(p, prompt))
            || (!prompt.is_empty() && UNIX_PROMPT.is_match(prompt))
    }
}

/// bash's `\$` (`$ `, `# ` for root) and zsh's `% ` end the prompt: any `PS1` built on them
/// (`\w\$ ` shows `/tmp$ `). psql's `=# ` is not one.
fn ends_like_a_shell(prompt: &str) -> bool {
    prompt.ends_with("$ ")
        || prompt.ends_with("% ")
        || (prompt.ends_with("# ") && !prompt.ends_with("=# "))
}

/// A line of a program's output shaped as its prompt and what was typed at it (`>>> `,
/// `sqlite> `, `(gdb) `, `irb(main):001:0> `): what was typed. A program reading lines
/// without markers (python 3.11's REPL) leaves its input so on the screen.
pub(super) fn typed_after_program_prompt(line: &str) -> Option<&str> {
    // Called for every output line: a search of its first bytes, a few more when a `>` or
    // `)` is not the prompt's end (`>>> `, `irb(main):001:0> `).
    let head = &line.as_bytes()[..line.len().min(20)];
    let mut from = 0;
    for _ in 0..4 {
        let at = from + memchr::memchr2(b'>', b')', &head[from..])?;
        if head.get(at + 1) == Some(&b' ') {
            return Some(&line[at + 2..]);
        }
        from = at + 1;
    }
    None
}

/// Whether a line typed to a program may make it start a shell: a word naming one or a
/// command that gives one (`.shell bash`, `os.system("/bin/sh")`, `!sudo -s`), or `PS1`.
/// Looser than for commands: when unsure, the next prompt is a shell's.
fn names_a_shell(typed: &str) -> bool {
    const SHELLS: [&str; 12] =
        ["sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "fish", "busybox", "su", "sudo", "ssh"];
    typed.contains("PS1")
        || typed
            .split(|c: char| !(c.is_ascii_alphanumeric() || "_./-".contains(c)))
            .map(|word| word.rsplit('/').next().unwrap_or(word))
            .any(|name| SHELLS.contains(&name))
}

/// Whether `command` may leave a different shell, or the same one with another prompt, at the
/// terminal: the next prompt is then a shell's.
pub(super) fn hands_over(command: &str) -> bool {
    let command = command.trim_start();
    let first = command.split_whitespace().next().unwrap_or_default();
    SHELL_SWITCH.is_match(command)
        || may_start_a_shell(command)
        // Code the shell reads itself may set any prompt.
        || matches!(first, "." | "source" | "eval")
        || command.contains("PS1")
        || command.contains("PROMPT_COMMAND")
}

/// Two prompts of one `PS1` that shows something changing (the directory, the time): the same
/// first four characters and the same last two.
fn same_shape(known: &str, prompt: &str) -> bool {
    known.chars().nth(5).is_some()
        && prompt.chars().nth(5).is_some()
        && known.chars().take(4).eq(prompt.chars().take(4))
        && known.chars().rev().take(2).eq(prompt.chars().rev().take(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn learned(prompts: &[&str]) -> ShellPrompts {
        let mut s = ShellPrompts::default();
        prompts.iter().for_each(|p| s.learn(p));
        s
    }

    #[test]
    fn a_programs_prompt_after_a_command_is_the_programs() {
        let s = learned(&["sh-5.2$ "]);
        for (prompt, command) in
            [("sqlite> ", "sqlite3"), ("", "bc -q"), ("postgres=# ", "psql"), (">>> ", "python3")]
        {
            assert!(s.program_owns(prompt, Some(command)), "{prompt:?} after {command}");
        }
        // The shell's own, and its usual shapes, are the shell's after anything.
        for prompt in ["sh-5.2$ ", "[ec2-user@ip-10-0-0-1 tmp]$ ", "ubuntu@host:~/x$ ", "# "] {
            assert!(!s.program_owns(prompt, Some("sqlite3")), "{prompt:?}");
        }
        assert!(!s.program_owns("sqlite> ", None), "nothing ran yet");
        assert!(!ShellPrompts::default().program_owns("sqlite> ", Some("x")), "no shell known");
    }

    #[test]
    fn a_command_that_may_start_or_reshape_a_shell_hands_the_terminal_over() {
        let s = learned(&["sh-5.2$ "]);
        for command in [
            "bash",
            "sudo -s",
            "ssh db1",
            "env PS1='sqlite> ' bash",
            "PS1='x> '",
            "exec zsh",
            "docker exec -it web sh",
            "PROMPT_COMMAND=true",
        ] {
            assert!(!s.program_owns("sqlite> ", Some(command)), "{command}");
        }
    }

    #[test]
    fn a_custom_prompt_showing_the_directory_stays_the_shells() {
        let s = learned(&["myhost:~> "]);
        assert!(!s.program_owns("myhost:/var/log> ", Some("cd /var/log")));
        assert!(s.program_owns("mysql> ", Some("mysql -u root")));
        assert!(s.program_owns("> ", Some("node")), "a bare `> ` is no shell prompt here");
        // `\w\$ `: whatever the directory, bash's `$ ` ends it; psql's `=# ` does not.
        assert!(!s.program_owns("/var/log$ ", Some("cd /var/log")));
        assert!(!s.program_owns("/root# ", Some("cd")));
        assert!(s.program_owns("postgres=# ", Some("psql")));
    }

    #[test]
    fn a_shell_a_program_starts_reads_lines_until_it_is_left() {
        let mut s = learned(&["sh-5.2$ "]);
        assert!(s.program_owns("sqlite> ", Some("sqlite3")));
        s.typed_to_program("sqlite3", "select 'a shell';");
        assert!(s.program_owns("sqlite> ", Some("sqlite3")), "SQL naming no shell");
        s.typed_to_program("sqlite3", ".shell bash --rcfile /tmp/rc -i");
        assert!(!s.program_owns("sqlite> ", Some("sqlite3")), "bash with a program-like PS1");
        s.learn("sqlite> ");
        s.command("sqlite> ", "id");
        assert!(!s.program_owns("sqlite> ", Some("id")));
        s.command("sqlite> ", "exit");
        assert!(s.program_owns("sqlite> ", Some("exit")), "back to sqlite3 after exit");
        assert!(!s.program_owns("sh-5.2$ ", Some("exit")));
        s.command("sh-5.2$ ", "echo back");
        // Told to start a shell that never prompted: the shell's own prompt ends it.
        let mut s = learned(&["sh-5.2$ "]);
        s.typed_to_program("python3", "print('bash')");
        s.command("sh-5.2$ ", "id");
        assert!(s.program_owns(">>> ", Some("python3")));
        for typed in ["import os; os.system('/bin/sh')", "!bash", "pty.spawn(\"zsh\")"] {
            let mut s = learned(&["sh-5.2$ "]);
            s.typed_to_program("python3", typed);
            assert!(!s.program_owns(">>> ", Some("python3")), "{typed}");
        }
    }

    #[test]
    fn input_a_program_echoed_without_markers_is_found_after_its_prompt() {
        let typed = |l| typed_after_program_prompt(l);
        assert_eq!(typed(">>> import os; os.system('sh')"), Some("import os; os.system('sh')"));
        assert_eq!(typed("(gdb) shell bash"), Some("shell bash"));
        assert_eq!(typed("irb(main):001:0> system('bash')"), Some("system('bash')"));
        assert_eq!(typed("root:x:0:0:root:/root:/bin/bash"), None);
        assert_eq!(typed("uid=0(root) gid=0(root)"), Some("gid=0(root)"), "a guess, checked");
        assert!(!names_a_shell("gid=0(root)"));
    }

    #[test]
    fn a_prompt_set_by_sourced_code_is_a_shells() {
        let s = learned(&["sh-5.2$ "]);
        for command in [". ./profile", "source ~/.bashrc", "eval \"$(cat x)\""] {
            assert!(!s.program_owns("sqlite> ", Some(command)), "{command}");
        }
    }
}
