//! The whole pipeline on one machine, with no AWS account: the local emulator (moto) stands in
//! for AWS, and the nine functions run as their real binaries behind a Lambda Runtime API
//! double, so `main`, configuration and event decoding run exactly as in Lambda.
//!
//! Steps:
//! 1. start the emulator;
//! 2. the provisioner handles a CloudFormation Create (the response is captured where
//!    CloudFormation's presigned URL would be);
//! 3. session-start receives StartSession events as EventBridge delivers them (a normal session,
//!    a second shell, a port-forwarding session, a session whose transcript has not arrived
//!    yet, a denied attempt) and TerminateSessions;
//! 4. real-format transcripts (one with risky commands) are uploaded into the bucket the
//!    provisioner made and their `Object Created` events delivered to session-report;
//! 5. config-rule judges the instances and the preferences as Config's daily run asks, and
//!    guardduty-correlation ties two GuardDuty findings to the sessions on their instances
//!    ([`crate::compliance`]); access-summary summarises the day, those findings included;
//! 6. audit-digest, started before the sessions, extends its signed chain over them as hourly
//!    runs would, and `session-audit verify` checks the exported bucket offline
//!    ([`crate::digest_chain`]);
//! 7. lake-export files the digested reports as OCSF;
//! 8. the hub audits two accounts in two regions each and summarises the organization
//!    ([`crate::organization`]);
//! 9. the provisioner handles Delete and the audit data is shown to be kept.
//!
//! Used by `make demo` (src/bin/local-pipeline.rs) and by tests/tests/suite/pipeline.rs, which
//! asserts what it leaves behind.

use std::path::Path;
use std::time::Instant;

use aws_sdk_s3::primitives::ByteStream;
use jiff::{SignedDuration, Timestamp};
use serde_json::{json, Value};
use session_audit::keys;
use session_audit_aws::Clients;

use crate::findings_capture::{
    captured_events, captured_findings, route_findings_to_log, route_to_log, security_hub_findings,
    SECURITY_HUB_PRODUCT,
};
use crate::local_aws::LocalAws;
use crate::runtime_api::{deployed_env, emulator_env, function_binary, LambdaProcess};

use crate::template::STACK;

/// What a run produced, for the caller to print or check.
#[derive(Debug)]
pub struct Outcome {
    pub bucket: String,
    pub instance_id: String,
    pub create: Value,
    pub delete: Value,
    /// The session IDs started: alice (risky transcript), carol (clean transcript), bob (port
    /// forwarding), dave (no transcript yet).
    pub sessions: [String; 4],
    pub denied_event: String,
    pub day: String,
    pub report_keys: Vec<String>,
    /// alice's session streamed while it ran: what session-stream published, batch by batch.
    pub live: crate::live_stream::Streamed,
    pub summary_keys: Vec<String>,
    pub summary_markdown: String,
    pub summary: Value,
    /// The digest chain over the whole run, verified offline.
    pub chain: crate::digest_chain::ChainOutcome,
    /// Every finding event's `detail` EventBridge delivered.
    pub published: Vec<Value>,
    /// Every finding Security Hub holds (GetFindings), each valid ASFF.
    pub security_hub: Vec<Value>,
    /// lake-export's answer, and every OCSF Parquet object it wrote with its events read back.
    pub lake: (Value, Vec<(String, Vec<Value>)>),
    /// The Config rule's verdicts and the GuardDuty correlations.
    pub compliance: crate::compliance::ComplianceOutcome,
    /// The sanctioned-access step's records ([`crate::sanctioned_access`]).
    pub sanctioned: crate::sanctioned_access::SanctionedOutcome,
    /// The organization step's sessions and summary ([`crate::organization`]).
    pub organization: crate::organization::OrganizationOutcome,
    /// `audit/` objects still in the bucket after Delete.
    pub kept_after_delete: Vec<String>,
    pub seconds: f64,
    pub instance_state_after_delete: String,
}

fn fixture_json(name: &str) -> Value {
    let text = std::fs::read_to_string(crate::fixture(&format!("public/{name}"))).expect("fixture");
    serde_json::from_str(&text).expect("fixture JSON")
}

/// A request as CloudFormation sends it, with CloudFormation (the proxy's double) reporting the
/// resource in progress meanwhile, as the provisioner checks.
fn cfn_request(aws: &LocalAws, kind: &str, properties: &Value, physical: Option<&str>) -> Value {
    let status = if kind == "Create" { "CREATE_IN_PROGRESS" } else { "DELETE_IN_PROGRESS" };
    aws.stack_resource(STACK, "AccessPath", status, physical);
    let mut r = fixture_json(match kind {
        "Create" => "cfn_custom_resource_create-request.json",
        _ => "cfn_custom_resource_delete-request.json",
    });
    r["ResponseURL"] = json!(aws.response_url(&format!("local-pipeline-{kind}")));
    r["StackId"] = json!(STACK);
    r["RequestId"] = json!(format!("local-pipeline-{kind}"));
    r["LogicalResourceId"] = json!("AccessPath");
    r["ResourceType"] = json!("Custom::SessionAuditAccessPath");
    r["ResourceProperties"] = properties.clone();
    if let Some(p) = physical {
        r["PhysicalResourceId"] = json!(p);
    }
    r
}

/// A CloudTrail session call as EventBridge delivers it.
pub(crate) fn cloudtrail(
    n: u32,
    name: &str,
    at: Timestamp,
    user: &str,
    edit: impl FnOnce(&mut Value),
) -> Value {
    let mut v = fixture_json("eventbridge_cloudtrail_StartSession_AssumedRole_console.json");
    let time = at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    v["id"] = json!(format!("5e1f0000-0000-4000-8000-{n:012}"));
    v["time"] = json!(time);
    let d = &mut v["detail"];
    d["eventID"] = json!(format!("00000000-0000-4000-8000-{n:012}"));
    d["eventTime"] = json!(time);
    d["eventName"] = json!(name);
    d["awsRegion"] = json!("us-east-1");
    d["userIdentity"]["arn"] =
        json!(format!("arn:aws:sts::123456789012:assumed-role/Admin/{user}"));
    d["userIdentity"]["principalId"] = json!(format!("AROAIQ6OLWNLBIR3TTEGG:{user}"));
    d["userIdentity"]["sessionContext"]["attributes"]["mfaAuthenticated"] = json!("true");
    edit(&mut v);
    v
}

/// Print a progress line (stderr) and time the step.
struct Progress {
    step: u32,
    started: Instant,
    quiet: bool,
}

impl Progress {
    fn say(&mut self, what: &str) {
        self.step += 1;
        if !self.quiet {
            eprintln!("[{:>5.1}s] {}. {what}", self.started.elapsed().as_secs_f64(), self.step);
        }
    }
    fn detail(&self, what: &str) {
        if !self.quiet {
            eprintln!("          {what}");
        }
    }
}

/// Run the whole pipeline. `quiet` silences the progress lines (the test); `save` is a folder
/// that receives a copy of every `audit/` object (the emulator keeps nothing after the run).
pub async fn run(quiet: bool, save: Option<&Path>) -> Outcome {
    let mut p = Progress { step: 0, started: Instant::now(), quiet };
    p.say("starting the local AWS emulator (moto on 127.0.0.1) and building the nine functions");
    let aws = LocalAws::start();
    let binaries =
        ["provisioner", "session-start", "session-report", "session-stream", "access-summary"]
            .map(function_binary);
    let clients = Clients::with_path_style(&aws.sdk_config().await, true);
    let mut base_env = emulator_env(&aws);
    // The stack as deployed with SecurityHub=Enabled: every finding also imported as ASFF.
    base_env.push(("SECURITY_HUB_PRODUCT", SECURITY_HUB_PRODUCT.into()));
    route_findings_to_log(&clients).await;
    p.detail(&format!(
        "emulator at {}, functions in {}",
        aws.endpoint(),
        binaries[0].parent().unwrap().display()
    ));

    p.say(
        "provisioner: CloudFormation Create of the access path (real binary, Runtime API double)",
    );
    let mut env = base_env.clone();
    // The emulator treats every request as plain HTTP, so a TLS-only bucket policy would deny
    // all object calls: this documented switch leaves it out locally (never set in AWS).
    env.push(("SKIP_TLS_BUCKET_POLICY", "true".into()));
    env.push(("STACK_ID", STACK.into()));
    // Responses go only to CloudFormation's response bucket, and locally to the emulator's
    // response server: the documented switch, never set in AWS.
    env.push(("EMULATOR_RESPONSE_ORIGIN", aws.response_origin()));
    let mut provisioner = LambdaProcess::start(
        &binaries[0],
        &deployed_env(&aws, "ProvisionerFunction", env, &[("NamePrefix", "local-demo")]),
    );
    let mut properties = json!({"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provisioner",
        "NamePrefix": "local-demo", "RetainLogs": "true", "WaitForRegistration": "false"});
    for (k, v) in crate::sanctioned_access::properties() {
        properties[k] = json!(v);
    }
    // The hub of an organization: its bucket and key admit the member accounts' uploads.
    properties["OrganizationId"] = json!(crate::organization::ORGANIZATION);
    provisioner
        .invoke(&cfn_request(&aws, "Create", &properties, None))
        .expect("provisioner answered");
    let create: Value =
        serde_json::from_slice(&aws.responses().last().expect("a CloudFormation response").body)
            .unwrap();
    assert_eq!(create["Status"], "SUCCESS", "Create failed: {create}");
    let data = &create["Data"];
    let bucket = data["BucketName"].as_str().unwrap().to_string();
    let instance_id = data["InstanceId"].as_str().unwrap().to_string();
    let prefix = data["TranscriptPrefix"].as_str().unwrap_or("session-logs/").to_string();
    p.detail(&format!(
        "bucket {bucket}, log group {}, instance {instance_id}",
        data["LogGroupName"].as_str().unwrap_or("?")
    ));
    p.detail(&format!(
        "Session documents {}; Change Calendar {}",
        data["SessionDocuments"].as_str().unwrap_or("?"),
        data["ChangeCalendar"].as_str().unwrap_or("?")
    ));

    p.say("audit-digest: the signed chain starts (the stack's KMS signing key, the real binary)");
    let chain = crate::digest_chain::Chain::start(&aws, &clients, &base_env, &bucket).await;

    // Every event on today's UTC date, spaced over the last hour (or seconds after midnight).
    let now = Timestamp::now();
    let midnight = now
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .unwrap()
        .timestamp();
    let since_midnight = now.duration_since(midnight);
    let (base, step) = if since_midnight > SignedDuration::from_mins(70) {
        (now - SignedDuration::from_mins(60), SignedDuration::from_mins(8))
    } else {
        (midnight + SignedDuration::from_secs(1), SignedDuration::from_secs(5))
    };
    let at = |k: i64| base + step * k as i32;
    let day = base.to_zoned(jiff::tz::TimeZone::UTC).date().to_string();

    p.say("session-start: five StartSession calls, as EventBridge delivers CloudTrail events");
    let mut env = base_env.clone();
    env.push(("AUDIT_BUCKET", bucket.clone()));
    env.push(("REQUIRED_TAG", "Purpose=SessionManagerTesting".into()));
    env.push(("ALLOWED_REGIONS", crate::organization::ALLOWED_REGIONS.into()));
    let mut start =
        LambdaProcess::start(&binaries[1], &deployed_env(&aws, "SessionStartFunction", env, &[]));
    let sessions = ["alice", "carol", "bob", "dave"].map(|u| format!("{u}-0a1b2c3d4e5f60718"));
    let target = instance_id.clone();
    let events = [
        cloudtrail(1, "StartSession", at(0), "alice", |v| {
            v["detail"]["requestParameters"]["target"] = json!(target);
            v["detail"]["responseElements"]["sessionId"] = json!(sessions[0]);
        }),
        cloudtrail(2, "StartSession", at(1), "carol", |v| {
            v["detail"]["requestParameters"]["target"] = json!(target);
            v["detail"]["responseElements"]["sessionId"] = json!(sessions[1]);
        }),
        cloudtrail(3, "StartSession", at(2), "bob", |v| {
            v["detail"]["requestParameters"] = json!({"target": target, "documentName": "AWS-StartPortForwardingSession", "parameters": {"portNumber": ["5432"], "localPortNumber": ["15432"]}});
            v["detail"]["responseElements"]["sessionId"] = json!(sessions[2]);
        }),
        cloudtrail(4, "StartSession", at(3), "dave", |v| {
            v["detail"]["requestParameters"]["target"] = json!(target);
            v["detail"]["responseElements"]["sessionId"] = json!(sessions[3]);
        }),
        cloudtrail(5, "StartSession", at(3), "mallory", |v| {
            v["detail"]["requestParameters"]["target"] = json!(target);
            v["detail"]["errorCode"] = json!("AccessDenied");
            v["detail"]["errorMessage"] = json!("User: arn:aws:sts::123456789012:assumed-role/Admin/mallory is not authorized to perform: ssm:StartSession");
            v["detail"].as_object_mut().unwrap().remove("responseElements");
        }),
        cloudtrail(6, "TerminateSession", at(4), "alice", |v| {
            v["detail"]["requestParameters"] = json!({"sessionId": sessions[0]});
            v["detail"]["responseElements"] = json!({"sessionId": sessions[0]});
        }),
        cloudtrail(7, "TerminateSession", at(5), "carol", |v| {
            v["detail"]["requestParameters"] = json!({"sessionId": sessions[1]});
            v["detail"]["responseElements"] = json!({"sessionId": sessions[1]});
        }),
    ];
    let denied_event = events[4]["detail"]["eventID"].as_str().unwrap().to_string();
    let mut audit_start = |events: &[Value], p: &mut Progress| {
        for e in events {
            let answer =
                start.invoke(e).unwrap_or_else(|err| panic!("session-start rejected {e}: {err}"));
            let audited = &answer["audited"][0];
            let outcome = audited["outcome"].as_str().unwrap_or("?").replace('_', " ");
            p.detail(&format!(
                "{} by {} -> {}, findings {}",
                e["detail"]["eventName"].as_str().unwrap(),
                e["detail"]["userIdentity"]["arn"].as_str().unwrap().rsplit('/').next().unwrap(),
                outcome,
                audited["findings"]
            ));
        }
    };
    audit_start(&events[..5], &mut p);

    p.say("SSM Agent streams alice's session to CloudWatch Logs as it runs; session-stream gets each subscription batch");
    let log_group = data["LogGroupName"].as_str().expect("the log group").to_string();
    let mut env = base_env.clone();
    env.push(("AUDIT_BUCKET", bucket.clone()));
    let mut stream =
        LambdaProcess::start(&binaries[3], &deployed_env(&aws, "SessionStreamFunction", env, &[]));
    let transcript = std::fs::read(crate::fixture("recorded/al2023_sh_risky.log")).unwrap();
    let live = crate::live_stream::stream_session(
        &clients,
        &mut stream,
        &log_group,
        &sessions[0],
        &transcript,
        at(0),
    )
    .await;
    for (batch, finding) in &live.findings {
        p.detail(&format!("batch {batch} of {}: live finding {finding}", live.batches));
    }
    p.detail(&format!(
        "{} live findings while the session was open; batch 1 delivered again -> {}",
        live.findings.len(),
        live.redelivery["outcome"].as_str().unwrap_or("?")
    ));

    p.say("session-start: the two TerminateSessions");
    audit_start(&events[5..], &mut p);

    p.say("SSM Agent: transcripts uploaded at session end; session-report gets each Object Created event");
    let mut env = base_env.clone();
    env.push(("AUDIT_BUCKET", bucket.clone()));
    env.push(("TRANSCRIPT_PREFIX", prefix.clone()));
    env.push(("TRANSCRIPT_LOG_GROUP", log_group.clone()));
    env.push(("TMPDIR", std::env::temp_dir().display().to_string()));
    let mut report =
        LambdaProcess::start(&binaries[2], &deployed_env(&aws, "SessionReportFunction", env, &[]));
    // The template's rule for uploads (TranscriptUploaded in template.yaml), routed to a log
    // group: moto's EventBridge cannot invoke Lambda, so the pipeline reads each event there
    // and delivers it as the rule would. This also shows the provisioner turned on the bucket's
    // EventBridge notifications.
    let uploads = "/session-audit/local-pipeline/uploads";
    let pattern = json!({"source": ["aws.s3"], "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [bucket]}, "object": {"key": [{"prefix": prefix}]}}});
    route_to_log(&clients, "transcript-uploaded", &pattern, uploads).await;
    let mut report_keys = Vec::new();
    for (session, transcript) in [
        (&sessions[0], "recorded/al2023_sh_risky.log"),
        (&sessions[1], "recorded/al2023_sh_editing.log"),
    ] {
        let key = format!("{prefix}{session}.log");
        let body = std::fs::read(crate::fixture(transcript)).expect("transcript fixture");
        let size = body.len();
        let put = clients
            .s3
            .put_object()
            .bucket(&bucket)
            .key(&key)
            .body(ByteStream::from(body))
            .send()
            .await
            .expect("upload");
        let event = captured_events(&aws, uploads)
            .await
            .into_iter()
            .find(|e| e["detail"]["object"]["key"] == key.as_str())
            .unwrap_or_else(|| panic!("no Object Created event for {key} reached the rule"));
        assert_eq!(event["detail"]["object"]["size"], size, "{event}");
        assert_eq!(event["detail"]["object"]["version-id"].as_str(), put.version_id(), "{event}");
        let answer = report
            .invoke(&event)
            .unwrap_or_else(|err| panic!("session-report rejected {key}: {err}"));
        p.detail(&format!("{key} -> {}", answer["reported"][0]["outcome"].as_str().unwrap_or("?")));
        let at = crate::local_session(session);
        report_keys.push(keys::report(&day, &at, "json").expect("a valid session ID"));
        report_keys.push(keys::report(&day, &at, "md").expect("a valid session ID"));
    }

    p.say("config-rule: Config's daily run judges each instance (the stack's, and one left open the old way) and the preferences");
    let alice_open = at(0);
    let compliance =
        crate::compliance::run(&aws, &clients, &base_env, &bucket, &instance_id, alice_open).await;
    for (resource, verdict, why) in &compliance.verdicts {
        p.detail(&format!("{resource}: {verdict} ({why})"));
    }
    p.say("guardduty-correlation: two GuardDuty findings, one during alice's session, one on the open instance");
    for c in &compliance.correlations {
        let named: Vec<&str> = c["sessions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["session_id"].as_str())
            .collect();
        p.detail(&format!(
            "{} on {}: {}",
            c["finding"]["type"].as_str().unwrap_or("?"),
            c["finding"]["instance_id"].as_str().unwrap_or("?"),
            if named.is_empty() {
                "no Session Manager session there".to_string()
            } else {
                format!("sessions {}", named.join(", "))
            }
        ));
    }

    p.say("session-start with the stack's documents, change window and approvals: a DB port forward, a task, an unsanctioned document, three sessions to a protected instance");
    let calendar = data["ChangeCalendar"].as_str().unwrap_or_default().to_string();
    let sanctioned = crate::sanctioned_access::run(
        &aws,
        &clients,
        &base_env,
        crate::sanctioned_access::Provisioned {
            bucket: &bucket,
            prefix: "local-demo",
            instance_id: &instance_id,
            calendar: &calendar,
        },
        |line| p.detail(&line),
    )
    .await;

    p.say(&format!("access-summary: the daily summary of {day}"));
    let mut env = base_env.clone();
    env.push(("AUDIT_BUCKET", bucket.clone()));
    let mut summary_fn =
        LambdaProcess::start(&binaries[4], &deployed_env(&aws, "AccessSummaryFunction", env, &[]));
    let answer =
        summary_fn.invoke(&json!({"kind": "daily", "period": day})).expect("summary written");
    let summary_keys: Vec<String> = ["json", "md", "html"]
        .iter()
        .map(|k| answer[*k].as_str().unwrap_or_default().to_string())
        .collect();
    let get = |key: String| {
        let s3 = clients.s3.clone();
        let bucket = bucket.clone();
        async move {
            s3.get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .ok()?
                .body
                .collect()
                .await
                .ok()
                .map(|b| b.into_bytes().to_vec())
        }
    };
    let summary_markdown =
        String::from_utf8(get(summary_keys[1].clone()).await.expect("summary Markdown")).unwrap();
    let summary: Value =
        serde_json::from_slice(&get(summary_keys[0].clone()).await.expect("summary JSON")).unwrap();

    p.say("audit-digest: three hours later, every version since digested, signed and verified offline");
    let export = std::env::temp_dir().join(format!("digest-export-{}", std::process::id()));
    let chain = chain.extend_and_verify(&clients, 3, &export).await;
    let _ = std::fs::remove_dir_all(&export);
    p.detail(&format!(
        "{} digests; session-audit verify: exit {} (ok: {}), after editing a report: exit {}",
        chain.verify.0["digests"].as_array().map_or(0, Vec::len),
        chain.verify.1,
        chain.verify.0["ok"],
        chain.tampered.1
    ));

    p.say("lake-export: the digested hours' reports as OCSF events, Parquet in Security Lake's layout (no Security Lake here: the log bucket's ocsf/)");
    let mut env = base_env.clone();
    env.push(("AUDIT_BUCKET", bucket.clone()));
    let mut lake_fn = LambdaProcess::start(
        &function_binary("lake-export"),
        &deployed_env(&aws, "LakeExportFunction", env, &[]),
    );
    let lake_answer = lake_fn.invoke(&json!({})).expect("lake export");
    let mut lake = Vec::new();
    let listed = clients.s3.list_objects_v2().bucket(&bucket).prefix("ocsf/").send().await;
    for key in listed.expect("ocsf/ listed").contents().iter().filter_map(|o| o.key()) {
        let bytes = get(key.to_string()).await.expect("a Parquet object");
        let events = session_audit_lake::decode(bytes).expect("Parquet that reads back");
        lake.push((key.to_string(), events));
    }
    p.detail(&format!(
        "{} OCSF events in {} Parquet objects ({} report versions from {} digested hours)",
        lake.iter().map(|(_, e)| e.len()).sum::<usize>(),
        lake.len(),
        lake_answer["reports"],
        lake_answer["hours"].as_array().map_or(0, Vec::len),
    ));

    let published = captured_findings(&aws).await;
    let security_hub = security_hub_findings(&aws).await;
    let imports = aws.operations().iter().filter(|o| *o == "BatchImportFindings").count();
    p.say("where the findings went");
    p.detail(&format!(
        "{} finding events on EventBridge (source session-audit); {} findings in Security Hub \
         (ASFF, {imports} BatchImportFindings calls; re-imports update, never duplicate)",
        published.len(),
        security_hub.len()
    ));

    p.say(&format!(
        "the hub of organization {}: sessions of two accounts in two regions each, and one \
         outside AllowedRegions ({}), on {}",
        crate::organization::ORGANIZATION,
        crate::organization::ALLOWED_REGIONS,
        crate::organization::DAY
    ));
    let hub = crate::organization::Hub {
        aws: &aws,
        clients: &clients,
        bucket: &bucket,
        prefix: &prefix,
        instance_id: &instance_id,
        start: &mut start,
        report: &mut report,
        summary: &mut summary_fn,
    };
    let organization = crate::organization::run(hub, |line| p.detail(&line)).await;

    p.say("provisioner: CloudFormation Delete (RetainLogs=true keeps the audit trail)");
    let physical = create["PhysicalResourceId"].as_str().unwrap().to_string();
    provisioner
        .invoke(&cfn_request(&aws, "Delete", &properties, Some(&physical)))
        .expect("provisioner answered");
    let delete: Value = serde_json::from_slice(&aws.responses().last().unwrap().body).unwrap();
    assert_eq!(delete["Status"], "SUCCESS", "Delete failed: {delete}");
    let listed = clients
        .s3
        .list_objects_v2()
        .bucket(&bucket)
        .prefix("audit/")
        .send()
        .await
        .expect("the bucket is kept");
    let kept_after_delete: Vec<String> =
        listed.contents().iter().filter_map(|o| o.key().map(str::to_string)).collect();
    let described =
        clients.ec2.describe_instances().instance_ids(&instance_id).send().await.expect("describe");
    let instance_state_after_delete = described
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .filter_map(|i| i.state().and_then(|s| s.name()).map(|n| n.as_str().to_string()))
        .next()
        .unwrap_or_else(|| "gone".into());
    p.detail(&format!("instance {instance_id}: {instance_state_after_delete}; bucket {bucket}: {} audit objects kept", kept_after_delete.len()));
    if let Some(dir) = save {
        let _ = std::fs::remove_dir_all(dir);
        for key in &kept_after_delete {
            let path = dir.join(key);
            std::fs::create_dir_all(path.parent().unwrap()).expect("output folder");
            std::fs::write(&path, get(key.clone()).await.expect("kept object")).expect("copy");
        }
    }
    drop((provisioner, start, stream, report, summary_fn, lake_fn));
    drop(aws);
    Outcome {
        bucket,
        instance_id,
        create,
        delete,
        sessions,
        denied_event,
        day,
        report_keys,
        live,
        summary_keys,
        summary_markdown,
        summary,
        chain,
        published,
        security_hub,
        lake: (lake_answer, lake),
        compliance,
        sanctioned,
        organization,
        kept_after_delete,
        instance_state_after_delete,
        seconds: p.started.elapsed().as_secs_f64(),
    }
}
