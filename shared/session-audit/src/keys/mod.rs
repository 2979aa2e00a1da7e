//! The audit key layout (docs/DESIGN.md §3), built and parsed in this one place:
//!
//! ```text
//! audit/sessions/dt=YYYY-MM-DD/<place>/<sessionId>.json     session-start
//! audit/denied/dt=YYYY-MM-DD/<eventID>.json                 session-start
//! audit/reports/dt=YYYY-MM-DD/<place>/<sessionId>.{json,md} session-report
//! audit/reports/dt=YYYY-MM-DD/<place>/replaced/<sessionId>/<version>.{json,md}  a later version
//! audit/reports/dt=YYYY-MM-DD/<place>/untrusted/<sessionId>/<version>.{json,md} not the session's
//! audit/preferences/dt=YYYY-MM-DD/<place>/<eventID>.json   session-start (a spoke's preferences changed)
//! audit/live/<place>/<sessionId>.json                       session-stream
//! audit/summaries/{daily,weekly,custom}/<period>.{json,md,html}  access-summary
//! audit/summaries/daily/<day>.part.json                       its mergeable tallies
//! audit/sweeps/stream-reports.json                            where the hourly sweep goes on
//! ```
//!
//! `<place>` is `acct=<account>/region=<region>` ([`Place`]): a session ID is unique only
//! within its account. Keys written before places (no `<place>/`) are still read, as the hub's
//! own place.
//!
//! Session and event IDs come from CloudTrail fields and S3 keys that the person being audited
//! can choose. Every ID is checked before it becomes part of a key (or, through a store on
//! disk, a path): a bad one is refused with [`BadId`], never escaped or truncated into
//! something that names another object.

use std::fmt::Display;

mod place;

pub use place::{
    is_account, is_region, region_of_subscription, subscription_filter, Home, Place, SessionAt,
};

/// Everything the audit writes lives under this prefix (and nothing the instances may write).
pub const AUDIT_PREFIX: &str = "audit/";

/// Longest ID accepted. Real ones are far shorter: a session ID is a role session or user
/// name (at most 64 characters) and 17 hex digits; an event ID is a UUID.
pub const MAX_ID_LEN: usize = 256;

/// An ID that cannot name an audit object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {shown} cannot be used in an audit key: {why}")]
pub struct BadId {
    /// What the value is (`session ID`, `event ID`, …).
    pub what: &'static str,
    /// The ID as a JSON string (control characters visible), cut to 80 characters.
    pub shown: String,
    /// Why it cannot be a key component.
    pub why: &'static str,
}

/// `id` if it can be one path segment of a key: 1 to [`MAX_ID_LEN`] printable ASCII
/// characters, no `/` or `\`, no `..`, not starting with `.`. Session names allow
/// `[\w+=,.@-]` and event IDs are UUIDs, so every real ID passes.
pub fn check_id<'a>(what: &'static str, id: &'a str) -> Result<&'a str, BadId> {
    let why = if id.is_empty() {
        Some("empty")
    } else if id.len() > MAX_ID_LEN {
        Some("longer than 256 characters")
    } else if id.bytes().any(|b| b.is_ascii_control() || !b.is_ascii()) {
        Some("control or non-ASCII characters")
    } else if id.contains(['/', '\\']) {
        Some("contains a path separator")
    } else if id.contains(' ') {
        Some("contains a space")
    } else if id.contains("..") || id.starts_with('.') {
        Some("contains '..' or starts with '.'")
    } else {
        None
    };
    match why {
        None => Ok(id),
        Some(why) => {
            let shown: String = id.chars().take(80).collect();
            Err(BadId { what, shown: serde_json::Value::from(shown).to_string(), why })
        }
    }
}

/// A `dt=` partition day: `YYYY-MM-DD` of a valid date.
fn check_day(day: impl Display) -> Result<String, BadId> {
    let day = day.to_string();
    match day.parse::<jiff::civil::Date>() {
        Ok(d) if d.to_string() == day => Ok(day),
        _ => Err(BadId {
            what: "partition day",
            shown: serde_json::Value::from(day).to_string(),
            why: "not a YYYY-MM-DD date",
        }),
    }
}

/// The kinds of object filed under a `dt=` day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filed {
    /// `audit/sessions/`: one session record per session ID.
    Session,
    /// `audit/denied/`: one denied attempt per CloudTrail event ID.
    Denied,
    /// `audit/reports/`: one report per session ID (JSON and Markdown).
    Report,
    /// `audit/guardduty/`: one correlation per GuardDuty finding ID, filed on the day
    /// GuardDuty last saw the activity.
    GuardDuty,
    /// `audit/preferences/`: one change to an account-region's Session Manager preferences
    /// per CloudTrail event ID, under the place it was made in.
    Preferences,
}

impl Filed {
    fn folder(self) -> &'static str {
        match self {
            Filed::Session => "sessions",
            Filed::Denied => "denied",
            Filed::Report => "reports",
            Filed::GuardDuty => "guardduty",
            Filed::Preferences => "preferences",
        }
    }

    fn id_name(self) -> &'static str {
        match self {
            Filed::Denied | Filed::Preferences => "event ID",
            Filed::Session | Filed::Report => "session ID",
            Filed::GuardDuty => "GuardDuty finding ID",
        }
    }

    /// `audit/<folder>/dt=<day>/`: every object of this kind filed on `day`.
    pub fn day_prefix(self, day: impl Display) -> String {
        format!("audit/{}/dt={day}/", self.folder())
    }

    /// `audit/<folder>/dt=<day>/<id>.<ext>`, with `day` and `id` checked: the kinds filed by
    /// a globally unique ID (denied attempts, GuardDuty findings), and the keys sessions had
    /// before places.
    pub fn key(self, day: impl Display, id: &str, ext: &str) -> Result<String, BadId> {
        let day = check_day(day)?;
        let id = check_id(self.id_name(), id)?;
        Ok(format!("{}{id}.{ext}", self.day_prefix(day)))
    }

    /// `audit/<folder>/dt=<day>/<place>/<sessionId>.<ext>`: what is filed per session.
    pub fn session_key(
        self,
        day: impl Display,
        session: &SessionAt,
        ext: &str,
    ) -> Result<String, BadId> {
        let day = check_day(day)?;
        Ok(format!("{}{}{}.{ext}", self.day_prefix(day), session.place.folder(), session.id()))
    }

    /// The place (none in the layout before places), ID and extension of a key of this kind
    /// (`None` for any other key or a bad ID).
    pub fn parse(self, key: &str) -> Option<(Option<Place>, &str, &str)> {
        let rest = key.strip_prefix(AUDIT_PREFIX)?.strip_prefix(self.folder())?;
        let rest = rest.strip_prefix("/dt=")?;
        let (day, rest) = rest.split_once('/')?;
        check_day(day).ok()?;
        let (place, name) = Place::strip_optional(rest)?;
        let (id, ext) = name.rsplit_once('.')?;
        check_id(self.id_name(), id).ok()?;
        Some((place, id, ext))
    }
}

/// `audit/guardduty/dt=<day>/<findingId>.json`: a GuardDuty finding tied to the sessions on
/// its instance.
pub fn guardduty_correlation(day: impl Display, finding_id: &str) -> Result<String, BadId> {
    Filed::GuardDuty.key(day, finding_id, "json")
}

/// `audit/preferences/dt=<day>/<place>/<eventID>.json`: a change to the Session Manager
/// preferences of `place` (forwarded by its spoke), as judged when it arrived.
pub fn preferences_change(
    day: impl Display,
    place: &Place,
    event_id: &str,
) -> Result<String, BadId> {
    let day = check_day(day)?;
    let id = check_id(Filed::Preferences.id_name(), event_id)?;
    Ok(format!("{}{}{id}.json", Filed::Preferences.day_prefix(day), place.folder()))
}

/// What the Config rule judges, each kind in its own folder under `audit/config/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judged {
    /// An EC2 instance (`instances/<instanceId>`).
    Instance,
    /// An account's Session Manager preferences in one region (`accounts/<account>.<region>`).
    Account,
}

/// `audit/config/<instances|accounts>/<id>.json`: the Config rule's latest verdict on one
/// resource (the bucket keeps every earlier one as a version, and the digests list each).
pub fn config_verdict(kind: Judged, id: &str) -> Result<String, BadId> {
    let folder = match kind {
        Judged::Instance => "instances",
        Judged::Account => "accounts",
    };
    Ok(format!("{AUDIT_PREFIX}config/{folder}/{}.json", check_id("resource ID", id)?))
}

/// `audit/sessions/dt=<day>/<place>/<sessionId>.json`.
pub fn session_record(day: impl Display, session: &SessionAt) -> Result<String, BadId> {
    Filed::Session.session_key(day, session, "json")
}

/// Where [`session_record`] may be found: under its place, and, for the hub's own sessions,
/// where records were filed before places.
pub fn session_record_keys(day: impl Display, session: &SessionAt, home: &Home) -> Vec<String> {
    let day = day.to_string();
    let mut keys: Vec<String> = session_record(&day, session).into_iter().collect();
    if home.as_ref() == Some(&session.place) {
        keys.extend(Filed::Session.key(&day, session.id(), "json"));
    }
    keys
}

/// `audit/denied/dt=<day>/<eventID>.json`.
pub fn denied_attempt(day: impl Display, event_id: &str) -> Result<String, BadId> {
    Filed::Denied.key(day, event_id, "json")
}

/// `audit/reports/dt=<day>/<place>/<sessionId>.<ext>` (`json` or `md`).
pub fn report(day: impl Display, session: &SessionAt, ext: &str) -> Result<String, BadId> {
    Filed::Report.session_key(day, session, ext)
}

/// A report filed beside the session's own (never in its place).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Beside {
    /// A later version of a transcript already reported, or its removal (`replaced/`).
    Replaced,
    /// A transcript that is not evidence of the session: uploaded by another instance or
    /// principal, before the session ended, or for a session with no record (`untrusted/`).
    Untrusted,
}

impl Beside {
    /// The folder under the day.
    pub fn folder(self) -> &'static str {
        match self {
            Beside::Replaced => "replaced",
            Beside::Untrusted => "untrusted",
        }
    }
}

/// `audit/reports/dt=<day>/<place>/<replaced|untrusted>/<sessionId>/<version>.<ext>`: a
/// report filed beside the session's own (which stays where it is).
pub fn beside_report(
    beside: Beside,
    day: impl Display,
    session: &SessionAt,
    version: &str,
    ext: &str,
) -> Result<String, BadId> {
    let day = check_day(day)?;
    let version = check_id("transcript version", version)?;
    let (place, folder, id) = (session.place.folder(), beside.folder(), session.id());
    Ok(format!("{}{place}{folder}/{id}/{version}.{ext}", Filed::Report.day_prefix(day)))
}

/// `audit/reports/dt=<day>/<place>/replaced/<sessionId>/<version>.<ext>`: the report of a
/// later version of a transcript already reported (the first report stays where it is).
pub fn replaced_report(
    day: impl Display,
    session: &SessionAt,
    version: &str,
    ext: &str,
) -> Result<String, BadId> {
    beside_report(Beside::Replaced, day, session, version, ext)
}

/// What a key [`beside_report`] built names (before places, without one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BesideKey<'a> {
    /// Why it is beside.
    pub beside: Beside,
    /// The session's place (none in the layout before places).
    pub place: Option<Place>,
    /// The session ID.
    pub id: &'a str,
    /// The transcript version.
    pub version: &'a str,
    /// The extension.
    pub ext: &'a str,
}

/// What a key [`beside_report`] built names.
pub fn parse_beside(key: &str) -> Option<BesideKey<'_>> {
    let rest = key.strip_prefix(AUDIT_PREFIX)?.strip_prefix("reports/dt=")?;
    let (day, rest) = rest.split_once('/')?;
    check_day(day).ok()?;
    let (place, rest) = Place::strip_optional(rest)?;
    let (folder, rest) = rest.split_once('/')?;
    let beside =
        [Beside::Replaced, Beside::Untrusted].into_iter().find(|b| b.folder() == folder)?;
    let (id, name) = rest.split_once('/')?;
    let (version, ext) = name.rsplit_once('.')?;
    check_id("session ID", id).ok()?;
    check_id("transcript version", version).ok()?;
    Some(BesideKey { beside, place, id, version, ext })
}

/// `audit/sweeps/<name>.json`: where a scheduled sweep that runs over several invocations
/// goes on from.
pub fn sweep_cursor(name: &str) -> String {
    format!("{AUDIT_PREFIX}sweeps/{name}.json")
}

/// `audit/live/`: where the states of streamed sessions are.
pub fn live_prefix() -> String {
    format!("{AUDIT_PREFIX}live/")
}

/// `audit/live/<place>/<sessionId>.json`: the state of a session being streamed
/// (session-stream).
pub fn live_state(session: &SessionAt) -> String {
    format!("{}{}{}.json", live_prefix(), session.place.folder(), session.id())
}

/// The place (none for a state written before places) and session ID of a key [`live_state`]
/// built.
pub fn parse_live(key: &str) -> Option<(Option<Place>, &str)> {
    let rest = key.strip_prefix(AUDIT_PREFIX)?.strip_prefix("live/")?.strip_suffix(".json")?;
    let (place, id) = Place::strip_optional(rest)?;
    Some((place, check_id("session ID", id).ok()?))
}

/// `audit/summaries/<kind>/<label>.<ext>`; kind and label come from a parsed period.
pub fn summary(kind: &str, label: &str, ext: &str) -> String {
    format!("audit/summaries/{kind}/{label}.{ext}")
}

/// `audit/digests/`: the signed digest chain (digests never list this prefix).
pub const DIGEST_PREFIX: &str = "audit/digests/";

/// `audit/digests/dt=<YYYY-MM-DD>/<YYYYMMDD>T<HH>.json`: the digest of the hour that starts at
/// `start` (docs/DESIGN.md §3).
pub fn digest(start: jiff::Timestamp) -> String {
    format!("{DIGEST_PREFIX}{}.json", start.strftime("dt=%Y-%m-%d/%Y%m%dT%H"))
}

/// Whether `key` is a digest [`digest`] built (not its sidecar, manifest or the head).
pub fn is_digest(key: &str) -> bool {
    let Some(hour) = key.strip_suffix(".json").and_then(|k| k.rsplit('/').next()) else {
        return false;
    };
    let digits = |r: std::ops::Range<usize>| {
        hour.get(r).is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
    };
    if hour.len() != 11 || hour.as_bytes()[8] != b'T' || !digits(0..8) || !digits(9..11) {
        return false;
    }
    let text = format!("{}-{}-{}T{}:00:00Z", &hour[0..4], &hour[4..6], &hour[6..8], &hour[9..11]);
    text.parse::<jiff::Timestamp>().is_ok_and(|start| digest(start) == key)
}

/// The signature sidecar beside a digest: `<YYYYMMDD>T<HH>.sig.json`.
pub fn digest_signature(digest_key: &str) -> String {
    format!("{}.sig.json", digest_key.trim_end_matches(".json"))
}

/// The `sha256sum -c` manifest beside a digest: `<YYYYMMDD>T<HH>.sha256sum`.
pub fn digest_manifest(digest_key: &str) -> String {
    format!("{}.sha256sum", digest_key.trim_end_matches(".json"))
}

/// `audit/digests/head.json`: the newest digest's link, where the next run goes on from.
pub fn digest_head() -> String {
    format!("{DIGEST_PREFIX}head.json")
}

/// `audit/exports/lake.json`: the hour the Security Lake export goes on from.
pub fn lake_cursor() -> String {
    format!("{AUDIT_PREFIX}exports/lake.json")
}

/// `audit/digests/public-keys/<key-id>.pem`: a signing key's public half, named by the KMS key
/// ID (the last part of `key_id`, an ARN); a name KMS would not give is replaced by the key's
/// `fingerprint`, so a key ID can never lead out of the folder.
pub fn digest_public_key(key_id: &str, fingerprint: &str) -> String {
    let id = key_id.rsplit('/').next().unwrap_or_default();
    let plain = !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    format!("{DIGEST_PREFIX}public-keys/{}.pem", if plain { id } else { fingerprint })
}

/// Whether `key` is under the audit prefix (the report function never reacts to these).
pub fn is_audit(key: &str) -> bool {
    key.starts_with(AUDIT_PREFIX)
}

/// Session `id` in the example place the engine's tests file under (`123456789012` in
/// `eu-central-1`).
#[cfg(test)]
pub(crate) fn example(id: &str) -> SessionAt {
    SessionAt::new(Place::new("123456789012", "eu-central-1").expect("a place"), id).expect("an ID")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_ids_pass() {
        for id in [
            "jojithom-I-08ea7d78b1fd0d119",
            "ana.lopez@example.com-0f3c1b2a9d8e7c6b5",
            "garland.kan.temp-0e34861185201706f",
            "a+b=c,d-0123456789abcdef0",
            "4b7a66fc-bffb-4179-be64-69bba2bf714c",
        ] {
            assert_eq!(check_id("session ID", id), Ok(id));
        }
    }

    #[test]
    fn ids_that_could_escape_are_refused() {
        for (id, why) in [
            ("", "empty"),
            ("../../etc/passwd", "contains a path separator"),
            ("a/b", "contains a path separator"),
            ("a\\b", "contains a path separator"),
            ("..", "contains '..' or starts with '.'"),
            ("x..y", "contains '..' or starts with '.'"),
            (".hidden", "contains '..' or starts with '.'"),
            ("a\nb", "control or non-ASCII characters"),
            ("a\u{1b}[2Jb", "control or non-ASCII characters"),
            ("a\u{7f}", "control or non-ASCII characters"),
            ("caf\u{e9}", "control or non-ASCII characters"),
            ("a b", "contains a space"),
        ] {
            let e = check_id("session ID", id).unwrap_err();
            assert_eq!(e.why, why, "{id:?}");
        }
        let long = "a".repeat(MAX_ID_LEN + 1);
        assert!(check_id("event ID", &long).is_err());
        assert!(check_id("event ID", &long[..MAX_ID_LEN]).is_ok());
        let e = check_id("event ID", "a\nb").unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"event ID "a\nb" cannot be used in an audit key: control or non-ASCII characters"#
        );
    }

    fn at(account: &str, id: &str) -> SessionAt {
        SessionAt::new(Place::new(account, "eu-west-1").unwrap(), id).unwrap()
    }

    #[test]
    fn keys_are_built_and_parsed_in_one_layout() {
        let s1 = at("111122223333", "s-1");
        let k = session_record("2026-11-24", &s1).unwrap();
        assert_eq!(k, "audit/sessions/dt=2026-11-24/acct=111122223333/region=eu-west-1/s-1.json");
        assert_eq!(Filed::Session.parse(&k), Some((Some(s1.place.clone()), "s-1", "json")));
        assert_eq!(Filed::Report.parse(&k), None);
        // One session ID in two accounts: two records, never one.
        let other = session_record("2026-11-24", &at("444455556666", "s-1")).unwrap();
        assert_ne!(k, other);
        // Keys written before places are still read, without one.
        let old = "audit/sessions/dt=2026-11-24/s-1.json";
        assert_eq!(Filed::Session.parse(old), Some((None, "s-1", "json")));
        let home = Some(s1.place.clone());
        assert_eq!(session_record_keys("2026-11-24", &s1, &home), [k.clone(), old.to_string()]);
        let elsewhere = at("444455556666", "s-1");
        assert_eq!(session_record_keys("2026-11-24", &elsewhere, &home), [other]);
        assert_eq!(session_record_keys("2026-11-24", &s1, &None), [k]);
        assert_eq!(
            report("2026-11-24", &s1, "md").unwrap(),
            "audit/reports/dt=2026-11-24/acct=111122223333/region=eu-west-1/s-1.md"
        );
        assert_eq!(
            denied_attempt("2020-05-18", "d-1").unwrap(),
            "audit/denied/dt=2020-05-18/d-1.json"
        );
        assert_eq!(summary("daily", "2026-11-27", "html"), "audit/summaries/daily/2026-11-27.html");
        let change = preferences_change("2026-11-30", &s1.place, "e-1").unwrap();
        assert_eq!(
            change,
            "audit/preferences/dt=2026-11-30/acct=111122223333/region=eu-west-1/e-1.json"
        );
        assert_eq!(
            Filed::Preferences.parse(&change),
            Some((Some(s1.place.clone()), "e-1", "json"))
        );
        assert!(preferences_change("2026-11-30", &s1.place, "../e").is_err());
        assert!(session_record("unknown", &s1).is_err());
        assert!(session_record("2026-13-01", &s1).is_err());
        assert!(Filed::Session.parse("audit/sessions/dt=2026-11-24/../x.json").is_none());
        assert!(Filed::Session.parse("audit/sessions/dt=2026-11-24/a/b.json").is_none());
        assert!(Filed::Session
            .parse("audit/sessions/dt=2026-11-24/acct=111122223333/region=x/s.json")
            .is_none());
        let later = replaced_report("2026-11-24", &s1, "3HL4kqtJlcpXroDTDmJ.x_y", "json").unwrap();
        assert_eq!(
            later,
            "audit/reports/dt=2026-11-24/acct=111122223333/region=eu-west-1/replaced/s-1/\
             3HL4kqtJlcpXroDTDmJ.x_y.json"
        );
        let parsed = parse_beside(&later).unwrap();
        assert_eq!(parsed.beside, Beside::Replaced);
        assert_eq!(
            (parsed.place, parsed.id, parsed.version),
            (Some(s1.place.clone()), "s-1", "3HL4kqtJlcpXroDTDmJ.x_y")
        );
        assert_eq!(Filed::Report.parse(&later), None, "never joined as a session's report");
        // A version chosen to climb out of the folder is refused, not filed.
        assert!(replaced_report("2026-11-24", &s1, "../../sessions/x", "json").is_err());
        assert!(parse_beside("audit/reports/dt=2026-11-24/replaced/s-1/../x.json").is_none());
        let apart = beside_report(Beside::Untrusted, "2026-11-24", &s1, "v2", "md").unwrap();
        assert_eq!(parse_beside(&apart).unwrap().beside, Beside::Untrusted);
        let old = parse_beside("audit/reports/dt=2026-11-24/untrusted/s-1/v2.md").unwrap();
        assert_eq!((old.place, old.id, old.ext), (None, "s-1", "md"));
        assert_eq!(parse_beside("audit/reports/dt=2026-11-24/other/s-1/v2.md"), None);
        let live = live_state(&s1);
        assert_eq!(live, "audit/live/acct=111122223333/region=eu-west-1/s-1.json");
        assert_eq!(parse_live(&live), Some((Some(s1.place.clone()), "s-1")));
        assert_eq!(parse_live("audit/live/s-1.json"), Some((None, "s-1")));
        assert_eq!(parse_live("audit/live/x/s-1.json"), None);
    }

    #[test]
    fn digests_are_filed_by_day_and_hour_and_only_those_are_digests() {
        let start: jiff::Timestamp = "2026-12-05T14:00:00Z".parse().unwrap();
        let key = digest(start);
        assert_eq!(key, "audit/digests/dt=2026-12-05/20261205T14.json");
        assert!(is_digest(&key));
        assert_eq!(digest_signature(&key), "audit/digests/dt=2026-12-05/20261205T14.sig.json");
        assert_eq!(digest_manifest(&key), "audit/digests/dt=2026-12-05/20261205T14.sha256sum");
        for not in [
            digest_signature(&key),
            digest_head(),
            "audit/digests/dt=2026-12-06/20261205T14.json".into(),
            "audit/digests/dt=2026-12-05/20261205T24.json".into(),
            "audit/digests/dt=2026-12-05/20261205X14.json".into(),
            "audit/reports/dt=2026-12-05/20261205T14.json".into(),
            "audit/digests/x/dt=2026-12-05/20261205T14.json".into(),
        ] {
            assert!(!is_digest(&not), "{not}");
        }
        let arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let pem = "audit/digests/public-keys/1234abcd-12ab-34cd-56ef-1234567890ab.pem";
        assert_eq!(digest_public_key(arn, "f"), pem);
        assert_eq!(digest_public_key("key/..", "f"), "audit/digests/public-keys/f.pem");
        assert_eq!(digest_public_key("", "f"), "audit/digests/public-keys/f.pem");
    }
}
