//! The session report, `session-audit/report/v1` (docs/DESIGN.md §3): its [`model`], its
//! streamed [`json`] and its [`markdown`] for a reviewer, and the [`writers`] commands go
//! through as they finish.

pub mod json;
pub mod markdown;
pub mod model;
pub mod writers;

pub use json::{CommandJson, JsonReportWriter};
pub use model::{Channels, Report, ReportCommand, ReportTail, Source, Stats, Status, SCHEMA};
pub use writers::{CappedCommands, CommandWriter, MARKDOWN_MAX_COMMANDS};
