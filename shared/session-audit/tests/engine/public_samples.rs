//! Real transcripts published by others (tests/fixtures/public, each with its .source.txt).

use crate::fixture;
use session_audit::analysis::{Analyzer, Input};
use session_audit::report::{Report, Status};
use session_audit::transcript::Format;

fn analyze(name: &str) -> Report {
    let bytes = std::fs::read(fixture(&format!("public/{name}"))).unwrap();
    assert!(fixture(&format!("public/{name}.source.txt")).exists(), "{name} has its source");
    Analyzer::default().analyze_bytes(&bytes, Input::default())
}

fn commands(r: &Report) -> Vec<&str> {
    r.commands.iter().map(|c| c.command.as_str()).collect()
}

#[test]
fn legacy_agent_transcript_drops_the_logger_and_its_exit() {
    let r = analyze("s3_transcript_al2_legacy_screen_ssm-session-logger_2020.log");
    assert_eq!(r.source.format, Some(Format::LegacyAgentScript));
    assert_eq!(commands(&r), ["# test 1", "ls /", "exit"]);
    assert_eq!(r.status, Status::Compliant);
    assert_eq!(r.ended_at.as_deref(), Some("2020-05-27T23:01:53+00:00"));
    assert_eq!(r.commands[1].output_lines, 1);
}

#[test]
fn util_linux_230_header_and_cut_off_body_is_truncated() {
    let r = analyze("s3_transcript_al2_util-linux-2.30_header_hatenablog.log");
    assert_eq!(r.status, Status::Truncated);
    assert_eq!(r.source.written_at.as_deref(), Some("2022-01-25T06:49:24+00:00"));
    assert!(r.findings.iter().any(|f| f.rule_id == "SA-SES-TRUNCATED"));
}

#[test]
fn ubuntu_dash_transcript_with_erased_typos() {
    let r = analyze("s3_transcript_ubuntu_dash_util-linux-2.37.log");
    assert_eq!(commands(&r), ["pwd", "ip addr", "sudo lsof -i :443", "exit"]);
    assert!(r.commands.iter().all(|c| c.prompt == "$ " && c.confidence < 1.0));
    assert_eq!(r.commands[1].output_lines, 12);
}

#[test]
fn cloudwatch_event_with_unstripped_markers_and_title() {
    let r = analyze("cloudwatch_streaming_event_al2023_bash_osc_unstripped_classmethod.json");
    assert_eq!(r.source.format, Some(Format::CloudWatchJson));
    assert_eq!(commands(&r), ["sudo dnf install httpd"]);
    assert_eq!(r.commands[0].prompt, "[ec2-user@ip-10-0-1-11 ~]$ ");
    // The agent's cleanup strips the markers from some lines only: they are not trusted here.
    assert!(r.commands[0].confidence < 1.0);
    assert_eq!(r.target.as_ref().unwrap()["instance_id"], "i-0db2e26bb837c93b1");
    assert_eq!(r.identity.as_ref().unwrap()["run_as"], "ec2-user");
    assert_eq!(r.started_at.as_deref(), Some("2023-07-18T10:24:19Z"));
}

#[test]
fn cloudwatch_lines_with_and_without_surviving_markers() {
    // As the agent writes them: the prompt line keeps its markers (its title OSC made the
    // cleanup give up), the output line that began with `ESC[?2004l` lost it.
    let events = [
        r#"{"sessionId":"s-1","sessionData":["\u001b[?2004l\u001b]0;@ip:~\u0007\u001b[?2004h[ec2-user@ip ~]$ sudo dnf install httpd"]}"#,
        r#"{"sessionId":"s-1","sessionData":["Last metadata expiration check: 0:22:49 ago","Dependencies resolved."]}"#,
        r#"{"sessionId":"s-1","sessionData":["sh-5.2$ whoami","ec2-user"]}"#,
    ];
    let r = Analyzer::default().analyze_bytes(
        events
            .join(
                "
",
            )
            .as_bytes(),
        Input::default(),
    );
    assert_eq!(commands(&r), ["sudo dnf install httpd", "whoami"]);
    assert_eq!(r.commands[0].output_lines, 2);
}

#[test]
fn cloudwatch_event_with_stripped_output_and_repeated_prompt() {
    let r = analyze("cloudwatch_streaming_event_al2_sh42_handson.json");
    assert_eq!(commands(&r), ["date"]);
    assert_eq!(r.commands[0].output_lines, 1);
    assert_eq!(r.session_id, "xxxx", "session id from the event when no file name is given");
}

#[test]
fn powershell_transcript_is_best_effort_and_says_so() {
    let r = analyze("powershell51_transcript_header_generic.txt");
    assert_eq!(r.source.format, Some(Format::PowerShell));
    assert!(r.stats.parse_warnings.iter().any(|w| w.contains("best-effort")));
}

#[test]
fn bare_agent_ipc_bytes_are_a_prompt_and_nothing_else() {
    let r = analyze("agent_test_fixture_ipc_bytes_al2_prompt.bin");
    assert_eq!(r.source.format, Some(Format::RawTerminal));
    assert_eq!(r.status, Status::Compliant);
    assert!(r.commands.is_empty());
}
