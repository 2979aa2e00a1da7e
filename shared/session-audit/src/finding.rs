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
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] =
        [Severity::Info, Severity::Low, Severity::Medium, Severity::High, Severity::Critical];

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
    pub framework: String,
    pub control: String,
}

/// One rule violation, with its evidence (redacted and shortened) and framework mapping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub rule_id: String,
    pub severity: Severity,
    pub title: String,
    /// What matched, redacted and shortened.
    pub evidence: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_seq: Option<u64>,
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
