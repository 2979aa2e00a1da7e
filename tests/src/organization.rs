//! The pipeline's organization step (issue 31): the hub audits sessions of two accounts in two
//! regions each. Every session is started (CloudTrail's StartSession, as the spoke's rule
//! forwards it to the hub), its transcript uploaded by its own account into the hub's bucket
//! where spoke.yaml's preferences put it (`<prefix><account>/<region>/<id>.log`; the hub's home
//! region keeps `<prefix><id>.log`), and reported. All four sessions carry the same session ID —
//! unique only within an account and region, so four sessions. One more session, in a region
//! outside `AllowedRegions`, raises the regional control's finding. The organization's daily
//! summary counts them all by account and region, and the hub's bucket policy, read back as the
//! provisioner put it, is asked whether a member and an account outside the organization may
//! write. Dated on a fixed day (2026-11-30) so that the pipeline's own day stays its own.
//!
//! moto files the `Object Created` event of a write made with another account's credentials
//! under the writer's account, where AWS delivers it to the bucket owner's bus; the step hands
//! session-report the event AWS delivers, built from the write's answer.

use aws_sdk_s3::primitives::ByteStream;
use serde_json::{json, Value};
use session_audit::keys::{self, Place, SessionAt};
use session_audit_aws::Clients;

use crate::iam_policy::Request;
use crate::local_aws::LocalAws;
use crate::resource_policy::{authorize, Caller, Kind, Resource};
use crate::runtime_api::LambdaProcess;
use crate::{EMULATOR_ACCOUNT, EMULATOR_REGION};

/// The hub's organization (the provisioner's `OrganizationId` in the pipeline).
pub const ORGANIZATION: &str = "o-a1b2c3d4e5";
/// The member account beside the hub's.
pub const SPOKE: &str = "210987654321";
/// The second region of both accounts.
pub const SECOND_REGION: &str = "eu-west-1";
/// `AllowedRegions` as the pipeline deploys session-start.
pub const ALLOWED_REGIONS: &str = "us-east-1,eu-west-1";
/// A region outside them, where the member also runs a session.
pub const FORBIDDEN_REGION: &str = "ap-southeast-2";
/// The day every session of the step starts on.
pub const DAY: &str = "2026-11-30";
/// The one session ID all four places issue.
pub const SESSION_ID: &str = "olga-0c1d2e3f4a5b6c7d8";

/// One session of the step as the hub filed it.
#[derive(Debug)]
pub struct Placed {
    pub session: SessionAt,
    /// The recorded transcript uploaded for it (`tests/fixtures/recorded/<name>.log`).
    pub transcript: &'static str,
    pub instance: String,
    /// Its session record and its JSON report, as stored.
    pub record: Value,
    pub report: Value,
}

/// What the step left.
#[derive(Debug)]
pub struct OrganizationOutcome {
    /// Two accounts × two regions, then the session in the forbidden region.
    pub sessions: Vec<Placed>,
    /// The organization's daily summary of [`DAY`]: JSON and Markdown.
    pub summary: Value,
    pub summary_markdown: String,
    /// Every finding event published so far (the step's included).
    pub published: Vec<Value>,
    /// The stored bucket policy's decisions on uploads: (who asked, allowed).
    pub uploads: Vec<(String, bool)>,
    /// The member's preferences changes as the hub filed them: in us-east-1 by its StackSet
    /// (as spoke.yaml writes them), in eu-west-1 by hand to a bucket of its own.
    pub preferences: Vec<(Place, Value)>,
}

/// The hub as the pipeline made it, and its running functions.
pub struct Hub<'a> {
    pub aws: &'a LocalAws,
    pub clients: &'a Clients,
    pub bucket: &'a str,
    pub prefix: &'a str,
    /// The provisioned instance: the home region's session runs on it.
    pub instance_id: &'a str,
    pub start: &'a mut LambdaProcess,
    pub report: &'a mut LambdaProcess,
    pub summary: &'a mut LambdaProcess,
}

/// The places, in the order of [`OrganizationOutcome::sessions`], with the transcript each
/// uploads.
fn places() -> [(Place, &'static str); 5] {
    let at = |account, region| Place::new(account, region).expect("a valid place");
    [
        (at(EMULATOR_ACCOUNT, EMULATOR_REGION), "al2023_sh_editing"),
        (at(EMULATOR_ACCOUNT, SECOND_REGION), "al2023_sh_risky"),
        (at(SPOKE, EMULATOR_REGION), "al2023_sh_narrow_wrap"),
        (at(SPOKE, SECOND_REGION), "honest_fullscreen"),
        (at(SPOKE, FORBIDDEN_REGION), "al2023_sh_editing"),
    ]
}

/// When session `n` starts; it ends, and its transcript is uploaded, 20 minutes later.
fn started(n: u32) -> jiff::Timestamp {
    format!("{DAY}T10:{:02}:00Z", n * 7).parse().expect("a time")
}

/// The StartSession `n` of `place`, as the hub's bus receives it from the place's rule.
fn start_session(n: u32, place: &Place, instance: &str) -> Value {
    let at = started(n);
    crate::pipeline::cloudtrail(200 + n, "StartSession", at, "olga", |v| {
        v["account"] = json!(place.account());
        v["region"] = json!(place.region());
        let d = &mut v["detail"];
        d["awsRegion"] = json!(place.region());
        d["recipientAccountId"] = json!(place.account());
        d["userIdentity"]["accountId"] = json!(place.account());
        d["userIdentity"]["arn"] =
            json!(format!("arn:aws:sts::{}:assumed-role/Admin/olga", place.account()));
        d["requestParameters"]["target"] = json!(instance);
        d["responseElements"]["sessionId"] = json!(SESSION_ID);
    })
}

/// `UpdateDocument` `n` of the member's preferences in `region`, as its spoke forwards it:
/// the content as spoke.yaml writes it, edited by `edit`; by CloudFormation or by hand.
fn preferences_update(
    n: u32,
    region: &str,
    (bucket, prefix): (&str, &str),
    by_stack: bool,
    edit: impl FnOnce(&mut Value),
) -> Value {
    let spoke = crate::template::Stack::spoke(
        SPOKE,
        region,
        &[
            ("HubBucketName", bucket),
            ("HubKmsKeyArn", crate::template::KEY),
            ("HubEventBusArn", "arn:aws:events:us-east-1:123456789012:event-bus/spokes"),
            ("TranscriptPrefix", prefix),
        ],
    );
    let mut content = spoke.properties("SessionManagerPreferences")["Content"].clone();
    edit(&mut content);
    let at = format!("{DAY}T12:{n:02}:00Z").parse().expect("a time");
    crate::pipeline::cloudtrail(n, "UpdateDocument", at, "olga", |v| {
        v["account"] = json!(SPOKE);
        v["region"] = json!(region);
        let d = &mut v["detail"];
        d["awsRegion"] = json!(region);
        d["recipientAccountId"] = json!(SPOKE);
        d["userIdentity"]["accountId"] = json!(SPOKE);
        d["userIdentity"]["arn"] = json!(format!("arn:aws:sts::{SPOKE}:assumed-role/Admin/olga"));
        if by_stack {
            d["userIdentity"]["invokedBy"] = json!("cloudformation.amazonaws.com");
            d["sourceIPAddress"] = json!("cloudformation.amazonaws.com");
        }
        d["requestParameters"] = json!({
            "name": session_audit::session::DEFAULT_DOCUMENT,
            "content": content.to_string(),
            "documentVersion": "$LATEST"
        });
        d["responseElements"] = Value::Null;
    })
}

/// The `Object Created` event S3 delivers to the bucket owner's bus for a write of `size`
/// bytes, version `version`, by `requester`, at `at`.
fn object_created(
    (bucket, key): (&str, &str),
    (size, version): (usize, &str),
    requester: &str,
    at: jiff::Timestamp,
) -> Value {
    let text = std::fs::read_to_string(crate::fixture(
        "public/eventbridge_s3_Object_Created_awsdocs.json",
    ))
    .expect("fixture");
    let mut event: Value = serde_json::from_str(&text).expect("fixture JSON");
    event["account"] = json!(EMULATOR_ACCOUNT);
    event["region"] = json!(EMULATOR_REGION);
    event["time"] = json!(at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
    event["resources"] = json!([format!("arn:aws:s3:::{bucket}")]);
    let d = &mut event["detail"];
    d["bucket"]["name"] = json!(bucket);
    d["object"] = json!({"key": key, "size": size, "version-id": version});
    d["requester"] = json!(requester);
    event
}

async fn stored(clients: &Clients, bucket: &str, key: &str) -> Value {
    let object = clients.s3.get_object().bucket(bucket).key(key).send().await;
    let body = object.unwrap_or_else(|e| panic!("{key}: {e}")).body.collect().await.unwrap();
    serde_json::from_slice(&body.into_bytes()).unwrap_or_else(|e| panic!("{key}: {e}"))
}

/// Run the step; `say` prints a line of progress.
pub async fn run(hub: Hub<'_>, mut say: impl FnMut(String)) -> OrganizationOutcome {
    let Hub { aws, clients, bucket, prefix, instance_id, start, report, summary } = hub;
    let mut sessions = Vec::new();
    for (n, (place, transcript)) in places().into_iter().enumerate() {
        let n = n as u32;
        let session = SessionAt::new(place.clone(), SESSION_ID).expect("a valid session ID");
        let home = place.account() == EMULATOR_ACCOUNT && place.region() == EMULATOR_REGION;
        let instance = match home {
            true => instance_id.to_string(),
            false => format!("i-0{}{:015x}", n + 1, u64::from(n) + 0xa11ce),
        };
        let answer = start
            .invoke(&start_session(n, &place, &instance))
            .unwrap_or_else(|e| panic!("session-start rejected {place}'s session: {e}"));

        // The agent of the place's instance uploads with its account's credentials.
        let folder = if home { String::new() } else { place.transcript_folder() };
        let key = format!("{prefix}{folder}{SESSION_ID}.log");
        let body = std::fs::read(crate::fixture(&format!("recorded/{transcript}.log")))
            .expect("transcript fixture");
        let size = body.len();
        let writer = Clients::with_path_style(
            &aws.sdk_config_in(place.account(), place.region()).await,
            true,
        );
        let put = writer.s3.put_object().bucket(bucket).key(&key).body(ByteStream::from(body));
        let put = put.send().await.unwrap_or_else(|e| panic!("{place} uploads {key}: {e}"));
        let version = put.version_id().unwrap_or("null");
        let uploaded = started(n) + jiff::SignedDuration::from_mins(20);
        let event = object_created((bucket, &key), (size, version), place.account(), uploaded);
        let reported =
            report.invoke(&event).unwrap_or_else(|e| panic!("session-report rejected {key}: {e}"));
        say(format!(
            "{place}: session {SESSION_ID} on {instance} -> findings {}; {key} -> {}",
            answer["audited"][0]["findings"],
            reported["reported"][0]["outcome"].as_str().unwrap_or("?")
        ));
        let record = stored(clients, bucket, &keys::session_record(DAY, &session).unwrap()).await;
        let report = stored(clients, bucket, &keys::report(DAY, &session, "json").unwrap()).await;
        sessions.push(Placed { session, transcript, instance, record, report });
    }

    // The member's preferences change: once by its StackSet, once by hand.
    let mut preferences = Vec::new();
    let to_elsewhere = |c: &mut Value| c["inputs"]["s3BucketName"] = json!("olgas-own-bucket");
    for (n, region, by_stack) in [(10, EMULATOR_REGION, true), (11, SECOND_REGION, false)] {
        let event = match by_stack {
            true => preferences_update(n, region, (bucket, prefix), true, |_| {}),
            false => preferences_update(n, region, (bucket, prefix), false, to_elsewhere),
        };
        let answer = start
            .invoke(&event)
            .unwrap_or_else(|e| panic!("session-start rejected {region}'s preferences: {e}"));
        let place = Place::new(SPOKE, region).expect("a valid place");
        let event_id = event["detail"]["eventID"].as_str().expect("an event ID");
        let key = keys::preferences_change(DAY, &place, event_id).expect("a key");
        let change = stored(clients, bucket, &key).await;
        say(format!(
            "{place}: preferences changed ({}) -> {} {}",
            if by_stack { "by its StackSet" } else { "by hand" },
            change["verdict"].as_str().unwrap_or("?"),
            answer["audited"][0]["findings"]
        ));
        preferences.push((place, change));
    }

    let answer = summary.invoke(&json!({"kind": "daily", "period": DAY})).expect("summary written");
    let summary = stored(clients, bucket, answer["json"].as_str().expect("the JSON key")).await;
    let md_key = answer["md"].as_str().expect("the Markdown key");
    let object = clients.s3.get_object().bucket(bucket).key(md_key).send().await.expect(md_key);
    let markdown = object.body.collect().await.expect("Markdown").into_bytes().to_vec();
    let summary_markdown = String::from_utf8(markdown).expect("UTF-8 Markdown");
    let places: Vec<String> = summary["by_account_region"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| format!("{} {}", c["name"].as_str().unwrap_or("?"), c["count"]))
        .collect();
    say(format!("the organization's summary of {DAY}: {}", places.join(", ")));

    let uploads = bucket_policy_decisions(clients, bucket, prefix).await;
    for (who, allowed) in &uploads {
        say(format!("bucket policy: {who} -> {}", if *allowed { "allowed" } else { "denied" }));
    }
    let published = crate::findings_capture::captured_findings(aws).await;
    OrganizationOutcome { sessions, summary, summary_markdown, published, uploads, preferences }
}

/// The bucket policy the provisioner stored, asked about uploads by accounts that hold every
/// permission of their own (`*` on `*`): a member into its own folder and into another
/// member's, and an account outside the organization into its own. moto does not enforce bucket
/// policies; the evaluator is the least-privilege proof's ([`crate::resource_policy`]).
async fn bucket_policy_decisions(
    clients: &Clients,
    bucket: &str,
    prefix: &str,
) -> Vec<(String, bool)> {
    let answer = clients.s3.get_bucket_policy().bucket(bucket).send().await.expect("the policy");
    let policy: Value = serde_json::from_str(answer.policy().expect("a policy")).expect("JSON");
    let anything = json!({"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
    let member = Caller::role(SPOKE, "sa-instance", Some(ORGANIZATION), vec![anything.clone()]);
    let outsider = Caller::role("999988887777", "instance", Some("o-zzzzzzzzzz"), vec![anything]);
    let object = |account: &str| {
        format!("arn:aws:s3:::{bucket}/{prefix}{account}/{SECOND_REGION}/{SESSION_ID}.log")
    };
    let resource =
        Resource { kind: Kind::Bucket, account: EMULATOR_ACCOUNT, policy: Some(&policy) };
    [
        ("a member account, into its own folder", &member, object(SPOKE)),
        ("a member account, into another member's folder", &member, object("111122223333")),
        ("an account outside the organization", &outsider, object("999988887777")),
    ]
    .into_iter()
    .map(|(who, caller, object)| {
        let req = Request::new("s3:PutObject", &object).with("aws:SecureTransport", "true");
        (who.to_string(), authorize(caller, &resource, &req).allowed())
    })
    .collect()
}
