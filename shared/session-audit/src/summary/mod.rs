//! Access summaries (`session-audit/summary/v1`): who accessed what, when, and whether every
//! session left a full transcript. Pure: the access-summary function and `session-audit
//! summarize` feed an [`Aggregator`] with records and reports and store what it returns.
//!
//! Memory is proportional to distinct people, instances and person × instance pairs (plus
//! bounded lists), not to sessions: each session is folded into counters as it arrives.

mod aggregate;
mod commands;
mod digest;
pub mod html;
pub mod markdown;
mod tallies;

use std::collections::BTreeMap;

use jiff::civil::{Date, ISOWeekDate, Weekday};
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

pub use aggregate::{Aggregator, MissingTranscript, SummaryConfig};
pub use digest::{ReportDigest, RuleCount, UnreadableReport};
pub use tallies::Tallies;

use crate::finding::Severity;

message_error!(
    /// A period that cannot be read from its label or bounds, and why.
    BadPeriod
);
message_error!(
    /// An object given as a baseline that is not a summary, and why.
    NotASummary
);

pub const SUMMARY_SCHEMA: &str = "session-audit/summary/v1";
/// At most this many entries in each listed set (missing transcripts, corrupt inputs, …); the
/// totals are always exact and a list says when it was cut.
pub const MAX_LISTED: usize = 500;

/// How long a period is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Daily,
    Weekly,
    /// An arbitrary date range (the CLI's `--from`/`--to`); never stored by the function.
    Custom,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Daily => "daily",
            Kind::Weekly => "weekly",
            Kind::Custom => "custom",
        }
    }
}

impl std::str::FromStr for Kind {
    type Err = BadPeriod;
    fn from_str(s: &str) -> Result<Self, BadPeriod> {
        match s {
            "daily" => Ok(Kind::Daily),
            "weekly" => Ok(Kind::Weekly),
            other => Err(format!("summary kind '{other}': expected daily or weekly").into()),
        }
    }
}

/// The UTC days a summary covers: `[from, to)`, labelled `2026-11-27` (daily), `2026-W48`
/// (ISO week, Monday to Sunday) or `2026-11-01..2026-11-30` (custom, both ends included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub kind: Kind,
    pub label: String,
    pub from: Date,
    /// First day after the period.
    pub to: Date,
}

impl Period {
    pub fn daily(day: Date) -> Period {
        Period { kind: Kind::Daily, label: day.to_string(), from: day, to: day.tomorrow().unwrap() }
    }

    /// The ISO week holding `day`.
    pub fn weekly(day: Date) -> Period {
        let week = day.iso_week_date();
        let monday = ISOWeekDate::new(week.year(), week.week(), Weekday::Monday).unwrap().date();
        Period {
            kind: Kind::Weekly,
            label: format!("{:04}-W{:02}", week.year(), week.week()),
            from: monday,
            to: monday.checked_add(7.days()).unwrap(),
        }
    }

    /// `first..=last`, both days included.
    pub fn custom(first: Date, last: Date) -> Result<Period, BadPeriod> {
        if last < first {
            return Err(format!("--to {last} is before --from {first}").into());
        }
        Ok(Period {
            kind: Kind::Custom,
            label: format!("{first}..{last}"),
            from: first,
            to: last.tomorrow().map_err(|e| BadPeriod(e.to_string()))?,
        })
    }

    /// A period from its label: `2026-11-27` or `2026-W48`.
    pub fn parse(kind: Kind, label: &str) -> Result<Period, BadPeriod> {
        let bad = |why: &str| BadPeriod(format!("period '{label}': {why}"));
        match kind {
            Kind::Daily => {
                Ok(Period::daily(label.parse().map_err(|_| bad("expected YYYY-MM-DD"))?))
            }
            Kind::Weekly => {
                let (year, week) = label
                    .split_once("-W")
                    .and_then(|(y, w)| Some((y.parse::<i16>().ok()?, w.parse::<i8>().ok()?)))
                    .ok_or_else(|| bad("expected YYYY-Www, e.g. 2026-W48"))?;
                let monday = ISOWeekDate::new(year, week, Weekday::Monday)
                    .map_err(|_| bad("no such ISO week"))?;
                Ok(Period::weekly(monday.date()))
            }
            Kind::Custom => Err(bad("custom periods are given as --from/--to")),
        }
    }

    /// The last period of `kind` that ended at or before `now` (what a schedule summarises).
    pub fn last_complete(kind: Kind, now: Timestamp) -> Period {
        let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
        let yesterday = today.yesterday().unwrap();
        match kind {
            Kind::Weekly => Period::weekly(today.checked_sub(7.days()).unwrap()),
            _ => Period::daily(yesterday),
        }
    }

    /// The period before this one, whose summary is the baseline for first-seen pairs.
    pub fn previous(&self) -> Option<Period> {
        match self.kind {
            Kind::Daily => Some(Period::daily(self.from.yesterday().ok()?)),
            Kind::Weekly => Some(Period::weekly(self.from.yesterday().ok()?)),
            Kind::Custom => None,
        }
    }

    /// Every UTC day in the period, in order (one `dt=` partition each).
    pub fn days(&self) -> impl Iterator<Item = Date> + '_ {
        self.from.series(1.day()).take_while(move |d| *d < self.to)
    }

    /// Whether an instant falls in the period (UTC days).
    pub fn contains(&self, at: Timestamp) -> bool {
        let day = at.to_zoned(jiff::tz::TimeZone::UTC).date();
        self.from <= day && day < self.to
    }

    /// `audit/summaries/<kind>/<label>.<ext>`.
    pub fn key(&self, ext: &str) -> String {
        crate::keys::summary(self.kind.as_str(), &self.label, ext)
    }
}

/// A count with a name (person, instance, reason, document, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    pub name: String,
    pub count: u64,
}

/// Sessions of one person on one instance.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Pair {
    pub person: String,
    pub instance: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairCount {
    pub person: String,
    pub instance: String,
    pub count: u64,
}

/// A bounded list: the first [`MAX_LISTED`] items and how many there were.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listed<T> {
    pub total: u64,
    pub items: Vec<T>,
}

impl<T> Default for Listed<T> {
    fn default() -> Self {
        Listed { total: 0, items: Vec::new() }
    }
}

impl<T> Listed<T> {
    pub fn push(&mut self, item: T) {
        self.total += 1;
        if self.items.len() < MAX_LISTED {
            self.items.push(item);
        }
    }

    /// `other`'s items after these (up to the limit), and its total.
    pub fn merge(&mut self, other: Listed<T>) {
        self.total += other.total;
        let room = MAX_LISTED.saturating_sub(self.items.len());
        self.items.extend(other.items.into_iter().take(room));
    }

    /// Whether items were left out.
    pub fn cut(&self) -> bool {
        self.total > self.items.len() as u64
    }
}

/// How a session started in the period is covered by a transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Coverage {
    /// Transcript read to its end (report compliant or non-compliant).
    TranscriptOk,
    /// Transcript cut off (the report says truncated).
    Truncated,
    /// A transcript arrived but could not be read as one (binary, empty, foreign format).
    Unparseable,
    /// No transcript, but the session streamed to CloudWatch: reported from the stream.
    StreamOnly,
    /// No transcript although the grace period after the session's end has passed.
    Missing,
    /// No transcript yet, still within the grace period.
    Pending,
    /// A document that never writes a transcript (port forwarding, SSH, commands).
    UnloggedByDesign,
}

impl Coverage {
    pub const ALL: [Coverage; 7] = [
        Coverage::TranscriptOk,
        Coverage::Truncated,
        Coverage::Unparseable,
        Coverage::StreamOnly,
        Coverage::Missing,
        Coverage::Pending,
        Coverage::UnloggedByDesign,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Coverage::TranscriptOk => "transcript ok",
            Coverage::Truncated => "truncated",
            Coverage::Unparseable => "unparseable",
            Coverage::StreamOnly => "stream only",
            Coverage::Missing => "missing",
            Coverage::Pending => "pending",
            Coverage::UnloggedByDesign => "unlogged by design",
        }
    }
}

/// A session named in a completeness list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRef {
    pub session_id: String,
    pub person: String,
    pub instance: String,
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// An input that could not be read, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Corrupt {
    pub source: String,
    pub error: String,
}

/// The headline: of the sessions that gave command access to an instance (everything but port
/// forwarding) and are no longer pending, how many left a full transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Headline {
    pub privileged_sessions: u64,
    pub with_full_transcript: u64,
    /// `None` when there was no privileged access to judge.
    pub percent_full_transcript: Option<f64>,
    /// Privileged sessions still within the grace period (not in the percentage yet).
    pub pending: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Completeness {
    pub counts: BTreeMap<Coverage, u64>,
    pub missing: Listed<SessionRef>,
    pub truncated: Listed<SessionRef>,
    pub unparseable: Listed<SessionRef>,
    pub pending: Listed<SessionRef>,
    pub unlogged_by_design: Listed<SessionRef>,
    /// Transcripts whose session has no StartSession record (the start was never audited).
    pub transcripts_without_record: Listed<SessionRef>,
    /// Transcripts with a later version after their report (`SA-TRN-REPLACED`); the first
    /// report is the one counted.
    #[serde(default)]
    pub replaced: Listed<SessionRef>,
    /// Sessions without a transcript whose report was made from their CloudWatch stream.
    #[serde(default)]
    pub stream_only: Listed<SessionRef>,
    /// Session records made from a Resume/TerminateSession whose StartSession never arrived.
    pub records_without_start: u64,
}

impl Completeness {
    /// The list that names sessions of `coverage` (none for full transcripts).
    pub fn list_mut(&mut self, coverage: Coverage) -> Option<&mut Listed<SessionRef>> {
        match coverage {
            Coverage::Missing => Some(&mut self.missing),
            Coverage::Truncated => Some(&mut self.truncated),
            Coverage::Unparseable => Some(&mut self.unparseable),
            Coverage::StreamOnly => Some(&mut self.stream_only),
            Coverage::Pending => Some(&mut self.pending),
            Coverage::UnloggedByDesign => Some(&mut self.unlogged_by_design),
            Coverage::TranscriptOk => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Durations {
    /// Sessions whose end is known (TerminateSession or the transcript's end).
    pub measured: u64,
    pub median_minutes: Option<u64>,
    pub p95_minutes: Option<u64>,
    pub longest: Option<SessionRef>,
    pub longest_minutes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeatMap {
    /// The zone hours and weekdays are read in (BUSINESS_HOURS's zone).
    pub time_zone: String,
    /// `counts[weekday][hour]`, Monday = 0.
    pub counts: Vec<Vec<u64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OffHours {
    pub business_hours: String,
    pub sessions: u64,
    /// Share of sessions with a known start that started off hours (0..=1).
    pub share: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Denied {
    pub attempts: u64,
    pub by_person: Vec<Count>,
    pub by_reason: Vec<Count>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingCount {
    pub rule_id: String,
    pub severity: Severity,
    pub title: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Commands {
    pub total: u64,
    pub privileged: u64,
    pub top: Vec<Count>,
    /// True when more distinct commands were seen than are tracked: the top counts are then
    /// lower bounds (never over-counted).
    pub approximate: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewPairs {
    /// The period whose summary was the baseline; `None` when there was none (first run):
    /// every pair is then new.
    pub baseline: Option<String>,
    pub pairs: Vec<Pair>,
}

/// The whole summary, as stored at `audit/summaries/<kind>/<label>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub schema: String,
    pub kind: Kind,
    pub period: String,
    pub from: String,
    /// Last day included.
    pub to: String,
    /// The time completeness was judged at (transcripts due before it are missing).
    pub as_of: String,
    pub grace_minutes: u64,
    pub empty: bool,
    pub sessions: u64,
    pub people: u64,
    pub instances: u64,
    pub headline: Headline,
    pub completeness: Completeness,
    pub by_person: Vec<Count>,
    pub by_instance: Vec<Count>,
    pub by_pair: Vec<PairCount>,
    pub new_pairs: NewPairs,
    pub heat_map: HeatMap,
    pub durations: Durations,
    pub off_hours: OffHours,
    pub denied: Denied,
    pub commands: Commands,
    pub findings: Vec<FindingCount>,
    pub documents: Vec<Count>,
    pub corrupt: Listed<Corrupt>,
    /// Every person → instance pair seen up to this period (this period's and the baseline's):
    /// the next summary's baseline.
    pub known_pairs: Vec<Pair>,
    pub generator: String,
}

impl Summary {
    /// The pairs a baseline summary knew; `Err` when the JSON is not a summary.
    pub fn baseline_pairs(json: &[u8]) -> Result<(String, Vec<Pair>), NotASummary> {
        #[derive(Deserialize)]
        struct Baseline {
            schema: String,
            period: String,
            known_pairs: Vec<Pair>,
        }
        let b: Baseline = serde_json::from_slice(json).map_err(|e| e.to_string())?;
        if b.schema != SUMMARY_SCHEMA {
            return Err(format!("schema {} is not {SUMMARY_SCHEMA}", b.schema).into());
        }
        Ok((b.period, b.known_pairs))
    }
}

/// Percent with one decimal, for people.
pub fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_have_labels_days_keys_and_predecessors() {
        let d: Date = "2026-11-27".parse().unwrap();
        let day = Period::daily(d);
        assert_eq!(day.key("json"), "audit/summaries/daily/2026-11-27.json");
        assert_eq!(day.previous().unwrap().label, "2026-11-26");
        assert_eq!(day.days().count(), 1);

        let week = Period::weekly(d);
        assert_eq!(week.label, "2026-W48");
        assert_eq!(week.from.to_string(), "2026-11-23");
        assert_eq!(week.days().count(), 7);
        assert_eq!(week.previous().unwrap().label, "2026-W47");
        assert_eq!(Period::parse(Kind::Weekly, "2026-W48").unwrap(), week);
        assert_eq!(Period::parse(Kind::Daily, "2026-11-27").unwrap(), day);
        assert!(Period::parse(Kind::Weekly, "2026-48").is_err());
        assert!(Period::parse(Kind::Daily, "27/11/2026").is_err());

        // ISO week 1 of 2027 starts on Monday 2027-01-04; 2026-12-31 belongs to 2026-W53.
        assert_eq!(Period::weekly("2026-12-31".parse().unwrap()).label, "2026-W53");

        let now: Timestamp = "2026-11-28T01:00:00Z".parse().unwrap();
        assert_eq!(Period::last_complete(Kind::Daily, now).label, "2026-11-27");
        assert_eq!(Period::last_complete(Kind::Weekly, now).label, "2026-W47");
        assert!(Period::custom(d, d.yesterday().unwrap()).is_err());
    }
}
