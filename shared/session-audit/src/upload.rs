//! Transcript uploads from S3 events: classic notifications (`Records[]`), EventBridge
//! `Object Created` events and CloudTrail's data events of the write (which name the
//! uploader), and which keys are transcripts (docs/DESIGN.md §3).

use serde_json::Value;

use crate::keys::{is_account, Place};
use crate::provenance::Uploader;
use crate::session::text;

/// One object the agent (or anyone) created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The bucket.
    pub bucket: String,
    /// The key, decoded (classic notifications URL-encode it, with `+` for space).
    pub key: String,
    /// The key as the event spelled it, for a second try when a producer did not encode it.
    pub raw_key: String,
    /// The object's version, in a versioned bucket.
    pub version_id: Option<String>,
    /// Its ETag.
    pub etag: Option<String>,
    /// Its size in bytes.
    pub size: Option<u64>,
    /// `ObjectCreated:Put`, `ObjectCreated:CompleteMultipartUpload`, `PutObject`, …
    pub reason: String,
    /// When the event happened.
    pub time: Option<String>,
    /// Who wrote it, when the event is CloudTrail's record of the write (S3's own events do
    /// not name the uploading instance).
    pub uploader: Option<Uploader>,
}

/// What an event item asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// A transcript uploaded (or an object under the prefix).
    Upload(Upload),
    /// An object removed (a delete marker, or a version deleted for good): a transcript that
    /// was reported and is then removed is evidence of tampering.
    Removed(Upload),
    /// Not an object creation we act on (a test event, a removal): logged, not an error.
    Ignored(String),
}

/// Decode a notification key: `+` is a space, `%XX` a byte.
pub fn decode_key(raw: &str) -> String {
    let plus = raw.replace('+', " ");
    urlencoding::decode(&plus).map(|c| c.into_owned()).unwrap_or(plus)
}

message_error!(
    /// An event that is neither S3 event shape, or one that names no object.
    BadUploadEvent
);
message_error!(
    /// Why a key is not a transcript (it is ignored, not an error of the event).
    NotATranscript
);

/// The uploads in an S3 event of either shape. `Err` when the input is neither.
pub fn triggers(event: &Value) -> Result<Vec<Trigger>, BadUploadEvent> {
    if event.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Ok(vec![Trigger::Ignored("s3:TestEvent".into())]);
    }
    if let Some(records) = event.get("Records").and_then(Value::as_array) {
        return records.iter().map(classic).collect();
    }
    if event.get("source").and_then(Value::as_str) == Some("aws.s3") {
        let kind = text(event, "/detail-type").unwrap_or_default();
        if kind == "AWS API Call via CloudTrail" {
            return Ok(vec![cloudtrail(event.get("detail").unwrap_or(&Value::Null))?]);
        }
        if kind != "Object Created" && kind != "Object Deleted" {
            return Ok(vec![Trigger::Ignored(format!("EventBridge {kind:?} event"))]);
        }
        let bucket =
            text(event, "/detail/bucket/name").ok_or("Object Created without bucket.name")?;
        let raw_key =
            text(event, "/detail/object/key").ok_or("Object Created without object.key")?;
        let deleted = kind == "Object Deleted";
        let reason = match deleted {
            true => text(event, "/detail/deletion-type").unwrap_or_else(|| kind.clone()),
            false => text(event, "/detail/reason").unwrap_or_else(|| kind.clone()),
        };
        let object = Upload {
            bucket,
            key: raw_key.clone(),
            raw_key,
            version_id: text(event, "/detail/object/version-id"),
            etag: text(event, "/detail/object/etag"),
            size: event.pointer("/detail/object/size").and_then(Value::as_u64),
            reason,
            time: text(event, "/time"),
            uploader: None,
        };
        return Ok(vec![if deleted { Trigger::Removed(object) } else { Trigger::Upload(object) }]);
    }
    Err("neither an S3 notification (Records[]) nor an EventBridge Object Created event".into())
}

/// The calls that write an object, as CloudTrail names them.
const WRITES: [&str; 3] = ["PutObject", "CompleteMultipartUpload", "CopyObject"];

/// A CloudTrail record of an S3 call: a write is an upload whose uploader is known.
fn cloudtrail(record: &Value) -> Result<Trigger, BadUploadEvent> {
    let name = text(record, "/eventName").unwrap_or_default();
    if text(record, "/eventSource").as_deref() != Some("s3.amazonaws.com") {
        return Ok(Trigger::Ignored(format!("record from {:?}", text(record, "/eventSource"))));
    }
    if !WRITES.contains(&name.as_str()) {
        return Ok(Trigger::Ignored(format!("{name} does not write an object")));
    }
    if let Some(code) = text(record, "/errorCode") {
        return Ok(Trigger::Ignored(format!("{name} failed ({code}): nothing was written")));
    }
    let bucket = text(record, "/requestParameters/bucketName")
        .ok_or("CloudTrail S3 record without requestParameters.bucketName")?;
    let key = text(record, "/requestParameters/key")
        .ok_or("CloudTrail S3 record without requestParameters.key")?;
    let uploader =
        Uploader::from_cloudtrail(record).ok_or("CloudTrail S3 record without userIdentity")?;
    Ok(Trigger::Upload(Upload {
        bucket,
        raw_key: key.clone(),
        key,
        version_id: text(record, "/responseElements/x-amz-version-id"),
        etag: None,
        size: None,
        reason: name,
        time: text(record, "/eventTime"),
        uploader: Some(uploader),
    }))
}

fn classic(record: &Value) -> Result<Trigger, BadUploadEvent> {
    let name = text(record, "/eventName").unwrap_or_default();
    // A CloudTrail log file's records (the CLI reads them): the uploader is named.
    if text(record, "/eventSource").as_deref() == Some("s3.amazonaws.com") {
        return cloudtrail(record);
    }
    if text(record, "/eventSource").as_deref() != Some("aws:s3") {
        return Ok(Trigger::Ignored(format!("record from {:?}", text(record, "/eventSource"))));
    }
    let removed = name.starts_with("ObjectRemoved:");
    if !name.starts_with("ObjectCreated:") && !removed {
        return Ok(Trigger::Ignored(format!("{name} is not an object creation or removal")));
    }
    let bucket = text(record, "/s3/bucket/name").ok_or("S3 record without s3.bucket.name")?;
    let raw_key = text(record, "/s3/object/key").ok_or("S3 record without s3.object.key")?;
    let kind = if removed { Trigger::Removed } else { Trigger::Upload };
    Ok(kind(Upload {
        bucket,
        key: decode_key(&raw_key),
        raw_key,
        version_id: text(record, "/s3/object/versionId"),
        etag: text(record, "/s3/object/eTag"),
        size: record.pointer("/s3/object/size").and_then(Value::as_u64),
        reason: name,
        time: text(record, "/eventTime"),
        uploader: None,
    }))
}

/// The place and session ID a transcript key names, or why the key is not a transcript.
/// Transcripts are `<prefix><sessionId>.log` (the hub's own instances: no place, the hub's is
/// meant) or `<prefix><account>/<region>/<sessionId>.log` (another account's or region's: what
/// a spoke's preferences set). Not a transcript: outside the prefix, nested deeper (the agent's
/// `<Plugin>/stderr` objects), below a folder that is no account/region, or ours (`audit/…`,
/// so the function never reacts to its own writes).
pub fn transcript_of(key: &str, prefix: &str) -> Result<(Option<Place>, String), NotATranscript> {
    if key.starts_with("audit/") {
        return Err(format!("{key} is an audit object (our own write)").into());
    }
    let Some(rest) = key.strip_prefix(prefix) else {
        return Err(format!("{key} is outside the transcript prefix {prefix:?}").into());
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let (place, name) = match parts[..] {
        [name] => (None, name),
        [account, region, name] if is_account(account) => match Place::new(account, region) {
            Ok(place) => (Some(place), name),
            Err(e) => return Err(format!("{key} is not a transcript: {e}").into()),
        },
        _ => return Err(format!("{key} is not a transcript (nested below the prefix)").into()),
    };
    let id = name.strip_suffix(".log").unwrap_or(name);
    if id.is_empty() {
        return Err(format!("{key} names no session").into());
    }
    Ok((place, id.to_string()))
}

/// `TRANSCRIPT_PREFIX` as a key prefix: `session-logs` and `session-logs/` both mean the
/// folder; empty means the bucket's top level.
pub fn normalise_prefix(prefix: &str) -> String {
    let p = prefix.trim().trim_start_matches('/');
    if p.is_empty() || p.ends_with('/') {
        p.to_string()
    } else {
        format!("{p}/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixture(name: &str) -> Value {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/public/");
        serde_json::from_str(&std::fs::read_to_string(format!("{path}{name}")).unwrap()).unwrap()
    }

    fn one(v: &Value) -> Upload {
        match triggers(v).unwrap().remove(0) {
            Trigger::Upload(u) => u,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn both_shapes_from_aws_samples() {
        let classic = one(&fixture("s3_notification_record_lambda-events_fixture.json"));
        assert_eq!(classic.key, "Happy Face.jpg");
        assert_eq!(classic.raw_key, "Happy%20Face.jpg");
        assert_eq!(classic.version_id.as_deref(), Some("version"));
        let eb = one(&fixture("eventbridge_s3_Object_Created_awsdocs.json"));
        assert_eq!(eb.bucket, "DOC-EXAMPLE-BUCKET1");
        assert_eq!(eb.version_id.as_deref(), Some("IYV3p45BT0ac8hjHg1houSdS1a.Mro8e"));
        assert_eq!(eb.reason, "PutObject");
    }

    #[test]
    fn cloudtrail_data_events_name_the_uploader() {
        let event = fixture("eventbridge_cloudtrail_s3_PutObject_instance_role.json");
        let u = one(&event);
        assert_eq!(u.key, "session-logs/jdoe-0123456789abcdef0.log");
        assert_eq!(u.version_id.as_deref(), Some("3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"));
        let by = u.uploader.expect("the uploader");
        assert_eq!(by.role_session.as_deref(), Some("i-0a1b2c3d4e5f60718"));
        // The same record in a CloudTrail log file.
        let file = json!({"Records": [event["detail"].clone()]});
        assert_eq!(one(&file).uploader.unwrap().arn, by.arn);
        let mut read = event.clone();
        read["detail"]["eventName"] = "GetObject".into();
        assert!(matches!(triggers(&read).unwrap()[0], Trigger::Ignored(_)));
        let mut denied = event.clone();
        denied["detail"]["errorCode"] = "AccessDenied".into();
        assert!(matches!(triggers(&denied).unwrap()[0], Trigger::Ignored(_)));
        let mut nobody = event;
        nobody["detail"].as_object_mut().unwrap().remove("userIdentity");
        assert!(triggers(&nobody).is_err(), "a write that names no one is refused");
    }

    #[test]
    fn session_ids_with_at_dots_and_equals_survive_encoding() {
        let raw = "session-logs/alice%40example.com-0a1b2c%3D.log";
        assert_eq!(decode_key(raw), "session-logs/alice@example.com-0a1b2c=.log");
        assert_eq!(decode_key("a+b%2Bc"), "a b+c");
        let prefix = normalise_prefix("session-logs");
        let (place, id) = transcript_of(&decode_key(raw), &prefix).unwrap();
        assert_eq!((place, id.as_str()), (None, "alice@example.com-0a1b2c="));
    }

    #[test]
    fn only_transcripts_directly_under_the_prefix_are_reports() {
        let p = normalise_prefix("session-logs/");
        assert!(transcript_of("session-logs/Standard_Stream/stderr", &p).is_err());
        assert!(transcript_of("other/x.log", &p).is_err());
        assert!(transcript_of("audit/reports/dt=2026-11-24/x.json", &normalise_prefix("")).is_err());
        assert!(transcript_of("session-logs/.log", &p).is_err());
        assert_eq!(transcript_of("x.log", &normalise_prefix("")).unwrap(), (None, "x".into()));
        // A spoke's (and, since places, the hub's own) transcripts are below their place.
        let place = Place::new("111122223333", "eu-west-1").unwrap();
        let spoke = transcript_of("session-logs/111122223333/eu-west-1/ana-0a1b.log", &p);
        assert_eq!(spoke.unwrap(), (Some(place), "ana-0a1b".into()));
        for not in [
            "session-logs/111122223333/eu-west-1/Standard_Stream/stderr",
            "session-logs/111122223333/../x.log",
            "session-logs/111122223333/eu-west-1/.log",
            "session-logs/11112222333/eu-west-1/x.log",
            "session-logs/111122223333/eu-west-1",
        ] {
            assert!(transcript_of(not, &p).is_err(), "{not}");
        }
    }

    #[test]
    fn test_events_removals_and_garbage() {
        assert_eq!(
            triggers(&json!({"Service": "Amazon S3", "Event": "s3:TestEvent"})).unwrap(),
            vec![Trigger::Ignored("s3:TestEvent".into())]
        );
        let mut removed = fixture("s3_notification_ObjectCreated_Put_awsdocs.json");
        removed["Records"][0]["eventName"] = "ObjectRemoved:Delete".into();
        match &triggers(&removed).unwrap()[0] {
            Trigger::Removed(u) => assert_eq!(u.reason, "ObjectRemoved:Delete"),
            other => panic!("a removal is a trigger: {other:?}"),
        }
        let mut replication = removed.clone();
        replication["Records"][0]["eventName"] = "Replication:OperationFailedReplication".into();
        assert!(matches!(triggers(&replication).unwrap()[0], Trigger::Ignored(_)));
        let deleted = json!({"source": "aws.s3", "detail-type": "Object Deleted", "time": "2026-11-24T12:00:00Z",
            "detail": {"bucket": {"name": "b"}, "object": {"key": "session-logs/s-1.log", "version-id": "dm1"},
                "deletion-type": "Delete Marker Created"}});
        match &triggers(&deleted).unwrap()[0] {
            Trigger::Removed(u) => {
                assert_eq!(u.reason, "Delete Marker Created");
                assert_eq!(u.version_id.as_deref(), Some("dm1"));
            }
            other => panic!("{other:?}"),
        }
        let mut multipart = fixture("s3_notification_ObjectCreated_Put_awsdocs.json");
        multipart["Records"][0]["eventName"] = "ObjectCreated:CompleteMultipartUpload".into();
        assert_eq!(one(&multipart).reason, "ObjectCreated:CompleteMultipartUpload");
        assert!(triggers(&json!({"hello": 1})).is_err());
        assert!(triggers(
            &json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put"}]})
        )
        .is_err());
    }
}
