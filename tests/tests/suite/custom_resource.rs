//! The response is sent on every path: a panic and the approaching deadline included.

use std::time::Duration;

use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest as Request;
use serde_json::{json, Value};
use session_audit_aws::custom_resource::{respond_always, Outcome, ResponseHosts, DEADLINE_MARGIN};
use session_audit_tests::local_aws::LocalAws;

fn request(aws: &LocalAws, name: &str) -> Request {
    serde_json::from_value(json!({
        "RequestType": "Create",
        "RequestId": "r-1",
        "ResponseURL": aws.response_url(name),
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/g",
        "ResourceType": "Custom::SessionAudit",
        "LogicalResourceId": "Access",
        "ResourceProperties": {}
    }))
    .unwrap()
}

/// CloudFormation's response bucket, and the emulator's response server (the local switch).
fn hosts(aws: &LocalAws) -> ResponseHosts {
    ResponseHosts::new("us-east-1", Some(aws.response_origin()))
}

fn last(aws: &LocalAws) -> Value {
    serde_json::from_slice(&aws.responses().last().expect("a response").body).unwrap()
}

#[tokio::test]
async fn a_panic_still_answers_failed() {
    let aws = LocalAws::start();
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let (_, result, sent) =
        respond_always(request(&aws, "panic"), deadline, &http, &hosts(&aws), |_| async {
            if std::hint::black_box(true) {
                panic!("boom in a step");
            }
            Ok(Outcome { physical_id: String::new(), data: Default::default() })
        })
        .await;
    sent.unwrap();
    assert!(result.is_err());
    let v = last(&aws);
    assert_eq!(v["Status"], "FAILED");
    assert!(v["Reason"].as_str().unwrap().contains("boom in a step"), "{v}");
}

#[tokio::test]
async fn the_deadline_answers_before_lambda_kills_the_function() {
    let aws = LocalAws::start();
    let http = reqwest::Client::new();
    let started = tokio::time::Instant::now();
    // Less time left than the margin: the answer comes with a quarter of it to spare.
    let deadline = started + Duration::from_secs(1);
    assert!(Duration::from_secs(1) < DEADLINE_MARGIN);
    let (_, _, sent) =
        respond_always(request(&aws, "slow"), deadline, &http, &hosts(&aws), |_| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(Outcome { physical_id: "never".into(), data: Default::default() })
        })
        .await;
    sent.unwrap();
    let answered = started.elapsed();
    assert!(
        answered >= Duration::from_millis(700),
        "the work had until a quarter before the deadline: {answered:?}"
    );
    assert!(answered < Duration::from_secs(3), "answered at {answered:?}, not after an hour");
    let v = last(&aws);
    assert_eq!(v["Status"], "FAILED");
    assert!(
        v["Reason"].as_str().unwrap().contains("did not finish before the Lambda deadline"),
        "{v}"
    );
}
