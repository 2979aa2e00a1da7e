//! Events captured in the emulator: an EventBridge rule delivers them to a log group (moto
//! cannot deliver to Lambda targets), and the tests read them back. Finding events
//! (`source: session-audit`) and, in the local pipeline, S3 `Object Created` events.

use aws_sdk_eventbridge::types::Target;
use serde_json::{json, Value};
use session_audit_aws::Clients;

use crate::local_aws::LocalAws;

pub const FINDINGS_LOG: &str = "/session-audit/findings";

/// Create the log group and the rule that routes every finding event into it.
pub async fn route_findings_to_log(clients: &Clients) {
    let pattern = json!({"source": ["session-audit"], "detail-type": ["Session Audit Finding"]});
    route_to_log(clients, "session-audit-findings", &pattern, FINDINGS_LOG).await;
}

/// An EventBridge rule `rule` with `pattern` whose target is the log group `group` (created).
pub async fn route_to_log(clients: &Clients, rule: &str, pattern: &Value, group: &str) {
    clients.logs.create_log_group().log_group_name(group).send().await.expect("group");
    clients
        .events
        .put_rule()
        .name(rule)
        .event_pattern(pattern.to_string())
        .send()
        .await
        .expect("rule");
    let target = Target::builder()
        .id("log")
        .arn(format!("arn:aws:logs:us-east-1:123456789012:log-group:{group}"))
        .build()
        .expect("target");
    clients.events.put_targets().rule(rule).targets(target).send().await.expect("target");
}

/// The `detail` of every finding event delivered so far.
pub async fn captured_findings(aws: &LocalAws) -> Vec<Value> {
    captured_events(aws, FINDINGS_LOG)
        .await
        .into_iter()
        .inspect(|e| {
            assert_eq!(e["source"], "session-audit");
            assert_eq!(e["detail-type"], "Session Audit Finding");
        })
        .map(|e| e["detail"].clone())
        .collect()
}

/// Every event delivered to the log group `group`, whole. Read with a raw FilterLogEvents call:
/// moto stamps events that EventBridge delivers with a fractional `timestamp`, which the SDK's
/// strict parser rejects (an emulator gap).
pub async fn captured_events(aws: &LocalAws, group: &str) -> Vec<Value> {
    let answer = reqwest::Client::new()
        .post(aws.endpoint())
        .header("X-Amz-Target", "Logs_20140328.FilterLogEvents")
        .header("Content-Type", "application/x-amz-json-1.1")
        .header("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20261128/us-east-1/logs/aws4_request, SignedHeaders=host, Signature=0")
        .body(json!({"logGroupName": group}).to_string())
        .send()
        .await
        .expect("FilterLogEvents")
        .text()
        .await
        .expect("FilterLogEvents body");
    let answer: Value = serde_json::from_str(&answer).expect("FilterLogEvents JSON");
    answer["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            serde_json::from_str::<Value>(e["message"].as_str().expect("message"))
                .expect("event JSON")
        })
        .collect()
}

/// The product the emulated stack imports as with `SecurityHub=Enabled` (the template's
/// `SECURITY_HUB_PRODUCT` for account 123456789012 in us-east-1).
pub const SECURITY_HUB_PRODUCT: &str =
    "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default";

/// Every finding Security Hub holds, as GetFindings returns it (every page), each checked to be
/// ASFF Security Hub would accept.
pub async fn security_hub_findings(aws: &LocalAws) -> Vec<Value> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({"MaxResults": 100});
        if let Some(t) = &token {
            body["NextToken"] = json!(t);
        }
        let answer = reqwest::Client::new()
            .post(format!("{}/findings", aws.endpoint()))
            .header("Content-Type", "application/json")
            .header("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20261205/us-east-1/securityhub/aws4_request, SignedHeaders=host, Signature=0")
            .body(body.to_string())
            .send()
            .await
            .expect("GetFindings")
            .text()
            .await
            .expect("GetFindings body");
        let answer: Value = serde_json::from_str(&answer).expect("GetFindings JSON");
        out.extend(answer["Findings"].as_array().expect("Findings").iter().cloned());
        token = answer["NextToken"].as_str().filter(|t| !t.is_empty()).map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    for f in &out {
        let asff: session_audit::asff::AsffFinding = serde_json::from_value(f.clone())
            .unwrap_or_else(|e| panic!("not the ASFF we send ({e}): {f}"));
        let problems = session_audit::asff::problems(&asff);
        assert!(problems.is_empty(), "{problems:?}: {f}");
    }
    out
}
