//! The provisioning custom resource against the local emulator (moto), through the same
//! request handling and response path the Lambda uses.

use std::collections::HashMap;
use std::time::Duration;

use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest as Request;
use serde_json::{json, Value};
use session_audit::provisioner::policies;
use session_audit::provisioner::{Names, Place, Properties, PREFERENCES_DOCUMENT};
use session_audit_aws::custom_resource::{respond_always, ResponseHosts, MAX_RESPONSE_BYTES};
use session_audit_aws::provisioner::{handle_request, physical_id, Options};
use session_audit_aws::Clients;
use session_audit_tests::local_aws::LocalAws;
use session_audit_tests::template::STACK;

fn public_fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(session_audit_tests::fixture(&format!("public/{name}")))
        .expect("fixture");
    serde_json::from_str(&text).expect("fixture json")
}

struct Env {
    aws: LocalAws,
    config: aws_config::SdkConfig,
    clients: Clients,
    http: reqwest::Client,
    hosts: ResponseHosts,
    options: Options,
    n: u32,
}

/// What CloudFormation reports of the resource while it has `request` out.
fn in_progress(request: &Request) -> &'static str {
    match request {
        Request::Create(_) => "CREATE_IN_PROGRESS",
        Request::Update(_) => "UPDATE_IN_PROGRESS",
        _ => "DELETE_IN_PROGRESS",
    }
}

impl Env {
    async fn start() -> Env {
        let aws = LocalAws::start();
        let config = aws.sdk_config().await;
        let clients = Clients::with_path_style(&config, true);
        let options = Options {
            // The emulator's policy evaluation would deny every object call under a TLS-only
            // policy: the documented switch the local setup uses. One test checks the policy.
            stack_id: Some(STACK.into()),
            tls_policy_allowed: false,
            poll_interval: Duration::from_millis(50),
            profile_propagation: Duration::from_secs(2),
        };
        // The emulator's response server is the one origin besides CloudFormation's bucket
        // (the documented EMULATOR_RESPONSE_ORIGIN switch).
        let hosts = ResponseHosts::new("us-east-1", Some(aws.response_origin()));
        Env { aws, config, clients, http: reqwest::Client::new(), hosts, options, n: 0 }
    }

    /// A request shaped like the public fixture, aimed at this emulator.
    fn request(
        &mut self,
        kind: &str,
        props: Value,
        physical: Option<&str>,
        old: Option<Value>,
    ) -> Request {
        self.n += 1;
        let mut r = public_fixture(match kind {
            "Create" => "cfn_custom_resource_create-request.json",
            "Update" => "cfn_custom_resource_update-request.json",
            _ => "cfn_custom_resource_delete-request.json",
        });
        r["ResponseURL"] = json!(self.aws.response_url(&format!("{kind}-{}", self.n)));
        r["StackId"] = json!(STACK);
        r["RequestId"] = json!(format!("req-{kind}-{}", self.n));
        r["ResourceProperties"] = props;
        if let Some(p) = physical {
            r["PhysicalResourceId"] = json!(p);
        }
        if let Some(o) = old {
            r["OldResourceProperties"] = o;
        }
        serde_json::from_value(r).expect("request")
    }

    /// Run a request as the Lambda does, with CloudFormation reporting the resource in
    /// progress as it does for requests it sent, and return the response it received.
    async fn run(&self, request: Request) -> Value {
        let asked = serde_json::to_value(&request).unwrap();
        let held = asked["PhysicalResourceId"].as_str().map(str::to_string);
        let status = in_progress(&request);
        self.run_while(request, status, held.as_deref()).await
    }

    /// Send `request` as the Lambda does, with CloudFormation reporting the resource as
    /// `status` holding the physical ID `held`: what sending the response gave.
    async fn serve(
        &self,
        request: Request,
        status: &str,
        held: Option<&str>,
    ) -> Result<(), String> {
        let asked = serde_json::to_value(&request).unwrap();
        let (stack, logical) = (asked["StackId"].as_str(), asked["LogicalResourceId"].as_str());
        self.aws.stack_resource(stack.unwrap(), logical.unwrap(), status, held);
        // The provisioner's policy is scoped to the stack's NamePrefix.
        let prefix = asked["ResourceProperties"]["NamePrefix"].as_str().unwrap_or("session-audit");
        let token = self.aws.deploy("ProvisionerFunction", &[], &[("NamePrefix", prefix)]);
        let config = LocalAws::config_as(&self.config, &token);
        let clients = Clients::with_path_style(&config, true);
        let cloudformation = aws_sdk_cloudformation::Client::new(&config);
        let options = self.options.clone();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
        let (_, _, sent) = respond_always(request, deadline, &self.http, &self.hosts, move |r| {
            handle_request(r, clients, cloudformation, options)
        })
        .await;
        sent
    }

    /// [`Env::run`] with CloudFormation reporting the resource as `status` holding `held`.
    async fn run_while(&self, request: Request, status: &str, held: Option<&str>) -> Value {
        let before = self.aws.responses().len();
        self.serve(request, status, held).await.expect("response delivered");
        let responses = self.aws.responses();
        assert_eq!(responses.len(), before + 1, "exactly one response per request");
        let captured = responses.last().unwrap();
        assert_eq!(
            captured.content_type.as_deref(),
            Some(""),
            "presigned URL needs an empty Content-Type"
        );
        assert!(captured.body.len() <= MAX_RESPONSE_BYTES);
        let body: Value = serde_json::from_slice(&captured.body).expect("response JSON");
        for field in ["Status", "PhysicalResourceId", "StackId", "RequestId", "LogicalResourceId"] {
            assert!(body.get(field).is_some(), "response lacks {field}: {body}");
        }
        body
    }

    fn names(&self, prefix: &str) -> (Names, Place) {
        let place = Place::from_stack_id(STACK).unwrap();
        (Names::new(prefix, &place), place)
    }
}

fn props(pairs: &[(&str, &str)]) -> Value {
    let mut m = serde_json::Map::new();
    m.insert(
        "ServiceToken".into(),
        json!("arn:aws:lambda:us-east-1:123456789012:function:provisioner"),
    );
    m.insert("NamePrefix".into(), json!("sa-test"));
    for (k, v) in pairs {
        m.insert(k.to_string(), json!(v));
    }
    Value::Object(m)
}

/// IAM returns policy documents URL-encoded.
fn policy_json(encoded: &str) -> Value {
    serde_json::from_str(&urlencoding::decode(encoded).unwrap()).unwrap()
}

/// The user policy's default version, as JSON.
async fn default_user_policy(c: &Clients, n: &Names, place: &Place) -> Value {
    let arn = n.user_policy_arn(place);
    let policy = c.iam.get_policy().policy_arn(&arn).send().await.unwrap();
    let version = policy.policy().unwrap().default_version_id().unwrap().to_string();
    let doc =
        c.iam.get_policy_version().policy_arn(&arn).version_id(&version).send().await.unwrap();
    policy_json(doc.policy_version().unwrap().document().unwrap())
}

async fn live_instances(c: &Clients) -> Vec<aws_sdk_ec2::types::Instance> {
    let out = c.ec2.describe_instances().send().await.unwrap();
    out.reservations()
        .iter()
        .flat_map(|r| r.instances().iter().cloned())
        .filter(|i| i.state().and_then(|s| s.name()).map(|n| n.as_str()) != Some("terminated"))
        .collect()
}

/// Keys the provisioner made (EBS encryption makes the emulator create its own default key).
async fn customer_keys(c: &Clients) -> Vec<aws_sdk_kms::types::KeyMetadata> {
    let mut out = Vec::new();
    for k in c.kms.list_keys().send().await.unwrap().keys() {
        let id = k.key_id().unwrap();
        let tags = c.kms.list_resource_tags().key_id(id).send().await.unwrap();
        if tags.tags().iter().any(|t| t.tag_key() == session_audit_aws::provisioner::TAG_RESOURCE) {
            let meta = c.kms.describe_key().key_id(id).send().await.unwrap();
            out.push(meta.key_metadata().unwrap().clone());
        }
    }
    out
}

async fn document_json(c: &Clients, version: Option<&str>) -> Option<Value> {
    let mut get = c.ssm.get_document().name(PREFERENCES_DOCUMENT);
    if let Some(v) = version {
        get = get.document_version(v);
    }
    let out = get.send().await.ok()?;
    serde_json::from_str(out.content()?).ok()
}

/// Nothing the provisioner makes is left (audit data included, for failed Creates).
async fn assert_nothing_left(env: &Env, context: &str) {
    let c = &env.clients;
    let (n, place) = env.names("sa-test");
    assert!(c.s3.head_bucket().bucket(&n.bucket).send().await.is_err(), "{context}: bucket left");
    assert!(c.iam.get_role().role_name(&n.role).send().await.is_err(), "{context}: role left");
    assert!(
        c.iam
            .get_instance_profile()
            .instance_profile_name(&n.instance_profile)
            .send()
            .await
            .is_err(),
        "{context}: profile left"
    );
    assert!(
        c.iam.get_policy().policy_arn(n.user_policy_arn(&place)).send().await.is_err(),
        "{context}: user policy left"
    );
    let groups =
        c.logs.describe_log_groups().log_group_name_prefix(&n.log_group).send().await.unwrap();
    assert!(groups.log_groups().is_empty(), "{context}: log group left");
    assert!(live_instances(c).await.is_empty(), "{context}: instance left");
    let sgs = c.ec2.describe_security_groups().send().await.unwrap();
    assert!(
        !sgs.security_groups().iter().any(|g| g.group_name() == Some(n.security_group.as_str())),
        "{context}: security group left"
    );
    assert!(
        c.kms.describe_key().key_id(&n.key_alias).send().await.is_err(),
        "{context}: key alias left"
    );
    for meta in customer_keys(c).await {
        let state = meta.key_state().unwrap().as_str().to_string();
        assert_eq!(state, "PendingDeletion", "{context}: a live key is left");
    }
    assert!(document_json(c, None).await.is_none(), "{context}: preferences document left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_update_delete_lifecycle_checked_through_the_api() {
    let mut env = Env::start().await;
    let c = env.clients.clone();
    let (n, place) = env.names("sa-test");

    // --- Create ---
    let create = env.request("Create", props(&[]), None, None);
    let response = env.run(create).await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    let physical = response["PhysicalResourceId"].as_str().unwrap().to_string();
    assert_eq!(physical, physical_id(&place, "sa-test"));
    let data = &response["Data"];
    for key in [
        "BucketName",
        "LogGroupName",
        "KmsKeyArn",
        "InstanceRoleName",
        "InstanceProfileName",
        "InstanceId",
        "UserPolicyArn",
        "PreferencesDocumentVersion",
    ] {
        assert!(data[key].as_str().is_some_and(|v| !v.is_empty()), "Data.{key} missing: {data}");
    }
    let key_arn = data["KmsKeyArn"].as_str().unwrap().to_string();
    let instance_id = data["InstanceId"].as_str().unwrap().to_string();

    // KMS: rotation on, CloudWatch Logs allowed for this log group only.
    let key = c.kms.describe_key().key_id(&n.key_alias).send().await.unwrap();
    assert_eq!(key.key_metadata().unwrap().arn(), Some(key_arn.as_str()));
    let rotation = c.kms.get_key_rotation_status().key_id(&key_arn).send().await.unwrap();
    assert!(rotation.key_rotation_enabled());
    let key_policy: Value = serde_json::from_str(
        c.kms
            .get_key_policy()
            .key_id(&key_arn)
            .policy_name("default")
            .send()
            .await
            .unwrap()
            .policy()
            .unwrap(),
    )
    .unwrap();
    let defaults = Properties::parse(&HashMap::new()).unwrap();
    assert_eq!(key_policy, policies::key_policy(&defaults, &n, &place));

    // S3: SSE-KMS with bucket key, versioning, public access block, tags.
    let enc = c.s3.get_bucket_encryption().bucket(&n.bucket).send().await.unwrap();
    let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
    let default = rule.apply_server_side_encryption_by_default().unwrap();
    assert_eq!(default.sse_algorithm().as_str(), "aws:kms");
    assert_eq!(default.kms_master_key_id(), Some(key_arn.as_str()));
    assert_eq!(rule.bucket_key_enabled(), Some(true));
    // Uploads reach session-report as EventBridge `Object Created` events. moto stores the
    // setting but its GetBucketNotificationConfiguration leaves it out, so the call is checked
    // here and its effect (S3 events routed by the template's pattern) in tests/tests/suite/pipeline.rs.
    assert!(env.aws.operations().iter().any(|o| o == "PutBucketNotificationConfiguration"));
    // Versioning, by behaviour (moto's GetBucketVersioning reply has a root element the SDK
    // rejects): two writes of one key keep two versions.
    for body in ["a", "b"] {
        c.s3.put_object()
            .bucket(&n.bucket)
            .key("session-logs/probe.log")
            .body(body.as_bytes().to_vec().into())
            .send()
            .await
            .unwrap();
    }
    let versions =
        c.s3.list_object_versions()
            .bucket(&n.bucket)
            .prefix("session-logs/probe.log")
            .send()
            .await
            .unwrap();
    assert_eq!(versions.versions().len(), 2, "versioning is on");
    let pab = c.s3.get_public_access_block().bucket(&n.bucket).send().await.unwrap();
    let pab = pab.public_access_block_configuration().unwrap();
    assert!(
        pab.block_public_acls().unwrap()
            && pab.ignore_public_acls().unwrap()
            && pab.block_public_policy().unwrap()
            && pab.restrict_public_buckets().unwrap()
    );

    // CloudWatch Logs: encrypted with the key, 30 days.
    let groups =
        c.logs.describe_log_groups().log_group_name_prefix(&n.log_group).send().await.unwrap();
    let group = &groups.log_groups()[0];
    assert_eq!(group.kms_key_id(), Some(key_arn.as_str()));
    assert_eq!(group.retention_in_days(), Some(30));
    // Credentials in the stream are masked for every reader without logs:Unmask.
    let protection =
        c.logs.get_data_protection_policy().log_group_identifier(&n.log_group).send().await;
    let protection: Value =
        serde_json::from_str(protection.unwrap().policy_document().unwrap()).unwrap();
    assert_eq!(protection, policies::data_protection_policy(&place));
    let masked = protection["Statement"][1]["DataIdentifier"].to_string();
    for id in policies::MASKED_IDENTIFIERS {
        assert!(masked.contains(&format!("data-identifier/{id}")), "{id} masked");
    }

    // IAM: trust, managed core policy, the inline policy's actual JSON, the profile.
    let role = c.iam.get_role().role_name(&n.role).send().await.unwrap();
    let trust = policy_json(role.role().unwrap().assume_role_policy_document().unwrap());
    assert_eq!(trust, policies::ec2_trust_policy());
    let attached = c.iam.list_attached_role_policies().role_name(&n.role).send().await.unwrap();
    assert!(attached
        .attached_policies()
        .iter()
        .any(|p| p.policy_name() == Some("AmazonSSMManagedInstanceCore")));
    let inline = c
        .iam
        .get_role_policy()
        .role_name(&n.role)
        .policy_name("session-audit-transcripts")
        .send()
        .await
        .unwrap();
    let inline = policy_json(inline.policy_document());
    let created: std::collections::HashMap<String, Value> =
        serde_json::from_value(props(&[])).unwrap();
    let parsed = Properties::parse(&created).unwrap();
    assert_eq!(inline, policies::instance_role_policy(&parsed, &n, &place, &key_arn));
    let profile = c
        .iam
        .get_instance_profile()
        .instance_profile_name(&n.instance_profile)
        .send()
        .await
        .unwrap();
    assert_eq!(profile.instance_profile().unwrap().roles()[0].role_name(), n.role);
    let doc = default_user_policy(&c, &n, &place).await;
    assert_eq!(doc, policies::user_policy(&parsed, &place));

    // EC2: IMDSv2, encrypted root volume, no key pair, no inbound rules, the access tag.
    let instances = live_instances(&c).await;
    assert_eq!(instances.len(), 1);
    let instance = &instances[0];
    assert_eq!(instance.instance_id(), Some(instance_id.as_str()));
    assert_eq!(
        instance.metadata_options().unwrap().http_tokens().map(|t| t.as_str()),
        Some("required")
    );
    assert_eq!(instance.key_name(), None);
    assert!(instance
        .tags()
        .iter()
        .any(|t| t.key() == Some("Purpose") && t.value() == Some("SessionManagerTesting")));
    assert!(instance.iam_instance_profile().unwrap().arn().unwrap().ends_with(&n.instance_profile));
    let volumes = c
        .ec2
        .describe_volumes()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("attachment.instance-id")
                .values(&instance_id)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(
        !volumes.volumes().is_empty()
            && volumes.volumes().iter().all(|v| v.encrypted() == Some(true))
    );
    let sg_id = data["SecurityGroupId"].as_str().unwrap();
    let sg = c.ec2.describe_security_groups().group_ids(sg_id).send().await.unwrap();
    assert!(sg.security_groups()[0].ip_permissions().is_empty(), "no inbound rules");

    // Preferences: our bucket and log group, encrypted.
    let prefs = document_json(&c, None).await.unwrap();
    assert_eq!(prefs["inputs"]["s3BucketName"], n.bucket);
    assert_eq!(prefs["inputs"]["cloudWatchLogGroupName"], n.log_group);
    assert_eq!(prefs["inputs"]["s3EncryptionEnabled"], true);
    assert_eq!(prefs["inputs"]["cloudWatchEncryptionEnabled"], true);
    assert_eq!(prefs["inputs"]["cloudWatchStreamingEnabled"], true, "streamed as it runs");

    // --- Update in place: retention, tag condition, instance type ---
    let new_props = props(&[
        ("LogRetentionDays", "90"),
        ("AccessTagValue", "Audited"),
        ("InstanceType", "t3.small"),
    ]);
    let update = env.request("Update", new_props, Some(&physical), Some(props(&[])));
    let response = env.run(update).await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert_eq!(response["PhysicalResourceId"], physical.as_str(), "in place: same physical ID");
    assert_eq!(response["Data"]["InstanceId"], instance_id.as_str(), "same instance");
    let groups =
        c.logs.describe_log_groups().log_group_name_prefix(&n.log_group).send().await.unwrap();
    assert_eq!(groups.log_groups()[0].retention_in_days(), Some(90));
    let instance = &live_instances(&c).await[0];
    assert_eq!(instance.instance_type().map(|t| t.as_str()), Some("t3.small"));
    assert!(instance
        .tags()
        .iter()
        .any(|t| t.key() == Some("Purpose") && t.value() == Some("Audited")));
    let doc = default_user_policy(&c, &n, &place).await;
    assert_eq!(
        doc["Statement"][0]["Condition"]["StringEquals"]["ssm:resourceTag/Purpose"],
        "Audited"
    );

    // --- Delete (RetainLogs default): access path gone, audit data kept ---
    let delete = env.request("Delete", props(&[]), Some(&physical), None);
    let response = env.run(delete).await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert!(live_instances(&c).await.is_empty());
    assert!(c.iam.get_role().role_name(&n.role).send().await.is_err());
    assert!(c.iam.get_policy().policy_arn(n.user_policy_arn(&place)).send().await.is_err());
    assert!(c.s3.head_bucket().bucket(&n.bucket).send().await.is_ok(), "bucket kept");
    let groups =
        c.logs.describe_log_groups().log_group_name_prefix(&n.log_group).send().await.unwrap();
    assert_eq!(groups.log_groups().len(), 1, "log group kept");
    let key = c.kms.describe_key().key_id(&key_arn).send().await.unwrap();
    assert_eq!(key.key_metadata().unwrap().key_state().unwrap().as_str(), "Enabled", "key kept");
    assert!(document_json(&c, None).await.is_none(), "preferences we created are removed");

    // --- Delete again: nothing left to do, still SUCCESS ---
    let again = env.request("Delete", props(&[]), Some(&physical), None);
    assert_eq!(env.run(again).await["Status"], "SUCCESS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_preferences_are_restored_exactly() {
    let mut env = Env::start().await;
    let c = env.clients.clone();
    let original = json!({
        "schemaVersion": "1.0",
        "description": "the account's own preferences",
        "sessionType": "Standard_Stream",
        "inputs": {"s3BucketName": "someone-elses-bucket", "s3EncryptionEnabled": false, "cloudWatchLogGroupName": "", "idleSessionTimeout": "60"}
    });
    c.ssm
        .create_document()
        .name(PREFERENCES_DOCUMENT)
        .content(original.to_string())
        .document_type(aws_sdk_ssm::types::DocumentType::Session)
        .document_format(aws_sdk_ssm::types::DocumentFormat::Json)
        .send()
        .await
        .unwrap();
    let create = env.request("Create", props(&[]), None, None);
    let response = env.run(create).await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert_eq!(response["Data"]["PreferencesDocumentVersion"], "2");
    assert_eq!(document_json(&c, None).await.unwrap()["inputs"]["s3EncryptionEnabled"], true);
    let physical = response["PhysicalResourceId"].as_str().unwrap().to_string();
    let delete = env.request("Delete", props(&[]), Some(&physical), None);
    assert_eq!(env.run(delete).await["Status"], "SUCCESS");
    assert_eq!(document_json(&c, None).await.unwrap(), original, "the previous default, exactly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redelivered_create_creates_nothing_twice() {
    let mut env = Env::start().await;
    let c = env.clients.clone();
    let create = env.request("Create", props(&[]), None, None);
    let first = env.run(create.clone()).await;
    let second = env.run(create).await;
    assert_eq!(first["Status"], "SUCCESS");
    assert_eq!(second["Status"], "SUCCESS", "{second}");
    assert_eq!(first["PhysicalResourceId"], second["PhysicalResourceId"]);
    assert_eq!(first["Data"], second["Data"]);
    assert_eq!(live_instances(&c).await.len(), 1);
    assert_eq!(customer_keys(&c).await.len(), 1);
    assert!(document_json(&c, Some("1")).await.is_some());
    assert!(document_json(&c, Some("2")).await.is_none(), "no second preferences version");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_at_any_create_step_leaves_nothing_behind() {
    let steps = [
        "CreateKey",
        "EnableKeyRotation",
        "CreateAlias",
        "GetParameter",
        "DescribeVpcs",
        "CreatePolicy",
        "CreateRole",
        "AttachRolePolicy",
        "CreateInstanceProfile",
        "AddRoleToInstanceProfile",
        "CreateBucket",
        "PutBucketEncryption",
        "PutBucketVersioning",
        "PutPublicAccessBlock",
        "PutBucketNotificationConfiguration",
        "CreateLogGroup",
        "PutRetentionPolicy",
        "PutRolePolicy",
        "CreateSecurityGroup",
        "RunInstances",
        "CreateDocument",
    ];
    for step in steps {
        let mut env = Env::start().await;
        env.aws.fail_on(step);
        let create = env.request("Create", props(&[]), None, None);
        let response = env.run(create).await;
        env.aws.heal();
        assert_eq!(response["Status"], "FAILED", "{step}: {response}");
        assert!(
            env.aws.failures_injected() > 0,
            "{step} was never called: {:?}",
            env.aws.operations()
        );
        let reason = response["Reason"].as_str().unwrap();
        assert!(
            reason.contains(step) && reason.contains("InjectedFailure"),
            "{step}: reason names the step and error: {reason}"
        );
        assert!(reason.contains("everything this request created was removed"), "{step}: {reason}");
        assert_nothing_left(&env, step).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_without_retention_empties_every_version() {
    let mut env = Env::start().await;
    let c = env.clients.clone();
    let p = props(&[("RetainLogs", "false"), ("ObjectLockDays", "0")]);
    let response = {
        let r = env.request("Create", p.clone(), None, None);
        env.run(r).await
    };
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    let bucket = response["Data"]["BucketName"].as_str().unwrap().to_string();
    for body in ["one", "two"] {
        c.s3.put_object()
            .bucket(&bucket)
            .key("session-logs/s-1.log")
            .body(body.as_bytes().to_vec().into())
            .send()
            .await
            .unwrap();
    }
    c.s3.delete_object().bucket(&bucket).key("session-logs/s-1.log").send().await.unwrap();
    let physical = response["PhysicalResourceId"].as_str().unwrap().to_string();
    let response = {
        let r = env.request("Delete", p, Some(&physical), None);
        env.run(r).await
    };
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert_nothing_left(&env, "RetainLogs=false").await;
}

/// The default bucket has Object Lock (governance, 365 days): a transcript version cannot be
/// deleted or overwritten in place, and a Delete with RetainLogs=false removes what it may and
/// keeps the locked versions with their bucket, still answering SUCCESS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_bucket_locks_every_version_and_delete_keeps_them() {
    let mut env = Env::start().await;
    let c = env.clients.clone();
    let p = props(&[("RetainLogs", "false")]);
    let response = {
        let r = env.request("Create", p.clone(), None, None);
        env.run(r).await
    };
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    let bucket = response["Data"]["BucketName"].as_str().unwrap().to_string();
    let lock = c.s3.get_object_lock_configuration().bucket(&bucket).send().await.unwrap();
    let lock = lock.object_lock_configuration().unwrap();
    assert_eq!(lock.object_lock_enabled().map(|e| e.as_str()), Some("Enabled"));
    let retention = lock.rule().unwrap().default_retention().unwrap();
    assert_eq!(retention.mode().map(|m| m.as_str()), Some("GOVERNANCE"));
    assert_eq!(retention.days(), Some(365));

    let key = "session-logs/s-1.log";
    let put = c.s3.put_object().bucket(&bucket).key(key).body(b"evidence".to_vec().into());
    let version = put.send().await.unwrap().version_id().unwrap().to_string();
    let delete = c.s3.delete_object().bucket(&bucket).key(key).version_id(&version);
    assert!(delete.send().await.is_err(), "a locked version cannot be deleted");

    let physical = response["PhysicalResourceId"].as_str().unwrap().to_string();
    let response = {
        let r = env.request("Delete", p, Some(&physical), None);
        env.run(r).await
    };
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    let kept = c.s3.get_object().bucket(&bucket).key(key).version_id(&version).send().await;
    assert!(kept.is_ok(), "the locked version and its bucket are kept");
    assert!(live_instances(&c).await.is_empty(), "the rest of the access path is gone");
    // The key the locked versions are encrypted with is kept usable, not scheduled for
    // deletion (seven days later the evidence could not be decrypted).
    let key_arn = response_key(&c, &bucket).await;
    let key = c.kms.describe_key().key_id(&key_arn).send().await.unwrap();
    let state = key.key_metadata().unwrap().key_state().unwrap().as_str().to_string();
    assert_eq!(state, "Enabled", "{key:?}");
}

/// The KMS key the bucket encrypts with by default.
async fn response_key(c: &Clients, bucket: &str) -> String {
    let enc = c.s3.get_bucket_encryption().bucket(bucket).send().await.unwrap();
    let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
    let default = rule.apply_server_side_encryption_by_default().unwrap();
    default.kms_master_key_id().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waits_for_the_agent_to_register_when_asked() {
    let mut env = Env::start().await;
    env.aws.registration_online_after(3);
    let p = props(&[("WaitForRegistration", "true"), ("RegistrationTimeoutSeconds", "30")]);
    let response = {
        let r = env.request("Create", p, None, None);
        env.run(r).await
    };
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert_eq!(response["Data"]["AgentVersion"], "3.3.1957.0");
    let polls = env.aws.operations().iter().filter(|o| *o == "DescribeInstanceInformation").count();
    assert_eq!(polls, 3);
}

/// An account whose EBS volumes are encrypted by default under a customer key, and a stack
/// given a subnet: the instance launches there (the least-privilege proof checks the KMS grants
/// EC2 needs on that key, and ec2:DescribeSubnets).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_ebs_key_and_a_named_subnet_still_launch_the_instance() {
    let mut env = Env::start().await;
    let c = env.clients.clone();
    let key = c.kms.create_key().description("account EBS default").send().await.unwrap();
    let key = key.key_metadata().unwrap().arn().unwrap().to_string();
    c.ec2.modify_ebs_default_kms_key_id().kms_key_id(&key).send().await.unwrap();
    c.ec2.enable_ebs_encryption_by_default().send().await.unwrap();
    let subnets = c.ec2.describe_subnets().send().await.unwrap();
    let subnet = subnets.subnets()[0].subnet_id().unwrap().to_string();
    let response = {
        let r = env.request("Create", props(&[("SubnetId", &subnet)]), None, None);
        env.run(r).await
    };
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    let live = live_instances(&c).await;
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].subnet_id(), Some(subnet.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_properties_fail_fast_naming_the_property() {
    let mut env = Env::start().await;
    let response = {
        let r = env.request("Create", props(&[("LogRetentionDays", "31")]), None, None);
        env.run(r).await
    };
    assert_eq!(response["Status"], "FAILED");
    assert!(response["Reason"].as_str().unwrap().contains("LogRetentionDays"), "{response}");
    assert_nothing_left(&env, "bad property").await;
}

/// The bucket and key policies in place after a Create (TLS only) and after an Update that
/// names an organization (its accounts admitted to their own folders and to the key): what
/// they then allow is proven by `iam-proof` ([`session_audit_tests::organization_proof`]).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_organization_policies_follow_the_properties() {
    let mut env = Env::start().await;
    env.options.tls_policy_allowed = true;
    let response = {
        let r = env.request("Create", props(&[]), None, None);
        env.run(r).await
    };
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    let physical = response["PhysicalResourceId"].as_str().unwrap().to_string();
    let (n, place) = env.names("sa-test");
    let c = env.clients.clone();
    let bucket_policy = || async {
        let policy = c.s3.get_bucket_policy().bucket(&n.bucket).send().await.unwrap();
        serde_json::from_str::<Value>(policy.policy().unwrap()).unwrap()
    };
    let key_policy = || async {
        let key = c.kms.describe_key().key_id(&n.key_alias).send().await.unwrap();
        let id = key.key_metadata().unwrap().key_id().to_string();
        let policy = c.kms.get_key_policy().key_id(id).policy_name("default").send().await;
        serde_json::from_str::<Value>(policy.unwrap().policy().unwrap()).unwrap()
    };
    let defaults = Properties::parse(&HashMap::new()).unwrap();
    assert_eq!(
        bucket_policy().await,
        policies::bucket_policy(&defaults, &n, &place, true).unwrap()
    );

    let org = [("OrganizationId", "o-a1b2c3d4e5")];
    let update = env.request("Update", props(&org), Some(&physical), Some(props(&[])));
    let response = env.run(update).await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    let map: HashMap<String, Value> = org.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    let with_org = Properties::parse(&map).unwrap();
    assert_eq!(
        bucket_policy().await,
        policies::bucket_policy(&with_org, &n, &place, true).unwrap()
    );
    assert_eq!(
        key_policy().await,
        policies::key_policy(&with_org, &n, &place),
        "the existing key follows"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_fixtures_drive_the_handler() {
    let env = Env::start().await;
    // The fixtures' own properties (Key1..Key3) are not ours: ignored, defaults apply.
    let mut create = public_fixture("cfn_custom_resource_create-request.json");
    // The fixtures' stack is another account's: the requests are aimed at this one (the
    // provisioner serves only its own, and asks CloudFormation about it).
    create["StackId"] = json!(STACK);
    create["ResponseURL"] = json!(env.aws.response_url("fixture-create"));
    let response = env.run(serde_json::from_value(create).unwrap()).await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert_eq!(response["RequestId"], "82304eb2-bdda-469f-a33b-a3f1406d0a52");
    assert_eq!(response["LogicalResourceId"], "CustomResource");
    let physical = response["PhysicalResourceId"].as_str().unwrap().to_string();
    let mut update = public_fixture("cfn_custom_resource_update-request.json");
    update["ResponseURL"] = json!(env.aws.response_url("fixture-update"));
    update["StackId"] = json!(STACK);
    update["PhysicalResourceId"] = json!(physical);
    assert_eq!(env.run(serde_json::from_value(update).unwrap()).await["Status"], "SUCCESS");
    // The fixture's Delete names a physical ID that is not ours: nothing to do, SUCCESS.
    let mut delete = public_fixture("cfn_custom_resource_delete-request.json");
    delete["ResponseURL"] = json!(env.aws.response_url("fixture-delete"));
    delete["StackId"] = json!(STACK);
    let response = env.run(serde_json::from_value(delete).unwrap()).await;
    assert_eq!(response["Status"], "SUCCESS");
    assert_eq!(
        response["PhysicalResourceId"],
        "custom-resource-f4bd5382-3de3-4caf-b7ad-1be06b899647"
    );
    let real: Request = serde_json::from_value(public_fixture(
        "cfn_custom_resource_create_request_real_2020_captured.json",
    ))
    .unwrap();
    assert!(matches!(real, Request::Create(_)));
}

/// A new NamePrefix cannot be served: the stack's policy follows the prefix, so the Delete of
/// the old resources would run under a policy that no longer names them (the least-privilege
/// proof shows it). The Update is refused before anything changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_prefix_is_refused_and_nothing_changes() {
    let mut env = Env::start().await;
    let c = env.clients.clone();
    let first = {
        let r = env.request("Create", props(&[]), None, None);
        env.run(r).await
    };
    let old_id = first["PhysicalResourceId"].as_str().unwrap().to_string();
    let before = live_instances(&c).await;
    let updated = {
        let r = env.request(
            "Update",
            props(&[("NamePrefix", "sa-next")]),
            Some(&old_id),
            Some(props(&[])),
        );
        env.run(r).await
    };
    assert_eq!(updated["Status"], "FAILED", "{updated}");
    let reason = updated["Reason"].as_str().unwrap();
    assert!(reason.contains("NamePrefix cannot change") && reason.contains("nothing was changed"));
    assert!(c.iam.get_role().role_name("sa-test-ssm-instance").send().await.is_ok());
    assert!(c.iam.get_role().role_name("sa-next-ssm-instance").send().await.is_err());
    assert_eq!(live_instances(&c).await.len(), before.len());
    let prefs = document_json(&c, None).await.unwrap();
    assert_eq!(prefs["inputs"]["s3BucketName"], first["Data"]["BucketName"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_ami_parameter_replaces_only_the_instance() {
    let mut env = Env::start().await;
    let c = env.clients.clone();
    let first = {
        let r = env.request("Create", props(&[]), None, None);
        env.run(r).await
    };
    let id = first["PhysicalResourceId"].as_str().unwrap().to_string();
    let old_instance = first["Data"]["InstanceId"].as_str().unwrap().to_string();
    let arm = session_audit::provisioner::AMI_PARAMETER_ARM;
    let again = {
        let r = env.request("Update", props(&[]), Some(&id), Some(props(&[])));
        env.run(r).await
    };
    assert_eq!(
        again["Data"]["InstanceId"],
        old_instance.as_str(),
        "same properties: same instance"
    );
    let updated = {
        let r = env.request(
            "Update",
            props(&[("AmiParameter", arm), ("InstanceType", "t4g.micro")]),
            Some(&id),
            Some(props(&[])),
        );
        env.run(r).await
    };
    assert_eq!(updated["Status"], "SUCCESS", "{updated}");
    assert_eq!(updated["PhysicalResourceId"], id.as_str());
    let new_instance = updated["Data"]["InstanceId"].as_str().unwrap();
    assert_ne!(new_instance, old_instance);
    let live = live_instances(&c).await;
    assert_eq!(live.len(), 1, "the old instance is terminated");
    assert_eq!(live[0].instance_id(), Some(new_instance));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_of_the_same_name_made_by_someone_else_is_never_adopted_nor_deleted() {
    let mut env = Env::start().await;
    let c = env.clients.clone();
    let (n, _) = env.names("sa-test");
    c.s3.create_bucket().bucket(&n.bucket).send().await.unwrap();
    c.s3.put_object()
        .bucket(&n.bucket)
        .key("theirs.txt")
        .body(b"keep".to_vec().into())
        .send()
        .await
        .unwrap();
    let response = {
        let r = env.request("Create", props(&[]), None, None);
        env.run(r).await
    };
    assert_eq!(response["Status"], "FAILED");
    let reason = response["Reason"].as_str().unwrap();
    assert!(
        reason.contains("s3:CreateBucket") && reason.contains("choose another NamePrefix"),
        "{reason}"
    );
    let theirs = c.s3.get_object().bucket(&n.bucket).key("theirs.txt").send().await;
    assert!(theirs.is_ok(), "the other bucket and its data are untouched");
    assert!(
        c.iam.get_role().role_name(&n.role).send().await.is_err(),
        "our own steps were rolled back"
    );
    assert!(live_instances(&c).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_naming_another_stack_is_refused_and_touches_nothing() {
    let mut env = Env::start().await;
    let p = props(&[("RetainLogs", "false")]);
    let created = {
        let r = env.request("Create", p.clone(), None, None);
        env.run(r).await
    };
    assert_eq!(created["Status"], "SUCCESS", "{created}");
    let physical = created["PhysicalResourceId"].as_str().unwrap().to_string();
    let bucket = created["Data"]["BucketName"].as_str().unwrap().to_string();
    let other = STACK.replace("stack/sa/", "stack/someone-else/");
    assert_ne!(other, STACK);
    for stack in [other.as_str(), "not-a-stack"] {
        let mut forged: Value = public_fixture("cfn_custom_resource_delete-request.json");
        forged["ResponseURL"] = json!(env.aws.response_url("forged"));
        forged["StackId"] = json!(stack);
        forged["ResourceProperties"] = p.clone();
        forged["PhysicalResourceId"] = json!(physical);
        let response = env.run(serde_json::from_value(forged).unwrap()).await;
        assert_eq!(response["Status"], "FAILED", "{response}");
        assert!(response["Reason"].as_str().unwrap().contains("refused"), "{response}");
    }
    let c = &env.clients;
    assert!(c.s3.head_bucket().bucket(&bucket).send().await.is_ok(), "bucket kept");
    assert_eq!(live_instances(c).await.len(), 1, "instance kept");
    assert!(customer_keys(c).await.iter().all(|k| k.deletion_date().is_none()), "key kept");
    let groups = c.logs.describe_log_groups().log_group_name_prefix("/session-audit/").send();
    assert!(!groups.await.unwrap().log_groups().is_empty(), "log group kept");

    // A provisioner that does not know its stack serves nobody.
    let mut blind = env.options.clone();
    blind.stack_id = None;
    let r = env.request("Delete", p.clone(), Some(&physical), None);
    let cloudformation = aws_sdk_cloudformation::Client::new(&env.config);
    let reason = handle_request(r, env.clients.clone(), cloudformation, blind).await.unwrap_err();
    assert!(reason.contains("STACK_ID"), "{reason}");
    assert_eq!(live_instances(&env.clients).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_detaches_the_user_policy_from_people_and_can_run_twice() {
    let mut env = Env::start().await;
    let p = props(&[]);
    let created = {
        let r = env.request("Create", p.clone(), None, None);
        env.run(r).await
    };
    assert_eq!(created["Status"], "SUCCESS", "{created}");
    let physical = created["PhysicalResourceId"].as_str().unwrap().to_string();
    let (n, place) = env.names("sa-test");
    let arn = n.user_policy_arn(&place);
    let clients = env.clients.clone();
    let iam = &clients.iam;
    iam.create_user().user_name("ana").send().await.unwrap();
    iam.attach_user_policy().user_name("ana").policy_arn(&arn).send().await.unwrap();
    iam.create_group().group_name("operators").send().await.unwrap();
    iam.attach_group_policy().group_name("operators").policy_arn(&arn).send().await.unwrap();
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#;
    iam.create_role().role_name("oncall").assume_role_policy_document(trust).send().await.unwrap();
    iam.attach_role_policy().role_name("oncall").policy_arn(&arn).send().await.unwrap();
    // The double refuses as IAM does while the policy is attached.
    let refused = iam.delete_policy().policy_arn(&arn).send().await.unwrap_err();
    assert!(format!("{refused:?}").contains("DeleteConflict"), "{refused:?}");

    for attempt in ["first", "second"] {
        let r = env.request("Delete", p.clone(), Some(&physical), None);
        let response = env.run(r).await;
        assert_eq!(response["Status"], "SUCCESS", "{attempt} Delete: {response}");
    }
    assert!(iam.get_policy().policy_arn(&arn).send().await.is_err(), "user policy deleted");
    let attached = iam.list_attached_user_policies().user_name("ana").send().await.unwrap();
    assert!(attached.attached_policies().is_empty(), "detached from the user");
    assert!(iam.get_user().user_name("ana").send().await.is_ok(), "the person is untouched");
}

/// The stack's ID is easy to read, so a request naming it proves nothing: a Delete or Update
/// forged with it, while CloudFormation has no operation on the resource, changes nothing;
/// one with a ResponseURL outside CloudFormation's response bucket gets no response at all;
/// and the Delete's own RetainLogs is never what decides whether the audit data goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_cloudformation_did_not_send_change_nothing() {
    let mut env = Env::start().await;
    let created = {
        let r = env.request("Create", props(&[]), None, None);
        env.run(r).await
    };
    assert_eq!(created["Status"], "SUCCESS", "{created}");
    let physical = created["PhysicalResourceId"].as_str().unwrap().to_string();
    let bucket = created["Data"]["BucketName"].as_str().unwrap().to_string();
    let (n, place) = env.names("sa-test");
    let policy_before = default_user_policy(&env.clients, &n, &place).await;
    let prefs_before = document_json(&env.clients, None).await;
    let destroy = props(&[("RetainLogs", "false")]);

    // 1. A ResponseURL elsewhere: no work, and nothing is sent there or anywhere.
    let elsewhere = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    elsewhere.set_nonblocking(true).unwrap();
    let responses = env.aws.responses().len();
    let mut forged = env.request("Delete", destroy.clone(), Some(&physical), None);
    if let Request::Delete(d) = &mut forged {
        d.response_url = format!("http://{}/collect", elsewhere.local_addr().unwrap());
    }
    let refused = env.serve(forged, "DELETE_IN_PROGRESS", Some(&physical)).await.unwrap_err();
    assert!(refused.contains("no response was sent"), "{refused}");
    assert!(elsewhere.accept().is_err(), "nothing connected to the forged ResponseURL");
    assert_eq!(env.aws.responses().len(), responses, "no response anywhere");

    // 2. A Delete and an Update while CloudFormation reports the Create complete: refused.
    let forged = env.request("Delete", destroy.clone(), Some(&physical), None);
    let response = env.run_while(forged, "CREATE_COMPLETE", Some(&physical)).await;
    assert_eq!(response["Status"], "FAILED", "{response}");
    let reason = response["Reason"].as_str().unwrap();
    assert!(reason.contains("CREATE_COMPLETE") && reason.contains("nothing was changed"));
    let looser = props(&[("AccessTagValue", "anyone"), ("EnforceTls", "false")]);
    let forged = env.request("Update", looser, Some(&physical), Some(props(&[])));
    let response = env.run_while(forged, "UPDATE_COMPLETE", Some(&physical)).await;
    assert_eq!(response["Status"], "FAILED", "{response}");
    // 3. A Delete of our physical ID while CloudFormation deletes another one: refused.
    let forged = env.request("Delete", destroy.clone(), Some(&physical), None);
    let response = env.run_while(forged, "DELETE_IN_PROGRESS", Some("session-audit:x")).await;
    assert_eq!(response["Status"], "FAILED", "{response}");
    assert!(response["Reason"].as_str().unwrap().contains("not session-audit:"), "{response}");

    let clients = env.clients.clone();
    let c = &clients;
    assert_eq!(default_user_policy(c, &n, &place).await, policy_before, "policy unchanged");
    assert_eq!(document_json(c, None).await, prefs_before, "preferences unchanged");
    assert_eq!(live_instances(c).await.len(), 1, "instance kept");

    // 4. CloudFormation's own Delete, carrying RetainLogs=false: the Create recorded the
    // default (retain), and that is what counts. The access path goes, the audit data stays.
    let delete = env.request("Delete", destroy, Some(&physical), None);
    let response = env.run(delete).await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert!(live_instances(c).await.is_empty(), "the instance went");
    assert!(c.s3.head_bucket().bucket(&bucket).send().await.is_ok(), "bucket retained");
    assert!(customer_keys(c).await.iter().all(|k| k.deletion_date().is_none()), "key kept");
    let groups = c.logs.describe_log_groups().log_group_name_prefix(&n.log_group).send();
    assert!(!groups.await.unwrap().log_groups().is_empty(), "log group retained");
}

/// Issue 30: the stack's Session documents, Change Calendar and approval runbook are written,
/// follow an Update, and go with the stack; the user policy allows only them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sanctioned_documents_calendar_and_runbook_are_written_and_removed() {
    use session_audit::access::schema::check_document;
    use session_audit_tests::iam_policy::{evaluate, Request as Asked};
    let mut env = Env::start().await;
    let c = env.clients.clone();
    let (n, place) = env.names("sa-test");
    let wanted = props(&[
        ("RemoteDestinations", "db.internal:5432,10.0.1.20:3306"),
        ("Approvers", "arn:aws:iam::123456789012:user/bob"),
        ("ChangeWindow", "Sat,Sun 02:00-06:00 UTC"),
    ]);
    let create = env.request("Create", wanted.clone(), None, None);
    let response = env.run(create).await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    let physical = response["PhysicalResourceId"].as_str().unwrap().to_string();
    let map: std::collections::HashMap<String, Value> =
        serde_json::from_value(wanted.clone()).unwrap();
    let p = Properties::parse(&map).unwrap();
    let inputs = policies::preferences_document(&p, &n)["inputs"].clone();
    for kind in p.catalog.kinds() {
        let name = p.catalog.name(kind);
        let got = c.ssm.get_document().name(&name).send().await.expect(&name);
        let content: Value = serde_json::from_str(got.content().unwrap()).unwrap();
        assert_eq!(content, p.catalog.document(kind, &inputs), "{name}");
        assert_eq!(check_document(&content), Vec::<String>::new(), "{name}");
    }
    assert_eq!(response["Data"]["SessionDocuments"].as_str().unwrap().split(',').count(), 7);
    let calendar = env.aws.calendar(&n.change_calendar).expect("calendar written as TEXT");
    assert!(calendar.contains("RRULE:FREQ=WEEKLY;BYDAY=SA,SU"), "{calendar}");
    assert_eq!(response["Data"]["ChangeCalendar"], n.change_calendar.as_str());
    let runbook = c.ssm.describe_document().name(&n.approval_runbook).send().await.unwrap();
    assert_eq!(runbook.document().unwrap().document_type().unwrap().as_str(), "Automation");
    c.iam.get_role().role_name(&n.approval_role).send().await.expect("approval role");

    // The user policy: only the stack's documents; protected instances only when approved.
    let policy = policies::user_policy(&p, &place);
    let allows = |resource: &str, context: &[(&str, &str)]| {
        let mut asked = Asked::new("ssm:StartSession", resource);
        for (k, v) in context {
            asked = asked.with(k, v);
        }
        evaluate(std::slice::from_ref(&policy), &asked).allowed()
    };
    let doc = |name: &str| format!("arn:aws:ssm:us-east-1:123456789012:document/{name}");
    for name in p.catalog.allowed() {
        assert!(allows(&doc(&name), &[]), "{name}");
    }
    for name in ["AWS-StartPortForwardingSession", "AWS-StartSSHSession", "other-Shell"] {
        assert!(!allows(&doc(name), &[]), "{name}");
    }
    let instance = "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc";
    let tag = ("ssm:resourceTag/Purpose", "SessionManagerTesting");
    assert!(allows(instance, &[tag]));
    assert!(!allows(instance, &[]), "untagged");
    let protected = ("ssm:resourceTag/Protected", "true");
    assert!(!allows(instance, &[tag, protected, ("aws:username", "ana")]), "not approved");
    let approved = ("ssm:resourceTag/SessionAuditApprovedFor", "ana");
    assert!(allows(instance, &[tag, protected, approved, ("aws:username", "ana")]));
    assert!(
        !allows(instance, &[tag, protected, approved, ("aws:username", "carl")]),
        "someone else's approval"
    );

    // Update: no destinations, so no remote document; another service, so a new version of the
    // restart task made its default.
    let fewer = props(&[
        ("Approvers", "arn:aws:iam::123456789012:user/bob"),
        ("TaskServices", "nginx,httpd"),
    ]);
    let update = env.request("Update", fewer, Some(&physical), Some(wanted));
    let response = env.run(update).await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    let remote = p.catalog.name(session_audit::access::Kind::RemotePortForward);
    assert!(c.ssm.describe_document().name(&remote).send().await.is_err(), "removed");
    assert!(c
        .ssm
        .describe_document()
        .name(p.catalog.name(session_audit::access::Kind::TailLog))
        .send()
        .await
        .is_ok());

    // Delete: every document and the approval role go.
    let delete = env.request("Delete", props(&[]), Some(&physical), None);
    let response = env.run(delete).await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    for name in p.catalog.allowed().iter().skip(1).chain([&n.change_calendar, &n.approval_runbook])
    {
        assert!(c.ssm.describe_document().name(name).send().await.is_err(), "{name} left behind");
    }
    assert!(c.iam.get_role().role_name(&n.approval_role).send().await.is_err());
}
