//! What the start audit asks Systems Manager about a session to a protected instance: the
//! Change Calendar's state when it started (`ssm:GetCalendarState`), and the approval runbook's
//! executions that could have approved it (`ssm:DescribeAutomationExecutions`,
//! `ssm:GetAutomationExecution`). Each failure leaves its fact unknown, with a warning.

use std::time::Instant;

use aws_sdk_ssm::types::{AutomationExecutionFilter, AutomationExecutionFilterKey};

use super::lookups::Cache;
use crate::{AwsError, Clients};
use session_audit::access::approval::{
    judge, Run, Verdict, APPROVE_STEP, LONGEST_APPROVAL_MINUTES,
};
use session_audit::session::findings::{caller_names, StartConfig};
use session_audit::session::Event;

/// The most runbook executions read for one session (newest first).
const MAX_RUNS: usize = 20;

/// The calendar's state at the session's start (`OPEN`, `CLOSED`), cached by calendar and
/// minute: a burst of sessions in the same minute asks once.
pub(super) async fn calendar_state(
    clients: &Clients,
    cache: &Cache,
    config: &StartConfig,
    event: &Event,
) -> Result<Option<String>, String> {
    let Some(calendar) = &config.change_calendar else {
        return Ok(None);
    };
    let minute = event.event_time.get(..16).unwrap_or(&event.event_time).to_string();
    let key = (calendar.clone(), minute);
    if let Some(hit) = cache.fresh(cache.calendar_states.lock().expect("cache").get(&key)) {
        return Ok(hit);
    }
    let out = clients
        .ssm
        .get_calendar_state()
        .calendar_names(calendar)
        .at_time(&event.event_time)
        .send()
        .await
        .map_err(|e| {
            format!(
                "ssm:GetCalendarState {calendar}: {}: change window not checked",
                AwsError::from(e)
            )
        })?;
    let state = out.state().map(|s| s.as_str().to_string());
    cache.calendar_states.lock().expect("cache").insert(key, (Instant::now(), state.clone()));
    Ok(state)
}

/// The approval that covered the session, or why none did.
pub(super) async fn approval(
    clients: &Clients,
    config: &StartConfig,
    event: &Event,
) -> Result<Verdict, String> {
    let Some(runbook) = &config.approval_runbook else {
        return Ok(Verdict::Uncovered(
            "the stack names no approvers: protected instances have no approval runbook".into(),
        ));
    };
    let target = event.target.clone().unwrap_or_default();
    let warn = |op: &str, e: AwsError| format!("ssm:{op} {runbook}: {e}: approval not checked");
    // An approval starts at most its own length (plus the hour it may wait for a decision)
    // before the session.
    let since = event
        .event_time
        .parse::<jiff::Timestamp>()
        .ok()
        .and_then(|t| {
            t.checked_sub(jiff::SignedDuration::from_mins(i64::from(LONGEST_APPROVAL_MINUTES) + 60))
                .ok()
        })
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .ok_or_else(|| {
            format!("session time {:?} cannot be read: approval not checked", event.event_time)
        })?;
    let filter = |key, value: &str| {
        AutomationExecutionFilter::builder()
            .key(key)
            .values(value)
            .build()
            .map_err(|e| format!("{e}"))
    };
    let listed = clients
        .ssm
        .describe_automation_executions()
        .filters(filter(AutomationExecutionFilterKey::DocumentNamePrefix, runbook)?)
        .filters(filter(AutomationExecutionFilterKey::StartTimeAfter, &since)?)
        .max_results(50)
        .send()
        .await
        .map_err(|e| warn("DescribeAutomationExecutions", AwsError::from(e)))?;
    let mut metadata: Vec<_> = listed
        .automation_execution_metadata_list()
        .iter()
        .filter(|m| m.document_name() == Some(runbook.as_str()))
        .collect();
    metadata.sort_by_key(|m| std::cmp::Reverse(m.execution_start_time().map(|t| t.secs())));
    let mut runs = Vec::new();
    for m in metadata.into_iter().take(MAX_RUNS) {
        let Some(id) = m.automation_execution_id() else { continue };
        let out = clients
            .ssm
            .get_automation_execution()
            .automation_execution_id(id)
            .send()
            .await
            .map_err(|e| warn("GetAutomationExecution", AwsError::from(e)))?;
        let Some(execution) = out.automation_execution() else { continue };
        let step = execution.step_executions().iter().find(|s| s.step_name() == Some(APPROVE_STEP));
        let rfc3339 = |t: &aws_sdk_ssm::primitives::DateTime| {
            jiff::Timestamp::from_second(t.secs())
                .ok()
                .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        };
        runs.push(Run {
            execution_id: id.to_string(),
            parameters: execution.parameters().cloned().unwrap_or_default().into_iter().collect(),
            approve_status: step.and_then(|s| s.step_status()).map(|s| s.as_str().to_string()),
            approved_at: step.and_then(|s| s.execution_end_time()).and_then(rfc3339),
            approve_outputs: step
                .and_then(|s| s.outputs())
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .collect(),
        });
    }
    Ok(judge(&runs, &caller_names(event), &target, &event.event_time))
}
