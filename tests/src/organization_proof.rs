//! The organization's proof (issue 31), which `iam-proof` prints: the hub's bucket and key
//! policies, as the provisioner writes them with `OrganizationId`, evaluated with AWS's
//! cross-account rule ([`crate::resource_policy`]) for the requests that matter.
//!
//! Every spoke and stranger is given the broadest identity policy there is (`*` on `*`): what
//! confines them must be the hub's policies alone. A spoke may upload under its own account's
//! folder, over TLS, with the key through S3 in the hub's region for this bucket — nothing else:
//! not another member's folder, not the hub's own transcripts, not `audit/`, not read or delete,
//! not the key directly. An account outside the organization gets nothing. The hub's own
//! instance role keeps what it had. Then each policy is weakened in the ways that would matter
//! (the account variable widened, the organization condition, the hub account's exclusion or the
//! TLS deny dropped, the key's S3, bucket or organization condition dropped), and each weakening
//! must change some decision: the cases are sharp enough to catch it.

use serde_json::{json, Value};

use crate::iam_policy::Request;
use crate::resource_policy::{authorize, Caller, Kind, Resource};
use session_audit::provisioner::{policies, Names, Place, Properties};

const ORG: &str = "o-a1b2c3d4e5";
const SPOKE: &str = "210987654321";
const MEMBER: &str = "111122223333";
const STRANGER: &str = "999988887777";
/// The statements the weakenings edit.
const UPLOADS: &str = "OrganizationUploadsToItsOwnFolder";
const KEY_USE: &str = "OrganizationUploadsThroughS3";

/// The hub's two resource policies.
#[derive(Clone)]
struct Hub {
    bucket: Value,
    key: Value,
}

/// One request and what the hub's policies must decide.
struct Case {
    what: String,
    caller: Caller,
    kind: Kind,
    req: Request,
    allowed: bool,
}

fn anything() -> Vec<Value> {
    vec![json!({"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})]
}

fn requests(p: &Properties, n: &Names, place: &Place, key_arn: &str) -> Vec<Case> {
    let bucket = n.bucket_arn(place);
    let object = |folder: &str| format!("{bucket}/{folder}s-0a1.log");
    let folder = |account: &str| format!("{}{account}/us-west-2/", p.transcript_prefix);
    let spoke = Caller::role(SPOKE, "sa-spoke-instance", Some(ORG), anything());
    let stranger = Caller::role(STRANGER, "instance", Some("o-zzzzzzzzzz"), anything());
    let instance_role = policies::instance_role_policy(p, n, place, key_arn);
    let hub_role = Caller::role(&place.account, &n.role, Some(ORG), vec![instance_role]);
    let tls = |action: &str, resource: &str| {
        Request::new(action, resource).with("aws:SecureTransport", "true")
    };
    let via_s3_to = |action: &str, region: &str, context: &str| {
        tls(action, key_arn)
            .with("kms:ViaService", &format!("s3.{region}.amazonaws.com"))
            .with("kms:EncryptionContext:aws:s3:arn", context)
    };
    let via_s3 = |region: &str, context: &str| via_s3_to("kms:GenerateDataKey", region, context);
    let (own, home) = (object(&folder(SPOKE)), object(&p.transcript_prefix));
    let region = place.region.as_str();
    let hub_spoke = object(&folder(&place.account));
    let spoke_cases = [
        ("uploads to its own folder", tls("s3:PutObject", &own), true),
        ("reads the bucket's encryption", tls("s3:GetEncryptionConfiguration", &bucket), true),
        ("encrypts through S3 in the hub's region", via_s3(region, &bucket), true),
        ("decrypts (multipart) through S3", via_s3_to("kms:Decrypt", region, &bucket), true),
        (
            "uploads to another member's folder",
            tls("s3:PutObject", &object(&folder(MEMBER))),
            false,
        ),
        ("uploads where the hub's own transcripts live", tls("s3:PutObject", &home), false),
        ("writes a report", tls("s3:PutObject", &format!("{bucket}/audit/reports/x.json")), false),
        (
            "uploads without TLS",
            Request::new("s3:PutObject", &own).with("aws:SecureTransport", "false"),
            false,
        ),
        ("reads its own transcript back", tls("s3:GetObject", &own), false),
        ("deletes its own transcript", tls("s3:DeleteObject", &own), false),
        ("replaces the bucket policy", tls("s3:PutBucketPolicy", &bucket), false),
        ("uses the key directly", tls("kms:GenerateDataKey", key_arn), false),
        ("uses the key through S3 in another region", via_s3("eu-west-1", &bucket), false),
        ("uses the key for another bucket", via_s3(region, "arn:aws:s3:::elsewhere"), false),
        ("schedules the key's deletion", tls("kms:ScheduleKeyDeletion", key_arn), false),
    ];
    let stranger_cases = [
        ("uploads to its folder", tls("s3:PutObject", &object(&folder(STRANGER))), false),
        ("uses the key through S3", via_s3(region, &bucket), false),
    ];
    // IAM cannot tell the hub's own transcripts from a spoke's folder under the same prefix; a
    // transcript the hub's account writes there is refused as evidence by provenance (written
    // by another account than the session's), which provenance.rs tests.
    let hub_cases = [
        ("uploads into the hub account's own spoke folder", tls("s3:PutObject", &hub_spoke), true),
        ("uploads its transcripts", tls("s3:PutObject", &home), true),
        ("encrypts with the key", tls("kms:GenerateDataKey", key_arn), true),
        ("uploads into a spoke's folder (provenance refuses it)", tls("s3:PutObject", &own), true),
        ("reads a transcript", tls("s3:GetObject", &home), false),
    ];
    // The hub's own account goes through IAM: a role of it with no grant gets nothing.
    let bare = Caller::role(&place.account, "bare", Some(ORG), vec![]);
    let bare_cases = [
        ("uploads into the hub account's spoke folder", tls("s3:PutObject", &hub_spoke), false),
        ("uses the key through S3", via_s3(region, &bucket), false),
    ];
    let mut out = Vec::new();
    for (who, caller, cases) in [
        ("a role of the hub's account without grants", &bare, &bare_cases[..]),
        ("a spoke", &spoke, &spoke_cases[..]),
        ("an account outside the organization", &stranger, &stranger_cases[..]),
        ("the hub's instance role", &hub_role, &hub_cases[..]),
    ] {
        out.extend(cases.iter().map(|(what, req, allowed)| Case {
            what: format!("{who} {what}"),
            caller: caller.clone(),
            kind: if req.action.starts_with("kms:") { Kind::Key } else { Kind::Bucket },
            req: req.clone(),
            allowed: *allowed,
        }));
    }
    out
}

/// Every case `hub` decides wrongly, one line each.
fn wrong(cases: &[Case], hub: &Hub, account: &str) -> Vec<String> {
    cases
        .iter()
        .filter_map(|c| {
            let policy = match c.kind {
                Kind::Bucket => &hub.bucket,
                Kind::Key => &hub.key,
            };
            let resource = Resource { kind: c.kind, account, policy: Some(policy) };
            let decision = authorize(&c.caller, &resource, &c.req);
            (decision.allowed() != c.allowed).then(|| {
                let want = if c.allowed { "allowed" } else { "denied" };
                format!("  organization: {}: expected {want}, got {decision:?}", c.what)
            })
        })
        .collect()
}

/// Each way the hub's policies could be weakened: (what, the weakened policies).
fn weakenings(hub: &Hub) -> Vec<(&'static str, Hub)> {
    let drop_key = |operator: &'static str, key: &'static str| {
        move |s: &mut Value| {
            s["Condition"][operator].as_object_mut().unwrap().remove(key);
        }
    };
    // (what, in the bucket policy (else the key's), the statement, the edit)
    type Edit = Box<dyn Fn(&mut Value)>;
    let edits: Vec<(&str, bool, &str, Edit)> = vec![
        (
            "the account variable widened to '*'",
            true,
            UPLOADS,
            Box::new(|s: &mut Value| {
                let widened =
                    s["Resource"].as_str().unwrap().replace("${aws:PrincipalAccount}", "*");
                s["Resource"] = widened.into();
            }),
        ),
        (
            "the bucket's organization condition dropped",
            true,
            UPLOADS,
            Box::new(drop_key("StringEquals", "aws:PrincipalOrgID")),
        ),
        (
            "the hub account's exclusion dropped from the bucket",
            true,
            UPLOADS,
            Box::new(drop_key("StringNotEquals", "aws:PrincipalAccount")),
        ),
        (
            "the TLS deny made inert",
            true,
            "DenyInsecureTransport",
            Box::new(|s: &mut Value| {
                s["Condition"]["Bool"]["aws:SecureTransport"] = "never".into()
            }),
        ),
        (
            "the key's S3 condition dropped",
            false,
            KEY_USE,
            Box::new(drop_key("StringEquals", "kms:ViaService")),
        ),
        (
            "the key's bucket condition dropped",
            false,
            KEY_USE,
            Box::new(drop_key("StringEquals", "kms:EncryptionContext:aws:s3:arn")),
        ),
        (
            "the key's organization condition dropped",
            false,
            KEY_USE,
            Box::new(drop_key("StringEquals", "aws:PrincipalOrgID")),
        ),
        (
            "the hub account's exclusion dropped from the key",
            false,
            KEY_USE,
            Box::new(drop_key("StringNotEquals", "aws:PrincipalAccount")),
        ),
    ];
    edits
        .into_iter()
        .map(|(what, in_bucket, sid, edit)| {
            let mut h = hub.clone();
            let policy = if in_bucket { &mut h.bucket } else { &mut h.key };
            let statements = policy["Statement"].as_array_mut().expect("statements");
            let statement = statements.iter_mut().find(|s| s["Sid"] == sid).expect("the statement");
            edit(statement);
            (what, h)
        })
        .collect()
}

/// Returns a one-line account, or every wrong decision and every weakening no case catches.
pub fn organization_proof() -> Result<String, Vec<String>> {
    let (p, place, n) =
        crate::template::provisioned(&[("NamePrefix", "sa"), ("OrganizationId", ORG)]);
    let key_arn = format!(
        "arn:aws:kms:{}:{}:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
        place.region, place.account
    );
    let hub = Hub {
        bucket: policies::bucket_policy(&p, &n, &place, true).expect("a bucket policy"),
        key: policies::key_policy(&p, &n, &place),
    };
    let cases = requests(&p, &n, &place, &key_arn);
    let mut problems = wrong(&cases, &hub, &place.account);
    // Without an organization, a spoke's upload is refused outright.
    let (alone, _, _) = crate::template::provisioned(&[("NamePrefix", "sa")]);
    let solo = Hub {
        bucket: policies::bucket_policy(&alone, &n, &place, true).expect("TLS"),
        key: policies::key_policy(&alone, &n, &place),
    };
    let spoke_uploads: Vec<Case> = requests(&p, &n, &place, &key_arn)
        .into_iter()
        .take(4)
        .map(|c| Case { allowed: false, ..c })
        .collect();
    problems.extend(
        wrong(&spoke_uploads, &solo, &place.account)
            .into_iter()
            .map(|l| format!("{l} (no OrganizationId)")),
    );
    for (what, weak) in weakenings(&hub) {
        if wrong(&cases, &weak, &place.account).is_empty() {
            problems.push(format!("  organization: {what}: no case notices"));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let allowed = cases.iter().filter(|c| c.allowed).count();
    Ok(format!(
        "organization: {} requests against the hub's bucket and key policies, {allowed} allowed as designed, {} refused (other folders, audit/, reads and deletes, plain HTTP, the key outside S3 or the hub's region, accounts outside the organization, the hub's own roles without IAM grants); {} weakenings each caught",
        cases.len(),
        cases.len() - allowed,
        weakenings(&hub).len()
    ))
}
