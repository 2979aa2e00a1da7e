//! The pipeline's sanctioned-access step (issue 30): session-start, deployed with the stack's
//! documents, change window and approval runbook, audits a database port forward through the
//! stack's remote port-forwarding document, a parameterised task, a session with a document the
//! stack does not sanction, and three sessions to a protected instance: outside the change
//! window, inside it with an approval, inside it without one. Dated on fixed days (a Tuesday and
//! a Saturday of November 2026) so that the day's summary stays the pipeline's own.

use serde_json::{json, Value};
use session_audit::keys;
use session_audit_aws::Clients;

use crate::local_aws::LocalAws;
use crate::runtime_api::{deployed_env, function_binary, LambdaProcess};

/// What the step left: each session's name and its record as stored.
#[derive(Debug)]
pub struct SanctionedOutcome {
    pub protected_instance: String,
    pub records: Vec<(String, Value)>,
}

/// The properties the pipeline's Create adds for this step.
pub fn properties() -> [(&'static str, &'static str); 3] {
    [
        ("RemoteDestinations", "db.internal:5432"),
        ("Approvers", "arn:aws:iam::123456789012:user/approver"),
        ("TaskServices", "nginx"),
    ]
}

/// An instance with the access tag and `Protected=true`, as an administrator would tag one.
pub async fn protected_instance(clients: &Clients) -> String {
    use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
    let tags = TagSpecification::builder()
        .resource_type(ResourceType::Instance)
        .tags(Tag::builder().key("Purpose").value("SessionManagerTesting").build())
        .tags(Tag::builder().key("Protected").value("true").build())
        .tags(Tag::builder().key("Name").value("payments-db-admin").build())
        .build();
    let out = clients
        .ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .min_count(1)
        .max_count(1)
        .tag_specifications(tags)
        .send()
        .await
        .expect("the protected instance");
    out.instances()[0].instance_id().unwrap().to_string()
}

/// What the provisioner made that the step uses.
pub struct Provisioned<'a> {
    pub bucket: &'a str,
    pub prefix: &'a str,
    pub instance_id: &'a str,
    /// The Change Calendar (the Create's `ChangeCalendar`).
    pub calendar: &'a str,
}

/// Run the step; `say` prints a line of progress.
pub async fn run(
    aws: &LocalAws,
    clients: &Clients,
    base_env: &[(&'static str, String)],
    made: Provisioned<'_>,
    mut say: impl FnMut(String),
) -> SanctionedOutcome {
    let Provisioned { bucket, prefix, instance_id, calendar } = made;
    let protected = protected_instance(clients).await;
    let mut env = base_env.to_vec();
    for (k, v) in [
        ("AUDIT_BUCKET", bucket),
        ("REQUIRED_TAG", "Purpose=SessionManagerTesting"),
        ("DOCUMENT_PREFIX", prefix),
        ("PORT_FORWARD_PORTS", "80,443"),
        ("REMOTE_DESTINATIONS", "db.internal:5432"),
        ("TASK_SERVICES", "nginx"),
        ("PROTECTED_TAG", "Protected=true"),
        ("CHANGE_CALENDAR", calendar),
    ] {
        env.push((k, v.to_string()));
    }
    let runbook = format!("{prefix}-ApproveSession");
    env.push(("APPROVAL_RUNBOOK", runbook.clone()));
    let mut start = LambdaProcess::start(
        &function_binary("session-start"),
        &deployed_env(aws, "SessionStartFunction", env, &[]),
    );
    // What SSM shows of the approval runbook's run for heidi: approved by the approver at
    // 02:50 for an hour (moto has no Automation: the harness's double answers with it).
    let heidi = "arn:aws:sts::123456789012:assumed-role/Admin/heidi";
    aws.automation(json!({"AutomationExecutionId": "7e1c0000-0000-4000-8000-000000000001",
        "DocumentName": runbook, "AutomationExecutionStatus": "InProgress", "ExecutionStartTime": 1_795_833_600,
        "Parameters": {"Requester": [heidi], "InstanceId": [protected], "Minutes": ["60"], "Reason": ["CHG-1042 rotate the payments DB password"]},
        "StepExecutions": [{"StepName": "approve", "StepStatus": "Success", "ExecutionEndTime": 1_795_834_200,
            "Outputs": {"ApprovalStatus": ["Approved"], "ApproverDecisions": ["[{\"approver\":\"arn:aws:iam::123456789012:user/approver\"}]"]}}]}));
    let tuesday = "2026-11-24T09:00:00Z";
    let saturday = |m: u32| format!("2026-11-28T03:{m:02}:00Z");
    let at = |t: &str| t.parse::<jiff::Timestamp>().unwrap();
    let sessions: Vec<(&str, String, Value, &str, String)> = vec![
        (
            "erin",
            format!("{prefix}-RemotePortForward"),
            json!({"host": ["db.internal"], "portNumber": ["5432"], "localPortNumber": ["15432"]}),
            instance_id,
            tuesday.to_string(),
        ),
        (
            "frank",
            format!("{prefix}-RestartService"),
            json!({"service": ["nginx"]}),
            instance_id,
            tuesday.to_string(),
        ),
        (
            "judy",
            "AWS-StartPortForwardingSessionToRemoteHost".to_string(),
            json!({"host": ["10.0.9.9"], "portNumber": ["22"]}),
            instance_id,
            tuesday.to_string(),
        ),
        (
            "grace",
            "SSM-SessionManagerRunShell".to_string(),
            Value::Null,
            &protected,
            tuesday.to_string(),
        ),
        ("heidi", "SSM-SessionManagerRunShell".to_string(), Value::Null, &protected, saturday(0)),
        ("ivan", "SSM-SessionManagerRunShell".to_string(), Value::Null, &protected, saturday(10)),
    ];
    let mut records = Vec::new();
    for (n, (user, document, parameters, target, time)) in sessions.into_iter().enumerate() {
        let session_id = format!("{user}-0f1e2d3c4b5a69788");
        let event =
            crate::pipeline::cloudtrail(100 + n as u32, "StartSession", at(&time), user, |v| {
                let d = &mut v["detail"];
                d["requestParameters"] =
                    json!({"target": target, "documentName": document, "parameters": parameters});
                d["responseElements"]["sessionId"] = json!(session_id);
            });
        let answer =
            start.invoke(&event).unwrap_or_else(|e| panic!("session-start rejected {user}: {e}"));
        let key = keys::session_record(&time[..10], &crate::local_session(&session_id))
            .expect("a valid session ID");
        let stored =
            clients.s3.get_object().bucket(bucket).key(&key).send().await.expect("the record");
        let record: Value =
            serde_json::from_slice(&stored.body.collect().await.unwrap().into_bytes()).unwrap();
        let what = record["access"].as_str().map(|a| format!(" -> {a}")).unwrap_or_default();
        let approval = record["approval"]["approvers"][0]
            .as_str()
            .map(|a| format!(", approved by {a}"))
            .unwrap_or_default();
        let window = record["change_window"]
            .as_str()
            .map(|w| format!(", change window {w}"))
            .unwrap_or_default();
        say(format!(
            "{user}: {document} on {target}{what}{window}{approval}; findings {}",
            answer["audited"][0]["findings"]
        ));
        records.push((user.to_string(), record));
    }
    drop(start);
    SanctionedOutcome { protected_instance: protected, records }
}
