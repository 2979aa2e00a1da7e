//! The least-privilege proof's second half (`make test` runs it after the tests): every call
//! every emulator scenario recorded (`target/iam-calls/`, written as each scenario ends) is
//! allowed by its function's policy in template.yaml, and every statement and every action of a
//! statement is needed: dropping it denies a recorded call, which is named. A grant no scenario
//! exercises must be listed in [`UNEXERCISED`] with the reason the emulator cannot reach it.
//! Then the user policy the provisioner writes is evaluated for what people may and may not do
//! with it ([`session_audit_tests::least_privilege::user_policy_proof`]), and the hub's bucket
//! and key policies for what the organization's accounts may and may not do
//! ([`session_audit_tests::organization_proof::organization_proof`]).

use std::collections::BTreeMap;
use std::process::ExitCode;

use serde_json::Value;
use session_audit_tests::least_privilege::{explain, record_dir, Deployment};

/// Grants no emulator scenario can exercise, with why each is still needed: (function, the
/// statement's Sid, or "Sid action", reason).
const UNEXERCISED: &[(&str, &str, &str)] = &[
    (
        "ProvisionerFunction",
        "TranscriptLogGroup logs:AssociateKmsKey",
        "a retained log group of ours under another key (KmsKeyArn changed between deployments) \
         is re-keyed in place; moto does not implement AssociateKmsKey",
    ),
    (
        "SessionStartFunction",
        "ManagedNodeTagsAndDocuments ssm:ListTagsForResource",
        "sessions to hybrid managed nodes (mi-…) take their tags from SSM; moto cannot register \
         a managed node",
    ),
];

/// A grant: the function, its place in `Policies` and `Statement`, and one action or all.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Grant {
    function: String,
    policy: usize,
    statement: usize,
    sid: String,
    action: Option<String>,
}

impl Grant {
    fn name(&self) -> String {
        let what = self.action.clone().unwrap_or_else(|| "the whole statement".into());
        format!("{} {} ({what})", self.function, self.sid)
    }

    /// `policies` without this grant.
    fn drop_from(&self, policies: &[Option<Value>]) -> Vec<Option<Value>> {
        let mut out = policies.to_vec();
        let Some(Some(policy)) = out.get_mut(self.policy) else { return out };
        let Some(statements) = policy["Statement"].as_array_mut() else { return out };
        match &self.action {
            None => {
                statements.remove(self.statement);
            }
            Some(action) => {
                if let Some(list) = statements[self.statement]["Action"].as_array_mut() {
                    list.retain(|a| a.as_str() != Some(action));
                }
            }
        }
        out
    }
}

fn grants(function: &str, policies: &[Option<Value>]) -> Vec<Grant> {
    let mut out = Vec::new();
    for (p, policy) in policies.iter().enumerate() {
        let Some(policy) = policy else { continue };
        for (s, statement) in policy["Statement"].as_array().into_iter().flatten().enumerate() {
            let sid = statement["Sid"].as_str().map_or_else(|| format!("#{p}.{s}"), str::to_string);
            let grant = |action: Option<String>| Grant {
                function: function.to_string(),
                policy: p,
                statement: s,
                sid: sid.clone(),
                action,
            };
            out.push(grant(None));
            let actions = statement["Action"].as_array().cloned().unwrap_or_default();
            if actions.len() > 1 {
                out.extend(
                    actions.iter().filter_map(|a| a.as_str()).map(|a| grant(Some(a.into()))),
                );
            }
        }
    }
    out
}

fn main() -> ExitCode {
    let dir = record_dir();
    let mut deployments: Vec<Deployment> = Vec::new();
    let mut scenarios = 0;
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let text = std::fs::read(entry.path()).expect("read a scenario");
        let mut listed: Vec<Deployment> = serde_json::from_slice(&text).expect("scenario json");
        deployments.append(&mut listed);
        scenarios += 1;
    }
    let mut failures = Vec::new();
    let calls: usize = deployments.iter().map(|d| d.needed.len()).sum();
    println!(
        "iam-proof: {scenarios} scenarios, {} deployments, {calls} authorizations from {}",
        deployments.len(),
        dir.display()
    );

    // 1. Everything recorded is allowed.
    let policies: Vec<Vec<Option<Value>>> = deployments.iter().map(Deployment::policies).collect();
    for (d, p) in deployments.iter().zip(&policies) {
        let denied = d.denied(p);
        if !denied.is_empty() {
            failures.push(format!("denied as written:\n{}", explain(&d.function, &denied)));
        }
    }

    // 2. Every grant is needed: the first call its removal denies, per grant.
    let mut needed_by: BTreeMap<Grant, Option<String>> = BTreeMap::new();
    for (d, p) in deployments.iter().zip(&policies) {
        for grant in grants(&d.function, p) {
            let entry = needed_by.entry(grant.clone()).or_default();
            if entry.is_some() {
                continue;
            }
            if let Some((call, _)) = d.denied(&grant.drop_from(p)).first() {
                *entry = Some(format!("{} on {} for {}", call.action, call.resource, call.call));
            }
        }
    }
    let functions: std::collections::BTreeSet<&str> =
        deployments.iter().map(|d| d.function.as_str()).collect();
    let stack = session_audit_tests::template::Stack::new(&[]);
    for f in stack.functions() {
        if !functions.contains(f.as_str()) {
            failures.push(format!("no scenario recorded a call of {f}: run `cargo test` first"));
        }
    }
    for (grant, call) in &needed_by {
        let named = grant.action.as_ref().map(|a| format!("{} {a}", grant.sid));
        let excused = UNEXERCISED.iter().find(|(f, what, _)| {
            *f == grant.function && (*what == grant.sid || Some(*what) == named.as_deref())
        });
        match (call, excused) {
            (Some(call), None) => println!("  needed  {}: dropping it denies {call}", grant.name()),
            (None, Some((_, _, why))) => println!("  kept    {}: {why}", grant.name()),
            (None, None) => failures.push(format!(
                "{} is granted but no recorded call needs it: remove it, add a scenario that \
                 needs it, or list it in UNEXERCISED with the reason",
                grant.name()
            )),
            (Some(call), Some(_)) => failures.push(format!(
                "{} is listed in UNEXERCISED but a scenario needs it ({call}): unlist it",
                grant.name()
            )),
        }
    }
    // 3. The user policy people are given lets them use only what the stack sanctions.
    match session_audit_tests::least_privilege::user_policy_proof() {
        Ok(line) => println!("  {line}"),
        Err(wrong) => {
            failures.push(format!("the user policy decides wrongly:\n{}", wrong.join("\n")))
        }
    }
    // 4. The hub's bucket and key admit the organization's accounts to their own folders only.
    match session_audit_tests::organization_proof::organization_proof() {
        Ok(line) => println!("  {line}"),
        Err(wrong) => failures
            .push(format!("the hub's bucket or key policy decides wrongly:\n{}", wrong.join("\n"))),
    }
    if failures.is_empty() {
        println!("iam-proof: every call allowed, every grant needed or explained");
        ExitCode::SUCCESS
    } else {
        for f in &failures {
            eprintln!("iam-proof: {f}");
        }
        eprintln!("iam-proof: {} problems", failures.len());
        ExitCode::FAILURE
    }
}
