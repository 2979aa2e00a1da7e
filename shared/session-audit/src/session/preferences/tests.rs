//! Records are the real StartSession record of the fixtures with the call changed: CloudTrail
//! writes every management call in one envelope (eventSource, eventName, requestParameters,
//! userIdentity, invokedBy and sourceIPAddress set by AWS).

use serde_json::{json, Value};

use super::*;

const SPOKE: &str = "210987654321";
const EVENT_ID: &str = "5b3c1d2e-0f4a-4b6c-8d7e-9f0a1b2c3d4e";

fn config() -> StartConfig {
    StartConfig::example("hub-audit-bucket", "session-logs/")
}

fn home() -> Place {
    Place::new("123456789012", "us-east-1").unwrap()
}

/// The preferences spoke.yaml sets in `account`/`region` (`prefix`: its s3KeyPrefix).
fn spokes(prefix: &str) -> Value {
    json!({"schemaVersion": "1.0", "sessionType": "Standard_Stream", "inputs": {
        "s3BucketName": "hub-audit-bucket", "s3KeyPrefix": prefix, "s3EncryptionEnabled": true,
        "cloudWatchLogGroupName": "/session-audit/sessions", "cloudWatchEncryptionEnabled": true,
        "cloudWatchStreamingEnabled": true, "idleSessionTimeout": "20", "maxSessionDuration": "480",
        "kmsKeyId": "", "runAsEnabled": false, "runAsDefaultUser": "",
        "shellProfile": {"windows": "", "linux": ""}}})
}

/// A `call` on SSM-SessionManagerRunShell in the spoke's eu-west-1, by a person.
fn record(call: &str, request: Value) -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/public/eventbridge_cloudtrail_StartSession_AssumedRole_console.json"
    );
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let d = &mut v["detail"];
    d["eventName"] = call.into();
    d["eventID"] = EVENT_ID.into();
    d["awsRegion"] = "eu-west-1".into();
    d["recipientAccountId"] = SPOKE.into();
    d["requestParameters"] = request;
    d["responseElements"] = Value::Null;
    v["detail"].take()
}

fn by_cloudformation(mut record: Value) -> Value {
    record["userIdentity"]["invokedBy"] = "cloudformation.amazonaws.com".into();
    record["sourceIPAddress"] = "cloudformation.amazonaws.com".into();
    record
}

fn update(content: &Value) -> Value {
    record(
        "UpdateDocument",
        json!({"name": "SSM-SessionManagerRunShell", "content": content.to_string(),
               "documentVersion": "$LATEST"}),
    )
}

fn judged(record: &Value) -> PreferencesChange {
    judge(record, None, &config(), Some(&home())).unwrap()
}

fn why(change: &PreferencesChange) -> &str {
    match &change.verdict {
        Verdict::Drifted(why) => why,
        other => panic!("not drifted: {other:?}"),
    }
}

#[test]
fn the_spokes_own_preferences_conform_under_its_place_only() {
    let ours = spokes("session-logs/210987654321/eu-west-1");
    let change = judged(&by_cloudformation(update(&ours)));
    assert_eq!(change.verdict, Verdict::Conforms);
    assert_eq!(
        change.key().unwrap(),
        ["audit/preferences/dt=2021-01-31/acct=", SPOKE, "/region=eu-west-1/", EVENT_ID, ".json"]
            .concat()
    );
    assert_eq!(change.document_version.as_deref(), Some("$LATEST"));
    // Another place's folder, or the hub's own: the hub would not read them as this place's.
    for elsewhere in ["session-logs/210987654321/us-east-1", "session-logs", "session-logs/"] {
        let change = judged(&by_cloudformation(update(&spokes(elsewhere))));
        assert!(why(&change).contains("report function does not see them"), "{elsewhere}");
    }
    // At home, transcripts sit directly under the prefix.
    let mut at_home = update(&spokes("session-logs"));
    at_home["recipientAccountId"] = "123456789012".into();
    at_home["awsRegion"] = "us-east-1".into();
    assert_eq!(judged(&at_home).verdict, Verdict::Conforms);
}

#[test]
fn content_that_sends_transcripts_elsewhere_is_drift_whoever_made_it() {
    let mut doc = spokes("session-logs/210987654321/eu-west-1");
    doc["inputs"]["s3BucketName"] = "someone-elses-bucket".into();
    doc["inputs"]["shellProfile"]["linux"] = "stty -echo".into();
    for record in [update(&doc), by_cloudformation(update(&doc))] {
        let change = judged(&record);
        let why = why(&change);
        assert!(
            why.contains("someone-elses-bucket") && why.contains("shellProfile.linux"),
            "{why}"
        );
    }
    // As an object rather than JSON text: judged the same.
    let as_object = record(
        "CreateDocument",
        json!({"name": "SSM-SessionManagerRunShell", "content": doc, "documentType": "Session"}),
    );
    assert!(why(&judged(&as_object)).contains("someone-elses-bucket"));
}

#[test]
fn without_content_only_cloudformation_is_not_drift_and_only_aws_can_say_it_was() {
    let request =
        json!({"name": "SSM-SessionManagerRunShell", "content": "HIDDEN_DUE_TO_SECURITY_REASONS"});
    let by_hand = judged(&record("UpdateDocument", request.clone()));
    let why = why(&by_hand);
    assert!(why.contains("arn:aws:sts::123456789012:assumed-role/Admin/jojithom"), "{why}");
    assert!(why.contains("does not carry the new content"), "{why}");
    let stack = judged(&by_cloudformation(record("UpdateDocument", request.clone())));
    assert!(matches!(&stack.verdict, Verdict::Unverified(w) if w.contains("CloudFormation")));
    // The user agent is the caller's to choose: it proves nothing.
    let mut claims = record("UpdateDocument", request);
    claims["userAgent"] = "cloudformation.amazonaws.com".into();
    assert!(matches!(judged(&claims).verdict, Verdict::Drifted(_)));
    // A default-version switch never carries content.
    let switch = record(
        "UpdateDocumentDefaultVersion",
        json!({"name": "SSM-SessionManagerRunShell", "documentVersion": "1"}),
    );
    let change = judged(&switch);
    assert!(super::tests::why(&change).contains("another version made the default"));
    assert_eq!(change.document_version.as_deref(), Some("1"));
    let stack = judged(&by_cloudformation(switch));
    assert!(matches!(stack.verdict, Verdict::Unverified(_)));
}

#[test]
fn a_change_is_stored_and_read_back_as_it_was_judged() {
    for r in [
        update(&spokes("session-logs/210987654321/eu-west-1")),
        by_cloudformation(record(
            "UpdateDocumentDefaultVersion",
            json!({"name": "SSM-SessionManagerRunShell"}),
        )),
        record("DeleteDocument", json!({"name": "SSM-SessionManagerRunShell"})),
    ] {
        let change = judged(&r);
        let stored = serde_json::to_value(&change).unwrap();
        assert!(stored["verdict"].is_string(), "{stored}");
        assert_eq!(stored["why"].is_string(), change.verdict != Verdict::Conforms, "{stored}");
        let read: PreferencesChange = serde_json::from_value(stored).unwrap();
        assert_eq!(read, change);
    }
}

#[test]
fn deleting_the_preferences_is_drift_even_by_the_stack() {
    let delete = record("DeleteDocument", json!({"name": "SSM-SessionManagerRunShell"}));
    for r in [delete.clone(), by_cloudformation(delete)] {
        assert!(why(&judged(&r)).contains("keeps no transcript"));
    }
}

#[test]
fn only_changes_to_the_preferences_document_are_read_and_bad_ones_are_refused() {
    let doc = spokes("x");
    assert!(is_preferences_change(&update(&doc)));
    let mut other_document = update(&doc);
    other_document["requestParameters"]["name"] = "MyRunbook".into();
    let mut read_only = update(&doc);
    read_only["eventName"] = "GetDocument".into();
    let mut other_service = update(&doc);
    other_service["eventSource"] = "ec2.amazonaws.com".into();
    // Refused: nothing changed, however far from ours the content it asked for.
    let mut refused = update(&spokes("elsewhere"));
    refused["errorCode"] = "AccessDenied".into();
    for not in [other_document, read_only, other_service, refused] {
        assert!(!is_preferences_change(&not), "{not}");
    }
    let mut made_up = update(&doc);
    made_up["eventID"] = "../../x".into();
    assert!(judge(&made_up, None, &config(), None).unwrap_err().contains("UUID"));
    let mut nowhere = update(&doc);
    nowhere["awsRegion"] = "../x".into();
    assert!(judge(&nowhere, None, &config(), None).unwrap_err().contains("region"));
    let mut no_account = update(&doc);
    no_account["recipientAccountId"] = Value::Null;
    no_account["userIdentity"] = json!({"type": "AWSService", "invokedBy": "ssm.amazonaws.com"});
    assert!(judge(&no_account, None, &config(), None).unwrap_err().contains("account"));
    let change = judge(&no_account, Some(SPOKE.into()), &config(), None).unwrap();
    assert_eq!(change.account, SPOKE, "the envelope's account");
}
