use serde_json::json;

use super::*;
use crate::config_evaluation::{Ingress, InstanceFacts};
use crate::ports::compliance::MemCompliance;
use crate::ports::sink::MemSink;
use crate::ports::store::{block_on, MemStore};
use crate::session::findings::StartConfig;

const ACCOUNT: &str = "123456789012";

fn instance(id: &str) -> InstanceFacts {
    InstanceFacts {
        instance_id: id.into(),
        state: "running".into(),
        managed_online: true,
        groups: vec!["sg-0aaa".into()],
        tags: vec![("Purpose".into(), "SessionManagerTesting".into())],
        ingress: Vec::new(),
        imds_v2_required: true,
        profile_policies: Some(vec!["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore".into()]),
    }
}

fn open_ssh(mut f: InstanceFacts) -> InstanceFacts {
    f.ingress.push(Ingress {
        group_id: "sg-0aaa".into(),
        protocol: "tcp".into(),
        ports: Some((22, 22)),
        sources: vec!["0.0.0.0/0".into()],
    });
    f
}

fn preferences() -> Value {
    json!({"inputs": {"s3BucketName": "audit-bucket", "s3KeyPrefix": "session-logs",
        "s3EncryptionEnabled": true, "cloudWatchLogGroupName": "/session-audit/sessions",
        "cloudWatchEncryptionEnabled": true, "cloudWatchStreamingEnabled": true,
        "idleSessionTimeout": "20", "maxSessionDuration": "480", "kmsKeyId": "",
        "runAsEnabled": false, "shellProfile": {"windows": "", "linux": ""}}})
}

fn rule(
    instances: Vec<InstanceFacts>,
    prefs: Option<Value>,
) -> ConfigRule<MemCompliance, MemCompliance, MemStore, MemSink> {
    let facts = MemCompliance { instances, preferences: prefs, ..Default::default() };
    ConfigRule {
        facts,
        results: MemCompliance::default(),
        store: MemStore::default(),
        sink: MemSink::default(),
        pack: RulePack::builtin(),
        options: RuleOptions {
            expected: PreferencesExpected {
                start: StartConfig::example("audit-bucket", "session-logs/"),
                max_session_minutes: 480,
                idle_minutes: 20,
                require_kms: false,
            },
            scope_tag: None,
            region: "us-east-1".into(),
        },
    }
}

fn scheduled(token: &str) -> Value {
    json!({
        "invokingEvent": json!({"messageType": "ScheduledNotification", "awsAccountId": ACCOUNT,
            "notificationCreationTime": "2026-11-24T00:00:00.000Z"}).to_string(),
        "resultToken": token, "eventLeftScope": false, "accountId": ACCOUNT,
        "configRuleName": "session-audit-access-path"
    })
}

fn changed(resource_type: &str, id: &str, status: &str) -> Value {
    json!({
        "invokingEvent": json!({"messageType": "ConfigurationItemChangeNotification",
            "configurationItem": {"resourceType": resource_type, "resourceId": id,
            "configurationItemStatus": status, "configurationItemCaptureTime": "2026-11-24T10:00:00.000Z",
            "awsAccountId": ACCOUNT}}).to_string(),
        "resultToken": "change-token", "eventLeftScope": false, "accountId": ACCOUNT,
        "configRuleName": "session-audit-access-path"
    })
}

fn verdicts(
    r: &ConfigRule<MemCompliance, MemCompliance, MemStore, MemSink>,
) -> Vec<(String, &'static str)> {
    r.results.evaluations().into_iter().map(|e| (e.resource_id, e.compliance.as_str())).collect()
}

#[test]
fn the_periodic_run_judges_every_instance_and_the_preferences_and_files_each() {
    let r =
        rule(vec![instance("i-0aaa1111"), open_ssh(instance("i-0bbb2222"))], Some(preferences()));
    let out = block_on(r.handle(&scheduled("t1"))).unwrap();
    assert_eq!(
        verdicts(&r),
        [
            ("i-0aaa1111".to_string(), "COMPLIANT"),
            ("i-0bbb2222".to_string(), "NON_COMPLIANT"),
            (ACCOUNT.to_string(), "COMPLIANT")
        ]
    );
    let put = r.results.put.lock().unwrap();
    assert_eq!(put[0].0, "t1", "answered with the invocation's token");
    assert_eq!(put[0].2.to_string(), "2026-11-24T00:00:00Z", "ordered at the notification");
    drop(put);
    // The non-compliant instance raised its finding, naming the open port, filed beside it.
    assert_eq!(out.findings, 1);
    let events = r.sink.details();
    assert_eq!(events[0]["rule_id"], "SA-CFG-INSTANCE");
    assert_eq!(events[0]["target"], "i-0bbb2222");
    assert_eq!(events[0]["stage"], "config");
    assert!(events[0]["evidence"].as_str().unwrap().contains("opens SSH (22) to 0.0.0.0/0"));
    assert_eq!(events[0]["record"], "memory:audit/config/instances/i-0bbb2222.json");
    let filed: Verdict = serde_json::from_slice(
        &block_on(r.store.get("audit/config/instances/i-0bbb2222.json", None))
            .unwrap()
            .unwrap()
            .bytes,
    )
    .unwrap();
    assert_eq!(filed.compliance, "NON_COMPLIANT");
    assert!(block_on(r.store.get("audit/config/accounts/123456789012.us-east-1.json", None))
        .unwrap()
        .is_some());
}

#[test]
fn an_unchanged_verdict_is_neither_filed_nor_published_again_and_a_fixed_one_is_withdrawn() {
    let mut r = rule(vec![open_ssh(instance("i-0bbb2222"))], Some(preferences()));
    block_on(r.handle(&scheduled("t1"))).unwrap();
    let again = block_on(r.handle(&scheduled("t2"))).unwrap();
    assert_eq!((again.findings, again.unchanged), (0, 2));
    assert_eq!(r.sink.details().len(), 1, "one event for the one change");
    // The port is closed: compliant again, and the finding it raised is withdrawn.
    r.facts.instances = vec![instance("i-0bbb2222")];
    let fixed = block_on(r.handle(&scheduled("t3"))).unwrap();
    assert_eq!((fixed.findings, fixed.withdrawn), (0, 1));
    let withdrawn = r.sink.withdrawn.lock().unwrap().clone();
    assert_eq!(withdrawn, [format!("config:{ACCOUNT}:us-east-1:i-0bbb2222:SA-CFG-INSTANCE")]);
    assert_eq!(r.sink.details()[0]["finding_id"], withdrawn[0], "the same finding, taken back");
}

#[test]
fn a_change_judges_that_instance_and_a_group_change_judges_its_instances() {
    let mut other = instance("i-0ccc3333");
    other.groups = vec!["sg-0bbb".into()];
    let r = rule(vec![open_ssh(instance("i-0bbb2222")), other], Some(preferences()));
    block_on(r.handle(&changed("AWS::EC2::Instance", "i-0ccc3333", "OK"))).unwrap();
    assert_eq!(verdicts(&r), [("i-0ccc3333".to_string(), "COMPLIANT")]);
    assert_eq!(r.results.put.lock().unwrap()[0].2.to_string(), "2026-11-24T10:00:00Z");
    let r2 = rule(r.facts.instances.clone(), None);
    block_on(r2.handle(&changed("AWS::EC2::SecurityGroup", "sg-0aaa", "OK"))).unwrap();
    assert_eq!(
        verdicts(&r2),
        [("i-0bbb2222".to_string(), "NON_COMPLIANT"), ("sg-0aaa".to_string(), "NOT_APPLICABLE")]
    );
}

#[test]
fn deleted_gone_and_out_of_scope_instances_are_not_applicable() {
    let r = rule(vec![], None);
    block_on(r.handle(&changed("AWS::EC2::Instance", "i-0ddd4444", "ResourceDeleted"))).unwrap();
    block_on(r.handle(&changed("AWS::EC2::Instance", "i-0eee5555", "OK"))).unwrap();
    let got = r.results.evaluations();
    assert_eq!(got[0].annotation, "instance deleted");
    assert_eq!(got[1].annotation, "no such instance");
    assert!(got.iter().all(|e| e.compliance == Compliance::NotApplicable));
    let mut scoped = rule(vec![open_ssh(instance("i-0bbb2222"))], None);
    scoped.options.scope_tag = Some(("Team".into(), "payments".into()));
    block_on(scoped.handle(&changed("AWS::EC2::Instance", "i-0bbb2222", "OK"))).unwrap();
    let e = &scoped.results.evaluations()[0];
    assert_eq!(e.compliance, Compliance::NotApplicable);
    assert!(e.annotation.contains("no tag Team=payments"), "{}", e.annotation);
    assert!(scoped.sink.details().is_empty(), "nothing raised out of scope");
}

#[test]
fn missing_preferences_are_non_compliant_in_words() {
    let r = rule(vec![], None);
    block_on(r.handle(&scheduled("t1"))).unwrap();
    let e = &r.results.evaluations()[0];
    assert_eq!((e.resource_type, e.compliance), ("AWS::::Account", Compliance::NonCompliant));
    assert!(e.annotation.contains("no SSM-SessionManagerRunShell preferences"), "{}", e.annotation);
    assert_eq!(r.sink.details()[0]["rule_id"], "SA-CFG-PREFERENCES");
}

#[test]
fn a_bad_invocation_is_refused_and_nothing_is_put() {
    let r = rule(vec![instance("i-0aaa1111")], None);
    let err = block_on(r.handle(&json!({"source": "aws.guardduty"}))).unwrap_err();
    assert_eq!(err.kind(), FailureKind::MalformedEvent);
    assert!(r.results.evaluations().is_empty());
}
