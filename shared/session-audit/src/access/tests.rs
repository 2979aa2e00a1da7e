use serde_json::{json, Value};

use super::approval::{judge, Run, Verdict};
use super::schema::{check_document, Parameters};
use super::*;

fn catalog() -> Catalog {
    Catalog::parse(
        "sa",
        "80,443,80",
        "db.internal:5432, 10.0.1.20:3306",
        "nginx,amazon-cloudwatch-agent",
    )
    .unwrap()
}

fn params(pairs: &[(&str, &str)]) -> Parameters {
    pairs.iter().map(|(k, v)| (k.to_string(), vec![v.to_string()])).collect()
}

fn inputs() -> Value {
    json!({"s3BucketName": "b", "s3EncryptionEnabled": true, "cloudWatchEncryptionEnabled": true})
}

#[test]
fn every_document_is_a_valid_session_document() {
    let c = catalog();
    assert_eq!(c.kinds().len(), 5);
    for kind in c.kinds() {
        let doc = c.document(kind, &inputs());
        assert_eq!(check_document(&doc), Vec::<String>::new(), "{kind:?}: {doc:#}");
    }
    let names = c.allowed();
    assert_eq!(names[0], DEFAULT_SHELL);
    assert!(names.contains(&"sa-RemotePortForward".to_string()));
    let without = Catalog::parse("sa", "22", "", "nginx").unwrap();
    assert!(
        !without.allowed().iter().any(|n| n.ends_with("RemotePortForward")),
        "no destinations, no document"
    );
}

#[test]
fn the_schema_check_refuses_what_session_manager_refuses() {
    let c = catalog();
    let port = c.document(Kind::PortForward, &Value::Null);
    let broken = |edit: &dyn Fn(&mut Value)| {
        let mut d = port.clone();
        edit(&mut d);
        check_document(&d)
    };
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("schemaVersion", broken(&|d| d["schemaVersion"] = "2.2".into())),
        ("sessionType", broken(&|d| d["sessionType"] = "Shell".into())),
        ("not a parameter", broken(&|d| d["properties"]["host"] = "{{ target }}".into())),
        ("no property uses it", broken(&|d| d["parameters"]["extra"] = json!({"type": "String"}))),
        (
            "does not compile",
            broken(&|d| d["parameters"]["localPortNumber"]["allowedPattern"] = "^([0-9]$".into()),
        ),
        (
            "its default is refused",
            broken(&|d| d["parameters"]["localPortNumber"]["default"] = "99999".into()),
        ),
        (
            "allowedValues is empty",
            broken(&|d| d["parameters"]["portNumber"]["allowedValues"] = json!([])),
        ),
        ("unknown element", broken(&|d| d["mainSteps"] = json!([]))),
        (
            "needs properties.portNumber",
            broken(&|d| d["properties"].as_object_mut().unwrap().clear()),
        ),
    ];
    for (expected, problems) in cases {
        assert!(problems.iter().any(|p| p.contains(expected)), "{expected}: {problems:?}");
    }
    let mut shell = c.document(Kind::Shell, &inputs());
    shell.as_object_mut().unwrap().remove("inputs");
    assert!(check_document(&shell).iter().any(|p| p.contains("inputs")));
    let mut task = c.document(Kind::RestartService, &Value::Null);
    task["properties"]["linux"].as_object_mut().unwrap().remove("commands");
    assert!(check_document(&task).iter().any(|p| p.contains("commands")));
}

#[test]
fn port_forwarding_reaches_only_the_allowed_ports() {
    let c = catalog();
    let doc = c.name(Kind::PortForward);
    match c.judge(&doc, &params(&[("portNumber", "443")])) {
        Use::Sanctioned { detail, parameters, .. } => {
            assert_eq!(detail.as_deref(), Some("localhost:443"));
            assert_eq!(parameters["localPortNumber"], vec!["0"], "the default filled in");
        }
        other => panic!("{other:?}"),
    }
    for refused in [
        params(&[("portNumber", "22")]),
        params(&[("portNumber", "80"), ("localPortNumber", "70000")]),
        params(&[("portNumber", "80"), ("host", "db.internal")]),
        params(&[]),
    ] {
        assert!(matches!(c.judge(&doc, &refused), Use::Refused { .. }), "{refused:?}");
    }
    let two: Parameters =
        [("portNumber".to_string(), vec!["80".to_string(), "443".to_string()])].into();
    assert!(matches!(c.judge(&doc, &two), Use::Refused { .. }), "a String takes one value");
}

#[test]
fn remote_forwarding_reaches_only_listed_pairs() {
    let c = catalog();
    let doc = c.name(Kind::RemotePortForward);
    let go =
        |host: &str, port: &str| c.judge(&doc, &params(&[("host", host), ("portNumber", port)]));
    assert!(
        matches!(go("db.internal", "5432"), Use::Sanctioned { detail: Some(d), .. } if d == "db.internal:5432")
    );
    assert!(matches!(go("10.0.1.20", "3306"), Use::Sanctioned { .. }));
    // Each value is allowed on its own, so Session Manager starts the session; the pair is not.
    match go("db.internal", "3306") {
        Use::Refused { problems, .. } => {
            assert!(problems[0].contains("not an allowed destination"), "{problems:?}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(go("evil.example", "5432"), Use::Refused { .. }));
    assert!(matches!(go("db.internal", "22"), Use::Refused { .. }));
}

#[test]
fn tasks_run_only_with_allowed_parameters_and_say_what_ran() {
    let c = catalog();
    let restart = c.name(Kind::RestartService);
    match c.judge(&restart, &params(&[("service", "nginx")])) {
        Use::Sanctioned { detail, .. } => assert_eq!(
            detail.as_deref(),
            Some("sudo systemctl restart nginx && systemctl --no-pager status nginx")
        ),
        other => panic!("{other:?}"),
    }
    for bad in ["sshd", "nginx; rm -rf /", ""] {
        assert!(
            matches!(c.judge(&restart, &params(&[("service", bad)])), Use::Refused { .. }),
            "{bad}"
        );
    }
    let tail = c.name(Kind::TailLog);
    for good in [
        "/var/log/messages",
        "/var/log/nginx/access.log",
        "/var/log/amazon/ssm/amazon-ssm-agent.log",
    ] {
        assert!(
            matches!(c.judge(&tail, &params(&[("log", good)])), Use::Sanctioned { .. }),
            "{good}"
        );
    }
    for bad in [
        "/var/log/../../etc/shadow",
        "/etc/shadow",
        "/var/log/x;id",
        "/var/log/$(id)",
        "/var/log/.hidden",
        "/var/log",
    ] {
        assert!(matches!(c.judge(&tail, &params(&[("log", bad)])), Use::Refused { .. }), "{bad}");
    }
    assert!(matches!(c.judge(&tail, &params(&[("lines", "0")])), Use::Refused { .. }));
    match c.judge(&tail, &Parameters::new()) {
        Use::Sanctioned { detail, .. } => {
            assert_eq!(detail.as_deref(), Some("sudo tail -n 100 -F /var/log/messages"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn other_documents_are_not_allowed_and_the_default_shell_takes_nothing() {
    let c = catalog();
    for doc in
        ["AWS-StartPortForwardingSession", "AWS-StartInteractiveCommand", "other-Shell", "sa-shell"]
    {
        assert_eq!(c.judge(doc, &Parameters::new()), Use::NotAllowed, "{doc}");
    }
    assert!(matches!(
        c.judge(DEFAULT_SHELL, &Parameters::new()),
        Use::Sanctioned { kind: Kind::Shell, .. }
    ));
    assert!(matches!(c.judge(DEFAULT_SHELL, &params(&[("x", "y")])), Use::Refused { .. }));
    assert!(matches!(c.judge("sa-Shell", &params(&[("x", "y")])), Use::Refused { .. }));
}

#[test]
fn bad_settings_are_refused_with_the_reason() {
    for (ports, dest, services, expected) in [
        ("", "", "nginx", "names no port"),
        ("80,http", "", "nginx", "'http' is not a port"),
        ("0", "", "nginx", "'0' is not a port"),
        ("80", "db", "nginx", "not host:port"),
        ("80", "db_1.internal:5432", "nginx", "not a DNS name"),
        ("80", "db:99999", "nginx", "not a port"),
        ("80", "", "", "names no service"),
        ("80", "", "nginx;reboot", "not a systemd unit"),
    ] {
        let e = Catalog::parse("sa", ports, dest, services).unwrap_err();
        assert!(e.to_string().contains(expected), "{ports}|{dest}|{services}: {e}");
    }
    let c = Catalog::parse("sa", "80", "DB.Internal:5432", "nginx").unwrap();
    assert_eq!(c.destinations[0].to_string(), "db.internal:5432");
}

fn run(id: &str, requester: &str, instance: &str, status: &str, at: &str, minutes: &str) -> Run {
    Run {
        execution_id: id.into(),
        parameters: params(&[
            ("Requester", requester),
            ("InstanceId", instance),
            ("Minutes", minutes),
            ("Reason", "CHG-1"),
        ]),
        approve_status: Some(status.into()),
        approved_at: Some(at.into()),
        approve_outputs: [(
            "ApproverDecisions".to_string(),
            vec![r#"[{"approver":"arn:aws:iam::123456789012:user/bob","decision":"Approve"}]"#
                .to_string()],
        )]
        .into(),
    }
}

#[test]
fn a_protected_session_is_linked_to_the_approval_that_covers_it() {
    let names = vec!["ana".to_string(), "arn:aws:iam::123456789012:user/ana".to_string()];
    let ok = run("e-1", "ana", "i-0abc", "Success", "2026-12-01T10:00:00Z", "60");
    match judge(std::slice::from_ref(&ok), &names, "i-0abc", "2026-12-01T10:30:00Z") {
        Verdict::Covered(a) => {
            assert_eq!(a.approvers, vec!["arn:aws:iam::123456789012:user/bob"]);
            assert_eq!(a.until().as_deref(), Some("2026-12-01T11:00:00Z"));
            assert_eq!(a.reason.as_deref(), Some("CHG-1"));
        }
        other => panic!("{other:?}"),
    }
    let uncovered = |runs: &[Run], at: &str| match judge(runs, &names, "i-0abc", at) {
        Verdict::Uncovered(why) => why,
        other => panic!("{other:?}"),
    };
    assert!(uncovered(std::slice::from_ref(&ok), "2026-12-01T11:00:00Z").contains("expired"));
    assert!(uncovered(std::slice::from_ref(&ok), "2026-12-01T09:59:00Z")
        .contains("after the session started"));
    let rejected = run("e-2", "ana", "i-0abc", "Failed", "2026-12-01T10:00:00Z", "60");
    assert!(uncovered(&[rejected], "2026-12-01T10:30:00Z").contains("not approved"));
    let other = run("e-3", "carl", "i-0abc", "Success", "2026-12-01T10:00:00Z", "60");
    assert!(uncovered(&[other], "2026-12-01T10:30:00Z").contains("no approval"));
    let elsewhere = run("e-4", "ana", "i-0def", "Success", "2026-12-01T10:00:00Z", "60");
    assert!(uncovered(&[elsewhere], "2026-12-01T10:30:00Z").contains("no approval"));
    let mut own = ok.clone();
    own.approve_outputs
        .insert("ApproverDecisions".into(), vec!["arn:aws:iam::123456789012:user/ana".into()]);
    assert!(uncovered(&[own], "2026-12-01T10:30:00Z").contains("requester alone"));
    let role = vec!["dev/ana@example.com".to_string(), "ana@example.com".to_string()];
    let by_userid = run(
        "e-5",
        "AROAEXAMPLE:ana@example.com",
        "i-0abc",
        "Success",
        "2026-12-01T10:00:00Z",
        "60",
    );
    assert!(matches!(
        judge(&[by_userid], &role, "i-0abc", "2026-12-01T10:05:00Z"),
        Verdict::Covered(_)
    ));
}
