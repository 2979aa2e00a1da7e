//! What an [`super::Aggregator`] has counted, kept apart from how it counts so it can be
//! stored and merged: a week is the sum of its days' parts, read back from seven small objects
//! instead of every record and report again.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::commands::CommandCounter;
use super::{
    Completeness, Corrupt, Coverage, FindingCount, Listed, Pair, PreferencesSeen, SessionRef,
    ThreatSeen,
};
use crate::finding::Severity;

/// Durations are kept per minute up to a day; longer sessions share the last bucket (the
/// longest is kept exactly).
pub(super) const DURATION_BUCKETS: usize = 24 * 60 + 1;

/// Everything an aggregator has counted: mergeable, so a week is the sum of its days' parts
/// ([`super::Aggregator::merge`]) instead of a second read of every object. Maps keyed by more than
/// a string are stored as lists of entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tallies {
    pub(super) sessions: u64,
    pub(super) outside_period: u64,
    pub(super) by_person: HashMap<String, u64>,
    pub(super) by_instance: HashMap<String, u64>,
    #[serde(with = "entries")]
    pub(super) by_pair: HashMap<Pair, u64>,
    pub(super) documents: HashMap<String, u64>,
    pub(super) heat: [[u64; 24]; 7],
    /// Sessions per minute of duration (sparse: the minutes with any).
    #[serde(with = "sparse")]
    pub(super) durations: Vec<u64>,
    pub(super) longest: Option<(i64, SessionRef)>,
    pub(super) off_hours: u64,
    pub(super) timed: u64,
    #[serde(with = "entries")]
    pub(super) coverage: BTreeMap<Coverage, u64>,
    pub(super) completeness: Completeness,
    pub(super) privileged: u64,
    pub(super) privileged_ok: u64,
    pub(super) privileged_pending: u64,
    pub(super) denied: u64,
    pub(super) denied_by_person: HashMap<String, u64>,
    pub(super) denied_by_reason: HashMap<String, u64>,
    pub(super) commands: CommandCounter,
    pub(super) commands_total: u64,
    pub(super) commands_privileged: u64,
    #[serde(with = "entries")]
    pub(super) findings: BTreeMap<(Severity, String), FindingCount>,
    pub(super) corrupt: Listed<Corrupt>,
    #[serde(default)]
    pub(super) guardduty: Listed<ThreatSeen>,
    #[serde(default)]
    pub(super) preferences: Listed<PreferencesSeen>,
    /// Port-forwarding sessions per destination (`host:port`, `via <instance>` when the host
    /// is behind it).
    #[serde(default)]
    pub(super) port_forwards: HashMap<String, u64>,
    /// Sessions per `account/region` (records name both; a report alone, neither).
    #[serde(default)]
    pub(super) by_place: HashMap<String, u64>,
}

impl Tallies {
    /// Whether counting the same objects later gives the same tallies: nothing was pending
    /// (a pending session may be missing, or reported, by then) and nothing was outside the
    /// period (an object of the day about another day may fall in a longer period).
    pub fn is_final(&self) -> bool {
        self.outside_period == 0 && self.coverage.get(&Coverage::Pending).is_none_or(|n| *n == 0)
    }

    /// Add `other` (counted over other objects) to these: the result is what counting both
    /// sets of objects in one aggregator gives (lists keep their first items in merge order;
    /// the command counter is exact while the vocabulary fits, see `commands.rs`).
    pub fn merge(&mut self, other: Tallies) {
        fn add<K: std::hash::Hash + Eq>(to: &mut HashMap<K, u64>, from: HashMap<K, u64>) {
            for (k, n) in from {
                *to.entry(k).or_default() += n;
            }
        }
        self.sessions += other.sessions;
        self.outside_period += other.outside_period;
        add(&mut self.by_person, other.by_person);
        add(&mut self.by_instance, other.by_instance);
        add(&mut self.by_pair, other.by_pair);
        add(&mut self.documents, other.documents);
        add(&mut self.port_forwards, other.port_forwards);
        add(&mut self.by_place, other.by_place);
        for (row, from) in self.heat.iter_mut().zip(other.heat) {
            for (cell, n) in row.iter_mut().zip(from) {
                *cell += n;
            }
        }
        for (bucket, n) in self.durations.iter_mut().zip(other.durations) {
            *bucket += n;
        }
        if let Some((secs, session)) = other.longest {
            if self.longest.as_ref().is_none_or(|(s, _)| secs > *s) {
                self.longest = Some((secs, session));
            }
        }
        self.off_hours += other.off_hours;
        self.timed += other.timed;
        for (c, n) in other.coverage {
            *self.coverage.entry(c).or_default() += n;
        }
        let (mine, theirs) = (&mut self.completeness, other.completeness);
        for (c, n) in theirs.counts {
            *mine.counts.entry(c).or_default() += n;
        }
        mine.missing.merge(theirs.missing);
        mine.truncated.merge(theirs.truncated);
        mine.unparseable.merge(theirs.unparseable);
        mine.pending.merge(theirs.pending);
        mine.unlogged_by_design.merge(theirs.unlogged_by_design);
        mine.transcripts_without_record.merge(theirs.transcripts_without_record);
        mine.replaced.merge(theirs.replaced);
        mine.untrusted.merge(theirs.untrusted);
        mine.stream_only.merge(theirs.stream_only);
        mine.records_without_start += theirs.records_without_start;
        self.privileged += other.privileged;
        self.privileged_ok += other.privileged_ok;
        self.privileged_pending += other.privileged_pending;
        self.denied += other.denied;
        add(&mut self.denied_by_person, other.denied_by_person);
        add(&mut self.denied_by_reason, other.denied_by_reason);
        self.commands.merge(other.commands);
        self.commands_total += other.commands_total;
        self.commands_privileged += other.commands_privileged;
        for (k, f) in other.findings {
            match self.findings.get_mut(&k) {
                Some(mine) => mine.count += f.count,
                None => {
                    self.findings.insert(k, f);
                }
            }
        }
        self.corrupt.merge(other.corrupt);
        self.guardduty.merge(other.guardduty);
        self.preferences.merge(other.preferences);
    }
}

/// A map as a list of `[key, value]` entries (JSON object keys must be strings).
mod entries {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<'a, M, K, V, S>(map: &'a M, s: S) -> Result<S::Ok, S::Error>
    where
        &'a M: IntoIterator<Item = (&'a K, &'a V)>,
        K: Serialize + 'a,
        V: Serialize + 'a,
        S: Serializer,
    {
        s.collect_seq(map)
    }

    pub fn deserialize<'de, M, K, V, D>(d: D) -> Result<M, D::Error>
    where
        M: FromIterator<(K, V)>,
        K: Deserialize<'de>,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
    }
}

/// Per-minute counts as `[minute, count]` for the minutes with any.
mod sparse {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u64], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().enumerate().filter(|(_, n)| **n > 0))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
        let mut out = vec![0; super::DURATION_BUCKETS];
        for (minute, n) in Vec::<(usize, u64)>::deserialize(d)? {
            let bucket = out.get_mut(minute).ok_or_else(|| {
                serde::de::Error::custom(format!("duration minute {minute} out of range"))
            })?;
            *bucket = n;
        }
        Ok(out)
    }
}
