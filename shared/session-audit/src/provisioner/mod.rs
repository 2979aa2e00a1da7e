//! The provisioner's domain: its properties, the names it gives resources, and the policy
//! documents it writes. Pure: no AWS calls (those are in `session_audit_aws::provisioner`).

pub mod access;
pub mod policies;

use std::collections::HashMap;
use std::fmt;

use serde_json::Value;

/// The AL2023 public AMI parameters (S1: Amazon Linux 2 is past end of support).
pub const AMI_PARAMETER_X86: &str =
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";
/// The Amazon Linux 2023 arm64 AMI's public parameter (the default `AmiParameter`).
pub const AMI_PARAMETER_ARM: &str =
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64";
/// The document that holds the account's Session Manager preferences.
pub const PREFERENCES_DOCUMENT: &str = "SSM-SessionManagerRunShell";
/// Retention values CloudWatch Logs accepts.
pub const RETENTION_DAYS: &[u32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// The custom resource's properties, validated. Names follow docs/DESIGN.md §3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Properties {
    /// `NamePrefix`: the start of every name the provisioner gives.
    pub name_prefix: String,
    /// `InstanceType` (`t3.micro`).
    pub instance_type: String,
    /// `AmiParameter`: the SSM public parameter naming the AMI.
    pub ami_parameter: String,
    /// `SubnetId`; `None` uses the default VPC.
    pub subnet_id: Option<String>,
    /// `LogRetentionDays` (`30`) of the transcript log group.
    pub log_retention_days: u32,
    /// `TranscriptPrefix` (`session-logs/`), where the agent uploads transcripts.
    pub transcript_prefix: String,
    /// `AccessTagKey` (`Purpose`): the tag the user policy requires on targets.
    pub access_tag_key: String,
    /// `AccessTagValue` (`SessionManagerTesting`).
    pub access_tag_value: String,
    /// `KmsKeyArn`; `None` creates a key.
    pub kms_key_arn: Option<String>,
    /// `RetainLogs` (`true`): keep bucket, log group and key when the stack is deleted.
    pub retain_logs: bool,
    /// `EnforceTls` (`true`): the TLS-only bucket policy.
    pub enforce_tls: bool,
    /// `WaitForRegistration` (`false`): wait until the instance is online in Systems Manager.
    pub wait_for_registration: bool,
    /// How long to wait for the registration.
    pub registration_timeout_seconds: u64,
    /// `MaxSessionMinutes` (`480`, at most 1440; 0 turns the too-long finding off): Session
    /// Manager ends sessions after this (`maxSessionDuration`; 0 gives the longest, 1440).
    pub max_session_minutes: u32,
    /// `ObjectLockDays` (`365`, at most 36500; 0 = off): a new log bucket gets S3 Object Lock
    /// with this default retention in governance mode, so no transcript or report version can
    /// be deleted or overwritten in place within it.
    pub object_lock_days: u32,
    /// The Session documents (`PortForwardPorts`, `RemoteDestinations`, `TaskServices`).
    pub catalog: crate::access::Catalog,
    /// `ProtectedTag` (`Protected=true`; empty: none): instances that need an approval and an
    /// open change window.
    pub protected_tag: Option<(String, String)>,
    /// `ChangeCalendar`: an existing Change Calendar (name or ARN); `None` creates one.
    pub change_calendar: Option<String>,
    /// `ChangeWindow` (`Sat 02:00-06:00 UTC`): when the created calendar is open.
    pub change_window: String,
    /// `Approvers`: IAM ARNs who may approve sessions to protected instances; empty: no
    /// approval runbook (protected instances cannot be reached).
    pub approvers: Vec<String>,
    /// `OrganizationId` (`o-…`; empty: none): the hub admits this AWS Organization's accounts
    /// (and no other) to upload transcripts under their own `<prefix><account>/` folder, with
    /// the bucket key (issue 31).
    pub organization_id: Option<String>,
}

/// A property with a value the provisioner cannot use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyError {
    /// The property, as CloudFormation names it.
    pub property: &'static str,
    /// What is wrong with its value.
    pub reason: String,
}

impl fmt::Display for PropertyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "property {}: {}", self.property, self.reason)
    }
}

impl std::error::Error for PropertyError {}

/// Properties arrive as strings (CloudFormation stringifies everything); JSON numbers and
/// booleans are accepted too, for hand-written test events.
fn text(props: &HashMap<String, Value>, key: &str) -> Option<String> {
    match props.get(key)? {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
    .filter(|s| !s.is_empty())
}

fn boolean(
    props: &HashMap<String, Value>,
    key: &'static str,
    default: bool,
) -> Result<bool, PropertyError> {
    match text(props, key).map(|s| s.to_ascii_lowercase()) {
        None => Ok(default),
        Some(s) if s == "true" => Ok(true),
        Some(s) if s == "false" => Ok(false),
        Some(s) => {
            Err(PropertyError { property: key, reason: format!("'{s}' is not true or false") })
        }
    }
}

fn tag_text(key: &'static str, value: &str, max: usize) -> Result<(), PropertyError> {
    let ok = !value.is_empty()
        && value.chars().count() <= max
        && value.chars().all(|c| c.is_alphanumeric() || " _.:/=+-@".contains(c));
    ok.then_some(()).ok_or_else(|| PropertyError {
        property: key,
        reason: format!(
            "'{value}' is not a valid tag text (1–{max} letters, digits, spaces and _.:/=+-@)"
        ),
    })
}

/// `o-` and 10–32 lowercase letters or digits, as AWS Organizations spells an organization ID.
pub fn is_organization_id(id: &str) -> bool {
    id.strip_prefix("o-").is_some_and(|rest| {
        (10..=32).contains(&rest.len())
            && rest.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    })
}

/// ARM instance families run the arm64 AMI.
pub fn is_arm_instance_type(instance_type: &str) -> bool {
    let family = instance_type.split('.').next().unwrap_or("");
    family.len() >= 2 && family.as_bytes()[1..].contains(&b'g') && !family.starts_with("g")
        || family.starts_with("a1")
}

impl Properties {
    /// The `maxSessionDuration` the preferences set: every session ends by then, which is what
    /// lets the audit look for a session's record at most a day back.
    pub fn session_duration_minutes(&self) -> u32 {
        match self.max_session_minutes {
            0 => crate::session::LONGEST_SESSION_MINUTES,
            m => m,
        }
    }

    /// Parse and validate `ResourceProperties` (`ServiceToken` and unknown keys are ignored).
    pub fn parse(props: &HashMap<String, Value>) -> Result<Self, PropertyError> {
        let name_prefix = text(props, "NamePrefix").unwrap_or_else(|| "session-audit".to_string());
        let name_ok = name_prefix.len() <= 24
            && name_prefix.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && name_prefix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !name_prefix.ends_with('-');
        if !name_ok {
            return Err(PropertyError {
                property: "NamePrefix",
                reason: format!("'{name_prefix}' must be 1–24 lowercase letters, digits or '-', starting with a letter (it names the bucket)"),
            });
        }
        let instance_type = text(props, "InstanceType").unwrap_or_else(|| "t3.micro".to_string());
        if !instance_type.contains('.')
            || instance_type.len() > 32
            || !instance_type.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        {
            return Err(PropertyError {
                property: "InstanceType",
                reason: format!("'{instance_type}' is not an EC2 instance type such as t3.micro"),
            });
        }
        let default_ami = if is_arm_instance_type(&instance_type) {
            AMI_PARAMETER_ARM
        } else {
            AMI_PARAMETER_X86
        };
        let ami_parameter = text(props, "AmiParameter").unwrap_or_else(|| default_ami.to_string());
        if !ami_parameter.starts_with('/') && !ami_parameter.starts_with("ami-") {
            return Err(PropertyError {
                property: "AmiParameter",
                reason: format!(
                    "'{ami_parameter}' is neither an SSM parameter name (/…) nor an AMI ID (ami-…)"
                ),
            });
        }
        let subnet_id = text(props, "SubnetId");
        if let Some(s) = &subnet_id {
            if !s.starts_with("subnet-") {
                return Err(PropertyError {
                    property: "SubnetId",
                    reason: format!(
                        "'{s}' is not a subnet ID (subnet-…); leave it empty for the default VPC"
                    ),
                });
            }
        }
        let retention = text(props, "LogRetentionDays").unwrap_or_else(|| "30".to_string());
        let log_retention_days =
            retention.parse::<u32>().ok().filter(|d| RETENTION_DAYS.contains(d)).ok_or_else(
                || PropertyError {
                    property: "LogRetentionDays",
                    reason: format!(
                        "'{retention}' is not a retention CloudWatch Logs accepts ({})",
                        RETENTION_DAYS.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
                    ),
                },
            )?;
        let transcript_prefix =
            text(props, "TranscriptPrefix").unwrap_or_else(|| "session-logs/".to_string());
        let prefix_ok = transcript_prefix.ends_with('/')
            && !transcript_prefix.starts_with('/')
            && !transcript_prefix.starts_with("audit/")
            && transcript_prefix.len() <= 200
            && transcript_prefix.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
        if !prefix_ok {
            return Err(PropertyError {
                property: "TranscriptPrefix",
                reason: format!("'{transcript_prefix}' must be a relative S3 prefix ending in '/', outside audit/ (reports live there)"),
            });
        }
        let access_tag_key = text(props, "AccessTagKey").unwrap_or_else(|| "Purpose".to_string());
        tag_text("AccessTagKey", &access_tag_key, 128)?;
        if access_tag_key.to_ascii_lowercase().starts_with("aws:") {
            return Err(PropertyError {
                property: "AccessTagKey",
                reason: format!("'{access_tag_key}': tag keys starting with aws: are reserved"),
            });
        }
        let access_tag_value =
            text(props, "AccessTagValue").unwrap_or_else(|| "SessionManagerTesting".to_string());
        tag_text("AccessTagValue", &access_tag_value, 256)?;
        let kms_key_arn = text(props, "KmsKeyArn");
        if let Some(k) = &kms_key_arn {
            if !(k.starts_with("arn:aws") && k.contains(":kms:") && k.contains(":key/")) {
                return Err(PropertyError { property: "KmsKeyArn", reason: format!("'{k}' is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>); leave it empty to create one") });
            }
        }
        let timeout =
            text(props, "RegistrationTimeoutSeconds").unwrap_or_else(|| "600".to_string());
        let registration_timeout_seconds =
            timeout.parse::<u64>().ok().filter(|t| (10..=3000).contains(t)).ok_or_else(|| {
                PropertyError {
                    property: "RegistrationTimeoutSeconds",
                    reason: format!("'{timeout}' must be a number of seconds between 10 and 3000"),
                }
            })?;
        let max = text(props, "MaxSessionMinutes").unwrap_or_else(|| "480".to_string());
        let limit = crate::session::LONGEST_SESSION_MINUTES;
        let max_session_minutes =
            max.parse::<u32>().ok().filter(|m| *m <= limit).ok_or_else(|| PropertyError {
                property: "MaxSessionMinutes",
                reason: format!("'{max}' must be a number of minutes from 0 to {limit}"),
            })?;
        let lock = text(props, "ObjectLockDays").unwrap_or_else(|| "365".to_string());
        let object_lock_days =
            lock.parse::<u32>().ok().filter(|d| *d <= 36_500).ok_or_else(|| PropertyError {
                property: "ObjectLockDays",
                reason: format!("'{lock}' must be a number of days from 0 (off) to 36500"),
            })?;
        let catalog = crate::access::Catalog::parse(
            &name_prefix,
            &text(props, "PortForwardPorts").unwrap_or_else(|| "80,443".into()),
            &text(props, "RemoteDestinations").unwrap_or_default(),
            &text(props, "TaskServices").unwrap_or_else(|| "nginx".into()),
        )
        .map_err(|e| PropertyError { property: "PortForwardPorts", reason: e.to_string() })?;
        let protected_tag = match text(props, "ProtectedTag").as_deref().unwrap_or("Protected=true")
        {
            "none" => None,
            tag => {
                let (k, v) = tag.split_once('=').ok_or_else(|| PropertyError {
                    property: "ProtectedTag",
                    reason: format!("'{tag}' is not Key=Value (or none)"),
                })?;
                tag_text("ProtectedTag", k.trim(), 128)?;
                tag_text("ProtectedTag", v.trim(), 256)?;
                Some((k.trim().to_string(), v.trim().to_string()))
            }
        };
        let change_window =
            text(props, "ChangeWindow").unwrap_or_else(|| "Sat 02:00-06:00 UTC".into());
        crate::session::findings::BusinessHours::parse(&change_window).map_err(|e| {
            PropertyError { property: "ChangeWindow", reason: format!("'{change_window}': {e}") }
        })?;
        let change_calendar = text(props, "ChangeCalendar");
        if let Some(c) = &change_calendar {
            let name = c.rsplit('/').next().unwrap_or(c);
            if name.len() < 3
                || !name.chars().all(|ch| ch.is_ascii_alphanumeric() || "_.-".contains(ch))
            {
                return Err(PropertyError {
                    property: "ChangeCalendar",
                    reason: format!("'{c}' is not a Change Calendar name or ARN"),
                });
            }
        }
        let approvers: Vec<String> = text(props, "Approvers")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if let Some(bad) =
            approvers.iter().find(|a| !(a.starts_with("arn:aws") && a.contains(":iam::")))
        {
            return Err(PropertyError {
                property: "Approvers",
                reason: format!("'{bad}' is not an IAM user or role ARN"),
            });
        }
        let organization_id = text(props, "OrganizationId");
        if let Some(o) = &organization_id {
            if !is_organization_id(o) {
                return Err(PropertyError {
                    property: "OrganizationId",
                    reason: format!("'{o}' is not an AWS Organizations ID (o- and 10–32 lowercase letters or digits); leave it empty for one account"),
                });
            }
        }
        Ok(Properties {
            organization_id,
            catalog,
            protected_tag,
            change_window,
            change_calendar,
            approvers,
            object_lock_days,
            name_prefix,
            instance_type,
            ami_parameter,
            subnet_id,
            log_retention_days,
            transcript_prefix,
            access_tag_key,
            access_tag_value,
            kms_key_arn,
            retain_logs: boolean(props, "RetainLogs", true)?,
            enforce_tls: boolean(props, "EnforceTls", true)?,
            wait_for_registration: boolean(props, "WaitForRegistration", false)?,
            registration_timeout_seconds,
            max_session_minutes,
        })
    }
}

/// Where the provisioner works: account and region, from the request's StackId.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// `aws`, `aws-cn` or `aws-us-gov`.
    pub partition: String,
    /// The region the stack runs in.
    pub region: String,
    /// The account the stack runs in.
    pub account: String,
}

impl Place {
    /// From a stack ARN: `arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<id>`.
    pub fn from_stack_id(stack_id: &str) -> Option<Self> {
        let parts: Vec<&str> = stack_id.splitn(6, ':').collect();
        (parts.len() == 6 && parts[0] == "arn" && !parts[3].is_empty() && !parts[4].is_empty())
            .then(|| Place {
                partition: parts[1].to_string(),
                region: parts[3].to_string(),
                account: parts[4].to_string(),
            })
    }
}

/// The names of everything the provisioner creates, derived from the prefix and place so that
/// a redelivered request finds what an earlier attempt made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// The log bucket.
    pub bucket: String,
    /// The transcript log group.
    pub log_group: String,
    /// The instance role.
    pub role: String,
    /// The instance profile.
    pub instance_profile: String,
    /// The managed policy people are given to start sessions.
    pub user_policy: String,
    /// The instance's security group (no inbound rule).
    pub security_group: String,
    /// The KMS key's alias.
    pub key_alias: String,
    /// The instance's `Name` tag.
    pub instance: String,
    /// The Change Calendar the provisioner creates (when none is given).
    pub change_calendar: String,
    /// The approval runbook.
    pub approval_runbook: String,
    /// The role the approval runbook acts as.
    pub approval_role: String,
}

impl Names {
    /// The names under `prefix` in `place`.
    pub fn new(prefix: &str, place: &Place) -> Self {
        // Bucket names are global: account and region make them unique, 63 characters at most.
        let mut bucket = format!("{prefix}-logs-{}-{}", place.account, place.region);
        bucket.truncate(63);
        let bucket = bucket.trim_end_matches('-').to_string();
        Names {
            bucket,
            log_group: format!("/session-audit/{prefix}/sessions"),
            role: format!("{prefix}-ssm-instance"),
            instance_profile: format!("{prefix}-ssm-instance"),
            user_policy: format!("{prefix}-session-user"),
            security_group: format!("{prefix}-no-ingress"),
            key_alias: format!("alias/{prefix}-session-logs"),
            instance: format!("{prefix}-session-target"),
            change_calendar: format!("{prefix}-ChangeWindows"),
            approval_runbook: format!("{prefix}-ApproveSession"),
            approval_role: format!("{prefix}-session-approval"),
        }
    }

    /// The transcript log group's ARN.
    pub fn log_group_arn(&self, place: &Place) -> String {
        format!(
            "arn:{}:logs:{}:{}:log-group:{}",
            place.partition, place.region, place.account, self.log_group
        )
    }

    /// The log bucket's ARN.
    pub fn bucket_arn(&self, place: &Place) -> String {
        format!("arn:{}:s3:::{}", place.partition, self.bucket)
    }

    /// The user policy's ARN.
    pub fn user_policy_arn(&self, place: &Place) -> String {
        format!("arn:{}:iam::{}:policy/{}", place.partition, place.account, self.user_policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> HashMap<String, Value> {
        pairs.iter().map(|(k, v)| (k.to_string(), Value::String(v.to_string()))).collect()
    }

    #[test]
    fn defaults_match_the_design() {
        let p = Properties::parse(&props(&[("ServiceToken", "arn:aws:lambda:x")])).unwrap();
        assert_eq!(p.instance_type, "t3.micro");
        assert_eq!(p.ami_parameter, AMI_PARAMETER_X86);
        assert_eq!(p.log_retention_days, 30);
        assert_eq!(p.transcript_prefix, "session-logs/");
        assert_eq!(
            (p.access_tag_key.as_str(), p.access_tag_value.as_str()),
            ("Purpose", "SessionManagerTesting")
        );
        assert!(p.retain_logs && p.enforce_tls && !p.wait_for_registration);
        assert_eq!(p.kms_key_arn, None);
        assert_eq!(p.subnet_id, None, "empty means the default VPC");
    }

    #[test]
    fn arm_instance_types_get_the_arm_ami() {
        let p = Properties::parse(&props(&[("InstanceType", "t4g.small")])).unwrap();
        assert_eq!(p.ami_parameter, AMI_PARAMETER_ARM);
        for t in ["m7g.large", "c6gn.xlarge", "r8g.medium", "a1.large"] {
            assert!(is_arm_instance_type(t), "{t}");
        }
        for t in ["t3.micro", "g5.xlarge", "m5.large", "c7i.large"] {
            assert!(!is_arm_instance_type(t), "{t}");
        }
    }

    #[test]
    fn bad_values_name_their_property() {
        let cases = [
            ("LogRetentionDays", "31"),
            ("RetainLogs", "yes"),
            ("EnforceTls", "maybe"),
            ("TranscriptPrefix", "/abs/"),
            ("TranscriptPrefix", "audit/x/"),
            ("NamePrefix", "Has_Caps"),
            ("SubnetId", "vpc-123"),
            ("KmsKeyArn", "alias/mine"),
            ("InstanceType", "large"),
            ("AccessTagKey", "aws:reserved"),
            ("RegistrationTimeoutSeconds", "5"),
            ("OrganizationId", "o-short"),
            ("OrganizationId", "123456789012"),
            ("OrganizationId", "o-UPPERCASE123"),
        ];
        for (key, value) in cases {
            let e = Properties::parse(&props(&[(key, value)])).unwrap_err();
            assert_eq!(e.property, key, "{key}={value}");
            assert!(e.to_string().contains(value), "{e}");
        }
    }

    #[test]
    fn names_are_deterministic_and_bucket_safe() {
        let place =
            Place::from_stack_id("arn:aws:cloudformation:eu-central-1:123456789012:stack/s/guid")
                .unwrap();
        let n = Names::new("a-very-long-prefix-xyz12", &place);
        assert!(n.bucket.len() <= 63 && !n.bucket.ends_with('-'), "{}", n.bucket);
        assert_eq!(Names::new("sa", &place).bucket, "sa-logs-123456789012-eu-central-1");
        assert_eq!(n.log_group_arn(&place), "arn:aws:logs:eu-central-1:123456789012:log-group:/session-audit/a-very-long-prefix-xyz12/sessions");
        assert_eq!(Place::from_stack_id("not-an-arn"), None);
    }
}
