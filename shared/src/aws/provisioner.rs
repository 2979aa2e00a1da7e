//! The provisioner's AWS side. Every step is an idempotent "ensure": it finds what an earlier
//! attempt (a redelivered request, or the Create before an Update) made, adopts it if it
//! carries this resource's tag, creates it otherwise, and brings its settings to the
//! properties. So Create, redelivered Create and in-place Update are one code path; a failed
//! Create removes what its own steps made (the ledger) before reporting FAILED.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_ec2::types as ec2;
use aws_sdk_s3::types as s3;
use serde_json::Value;

use super::custom_resource::Outcome;
use super::{AwsError, Clients};
use crate::provision::policies;
use crate::provision::{Names, Place, Properties, PREFERENCES_DOCUMENT};

/// Every resource made is tagged with its custom resource's physical ID.
pub const TAG_RESOURCE: &str = "session-audit:resource";
/// The `AmiParameter` an instance was launched from: a newer AMI behind the same parameter
/// does not replace a running instance on Update; a different parameter does.
pub const TAG_AMI_SOURCE: &str = "session-audit:ami-source";
const MANAGED_CORE_POLICY: &str = "AmazonSSMManagedInstanceCore";
const INLINE_POLICY: &str = "session-audit-transcripts";
const DOC_MARK_CREATED: &str = "created by Session Audit";
const DOC_MARK_PREVIOUS: &str = "previous default version: ";

/// `SKIP_TLS_BUCKET_POLICY=true` leaves out the bucket's TLS-only policy. Only for the local
/// emulator, whose policy evaluation treats every request as non-TLS and would deny all object
/// calls; reports of a run with it say so. Never set in AWS.
pub const SKIP_TLS_POLICY_ENV: &str = "SKIP_TLS_BUCKET_POLICY";

/// Knobs that differ between AWS and the local emulator or tests.
#[derive(Debug, Clone)]
pub struct Options {
    pub tls_policy_allowed: bool,
    pub poll_interval: Duration,
    /// How long to retry RunInstances while a new instance profile propagates.
    pub profile_propagation: Duration,
}

impl Options {
    pub fn from_env() -> Self {
        let skip = std::env::var(SKIP_TLS_POLICY_ENV).is_ok_and(|v| v == "true" || v == "1");
        Options {
            tls_policy_allowed: !skip,
            poll_interval: Duration::from_secs(5),
            profile_propagation: Duration::from_secs(90),
        }
    }
}

/// A step that failed, and the AWS error behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepError {
    pub step: &'static str,
    pub error: String,
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.step, self.error)
    }
}

type Step<T> = Result<T, StepError>;

fn at<E: std::fmt::Display>(step: &'static str) -> impl Fn(E) -> StepError {
    move |e| StepError { step, error: e.to_string() }
}

/// What this request made, in order, so a failure can remove exactly that.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Made {
    Key(String),
    Alias(String),
    Bucket(String),
    LogGroup(String),
    Role(String),
    Profile(String),
    UserPolicy(String),
    SecurityGroup(String),
    Instance(String),
    Document,
    DocumentVersion(String),
}

#[derive(Default)]
struct Ledger(Mutex<Vec<Made>>);

impl Ledger {
    fn add(&self, made: Made) {
        self.0.lock().expect("ledger").push(made);
    }
    fn take(&self) -> Vec<Made> {
        std::mem::take(&mut *self.0.lock().expect("ledger"))
    }
}

/// The physical ID: stable for a prefix in an account and region, so an Update that keeps the
/// prefix keeps the ID (CloudFormation then deletes nothing), and a new prefix means a new
/// resource (CloudFormation deletes the old one after the new one exists).
pub fn physical_id(place: &Place, prefix: &str) -> String {
    format!("session-audit:{}:{}:{prefix}", place.account, place.region)
}

/// The prefix of one of our physical IDs, if it is one.
pub fn prefix_of(physical: &str) -> Option<&str> {
    let rest = physical.strip_prefix("session-audit:")?;
    let mut parts = rest.splitn(3, ':');
    let (_, _, prefix) = (parts.next()?, parts.next()?, parts.next()?);
    (!prefix.is_empty()).then_some(prefix)
}

/// The provisioner, bound to one account and region.
pub struct Provisioner<'a> {
    c: &'a Clients,
    place: Place,
    options: Options,
}

/// Facts the first phases pass to the instance step.
#[derive(Debug, Clone, Default)]
struct Facts {
    key_arn: String,
    image_id: String,
    subnet_id: Option<String>,
    policy_arn: String,
    sg_id: String,
}

impl<'a> Provisioner<'a> {
    pub fn new(c: &'a Clients, place: Place, options: Options) -> Self {
        Provisioner { c, place, options }
    }

    /// Create (or finish a redelivered Create, or apply an Update in place).
    pub async fn ensure(&self, p: &Properties, request_id: &str) -> Result<Outcome, String> {
        let ledger = Ledger::default();
        match self.ensure_all(p, request_id, &ledger).await {
            Ok(outcome) => Ok(outcome),
            Err(e) => {
                let leftovers = self.rollback(ledger.take(), p).await;
                let note = if leftovers.is_empty() {
                    "; everything this request created was removed".to_string()
                } else {
                    format!("; could not remove: {}", leftovers.join(", "))
                };
                Err(format!("{e}{note}"))
            }
        }
    }

    async fn ensure_all(&self, p: &Properties, request_id: &str, ledger: &Ledger) -> Step<Outcome> {
        let names = Names::new(&p.name_prefix, &self.place);
        let id = physical_id(&self.place, &p.name_prefix);
        let n = &names;
        // Each phase waits for all its steps even when one fails (join, not try_join): a step
        // cancelled after AWS made its resource would escape the ledger and the rollback.
        let (key, image, network, policy, role) = tokio::join!(
            self.ensure_key(p, n, &id, ledger),
            self.resolve_image(p),
            self.resolve_network(p),
            self.ensure_user_policy(p, n, &id, ledger),
            self.ensure_role_and_profile(n, &id, ledger),
        );
        let (key_arn, image_id, (vpc_id, subnet_id), policy_arn, ()) =
            (key?, image?, network?, policy?, role?);
        let (bucket, group, role_policy, sg) = tokio::join!(
            self.ensure_bucket(p, n, &id, &key_arn, ledger),
            self.ensure_log_group(p, n, &id, &key_arn, ledger),
            self.put_role_policy(p, n, &key_arn),
            self.ensure_security_group(n, &id, &vpc_id, ledger),
        );
        let ((), (), (), sg_id) = (bucket?, group?, role_policy?, sg?);
        let facts = Facts { key_arn, image_id, subnet_id, policy_arn, sg_id };
        let (instance, preferences) = tokio::join!(
            self.ensure_instance(p, n, &id, &facts, request_id, ledger),
            self.ensure_preferences(p, n, &id, ledger),
        );
        let (instance_id, doc_version) = (instance?, preferences?);
        let mut data = HashMap::from([
            ("BucketName".to_string(), n.bucket.clone()),
            ("LogGroupName".to_string(), n.log_group.clone()),
            ("KmsKeyArn".to_string(), facts.key_arn.clone()),
            ("InstanceRoleName".to_string(), n.role.clone()),
            ("InstanceProfileName".to_string(), n.instance_profile.clone()),
            ("InstanceId".to_string(), instance_id.clone()),
            ("UserPolicyArn".to_string(), facts.policy_arn.clone()),
            ("SecurityGroupId".to_string(), facts.sg_id.clone()),
            ("PreferencesDocumentVersion".to_string(), doc_version),
            ("TranscriptPrefix".to_string(), p.transcript_prefix.clone()),
        ]);
        if p.wait_for_registration {
            let agent =
                self.wait_for_registration(&instance_id, p.registration_timeout_seconds).await?;
            data.insert("AgentVersion".to_string(), agent);
        }
        Ok(Outcome { physical_id: id, data })
    }

    // ---- KMS -------------------------------------------------------------------------------

    async fn ensure_key(
        &self,
        p: &Properties,
        n: &Names,
        id: &str,
        ledger: &Ledger,
    ) -> Step<String> {
        if let Some(arn) = &p.kms_key_arn {
            return Ok(arn.clone());
        }
        let kms = &self.c.kms;
        match kms.describe_key().key_id(&n.key_alias).send().await.map_err(AwsError::from) {
            Ok(found) => {
                let meta =
                    found.key_metadata().ok_or_else(|| at("kms:DescribeKey")("no key metadata"))?;
                let tags = kms
                    .list_resource_tags()
                    .key_id(meta.key_id())
                    .send()
                    .await
                    .map_err(AwsError::from)
                    .map_err(at("kms:ListResourceTags"))?;
                let ours =
                    tags.tags().iter().any(|t| t.tag_key() == TAG_RESOURCE && t.tag_value() == id);
                if !ours {
                    return Err(at("kms:CreateAlias")(format!("{} already names a key that does not belong to {id}; choose another NamePrefix", n.key_alias)));
                }
                return Ok(meta.arn().unwrap_or_default().to_string());
            }
            Err(e) if e.is(&["NotFoundException"]) => {}
            Err(e) => return Err(at("kms:DescribeKey")(e)),
        }
        let tag = aws_sdk_kms::types::Tag::builder()
            .tag_key(TAG_RESOURCE)
            .tag_value(id)
            .build()
            .map_err(at("kms:CreateKey"))?;
        let created = kms
            .create_key()
            .description(format!(
                "Session Audit: Session Manager transcripts and logs ({})",
                p.name_prefix
            ))
            .policy(policies::key_policy(n, &self.place).to_string())
            .tags(tag)
            .send()
            .await
            .map_err(AwsError::from)
            .map_err(at("kms:CreateKey"))?;
        let meta = created.key_metadata().ok_or_else(|| at("kms:CreateKey")("no key metadata"))?;
        let (key_id, arn) = (meta.key_id().to_string(), meta.arn().unwrap_or_default().to_string());
        ledger.add(Made::Key(key_id.clone()));
        kms.enable_key_rotation()
            .key_id(&key_id)
            .send()
            .await
            .map_err(AwsError::from)
            .map_err(at("kms:EnableKeyRotation"))?;
        kms.create_alias()
            .alias_name(&n.key_alias)
            .target_key_id(&key_id)
            .send()
            .await
            .map_err(AwsError::from)
            .map_err(at("kms:CreateAlias"))?;
        ledger.add(Made::Alias(n.key_alias.clone()));
        Ok(arn)
    }

    // ---- lookups ---------------------------------------------------------------------------

    async fn resolve_image(&self, p: &Properties) -> Step<String> {
        if p.ami_parameter.starts_with("ami-") {
            return Ok(p.ami_parameter.clone());
        }
        let out = self
            .c
            .ssm
            .get_parameter()
            .name(&p.ami_parameter)
            .send()
            .await
            .map_err(AwsError::from)
            .map_err(at("ssm:GetParameter (AMI)"))?;
        out.parameter().and_then(|x| x.value()).map(str::to_string).ok_or_else(|| {
            at("ssm:GetParameter (AMI)")(format!("{} has no value", p.ami_parameter))
        })
    }

    async fn resolve_network(&self, p: &Properties) -> Step<(String, Option<String>)> {
        let ec2c = &self.c.ec2;
        if let Some(subnet) = &p.subnet_id {
            let out = ec2c
                .describe_subnets()
                .subnet_ids(subnet)
                .send()
                .await
                .map_err(AwsError::from)
                .map_err(at("ec2:DescribeSubnets"))?;
            let vpc =
                out.subnets().first().and_then(|s| s.vpc_id()).ok_or_else(|| {
                    at("ec2:DescribeSubnets")(format!("subnet {subnet} not found"))
                })?;
            return Ok((vpc.to_string(), Some(subnet.clone())));
        }
        let filter = ec2::Filter::builder().name("isDefault").values("true").build();
        let out = ec2c
            .describe_vpcs()
            .filters(filter)
            .send()
            .await
            .map_err(AwsError::from)
            .map_err(at("ec2:DescribeVpcs"))?;
        let vpc = out.vpcs().first().and_then(|v| v.vpc_id()).ok_or_else(|| {
            at("ec2:DescribeVpcs")("this region has no default VPC; set the SubnetId property")
        })?;
        Ok((vpc.to_string(), None))
    }

    // ---- IAM -------------------------------------------------------------------------------

    async fn ensure_user_policy(
        &self,
        p: &Properties,
        n: &Names,
        id: &str,
        ledger: &Ledger,
    ) -> Step<String> {
        let iam = &self.c.iam;
        let arn = n.user_policy_arn(&self.place);
        let document = policies::user_policy(p, &self.place);
        match iam.get_policy().policy_arn(&arn).send().await.map_err(AwsError::from) {
            Ok(found) => {
                let policy = found.policy().ok_or_else(|| at("iam:GetPolicy")("no policy"))?;
                let tags = iam
                    .list_policy_tags()
                    .policy_arn(&arn)
                    .send()
                    .await
                    .map_err(AwsError::from)
                    .map_err(at("iam:ListPolicyTags"))?;
                if !tags.tags().iter().any(|t| t.key() == TAG_RESOURCE && t.value() == id) {
                    return Err(at("iam:CreatePolicy")(format!(
                        "policy {} exists and does not belong to {id}; choose another NamePrefix",
                        n.user_policy
                    )));
                }
                let version = policy.default_version_id().unwrap_or_default();
                let current = iam
                    .get_policy_version()
                    .policy_arn(&arn)
                    .version_id(version)
                    .send()
                    .await
                    .map_err(AwsError::from)
                    .map_err(at("iam:GetPolicyVersion"))?;
                let text = current.policy_version().and_then(|v| v.document()).unwrap_or_default();
                let decoded = urlencoding::decode(text)
                    .map(|c| c.into_owned())
                    .unwrap_or_else(|_| text.to_string());
                if serde_json::from_str::<Value>(&decoded).ok() != Some(document.clone()) {
                    self.replace_policy_version(&arn, &document).await?;
                }
                Ok(arn)
            }
            Err(e) if e.is(&["NoSuchEntity"]) => {
                let tag = aws_sdk_iam::types::Tag::builder()
                    .key(TAG_RESOURCE)
                    .value(id)
                    .build()
                    .map_err(at("iam:CreatePolicy"))?;
                let out = iam
                    .create_policy()
                    .policy_name(&n.user_policy)
                    .description("Session Manager access to instances carrying the access tag (Session Audit)")
                    .policy_document(document.to_string())
                    .tags(tag)
                    .send()
                    .await
                    .map_err(AwsError::from)
                    .map_err(at("iam:CreatePolicy"))?;
                let arn = out.policy().and_then(|x| x.arn()).unwrap_or(&arn).to_string();
                ledger.add(Made::UserPolicy(arn.clone()));
                Ok(arn)
            }
            Err(e) => Err(at("iam:GetPolicy")(e)),
        }
    }

    /// A new default version; the oldest non-default one goes when the limit of five is near.
    async fn replace_policy_version(&self, arn: &str, document: &Value) -> Step<()> {
        let iam = &self.c.iam;
        let versions = iam
            .list_policy_versions()
            .policy_arn(arn)
            .send()
            .await
            .map_err(AwsError::from)
            .map_err(at("iam:ListPolicyVersions"))?;
        let mut old: Vec<_> =
            versions.versions().iter().filter(|v| !v.is_default_version()).collect();
        old.sort_by_key(|v| v.create_date().map(|d| d.secs()).unwrap_or(0));
        if versions.versions().len() >= 5 {
            if let Some(v) = old.first().and_then(|v| v.version_id()) {
                iam.delete_policy_version()
                    .policy_arn(arn)
                    .version_id(v)
                    .send()
                    .await
                    .map_err(AwsError::from)
                    .map_err(at("iam:DeletePolicyVersion"))?;
            }
        }
        iam.create_policy_version()
            .policy_arn(arn)
            .policy_document(document.to_string())
            .set_as_default(true)
            .send()
            .await
            .map_err(AwsError::from)
            .map_err(at("iam:CreatePolicyVersion"))?;
        Ok(())
    }

    async fn ensure_role_and_profile(&self, n: &Names, id: &str, ledger: &Ledger) -> Step<()> {
        let iam = &self.c.iam;
        let tag = || aws_sdk_iam::types::Tag::builder().key(TAG_RESOURCE).value(id).build();
        match iam.get_role().role_name(&n.role).send().await.map_err(AwsError::from) {
            Ok(found) => {
                let ours = found.role().is_some_and(|r| {
                    r.tags().iter().any(|t| t.key() == TAG_RESOURCE && t.value() == id)
                });
                if !ours {
                    return Err(at("iam:CreateRole")(format!(
                        "role {} exists and does not belong to {id}; choose another NamePrefix",
                        n.role
                    )));
                }
            }
            Err(e) if e.is(&["NoSuchEntity"]) => {
                iam.create_role()
                    .role_name(&n.role)
                    .description("Session Manager managed instance (Session Audit)")
                    .assume_role_policy_document(policies::ec2_trust_policy().to_string())
                    .tags(tag().map_err(at("iam:CreateRole"))?)
                    .send()
                    .await
                    .map_err(AwsError::from)
                    .map_err(at("iam:CreateRole"))?;
                ledger.add(Made::Role(n.role.clone()));
            }
            Err(e) => return Err(at("iam:GetRole")(e)),
        }
        let core = format!("arn:{}:iam::aws:policy/{MANAGED_CORE_POLICY}", self.place.partition);
        iam.attach_role_policy()
            .role_name(&n.role)
            .policy_arn(core)
            .send()
            .await
            .map_err(AwsError::from)
            .map_err(at("iam:AttachRolePolicy"))?;
        let profile = match iam
            .get_instance_profile()
            .instance_profile_name(&n.instance_profile)
            .send()
            .await
            .map_err(AwsError::from)
        {
            Ok(found) => found.instance_profile().cloned(),
            Err(e) if e.is(&["NoSuchEntity"]) => {
                let out = iam
                    .create_instance_profile()
                    .instance_profile_name(&n.instance_profile)
                    .tags(tag().map_err(at("iam:CreateInstanceProfile"))?)
                    .send()
                    .await
                    .map_err(AwsError::from)
                    .map_err(at("iam:CreateInstanceProfile"))?;
                ledger.add(Made::Profile(n.instance_profile.clone()));
                out.instance_profile().cloned()
            }
            Err(e) => return Err(at("iam:GetInstanceProfile")(e)),
        };
        let has_role =
            profile.as_ref().is_some_and(|ip| ip.roles().iter().any(|r| r.role_name() == n.role));
        if !has_role {
            iam.add_role_to_instance_profile()
                .instance_profile_name(&n.instance_profile)
                .role_name(&n.role)
                .send()
                .await
                .map_err(AwsError::from)
                .map_err(at("iam:AddRoleToInstanceProfile"))?;
        }
        Ok(())
    }

    async fn put_role_policy(&self, p: &Properties, n: &Names, key_arn: &str) -> Step<()> {
        let document = policies::instance_role_policy(p, n, &self.place, key_arn);
        self.c
            .iam
            .put_role_policy()
            .role_name(&n.role)
            .policy_name(INLINE_POLICY)
            .policy_document(document.to_string())
            .send()
            .await
            .map_err(AwsError::from)
            .map_err(at("iam:PutRolePolicy"))?;
        Ok(())
    }

    // ---- S3 and CloudWatch Logs ----------------------------------------------------------

    async fn ensure_bucket(
        &self,
        p: &Properties,
        n: &Names,
        id: &str,
        key_arn: &str,
        ledger: &Ledger,
    ) -> Step<()> {
        let s3c = &self.c.s3;
        match s3c.get_bucket_tagging().bucket(&n.bucket).send().await.map_err(AwsError::from) {
            Ok(tags) => {
                if !tags.tag_set().iter().any(|t| t.key() == TAG_RESOURCE && t.value() == id) {
                    return Err(at("s3:CreateBucket")(format!(
                        "bucket {} exists and does not belong to {id}",
                        n.bucket
                    )));
                }
            }
            Err(e) if e.is(&["NoSuchBucket"]) => {
                let mut create = s3c.create_bucket().bucket(&n.bucket);
                if self.place.region != "us-east-1" {
                    let constraint = s3::BucketLocationConstraint::from(self.place.region.as_str());
                    create = create.create_bucket_configuration(
                        s3::CreateBucketConfiguration::builder()
                            .location_constraint(constraint)
                            .build(),
                    );
                }
                create.send().await.map_err(AwsError::from).map_err(at("s3:CreateBucket"))?;
                ledger.add(Made::Bucket(n.bucket.clone()));
            }
            Err(e) if e.is(&["NoSuchTagSet"]) => {
                return Err(at("s3:CreateBucket")(format!(
                    "bucket {} exists and does not belong to {id}",
                    n.bucket
                )));
            }
            Err(e) => return Err(at("s3:GetBucketTagging")(e)),
        }
        let tagging = s3::Tagging::builder()
            .tag_set(
                s3::Tag::builder()
                    .key(TAG_RESOURCE)
                    .value(id)
                    .build()
                    .map_err(at("s3:PutBucketTagging"))?,
            )
            .build()
            .map_err(at("s3:PutBucketTagging"))?;
        s3c.put_bucket_tagging()
            .bucket(&n.bucket)
            .tagging(tagging)
            .send()
            .await
            .map_err(AwsError::from)
            .map_err(at("s3:PutBucketTagging"))?;
        let rule = s3::ServerSideEncryptionRule::builder()
            .apply_server_side_encryption_by_default(
                s3::ServerSideEncryptionByDefault::builder()
                    .sse_algorithm(s3::ServerSideEncryption::AwsKms)
                    .kms_master_key_id(key_arn)
                    .build()
                    .map_err(at("s3:PutBucketEncryption"))?,
            )
            .bucket_key_enabled(true)
            .build();
        let encryption = s3::ServerSideEncryptionConfiguration::builder()
            .rules(rule)
            .build()
            .map_err(at("s3:PutBucketEncryption"))?;
        s3c.put_bucket_encryption()
            .bucket(&n.bucket)
            .server_side_encryption_configuration(encryption)
            .send()
            .await
            .map_err(AwsError::from)
            .map_err(at("s3:PutBucketEncryption"))?;
        let versioning = s3::VersioningConfiguration::builder()
            .status(s3::BucketVersioningStatus::Enabled)
            .build();
        s3c.put_bucket_versioning()
            .bucket(&n.bucket)
            .versioning_configuration(versioning)
            .send()
            .await
            .map_err(AwsError::from)
            .map_err(at("s3:PutBucketVersioning"))?;
        let block = s3::PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(true)
            .restrict_public_buckets(true)
            .build();
        s3c.put_public_access_block()
            .bucket(&n.bucket)
            .public_access_block_configuration(block)
            .send()
            .await
            .map_err(AwsError::from)
            .map_err(at("s3:PutPublicAccessBlock"))?;
        if p.enforce_tls && self.options.tls_policy_allowed {
            let policy = policies::bucket_tls_policy(n, &self.place).to_string();
            s3c.put_bucket_policy()
                .bucket(&n.bucket)
                .policy(policy)
                .send()
                .await
                .map_err(AwsError::from)
                .map_err(at("s3:PutBucketPolicy"))?;
        } else {
            match s3c.delete_bucket_policy().bucket(&n.bucket).send().await.map_err(AwsError::from)
            {
                Ok(_) => {}
                Err(e) if e.is(&["NoSuchBucketPolicy"]) => {}
                Err(e) => return Err(at("s3:DeleteBucketPolicy")(e)),
            }
        }
        Ok(())
    }

    #[allow(deprecated)] // ListTagsLogGroup: the emulator lacks ListTagsForResource for logs
    async fn ensure_log_group(
        &self,
        p: &Properties,
        n: &Names,
        id: &str,
        key_arn: &str,
        ledger: &Ledger,
    ) -> Step<()> {
        let logs = &self.c.logs;
        let created = logs
            .create_log_group()
            .log_group_name(&n.log_group)
            .kms_key_id(key_arn)
            .tags(TAG_RESOURCE, id)
            .send()
            .await
            .map_err(AwsError::from);
        match created {
            Ok(_) => ledger.add(Made::LogGroup(n.log_group.clone())),
            Err(e) if e.is(&["ResourceAlreadyExistsException"]) => {
                let tags = logs
                    .list_tags_log_group()
                    .log_group_name(&n.log_group)
                    .send()
                    .await
                    .map_err(AwsError::from)
                    .map_err(at("logs:ListTagsLogGroup"))?;
                if tags.tags().and_then(|t| t.get(TAG_RESOURCE)).map(String::as_str) != Some(id) {
                    return Err(at("logs:CreateLogGroup")(format!(
                        "log group {} exists and does not belong to {id}",
                        n.log_group
                    )));
                }
                let described = logs
                    .describe_log_groups()
                    .log_group_name_prefix(&n.log_group)
                    .send()
                    .await
                    .map_err(AwsError::from)
                    .map_err(at("logs:DescribeLogGroups"))?;
                let current = described
                    .log_groups()
                    .iter()
                    .find(|g| g.log_group_name() == Some(n.log_group.as_str()))
                    .and_then(|g| g.kms_key_id());
                if current != Some(key_arn) {
                    logs.associate_kms_key()
                        .log_group_name(&n.log_group)
                        .kms_key_id(key_arn)
                        .send()
                        .await
                        .map_err(AwsError::from)
                        .map_err(at("logs:AssociateKmsKey"))?;
                }
            }
            Err(e) => return Err(at("logs:CreateLogGroup")(e)),
        }
        let days = i32::try_from(p.log_retention_days).unwrap_or(30);
        logs.put_retention_policy()
            .log_group_name(&n.log_group)
            .retention_in_days(days)
            .send()
            .await
            .map_err(AwsError::from)
            .map_err(at("logs:PutRetentionPolicy"))?;
        Ok(())
    }

    // ---- EC2 -------------------------------------------------------------------------------

    async fn ensure_security_group(
        &self,
        n: &Names,
        id: &str,
        vpc_id: &str,
        ledger: &Ledger,
    ) -> Step<String> {
        let ec2c = &self.c.ec2;
        let filters = [
            ec2::Filter::builder().name("group-name").values(&n.security_group).build(),
            ec2::Filter::builder().name("vpc-id").values(vpc_id).build(),
        ];
        let found = ec2c
            .describe_security_groups()
            .set_filters(Some(filters.to_vec()))
            .send()
            .await
            .map_err(AwsError::from)
            .map_err(at("ec2:DescribeSecurityGroups"))?;
        if let Some(group) = found.security_groups().first() {
            let ours =
                group.tags().iter().any(|t| t.key() == Some(TAG_RESOURCE) && t.value() == Some(id));
            if !ours {
                return Err(at("ec2:CreateSecurityGroup")(format!(
                    "security group {} exists and does not belong to {id}",
                    n.security_group
                )));
            }
            return Ok(group.group_id().unwrap_or_default().to_string());
        }
        let tags = ec2::TagSpecification::builder()
            .resource_type(ec2::ResourceType::SecurityGroup)
            .tags(ec2::Tag::builder().key(TAG_RESOURCE).value(id).build())
            .tags(ec2::Tag::builder().key("Name").value(&n.security_group).build())
            .build();
        let out = ec2c
            .create_security_group()
            .group_name(&n.security_group)
            .description("No inbound rules: Session Manager needs none (Session Audit)")
            .vpc_id(vpc_id)
            .tag_specifications(tags)
            .send()
            .await
            .map_err(AwsError::from)
            .map_err(at("ec2:CreateSecurityGroup"))?;
        let group_id = out.group_id().unwrap_or_default().to_string();
        ledger.add(Made::SecurityGroup(group_id.clone()));
        Ok(group_id)
    }

    async fn our_instances(&self, id: &str) -> Step<Vec<ec2::Instance>> {
        let filters = vec![
            ec2::Filter::builder().name(format!("tag:{TAG_RESOURCE}")).values(id).build(),
            ec2::Filter::builder()
                .name("instance-state-name")
                .values("pending")
                .values("running")
                .values("stopping")
                .values("stopped")
                .build(),
        ];
        let out = self
            .c
            .ec2
            .describe_instances()
            .set_filters(Some(filters))
            .send()
            .await
            .map_err(AwsError::from)
            .map_err(at("ec2:DescribeInstances"))?;
        Ok(out.reservations().iter().flat_map(|r| r.instances().iter().cloned()).collect())
    }

    async fn ensure_instance(
        &self,
        p: &Properties,
        n: &Names,
        id: &str,
        f: &Facts,
        request_id: &str,
        ledger: &Ledger,
    ) -> Step<String> {
        let existing = self.our_instances(id).await?;
        let current = existing.iter().find(|i| {
            let source =
                i.tags().iter().find(|t| t.key() == Some(TAG_AMI_SOURCE)).and_then(|t| t.value());
            source.is_none_or(|s| s == p.ami_parameter)
                && f.subnet_id.as_deref().is_none_or(|s| i.subnet_id() == Some(s))
        });
        if let Some(instance) = current {
            let instance_id = instance.instance_id().unwrap_or_default().to_string();
            if instance.instance_type().map(|t| t.as_str()) != Some(p.instance_type.as_str()) {
                self.change_instance_type(&instance_id, &p.instance_type).await?;
            }
            self.c
                .ec2
                .modify_instance_metadata_options()
                .instance_id(&instance_id)
                .http_tokens(ec2::HttpTokensState::Required)
                .http_endpoint(ec2::InstanceMetadataEndpointState::Enabled)
                .send()
                .await
                .map_err(AwsError::from)
                .map_err(at("ec2:ModifyInstanceMetadataOptions"))?;
            self.tag_access(&instance_id, p).await?;
            return Ok(instance_id);
        }
        // A different AmiParameter or subnet means a new instance; the old one goes once the
        // new one runs.
        let instance_id = self.run_instance(p, n, id, f, request_id).await?;
        ledger.add(Made::Instance(instance_id.clone()));
        let old: Vec<String> = existing
            .iter()
            .filter_map(|i| i.instance_id())
            .filter(|i| *i != instance_id)
            .map(str::to_string)
            .collect();
        if !old.is_empty() {
            self.c
                .ec2
                .terminate_instances()
                .set_instance_ids(Some(old))
                .send()
                .await
                .map_err(AwsError::from)
                .map_err(at("ec2:TerminateInstances"))?;
        }
        Ok(instance_id)
    }

    async fn tag_access(&self, instance_id: &str, p: &Properties) -> Step<()> {
        self.c
            .ec2
            .create_tags()
            .resources(instance_id)
            .tags(ec2::Tag::builder().key(&p.access_tag_key).value(&p.access_tag_value).build())
            .send()
            .await
            .map_err(AwsError::from)
            .map_err(at("ec2:CreateTags"))?;
        Ok(())
    }

    async fn run_instance(
        &self,
        p: &Properties,
        n: &Names,
        id: &str,
        f: &Facts,
        request_id: &str,
    ) -> Step<String> {
        let ec2c = &self.c.ec2;
        let image = ec2c
            .describe_images()
            .image_ids(&f.image_id)
            .send()
            .await
            .map_err(AwsError::from)
            .map_err(at("ec2:DescribeImages"))?;
        let image = image.images().first();
        let root = image.and_then(|i| i.root_device_name()).unwrap_or("/dev/xvda").to_string();
        // The root volume keeps the AMI's size (AL2023: 8 GiB); it is stated because the
        // mapping replaces the AMI's own to turn encryption on.
        let size = image
            .and_then(|i| {
                i.block_device_mappings().iter().find(|m| m.device_name() == Some(root.as_str()))
            })
            .and_then(|m| m.ebs())
            .and_then(|e| e.volume_size())
            .unwrap_or(8);
        let tags = |kind| {
            ec2::TagSpecification::builder()
                .resource_type(kind)
                .tags(ec2::Tag::builder().key(TAG_RESOURCE).value(id).build())
                .tags(ec2::Tag::builder().key("Name").value(&n.instance).build())
                .tags(ec2::Tag::builder().key(&p.access_tag_key).value(&p.access_tag_value).build())
                .tags(ec2::Tag::builder().key(TAG_AMI_SOURCE).value(&p.ami_parameter).build())
                .build()
        };
        // Same request, same token: EC2 itself makes a redelivered RunInstances a no-op.
        let token: String = format!("{}-{}", request_id, f.image_id)
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(64)
            .collect();
        let started = tokio::time::Instant::now();
        loop {
            let mut run = ec2c
                .run_instances()
                .image_id(&f.image_id)
                .instance_type(ec2::InstanceType::from(p.instance_type.as_str()))
                .min_count(1)
                .max_count(1)
                .client_token(&token)
                .iam_instance_profile(
                    ec2::IamInstanceProfileSpecification::builder()
                        .name(&n.instance_profile)
                        .build(),
                )
                .metadata_options(
                    ec2::InstanceMetadataOptionsRequest::builder()
                        .http_tokens(ec2::HttpTokensState::Required)
                        .http_endpoint(ec2::InstanceMetadataEndpointState::Enabled)
                        .http_put_response_hop_limit(1)
                        .build(),
                )
                .block_device_mappings(
                    ec2::BlockDeviceMapping::builder()
                        .device_name(&root)
                        .ebs(
                            ec2::EbsBlockDevice::builder()
                                .encrypted(true)
                                .volume_size(size)
                                .volume_type(ec2::VolumeType::Gp3)
                                .delete_on_termination(true)
                                .build(),
                        )
                        .build(),
                )
                .security_group_ids(&f.sg_id)
                .tag_specifications(tags(ec2::ResourceType::Instance))
                .tag_specifications(tags(ec2::ResourceType::Volume));
            if let Some(subnet) = &f.subnet_id {
                run = run.subnet_id(subnet);
            }
            match run.send().await.map_err(AwsError::from) {
                Ok(out) => {
                    let instance = out.instances().first().and_then(|i| i.instance_id());
                    return instance
                        .map(str::to_string)
                        .ok_or_else(|| at("ec2:RunInstances")("no instance in the response"));
                }
                // A new instance profile takes seconds to propagate to EC2.
                Err(e)
                    if e.is(&["InvalidParameterValue"])
                        && e.message.contains("iamInstanceProfile")
                        && started.elapsed() < self.options.profile_propagation =>
                {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
                Err(e) => return Err(at("ec2:RunInstances")(e)),
            }
        }
    }

    async fn wait_for_state(
        &self,
        instance_id: &str,
        wanted: ec2::InstanceStateName,
        limit: Duration,
    ) -> Step<()> {
        let started = tokio::time::Instant::now();
        loop {
            let out = self
                .c
                .ec2
                .describe_instances()
                .instance_ids(instance_id)
                .send()
                .await
                .map_err(AwsError::from)
                .map_err(at("ec2:DescribeInstances"))?;
            let state = out
                .reservations()
                .iter()
                .flat_map(|r| r.instances())
                .find_map(|i| i.state().and_then(|s| s.name()).cloned());
            if state.as_ref() == Some(&wanted)
                || (wanted == ec2::InstanceStateName::Terminated && state.is_none())
            {
                return Ok(());
            }
            if started.elapsed() > limit {
                return Err(at("ec2:DescribeInstances")(format!(
                    "{instance_id} did not reach {} in {}s",
                    wanted.as_str(),
                    limit.as_secs()
                )));
            }
            tokio::time::sleep(self.options.poll_interval).await;
        }
    }

    /// In place: stop, change the type, start (the instance keeps its ID, volume and tags).
    async fn change_instance_type(&self, instance_id: &str, instance_type: &str) -> Step<()> {
        let ec2c = &self.c.ec2;
        ec2c.stop_instances()
            .instance_ids(instance_id)
            .send()
            .await
            .map_err(AwsError::from)
            .map_err(at("ec2:StopInstances"))?;
        self.wait_for_state(instance_id, ec2::InstanceStateName::Stopped, Duration::from_secs(600))
            .await?;
        ec2c.modify_instance_attribute()
            .instance_id(instance_id)
            .instance_type(ec2::AttributeValue::builder().value(instance_type).build())
            .send()
            .await
            .map_err(AwsError::from)
            .map_err(at("ec2:ModifyInstanceAttribute"))?;
        ec2c.start_instances()
            .instance_ids(instance_id)
            .send()
            .await
            .map_err(AwsError::from)
            .map_err(at("ec2:StartInstances"))?;
        Ok(())
    }

    async fn wait_for_registration(&self, instance_id: &str, timeout_seconds: u64) -> Step<String> {
        let started = tokio::time::Instant::now();
        loop {
            let filter = aws_sdk_ssm::types::InstanceInformationStringFilter::builder()
                .key("InstanceIds")
                .values(instance_id)
                .build()
                .map_err(at("ssm:DescribeInstanceInformation"))?;
            let out = self
                .c
                .ssm
                .describe_instance_information()
                .filters(filter)
                .send()
                .await
                .map_err(AwsError::from)
                .map_err(at("ssm:DescribeInstanceInformation"))?;
            if let Some(info) = out
                .instance_information_list()
                .iter()
                .find(|i| i.ping_status().map(|s| s.as_str()) == Some("Online"))
            {
                return Ok(info.agent_version().unwrap_or("unknown").to_string());
            }
            if started.elapsed() >= Duration::from_secs(timeout_seconds) {
                return Err(at("ssm:DescribeInstanceInformation")(format!("{instance_id} did not register with Systems Manager within {timeout_seconds}s (is there a route to the SSM endpoints?)")));
            }
            tokio::time::sleep(self.options.poll_interval).await;
        }
    }

    // ---- Session Manager preferences ---------------------------------------------------------

    /// S5/S6: create the preferences document, or add a version and make it the default,
    /// remembering (in the version's description) what to restore on Delete.
    async fn ensure_preferences(
        &self,
        p: &Properties,
        n: &Names,
        id: &str,
        ledger: &Ledger,
    ) -> Step<String> {
        let ssm = &self.c.ssm;
        let desired = policies::preferences_document(p, n);
        let found =
            ssm.describe_document().name(PREFERENCES_DOCUMENT).send().await.map_err(AwsError::from);
        match found {
            Err(e) if e.is(&["InvalidDocument"]) => {
                let mut doc = desired.clone();
                doc["description"] =
                    Value::String(format!("Session Manager preferences {DOC_MARK_CREATED} ({id})"));
                let out = ssm
                    .create_document()
                    .name(PREFERENCES_DOCUMENT)
                    .content(doc.to_string())
                    .document_type(aws_sdk_ssm::types::DocumentType::Session)
                    .document_format(aws_sdk_ssm::types::DocumentFormat::Json)
                    .send()
                    .await
                    .map_err(AwsError::from)
                    .map_err(at("ssm:CreateDocument"))?;
                ledger.add(Made::Document);
                Ok(out
                    .document_description()
                    .and_then(|d| d.document_version())
                    .unwrap_or("1")
                    .to_string())
            }
            Err(e) => Err(at("ssm:DescribeDocument")(e)),
            Ok(described) => {
                let default_version = described
                    .document()
                    .and_then(|d| d.default_version())
                    .unwrap_or("1")
                    .to_string();
                let current = self.document_content(&default_version).await?;
                let current_description =
                    current["description"].as_str().unwrap_or_default().to_string();
                let mark = if current_description.contains(id) {
                    // Already ours: keep pointing at what was there before us.
                    current_description.clone()
                } else {
                    format!("Session Manager preferences managed by Session Audit ({id}); {DOC_MARK_PREVIOUS}{default_version}")
                };
                let mut doc = desired.clone();
                doc["description"] = Value::String(mark);
                if current == doc {
                    return Ok(default_version);
                }
                let out = ssm
                    .update_document()
                    .name(PREFERENCES_DOCUMENT)
                    .content(doc.to_string())
                    .document_version("$LATEST")
                    .document_format(aws_sdk_ssm::types::DocumentFormat::Json)
                    .send()
                    .await
                    .map_err(AwsError::from)
                    .map_err(at("ssm:UpdateDocument"))?;
                let version = out
                    .document_description()
                    .and_then(|d| d.document_version())
                    .unwrap_or_default()
                    .to_string();
                ssm.update_document_default_version()
                    .name(PREFERENCES_DOCUMENT)
                    .document_version(&version)
                    .send()
                    .await
                    .map_err(AwsError::from)
                    .map_err(at("ssm:UpdateDocumentDefaultVersion"))?;
                ledger.add(Made::DocumentVersion(default_version));
                Ok(version)
            }
        }
    }

    async fn document_content(&self, version: &str) -> Step<Value> {
        let out = self
            .c
            .ssm
            .get_document()
            .name(PREFERENCES_DOCUMENT)
            .document_version(version)
            .document_format(aws_sdk_ssm::types::DocumentFormat::Json)
            .send()
            .await
            .map_err(AwsError::from)
            .map_err(at("ssm:GetDocument"))?;
        Ok(serde_json::from_str(out.content().unwrap_or("{}")).unwrap_or(Value::Null))
    }

    /// S6: put the preferences back as they were before this resource: the previous default
    /// version, or no document if we created it. Sessions never point at a deleted bucket.
    async fn restore_preferences(&self, id: &str) -> Step<()> {
        let ssm = &self.c.ssm;
        let described = match ssm
            .describe_document()
            .name(PREFERENCES_DOCUMENT)
            .send()
            .await
            .map_err(AwsError::from)
        {
            Ok(d) => d,
            Err(e) if e.is(&["InvalidDocument"]) => return Ok(()),
            Err(e) => return Err(at("ssm:DescribeDocument")(e)),
        };
        let default_version =
            described.document().and_then(|d| d.default_version()).unwrap_or("1").to_string();
        let current = self.document_content(&default_version).await?;
        let description = current["description"].as_str().unwrap_or_default();
        if !description.contains(id) {
            return Ok(()); // someone else's preferences now: leave them
        }
        if description.contains(DOC_MARK_CREATED) {
            match ssm
                .delete_document()
                .name(PREFERENCES_DOCUMENT)
                .send()
                .await
                .map_err(AwsError::from)
            {
                Ok(_) => return Ok(()),
                Err(e) if e.is(&["InvalidDocument"]) => return Ok(()),
                Err(e) => return Err(at("ssm:DeleteDocument")(e)),
            }
        }
        if let Some(previous) = description.split(DOC_MARK_PREVIOUS).nth(1) {
            let previous: String = previous.chars().take_while(char::is_ascii_digit).collect();
            ssm.update_document_default_version()
                .name(PREFERENCES_DOCUMENT)
                .document_version(previous)
                .send()
                .await
                .map_err(AwsError::from)
                .map_err(at("ssm:UpdateDocumentDefaultVersion"))?;
        }
        Ok(())
    }

    // ---- Delete and rollback -----------------------------------------------------------------

    /// Delete: tolerant of anything already gone. With `RetainLogs` (the default) the bucket,
    /// log group and key stay; everything else goes.
    pub async fn delete(&self, p: &Properties, physical: &str) -> Result<(), String> {
        let Some(prefix) = prefix_of(physical) else {
            return Ok(()); // not ours (e.g. the ID of a Create that failed before making anything)
        };
        let names = Names::new(prefix, &self.place);
        let n = &names;
        self.restore_preferences(physical).await.map_err(|e| e.to_string())?;
        let instances: Vec<String> = self
            .our_instances(physical)
            .await
            .map_err(|e| e.to_string())?
            .iter()
            .filter_map(|i| i.instance_id().map(str::to_string))
            .collect();
        for instance in &instances {
            self.forget(Made::Instance(instance.clone()), p).await.map_err(|e| e.to_string())?;
        }
        let group = self.find_security_group(n, physical).await.map_err(|e| e.to_string())?;
        let mut steps = Vec::new();
        if let Some(g) = group {
            steps.push(Made::SecurityGroup(g));
        }
        steps.extend([
            Made::UserPolicy(n.user_policy_arn(&self.place)),
            Made::Profile(n.instance_profile.clone()),
            Made::Role(n.role.clone()),
        ]);
        if !p.retain_logs {
            steps.extend([Made::Bucket(n.bucket.clone()), Made::LogGroup(n.log_group.clone())]);
            if p.kms_key_arn.is_none() {
                if let Ok(key) = self.c.kms.describe_key().key_id(&n.key_alias).send().await {
                    if let Some(id) = key.key_metadata().map(|m| m.key_id().to_string()) {
                        steps.extend([Made::Alias(n.key_alias.clone()), Made::Key(id)]);
                    }
                }
            }
        }
        for step in steps {
            self.forget(step, p).await.map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    async fn find_security_group(&self, n: &Names, id: &str) -> Step<Option<String>> {
        let filters = vec![
            ec2::Filter::builder().name("group-name").values(&n.security_group).build(),
            ec2::Filter::builder().name(format!("tag:{TAG_RESOURCE}")).values(id).build(),
        ];
        let out = self
            .c
            .ec2
            .describe_security_groups()
            .set_filters(Some(filters))
            .send()
            .await
            .map_err(AwsError::from)
            .map_err(at("ec2:DescribeSecurityGroups"))?;
        Ok(out.security_groups().first().and_then(|g| g.group_id()).map(str::to_string))
    }

    /// Undo what a failed request made, newest first. Returns what could not be removed.
    async fn rollback(&self, made: Vec<Made>, p: &Properties) -> Vec<String> {
        let mut leftovers = Vec::new();
        // The document first: sessions must never point at a bucket about to go.
        let (docs, rest): (Vec<Made>, Vec<Made>) =
            made.into_iter().partition(|m| matches!(m, Made::Document | Made::DocumentVersion(_)));
        for m in docs.into_iter().rev().chain(rest.into_iter().rev()) {
            let label = format!("{m:?}");
            if let Err(e) = self.forget(m, p).await {
                leftovers.push(format!("{label} ({e})"));
            }
        }
        leftovers
    }

    /// Remove one resource; gone already counts as removed.
    async fn forget(&self, made: Made, p: &Properties) -> Step<()> {
        let gone = |e: &AwsError| {
            e.is(&[
                "NoSuchEntity",
                "NoSuchBucket",
                "ResourceNotFoundException",
                "NotFoundException",
                "InvalidGroup.NotFound",
                "InvalidInstanceID.NotFound",
                "InvalidDocument",
                "KMSInvalidStateException",
            ])
        };
        let result: Result<(), (&'static str, AwsError)> = match made {
            Made::Instance(id) => {
                match self
                    .c
                    .ec2
                    .terminate_instances()
                    .instance_ids(&id)
                    .send()
                    .await
                    .map_err(AwsError::from)
                {
                    Ok(_) => {
                        self.wait_for_state(
                            &id,
                            ec2::InstanceStateName::Terminated,
                            Duration::from_secs(600),
                        )
                        .await?
                    }
                    Err(e) if gone(&e) => {}
                    Err(e) => return Err(at("ec2:TerminateInstances")(e)),
                }
                Ok(())
            }
            Made::SecurityGroup(id) => {
                // Still attached to a terminating instance's network interface for a while.
                let started = tokio::time::Instant::now();
                loop {
                    match self
                        .c
                        .ec2
                        .delete_security_group()
                        .group_id(&id)
                        .send()
                        .await
                        .map_err(AwsError::from)
                    {
                        Ok(_) => break Ok(()),
                        Err(e) if gone(&e) => break Ok(()),
                        Err(e)
                            if e.is(&["DependencyViolation"])
                                && started.elapsed() < Duration::from_secs(300) =>
                        {
                            tokio::time::sleep(self.options.poll_interval).await
                        }
                        Err(e) => break Err(("ec2:DeleteSecurityGroup", e)),
                    }
                }
            }
            Made::UserPolicy(arn) => self.delete_policy(&arn).await,
            Made::Profile(name) => self.delete_profile(&name).await,
            Made::Role(name) => self.delete_role(&name).await,
            Made::Bucket(name) => self.empty_and_delete_bucket(&name).await,
            Made::LogGroup(name) => self
                .c
                .logs
                .delete_log_group()
                .log_group_name(&name)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| ("logs:DeleteLogGroup", AwsError::from(e))),
            Made::Alias(name) => self
                .c
                .kms
                .delete_alias()
                .alias_name(&name)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| ("kms:DeleteAlias", AwsError::from(e))),
            Made::Key(id) => self
                .c
                .kms
                .schedule_key_deletion()
                .key_id(&id)
                .pending_window_in_days(7)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| ("kms:ScheduleKeyDeletion", AwsError::from(e))),
            Made::Document => self
                .c
                .ssm
                .delete_document()
                .name(PREFERENCES_DOCUMENT)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| ("ssm:DeleteDocument", AwsError::from(e))),
            Made::DocumentVersion(previous) => self
                .c
                .ssm
                .update_document_default_version()
                .name(PREFERENCES_DOCUMENT)
                .document_version(previous)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| ("ssm:UpdateDocumentDefaultVersion", AwsError::from(e))),
        };
        let _ = p;
        match result {
            Ok(()) => Ok(()),
            Err((_, e)) if gone(&e) => Ok(()),
            Err((step, e)) => Err(at(step)(e)),
        }
    }

    async fn delete_policy(&self, arn: &str) -> Result<(), (&'static str, AwsError)> {
        let iam = &self.c.iam;
        let versions = iam
            .list_policy_versions()
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| ("iam:ListPolicyVersions", AwsError::from(e)))?;
        for v in versions.versions().iter().filter(|v| !v.is_default_version()) {
            if let Some(id) = v.version_id() {
                iam.delete_policy_version()
                    .policy_arn(arn)
                    .version_id(id)
                    .send()
                    .await
                    .map_err(|e| ("iam:DeletePolicyVersion", AwsError::from(e)))?;
            }
        }
        iam.delete_policy()
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| ("iam:DeletePolicy", AwsError::from(e)))?;
        Ok(())
    }

    async fn delete_profile(&self, name: &str) -> Result<(), (&'static str, AwsError)> {
        let iam = &self.c.iam;
        let profile = iam
            .get_instance_profile()
            .instance_profile_name(name)
            .send()
            .await
            .map_err(|e| ("iam:GetInstanceProfile", AwsError::from(e)))?;
        for role in profile.instance_profile().map(|p| p.roles()).unwrap_or_default() {
            iam.remove_role_from_instance_profile()
                .instance_profile_name(name)
                .role_name(role.role_name())
                .send()
                .await
                .map_err(|e| ("iam:RemoveRoleFromInstanceProfile", AwsError::from(e)))?;
        }
        iam.delete_instance_profile()
            .instance_profile_name(name)
            .send()
            .await
            .map_err(|e| ("iam:DeleteInstanceProfile", AwsError::from(e)))?;
        Ok(())
    }

    async fn delete_role(&self, name: &str) -> Result<(), (&'static str, AwsError)> {
        let iam = &self.c.iam;
        let attached = iam
            .list_attached_role_policies()
            .role_name(name)
            .send()
            .await
            .map_err(|e| ("iam:ListAttachedRolePolicies", AwsError::from(e)))?;
        for policy in attached.attached_policies() {
            if let Some(arn) = policy.policy_arn() {
                iam.detach_role_policy()
                    .role_name(name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .map_err(|e| ("iam:DetachRolePolicy", AwsError::from(e)))?;
            }
        }
        let inline = iam
            .list_role_policies()
            .role_name(name)
            .send()
            .await
            .map_err(|e| ("iam:ListRolePolicies", AwsError::from(e)))?;
        for policy in inline.policy_names() {
            iam.delete_role_policy()
                .role_name(name)
                .policy_name(policy)
                .send()
                .await
                .map_err(|e| ("iam:DeleteRolePolicy", AwsError::from(e)))?;
        }
        iam.delete_role()
            .role_name(name)
            .send()
            .await
            .map_err(|e| ("iam:DeleteRole", AwsError::from(e)))?;
        Ok(())
    }

    /// Every object version and delete marker, then the bucket (`RetainLogs=false` only).
    async fn empty_and_delete_bucket(&self, bucket: &str) -> Result<(), (&'static str, AwsError)> {
        let s3c = &self.c.s3;
        loop {
            let page = s3c
                .list_object_versions()
                .bucket(bucket)
                .max_keys(1000)
                .send()
                .await
                .map_err(|e| ("s3:ListObjectVersions", AwsError::from(e)))?;
            let mut ids: Vec<s3::ObjectIdentifier> = Vec::new();
            for v in page.versions() {
                ids.push(
                    s3::ObjectIdentifier::builder()
                        .key(v.key().unwrap_or_default())
                        .set_version_id(v.version_id().map(str::to_string))
                        .build()
                        .expect("key set"),
                );
            }
            for m in page.delete_markers() {
                ids.push(
                    s3::ObjectIdentifier::builder()
                        .key(m.key().unwrap_or_default())
                        .set_version_id(m.version_id().map(str::to_string))
                        .build()
                        .expect("key set"),
                );
            }
            if ids.is_empty() {
                break;
            }
            let delete = s3::Delete::builder()
                .set_objects(Some(ids))
                .quiet(true)
                .build()
                .expect("objects set");
            s3c.delete_objects()
                .bucket(bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| ("s3:DeleteObjects", AwsError::from(e)))?;
        }
        s3c.delete_bucket()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| ("s3:DeleteBucket", AwsError::from(e)))?;
        Ok(())
    }
}

/// One custom-resource request, start to finish (without the response; see
/// [`super::custom_resource::respond_always`]).
pub async fn handle_request(
    request: aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest,
    clients: Clients,
    options: Options,
) -> Result<Outcome, String> {
    use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest as Request;
    let as_map = |v: &Value| -> HashMap<String, Value> {
        v.as_object()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    };
    let place_of = |stack_id: &str| {
        Place::from_stack_id(stack_id)
            .ok_or_else(|| format!("StackId '{stack_id}' is not a CloudFormation stack ARN"))
    };
    match request {
        Request::Create(r) => {
            let props =
                Properties::parse(&as_map(&r.resource_properties)).map_err(|e| e.to_string())?;
            let place = place_of(&r.stack_id)?;
            Provisioner::new(&clients, place, options).ensure(&props, &r.request_id).await
        }
        Request::Update(r) => {
            // A new NamePrefix yields a new physical ID; CloudFormation then deletes the old one
            // with its old properties. Anything else is brought up to date in place.
            let props =
                Properties::parse(&as_map(&r.resource_properties)).map_err(|e| e.to_string())?;
            let place = place_of(&r.stack_id)?;
            Provisioner::new(&clients, place, options).ensure(&props, &r.request_id).await
        }
        Request::Delete(r) => {
            // Never block a stack's deletion on a property it can no longer change: invalid
            // properties fall back to the safe defaults (which retain the audit data).
            let props = Properties::parse(&as_map(&r.resource_properties))
                .or_else(|_| Properties::parse(&HashMap::new()))
                .map_err(|e| e.to_string())?;
            let place = place_of(&r.stack_id)?;
            Provisioner::new(&clients, place, options)
                .delete(&props, &r.physical_resource_id)
                .await?;
            Ok(Outcome { physical_id: r.physical_resource_id, data: HashMap::new() })
        }
        _ => Err("unknown RequestType".to_string()),
    }
}
