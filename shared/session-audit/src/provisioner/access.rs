//! What the provisioner writes for sanctioned access beyond the user policy: the Session
//! documents of [`crate::access::Catalog`], the Change Calendar protected sessions must start
//! in, and the approval runbook with the role it acts as. Pure documents, checked by tests.

use serde_json::{json, Value};

use super::{Names, Place, Properties};
use crate::access::approval::{APPROVAL_MINUTES, APPROVED_FOR_TAG, APPROVE_STEP};
use crate::session::findings::BusinessHours;

/// The iCalendar property that carries the window as `ChangeWindow` wrote it (iCalendar allows
/// `X-` properties; Change Calendar ignores it), so a reader sees the intent in one line.
pub const WINDOW_PROPERTY: &str = "X-SESSION-AUDIT-WINDOW";

/// The Change Calendar (`DEFAULT_CLOSED`: protected instances are closed to sessions except in
/// the weekly window), as the iCalendar text Change Calendar documents hold.
pub fn change_calendar(window: &BusinessHours, window_text: &str, prefix: &str) -> String {
    const BYDAY: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];
    let days: Vec<&str> =
        window.days().iter().map(|d| BYDAY[d.to_monday_zero_offset() as usize]).collect();
    // The first day of the window on or after Monday 2026-01-05 anchors the recurrence.
    let first = window.days().first().map_or(0, |d| d.to_monday_zero_offset());
    let date = jiff::civil::date(2026, 1, 5 + first);
    let (start, end) = window.hours();
    let stamp =
        |t: jiff::civil::Time| format!("{}T{}", date.strftime("%Y%m%d"), t.strftime("%H%M%S"));
    let zone = window.zone_name();
    [
        "BEGIN:VCALENDAR".to_string(),
        "PRODID:-//AWS//Change Calendar 1.0//EN".into(),
        "VERSION:2.0".into(),
        "X-CALENDAR-TYPE:DEFAULT_CLOSED".into(),
        format!("X-WR-CALDESC:Session Audit ({prefix}): protected instances open for sessions only in this window"),
        format!("{WINDOW_PROPERTY}:{window_text}"),
        "BEGIN:VEVENT".into(),
        format!("UID:{prefix}-change-window@session-audit"),
        "DTSTAMP:20260101T000000Z".into(),
        format!("DTSTART;TZID={zone}:{}", stamp(start)),
        format!("DTEND;TZID={zone}:{}", stamp(end)),
        format!("RRULE:FREQ=WEEKLY;BYDAY={}", days.join(",")),
        "SUMMARY:Change window".into(),
        "END:VEVENT".into(),
        "END:VCALENDAR".into(),
    ]
    .join("\r\n")
        + "\r\n"
}

/// The window an iCalendar text of ours carries, if it is one.
pub fn calendar_window(content: &str) -> Option<&str> {
    content.lines().find_map(|l| l.trim_end().strip_prefix(WINDOW_PROPERTY)?.strip_prefix(':'))
}

/// Who may assume the approval role: Systems Manager Automation, for this account only.
pub fn approval_role_trust(place: &Place) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "ssm.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": place.account}}
        }]
    })
}

/// What the runbook does once approved: put and remove the one approval tag, on instances
/// that carry the access tag, and nothing else.
pub fn approval_role_policy(p: &Properties, place: &Place) -> Value {
    let instances =
        format!("arn:{}:ec2:{}:{}:instance/*", place.partition, place.region, place.account);
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "TagApprovedInstances",
            "Effect": "Allow",
            "Action": ["ec2:CreateTags", "ec2:DeleteTags"],
            "Resource": instances,
            "Condition": {
                "StringEquals": {format!("aws:ResourceTag/{}", p.access_tag_key): p.access_tag_value},
                "ForAllValues:StringEquals": {"aws:TagKeys": [APPROVED_FOR_TAG]}
            }
        }]
    })
}

/// The approval runbook: an approver the stack names (never the requester's choice: a
/// parameter would let anyone approve themselves) approves, the instance is tagged for the
/// requester for the approved minutes, then untagged.
pub fn approval_runbook(p: &Properties, n: &Names, place: &Place) -> Value {
    let role = format!("arn:{}:iam::{}:role/{}", place.partition, place.account, n.approval_role);
    let minutes: Vec<String> = APPROVAL_MINUTES.iter().map(u32::to_string).collect();
    json!({
        "schemaVersion": "0.3",
        "description": format!("Session Audit ({}): approve a session to a protected instance for a while", p.name_prefix),
        "assumeRole": role,
        "parameters": {
            "Requester": {"type": "String", "description": "Who will start the session: the IAM user name (${aws:username}) or role user ID (${aws:userid})", "allowedPattern": r"^[A-Za-z0-9+=,.@_:-]{1,128}$"},
            "InstanceId": {"type": "String", "description": "The protected instance", "allowedPattern": r"^(i|mi)-[0-9a-f]{8,17}$"},
            "Minutes": {"type": "String", "description": "How long the approval lasts", "allowedValues": minutes, "default": "60"},
            "Reason": {"type": "String", "description": "Why (a change or ticket reference)", "allowedPattern": r"^[^\r\n]{3,256}$"}
        },
        "mainSteps": [
            {
                "name": APPROVE_STEP,
                "action": "aws:approve",
                "timeoutSeconds": 3600,
                "onFailure": "Abort",
                "inputs": {
                    "Approvers": p.approvers,
                    "MinRequiredApprovals": 1,
                    "Message": "{{ Requester }} asks for {{ Minutes }} minutes of Session Manager access to {{ InstanceId }}: {{ Reason }}"
                }
            },
            {
                "name": "grant",
                "action": "aws:createTags",
                "onFailure": "Abort",
                "inputs": {"ResourceType": "EC2", "ResourceIds": ["{{ InstanceId }}"], "Tags": [{"Key": APPROVED_FOR_TAG, "Value": "{{ Requester }}"}]}
            },
            {
                "name": "wait",
                "action": "aws:sleep",
                "onFailure": "step:revoke",
                "onCancel": "step:revoke",
                "inputs": {"Duration": "PT{{ Minutes }}M"}
            },
            {
                "name": "revoke",
                "action": "aws:deleteTags",
                "inputs": {"ResourceType": "EC2", "ResourceIds": ["{{ InstanceId }}"], "TagKeys": [APPROVED_FOR_TAG]},
                "isEnd": true
            }
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn setup() -> (Properties, Names, Place) {
        let props = HashMap::from([(
            "Approvers".to_string(),
            Value::from("arn:aws:iam::123456789012:user/bob"),
        )]);
        let p = Properties::parse(&props).unwrap();
        let place = Place::from_stack_id("arn:aws:cloudformation:us-east-1:123456789012:stack/s/g")
            .unwrap();
        (p.clone(), Names::new(&p.name_prefix, &place), place)
    }

    #[test]
    fn the_calendar_opens_only_in_the_configured_window() {
        let text = "Sat,Sun 02:00-06:00 Europe/Berlin";
        let window = BusinessHours::parse(text).unwrap();
        let ics = change_calendar(&window, text, "sa");
        assert!(ics.contains("X-CALENDAR-TYPE:DEFAULT_CLOSED\r\n"));
        assert!(ics.contains("DTSTART;TZID=Europe/Berlin:20260110T020000\r\n"), "{ics}");
        assert!(ics.contains("DTEND;TZID=Europe/Berlin:20260110T060000\r\n"));
        assert!(ics.contains("RRULE:FREQ=WEEKLY;BYDAY=SA,SU\r\n"));
        assert_eq!(calendar_window(&ics), Some(text));
        assert_eq!(ics.matches("BEGIN:").count(), ics.matches("END:").count());
    }

    #[test]
    fn the_runbook_pins_its_approvers_and_only_tags() {
        let (p, n, place) = setup();
        let doc = approval_runbook(&p, &n, &place);
        assert_eq!(
            doc["mainSteps"][0]["inputs"]["Approvers"],
            json!(["arn:aws:iam::123456789012:user/bob"])
        );
        assert!(
            doc["parameters"].get("Approvers").is_none(),
            "a requester cannot name the approver"
        );
        assert_eq!(doc["mainSteps"][0]["action"], "aws:approve");
        assert_eq!(
            doc["mainSteps"][2]["onFailure"], "step:revoke",
            "the tag goes even when the wait fails"
        );
        let policy = approval_role_policy(&p, &place);
        assert_eq!(super::super::policies::actions(&policy), ["ec2:CreateTags", "ec2:DeleteTags"]);
        assert_eq!(
            policy["Statement"][0]["Condition"]["ForAllValues:StringEquals"]["aws:TagKeys"],
            json!([APPROVED_FOR_TAG])
        );
    }
}
