use serde_json::json;

use super::*;

fn instance() -> InstanceFacts {
    InstanceFacts {
        instance_id: "i-0123456789abcdef0".into(),
        state: "running".into(),
        managed_online: true,
        groups: vec!["sg-1".into()],
        tags: Vec::new(),
        ingress: vec![Ingress {
            group_id: "sg-1".into(),
            protocol: "tcp".into(),
            ports: Some((22, 22)),
            sources: vec!["10.0.0.0/8".into()],
        }],
        imds_v2_required: true,
        profile_policies: Some(vec!["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore".into()]),
    }
}

fn judged(edit: impl FnOnce(&mut InstanceFacts)) -> Evaluation {
    let mut f = instance();
    edit(&mut f);
    evaluate_instance(&f)
}

#[test]
fn an_instance_reached_only_through_session_manager_is_compliant() {
    let e = evaluate_instance(&instance());
    assert_eq!((e.compliance, e.resource_type), (Compliance::Compliant, "AWS::EC2::Instance"));
    assert_eq!(e.resource_id, "i-0123456789abcdef0");
}

#[test]
fn each_way_around_the_audit_is_named() {
    type Edit = Box<dyn Fn(&mut InstanceFacts)>;
    let cases: [(&str, Edit); 6] = [
        ("not online in Systems Manager", Box::new(|f| f.managed_online = false)),
        (
            "sg-1 opens SSH (22) to 0.0.0.0/0",
            Box::new(|f| f.ingress[0].sources.push("0.0.0.0/0".into())),
        ),
        (
            "sg-2 opens RDP (3389) to ::/0",
            Box::new(|f| {
                f.ingress.push(Ingress {
                    group_id: "sg-2".into(),
                    protocol: "-1".into(),
                    ports: None,
                    sources: vec!["::/0".into()],
                })
            }),
        ),
        ("IMDSv1 allowed", Box::new(|f| f.imds_v2_required = false)),
        ("no instance profile", Box::new(|f| f.profile_policies = None)),
        ("lacks AmazonSSMManagedInstanceCore", Box::new(|f| f.profile_policies = Some(vec![]))),
    ];
    for (words, edit) in cases {
        let e = judged(edit);
        assert_eq!(e.compliance, Compliance::NonCompliant, "{words}");
        assert!(e.annotation.contains(words), "{words}: {}", e.annotation);
    }
}

#[test]
fn port_ranges_and_protocols_are_read_as_ec2_means_them() {
    let range = |protocol: &str, ports| Ingress {
        group_id: "sg-9".into(),
        protocol: protocol.into(),
        ports,
        sources: vec!["0.0.0.0/0".into()],
    };
    assert_eq!(open_admin_ports(&[range("tcp", Some((20, 30)))]).len(), 1, "22 inside 20-30");
    assert_eq!(open_admin_ports(&[range("-1", None)]).len(), 2, "all traffic: SSH and RDP");
    assert!(open_admin_ports(&[range("udp", Some((22, 22)))]).is_empty(), "UDP is no shell");
    assert!(open_admin_ports(&[range("tcp", Some((443, 443)))]).is_empty());
}

#[test]
fn a_terminated_instance_is_out_of_scope_and_long_annotations_are_cut() {
    assert_eq!(judged(|f| f.state = "terminated".into()).compliance, Compliance::NotApplicable);
    let e = judged(|f| {
        f.managed_online = false;
        f.imds_v2_required = false;
        f.ingress = (0..20)
            .map(|n| Ingress {
                group_id: format!("sg-{n:017}"),
                protocol: "-1".into(),
                ports: None,
                sources: vec!["0.0.0.0/0".into()],
            })
            .collect();
    });
    assert!(e.annotation.chars().count() <= MAX_ANNOTATION, "{}", e.annotation.len());
    assert!(e.annotation.ends_with('…'));
}

fn stack_preferences() -> (serde_json::Value, PreferencesExpected) {
    // As the provisioner writes them (provisioner/policies.rs checks its own document compliant).
    let doc = json!({"inputs": {"s3BucketName": "audit-bucket", "s3KeyPrefix": "session-logs",
        "s3EncryptionEnabled": true, "cloudWatchLogGroupName": "/session-audit/sessions",
        "cloudWatchEncryptionEnabled": true, "cloudWatchStreamingEnabled": true,
        "idleSessionTimeout": "20", "maxSessionDuration": "480", "kmsKeyId": "",
        "runAsEnabled": false, "runAsDefaultUser": "", "shellProfile": {"windows": "", "linux": ""}}});
    let start = StartConfig::example("audit-bucket", "session-logs/");
    let expected = PreferencesExpected {
        start,
        max_session_minutes: 480,
        idle_minutes: 20,
        require_kms: false,
    };
    (doc, expected)
}

#[test]
fn preferences_as_the_stack_writes_them_are_compliant_and_each_drift_is_named() {
    let (doc, expected) = stack_preferences();
    let e = evaluate_preferences("123456789012", &doc, &expected);
    assert_eq!(
        (e.compliance, e.resource_type),
        (Compliance::Compliant, "AWS::::Account"),
        "{}",
        e.annotation
    );
    let drifted = |edit: &dyn Fn(&mut serde_json::Value), expected: &PreferencesExpected| {
        let mut d = doc.clone();
        edit(&mut d["inputs"]);
        evaluate_preferences("123456789012", &d, expected)
    };
    type Edit<'a> = &'a dyn Fn(&mut serde_json::Value);
    let cases: [(&str, Edit); 6] = [
        ("s3EncryptionEnabled is off", &|i| i["s3EncryptionEnabled"] = json!(false)),
        ("cloudWatchStreamingEnabled is off", &|i| i["cloudWatchStreamingEnabled"] = json!(false)),
        ("no CloudWatch log group", &|i| i["cloudWatchLogGroupName"] = json!("")),
        ("maxSessionDuration 1440 min", &|i| i["maxSessionDuration"] = json!("1440")),
        ("idleSessionTimeout unset", &|i| i["idleSessionTimeout"] = json!("")),
        ("shellProfile.linux", &|i| i["shellProfile"]["linux"] = json!("stty -echo")),
    ];
    for (words, edit) in cases {
        let e = drifted(edit, &expected);
        assert_eq!(e.compliance, Compliance::NonCompliant, "{words}");
        assert!(e.annotation.contains(words), "{words}: {}", e.annotation);
    }
    let kms = PreferencesExpected { require_kms: true, ..expected.clone() };
    let e = drifted(&|_| {}, &kms);
    assert!(e.annotation.contains("no KMS key"), "{}", e.annotation);
    let e = drifted(&|i| i["kmsKeyId"] = json!("alias/sessions"), &kms);
    assert_eq!(e.compliance, Compliance::Compliant, "{}", e.annotation);
}
