//! An outage of the hub, on the emulator's EventBridge with two accounts: a spoke's session
//! calls, forwarded by spoke.yaml's rule while the hub's session-start was away, are kept by the
//! hub's archive (template.yaml's pattern), replayed to session-start's rule once it is back, and
//! recorded under the spoke's account and region; replaying again changes nothing. moto cannot
//! invoke a Lambda target, so session-start's rule delivers to a log group and the test hands
//! each delivered event to the audit, as the rule does in AWS.

use std::collections::HashMap;

use aws_sdk_eventbridge::types::{PutEventsRequestEntry, ReplayDestination, ReplayState, Target};
use serde_json::{json, Value};
use session_audit::keys::SessionAt;
use session_audit::publish::Metrics;
use session_audit::redact::Redactor;
use session_audit::rules::RulePack;
use session_audit::session_start::Outcome;
use session_audit::settings::StartSettings;
use session_audit_aws::session_start::session_start;
use session_audit_aws::Clients;
use session_audit_tests::findings_capture::captured_events;
use session_audit_tests::local_aws::LocalAws;
use session_audit_tests::template::{Stack, ACCOUNT, REGION};

const BUCKET: &str = "audit-bucket";
const ORG: &str = "o-a1b2c3d4e5";
const SPOKE: &str = "210987654321";
const SPOKE_REGION: &str = "eu-west-1";
/// Where session-start's rule on the spokes' bus delivers in the emulator.
const DELIVERED: &str = "/test/session-start-deliveries";

/// A StartSession CloudTrail record of the spoke (session `n`), as its CloudTrail has it.
fn spoke_call(n: u32) -> Value {
    let path = session_audit_tests::fixture(
        "public/eventbridge_cloudtrail_StartSession_AssumedRole_console.json",
    );
    let sample: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut d = sample["detail"].clone();
    d["eventID"] = format!("00000000-0000-4000-8000-{n:012}").into();
    d["eventTime"] = "2026-12-01T09:00:00Z".into();
    d["awsRegion"] = SPOKE_REGION.into();
    d["recipientAccountId"] = SPOKE.into();
    d["responseElements"]["sessionId"] = format!("alice-{n:017x}").into();
    d
}

#[tokio::test]
async fn calls_forwarded_while_the_hub_was_down_are_replayed_and_recorded_once() {
    let aws = LocalAws::start();
    let hub_config = aws.sdk_config().await;
    let hub = Clients::with_path_style(&hub_config, true);
    hub.s3.create_bucket().bucket(BUCKET).send().await.expect("bucket");

    // The hub: the spokes' bus and its archive, as template.yaml writes them.
    let template = Stack::new(&[("OrganizationId", ORG)]);
    let bus_name =
        template.properties("SpokeSessionEventsBus")["Name"].as_str().unwrap().to_string();
    let bus = hub.events.create_event_bus().name(&bus_name).send().await.expect("bus");
    let bus_arn = bus.event_bus_arn().unwrap().to_string();
    assert_eq!(bus_arn, format!("arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{bus_name}"));
    let archived = template.properties("SpokeSessionCallsArchive");
    let archive = hub
        .events
        .create_archive()
        .archive_name("spoke-session-calls")
        .event_source_arn(&bus_arn)
        .event_pattern(archived["EventPattern"].to_string())
        .retention_days(35)
        .send()
        .await
        .expect("archive");
    let archive_arn = archive.archive_arn().unwrap().to_string();

    // The spoke: spoke.yaml's forwarding rule, in its own account and region.
    let spoke_config = aws.sdk_config_in(SPOKE, SPOKE_REGION).await;
    let spoke = aws_sdk_eventbridge::Client::new(&spoke_config);
    let spoke_stack = Stack::spoke(
        SPOKE,
        SPOKE_REGION,
        &[
            ("HubBucketName", BUCKET),
            ("HubKmsKeyArn", session_audit_tests::template::KEY),
            ("HubEventBusArn", &bus_arn),
        ],
    );
    let forward = spoke_stack.properties("ForwardSessionCalls");
    spoke
        .put_rule()
        .name("forward-session-calls")
        .event_pattern(forward["EventPattern"].to_string())
        .send()
        .await
        .expect("spoke rule");
    let target = Target::builder().id("hub").arn(forward["Targets"][0]["Arn"].as_str().unwrap());
    let target = target.role_arn(format!("arn:aws:iam::{SPOKE}:role/forward")).build().unwrap();
    spoke.put_targets().rule("forward-session-calls").targets(target).send().await.expect("target");

    // The hub is down (no session-start rule on its bus) while the spoke's sessions start.
    let calls: Vec<Value> = (1..=3).map(spoke_call).collect();
    for call in &calls {
        let entry = PutEventsRequestEntry::builder()
            .source("aws.ssm")
            .detail_type("AWS API Call via CloudTrail")
            .detail(call.to_string())
            .build();
        let put = spoke.put_events().entries(entry).send().await.expect("spoke event");
        assert_eq!(put.failed_entry_count(), 0);
    }
    assert!(captured_events_or_none(&aws).await.is_empty(), "nothing delivered while down");

    // Back: session-start's rule as the template writes it, then the outage's window replayed.
    let listens =
        &template.properties("SessionStartFunction")["Events"]["SpokeSessionCalls"]["Properties"];
    let rule = hub
        .events
        .put_rule()
        .name("session-start-spoke-calls")
        .event_bus_name(&bus_name)
        .event_pattern(listens["Pattern"].to_string())
        .send()
        .await
        .expect("hub rule");
    hub.logs.create_log_group().log_group_name(DELIVERED).send().await.expect("log group");
    let target = Target::builder()
        .id("session-start")
        .arn(format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{DELIVERED}"))
        .build()
        .unwrap();
    let rules =
        hub.events.put_targets().rule("session-start-spoke-calls").event_bus_name(&bus_name);
    rules.targets(target).send().await.expect("hub target");
    let audit = {
        let vars: HashMap<&str, &str> = HashMap::from([
            ("AUDIT_BUCKET", BUCKET),
            ("AWS_REGION", REGION),
            ("ACCOUNT_ID", ACCOUNT),
        ]);
        let environment: Vec<(&str, String)> =
            vars.iter().map(|(k, v)| (*k, v.to_string())).collect();
        session_start(
            &aws.clients_as(&hub_config, "SessionStartFunction", &environment, &[]),
            StartSettings::read(|k| vars.get(k).map(|v| v.to_string())).expect("settings"),
            RulePack::builtin(),
            Redactor::new(Some(b"test-key")),
        )
    };
    let mut outcomes = Vec::new();
    for replay in ["outage-1", "outage-1-again"] {
        let now = std::time::SystemTime::now();
        let destination = ReplayDestination::builder()
            .arn(&bus_arn)
            .filter_arns(rule.rule_arn().unwrap())
            .build()
            .unwrap();
        hub.events
            .start_replay()
            .replay_name(replay)
            .event_source_arn(&archive_arn)
            .event_start_time((now - std::time::Duration::from_secs(3600)).into())
            .event_end_time(now.into())
            .destination(destination)
            .send()
            .await
            .expect("replay");
        let state = hub.events.describe_replay().replay_name(replay).send().await.unwrap();
        assert_eq!(state.state(), Some(&ReplayState::Completed));
        let delivered: Vec<Value> = captured_events_or_none(&aws)
            .await
            .into_iter()
            .filter(|e| e["replay-name"] == json!(replay))
            .collect();
        assert_eq!(delivered.len(), calls.len(), "every archived call, replayed to the rule");
        let mut these = Vec::new();
        for event in &delivered {
            let mut metrics = Metrics::default();
            let handled = audit.handle(event, &mut metrics).await.expect("audited");
            these.extend(handled.into_iter().map(|a| a.outcome));
        }
        outcomes.push(these);
    }

    let place = session_audit::keys::Place::new(SPOKE, SPOKE_REGION).unwrap();
    for (n, first) in outcomes[0].iter().enumerate() {
        let Outcome::Recorded { key } = first else { panic!("first replay: {first:?}") };
        let session = SessionAt::new(place.clone(), &format!("alice-{:017x}", n + 1)).unwrap();
        assert_eq!(key, &session_audit::keys::session_record("2026-12-01", &session).unwrap());
        let object = hub.s3.get_object().bucket(BUCKET).key(key).send().await.expect("record");
        let record: Value =
            serde_json::from_slice(&object.body.collect().await.unwrap().into_bytes()).unwrap();
        assert_eq!((&record["account"], &record["region"]), (&json!(SPOKE), &json!(SPOKE_REGION)));
    }
    let again: Vec<&Outcome> = outcomes[1].iter().collect();
    assert!(
        again.iter().all(|o| matches!(o, Outcome::Duplicate { .. })),
        "a second replay is a redelivery: {again:?}"
    );
}

/// The events delivered to session-start's stand-in so far (none before the group exists).
async fn captured_events_or_none(aws: &LocalAws) -> Vec<Value> {
    let hub = Clients::with_path_style(&aws.sdk_config().await, true);
    let groups = hub.logs.describe_log_groups().log_group_name_prefix(DELIVERED).send().await;
    match groups.map(|g| g.log_groups().is_empty()) {
        Ok(false) => captured_events(aws, DELIVERED).await,
        _ => Vec::new(),
    }
}
