//! Small doubles for what moto lacks, answered by the harness proxy ([`crate::local_aws`]).
//!
//! * **CloudFormation's side of a custom resource.** moto completes its own stack operations at
//!   once and never shows a resource `*_IN_PROGRESS`, so a test (playing CloudFormation) says
//!   what CloudFormation would report while it has a request out
//!   ([`crate::local_aws::LocalAws::stack_resource`]) and the proxy answers
//!   `DescribeStackResource` with it, in the service's XML. A resource nobody registered gets
//!   CloudFormation's `ValidationError`.
//! * **CloudWatch Logs data-protection policies** (`PutDataProtectionPolicy`,
//!   `GetDataProtectionPolicy`), kept per log group and checked for the shape the service
//!   requires (an Audit and a Deidentify statement over the same identifiers). Masking itself
//!   is not emulated: what the stream carries reaches readers as sent.
//! * **Config's PutEvaluations** (moto implements it for `TestMode` only, keeping nothing): the
//!   proxy ([`crate::local_aws`]) keeps each request as sent and answers that none failed, so
//!   a test reads back exactly what the rule told Config. Config's own checks of a result
//!   token (that it belongs to the invocation) are not emulated.

use std::collections::BTreeMap;

/// What CloudFormation reports of one resource.
#[derive(Debug, Clone)]
pub struct Resource {
    pub resource_type: String,
    pub status: String,
    pub physical_id: Option<String>,
}

/// (stack ID, logical ID) -> what CloudFormation reports.
pub type Resources = BTreeMap<(String, String), Resource>;

/// Log group name -> its data-protection policy document.
pub type DataProtection = BTreeMap<String, String>;

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The answer to `DescribeStackResource` with the form parameters `params`: status and body.
pub fn describe_stack_resource(
    params: &BTreeMap<String, String>,
    resources: &Resources,
) -> (u16, String) {
    let stack = params.get("StackName").cloned().unwrap_or_default();
    let logical = params.get("LogicalResourceId").cloned().unwrap_or_default();
    let Some(r) = resources.get(&(stack.clone(), logical.clone())) else {
        let body = format!(
            "<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"><Error>\
             <Type>Sender</Type><Code>ValidationError</Code><Message>Resource {} does not exist \
             for stack {}</Message></Error><RequestId>double</RequestId></ErrorResponse>",
            xml_escape(&logical),
            xml_escape(&stack)
        );
        return (400, body);
    };
    let physical = r
        .physical_id
        .as_deref()
        .map(|p| format!("<PhysicalResourceId>{}</PhysicalResourceId>", xml_escape(p)))
        .unwrap_or_default();
    let body = format!(
        "<DescribeStackResourceResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">\
         <DescribeStackResourceResult><StackResourceDetail><StackId>{stack}</StackId>\
         <LogicalResourceId>{logical}</LogicalResourceId>{physical}\
         <ResourceType>{kind}</ResourceType>\
         <LastUpdatedTimestamp>2026-01-01T00:00:00Z</LastUpdatedTimestamp>\
         <ResourceStatus>{status}</ResourceStatus></StackResourceDetail>\
         </DescribeStackResourceResult><ResponseMetadata><RequestId>double</RequestId>\
         </ResponseMetadata></DescribeStackResourceResponse>",
        stack = xml_escape(&stack),
        logical = xml_escape(&logical),
        kind = xml_escape(&r.resource_type),
        status = xml_escape(&r.status),
    );
    (200, body)
}

/// The service's JSON error.
fn logs_error(code: &str, message: &str) -> (u16, String) {
    (400, serde_json::json!({"__type": code, "message": message}).to_string())
}

/// `PutDataProtectionPolicy` / `GetDataProtectionPolicy` with the JSON `body`.
pub fn data_protection(
    operation: &str,
    body: &serde_json::Value,
    policies: &mut DataProtection,
) -> (u16, String) {
    let group = body["logGroupIdentifier"].as_str().unwrap_or_default();
    let group = group.rsplit(":log-group:").next().unwrap_or(group).trim_end_matches(":*");
    let answer = |text: &str| {
        let answer = serde_json::json!({
            "logGroupIdentifier": group, "policyDocument": text, "lastUpdatedTime": 0
        });
        (200, answer.to_string())
    };
    if operation == "GetDataProtectionPolicy" {
        return match policies.get(group) {
            Some(text) => answer(text),
            None => logs_error("ResourceNotFoundException", "no data protection policy"),
        };
    }
    let text = body["policyDocument"].as_str().unwrap_or_default();
    let doc: serde_json::Value = match serde_json::from_str(text) {
        Ok(doc) => doc,
        Err(e) => return logs_error("InvalidParameterException", &e.to_string()),
    };
    let statements = doc["Statement"].as_array().cloned().unwrap_or_default();
    let has = |op: &str| statements.iter().any(|s| s["Operation"].get(op).is_some());
    let same = statements.windows(2).all(|w| w[0]["DataIdentifier"] == w[1]["DataIdentifier"]);
    if statements.len() != 2 || !has("Audit") || !has("Deidentify") || !same {
        let why = "the policy needs an Audit and a Deidentify statement over the same identifiers";
        return logs_error("InvalidParameterException", why);
    }
    policies.insert(group.to_string(), text.to_string());
    answer(text)
}

/// Change Calendar name -> its iCalendar text, kept from the CreateDocument and UpdateDocument
/// requests the proxy rewrote (see [`change_calendar_write`]).
pub type Calendars = BTreeMap<String, String>;

/// **Change Calendars.** moto refuses `DocumentFormat: TEXT`, which Change Calendar documents
/// must use: the proxy keeps the calendar's text and forwards the document to moto as JSON
/// (`{"schemaVersion": "2.0", "changeCalendar": text}`, the one key moto requires), so describing, tagging and deleting it are moto's; the new
/// body, or `None` when the request is not a calendar write.
pub fn change_calendar_write(
    operation: &str,
    body: &[u8],
    calendars: &mut Calendars,
) -> Option<Vec<u8>> {
    if operation != "CreateDocument" && operation != "UpdateDocument" {
        return None;
    }
    let mut asked: serde_json::Value = serde_json::from_slice(body).ok()?;
    let name = asked["Name"].as_str()?.to_string();
    if asked["DocumentFormat"] != "TEXT" {
        return None;
    }
    let text = asked["Content"].as_str()?.to_string();
    calendars.insert(name, text.clone());
    asked["DocumentFormat"] = "JSON".into();
    asked["Content"] =
        serde_json::json!({"schemaVersion": "2.0", "changeCalendar": text}).to_string().into();
    Some(asked.to_string().into_bytes())
}

/// `GetCalendarState` (moto lacks it), answered from the calendar text the stack wrote: OPEN
/// inside the window its `X-SESSION-AUDIT-WINDOW` line states (the same window its VEVENT
/// encodes, checked by the engine's tests), CLOSED outside it; `AtTime` defaults to now.
pub fn get_calendar_state(asked: &serde_json::Value, calendars: &Calendars) -> (u16, String) {
    use session_audit::provisioner::access::calendar_window;
    use session_audit::session::findings::BusinessHours;
    let name = asked["CalendarNames"][0].as_str().unwrap_or_default();
    let short = name.rsplit('/').next().unwrap_or(name);
    let Some(window) = calendars.get(short).and_then(|c| calendar_window(c)) else {
        let body = serde_json::json!({"__type": "InvalidDocument", "message": format!("calendar {name} not found")});
        return (400, body.to_string());
    };
    let at = asked["AtTime"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| jiff::Timestamp::now().to_string());
    let open = BusinessHours::parse(window).ok().and_then(|w| w.contains(&at));
    let state = if open == Some(true) { "OPEN" } else { "CLOSED" };
    (200, serde_json::json!({"State": state, "AtTime": at}).to_string())
}

/// **Automation executions of the approval runbook** (moto has no Automation): the test says
/// what SSM would show of each execution (its parameters and `approve` step) with
/// [`crate::local_aws::LocalAws::automation`]; `DescribeAutomationExecutions` lists those of
/// the document named by the `DocumentNamePrefix` filter, `GetAutomationExecution` returns one.
pub fn automation(
    operation: &str,
    asked: &serde_json::Value,
    executions: &[serde_json::Value],
) -> (u16, String) {
    if operation == "GetAutomationExecution" {
        let id = asked["AutomationExecutionId"].as_str().unwrap_or_default();
        return match executions.iter().find(|e| e["AutomationExecutionId"] == id) {
            Some(e) => (200, serde_json::json!({"AutomationExecution": e}).to_string()),
            None => (400, serde_json::json!({"__type": "AutomationExecutionNotFoundException", "message": id}).to_string()),
        };
    }
    let filters = asked["Filters"].as_array().cloned().unwrap_or_default();
    let prefix = filters
        .iter()
        .find(|f| f["Key"] == "DocumentNamePrefix")
        .and_then(|f| f["Values"][0].as_str())
        .unwrap_or_default()
        .to_string();
    let list: Vec<serde_json::Value> = executions
        .iter()
        .filter(|e| e["DocumentName"].as_str().is_some_and(|d| d.starts_with(&prefix)))
        .map(|e| {
            serde_json::json!({"AutomationExecutionId": e["AutomationExecutionId"], "DocumentName": e["DocumentName"],
                "AutomationExecutionStatus": e["AutomationExecutionStatus"], "ExecutionStartTime": e["ExecutionStartTime"]})
        })
        .collect();
    (200, serde_json::json!({"AutomationExecutionMetadataList": list}).to_string())
}
