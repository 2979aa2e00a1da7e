//! The CloudFormation custom-resource protocol: every request gets exactly one response PUT
//! to its presigned `ResponseURL`, whatever happens (success, error, panic, or the Lambda
//! deadline approaching), so no stack waits an hour for a timeout.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use aws_lambda_events::event::cloudformation::{
    CloudFormationCustomResourceRequest as Request,
    CloudFormationCustomResourceResponse as Response,
    CloudFormationCustomResourceResponseStatus as ResponseStatus,
};
use tokio::time::Instant;

pub mod genuine;
pub use genuine::ResponseHosts;

/// CloudFormation rejects response bodies over 4096 bytes.
pub const MAX_RESPONSE_BYTES: usize = 4096;
/// Respond this long before the Lambda deadline if the work has not finished (or a quarter of
/// the time left, when that is less).
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(10);

/// The result of a request's work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The resource's physical ID.
    pub physical_id: String,
    /// The `Data` CloudFormation exposes through `Fn::GetAtt`.
    pub data: HashMap<String, String>,
}

/// The fields every request type shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// `Create`, `Update` or `Delete`.
    pub request_type: &'static str,
    /// CloudFormation's request ID.
    pub request_id: String,
    /// The stack the request names.
    pub stack_id: String,
    /// The resource's logical ID in the template.
    pub logical_resource_id: String,
    /// Where the response goes (a pre-signed S3 URL).
    pub response_url: String,
    /// Absent on Create.
    pub physical_id: Option<String>,
}

/// What every request carries, whatever its type.
pub fn meta(request: &Request) -> Meta {
    match request {
        Request::Create(r) => Meta {
            request_type: "Create",
            request_id: r.request_id.clone(),
            stack_id: r.stack_id.clone(),
            logical_resource_id: r.logical_resource_id.clone(),
            response_url: r.response_url.clone(),
            physical_id: None,
        },
        Request::Update(r) => Meta {
            request_type: "Update",
            request_id: r.request_id.clone(),
            stack_id: r.stack_id.clone(),
            logical_resource_id: r.logical_resource_id.clone(),
            response_url: r.response_url.clone(),
            physical_id: Some(r.physical_resource_id.clone()),
        },
        Request::Delete(r) => Meta {
            request_type: "Delete",
            request_id: r.request_id.clone(),
            stack_id: r.stack_id.clone(),
            logical_resource_id: r.logical_resource_id.clone(),
            response_url: r.response_url.clone(),
            physical_id: Some(r.physical_resource_id.clone()),
        },
        _ => Meta {
            request_type: "Unknown",
            request_id: String::new(),
            stack_id: String::new(),
            logical_resource_id: String::new(),
            response_url: String::new(),
            physical_id: None,
        },
    }
}

/// The response body, at most [`MAX_RESPONSE_BYTES`]: the reason is shortened first, then
/// `Data` is dropped (with a reason saying so) if it alone is too large.
pub fn response_body(meta: &Meta, result: &Result<Outcome, String>) -> Vec<u8> {
    let mut response = Response::default();
    response.stack_id = meta.stack_id.clone();
    response.request_id = meta.request_id.clone();
    response.logical_resource_id = meta.logical_resource_id.clone();
    match result {
        Ok(outcome) => {
            response.status = ResponseStatus::Success;
            response.physical_resource_id = outcome.physical_id.clone();
            response.data = outcome.data.clone();
        }
        Err(reason) => {
            response.status = ResponseStatus::Failed;
            response.reason = Some(reason.clone());
            // A failed Create still needs an ID; CloudFormation will send a Delete for it.
            response.physical_resource_id = meta.physical_id.clone().unwrap_or_else(|| {
                format!("failed-{}-{}", meta.logical_resource_id, meta.request_id)
            });
        }
    }
    let mut body = serde_json::to_vec(&response).expect("response serialises");
    // Each pass shrinks the body (a reason cut to what fits as JSON, then no Data); three are
    // enough, and the bound keeps an unforeseen shape from looping.
    for _ in 0..3 {
        if body.len() <= MAX_RESPONSE_BYTES {
            break;
        }
        let reason = response.reason.clone().unwrap_or_default();
        if reason.chars().count() > 64 {
            const CUT: &str = "… (truncated)";
            // Escaping inflates text (a quote takes 2 bytes, a control character 6): the
            // budget is counted in JSON bytes, not characters.
            let others = body.len() - json_len(&reason);
            let budget = MAX_RESPONSE_BYTES.saturating_sub(others + json_len(CUT));
            response.reason = Some(format!("{}{CUT}", cut_to_json_bytes(&reason, budget)));
        } else if !response.data.is_empty() {
            response.data.clear();
            response.reason =
                Some(format!("{reason} (Data over {MAX_RESPONSE_BYTES} bytes was dropped)"));
        } else {
            break;
        }
        body = serde_json::to_vec(&response).expect("response serialises");
    }
    body
}

/// Bytes `text` takes inside a JSON string.
fn json_len(text: &str) -> usize {
    serde_json::to_string(text).expect("strings serialise").len() - 2
}

/// The longest start of `text` that takes at most `budget` bytes inside a JSON string.
fn cut_to_json_bytes(text: &str, budget: usize) -> String {
    let mut used = 0;
    let mut buf = [0u8; 4];
    text.chars()
        .take_while(|c| {
            used += json_len(c.encode_utf8(&mut buf));
            used <= budget
        })
        .collect()
}

/// PUT the body to the presigned URL: empty Content-Type (the URL was signed without one),
/// retried a few times because a lost response leaves the stack waiting for an hour.
pub async fn send_response(http: &reqwest::Client, url: &str, body: Vec<u8>) -> Result<(), String> {
    let mut last = String::new();
    for attempt in 0..4u32 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(250 * 2u64.pow(attempt))).await;
        }
        let sent = http
            .put(url)
            .header("content-type", "")
            .header("content-length", body.len())
            .body(body.clone())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) => last = format!("HTTP {}", r.status()),
            Err(e) => last = e.to_string(),
        }
    }
    Err(format!("could not deliver the CloudFormation response: {last}"))
}

/// Run `work` for `request` and always respond: its result, its panic, or a timeout shortly
/// before `deadline`. Returns what was sent. A `ResponseURL` outside `hosts` gets neither work
/// nor a response (the third value says why): such a request is not CloudFormation's.
pub async fn respond_always<F, Fut>(
    request: Request,
    deadline: Instant,
    http: &reqwest::Client,
    hosts: &ResponseHosts,
    work: F,
) -> (Meta, Result<Outcome, String>, Result<(), String>)
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Result<Outcome, String>> + Send + 'static,
{
    let meta = meta(&request);
    if let Err(refused) = hosts.check(&meta.response_url) {
        return (meta, Err(refused.clone()), Err(refused));
    }
    let task = tokio::spawn(work(request));
    let abort = task.abort_handle();
    // A function configured with less time than the margin still gets three quarters of it.
    let left = deadline.saturating_duration_since(Instant::now());
    let respond_at = deadline - DEADLINE_MARGIN.min(left / 4);
    let result = match tokio::time::timeout_at(respond_at, task).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) if join.is_panic() => {
            let panic = join.into_panic();
            let text = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(format!("internal error (panic): {text}"))
        }
        Ok(Err(join)) => Err(format!("internal error: {join}")),
        Err(_) => {
            abort.abort();
            Err(format!(
                "{} did not finish before the Lambda deadline; see the function's log for the last step",
                meta.request_type
            ))
        }
    };
    let body = response_body(&meta, &result);
    let sent = send_response(http, &meta.response_url, body).await;
    (meta, result, sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Meta {
        Meta {
            request_type: "Create",
            request_id: "r-1".into(),
            stack_id: "arn:aws:cloudformation:us-east-1:123456789012:stack/s/g".into(),
            logical_resource_id: "Access".into(),
            response_url: "http://127.0.0.1:9/x".into(),
            physical_id: None,
        }
    }

    #[test]
    fn long_reasons_are_cut_to_fit_4096_bytes() {
        let body = response_body(&meta(), &Err("x".repeat(20_000)));
        assert!(body.len() <= MAX_RESPONSE_BYTES, "{}", body.len());
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["Status"], "FAILED");
        assert!(v["Reason"].as_str().unwrap().ends_with("(truncated)"));
        assert_eq!(v["PhysicalResourceId"], "failed-Access-r-1", "a failed Create still has an ID");
    }

    #[test]
    fn reasons_that_escaping_inflates_are_cut_to_fit_too() {
        // Each quote is two bytes of JSON, each control character six: counting characters
        // once underflowed here (a panic in debug, an endless loop in release).
        for reason in ["\"".repeat(5000), "\u{1}".repeat(5000), "é\"\n".repeat(3000)] {
            let body = response_body(&meta(), &Err(reason));
            assert!(body.len() <= MAX_RESPONSE_BYTES, "{}", body.len());
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert!(v["Reason"].as_str().unwrap().ends_with("(truncated)"));
            assert!(body.len() > MAX_RESPONSE_BYTES - 64, "cut no more than needed");
        }
    }

    #[test]
    fn oversized_data_is_dropped_with_a_reason() {
        let data = (0..100).map(|i| (format!("K{i}"), "v".repeat(100))).collect();
        let body = response_body(&meta(), &Ok(Outcome { physical_id: "p".into(), data }));
        assert!(body.len() <= MAX_RESPONSE_BYTES);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["Status"], "SUCCESS");
        assert!(v["Reason"].as_str().unwrap().contains("Data over 4096 bytes was dropped"));
    }
}
