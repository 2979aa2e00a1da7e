//! The settings that live in AWS, loaded once at cold start from where the environment
//! ([`session_audit::settings`]) points: the user rule pack (`RULES_URI`: `s3://bucket/key`,
//! pinned with `?versionId=`, or a file path) and the redaction key (`REDACTION_KEY_PARAMETER`:
//! an SSM SecureString name, or `REDACTION_KEY_SECRET`: the secret the stack generates).

use session_audit::redact::Redactor;
use session_audit::rules::RulePack;
use session_audit::settings::{RedactionKeySource, RulesLocation};

use crate::{AwsError, Clients};

/// The built-in pack plus the user pack at `uri`, if one is configured: an S3 object read at
/// its pinned version when the URI names one (`?versionId=`), or a file.
pub async fn rule_pack(clients: &Clients, uri: Option<&str>) -> Result<RulePack, String> {
    let Some(uri) = uri.map(str::trim).filter(|u| !u.is_empty()) else {
        return Ok(RulePack::builtin());
    };
    let text = match RulesLocation::parse(uri).map_err(|e| format!("RULES_URI {e}"))? {
        RulesLocation::S3 { bucket, key, version } => {
            let out = clients
                .s3
                .get_object()
                .bucket(bucket)
                .key(key)
                .set_version_id(version)
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
        RulesLocation::File(path) => {
            std::fs::read_to_string(&path).map_err(|e| format!("RULES_URI '{uri}': {e}"))?
        }
    };
    RulePack::load(Some((uri, &text))).map_err(|e| format!("RULES_URI: {e}"))
}

/// The redactor keyed from where `source` says: an SSM SecureString, the stack's generated
/// Secrets Manager secret, or the built-in key (flagged in every report).
pub async fn redactor(clients: &Clients, source: &RedactionKeySource) -> Result<Redactor, String> {
    let (what, value) = match source {
        RedactionKeySource::BuiltIn => return Ok(Redactor::new(None)),
        RedactionKeySource::Parameter(name) => {
            let out =
                clients.ssm.get_parameter().name(name).with_decryption(true).send().await.map_err(
                    |e| format!("REDACTION_KEY_PARAMETER '{name}': {}", AwsError::from(e)),
                )?;
            let value = out.parameter().and_then(|p| p.value()).unwrap_or_default().to_string();
            (format!("REDACTION_KEY_PARAMETER '{name}'"), value)
        }
        RedactionKeySource::Secret(arn) => {
            let out = clients
                .secrets
                .get_secret_value()
                .secret_id(arn)
                .send()
                .await
                .map_err(|e| format!("REDACTION_KEY_SECRET '{arn}': {}", AwsError::from(e)))?;
            (
                format!("REDACTION_KEY_SECRET '{arn}'"),
                out.secret_string().unwrap_or_default().to_string(),
            )
        }
    };
    if value.is_empty() {
        return Err(format!("{what} is empty"));
    }
    Ok(Redactor::new(Some(value.as_bytes())))
}
