//! The settings that live in AWS, loaded once at cold start from where the environment
//! ([`session_audit::settings`]) points: the user rule pack (`RULES_URI`: `s3://bucket/key` or a
//! file path) and the redaction key (`REDACTION_KEY_PARAMETER`: an SSM SecureString name).

use session_audit::redact::Redactor;
use session_audit::rules::RulePack;

use crate::{AwsError, Clients};

/// The built-in pack plus the user pack at `uri`, if one is configured.
pub async fn rule_pack(clients: &Clients, uri: Option<&str>) -> Result<RulePack, String> {
    let Some(uri) = uri.map(str::trim).filter(|u| !u.is_empty()) else {
        return Ok(RulePack::builtin());
    };
    let text = match uri.strip_prefix("s3://") {
        Some(path) => {
            let (bucket, key) = path
                .split_once('/')
                .filter(|(b, k)| !b.is_empty() && !k.is_empty())
                .ok_or_else(|| format!("RULES_URI '{uri}': expected s3://bucket/key"))?;
            let out = clients
                .s3
                .get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| format!("RULES_URI '{uri}': {}", AwsError::from(e)))?;
            let bytes = out
                .body
                .collect()
                .await
                .map_err(|e| format!("RULES_URI '{uri}': {e}"))?
                .into_bytes();
            String::from_utf8(bytes.to_vec())
                .map_err(|_| format!("RULES_URI '{uri}': not UTF-8 text"))?
        }
        None => std::fs::read_to_string(uri).map_err(|e| format!("RULES_URI '{uri}': {e}"))?,
    };
    RulePack::load(Some((uri, &text))).map_err(|e| format!("RULES_URI: {e}"))
}

/// The redactor keyed by the SecureString `parameter`, or the built-in key (flagged in every
/// report) when none is configured.
pub async fn redactor(clients: &Clients, parameter: Option<&str>) -> Result<Redactor, String> {
    let Some(name) = parameter.map(str::trim).filter(|p| !p.is_empty()) else {
        return Ok(Redactor::new(None));
    };
    let out = clients
        .ssm
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| format!("REDACTION_KEY_PARAMETER '{name}': {}", AwsError::from(e)))?;
    let value = out.parameter().and_then(|p| p.value()).unwrap_or_default();
    if value.is_empty() {
        return Err(format!("REDACTION_KEY_PARAMETER '{name}' is empty"));
    }
    Ok(Redactor::new(Some(value.as_bytes())))
}
