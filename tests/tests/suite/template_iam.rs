//! template.yaml read as CloudFormation would for a test stack (parameters, pseudo parameters,
//! conditions and the intrinsic functions the template uses), and the functions' IAM policies
//! as written there evaluated with a small IAM evaluator: what a first deploy needs is allowed,
//! what would let the provisioner be turned against the audit or the account is not.

use serde_json::{json, Value};
use session_audit_tests::iam_policy::{evaluate, granted_actions, Request};
use session_audit_tests::template::{Stack, ACCOUNT, BUCKET, DIGEST_KEY, KEY, STACK};

const OURS: &str = "session-audit:123456789012:us-east-1:session-audit";
const TAG: &str = "aws:ResourceTag/session-audit:resource";

fn allowed(policies: &[Value], req: Request) -> bool {
    evaluate(policies, &req).allowed()
}

#[test]
fn no_function_is_granted_a_wildcard_action() {
    let stack = Stack::new(&[("RulesObject", "b/rules.toml"), ("RedactionKeyParameter", "k")]);
    assert_eq!(stack.functions().len(), 9);
    for f in stack.functions() {
        for action in granted_actions(&stack.policies(&f)) {
            assert!(!action.contains('*'), "{f} grants {action}");
        }
    }
}

#[test]
fn the_provisioner_can_make_its_key_and_touch_no_other() {
    let p = Stack::new(&[]).policies("ProvisionerFunction");
    let key = "arn:aws:kms:us-east-1:123456789012:key/1234";
    assert!(allowed(
        &p,
        Request::new("kms:CreateKey", "*").with("aws:RequestTag/session-audit:resource", OURS)
    ));
    assert!(!allowed(&p, Request::new("kms:CreateKey", "*")), "an untagged key");
    for action in
        ["kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:EnableKeyRotation", "kms:DescribeKey"]
    {
        assert!(allowed(&p, Request::new(action, key).with(TAG, OURS)), "{action} on our key");
        assert!(!allowed(&p, Request::new(action, key)), "{action} on any key");
        let theirs =
            Request::new(action, key).with(TAG, "session-audit:123456789012:us-east-1:other");
        assert!(!allowed(&p, theirs), "{action} on another stack's key");
    }
    for action in ["kms:Decrypt", "kms:GenerateDataKey", "kms:CreateGrant"] {
        assert!(
            !allowed(&p, Request::new(action, key).with(TAG, OURS)),
            "{action} needs no key-wide grant"
        );
    }
    let via_ec2 = Request::new("kms:CreateGrant", key)
        .with("kms:ViaService", "ec2.us-east-1.amazonaws.com")
        .with("kms:CallerAccount", ACCOUNT);
    assert!(allowed(&p, via_ec2), "EBS default encryption under a customer key");
}

#[test]
fn the_provisioner_passes_and_attaches_only_what_the_instance_needs() {
    let p = Stack::new(&[]).policies("ProvisionerFunction");
    let role = "arn:aws:iam::123456789012:role/session-audit-ssm-instance";
    assert!(
        allowed(&p, Request::new("iam:PassRole", role)),
        "AddRoleToInstanceProfile names no service"
    );
    assert!(allowed(
        &p,
        Request::new("iam:PassRole", role).with("iam:PassedToService", "ec2.amazonaws.com")
    ));
    assert!(!allowed(
        &p,
        Request::new("iam:PassRole", role).with("iam:PassedToService", "lambda.amazonaws.com")
    ));
    let core = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore";
    let admin = "arn:aws:iam::aws:policy/AdministratorAccess";
    assert!(allowed(&p, Request::new("iam:AttachRolePolicy", role).with("iam:PolicyARN", core)));
    assert!(!allowed(&p, Request::new("iam:AttachRolePolicy", role).with("iam:PolicyARN", admin)));
    assert!(!allowed(&p, Request::new("iam:AttachRolePolicy", role)), "unconditioned attach");

    let user_policy = "arn:aws:iam::123456789012:policy/session-audit-session-user";
    assert!(allowed(&p, Request::new("iam:ListEntitiesForPolicy", user_policy)));
    for (action, entity) in [
        ("iam:DetachUserPolicy", "arn:aws:iam::123456789012:user/ana"),
        ("iam:DetachGroupPolicy", "arn:aws:iam::123456789012:group/operators"),
        ("iam:DetachRolePolicy", "arn:aws:iam::123456789012:role/oncall"),
    ] {
        assert!(
            allowed(&p, Request::new(action, entity).with("iam:PolicyARN", user_policy)),
            "{action}"
        );
        assert!(
            !allowed(&p, Request::new(action, entity).with("iam:PolicyARN", admin)),
            "{action} other policy"
        );
    }
}

#[test]
fn the_provisioner_changes_only_instances_it_tagged() {
    let p = Stack::new(&[]).policies("ProvisionerFunction");
    let instance = "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc";
    for action in [
        "ec2:TerminateInstances",
        "ec2:StopInstances",
        "ec2:ModifyInstanceAttribute",
        "ec2:CreateTags",
    ] {
        assert!(allowed(&p, Request::new(action, instance).with(TAG, OURS)), "{action} on ours");
        assert!(!allowed(&p, Request::new(action, instance)), "{action} on any instance");
    }
    let tag_on_launch =
        Request::new("ec2:CreateTags", instance).with("ec2:CreateAction", "RunInstances");
    assert!(allowed(&p, tag_on_launch));
}

#[test]
fn the_provisioner_knows_its_stack_and_may_ask_cloudformation_about_it_only() {
    let stack = Stack::new(&[]);
    let env = &stack.properties("ProvisionerFunction")["Environment"]["Variables"];
    assert_eq!(env["STACK_ID"], STACK);
    assert!(env.get("EMULATOR_RESPONSE_ORIGIN").is_none(), "the emulator switch is never deployed");
    let p = stack.policies("ProvisionerFunction");
    assert!(allowed(&p, Request::new("cloudformation:DescribeStackResource", STACK)));
    let other = STACK.replace("stack/sa/", "stack/other/");
    assert!(!allowed(&p, Request::new("cloudformation:DescribeStackResource", &other)));
    let resource = &stack.template["Resources"]["AccessPath"]["Type"];
    assert_eq!(resource.as_str(), Some(session_audit_aws::provisioner::RESOURCE_TYPE));
}

#[test]
fn a_rule_pack_is_read_at_its_pinned_version_only() {
    let stack = Stack::new(&[("RulesObject", "admin/rules.toml"), ("RulesObjectVersion", "v1")]);
    // Every function that judges: the provisioner, the digest chain and the lake export read
    // no rules.
    let judges = |f: &String| {
        !["ProvisionerFunction", "AuditDigestFunction", "LakeExportFunction"].contains(&f.as_str())
    };
    for f in stack.functions().into_iter().filter(judges) {
        let env = &stack.properties(&f)["Environment"]["Variables"];
        assert_eq!(env["RULES_URI"], "s3://admin/rules.toml?versionId=v1", "{f}");
        let p = stack.policies(&f);
        let object = "arn:aws:s3:::admin/rules.toml";
        assert!(allowed(&p, Request::new("s3:GetObjectVersion", object)), "{f}");
        assert!(!allowed(&p, Request::new("s3:GetObject", object)), "{f}: the latest object");
    }
    // CloudFormation refuses a pack without a version (the template's Rules section).
    let rule = &stack.template["Rules"]["RulePackPinned"];
    let asserted = format!("{:?}", rule["Assertions"][0]["Assert"]);
    assert!(asserted.contains("RulesObjectVersion"), "{asserted}");
    let condition = format!("{:?}", rule["RuleCondition"]);
    assert!(condition.contains("RulesObject"), "{condition}");
}

#[test]
fn the_redaction_key_parameter_arn_is_right_with_or_without_a_leading_slash() {
    for (name, arn) in [
        ("/sa/redaction-key", "arn:aws:ssm:us-east-1:123456789012:parameter/sa/redaction-key"),
        ("sa-redaction-key", "arn:aws:ssm:us-east-1:123456789012:parameter/sa-redaction-key"),
    ] {
        let stack = Stack::new(&[("RedactionKeyParameter", name)]);
        for f in ["SessionStartFunction", "SessionReportFunction"] {
            let p = stack.policies(f);
            assert!(allowed(&p, Request::new("ssm:GetParameter", arn)), "{f}: {name}");
            let other = "arn:aws:ssm:us-east-1:123456789012:parameter/other";
            assert!(!allowed(&p, Request::new("ssm:GetParameter", other)), "{f}: only {name}");
        }
    }
    let cmk = "arn:aws:kms:us-east-1:123456789012:key/redaction";
    let stack = Stack::new(&[("RedactionKeyParameter", "/sa/k"), ("RedactionKeyKmsKeyArn", cmk)]);
    let p = stack.policies("SessionStartFunction");
    let via_ssm =
        Request::new("kms:Decrypt", cmk).with("kms:ViaService", "ssm.us-east-1.amazonaws.com");
    assert!(allowed(&p, via_ssm), "the SecureString's customer key, through SSM");
    assert!(!allowed(&p, Request::new("kms:Decrypt", cmk)), "not directly");
}

#[test]
fn without_a_key_parameter_every_redacting_function_reads_the_generated_secret_only() {
    use session_audit_tests::template::REDACTION_SECRET;
    let redacting = ["SessionStartFunction", "SessionReportFunction", "SessionStreamFunction"];
    let stack = Stack::new(&[]);
    assert!(stack.template["Resources"]["RedactionKeySecret"].is_mapping());
    for f in redacting {
        let env = &stack.properties(f)["Environment"]["Variables"];
        assert_eq!(env["REDACTION_KEY_SECRET"], REDACTION_SECRET, "{f}");
        assert!(env.get("REDACTION_KEY_PARAMETER").is_none_or(|v| v == ""), "{f}");
        let p = stack.policies(f);
        assert!(allowed(&p, Request::new("secretsmanager:GetSecretValue", REDACTION_SECRET)));
        let other = "arn:aws:secretsmanager:us-east-1:123456789012:secret:other-AbCdEf";
        assert!(!allowed(&p, Request::new("secretsmanager:GetSecretValue", other)), "{f}");
    }
    // Given a parameter, the stack makes no secret and grants none.
    let stack = Stack::new(&[("RedactionKeyParameter", "/sa/k")]);
    for f in redacting {
        let env = &stack.properties(f)["Environment"]["Variables"];
        assert_eq!(env["REDACTION_KEY_SECRET"], "", "{f}");
        let p = stack.policies(f);
        assert!(!allowed(&p, Request::new("secretsmanager:GetSecretValue", REDACTION_SECRET)));
    }
    // No function but the three may read it, and nothing on an instance can (no grant there).
    let stack = Stack::new(&[]);
    for f in ["ProvisionerFunction", "AccessSummaryFunction"] {
        let p = stack.policies(f);
        assert!(!allowed(&p, Request::new("secretsmanager:GetSecretValue", REDACTION_SECRET)));
    }
}

/// The template's `AllowedPattern` for `name`, as a regex.
fn pattern(stack: &Stack, name: &str) -> fancy_regex::Regex {
    let p = stack.template["Parameters"][name]["AllowedPattern"].as_str().unwrap();
    fancy_regex::Regex::new(p).unwrap()
}

#[test]
fn parameters_refuse_at_validation_what_the_provisioner_would_refuse_late() {
    use session_audit::provisioner::Properties;
    let stack = Stack::new(&[]);
    let cases: [(&str, &[&str]); 2] = [
        (
            "NamePrefix",
            &[
                "session-audit",
                "a",
                "sa-1",
                "a234567890123456789012345",
                "1abc",
                "Abc",
                "abc-",
                "a_b",
                "a234567890123456789012-4",
            ],
        ),
        (
            "TranscriptPrefix",
            &[
                "session-logs/",
                "a/b/",
                "x.y_z-1/",
                "audit/",
                "audit/x/",
                "/abs/",
                "no-slash",
                "bad!/",
                "it's/",
                "a(b)/",
                "auditx/",
                "sub/audit/",
            ],
        ),
    ];
    for (name, values) in cases {
        let template = pattern(&stack, name);
        for value in values {
            let mut props = std::collections::HashMap::new();
            props.insert(name.to_string(), json!(value));
            let provisioner = Properties::parse(&props).is_ok();
            assert_eq!(
                template.is_match(value).unwrap(),
                provisioner,
                "{name}={value:?}: the template and the provisioner must agree"
            );
        }
    }
    let long = format!("{}/", "a".repeat(199));
    let mut props = std::collections::HashMap::new();
    props.insert("TranscriptPrefix".to_string(), json!(long));
    assert!(
        Properties::parse(&props).is_ok()
            && pattern(&stack, "TranscriptPrefix").is_match(&long).unwrap()
    );
    let too_long = format!("{}/", "a".repeat(200));
    props.insert("TranscriptPrefix".to_string(), json!(too_long));
    assert!(
        Properties::parse(&props).is_err()
            && !pattern(&stack, "TranscriptPrefix").is_match(&too_long).unwrap()
    );

    let bus = pattern(&stack, "FindingsEventBus");
    assert!(bus.is_match("default").unwrap() && bus.is_match("audit-findings").unwrap());
    assert!(!bus.is_match("arn:aws:events:us-east-1:123456789012:event-bus/x").unwrap());
    let key = pattern(&stack, "RedactionKeyParameter");
    for ok in ["", "/sa/redaction-key", "sa-key"] {
        assert!(key.is_match(ok).unwrap(), "{ok:?}");
    }
    assert!(!key.is_match("arn:aws:ssm:us-east-1:123456789012:parameter/x").unwrap());
}

#[test]
fn sessions_end_within_what_the_audit_looks_back_over() {
    let stack = Stack::new(&[("MaxSessionMinutes", "600")]);
    assert_eq!(stack.properties("AccessPath")["MaxSessionMinutes"], "600");
    let max = stack.template["Parameters"]["MaxSessionMinutes"]["MaxValue"].as_u64();
    assert_eq!(max, Some(u64::from(session_audit::session::LONGEST_SESSION_MINUTES)));
}

/// The live path as deployed: session-stream subscribed to the log group the agent streams to
/// (SAM makes the subscription filter and logs.amazonaws.com's permission from this event),
/// session-report reading that group, and a dashboard whose body is valid JSON once
/// CloudFormation has substituted it, with the widgets the issue names.
#[test]
fn the_stream_is_subscribed_read_by_the_report_and_shown_on_a_dashboard() {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    let t: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let r = &t["Resources"];
    let tagged = |v: &serde_yaml::Value| match v {
        serde_yaml::Value::Tagged(t) => {
            (t.tag.to_string(), t.value.as_str().unwrap_or("").to_string())
        }
        other => panic!("{other:?}"),
    };
    let event = &r["SessionStreamFunction"]["Properties"]["Events"]["SessionStreamed"];
    assert_eq!(event["Type"], "CloudWatchLogs");
    assert_eq!(
        tagged(&event["Properties"]["LogGroupName"]),
        ("!GetAtt".into(), "AccessPath.LogGroupName".into())
    );
    assert_eq!(event["Properties"]["FilterPattern"], "", "every event of every session");
    let vars = &r["SessionReportFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(tagged(&vars["TRANSCRIPT_LOG_GROUP"]).1, "AccessPath.LogGroupName");
    let dashboard = &r["Dashboard"];
    assert_eq!(dashboard["Type"], "AWS::CloudWatch::Dashboard");
    let (tag, body) = tagged(&dashboard["Properties"]["DashboardBody"]);
    assert_eq!(tag, "!Sub");
    let substituted = fancy_regex::Regex::new(r"\$\{[^}]+\}").unwrap().replace_all(&body, "x");
    let body: serde_json::Value = serde_json::from_str(&substituted).expect("dashboard JSON");
    let titles: Vec<&str> = body["widgets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["properties"]["title"].as_str().unwrap())
        .collect();
    for want in [
        "Sessions started",
        "Live findings",
        "Report findings",
        "Transcripts missing",
        "Function errors",
        "Queue depths",
    ] {
        assert!(titles.iter().any(|t| t.starts_with(want)), "{want}: {titles:?}");
    }
    let metrics = body.to_string();
    let raw = tagged(&dashboard["Properties"]["DashboardBody"]).1;
    for function in [
        "SessionStreamFunction",
        "SessionReportFunction",
        "SessionStartFunction",
        "AccessSummaryFunction",
    ] {
        assert!(raw.contains(&format!("${{{function}}}")), "{function}'s errors on the dashboard");
    }
    assert!(metrics.contains("FindingsHigh") && metrics.contains("TranscriptsMissing"));
}

/// An alarm nobody is told of protects nothing: with or without `AlarmTopicArn`, every alarm
/// notifies a topic (the stack's own `AlarmTopic`, made exactly when none is given).
#[test]
fn every_alarm_reaches_a_topic_whatever_the_parameters() {
    let ops = "arn:aws:sns:us-east-1:123456789012:ops";
    for given in [None, Some(ops)] {
        let stack =
            Stack::new(&given.map(|arn| ("AlarmTopicArn", arn)).into_iter().collect::<Vec<_>>());
        let resources = stack.template["Resources"].as_mapping().unwrap();
        let made = resources.get("AlarmTopic").unwrap()["Condition"].as_str().unwrap();
        let made = stack.resolve(&stack.template["Conditions"][made]) == json!(true);
        assert_eq!(made, given.is_none(), "the stack's topic exactly when none is given");
        let alarms: Vec<String> = resources
            .iter()
            .filter(|(_, r)| r["Type"].as_str() == Some("AWS::CloudWatch::Alarm"))
            .map(|(k, _)| k.as_str().unwrap().to_string())
            .collect();
        assert!(alarms.len() >= 10, "{alarms:?}");
        for alarm in &alarms {
            let actions = &stack.properties(alarm)["AlarmActions"];
            let actions = actions.as_array().unwrap_or_else(|| panic!("{alarm}: no actions"));
            assert_eq!(actions.len(), 1, "{alarm}: {actions:?}");
            match given {
                Some(arn) => assert_eq!(actions[0], json!(arn), "{alarm}"),
                // `!Ref AlarmTopic`: a resource, resolved by this reader to its (unknown) ARN.
                None => {
                    let raw = &resources.get(alarm.as_str()).unwrap()["Properties"]["AlarmActions"];
                    let text = serde_yaml::to_string(raw).unwrap();
                    assert!(
                        text.contains("AlarmTopic") && !text.contains("NoValue"),
                        "{alarm}: {text}"
                    );
                }
            }
        }
    }
}

/// The two functions the instance role can trigger (uploads, log events) get reserved
/// concurrency when `TriggeredConcurrency` is set, capping a flood; none by default (an
/// account with 10 unreserved executions cannot reserve any, and the deploy would fail).
#[test]
fn triggered_functions_are_capped_when_asked() {
    let triggered = ["SessionReportFunction", "SessionStreamFunction"];
    let stack = Stack::new(&[("TriggeredConcurrency", "50")]);
    for f in stack.functions() {
        let reserved = &stack.properties(&f)["ReservedConcurrentExecutions"];
        match triggered.contains(&f.as_str()) {
            true => assert_eq!(reserved, &json!("50"), "{f}"),
            false => assert!(reserved.is_null(), "{f}: {reserved}"),
        }
    }
    let default = Stack::new(&[]);
    for f in triggered {
        assert!(default.properties(f)["ReservedConcurrentExecutions"].is_null(), "{f}");
    }
}

#[test]
fn only_the_digest_function_writes_or_signs_the_chain_and_nothing_else() {
    let stack = Stack::new(&[]);
    let object = |key: &str| format!("arn:aws:s3:::{BUCKET}/{key}");
    let digest = object("audit/digests/dt=2026-12-05/20261205T14.json");
    let sign = |key: &str, algorithm: &str, message: &str| {
        Request::new("kms:Sign", key)
            .with("kms:SigningAlgorithm", algorithm)
            .with("kms:MessageType", message)
    };
    for f in stack.functions() {
        let p = stack.policies(&f);
        let ours = f == "AuditDigestFunction";
        assert_eq!(allowed(&p, Request::new("s3:PutObject", &digest)), ours, "{f} writes digests");
        assert_eq!(allowed(&p, sign(DIGEST_KEY, "ECDSA_SHA_256", "RAW")), ours, "{f} signs");
    }
    let p = stack.policies("AuditDigestFunction");
    // A pre-hashed message would let a caller sign a hash of anything; another algorithm,
    // another key, or a write outside the chain is refused.
    assert!(!allowed(&p, sign(DIGEST_KEY, "ECDSA_SHA_256", "DIGEST")));
    assert!(!allowed(&p, sign(DIGEST_KEY, "ECDSA_SHA_384", "RAW")));
    assert!(!allowed(&p, sign(KEY, "ECDSA_SHA_256", "RAW")));
    for key in ["audit/reports/dt=2026-12-05/s.json", "session-logs/s.log", "audit/digest"] {
        assert!(!allowed(&p, Request::new("s3:PutObject", &object(key))), "{key}");
    }
    assert!(allowed(&p, Request::new("s3:GetObjectVersion", &object("session-logs/s.log"))));
    assert!(!allowed(&p, Request::new("s3:DeleteObjectVersion", &digest)));
    let key = &stack.template["Resources"]["DigestSigningKey"];
    assert_eq!(key["Properties"]["KeySpec"].as_str(), Some("ECC_NIST_P256"));
    assert_eq!(key["Properties"]["KeyUsage"].as_str(), Some("SIGN_VERIFY"));
    assert_eq!(key["DeletionPolicy"].as_str(), Some("Retain"), "old digests keep their key");
    let env = &stack.properties("AuditDigestFunction")["Environment"]["Variables"];
    assert_eq!(env["DIGEST_SIGNING_KEY"], json!(DIGEST_KEY), "the stack's key");
}

#[test]
fn security_hub_is_off_by_default_and_on_imports_as_this_accounts_product_only() {
    const PRODUCT: &str = "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default";
    let publishing = [
        "SessionStartFunction",
        "SessionReportFunction",
        "SessionStreamFunction",
        "AccessSummaryFunction",
        "ConfigRuleFunction",
        "GuardDutyCorrelationFunction",
    ];
    let import = |p: &str| Request::new("securityhub:BatchImportFindings", p);
    let off = Stack::new(&[]);
    for f in off.functions() {
        let p = off.policies(&f);
        assert!(!allowed(&p, import(PRODUCT)), "{f}: no Security Hub grant by default");
        let env = &off.properties(&f)["Environment"]["Variables"];
        assert!(env.get("SECURITY_HUB_PRODUCT").is_none_or(|v| v == ""), "{f}");
    }
    let on = Stack::new(&[("SecurityHub", "Enabled")]);
    for f in on.functions() {
        let p = on.policies(&f);
        let publishes = publishing.contains(&f.as_str());
        assert_eq!(allowed(&p, import(PRODUCT)), publishes, "{f}");
        if publishes {
            let env = &on.properties(&f)["Environment"]["Variables"];
            assert_eq!(env["SECURITY_HUB_PRODUCT"], PRODUCT, "{f}");
            let parsed =
                session_audit::asff::Product::parse(env["SECURITY_HUB_PRODUCT"].as_str().unwrap());
            assert!(parsed.is_ok(), "{f}: the function accepts what the template gives");
            let partner = "arn:aws:securityhub:us-east-1::product/crowdstrike/crowdstrike-falcon";
            assert!(!allowed(&p, import(partner)), "{f}: never as another product");
            assert!(!allowed(&p, Request::new("securityhub:BatchUpdateFindings", "*")), "{f}");
        }
    }
}

#[test]
fn the_lake_export_writes_only_ocsf_objects_or_only_through_the_custom_sources_roles() {
    use session_audit_tests::template::BUCKET;
    let object = |k: &str| format!("arn:aws:s3:::{BUCKET}/{k}");
    let roles = [
        ("SecurityLakeProcessRoleArn", "arn:aws:iam::123456789012:role/sl-process"),
        ("SecurityLakeFindingRoleArn", "arn:aws:iam::123456789012:role/sl-finding"),
        ("SecurityLakeAuthRoleArn", "arn:aws:iam::123456789012:role/sl-auth"),
    ];
    let off = Stack::new(&[]);
    let p = off.policies("LakeExportFunction");
    assert!(allowed(&p, Request::new("s3:PutObject", &object("ocsf/ext/x/y.parquet"))));
    assert!(allowed(
        &p,
        Request::new("s3:GetObjectVersion", &object("audit/reports/dt=2026-12-05/a.json"))
    ));
    for k in [
        "audit/reports/a.json",
        "audit/digests/h.json",
        "session-logs/a.log",
        "audit/sessions/a.json",
    ] {
        assert!(!allowed(&p, Request::new("s3:PutObject", &object(k))), "never writes {k}");
    }
    assert!(
        !allowed(&p, Request::new("s3:GetObjectVersion", &object("session-logs/a.log"))),
        "no transcript"
    );
    assert!(!allowed(&p, Request::new("sts:AssumeRole", roles[0].1)));
    let mut params: Vec<(&str, &str)> = roles.to_vec();
    params.push(("SecurityLakeBucket", "aws-security-data-lake-us-east-1-abc"));
    params.push(("SecurityLakeExternalId", "ext-1"));
    let on = Stack::new(&params);
    let p = on.policies("LakeExportFunction");
    for (_, role) in roles {
        assert!(allowed(&p, Request::new("sts:AssumeRole", role)), "{role}");
    }
    assert!(!allowed(&p, Request::new("sts:AssumeRole", "arn:aws:iam::123456789012:role/Admin")));
    assert!(
        !allowed(&p, Request::new("s3:PutObject", &object("ocsf/ext/x/y.parquet"))),
        "the lake only"
    );
    let env = &on.properties("LakeExportFunction")["Environment"]["Variables"];
    let read = |k: &str| env[k].as_str().map(str::to_string);
    let settings = session_audit::settings::LakeSettings::read(|k| read(k)).unwrap();
    assert!(matches!(settings.target, session_audit::settings::LakeTarget::SecurityLake { .. }));
    // A bucket without the roles: the template's rule refuses the deploy.
    let rule = format!("{:?}", on.template["Rules"]["SecurityLakeComplete"]);
    for name in [
        "SecurityLakeProcessRoleArn",
        "SecurityLakeFindingRoleArn",
        "SecurityLakeAuthRoleArn",
        "SecurityLakeExternalId",
    ] {
        assert!(rule.contains(name), "{name}");
    }
    // No other function may write OCSF objects or assume a role.
    for f in on.functions().into_iter().filter(|f| f != "LakeExportFunction") {
        let p = on.policies(&f);
        assert!(!allowed(&p, Request::new("sts:AssumeRole", roles[0].1)), "{f}");
        assert!(!allowed(&p, Request::new("s3:PutObject", &object("ocsf/ext/x/y.parquet"))), "{f}");
    }
}

#[test]
fn the_config_rule_only_reads_and_judges_and_the_correlation_only_files_its_own() {
    let stack = Stack::new(&[]);
    let object = |key: &str| format!("arn:aws:s3:::{BUCKET}/{key}");
    let p = stack.policies("ConfigRuleFunction");
    let verdict = object("audit/config/instances/i-0123456789abcdef0.json");
    assert!(allowed(&p, Request::new("s3:PutObject", &verdict)));
    assert!(allowed(&p, Request::new("config:PutEvaluations", "*")));
    let preferences = "arn:aws:ssm:us-east-1:123456789012:document/SSM-SessionManagerRunShell";
    assert!(allowed(&p, Request::new("ssm:GetDocument", preferences)));
    let other_document = "arn:aws:ssm:us-east-1:123456789012:document/Acme-Shell";
    assert!(!allowed(&p, Request::new("ssm:GetDocument", other_document)));
    let instance = "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0";
    // It judges; it never changes what it judges, nor Config's own setup.
    for (action, resource) in [
        ("ec2:ModifyInstanceMetadataOptions", instance),
        ("ec2:RevokeSecurityGroupIngress", "*"),
        ("ssm:UpdateDocument", preferences),
        ("iam:AttachRolePolicy", "arn:aws:iam::123456789012:role/web"),
        ("config:DeleteConfigRule", "*"),
        ("config:DeleteEvaluationResults", "*"),
        ("s3:PutObject", &object("audit/reports/dt=2026-12-05/s.json")),
        ("s3:DeleteObject", &verdict),
    ] {
        assert!(!allowed(&p, Request::new(action, resource)), "{action} {resource}");
    }
    let p = stack.policies("GuardDutyCorrelationFunction");
    let record = object("audit/sessions/dt=2026-12-05/alice-0a1b2c3d4e5f60718.json");
    let correlation = object("audit/guardduty/dt=2026-12-05/16afba5c5c43e07c9e3e5e2e544e95df.json");
    assert!(allowed(&p, Request::new("s3:GetObject", &record)));
    assert!(allowed(&p, Request::new("s3:PutObject", &correlation)));
    assert!(!allowed(&p, Request::new("s3:PutObject", &record)), "records are session-start's");
    assert!(!allowed(&p, Request::new("s3:GetObject", &object("session-logs/s.log"))));
    for f in stack.functions() {
        let writes = allowed(&stack.policies(&f), Request::new("s3:PutObject", &correlation));
        assert_eq!(writes, f == "GuardDutyCorrelationFunction", "{f} files correlations");
        let writes = allowed(&stack.policies(&f), Request::new("s3:PutObject", &verdict));
        assert_eq!(writes, f == "ConfigRuleFunction", "{f} files verdicts");
    }
    // The rule, and Config's permission to call the function, only where Config is recorded;
    // the permission for this account's Config alone.
    assert!(stack.makes("AccessPathConfigRule") && stack.makes("ConfigRuleInvokePermission"));
    let off = Stack::new(&[("ConfigRule", "Disabled")]);
    assert!(!off.makes("AccessPathConfigRule") && !off.makes("ConfigRuleInvokePermission"));
    assert!(off.makes("ConfigRuleFunction"));
    let permission = stack.properties("ConfigRuleInvokePermission");
    assert_eq!(permission["Principal"], "config.amazonaws.com");
    assert_eq!(permission["SourceAccount"], ACCOUNT);
    let rule = stack.properties("AccessPathConfigRule");
    assert_eq!(rule["Source"]["Owner"], "CUSTOM_LAMBDA");
    let kinds = &rule["Scope"]["ComplianceResourceTypes"];
    assert_eq!(kinds, &json!(["AWS::EC2::Instance", "AWS::EC2::SecurityGroup"]));
}
