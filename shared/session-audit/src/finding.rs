//! The vocabulary every layer shares: how bad a finding is ([`Severity`]), which control it
//! maps to ([`FrameworkRef`]), and the finding itself ([`Finding`]), as stored in records and
//! reports and published as events. It depends on nothing else in the crate, so rules, reports,
//! records and summaries can all speak it without importing each other.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; not a violation (a report with only these is compliant).
    Info,
    /// A small departure from policy.
    Low,
    /// A departure worth a look soon.
    Medium,
    /// A departure that needs a look now.
    High,
    /// Evidence of tampering with the audit or of an attack.
    Critical,
}

impl Severity {
    /// Every severity, least first.
    pub const ALL: [Severity; 5] =
        [Severity::Info, Severity::Low, Severity::Medium, Severity::High, Severity::Critical];

    /// The severity as stored (`info`, `low`, `medium`, `high`, `critical`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

message_error!(
    /// A severity name that is none of the five.
    UnknownSeverity
);

impl std::str::FromStr for Severity {
    type Err = UnknownSeverity;
    fn from_str(s: &str) -> Result<Self, UnknownSeverity> {
        Severity::ALL.into_iter().find(|v| v.as_str() == s.to_ascii_lowercase()).ok_or_else(|| {
            format!("unknown severity `{s}` (expected info, low, medium, high or critical)").into()
        })
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One control in one framework.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameworkRef {
    /// The framework (`PCI DSS 4.0`, `NIST SP 800-53 Rev. 5`, `MITRE ATT&CK`, …).
    pub framework: String,
    /// The control, requirement or technique in it.
    pub control: String,
}

/// One rule violation, with its evidence (redacted and shortened) and framework mapping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule's stable ID.
    pub rule_id: String,
    /// How bad it is.
    pub severity: Severity,
    /// What it means, in a few words.
    pub title: String,
    /// What matched, redacted and shortened.
    pub evidence: String,
    /// The command it is about, when it is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_seq: Option<u64>,
    /// The controls it maps to.
    pub frameworks: Vec<FrameworkRef>,
    /// How many times this rule matched this command's output (output rules).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub occurrences: u64,
}

fn one() -> u64 {
    1
}

fn is_one(n: &u64) -> bool {
    *n == 1
}
