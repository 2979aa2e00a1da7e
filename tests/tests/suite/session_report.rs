//! The session report against the local emulator: real-format transcripts uploaded into a
//! versioned bucket, the handler driven with both S3 event shapes built from the upload, the
//! report objects read back, finding events captured, and the real binary run once.

use aws_sdk_s3::primitives::ByteStream;
use serde_json::{json, Value};
use session_audit::analysis::{Analyzer, Input};
use session_audit::keys;
use session_audit::publish::Metrics;
use session_audit::redact::Redactor;
use session_audit::report::{Report, Status};
use session_audit::rules::RulePack;
use session_audit::session::{records, Event, SessionRecord};
use session_audit::session_report::{Outcome, ReportError};
use session_audit::settings::ReportSettings;
use session_audit_aws::session_report::{session_report, AwsSessionReport as SessionReport};
use session_audit_aws::Clients;
use session_audit_tests::findings_capture::{captured_findings, route_findings_to_log};
use session_audit_tests::home_setting;
use session_audit_tests::live_stream::put_stream;
use session_audit_tests::local_aws::LocalAws;
use session_audit_tests::runtime_api::{
    deployed_env, emulator_env, function_binary, LambdaProcess,
};
use session_audit_tests::{check_doc_block, demote_headings};

pub(crate) const BUCKET: &str = "audit-bucket";
const KEY: &[u8] = b"report-test-key";

pub(crate) struct Env {
    pub(crate) aws: LocalAws,
    pub(crate) config: aws_config::SdkConfig,
    pub(crate) clients: Clients,
}

pub(crate) fn analyzer() -> Analyzer {
    Analyzer::new(RulePack::builtin(), Redactor::new(Some(KEY)))
}

pub(crate) fn bytes(rel: &str) -> Vec<u8> {
    std::fs::read(session_audit_tests::fixture(rel)).expect("fixture")
}

/// A classic S3 notification for an upload, the key URL-encoded as S3 does it.
pub(crate) fn classic(key: &str, version: Option<&str>, etag: &str, time: &str) -> Value {
    let encoded: String = urlencoding::encode(key).replace("%2F", "/").replace("%20", "+");
    json!({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": time, "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": BUCKET, "arn": format!("arn:aws:s3:::{BUCKET}")},
            "object": {"key": encoded, "size": 1, "eTag": etag, "versionId": version, "sequencer": "0A"}}}]})
}

/// The same upload as EventBridge delivers it (multipart, as the agent does above 5 MiB).
pub(crate) fn eventbridge(key: &str, version: Option<&str>, etag: &str, time: &str) -> Value {
    json!({"version": "0", "id": "e-1", "detail-type": "Object Created", "source": "aws.s3",
        "account": "123456789012", "time": time, "region": "us-east-1", "resources": [format!("arn:aws:s3:::{BUCKET}")],
        "detail": {"version": "0", "bucket": {"name": BUCKET},
            "object": {"key": key, "size": 1, "etag": etag, "version-id": version, "sequencer": "0A"},
            "request-id": "R", "requester": "123456789012", "reason": "CompleteMultipartUpload"}})
}

/// CloudTrail's data event of the upload, as EventBridge delivers it with `UploadEvidence=
/// CloudTrail`: written by the role session `by` (an instance ID for the agent's own upload),
/// with credentials an EC2 instance received when `ec2` is true.
pub(crate) fn cloudtrail(key: &str, version: &str, by: &str, ec2: bool, time: &str) -> Value {
    let mut v: Value = serde_json::from_slice(&bytes(
        "public/eventbridge_cloudtrail_s3_PutObject_instance_role.json",
    ))
    .unwrap();
    let d = &mut v["detail"];
    d["requestParameters"]["bucketName"] = BUCKET.into();
    d["requestParameters"]["key"] = key.into();
    d["responseElements"]["x-amz-version-id"] = version.into();
    d["eventTime"] = time.into();
    let role = "arn:aws:sts::123456789012:assumed-role/SessionAuditInstanceRole";
    d["userIdentity"]["arn"] = format!("{role}/{by}").into();
    if !ec2 {
        d["userIdentity"]["sessionContext"].as_object_mut().unwrap().remove("ec2RoleDelivery");
    }
    v["time"] = time.into();
    v
}

/// A session record as session-start writes it, for `session_id`, started at `time`.
pub(crate) fn record(
    session_id: &str,
    time: &str,
    edit: impl FnOnce(&mut SessionRecord),
) -> SessionRecord {
    let text = std::fs::read_to_string(session_audit_tests::fixture(
        "public/eventbridge_cloudtrail_StartSession_AssumedRole_console.json",
    ))
    .unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    v["detail"]["responseElements"]["sessionId"] = session_id.into();
    v["detail"]["eventTime"] = time.into();
    let (account, r) = records(&v).into_iter().next().unwrap();
    let mut record = SessionRecord::start(&Event::parse(r, account).unwrap()).unwrap();
    edit(&mut record);
    record
}

impl Env {
    pub(crate) async fn start() -> Env {
        let aws = LocalAws::start();
        let config = aws.sdk_config().await;
        let clients = Clients::with_path_style(&config, true);
        clients.s3.create_bucket().bucket(BUCKET).send().await.unwrap();
        let on = aws_sdk_s3::types::VersioningConfiguration::builder()
            .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
            .build();
        clients
            .s3
            .put_bucket_versioning()
            .bucket(BUCKET)
            .versioning_configuration(on)
            .send()
            .await
            .unwrap();
        route_findings_to_log(&clients).await;
        Env { aws, config, clients }
    }

    pub(crate) fn reporter(&self, extra: &[(&str, &str)]) -> SessionReport {
        let get = |k: &str| {
            extra
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
                .or_else(|| (k == "AUDIT_BUCKET").then(|| BUCKET.to_string()))
                .or_else(|| home_setting(k))
        };
        let mut environment: Vec<(&str, String)> =
            extra.iter().map(|(k, v)| (*k, v.to_string())).collect();
        if get("AUDIT_BUCKET").as_deref() == Some(BUCKET) {
            environment.push(("AUDIT_BUCKET", BUCKET.into()));
        }
        let clients = self.aws.clients_as(&self.config, "SessionReportFunction", &environment, &[]);
        session_report(&clients, ReportSettings::read(get).unwrap(), analyzer())
    }

    /// Upload `body` at `key`; returns (version, etag).
    pub(crate) async fn upload(&self, key: &str, body: Vec<u8>) -> (String, String) {
        let out = self
            .clients
            .s3
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .body(ByteStream::from(body))
            .send()
            .await
            .unwrap();
        (out.version_id().unwrap().to_string(), out.e_tag().unwrap().trim_matches('"').to_string())
    }

    pub(crate) async fn put_record(&self, r: &SessionRecord) {
        let body = serde_json::to_vec(r).unwrap();
        self.clients
            .s3
            .put_object()
            .bucket(BUCKET)
            .key(r.key().unwrap())
            .body(body.into())
            .send()
            .await
            .unwrap();
    }

    pub(crate) async fn get(&self, key: &str) -> Option<(Vec<u8>, String)> {
        let out = self.clients.s3.get_object().bucket(BUCKET).key(key).send().await.ok()?;
        let etag = out.e_tag().unwrap_or_default().to_string();
        Some((out.body.collect().await.unwrap().into_bytes().to_vec(), etag))
    }

    pub(crate) async fn report(&self, key: &str) -> Report {
        let (b, _) = self.get(key).await.unwrap_or_else(|| panic!("no report at {key}"));
        serde_json::from_slice(&b).expect("report JSON")
    }

    /// The live state session-stream keeps for a session whose `events` began at `began`.
    pub(crate) async fn put_live_state(
        &self,
        session: &str,
        began: jiff::Timestamp,
        events: usize,
    ) {
        let at = |t: jiff::Timestamp| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        let last = at(began + jiff::SignedDuration::from_secs(events as i64));
        let state = json!({"session_id": session, "first_event_time": at(began),
            "last_event_time": last, "shell": {"known_prompts": [], "open": false, "next_seq": 1,
            "prompt_seen": false, "abandoned": 0}, "seen": [], "horizon": 0, "newest": 0, "open_seq": 0,
            "open_rules": [], "events": events, "commands": 0, "findings": 0, "late_events": 0,
            "skipped_events": 0, "unreadable_events": 0});
        let key = keys::live_state(&session_audit_tests::local_session(session));
        let body = state.to_string().into_bytes().into();
        self.clients.s3.put_object().bucket(BUCKET).key(&key).body(body).send().await.unwrap();
    }

    pub(crate) async fn keys(&self, prefix: &str) -> Vec<String> {
        let out =
            self.clients.s3.list_objects_v2().bucket(BUCKET).prefix(prefix).send().await.unwrap();
        out.contents().iter().filter_map(|o| o.key().map(str::to_string)).collect()
    }
}

pub(crate) async fn run(r: &SessionReport, event: &Value) -> Result<Vec<Outcome>, ReportError> {
    let mut m = Metrics::default();
    r.handle(event, &mut m).await.map(|v| v.into_iter().map(|x| x.outcome).collect())
}

pub(crate) fn ids(r: &Report) -> Vec<&str> {
    r.findings.iter().map(|f| f.rule_id.as_str()).collect()
}

#[tokio::test]
async fn recorded_and_public_transcripts_become_reports_joined_with_their_session_record() {
    let env = Env::start().await;
    let reporter = env.reporter(&[]);
    let transcripts = [
        "recorded/al2023_sh_editing.log",
        "recorded/al2023_sh_narrow_wrap.log",
        "recorded/al2023_sh_risky.log",
        "recorded/rhel_bash_title_paste.log",
        "recorded/ubuntu_dash_cooked.log",
        "public/s3_transcript_al2_util-linux-2.30_header_hatenablog.log",
        "public/s3_transcript_ubuntu_dash_util-linux-2.37.log",
        "public/s3_transcript_al2_legacy_screen_ssm-session-logger_2020.log",
    ];
    for (n, rel) in transcripts.iter().enumerate() {
        let session = format!("alice-{n:017x}");
        env.put_record(&record(&session, "2026-11-24T09:00:00Z", |_| {})).await;
        let key = format!("session-logs/{session}.log");
        let body = bytes(rel);
        let (version, etag) = env.upload(&key, body.clone()).await;
        let event = if n % 2 == 0 {
            classic(&key, Some(&version), &etag, "2026-11-24T09:40:00.000Z")
        } else {
            eventbridge(&key, Some(&version), &etag, "2026-11-24T09:40:00Z")
        };
        let outcome = run(&reporter, &event).await.unwrap_or_else(|e| panic!("{rel}: {e}"));
        let json_key =
            keys::report("2026-11-24", &session_audit_tests::local_session(&session), "json")
                .unwrap();
        let Outcome::Reported { json_key: k, .. } = &outcome[0] else {
            panic!("{rel}: {outcome:?}")
        };
        assert_eq!(k, &json_key);
        let stored = env.report(&json_key).await;
        let local = analyzer().analyze_bytes(&body, Input::default());
        assert_eq!(
            stored.commands, local.commands,
            "{rel}: the handler streams what the engine reads"
        );
        assert_eq!(
            stored.identity.as_ref().unwrap()["arn"],
            "arn:aws:sts::123456789012:assumed-role/Admin/jojithom",
            "{rel}"
        );
        assert_eq!(stored.target.as_ref().unwrap()["instance_id"], "i-023ad911b5d49dece");
        assert_eq!(stored.started_at.as_deref(), Some("2026-11-24T09:00:00Z"));
        assert!(stored.ended_at.is_some(), "{rel}");
        assert_eq!(stored.source.version_id.as_deref(), Some(version.as_str()));
        assert_eq!(stored.source.bucket.as_deref(), Some(BUCKET));
        let (md, _) = env
            .get(
                &keys::report("2026-11-24", &session_audit_tests::local_session(&session), "md")
                    .unwrap(),
            )
            .await
            .expect("markdown");
        let md = String::from_utf8(md).unwrap();
        assert!(md.contains(&session), "{rel}: markdown names the session");
    }
    let editing = env
        .report(
            &keys::report(
                "2026-11-24",
                &session_audit_tests::local_session("alice-00000000000000000"),
                "json",
            )
            .unwrap(),
        )
        .await;
    let expected: Value =
        serde_json::from_slice(&bytes("recorded/al2023_sh_editing.expected.json")).unwrap();
    let got: Vec<&str> = editing.commands.iter().map(|c| c.command.as_str()).collect();
    assert_eq!(json!(got), expected["commands"], "bash's own history");
    let risky = env
        .report(
            &keys::report(
                "2026-11-24",
                &session_audit_tests::local_session("alice-00000000000000002"),
                "json",
            )
            .unwrap(),
        )
        .await;
    assert_eq!(risky.status, Status::NonCompliant);
    let published = captured_findings(&env.aws).await;
    assert!(!published.is_empty());
    for f in &published {
        assert!(f["record"]
            .as_str()
            .unwrap()
            .starts_with(&format!("s3://{BUCKET}/audit/reports/")));
        assert_eq!(f["principal"], "arn:aws:sts::123456789012:assumed-role/Admin/jojithom");
    }
    let risky_events =
        published.iter().filter(|f| f["session_id"] == "alice-00000000000000002").count();
    assert_eq!(risky_events, risky.findings.len(), "every finding of the report went out once");
}

#[tokio::test]
async fn url_encoded_keys_duplicates_and_the_version_named_by_the_event() {
    let env = Env::start().await;
    let reporter = env.reporter(&[]);
    let session = "alice@example.com-0a1b2c3d4e5f=";
    env.put_record(&record(session, "2026-11-24T09:00:00Z", |_| {})).await;
    let key = format!("session-logs/{session}.log");
    let first = bytes("recorded/al2023_sh_risky.log");
    let (v1, etag1) = env.upload(&key, first.clone()).await;
    // Overwritten before the event is handled: the report is of the version the event names.
    env.upload(&key, b"not a transcript at all".to_vec()).await;
    let event = classic(&key, Some(&v1), &etag1, "2026-11-24T09:40:00.000Z");
    assert!(event.to_string().contains("alice%40example.com-0a1b2c3d4e5f%3D.log"), "{event}");
    run(&reporter, &event).await.unwrap();
    let json_key =
        keys::report("2026-11-24", &session_audit_tests::local_session(session), "json").unwrap();
    let stored = env.report(&json_key).await;
    assert_eq!(stored.commands, analyzer().analyze_bytes(&first, Input::default()).commands);
    let (_, json_etag) = env.get(&json_key).await.unwrap();
    let published = captured_findings(&env.aws).await.len();

    let again = run(&reporter, &event).await.unwrap();
    assert_eq!(
        again,
        vec![Outcome::Duplicate {
            md_key: keys::report("2026-11-24", &session_audit_tests::local_session(session), "md")
                .unwrap()
        }]
    );
    assert_eq!(env.get(&json_key).await.unwrap().1, json_etag, "not rewritten");
    assert_eq!(captured_findings(&env.aws).await.len(), published, "published once");
    let versions = env
        .clients
        .s3
        .list_object_versions()
        .bucket(BUCKET)
        .prefix(&json_key)
        .send()
        .await
        .unwrap();
    assert_eq!(versions.versions().len(), 1, "one report, not a second one");
}

/// A transcript larger than MAX_TRANSCRIPT_MIB is read up to the cap (issue 25, attack 7: the
/// instance role can upload any size): the report is stored, truncated, saying where reading
/// stopped, with every command before the cap.
#[tokio::test]
async fn a_transcript_past_the_size_cap_is_reported_truncated_up_to_it() {
    let env = Env::start().await;
    let reporter = env.reporter(&[("MAX_TRANSCRIPT_MIB", "1")]);
    let session = "eve-0a1b2c3d4e5f60718";
    env.put_record(&record(session, "2026-11-24T09:00:00Z", |_| {})).await;
    let risky = bytes("recorded/al2023_sh_risky.log");
    let footer = risky.windows(11).rposition(|w| w == b"Script done").unwrap();
    let mut big = risky[..footer].to_vec();
    for i in 0..80_000 {
        big.extend_from_slice(
            format!("output line {i:>8} of a very long listing\r\r\n").as_bytes(),
        );
    }
    big.extend_from_slice(&risky[footer..]);
    assert!(big.len() > 2 << 20, "{} bytes", big.len());
    let key = format!("session-logs/{session}.log");
    let (v, etag) = env.upload(&key, big).await;
    let out = run(&reporter, &classic(&key, Some(&v), &etag, "2026-11-24T09:40:00.000Z")).await;
    let out = out.unwrap();
    let Outcome::Reported { json_key, status, .. } = &out[0] else { panic!("{out:?}") };
    assert_eq!(*status, Status::Truncated);
    let report = env.report(json_key).await;
    let reason = report.status_reason.clone().unwrap_or_default();
    assert!(reason.contains("MAX_TRANSCRIPT_MIB (1 MiB): read up to byte 1048576"), "{reason}");
    assert_eq!(report.source.sha256, None, "a cut transcript's hash would name no version");
    let whole = analyzer().analyze_bytes(&risky, Input::default());
    let texts = |r: &Report| r.commands.iter().map(|c| c.command.clone()).collect::<Vec<_>>();
    assert_eq!(texts(&report), texts(&whole), "every command before the cap");
}

/// An `Object Deleted` event is not taken on its word (issue 25, attack 6): a made-up delete
/// marker while the transcript is still there, and the reported version "deleted for good"
/// while S3 still has it, report nothing and publish nothing; the same version really deleted
/// is reported as SA-TRN-REPLACED.
#[tokio::test]
async fn a_removal_is_confirmed_with_s3_before_it_is_reported() {
    let env = Env::start().await;
    let reporter = env.reporter(&[]);
    let session = "bob-0a1b2c3d4e5f60718";
    env.put_record(&record(session, "2026-11-24T09:00:00Z", |_| {})).await;
    let key = format!("session-logs/{session}.log");
    let (v1, etag1) = env.upload(&key, bytes("recorded/al2023_sh_risky.log")).await;
    run(&reporter, &classic(&key, Some(&v1), &etag1, "2026-11-24T09:40:00.000Z")).await.unwrap();
    let deleted = |version: &str, kind: &str| {
        json!({"version": "0", "id": "e-forged", "detail-type": "Object Deleted",
            "source": "aws.s3", "account": "123456789012", "time": "2026-11-24T12:00:00Z",
            "region": "us-east-1", "detail": {"version": "0", "bucket": {"name": BUCKET},
                "object": {"key": key, "version-id": version, "sequencer": "0C"},
                "deletion-type": kind, "request-id": "R", "requester": "123456789012"}})
    };
    let before = env.keys("audit/").await;
    for (version, kind) in
        [("madeUpMarker0001", "Delete Marker Created"), (v1.as_str(), "Permanently Deleted")]
    {
        let out = run(&reporter, &deleted(version, kind)).await.unwrap();
        let Outcome::Ignored { reason } = &out[0] else { panic!("{kind}: {out:?}") };
        assert!(reason.contains("not confirmed"), "{reason}");
    }
    assert_eq!(env.keys("audit/").await, before, "nothing stored for a removal S3 denies");
    let published = captured_findings(&env.aws).await;
    assert!(published.iter().all(|f| f["rule_id"] != "SA-TRN-REPLACED"), "{published:?}");

    env.clients.s3.delete_object().bucket(BUCKET).key(&key).version_id(&v1).send().await.unwrap();
    let out = run(&reporter, &deleted(&v1, "Permanently Deleted")).await.unwrap();
    let Outcome::Reported { findings, .. } = &out[0] else { panic!("{out:?}") };
    assert_eq!(findings, &["SA-TRN-REPLACED"]);
}

/// Anyone in a session may overwrite its transcript later (the instance role may put under
/// the prefix): the first report stays, the later version is reported beside it, and
/// SA-TRN-REPLACED names both versions, stored and published.
#[tokio::test]
async fn a_transcript_replaced_after_its_report_keeps_the_first_and_raises_replaced() {
    let env = Env::start().await;
    let reporter = env.reporter(&[]);
    let session = "mallory-0a1b2c3d4e5f60718";
    env.put_record(&record(session, "2026-11-24T09:00:00Z", |_| {})).await;
    let key = format!("session-logs/{session}.log");
    let risky = bytes("recorded/al2023_sh_risky.log");
    let (v1, etag1) = env.upload(&key, risky.clone()).await;
    run(&reporter, &classic(&key, Some(&v1), &etag1, "2026-11-24T09:40:00.000Z")).await.unwrap();
    let first_key =
        keys::report("2026-11-24", &session_audit_tests::local_session(session), "json").unwrap();
    let first = env.report(&first_key).await;

    let clean = bytes("recorded/al2023_sh_narrow_wrap.log");
    let (v2, etag2) = env.upload(&key, clean.clone()).await;
    let event = classic(&key, Some(&v2), &etag2, "2026-11-24T11:00:00.000Z");
    let out = run(&reporter, &event).await.unwrap();
    let beside = keys::replaced_report(
        "2026-11-24",
        &session_audit_tests::local_session(session),
        &v2,
        "json",
    )
    .unwrap();
    let Outcome::Reported { json_key, findings, .. } = &out[0] else { panic!("{out:?}") };
    assert_eq!(json_key, &beside);
    assert!(findings.contains(&"SA-TRN-REPLACED".to_string()), "{findings:?}");

    let kept = env.report(&first_key).await;
    assert_eq!(kept, first, "the first report is kept as it was");
    assert!(kept.commands.iter().any(|c| c.command == "history -c"), "its commands remain");
    let later = env.report(&beside).await;
    assert_eq!(later.commands, analyzer().analyze_bytes(&clean, Input::default()).commands);
    let replaced = later.findings.iter().find(|f| f.rule_id == "SA-TRN-REPLACED").unwrap();
    assert!(replaced.evidence.contains(&v1) && replaced.evidence.contains(&v2), "{replaced:?}");
    let published = captured_findings(&env.aws).await;
    assert!(
        published.iter().any(|f| f["rule_id"] == "SA-TRN-REPLACED"),
        "published: {published:?}"
    );
    // Redelivered: nothing twice.
    let again = run(&reporter, &event).await.unwrap();
    assert!(matches!(again[0], Outcome::Duplicate { .. }), "{again:?}");

    // Then deleted (a delete marker): the reports stay, the removal is raised and stored.
    let marker = env.clients.s3.delete_object().bucket(BUCKET).key(&key).send().await.unwrap();
    let marker = marker.version_id().unwrap().to_string();
    let deleted = json!({"version": "0", "id": "e-2", "detail-type": "Object Deleted", "source": "aws.s3",
        "account": "123456789012", "time": "2026-11-24T12:00:00Z", "region": "us-east-1",
        "detail": {"version": "0", "bucket": {"name": BUCKET},
            "object": {"key": key, "version-id": marker, "sequencer": "0B"},
            "deletion-type": "Delete Marker Created", "request-id": "R", "requester": "123456789012"}});
    let out = run(&reporter, &deleted).await.unwrap();
    let Outcome::Reported { json_key, findings, .. } = &out[0] else { panic!("{out:?}") };
    assert_eq!(findings, &["SA-TRN-REPLACED"]);
    let removal = env.report(json_key).await;
    assert!(removal.findings[0].evidence.contains("Delete Marker Created"), "{removal:?}");
    assert_eq!(env.report(&first_key).await, first, "the first report is still kept");
    let published = captured_findings(&env.aws).await;
    let raised = published.iter().filter(|f| f["rule_id"] == "SA-TRN-REPLACED").count();
    assert_eq!(raised, 2, "the replacement and the removal");
    let again = run(&reporter, &deleted).await.unwrap();
    assert!(matches!(again[0], Outcome::Duplicate { .. }), "{again:?}");
}

#[tokio::test]
async fn garbage_empty_truncated_and_missing_record_are_reported_not_dropped() {
    let env = Env::start().await;
    let reporter = env.reporter(&[]);
    let risky = bytes("recorded/al2023_sh_risky.log");
    let cut = risky[..risky.len() * 2 / 3].to_vec();
    let mut binary = vec![0u8; 4096];
    for (i, b) in binary.iter_mut().enumerate() {
        *b = (i * 7919 % 251) as u8;
    }
    let cases: Vec<(&str, Vec<u8>, Status)> = vec![
        ("empty", Vec::new(), Status::Unparseable),
        ("binary", binary, Status::Unparseable),
        ("cut", cut, Status::Truncated),
    ];
    for (name, body, status) in cases {
        let session = format!("bob-{name}");
        env.put_record(&record(&session, "2026-11-24T09:00:00Z", |_| {})).await;
        let key = format!("session-logs/{session}.log");
        let (v, e) = env.upload(&key, body).await;
        run(&reporter, &classic(&key, Some(&v), &e, "2026-11-24T10:00:00Z")).await.unwrap();
        let r = env
            .report(
                &keys::report("2026-11-24", &session_audit_tests::local_session(&session), "json")
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, status, "{name}");
        assert!(r.status_reason.is_some(), "{name}: the reason is stated");
    }

    // No StartSession recorded: the report says so, dated by the upload.
    let key = "session-logs/carol-0123456789abcdef0.log";
    let (v, e) = env.upload(key, bytes("recorded/al2023_sh_editing.log")).await;
    run(&reporter, &classic(key, Some(&v), &e, "2026-11-25T01:00:00Z")).await.unwrap();
    let r = env
        .report(
            &keys::report(
                "2026-11-25",
                &session_audit_tests::local_session("carol-0123456789abcdef0"),
                "json",
            )
            .unwrap(),
        )
        .await;
    assert_eq!(ids(&r)[0], "SA-SES-NO-START-RECORD");
    assert!(r.identity.is_none());
    assert_eq!(r.status, Status::NonCompliant);
}

#[tokio::test]
async fn session_rules_need_both_sources_and_start_findings_are_carried() {
    let env = Env::start().await;
    let reporter = env.reporter(&[("MAX_SESSION_MINUTES", "60")]);
    let pack = RulePack::builtin();
    let rec = record("dave-0123456789abcdef0", "2026-11-24T09:00:00Z", |r| {
        r.terminated_at = Some("2026-11-24T11:30:00Z".into());
        r.findings = pack.session_finding("no_mfa", "no MFA".into()).into_iter().collect();
        r.findings_sent = true;
    });
    env.put_record(&rec).await;
    let root_shell = b"Script started on 2026-11-24 11:30:00+00:00\r\n[root@ip-10-0-0-1 ~]# whoami\r\r\nroot\r\n[root@ip-10-0-0-1 ~]# exit\r\r\nexit\r\n\r\nScript done on 2026-11-24 11:30:05+00:00\r\n".to_vec();
    let key = "session-logs/dave-0123456789abcdef0.log";
    let (v, e) = env.upload(key, root_shell).await;
    run(&reporter, &eventbridge(key, Some(&v), &e, "2026-11-24T11:31:00Z")).await.unwrap();
    let r = env
        .report(
            &keys::report(
                "2026-11-24",
                &session_audit_tests::local_session("dave-0123456789abcdef0"),
                "json",
            )
            .unwrap(),
        )
        .await;
    assert_eq!(
        &ids(&r)[..3],
        ["SA-SES-NO-MFA", "SA-SES-TOO-LONG", "SA-SES-RUN-AS-ROOT"],
        "{:?}",
        ids(&r)
    );
    assert_eq!(r.ended_at.as_deref(), Some("2026-11-24T11:30:00Z"), "TerminateSession time");
    let published: Vec<String> = captured_findings(&env.aws)
        .await
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        !published.contains(&"SA-SES-NO-MFA".to_string()),
        "start findings went out at start: {published:?}"
    );
    assert!(published.contains(&"SA-SES-RUN-AS-ROOT".to_string()));
}

#[tokio::test]
async fn what_is_not_a_transcript_is_ignored_and_aws_errors_fail_the_invocation() {
    let env = Env::start().await;
    let reporter = env.reporter(&[]);
    let ignored = [
        json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": BUCKET}),
        classic("session-logs/Standard_Stream/stderr", Some("v"), "e", "2026-11-24T10:00:00Z"),
        classic("audit/reports/dt=2026-11-24/x.json", Some("v"), "e", "2026-11-24T10:00:00Z"),
        classic("elsewhere/x.log", Some("v"), "e", "2026-11-24T10:00:00Z"),
        {
            let mut other = classic("session-logs/x.log", Some("v"), "e", "2026-11-24T10:00:00Z");
            other["Records"][0]["s3"]["bucket"]["name"] = "someone-elses".into();
            other
        },
    ];
    for event in &ignored {
        let out = run(&reporter, event).await.unwrap();
        assert!(matches!(out[0], Outcome::Ignored { .. }), "{event}: {out:?}");
    }
    assert!(env.keys("audit/").await.is_empty());
    assert!(matches!(run(&reporter, &json!({"what": 1})).await, Err(ReportError::Malformed(_))));

    let key = "session-logs/erin-0123456789abcdef0.log";
    let (v, e) = env.upload(key, bytes("recorded/al2023_sh_risky.log")).await;
    let event = classic(key, Some(&v), &e, "2026-11-24T10:00:00Z");
    env.aws.fail_on("GetObject");
    let err = run(&reporter, &event).await.unwrap_err();
    assert!(matches!(err, ReportError::Store { .. }), "{err}");
    assert!(
        err.to_string().contains("GetObject failed") && err.to_string().contains("InjectedFailure"),
        "{err}"
    );
    env.aws.fail_on("PutEvents");
    let err = run(&reporter, &event).await.unwrap_err();
    assert!(matches!(err, ReportError::Sink { .. }), "{err}");
    assert!(err.to_string().contains("InjectedFailure"), "{err}");
    assert!(
        env.keys("audit/reports/").await.iter().all(|k| k.ends_with(".json")),
        "no Markdown: not complete"
    );
    env.aws.heal();
    let out = run(&reporter, &event).await.unwrap();
    assert!(matches!(out[0], Outcome::Reported { .. }), "the retry completes it: {out:?}");
    assert!(!captured_findings(&env.aws).await.is_empty());
}

#[tokio::test]
async fn the_real_binary_reports_through_the_lambda_runtime_api() {
    let env = Env::start().await;
    let key = "session-logs/frank-0123456789abcdef0.log";
    let (v, e) = env.upload(key, bytes("recorded/al2023_sh_risky.log")).await;
    let mut vars = emulator_env(&env.aws);
    vars.push(("AUDIT_BUCKET", BUCKET.to_string()));
    vars.push(("TMPDIR", std::env::temp_dir().display().to_string()));
    let mut function = LambdaProcess::start(
        &function_binary("session-report"),
        &deployed_env(&env.aws, "SessionReportFunction", vars, &[]),
    );
    let answer =
        function.invoke(&classic(key, Some(&v), &e, "2026-11-24T10:00:00Z")).expect("handled");
    assert_eq!(answer["reported"][0]["outcome"], "reported", "{answer}");
    let r = env
        .report(
            &keys::report(
                "2026-11-24",
                &session_audit_tests::local_session("frank-0123456789abcdef0"),
                "json",
            )
            .unwrap(),
        )
        .await;
    assert_eq!(r.status, Status::NonCompliant);
    let err = function.invoke(&json!({"nonsense": true})).unwrap_err();
    assert_eq!(err["errorType"], "MalformedEvent", "{err}");
    assert!(err["errorMessage"].as_str().unwrap().contains("malformed event"), "{err}");
    let lines = function.settled_output();
    let emf: Vec<Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("_aws").is_some())
        .collect();
    assert_eq!(emf.len(), 2, "{lines:#?}");
    assert_eq!(emf[0]["SessionsReported"], 1.0);
    assert_eq!(emf[0]["Commands"].as_f64().unwrap() as u64, r.stats.commands);

    // A transcript planted under a recorded session by another instance, as CloudTrail's data
    // event delivers it: reported apart, counted, the session's own place left empty.
    let session = "grace-0123456789abcdef0";
    env.put_record(&record(session, "2026-11-24T09:00:00Z", |_| {})).await;
    let key = format!("session-logs/{session}.log");
    let (v, _) = env.upload(&key, bytes("recorded/al2023_sh_risky.log")).await;
    let planted = cloudtrail(&key, &v, "i-0aaaaaaaaaaaaaaaa", true, "2026-11-24T09:10:00Z");
    let answer = function.invoke(&planted).expect("handled");
    let json_key = answer["reported"][0]["json_key"].as_str().unwrap_or_default();
    assert!(json_key.contains("/untrusted/"), "{answer}");
    assert!(env
        .get(
            &keys::report("2026-11-24", &session_audit_tests::local_session(session), "json")
                .unwrap()
        )
        .await
        .is_none());
    let lines = function.settled_output();
    let last_emf = lines.iter().rev().filter_map(|l| serde_json::from_str::<Value>(l).ok());
    let last_emf = last_emf.into_iter().find(|v| v.get("_aws").is_some()).unwrap();
    assert_eq!(last_emf["UntrustedUploads"], 1.0, "{last_emf}");
}

/// docs/example-report.md is what the handler writes (headings demoted one level to sit under
/// the page's title; moto's random version ID replaced). `UPDATE_DOC_EXAMPLES=1` rewrites it.
#[tokio::test]
async fn the_doc_example_report_is_what_the_handler_writes() {
    let env = Env::start().await;
    let reporter = env.reporter(&[]);
    let session = "ana.lopez@example.com-0f3c1b2a9d8e7c6b5";
    let pack = RulePack::builtin();
    env.put_record(&record(session, "2026-11-24T21:47:12Z", |r| {
        r.findings = pack
            .session_finding(
                "no_mfa",
                format!("{} authenticated without MFA", r.identity.arn.clone().unwrap()),
            )
            .into_iter()
            .collect();
        r.terminated_at = Some("2026-11-24T22:58:51Z".into());
    }))
    .await;
    let key = format!("session-logs/{session}.log");
    let (v, _) = env.upload(&key, bytes("recorded/al2023_sh_risky.log")).await;
    // Deployed as recommended: the upload's CloudTrail data event names the instance.
    let upload = cloudtrail(&key, &v, "i-023ad911b5d49dece", true, "2026-11-24T22:59:02Z");
    run(&reporter, &upload).await.unwrap();
    let (md, _) = env
        .get(
            &keys::report("2026-11-24", &session_audit_tests::local_session(session), "md")
                .unwrap(),
        )
        .await
        .unwrap();
    let md = String::from_utf8(md).unwrap().replace(&v, "<version>");
    check_doc_block("example-report.md", "example-report", &demote_headings(&md));
}

/// With the session's CloudWatch stream in the transcript log group, the report times each
/// command from it; a transcript edited before upload (a command deleted from ipcTempFile.log)
/// lacks what the stream saw and raises SA-TRN-CHANNELS-DISAGREE, published with the rest.
#[tokio::test]
async fn reports_join_the_session_stream_and_catch_an_edited_transcript() {
    let env = Env::start().await;
    let group = "/session-audit/test/sessions";
    env.clients.logs.create_log_group().log_group_name(group).send().await.unwrap();
    let reporter = env.reporter(&[("TRANSCRIPT_LOG_GROUP", group)]);
    let original = bytes("recorded/al2023_sh_risky.log");
    let at = original.windows(10).position(|w| w == b"install.sh").unwrap();
    let start = original[..at].iter().rposition(|&b| b == b'\n').unwrap() + 1;
    let end = at + original[at..].iter().position(|&b| b == b'\n').unwrap() + 1;
    let edited = [&original[..start], &original[end..]].concat();
    let began: jiff::Timestamp = "2026-11-24T09:00:00Z".parse().unwrap();
    for (session, body) in
        [("honest-0123456789abcdef0", &original), ("edited-0123456789abcdef0", &edited)]
    {
        put_stream(&env.clients, group, session, &original, began).await;
        env.put_record(&record(session, "2026-11-24T09:00:00Z", |_| {})).await;
        let key = format!("session-logs/{session}.log");
        let (version, etag) = env.upload(&key, body.clone()).await;
        run(&reporter, &classic(&key, Some(&version), &etag, "2026-11-24T09:40:00.000Z"))
            .await
            .unwrap();
    }
    let honest = env
        .report(
            &keys::report(
                "2026-11-24",
                &session_audit_tests::local_session("honest-0123456789abcdef0"),
                "json",
            )
            .unwrap(),
        )
        .await;
    assert!(!ids(&honest).contains(&"SA-TRN-CHANNELS-DISAGREE"), "{:?}", ids(&honest));
    assert!(
        honest
            .commands
            .iter()
            .all(|c| c.time.as_deref().is_some_and(|t| t.starts_with("2026-11-24T09:00:"))),
        "{:?}",
        honest.commands
    );
    let channels = honest.stats.channels.clone().expect("compared with the stream");
    assert_eq!(
        (channels.stream_only, channels.timed),
        (0, honest.commands.len() as u64),
        "{channels:?}"
    );

    let edited = env
        .report(
            &keys::report(
                "2026-11-24",
                &session_audit_tests::local_session("edited-0123456789abcdef0"),
                "json",
            )
            .unwrap(),
        )
        .await;
    let finding = edited
        .findings
        .iter()
        .find(|f| f.rule_id == "SA-TRN-CHANNELS-DISAGREE")
        .expect("disagreement");
    assert!(finding.evidence.contains("install.sh | sh"), "{}", finding.evidence);
    assert_eq!(edited.status, Status::NonCompliant);
    let published = captured_findings(&env.aws).await;
    let event =
        published.iter().find(|d| d["rule_id"] == "SA-TRN-CHANNELS-DISAGREE").expect("published");
    assert_eq!(
        (event["session_id"].as_str(), event["stage"].as_str()),
        (Some("edited-0123456789abcdef0"), Some("report"))
    );
    // The Markdown shows each command's time.
    let (md, _) = env
        .get(
            &keys::report(
                "2026-11-24",
                &session_audit_tests::local_session("honest-0123456789abcdef0"),
                "md",
            )
            .unwrap(),
        )
        .await
        .unwrap();
    assert!(String::from_utf8(md).unwrap().contains("09:00:0"), "times in the Markdown");
}

/// The hourly sweep against the emulator: a session that streamed (its stream in the log
/// group, its live state in the bucket) and never uploaded a transcript is reported from the
/// stream once the grace period has passed.
#[tokio::test]
async fn the_hourly_sweep_reports_a_streamed_session_without_a_transcript() {
    let env = Env::start().await;
    let group = "/session-audit/test/sessions";
    env.clients.logs.create_log_group().log_group_name(group).send().await.unwrap();
    let reporter = env.reporter(&[("TRANSCRIPT_LOG_GROUP", group)]);
    let session = "gone-0123456789abcdef0";
    let began = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1);
    let events =
        put_stream(&env.clients, group, session, &bytes("recorded/al2023_sh_risky.log"), began)
            .await;
    let day = began.strftime("%Y-%m-%d").to_string();
    env.put_record(&record(session, &began.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(), |_| {}))
        .await;
    env.put_live_state(session, began, events.len()).await;

    let as_of = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(3)).to_string();
    let sweep = json!({"kind": "stream-reports", "as_of": as_of});
    let out = run(&reporter, &sweep).await.unwrap();
    assert!(matches!(&out[0], Outcome::Reported { .. }), "{out:?}");
    let report = env
        .report(&keys::report(&day, &session_audit_tests::local_session(session), "json").unwrap())
        .await;
    assert_eq!(report.source.log_stream.as_deref(), Some(session));
    assert!(ids(&report).contains(&"SA-CMD-040"), "{:?}", ids(&report));
    let again = run(&reporter, &sweep).await.unwrap();
    assert!(matches!(&again[0], Outcome::Duplicate { .. }), "{again:?}");
}

/// The hourly sweep looks at `SWEEP_BATCH` quiet sessions per run and goes on where the last
/// run stopped, so made-up streams (anyone with the instance role can write one) delay it but
/// never stop it; a stream no session record names is never reported (it names no one).
#[tokio::test]
async fn the_sweep_goes_on_where_it_stopped_and_reports_no_stream_without_a_record() {
    let env = Env::start().await;
    let group = "/session-audit/test/sessions";
    env.clients.logs.create_log_group().log_group_name(group).send().await.unwrap();
    let reporter = env.reporter(&[("TRANSCRIPT_LOG_GROUP", group), ("SWEEP_BATCH", "1")]);
    let began = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1);
    let risky = bytes("recorded/al2023_sh_risky.log");
    // Listed first: a stream under a made-up session ID, naming whoever its writer chose.
    let (fake, real) = ("aaa-made-up-0123456789abcdef0", "zed-0123456789abcdef0");
    for session in [fake, real] {
        let events = put_stream(&env.clients, group, session, &risky, began).await;
        env.put_live_state(session, began, events.len()).await;
    }
    let start = began.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    env.put_record(&record(real, &start, |_| {})).await;

    let as_of = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(3)).to_string();
    let sweep = json!({"kind": "stream-reports", "as_of": as_of});
    let first = run(&reporter, &sweep).await.unwrap();
    assert_eq!(first.len(), 1, "one per run: {first:?}");
    let Outcome::Ignored { reason } = &first[0] else { panic!("{first:?}") };
    assert!(reason.contains("no session record"), "{reason}");
    let day = began.strftime("%Y-%m-%d").to_string();
    assert!(env
        .get(&keys::report(&day, &session_audit_tests::local_session(fake), "json").unwrap())
        .await
        .is_none());
    let second = run(&reporter, &sweep).await.unwrap();
    assert!(matches!(&second[..], [Outcome::Reported { .. }]), "goes on after it: {second:?}");
    assert!(env
        .get(&keys::report(&day, &session_audit_tests::local_session(real), "json").unwrap())
        .await
        .is_some());
    let third = run(&reporter, &sweep).await.unwrap();
    assert!(matches!(&third[..], [Outcome::Ignored { .. }]), "round to the start: {third:?}");
}
