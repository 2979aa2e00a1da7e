//! The provisioner Lambda: a CloudFormation custom resource that stands up the Session
//! Manager access path. A thin main: clients built once, every request answered.

use std::time::Duration;

use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest;
use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use serde_json::Value;
use session_audit::settings::ProvisionerSettings;
use session_audit_aws::provisioner::Service;

struct Shared {
    service: Service,
    http: reqwest::Client,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    // A configuration error stops the cold start with a message naming the variable.
    let settings = ProvisionerSettings::read(|k| std::env::var(k).ok())?;
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let shared = Shared {
        service: Service::new(&config, settings),
        http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?,
    };
    let shared = &shared;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| handle(shared, event))).await
}

fn failure(error_type: &str, error_message: String) -> Diagnostic {
    tracing::error!(error_type, error = %error_message, "invocation failed");
    Diagnostic { error_type: error_type.into(), error_message }
}

async fn handle(shared: &Shared, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    // Without a well-formed request there may be no ResponseURL to answer; the error goes to
    // the function's log and the platform's retry and dead-letter handling.
    let request: CloudFormationCustomResourceRequest = serde_json::from_value(event.payload)
        .map_err(|e| failure("MalformedEvent", format!("not a custom-resource request: {e}")))?;
    let remaining =
        event.context.deadline().duration_since(std::time::SystemTime::now()).unwrap_or_default();
    let deadline = tokio::time::Instant::now() + remaining;
    let (meta, result, sent) = shared.service.respond(request, deadline, &shared.http).await;
    match &result {
        Ok(o) => tracing::info!(request = meta.request_type, id = %o.physical_id, "succeeded"),
        Err(reason) => tracing::error!(request = meta.request_type, %reason, "failed"),
    }
    sent.map_err(|e| failure("ResponseNotSent", e.to_string()))?;
    Ok(serde_json::json!({"status": if result.is_ok() { "SUCCESS" } else { "FAILED" }}))
}
