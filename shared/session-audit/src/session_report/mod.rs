//! The session report as a use case: an uploaded transcript in, its compliance report out,
//! over the audit store and the findings sink (the session-report function runs it over S3 and
//! EventBridge).
//!
//! The object is streamed into the engine (never held whole), at the version the event names.
//! The JSON report streams to a file in the work directory and is stored from there, so memory
//! stays bounded whatever the transcript's size. Order, for "nothing lost" and "one report per
//! transcript": the JSON report, then the finding events, then the Markdown — written last, it
//! marks the report complete (its metadata names the transcript version), and a redelivery
//! that finds it changes nothing. Which version holds the session's slot is S3's to say
//! (`slot`); where a version came from is CloudTrail's ([`crate::provenance`]).

pub mod channels;
mod handle;
pub mod join;
mod late;
mod replaced;
mod slot;
mod stream;
mod use_case;

pub use use_case::{Outcome, ReportError, ReportOptions, Reported, SessionReport, STREAM_REPORTS};
