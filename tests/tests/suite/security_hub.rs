//! The findings sink with Security Hub turned on, against the emulator: a re-publish (a Lambda
//! retry) updates the same Security Hub findings instead of adding any, more than 100 findings
//! go in several requests, and a Security Hub outage fails the publish loudly (EventBridge
//! already has the events) and is made good by the retry; a transcript proven to arrive late
//! archives the summary's missing-transcript finding, a planted one does not.

use jiff::Timestamp;
use session_audit::asff::Product;
use session_audit::finding::Finding;
use session_audit::ports::sink::FindingsSink;
use session_audit::publish::FindingContext;
use session_audit::rules::RulePack;
use session_audit::settings::Variables;
use session_audit_aws::findings::FindingsOut;
use session_audit_aws::Clients;
use session_audit_tests::findings_capture::{
    captured_findings, route_findings_to_log, security_hub_findings, SECURITY_HUB_PRODUCT,
};
use session_audit_tests::local_aws::LocalAws;

fn finding(rule: &str) -> Finding {
    RulePack::builtin().get(rule).unwrap().finding("evidence".into(), Some(1))
}

fn ctx(origin: &str) -> FindingContext {
    FindingContext {
        origin_id: origin.into(),
        session_id: Some("ana-0123456789abcdef0".into()),
        time: "2026-12-05T09:00:00Z".into(),
        account: Some("123456789012".into()),
        region: "us-east-1".into(),
        principal: Some("arn:aws:sts::123456789012:assumed-role/Admin/ana".into()),
        person: Some("ana".into()),
        target: Some("i-0123456789abcdef0".into()),
        record: "s3://audit-bucket/audit/reports/dt=2026-12-05/ana-0123456789abcdef0.json".into(),
        stage: "report",
    }
}

/// The sink as a function with `SecurityHub=Enabled` builds it, acting as session-report.
async fn sink(aws: &LocalAws) -> (FindingsOut, Clients) {
    let config = aws.sdk_config().await;
    let admin = Clients::with_path_style(&config, true);
    route_findings_to_log(&admin).await;
    let env = [
        ("AUDIT_BUCKET", "audit-bucket".to_string()),
        ("SECURITY_HUB_PRODUCT", SECURITY_HUB_PRODUCT.into()),
    ];
    let common = Variables(|k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
        .common()
        .unwrap();
    assert_eq!(common.security_hub, Some(Product::parse(SECURITY_HUB_PRODUCT).unwrap()));
    let clients = aws.clients_as(&config, "SessionReportFunction", &env, &[]);
    (FindingsOut::new(&clients, &common, "session-report"), admin)
}

#[tokio::test]
async fn a_re_publish_updates_the_same_security_hub_findings() {
    let aws = LocalAws::start();
    let (out, _) = sink(&aws).await;
    let findings = [finding("SA-CMD-010"), finding("SA-CMD-040")];
    out.publish(&findings, &ctx("a1b2")).await.unwrap();
    let first = security_hub_findings(&aws).await;
    assert_eq!(first.len(), 2);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    out.publish(&findings, &ctx("a1b2")).await.unwrap();
    let again = security_hub_findings(&aws).await;
    assert_eq!(again.len(), 2, "updated, not duplicated");
    let created = |v: &[serde_json::Value]| {
        let mut c: Vec<String> = v.iter().map(|f| f["CreatedAt"].to_string()).collect();
        c.sort();
        c
    };
    assert_eq!(created(&first), created(&again), "the finding's own time is kept");
    let updated: Vec<Timestamp> =
        again.iter().map(|f| f["UpdatedAt"].as_str().unwrap().parse().unwrap()).collect();
    let before: Vec<Timestamp> =
        first.iter().map(|f| f["UpdatedAt"].as_str().unwrap().parse().unwrap()).collect();
    assert!(updated.iter().min() > before.iter().max(), "the re-import is the newer");
    assert_eq!(captured_findings(&aws).await.len(), 4, "EventBridge carries both rounds");
}

#[tokio::test]
async fn many_findings_go_in_requests_of_at_most_a_hundred() {
    let aws = LocalAws::start();
    let (out, _) = sink(&aws).await;
    let items: Vec<(Finding, FindingContext)> =
        (0..230).map(|n| (finding("SA-CMD-041"), ctx(&format!("origin-{n:03}")))).collect();
    out.publish_each(&items).await.unwrap();
    let imports = aws.operations().iter().filter(|o| *o == "BatchImportFindings").count();
    assert_eq!(imports, 3, "230 findings: 100 + 100 + 30");
    assert_eq!(security_hub_findings(&aws).await.len(), 230);
}

#[tokio::test]
async fn a_security_hub_outage_fails_the_publish_and_the_retry_makes_it_good() {
    let aws = LocalAws::start();
    let (out, _) = sink(&aws).await;
    aws.fail_on("BatchImportFindings");
    let err = out.publish(&[finding("SA-SES-ROOT")], &ctx("c3d4")).await.unwrap_err();
    assert!(err.message.starts_with("Security Hub:"), "{err}");
    assert!(aws.failures_injected() >= 1);
    assert_eq!(captured_findings(&aws).await.len(), 1, "EventBridge has it already");
    assert!(security_hub_findings(&aws).await.is_empty());
    aws.heal();
    out.publish(&[finding("SA-SES-ROOT")], &ctx("c3d4")).await.unwrap();
    let hub = security_hub_findings(&aws).await;
    assert_eq!(hub.len(), 1);
    assert_eq!(hub[0]["Id"], "c3d4:SA-SES-ROOT");
    assert_eq!(hub[0]["Severity"]["Label"], "CRITICAL");
}

/// The summary's SA-SES-TRANSCRIPT-MISSING for two sessions whose transcripts were not there
/// at the grace period's end; then bob's agent uploads his (CloudTrail: his instance, after the
/// session) and someone else plants one for carl.
#[tokio::test]
async fn a_late_transcript_archives_the_missing_finding_a_planted_one_does_not() {
    use super::session_report::{bytes, cloudtrail, record, Env, BUCKET};
    use session_audit::settings::SummarySettings;
    let env = Env::start().await;
    let hub = [("SECURITY_HUB_PRODUCT", SECURITY_HUB_PRODUCT)];
    let (bob, carl) = ("bob-0a1b2c3d4e5f60718", "carl-0a1b2c3d4e5f60718");
    for s in [bob, carl] {
        env.put_record(&record(s, "2026-11-24T09:00:00Z", |r| {
            r.terminated_at = Some("2026-11-24T09:59:00Z".into());
        }))
        .await;
    }
    let vars = [
        ("AUDIT_BUCKET", BUCKET.to_string()),
        ("SECURITY_HUB_PRODUCT", SECURITY_HUB_PRODUCT.into()),
    ];
    let get = |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
    let clients = env.aws.clients_as(&env.config, "AccessSummaryFunction", &vars, &[]);
    let summarizer = session_audit_aws::access_summary::access_summary(
        &clients,
        SummarySettings::read(get).unwrap(),
        RulePack::builtin(),
    );
    let day = serde_json::json!({"kind": "daily", "period": "2026-11-24", "as_of": "2026-11-25T06:00:00Z"});
    summarizer.handle(&day, &mut session_audit::publish::Metrics::default()).await.unwrap();
    let state = |findings: &[serde_json::Value], id: &str| {
        let f = findings.iter().find(|f| f["Id"] == id).unwrap_or_else(|| panic!("{id}"));
        (f["RecordState"].as_str().unwrap().to_string(), f["Compliance"]["Status"].clone())
    };
    let missing = |s: &str| {
        let r = record(s, "2026-11-24T09:00:00Z", |_| {});
        let origin = session_audit::publish::session_origin(r.account.as_deref(), &r.region, s);
        format!("{origin}:SA-SES-TRANSCRIPT-MISSING")
    };
    let before = security_hub_findings(&env.aws).await;
    assert_eq!(state(&before, &missing(bob)).0, "ACTIVE");
    assert_eq!(state(&before, &missing(carl)).0, "ACTIVE");

    let reporter = env.reporter(&hub);
    let bob_key = format!("session-logs/{bob}.log");
    let (version, _) = env.upload(&bob_key, bytes("recorded/al2023_sh_narrow_wrap.log")).await;
    let event = cloudtrail(&bob_key, &version, "i-023ad911b5d49dece", true, "2026-11-25T08:00:00Z");
    super::session_report::run(&reporter, &event).await.unwrap();
    let carl_key = format!("session-logs/{carl}.log");
    let (version, _) = env.upload(&carl_key, bytes("recorded/al2023_sh_narrow_wrap.log")).await;
    let event =
        cloudtrail(&carl_key, &version, "i-0aaaaaaaaaaaaaaaa", true, "2026-11-25T08:00:00Z");
    super::session_report::run(&reporter, &event).await.unwrap();

    let after = security_hub_findings(&env.aws).await;
    assert_eq!(
        state(&after, &missing(bob)),
        ("ARCHIVED".to_string(), serde_json::json!("PASSED")),
        "bob's transcript is there after all"
    );
    assert_eq!(state(&after, &missing(carl)).0, "ACTIVE", "a planted upload proves nothing");
    let withdrawn = after.iter().find(|f| f["Id"] == missing(bob).as_str()).unwrap();
    assert!(withdrawn["Description"].as_str().unwrap().contains("not missing"), "{withdrawn}");
}
