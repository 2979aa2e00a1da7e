//! Golden tests: real shells recorded through a pty and util-linux `script` exactly as the
//! SSM Agent does (tests/fixtures/recorded/record.py). The expected commands are bash's own
//! history file, not this parser's output.

use crate::{fixture, reconstruct};
use session_audit::transcript::Format;

fn expected(name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(fixture(&format!("recorded/{name}.expected.json"))).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["commands"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect()
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
