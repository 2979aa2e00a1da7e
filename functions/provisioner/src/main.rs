//! The provisioner Lambda: a CloudFormation custom resource that stands up the Session
//! Manager access path. A thin main: clients built once, every request answered.

use std::time::Duration;

use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest;
use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use serde_json::Value;
use session_audit::settings::ProvisionerSettings;
use session_audit_aws::custom_resource::{respond_always, ResponseHosts};
use session_audit_aws::provisioner::{handle_request, Options};
use session_audit_aws::Clients;

struct Shared {
    clients: Clients,
    cloudformation: aws_sdk_cloudformation::Client,
    http: reqwest::Client,
    hosts: ResponseHosts,
    options: Options,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    // A configuration error stops the cold start with a message naming the variable.
    let settings = ProvisionerSettings::read(|k| std::env::var(k).ok())?;
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    // Responses go only to CloudFormation's response bucket of the function's own region.
    let region = config.region().map(|r| r.as_ref().to_string()).unwrap_or_default();
    let shared = Shared {
        clients: Clients::new(&config),
        cloudformation: aws_sdk_cloudformation::Client::new(&config),
        http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?,
        hosts: ResponseHosts::new(&region, settings.emulator_response_origin.clone()),
        options: Options::new(settings),
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
    let clients = shared.clients.clone();
    let cloudformation = shared.cloudformation.clone();
    let options = shared.options.clone();
    let (meta, result, sent) =
        respond_always(request, deadline, &shared.http, &shared.hosts, move |r| {
            handle_request(r, clients, cloudformation, options)
        })
        .await;
    match &result {
        Ok(o) => tracing::info!(request = meta.request_type, id = %o.physical_id, "succeeded"),
        Err(reason) => tracing::error!(request = meta.request_type, %reason, "failed"),
    }
    sent.map_err(|e| failure("ResponseNotSent", e.to_string()))?;
    Ok(serde_json::json!({"status": if result.is_ok() { "SUCCESS" } else { "FAILED" }}))
}
