//! Every environment variable the functions read (docs/DESIGN.md §3), each named once, here,
//! and read at cold start into one typed struct per function. Pure: variables come through a
//! lookup (the process environment in the functions, a map in tests), and one rule holds for
//! all of them: unset, empty and blank are the same, and take the default.
//!
//! The rule pack and the redaction key are named here too but loaded by the AWS crate (they
//! live in S3 and SSM).

use std::time::Duration;

use crate::access::Catalog;
use crate::access_summary::SummaryOptions;
use crate::audit_digest::DigestOptions;
use crate::config_evaluation::PreferencesExpected;
use crate::config_rule::RuleOptions;
use crate::guardduty_correlation::CorrelationOptions;
use crate::lake_export::LakeOptions;
use crate::ocsf::Class;
use crate::session::findings::{BusinessHours, StartConfig};
use crate::session_report::ReportOptions;
use crate::upload::normalise_prefix;

/// A variable that cannot be used as it is: the cold start stops with this message.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {reason}")]
pub struct SettingsError {
    /// The variable, as the environment names it.
    pub variable: &'static str,
    /// What is wrong with its value.
    pub reason: String,
}

/// The message itself: a function's `main` returning this error prints it with `Debug`.
impl std::fmt::Debug for SettingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// The environment, read through `get`.
pub struct Variables<F>(pub F);

impl<F: Fn(&str) -> Option<String>> Variables<F> {
    /// A variable's value, trimmed; `None` when unset or blank.
    fn text(&self, variable: &str) -> Option<String> {
        (self.0)(variable).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    }

    fn required(&self, variable: &'static str, what: &str) -> Result<String, SettingsError> {
        self.text(variable)
            .ok_or_else(|| SettingsError { variable, reason: format!("required ({what})") })
    }

    fn number(&self, variable: &'static str, default: u64) -> Result<u64, SettingsError> {
        match self.text(variable) {
            None => Ok(default),
            Some(s) => s.parse().map_err(|_| SettingsError {
                variable,
                reason: format!("'{s}': expected a whole number"),
            }),
        }
    }

    /// A yes/no variable: `true`/`1` or `false`/`0`; unset takes `default`.
    fn flag(&self, variable: &'static str, default: bool) -> Result<bool, SettingsError> {
        match self.text(variable).as_deref() {
            None => Ok(default),
            Some("false" | "0") => Ok(false),
            Some("true" | "1") => Ok(true),
            Some(other) => Err(SettingsError {
                variable,
                reason: format!("'{other}': expected true or false"),
            }),
        }
    }

    /// `MAX_SESSION_MINUTES` (`480`): the longest session the preferences allow; `0` is the
    /// longest there is (1440), as the provisioner writes it.
    fn max_session_minutes(&self) -> Result<u64, SettingsError> {
        let minutes = self.number("MAX_SESSION_MINUTES", 480)?;
        Ok(if minutes == 0 { u64::from(crate::session::LONGEST_SESSION_MINUTES) } else { minutes })
    }

    /// `AUDIT_BUCKET` (required): the log bucket.
    pub fn audit_bucket(&self) -> Result<String, SettingsError> {
        self.required("AUDIT_BUCKET", "the log bucket")
    }

    /// `TRANSCRIPT_PREFIX` (`session-logs/`), as a key prefix ending in `/`.
    pub fn transcript_prefix(&self) -> String {
        normalise_prefix(&self.text("TRANSCRIPT_PREFIX").unwrap_or_else(|| "session-logs/".into()))
    }

    /// `BUSINESS_HOURS` (`Mon-Fri 08:00-18:00 UTC`), parsed, and as written.
    pub fn business_hours(&self) -> Result<(BusinessHours, String), SettingsError> {
        const VARIABLE: &str = "BUSINESS_HOURS";
        let text = self.text(VARIABLE).unwrap_or_else(|| "Mon-Fri 08:00-18:00 UTC".into());
        let hours = BusinessHours::parse(&text)
            .map_err(|e| SettingsError { variable: VARIABLE, reason: e.0 })?;
        Ok((hours, text))
    }

    /// `TRANSCRIPT_GRACE_MINUTES` (`120`): how long after a session ends its transcript may take.
    pub fn grace_minutes(&self) -> Result<u64, SettingsError> {
        self.number("TRANSCRIPT_GRACE_MINUTES", 120)
    }

    /// `RULES_URI`, refused where the instances can write it: the audit bucket's transcript
    /// prefix (the instance role may put any object there, and a pack decides what is found).
    pub fn rules_uri(&self) -> Result<Option<String>, SettingsError> {
        let Some(uri) = self.text("RULES_URI") else { return Ok(None) };
        let location = RulesLocation::parse(&uri)
            .map_err(|reason| SettingsError { variable: "RULES_URI", reason })?;
        if let RulesLocation::S3 { bucket, key, .. } = &location {
            let writable = *bucket == self.audit_bucket()?
                && !key.starts_with(crate::keys::AUDIT_PREFIX)
                && key.starts_with(&self.transcript_prefix());
            if writable {
                return Err(SettingsError {
                    variable: "RULES_URI",
                    reason: format!(
                        "'{uri}' is under the transcript prefix, where every instance may write: \
                         keep the rule pack where only administrators can"
                    ),
                });
            }
        }
        Ok(Some(uri))
    }

    /// Where the redaction key is: `REDACTION_KEY_PARAMETER` (an SSM SecureString the deployer
    /// made) or `REDACTION_KEY_SECRET` (the Secrets Manager secret the stack generates when no
    /// parameter is given); both set is an error, neither is the built-in key.
    pub fn redaction_key(&self) -> Result<RedactionKeySource, SettingsError> {
        match (self.text("REDACTION_KEY_PARAMETER"), self.text("REDACTION_KEY_SECRET")) {
            (Some(_), Some(_)) => Err(SettingsError {
                variable: "REDACTION_KEY_SECRET",
                reason: "set with REDACTION_KEY_PARAMETER: name one place for the key".into(),
            }),
            (Some(name), None) => Ok(RedactionKeySource::Parameter(name)),
            (None, Some(arn)) => Ok(RedactionKeySource::Secret(arn)),
            (None, None) => Ok(RedactionKeySource::BuiltIn),
        }
    }

    /// What every function that judges and publishes shares.
    pub fn common(&self) -> Result<Common, SettingsError> {
        Ok(Common {
            audit_bucket: self.audit_bucket()?,
            findings_event_bus: self.text("FINDINGS_EVENT_BUS").unwrap_or_else(|| "default".into()),
            rules_uri: self.rules_uri()?,
            redaction_key: self.redaction_key()?,
            security_hub: self.security_hub()?,
            home: self.home()?,
        })
    }

    /// `SECURITY_HUB_PRODUCT`: the product findings are also imported as (the account's default
    /// custom-integration product ARN); unset or empty, findings go to EventBridge only.
    pub fn security_hub(&self) -> Result<Option<crate::asff::Product>, SettingsError> {
        self.text("SECURITY_HUB_PRODUCT")
            .map(|arn| crate::asff::Product::parse(&arn))
            .transpose()
            .map_err(|e| SettingsError { variable: "SECURITY_HUB_PRODUCT", reason: e.0 })
    }

    /// The session-start audit's findings configuration.
    pub fn start_config(&self) -> Result<StartConfig, SettingsError> {
        const TAG: &str = "REQUIRED_TAG";
        let tag = self.text(TAG).unwrap_or_else(|| "Purpose=SessionManagerTesting".into());
        let (k, v) = tag.split_once('=').ok_or_else(|| SettingsError {
            variable: TAG,
            reason: format!("'{tag}': expected Key=Value"),
        })?;
        let documents = match self.text("DOCUMENT_PREFIX") {
            None => None,
            Some(prefix) => Some(
                Catalog::parse(
                    &prefix,
                    &self.text("PORT_FORWARD_PORTS").unwrap_or_default(),
                    &self.text("REMOTE_DESTINATIONS").unwrap_or_default(),
                    &self.text("TASK_SERVICES").unwrap_or_default(),
                )
                .map_err(|e| SettingsError {
                    variable: "DOCUMENT_PREFIX",
                    reason: e.to_string(),
                })?,
            ),
        };
        let protected_tag = match self.text("PROTECTED_TAG") {
            None => None,
            Some(tag) => {
                let (k, v) = tag.split_once('=').ok_or_else(|| SettingsError {
                    variable: "PROTECTED_TAG",
                    reason: format!(
                        "'{tag}': expected Key=Value (or empty: no protected instances)"
                    ),
                })?;
                Some((k.trim().to_string(), v.trim().to_string()))
            }
        };
        let mut allowed_regions = Vec::new();
        for region in self.text("ALLOWED_REGIONS").unwrap_or_default().split(',').map(str::trim) {
            if region.is_empty() {
                continue;
            }
            if !crate::session::is_region(region) {
                return Err(SettingsError {
                    variable: "ALLOWED_REGIONS",
                    reason: format!("'{region}' is not an AWS region such as eu-central-1"),
                });
            }
            allowed_regions.push(region.to_string());
        }
        Ok(StartConfig {
            allowed_regions,
            documents,
            protected_tag,
            change_calendar: self.text("CHANGE_CALENDAR"),
            approval_runbook: self.text("APPROVAL_RUNBOOK"),
            business_hours: self.business_hours()?.0,
            required_tag: (k.trim().to_string(), v.trim().to_string()),
            allowed_principals: self
                .text("ALLOWED_PRINCIPALS")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            audit_bucket: self.audit_bucket()?,
            transcript_prefix: self.transcript_prefix(),
        })
    }

    /// The session report's options (the work directory is the process's temporary one).
    pub fn report_options(&self) -> Result<ReportOptions, SettingsError> {
        Ok(ReportOptions {
            audit_bucket: self.audit_bucket()?,
            transcript_prefix: self.transcript_prefix(),
            max_session_minutes: self.number("MAX_SESSION_MINUTES", 480)?,
            grace_minutes: self.grace_minutes()?,
            work_dir: std::env::temp_dir(),
            max_transcript_mib: self.number("MAX_TRANSCRIPT_MIB", 2048)?.max(1),
            sweep_batch: self.number("SWEEP_BATCH", 500)?.max(1) as usize,
            home: self.home()?,
        })
    }

    /// The hub's own place: `ACCOUNT_ID` (the template's `AWS::AccountId`) in `AWS_REGION` (set
    /// by Lambda). Unset where neither says (the CLI, tests): keys without a place are then
    /// refused rather than guessed.
    pub fn home(&self) -> Result<crate::keys::Home, SettingsError> {
        let (Some(account), Some(region)) = (self.text("ACCOUNT_ID"), self.text("AWS_REGION"))
        else {
            return Ok(None);
        };
        crate::keys::Place::new(&account, &region)
            .map(Some)
            .map_err(|e| SettingsError { variable: "ACCOUNT_ID", reason: e.to_string() })
    }

    /// The access summary's options.
    pub fn summary_options(&self) -> Result<SummaryOptions, SettingsError> {
        let (business_hours, business_hours_text) = self.business_hours()?;
        Ok(SummaryOptions {
            concurrency: self.number("SUMMARY_CONCURRENCY", 32)?.clamp(1, 512) as usize,
            business_hours,
            business_hours_text,
            grace_minutes: self.grace_minutes()?,
        })
    }

    /// The digest chain's options.
    pub fn digest_options(&self) -> Result<DigestOptions, SettingsError> {
        let d = DigestOptions::default();
        Ok(DigestOptions {
            settle_minutes: self.number("DIGEST_SETTLE_MINUTES", d.settle_minutes)?.min(59),
            max_hours: self.number("DIGEST_MAX_HOURS", d.max_hours)?.clamp(1, 24 * 31),
            backfill_hours: self.number("DIGEST_BACKFILL_HOURS", d.backfill_hours)?.min(24 * 31),
        })
    }

    /// The Security Lake export's options.
    pub fn lake_options(&self) -> Result<LakeOptions, SettingsError> {
        let d = LakeOptions::default();
        Ok(LakeOptions {
            max_hours: self.number("LAKE_MAX_HOURS", d.max_hours)?.clamp(1, 24 * 31),
            backfill_hours: self.number("LAKE_BACKFILL_HOURS", d.backfill_hours)?.min(24 * 31),
            max_report_mib: self.number("LAKE_MAX_REPORT_MIB", d.max_report_mib)?.max(1),
            part_events: self.number("LAKE_PART_EVENTS", d.part_events as u64)?.max(1) as usize,
        })
    }

    /// Where the export writes: `SECURITY_LAKE_BUCKET` with the three classes' provider roles
    /// and the external ID, all or none.
    pub fn lake_target(&self) -> Result<LakeTarget, SettingsError> {
        const ROLES: [(Class, &str); 3] = [
            (Class::ProcessActivity, "SECURITY_LAKE_PROCESS_ROLE"),
            (Class::DetectionFinding, "SECURITY_LAKE_FINDING_ROLE"),
            (Class::Authentication, "SECURITY_LAKE_AUTH_ROLE"),
        ];
        let Some(bucket) = self.text("SECURITY_LAKE_BUCKET") else {
            if let Some((_, name)) = ROLES.iter().find(|(_, n)| self.text(n).is_some()) {
                return Err(SettingsError {
                    variable: name,
                    reason: "set without SECURITY_LAKE_BUCKET: name the lake's bucket too".into(),
                });
            }
            return Ok(LakeTarget::AuditBucket);
        };
        let mut roles = Vec::new();
        for (class, name) in ROLES {
            let role = self.required(name, "the custom source's provider role ARN")?;
            let shaped = role.starts_with("arn:")
                && role.split(':').nth(2) == Some("iam")
                && role.split(':').nth(5).is_some_and(|r| r.starts_with("role/"));
            if !shaped {
                return Err(SettingsError {
                    variable: name,
                    reason: format!(
                        "'{role}': expected arn:<partition>:iam::<account>:role/<name>"
                    ),
                });
            }
            roles.push((class, role));
        }
        let external_id =
            self.required("SECURITY_LAKE_EXTERNAL_ID", "the custom sources' external ID")?;
        Ok(LakeTarget::SecurityLake { bucket, roles, external_id })
    }
}

/// Where the Security Lake export writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LakeTarget {
    /// No Security Lake configured: the audit bucket, under `ocsf/`, in the same layout.
    AuditBucket,
    /// A Security Lake bucket, each class through its custom source's provider role.
    SecurityLake {
        /// `SECURITY_LAKE_BUCKET`.
        bucket: String,
        /// Each class's provider role (`SECURITY_LAKE_{PROCESS,FINDING,AUTH}_ROLE`).
        roles: Vec<(Class, String)>,
        /// `SECURITY_LAKE_EXTERNAL_ID`.
        external_id: String,
    },
}

/// The lake-export function's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LakeSettings {
    /// `AUDIT_BUCKET` (required): the digests and reports read, the cursor kept.
    pub audit_bucket: String,
    /// Where the objects go.
    pub target: LakeTarget,
    /// The export's options.
    pub options: LakeOptions,
}

impl LakeSettings {
    /// Read from `get` (the process environment in the function).
    pub fn read(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let v = Variables(get);
        Ok(LakeSettings {
            audit_bucket: v.audit_bucket()?,
            target: v.lake_target()?,
            options: v.lake_options()?,
        })
    }
}

/// Where the HMAC redaction key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedactionKeySource {
    /// No key configured: the built-in one, which every report then flags (tokens of a public
    /// key can be recomputed offline). The template never deploys this.
    BuiltIn,
    /// `REDACTION_KEY_PARAMETER`: an SSM SecureString name.
    Parameter(String),
    /// `REDACTION_KEY_SECRET`: a Secrets Manager secret ARN (the stack's generated key).
    Secret(String),
}

/// Where a rule pack is: `s3://bucket/key[?versionId=V]` or a file path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RulesLocation {
    /// An S3 object, at a pinned version when `version` is given (what the template deploys:
    /// replacing the object then cannot change what is found).
    S3 {
        /// The bucket.
        bucket: String,
        /// The key (S3 keys may hold `?`; only a trailing `?versionId=` is the version).
        key: String,
        /// The S3 version ID.
        version: Option<String>,
    },
    /// A file (the CLI, local runs).
    File(String),
}

impl RulesLocation {
    /// Parse a `RULES_URI`; an `s3://` URI without bucket or key, or with an empty version,
    /// is an error saying what is expected.
    pub fn parse(uri: &str) -> Result<Self, String> {
        let Some(path) = uri.strip_prefix("s3://") else {
            return Ok(RulesLocation::File(uri.to_string()));
        };
        let (object, version) = match path.rsplit_once("?versionId=") {
            Some((object, version)) => (object, Some(version.to_string())),
            None => (path, None),
        };
        let expected =
            || format!("'{uri}': expected s3://bucket/key or s3://bucket/key?versionId=V");
        let (bucket, key) = object
            .split_once('/')
            .filter(|(b, k)| !b.is_empty() && !k.is_empty())
            .ok_or_else(expected)?;
        if version.as_deref().is_some_and(str::is_empty) {
            return Err(expected());
        }
        Ok(RulesLocation::S3 { bucket: bucket.to_string(), key: key.to_string(), version })
    }
}

/// What every function that judges and publishes reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Common {
    /// `AUDIT_BUCKET` (required): the log bucket.
    pub audit_bucket: String,
    /// `FINDINGS_EVENT_BUS` (`default`): where finding events go.
    pub findings_event_bus: String,
    /// `RULES_URI`: a user rule pack, `s3://bucket/key?versionId=V` (the template always pins
    /// a version), `s3://bucket/key` or a file path; see [`RulesLocation`].
    pub rules_uri: Option<String>,
    /// Where the redaction key is read from at cold start.
    pub redaction_key: RedactionKeySource,
    /// `SECURITY_HUB_PRODUCT`: findings also imported into Security Hub as this product.
    pub security_hub: Option<crate::asff::Product>,
    /// `ACCOUNT_ID` in `AWS_REGION`: the hub's own place (see [`Variables::home`]).
    pub home: crate::keys::Home,
}

/// The session-start function's settings.
#[derive(Debug, Clone)]
pub struct StartSettings {
    /// What every publishing function reads.
    pub common: Common,
    /// The findings configuration.
    pub config: StartConfig,
    /// `LOOKUP_CACHE_SECONDS` (`300`): how long preferences and document types are reused.
    pub cache_ttl: Duration,
    /// `AWS_REGION`, the function's own (set by Lambda): lookups for other regions are skipped.
    pub region: Option<String>,
}

impl StartSettings {
    /// Read from `get` (the process environment in the function).
    pub fn read(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let v = Variables(get);
        Ok(StartSettings {
            common: v.common()?,
            config: v.start_config()?,
            cache_ttl: Duration::from_secs(v.number("LOOKUP_CACHE_SECONDS", 300)?),
            region: v.text("AWS_REGION"),
        })
    }
}

/// The session-stream function's settings.
#[derive(Debug, Clone)]
pub struct StreamSettings {
    /// What every publishing function reads.
    pub common: Common,
}

impl StreamSettings {
    /// Read from `get` (the process environment in the function).
    pub fn read(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        Ok(StreamSettings { common: Variables(get).common()? })
    }
}

/// The session-report function's settings.
#[derive(Debug, Clone)]
pub struct ReportSettings {
    /// What every publishing function reads.
    pub common: Common,
    /// The report's options.
    pub options: ReportOptions,
    /// `TRANSCRIPT_LOG_GROUP`: the log group the agent streams to; unset, no stream is read.
    pub transcript_log_group: Option<String>,
}

impl ReportSettings {
    /// Read from `get` (the process environment in the function).
    pub fn read(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let v = Variables(get);
        Ok(ReportSettings {
            common: v.common()?,
            options: v.report_options()?,
            transcript_log_group: v.text("TRANSCRIPT_LOG_GROUP"),
        })
    }
}

/// The access-summary function's settings.
#[derive(Debug, Clone)]
pub struct SummarySettings {
    /// What every publishing function reads.
    pub common: Common,
    /// The summary's options.
    pub options: SummaryOptions,
}

impl SummarySettings {
    /// Read from `get` (the process environment in the function).
    pub fn read(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let v = Variables(get);
        Ok(SummarySettings { common: v.common()?, options: v.summary_options()? })
    }
}

/// The audit-digest function's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestSettings {
    /// `AUDIT_BUCKET` (required): the bucket whose versions the digests list.
    pub audit_bucket: String,
    /// `DIGEST_SIGNING_KEY` (required): the KMS key (ARN) that signs the digests.
    pub signing_key: String,
    /// The chain's options.
    pub options: DigestOptions,
}

impl DigestSettings {
    /// Read from `get` (the process environment in the function).
    pub fn read(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let v = Variables(get);
        Ok(DigestSettings {
            audit_bucket: v.audit_bucket()?,
            signing_key: v.required("DIGEST_SIGNING_KEY", "the KMS key that signs digests")?,
            options: v.digest_options()?,
        })
    }
}

/// The config-rule function's settings.
#[derive(Debug, Clone)]
pub struct ConfigRuleSettings {
    /// What every publishing function reads.
    pub common: Common,
    /// What the rule holds instances and preferences to.
    pub options: RuleOptions,
}

impl ConfigRuleSettings {
    /// Read from `get` (the process environment in the function).
    pub fn read(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let v = Variables(get);
        const SCOPE: &str = "CONFIG_SCOPE_TAG";
        let scope_tag = match v.text(SCOPE) {
            None => None,
            Some(tag) => match tag.split_once('=') {
                Some((k, val)) if !k.trim().is_empty() => {
                    Some((k.trim().to_string(), val.trim().to_string()))
                }
                _ => {
                    let reason = format!("'{tag}': expected Key=Value");
                    return Err(SettingsError { variable: SCOPE, reason });
                }
            },
        };
        Ok(ConfigRuleSettings {
            common: v.common()?,
            options: RuleOptions {
                expected: PreferencesExpected {
                    start: v.start_config()?,
                    max_session_minutes: v.max_session_minutes()?,
                    idle_minutes: v.number("IDLE_SESSION_MINUTES", 20)?,
                    require_kms: v.flag("CONFIG_REQUIRE_KMS", false)?,
                },
                scope_tag,
                region: v.required("AWS_REGION", "the function's region, set by Lambda")?,
            },
        })
    }
}

/// The guardduty-correlation function's settings.
#[derive(Debug, Clone)]
pub struct GuardDutySettings {
    /// What every publishing function reads.
    pub common: Common,
    /// How sessions are searched.
    pub options: CorrelationOptions,
}

impl GuardDutySettings {
    /// Read from `get` (the process environment in the function).
    pub fn read(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let v = Variables(get);
        let margin = v.number("GUARDDUTY_WINDOW_MINUTES", 60)?.clamp(1, 24 * 60);
        Ok(GuardDutySettings {
            common: v.common()?,
            options: CorrelationOptions {
                margin: jiff::SignedDuration::from_mins(margin as i64),
                longest_session: jiff::SignedDuration::from_mins(v.max_session_minutes()? as i64),
                account: v.text("ACCOUNT_ID"),
            },
        })
    }
}

/// The provisioner's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionerSettings {
    /// `STACK_ID` (`!Ref AWS::StackId`): the only stack whose requests are served; unset
    /// serves none.
    pub stack_id: Option<String>,
    /// `SKIP_TLS_BUCKET_POLICY` (`false`): leave out the TLS-only bucket policy, for the local
    /// emulator only (it treats every request as plain HTTP). Never set in AWS.
    pub skip_tls_bucket_policy: bool,
    /// `EMULATOR_RESPONSE_ORIGIN` (unset): a loopback origin (`http://127.0.0.1:<port>`) whose
    /// URLs may receive CloudFormation responses besides CloudFormation's own response bucket;
    /// the local response server of the emulator. Never set in AWS; nothing else is accepted.
    pub emulator_response_origin: Option<String>,
}

impl ProvisionerSettings {
    /// Read from `get` (the process environment in the function).
    pub fn read(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let v = Variables(get);
        let skip = v.flag("SKIP_TLS_BUCKET_POLICY", false)?;
        const ORIGIN: &str = "EMULATOR_RESPONSE_ORIGIN";
        let origin = v.text(ORIGIN);
        if let Some(origin) = &origin {
            if !is_loopback_origin(origin) {
                let reason = format!(
                    "'{origin}': expected http://127.0.0.1:<port>, http://localhost:<port> or \
                     http://[::1]:<port> (the emulator's response server, never a remote host)"
                );
                return Err(SettingsError { variable: ORIGIN, reason });
            }
        }
        Ok(ProvisionerSettings {
            stack_id: v.text("STACK_ID"),
            skip_tls_bucket_policy: skip,
            emulator_response_origin: origin,
        })
    }
}

/// `http://<loopback host>:<port>` and nothing more (no path, user or other host).
fn is_loopback_origin(origin: &str) -> bool {
    let Some(rest) = origin.strip_prefix("http://") else { return false };
    ["127.0.0.1:", "localhost:", "[::1]:"].iter().any(|host| {
        rest.strip_prefix(host).is_some_and(|port| !port.is_empty() && port.parse::<u16>().is_ok())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn the_lake_is_the_log_bucket_unless_all_of_security_lake_is_named() {
        let s = LakeSettings::read(env(&[("AUDIT_BUCKET", "b")])).unwrap();
        assert_eq!(s.target, LakeTarget::AuditBucket);
        assert_eq!(s.options, LakeOptions::default());
        let role = |n: &str| format!("arn:aws:iam::123456789012:role/{n}");
        let (p, f, a) = (role("p"), role("f"), role("a"));
        let all = [
            ("AUDIT_BUCKET", "b"),
            ("SECURITY_LAKE_BUCKET", "lake"),
            ("SECURITY_LAKE_PROCESS_ROLE", p.as_str()),
            ("SECURITY_LAKE_FINDING_ROLE", f.as_str()),
            ("SECURITY_LAKE_AUTH_ROLE", a.as_str()),
            ("SECURITY_LAKE_EXTERNAL_ID", "x"),
        ];
        let s = LakeSettings::read(env(&all)).unwrap();
        let LakeTarget::SecurityLake { bucket, roles, external_id } = s.target else {
            panic!("Security Lake")
        };
        assert_eq!((bucket.as_str(), roles.len(), external_id.as_str()), ("lake", 3, "x"));
        for missing in 2..all.len() {
            let some: Vec<_> =
                all.iter().enumerate().filter(|(i, _)| *i != missing).map(|(_, p)| *p).collect();
            let e = LakeSettings::read(env(&some)).unwrap_err();
            assert_eq!(e.variable, all[missing].0, "the missing one is named");
        }
        let e = LakeSettings::read(env(&[("AUDIT_BUCKET", "b"), ("SECURITY_LAKE_AUTH_ROLE", &a)]))
            .unwrap_err();
        assert_eq!(e.variable, "SECURITY_LAKE_AUTH_ROLE", "a role without the lake's bucket");
        let mut bad = all;
        bad[3] = ("SECURITY_LAKE_FINDING_ROLE", "arn:aws:iam::123456789012:user/x");
        assert_eq!(
            LakeSettings::read(env(&bad)).unwrap_err().variable,
            "SECURITY_LAKE_FINDING_ROLE"
        );
    }

    #[test]
    fn unset_empty_and_blank_take_the_default_and_required_ones_are_named() {
        for value in [None, Some(""), Some("  ")] {
            let pairs: Vec<(&str, &str)> = [("AUDIT_BUCKET", "b")]
                .into_iter()
                .chain(value.map(|v| ("TRANSCRIPT_PREFIX", v)))
                .chain(value.map(|v| ("FINDINGS_EVENT_BUS", v)))
                .collect();
            let s = ReportSettings::read(env(&pairs)).unwrap();
            assert_eq!(s.options.transcript_prefix, "session-logs/");
            assert_eq!(s.common.findings_event_bus, "default");
            assert_eq!(s.options.max_session_minutes, 480);
            let start = StartSettings::read(env(&pairs)).unwrap();
            assert_eq!(start.config.transcript_prefix, "session-logs/", "one rule for both");
        }
        let e = SummarySettings::read(env(&[])).unwrap_err();
        assert_eq!(e.variable, "AUDIT_BUCKET");
        assert_eq!(e.to_string(), "AUDIT_BUCKET: required (the log bucket)");
        assert_eq!(format!("{e:?}"), e.to_string(), "main prints it as it reads");
    }

    #[test]
    fn bad_values_name_their_variable() {
        let cases = [
            ("MAX_SESSION_MINUTES", "eight hours"),
            ("TRANSCRIPT_GRACE_MINUTES", "-1"),
            ("BUSINESS_HOURS", "office hours"),
        ];
        for (variable, value) in cases {
            let e = ReportSettings::read(env(&[("AUDIT_BUCKET", "b"), (variable, value)]))
                .and_then(|_| {
                    SummarySettings::read(env(&[("AUDIT_BUCKET", "b"), (variable, value)]))
                })
                .unwrap_err();
            assert_eq!(e.variable, variable, "{e}");
        }
        let e = StartSettings::read(env(&[("AUDIT_BUCKET", "b"), ("REQUIRED_TAG", "Purpose")]));
        assert_eq!(e.unwrap_err().variable, "REQUIRED_TAG");
        let e = ProvisionerSettings::read(env(&[("SKIP_TLS_BUCKET_POLICY", "yes")]));
        assert_eq!(e.unwrap_err().variable, "SKIP_TLS_BUCKET_POLICY");
        // A rule pack where every instance may write decides nothing.
        for writable in ["s3://logs/session-logs/rules.toml", "s3://logs/session-logs/x/r.toml"] {
            let e = ReportSettings::read(env(&[("AUDIT_BUCKET", "logs"), ("RULES_URI", writable)]));
            let e = e.unwrap_err();
            assert_eq!(e.variable, "RULES_URI");
            assert!(e.reason.contains("every instance may write"), "{}", e.reason);
        }
        for fine in ["s3://logs/config/rules.toml", "s3://admin/session-logs/rules.toml"] {
            let ok = ReportSettings::read(env(&[("AUDIT_BUCKET", "logs"), ("RULES_URI", fine)]));
            assert!(ok.is_ok(), "{fine}");
        }
    }

    #[test]
    fn values_are_read_as_given() {
        let pairs = [
            ("AUDIT_BUCKET", " audit "),
            ("TRANSCRIPT_PREFIX", "audited"),
            ("REQUIRED_TAG", "Team = ops"),
            ("ALLOWED_PRINCIPALS", "arn:a, ,arn:b*"),
            ("LOOKUP_CACHE_SECONDS", "0"),
            ("AWS_REGION", "eu-west-1"),
            ("SUMMARY_CONCURRENCY", "100000"),
            ("RULES_URI", "s3://b/rules.toml"),
        ];
        let start = StartSettings::read(env(&pairs)).unwrap();
        assert_eq!(start.common.audit_bucket, "audit");
        assert_eq!(start.config.transcript_prefix, "audited/");
        assert_eq!(start.config.required_tag, ("Team".into(), "ops".into()));
        assert_eq!(start.config.allowed_principals, ["arn:a", "arn:b*"]);
        assert_eq!(start.cache_ttl, Duration::ZERO);
        assert_eq!(start.region.as_deref(), Some("eu-west-1"));
        assert_eq!(start.common.rules_uri.as_deref(), Some("s3://b/rules.toml"));
        let summary = SummarySettings::read(env(&pairs)).unwrap();
        assert_eq!(summary.options.concurrency, 512, "clamped");
        assert_eq!(summary.options.business_hours_text, "Mon-Fri 08:00-18:00 UTC");
        let p = ProvisionerSettings::read(env(&[
            ("STACK_ID", "arn:s"),
            ("SKIP_TLS_BUCKET_POLICY", "1"),
        ]));
        assert_eq!(
            p.unwrap(),
            ProvisionerSettings {
                stack_id: Some("arn:s".into()),
                skip_tls_bucket_policy: true,
                emulator_response_origin: None,
            }
        );
    }

    #[test]
    fn the_redaction_key_comes_from_one_place() {
        let common = |pairs: &[(&str, &str)]| {
            let mut all = vec![("AUDIT_BUCKET", "b")];
            all.extend_from_slice(pairs);
            ReportSettings::read(env(&all)).map(|s| s.common.redaction_key)
        };
        assert_eq!(common(&[]).unwrap(), RedactionKeySource::BuiltIn);
        assert_eq!(
            common(&[("REDACTION_KEY_PARAMETER", "/k")]).unwrap(),
            RedactionKeySource::Parameter("/k".into())
        );
        assert_eq!(
            common(&[("REDACTION_KEY_SECRET", "arn:s")]).unwrap(),
            RedactionKeySource::Secret("arn:s".into())
        );
        let both = common(&[("REDACTION_KEY_PARAMETER", "/k"), ("REDACTION_KEY_SECRET", "arn:s")]);
        assert_eq!(both.unwrap_err().variable, "REDACTION_KEY_SECRET");
    }

    #[test]
    fn the_emulator_response_origin_is_a_loopback_origin_or_refused() {
        for origin in ["http://127.0.0.1:4566", "http://localhost:9", "http://[::1]:80"] {
            let p = ProvisionerSettings::read(env(&[("EMULATOR_RESPONSE_ORIGIN", origin)]));
            assert_eq!(p.unwrap().emulator_response_origin.as_deref(), Some(origin));
        }
        for origin in [
            "https://attacker.example",
            "http://127.0.0.1.evil.example:80",
            "http://127.0.0.1:80/path",
            "http://127.0.0.1",
            "http://user@127.0.0.1:80",
        ] {
            let e = ProvisionerSettings::read(env(&[("EMULATOR_RESPONSE_ORIGIN", origin)]));
            assert_eq!(e.unwrap_err().variable, "EMULATOR_RESPONSE_ORIGIN", "{origin}");
        }
    }

    #[test]
    fn the_config_rule_holds_to_the_stack_s_session_times_and_an_optional_scope() {
        let base = [("AUDIT_BUCKET", "b"), ("AWS_REGION", "eu-west-1")];
        let s = ConfigRuleSettings::read(env(&base)).unwrap();
        let e = &s.options.expected;
        assert_eq!((e.max_session_minutes, e.idle_minutes, e.require_kms), (480, 20, false));
        assert_eq!((s.options.scope_tag, s.options.region.as_str()), (None, "eu-west-1"));
        let more = [
            base[0],
            base[1],
            ("MAX_SESSION_MINUTES", "0"),
            ("CONFIG_REQUIRE_KMS", "true"),
            ("CONFIG_SCOPE_TAG", "Team = payments"),
        ];
        let s = ConfigRuleSettings::read(env(&more)).unwrap();
        assert_eq!(s.options.expected.max_session_minutes, 1440, "0 is the longest, as written");
        assert!(s.options.expected.require_kms);
        assert_eq!(s.options.scope_tag, Some(("Team".into(), "payments".into())));
        for (variable, bad) in [("CONFIG_SCOPE_TAG", "payments"), ("CONFIG_REQUIRE_KMS", "yes")] {
            let e = ConfigRuleSettings::read(env(&[base[0], base[1], (variable, bad)]));
            assert_eq!(e.unwrap_err().variable, variable);
        }
        assert_eq!(ConfigRuleSettings::read(env(&base[..1])).unwrap_err().variable, "AWS_REGION");
    }

    #[test]
    fn the_guardduty_window_is_bounded() {
        let s = GuardDutySettings::read(env(&[("AUDIT_BUCKET", "b")])).unwrap();
        assert_eq!(s.options.margin, jiff::SignedDuration::from_mins(60));
        assert_eq!(s.options.longest_session, jiff::SignedDuration::from_mins(480));
        let s = GuardDutySettings::read(env(&[
            ("AUDIT_BUCKET", "b"),
            ("GUARDDUTY_WINDOW_MINUTES", "100000"),
            ("ACCOUNT_ID", "123456789012"),
        ]))
        .unwrap();
        assert_eq!(s.options.margin, jiff::SignedDuration::from_hours(24));
        assert_eq!(s.options.account.as_deref(), Some("123456789012"));
    }
}
