//! Provenance of transcripts against the local emulator (issue: nothing on an instance may
//! plant evidence or pin it on someone else): an upload is the session's evidence only when
//! CloudTrail names the session's instance as its writer, after the session ended; which
//! version holds the session's report is S3's order, whatever order the events come in.

use session_audit::keys::{self, Beside};
use session_audit::session_report::Outcome;
use session_audit_tests::findings_capture::captured_findings;

use super::session_report::{bytes, cloudtrail, ids, record, run, Env};

/// The instance the fixture's StartSession reaches.
const BOBS_INSTANCE: &str = "i-023ad911b5d49dece";
const ALICES_INSTANCE: &str = "i-0aaaaaaaaaaaaaaaa";
const DAY: &str = "2026-11-24";

fn reported(out: &Outcome) -> (&str, &[String]) {
    match out {
        Outcome::Reported { json_key, findings, .. } => (json_key, findings),
        other => panic!("not reported: {other:?}"),
    }
}

#[tokio::test]
async fn a_transcript_planted_by_another_instance_is_kept_apart_and_the_genuine_one_is_reported() {
    let env = Env::start().await;
    let reporter = env.reporter(&[]);
    let session = "bob-0a1b2c3d4e5f60718";
    env.put_record(&record(session, "2026-11-24T09:00:00Z", |r| {
        r.terminated_at = Some("2026-11-24T09:59:00Z".into());
    }))
    .await;
    let key = format!("session-logs/{session}.log");
    let slot = keys::report(DAY, &session_audit_tests::local_session(session), "json").unwrap();

    // Alice, on her own instance, writes risky commands under Bob's session while it is open.
    let (planted, _) = env.upload(&key, bytes("recorded/al2023_sh_risky.log")).await;
    let event = cloudtrail(&key, &planted, ALICES_INSTANCE, true, "2026-11-24T09:10:00Z");
    let out = run(&reporter, &event).await.unwrap();
    let (apart, findings) = reported(&out[0]);
    assert_eq!(
        apart,
        keys::beside_report(
            Beside::Untrusted,
            DAY,
            &session_audit_tests::local_session(session),
            &planted,
            "json"
        )
        .unwrap()
    );
    assert!(findings.contains(&"SA-TRN-UNTRUSTED-UPLOAD".to_string()), "{findings:?}");
    assert!(env.get(&slot).await.is_none(), "it never takes the session's report");
    let kept = env.report(apart).await;
    let untrusted = kept.findings.iter().find(|f| f.rule_id == "SA-TRN-UNTRUSTED-UPLOAD").unwrap();
    assert!(untrusted.evidence.contains(ALICES_INSTANCE), "names the uploader: {untrusted:?}");
    assert!(kept.status_reason.unwrap().contains("not evidence of the session"));
    // A role session merely named after Bob's instance is not his instance either; nor is
    // Bob's own instance writing before his session ended.
    let (named, _) = env.upload(&key, bytes("recorded/al2023_sh_risky.log")).await;
    let event = cloudtrail(&key, &named, BOBS_INSTANCE, false, "2026-11-24T10:00:00Z");
    let out = run(&reporter, &event).await.unwrap();
    assert!(reported(&out[0]).0.contains("/untrusted/"), "{out:?}");
    let (early, _) = env.upload(&key, bytes("recorded/al2023_sh_risky.log")).await;
    let event = cloudtrail(&key, &early, BOBS_INSTANCE, true, "2026-11-24T09:30:00Z");
    let out = run(&reporter, &event).await.unwrap();
    assert!(reported(&out[0]).0.contains("/untrusted/"), "{out:?}");
    assert!(env.get(&slot).await.is_none());

    // Bob's session ends and the agent uploads his genuine transcript: it is the session's
    // report, not a "replacement" of anything planted before it.
    let clean = bytes("recorded/al2023_sh_narrow_wrap.log");
    let (genuine, _) = env.upload(&key, clean).await;
    let event = cloudtrail(&key, &genuine, BOBS_INSTANCE, true, "2026-11-24T10:00:05Z");
    let out = run(&reporter, &event).await.unwrap();
    let (json_key, findings) = reported(&out[0]);
    assert_eq!(json_key, slot);
    assert!(!findings.iter().any(|f| f.starts_with("SA-TRN-")), "{findings:?}");
    let report = env.report(&slot).await;
    assert_eq!(report.source.version_id.as_deref(), Some(genuine.as_str()));
    assert!(report.source.uploaded_by.unwrap().ends_with(BOBS_INSTANCE));
    assert_eq!(report.status_reason, None, "nothing in doubt: {:?}", report.stats);
    let published = captured_findings(&env.aws).await;
    let planted_raised =
        published.iter().filter(|f| f["rule_id"] == "SA-TRN-UNTRUSTED-UPLOAD").count();
    assert_eq!(planted_raised, 3, "each planted upload raised, none of Bob's");
    assert!(!published.iter().any(|f| f["rule_id"] == "SA-TRN-REPLACED"));
    // Redelivered: nothing twice.
    let again = run(&reporter, &event).await.unwrap();
    assert!(matches!(again[0], Outcome::Duplicate { .. }), "{again:?}");
}

#[tokio::test]
async fn an_upload_that_names_no_uploader_says_so_in_its_status() {
    let env = Env::start().await;
    let reporter = env.reporter(&[]);
    let session = "carol-0a1b2c3d4e5f60718";
    env.put_record(&record(session, "2026-11-24T09:00:00Z", |_| {})).await;
    let key = format!("session-logs/{session}.log");
    let (v, e) = env.upload(&key, bytes("recorded/al2023_sh_narrow_wrap.log")).await;
    let event = super::session_report::classic(&key, Some(&v), &e, "2026-11-24T10:00:00Z");
    run(&reporter, &event).await.unwrap();
    let report = env
        .report(&keys::report(DAY, &session_audit_tests::local_session(session), "json").unwrap())
        .await;
    let reason = report.status_reason.unwrap_or_default();
    assert!(reason.contains("uploader not established"), "{reason}");
    assert_eq!(report.source.uploaded_by, None);

    // A write event that names its writer but no version: the object read might be a later
    // writer's, so the writer is not taken as the uploader of what is read.
    let session = "carl-0a1b2c3d4e5f60718";
    env.put_record(&record(session, "2026-11-24T09:00:00Z", |_| {})).await;
    let key = format!("session-logs/{session}.log");
    let (v, _) = env.upload(&key, bytes("recorded/al2023_sh_narrow_wrap.log")).await;
    let mut event = cloudtrail(&key, &v, BOBS_INSTANCE, true, "2026-11-24T10:00:00Z");
    event["detail"]["responseElements"].as_object_mut().unwrap().remove("x-amz-version-id");
    run(&reporter, &event).await.unwrap();
    let report = env
        .report(&keys::report(DAY, &session_audit_tests::local_session(session), "json").unwrap())
        .await;
    let reason = report.status_reason.unwrap_or_default();
    assert!(reason.contains("names no version"), "{reason}");
}

#[tokio::test]
async fn the_first_version_is_s3s_to_say_whatever_order_the_events_come_in() {
    let env = Env::start().await;
    let reporter = env.reporter(&[]);
    let (risky, clean) =
        (bytes("recorded/al2023_sh_risky.log"), bytes("recorded/al2023_sh_narrow_wrap.log"));

    // Two versions; the later one's event is processed first.
    let session = "dave-0a1b2c3d4e5f60718";
    env.put_record(&record(session, "2026-11-24T09:00:00Z", |_| {})).await;
    let key = format!("session-logs/{session}.log");
    let (v1, _) = env.upload(&key, risky.clone()).await;
    let (v2, _) = env.upload(&key, clean.clone()).await;
    let at = |v: &str, t: &str| cloudtrail(&key, v, BOBS_INSTANCE, true, t);
    run(&reporter, &at(&v2, "2026-11-24T10:00:01Z")).await.unwrap();
    let out = run(&reporter, &at(&v1, "2026-11-24T10:00:00Z")).await.unwrap();
    let slot = keys::report(DAY, &session_audit_tests::local_session(session), "json").unwrap();
    let beside =
        keys::replaced_report(DAY, &session_audit_tests::local_session(session), &v2, "json")
            .unwrap();
    assert_eq!(reported(&out[0]).0, slot, "the first version takes the slot: {out:?}");
    assert_eq!(reported(&out[1]).0, beside, "the later one is reported again beside it");
    assert!(reported(&out[1]).1.contains(&"SA-TRN-REPLACED".to_string()));
    let first = env.report(&slot).await;
    assert_eq!(first.source.version_id.as_deref(), Some(v1.as_str()));
    assert!(ids(&first).iter().all(|id| *id != "SA-TRN-REPLACED"), "v1 is not the replacement");
    let md = env
        .get(&keys::report(DAY, &session_audit_tests::local_session(session), "md").unwrap())
        .await
        .unwrap();
    assert!(String::from_utf8(md.0).unwrap().contains(&v1), "the marker is v1's too");
    let later = env.report(&beside).await;
    let replaced = later.findings.iter().find(|f| f.rule_id == "SA-TRN-REPLACED").unwrap();
    assert!(replaced.evidence.contains(&format!("replaces version {v1}")), "{replaced:?}");
    // Both redelivered, in either order: nothing changes.
    for v in [&v1, &v2] {
        let again = run(&reporter, &at(v, "2026-11-24T10:00:00Z")).await.unwrap();
        assert!(matches!(again[0], Outcome::Duplicate { .. }), "{again:?}");
    }

    // The first version's publish fails once; the later one is reported meanwhile; the retry
    // of the first completes it in the slot, and the genuine first is never the replacement.
    let session = "erin-0a1b2c3d4e5f60718";
    env.put_record(&record(session, "2026-11-24T09:00:00Z", |_| {})).await;
    let key = format!("session-logs/{session}.log");
    let (v1, _) = env.upload(&key, risky).await;
    let (v2, _) = env.upload(&key, clean).await;
    let at = |v: &str, t: &str| cloudtrail(&key, v, BOBS_INSTANCE, true, t);
    env.aws.fail_on("PutEvents");
    assert!(run(&reporter, &at(&v1, "2026-11-24T10:00:00Z")).await.is_err());
    env.aws.heal();
    let out = run(&reporter, &at(&v2, "2026-11-24T10:00:01Z")).await.unwrap();
    let beside =
        keys::replaced_report(DAY, &session_audit_tests::local_session(session), &v2, "json")
            .unwrap();
    assert_eq!(reported(&out[0]).0, beside, "{out:?}");
    let out = run(&reporter, &at(&v1, "2026-11-24T10:00:00Z")).await.unwrap();
    let slot = keys::report(DAY, &session_audit_tests::local_session(session), "json").unwrap();
    assert_eq!(reported(&out[0]).0, slot, "{out:?}");
    assert_eq!(out.len(), 1, "nothing displaced: {out:?}");
    let first = env.report(&slot).await;
    assert_eq!(first.source.version_id.as_deref(), Some(v1.as_str()));
    assert!(ids(&first).iter().all(|id| *id != "SA-TRN-REPLACED"));
    let folder =
        keys::replaced_report(DAY, &session_audit_tests::local_session(session), "v", "json")
            .unwrap()
            .replace("v.json", "");
    let replaced_keys = env.keys(&folder).await;
    assert_eq!(replaced_keys.len(), 2, "only v2's report beside: {replaced_keys:?}");
}
