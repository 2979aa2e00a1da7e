//! The `session-audit` binary as users run it: arguments, output shapes, exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_session-audit"))
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("runs")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("session-audit-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn recorded(name: &str) -> String {
    fixtures().join("recorded").join(name).display().to_string()
}

#[test]
fn json_on_a_recorded_transcript_lists_exactly_what_bash_recorded() {
    for name in [
        "al2023_sh_editing",
        "rhel_bash_title_paste",
        "al2023_sh_narrow_wrap",
        "ubuntu_dash_cooked",
    ] {
        let out = run(&["analyze", "--format", "json", &recorded(&format!("{name}.log"))]);
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let expected: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(recorded(&format!("{name}.expected.json"))).unwrap(),
        )
        .unwrap();
        let got: Vec<&str> = report["commands"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["command"].as_str().unwrap())
            .collect();
        let want: Vec<&str> =
            expected["commands"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
        // The one difference allowed: a secret bash recorded is redacted in the report.
        let want: Vec<String> =
            want.iter().map(|c| c.replace("AKIAABCDEFGHIJKLMNOP", "")).collect();
        let got: Vec<String> = got
            .iter()
            .map(|c| match c.find("[REDACTED:") {
                Some(i) => format!("{}{}", &c[..i], &c[c[i..].find(']').unwrap() + i + 1..]),
                None => c.to_string(),
            })
            .collect();
        assert_eq!(got, want, "{name}");
        assert_eq!(report["session_id"], name);
    }
}

#[test]
fn several_inputs_make_an_array_or_lines() {
    let dir = fixtures().join("public").display().to_string();
    let out = run(&["analyze", "--format", "json", &dir]);
    assert!(out.status.success());
    let all: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reports = all.as_array().unwrap();
    let expected = std::fs::read_dir(fixtures().join("public"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| {
            !n.ends_with(".source.txt") && [".log", ".json", ".txt"].iter().any(|x| n.ends_with(x))
        })
        .count();
    assert!(expected >= 6);
    assert_eq!(reports.len(), expected, "every .log/.json/.txt file; no .source.txt, no .bin");
    let out = run(&["analyze", "--format", "jsonl", &dir]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), expected);
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
}

#[test]
fn out_dir_gets_one_report_per_session_and_stdout_a_line_each() {
    let dir = temp_dir("out");
    let out = run(&[
        "analyze",
        "--format",
        "md",
        "--out",
        dir.to_str().unwrap(),
        &recorded("al2023_sh_editing.log"),
        &recorded("ubuntu_dash_cooked.log"),
    ]);
    assert!(out.status.success());
    let summary = String::from_utf8(out.stdout).unwrap();
    let first: Vec<&str> = summary.lines().next().unwrap().split('\t').collect();
    assert_eq!(first[0], "al2023_sh_editing");
    assert_eq!(first[1], "non_compliant");
    let md = std::fs::read_to_string(dir.join("al2023_sh_editing.md")).unwrap();
    assert!(md.starts_with("# Session report: `al2023_sh_editing`"), "{md}");
    assert!(md.contains("SA-CMD-001"));
    assert!(dir.join("ubuntu_dash_cooked.md").exists());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn same_session_name_twice_keeps_both_reports() {
    let dir = temp_dir("dupes");
    let a = dir.join("a");
    let b = dir.join("b");
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    std::fs::copy(recorded("al2023_sh_risky.log"), a.join("s-1.log")).unwrap();
    std::fs::copy(recorded("ubuntu_dash_cooked.log"), b.join("s-1.log")).unwrap();
    let out_dir = dir.join("out");
    let out = run(&[
        "analyze",
        "--out",
        out_dir.to_str().unwrap(),
        a.to_str().unwrap(),
        b.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert!(out_dir.join("s-1.json").exists());
    assert!(out_dir.join("s-1-2.json").exists());
    let names: Vec<_> =
        std::fs::read_dir(&out_dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 2, "no partial files left: {names:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn fail_on_sets_the_exit_status() {
    let risky = recorded("al2023_sh_editing.log"); // `sudo -s`: medium
    assert_eq!(run(&["analyze", "--fail-on", "medium", &risky]).status.code(), Some(1));
    assert_eq!(run(&["analyze", "--fail-on", "high", &risky]).status.code(), Some(0));
    assert_eq!(run(&["analyze", &risky]).status.code(), Some(0));
}

#[test]
fn stdin_is_read_when_given_dash() {
    let mut child = bin()
        .args(["analyze", "--format", "jsonl", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"\x1b[?2004h$ whoami\r\r\n\x1b[?2004l\rroot\r\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["commands"][0]["command"], "whoami");
    assert_eq!(report["source"]["format"], "raw_terminal");
}

#[test]
fn errors_are_one_line_naming_the_file_and_exit_2() {
    let out = run(&["analyze", "/nonexistent/s-1.log"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("/nonexistent/s-1.log"));

    let dir = temp_dir("rules");
    let pack = dir.join("bad.toml");
    std::fs::write(
        &pack,
        "[[rule]]\nid = \"A-1\"\ntitle = \"t\"\nseverity = \"low\"\npattern = '('\n",
    )
    .unwrap();
    let out =
        run(&["analyze", "--rules", pack.to_str().unwrap(), &recorded("al2023_sh_editing.log")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("bad.toml:5:"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");

    assert_eq!(run(&["analyze", "--format", "xml", "x"]).status.code(), Some(2), "usage error");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn user_rules_apply() {
    let dir = temp_dir("user-rules");
    let pack = dir.join("acme.toml");
    std::fs::write(&pack, "disable = [\"SA-CMD-001\"]\n[[rule]]\nid = \"ACME-LESS\"\ntitle = \"Pager on passwd\"\nseverity = \"critical\"\npattern = 'less /etc/passwd'\n").unwrap();
    let out = run(&[
        "analyze",
        "--format",
        "json",
        "--rules",
        pack.to_str().unwrap(),
        &recorded("al2023_sh_editing.log"),
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ACME-LESS"]);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn events_back_fills_records_from_cloudtrail_json() {
    let public = fixtures().join("public");
    let start: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(public.join("cloudtrail_StartSession_IAMUser_cli_customdoc.json"))
            .unwrap(),
    )
    .unwrap();
    let mut terminate = start.clone();
    terminate["eventName"] = "TerminateSession".into();
    terminate["eventID"] = "00000000-0000-4000-8000-0000000000a1".into();
    terminate["eventTime"] = "2020-05-18T17:30:00Z".into();
    terminate["requestParameters"] =
        serde_json::json!({"sessionId": "garland.kan.temp-0e34861185201706f"});
    let mut denied = start.clone();
    denied["eventID"] = "00000000-0000-4000-8000-0000000000d1".into();
    denied["errorCode"] = "AccessDenied".into();
    // A trail file with the terminate first, the start twice, and a call that is not audited.
    let trail = serde_json::json!({"Records": [terminate, start.clone(), start, denied, {"eventID": "x", "eventSource": "ec2.amazonaws.com", "eventName": "RunInstances", "eventTime": "2020-05-18T17:00:00Z"}]});
    let dir = temp_dir("events");
    let file = dir.join("trail.json");
    std::fs::write(&file, trail.to_string()).unwrap();
    let envelope = public.join("eventbridge_cloudtrail_StartSession_AssumedRole_console.json");
    let out = run(&["events", file.to_str().unwrap(), envelope.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let sessions: Vec<_> = lines.iter().filter(|l| l["kind"] == "session").collect();
    assert_eq!(sessions.len(), 2);
    let iam = sessions
        .iter()
        .find(|l| l["record"]["session_id"] == "garland.kan.temp-0e34861185201706f")
        .unwrap();
    assert_eq!(iam["key"], "audit/sessions/dt=2020-05-18/acct=354114410416/region=us-east-1/garland.kan.temp-0e34861185201706f.json");
    assert_eq!(iam["record"]["document"], "SSM-sudo");
    assert_eq!(
        iam["record"]["terminated_at"], "2020-05-18T17:30:00Z",
        "terminate applied although it came first"
    );
    assert_eq!(
        iam["record"]["events"].as_array().unwrap().len(),
        2,
        "the duplicate start changed nothing"
    );
    let denied: Vec<_> = lines.iter().filter(|l| l["kind"] == "denied").collect();
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0]["record"]["findings"][0]["rule_id"], "SA-SES-DENIED");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("2 sessions, 1 denied, 1 duplicates, 0 without their start, 1 not Session Manager calls, 0 malformed"), "{stderr}");

    let out_dir = dir.join("bucket");
    let out = run(&["events", "--out", out_dir.to_str().unwrap(), file.to_str().unwrap()]);
    assert!(out.status.success());
    assert!(out_dir
        .join("audit/sessions/dt=2020-05-18/acct=354114410416/region=us-east-1/garland.kan.temp-0e34861185201706f.json")
        .exists());
    assert!(out_dir
        .join("audit/denied/dt=2020-05-18/00000000-0000-4000-8000-0000000000d1.json")
        .exists());

    std::fs::write(&file, b"{ not json").unwrap();
    assert_eq!(
        run(&["events", file.to_str().unwrap()]).status.code(),
        Some(2),
        "malformed input is an error"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn events_out_refuses_ids_that_would_escape_the_directory() {
    let start: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            fixtures().join("public/cloudtrail_StartSession_IAMUser_cli_customdoc.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let dir = temp_dir("events-bad-ids");
    let out_dir = dir.join("bucket");
    for (field, bad) in [
        ("/eventID", "../../../escaped"),
        ("/responseElements/sessionId", "../../escaped"),
        ("/responseElements/sessionId", "a\u{7}b"),
        ("/eventID", "x/y"),
    ] {
        let mut event = start.clone();
        *event.pointer_mut(field).unwrap() = bad.into();
        let file = dir.join("trail.json");
        std::fs::write(&file, event.to_string()).unwrap();
        let out = run(&["events", "--out", out_dir.to_str().unwrap(), file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{field} {bad:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("cannot be used in an audit key"), "{stderr}");
        assert!(out.stdout.is_empty(), "no record written");
    }
    let written: Vec<_> = walk(&dir).into_iter().filter(|p| !p.ends_with("trail.json")).collect();
    assert!(written.is_empty(), "nothing written anywhere: {written:?}");
    assert!(!dir.parent().unwrap().join("escaped").exists());
    std::fs::remove_dir_all(dir).unwrap();
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn summarize_lists_a_record_whose_id_would_escape_and_counts_the_rest() {
    let dir = temp_dir("summarize-bad-ids");
    let bucket = dir.join("bucket");
    let trail = fixtures().join("public/cloudtrail_StartSession_IAMUser_cli_customdoc.json");
    let out = run(&["events", "--out", bucket.to_str().unwrap(), trail.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let record = walk(&bucket).into_iter().find(|p| p.extension().is_some_and(|e| e == "json"));
    let record = record.expect("a session record");
    let mut forged: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    forged["session_id"] = "../../escaped".into();
    std::fs::write(bucket.join("forged.json"), forged.to_string()).unwrap();
    let out = run(&["summarize", "--format", "json", bucket.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["sessions"], 1, "the genuine record counts");
    assert_eq!(summary["corrupt"]["total"], 1, "the forged one is listed: {summary}");
    let listed = summary["corrupt"]["items"][0].to_string();
    assert!(listed.contains("forged.json") && listed.contains("audit key"), "{listed}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Every secret of the redaction table (`tests/fixtures/redaction/cases.json`) typed into one
/// session: neither the JSON nor the Markdown report holds any of them.
#[test]
fn no_secret_of_the_redaction_table_reaches_a_report() {
    let table = std::fs::read_to_string(fixtures().join("redaction/cases.json")).unwrap();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&table).unwrap();
    let mut transcript =
        b"Script started on 2026-12-05 09:00:00+00:00 [COMMAND=\"/bin/bash\"]\n".to_vec();
    for row in &rows {
        let mut lines = row["text"].as_str().unwrap().lines();
        let first = lines.next().unwrap();
        transcript.extend_from_slice(format!("\x1b[?2004hsh-5.2$ {first}\r\r\n").as_bytes());
        for more in lines {
            transcript.extend_from_slice(format!("> {more}\r\r\n").as_bytes());
        }
        transcript.extend_from_slice(b"\x1b[?2004l\rok\r\r\n");
    }
    transcript.extend_from_slice(b"\x1b[?2004hsh-5.2$ exit\r\r\n\x1b[?2004l\rexit\r\n");
    let dir = temp_dir("secrets");
    let path = dir.join("secrets-0123456789abcdef0.log");
    std::fs::write(&path, &transcript).unwrap();
    let path = path.display().to_string();
    for format in ["json", "md"] {
        let out = run(&["analyze", "--format", format, &path]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let report = String::from_utf8(out.stdout).unwrap();
        assert!(report.contains("REDACTED"), "{format}: {report}");
        for row in &rows {
            let secret = row["secret"].as_str().unwrap();
            assert!(!report.contains(secret), "{format} holds {secret:?}");
        }
        if format == "json" {
            let parsed: serde_json::Value = serde_json::from_str(&report).unwrap();
            let commands = parsed["commands"].as_array().unwrap().len();
            assert!(commands >= rows.len(), "every command read: {commands}");
        }
    }
}
