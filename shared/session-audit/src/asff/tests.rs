use super::*;
use crate::rules::RulePack;

const NOW: &str = "2026-12-05T12:00:00Z";

fn product() -> Product {
    Product::parse("arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default")
        .unwrap()
}

fn now() -> Timestamp {
    NOW.parse().unwrap()
}

fn rule_finding(id: &str) -> Finding {
    let pack = RulePack::builtin();
    pack.get(id).unwrap_or_else(|| panic!("{id} is built in")).finding("evidence".into(), Some(3))
}

fn ctx() -> FindingContext {
    FindingContext {
        origin_id: "6f1f3c44-5b5e-4a8e-9c1e-0a7d2b1c9e11".into(),
        session_id: Some("alice-0a1b2c3d4e5f".into()),
        time: "2026-12-05T09:30:00Z".into(),
        account: Some("444455556666".into()),
        region: "eu-west-1".into(),
        principal: Some("arn:aws:sts::444455556666:assumed-role/Ops/alice".into()),
        person: Some("alice".into()),
        target: Some("i-0123456789abcdef0".into()),
        record: "s3://audit-bucket/audit/reports/dt=2026-12-05/alice-0a1b2c3d4e5f.json".into(),
        stage: "report",
    }
}

#[test]
fn product_arns_are_read_and_written_alike_and_others_refused() {
    let p = product();
    assert_eq!(
        (p.partition.as_str(), p.region.as_str(), p.account.as_str()),
        ("aws", "eu-west-1", "111122223333")
    );
    assert_eq!(Product::parse(&p.arn()).unwrap(), p);
    for bad in [
        "",
        "arn:aws:securityhub:eu-west-1:111122223333:product/999999999999/default",
        "arn:aws:securityhub:eu-west-1:1111:product/1111/default",
        "arn:aws:securityhub:eu-west-1:111122223333:product/aws/guardduty",
        "arn:aws:sns:eu-west-1:111122223333:product/111122223333/default",
        "arn:aws:securityhub::111122223333:product/111122223333/default",
        "arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default/x",
    ] {
        assert!(Product::parse(bad).is_err(), "{bad} refused");
    }
}

#[test]
fn a_report_finding_maps_to_a_valid_asff_finding() {
    let f = rule_finding("SA-CMD-010");
    let a = to_asff(&f, &ctx(), &product(), now(), RecordState::Active);
    assert_eq!(problems(&a), Vec::<String>::new());
    assert_eq!(a.id, "6f1f3c44-5b5e-4a8e-9c1e-0a7d2b1c9e11:SA-CMD-010", "the event's finding_id");
    assert_eq!(a.generator_id, "SA-CMD-010");
    assert_eq!(a.product_arn, product().arn());
    assert_eq!(a.aws_account_id, "111122223333", "the importer's: Security Hub takes no other");
    assert_eq!(a.product_fields["session-audit/account"], "444455556666");
    assert_eq!(a.severity.label, "HIGH");
    assert!(a.types.contains(&"TTPs/Credential Access/T1003.008".to_string()), "{:?}", a.types);
    assert_eq!((a.created_at.as_str(), a.updated_at.as_str()), ("2026-12-05T09:30:00Z", NOW));
    let kinds: Vec<(&str, &str)> =
        a.resources.iter().map(|r| (r.r#type.as_str(), r.id.as_str())).collect();
    assert_eq!(
        kinds,
        [
            ("AwsEc2Instance", "arn:aws:ec2:eu-west-1:444455556666:instance/i-0123456789abcdef0"),
            ("AwsIamRole", "arn:aws:iam::444455556666:role/Ops"),
            (
                "AwsS3Object",
                "arn:aws:s3:::audit-bucket/audit/reports/dt=2026-12-05/alice-0a1b2c3d4e5f.json"
            ),
        ]
    );
    assert_eq!(
        a.resources[1].details.as_ref().unwrap().other["session_arn"],
        "arn:aws:sts::444455556666:assumed-role/Ops/alice"
    );
    let c = a.compliance.as_ref().expect("the rule maps to controls");
    assert_eq!(c.status, "FAILED");
    assert!(c.related_requirements.iter().any(|r| r.starts_with("PCI DSS 4.0 ")), "{c:?}");
    assert!(c.associated_standards.iter().any(|s| s.standards_id == "standards/pci-dss/v/4.0.1"));
    assert!(a.source_url.as_deref().unwrap().starts_with(
        "https://console.aws.amazon.com/s3/object/audit-bucket?region=eu-west-1&prefix=audit/reports/dt%3D2026-12-05/"
    ));
    assert_eq!(a.product_fields["session-audit/session_id"], "alice-0a1b2c3d4e5f");
    assert_eq!(a.product_fields["session-audit/command_seq"], "3");
    assert!(a.description.contains("alice") && a.description.contains("evidence"));
}

#[test]
fn a_re_import_keeps_id_and_creation_and_moves_only_the_update_time() {
    let f = rule_finding("SA-CMD-010");
    let first = to_asff(&f, &ctx(), &product(), now(), RecordState::Active);
    let later = now().checked_add(jiff::SignedDuration::from_hours(3)).unwrap();
    let again = to_asff(&f, &ctx(), &product(), later, RecordState::Active);
    assert_eq!((&again.id, &again.created_at), (&first.id, &first.created_at));
    assert_ne!(again.updated_at, first.updated_at);
    let withdrawn = to_asff(&f, &ctx(), &product(), later, RecordState::Archived);
    assert_eq!(withdrawn.id, first.id);
    assert_eq!(withdrawn.record_state, RecordState::Archived);
    assert_eq!(withdrawn.compliance.unwrap().status, "PASSED");
    let json = serde_json::to_value(&again).unwrap();
    assert_eq!(json["RecordState"], "ACTIVE");
    assert_eq!(json["Severity"]["Label"], "HIGH");
    assert_eq!(json["Resources"][1]["Details"]["Other"]["session_arn"], ctx().principal.unwrap());
    assert!(json["Compliance"]["AssociatedStandards"][0]["StandardsId"].is_string());
    let back: AsffFinding = serde_json::from_value(json).unwrap();
    assert_eq!(back, again, "the JSON is ASFF's and reads back");
}

#[test]
fn hostile_fields_still_make_an_acceptable_finding_with_nothing_dropped() {
    let mut f = rule_finding("SA-CMD-040");
    f.title = "t".repeat(1000);
    f.evidence = "é".repeat(5000);
    let mut c = ctx();
    c.origin_id = "x".repeat(2000);
    c.account = Some("not-an-account".into());
    c.region = String::new();
    c.time = "yesterday".into();
    c.target = Some("../../etc/passwd\n<script>".into());
    c.principal = Some("AIDAEXAMPLE:alice".into());
    c.record = format!("s3://bucket/{}", "k/".repeat(800));
    let a = to_asff(&f, &c, &product(), now(), RecordState::Active);
    assert_eq!(problems(&a), Vec::<String>::new());
    assert_eq!(a.aws_account_id, "111122223333", "the importer's own account");
    assert_eq!(a.region, "eu-west-1");
    assert_eq!(a.created_at, NOW);
    assert_eq!(a.product_fields["session-audit/time_unknown"], "yesterday");
    assert!(a.title.ends_with('…') && a.description.ends_with('…'));
    let again = to_asff(&f, &c, &product(), now(), RecordState::Active);
    assert_eq!(a.id, again.id, "a long Id is shortened the same way every time");
    assert!(a.id.contains("sha256:"));
    let mut other = c.clone();
    other.origin_id.push('y');
    assert_ne!(to_asff(&f, &other, &product(), now(), RecordState::Active).id, a.id);
    assert_eq!(a.resources[0].r#type, "Other", "an unknown target is named, not dropped");
    assert_eq!(a.resources[1].id, "AIDAEXAMPLE:alice");
}

#[test]
fn a_time_in_the_future_is_not_taken_as_creation() {
    let mut c = ctx();
    c.time = "2099-01-01T00:00:00Z".into();
    let a = to_asff(&rule_finding("SA-SES-ROOT"), &c, &product(), now(), RecordState::Active);
    assert_eq!(a.created_at, NOW);
    assert_eq!(problems(&a), Vec::<String>::new());
}

#[test]
fn every_built_in_rule_gets_valid_types_where_security_hub_files_its_kind() {
    let pack = RulePack::builtin();
    for rule in pack.rules() {
        let f = pack.get(&rule.id).unwrap().finding(String::new(), None);
        let a = to_asff(&f, &ctx(), &product(), now(), RecordState::Active);
        assert_eq!(problems(&a), Vec::<String>::new(), "{}", rule.id);
    }
    let types_of = |id: &str| super::types::types(&rule_finding(id));
    let has = |id: &str, prefix: &str| types_of(id).iter().any(|t| t.starts_with(prefix));
    assert!(has("SA-SES-PREFERENCES-DRIFT", "Software and Configuration Checks/"));
    assert!(has("SA-TRN-REPLACED", "Effects/"), "tampering with the evidence");
    assert!(has("SA-TRN-UNTRUSTED-UPLOAD", "Effects/"));
    assert!(has("SA-CMD-044", "Effects/Data Exfiltration/"));
    assert!(has("SA-CMD-042", "TTPs/Execution/T1059.004"));
    assert!(has("SA-SES-PRINCIPAL-NOT-ALLOWED", "Unusual Behaviors/User"));
    assert!(has("SA-SES-TRUNCATED", "Software and Configuration Checks/"), "no technique");
}

#[test]
fn a_users_technique_with_a_slash_stays_a_three_part_type() {
    let mut f = rule_finding("SA-CMD-041");
    f.frameworks =
        vec![FrameworkRef { framework: "MITRE ATT&CK".into(), control: "T1105/x/y".into() }];
    let t = super::types::types(&f);
    assert_eq!(t, ["TTPs/Command and Control/T1105-x-y"]);
}

#[test]
fn problems_name_what_security_hub_would_refuse() {
    let mut a =
        to_asff(&rule_finding("SA-CMD-010"), &ctx(), &product(), now(), RecordState::Active);
    a.types = vec!["Threats/Bad".into()];
    a.aws_account_id = "1234".into();
    a.title = "x".repeat(300);
    a.resources.clear();
    a.created_at = "2027-01-01T00:00:00Z".into();
    let p = problems(&a);
    for what in ["Types", "AwsAccountId", "Title", "Resources", "CreatedAt is after"] {
        assert!(p.iter().any(|m| m.contains(what)), "{what} in {p:?}");
    }
}

#[test]
fn batches_hold_at_most_100_findings_and_6_mb() {
    let one = to_asff(&rule_finding("SA-CMD-010"), &ctx(), &product(), now(), RecordState::Active);
    let many = vec![one.clone(); 250];
    let sizes: Vec<usize> = batches(&many).iter().map(|b| b.len()).collect();
    assert_eq!(sizes, [100, 100, 50]);
    let mut big = one;
    big.description = "d".repeat(200 * 1024);
    let bigs = vec![big; 70];
    let cut = batches(&bigs);
    assert_eq!(cut.iter().map(|b| b.len()).sum::<usize>(), 70, "every finding in one batch");
    for b in &cut {
        assert!(serde_json::to_vec(b).unwrap().len() <= MAX_BATCH_BYTES);
    }
    assert!(cut.len() >= 3);
    assert!(batches(&[]).is_empty());
}

#[test]
fn a_finding_about_an_accounts_settings_names_who_and_no_session() {
    let f = rule_finding("SA-SES-PREFERENCES-DRIFT");
    let c = FindingContext {
        session_id: None,
        target: None,
        stage: "start",
        record: "s3://audit-bucket/audit/preferences/dt=2026-12-05/acct=444455556666/region=eu-west-1/e.json"
            .into(),
        ..ctx()
    };
    let a = to_asff(&f, &c, &product(), now(), RecordState::Active);
    assert_eq!(problems(&a), Vec::<String>::new());
    assert!(a.description.contains("start stage): by alice."), "{}", a.description);
    assert!(!a.description.contains("no session"), "{}", a.description);
    let kinds: Vec<&str> = a.resources.iter().map(|r| r.r#type.as_str()).collect();
    assert_eq!(kinds, ["AwsIamRole", "AwsS3Object"], "the principal and the change's record");
}
