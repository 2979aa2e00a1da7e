//! AWS Config evaluations (the pure part of the Config rule): whether each instance and the
//! account's Session Manager preferences keep the audit's access path, each verdict with an
//! annotation that says what is wrong in words. The facts (EC2, SSM, IAM) are gathered at the
//! edge ([`crate::ports::compliance`]); the config-rule use case ([`crate::config_rule`]) puts
//! the verdicts and raises findings for those that fail.

pub mod invocation;

use serde_json::Value;

use crate::session::findings::{check_preferences, StartConfig};

/// Config's longest annotation.
pub const MAX_ANNOTATION: usize = 256;

/// Config's verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compliance {
    /// Keeps the access path.
    Compliant,
    /// Does not; the annotation says why.
    NonCompliant,
    /// Out of scope (a terminated instance).
    NotApplicable,
}

impl Compliance {
    /// Config's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Compliance::Compliant => "COMPLIANT",
            Compliance::NonCompliant => "NON_COMPLIANT",
            Compliance::NotApplicable => "NOT_APPLICABLE",
        }
    }
}

/// One evaluation to put.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// `AWS::EC2::Instance` or `AWS::::Account`.
    pub resource_type: &'static str,
    /// The instance ID or the account ID.
    pub resource_id: String,
    /// The verdict.
    pub compliance: Compliance,
    /// What is wrong, in words (at most [`MAX_ANNOTATION`] characters), or what is right.
    pub annotation: String,
}

/// One inbound rule of a security group the instance is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingress {
    /// The group.
    pub group_id: String,
    /// `tcp`, `udp`, `-1` (all) …
    pub protocol: String,
    /// The port range (`None` for all ports).
    pub ports: Option<(u16, u16)>,
    /// Where from (IPv4 and IPv6 CIDRs).
    pub sources: Vec<String>,
}

/// What the rule knows of an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceFacts {
    /// The instance ID.
    pub instance_id: String,
    /// EC2's state name (`running`, `stopped`, `terminated`, …).
    pub state: String,
    /// Online in Systems Manager's inventory (`PingStatus = Online`).
    pub managed_online: bool,
    /// Its security groups.
    pub groups: Vec<String>,
    /// Its tags.
    pub tags: Vec<(String, String)>,
    /// Its security groups' inbound rules.
    pub ingress: Vec<Ingress>,
    /// `HttpTokens = required` (IMDSv2 only).
    pub imds_v2_required: bool,
    /// The managed policies of its instance profile's role (`None`: no profile).
    pub profile_policies: Option<Vec<String>>,
}

/// The ports a person reaches a shell through, besides Session Manager.
const ADMIN_PORTS: [(u16, &str); 2] = [(22, "SSH"), (3389, "RDP")];

fn anywhere(cidr: &str) -> bool {
    cidr == "0.0.0.0/0" || cidr == "::/0"
}

/// Inbound rules that open SSH or RDP to the whole internet, in words.
pub fn open_admin_ports(ingress: &[Ingress]) -> Vec<String> {
    let mut out = Vec::new();
    for rule in ingress {
        let tcp = rule.protocol == "tcp" || rule.protocol == "6" || rule.protocol == "-1";
        if !tcp {
            continue;
        }
        for (port, name) in ADMIN_PORTS {
            let covered = rule.ports.is_none_or(|(from, to)| from <= port && port <= to);
            if let Some(cidr) = rule.sources.iter().find(|c| anywhere(c)).filter(|_| covered) {
                out.push(format!("{} opens {name} ({port}) to {cidr}", rule.group_id));
            }
        }
    }
    out
}

fn annotate(problems: &[String], fine: &str) -> (Compliance, String) {
    if problems.is_empty() {
        return (Compliance::Compliant, fine.to_string());
    }
    let text = problems.join("; ");
    let text = match text.char_indices().nth(MAX_ANNOTATION - 1) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    };
    (Compliance::NonCompliant, text)
}

/// An instance keeps the access path when Session Manager reaches it (online, with the core
/// policy on its profile), nothing else does (no SSH or RDP from anywhere), and its
/// credentials need IMDSv2.
pub fn evaluate_instance(f: &InstanceFacts) -> Evaluation {
    let resource = |compliance, annotation| Evaluation {
        resource_type: "AWS::EC2::Instance",
        resource_id: f.instance_id.clone(),
        compliance,
        annotation,
    };
    if matches!(f.state.as_str(), "terminated" | "shutting-down") {
        return resource(Compliance::NotApplicable, format!("instance is {}", f.state));
    }
    let mut problems = Vec::new();
    if !f.managed_online {
        problems.push("not online in Systems Manager (no session can reach it)".to_string());
    }
    problems.extend(open_admin_ports(&f.ingress));
    if !f.imds_v2_required {
        problems.push("IMDSv1 allowed (HttpTokens is not required)".to_string());
    }
    match &f.profile_policies {
        None => problems.push("no instance profile (the SSM Agent has no credentials)".into()),
        Some(p) if !p.iter().any(|a| a.ends_with("/AmazonSSMManagedInstanceCore")) => {
            problems.push("its instance profile lacks AmazonSSMManagedInstanceCore".to_string())
        }
        Some(_) => {}
    }
    let (compliance, annotation) =
        annotate(&problems, "managed, no SSH or RDP from anywhere, IMDSv2 required");
    resource(compliance, annotation)
}

/// What the stack expects of the preferences.
#[derive(Debug, Clone)]
pub struct PreferencesExpected {
    /// Where transcripts must go.
    pub start: StartConfig,
    /// The longest session the stack allows (`maxSessionDuration`, minutes).
    pub max_session_minutes: u64,
    /// The longest idle time it allows (`idleSessionTimeout`, minutes).
    pub idle_minutes: u64,
    /// Whether session data must be encrypted with a KMS key (`kmsKeyId`). The stack's own
    /// preferences set none today, so this is the deployer's choice, not a default.
    pub require_kms: bool,
}

/// The account's `SSM-SessionManagerRunShell` preferences (the document's content): every
/// transcript to the audit bucket and the log group, encrypted and streamed, a KMS key for the
/// session, session times within the stack's, no shell profile or run-as user.
pub fn evaluate_preferences(
    account: &str,
    content: &Value,
    expected: &PreferencesExpected,
) -> Evaluation {
    if content.is_null() {
        return Evaluation {
            resource_type: "AWS::::Account",
            resource_id: account.to_string(),
            compliance: Compliance::NonCompliant,
            annotation: "no SSM-SessionManagerRunShell preferences document: Session Manager \
                         runs on its defaults and keeps no transcript"
                .to_string(),
        };
    }
    let inputs = &content["inputs"];
    let text = |name: &str| inputs[name].as_str().unwrap_or_default().trim().to_string();
    let minutes = |name: &str| text(name).parse::<u64>().ok();
    let mut problems = Vec::new();
    if let Err(drift) = check_preferences(content, &expected.start) {
        problems.push(drift.0);
    }
    if text("cloudWatchLogGroupName").is_empty() {
        problems.push("no CloudWatch log group (no second record of each session)".to_string());
    }
    if expected.require_kms && text("kmsKeyId").is_empty() {
        problems.push("no KMS key for session data (kmsKeyId is empty)".to_string());
    }
    match minutes("maxSessionDuration") {
        Some(m) if m > 0 && m <= expected.max_session_minutes => {}
        other => problems.push(format!(
            "maxSessionDuration {} (the stack allows at most {} minutes)",
            other.map_or("unset".to_string(), |m| format!("{m} min")),
            expected.max_session_minutes
        )),
    }
    match minutes("idleSessionTimeout") {
        Some(m) if m > 0 && m <= expected.idle_minutes => {}
        other => problems.push(format!(
            "idleSessionTimeout {} (the stack allows at most {} minutes)",
            other.map_or("unset".to_string(), |m| format!("{m} min")),
            expected.idle_minutes
        )),
    }
    let (compliance, annotation) = annotate(
        &problems,
        "every session logged, encrypted and streamed where the audit reads it",
    );
    Evaluation {
        resource_type: "AWS::::Account",
        resource_id: account.to_string(),
        compliance,
        annotation,
    }
}

#[cfg(test)]
mod tests;
