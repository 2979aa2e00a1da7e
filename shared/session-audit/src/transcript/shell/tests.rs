use super::*;
use crate::transcript::screen::Screen;

#[test]
fn reasons_hold_no_semicolon_the_list_is_split_by() {
    assert!(Reason::ALL.iter().all(|r| !r.text().contains(';')));
    let mut cmd = Command {
        seq: 1,
        text: "ls".into(),
        prompt: "$ ".into(),
        confidence: 1.0,
        reason: None,
        output_lines: 0,
        privileged: false,
        fullscreen: false,
        seen_in: None,
    };
    lower_confidence(&mut cmd, &[(true, Reason::Pattern), (false, Reason::Bare)]);
    lower_confidence(&mut cmd, &[(true, Reason::Bare), (true, Reason::Pattern)]);
    assert_eq!(
        cmd.reason.as_deref(),
        Some(&*format!("{}; {}", Reason::Pattern.text(), Reason::Bare.text()))
    );
    assert_eq!(cmd.confidence, 0.6);
}
#[derive(Default)]
struct Collect {
    commands: Vec<Command>,
    output: Vec<(u64, String)>,
}

impl ShellSink for Collect {
    fn command(&mut self, command: &Command) {
        self.commands.push(command.clone());
    }
    fn output(&mut self, seq: u64, line: &str) {
        self.output.push((seq, line.to_string()));
    }
}

fn run(bytes: &[u8], style: PromptStyle, preamble: Preamble) -> (Vec<Command>, ShellStats) {
    let mut screen = Screen::new();
    let mut shell = Shell::new(Collect::default(), style, preamble);
    screen.advance(bytes, &mut shell);
    screen.finish(&mut shell);
    let stats = shell.finish();
    (shell.sink.commands, stats)
}

fn texts(cmds: &[Command]) -> Vec<&str> {
    cmds.iter().map(|c| c.text.as_str()).collect()
}

/// Lines before the first prompt are held until it shows whether a shell read them: only
/// as many as prompts with nothing after them, the first ones; the rest stay output, in
/// order, however many there are.
#[test]
fn lines_before_the_first_prompt_are_commands_only_where_a_prompt_read_them() {
    let mut shell = Shell::new(Collect::default(), PromptStyle::Unix, Preamble::None);
    let mut screen = Screen::new();
    screen.advance(b"cd /tmp\r\nWelcome\r\n$ $ pwd\r\n/tmp\r\n", &mut shell);
    screen.finish(&mut shell);
    shell.finish();
    assert_eq!(texts(&shell.sink.commands), ["cd /tmp", "pwd"]);
    assert!(shell.sink.commands[0].reason.as_deref().unwrap().starts_with("typed ahead"));
    assert_eq!(shell.sink.output, [(0, "Welcome".to_string()), (2, "/tmp".to_string())]);
    // A motd, then a prompt with a command typed: output.
    let (cmds, _) = run(b"Last login: today\r\n$ id\r\n", PromptStyle::Unix, Preamble::None);
    assert_eq!(texts(&cmds), ["id"]);
    assert_eq!(
        cmds[0].reason.as_deref(),
        Some(&*format!("{}; {}", Reason::Pattern.text(), Reason::Bare.text()))
    );
    // More lines than are held, and no prompt at all: every one is output, in order.
    let mut shell = Shell::new(Collect::default(), PromptStyle::Unix, Preamble::None);
    let lines: Vec<String> = (0..40).map(|i| format!("line {i}")).collect();
    let mut screen = Screen::new();
    screen.advance(format!("{}\r\n", lines.join("\r\n")).as_bytes(), &mut shell);
    screen.finish(&mut shell);
    shell.finish();
    let got: Vec<&str> = shell.sink.output.iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(got, lines);
}

#[test]
fn a_prompt_after_output_without_a_newline_is_found_on_its_line() {
    // dash: `printf x` leaves the next prompt glued to its output; `$ ` after a blank is
    // output (`cost: $ 5`), and so is a prompt with nothing typed after it.
    let t = b"$ printf x\r\nx$ echo next\r\nnext\r\n$ echo 'cost: $ 5'\r\ncost: $ 5\r\n$ printf y\r\ny$ \r\n$ exit\r\n";
    let (cmds, _) = run(t, PromptStyle::Unix, Preamble::None);
    assert_eq!(texts(&cmds), ["printf x", "echo next", "echo 'cost: $ 5'", "printf y", "exit"]);
    assert!(cmds[1].reason.as_deref().unwrap().contains(Reason::Glued.text()));
    assert_eq!(cmds[0].output_lines, 1, "the output before the prompt is output");
    assert!(cmds
        .iter()
        .filter(|c| c.text != "echo next")
        .all(|c| { !c.reason.as_deref().unwrap_or_default().contains(Reason::Glued.text()) }));
    // A prompt as it was learned (not bare): found after any output.
    let t = b"[ec2-user@ip-10-0-1-11 ~]$ curl -s localhost\r\n{\"ok\": true} [ec2-user@ip-10-0-1-11 ~]$ id\r\n";
    let (cmds, _) = run(t, PromptStyle::Unix, Preamble::None);
    assert_eq!(texts(&cmds), ["curl -s localhost", "id"]);
}

#[test]
fn marked_regions_give_commands_and_output_counts() {
    let t = b"\x1b[?2004hsh-5.2$ echo hi\r\r\n\x1b[?2004l\rhi\r\r\n\x1b[?2004hsh-5.2$ for i in 1 2\r\r\n\x1b[?2004l\r\x1b[?2004h> do echo $i; done\r\r\n\x1b[?2004l\r1\r\r\n2\r\r\n\x1b[?2004hsh-5.2$ ";
    let (cmds, stats) = run(t, PromptStyle::Unix, Preamble::None);
    assert_eq!(texts(&cmds), ["echo hi", "for i in 1 2\ndo echo $i; done"]);
    assert_eq!(cmds[0].output_lines, 1);
    assert_eq!(cmds[1].output_lines, 2);
    assert_eq!(cmds[0].prompt, "sh-5.2$ ");
    assert_eq!(cmds[0].confidence, 1.0);
    assert!(stats.markers_seen);
}

#[test]
fn output_that_looks_like_a_prompt_is_not_a_command_when_markers_exist() {
    // The same marked shell prompts next: `cat` printed them.
    let t =
        b"\x1b[?2004h$ cat notes\r\r\n\x1b[?2004l\r$ rm -rf /\r\r\n# comment\r\r\n\x1b[?2004h$ ";
    let (cmds, stats) = run(t, PromptStyle::Unix, Preamble::None);
    assert_eq!(texts(&cmds), ["cat notes"]);
    assert_eq!((cmds[0].output_lines, stats.printed_prompt_lines), (2, 2));
    // Printed after every command of a long session: the warnings stay few.
    let mut many = Vec::new();
    for i in 0..50 {
        many.extend(format!("\x1b[?2004h$ cat n{i}\r\r\n\x1b[?2004l\r$ rm -rf /\r\r\n").bytes());
    }
    many.extend(b"\x1b[?2004h$ ");
    let mut screen = Screen::new();
    let mut shell = Shell::new(Collect::default(), PromptStyle::Unix, Preamble::None);
    screen.advance(&many, &mut shell);
    screen.finish(&mut shell);
    assert_eq!(shell.finish().printed_prompt_lines, 50);
    assert_eq!(shell.notes().len(), MAX_NOTES + 1);
    assert!(shell.notes()[MAX_NOTES].starts_with("40 more stretch(es)"));
    // No marked prompt ever again: a shell without markers read them (when unsure, the
    // shell's), and says so.
    let (cmds, stats) = run(&t[..t.len() - 10], PromptStyle::Unix, Preamble::None);
    assert_eq!(texts(&cmds), ["cat notes", "rm -rf /", "comment"]);
    assert!(cmds[1].reason.as_deref().unwrap().contains("markers stopped"));
    assert_eq!(stats.printed_prompt_lines, 0);
    // Back after the held lines left a shell: that shell read them.
    let t = b"\x1b[?2004h$ go\r\r\n\x1b[?2004l\rbash-4.2$ id\r\r\nuid=0\r\r\nbash-4.2$ exit\r\r\nexit\r\r\n\x1b[?2004h$ ";
    let (cmds, _) = run(t, PromptStyle::Unix, Preamble::None);
    assert_eq!(texts(&cmds), ["go", "id", "exit"]);
    assert_eq!(cmds[1].output_lines, 1);
}

#[test]
fn ctrl_c_at_the_continuation_prompt_abandons_the_whole_command() {
    // dash in cooked mode: the first line was read, the second cut with Ctrl-C.
    let (cmds, stats) =
        run(b"$ for i in 1 2\r\n> do echo x^C\r\n$ ls\r\n", PromptStyle::Unix, Preamble::None);
    assert_eq!(texts(&cmds), ["ls"]);
    assert_eq!((cmds[0].seq, stats.abandoned_lines), (1, 2));
    // bash with markers: the same at a `> ` region closed without a line feed.
    let marked = b"\x1b[?2004hsh-5.2$ cat <<EOF\r\r\n\x1b[?2004l\r\x1b[?2004h> ^C\x1b[?2004l\r\x1b[?2004hsh-5.2$ id\r\r\n\x1b[?2004l\r";
    let (cmds, _) = run(marked, PromptStyle::Unix, Preamble::None);
    assert_eq!(texts(&cmds), ["id"]);
    // A finished command followed by output is not touched by a later Ctrl-C at `> `.
    let (cmds, _) = run(b"$ ls\r\nfile\r\n> x^C\r\n$ id\r\n", PromptStyle::Unix, Preamble::None);
    assert_eq!(texts(&cmds), ["ls", "id"]);
}

#[test]
fn cooked_mode_session_uses_prompt_patterns() {
    let t =
        b"$ ls\r\r\nfile\r\r\n$ echo a \\\r\r\n> b\r\r\na b\r\r\n$ sleep 9^C\r\r\n$ whoami\r\r\n";
    let (cmds, stats) = run(t, PromptStyle::Unix, Preamble::None);
    assert_eq!(texts(&cmds), ["ls", "echo a b", "whoami"]);
    assert_eq!(cmds[0].confidence, 0.6);
    assert_eq!(stats.abandoned_lines, 1);
}

#[test]
fn comment_lines_in_output_are_not_commands_once_a_prompt_is_known() {
    let t = b"[ec2-user@ip-1 ~]$ cat /etc/ssh/sshd_config\r\n# Port 22\r\n$ not a prompt\r\n[ec2-user@ip-1 ~]$ id\r\n";
    let (cmds, _) = run(t, PromptStyle::Unix, Preamble::None);
    assert_eq!(texts(&cmds), ["cat /etc/ssh/sshd_config", "id"]);
    assert_eq!(cmds[0].output_lines, 2);
    assert_eq!(cmds[0].confidence, 0.8);
}

#[test]
fn root_prompt_marks_privileged_commands() {
    let t = b"\x1b[?2004hsh-5.2$ sudo -s\r\r\n\x1b[?2004l\r\x1b[?2004hroot@vm:~# id -u\r\r\n\x1b[?2004l\r0\r\n";
    let (cmds, _) = run(t, PromptStyle::Unix, Preamble::None);
    assert!(cmds[0].privileged, "sudo runs as root");
    assert!(cmds[1].privileged);
    assert_eq!(cmds[1].prompt, "root@vm:~# ");
}

#[test]
fn a_themed_root_prompt_marks_its_commands_privileged() {
    // A theme's root prompt ending in `#`: inside a marked region the prompt is read up to
    // the first `# ` (a prompt learned from repetition never ends so: it would have been
    // read that way), so both commands are split and privileged from the first line on.
    let t = "\x1b[?2004h\u{3bb} /root \u{276f}# id\r\r\n\x1b[?2004l\r0\r\n\x1b[?2004h\u{3bb} /tmp \u{276f}# ls\r\r\n\x1b[?2004l\r";
    let (cmds, _) = run(t.as_bytes(), PromptStyle::Unix, Preamble::None);
    assert_eq!(texts(&cmds), ["id", "ls"]);
    assert!(cmds[0].privileged && cmds[1].privileged, "{cmds:?}");
    assert_eq!(cmds[0].prompt, "\u{3bb} /root \u{276f}# ");
}

#[test]
fn sudo_commands_are_privileged_unless_run_as_another_user() {
    assert!(runs_as_root_via_sudo("sudo cat /etc/shadow"));
    assert!(runs_as_root_via_sudo("sudo -u root id"));
    assert!(!runs_as_root_via_sudo("sudo -u postgres psql"));
    assert!(!runs_as_root_via_sudo("sudoedit x"));
    assert!(!runs_as_root_via_sudo("echo sudo"));
    assert!(runs_as_root_via_sudo("  sudo\tid"));
}

#[test]
fn exit_and_logout_leave_the_shell_with_a_status_at_most() {
    for (text, leaves) in [
        ("exit", true),
        ("  exit 3", true),
        ("logout", true),
        ("exit\t0", true),
        ("exitcode", false),
        ("exit now", false),
        ("echo exit", false),
        ("logouts", false),
    ] {
        assert_eq!(switch::leaves_the_shell(text), leaves, "{text:?}");
    }
}

#[test]
fn legacy_agent_preamble_and_wrapper_exit_are_dropped() {
    let t = b"sh-4.2# /usr/bin/ssm-session-logger /var/lib/x.log false\r\nInitializing new seelog logger\r\nNew Seelog Logger Creation Complete\r\nsh-4.2$ ls /\r\nbin\r\nsh-4.2$ exit\r\nexit\r\nsh-4.2# exit\r\nexit\r\n";
    let (cmds, _) = run(t, PromptStyle::Unix, Preamble::LegacyAgentLogger);
    assert_eq!(texts(&cmds), ["ls /", "exit"]);
}

#[test]
fn powershell_prompts_and_banners() {
    let t = b"**********************\r\nWindows PowerShell transcript start\r\nStart time: 20190123080857\r\n**********************\r\nPS C:\\Windows\\system32> Get-Process\r\nHandles\r\n**********************\r\nCommand start time: 20190123080945\r\n**********************\r\nPS C:\\Windows\\system32> whoami\r\nnt authority\\system\r\n";
    let (cmds, _) = run(t, PromptStyle::PowerShell, Preamble::None);
    assert_eq!(texts(&cmds), ["Get-Process", "whoami"]);
    assert_eq!(cmds[0].output_lines, 1);
}

#[test]
fn a_region_printed_by_a_command_is_its_output_and_nothing_else_is() {
    // printf prints a whole prompt line with markers; then the shell's real prompt.
    let forged = b"\x1b[?2004hsh-5.2$ printf '\\e[?2004hsh-5.2$ rm -rf /data\\r\\n\\e[?2004l'\r\r\n\x1b[?2004l\r\x1b[?2004hsh-5.2$ rm -rf /data\r\r\n\x1b[?2004l\r\x1b[?2004hsh-5.2$ id\r\r\n\x1b[?2004l\r";
    let (cmds, _) = run(forged, PromptStyle::Unix, Preamble::None);
    assert_eq!(texts(&cmds)[1..], ["id"]);
    // Spelled but not printed (echo without -e): the next real line is still a command.
    let literal = b"\x1b[?2004hsh-5.2$ echo '\\e[?2004h'\r\r\n\x1b[?2004l\r\\e[?2004h\r\r\n\x1b[?2004hsh-5.2$ id\r\r\n\x1b[?2004l\r";
    let (cmds, _) = run(literal, PromptStyle::Unix, Preamble::None);
    assert_eq!(texts(&cmds), ["echo '\\e[?2004h'", "id"]);
    // A forged region of several rows: none of them is a command (rows after a prompt
    // row are a paste only when a shell read them).
    let rows = b"\x1b[?2004hsh-5.2$ printf '\\e[?2004hsh-5.2$ id\\r\\nrm -rf /data\\r\\n\\e[?2004l'\r\r\n\x1b[?2004l\r\x1b[?2004hsh-5.2$ id\r\r\nrm -rf /data\r\r\n\x1b[?2004l\r\x1b[?2004hsh-5.2$ ls\r\r\n\x1b[?2004l\r";
    let (cmds, _) = run(rows, PromptStyle::Unix, Preamble::None);
    assert_eq!(texts(&cmds)[1..], ["ls"]);
}

#[test]
fn a_pasted_buffer_is_split_where_the_shell_would_run_it() {
    for (text, more) in [
        ("for i in 1 2", true),
        ("for i in 1 2\ndo echo $i", true),
        ("for i in 1 2\ndo echo $i\ndone", false),
        ("if true; then echo x; fi", false),
        ("echo for you", false),
        ("echo 'open", true),
        ("ls |", true),
        ("echo a \\", true),
        ("cat <<EOF", true),
        ("cat <<EOF\nbody\nEOF", false),
        ("cat <<'EOF' > f\nfor x in\nEOF", false),
        ("cat <<-END\n\tbody\n\tEND", false),
        ("cat <<END\n\tEND", true),
        ("cat <<A <<B\na\nA\nb", true),
        ("cat <<A <<B\na\nA\nb\nB", false),
        ("cat <<EOF |\nbody\nEOF", true),
        ("grep x <<< 'for'", false),
        ("echo '<<EOF'", false),
        ("echo $((1<<2))", false),
        // Comments: a quote, a keyword, a pipe or a backslash there opens nothing.
        ("# don't run this", false),
        ("# if we wanted | more", false),
        ("# can't stop \\", false),
        ("echo code # it's a comment", false),
        ("echo x # cat <<EOF", false),
        ("cat <<EOF # here's the body\nbody\nEOF", false),
        ("for i in 1 # do it\ndo echo $i # done\ndone", false),
        ("for i in 1 2 # done", true),
        // Not comments: inside quotes, inside a word, after a backslash-newline.
        ("echo 'open # still", true),
        ("echo \"a\n# b's\"", false),
        ("echo a#'b", true),
        ("echo ${#HOME}", false),
        ("echo a \\\n#b'", true),
        // Words are split at blanks only (a no-break space is part of a word to bash);
        // quotes and escapes left open by one line carry to the next.
        ("for\u{a0}x in 1 2", false),
        ("if\ttrue; then", true),
        ("echo 'a\nb' && if true; then", true),
        ("echo \"a\\\nb\"", false),
    ] {
        assert_eq!(syntax::needs_more(text), more, "{text:?}");
    }
}

#[test]
fn only_an_interactive_shell_without_markers_is_read_by_prompt() {
    for (cmd, off) in [
        ("dash", true),
        ("exec sh -l", true),
        ("sudo -u app /bin/sh", true),
        ("set +o emacs", true),
        ("sh deploy.sh", false),
        ("ssh host", false),
        ("shutdown -h now", false),
        ("exec busybox sh", true),
        ("bind 'set enable-bracketed-paste off'", true),
        ("bash --noediting", true),
        ("sudo /usr/bin/mksh -i  ", true),
        ("set -o vi; set +o vi", true),
    ] {
        assert_eq!(EDITOR_OFF.is_match(cmd), off, "{cmd}");
        let kept = holds_marker_word(cmd) || may_start_a_shell(cmd);
        assert!(!off || kept, "the prefilter keeps {cmd}");
    }
    assert!(!may_start_a_shell("ls -la /var/log") && !holds_marker_word("ls -la /var/log"));
    assert!(holds_marker_word("printf '\\e[?2004h'") && holds_marker_word("set +o vi"));
}

#[test]
fn repeated_prompts_from_cloudwatch_are_stripped() {
    let (cmds, _) =
        run(b"sh-4.2$ sh-4.2$ date\r\nThu Jan 4\r\n", PromptStyle::Unix, Preamble::None);
    assert_eq!(texts(&cmds), ["date"]);
}
