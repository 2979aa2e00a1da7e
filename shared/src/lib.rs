//! Session Audit's domain: transcripts in, compliance reports out. Nothing here calls AWS.
//!
//! * [`transcript`] rebuilds the commands a person ran from a raw Session Manager log.
//! * [`rules`] and [`redact`] judge them and hide secrets.
//! * [`report`] and [`markdown`] are the stored report and its rendering.
//! * [`analysis`] puts them together, streaming.
//!
//! ```
//! use session_audit::{Analyzer, Input, Status};
//!
//! // bash 5.2 as Amazon Linux 2023 runs it: a typo fixed with backspace, then Enter.
//! let transcript = b"\x1b[?2004hsh-5.2$ sudo cat /etc/shadoe\x08w\r\r\n\x1b[?2004l\rroot:*:1::\r\n";
//! let report = Analyzer::default().analyze_bytes(transcript, Input::default());
//! assert_eq!(report.commands[0].command, "sudo cat /etc/shadow");
//! assert_eq!(report.findings[0].rule_id, "SA-CMD-010");
//! assert_eq!(report.status, Status::NonCompliant);
//! ```

pub mod analysis;
#[cfg(feature = "aws")]
pub mod aws;
pub mod config;
pub mod join;
pub mod markdown;
pub mod outputs;
pub mod provision;
pub mod redact;
pub mod report;
pub mod rules;
pub mod session;
pub mod summary;
pub mod transcript;
pub mod upload;

pub use analysis::{AnalyzeError, Analyzer, Input};
pub use report::{Report, Status};
pub use rules::{RulePack, Severity};
