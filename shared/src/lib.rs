//! Session Audit's domain: transcripts in, compliance reports out. Nothing here calls AWS.
//!
//! * [`transcript`] rebuilds the commands a person ran from a raw Session Manager log.
//! * [`rules`] and [`redact`] judge them and hide secrets.
//! * [`report`] and [`markdown`] are the stored report and its rendering.
//! * [`analysis`] puts them together, streaming.

pub mod analysis;
pub mod markdown;
pub mod redact;
pub mod report;
pub mod rules;
pub mod transcript;

pub use analysis::{AnalyzeError, Analyzer, Input};
pub use report::{Report, Status};
pub use rules::{RulePack, Severity};
