//! The least-privilege proof: every call a function made against the emulator, as IAM would
//! authorize it ([`crate::iam_calls`]), evaluated against that function's policy as written in
//! template.yaml for the deployment the test ran ([`crate::template::Stack`]).
//!
//! Each emulator scenario checks its own calls when its [`crate::local_aws::LocalAws`] drops,
//! and writes them to `target/iam-calls/`; `iam-proof` (run by `make test` after the tests)
//! reads them all and runs the mutation check: dropping any one statement, or any one action
//! of a statement, must deny some recorded call, which it names.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::iam_calls::Needed;
use crate::iam_policy::{evaluate, Decision};
use crate::template::Stack;

/// One function as a test deployed it, and what its calls needed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Deployment {
    /// The template's logical ID (`SessionStartFunction`).
    pub function: String,
    /// Template parameters and custom-resource answers (`AccessPath.BucketName`).
    pub params: Vec<(String, String)>,
    pub needed: Vec<Needed>,
}

impl Deployment {
    /// The function's policies in the template as deployed, one entry per element of its
    /// `Policies` list (`None` where a condition left it out), so statements keep their place
    /// across deployments.
    pub fn policies(&self) -> Vec<Option<Value>> {
        let overrides: Vec<(&str, &str)> =
            self.params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let stack = Stack::new(&overrides);
        let listed = &stack.template["Resources"][self.function.as_str()]["Properties"]["Policies"];
        let listed = listed.as_sequence().expect("Policies");
        listed.iter().map(|p| Some(stack.resolve(p)).filter(|v| !v.is_null())).collect()
    }

    /// Every recorded call `policies` would deny, with the decision.
    pub fn denied(&self, policies: &[Option<Value>]) -> Vec<(&Needed, Decision)> {
        let policies: Vec<Value> = policies.iter().flatten().cloned().collect();
        self.needed
            .iter()
            .map(|n| (n, evaluate(&policies, &n.request())))
            .filter(|(_, d)| !d.allowed())
            .collect()
    }
}

/// One line per denied call, for a test failure.
pub fn explain(function: &str, denied: &[(&Needed, Decision)]) -> String {
    let lines: Vec<String> = denied
        .iter()
        .map(|(n, d)| {
            let context: Vec<String> = n.context.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!(
                "  {function}: {} on {} [{}] for {} -> {d:?}",
                n.action,
                n.resource,
                context.join(", "),
                n.call
            )
        })
        .collect();
    lines.join("\n")
}

/// `target/iam-calls`: where each scenario leaves its deployments for `iam-proof`.
pub fn record_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("CARGO_TARGET_DIR") {
        return PathBuf::from(dir).join("iam-calls");
    }
    // target/<profile>/deps/<exe> or target/<profile>/<exe>
    let exe = std::env::current_exe().expect("own executable");
    let mut dir = exe.parent().expect("exe dir").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.pop();
    dir.join("iam-calls")
}

/// Write one scenario's deployments, named after the test (its thread) and the process.
pub fn write(deployments: &[Deployment]) {
    if deployments.is_empty() {
        return;
    }
    let dir = record_dir();
    std::fs::create_dir_all(&dir).expect("iam-calls dir");
    let thread = std::thread::current();
    let name: String = thread
        .name()
        .unwrap_or("scenario")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '-' })
        .collect();
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = dir.join(format!("{name}.{}.{n}.json", std::process::id()));
    std::fs::write(path, serde_json::to_vec(deployments).expect("json")).expect("write iam-calls");
}

/// The user policy's proof (issue 30), which `iam-proof` prints: the policy the provisioner
/// writes for a stack with remote destinations and approvers, evaluated for StartSession with
/// every document (only the stack's allowed), on instances by tags (a protected one only while
/// an approval tags it for the caller), and for asking an approval (the stack's runbook, its
/// role passed to Systems Manager only). Returns a one-line account, or every wrong decision.
pub fn user_policy_proof() -> Result<String, Vec<String>> {
    use crate::iam_policy::Request;
    use session_audit::provisioner::policies;
    let (p, place, n) = crate::template::provisioned(&[
        ("NamePrefix", "sa"),
        ("RemoteDestinations", "db.internal:5432"),
        ("Approvers", "arn:aws:iam::123456789012:user/bob"),
    ]);
    let policy = policies::user_policy(&p, &place);
    let arn = |service: &str, resource: &str| {
        format!("arn:aws:{service}:us-east-1:123456789012:{resource}")
    };
    let start = |resource: String, context: &[(&str, &str)]| {
        context.iter().fold(Request::new("ssm:StartSession", &resource), |r, (k, v)| r.with(k, v))
    };
    let mut cases: Vec<(String, Request, bool)> = Vec::new();
    for d in p.catalog.allowed() {
        cases.push((
            format!("document {d}"),
            start(arn("ssm", &format!("document/{d}")), &[]),
            true,
        ));
    }
    for d in [
        "AWS-StartPortForwardingSession",
        "AWS-StartPortForwardingSessionToRemoteHost",
        "AWS-StartSSHSession",
        "AWS-StartInteractiveCommand",
        "AWS-StartNonInteractiveCommand",
        "sa-Other",
        "other-Shell",
    ] {
        let resource = if d.starts_with("AWS-") {
            format!("arn:aws:ssm:us-east-1::document/{d}")
        } else {
            arn("ssm", &format!("document/{d}"))
        };
        cases.push((format!("document {d}"), start(resource, &[]), false));
    }
    let instance = arn("ec2", "instance/i-0abc");
    let tag = ("ssm:resourceTag/Purpose", "SessionManagerTesting");
    let protected = ("ssm:resourceTag/Protected", "true");
    let approved = ("ssm:resourceTag/SessionAuditApprovedFor", "ana");
    for (what, context, allowed) in [
        ("tagged instance", vec![tag], true),
        ("untagged instance", vec![], false),
        ("protected, no approval", vec![tag, protected, ("aws:username", "ana")], false),
        (
            "protected, approved for the caller",
            vec![tag, protected, approved, ("aws:username", "ana")],
            true,
        ),
        (
            "protected, approved for a role session",
            vec![
                tag,
                protected,
                ("ssm:resourceTag/SessionAuditApprovedFor", "AROAX:ana"),
                ("aws:userid", "AROAX:ana"),
            ],
            true,
        ),
        (
            "protected, approved for someone else",
            vec![tag, protected, approved, ("aws:username", "carl")],
            false,
        ),
        (
            "approved but not access-tagged",
            vec![protected, approved, ("aws:username", "ana")],
            false,
        ),
    ] {
        cases.push((what.to_string(), start(instance.clone(), &context), allowed));
    }
    let runbook = arn("ssm", &format!("automation-definition/{}:$DEFAULT", n.approval_runbook));
    cases.push((
        "start the approval runbook".into(),
        Request::new("ssm:StartAutomationExecution", &runbook),
        true,
    ));
    let other = arn("ssm", "automation-definition/AWS-RestartEC2Instance:$DEFAULT");
    cases.push((
        "start another runbook".into(),
        Request::new("ssm:StartAutomationExecution", &other),
        false,
    ));
    let role = format!("arn:aws:iam::123456789012:role/{}", n.approval_role);
    let pass =
        |service: &str| Request::new("iam:PassRole", &role).with("iam:PassedToService", service);
    cases.push((
        "pass the approval role to Systems Manager".into(),
        pass("ssm.amazonaws.com"),
        true,
    ));
    cases.push(("pass the approval role to EC2".into(), pass("ec2.amazonaws.com"), false));
    cases.push((
        "tag an instance".into(),
        Request::new("ec2:CreateTags", &instance).with(approved.0, approved.1),
        false,
    ));
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|(what, req, allowed)| {
            let decision = evaluate(std::slice::from_ref(&policy), req);
            (decision.allowed() != *allowed).then(|| {
                format!(
                    "  user policy: {what}: expected {}, got {decision:?}",
                    if *allowed { "allowed" } else { "denied" }
                )
            })
        })
        .collect();
    if wrong.is_empty() {
        let allowed = cases.iter().filter(|(_, _, a)| *a).count();
        Ok(format!("user policy: {} requests, {allowed} allowed as designed, {} refused (other documents, untagged or unapproved protected instances, other runbooks, the approval tag)", cases.len(), cases.len() - allowed))
    } else {
        Err(wrong)
    }
}
