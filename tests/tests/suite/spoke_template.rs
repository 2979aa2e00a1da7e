//! spoke.yaml against the hub it serves: a spoke's agent uploads where the hub reads its
//! account and region, with the hub's preferences but for where; its instance role is what the
//! hub's bucket and key admit and no more; it forwards exactly the calls and preferences changes
//! the hub's session-start listens for, to the bus the hub opens to the organization and
//! archives; and it streams its
//! sessions live to its region's destination (destination.yaml), which admits the organization
//! and puts them into the stream session-stream reads.

use serde_json::{json, Value};
use session_audit::keys::{region_of_subscription, Place};
use session_audit::provisioner::{self, policies, Names, Properties};
use session_audit::session::preferences::PREFERENCE_CALLS;
use session_audit::upload::transcript_of;
use session_audit_tests::iam_policy::{granted_actions, Request};
use session_audit_tests::resource_policy::{authorize, Caller, Kind, Resource};
use session_audit_tests::template::{provisioned, Stack, SPOKE_LOG_GROUP};

const ORG: &str = "o-a1b2c3d4e5";
const SPOKE: &str = "210987654321";
const HUB_BUS: &str =
    "arn:aws:events:us-east-1:123456789012:event-bus/session-audit-spoke-sessions";
const HUB_KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

/// The hub's properties with an organization, its place and names.
fn hub() -> (Properties, provisioner::Place, Names) {
    provisioned(&[("NamePrefix", "session-audit"), ("OrganizationId", ORG)])
}

fn spoke(account: &str, region: &str) -> Stack {
    let (_, _, n) = hub();
    Stack::spoke(
        account,
        region,
        &[
            ("HubBucketName", n.bucket.as_str()),
            ("HubKmsKeyArn", HUB_KEY),
            ("HubEventBusArn", HUB_BUS),
        ],
    )
}

#[test]
fn a_spokes_agent_uploads_where_the_hub_reads_its_account_and_region() {
    let (p, _, _) = hub();
    let inputs =
        &spoke(SPOKE, "eu-west-1").properties("SessionManagerPreferences")["Content"]["inputs"];
    // The agent writes <s3KeyPrefix>/<session ID>.log.
    let key = format!("{}/alice-0a1b2c3d4e5f60718.log", inputs["s3KeyPrefix"].as_str().unwrap());
    let (place, id) = transcript_of(&key, &p.transcript_prefix).expect("a transcript");
    assert_eq!(place, Some(Place::new(SPOKE, "eu-west-1").unwrap()));
    assert_eq!(id, "alice-0a1b2c3d4e5f60718");
    assert_eq!(
        format!("{}/", inputs["s3KeyPrefix"].as_str().unwrap()),
        format!(
            "{}{}",
            p.transcript_prefix,
            Place::new(SPOKE, "eu-west-1").unwrap().transcript_folder()
        )
    );
}

#[test]
fn a_spokes_preferences_are_the_hubs_but_for_where() {
    let (p, _, n) = hub();
    let hub_doc = policies::preferences_document(&p, &n);
    let spoke_doc =
        spoke(SPOKE, "eu-west-1").properties("SessionManagerPreferences")["Content"].clone();
    assert_eq!(spoke_doc["sessionType"], hub_doc["sessionType"]);
    let (ours, theirs) =
        (hub_doc["inputs"].as_object().unwrap(), spoke_doc["inputs"].as_object().unwrap());
    let names = |m: &serde_json::Map<String, Value>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(ours), names(theirs), "the same settings");
    for (name, value) in ours {
        match name.as_str() {
            "s3KeyPrefix" | "cloudWatchLogGroupName" => {}
            "s3BucketName" => assert_eq!(theirs[name], json!(n.bucket)),
            _ => assert_eq!(&theirs[name], value, "{name}"),
        }
    }
    assert_eq!(theirs["cloudWatchLogGroupName"], json!(SPOKE_LOG_GROUP));
}

/// The spoke's instance role as an IAM principal of `account`.
fn spoke_role(account: &str, region: &str) -> Caller {
    let role = spoke(account, region).properties("InstanceRole");
    let mut identity: Vec<Value> =
        role["Policies"].as_array().unwrap().iter().map(|p| p["PolicyDocument"].clone()).collect();
    assert!(granted_actions(&identity).iter().all(|a| !a.contains('*')), "no wildcard action");
    // AmazonSSMManagedInstanceCore grants no S3 or KMS: nothing it adds matters here.
    identity.retain(|p| !p.is_null());
    Caller::role(account, "session-audit-instance", Some(ORG), identity)
}

#[test]
fn a_spokes_instance_role_is_what_the_hubs_bucket_and_key_admit_and_no_more() {
    let (p, place, n) = hub();
    let bucket_policy = policies::bucket_policy(&p, &n, &place, true).unwrap();
    let key_policy = policies::key_policy(&p, &n, &place);
    let bucket =
        Resource { kind: Kind::Bucket, account: &place.account, policy: Some(&bucket_policy) };
    let key = Resource { kind: Kind::Key, account: &place.account, policy: Some(&key_policy) };
    let object =
        |folder: &str| format!("{}/{}{folder}s.log", n.bucket_arn(&place), p.transcript_prefix);
    let tls = |action: &str, resource: &str| {
        Request::new(action, resource).with("aws:SecureTransport", "true")
    };
    let via_s3 = |region: &str| {
        tls("kms:GenerateDataKey", HUB_KEY)
            .with("kms:ViaService", &format!("s3.{region}.amazonaws.com"))
            .with("kms:EncryptionContext:aws:s3:arn", &n.bucket_arn(&place))
    };
    for (account, region) in [(SPOKE, "eu-west-1"), (place.account.as_str(), "us-west-2")] {
        let role = spoke_role(account, region);
        let own = object(&format!("{account}/{region}/"));
        assert!(
            authorize(&role, &bucket, &tls("s3:PutObject", &own)).allowed(),
            "{account} {region}"
        );
        assert!(authorize(
            &role,
            &bucket,
            &tls("s3:GetEncryptionConfiguration", &n.bucket_arn(&place))
        )
        .allowed());
        assert!(
            authorize(&role, &key, &via_s3(&place.region)).allowed(),
            "the hub's key through S3"
        );
        // Its own account's other regions are other spokes' folders.
        let other_region = object(&format!("{account}/ap-south-1/"));
        assert!(!authorize(&role, &bucket, &tls("s3:PutObject", &other_region)).allowed());
        assert!(
            !authorize(&role, &bucket, &tls("s3:PutObject", &object(""))).allowed(),
            "the hub's own"
        );
        assert!(
            !authorize(&role, &key, &tls("kms:GenerateDataKey", HUB_KEY)).allowed(),
            "directly"
        );
        assert!(!authorize(&role, &key, &via_s3("eu-west-1")).allowed(), "S3 elsewhere");
    }
}

#[test]
fn a_spoke_forwards_what_session_start_audits_to_the_bus_the_hub_opens_and_archives() {
    let stack = spoke(SPOKE, "eu-west-1");
    let rule = stack.properties("ForwardSessionCalls");
    let target = &rule["Targets"][0];
    assert_eq!(target["Arn"], json!(HUB_BUS));
    assert!(target["DeadLetterConfig"]["Arn"].is_string(), "nothing lost when the hub is away");
    let forward = stack.properties("ForwardRole");
    let grant = &forward["Policies"][0]["PolicyDocument"]["Statement"][0];
    assert_eq!(
        (&grant["Action"], &grant["Resource"]),
        (&json!(["events:PutEvents"]), &json!(HUB_BUS))
    );

    let hub = Stack::new(&[("OrganizationId", ORG)]);
    let listens =
        &hub.properties("SessionStartFunction")["Events"]["SpokeSessionCalls"]["Properties"];
    assert_eq!(listens["EventBusName"], json!("<SpokeSessionEventsBus>"), "the spokes' bus");
    let pattern = |v: &Value| v["detail"].clone();
    assert_eq!(pattern(&rule["EventPattern"]), pattern(&listens["Pattern"]), "the same calls");
    // Its preferences changes: forwarded as the hub listens for them, on the same bus.
    let changes = stack.properties("ForwardPreferencesChanges");
    assert_eq!(changes["Targets"][0]["Arn"], json!(HUB_BUS));
    assert!(changes["Targets"][0]["DeadLetterConfig"]["Arn"].is_string());
    let judged =
        &hub.properties("SessionStartFunction")["Events"]["SpokePreferencesChanges"]["Properties"];
    assert_eq!(judged["EventBusName"], json!("<SpokeSessionEventsBus>"));
    assert_eq!(pattern(&changes["EventPattern"]), pattern(&judged["Pattern"]), "the same changes");
    assert_eq!(
        changes["EventPattern"]["detail"]["requestParameters"],
        json!({"name": [session_audit::session::DEFAULT_DOCUMENT]}),
        "the preferences document only"
    );
    let forwarded = |v: &Value| v["detail"]["eventName"].as_array().unwrap().clone();
    let calls = [forwarded(&rule["EventPattern"]), forwarded(&changes["EventPattern"])].concat();
    assert_eq!(
        calls.iter().filter_map(Value::as_str).filter(|c| PREFERENCE_CALLS.contains(c)).count(),
        PREFERENCE_CALLS.len(),
        "every call that changes the preferences"
    );
    // Everything forwarded is archived: the archive keeps every call either rule forwards.
    let archived = hub.properties("SpokeSessionCallsArchive");
    let kept = pattern(&archived["EventPattern"]);
    assert_eq!(kept["eventSource"], pattern(&listens["Pattern"])["eventSource"]);
    assert_eq!(kept["eventName"], json!(calls), "all archived");
    assert_eq!(kept.as_object().unwrap().len(), 2, "no other filter: {kept}");
    assert_eq!(archived["SourceArn"], json!("<SpokeSessionEventsBus.Arn>"));
    let dead_letters = stack.properties("UnforwardedCallsQueuePolicy")["PolicyDocument"]
        ["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"]
        .clone();
    assert_eq!(
        dead_letters,
        json!(["<ForwardSessionCalls.Arn>", "<ForwardPreferencesChanges.Arn>"]),
        "both rules' dead letters kept"
    );

    let bus_policy = hub.properties("SpokeSessionEventsBusPolicy")["Statement"].clone();
    assert_eq!(bus_policy["Condition"], json!({"StringEquals": {"aws:PrincipalOrgID": ORG}}));
    assert_eq!(bus_policy["Action"], json!("events:PutEvents"));
    assert!(hub.makes("SpokeSessionEventsBusPolicy"));
    assert!(!Stack::new(&[]).makes("SpokeSessionEventsBusPolicy"), "one account: no one else");
}

const HUB: &str = "123456789012";
const STREAM: &str = "arn:aws:kinesis:us-east-1:123456789012:stream/session-audit-spoke-sessions";
const DESTINATION_ROLE: &str = "arn:aws:iam::123456789012:role/sa-SpokeStreamDestinationRole";

/// The destination in the hub's account in `region`, with or without an organization.
fn destination(region: &str, organization: &str) -> Stack {
    Stack::destination(
        HUB,
        region,
        &[("StreamArn", STREAM), ("RoleArn", DESTINATION_ROLE), ("OrganizationId", organization)],
    )
}

#[test]
fn a_spoke_streams_live_to_its_regions_destination_under_a_name_that_says_its_region() {
    assert!(!spoke(SPOKE, "eu-west-1").makes("StreamToHub"), "no destination named: no stream");
    let destination = destination("eu-west-1", ORG);
    let made = destination.properties("SessionsDestination");
    let name = made["DestinationName"].as_str().unwrap();
    let (_, _, n) = hub();
    let stack = Stack::spoke(
        SPOKE,
        "eu-west-1",
        &[
            ("HubBucketName", n.bucket.as_str()),
            ("HubKmsKeyArn", HUB_KEY),
            ("HubEventBusArn", HUB_BUS),
            ("HubDestinationName", name),
        ],
    );
    let filter = stack.properties("StreamToHub");
    assert_eq!(
        filter["DestinationArn"],
        json!(format!("arn:aws:logs:eu-west-1:{HUB}:destination:{name}")),
        "the destination of its own region, in the hub's account"
    );
    assert_eq!(filter["LogGroupName"], json!(SPOKE_LOG_GROUP));
    assert_eq!(filter["FilterPattern"], json!(""), "every event");
    let filter_name = filter["FilterName"].as_str().unwrap();
    assert_eq!(region_of_subscription([filter_name]), Some("eu-west-1"), "{filter_name}");
    assert_eq!((&made["TargetArn"], &made["RoleArn"]), (&json!(STREAM), &json!(DESTINATION_ROLE)));
}

#[test]
fn the_destination_admits_the_organization_only() {
    let anything = json!({"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
    let subscribe = |stack: &Stack, caller: &Caller| {
        let made = stack.properties("SessionsDestination");
        let policy: Value = serde_json::from_str(made["DestinationPolicy"].as_str().unwrap())
            .expect("a JSON policy");
        let arn = format!("arn:aws:logs:eu-west-1:{HUB}:destination:session-audit-sessions");
        let resource = Resource { kind: Kind::Bucket, account: HUB, policy: Some(&policy) };
        authorize(caller, &resource, &Request::new("logs:PutSubscriptionFilter", &arn)).allowed()
    };
    let member = Caller::role(SPOKE, "admin", Some(ORG), vec![anything.clone()]);
    let outsider =
        Caller::role("999988887777", "admin", Some("o-zzzzzzzzzz"), vec![anything.clone()]);
    let own = Caller::role(HUB, "admin", Some(ORG), vec![anything]);
    let org = destination("eu-west-1", ORG);
    assert!(subscribe(&org, &member), "a member account subscribes");
    assert!(!subscribe(&org, &outsider), "no one outside the organization");
    let alone = destination("eu-west-1", "");
    assert!(!subscribe(&alone, &member), "without an organization, no other account");
    assert!(subscribe(&alone, &own), "the hub's own account (its other regions)");
}

#[test]
fn the_hubs_stream_is_read_record_by_record_and_written_only_through_its_destinations() {
    let off = Stack::new(&[]);
    let parts = [
        "SpokeSessionStream",
        "SpokeStreamDestinationRole",
        "SpokeSessionStreamReadPolicy",
        "SpokeSessionStreamMapping",
    ];
    assert!(parts.iter().all(|p| !off.makes(p)), "SpokeStreams=Disabled by default: no stream");
    let on = Stack::new(&[("SpokeStreams", "Enabled"), ("OrganizationId", ORG)]);
    assert!(parts.iter().all(|p| on.makes(p)));
    let mapping = on.properties("SpokeSessionStreamMapping");
    assert_eq!(mapping["EventSourceArn"], json!("<SpokeSessionStream.Arn>"));
    assert_eq!(mapping["FunctionName"], json!("<SessionStreamFunction>"));
    assert_eq!(mapping["FunctionResponseTypes"], json!(["ReportBatchItemFailures"]));
    assert_eq!(
        mapping["DestinationConfig"]["OnFailure"]["Destination"],
        json!("<FailedInvocationsQueue.Arn>"),
        "nothing lost after the retries"
    );
    let read = on.properties("SpokeSessionStreamReadPolicy");
    assert_eq!(read["RoleName"], json!("<SessionStreamFunctionRole>"));
    let statements = read["PolicyDocument"]["Statement"].as_array().unwrap();
    let kinesis: Vec<&str> =
        statements[0]["Action"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert_eq!(
        kinesis,
        [
            "kinesis:DescribeStream",
            "kinesis:DescribeStreamSummary",
            "kinesis:GetRecords",
            "kinesis:GetShardIterator",
            "kinesis:ListShards"
        ],
        "what Lambda's mapping reads with, nothing that writes"
    );
    assert!(statements.iter().all(|s| s["Resource"].is_string()), "one resource each");
    let role = on.properties("SpokeStreamDestinationRole");
    let trust = &role["AssumeRolePolicyDocument"]["Statement"][0];
    assert_eq!(trust["Principal"], json!({"Service": "logs.amazonaws.com"}));
    assert_eq!(trust["Condition"], json!({"StringEquals": {"aws:SourceOrgID": ORG}}));
    let alone = Stack::new(&[("SpokeStreams", "Enabled")]);
    let trust = &alone.properties("SpokeStreamDestinationRole")["AssumeRolePolicyDocument"];
    assert_eq!(
        trust["Statement"][0]["Condition"],
        json!({"StringEquals": {"aws:SourceAccount": "123456789012"}})
    );
    let put = &role["Policies"][0]["PolicyDocument"]["Statement"][0];
    assert_eq!(
        (&put["Action"], &put["Resource"]),
        (&json!(["kinesis:PutRecord"]), &json!("<SpokeSessionStream.Arn>"))
    );
}
