//! Every environment variable the functions read (docs/DESIGN.md §3), each named once, here,
//! and read at cold start into one typed struct per function. Pure: variables come through a
//! lookup (the process environment in the functions, a map in tests), and one rule holds for
//! all of them: unset, empty and blank are the same, and take the default.
//!
//! The rule pack and the redaction key are named here too but loaded by the AWS crate (they
//! live in S3 and SSM).

use std::time::Duration;

use crate::access_summary::SummaryOptions;
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
        if let Some((bucket, key)) = uri.strip_prefix("s3://").and_then(|p| p.split_once('/')) {
            let writable = bucket == self.audit_bucket()?
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

    /// What every function that judges and publishes shares.
    pub fn common(&self) -> Result<Common, SettingsError> {
        Ok(Common {
            audit_bucket: self.audit_bucket()?,
            findings_event_bus: self.text("FINDINGS_EVENT_BUS").unwrap_or_else(|| "default".into()),
            rules_uri: self.rules_uri()?,
            redaction_key_parameter: self.text("REDACTION_KEY_PARAMETER"),
        })
    }

    /// The session-start audit's findings configuration.
    pub fn start_config(&self) -> Result<StartConfig, SettingsError> {
        const TAG: &str = "REQUIRED_TAG";
        let tag = self.text(TAG).unwrap_or_else(|| "Purpose=SessionManagerTesting".into());
        let (k, v) = tag.split_once('=').ok_or_else(|| SettingsError {
            variable: TAG,
            reason: format!("'{tag}': expected Key=Value"),
        })?;
        Ok(StartConfig {
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
        })
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
}

/// What every function that judges and publishes reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Common {
    /// `AUDIT_BUCKET` (required): the log bucket.
    pub audit_bucket: String,
    /// `FINDINGS_EVENT_BUS` (`default`): where finding events go.
    pub findings_event_bus: String,
    /// `RULES_URI`: a user rule pack, `s3://bucket/key` or a file path.
    pub rules_uri: Option<String>,
    /// `REDACTION_KEY_PARAMETER`: the SSM SecureString holding the redaction key.
    pub redaction_key_parameter: Option<String>,
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

/// The provisioner's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionerSettings {
    /// `STACK_ID` (`!Ref AWS::StackId`): the only stack whose requests are served; unset
    /// serves none.
    pub stack_id: Option<String>,
    /// `SKIP_TLS_BUCKET_POLICY` (`false`): leave out the TLS-only bucket policy, for the local
    /// emulator only (it treats every request as plain HTTP). Never set in AWS.
    pub skip_tls_bucket_policy: bool,
}

impl ProvisionerSettings {
    /// Read from `get` (the process environment in the function).
    pub fn read(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let v = Variables(get);
        const SKIP: &str = "SKIP_TLS_BUCKET_POLICY";
        let skip = match v.text(SKIP).as_deref() {
            None | Some("false" | "0") => false,
            Some("true" | "1") => true,
            Some(other) => {
                let reason = format!("'{other}': expected true or false");
                return Err(SettingsError { variable: SKIP, reason });
            }
        };
        Ok(ProvisionerSettings { stack_id: v.text("STACK_ID"), skip_tls_bucket_policy: skip })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
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
            ProvisionerSettings { stack_id: Some("arn:s".into()), skip_tls_bucket_policy: true }
        );
    }
}
