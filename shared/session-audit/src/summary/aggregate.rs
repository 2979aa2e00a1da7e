//! Folding records and reports into a [`Summary`], one session at a time.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use super::commands::CommandCounter;
use super::digest::{ReportDigest, RuleCount};
use super::tallies::{Tallies, DURATION_BUCKETS};
use super::*;
use crate::finding::Finding;
use crate::finding::Severity;
use crate::keys::Beside;
use crate::report::Status;
use crate::rules::RulePack;
use crate::session::findings::{unlogged_by_design, BusinessHours};
use crate::session::{DeniedRecord, SessionRecord};

/// Distinct commands tracked exactly (see `commands.rs`).
const COMMAND_CAPACITY: usize = 10_000;
const TOP_COMMANDS: usize = 15;

/// How a summary judges what it counts.
#[derive(Debug, Clone)]
pub struct SummaryConfig {
    /// `BUSINESS_HOURS`, parsed.
    pub business_hours: BusinessHours,
    /// `BUSINESS_HOURS` as written.
    pub business_hours_text: String,
    /// `TRANSCRIPT_GRACE_MINUTES`: how long after a session ends its transcript may take.
    pub grace_minutes: u64,
    /// When the summary is made: sessions whose transcript was due before it are missing.
    pub as_of: Timestamp,
}

/// One session as seen through its record, its report, or both.
struct View<'a> {
    session_id: &'a str,
    person: String,
    instance: String,
    document: String,
    session_type: Option<String>,
    started_at: Option<&'a str>,
    ended_at: Option<&'a str>,
    /// The document parameters the record kept (port forwards name their destination there).
    parameters: Option<&'a crate::access::Parameters>,
    /// `account/region` the session was started in, when a record says.
    place: String,
}

fn identity_name(identity: &Value) -> Option<String> {
    ["/person", "/principal"]
        .iter()
        .find_map(|p| identity.pointer(p).and_then(Value::as_str))
        .map(str::to_string)
}

const NO_RECORD: &str = "(no start record)";
const UNKNOWN: &str = "(unknown)";

impl<'a> View<'a> {
    fn of(record: Option<&'a SessionRecord>, report: Option<&'a ReportDigest>) -> Option<View<'a>> {
        let target = |p: &str| {
            report.and_then(|r| r.target.as_ref()?.pointer(p)?.as_str().map(str::to_string))
        };
        Some(match record {
            Some(r) => View {
                session_id: &r.session_id,
                person: r.identity.person.clone().unwrap_or_else(|| r.identity.principal.clone()),
                instance: r.target.clone().unwrap_or_else(|| UNKNOWN.into()),
                document: r.document.clone(),
                session_type: r.session_type.clone(),
                started_at: Some(&r.started_at),
                ended_at: r
                    .terminated_at
                    .as_deref()
                    .or_else(|| report.and_then(|p| p.ended_at.as_deref())),
                parameters: Some(&r.parameters),
                place: format!(
                    "{}/{}",
                    r.account.as_deref().unwrap_or(UNKNOWN),
                    if r.region.is_empty() { UNKNOWN } else { &r.region }
                ),
            },
            None => {
                let rep = report?;
                View {
                    session_id: &rep.session_id,
                    person: rep
                        .identity
                        .as_ref()
                        .and_then(identity_name)
                        .unwrap_or_else(|| NO_RECORD.into()),
                    instance: target("/instance_id").unwrap_or_else(|| UNKNOWN.into()),
                    document: target("/document").unwrap_or_else(|| UNKNOWN.into()),
                    session_type: target("/session_type"),
                    started_at: rep.started_at.as_deref(),
                    ended_at: rep.ended_at.as_deref(),
                    parameters: None,
                    place: format!("{UNKNOWN}/{UNKNOWN}"),
                }
            }
        })
    }

    /// Where a port-forwarding session went: `host:port`, with the instance it went through
    /// when the host is another one (`db.internal:5432 via i-0abc`).
    fn destination(&self) -> String {
        let one = |name: &str| self.parameters.and_then(|p| p.get(name)?.first().cloned());
        let Some(port) = one("portNumber") else {
            return format!("{} (port not recorded)", self.instance);
        };
        match one("host").filter(|h| h != "localhost" && *h != self.instance) {
            Some(host) => format!("{host}:{port} via {}", self.instance),
            None => format!("{}:{port}", self.instance),
        }
    }

    fn reference(&self, detail: Option<String>) -> SessionRef {
        SessionRef {
            session_id: self.session_id.to_string(),
            person: self.person.clone(),
            instance: self.instance.clone(),
            started_at: self.started_at.map(str::to_string),
            detail,
        }
    }
}

/// Port forwarding reaches a port, not a shell: every other session gives command access.
fn command_access(document: &str, session_type: Option<&str>) -> bool {
    !(session_type == Some("Port") || document.starts_with("AWS-StartPortForwarding"))
}

fn time(text: Option<&str>) -> Option<Timestamp> {
    text?.parse().ok()
}

/// Counts per name, listed highest first (ties by name).
fn ranked<K: Clone>(map: &HashMap<K, u64>, name: impl Fn(&K) -> String) -> Vec<(K, String, u64)> {
    let mut v: Vec<_> = map.iter().map(|(k, n)| (k.clone(), name(k), *n)).collect();
    v.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.1.cmp(&b.1)));
    v
}

fn counts(map: &HashMap<String, u64>) -> Vec<Count> {
    ranked(map, String::clone).into_iter().map(|(_, name, count)| Count { name, count }).collect()
}

/// A session whose transcript is missing, with its finding and where it was recorded.
#[derive(Debug, Clone)]
pub struct MissingTranscript {
    /// The `SA-SES-TRANSCRIPT-MISSING` finding.
    pub finding: Finding,
    /// The session.
    pub session: SessionRef,
    /// Its record's key.
    pub record_key: String,
    /// The account the session ran in.
    pub account: Option<String>,
    /// The region it ran in.
    pub region: String,
    /// Who started it (ARN or principal).
    pub principal: String,
    /// The person, as the start audit names them.
    pub person: Option<String>,
}

impl MissingTranscript {
    fn new(r: &SessionRecord, session: &SessionRef, mut finding: Finding) -> Self {
        finding.evidence = format!(
            "session {} by {} on {} started {}: {}",
            r.session_id,
            session.person,
            session.instance,
            r.started_at,
            session.detail.as_deref().unwrap_or("no transcript")
        );
        MissingTranscript {
            finding,
            session: session.clone(),
            record_key: r.key().unwrap_or_else(|e| format!("(no key: {e})")),
            account: r.account.clone(),
            region: r.region.clone(),
            principal: r.identity.principal.clone(),
            person: r.identity.person.clone(),
        }
    }
}

/// Accumulates one period. Feed sessions, denied attempts and unreadable inputs in any order,
/// then [`Aggregator::finish`].
pub struct Aggregator {
    period: Period,
    config: SummaryConfig,
    missing_rule: Option<Finding>,
    missing_findings: Vec<MissingTranscript>,
    t: Tallies,
}

impl Aggregator {
    /// An aggregator for `period`, judging with `config` and `pack`.
    pub fn new(period: Period, config: SummaryConfig, pack: &RulePack) -> Aggregator {
        Aggregator {
            period,
            missing_rule: pack.session_finding("transcript_missing", String::new()),
            missing_findings: Vec::new(),
            config,
            t: Tallies {
                sessions: 0,
                outside_period: 0,
                by_person: HashMap::new(),
                by_instance: HashMap::new(),
                by_pair: HashMap::new(),
                documents: HashMap::new(),
                heat: [[0; 24]; 7],
                durations: vec![0; DURATION_BUCKETS],
                longest: None,
                off_hours: 0,
                timed: 0,
                coverage: Coverage::ALL.iter().map(|c| (*c, 0)).collect(),
                completeness: Completeness {
                    counts: BTreeMap::new(),
                    missing: Listed::default(),
                    truncated: Listed::default(),
                    unparseable: Listed::default(),
                    pending: Listed::default(),
                    unlogged_by_design: Listed::default(),
                    transcripts_without_record: Listed::default(),
                    replaced: Listed::default(),
                    untrusted: Listed::default(),
                    stream_only: Listed::default(),
                    records_without_start: 0,
                },
                privileged: 0,
                privileged_ok: 0,
                privileged_pending: 0,
                denied: 0,
                denied_by_person: HashMap::new(),
                denied_by_reason: HashMap::new(),
                commands: CommandCounter::new(COMMAND_CAPACITY),
                commands_total: 0,
                commands_privileged: 0,
                findings: BTreeMap::new(),
                corrupt: Listed::default(),
                guardduty: Listed::default(),
                preferences: Listed::default(),
                port_forwards: HashMap::new(),
                by_place: HashMap::new(),
            },
        }
    }

    /// What has been counted so far (a day's part of its week, see `tallies.rs`).
    pub fn tallies(&self) -> &Tallies {
        &self.t
    }

    /// Add what another aggregator counted over other objects.
    pub fn merge(&mut self, other: Tallies) {
        self.t.merge(other);
    }

    /// The period it counts.
    pub fn period(&self) -> &Period {
        &self.period
    }

    /// Count a report's commands (call from [`ReportDigest::parse`]'s callback).
    pub fn command(&mut self, text: &str, privileged: bool) {
        self.t.commands.add(text);
        self.t.commands_total += 1;
        self.t.commands_privileged += u64::from(privileged);
    }

    /// A parse callback for [`ReportDigest::parse`] that counts into this aggregator.
    pub fn command_sink(&mut self) -> impl FnMut(&str, bool) + '_ {
        move |text, privileged| self.command(text, privileged)
    }

    fn finding(&mut self, f: &Finding) {
        self.findings_of_rule(f.severity, &f.rule_id, &f.title, 1);
    }

    fn findings_of_rule(&mut self, severity: Severity, rule_id: &str, title: &str, n: u64) {
        self.t
            .findings
            .entry((severity, rule_id.to_string()))
            .or_insert_with(|| FindingCount {
                rule_id: rule_id.to_string(),
                severity,
                title: title.to_string(),
                count: 0,
            })
            .count += n;
    }

    /// One session: its record, its report, or both (joined by session ID). Returns false when
    /// it started outside the period (not counted).
    pub fn session(
        &mut self,
        record: Option<&SessionRecord>,
        report: Option<&ReportDigest>,
    ) -> bool {
        let Some(view) = View::of(record, report) else { return false };
        let start = time(view.started_at.or(report.and_then(|r| r.ended_at.as_deref())));
        if start.is_some_and(|t| !self.period.contains(t)) {
            self.t.outside_period += 1;
            return false;
        }
        self.t.sessions += 1;
        *self.t.by_person.entry(view.person.clone()).or_default() += 1;
        *self.t.by_instance.entry(view.instance.clone()).or_default() += 1;
        *self.t.by_place.entry(view.place.clone()).or_default() += 1;
        let pair = Pair { person: view.person.clone(), instance: view.instance.clone() };
        *self.t.by_pair.entry(pair).or_default() += 1;
        let document = match &view.session_type {
            Some(t) => format!("{} ({t})", view.document),
            None => view.document.clone(),
        };
        *self.t.documents.entry(document.clone()).or_default() += 1;
        if !command_access(&view.document, view.session_type.as_deref()) {
            *self.t.port_forwards.entry(view.destination()).or_default() += 1;
        }
        if let Some(t) = time(view.started_at) {
            let local = t.to_zoned(self.config.business_hours.zone());
            self.t.heat[local.weekday().to_monday_zero_offset() as usize][local.hour() as usize] +=
                1;
            self.t.timed += 1;
            if self.config.business_hours.contains(view.started_at.unwrap()) == Some(false) {
                self.t.off_hours += 1;
            }
            if let Some(end) = time(view.ended_at) {
                self.duration(&view, end.duration_since(t));
            }
        }
        if record.is_some_and(|r| !r.has_start()) {
            self.t.completeness.records_without_start += 1;
        }
        if record.is_none() && report.is_some_and(|r| r.identity.is_none()) {
            let source = report.and_then(|r| r.source.key.clone().or(r.source.path.clone()));
            self.t.completeness.transcripts_without_record.push(view.reference(source));
        }

        let coverage = self.coverage(&view, report);
        *self.t.coverage.entry(coverage).or_default() += 1;
        let detail = match coverage {
            Coverage::UnloggedByDesign => Some(document.clone()),
            Coverage::Missing => Some(format!(
                "no transcript {} min after {}",
                self.config.grace_minutes,
                if record.and_then(|r| r.terminated_at.as_ref()).is_some() {
                    "termination"
                } else {
                    "start"
                }
            )),
            _ => report.and_then(|r| r.status_reason.clone()),
        };
        let reference = view.reference(detail);
        if let Some(list) = self.t.completeness.list_mut(coverage) {
            list.push(reference.clone());
        }
        if command_access(&view.document, view.session_type.as_deref()) {
            match coverage {
                Coverage::Pending => self.t.privileged_pending += 1,
                Coverage::TranscriptOk => {
                    self.t.privileged += 1;
                    self.t.privileged_ok += 1;
                }
                _ => self.t.privileged += 1,
            }
        }

        // A report carries its record's start findings; a record alone has only those.
        let findings = match (report, record) {
            (Some(r), _) => r.findings.clone(),
            (None, Some(r)) => RuleCount::tally(&r.findings),
            (None, None) => Vec::new(),
        };
        for f in &findings {
            self.findings_of_rule(f.severity, &f.rule_id, &f.title, f.count);
        }
        if coverage == Coverage::Missing {
            if let Some(rule) = self.missing_rule.clone() {
                self.finding(&rule);
                if let Some(r) = record {
                    self.missing_findings.push(MissingTranscript::new(r, &reference, rule));
                }
            }
        }
        true
    }

    /// One `SA-SES-TRANSCRIPT-MISSING` finding per session found missing since the last call
    /// (all of them, not only the listed ones), for the function to publish as finding events.
    /// Call it after each day: they are kept until taken.
    pub fn take_missing_findings(&mut self) -> Vec<MissingTranscript> {
        std::mem::take(&mut self.missing_findings)
    }

    fn coverage(&self, view: &View, report: Option<&ReportDigest>) -> Coverage {
        if let Some(r) = report {
            if r.source.log_stream.is_some() && r.source.key.is_none() {
                return Coverage::StreamOnly;
            }
            return match r.status {
                Status::Compliant | Status::NonCompliant => Coverage::TranscriptOk,
                Status::Truncated => Coverage::Truncated,
                Status::Unparseable => Coverage::Unparseable,
            };
        }
        if unlogged_by_design(&view.document, view.session_type.as_deref()) {
            return Coverage::UnloggedByDesign;
        }
        // The agent uploads at session end; without a TerminateSession (a plain `exit` emits
        // none) the start is the only end we know.
        let due = time(view.ended_at.or(view.started_at)).and_then(|t| {
            t.checked_add(SignedDuration::from_mins(self.config.grace_minutes as i64)).ok()
        });
        match due {
            Some(due) if self.config.as_of < due => Coverage::Pending,
            _ => Coverage::Missing,
        }
    }

    fn duration(&mut self, view: &View, d: SignedDuration) {
        let secs = d.as_secs();
        if secs < 0 {
            return;
        }
        let minutes = (secs / 60) as usize;
        self.t.durations[minutes.min(DURATION_BUCKETS - 1)] += 1;
        if self.t.longest.as_ref().is_none_or(|(s, _)| secs > *s) {
            self.t.longest =
                Some((secs, view.reference(view.ended_at.map(|e| format!("ended {e}")))));
        }
    }

    /// A denied StartSession (or Resume/Terminate) attempt. False when outside the period.
    pub fn denied(&mut self, d: &DeniedRecord) -> bool {
        if time(Some(&d.time)).is_some_and(|t| !self.period.contains(t)) {
            self.t.outside_period += 1;
            return false;
        }
        self.t.denied += 1;
        let person = d.identity.person.clone().unwrap_or_else(|| d.identity.principal.clone());
        *self.t.denied_by_person.entry(person).or_default() += 1;
        *self.t.denied_by_reason.entry(d.error_code.clone()).or_default() += 1;
        for f in &d.findings {
            self.finding(f);
        }
        true
    }

    /// A report filed beside a session's own: a later version of a transcript already
    /// reported (listed as replaced) or an upload that is not the session's evidence (listed as
    /// untrusted). Only its own finding counts; the session is its own report's.
    pub fn beside(&mut self, kind: Beside, report: &ReportDigest, key: &str) {
        let Some(view) = View::of(None, Some(report)) else { return };
        let (list, rule, note) = match kind {
            Beside::Replaced => (
                &mut self.t.completeness.replaced,
                "SA-TRN-REPLACED",
                format!("later version reported at {key}"),
            ),
            Beside::Untrusted => (
                &mut self.t.completeness.untrusted,
                "SA-TRN-UNTRUSTED-UPLOAD",
                format!("not the session's evidence, kept apart at {key}"),
            ),
        };
        list.push(view.reference(Some(note)));
        for f in report.findings.iter().filter(|f| f.rule_id == rule) {
            self.findings_of_rule(f.severity, &f.rule_id, &f.title, f.count);
        }
    }

    /// A GuardDuty finding's correlation filed in the period (`record`: where).
    pub fn guardduty(&mut self, c: &crate::guardduty::Correlation, record: String) {
        let mut sessions: Vec<String> = c
            .sessions
            .iter()
            .take(crate::guardduty::MAX_NAMED)
            .map(|s| {
                let who = s.person.as_deref().unwrap_or(&s.principal);
                let open = if s.during { ", open" } else { "" };
                format!("{who} ({}{open})", s.session_id)
            })
            .collect();
        if let Some(more) = c.sessions.len().checked_sub(crate::guardduty::MAX_NAMED) {
            if more > 0 {
                sessions.push(format!("and {more} more"));
            }
        }
        self.t.guardduty.push(super::ThreatSeen {
            finding_id: c.finding.id.clone(),
            finding_type: c.finding.finding_type.clone(),
            severity: c.finding.severity_band(),
            instance: c.finding.instance_id.clone(),
            last_seen: c.finding.last_seen.to_string(),
            sessions,
            record,
        });
    }

    /// A change to a place's Session Manager preferences filed in the period (`record`: where).
    pub fn preferences(
        &mut self,
        c: &crate::session::preferences::PreferencesChange,
        record: String,
    ) {
        use crate::session::preferences::Verdict;
        let (verdict, why) = match &c.verdict {
            Verdict::Conforms => ("conforms", String::new()),
            Verdict::Drifted(why) => ("drifted", why.clone()),
            Verdict::Unverified(why) => ("unverified", why.clone()),
        };
        self.t.preferences.push(super::PreferencesSeen {
            place: format!("{}/{}", c.account, c.region),
            time: c.event_time.clone(),
            call: c.call.clone(),
            who: c.who().to_string(),
            verdict: verdict.to_string(),
            why,
            record,
        });
    }

    /// An input that could not be read (counted and listed, never fatal).
    pub fn corrupt(&mut self, source: impl Into<String>, error: impl Into<String>) {
        self.t.corrupt.push(Corrupt { source: source.into(), error: error.into() });
    }

    /// Inputs skipped because they started outside the period.
    pub fn outside_period(&self) -> u64 {
        self.t.outside_period
    }

    fn percentile(&self, measured: u64, q: f64) -> Option<u64> {
        if measured == 0 {
            return None;
        }
        let rank = ((measured as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        self.t.durations.iter().enumerate().find_map(|(minute, n)| {
            seen += n;
            (seen >= rank).then_some(minute as u64)
        })
    }

    /// The summary. `baseline` is the previous period's (label, known pairs), if there was one.
    pub fn finish(self, baseline: Option<(String, Vec<Pair>)>) -> Summary {
        let measured: u64 = self.t.durations.iter().sum();
        let (median, p95) = (self.percentile(measured, 0.5), self.percentile(measured, 0.95));
        let (baseline_label, known) = match baseline {
            Some((label, pairs)) => (Some(label), pairs.into_iter().collect::<BTreeSet<_>>()),
            None => (None, BTreeSet::new()),
        };
        let mut new_pairs: Vec<Pair> =
            self.t.by_pair.keys().filter(|p| !known.contains(*p)).cloned().collect();
        new_pairs.sort();
        let mut known_pairs = known;
        known_pairs.extend(self.t.by_pair.keys().cloned());
        let (top, approximate) = self.t.commands.top(TOP_COMMANDS);
        let mut findings: Vec<FindingCount> = self.t.findings.into_values().collect();
        findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(b.count.cmp(&a.count))
                .then_with(|| a.rule_id.cmp(&b.rule_id))
        });
        let mut completeness = self.t.completeness;
        completeness.counts = self.t.coverage;
        let percent = (self.t.privileged > 0).then(|| {
            (self.t.privileged_ok as f64 / self.t.privileged as f64 * 1000.0).round() / 10.0
        });
        Summary {
            schema: SUMMARY_SCHEMA.into(),
            kind: self.period.kind,
            period: self.period.label.clone(),
            from: self.period.from.to_string(),
            to: self.period.to.yesterday().map(|d| d.to_string()).unwrap_or_default(),
            as_of: self.config.as_of.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            grace_minutes: self.config.grace_minutes,
            empty: self.t.sessions == 0
                && self.t.denied == 0
                && self.t.corrupt.total == 0
                && self.t.guardduty.total == 0
                && self.t.preferences.total == 0,
            sessions: self.t.sessions,
            people: self.t.by_person.len() as u64,
            instances: self.t.by_instance.len() as u64,
            headline: Headline {
                privileged_sessions: self.t.privileged,
                with_full_transcript: self.t.privileged_ok,
                percent_full_transcript: percent,
                pending: self.t.privileged_pending,
            },
            completeness,
            by_person: counts(&self.t.by_person),
            by_instance: counts(&self.t.by_instance),
            by_account_region: counts(&self.t.by_place),
            by_pair: ranked(&self.t.by_pair, |p| format!("{}\u{0}{}", p.person, p.instance))
                .into_iter()
                .map(|(p, _, count)| PairCount { person: p.person, instance: p.instance, count })
                .collect(),
            new_pairs: NewPairs { baseline: baseline_label, pairs: new_pairs },
            heat_map: HeatMap {
                time_zone: self.config.business_hours.zone_name().to_string(),
                counts: self.t.heat.iter().map(|d| d.to_vec()).collect(),
            },
            durations: Durations {
                measured,
                median_minutes: median,
                p95_minutes: p95,
                longest_minutes: self.t.longest.as_ref().map(|(s, _)| (*s / 60) as u64),
                longest: self.t.longest.map(|(_, r)| r),
            },
            off_hours: OffHours {
                business_hours: self.config.business_hours_text.clone(),
                sessions: self.t.off_hours,
                share: (self.t.timed > 0).then(|| self.t.off_hours as f64 / self.t.timed as f64),
            },
            denied: Denied {
                attempts: self.t.denied,
                by_person: counts(&self.t.denied_by_person),
                by_reason: counts(&self.t.denied_by_reason),
            },
            commands: Commands {
                total: self.t.commands_total,
                privileged: self.t.commands_privileged,
                top: top.into_iter().map(|(name, count)| Count { name, count }).collect(),
                approximate,
            },
            findings,
            documents: counts(&self.t.documents),
            port_forwards: counts(&self.t.port_forwards),
            corrupt: self.t.corrupt,
            guardduty: self.t.guardduty,
            preferences: self.t.preferences,
            known_pairs: known_pairs.into_iter().collect(),
            generator: format!("session-audit {}", env!("CARGO_PKG_VERSION")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(as_of: &str) -> SummaryConfig {
        let options = crate::settings::Variables(|_: &str| None).summary_options().unwrap();
        options.config(as_of.parse().unwrap())
    }

    fn record(
        id: &str,
        start: &str,
        end: Option<&str>,
        document: &str,
        kind: Option<&str>,
    ) -> SessionRecord {
        serde_json::from_value(serde_json::json!({
            "schema": "session-audit/session/v1", "session_id": id, "event_id": "e", "started_at": start,
            "region": "us-east-1", "account": null, "target": "i-1", "document": document,
            "session_type": kind, "terminated_at": end, "events": [],
            "identity": {"kind": "iam_user", "principal": "bob", "arn": null, "account": null,
                "mfa": null, "source_ip": null, "user_agent": null, "console": false}
        }))
        .unwrap()
    }

    fn week() -> Period {
        Period::weekly("2026-11-09".parse().unwrap())
    }

    #[test]
    fn grace_runs_from_the_termination_when_known_else_from_the_start() {
        let mut agg = Aggregator::new(week(), config("2026-11-15T12:00:00Z"), &RulePack::builtin());
        let shell = "SSM-SessionManagerRunShell";
        // Ended 10:30, due 12:30: pending. Started 09:00 without end, due 11:00: missing.
        agg.session(
            Some(&record("a", "2026-11-15T09:00:00Z", Some("2026-11-15T10:30:00Z"), shell, None)),
            None,
        );
        agg.session(Some(&record("b", "2026-11-15T09:00:00Z", None, shell, None)), None);
        // A custom port document: unlogged by design and not command access.
        agg.session(
            Some(&record("c", "2026-11-15T09:00:00Z", None, "Corp-Tunnel", Some("Port"))),
            None,
        );
        // Started outside the period: not counted.
        assert!(!agg.session(Some(&record("d", "2026-11-16T09:00:00Z", None, shell, None)), None));
        let s = agg.finish(None);
        assert_eq!(s.sessions, 3);
        assert_eq!(s.completeness.pending.items[0].session_id, "a");
        assert_eq!(s.completeness.missing.items[0].session_id, "b");
        assert_eq!(s.completeness.unlogged_by_design.items[0].session_id, "c");
        assert_eq!((s.headline.privileged_sessions, s.headline.pending), (1, 1));
        assert_eq!(s.headline.percent_full_transcript, Some(0.0));
        assert_eq!(s.findings[0].rule_id, "SA-SES-TRANSCRIPT-MISSING");
    }

    #[test]
    fn reports_alone_carry_their_joined_identity_and_target() {
        let mut agg = Aggregator::new(week(), config("2026-11-20T00:00:00Z"), &RulePack::builtin());
        let report = ReportDigest {
            session_id: "r".into(),
            status: Status::Compliant,
            status_reason: None,
            source: Default::default(),
            identity: Some(serde_json::json!({"principal": "bob", "person": "bob@example.com"})),
            target: Some(
                serde_json::json!({"instance_id": "i-9", "document": "SSM-SessionManagerRunShell"}),
            ),
            started_at: Some("2026-11-10T10:00:00Z".into()),
            ended_at: Some("2026-11-10T10:45:00Z".into()),
            findings: Vec::new(),
            commands: 0,
        };
        agg.session(None, Some(&report));
        let s = agg.finish(None);
        assert_eq!(s.by_pair[0].person, "bob@example.com");
        assert_eq!(s.by_pair[0].instance, "i-9");
        assert_eq!(s.completeness.transcripts_without_record.total, 0);
        assert_eq!(s.durations.median_minutes, Some(45));
        assert_eq!(s.headline.percent_full_transcript, Some(100.0));
    }

    #[test]
    fn port_forwards_are_listed_by_destination_and_never_missing() {
        let mut agg = Aggregator::new(week(), config("2026-11-20T00:00:00Z"), &RulePack::builtin());
        let forward = |id: &str, document: &str, parameters: serde_json::Value| {
            let mut r = record(id, "2026-11-10T09:00:00Z", None, document, Some("Port"));
            r.parameters = serde_json::from_value(parameters).unwrap();
            r
        };
        let db = serde_json::json!({"host": ["db.internal"], "portNumber": ["5432"]});
        agg.session(Some(&forward("a", "sa-RemotePortForward", db.clone())), None);
        agg.session(Some(&forward("b", "sa-RemotePortForward", db)), None);
        let web = serde_json::json!({"portNumber": ["443"], "localPortNumber": ["0"]});
        agg.session(Some(&forward("c", "sa-PortForward", web)), None);
        let aws = serde_json::json!({"host": ["localhost"], "portNumber": ["22"]});
        agg.session(Some(&forward("d", "AWS-StartPortForwardingSessionToRemoteHost", aws)), None);
        let s = agg.finish(None);
        let listed: Vec<(&str, u64)> =
            s.port_forwards.iter().map(|c| (c.name.as_str(), c.count)).collect();
        assert_eq!(listed, [("db.internal:5432 via i-1", 2), ("i-1:22", 1), ("i-1:443", 1)]);
        assert_eq!(s.completeness.missing.total, 0, "no transcript is expected");
        assert_eq!(s.completeness.unlogged_by_design.total, 4);
        let md = markdown::render(&s);
        let section = md.split("### Port forwarding by destination").nth(1).expect("the section");
        assert!(section.contains(r"| db\.internal:5432 via i-1 | 2 |"), "{section}");
        assert!(html::render(&s).contains("<code>db.internal:5432 via i-1</code>"));
    }

    #[test]
    fn sessions_are_counted_per_account_and_region() {
        let mut agg = Aggregator::new(week(), config("2026-11-20T00:00:00Z"), &RulePack::builtin());
        let shell = "SSM-SessionManagerRunShell";
        for (id, account, region) in [
            ("a", "111111111111", "eu-central-1"),
            ("b", "111111111111", "eu-central-1"),
            ("c", "222222222222", "us-east-1"),
        ] {
            let mut r =
                record(id, "2026-11-10T09:00:00Z", Some("2026-11-10T09:30:00Z"), shell, None);
            (r.account, r.region) = (Some(account.into()), region.into());
            agg.session(Some(&r), None);
        }
        let s = agg.finish(None);
        let listed: Vec<(&str, u64)> =
            s.by_account_region.iter().map(|c| (c.name.as_str(), c.count)).collect();
        assert_eq!(listed, [("111111111111/eu-central-1", 2), ("222222222222/us-east-1", 1)]);
        assert!(markdown::render(&s).contains("### By account and region"));
        assert!(html::render(&s).contains("By account and region"));
        let mut one = Aggregator::new(week(), config("2026-11-20T00:00:00Z"), &RulePack::builtin());
        one.session(Some(&record("a", "2026-11-10T09:00:00Z", None, shell, None)), None);
        let s = one.finish(None);
        assert!(!markdown::render(&s).contains("By account and region"), "one place: no section");
    }

    #[test]
    fn an_empty_period_says_so() {
        let s = Aggregator::new(week(), config("2026-11-20T00:00:00Z"), &RulePack::builtin())
            .finish(None);
        assert!(s.empty);
        assert_eq!(s.headline.percent_full_transcript, None);
        assert!(markdown::render(&s).contains("Empty period"));
        assert!(html::render(&s).contains("Empty period"));
    }
}
