//! The local AWS harness: a moto server on 127.0.0.1, one per test, behind a small proxy.
//!
//! * The server is the project's pinned `moto[server]` from `.venv` (`make venv`), started on
//!   a free port with `MOTO_IAM_LOAD_MANAGED_POLICIES=true`, and killed when the harness drops,
//!   so tests never share state.
//! * The proxy forwards every request to moto and adds what the emulator lacks or what a test
//!   needs: it captures CloudFormation responses PUT to `/cfn-response/…`, answers
//!   `DescribeInstanceInformation` (not implemented by moto), Config's `PutEvaluations` (moto
//!   answers only test-mode requests and keeps nothing), CloudFormation's
//!   `DescribeStackResource` for custom resources and CloudWatch Logs' data-protection policies
//!   ([`crate::doubles`]) as small doubles, refuses to
//!   delete a managed policy still attached to someone (IAM's `DeleteConflict`, which moto
//!   does not model), and can make
//!   one operation fail, so failure paths run against the emulator rather than mocks of our
//!   own code.
//! * It records every call ([`crate::iam_calls::Call`]). Code under test signs with a session
//!   token naming the function it stands for ([`LocalAws::act_as`]); when the harness drops,
//!   each such call is checked against that function's policy in template.yaml
//!   ([`crate::least_privilege`]): a call the policy would deny fails the test, naming it.

use std::io::{BufReader, Read, Write};

use crate::http::{read_request, reply, HttpRequest};
use crate::iam_calls::{self, Call, Facts};
use crate::least_privilege::{self, Deployment};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A CloudFormation response the proxy received.
#[derive(Debug, Clone)]
pub struct CapturedResponse {
    pub path: String,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

#[derive(Default)]
struct ProxyState {
    fail: Option<String>,
    failed: u32,
    responses: Vec<CapturedResponse>,
    registration_polls: u32,
    online_after: Option<u32>,
    /// Every PutEvaluations request, as sent (see [`crate::doubles`]).
    evaluations: Vec<serde_json::Value>,
    /// Instances the DescribeInstanceInformation double never reports.
    unmanaged: std::collections::BTreeSet<String>,
    seen: Vec<String>,
    in_flight: u32,
    max_in_flight: u32,
    /// Managed policy ARN -> the users, groups and roles it is attached to (moto does not
    /// refuse to delete an attached policy; IAM does, and this double does too).
    attachments: std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
    calls: Vec<Call>,
    /// Session token -> (template logical ID, deployment parameters).
    principals: std::collections::BTreeMap<String, (String, Vec<(String, String)>)>,
    /// What CloudFormation reports of custom resources (see [`crate::doubles`]).
    stack_resources: crate::doubles::Resources,
    /// Data-protection policies of log groups (see [`crate::doubles`]).
    data_protection: crate::doubles::DataProtection,
    /// Change Calendars' text (see [`crate::doubles::change_calendar_write`]).
    calendars: crate::doubles::Calendars,
    /// Automation executions the test made up (see [`crate::doubles::automation`]).
    automations: Vec<serde_json::Value>,
}

/// A running emulator. Dropping it stops the server.
pub struct LocalAws {
    moto: Child,
    upstream: SocketAddr,
    proxy: SocketAddr,
    state: Arc<Mutex<ProxyState>>,
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The moto server executable: `$MOTO_SERVER`, else the project's `.venv`.
pub fn moto_server_path() -> PathBuf {
    if let Ok(p) = std::env::var("MOTO_SERVER") {
        return PathBuf::from(p);
    }
    repo_root().join(".venv/bin/moto_server")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

impl LocalAws {
    /// Start moto and the proxy. Panics with one clear line if the server is not installed.
    pub fn start() -> LocalAws {
        let server = moto_server_path();
        if !server.exists() {
            panic!(
                "the local AWS emulator is not installed ({} missing): run `make venv` (python3 -m venv .venv && .venv/bin/pip install -r requirements-dev.txt)",
                server.display()
            );
        }
        let port = free_port();
        let moto = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", server.display()));
        let upstream: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let started = Instant::now();
        while TcpStream::connect(upstream).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto did not start on {upstream}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let proxy = listener.local_addr().expect("proxy addr");
        let state = Arc::new(Mutex::new(ProxyState::default()));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = shared.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, upstream, &state);
                });
            }
        });
        LocalAws { moto, upstream, proxy, state }
    }

    /// The endpoint to give the SDK (`AWS_ENDPOINT_URL`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.proxy)
    }

    /// moto itself, without the proxy: for measurements where the proxy's buffering of whole
    /// bodies would count against the code under test (no failure injection there).
    pub fn direct_endpoint(&self) -> String {
        format!("http://{}", self.upstream)
    }

    /// SDK configuration for moto itself (see [`LocalAws::direct_endpoint`]).
    pub async fn direct_sdk_config(&self) -> aws_config::SdkConfig {
        sdk_config_for(self.direct_endpoint()).await
    }

    /// A presigned-URL stand-in where a CloudFormation response for `name` is captured.
    pub fn response_url(&self, name: &str) -> String {
        format!("http://{}/cfn-response/{name}", self.proxy)
    }

    pub fn responses(&self) -> Vec<CapturedResponse> {
        self.state.lock().expect("state").responses.clone()
    }

    /// Make every call of `operation` (e.g. `RunInstances`, `PutBucketEncryption`,
    /// `CreateKey`) fail with a service error until [`LocalAws::heal`].
    pub fn fail_on(&self, operation: &str) {
        let mut s = self.state.lock().expect("state");
        s.fail = Some(operation.to_string());
        s.failed = 0;
    }

    pub fn heal(&self) {
        self.state.lock().expect("state").fail = None;
    }

    /// How many calls the injected failure rejected.
    pub fn failures_injected(&self) -> u32 {
        self.state.lock().expect("state").failed
    }

    /// The operations seen so far, in order.
    pub fn operations(&self) -> Vec<String> {
        self.state.lock().expect("state").seen.clone()
    }

    /// The DescribeInstanceInformation double reports the instance `Online` from the n-th poll.
    /// The most requests the emulator was answering at once since the last call (then reset).
    pub fn take_max_in_flight(&self) -> u32 {
        std::mem::take(&mut self.state.lock().expect("state").max_in_flight)
    }

    /// Play CloudFormation: from now on it reports `logical_id` of `stack_id` as `status`
    /// (`CREATE_IN_PROGRESS`, …) with `physical_id` (see [`crate::doubles`]).
    pub fn stack_resource(
        &self,
        stack_id: &str,
        logical_id: &str,
        status: &str,
        physical_id: Option<&str>,
    ) {
        let resource = crate::doubles::Resource {
            resource_type: session_audit_aws::provisioner::RESOURCE_TYPE.to_string(),
            status: status.to_string(),
            physical_id: physical_id.map(str::to_string),
        };
        let key = (stack_id.to_string(), logical_id.to_string());
        self.state.lock().expect("state").stack_resources.insert(key, resource);
    }

    /// Where the emulator's response server is (`EMULATOR_RESPONSE_ORIGIN`).
    pub fn response_origin(&self) -> String {
        self.endpoint()
    }

    pub fn registration_online_after(&self, polls: u32) {
        self.state.lock().expect("state").online_after = Some(polls);
    }

    /// Every PutEvaluations request the Config double received, as sent.
    pub fn evaluations(&self) -> Vec<serde_json::Value> {
        self.state.lock().expect("state").evaluations.clone()
    }

    /// The DescribeInstanceInformation double never reports `instance` (its SSM Agent never
    /// registered).
    pub fn unmanaged(&self, instance: &str) {
        self.state.lock().expect("state").unmanaged.insert(instance.to_string());
    }

    /// An Automation execution as `GetAutomationExecution` shows it (the approval runbook's
    /// run), for the automation double ([`crate::doubles::automation`]).
    pub fn automation(&self, execution: serde_json::Value) {
        self.state.lock().expect("state").automations.push(execution);
    }

    /// The iCalendar text of a Change Calendar written through the emulator.
    pub fn calendar(&self, name: &str) -> Option<String> {
        self.state.lock().expect("state").calendars.get(name).cloned()
    }

    /// SDK configuration for this emulator: dummy credentials, us-east-1.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        sdk_config_for(self.endpoint()).await
    }

    /// SDK configuration for another account and region of the emulator (a spoke): credentials
    /// from STS AssumeRole on a role of `account` (moto files every call made with them under
    /// that account), and `region`. A raw Query call: the tests need no STS client for this.
    pub async fn sdk_config_in(&self, account: &str, region: &str) -> aws_config::SdkConfig {
        let body = format!(
            "Action=AssumeRole&Version=2011-06-15&RoleSessionName=spoke&RoleArn=arn%3Aaws%3Aiam%3A%3A{account}%3Arole%2Fspoke"
        );
        let answer = reqwest::Client::new()
            .post(self.endpoint())
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20261206/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0")
            .body(body)
            .send()
            .await
            .expect("AssumeRole")
            .text()
            .await
            .expect("AssumeRole body");
        let field = |name: &str| {
            let open = format!("<{name}>");
            let start = answer.find(&open).unwrap_or_else(|| panic!("no {name}: {answer}"));
            let rest = &answer[start + open.len()..];
            rest[..rest.find('<').expect("closing tag")].to_string()
        };
        let creds = aws_sdk_s3::config::Credentials::new(
            field("AccessKeyId"),
            field("SecretAccessKey"),
            Some(field("SessionToken")),
            None,
            "local-aws-spoke",
        );
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(self.endpoint())
            .region(aws_config::Region::new(region.to_string()))
            .credentials_provider(creds)
            .load()
            .await
    }

    /// A session token for code acting as `function` (a template logical ID) deployed with
    /// `params` (template parameters, `AccessPath.BucketName`): every call signed with it is
    /// checked against that function's policy when the harness drops.
    pub fn act_as(&self, function: &str, params: &[(String, String)]) -> String {
        let mut s = self.state.lock().expect("state");
        let token = format!("{function}-{}", s.principals.len());
        s.principals.insert(token.clone(), (function.to_string(), params.to_vec()));
        token
    }

    /// The token for `function` run with `environment` (its variables, read back into template
    /// parameters as [`crate::template::Stack::parameters_from_environment`] does) and
    /// `params` (what the environment does not say, such as the provisioner's `NamePrefix`).
    pub fn deploy(
        &self,
        function: &str,
        environment: &[(&str, String)],
        params: &[(&str, &str)],
    ) -> String {
        let stack = crate::template::Stack::new(&[]);
        let mut all = stack.parameters_from_environment(function, environment);
        all.extend(params.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self.act_as(function, &all)
    }

    /// Path-style clients for code under test acting as `function` (see [`LocalAws::deploy`]).
    pub fn clients_as(
        &self,
        base: &aws_config::SdkConfig,
        function: &str,
        environment: &[(&str, String)],
        params: &[(&str, &str)],
    ) -> session_audit_aws::Clients {
        let token = self.deploy(function, environment, params);
        session_audit_aws::Clients::with_path_style(&LocalAws::config_as(base, &token), true)
    }

    /// `base` with credentials carrying `token` (see [`LocalAws::act_as`]).
    pub fn config_as(base: &aws_config::SdkConfig, token: &str) -> aws_config::SdkConfig {
        let creds = aws_sdk_s3::config::Credentials::new(
            "testing",
            "testing",
            Some(token.to_string()),
            None,
            "local-aws",
        );
        let provider = aws_sdk_s3::config::SharedCredentialsProvider::new(creds);
        base.to_builder().credentials_provider(provider).build()
    }

    /// Every call made with a function's token, as IAM would be asked about it, per function.
    fn deployments(&self) -> Vec<Deployment> {
        let s = self.state.lock().expect("state");
        let mut facts = Facts::default();
        let mut needed: std::collections::BTreeMap<&str, Vec<iam_calls::Needed>> =
            Default::default();
        for call in &s.calls {
            if let Some(token) = call.principal.as_deref().filter(|t| s.principals.contains_key(*t))
            {
                needed.entry(token).or_default().extend(iam_calls::needed(call, &facts));
            }
            facts.learn(call);
        }
        needed
            .into_iter()
            .map(|(token, needed)| {
                let (function, mut params) = s.principals[token].clone();
                let bucket = params.iter().find(|(k, _)| k == "AccessPath.BucketName");
                if let Some(key) = bucket.and_then(|(_, b)| facts.bucket_keys.get(b)) {
                    params.push(("AccessPath.KmsKeyArn".into(), key.clone()));
                }
                Deployment { function, params, needed }
            })
            .collect()
    }
}

async fn sdk_config_for(endpoint: String) -> aws_config::SdkConfig {
    let creds = aws_sdk_s3::config::Credentials::new("testing", "testing", None, None, "local-aws");
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(creds)
        .load()
        .await
}

impl Drop for LocalAws {
    fn drop(&mut self) {
        let _ = self.moto.kill();
        let _ = self.moto.wait();
        if std::thread::panicking() {
            return;
        }
        let deployments = self.deployments();
        least_privilege::write(&deployments);
        let denied: Vec<String> = deployments
            .iter()
            .filter_map(|d| {
                let denied = d.denied(&d.policies());
                (!denied.is_empty()).then(|| least_privilege::explain(&d.function, &denied))
            })
            .collect();
        assert!(
            denied.is_empty(),
            "template.yaml denies calls this test made:\n{}",
            denied.join("\n")
        );
    }
}

impl HttpRequest {
    /// The AWS operation name, whatever the protocol.
    fn operation(&self) -> String {
        if self.signed_for() == "securityhub" {
            return securityhub_operation(&self.method, &self.path);
        }
        if let Some(target) = self.header("x-amz-target") {
            return target.rsplit('.').next().unwrap_or(target).to_string();
        }
        let body = String::from_utf8_lossy(&self.body);
        let query = self.path.split_once('?').map(|(_, q)| q).unwrap_or("");
        for part in body.split('&').chain(query.split('&')) {
            if let Some(action) = part.strip_prefix("Action=") {
                return action.to_string();
            }
        }
        s3_operation(&self.method, &self.path)
    }
}

impl HttpRequest {
    /// The service the request was signed for (its SigV4 credential scope).
    fn signed_for(&self) -> &str {
        let scope = self.header("authorization").and_then(|a| a.split("Credential=").nth(1));
        scope.and_then(|c| c.split('/').nth(3)).unwrap_or("")
    }

    /// What authorization needs to know of this request (see [`crate::iam_calls`]).
    fn call(&self, operation: &str) -> Call {
        let principal = self.header("x-amz-security-token").map(str::to_string);
        let service = self.signed_for().to_string();
        let (path, query) = self.path.split_once('?').unwrap_or((&self.path, ""));
        let decode = |v: &str| {
            let v = v.replace('+', " ");
            urlencoding::decode(&v).map(|s| s.into_owned()).unwrap_or(v)
        };
        let form = self
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
        let form_body =
            if form { String::from_utf8_lossy(&self.body).into_owned() } else { String::new() };
        let params = query
            .split('&')
            .chain(form_body.split('&'))
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (decode(k), decode(v))
            })
            .collect();
        let small = self.body.len() < (1 << 20);
        let xml = |tag: &str| {
            let text = String::from_utf8_lossy(&self.body);
            let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
            let values: Vec<String> = text
                .split(open.as_str())
                .skip(1)
                .filter_map(|s| s.split(close.as_str()).next().map(str::to_string))
                .collect();
            values
        };
        // JSON protocols: named by header (awsJson) or by path (Security Hub's REST-JSON).
        let json = self.header("x-amz-target").is_some() || service == "securityhub";
        let body = if json && small {
            serde_json::from_slice(&self.body).unwrap_or_default()
        } else if service == "s3" && operation == "DeleteObjects" {
            let objects: Vec<serde_json::Value> = xml("Object")
                .iter()
                .map(|o| {
                    let field = |t: &str| {
                        o.split(&format!("<{t}>"))
                            .nth(1)
                            .and_then(|r| r.split('<').next())
                            .map(str::to_string)
                    };
                    serde_json::json!({"key": field("Key"), "version": field("VersionId")})
                })
                .collect();
            serde_json::json!({ "objects": objects })
        } else if service == "s3" && operation == "CreateBucket" {
            let lock = self.header("x-amz-bucket-object-lock-enabled");
            serde_json::json!({ "object_lock": lock.is_some_and(|v| v.eq_ignore_ascii_case("true")) })
        } else if service == "s3" && operation == "PutBucketEncryption" {
            serde_json::json!({ "kms_key": xml("KMSMasterKeyID").first() })
        } else if service == "s3" {
            let key = self.header("x-amz-server-side-encryption-aws-kms-key-id");
            serde_json::json!({ "kms_key": key })
        } else {
            serde_json::Value::Null
        };
        Call {
            principal,
            service,
            operation: operation.to_string(),
            path: path.to_string(),
            params,
            body,
            status: 0,
            answer: serde_json::Value::Null,
        }
    }
}

/// Security Hub's REST-JSON operations the functions and tests use, by method and path.
fn securityhub_operation(method: &str, path: &str) -> String {
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    match (method, path) {
        ("POST", "/findings/import") => "BatchImportFindings".into(),
        ("POST", "/findings") => "GetFindings".into(),
        _ => format!("securityhub {method} {path}"),
    }
}

/// The S3 REST operations the provisioner uses, by method and sub-resource.
fn s3_operation(method: &str, path: &str) -> String {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    // The SDK names many operations itself: `?x-id=PutObject`.
    if let Some(op) = query.split('&').find_map(|q| q.strip_prefix("x-id=")) {
        return op.to_string();
    }
    let sub = query.split('&').next().unwrap_or("").split('=').next().unwrap_or("");
    let has_key =
        path.trim_start_matches('/').split_once('/').is_some_and(|(_, key)| !key.is_empty());
    let name = match (method, sub, has_key) {
        ("PUT", "", false) => "CreateBucket",
        ("PUT", "encryption", _) => "PutBucketEncryption",
        ("PUT", "versioning", _) => "PutBucketVersioning",
        ("PUT", "publicAccessBlock", _) => "PutPublicAccessBlock",
        ("PUT", "policy", _) => "PutBucketPolicy",
        ("PUT", "object-lock", false) => "PutObjectLockConfiguration",
        ("GET", "object-lock", false) => "GetObjectLockConfiguration",
        ("PUT", "notification", false) => "PutBucketNotificationConfiguration",
        ("PUT", "tagging", false) => "PutBucketTagging",
        ("GET", "tagging", false) => "GetBucketTagging",
        ("DELETE", "", false) => "DeleteBucket",
        ("DELETE", "policy", false) => "DeleteBucketPolicy",
        ("GET", "policy", false) => "GetBucketPolicy",
        ("GET", "versions", false) => "ListObjectVersions",
        ("GET", "list-type", false) => "ListObjectsV2",
        ("POST", "delete", false) => "DeleteObjects",
        ("PUT", _, true) => "PutObject",
        ("GET", _, true) => "GetObject",
        ("HEAD", _, true) => "HeadObject",
        ("DELETE", _, true) => "DeleteObject",
        _ => "S3Other",
    };
    name.to_string()
}

fn injected_error(request: &HttpRequest, operation: &str) -> (String, Vec<u8>) {
    let message = format!("{operation} rejected by the test harness");
    if request.header("x-amz-target").is_some() || request.signed_for() == "securityhub" {
        let body = format!("{{\"__type\":\"InjectedFailure\",\"message\":\"{message}\"}}");
        return ("application/x-amz-json-1.1".into(), body.into_bytes());
    }
    let body = String::from_utf8_lossy(&request.body);
    if body.contains("Version=2016-11-15") {
        let xml = format!("<Response><Errors><Error><Code>InjectedFailure</Code><Message>{message}</Message></Error></Errors><RequestID>x</RequestID></Response>");
        return ("text/xml".into(), xml.into_bytes());
    }
    if body.contains("Action=") {
        let xml = format!("<ErrorResponse><Error><Type>Sender</Type><Code>InjectedFailure</Code><Message>{message}</Message></Error><RequestId>x</RequestId></ErrorResponse>");
        return ("text/xml".into(), xml.into_bytes());
    }
    let xml = format!("<Error><Code>InjectedFailure</Code><Message>{message}</Message></Error>");
    ("application/xml".into(), xml.into_bytes())
}

fn serve(
    stream: TcpStream,
    upstream: SocketAddr,
    state: &Mutex<ProxyState>,
) -> std::io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader)? {
        if request.path.starts_with("/cfn-response/") {
            let captured = CapturedResponse {
                path: request.path.clone(),
                content_type: request.header("content-type").map(str::to_string),
                body: request.body.clone(),
            };
            state.lock().expect("state").responses.push(captured);
            reply(&mut writer, "200 OK", "text/plain", b"")?;
            continue;
        }
        let operation = request.operation();
        let call = request.call(&operation);
        let index = {
            let mut s = state.lock().expect("state");
            s.calls.push(call);
            s.calls.len() - 1
        };
        let answered = |status: u16, body: &[u8]| {
            let mut s = state.lock().expect("state");
            let call = &mut s.calls[index];
            call.status = status;
            call.answer = iam_calls::answer(&call.service, &call.operation, body);
        };
        let injected = {
            let mut s = state.lock().expect("state");
            s.seen.push(operation.clone());
            let hit = s.fail.as_deref() == Some(operation.as_str());
            if hit {
                s.failed += 1;
            }
            hit
        };
        if injected {
            let (content_type, body) = injected_error(&request, &operation);
            answered(400, &body);
            reply(&mut writer, "400 Bad Request", &content_type, &body)?;
            continue;
        }
        if operation == "DescribeInstanceInformation" {
            let body = describe_instance_information(&request, state);
            answered(200, body.as_bytes());
            reply(&mut writer, "200 OK", "application/x-amz-json-1.1", body.as_bytes())?;
            continue;
        }
        if operation == "GetCalendarState"
            || operation == "DescribeAutomationExecutions"
            || operation == "GetAutomationExecution"
        {
            let asked: serde_json::Value =
                serde_json::from_slice(&request.body).unwrap_or_default();
            let (status, body) = {
                let s = state.lock().expect("state");
                if operation == "GetCalendarState" {
                    crate::doubles::get_calendar_state(&asked, &s.calendars)
                } else {
                    crate::doubles::automation(&operation, &asked, &s.automations)
                }
            };
            answered(status, body.as_bytes());
            let line = if status == 200 { "200 OK" } else { "400 Bad Request" };
            reply(&mut writer, line, "application/x-amz-json-1.1", body.as_bytes())?;
            continue;
        }
        let rewritten = {
            let mut s = state.lock().expect("state");
            crate::doubles::change_calendar_write(&operation, &request.body, &mut s.calendars)
        };
        let request = match rewritten {
            None => request,
            Some(body) => {
                let mut r = request;
                for (k, v) in r.headers.iter_mut() {
                    if k.eq_ignore_ascii_case("content-length") {
                        *v = body.len().to_string();
                    }
                }
                r.body = body;
                r
            }
        };
        if operation == "PutEvaluations" {
            // moto keeps no evaluations (it answers only TestMode requests): kept here.
            let asked: serde_json::Value =
                serde_json::from_slice(&request.body).unwrap_or_default();
            state.lock().expect("state").evaluations.push(asked);
            let body = br#"{"FailedEvaluations":[]}"#;
            answered(200, body);
            reply(&mut writer, "200 OK", "application/x-amz-json-1.1", body)?;
            continue;
        }
        if operation == "DescribeStackResource" {
            let params = state.lock().expect("state").calls[index].params.clone();
            let (status, body) = {
                let s = state.lock().expect("state");
                crate::doubles::describe_stack_resource(&params, &s.stack_resources)
            };
            answered(status, body.as_bytes());
            let line = if status == 200 { "200 OK" } else { "400 Bad Request" };
            reply(&mut writer, line, "text/xml", body.as_bytes())?;
            continue;
        }
        if operation == "PutDataProtectionPolicy" || operation == "GetDataProtectionPolicy" {
            let asked: serde_json::Value =
                serde_json::from_slice(&request.body).unwrap_or_default();
            let (status, body) = {
                let mut s = state.lock().expect("state");
                crate::doubles::data_protection(&operation, &asked, &mut s.data_protection)
            };
            answered(status, body.as_bytes());
            let line = if status == 200 { "200 OK" } else { "400 Bad Request" };
            reply(&mut writer, line, "application/x-amz-json-1.1", body.as_bytes())?;
            continue;
        }
        if let Some(conflict) = policy_attachments(&request, &operation, state) {
            answered(409, conflict.as_bytes());
            reply(&mut writer, "409 Conflict", "text/xml", conflict.as_bytes())?;
            continue;
        }
        {
            let mut s = state.lock().expect("state");
            s.in_flight += 1;
            s.max_in_flight = s.max_in_flight.max(s.in_flight);
        }
        let forwarded = forward(&request, upstream, &mut writer);
        state.lock().expect("state").in_flight -= 1;
        let (status, body) = forwarded?;
        answered(status, &body);
    }
    Ok(())
}

/// IAM's DeleteConflict, which moto lacks: attachments of managed policies are tracked from the
/// Attach/Detach calls seen, and DeletePolicy of a policy still attached is refused (the
/// error document IAM sends). `None`: forward the request.
fn policy_attachments(
    request: &HttpRequest,
    operation: &str,
    state: &Mutex<ProxyState>,
) -> Option<String> {
    const TRACKED: [&str; 7] = [
        "AttachUserPolicy",
        "AttachGroupPolicy",
        "AttachRolePolicy",
        "DetachUserPolicy",
        "DetachGroupPolicy",
        "DetachRolePolicy",
        "DeletePolicy",
    ];
    // Only IAM's small form bodies are read (an S3 upload through here can be 200 MiB).
    if !TRACKED.contains(&operation) {
        return None;
    }
    let form = String::from_utf8_lossy(&request.body).to_string();
    let param = |name: &str| {
        form.split('&').find_map(|p| p.strip_prefix(&format!("{name}="))).map(|v| {
            urlencoding::decode(&v.replace('+', " ")).map(|s| s.into_owned()).unwrap_or_default()
        })
    };
    let policy = param("PolicyArn")?;
    let entity = || {
        ["UserName", "GroupName", "RoleName"]
            .iter()
            .find_map(|k| param(k).map(|v| format!("{k}={v}")))
            .unwrap_or_default()
    };
    let mut s = state.lock().expect("state");
    match operation {
        "AttachUserPolicy" | "AttachGroupPolicy" | "AttachRolePolicy" => {
            s.attachments.entry(policy).or_default().insert(entity());
            None
        }
        "DetachUserPolicy" | "DetachGroupPolicy" | "DetachRolePolicy" => {
            s.attachments.entry(policy).or_default().remove(&entity());
            None
        }
        "DeletePolicy" if s.attachments.get(&policy).is_some_and(|a| !a.is_empty()) => Some(format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>DeleteConflict</Code><Message>Cannot delete a policy attached to entities ({policy}).</Message></Error><RequestId>x</RequestId></ErrorResponse>"
        )),
        _ => None,
    }
}

/// The double: every instance asked about (the `InstanceIds` filter's values) is `Online` once
/// enough polls have been made, except those a test said are not managed.
fn describe_instance_information(request: &HttpRequest, state: &Mutex<ProxyState>) -> String {
    let asked: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or_default();
    let filters = asked["Filters"].as_array().cloned().unwrap_or_default();
    let asked_for: Vec<String> = filters
        .iter()
        .filter(|f| f["Key"] == "InstanceIds")
        .flat_map(|f| f["Values"].as_array().cloned().unwrap_or_default())
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    let mut s = state.lock().expect("state");
    s.registration_polls += 1;
    let online = s.online_after.is_some_and(|n| s.registration_polls >= n);
    let list: Vec<serde_json::Value> = asked_for
        .iter()
        .filter(|i| online && !s.unmanaged.contains(*i))
        .map(|i| serde_json::json!({"InstanceId": i, "PingStatus": "Online", "AgentVersion": "3.3.1957.0", "PlatformType": "Linux"}))
        .collect();
    serde_json::json!({"InstanceInformationList": list}).to_string()
}

/// Relay `request` to moto and its answer to the client; returns the status and body.
fn forward(
    request: &HttpRequest,
    upstream: SocketAddr,
    client: &mut TcpStream,
) -> std::io::Result<(u16, Vec<u8>)> {
    let mut up = TcpStream::connect(upstream)?;
    write!(up, "{} {} HTTP/1.1\r\n", request.method, request.path)?;
    for (k, v) in &request.headers {
        if !k.eq_ignore_ascii_case("connection") {
            write!(up, "{k}: {v}\r\n")?;
        }
    }
    write!(up, "Connection: close\r\n\r\n")?;
    up.write_all(&request.body)?;
    let mut response = Vec::new();
    up.read_to_end(&mut response)?;
    // Relay the response with framing the client can use on a kept-alive connection.
    let split =
        response.windows(4).position(|w| w == b"\r\n\r\n").map_or(response.len(), |i| i + 4);
    let (head, body) = response.split_at(split);
    let head = String::from_utf8_lossy(head);
    let mut lines = head.lines();
    let status_line = lines.next().unwrap_or("HTTP/1.1 502 Bad Gateway").to_string();
    let status = status_line.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(502);
    let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
    let body = if chunked { dechunk(body) } else { body.to_vec() };
    write!(client, "{status_line}\r\n")?;
    for line in lines {
        let lower = line.to_ascii_lowercase();
        if line.is_empty()
            || lower.starts_with("content-length")
            || lower.starts_with("transfer-encoding")
            || lower.starts_with("connection")
        {
            continue;
        }
        write!(client, "{line}\r\n")?;
    }
    let is_head = request.method == "HEAD";
    let length = if is_head {
        head.lines()
            .find_map(|l| {
                l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string())
            })
            .unwrap_or_else(|| "0".into())
    } else {
        body.len().to_string()
    };
    write!(client, "Content-Length: {length}\r\n\r\n")?;
    if !is_head {
        client.write_all(&body)?;
    }
    Ok((status, body))
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&data[..end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim().split(';').next().unwrap_or(""), 16).ok())
            .unwrap_or(0);
        data = &data[end + 2..];
        if size == 0 || data.len() < size {
            break;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[(size + 2).min(data.len())..];
    }
    out
}
