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

/// The `schema` of every stored summary.
pub const SUMMARY_SCHEMA: &str = "session-audit/summary/v1";
/// At most this many entries in each listed set (missing transcripts, corrupt inputs, …); the
/// totals are always exact and a list says when it was cut.
pub const MAX_LISTED: usize = 500;

/// How long a period is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// One UTC day, labelled `2026-11-27`.
    Daily,
    /// One ISO week, Monday to Sunday (UTC), labelled `2026-W48`.
    Weekly,
    /// An arbitrary date range (the CLI's `--from`/`--to`); never stored by the function.
    Custom,
}

impl Kind {
    /// The kind as it appears in keys and events (`daily`, `weekly`, `custom`).
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
    /// Daily, weekly or custom.
    pub kind: Kind,
    /// `2026-11-27`, `2026-W48` or `<first>..<last>`: the name in keys and headings.
    pub label: String,
    /// The first day included.
    pub from: Date,
    /// First day after the period.
    pub to: Date,
}

impl Period {
    /// The UTC day `day`.
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
    /// The person, instance, reason or document counted.
    pub name: String,
    /// How many sessions (or attempts) it had.
    pub count: u64,
}

/// Sessions of one person on one instance.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Pair {
    /// The person as the session record names them.
    pub person: String,
    /// The instance ID.
    pub instance: String,
}

/// Sessions of one person on one instance, counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairCount {
    /// The person as the session record names them.
    pub person: String,
    /// The instance ID.
    pub instance: String,
    /// Sessions of this person on this instance in the period.
    pub count: u64,
}

/// A bounded list: the first [`MAX_LISTED`] items and how many there were.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listed<T> {
    /// How many items there were in all (may exceed `items.len()`).
    pub total: u64,
    /// The first [`MAX_LISTED`] of them, in the order found.
    pub items: Vec<T>,
}

impl<T> Default for Listed<T> {
    fn default() -> Self {
        Listed { total: 0, items: Vec::new() }
    }
}

impl<T> Listed<T> {
    /// Count `item`, keeping it while fewer than [`MAX_LISTED`] are kept.
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
    /// Every coverage class, in the order the summary lists them.
    pub const ALL: [Coverage; 7] = [
        Coverage::TranscriptOk,
        Coverage::Truncated,
        Coverage::Unparseable,
        Coverage::StreamOnly,
        Coverage::Missing,
        Coverage::Pending,
        Coverage::UnloggedByDesign,
    ];

    /// The class as a reader sees it (`transcript ok`, `stream only`, …).
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
    /// The session ID.
    pub session_id: String,
    /// The person who started it.
    pub person: String,
    /// The instance it reached.
    pub instance: String,
    /// When it started (RFC 3339), when known.
    pub started_at: Option<String>,
    /// Why it is listed (a warning, the transcript's status), when there is more to say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A GuardDuty finding on an instance, as the summary lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreatSeen {
    /// GuardDuty's finding ID.
    pub finding_id: String,
    /// Its type (`Backdoor:EC2/C&CActivity.B!DNS`, …).
    pub finding_type: String,
    /// GuardDuty's severity band.
    pub severity: Severity,
    /// The instance.
    pub instance: String,
    /// When GuardDuty last saw the activity.
    pub last_seen: String,
    /// The sessions on the instance around it (`person (session ID)`, `, open` when it was
    /// open during the activity); empty: no Session Manager session was there.
    pub sessions: Vec<String>,
    /// The correlation object.
    pub record: String,
}

impl ThreatSeen {
    /// The sessions, in words, for a table cell.
    pub fn sessions_text(&self) -> String {
        if self.sessions.is_empty() {
            "none: not through Session Manager".to_string()
        } else {
            self.sessions.join("; ")
        }
    }
}

/// A change to an account-region's Session Manager preferences, as the summary lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreferencesSeen {
    /// `account/region`.
    pub place: String,
    /// When (RFC 3339).
    pub time: String,
    /// `UpdateDocument`, `DeleteDocument`, …
    pub call: String,
    /// Who made it (the person where known).
    pub who: String,
    /// `conforms`, `drifted` or `unverified`.
    pub verdict: String,
    /// Why it drifted, or why it could not be checked; empty when it conforms.
    pub why: String,
    /// The change's record.
    pub record: String,
}

/// An input that could not be read, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Corrupt {
    /// The object (`s3://…` or a file path) that could not be read.
    pub source: String,
    /// Why it could not be read.
    pub error: String,
}

/// The headline: of the sessions that gave command access to an instance (everything but port
/// forwarding) and are no longer pending, how many left a full transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Headline {
    /// Sessions that gave command access to an instance and are no longer pending.
    pub privileged_sessions: u64,
    /// Of those, the sessions whose transcript was read to its end (a stream-only session is not).
    pub with_full_transcript: u64,
    /// `None` when there was no privileged access to judge.
    pub percent_full_transcript: Option<f64>,
    /// Privileged sessions still within the grace period (not in the percentage yet).
    pub pending: u64,
}

/// How many sessions fell in each coverage class, and which ones where it matters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Completeness {
    /// Sessions per coverage class.
    pub counts: BTreeMap<Coverage, u64>,
    /// Sessions whose transcript is missing after the grace period.
    pub missing: Listed<SessionRef>,
    /// Sessions whose transcript was cut off.
    pub truncated: Listed<SessionRef>,
    /// Sessions whose transcript could not be read as one.
    pub unparseable: Listed<SessionRef>,
    /// Sessions whose transcript may still come (within the grace period).
    pub pending: Listed<SessionRef>,
    /// Sessions of documents that never write a transcript (port forwarding, SSH).
    pub unlogged_by_design: Listed<SessionRef>,
    /// Transcripts whose session has no StartSession record (the start was never audited).
    pub transcripts_without_record: Listed<SessionRef>,
    /// Transcripts with a later version after their report (`SA-TRN-REPLACED`); the first
    /// report is the one counted.
    #[serde(default)]
    pub replaced: Listed<SessionRef>,
    /// Uploads that are not their session's evidence (`SA-TRN-UNTRUSTED-UPLOAD`: another
    /// writer, or written before the session ended), kept apart.
    #[serde(default)]
    pub untrusted: Listed<SessionRef>,
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

/// How long sessions lasted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Durations {
    /// Sessions whose end is known (TerminateSession or the transcript's end).
    pub measured: u64,
    /// The median duration of the measured sessions.
    pub median_minutes: Option<u64>,
    /// The 95th percentile duration of the measured sessions.
    pub p95_minutes: Option<u64>,
    /// The longest measured session.
    pub longest: Option<SessionRef>,
    /// Its duration.
    pub longest_minutes: Option<u64>,
}

/// When sessions started, by weekday and hour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeatMap {
    /// The zone hours and weekdays are read in (BUSINESS_HOURS's zone).
    pub time_zone: String,
    /// `counts[weekday][hour]`, Monday = 0.
    pub counts: Vec<Vec<u64>>,
}

/// Sessions started outside business hours.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OffHours {
    /// The business hours judged against (`BUSINESS_HOURS` as written).
    pub business_hours: String,
    /// Sessions with a known start that started off hours.
    pub sessions: u64,
    /// Share of sessions with a known start that started off hours (0..=1).
    pub share: Option<f64>,
}

/// Denied StartSession attempts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Denied {
    /// How many attempts were denied.
    pub attempts: u64,
    /// Denied attempts per person, most first.
    pub by_person: Vec<Count>,
    /// Denied attempts per reason (the CloudTrail error code), most first.
    pub by_reason: Vec<Count>,
}

/// How often one rule was raised in the period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingCount {
    /// The rule's ID.
    pub rule_id: String,
    /// The rule's severity.
    pub severity: Severity,
    /// The rule's title.
    pub title: String,
    /// How many findings it raised.
    pub count: u64,
}

/// The commands the period's reports hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Commands {
    /// Commands in all.
    pub total: u64,
    /// Commands run as root (`sudo`, a root shell).
    pub privileged: u64,
    /// The most frequent command texts (redacted), most first.
    pub top: Vec<Count>,
    /// True when more distinct commands were seen than are tracked: the top counts are then
    /// lower bounds (never over-counted).
    pub approximate: bool,
}

/// Person → instance pairs first seen in this period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewPairs {
    /// The period whose summary was the baseline; `None` when there was none (first run):
    /// every pair is then new.
    pub baseline: Option<String>,
    /// The new pairs, in order.
    pub pairs: Vec<Pair>,
}

/// The whole summary, as stored at `audit/summaries/<kind>/<label>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Always [`SUMMARY_SCHEMA`].
    pub schema: String,
    /// Daily, weekly or custom.
    pub kind: Kind,
    /// The period's label (`2026-11-27`, `2026-W48`).
    pub period: String,
    /// First day included.
    pub from: String,
    /// Last day included.
    pub to: String,
    /// The time completeness was judged at (transcripts due before it are missing).
    pub as_of: String,
    /// `TRANSCRIPT_GRACE_MINUTES` at the time: how long a transcript may take.
    pub grace_minutes: u64,
    /// Nothing fell in the period: no session, attempt, unreadable input, GuardDuty correlation
    /// or preferences change.
    pub empty: bool,
    /// Sessions in the period (by start day).
    pub sessions: u64,
    /// Distinct people among them.
    pub people: u64,
    /// Distinct instances among them.
    pub instances: u64,
    /// The headline: privileged access with a full transcript.
    pub headline: Headline,
    /// Sessions per coverage class, with the ones that need a look.
    pub completeness: Completeness,
    /// Sessions per person, most first.
    pub by_person: Vec<Count>,
    /// Sessions per instance, most first.
    pub by_instance: Vec<Count>,
    /// Sessions per `account/region`, most first (the organization's view; listed in the
    /// Markdown and HTML when there is more than one).
    #[serde(default)]
    pub by_account_region: Vec<Count>,
    /// Sessions per person and instance, most first.
    pub by_pair: Vec<PairCount>,
    /// Pairs not seen before this period.
    pub new_pairs: NewPairs,
    /// Session starts by weekday and hour.
    pub heat_map: HeatMap,
    /// How long sessions lasted.
    pub durations: Durations,
    /// Sessions started outside business hours.
    pub off_hours: OffHours,
    /// Denied attempts.
    pub denied: Denied,
    /// The commands the reports hold.
    pub commands: Commands,
    /// Findings per rule, most severe first.
    pub findings: Vec<FindingCount>,
    /// Sessions per document (session type), most first.
    pub documents: Vec<Count>,
    /// Port-forwarding sessions per destination (`db.internal:5432 via i-0abc`, `i-0abc:443`),
    /// most first: they have no transcript by design, their destination is their audit trail.
    #[serde(default)]
    pub port_forwards: Vec<Count>,
    /// Inputs that could not be read, with why.
    pub corrupt: Listed<Corrupt>,
    /// GuardDuty findings on instances filed in the period, each with the sessions on the
    /// instance around it (guardduty-correlation).
    #[serde(default)]
    pub guardduty: Listed<ThreatSeen>,
    /// Changes to a place's Session Manager preferences filed in the period, each judged:
    /// a drifted place no longer sends every transcript where the audit reads it.
    #[serde(default)]
    pub preferences: Listed<PreferencesSeen>,
    /// Every person → instance pair seen up to this period (this period's and the baseline's):
    /// the next summary's baseline.
    pub known_pairs: Vec<Pair>,
    /// The program and version that wrote it.
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
