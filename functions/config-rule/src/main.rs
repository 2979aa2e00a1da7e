//! The config-rule Lambda: AWS Config's custom rule. Config calls it when an instance or a
//! security group changes and once a day; it judges each instance and the account's Session
//! Manager preferences, answers with PutEvaluations, files each changed verdict under
//! `audit/config/` and raises its finding (docs/functions.md). A thin main over the use case.

use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use serde_json::Value;
use session_audit::config_rule::Answered;
use session_audit::publish::Metrics;
use session_audit::settings::ConfigRuleSettings;
use session_audit_aws::config_rule::{config_rule, AwsConfigRule};
use session_audit_aws::{diagnostic, settings, Clients};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    // A configuration error stops the cold start with a message naming the variable.
    let settings = ConfigRuleSettings::read(|k| std::env::var(k).ok())?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let clients = Clients::new(&sdk);
    let pack = settings::rule_pack(&clients, settings.common.rules_uri.as_deref()).await?;
    let rule = config_rule(&sdk, &clients, settings, pack);
    let rule = &rule;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| handle(rule, event))).await
}

async fn handle(rule: &AwsConfigRule, event: LambdaEvent<Value>) -> Result<Answered, Diagnostic> {
    let result = rule.handle(&event.payload).await;
    let mut metrics = Metrics::default();
    if let Ok(out) = &result {
        let non_compliant = out.verdicts.iter().filter(|v| v.compliance == "NON_COMPLIANT");
        metrics
            .add("ConfigEvaluations", out.verdicts.len() as f64)
            .add("ConfigNonCompliant", non_compliant.count() as f64)
            .add("ConfigFindings", out.findings as f64);
    }
    metrics.print_emf("config-rule");
    let out = result.map_err(diagnostic)?;
    tracing::info!(trigger = %out.trigger, verdicts = out.verdicts.len(), findings = out.findings,
        withdrawn = out.withdrawn, unchanged = out.unchanged, "evaluated");
    Ok(out)
}
