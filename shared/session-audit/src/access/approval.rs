//! Approvals for sessions to protected instances. The stack's approval runbook (an SSM
//! Automation document, see `provisioner::runbook`) waits in an `aws:approve` step for one of the
//! approvers the stack names, then tags the instance for the requester for the approved minutes
//! and removes the tag again. The start audit reads the runbook's executions and links each
//! protected session to the approval that covered it, or raises a finding.

use serde::{Deserialize, Serialize};

use super::schema::Parameters;

/// The tag the approval runbook puts on the instance: its value is the requester, as IAM's
/// `${aws:username}` or `${aws:userid}` names them, which the user policy compares.
pub const APPROVED_FOR_TAG: &str = "SessionAuditApprovedFor";
/// The name of the runbook's approval step.
pub const APPROVE_STEP: &str = "approve";
/// The longest approval the runbook grants, in minutes (also how far back the audit looks).
pub const LONGEST_APPROVAL_MINUTES: u32 = 480;
/// The approval lengths a requester may ask for.
pub const APPROVAL_MINUTES: [u32; 5] = [15, 30, 60, 120, 480];

/// One execution of the approval runbook, as the adapter read it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Run {
    /// The Automation execution ID.
    pub execution_id: String,
    /// Its parameters (`Requester`, `InstanceId`, `Minutes`, `Reason`).
    pub parameters: Parameters,
    /// The `approve` step: its status (`Success` once approved), when it ended, its outputs.
    pub approve_status: Option<String>,
    /// When the approve step ended (RFC 3339): the moment of approval.
    pub approved_at: Option<String>,
    /// The step's outputs (`ApprovalStatus`, `ApproverDecisions`), as SSM gives them.
    pub approve_outputs: Parameters,
}

/// The approval a session ran under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// The Automation execution that carried it.
    pub execution_id: String,
    /// Who asked (the runbook's `Requester`).
    pub requester: String,
    /// Who approved: the principal ARNs in the step's decisions (empty when SSM named none).
    pub approvers: Vec<String>,
    /// When it was approved.
    pub approved_at: String,
    /// For how long, in minutes.
    pub minutes: u32,
    /// The reason the requester gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Approval {
    /// When the approval ends (RFC 3339), or `None` if its start cannot be read.
    pub fn until(&self) -> Option<String> {
        let at: jiff::Timestamp = self.approved_at.parse().ok()?;
        let end = at.checked_add(jiff::SignedDuration::from_mins(i64::from(self.minutes))).ok()?;
        Some(end.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
    }
}

fn one(p: &Parameters, name: &str) -> Option<String> {
    p.get(name).and_then(|v| v.first()).map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Principal ARNs named anywhere in the approve step's decisions (their JSON shape is SSM's;
/// only the ARNs are relied on).
fn approvers(outputs: &Parameters) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for text in outputs.get("ApproverDecisions").into_iter().flatten() {
        for (i, _) in text.match_indices("arn:aws") {
            let arn: String = text[i..]
                .chars()
                .take_while(|c| !matches!(c, '"' | '\'' | ',' | ' ' | '}' | ']' | '\\'))
                .collect();
            if !out.contains(&arn) {
                out.push(arn);
            }
        }
    }
    out
}

/// Whether the runbook's `Requester` names the caller: an IAM user name, `${aws:userid}`
/// (`AROA…:session`), or any of the caller's names (`names`: ARN, principal, session, person).
pub fn names_caller(requester: &str, names: &[String]) -> bool {
    names.iter().any(|n| n == requester)
        || requester.split_once(':').is_some_and(|(id, session)| {
            id.starts_with("AROA") && names.iter().any(|n| n == session)
        })
}

/// What the audit found about a protected session's approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// An approval covered it.
    Covered(Approval),
    /// None did; why, in words (the closest miss, when there was one).
    Uncovered(String),
}

/// The approval among `runs` that covers a session by `names` on `instance` at `at` (RFC 3339):
/// approved (the step succeeded), for this requester and instance, at or before `at`, for long
/// enough, and not approved by the requester alone.
pub fn judge(runs: &[Run], names: &[String], instance: &str, at: &str) -> Verdict {
    let Ok(start) = at.parse::<jiff::Timestamp>() else {
        return Verdict::Uncovered(format!("the session time {at:?} cannot be read"));
    };
    let mut misses = Vec::new();
    for run in runs {
        let requester = one(&run.parameters, "Requester").unwrap_or_default();
        if one(&run.parameters, "InstanceId").as_deref() != Some(instance)
            || !names_caller(&requester, names)
        {
            continue;
        }
        let id = &run.execution_id;
        if run.approve_status.as_deref() != Some("Success") {
            misses.push(format!(
                "{id} was not approved ({})",
                run.approve_status.as_deref().unwrap_or("no decision")
            ));
            continue;
        }
        let minutes =
            one(&run.parameters, "Minutes").and_then(|m| m.parse::<u32>().ok()).unwrap_or(0);
        let approval = Approval {
            execution_id: id.clone(),
            requester: requester.clone(),
            approvers: approvers(&run.approve_outputs),
            approved_at: run.approved_at.clone().unwrap_or_default(),
            minutes: minutes.min(LONGEST_APPROVAL_MINUTES),
            reason: one(&run.parameters, "Reason"),
        };
        let (Ok(from), Some(until)) =
            (approval.approved_at.parse::<jiff::Timestamp>(), approval.until())
        else {
            misses.push(format!("{id}: the approval time cannot be read"));
            continue;
        };
        if start < from {
            misses.push(format!(
                "{id} was approved at {}, after the session started",
                approval.approved_at
            ));
        } else if until.parse::<jiff::Timestamp>().is_ok_and(|u| start >= u) {
            misses.push(format!("{id} expired at {until}"));
        } else if !approval.approvers.is_empty()
            && approval.approvers.iter().all(|a| names.contains(a))
        {
            misses.push(format!("{id} was approved by the requester alone"));
        } else {
            return Verdict::Covered(approval);
        }
    }
    Verdict::Uncovered(if misses.is_empty() {
        "no approval was requested for this instance by this principal".to_string()
    } else {
        misses.join("; ")
    })
}
