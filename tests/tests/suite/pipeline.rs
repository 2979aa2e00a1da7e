//! The README's first command, as a test: the whole pipeline against the emulator with the
//! nine functions as real binaries (src/pipeline.rs), and what it leaves behind checked.

use serde_json::{json, Value};
use session_audit::keys;
use session_audit::report::{Report, Status};
use session_audit_tests::pipeline;

fn read_json(dir: &std::path::Path, key: &str) -> Value {
    let bytes = std::fs::read(dir.join(key)).unwrap_or_else(|e| panic!("{key}: {e}"));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{key}: {e}"))
}

#[tokio::test]
async fn the_whole_pipeline_runs_locally_and_keeps_the_audit_trail() {
    let dir = std::env::temp_dir().join(format!("local-pipeline-{}", std::process::id()));
    let o = pipeline::run(true, Some(&dir)).await;
    let [alice, carol, bob, dave] = &o.sessions;

    // The custom resource answered CloudFormation with what the stack's outputs use.
    assert_eq!(o.create["Status"], "SUCCESS");
    for field in ["BucketName", "LogGroupName", "KmsKeyArn", "InstanceId", "UserPolicyArn"] {
        assert!(
            o.create["Data"][field].as_str().is_some_and(|v| !v.is_empty()),
            "{field}: {}",
            o.create
        );
    }
    assert_eq!(o.delete["Status"], "SUCCESS");
    assert_eq!(o.instance_state_after_delete, "terminated");

    // session-start: four session records (the denied one is a denied-attempt record).
    for id in [alice, carol, bob, dave] {
        let record = read_json(
            &dir,
            &keys::session_record(&o.day, &session_audit_tests::local_session(id)).unwrap(),
        );
        assert_eq!(record["session_id"], id.as_str());
        assert_eq!(record["target"], o.instance_id.as_str());
    }
    let alice_record = read_json(
        &dir,
        &keys::session_record(&o.day, &session_audit_tests::local_session(alice)).unwrap(),
    );
    assert!(alice_record["terminated_at"].is_string(), "TerminateSession merged: {alice_record}");
    let bob_record = read_json(
        &dir,
        &keys::session_record(&o.day, &session_audit_tests::local_session(bob)).unwrap(),
    );
    let bob_findings: Vec<&str> = bob_record["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    assert!(bob_findings.contains(&"SA-SES-UNLOGGED-DOCUMENT"), "{bob_findings:?}");
    // Sanctioned access: each session judged against the stack's documents, change window and
    // approvals, and each of those findings published.
    let record = |user: &str| {
        o.sanctioned.records.iter().find(|(u, _)| u == user).map(|(_, r)| r.clone()).unwrap()
    };
    let rules = |r: &Value| -> Vec<String> {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(record("erin")["access"], "db.internal:5432");
    assert_eq!(rules(&record("erin")), Vec::<String>::new(), "a sanctioned DB port forward");
    assert!(record("frank")["access"].as_str().unwrap().contains("systemctl restart nginx"));
    assert_eq!(rules(&record("judy")), ["SA-SES-DOCUMENT-NOT-ALLOWED", "SA-SES-UNLOGGED-DOCUMENT"]);
    assert_eq!(rules(&record("grace")), ["SA-SES-CHANGE-WINDOW", "SA-SES-NO-APPROVAL"]);
    assert_eq!(record("grace")["change_window"], "CLOSED");
    let heidi = record("heidi");
    assert!(
        !rules(&heidi).iter().any(|r| r == "SA-SES-NO-APPROVAL" || r == "SA-SES-CHANGE-WINDOW"),
        "{heidi}"
    );
    assert_eq!(heidi["approval"]["approvers"][0], "arn:aws:iam::123456789012:user/approver");
    assert!(
        rules(&record("ivan")).iter().any(|r| r == "SA-SES-NO-APPROVAL"),
        "not heidi's approval"
    );
    for rule in ["SA-SES-DOCUMENT-NOT-ALLOWED", "SA-SES-CHANGE-WINDOW", "SA-SES-NO-APPROVAL"] {
        assert!(o.published.iter().any(|f| f["rule_id"] == rule), "{rule} published");
    }
    let denied = read_json(&dir, &keys::denied_attempt(&o.day, &o.denied_event).unwrap());
    assert_eq!(denied["error_code"], "AccessDenied");

    // session-stream: alice's risky commands found live, batch by batch, while her session was
    // open (before TerminateSession and the upload); a redelivered batch published nothing.
    let live: Vec<&str> = o.live.findings.iter().map(|(_, id)| id.as_str()).collect();
    for rule in ["SA-CMD-010", "SA-CMD-040", "SA-CMD-033", "SA-CMD-030"] {
        assert!(live.iter().any(|id| id.ends_with(&format!(":{rule}"))), "{rule}: {live:?}");
    }
    assert!(live.iter().all(|id| id.starts_with(&format!("live:{alice}:"))), "{live:?}");
    let batches: std::collections::BTreeSet<usize> =
        o.live.findings.iter().map(|(b, _)| *b).collect();
    assert!(batches.len() >= 3, "findings arrive from the batches that carried them: {batches:?}");
    assert_eq!(o.live.redelivery["outcome"], "duplicate", "{}", o.live.redelivery);
    assert_eq!(o.live.redelivery["findings"], serde_json::json!([]));
    let state = read_json(&dir, &keys::live_state(&session_audit_tests::local_session(alice)));
    assert_eq!(state["events"].as_u64(), Some(o.live.batches as u64), "{state}");

    // session-report: both transcripts reported, joined with their records.
    let report: Report = serde_json::from_value(read_json(
        &dir,
        &keys::report(&o.day, &session_audit_tests::local_session(alice), "json").unwrap(),
    ))
    .unwrap();
    assert_eq!(report.status, Status::NonCompliant);
    assert!(report.findings.iter().any(|f| f.rule_id == "SA-CMD-010"), "risky commands found");
    // alice streamed: every command carries the stream's time, and the channels agree.
    assert!(report.commands.iter().all(|c| c.time.is_some()), "{:?}", report.commands);
    let channels = report.stats.channels.clone().expect("compared with the stream");
    assert_eq!(channels.stream_only, 0, "{channels:?}");
    assert!(!report.findings.iter().any(|f| f.rule_id == "SA-TRN-CHANNELS-DISAGREE"));
    assert_eq!(report.identity.as_ref().unwrap()["principal"], "Admin/alice");
    assert_eq!(report.target.as_ref().unwrap()["instance_id"], o.instance_id.as_str());
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(session_audit_tests::fixture(
            "recorded/al2023_sh_editing.expected.json",
        ))
        .unwrap(),
    )
    .unwrap();
    let carol_report: Report = serde_json::from_value(read_json(
        &dir,
        &keys::report(&o.day, &session_audit_tests::local_session(carol), "json").unwrap(),
    ))
    .unwrap();
    let commands: Vec<&str> = carol_report.commands.iter().map(|c| c.command.as_str()).collect();
    let bash: Vec<&str> =
        expected["commands"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    assert_eq!(commands, bash, "the commands bash recorded");
    for key in &o.report_keys {
        assert!(o.kept_after_delete.contains(key), "{key} kept");
    }

    // access-summary: the day, judged right after the sessions.
    let s = &o.summary;
    assert_eq!(s["sessions"], 4);
    assert_eq!(
        s["headline"]["privileged_sessions"], 2,
        "alice and carol; dave pending, bob port forwarding"
    );
    assert_eq!(s["headline"]["with_full_transcript"], 2);
    assert_eq!(s["headline"]["pending"], 1);
    assert_eq!(s["completeness"]["counts"]["unlogged_by_design"], 1);
    assert_eq!(s["completeness"]["pending"]["items"][0]["session_id"], dave.as_str());
    assert_eq!(s["denied"]["attempts"], 1);
    assert!(
        o.summary_markdown.contains("100.0% of privileged access has a full transcript"),
        "{}",
        o.summary_markdown
    );
    for key in &o.summary_keys {
        assert!(o.kept_after_delete.contains(key), "{key} kept");
        assert!(dir.join(key).exists());
    }

    // audit-digest: the first run started the chain; three hours later every version since
    // (transcripts, records, reports, live states, summaries) is in signed, linked digests,
    // and the exported bucket verifies offline with the published key; an edited report does
    // not.
    let [first, later] = &o.chain.runs;
    assert_eq!(first["digests"].as_array().map(Vec::len), Some(1), "{first}");
    assert_eq!(later["digests"].as_array().map(Vec::len), Some(3), "{later}");
    assert_eq!(later["vanished"], serde_json::json!([]), "{later}");
    assert!(
        later["objects"].as_u64().unwrap() + later["backfill"].as_u64().unwrap() > 10,
        "{later}"
    );
    let (verdict, exit) = &o.chain.verify;
    assert_eq!(*exit, 0, "{verdict:#}");
    assert_eq!(verdict["ok"], true);
    let digests = verdict["digests"].as_array().unwrap();
    assert_eq!(digests.len(), 4, "{verdict:#}");
    assert!(digests.iter().all(|d| d["status"] == "valid"), "{verdict:#}");
    let objects = verdict["objects"].as_array().unwrap();
    for key in o.report_keys.iter().chain(&o.summary_keys) {
        let checked = objects.iter().find(|c| c["key"] == key.as_str());
        assert_eq!(checked.map(|c| &c["status"]), Some(&serde_json::json!("valid")), "{key}");
    }
    assert!(objects.iter().any(|c| c["key"].as_str().unwrap().starts_with("session-logs/")));
    let (verdict, exit) = &o.chain.tampered;
    assert_eq!(*exit, 1, "{verdict:#}");
    let changed: Vec<(&str, &str)> = verdict["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] != "valid")
        .map(|c| (c["key"].as_str().unwrap(), c["status"].as_str().unwrap()))
        .collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(
        changed[0].0.starts_with("audit/reports/") && changed[0].1 == "modified",
        "{changed:?}"
    );

    // Security Hub (SecurityHub=Enabled): every finding published on EventBridge is in
    // Security Hub exactly once, as valid ASFF (checked as read), whichever stage raised it.
    let mut sent: Vec<&str> =
        o.published.iter().map(|d| d["finding_id"].as_str().unwrap()).collect();
    sent.sort();
    sent.dedup();
    let mut held: Vec<&str> = o.security_hub.iter().map(|f| f["Id"].as_str().unwrap()).collect();
    held.sort();
    assert_eq!(held, sent, "each published finding once in Security Hub");
    let stages: std::collections::BTreeSet<&str> = o
        .security_hub
        .iter()
        .map(|f| f["ProductFields"]["session-audit/stage"].as_str().unwrap())
        .collect();
    let all = ["config", "guardduty", "live", "report", "start"];
    assert_eq!(stages, all.into_iter().collect());
    let alice_root = o
        .security_hub
        .iter()
        .find(|f| {
            f["GeneratorId"] == "SA-CMD-010"
                && f["ProductFields"]["session-audit/stage"] == "report"
        })
        .expect("alice's /etc/shadow read, from her report");
    assert_eq!(alice_root["Resources"][0]["Type"], "AwsEc2Instance");
    assert!(alice_root["Resources"][0]["Id"].as_str().unwrap().ends_with(&o.instance_id));
    assert_eq!(alice_root["Resources"][1]["Id"], "arn:aws:iam::123456789012:role/Admin");
    assert_eq!(alice_root["Severity"]["Label"], "HIGH");

    // lake-export: the digested reports as OCSF 1.1.0, Parquet in Security Lake's layout, one
    // class per source; every event valid; alice's and carol's commands and logons all there.
    let (answer, lake) = &o.lake;
    assert!(
        answer["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s.as_str().unwrap().contains("no digest")),
        "{answer}"
    );
    assert_eq!(answer["reports"], 2, "alice's and carol's reports: {answer}");
    let layout = fancy_regex::Regex::new(
        r"^ocsf/ext/session-audit-(process|finding|auth)/region=us-east-1/accountId=123456789012/eventDay=\d{8}/session-audit-\d{8}T\d{2}\.parquet$",
    )
    .unwrap();
    let mut classes = std::collections::BTreeMap::new();
    for (key, events) in lake {
        assert!(layout.is_match(key).unwrap(), "{key}");
        for e in events {
            let problems = session_audit_tests::ocsf_schema::problems(e);
            assert!(problems.is_empty(), "{key}: {problems:?}");
            *classes.entry(e["class_uid"].as_u64().unwrap()).or_insert(0) += 1;
        }
    }
    let commands = report.commands.len() + carol_report.commands.len();
    assert_eq!(classes.get(&1007), Some(&commands), "a Process Activity per command");
    assert_eq!(classes.get(&3002), Some(&4), "two Logons, two Logoffs");
    let lake_findings: std::collections::BTreeSet<&str> = lake
        .iter()
        .flat_map(|(_, e)| e)
        .filter_map(|e| e["finding_info"]["uid"].as_str())
        .collect();
    let reported: std::collections::BTreeSet<&str> = o
        .published
        .iter()
        .filter(|d| d["stage"] == "report")
        .map(|d| d["finding_id"].as_str().unwrap())
        .collect();
    assert!(reported.is_subset(&lake_findings), "the report's findings, under the same IDs");

    // config-rule: the stack's own instance and preferences keep the access path; the one left
    // open is non-compliant for each reason, filed, and raised where every finding goes.
    let c = &o.compliance;
    let verdict = |id: &str| c.verdicts.iter().find(|v| v.0 == id).cloned().expect(id);
    assert_eq!(verdict(&o.instance_id).1, "COMPLIANT", "{:?}", verdict(&o.instance_id));
    assert_eq!(verdict("123456789012").1, "COMPLIANT", "{:?}", verdict("123456789012"));
    let (_, open_verdict, why) = verdict(&c.open_instance);
    assert_eq!(open_verdict, "NON_COMPLIANT");
    for words in ["not online", "opens SSH (22) to 0.0.0.0/0", "IMDSv1", "no instance profile"] {
        assert!(why.contains(words), "{words}: {why}");
    }
    let config_key = keys::config_verdict(keys::Judged::Instance, &c.open_instance).unwrap();
    assert!(o.kept_after_delete.contains(&config_key), "{config_key} filed");
    let raised = |rule: &str, target: &str| {
        o.published.iter().find(|d| d["rule_id"] == rule && d["target"] == target).cloned()
    };
    assert!(raised("SA-CFG-INSTANCE", &c.open_instance).is_some(), "the open instance's finding");
    assert!(raised("SA-CFG-INSTANCE", &o.instance_id).is_none(), "nothing on a compliant one");

    // guardduty-correlation: the finding during alice's session names her session, her and
    // her report; the one on the open instance says no session was there.
    let [during, outside] = &c.correlations[..] else { panic!("two correlations") };
    let named = &during["sessions"][0];
    assert_eq!(named["session_id"], alice.as_str(), "{during}");
    assert_eq!(named["during"], true);
    let alice_report =
        keys::report(&o.day, &session_audit_tests::local_session(alice), "json").unwrap();
    assert_eq!(named["report"], alice_report.as_str());
    assert!(o.kept_after_delete.contains(&alice_report));
    let gd = raised("SA-SES-GUARDDUTY", &o.instance_id).expect("published");
    assert_eq!(gd["severity"], "high", "GuardDuty's 8 is high");
    let evidence = gd["evidence"].as_str().unwrap();
    assert!(evidence.contains(alice.as_str()) && evidence.contains(&alice_report), "{evidence}");
    assert_eq!(outside["sessions"], serde_json::json!([]));
    let gd = raised("SA-SES-GUARDDUTY", &c.open_instance).expect("published");
    assert!(gd["evidence"].as_str().unwrap().contains("did not come through Session Manager"));
    // The day's summary lists both GuardDuty findings, alice's session beside the first.
    let listed = &o.summary["guardduty"];
    assert_eq!(listed["total"], 2, "{listed}");
    let first = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["instance"] == o.instance_id.as_str());
    let first = first.expect("the provisioned instance's finding");
    assert!(first["sessions"][0].as_str().unwrap().contains(alice.as_str()), "{first}");
    assert!(o.summary_markdown.contains("## GuardDuty findings on instances (2)"));
    for correlation in &c.correlations {
        let id = correlation["finding"]["id"].as_str().unwrap();
        assert!(o
            .kept_after_delete
            .iter()
            .any(|k| k.starts_with("audit/guardduty/dt=") && k.ends_with(&format!("{id}.json"))));
    }

    // The organization (issue 31): one session ID issued in two accounts × two regions is four
    // sessions, each recorded and reported under its own account and region, joined with its
    // own instance and its own transcript's commands; the one outside AllowedRegions (and only
    // it) raises the regional finding, published under its place.
    use session_audit_tests::organization::{self as org, FORBIDDEN_REGION};
    let o_org = &o.organization;
    assert_eq!(o_org.sessions.len(), 5);
    for placed in &o_org.sessions {
        let place = &placed.session.place;
        assert_eq!(placed.session.id(), org::SESSION_ID);
        let (record, report) = (&placed.record, &placed.report);
        assert_eq!(record["account"], place.account(), "{place}: {record}");
        assert_eq!(record["region"], place.region(), "{place}: {record}");
        assert_eq!(report["target"]["instance_id"], placed.instance.as_str(), "{place}");
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(session_audit_tests::fixture(&format!(
                "recorded/{}.expected.json",
                placed.transcript
            )))
            .unwrap(),
        )
        .unwrap();
        let commands = report["commands"].as_array().unwrap();
        let recorded = expected["commands"].as_array().unwrap();
        assert_eq!(commands.len(), recorded.len(), "{place}: its own transcript's commands");
        for (got, want) in commands.iter().zip(recorded) {
            let (got, want) = (got["command"].as_str().unwrap(), want.as_str().unwrap());
            // Secrets are redacted in what is stored: the command up to the secret is the same.
            let shown = got.split("[REDACTED:").next().unwrap();
            assert!(got == want || (shown != got && want.starts_with(shown)), "{place}: {got}");
        }
        let rules: Vec<&str> = record["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule_id"].as_str().unwrap())
            .collect();
        let outside = place.region() == FORBIDDEN_REGION;
        assert_eq!(rules.contains(&"SA-SES-REGION-NOT-ALLOWED"), outside, "{place}: {rules:?}");
        for ext in ["json", "md"] {
            let key = keys::report(org::DAY, &placed.session, ext).unwrap();
            assert!(o.kept_after_delete.contains(&key), "{key} kept");
        }
    }
    let region_findings: Vec<&Value> =
        o_org.published.iter().filter(|f| f["rule_id"] == "SA-SES-REGION-NOT-ALLOWED").collect();
    assert_eq!(region_findings.len(), 1, "{region_findings:?}");
    let finding = serde_json::to_string(region_findings[0]).unwrap();
    assert!(
        finding.contains(org::SPOKE) && finding.contains(FORBIDDEN_REGION),
        "the finding names the account and region: {finding}"
    );
    // The organization's summary counts every session once under its account and region.
    assert_eq!(o_org.summary["sessions"], 5, "{}", o_org.summary);
    let mut by_place: Vec<(String, u64)> = o_org.summary["by_account_region"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_string(), c["count"].as_u64().unwrap()))
        .collect();
    by_place.sort();
    let mut expected: Vec<(String, u64)> =
        o_org.sessions.iter().map(|p| (p.session.place.to_string(), 1)).collect();
    expected.sort();
    assert_eq!(by_place, expected);
    assert!(o_org.summary_markdown.contains("By account and region"));
    // The member's preferences: as spoke.yaml writes them, they conform; moved to another
    // bucket by hand, the place is named in the summary and its finding published.
    let verdicts: Vec<(String, &Value)> =
        o_org.preferences.iter().map(|(p, c)| (p.to_string(), &c["verdict"])).collect();
    let (stack, by_hand) =
        (format!("{}/us-east-1", org::SPOKE), format!("{}/eu-west-1", org::SPOKE));
    assert_eq!(verdicts, [(stack, &json!("conforms")), (by_hand.clone(), &json!("drifted"))]);
    let listed = &o_org.summary["preferences"];
    assert_eq!(listed["total"], 2, "{listed}");
    let drifted: Vec<&Value> =
        listed["items"].as_array().unwrap().iter().filter(|p| p["verdict"] == "drifted").collect();
    assert_eq!(drifted.len(), 1, "{listed}");
    assert_eq!(drifted[0]["place"], by_hand.as_str());
    assert!(drifted[0]["why"].as_str().unwrap().contains("olgas-own-bucket"), "{listed}");
    assert!(o_org.summary_markdown.contains("Session Manager preferences changed (2, 1 drifted)"));
    let drift: Vec<String> = o_org
        .published
        .iter()
        .filter(|f| f["rule_id"] == "SA-SES-PREFERENCES-DRIFT")
        .map(|f| f.to_string())
        .collect();
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert!(drift[0].contains(org::SPOKE) && drift[0].contains("eu-west-1"), "{}", drift[0]);
    // The bucket policy as stored admits a member into its own folder only, and no outsider.
    let decisions: Vec<bool> = o_org.uploads.iter().map(|(_, allowed)| *allowed).collect();
    assert_eq!(decisions, [true, false, false], "{:?}", o_org.uploads);
    std::fs::remove_dir_all(&dir).unwrap();
}
