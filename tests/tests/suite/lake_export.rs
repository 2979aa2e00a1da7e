//! The lake-export function as its real binary, configured for Security Lake, against the
//! emulator: each OCSF class written into the lake's bucket with its own custom source's
//! provider role (assumed with the external ID), nothing into the log bucket, and a second run
//! with nothing newly digested writing nothing.

use aws_sdk_s3::primitives::ByteStream;
use serde_json::{json, Value};
use session_audit::analysis::{Analyzer, Input};
use session_audit::keys;
use session_audit_aws::Clients;
use session_audit_tests::digest_chain::Chain;
use session_audit_tests::local_aws::LocalAws;
use session_audit_tests::runtime_api::{
    deployed_env, emulator_env, function_binary, LambdaProcess,
};

const BUCKET: &str = "audit-bucket";
const LAKE: &str = "aws-security-data-lake-us-east-1-0123abcd";

async fn keys_under(clients: &Clients, bucket: &str, prefix: &str) -> Vec<String> {
    let listed = clients.s3.list_objects_v2().bucket(bucket).prefix(prefix).send().await.unwrap();
    listed.contents().iter().filter_map(|o| o.key().map(str::to_string)).collect()
}

#[tokio::test]
async fn each_class_goes_to_the_lake_through_its_own_custom_source_role() {
    let aws = LocalAws::start();
    let clients = Clients::with_path_style(&aws.sdk_config().await, true);
    for b in [BUCKET, LAKE] {
        clients.s3.create_bucket().bucket(b).send().await.unwrap();
    }
    let on = aws_sdk_s3::types::VersioningConfiguration::builder()
        .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
        .build();
    let versioning = clients.s3.put_bucket_versioning().bucket(BUCKET);
    versioning.versioning_configuration(on).send().await.unwrap();
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}]});
    let mut roles = Vec::new();
    for source in ["process", "finding", "auth"] {
        let made = clients
            .iam
            .create_role()
            .role_name(format!("AmazonSecurityLake-Provider-session-audit-{source}"))
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .unwrap();
        roles.push(made.role().unwrap().arn().to_string());
    }
    // A session's report, digested by the real audit-digest binary.
    let session = "ana-0a1b2c3d4e5f60718";
    let transcript =
        std::fs::read(session_audit_tests::fixture("recorded/al2023_sh_risky.log")).unwrap();
    let input = Input { session_id: Some(session.into()), ..Input::default() };
    let mut report = Analyzer::default().analyze_bytes(&transcript, input);
    report.identity =
        Some(json!({"principal": "Admin/ana", "person": "ana", "account": "123456789012"}));
    report.target = Some(
        json!({"instance_id": "i-0123456789abcdef0", "region": "us-east-1", "account": "123456789012"}),
    );
    let key =
        keys::report("2026-12-05", &session_audit_tests::local_session(session), "json").unwrap();
    let body = ByteStream::from(serde_json::to_vec(&report).unwrap());
    clients.s3.put_object().bucket(BUCKET).key(&key).body(body).send().await.unwrap();
    let mut chain = Chain::start(&aws, &clients, &emulator_env(&aws), BUCKET).await;
    chain.advance(2);

    let mut env = emulator_env(&aws);
    env.push(("AUDIT_BUCKET", BUCKET.into()));
    env.push(("SECURITY_LAKE_BUCKET", LAKE.into()));
    env.push(("SECURITY_LAKE_PROCESS_ROLE", roles[0].clone()));
    env.push(("SECURITY_LAKE_FINDING_ROLE", roles[1].clone()));
    env.push(("SECURITY_LAKE_AUTH_ROLE", roles[2].clone()));
    env.push(("SECURITY_LAKE_EXTERNAL_ID", "session-audit-ext".into()));
    let mut export = LambdaProcess::start(
        &function_binary("lake-export"),
        &deployed_env(&aws, "LakeExportFunction", env, &[]),
    );
    let answer: Value = export.invoke(&json!({})).expect("exported");
    assert_eq!(answer["reports"], 1, "{answer}");
    let written = keys_under(&clients, LAKE, "ext/").await;
    for source in ["session-audit-process", "session-audit-finding"] {
        assert!(
            written.iter().any(|k| k
                .starts_with(&format!("ext/{source}/region=us-east-1/accountId=123456789012/"))),
            "{source}: {written:?}"
        );
    }
    assert!(keys_under(&clients, BUCKET, "ocsf/").await.is_empty(), "nothing in the log bucket");
    let assumed = aws.operations().iter().filter(|o| *o == "AssumeRole").count();
    assert_eq!(assumed, 3, "one provider role per class");
    for k in &written {
        let got = clients.s3.get_object().bucket(LAKE).key(k).send().await.unwrap();
        let bytes = got.body.collect().await.unwrap().into_bytes().to_vec();
        for e in session_audit_lake::decode(bytes).unwrap() {
            let p = session_audit_tests::ocsf_schema::problems(&e);
            assert!(p.is_empty(), "{k}: {p:?}");
        }
    }
    // Nothing newly digested: nothing written.
    let again: Value = export.invoke(&json!({})).expect("exported");
    assert_eq!(again["objects"], json!([]), "{again}");
}
