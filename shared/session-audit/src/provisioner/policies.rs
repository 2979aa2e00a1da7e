//! The policy and preference documents the provisioner writes. Every action is named: no
//! wildcard actions, resources scoped to this bucket, prefix, log group and key.

use serde_json::{json, Value};

use super::{Names, Place, Properties};
use crate::access::approval::APPROVED_FOR_TAG;

/// Who may assume the instance role.
pub fn ec2_trust_policy() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole"
        }]
    })
}

/// S3: what `AmazonSSMManagedInstanceCore` lacks for the agent to upload transcripts and
/// stream to an encrypted log group: PutObject on the transcript prefix only, the bucket's
/// encryption configuration, this log group's stream actions, and the key.
pub fn instance_role_policy(p: &Properties, n: &Names, place: &Place, key_arn: &str) -> Value {
    let log_group = n.log_group_arn(place);
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "UploadTranscripts",
                "Effect": "Allow",
                "Action": ["s3:PutObject"],
                "Resource": format!("{}/{}*", n.bucket_arn(place), p.transcript_prefix)
            },
            {
                "Sid": "CheckBucketEncryption",
                "Effect": "Allow",
                "Action": ["s3:GetEncryptionConfiguration"],
                "Resource": n.bucket_arn(place)
            },
            {
                "Sid": "StreamToLogGroup",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                "Resource": [log_group.clone(), format!("{log_group}:log-stream:*")]
            },
            {
                // The agent checks the group's encryption before streaming; DescribeLogGroups
                // cannot be scoped to one group (it lists), so it is granted on the account's
                // log-group ARNs as AWS documents for Session Manager.
                "Sid": "CheckLogGroupEncryption",
                "Effect": "Allow",
                "Action": ["logs:DescribeLogGroups"],
                "Resource": format!("arn:{}:logs:{}:{}:log-group:*", place.partition, place.region, place.account)
            },
            {
                "Sid": "EncryptWithKey",
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": key_arn
            }
        ]
    })
}

/// S4: the ABAC user policy. StartSession on instances carrying the access tag (protected
/// ones only while an approval has tagged them for the caller), and only with the stack's
/// Session documents, in their own statement (a tag condition cannot apply to a document);
/// Terminate and Resume only for the caller's own sessions; with approvers, the right to ask
/// for an approval (start the runbook, as its role).
pub fn user_policy(p: &Properties, place: &Place) -> Value {
    let arn = |service: &str, resource: &str| {
        format!("arn:{}:{service}:{}:{}:{resource}", place.partition, place.region, place.account)
    };
    let n = Names::new(&p.name_prefix, place);
    let access = format!("ssm:resourceTag/{}", p.access_tag_key);
    let mut tagged = json!({
        "Sid": "StartSessionOnTaggedInstances",
        "Effect": "Allow",
        "Action": ["ssm:StartSession"],
        "Resource": arn("ec2", "instance/*"),
        "Condition": {"StringEquals": {access.clone(): p.access_tag_value}}
    });
    let mut statements = Vec::new();
    if let Some((k, v)) = &p.protected_tag {
        let protected = format!("ssm:resourceTag/{k}");
        tagged["Condition"]["StringNotEquals"] = json!({protected.clone(): v});
        statements.push(tagged);
        statements.push(json!({
            "Sid": "StartSessionOnApprovedProtectedInstances",
            "Effect": "Allow",
            "Action": ["ssm:StartSession"],
            "Resource": arn("ec2", "instance/*"),
            "Condition": {"StringEquals": {
                access: p.access_tag_value,
                protected: v,
                format!("ssm:resourceTag/{APPROVED_FOR_TAG}"): ["${aws:username}", "${aws:userid}"]
            }}
        }));
    } else {
        statements.push(tagged);
    }
    let documents: Vec<String> =
        p.catalog.allowed().iter().map(|d| arn("ssm", &format!("document/{d}"))).collect();
    statements.extend([
        json!({
            "Sid": "StartSessionWithTheStacksDocuments",
            "Effect": "Allow",
            "Action": ["ssm:StartSession"],
            "Resource": documents,
            "Condition": {"BoolIfExists": {"ssm:SessionDocumentAccessCheck": "true"}}
        }),
        json!({
            "Sid": "ManageOwnSessions",
            "Effect": "Allow",
            "Action": ["ssm:TerminateSession", "ssm:ResumeSession"],
            "Resource": [arn("ssm", "session/${aws:username}-*"), arn("ssm", "session/${aws:userid}-*")]
        }),
        json!({
            "Sid": "ListSessionsAndTargets",
            "Effect": "Allow",
            "Action": ["ssm:DescribeSessions", "ssm:GetConnectionStatus", "ssm:DescribeInstanceInformation", "ec2:DescribeInstances"],
            "Resource": "*"
        }),
    ]);
    if !p.approvers.is_empty() && p.protected_tag.is_some() {
        statements.push(json!({
            "Sid": "AskForAnApproval",
            "Effect": "Allow",
            "Action": ["ssm:StartAutomationExecution"],
            "Resource": arn("ssm", &format!("automation-definition/{}:*", n.approval_runbook))
        }));
        statements.push(json!({
            "Sid": "RunTheApprovalRunbookAsItsRole",
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": format!("arn:{}:iam::{}:role/{}", place.partition, place.account, n.approval_role),
            "Condition": {"StringEquals": {"iam:PassedToService": "ssm.amazonaws.com"}}
        }));
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// S2: a key CloudWatch Logs may use for this log group only, administered by the account;
/// with an organization, its accounts may also have S3 use it for their uploads to this bucket
/// (the bucket policy decides where they may write).
pub fn key_policy(p: &Properties, n: &Names, place: &Place) -> Value {
    let mut policy = json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                // AWS's default key policy: without it the key could become unmanageable.
                // Principals still need an IAM policy to use it.
                "Sid": "AccountAdministersTheKey",
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:{}:iam::{}:root", place.partition, place.account)},
                "Action": "kms:*",
                "Resource": "*"
            },
            {
                "Sid": "CloudWatchLogsForThisLogGroup",
                "Effect": "Allow",
                "Principal": {"Service": format!("logs.{}.amazonaws.com", place.region)},
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"],
                "Resource": "*",
                "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": n.log_group_arn(place)}}
            }
        ]
    });
    if let (Some(org), Some(list)) = (&p.organization_id, policy["Statement"].as_array_mut()) {
        list.push(json!({
            // SSE-KMS uploads from the organization's instance roles: through S3 in the
            // bucket's region only, and for this bucket only (with an S3 Bucket Key the
            // encryption context is the bucket's ARN, not the object's, so the prefix each
            // account may write is the bucket policy's to enforce). Decrypt: multipart uploads.
            "Sid": "OrganizationUploadsThroughS3",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "aws:PrincipalOrgID": org,
                    "kms:ViaService": format!("s3.{}.amazonaws.com", place.region),
                    "kms:EncryptionContext:aws:s3:arn": n.bucket_arn(place)
                },
                // The hub's own principals go through IAM (the first statement), as before.
                "StringNotEquals": {"aws:PrincipalAccount": place.account}
            }
        }));
    }
    policy
}

/// The CloudWatch Logs managed data identifiers the transcript log group masks: credentials
/// (the kinds a shell session prints or types), no device or personal identifiers, which an
/// audit needs to read (an IP address in `nc 10.0.0.5 4444` is evidence, not a secret).
pub const MASKED_IDENTIFIERS: [&str; 5] =
    ["AwsSecretKey", "OpenSshPrivateKey", "PgpPrivateKey", "PkcsPrivateKey", "PuttyPrivateKey"];

/// The transcript log group's data-protection policy: credentials the stream carries are
/// masked at every egress (console, Insights, subscription filters), so a reader without
/// `logs:Unmask` never sees them; session-report reads unmasked (with `logs:Unmask`) to compare
/// the stream with the S3 transcript byte for byte.
pub fn data_protection_policy(place: &Place) -> Value {
    let identifiers: Vec<String> = MASKED_IDENTIFIERS
        .iter()
        .map(|id| format!("arn:{}:dataprotection::aws:data-identifier/{id}", place.partition))
        .collect();
    json!({
        "Name": "session-audit-transcripts",
        "Description": "Session Audit: mask credentials in Session Manager session streams",
        "Version": "2021-06-01",
        "Statement": [
            {
                "Sid": "audit",
                "DataIdentifier": identifiers,
                "Operation": {"Audit": {"FindingsDestination": {}}}
            },
            {
                "Sid": "redact",
                "DataIdentifier": identifiers,
                "Operation": {"Deidentify": {"MaskConfig": {}}}
            }
        ]
    })
}

/// S7 and the organization's uploads: the bucket's policy, `None` when it needs none.
/// `tls`: deny every request that does not use TLS. With `OrganizationId`, the organization's
/// accounts (and no other: `aws:PrincipalOrgID`, a fixed value, which also keeps the policy
/// out of S3's "public" meaning) may upload under `<prefix><their own account>/` only —
/// `${aws:PrincipalAccount}` is the caller's account, so no account can write another's folder
/// — and read the bucket's encryption, which the agent checks before it uploads. The hub's own
/// account is left out: a statement naming `*` would let its principals write without any IAM
/// grant; they keep needing one.
pub fn bucket_policy(p: &Properties, n: &Names, place: &Place, tls: bool) -> Option<Value> {
    let bucket = n.bucket_arn(place);
    let mut statements = Vec::new();
    if tls {
        statements.push(json!({
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket.clone(), format!("{bucket}/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}
        }));
    }
    if let Some(org) = &p.organization_id {
        let in_org = json!({
            "StringEquals": {"aws:PrincipalOrgID": org},
            "StringNotEquals": {"aws:PrincipalAccount": place.account}
        });
        statements.push(json!({
            "Sid": "OrganizationUploadsToItsOwnFolder",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["s3:PutObject"],
            "Resource": format!("{bucket}/{}${{aws:PrincipalAccount}}/*", p.transcript_prefix),
            "Condition": in_org
        }));
        statements.push(json!({
            "Sid": "OrganizationChecksBucketEncryption",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["s3:GetEncryptionConfiguration"],
            "Resource": bucket,
            "Condition": in_org
        }));
    }
    (!statements.is_empty()).then(|| json!({"Version": "2012-10-17", "Statement": statements}))
}

/// S5: the account's Session Manager preferences, sending transcripts to our bucket and log
/// group, both encrypted, the log group as the session runs (streaming: a second channel,
/// outside the instance before the session ends; the agent requires the group encrypted).
pub fn preferences_document(p: &Properties, n: &Names) -> Value {
    json!({
        "schemaVersion": "1.0",
        "description": "Session Manager preferences managed by Session Audit",
        "sessionType": "Standard_Stream",
        "inputs": {
            "s3BucketName": n.bucket,
            "s3KeyPrefix": p.transcript_prefix.trim_end_matches('/'),
            "s3EncryptionEnabled": true,
            "cloudWatchLogGroupName": n.log_group,
            "cloudWatchEncryptionEnabled": true,
            "cloudWatchStreamingEnabled": true,
            "idleSessionTimeout": "20",
            "maxSessionDuration": p.session_duration_minutes().to_string(),
            "kmsKeyId": "",
            "runAsEnabled": false,
            "runAsDefaultUser": "",
            "shellProfile": {"windows": "", "linux": ""}
        }
    })
}

/// Every action named in a policy document, for checks that none is a wildcard.
pub fn actions(policy: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for statement in policy["Statement"].as_array().into_iter().flatten() {
        match &statement["Action"] {
            Value::String(a) => out.push(a.clone()),
            Value::Array(list) => {
                out.extend(list.iter().filter_map(Value::as_str).map(str::to_string))
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn setup() -> (Properties, Names, Place) {
        let p = Properties::parse(&HashMap::new()).unwrap();
        let place = Place::from_stack_id("arn:aws:cloudformation:us-east-1:123456789012:stack/s/g")
            .unwrap();
        (p.clone(), Names::new(&p.name_prefix, &place), place)
    }

    #[test]
    fn the_config_rule_finds_the_stacks_own_preferences_compliant() {
        use crate::config_evaluation::{evaluate_preferences, Compliance, PreferencesExpected};
        let (p, n, _) = setup();
        let env = [
            ("AUDIT_BUCKET", n.bucket.clone()),
            ("TRANSCRIPT_PREFIX", p.transcript_prefix.clone()),
        ];
        let get = |k: &str| env.iter().find(|(name, _)| *name == k).map(|(_, v)| v.clone());
        let expected = PreferencesExpected {
            start: crate::settings::Variables(get).start_config().unwrap(),
            max_session_minutes: u64::from(p.session_duration_minutes()),
            idle_minutes: 20,
            require_kms: false,
        };
        let e = evaluate_preferences("123456789012", &preferences_document(&p, &n), &expected);
        assert_eq!(e.compliance, Compliance::Compliant, "{}", e.annotation);
    }

    #[test]
    fn preferences_end_sessions_within_what_the_audit_follows() {
        let with = |m: &str| {
            let props = HashMap::from([("MaxSessionMinutes".to_string(), Value::from(m))]);
            Properties::parse(&props)
        };
        let duration = |m: &str| {
            let (_, n, _) = setup();
            preferences_document(&with(m).unwrap(), &n)["inputs"]["maxSessionDuration"].clone()
        };
        assert_eq!(duration("480"), "480");
        assert_eq!(duration("0"), "1440", "no finding, but still the longest the audit follows");
        assert_eq!(duration("1440"), "1440");
        for bad in ["1441", "-1", "ten"] {
            assert_eq!(with(bad).unwrap_err().property, "MaxSessionMinutes", "{bad}");
        }
    }

    #[test]
    fn grants_name_every_action() {
        let (p, n, place) = setup();
        let key = "arn:aws:kms:us-east-1:123456789012:key/k";
        for doc in [instance_role_policy(&p, &n, &place, key), user_policy(&p, &place)] {
            for a in actions(&doc) {
                assert!(!a.contains('*'), "wildcard action {a}");
            }
        }
    }

    #[test]
    fn instance_role_writes_only_under_the_transcript_prefix() {
        let (p, n, place) = setup();
        let doc = instance_role_policy(&p, &n, &place, "arn:aws:kms:us-east-1:123456789012:key/k");
        let put = &doc["Statement"][0];
        assert_eq!(put["Action"], json!(["s3:PutObject"]));
        assert_eq!(
            put["Resource"],
            "arn:aws:s3:::session-audit-logs-123456789012-us-east-1/session-logs/*"
        );
    }

    #[test]
    fn only_an_organization_opens_the_bucket_and_key_to_other_accounts() {
        let (p, n, place) = setup();
        assert_eq!(bucket_policy(&p, &n, &place, false), None, "nothing to say, no policy");
        let tls = bucket_policy(&p, &n, &place, true).unwrap();
        assert_eq!(tls["Statement"].as_array().unwrap().len(), 1);
        assert_eq!(tls["Statement"][0]["Effect"], "Deny");
        assert_eq!(key_policy(&p, &n, &place)["Statement"].as_array().unwrap().len(), 2);

        let org: HashMap<String, Value> =
            [("OrganizationId".to_string(), json!("o-a1b2c3d4e5"))].into();
        let p = Properties::parse(&org).unwrap();
        let policy = bucket_policy(&p, &n, &place, true).unwrap();
        let allows: Vec<&Value> = policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["Effect"] == "Allow")
            .collect();
        assert_eq!(allows.len(), 2);
        for s in &allows {
            assert_eq!(s["Condition"]["StringEquals"]["aws:PrincipalOrgID"], "o-a1b2c3d4e5");
        }
        assert_eq!(
            allows[0]["Resource"],
            "arn:aws:s3:::session-audit-logs-123456789012-us-east-1/session-logs/${aws:PrincipalAccount}/*"
        );
        let key = key_policy(&p, &n, &place);
        let org_statement = &key["Statement"][2];
        assert_eq!(
            org_statement["Condition"]["StringEquals"]["aws:PrincipalOrgID"],
            "o-a1b2c3d4e5"
        );
        assert_eq!(
            org_statement["Condition"]["StringEquals"]["kms:ViaService"],
            "s3.us-east-1.amazonaws.com"
        );
    }

    #[test]
    fn user_policy_scopes_instances_by_tag_and_documents_separately() {
        let (p, _, place) = setup();
        let doc = user_policy(&p, &place);
        let sid = |name: &str| {
            doc["Statement"].as_array().unwrap().iter().find(|s| s["Sid"] == name).cloned().unwrap()
        };
        let tagged = sid("StartSessionOnTaggedInstances");
        assert_eq!(
            tagged["Condition"]["StringEquals"]["ssm:resourceTag/Purpose"],
            "SessionManagerTesting"
        );
        assert_eq!(tagged["Condition"]["StringNotEquals"]["ssm:resourceTag/Protected"], "true");
        let documents = sid("StartSessionWithTheStacksDocuments");
        assert_eq!(
            documents["Resource"][0],
            "arn:aws:ssm:us-east-1:123456789012:document/SSM-SessionManagerRunShell"
        );
        assert_eq!(
            documents["Resource"].as_array().unwrap().len(),
            5,
            "default shell + 4 (no destinations)"
        );
        assert!(
            documents.get("Condition").unwrap().get("StringEquals").is_none(),
            "no tag condition on documents"
        );
        assert_eq!(
            sid("ManageOwnSessions")["Resource"][0],
            "arn:aws:ssm:us-east-1:123456789012:session/${aws:username}-*"
        );
        assert!(
            doc["Statement"].as_array().unwrap().iter().all(|s| s["Sid"] != "AskForAnApproval"),
            "no approvers, no runbook"
        );
    }

    #[test]
    fn preferences_point_at_our_encrypted_destinations() {
        let (p, n, _) = setup();
        let doc = preferences_document(&p, &n);
        assert_eq!(doc["inputs"]["s3BucketName"], n.bucket);
        assert_eq!(doc["inputs"]["s3KeyPrefix"], "session-logs");
        assert_eq!(doc["inputs"]["s3EncryptionEnabled"], true);
        assert_eq!(doc["inputs"]["cloudWatchEncryptionEnabled"], true);
    }
}
