//! The session-start audit against the local emulator: records in S3, lookups in EC2 and SSM,
//! findings published to EventBridge and captured by a rule whose target is a log group (the
//! emulator cannot deliver to Lambda targets), and the real binary through the Runtime API.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_ssm::types::{DocumentFormat, DocumentType};
use serde_json::{json, Value};
use session_audit::keys;
use session_audit::publish::Metrics;
use session_audit::redact::Redactor;
use session_audit::rules::RulePack;
use session_audit::session::{DeniedRecord, SessionRecord, DEFAULT_DOCUMENT};
use session_audit::session_start::{Outcome, StartError};
use session_audit::settings::RedactionKeySource;
use session_audit::settings::StartSettings;
use session_audit_aws::session_start::{session_start, AwsSessionStart as SessionStart};
use session_audit_aws::Clients;
use session_audit_tests::findings_capture::{captured_findings, route_findings_to_log};
use session_audit_tests::local_aws::LocalAws;
use session_audit_tests::runtime_api::{
    deployed_env, emulator_env, function_binary, LambdaProcess,
};

const BUCKET: &str = "audit-bucket";
const BUSINESS_HOURS: &str = "Mon-Fri 08:00-18:00 Europe/Berlin";

struct Env {
    aws: LocalAws,
    config: aws_config::SdkConfig,
    clients: Clients,
    tagged: String,
    untagged: String,
}

fn public(name: &str) -> Value {
    let text = std::fs::read_to_string(session_audit_tests::fixture(&format!("public/{name}")))
        .expect("fixture");
    serde_json::from_str(&text).expect("fixture json")
}

fn preferences(bucket: &str, encrypted: bool) -> String {
    json!({"schemaVersion": "1.0", "description": "preferences", "sessionType": "Standard_Stream",
        "inputs": {"s3BucketName": bucket, "s3KeyPrefix": "session-logs", "s3EncryptionEnabled": encrypted,
            "cloudWatchLogGroupName": "", "cloudWatchEncryptionEnabled": true}})
    .to_string()
}

impl Env {
    /// Make `content` the default version of the preferences document.
    async fn set_preferences(&self, content: String) {
        let ssm = &self.clients.ssm;
        let update = ssm.update_document().name(DEFAULT_DOCUMENT).content(content);
        update.document_version("$LATEST").send().await.unwrap();
        let version = ssm.describe_document().name(DEFAULT_DOCUMENT).send().await.unwrap();
        let latest = version.document().unwrap().latest_version().unwrap().to_string();
        let default = ssm.update_document_default_version().name(DEFAULT_DOCUMENT);
        default.document_version(latest).send().await.unwrap();
    }

    async fn start() -> Env {
        let aws = LocalAws::start();
        let config = aws.sdk_config().await;
        let clients = Clients::with_path_style(&config, true);
        clients.s3.create_bucket().bucket(BUCKET).send().await.expect("bucket");
        let mut ids = Vec::new();
        for tags in
            [vec![("Purpose", "SessionManagerTesting"), ("Name", "web")], vec![("Name", "db")]]
        {
            let spec = aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(aws_sdk_ec2::types::ResourceType::Instance)
                .set_tags(Some(
                    tags.iter()
                        .map(|(k, v)| aws_sdk_ec2::types::Tag::builder().key(*k).value(*v).build())
                        .collect(),
                ))
                .build();
            let out = clients
                .ec2
                .run_instances()
                .image_id("ami-12c6146b")
                .min_count(1)
                .max_count(1)
                .tag_specifications(spec)
                .send()
                .await
                .expect("instance");
            ids.push(out.instances()[0].instance_id().unwrap().to_string());
        }
        let documents = [
            (DEFAULT_DOCUMENT, preferences(BUCKET, true)),
            ("Acme-Tunnel", json!({"schemaVersion": "1.0", "description": "t", "sessionType": "Port", "properties": {"portNumber": "5432"}}).to_string()),
            ("Acme-Shell", json!({"schemaVersion": "1.0", "description": "s", "sessionType": "Standard_Stream", "inputs": {}}).to_string()),
        ];
        for (name, content) in documents {
            clients
                .ssm
                .create_document()
                .name(name)
                .content(content)
                .document_type(DocumentType::Session)
                .document_format(DocumentFormat::Json)
                .send()
                .await
                .expect("document");
        }
        route_findings_to_log(&clients).await;
        let (tagged, untagged) = (ids[0].clone(), ids[1].clone());
        Env { aws, config, clients, tagged, untagged }
    }

    fn audit(&self, extra: &[(&str, &str)]) -> SessionStart {
        let mut vars: HashMap<&str, &str> = HashMap::from([
            ("AUDIT_BUCKET", BUCKET),
            ("BUSINESS_HOURS", BUSINESS_HOURS),
            ("AWS_REGION", "us-east-1"),
        ]);
        vars.extend(extra.iter().copied());
        let get = |k: &str| vars.get(k).map(|v| v.to_string());
        let environment: Vec<(&str, String)> =
            vars.iter().map(|(k, v)| (*k, v.to_string())).collect();
        session_start(
            &self.aws.clients_as(&self.config, "SessionStartFunction", &environment, &[]),
            StartSettings::read(get).expect("settings"),
            RulePack::builtin(),
            Redactor::new(Some(b"test-key")),
        )
    }

    /// A StartSession on the tagged instance, on a Tuesday at 10:00 in Berlin, with MFA: clean.
    fn start_event(&self, n: u32, edit: impl FnOnce(&mut Value)) -> Value {
        let mut v = public("eventbridge_cloudtrail_StartSession_AssumedRole_console.json");
        let d = &mut v["detail"];
        d["eventID"] = format!("00000000-0000-4000-8000-{n:012}").into();
        d["eventTime"] = "2026-11-24T09:00:00Z".into();
        d["awsRegion"] = "us-east-1".into();
        d["requestParameters"]["target"] = self.tagged.clone().into();
        d["responseElements"]["sessionId"] = format!("alice-{n:017x}").into();
        d["userIdentity"]["sessionContext"]["attributes"]["mfaAuthenticated"] = "true".into();
        edit(&mut v);
        v
    }

    async fn object(&self, key: &str) -> Option<(Value, String)> {
        let out = self.clients.s3.get_object().bucket(BUCKET).key(key).send().await.ok()?;
        let etag = out.e_tag().unwrap_or_default().to_string();
        let bytes = out.body.collect().await.ok()?.into_bytes();
        Some((serde_json::from_slice(&bytes).expect("stored JSON"), etag))
    }

    async fn record(&self, key: &str) -> SessionRecord {
        let (v, _) = self.object(key).await.unwrap_or_else(|| panic!("no object at {key}"));
        serde_json::from_value(v).expect("session record")
    }

    async fn keys(&self, prefix: &str) -> Vec<String> {
        let out =
            self.clients.s3.list_objects_v2().bucket(BUCKET).prefix(prefix).send().await.unwrap();
        out.contents().iter().filter_map(|o| o.key().map(str::to_string)).collect()
    }

    async fn published(&self) -> Vec<Value> {
        captured_findings(&self.aws).await
    }
}

fn session_key(event: &Value) -> String {
    let (account, r) = session_audit::session::records(event).into_iter().next().unwrap();
    let event = session_audit::session::Event::parse(r, account).unwrap();
    SessionRecord::start(&event).unwrap().key().unwrap()
}

async fn run(audit: &SessionStart, event: &Value) -> Result<Vec<Outcome>, StartError> {
    let mut metrics = Metrics::default();
    audit.handle(event, &mut metrics).await.map(|v| v.into_iter().map(|a| a.outcome).collect())
}

fn rule_ids(record: &SessionRecord) -> Vec<&str> {
    record.findings.iter().map(|f| f.rule_id.as_str()).collect()
}

#[tokio::test]
async fn every_public_sample_is_recorded_or_ignored() {
    let env = Env::start().await;
    let audit = env.audit(&[]);
    let cases = [
        (
            "eventbridge_cloudtrail_StartSession_AssumedRole_console.json",
            Some("audit/sessions/dt=2021-01-31/acct=123456789012/region=us-east-1/jojithom-I-08ea7d78b1fd0d119.json"),
        ),
        (
            "cloudtrail_StartSession_IAMUser_cli_customdoc.json",
            Some("audit/sessions/dt=2020-05-18/"),
        ),
        (
            "cloudtrail_StartSession_SSO_AssumedRole_panther_normalized_2025.json",
            Some("audit/sessions/dt=2025-02-19/acct=111122223333/region=us-west-2/bobson.dugnutt-4njnyxxl8yn676nsla8j6l4bra.json"),
        ),
        ("cloudtrail_record_SSO_AssumedRole_lambda-events_fixture.json", None),
    ];
    for (name, key) in cases {
        let outcomes = run(&audit, &public(name)).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        match key {
            Some(prefix) => {
                let Outcome::Recorded { key } = &outcomes[0] else {
                    panic!("{name}: {outcomes:?}")
                };
                assert!(key.starts_with(prefix), "{name}: {key}");
                let record = env.record(key).await;
                assert!(record.identity.arn.is_some(), "{name}: identity kept");
                // None of these instances exists here; the lookup failure is a warning, not a
                // guess that the instance is untagged.
                assert!(!record.warnings.is_empty(), "{name}: warning for the unreadable target");
                assert!(!rule_ids(&record).contains(&"SA-SES-TARGET-UNTAGGED"), "{name}");
            }
            None => {
                assert!(matches!(outcomes[0], Outcome::NotAudited { .. }), "{name}: {outcomes:?}")
            }
        }
    }
    let sso = env
        .record("audit/sessions/dt=2025-02-19/acct=111122223333/region=us-west-2/bobson.dugnutt-4njnyxxl8yn676nsla8j6l4bra.json")
        .await;
    assert_eq!(sso.started_at, "2025-02-19T20:13:49Z", "an export's time format normalised");
    assert!(rule_ids(&sso).contains(&"SA-SES-NO-MFA"), "{:?}", rule_ids(&sso));
    assert!(sso.warnings.iter().any(|w| w.contains("us-west-2")), "other region: lookups skipped");
    let user = env.keys("audit/sessions/dt=2020-05-18/").await;
    let user = env.record(&user[0]).await;
    assert_eq!(user.document, "SSM-sudo");
    assert_eq!(user.identity.principal, "garland.kan.temp");
}

#[tokio::test]
async fn a_clean_session_is_recorded_with_everything_known_and_no_findings() {
    let env = Env::start().await;
    let audit = env.audit(&[]);
    let event = env.start_event(1, |v| {
        v["detail"]["requestParameters"]["reason"] = "deploy hotfix; password=hunter2".into()
    });
    let outcomes = run(&audit, &event).await.unwrap();
    assert_eq!(outcomes, vec![Outcome::Recorded { key: session_key(&event) }]);
    let r = env.record(&session_key(&event)).await;
    assert!(r.findings.is_empty(), "{:?}", rule_ids(&r));
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!(r.target.as_deref(), Some(env.tagged.as_str()));
    assert_eq!(r.document, DEFAULT_DOCUMENT);
    assert_eq!(r.session_type.as_deref(), Some("Standard_Stream"));
    assert_eq!(r.account.as_deref(), Some("123456789012"));
    assert_eq!(r.identity.mfa, Some(true));
    let reason = r.reason.unwrap();
    assert!(
        reason.starts_with("deploy hotfix") && !reason.contains("hunter2"),
        "redacted: {reason}"
    );
    assert!(env.published().await.is_empty());
}

#[tokio::test]
async fn each_finding_is_recorded_and_published_and_absent_when_its_trigger_is() {
    let env = Env::start().await;
    let audit = env.audit(&[(
        "ALLOWED_PRINCIPALS",
        "arn:aws:sts::123456789012:assumed-role/Admin/*,arn:aws:iam::123456789012:root",
    )]);
    let untagged = env.untagged.clone();
    let tagged = env.tagged.clone();
    let identity = |arn: &str| {
        json!({"type": "AssumedRole", "arn": arn, "accountId": "123456789012", "principalId": "AROA:x",
            "sessionContext": {"attributes": {"mfaAuthenticated": "true"}, "sessionIssuer": {"type": "Role", "userName": "Admin"}}})
    };
    type Edit = Box<dyn FnOnce(&mut Value)>;
    let cases: Vec<(&str, Edit)> = vec![
        (
            "SA-SES-NO-MFA",
            Box::new(|v| {
                v["detail"]["userIdentity"]["sessionContext"]["attributes"]["mfaAuthenticated"] =
                    "false".into()
            }),
        ),
        (
            "SA-SES-OFF-HOURS",
            Box::new(|v| v["detail"]["eventTime"] = "2026-11-28T22:30:00Z".into()),
        ),
        (
            "SA-SES-TARGET-UNTAGGED",
            Box::new(move |v| v["detail"]["requestParameters"]["target"] = untagged.into()),
        ),
        (
            "SA-SES-UNLOGGED-DOCUMENT",
            Box::new(|v| {
                v["detail"]["requestParameters"]["documentName"] =
                    "AWS-StartPortForwardingSession".into()
            }),
        ),
        (
            "SA-SES-UNLOGGED-DOCUMENT",
            Box::new(|v| v["detail"]["requestParameters"]["documentName"] = "Acme-Tunnel".into()),
        ),
        (
            "SA-SES-ROOT",
            Box::new(
                |v| v["detail"]["userIdentity"] = json!({"type": "Root", "arn": "arn:aws:iam::123456789012:root", "accountId": "123456789012", "sessionContext": {"attributes": {"mfaAuthenticated": "true"}}}),
            ),
        ),
        (
            "SA-SES-INSTANCE-TO-INSTANCE",
            Box::new(move |v| {
                v["detail"]["userIdentity"] =
                    identity("arn:aws:sts::123456789012:assumed-role/Admin/i-0abc1234def567890")
            }),
        ),
        (
            "SA-SES-PRINCIPAL-NOT-ALLOWED",
            Box::new(|v| {
                v["detail"]["userIdentity"]["arn"] =
                    "arn:aws:sts::123456789012:assumed-role/Dev/mallory".into()
            }),
        ),
    ];
    let mut expected_events = 0;
    for (n, (rule, edit)) in cases.into_iter().enumerate() {
        let event = env.start_event(100 + n as u32, edit);
        run(&audit, &event).await.unwrap_or_else(|e| panic!("{rule}: {e}"));
        let r = env.record(&session_key(&event)).await;
        assert_eq!(rule_ids(&r), vec![rule], "{rule}: exactly its own finding");
        assert!(r.findings_sent, "{rule}: published");
        expected_events += 1;
    }
    // Absent: a custom document that does produce a transcript.
    let shell = env.start_event(200, |v| {
        v["detail"]["requestParameters"]["documentName"] = "Acme-Shell".into()
    });
    run(&audit, &shell).await.unwrap();
    let shell = env.record(&session_key(&shell)).await;
    assert!(shell.findings.is_empty());
    assert_eq!(shell.session_type.as_deref(), Some("Standard_Stream"), "read from SSM");
    let _ = tagged;

    // A denied attempt: its own record, keyed by event ID, and its finding.
    let mut denied = env.start_event(300, |_| {});
    denied["detail"]["errorCode"] = "AccessDenied".into();
    denied["detail"]["errorMessage"] = "User is not authorized to perform: ssm:StartSession".into();
    denied["detail"].as_object_mut().unwrap().remove("responseElements");
    let outcomes = run(&audit, &denied).await.unwrap();
    let key = "audit/denied/dt=2026-11-24/00000000-0000-4000-8000-000000000300.json";
    assert_eq!(outcomes, vec![Outcome::Recorded { key: key.into() }]);
    let (d, _) = env.object(key).await.unwrap();
    let d: DeniedRecord = serde_json::from_value(d).unwrap();
    assert_eq!(d.error_code, "AccessDenied");
    assert_eq!(d.findings[0].rule_id, "SA-SES-DENIED");
    expected_events += 1;
    assert!(env
        .keys("audit/sessions/dt=2026-11-24/")
        .await
        .iter()
        .all(|k| !k.contains("000000000300")));

    let published = env.published().await;
    assert_eq!(published.len(), expected_events);
    let denied_event = published.iter().find(|e| e["rule_id"] == "SA-SES-DENIED").unwrap();
    assert_eq!(denied_event["finding_id"], "00000000-0000-4000-8000-000000000300:SA-SES-DENIED");
    assert_eq!(denied_event["record"], format!("s3://{BUCKET}/{key}"));
    assert!(denied_event["frameworks"].as_array().is_some_and(|f| !f.is_empty()));
}

#[tokio::test]
async fn preferences_drift_is_found_and_the_answer_is_cached_briefly() {
    let env = Env::start().await;
    let cached = env.audit(&[]);
    run(&cached, &env.start_event(1, |_| {})).await.unwrap();
    run(&cached, &env.start_event(2, |_| {})).await.unwrap();
    let reads = env.aws.operations().iter().filter(|o| *o == "GetDocument").count();
    assert_eq!(reads, 1, "the second session reused the preferences answer");

    env.set_preferences(preferences(BUCKET, false)).await;
    let fresh = env.audit(&[("LOOKUP_CACHE_SECONDS", "0")]);
    let event = env.start_event(3, |_| {});
    run(&fresh, &event).await.unwrap();
    let r = env.record(&session_key(&event)).await;
    assert_eq!(rule_ids(&r), vec!["SA-SES-PREFERENCES-DRIFT"]);
    assert!(r.findings[0].evidence.contains("s3EncryptionEnabled"), "{}", r.findings[0].evidence);

    // Settings that blind every transcript, and a prefix the report function does not read.
    let mut blinding: Value = serde_json::from_str(&preferences(BUCKET, true)).unwrap();
    blinding["inputs"]["shellProfile"] = json!({"linux": "stty -echo", "windows": ""});
    env.set_preferences(blinding.to_string()).await;
    let elsewhere = env.audit(&[("LOOKUP_CACHE_SECONDS", "0"), ("TRANSCRIPT_PREFIX", "audited/")]);
    let event = env.start_event(4, |_| {});
    run(&elsewhere, &event).await.unwrap();
    let r = env.record(&session_key(&event)).await;
    assert_eq!(rule_ids(&r), vec!["SA-SES-PREFERENCES-DRIFT"]);
    let evidence = &r.findings[0].evidence;
    assert!(
        evidence.contains("shellProfile.linux") && evidence.contains("'audited/'"),
        "{evidence}"
    );
}

#[tokio::test]
async fn duplicates_change_nothing_and_publish_once() {
    let env = Env::start().await;
    let audit = env.audit(&[]);
    let event = env.start_event(1, |v| {
        v["detail"]["userIdentity"]["sessionContext"]["attributes"]["mfaAuthenticated"] =
            "false".into()
    });
    run(&audit, &event).await.unwrap();
    let (_, etag) = env.object(&session_key(&event)).await.unwrap();
    let again = run(&audit, &event).await.unwrap();
    assert_eq!(again, vec![Outcome::Duplicate { key: session_key(&event) }]);
    let (_, etag_after) = env.object(&session_key(&event)).await.unwrap();
    assert_eq!(etag, etag_after, "the record was not rewritten");
    assert_eq!(env.published().await.len(), 1);
}

#[tokio::test]
async fn resume_and_terminate_update_the_record_and_orphans_are_completed() {
    let env = Env::start().await;
    let audit = env.audit(&[]);
    let start = env.start_event(1, |v| v["detail"]["eventTime"] = "2026-11-24T22:50:00Z".into());
    let session_id = start["detail"]["responseElements"]["sessionId"].clone();
    let call = |name: &str, n: u32, time: &str| {
        let mut v = start.clone();
        let d = &mut v["detail"];
        d["eventName"] = name.into();
        d["eventID"] = format!("00000000-0000-4000-9000-{n:012}").into();
        d["eventTime"] = time.into();
        d["requestParameters"] = json!({"sessionId": session_id});
        d["responseElements"] = json!({"sessionId": session_id});
        v
    };
    run(&audit, &start).await.unwrap();
    // After midnight: the record filed under the start date is found and updated there.
    run(&audit, &call("ResumeSession", 2, "2026-11-24T23:30:00Z")).await.unwrap();
    run(&audit, &call("TerminateSession", 3, "2026-11-25T00:10:00Z")).await.unwrap();
    let r = env.record(&session_key(&start)).await;
    assert_eq!(r.events.len(), 3);
    assert_eq!(r.terminated_at.as_deref(), Some("2026-11-25T00:10:00Z"));
    assert_eq!(r.started_at, "2026-11-24T22:50:00Z");
    assert!(env.keys("audit/sessions/dt=2026-11-25/").await.is_empty());

    // A terminate delivered before its start (the start from the previous evening).
    let late = env.start_event(4, |v| v["detail"]["eventTime"] = "2026-11-24T23:55:00Z".into());
    let late_id = late["detail"]["responseElements"]["sessionId"].clone();
    let mut early_terminate = call("TerminateSession", 5, "2026-11-25T00:20:00Z");
    early_terminate["detail"]["requestParameters"] = json!({"sessionId": late_id});
    early_terminate["detail"]["responseElements"] = json!({"sessionId": late_id});
    run(&audit, &early_terminate).await.unwrap();
    let orphan_key = keys::session_record(
        "2026-11-25",
        &session_audit_tests::local_session(late_id.as_str().unwrap()),
    )
    .unwrap();
    assert!(!env.record(&orphan_key).await.has_start());
    run(&audit, &late).await.unwrap();
    let full = env.record(&session_key(&late)).await;
    assert!(full.has_start() && full.warnings.is_empty(), "{:?}", full.warnings);
    assert_eq!(full.terminated_at.as_deref(), Some("2026-11-25T00:20:00Z"));
    assert!(env.object(&orphan_key).await.is_none(), "the orphan moved into the start's record");
}

#[tokio::test]
async fn failed_lookups_keep_the_record_with_a_warning() {
    let env = Env::start().await;
    let audit = env.audit(&[]);
    env.aws.fail_on("DescribeInstances");
    let event = env.start_event(1, |v| {
        v["detail"]["requestParameters"]["target"] = "i-0ffffffffffffffff".into()
    });
    run(&audit, &event).await.unwrap();
    let r = env.record(&session_key(&event)).await;
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("ec2:DescribeInstances") && w.contains("InjectedFailure")),
        "{:?}",
        r.warnings
    );
    assert!(r.findings.is_empty(), "unknown tags raise nothing: {:?}", rule_ids(&r));

    env.aws.fail_on("GetDocument");
    let custom = env
        .start_event(2, |v| v["detail"]["requestParameters"]["documentName"] = "Acme-Shell".into());
    run(&env.audit(&[]), &custom).await.unwrap();
    let r = env.record(&session_key(&custom)).await;
    assert_eq!(r.warnings.len(), 2, "document type and preferences unknown: {:?}", r.warnings);
}

#[tokio::test]
async fn a_failed_publish_fails_the_invocation_and_the_redelivery_publishes() {
    let env = Env::start().await;
    let audit = env.audit(&[]);
    let event = env.start_event(1, |v| {
        v["detail"]["userIdentity"]["sessionContext"]["attributes"]["mfaAuthenticated"] =
            "false".into()
    });
    env.aws.fail_on("PutEvents");
    let err = run(&audit, &event).await.unwrap_err();
    assert!(matches!(&err, StartError::Sink { .. }), "{err}");
    let r = env.record(&session_key(&event)).await;
    assert_eq!(rule_ids(&r), vec!["SA-SES-NO-MFA"], "the record was written first");
    assert!(!r.findings_sent);
    env.aws.heal();
    assert_eq!(
        run(&audit, &event).await.unwrap(),
        vec![Outcome::Duplicate { key: session_key(&event) }]
    );
    assert!(env.record(&session_key(&event)).await.findings_sent);
    assert_eq!(env.published().await.len(), 1);
    run(&audit, &event).await.unwrap();
    assert_eq!(env.published().await.len(), 1, "published once after success");
}

#[tokio::test]
async fn storage_failures_and_garbage_are_errors_and_other_calls_are_ignored() {
    let env = Env::start().await;
    let audit = env.audit(&[]);
    env.aws.fail_on("PutObject");
    let err = run(&audit, &env.start_event(1, |_| {})).await.unwrap_err();
    assert!(matches!(err, StartError::Store { .. }), "{err}");
    assert!(
        err.to_string().contains("PutObject failed for s3://")
            && err.to_string().contains("00000000-0000-4000-8000-000000000001"),
        "{err}"
    );
    env.aws.heal();

    for garbage in [
        json!({"detail": {"eventSource": "ssm.amazonaws.com"}}),
        json!([1, 2]),
        json!({"detail": {"eventID": "x", "eventSource": "ssm.amazonaws.com", "eventName": "StartSession", "eventTime": "soon"}}),
    ] {
        let err = run(&audit, &garbage).await.unwrap_err();
        assert!(matches!(err, StartError::Malformed { .. }), "{garbage}: {err}");
    }
    let no_session = env.start_event(2, |v| {
        v["detail"].as_object_mut().unwrap().remove("responseElements");
    });
    assert!(matches!(run(&audit, &no_session).await.unwrap_err(), StartError::Malformed { .. }));

    let mut describe = env.start_event(3, |_| {});
    describe["detail"]["eventName"] = "DescribeSessions".into();
    assert!(matches!(run(&audit, &describe).await.unwrap()[0], Outcome::NotAudited { .. }));
    assert!(env.keys("audit/").await.is_empty(), "nothing written for any of these");
}

#[tokio::test]
async fn the_real_binary_runs_through_the_lambda_runtime_api() {
    let env = Env::start().await;
    let binary = function_binary("session-start");
    let mut base = emulator_env(&env.aws);
    base.push(("BUSINESS_HOURS", BUSINESS_HOURS.to_string()));
    // Without its required configuration the function fails its cold start, naming the variable.
    let mut broken = LambdaProcess::start(&binary, &base);
    let status = broken.exit_status(Duration::from_secs(30)).expect("the cold start fails");
    assert!(!status.success());
    let said = broken.output().join("\n");
    assert!(said.contains("AUDIT_BUCKET: required (the log bucket)"), "{said}");
    drop(broken);

    let mut vars = base.clone();
    vars.push(("AUDIT_BUCKET", BUCKET.to_string()));
    let mut function = LambdaProcess::start(
        &binary,
        &deployed_env(&env.aws, "SessionStartFunction", vars.clone(), &[]),
    );
    let event = env.start_event(1, |v| v["detail"]["eventTime"] = "2026-11-28T23:00:00Z".into());
    let answer = function.invoke(&event).expect("handled");
    assert_eq!(answer["audited"][0]["findings"], json!(["SA-SES-OFF-HOURS"]), "{answer}");
    let r = env.record(&session_key(&event)).await;
    assert_eq!(rule_ids(&r), vec!["SA-SES-OFF-HOURS"]);
    assert_eq!(env.published().await.len(), 1);

    let error =
        function.invoke(&json!({"detail": {"eventSource": "ssm.amazonaws.com"}})).unwrap_err();
    assert_eq!(error["errorType"], "MalformedEvent", "{error}");
    assert!(error["errorMessage"].as_str().unwrap().contains("malformed event"), "{error}");

    let lines = function.settled_output();
    let json_lines: Vec<Value> =
        lines.iter().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let emf: Vec<&Value> = json_lines.iter().filter(|v| v.get("_aws").is_some()).collect();
    assert_eq!(emf.len(), 2, "one EMF line per invocation: {lines:#?}");
    assert_eq!(emf[0]["SessionsStarted"], 1.0);
    assert_eq!(
        emf[0]["FindingsLow"].as_f64().unwrap() + emf[0]["FindingsMedium"].as_f64().unwrap(),
        1.0
    );
    let logs: Vec<&Value> = json_lines.iter().filter(|v| v.get("_aws").is_none()).collect();
    assert!(
        logs.iter().any(|l| l["fields"]["message"] == "audited"),
        "structured logs: {lines:#?}"
    );
    assert!(
        logs.iter().any(|l| l["level"] == "ERROR" && l.to_string().contains("malformed")),
        "{lines:#?}"
    );
    assert_eq!(json_lines.len(), lines.len(), "every line is JSON: {lines:#?}");

    // Forged inputs: the record without its EventBridge envelope, and an envelope whose
    // eventID is not CloudTrail's (a UUID), are refused; nothing is written for them.
    let before = env.keys("audit/").await;
    let mut bare = env.start_event(2, |_| {})["detail"].clone();
    bare["responseElements"]["sessionId"] = "bare-0a1b2c3d4e5f60718".into();
    let made_up = env.start_event(3, |v| v["detail"]["eventID"] = "t-1".into());
    for forged in [bare, made_up] {
        let error = function.invoke(&forged).unwrap_err();
        assert_eq!(error["errorType"], "MalformedEvent", "{error}");
    }
    assert_eq!(env.keys("audit/").await, before, "nothing written for forged inputs");
}

#[tokio::test]
async fn the_user_rule_pack_and_the_redaction_key_are_loaded_from_where_they_are_configured() {
    use session_audit_aws::settings;
    let env = Env::start().await;
    let pack = "disable = [\"SA-SES-NO-MFA\"]\n[[rule]]\nid = \"SA-SES-OFF-HOURS\"\ntitle = \"Night access\"\nseverity = \"high\"\non = \"session\"\ncondition = \"off_hours\"\n";
    // The pack lives in a versioned bucket of its own and is read at the version deployed: a
    // later object at the same key (here one that switches the off-hours rule off) is not read.
    let admin = "rules-admin";
    env.clients.s3.create_bucket().bucket(admin).send().await.unwrap();
    let on = aws_sdk_s3::types::VersioningConfiguration::builder()
        .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
        .build();
    let versioning = env.clients.s3.put_bucket_versioning().bucket(admin);
    versioning.versioning_configuration(on).send().await.unwrap();
    let mut versions = Vec::new();
    for body in [pack, "disable = [\"SA-SES-NO-MFA\", \"SA-SES-OFF-HOURS\"]\n"] {
        let put = env.clients.s3.put_object().bucket(admin).key("config/rules.toml");
        let put = put.body(body.as_bytes().to_vec().into()).send().await.unwrap();
        versions.push(put.version_id().unwrap().to_string());
    }
    let pinned = format!("s3://{admin}/config/rules.toml?versionId={}", versions[0]);
    // Loaded as the function deployed with both settings (the key under a customer key), so the
    // least-privilege proof checks the conditional grants; the failures below are the
    // harness's (under that policy other keys would be AccessDenied, not missing).
    let redaction_key = env.clients.kms.create_key().send().await.unwrap();
    let redaction_key = redaction_key.key_metadata().unwrap().arn().unwrap().to_string();
    let function = env.aws.clients_as(
        &env.config,
        "SessionStartFunction",
        &[
            ("RULES_URI", pinned.clone()),
            ("REDACTION_KEY_PARAMETER", "/session-audit/redaction-key".into()),
        ],
        &[("RedactionKeyKmsKeyArn", &redaction_key)],
    );
    let rules = settings::rule_pack(&function, Some(&pinned)).await.unwrap();
    assert!(rules.get("SA-SES-NO-MFA").is_none(), "disabled by the user pack");
    assert_eq!(
        rules.get("SA-SES-OFF-HOURS").unwrap().severity,
        session_audit::Severity::High,
        "the pinned version, not the newer object"
    );
    let gone =
        format!("s3://{admin}/config/rules.toml?versionId=3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY");
    let gone = settings::rule_pack(&env.clients, Some(&gone)).await.unwrap_err();
    assert!(gone.starts_with("RULES_URI"), "{gone}");
    assert!(settings::rule_pack(&env.clients, Some("s3://b/k?versionId=")).await.is_err());
    let missing = settings::rule_pack(&env.clients, Some(&format!("s3://{BUCKET}/nope.toml")))
        .await
        .unwrap_err();
    assert!(missing.starts_with("RULES_URI") && missing.contains("NoSuchKey"), "{missing}");
    assert!(settings::rule_pack(&env.clients, Some("s3://just-a-bucket"))
        .await
        .unwrap_err()
        .contains("s3://bucket/key"));
    assert_eq!(
        settings::rule_pack(&env.clients, None).await.unwrap().rules().len(),
        RulePack::builtin().rules().len()
    );

    env.clients
        .ssm
        .put_parameter()
        .name("/session-audit/redaction-key")
        .value("k3y")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .key_id(&redaction_key)
        .send()
        .await
        .unwrap();
    let parameter = RedactionKeySource::Parameter("/session-audit/redaction-key".into());
    let keyed = settings::redactor(&function, &parameter).await.unwrap();
    assert!(!keyed.uses_default_key());
    assert_eq!(keyed.token("password", "x"), Redactor::new(Some(b"k3y")).token("password", "x"));
    let absent = RedactionKeySource::Parameter("/nope".into());
    let absent = settings::redactor(&env.clients, &absent).await.unwrap_err();
    assert!(
        absent.contains("REDACTION_KEY_PARAMETER") && absent.contains("ParameterNotFound"),
        "{absent}"
    );
    let builtin = settings::redactor(&env.clients, &RedactionKeySource::BuiltIn).await.unwrap();
    assert!(builtin.uses_default_key());

    // Deployed without a parameter, the stack generates a secret and the function reads it
    // (its only Secrets Manager grant, checked by the least-privilege proof).
    let secret = env.clients.secrets.create_secret().name("sa-redaction-key");
    let secret = secret.secret_string("g3nerated").send().await.unwrap();
    let arn = secret.arn().unwrap().to_string();
    // Each of the three redacting functions, as deployed, reads it at cold start.
    for name in ["SessionStartFunction", "SessionReportFunction", "SessionStreamFunction"] {
        let function =
            env.aws.clients_as(&env.config, name, &[("REDACTION_KEY_SECRET", arn.clone())], &[]);
        let source = RedactionKeySource::Secret(arn.clone());
        let generated = settings::redactor(&function, &source).await.unwrap();
        assert!(!generated.uses_default_key(), "{name}");
        assert_eq!(generated.token("p", "x"), Redactor::new(Some(b"g3nerated")).token("p", "x"));
    }
}

#[tokio::test]
async fn every_identity_kind_is_recorded_as_normalised() {
    use session_audit::session::IdentityKind;
    let env = Env::start().await;
    let audit = env.audit(&[]);
    let attrs =
        json!({"attributes": {"mfaAuthenticated": "true", "creationDate": "2026-11-24T08:55:00Z"}});
    let cases = [
        (
            json!({"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/alice", "accountId": "123456789012", "userName": "alice", "sessionContext": attrs}),
            IdentityKind::IamUser,
            "alice",
            None,
        ),
        (
            json!({"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/Ops/bob", "accountId": "123456789012", "sessionContext": {"attributes": attrs["attributes"], "sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::123456789012:role/Ops", "userName": "Ops"}}}),
            IdentityKind::AssumedRole,
            "Ops/bob",
            None,
        ),
        (
            json!({"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/jane@example.com", "accountId": "123456789012", "sessionContext": {"attributes": attrs["attributes"], "sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef", "userName": "AWSReservedSSO_Admin_0123456789abcdef"}}}),
            IdentityKind::IdentityCenter,
            "jane@example.com",
            Some("jane@example.com"),
        ),
        (
            json!({"type": "FederatedUser", "arn": "arn:aws:sts::123456789012:federated-user/carol", "accountId": "123456789012", "sessionContext": attrs}),
            IdentityKind::FederatedUser,
            "carol",
            None,
        ),
        (
            json!({"type": "Root", "arn": "arn:aws:iam::123456789012:root", "accountId": "123456789012", "sessionContext": attrs}),
            IdentityKind::Root,
            "root",
            None,
        ),
        (
            json!({"type": "AWSService", "invokedBy": "ssm.amazonaws.com"}),
            IdentityKind::AwsService,
            "ssm.amazonaws.com",
            None,
        ),
    ];
    for (n, (user, kind, principal, person)) in cases.into_iter().enumerate() {
        let event = env.start_event(500 + n as u32, |v| v["detail"]["userIdentity"] = user);
        run(&audit, &event).await.unwrap();
        let r = env.record(&session_key(&event)).await;
        assert_eq!(r.identity.kind, kind, "{principal}");
        assert_eq!(r.identity.principal, principal);
        assert_eq!(r.identity.person.as_deref(), person);
        if kind != IdentityKind::AwsService {
            assert_eq!(
                r.identity.credentials_issued_at.as_deref(),
                Some("2026-11-24T08:55:00Z"),
                "{principal}"
            );
            assert_eq!(r.identity.mfa, Some(true), "{principal}");
        }
    }
}

/// Issue 30: sessions judged against the stack's documents, its change window and approvals.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_change_windows_and_approvals_are_enforced_by_the_audit() {
    use session_audit::access::Catalog;
    let env = Env::start().await;
    let catalog = Catalog::parse("sa", "80,443", "db.internal:5432", "nginx").unwrap();
    for kind in catalog.kinds() {
        let content = catalog.document(kind, &json!({"s3BucketName": BUCKET}));
        let create = env.clients.ssm.create_document().name(catalog.name(kind));
        let create = create.content(content.to_string()).document_type(DocumentType::Session);
        create.document_format(DocumentFormat::Json).send().await.expect("document");
    }
    let window = "Sat 02:00-06:00 UTC";
    let ics = session_audit::provisioner::access::change_calendar(
        &session_audit::session::findings::BusinessHours::parse(window).unwrap(),
        window,
        "sa",
    );
    let calendar = env.clients.ssm.create_document().name("sa-ChangeWindows").content(ics);
    let calendar = calendar.document_type(DocumentType::ChangeCalendar);
    calendar.document_format(DocumentFormat::Text).send().await.expect("calendar");
    let protected = session_audit_tests::sanctioned_access::protected_instance(&env.clients).await;
    let caller =
        env.start_event(0, |_| {})["detail"]["userIdentity"]["arn"].as_str().unwrap().to_string();
    let approval = |id: &str, status: &str, at: &str| {
        json!({"AutomationExecutionId": id, "DocumentName": "sa-ApproveSession", "AutomationExecutionStatus": "InProgress",
            "ExecutionStartTime": 1.7e9, "Parameters": {"Requester": [caller], "InstanceId": [protected], "Minutes": ["60"], "Reason": ["CHG-42"]},
            "StepExecutions": [{"StepName": "approve", "StepStatus": status, "ExecutionEndTime": jiff::Timestamp::from_str(at).unwrap().as_second(),
                "Outputs": {"ApprovalStatus": ["Approved"], "ApproverDecisions": ["[{\"approver\":\"arn:aws:iam::123456789012:user/bob\"}]"]}}]})
    };
    use std::str::FromStr;
    env.aws.automation(approval("e-approved", "Success", "2026-11-28T02:50:00Z"));
    env.aws.automation(approval("e-rejected", "Failed", "2026-11-24T08:50:00Z"));
    let audit = env.audit(&[
        ("DOCUMENT_PREFIX", "sa"),
        ("PORT_FORWARD_PORTS", "80,443"),
        ("REMOTE_DESTINATIONS", "db.internal:5432"),
        ("TASK_SERVICES", "nginx"),
        ("PROTECTED_TAG", "Protected=true"),
        ("CHANGE_CALENDAR", "sa-ChangeWindows"),
        ("APPROVAL_RUNBOOK", "sa-ApproveSession"),
    ]);
    let session = |n: u32, document: &str, parameters: Value, target: &str, time: &str| {
        env.start_event(n, |v| {
            let d = &mut v["detail"];
            d["requestParameters"]["documentName"] = document.into();
            d["requestParameters"]["parameters"] = parameters;
            d["requestParameters"]["target"] = target.into();
            d["eventTime"] = time.into();
        })
    };
    let weekday = "2026-11-24T09:00:00Z";
    let cases = [
        (
            session(
                1,
                "sa-RemotePortForward",
                json!({"host": ["db.internal"], "portNumber": ["5432"], "localPortNumber": ["15432"]}),
                &env.tagged,
                weekday,
            ),
            vec![],
            Some("db.internal:5432"),
        ),
        (
            session(2, "sa-RestartService", json!({"service": ["nginx"]}), &env.tagged, weekday),
            vec![],
            Some("sudo systemctl restart nginx && systemctl --no-pager status nginx"),
        ),
        (
            session(
                3,
                "AWS-StartPortForwardingSession",
                json!({"portNumber": ["22"]}),
                &env.tagged,
                weekday,
            ),
            vec!["SA-SES-DOCUMENT-NOT-ALLOWED", "SA-SES-UNLOGGED-DOCUMENT"],
            None,
        ),
        (
            session(4, "SSM-SessionManagerRunShell", Value::Null, &protected, weekday),
            vec!["SA-SES-CHANGE-WINDOW", "SA-SES-NO-APPROVAL"],
            None,
        ),
        (
            session(
                5,
                "SSM-SessionManagerRunShell",
                Value::Null,
                &protected,
                "2026-11-28T03:00:00Z",
            ),
            vec!["SA-SES-OFF-HOURS"],
            None,
        ),
    ];
    for (event, expected, access) in &cases {
        run(&audit, event).await.unwrap();
        let record = env.record(&session_key(event)).await;
        assert_eq!(rule_ids(&record), *expected, "{}", record.document);
        assert_eq!(record.access.as_deref(), *access, "{}", record.document);
        assert!(record.warnings.is_empty(), "{:?}", record.warnings);
    }
    let first = env.record(&session_key(&cases[0].0)).await;
    assert_eq!(first.parameters["host"], vec!["db.internal"], "parameters recorded");
    let closed = env.record(&session_key(&cases[3].0)).await;
    assert_eq!(closed.change_window.as_deref(), Some("CLOSED"));
    assert!(closed.approval.is_none());
    let approved = env.record(&session_key(&cases[4].0)).await;
    assert_eq!(approved.change_window.as_deref(), Some("OPEN"));
    let a = approved.approval.expect("linked to its approval");
    assert_eq!((a.execution_id.as_str(), a.minutes), ("e-approved", 60));
    assert_eq!(a.approvers, vec!["arn:aws:iam::123456789012:user/bob"]);
    let published: Vec<String> = env
        .published()
        .await
        .iter()
        .filter_map(|f| f["rule_id"].as_str().map(str::to_string))
        .collect();
    for rule in ["SA-SES-DOCUMENT-NOT-ALLOWED", "SA-SES-CHANGE-WINDOW", "SA-SES-NO-APPROVAL"] {
        assert!(published.iter().any(|r| r == rule), "{rule} published: {published:?}");
    }
}
