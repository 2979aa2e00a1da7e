//! Who uploaded a transcript, and whether that makes it evidence of its session.
//!
//! The instance role may write any key under the transcript prefix, so a key names a session
//! but does not prove where the file came from. The agent uploads at session end with the
//! instance's own credentials, whose role session is named after the instance; a CloudTrail
//! data event of the write names that session. A transcript is evidence of its session only
//! when the session's instance wrote it after the session ended. Anything else is kept and
//! reported apart (`SA-TRN-UNTRUSTED-UPLOAD`), never in the session's place.

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::session::{normalise_time, text, SessionRecord};

/// Clock slack between the agent's stream timestamps and CloudTrail's event times.
pub const CLOCK_SLACK: SignedDuration = SignedDuration::from_secs(60);

/// The principal that wrote one transcript version, from the CloudTrail data event of the write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploader {
    /// `userIdentity.arn` (or the principal ID when there is no ARN).
    pub arn: String,
    /// The role session name: for instance-profile credentials, the instance ID.
    pub role_session: Option<String>,
    /// Whether the credentials were delivered to an EC2 instance by its metadata service
    /// (`sessionContext.ec2RoleDelivery`): a role assumed with a session name that looks like
    /// an instance ID does not have it.
    pub ec2_delivered: bool,
    /// When the write was made (`eventTime`, RFC 3339).
    pub at: String,
    /// `sourceIPAddress`.
    pub source_ip: Option<String>,
    /// The account whose credentials made the write (`userIdentity.accountId`, else the ARN's).
    pub account: Option<String>,
}

impl Uploader {
    /// The uploader a CloudTrail record names; `None` when it names no one.
    pub fn from_cloudtrail(record: &Value) -> Option<Uploader> {
        let identity = record.get("userIdentity")?;
        let arn = text(identity, "/arn").or_else(|| text(identity, "/principalId"))?;
        let role_session = match text(identity, "/type").as_deref() {
            Some("AssumedRole") => arn
                .split_once(":assumed-role/")
                .and_then(|(_, rest)| rest.split_once('/'))
                .map(|(_, name)| name.to_string()),
            _ => None,
        };
        let account = text(identity, "/accountId")
            .or_else(|| Some(arn.split(':').nth(4)?.to_string()).filter(|a| !a.is_empty()));
        Some(Uploader {
            arn,
            account,
            role_session,
            ec2_delivered: text(identity, "/sessionContext/ec2RoleDelivery").is_some(),
            at: text(record, "/eventTime").and_then(|t| normalise_time(&t)).unwrap_or_default(),
            source_ip: text(record, "/sourceIPAddress"),
        })
    }
}

/// What the audit can say of where a transcript version came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provenance {
    /// The session's instance wrote it after the session ended.
    Established {
        /// The uploader's ARN.
        by: String,
    },
    /// Nothing names the uploader (the upload came as an S3 event): the report says so.
    NotEstablished {
        /// Why, for the report's status reason.
        why: String,
    },
    /// Not evidence of the session: reported apart, never in the session's place.
    Untrusted {
        /// The uploader's ARN.
        by: String,
        /// Why.
        why: String,
    },
}

/// Why the uploader is unknown when the upload came as an S3 event.
pub const NO_UPLOADER: &str = "uploader not established: the upload came as an S3 event, which \
     does not name the uploading instance (deploy with UploadEvidence=CloudTrail)";

/// Judge an upload: `uploader` from its CloudTrail event (`None` for an S3 event), `record`
/// the session's record, `stream_last` the time of the last stream event read in the
/// session's window (the session was still running then).
pub fn judge(
    uploader: Option<&Uploader>,
    record: Option<&SessionRecord>,
    stream_last: Option<&str>,
) -> Provenance {
    let Some(u) = uploader else {
        return Provenance::NotEstablished { why: NO_UPLOADER.to_string() };
    };
    let untrusted = |why: String| Provenance::Untrusted { by: u.arn.clone(), why };
    let Some(record) = record else {
        return untrusted("no session record: no StartSession for this session was seen".into());
    };
    // A session ID is unique only within its account, and one bucket takes an organization's
    // transcripts: an instance of another account is not the session's, whatever its ID.
    if let (Some(by), Some(of)) = (u.account.as_deref(), record.account.as_deref()) {
        if by != of {
            return untrusted(format!(
                "written by account {by}, not by the session's account {of}"
            ));
        }
    }
    let Some(target) = record.target.as_deref() else {
        return untrusted("the session record names no instance".into());
    };
    if u.role_session.as_deref() != Some(target) {
        return untrusted(format!("written by {}, not by the session's instance {target}", u.arn));
    }
    if target.starts_with("i-") && !u.ec2_delivered {
        return untrusted(format!(
            "a role session named {target} whose credentials no EC2 instance received (no \
             ec2RoleDelivery): not the instance itself"
        ));
    }
    let at = u.at.parse::<Timestamp>().ok();
    let time = |t: &str| t.parse::<Timestamp>().ok();
    let Some(at) = at else { return untrusted("the write has no event time".into()) };
    if time(&record.started_at).is_some_and(|start| at < start) {
        return untrusted(format!(
            "written at {} before the session started at {}",
            u.at, record.started_at
        ));
    }
    if let Some(end) = record.terminated_at.as_deref().filter(|e| time(e).is_some_and(|e| at < e)) {
        return untrusted(format!(
            "written at {} before the session was terminated at {end}",
            u.at
        ));
    }
    if let Some(last) = stream_last.filter(|l| time(l).is_some_and(|l| l > at + CLOCK_SLACK)) {
        return untrusted(format!(
            "written at {} while the session was still running: its stream has output until {last}",
            u.at
        ));
    }
    Provenance::Established { by: u.arn.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{records, Event};

    fn fixture(name: &str) -> Value {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/public/");
        serde_json::from_str(&std::fs::read_to_string(format!("{path}{name}")).unwrap()).unwrap()
    }

    fn upload() -> Uploader {
        let v = fixture("eventbridge_cloudtrail_s3_PutObject_instance_role.json");
        Uploader::from_cloudtrail(&v["detail"]).unwrap()
    }

    /// The session of the fixture's instance, started before the upload.
    fn record() -> SessionRecord {
        let mut v = fixture("eventbridge_cloudtrail_StartSession_AssumedRole_console.json");
        v["detail"]["eventTime"] = "2020-05-22T08:00:00Z".into();
        v["detail"]["requestParameters"]["target"] = "i-0a1b2c3d4e5f60718".into();
        let (account, r) = records(&v).into_iter().next().unwrap();
        SessionRecord::start(&Event::parse(r, account).unwrap()).unwrap()
    }

    fn why(p: Provenance) -> String {
        match p {
            Provenance::Untrusted { why, .. } => why,
            other => panic!("trusted: {other:?}"),
        }
    }

    #[test]
    fn the_instance_role_session_of_a_public_event_names_the_instance() {
        let u = upload();
        assert_eq!(u.role_session.as_deref(), Some("i-0a1b2c3d4e5f60718"));
        assert!(u.ec2_delivered);
        assert_eq!(u.at, "2020-05-22T08:38:05Z");
        assert_eq!(u.source_ip.as_deref(), Some("1.2.3.4"));
        assert_eq!(
            u.account,
            record().account,
            "the fixture's instance is of the session's account"
        );
    }

    #[test]
    fn the_sessions_instance_after_the_session_is_evidence() {
        let by = upload().arn;
        assert_eq!(judge(Some(&upload()), Some(&record()), None), Provenance::Established { by });
        let early_stream = Some("2020-05-22T08:38:30Z");
        assert!(matches!(
            judge(Some(&upload()), Some(&record()), early_stream),
            Provenance::Established { .. }
        ));
        assert!(matches!(judge(None, Some(&record()), None), Provenance::NotEstablished { .. }));
    }

    #[test]
    fn anything_else_is_not_evidence_of_the_session() {
        let mut other = upload();
        other.role_session = Some("i-0ffffffffffffffff".into());
        assert!(why(judge(Some(&other), Some(&record()), None)).contains("not by the session's"));
        let mut elsewhere = upload();
        elsewhere.account = Some("999988887777".into());
        let why_not = why(judge(Some(&elsewhere), Some(&record()), None));
        assert!(why_not.contains("not by the session's account"), "{why_not}");
        let mut assumed = upload();
        assumed.ec2_delivered = false;
        assert!(why(judge(Some(&assumed), Some(&record()), None)).contains("ec2RoleDelivery"));
        assert!(why(judge(Some(&upload()), None, None)).contains("no session record"));
        let mut ended_later = record();
        ended_later.terminated_at = Some("2020-05-22T09:00:00Z".into());
        assert!(why(judge(Some(&upload()), Some(&ended_later), None)).contains("terminated"));
        let running = Some("2020-05-22T08:45:00Z");
        assert!(why(judge(Some(&upload()), Some(&record()), running)).contains("still running"));
        let mut before = record();
        before.started_at = "2020-05-22T08:50:00Z".into();
        assert!(why(judge(Some(&upload()), Some(&before), None)).contains("before the session"));
    }
}
