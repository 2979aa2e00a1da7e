//! The digest chain in the local pipeline: the test plays CloudFormation and makes the stack's
//! signing key in the emulator (ECC_NIST_P256, SIGN_VERIFY, as template.yaml declares it), the
//! real audit-digest binary starts the chain before the sessions and extends it after them
//! (as hourly runs a few hours later would), and the bucket, exported as an auditor would
//! download it, is checked offline by the real `session-audit verify` with the published
//! public key — so the emulator's KMS signatures (DER, either S) are what is verified.

use std::path::{Path, PathBuf};
use std::process::Command;

use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use jiff::{SignedDuration, Timestamp};
use serde_json::{json, Value};
use session_audit_aws::Clients;

use crate::local_aws::LocalAws;
use crate::runtime_api::{deployed_env, function_binary, LambdaProcess};

/// What the chain showed.
#[derive(Debug)]
pub struct ChainOutcome {
    /// The function's answers: the first run, then the run hours later.
    pub runs: [Value; 2],
    /// `session-audit verify --json` of the export, and its exit code.
    pub verify: (Value, i32),
    /// The same after one report in the export was edited.
    pub tampered: (Value, i32),
}

/// The audit-digest function, deployed with its own signing key.
pub struct Chain {
    process: LambdaProcess,
    bucket: String,
    now: Timestamp,
    first: Value,
}

impl Chain {
    /// Make the signing key, start the function and run it once (the chain's first digest).
    pub async fn start(
        aws: &LocalAws,
        clients: &Clients,
        env: &[(&'static str, String)],
        bucket: &str,
    ) -> Chain {
        let key = clients
            .kms
            .create_key()
            .key_spec(KeySpec::EccNistP256)
            .key_usage(KeyUsageType::SignVerify)
            .description("Session Audit (local): signs the hourly digests")
            .send()
            .await
            .expect("signing key");
        let arn = key.key_metadata().and_then(|m| m.arn()).expect("key ARN").to_string();
        let mut env = env.to_vec();
        env.push(("AUDIT_BUCKET", bucket.to_string()));
        env.push(("DIGEST_SIGNING_KEY", arn));
        let env = deployed_env(aws, "AuditDigestFunction", env, &[]);
        let mut process = LambdaProcess::start(&function_binary("audit-digest"), &env);
        let now = Timestamp::now();
        let first = process.invoke(&json!({"as_of": now.to_string()})).expect("first digest");
        Chain { process, bucket: bucket.to_string(), now, first }
    }

    /// Run again as the schedule would `hours` after the start; the function's answer.
    pub fn advance(&mut self, hours: i64) -> Value {
        let later = self.now + SignedDuration::from_hours(hours);
        self.process.invoke(&json!({"as_of": later.to_string()})).expect("digests")
    }

    /// Run again as the schedule would `hours` later, export the bucket to `dir` and verify it.
    pub async fn extend_and_verify(
        mut self,
        clients: &Clients,
        hours: i64,
        dir: &Path,
    ) -> ChainOutcome {
        let later = self.now + SignedDuration::from_hours(hours);
        let second = self.process.invoke(&json!({"as_of": later.to_string()})).expect("digests");
        let _ = std::fs::remove_dir_all(dir);
        export(clients, &self.bucket, dir).await;
        let until = session_audit::audit_digest::hour_of(later - SignedDuration::from_mins(10));
        let pem = public_key(dir);
        let verify = run_verify(dir, &pem, &until.to_string());
        // An auditor's copy in which one report was edited after the fact.
        let report = first_key_under(dir, "audit/reports/").expect("a report in the export");
        let text = std::fs::read_to_string(&report).unwrap();
        std::fs::write(&report, text.replacen("NON_COMPLIANT", "COMPLIANT", 1) + " ").unwrap();
        let tampered = run_verify(dir, &pem, &until.to_string());
        ChainOutcome { runs: [self.first, second], verify, tampered }
    }
}

/// Every current object of `bucket` under `dir`, by key (an auditor's download).
async fn export(clients: &Clients, bucket: &str, dir: &Path) {
    let mut pages = clients.s3.list_objects_v2().bucket(bucket).into_paginator().send();
    while let Some(page) = pages.next().await {
        for object in page.expect("list").contents() {
            let key = object.key().unwrap();
            let got = clients.s3.get_object().bucket(bucket).key(key).send().await.expect("get");
            let bytes = got.body.collect().await.expect("body").into_bytes();
            let path = dir.join(key);
            std::fs::create_dir_all(path.parent().unwrap()).expect("export folder");
            std::fs::write(path, bytes).expect("export");
        }
    }
}

/// The one published public key.
fn public_key(dir: &Path) -> PathBuf {
    let keys = dir.join(session_audit::keys::digest_public_key("x", "x"));
    let folder = keys.parent().unwrap();
    let mut pems: Vec<PathBuf> =
        std::fs::read_dir(folder).expect("public keys").flatten().map(|e| e.path()).collect();
    assert_eq!(pems.len(), 1, "one signing key: {pems:?}");
    pems.remove(0)
}

fn first_key_under(dir: &Path, prefix: &str) -> Option<PathBuf> {
    let mut stack = vec![dir.join(prefix)];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            let mut entries: Vec<PathBuf> =
                std::fs::read_dir(&path).ok()?.flatten().map(|e| e.path()).collect();
            entries.sort();
            stack.extend(entries.into_iter().rev());
        } else if path.extension().is_some_and(|e| e == "json") {
            return Some(path);
        }
    }
    None
}

fn run_verify(dir: &Path, pem: &Path, until: &str) -> (Value, i32) {
    let out = Command::new(function_binary("session-audit"))
        .arg("verify")
        .arg(dir)
        .arg("--public-key")
        .arg(pem)
        .args(["--until", until, "--json"])
        .output()
        .expect("session-audit verify runs");
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("verify --json: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    (json, out.status.code().unwrap_or(-1))
}
