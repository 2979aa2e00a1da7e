//! What IAM is asked for each call the code under test makes. The emulator's proxy records
//! every call ([`Call`]); here each becomes the authorization requests AWS makes for it: the
//! operation's action on its resource ARN, with the condition keys the request carries, plus
//! the actions the call implies (an SSE-KMS PutObject needs `kms:GenerateDataKey` on the
//! bucket key, a GetObject of it `kms:Decrypt`, a GetObject that finds nothing `s3:ListBucket`
//! to be told 404 rather than 403, AddRoleToInstanceProfile `iam:PassRole`, RunInstances with
//! a profile `iam:PassRole` to EC2 and tags at launch `ec2:CreateTags`, …). Sources: the
//! Service Authorization Reference for each service, and the pages the README's dependent
//! permission table names.
//!
//! Resource tags (`aws:ResourceTag/…`) come from [`Facts`], learned from every call seen,
//! including the test's own setup: what was tagged at creation or later, which key encrypts
//! which bucket, which role is in which instance profile.
//!
//! An operation without a mapping fails the test that made it: a new call must be described
//! here before it can be proven allowed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::iam_policy::Request;
use crate::template::{ACCOUNT, REGION};

/// One call as the proxy saw it: only what authorization needs, never an object's body.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Call {
    /// The session token of the credentials used: which function made the call.
    pub principal: Option<String>,
    /// The signing name from the credential scope (`s3`, `kms`, `ec2`, …).
    pub service: String,
    pub operation: String,
    /// The path without its query (S3: `/bucket/key`, URL-encoded).
    pub path: String,
    /// Query-string and form parameters, decoded.
    pub params: BTreeMap<String, String>,
    /// The JSON body of JSON protocols; for S3, what its XML body names (`objects`, `kms_key`).
    pub body: Value,
    pub status: u16,
    /// What the response created or found (`arn`, `ids`).
    pub answer: Value,
}

/// One authorization request, with the call that needed it (to name it when it is denied).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Needed {
    pub action: String,
    pub resource: String,
    pub context: Vec<(String, String)>,
    pub call: String,
}

impl Needed {
    pub fn request(&self) -> Request {
        Request {
            action: self.action.clone(),
            resource: self.resource.clone(),
            context: self.context.clone(),
        }
    }
}

/// What the calls seen so far established about resources.
#[derive(Debug, Default)]
pub struct Facts {
    /// Resource ARN -> its tags.
    tags: BTreeMap<String, BTreeMap<String, String>>,
    /// Bucket -> the KMS key ARN of its default encryption.
    pub bucket_keys: BTreeMap<String, String>,
    /// `alias/name` -> key ARN.
    aliases: BTreeMap<String, String>,
    /// Instance profile name -> role name.
    profile_roles: BTreeMap<String, String>,
    /// The account's default EBS key when it is a customer key (`ModifyEbsDefaultKmsKeyId`),
    /// and whether new volumes are encrypted by default.
    ebs_default_key: Option<String>,
    ebs_by_default: bool,
    /// SecureString parameter name -> the customer key it is encrypted under.
    parameter_keys: BTreeMap<String, String>,
}

fn arn(service: &str, rest: &str) -> String {
    format!("arn:aws:{service}:{REGION}:{ACCOUNT}:{rest}")
}

fn ec2_arn(id: &str) -> String {
    let kind = match id.split('-').next().unwrap_or("") {
        "i" => "instance",
        "sg" => "security-group",
        "subnet" => "subnet",
        "vpc" => "vpc",
        "vol" => "volume",
        "eni" => "network-interface",
        other => panic!("EC2 resource {id}: kind {other} not mapped"),
    };
    arn("ec2", &format!("{kind}/{id}"))
}

/// `Prefix.1.Key`-style numbered parameters: the values of `Prefix.N` (or `Prefix.N.suffix`).
fn numbered(params: &BTreeMap<String, String>, prefix: &str, suffix: &str) -> Vec<String> {
    (1..)
        .map(|n| {
            let name = if suffix.is_empty() {
                format!("{prefix}.{n}")
            } else {
                format!("{prefix}.{n}.{suffix}")
            };
            params.get(&name).cloned()
        })
        .take_while(Option::is_some)
        .flatten()
        .collect()
}

/// EC2's `TagSpecification.N`: (resource type, tags).
fn tag_specifications(params: &BTreeMap<String, String>) -> Vec<(String, Vec<(String, String)>)> {
    numbered(params, "TagSpecification", "ResourceType")
        .into_iter()
        .enumerate()
        .map(|(i, kind)| {
            let prefix = format!("TagSpecification.{}.Tag", i + 1);
            let keys = numbered(params, &prefix, "Key");
            let values = numbered(params, &prefix, "Value");
            (kind, keys.into_iter().zip(values).collect())
        })
        .collect()
}

/// KMS's `Tags: [{TagKey, TagValue}]`.
fn kms_tags(body: &Value) -> Vec<(String, String)> {
    let tags = body["Tags"].as_array().cloned().unwrap_or_default();
    tags.iter().map(|t| (str_of(&t["TagKey"]), str_of(&t["TagValue"]))).collect()
}

fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or("").to_string()
}

impl Facts {
    fn tag(&mut self, resource: String, tags: impl IntoIterator<Item = (String, String)>) {
        self.tags.entry(resource).or_default().extend(tags);
    }

    /// `aws:ResourceTag/k = v` for every tag `resource` carries.
    fn resource_tags(&self, resource: &str) -> Vec<(String, String)> {
        let tags = self.tags.get(resource).into_iter().flatten();
        tags.map(|(k, v)| (format!("aws:ResourceTag/{k}"), v.clone())).collect()
    }

    /// A KMS key named by ID, ARN, alias name or alias ARN, as a key ARN (`None`: an alias
    /// that names nothing yet).
    fn key_arn(&self, id: &str) -> Option<String> {
        let alias = id.split_once(":alias/").map(|(_, a)| format!("alias/{a}"));
        match alias.or_else(|| id.starts_with("alias/").then(|| id.to_string())) {
            Some(a) => self.aliases.get(&a).cloned(),
            None if id.starts_with("arn:") => Some(id.to_string()),
            None => Some(arn("kms", &format!("key/{id}"))),
        }
    }

    /// Learn what a successful call established.
    pub fn learn(&mut self, call: &Call) {
        if call.status >= 300 {
            return;
        }
        let p = &call.params;
        let body = &call.body;
        match (call.service.as_str(), call.operation.as_str()) {
            ("kms", "CreateKey") => {
                let key = str_of(&call.answer["arn"]);
                self.tag(key, kms_tags(body));
            }
            ("kms", "TagResource") => {
                if let Some(key) = self.key_arn(&str_of(&body["KeyId"])) {
                    self.tag(key, kms_tags(body));
                }
            }
            ("kms", "CreateAlias") => {
                if let Some(key) = self.key_arn(&str_of(&body["TargetKeyId"])) {
                    self.aliases.insert(str_of(&body["AliasName"]), key);
                }
            }
            ("kms", "DeleteAlias") => {
                self.aliases.remove(&str_of(&body["AliasName"]));
            }
            ("ec2", "RunInstances" | "CreateSecurityGroup") => {
                let ids = call.answer["ids"].as_array().cloned().unwrap_or_default();
                for (kind, tags) in tag_specifications(p) {
                    for id in ids.iter().map(str_of) {
                        let fits = (kind == "instance") == id.starts_with("i-");
                        if fits {
                            self.tag(ec2_arn(&id), tags.clone());
                        }
                    }
                }
            }
            ("ec2", "CreateTags") => {
                let tags: Vec<_> = numbered(p, "Tag", "Key")
                    .into_iter()
                    .zip(numbered(p, "Tag", "Value"))
                    .collect();
                for id in numbered(p, "ResourceId", "") {
                    self.tag(ec2_arn(&id), tags.clone());
                }
            }
            ("s3", "PutBucketEncryption") => {
                if let Some(key) = body["kms_key"].as_str().and_then(|k| self.key_arn(k)) {
                    self.bucket_keys.insert(bucket_and_key(&call.path).0, key);
                }
            }
            ("ssm", "PutParameter") => {
                if let Some(key) = body["KeyId"].as_str().and_then(|k| self.key_arn(k)) {
                    self.parameter_keys.insert(str_of(&body["Name"]), key);
                }
            }
            ("ec2", "EnableEbsEncryptionByDefault") => self.ebs_by_default = true,
            ("ec2", "ModifyEbsDefaultKmsKeyId") => {
                self.ebs_default_key = p.get("KmsKeyId").and_then(|k| self.key_arn(k));
            }
            ("iam", "AddRoleToInstanceProfile") => {
                let (profile, role) = (p["InstanceProfileName"].clone(), p["RoleName"].clone());
                self.profile_roles.insert(profile, role);
            }
            _ => {}
        }
    }
}

/// `/bucket/key` (path-style, URL-encoded) -> (bucket, decoded key).
fn bucket_and_key(path: &str) -> (String, String) {
    let (bucket, key) = path.trim_start_matches('/').split_once('/').unwrap_or((path, ""));
    let bucket = bucket.trim_start_matches('/').to_string();
    let key = urlencoding::decode(key).map(|k| k.into_owned()).unwrap_or_else(|_| key.into());
    (bucket, key)
}

/// The authorization requests `call` needs, given what `facts` knew when it was made.
pub fn needed(call: &Call, facts: &Facts) -> Vec<Needed> {
    let requests = match call.service.as_str() {
        "s3" => s3(call, facts),
        "kms" => kms(call, facts),
        "ec2" => ec2(call, facts),
        "iam" => iam(call),
        "ssm" => ssm(call, facts),
        "logs" => logs(call),
        "events" => events(call),
        "cloudformation" => cloudformation(call),
        "secretsmanager" => secretsmanager(call),
        "securityhub" => securityhub(call),
        "sts" => sts(call),
        "config" => config(call),
        other => panic!("no IAM mapping for service {other} ({}): add it", call.operation),
    };
    let name = describe(call);
    requests
        .into_iter()
        .map(|r| Needed {
            action: r.action,
            resource: r.resource,
            context: r.context,
            call: name.clone(),
        })
        .collect()
}

/// A call named for a person reading a failure: operation and what it was about.
pub fn describe(call: &Call) -> String {
    let about = match call.service.as_str() {
        "s3" => format!("s3:/{}", call.path),
        _ => {
            let body = call.body.as_object().into_iter().flatten();
            let named =
                call.params.iter().map(|(k, v)| (k.clone(), v.clone())).chain(
                    body.filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string()))),
                );
            let named: Vec<String> = named
                .filter(|(k, _)| k != "Action" && k != "Version" && !k.contains("Document"))
                .map(|(k, v)| format!("{k}={}", v.chars().take(80).collect::<String>()))
                .take(3)
                .collect();
            named.join(" ")
        }
    };
    format!("{} {} ({about})", call.service, call.operation)
}

fn s3(call: &Call, facts: &Facts) -> Vec<Request> {
    let (bucket, key) = bucket_and_key(&call.path);
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    let object = format!("{bucket_arn}/{key}");
    let versioned = call.params.contains_key("versionId");
    let via_s3 = |action: &str, key: &str| {
        Request::new(action, key).with("kms:ViaService", &format!("s3.{REGION}.amazonaws.com"))
    };
    let bucket_key = facts.bucket_keys.get(&bucket);
    let listing = |action: &str| {
        let prefix = call.params.get("prefix").cloned().unwrap_or_default();
        vec![Request::new(action, &bucket_arn).with("s3:prefix", &prefix)]
    };
    let on_bucket = |action: &str| vec![Request::new(action, &bucket_arn)];
    match call.operation.as_str() {
        // With Object Lock: "you must have s3:PutBucketObjectLockConfiguration and
        // s3:PutBucketVersioning" (S3 API Reference, CreateBucket).
        "CreateBucket" if call.body["object_lock"] == json!(true) => {
            ["s3:CreateBucket", "s3:PutBucketObjectLockConfiguration", "s3:PutBucketVersioning"]
                .iter()
                .map(|a| Request::new(a, &bucket_arn))
                .collect()
        }
        "CreateBucket" => on_bucket("s3:CreateBucket"),
        "PutObjectLockConfiguration" => on_bucket("s3:PutBucketObjectLockConfiguration"),
        "GetObjectLockConfiguration" => on_bucket("s3:GetBucketObjectLockConfiguration"),
        "DeleteBucket" => on_bucket("s3:DeleteBucket"),
        "PutBucketEncryption" => on_bucket("s3:PutEncryptionConfiguration"),
        "PutBucketVersioning" => on_bucket("s3:PutBucketVersioning"),
        "PutPublicAccessBlock" => on_bucket("s3:PutBucketPublicAccessBlock"),
        "PutBucketPolicy" | "GetBucketPolicy" | "DeleteBucketPolicy" | "PutBucketTagging"
        | "GetBucketTagging" => on_bucket(&format!("s3:{}", call.operation)),
        "PutBucketNotificationConfiguration" => on_bucket("s3:PutBucketNotification"),
        "ListObjectsV2" | "ListObjects" => listing("s3:ListBucket"),
        "ListObjectVersions" => listing("s3:ListBucketVersions"),
        "DeleteObjects" => {
            let objects = call.body["objects"].as_array().cloned().unwrap_or_default();
            let each = objects.iter().map(|o| {
                let action = if o["version"].is_string() {
                    "s3:DeleteObjectVersion"
                } else {
                    "s3:DeleteObject"
                };
                Request::new(action, &format!("{bucket_arn}/{}", str_of(&o["key"])))
            });
            each.collect()
        }
        "DeleteObject" => {
            let action = if versioned { "s3:DeleteObjectVersion" } else { "s3:DeleteObject" };
            vec![Request::new(action, &object)]
        }
        "PutObject" | "CreateMultipartUpload" | "UploadPart" | "CompleteMultipartUpload" => {
            let mut out = vec![Request::new("s3:PutObject", &object)];
            let key_for_put = call.body["kms_key"].as_str().and_then(|k| facts.key_arn(k));
            if let Some(k) = key_for_put.as_ref().or(bucket_key) {
                if call.operation != "CompleteMultipartUpload" {
                    out.push(via_s3("kms:GenerateDataKey", k));
                }
                if call.operation == "CompleteMultipartUpload" {
                    out.push(via_s3("kms:Decrypt", k));
                }
            }
            out
        }
        "AbortMultipartUpload" => vec![Request::new("s3:AbortMultipartUpload", &object)],
        "GetObject" | "HeadObject" => {
            let action = if versioned { "s3:GetObjectVersion" } else { "s3:GetObject" };
            let mut out = vec![Request::new(action, &object)];
            if call.status == 404 {
                // S3 answers 404 for a missing key only to a caller that may list the bucket.
                out.push(Request::new("s3:ListBucket", &bucket_arn));
            } else if let (Some(k), "GetObject") = (bucket_key, call.operation.as_str()) {
                out.push(via_s3("kms:Decrypt", k));
            }
            out
        }
        other => panic!("no IAM mapping for s3 {other} ({}): add it", call.path),
    }
}

fn kms(call: &Call, facts: &Facts) -> Vec<Request> {
    let body = &call.body;
    let tagged = |action: &str, key: &str| {
        let mut r = Request::new(action, key);
        r.context = facts.resource_tags(key);
        r
    };
    match call.operation.as_str() {
        "CreateKey" => {
            let mut create = Request::new("kms:CreateKey", "*");
            for (k, v) in kms_tags(body) {
                create = create.with(&format!("aws:RequestTag/{k}"), &v).with("aws:TagKeys", &k);
            }
            let mut out = vec![create];
            let tags = kms_tags(body);
            if !tags.is_empty() {
                // "To add tags when creating a KMS key, the caller must have kms:TagResource
                // permission in an IAM policy ... [covering] all KMS keys in the account and
                // Region" (KMS Developer Guide, Managing key tags with API operations).
                let mut tag = Request::new("kms:TagResource", &arn("kms", "key/*"));
                for (k, v) in &tags {
                    tag = tag.with(&format!("aws:RequestTag/{k}"), v).with("aws:TagKeys", k);
                }
                out.push(tag);
            }
            if body["Policy"].is_string() {
                // KMS's lockout check: the caller must be allowed to put the policy again.
                let key = str_of(&call.answer["arn"]);
                out.push(tagged("kms:PutKeyPolicy", &key).with_all(&kms_tags(body)));
            }
            out
        }
        "CreateAlias" | "DeleteAlias" => {
            // Both the alias and the key it names (Service Authorization Reference, KMS).
            let alias = arn("kms", &str_of(&body["AliasName"]));
            let target = match call.operation.as_str() {
                "CreateAlias" => facts.key_arn(&str_of(&body["TargetKeyId"])),
                _ => facts.key_arn(&str_of(&body["AliasName"])),
            };
            let action = format!("kms:{}", call.operation);
            let mut out = vec![Request::new(&action, &alias)];
            out.extend(target.map(|k| tagged(&action, &k)));
            out
        }
        "Sign" => {
            // The conditions a key policy or IAM policy may set on what is signed (Service
            // Authorization Reference, KMS: kms:SigningAlgorithm, kms:MessageType; RAW when
            // the request names none).
            let message = body["MessageType"].as_str().unwrap_or("RAW");
            let key = facts.key_arn(&str_of(&body["KeyId"]));
            let sign = |k: String| {
                tagged("kms:Sign", &k)
                    .with("kms:SigningAlgorithm", &str_of(&body["SigningAlgorithm"]))
                    .with("kms:MessageType", message)
            };
            key.map(sign).into_iter().collect()
        }
        op => {
            let named = str_of(&body["KeyId"]);
            // An alias that names no key is not found before anything is authorized.
            let key =
                facts.key_arn(&named).or_else(|| call.answer["arn"].as_str().map(str::to_string));
            key.map(|k| vec![tagged(&format!("kms:{op}"), &k)]).unwrap_or_default()
        }
    }
}

impl Request {
    fn with_all(mut self, tags: &[(String, String)]) -> Self {
        for (k, v) in tags {
            self = self.with(&format!("aws:ResourceTag/{k}"), v);
        }
        self
    }
}

fn ec2(call: &Call, facts: &Facts) -> Vec<Request> {
    let p = &call.params;
    let tagged = |action: &str, id: &str| {
        let resource = ec2_arn(id);
        let mut r = Request::new(action, &resource);
        r.context = facts.resource_tags(&resource);
        r
    };
    let at_launch = |action: &str| {
        let mut out = Vec::new();
        for (kind, tags) in tag_specifications(p) {
            let mut r = Request::new("ec2:CreateTags", &arn("ec2", &format!("{kind}/*")))
                .with("ec2:CreateAction", action);
            for (k, v) in tags {
                r = r.with(&format!("aws:RequestTag/{k}"), &v).with("aws:TagKeys", &k);
            }
            out.push(r);
        }
        out
    };
    let op = call.operation.as_str();
    match op {
        _ if op.starts_with("Describe") => vec![Request::new(&format!("ec2:{op}"), "*")],
        "RunInstances" => {
            let mut resources = vec![
                arn("ec2", "instance/*"),
                arn("ec2", "volume/*"),
                arn("ec2", "network-interface/*"),
                format!("arn:aws:ec2:{REGION}::image/{}", p["ImageId"]),
                p.get("SubnetId").map_or_else(|| arn("ec2", "subnet/*"), |s| ec2_arn(s)),
            ];
            resources.extend(numbered(p, "SecurityGroupId", "").iter().map(|g| ec2_arn(g)));
            let mut out: Vec<Request> =
                resources.iter().map(|r| Request::new("ec2:RunInstances", r)).collect();
            out.extend(at_launch("RunInstances"));
            let profile = p.get("IamInstanceProfile.Name").cloned().or_else(|| {
                p.get("IamInstanceProfile.Arn").map(|a| a.rsplit('/').next().unwrap_or("").into())
            });
            // Encrypted volumes under a customer key: EC2 uses the key on the caller's behalf
            // (EBS User Guide, "Permissions for IAM users": CreateGrant, Decrypt, DescribeKey,
            // GenerateDataKeyWithoutPlaintext, ReEncrypt*). The AWS managed aws/ebs key's own
            // policy allows this for the account, so no IAM grant is needed for it.
            let encrypted = facts.ebs_by_default
                || (1..)
                    .map_while(|n| p.get(&format!("BlockDeviceMapping.{n}.DeviceName")).map(|_| n))
                    .any(|n| {
                        p.get(&format!("BlockDeviceMapping.{n}.Ebs.Encrypted"))
                            .is_some_and(|e| e == "true")
                    });
            let named = p.get("BlockDeviceMapping.1.Ebs.KmsKeyId").and_then(|k| facts.key_arn(k));
            if let (true, Some(key)) = (encrypted, named.or_else(|| facts.ebs_default_key.clone()))
            {
                for action in [
                    "kms:CreateGrant",
                    "kms:Decrypt",
                    "kms:DescribeKey",
                    "kms:GenerateDataKeyWithoutPlaintext",
                    "kms:ReEncryptFrom",
                    "kms:ReEncryptTo",
                ] {
                    let via = Request::new(action, &key)
                        .with("kms:ViaService", &format!("ec2.{REGION}.amazonaws.com"))
                        .with("kms:CallerAccount", ACCOUNT);
                    out.push(via);
                }
            }
            if let Some(role) = profile.and_then(|name| facts.profile_roles.get(&name)) {
                let role = format!("arn:aws:iam::{ACCOUNT}:role/{role}");
                let pass = Request::new("iam:PassRole", &role);
                out.push(pass.with("iam:PassedToService", "ec2.amazonaws.com"));
            }
            out
        }
        "CreateSecurityGroup" => {
            let vpc = p.get("VpcId").map_or_else(|| arn("ec2", "vpc/*"), |v| ec2_arn(v));
            let mut out = vec![
                Request::new("ec2:CreateSecurityGroup", &arn("ec2", "security-group/*")),
                Request::new("ec2:CreateSecurityGroup", &vpc),
            ];
            out.extend(at_launch("CreateSecurityGroup"));
            out
        }
        "CreateTags" => {
            numbered(p, "ResourceId", "").iter().map(|id| tagged("ec2:CreateTags", id)).collect()
        }
        "TerminateInstances" | "StopInstances" | "StartInstances" => {
            let ids = numbered(p, "InstanceId", "");
            ids.iter().map(|id| tagged(&format!("ec2:{op}"), id)).collect()
        }
        "ModifyInstanceAttribute" | "ModifyInstanceMetadataOptions" => {
            vec![tagged(&format!("ec2:{op}"), &p["InstanceId"])]
        }
        "DeleteSecurityGroup" | "RevokeSecurityGroupEgress" | "AuthorizeSecurityGroupEgress" => {
            vec![tagged(&format!("ec2:{op}"), &p["GroupId"])]
        }
        other => panic!("no IAM mapping for ec2 {other}: add it"),
    }
}

fn iam(call: &Call) -> Vec<Request> {
    let p = &call.params;
    let op = call.operation.as_str();
    let action = format!("iam:{op}");
    let named = |kind: &str, key: &str| {
        let path = p.get("Path").map_or("/", String::as_str);
        p.get(key).map(|n| format!("arn:aws:iam::{ACCOUNT}:{kind}{path}{n}"))
    };
    let policy = p.get("PolicyArn").cloned();
    let entity = named("user", "UserName")
        .or_else(|| named("group", "GroupName"))
        .or_else(|| named("role", "RoleName"));
    if matches!(op, "AttachUserPolicy" | "AttachGroupPolicy" | "AttachRolePolicy")
        || matches!(op, "DetachUserPolicy" | "DetachGroupPolicy" | "DetachRolePolicy")
    {
        let r = Request::new(&action, &entity.expect("entity"));
        return vec![r.with("iam:PolicyARN", &policy.expect("PolicyArn"))];
    }
    if op == "AddRoleToInstanceProfile" {
        let profile = named("instance-profile", "InstanceProfileName").expect("profile");
        let role = format!("arn:aws:iam::{ACCOUNT}:role/{}", p["RoleName"]);
        // Passing the role to the profile needs PassRole; the request names no service.
        return vec![Request::new(&action, &profile), Request::new("iam:PassRole", &role)];
    }
    let resource = if op.contains("InstanceProfile") {
        named("instance-profile", "InstanceProfileName")
    } else if op == "CreatePolicy" {
        named("policy", "PolicyName")
    } else if policy.is_some() && (op.contains("Polic") || op == "ListEntitiesForPolicy") {
        policy
    } else {
        entity
    };
    let resource = resource.unwrap_or_else(|| panic!("no IAM mapping for iam {op}: add it"));
    let tags: Vec<(String, String)> = numbered(p, "Tags.member", "Key")
        .into_iter()
        .zip(numbered(p, "Tags.member", "Value"))
        .collect();
    let with_tags = |mut r: Request| {
        for (k, v) in &tags {
            r = r.with(&format!("aws:RequestTag/{k}"), v).with("aws:TagKeys", k);
        }
        r
    };
    let mut out = vec![with_tags(Request::new(&action, &resource))];
    // Creating with tags needs the tagging action too (IAM User Guide, "Tagging IAM resources":
    // "you must also have permission to tag").
    let tagging = match op {
        "CreateRole" => Some("iam:TagRole"),
        "CreateInstanceProfile" => Some("iam:TagInstanceProfile"),
        "CreatePolicy" => Some("iam:TagPolicy"),
        _ => None,
    };
    if let (Some(tag), false) = (tagging, tags.is_empty()) {
        out.push(with_tags(Request::new(tag, &resource)));
    }
    out
}

fn ssm(call: &Call, facts: &Facts) -> Vec<Request> {
    let body = &call.body;
    let op = call.operation.as_str();
    let action = format!("ssm:{op}");
    let name = str_of(&body["Name"]);
    let resource = match op {
        "DescribeInstanceInformation" | "DescribeAutomationExecutions" => "*".to_string(),
        "GetAutomationExecution" => {
            arn("ssm", &format!("automation-execution/{}", str_of(&body["AutomationExecutionId"])))
        }
        "GetCalendarState" => {
            let calendar = body["CalendarNames"][0].as_str().unwrap_or_default();
            if calendar.starts_with("arn:") {
                calendar.to_string()
            } else {
                arn("ssm", &format!("document/{calendar}"))
            }
        }
        "GetParameter" | "GetParameters" => {
            let name = name.trim_start_matches('/');
            if name.starts_with("aws/service/") {
                format!("arn:aws:ssm:{REGION}::parameter/{name}")
            } else {
                arn("ssm", &format!("parameter/{name}"))
            }
        }
        "ListTagsForResource" => {
            let kind = match body["ResourceType"].as_str() {
                Some("ManagedInstance") => "managed-instance",
                Some("Document") => "document",
                other => panic!("ssm ListTagsForResource of {other:?}: add it"),
            };
            arn("ssm", &format!("{kind}/{}", str_of(&body["ResourceId"])))
        }
        _ if name.starts_with("arn:") => name.clone(),
        // Documents AWS owns are named in AWS's account-less ARN.
        _ if name.starts_with("AWS-") || name.starts_with("Amazon") => {
            format!("arn:aws:ssm:{REGION}::document/{name}")
        }
        _ if op.contains("Document") => arn("ssm", &format!("document/{name}")),
        other => panic!("no IAM mapping for ssm {other}: add it"),
    };
    let mut out = vec![Request::new(&action, &resource)];
    // Tags given on CreateDocument are added with the caller's ssm:AddTagsToResource.
    if op == "CreateDocument" && body["Tags"].as_array().is_some_and(|t| !t.is_empty()) {
        out.push(Request::new("ssm:AddTagsToResource", &resource));
    }
    // A SecureString under a customer key: SSM decrypts with the caller's permission
    // (Systems Manager User Guide, "How Parameter Store uses AWS KMS").
    let key = facts.parameter_keys.get(&name);
    if let (Some(key), true) = (key, body["WithDecryption"] == json!(true)) {
        let via = Request::new("kms:Decrypt", key);
        out.push(via.with("kms:ViaService", &format!("ssm.{REGION}.amazonaws.com")));
    }
    out
}

fn logs(call: &Call) -> Vec<Request> {
    let body = &call.body;
    let op = call.operation.as_str();
    let group = |name: &str| arn("logs", &format!("log-group:{name}"));
    let resource = match op {
        "DescribeLogGroups" => group("*"),
        // Reading a stream is authorised on the stream (resource type log-stream).
        "GetLogEvents" => {
            let name = str_of(&body["logGroupName"]);
            group(&format!("{name}:log-stream:{}", str_of(&body["logStreamName"])))
        }
        "PutDataProtectionPolicy" | "GetDataProtectionPolicy" => {
            group(&str_of(&body["logGroupIdentifier"]))
        }
        _ => match body["resourceArn"].as_str() {
            Some(a) => a.trim_end_matches(":*").to_string(),
            None => group(&str_of(&body["logGroupName"])),
        },
    };
    let mut out = vec![Request::new(&format!("logs:{op}"), &resource)];
    // Reading masked data in the clear is its own permission, on the log group (CloudWatch
    // Logs API Reference, GetLogEvents `unmask`: "requires the logs:Unmask permission").
    if op == "GetLogEvents" && body["unmask"] == json!(true) {
        out.push(Request::new("logs:Unmask", &group(&str_of(&body["logGroupName"]))));
    }
    // A log group created with tags needs logs:TagResource as well (CloudWatch Logs API
    // Reference, CreateLogGroup: "To assign tags when you create a log group, you must have
    // either the logs:TagResource or logs:TagLogGroup permission"; TagLogGroup is deprecated).
    if op == "CreateLogGroup" && body["tags"].as_object().is_some_and(|t| !t.is_empty()) {
        out.push(Request::new("logs:TagResource", &resource));
    }
    out
}

fn events(call: &Call) -> Vec<Request> {
    let entries = call.body["Entries"].as_array().cloned().unwrap_or_default();
    let mut buses: Vec<String> = entries
        .iter()
        .map(|e| {
            let bus = e["EventBusName"].as_str().unwrap_or("default");
            if bus.starts_with("arn:") {
                bus.to_string()
            } else {
                arn("events", &format!("event-bus/{bus}"))
            }
        })
        .collect();
    buses.sort();
    buses.dedup();
    match call.operation.as_str() {
        "PutEvents" => buses.iter().map(|b| Request::new("events:PutEvents", b)).collect(),
        other => panic!("no IAM mapping for events {other}: add it"),
    }
}

fn secretsmanager(call: &Call) -> Vec<Request> {
    // A secret is named by ARN (the full one CloudFormation's Ref gives).
    let secret = str_of(&call.body["SecretId"]);
    match call.operation.as_str() {
        "GetSecretValue" => vec![Request::new("secretsmanager:GetSecretValue", &secret)],
        other => panic!("no IAM mapping for secretsmanager {other}: add it"),
    }
}

fn config(call: &Call) -> Vec<Request> {
    match call.operation.as_str() {
        // No resource-level permissions (IAM's service authorization reference).
        "PutEvaluations" => vec![Request::new("config:PutEvaluations", "*")],
        other => panic!("no IAM mapping for config {other}: add it"),
    }
}

fn sts(call: &Call) -> Vec<Request> {
    let role = call.params.get("RoleArn").cloned().unwrap_or_default();
    match call.operation.as_str() {
        "AssumeRole" => vec![Request::new("sts:AssumeRole", &role)],
        other => panic!("no IAM mapping for sts {other}: add it"),
    }
}

fn securityhub(call: &Call) -> Vec<Request> {
    match call.operation.as_str() {
        // Authorized on the product each finding is imported as.
        "BatchImportFindings" => {
            let findings = call.body["Findings"].as_array().cloned().unwrap_or_default();
            let mut products: Vec<String> =
                findings.iter().map(|f| str_of(&f["ProductArn"])).collect();
            products.sort();
            products.dedup();
            products.iter().map(|p| Request::new("securityhub:BatchImportFindings", p)).collect()
        }
        "GetFindings" => vec![Request::new("securityhub:GetFindings", "*")],
        other => panic!("no IAM mapping for securityhub {other}: add it"),
    }
}

fn cloudformation(call: &Call) -> Vec<Request> {
    // The stack is named by its ARN (the request's StackId), the resource type `stack`.
    let stack = call.params.get("StackName").cloned().unwrap_or_default();
    match call.operation.as_str() {
        "DescribeStackResource" => {
            vec![Request::new("cloudformation:DescribeStackResource", &stack)]
        }
        other => panic!("no IAM mapping for cloudformation {other}: add it"),
    }
}

/// The answer worth keeping from a response: created or found ARNs and IDs.
pub fn answer(service: &str, operation: &str, response: &[u8]) -> Value {
    match (service, operation) {
        ("kms", "CreateKey" | "DescribeKey") => {
            let v: Value = serde_json::from_slice(response).unwrap_or_default();
            json!({"arn": v["KeyMetadata"]["Arn"]})
        }
        ("ec2", "RunInstances" | "CreateSecurityGroup") => {
            let text = String::from_utf8_lossy(response);
            let tag = if operation == "RunInstances" { "instanceId" } else { "groupId" };
            let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
            let ids: Vec<&str> = text
                .split(open.as_str())
                .skip(1)
                .filter_map(|s| s.split(close.as_str()).next())
                .collect();
            json!({"ids": ids})
        }
        _ => Value::Null,
    }
}
