//! Session Audit's engine: transcripts in, compliance reports out, and the use cases that run
//! on them, written against small traits. Nothing here calls AWS, and Cargo holds that line:
//! this crate's dependencies include no AWS SDK, async runtime or Lambda runtime (the AWS
//! adapters are the `session-audit-aws` crate).
//!
//! * [`finding`] is the vocabulary every layer shares (severity, framework, finding).
//! * [`transcript`] rebuilds the commands a person ran from a raw Session Manager log.
//! * [`rules`] and [`redact`] judge them and hide secrets.
//! * [`report`] is the stored report: model, streamed JSON, Markdown.
//! * [`analysis`] puts them together, streaming.
//! * [`session`], [`live`], [`summary`], [`upload`], [`keys`] and [`publish`] are the domain
//!   the use cases share: session records, the live stream, summaries, S3 event shapes, the
//!   audit key layout, finding events and metrics.
//! * [`ports`] are the seams the use cases write through (store, findings sink, session log).
//! * [`settings`] reads every environment variable, one typed struct per function.
//! * The use cases, named as the functions that run them: [`session_start`] (also the CLI's
//!   `events`), [`session_stream`], [`session_report`], [`access_summary`] (also `summarize`)
//!   and [`provisioner`] (its plan; the AWS crate carries it out).
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

/// A one-line error of one kind, named for what went wrong: `Name(message)`, built from a
/// `String` or `&str` so `?` and `.into()` work where the message is made.
macro_rules! message_error {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
        #[error("{0}")]
        pub struct $name(pub String);

        impl From<String> for $name {
            fn from(message: String) -> Self {
                $name(message)
            }
        }

        impl From<&str> for $name {
            fn from(message: &str) -> Self {
                $name(message.to_string())
            }
        }
    };
}

pub mod access;
pub mod access_summary;
pub mod analysis;
pub mod asff;
pub mod audit_digest;
pub mod config_evaluation;
pub mod config_rule;
pub mod digest;
pub mod finding;
pub mod guardduty;
pub mod guardduty_correlation;
pub mod keys;
pub mod lake_export;
pub mod live;
pub mod ocsf;
pub mod ports;
pub mod provenance;
pub mod provisioner;
pub mod publish;
pub mod redact;
pub mod report;
pub mod rules;
pub mod session;
pub mod session_report;
pub mod session_start;
pub mod session_stream;
pub mod settings;
pub mod summary;
pub mod transcript;
pub mod upload;

pub use analysis::{AnalyzeError, Analyzer, Input};
pub use finding::Severity;
pub use report::{Report, Status};
pub use rules::RulePack;

/// What kind of failure an error is: the Lambda functions name it as the error's type
/// (`MalformedEvent`, and the service behind the store or sink that failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The event (or a value in it) cannot be audited as it is; retrying will not help.
    MalformedEvent,
    /// The audit store failed (S3 in AWS).
    Store,
    /// The findings sink failed (EventBridge in AWS).
    Sink,
    /// The signer failed (KMS in AWS).
    Signer,
    /// Evidence in the store is not what the pipeline wrote (a digest chain it cannot
    /// continue); nothing is written over it.
    Evidence,
    /// The OCSF lake refused objects (Security Lake's bucket in AWS).
    Lake,
    /// Another service the use case looks facts up in or answers failed (EC2, SSM, IAM, and
    /// Config's PutEvaluations for the Config rule).
    Lookup,
}

/// An error that knows its [`FailureKind`].
pub trait Failure: std::error::Error {
    /// What kind of failure this is.
    fn kind(&self) -> FailureKind;
}
