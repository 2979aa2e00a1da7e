//! The config-rule function as its real binary against the emulator: instances, security
//! groups, an instance profile and the preferences document made in moto, Config's
//! invocations played as Config sends them, and what the rule told Config (the PutEvaluations
//! double), filed under `audit/config/` and published as findings read back.

use aws_sdk_ec2::types::{
    HttpTokensState, IamInstanceProfileSpecification, InstanceMetadataOptionsRequest,
};
use aws_sdk_ssm::types::{DocumentFormat, DocumentType};
use serde_json::{json, Value};
use session_audit::keys::{config_verdict, Judged};
use session_audit::session::DEFAULT_DOCUMENT;
use session_audit_aws::Clients;
use session_audit_tests::compliance::inbound;
use session_audit_tests::findings_capture::{captured_findings, route_findings_to_log};
use session_audit_tests::local_aws::LocalAws;
use session_audit_tests::runtime_api::{
    deployed_env, emulator_env, function_binary, LambdaProcess,
};

const BUCKET: &str = "audit-bucket";
const ACCOUNT: &str = "123456789012";

/// A security group with one inbound rule (tcp `port` from `cidr`).
async fn group(c: &Clients, name: &str, port: i32, cidr: &str) -> String {
    let id = c.ec2.create_security_group().group_name(name).description(name).send().await.unwrap();
    let id = id.group_id().unwrap().to_string();
    let rule = inbound(port, cidr);
    c.ec2
        .authorize_security_group_ingress()
        .group_id(&id)
        .ip_permissions(rule)
        .send()
        .await
        .unwrap();
    id
}

async fn instance(c: &Clients, group: &str, imds_v2: bool, profile: Option<&str>) -> String {
    let tokens = if imds_v2 { HttpTokensState::Required } else { HttpTokensState::Optional };
    let run = c
        .ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .min_count(1)
        .max_count(1)
        .security_group_ids(group)
        .metadata_options(InstanceMetadataOptionsRequest::builder().http_tokens(tokens).build())
        .set_iam_instance_profile(
            profile.map(|p| IamInstanceProfileSpecification::builder().name(p).build()),
        )
        .send()
        .await
        .unwrap();
    run.instances()[0].instance_id().unwrap().to_string()
}

fn preferences() -> String {
    json!({"schemaVersion": "1.0", "description": "p", "sessionType": "Standard_Stream",
        "inputs": {"s3BucketName": BUCKET, "s3KeyPrefix": "session-logs", "s3EncryptionEnabled": true,
        "cloudWatchLogGroupName": "/session-audit/sessions", "cloudWatchEncryptionEnabled": true,
        "cloudWatchStreamingEnabled": true, "idleSessionTimeout": "20", "maxSessionDuration": "480",
        "kmsKeyId": "", "runAsEnabled": false, "runAsDefaultUser": "",
        "shellProfile": {"windows": "", "linux": ""}}})
    .to_string()
}

fn invocation(invoking: Value, token: &str) -> Value {
    json!({"invokingEvent": invoking.to_string(), "ruleParameters": "{}", "resultToken": token,
        "eventLeftScope": false, "accountId": ACCOUNT, "configRuleName": "demo-session-manager-access-path",
        "configRuleArn": "arn:aws:config:us-east-1:123456789012:config-rule/config-rule-0abc12",
        "executionRoleArn": "arn:aws:iam::123456789012:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig",
        "version": "1.0"})
}

/// `(resource, compliance, annotation)` of every evaluation the token's requests put.
fn put(aws: &LocalAws, token: &str) -> Vec<(String, String, String)> {
    let requests = aws.evaluations();
    let mine = requests.iter().filter(|r| r["ResultToken"] == token);
    mine.flat_map(|r| r["Evaluations"].as_array().cloned().unwrap_or_default())
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            (text("ComplianceResourceId"), text("ComplianceType"), text("Annotation"))
        })
        .collect()
}

async fn object(c: &Clients, key: &str) -> Value {
    let got = c.s3.get_object().bucket(BUCKET).key(key).send().await.unwrap();
    serde_json::from_slice(&got.body.collect().await.unwrap().into_bytes()).unwrap()
}

#[tokio::test]
async fn each_instance_and_the_preferences_are_judged_and_a_fixed_port_is_seen_on_change() {
    let aws = LocalAws::start();
    aws.registration_online_after(0);
    let c = Clients::with_path_style(&aws.sdk_config().await, true);
    c.s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    let key =
        c.kms.create_key().send().await.unwrap().key_metadata().unwrap().arn().unwrap().to_string();
    let sse = aws_sdk_s3::types::ServerSideEncryptionByDefault::builder()
        .sse_algorithm(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
        .kms_master_key_id(&key)
        .build()
        .unwrap();
    let rule = aws_sdk_s3::types::ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(sse)
        .build();
    let config = aws_sdk_s3::types::ServerSideEncryptionConfiguration::builder()
        .rules(rule)
        .build()
        .unwrap();
    c.s3.put_bucket_encryption()
        .bucket(BUCKET)
        .server_side_encryption_configuration(config)
        .send()
        .await
        .unwrap();
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    c.iam
        .create_role()
        .role_name("web")
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap();
    let core = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore";
    c.iam.attach_role_policy().role_name("web").policy_arn(core).send().await.unwrap();
    c.iam.create_instance_profile().instance_profile_name("web").send().await.unwrap();
    c.iam
        .add_role_to_instance_profile()
        .instance_profile_name("web")
        .role_name("web")
        .send()
        .await
        .unwrap();
    let closed = group(&c, "closed", 443, "10.0.0.0/8").await;
    let open = group(&c, "open", 22, "0.0.0.0/0").await;
    let good = instance(&c, &closed, true, Some("web")).await;
    let bad = instance(&c, &open, false, None).await;
    aws.unmanaged(&bad);
    c.ssm
        .create_document()
        .name(DEFAULT_DOCUMENT)
        .content(preferences())
        .document_type(DocumentType::Session)
        .document_format(DocumentFormat::Json)
        .send()
        .await
        .unwrap();
    route_findings_to_log(&c).await;

    let mut env = emulator_env(&aws);
    env.push(("AUDIT_BUCKET", BUCKET.into()));
    env.push(("TRANSCRIPT_PREFIX", "session-logs/".into()));
    let mut rule = LambdaProcess::start(
        &function_binary("config-rule"),
        &deployed_env(&aws, "ConfigRuleFunction", env, &[]),
    );
    let daily = json!({"messageType": "ScheduledNotification", "awsAccountId": ACCOUNT,
        "notificationCreationTime": "2026-12-06T00:00:00.000Z"});
    let answer: Value = rule.invoke(&invocation(daily.clone(), "daily-1")).expect("evaluated");
    assert_eq!(answer["findings"], 1, "{answer}");
    let verdicts = put(&aws, "daily-1");
    assert_eq!(verdicts.len(), 3, "{verdicts:?}");
    let of = |id: &str| verdicts.iter().find(|v| v.0 == id).cloned().unwrap();
    assert_eq!(of(&good).1, "COMPLIANT", "{:?}", of(&good));
    assert_eq!(of(ACCOUNT).1, "COMPLIANT", "{:?}", of(ACCOUNT));
    let (_, verdict, why) = of(&bad);
    assert_eq!(verdict, "NON_COMPLIANT");
    for words in [
        "not online in Systems Manager",
        "opens SSH (22) to 0.0.0.0/0",
        "IMDSv1 allowed",
        "no instance profile",
    ] {
        assert!(why.contains(words), "{words}: {why}");
    }
    let request = &aws.evaluations()[0];
    assert!(request["Evaluations"][0]["OrderingTimestamp"].is_number(), "{request}");
    let filed = object(&c, &config_verdict(Judged::Instance, &bad).unwrap()).await;
    assert_eq!(filed["compliance"], "NON_COMPLIANT");
    let account = config_verdict(Judged::Account, &format!("{ACCOUNT}.us-east-1")).unwrap();
    let filed = object(&c, &account).await;
    assert_eq!(filed["compliance"], "COMPLIANT");
    let findings = captured_findings(&aws).await;
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["rule_id"], "SA-CFG-INSTANCE");
    assert_eq!(findings[0]["target"], bad.as_str());

    // The same day again: nothing changed, nothing filed or published twice.
    let again: Value = rule.invoke(&invocation(daily, "daily-2")).expect("evaluated");
    assert_eq!((again["findings"].as_u64(), again["unchanged"].as_u64()), (Some(0), Some(3)));

    // SSH closed: Config reports the group's change; the instance is judged again, still
    // non-compliant for the rest, and its finding says so in the new words.
    let ssh = inbound(22, "0.0.0.0/0");
    c.ec2.revoke_security_group_ingress().group_id(&open).ip_permissions(ssh).send().await.unwrap();
    let change = json!({"messageType": "ConfigurationItemChangeNotification", "configurationItem": {
        "resourceType": "AWS::EC2::SecurityGroup", "resourceId": open, "awsAccountId": ACCOUNT,
        "configurationItemStatus": "OK", "configurationItemCaptureTime": "2026-12-06T09:30:00.000Z"}});
    let changed: Value = rule.invoke(&invocation(change, "change-1")).expect("evaluated");
    assert_eq!(changed["findings"], 1, "{changed}");
    let verdicts = put(&aws, "change-1");
    let (_, verdict, why) = verdicts.iter().find(|v| v.0 == bad).cloned().unwrap();
    assert_eq!(verdict, "NON_COMPLIANT");
    assert!(!why.contains("SSH") && why.contains("IMDSv1"), "{why}");
    assert!(verdicts.iter().any(|v| v.0 == open && v.1 == "NOT_APPLICABLE"), "{verdicts:?}");

    // A malformed invocation is refused in words, and nothing is put.
    let before = aws.evaluations().len();
    let refused =
        rule.invoke(&json!({"invokingEvent": "{}", "resultToken": "x", "accountId": ACCOUNT}));
    let e = refused.expect_err("refused");
    assert_eq!(e["errorType"], "MalformedEvent", "{e}");
    assert!(e["errorMessage"].as_str().unwrap().contains("messageType"), "{e}");
    assert_eq!(aws.evaluations().len(), before);
}
