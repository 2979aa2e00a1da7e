//! A change to an account-region's Session Manager preferences (the `SSM-SessionManagerRunShell`
//! document), as CloudTrail records it and the spokes forward it: who changed them, how, and
//! whether they still send every transcript where the hub reads that place's.
//!
//! The hub's own preferences are checked at every StartSession and by the Config rule, where
//! the hub can read them; a spoke's live in another account or region, so the change event is
//! what the hub hears of. Judged from the event alone:
//! - `DeleteDocument`: drifted (Session Manager falls back to its defaults: no transcript).
//! - The new content in the event: judged as the hub judges its own ([`check_preferences`]),
//!   with the place's transcript folder as the prefix its spoke sets.
//! - No content (a default-version switch, or CloudTrail did not carry it): made by
//!   CloudFormation (the StackSet that manages the spoke) is unverified; made by anyone else it
//!   is drift from the managed preferences, whatever the content.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::findings::{check_preferences, StartConfig};
use super::{is_cloudtrail_event_id, normalise_time, text, Identity, DEFAULT_DOCUMENT};
use crate::finding::Finding;
use crate::keys::{BadId, Place};

/// The `schema` of a preferences-change record.
pub const PREFERENCES_SCHEMA: &str = "session-audit/preferences/v1";

/// The calls that change what the preferences document says.
pub const PREFERENCE_CALLS: [&str; 4] =
    ["CreateDocument", "UpdateDocument", "UpdateDocumentDefaultVersion", "DeleteDocument"];

/// Set by AWS (never by the caller) on the calls CloudFormation makes for a stack.
const CLOUDFORMATION: &str = "cloudformation.amazonaws.com";

/// What the change did to the place's audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", content = "why", rename_all = "snake_case")]
pub enum Verdict {
    /// The new preferences still send every transcript where the hub reads it.
    Conforms,
    /// They do not, or were changed outside the stack that manages them: why.
    Drifted(String),
    /// Made by CloudFormation, but the event does not carry the content: why not checked.
    Unverified(String),
}

/// One change to a place's preferences, judged: `audit/preferences/dt=<day>/<place>/<eventID>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreferencesChange {
    /// [`PREFERENCES_SCHEMA`].
    pub schema: String,
    /// CloudTrail's `eventID`.
    pub event_id: String,
    /// When the call was made (RFC 3339 UTC).
    pub event_time: String,
    /// `CreateDocument`, `UpdateDocument`, `UpdateDocumentDefaultVersion` or `DeleteDocument`.
    pub call: String,
    /// The account the preferences belong to.
    pub account: String,
    /// Their region.
    pub region: String,
    /// Who made the call.
    pub identity: Identity,
    /// The version made default (`UpdateDocumentDefaultVersion`) or updated from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_version: Option<String>,
    /// The judgement.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// SA-SES-PREFERENCES-DRIFT when drifted.
    pub findings: Vec<Finding>,
    /// Whether the findings were published.
    pub findings_sent: bool,
}

impl PreferencesChange {
    /// Where the change is filed.
    pub fn place(&self) -> Result<Place, BadId> {
        Place::new(&self.account, &self.region)
    }

    /// Its key: under its day and place, by event ID.
    pub fn key(&self) -> Result<String, BadId> {
        crate::keys::preferences_change(self.date(), &self.place()?, &self.event_id)
    }

    /// The day of the call (`YYYY-MM-DD`).
    pub fn date(&self) -> &str {
        self.event_time.get(..10).unwrap_or("unknown")
    }

    /// Who, in words: the person where known, else the principal.
    pub fn who(&self) -> &str {
        self.identity.person.as_deref().unwrap_or(&self.identity.principal)
    }
}

/// Whether `record` is a successful call that changed `SSM-SessionManagerRunShell` (a refused
/// one, with an `errorCode`, changed nothing).
pub fn is_preferences_change(record: &Value) -> bool {
    text(record, "/errorCode").is_none()
        && text(record, "/eventSource").as_deref() == Some("ssm.amazonaws.com")
        && text(record, "/eventName").is_some_and(|n| PREFERENCE_CALLS.contains(&n.as_str()))
        && text(record, "/requestParameters/name").as_deref() == Some(DEFAULT_DOCUMENT)
}

/// Read and judge a change ([`is_preferences_change`]): `config` is the hub's, `home` its own
/// place (whose transcripts sit directly under the prefix). Unjudged: `findings` is empty and
/// the caller adds them for a drift. `Err` says why the record cannot be filed.
pub fn judge(
    record: &Value,
    envelope_account: Option<String>,
    config: &StartConfig,
    home: Option<&Place>,
) -> Result<PreferencesChange, String> {
    let event_id = text(record, "/eventID").ok_or("no eventID")?;
    if !is_cloudtrail_event_id(&event_id) {
        return Err(format!("eventID {event_id:?} is not a CloudTrail event ID (a UUID)"));
    }
    let time = text(record, "/eventTime").ok_or_else(|| format!("{event_id}: no eventTime"))?;
    let event_time = normalise_time(&time)
        .ok_or_else(|| format!("{event_id}: eventTime {time:?} is not a time"))?;
    let identity = Identity::from_cloudtrail(record);
    let account = text(record, "/recipientAccountId")
        .or(envelope_account)
        .or(identity.account.clone())
        .unwrap_or_default();
    let region = text(record, "/awsRegion").unwrap_or_default();
    let place = Place::new(&account, &region).map_err(|e| format!("{event_id}: {e}"))?;
    let call = text(record, "/eventName").unwrap_or_default();
    let request = record.get("requestParameters").cloned().unwrap_or(Value::Null);
    let by_cloudformation = text(record, "/userIdentity/invokedBy").as_deref()
        == Some(CLOUDFORMATION)
        || text(record, "/sourceIPAddress").as_deref() == Some(CLOUDFORMATION);
    let mut expected = config.clone();
    if home != Some(&place) {
        let prefix = config.transcript_prefix.trim_end_matches('/');
        let prefix = if prefix.is_empty() { String::new() } else { format!("{prefix}/") };
        expected.transcript_prefix = format!("{prefix}{}", place.transcript_folder());
    }
    let verdict =
        verdict(&call, content(&request).as_ref(), by_cloudformation, &identity, &expected);
    Ok(PreferencesChange {
        schema: PREFERENCES_SCHEMA.into(),
        event_id,
        event_time,
        call,
        account,
        region,
        document_version: text(&request, "/documentVersion"),
        identity,
        verdict,
        findings: Vec::new(),
        findings_sent: false,
    })
}

/// The new content the event carries (JSON text or an object), if it reads as JSON.
fn content(request: &Value) -> Option<Value> {
    match request.get("content")? {
        Value::String(s) => serde_json::from_str::<Value>(s).ok().filter(Value::is_object),
        v @ Value::Object(_) => Some(v.clone()),
        _ => None,
    }
}

fn verdict(
    call: &str,
    content: Option<&Value>,
    by_cloudformation: bool,
    identity: &Identity,
    expected: &StartConfig,
) -> Verdict {
    if call == "DeleteDocument" {
        return Verdict::Drifted(
            "the preferences document was deleted: Session Manager runs on its defaults and \
             keeps no transcript"
                .into(),
        );
    }
    if let (Some(content), "CreateDocument" | "UpdateDocument") = (content, call) {
        return match check_preferences(content, expected) {
            Ok(()) => Verdict::Conforms,
            Err(drift) => Verdict::Drifted(drift.0),
        };
    }
    let what = match call {
        "UpdateDocumentDefaultVersion" => "another version made the default",
        _ => "the event does not carry the new content",
    };
    if by_cloudformation {
        Verdict::Unverified(format!("changed through CloudFormation ({what}): not checked"))
    } else {
        let who = identity.arn.as_deref().unwrap_or(&identity.principal);
        Verdict::Drifted(format!(
            "changed by {who} outside CloudFormation, which manages these preferences ({what})"
        ))
    }
}

#[cfg(test)]
mod tests;
