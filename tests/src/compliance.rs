//! The pipeline's continuous-compliance and threat-detection steps: the config-rule function
//! judges the provisioned instance, a second instance left open the old way (SSH from anywhere,
//! IMDSv1, no profile, never registered with Systems Manager) and the preferences, as Config's
//! daily run would ask; then the guardduty-correlation function gets two GuardDuty findings as
//! EventBridge delivers them (the fixture's shape): one on the provisioned instance while
//! alice's session was open, one on the open instance, where no session ever ran.

use aws_sdk_ec2::types::{HttpTokensState, InstanceMetadataOptionsRequest, IpPermission, IpRange};
use jiff::{SignedDuration, Timestamp};
use serde_json::{json, Value};
use session_audit_aws::Clients;

use crate::local_aws::LocalAws;
use crate::runtime_api::{deployed_env, function_binary, LambdaProcess};

/// What the steps produced.
#[derive(Debug)]
pub struct ComplianceOutcome {
    /// The instance left open.
    pub open_instance: String,
    /// Every evaluation the rule put: `(resource, compliance, annotation)`.
    pub verdicts: Vec<(String, String, String)>,
    /// The correlation objects filed, in the order of the findings: on the provisioned
    /// instance, then on the open one.
    pub correlations: Vec<Value>,
}

/// A GuardDuty EC2 finding on `instance`, seen from `first` to `last`.
pub fn guardduty_event(id: &str, instance: &str, first: Timestamp, last: Timestamp) -> Value {
    let text = std::fs::read_to_string(crate::fixture("guardduty/ec2-finding.json")).unwrap();
    let mut e: Value = serde_json::from_str(&text).unwrap();
    let d = &mut e["detail"];
    d["id"] = json!(id);
    d["arn"] = json!(format!(
        "arn:aws:guardduty:us-east-1:123456789012:detector/123456789012345678901234567890ab/finding/{id}"
    ));
    d["resource"]["instanceDetails"]["instanceId"] = json!(instance);
    d["service"]["eventFirstSeen"] = json!(first.to_string());
    d["service"]["eventLastSeen"] = json!(last.to_string());
    e
}

/// An inbound rule: tcp `port` from `cidr`.
pub fn inbound(port: i32, cidr: &str) -> IpPermission {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(port)
        .to_port(port)
        .ip_ranges(IpRange::builder().cidr_ip(cidr).build())
        .build()
}

async fn open_instance(clients: &Clients) -> String {
    let sg = clients.ec2.create_security_group().group_name("legacy-ssh").description("ssh");
    let sg = sg.send().await.expect("group").group_id().unwrap().to_string();
    let ssh = inbound(22, "0.0.0.0/0");
    let ingress = clients.ec2.authorize_security_group_ingress().group_id(&sg).ip_permissions(ssh);
    ingress.send().await.expect("ingress");
    let imds = InstanceMetadataOptionsRequest::builder().http_tokens(HttpTokensState::Optional);
    let run = clients
        .ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .min_count(1)
        .max_count(1)
        .security_group_ids(sg)
        .metadata_options(imds.build())
        .send()
        .await
        .expect("instance");
    run.instances()[0].instance_id().unwrap().to_string()
}

/// Run both steps against the provisioned stack. `alice_open` is when alice's session ran.
pub async fn run(
    aws: &LocalAws,
    clients: &Clients,
    base_env: &[(&'static str, String)],
    bucket: &str,
    instance: &str,
    alice_open: Timestamp,
) -> ComplianceOutcome {
    // The provisioned instance's agent is online; the open one never registered.
    aws.registration_online_after(0);
    let open = open_instance(clients).await;
    aws.unmanaged(&open);
    let mut env = base_env.to_vec();
    env.push(("AUDIT_BUCKET", bucket.to_string()));
    let mut rule = LambdaProcess::start(
        &function_binary("config-rule"),
        &deployed_env(aws, "ConfigRuleFunction", env.clone(), &[]),
    );
    let daily = json!({"messageType": "ScheduledNotification", "awsAccountId": "123456789012",
        "notificationCreationTime": Timestamp::now().to_string()});
    let invocation = json!({"invokingEvent": daily.to_string(), "resultToken": "pipeline-daily",
        "eventLeftScope": false, "accountId": "123456789012",
        "configRuleName": "local-demo-session-manager-access-path"});
    rule.invoke(&invocation).expect("the Config rule answered");
    let verdicts = aws
        .evaluations()
        .iter()
        .flat_map(|r| r["Evaluations"].as_array().cloned().unwrap_or_default())
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            (text("ComplianceResourceId"), text("ComplianceType"), text("Annotation"))
        })
        .collect();

    // The activity is near alice's start; the window is a minute either side.
    env.push(("GUARDDUTY_WINDOW_MINUTES", "1".into()));
    let mut correlate = LambdaProcess::start(
        &function_binary("guardduty-correlation"),
        &deployed_env(aws, "GuardDutyCorrelationFunction", env, &[]),
    );
    let seen = alice_open + SignedDuration::from_secs(2);
    let findings = [
        guardduty_event("16afba5c5c43e07c9e3e5e2e544e95df", instance, seen, seen),
        guardduty_event("7d2c0b9e4f1a46c8a3e5b6d7c8e9f0a1", &open, seen, seen),
    ];
    let mut correlations = Vec::new();
    for finding in &findings {
        let answer = correlate.invoke(finding).expect("correlated");
        let key = answer["key"].as_str().expect("filed").to_string();
        let got = clients.s3.get_object().bucket(bucket).key(&key).send().await.expect("filed");
        let bytes = got.body.collect().await.expect("body").into_bytes();
        correlations.push(serde_json::from_slice(&bytes).expect("a correlation"));
    }
    drop((rule, correlate));
    ComplianceOutcome { open_instance: open, verdicts, correlations }
}
