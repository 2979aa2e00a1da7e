//! The provisioner's AWS side. Every step is an idempotent "ensure": it finds what an earlier
//! attempt (a redelivered request, or the Create before an Update) made, adopts it if it
//! carries this resource's tag, creates it otherwise, and brings its settings to the
//! properties. So Create, redelivered Create and in-place Update are one code path; a failed
//! Create removes what its own steps made (the ledger) before reporting FAILED.

use session_audit::settings::ProvisionerSettings;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_ec2::types as ec2;
use serde_json::Value;

mod access;
mod compute;
mod iam;
mod preferences;
mod storage;

use crate::custom_resource::genuine::{confirm_with, StackResources};
use crate::custom_resource::Outcome;
use crate::{AwsError, Clients};
use session_audit::provisioner::policies;
use session_audit::provisioner::{Names, Place, Properties, PREFERENCES_DOCUMENT};

/// Every resource made is tagged with its custom resource's physical ID.
pub const TAG_RESOURCE: &str = "session-audit:resource";
/// The `RetainLogs` choice of the last Create or Update, on the bucket: a Delete deletes the
/// audit data only when this says `false` (never on the Delete request's word, which anyone
/// able to invoke the function could write).
pub const TAG_RETAIN: &str = "session-audit:retain-on-delete";
/// The custom resource type the template declares; CloudFormation must report it in progress.
pub const RESOURCE_TYPE: &str = "Custom::SessionAuditAccessPath";
/// The `AmiParameter` an instance was launched from: a newer AMI behind the same parameter
/// does not replace a running instance on Update; a different parameter does.
pub const TAG_AMI_SOURCE: &str = "session-audit:ami-source";
const MANAGED_CORE_POLICY: &str = "AmazonSSMManagedInstanceCore";
const INLINE_POLICY: &str = "session-audit-transcripts";
const DOC_MARK_CREATED: &str = "created by Session Audit";
const DOC_MARK_PREVIOUS: &str = "previous default version: ";

/// Knobs that differ between AWS and the local emulator or tests (`SKIP_TLS_BUCKET_POLICY` and
/// `STACK_ID` come from [`ProvisionerSettings`]).
#[derive(Debug, Clone)]
pub struct Options {
    /// The only stack whose requests are served (`STACK_ID`); `None` serves none.
    pub stack_id: Option<String>,
    /// Whether the bucket gets the TLS-only policy (`false` only for the emulator).
    pub tls_policy_allowed: bool,
    /// How often instance and registration states are polled.
    pub poll_interval: Duration,
    /// How long to retry RunInstances while a new instance profile propagates.
    pub profile_propagation: Duration,
}

impl Options {
    /// The options AWS runs with, from the function's settings.
    pub fn new(settings: ProvisionerSettings) -> Self {
        Options {
            stack_id: settings.stack_id,
            tls_policy_allowed: !settings.skip_tls_bucket_policy,
            poll_interval: Duration::from_secs(5),
            profile_propagation: Duration::from_secs(90),
        }
    }
}

/// A step that failed, and the AWS error behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepError {
    /// The step (`CreateBucket`, `RunInstances`, …).
    pub step: &'static str,
    /// What AWS answered.
    pub error: AwsError,
}

impl StepError {
    fn aws(step: &'static str, error: AwsError) -> Self {
        StepError { step, error }
    }
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.step, self.error)
    }
}

type Step<T> = Result<T, StepError>;

/// A failure that is not an AWS error response (a missing field, a timeout).
fn at<E: std::fmt::Display>(step: &'static str) -> impl Fn(E) -> StepError {
    move |e| StepError { step, error: AwsError { code: None, message: e.to_string() } }
}

/// A resource with our name that another stack (or a person) made: never adopted.
fn foreign(step: &'static str, what: &str, id: &str) -> StepError {
    at(step)(format!(
        "{what} already exists and is not tagged {TAG_RESOURCE}={id}; choose another NamePrefix"
    ))
}

/// `.step("iam:CreateRole")` on an SDK call's result: the error, named after its step.
trait StepResult<T> {
    fn step(self, step: &'static str) -> Step<T>;
}

impl<T, E, R> StepResult<T> for Result<T, aws_sdk_s3::error::SdkError<E, R>>
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    fn step(self, step: &'static str) -> Step<T> {
        self.map_err(|e| StepError::aws(step, AwsError::from(e)))
    }
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
    SessionDocument(String),
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
    /// A provisioner in `place` over `c`.
    pub fn new(c: &'a Clients, place: Place, options: Options) -> Self {
        Provisioner { c, place, options }
    }

    /// Create (or finish a redelivered Create, or apply an Update in place).
    pub async fn ensure(&self, p: &Properties, request_id: &str) -> Result<Outcome, String> {
        let ledger = Ledger::default();
        match self.ensure_all(p, request_id, &ledger).await {
            Ok(outcome) => Ok(outcome),
            Err(e) => {
                let leftovers = self.rollback(ledger.take()).await;
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
        let (instance, preferences, access) = tokio::join!(
            self.ensure_instance(p, n, &id, &facts, request_id, ledger),
            self.ensure_preferences(p, n, &id, ledger),
            self.ensure_access(p, n, &id, ledger),
        );
        let (instance_id, doc_version, documents) = (instance?, preferences?, access?);
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
            ("SessionDocuments".to_string(), documents.join(",")),
            (
                "ChangeCalendar".to_string(),
                p.change_calendar.clone().unwrap_or_else(|| n.change_calendar.clone()),
            ),
        ]);
        if p.wait_for_registration {
            let agent =
                self.wait_for_registration(&instance_id, p.registration_timeout_seconds).await?;
            data.insert("AgentVersion".to_string(), agent);
        }
        Ok(Outcome { physical_id: id, data })
    }

    // ---- Delete and rollback -----------------------------------------------------------------

    /// Delete: tolerant of anything already gone. The bucket, log group and key stay unless
    /// the last Create or Update recorded `RetainLogs=false` ([`TAG_RETAIN`]); everything else
    /// goes. Even then the key stays while the bucket does (locked versions are kept, and they
    /// are encrypted with it).
    pub async fn delete(&self, physical: &str) -> Result<(), String> {
        let Some(prefix) = prefix_of(physical) else {
            return Ok(()); // not ours (e.g. the ID of a Create that failed before making anything)
        };
        let names = Names::new(prefix, &self.place);
        let n = &names;
        let retain_logs = self.recorded_retain_logs(n, physical).await;
        self.restore_preferences(physical).await.map_err(|e| e.to_string())?;
        self.remove_access(prefix, physical).await.map_err(|e| e.to_string())?;
        let instances: Vec<String> = self
            .our_instances(physical)
            .await
            .map_err(|e| e.to_string())?
            .iter()
            .filter_map(|i| i.instance_id().map(str::to_string))
            .collect();
        for instance in &instances {
            self.forget(Made::Instance(instance.clone())).await.map_err(|e| e.to_string())?;
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
        if !retain_logs {
            steps.extend([Made::Bucket(n.bucket.clone()), Made::LogGroup(n.log_group.clone())]);
        }
        for step in steps {
            self.forget(step).await.map_err(|e| e.to_string())?;
        }
        if !retain_logs {
            // Versions under Object Lock outlive the stack, with their bucket: they are
            // encrypted with the key, so the key stays while the bucket does (scheduling its
            // deletion would make the locked evidence unreadable in seven days).
            let listed = self.c.s3.list_object_versions().bucket(&n.bucket).max_keys(1);
            // Only a bucket S3 says is gone lets the key go; any other answer keeps it.
            let bucket_kept = match listed.send().await.map_err(AwsError::from) {
                Ok(_) => true,
                Err(e) => !e.is(&["NoSuchBucket"]),
            };
            if bucket_kept {
                tracing::warn!(
                    bucket = %n.bucket,
                    key = %n.key_alias,
                    "the key is kept: the bucket keeps locked versions encrypted with it"
                );
            } else if let Some(id) = self.our_key(n, physical).await {
                // Only the key this resource made (a KmsKeyArn given instead has no alias of
                // ours, and a key under our alias without our tag is someone else's).
                for step in [Made::Alias(n.key_alias.clone()), Made::Key(id)] {
                    self.forget(step).await.map_err(|e| e.to_string())?;
                }
            }
        }
        Ok(())
    }

    /// What the last Create or Update recorded for `RetainLogs`: `false` only when the bucket
    /// is ours and its tag says so; a missing bucket, tag or answer retains.
    async fn recorded_retain_logs(&self, n: &Names, physical: &str) -> bool {
        let tags = match self.c.s3.get_bucket_tagging().bucket(&n.bucket).send().await {
            Ok(tags) => tags,
            Err(e) => {
                let e = AwsError::from(e);
                tracing::warn!(bucket = %n.bucket, error = %e, "no recorded RetainLogs: retained");
                return true;
            }
        };
        let tag = |key: &str| tags.tag_set().iter().find(|t| t.key() == key).map(|t| t.value());
        !(tag(TAG_RESOURCE) == Some(physical) && tag(TAG_RETAIN) == Some("false"))
    }

    /// The key behind our alias, when it carries this resource's tag.
    async fn our_key(&self, n: &Names, physical: &str) -> Option<String> {
        let key = self.c.kms.describe_key().key_id(&n.key_alias).send().await.ok()?;
        let id = key.key_metadata()?.key_id().to_string();
        let tags = self.c.kms.list_resource_tags().key_id(&id).send().await.ok()?;
        tags.tags()
            .iter()
            .any(|t| t.tag_key() == TAG_RESOURCE && t.tag_value() == physical)
            .then_some(id)
    }

    /// Undo what a failed request made, newest first. Returns what could not be removed.
    async fn rollback(&self, made: Vec<Made>) -> Vec<String> {
        let mut leftovers = Vec::new();
        // The document first: sessions must never point at a bucket about to go.
        let (docs, rest): (Vec<Made>, Vec<Made>) =
            made.into_iter().partition(|m| matches!(m, Made::Document | Made::DocumentVersion(_)));
        for m in docs.into_iter().rev().chain(rest.into_iter().rev()) {
            let label = format!("{m:?}");
            if let Err(e) = self.forget(m).await {
                leftovers.push(format!("{label} ({e})"));
            }
        }
        leftovers
    }

    /// Remove one resource; gone already counts as removed.
    async fn forget(&self, made: Made) -> Step<()> {
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
        let result: Step<()> = match made {
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
                    Err(e) => return Err(StepError::aws("ec2:TerminateInstances", e)),
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
                        Err(e) => break Err(StepError::aws("ec2:DeleteSecurityGroup", e)),
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
                .step("logs:DeleteLogGroup"),
            Made::Alias(name) => self
                .c
                .kms
                .delete_alias()
                .alias_name(&name)
                .send()
                .await
                .map(|_| ())
                .step("kms:DeleteAlias"),
            Made::Key(id) => self
                .c
                .kms
                .schedule_key_deletion()
                .key_id(&id)
                .pending_window_in_days(7)
                .send()
                .await
                .map(|_| ())
                .step("kms:ScheduleKeyDeletion"),
            Made::Document => self
                .c
                .ssm
                .delete_document()
                .name(PREFERENCES_DOCUMENT)
                .send()
                .await
                .map(|_| ())
                .step("ssm:DeleteDocument"),
            Made::SessionDocument(name) => self
                .c
                .ssm
                .delete_document()
                .name(name)
                .send()
                .await
                .map(|_| ())
                .step("ssm:DeleteDocument"),
            Made::DocumentVersion(previous) => self
                .c
                .ssm
                .update_document_default_version()
                .name(PREFERENCES_DOCUMENT)
                .document_version(previous)
                .send()
                .await
                .map(|_| ())
                .step("ssm:UpdateDocumentDefaultVersion"),
        };
        match result {
            Err(e) if gone(&e.error) => Ok(()),
            other => other,
        }
    }
}

/// What the provisioner Lambda builds once at cold start and every request borrows.
#[derive(Debug, Clone)]
pub struct Service {
    clients: Clients,
    cloudformation: aws_sdk_cloudformation::Client,
    hosts: crate::custom_resource::ResponseHosts,
    options: Options,
}

impl Service {
    /// The clients from `config`; responses only to CloudFormation's response bucket of the
    /// function's own Region (and the emulator's origin, when the settings name one).
    pub fn new(config: &aws_config::SdkConfig, settings: ProvisionerSettings) -> Self {
        let region = config.region().map(|r| r.as_ref().to_string()).unwrap_or_default();
        let origin = settings.emulator_response_origin.clone();
        Service {
            clients: Clients::new(config),
            cloudformation: aws_sdk_cloudformation::Client::new(config),
            hosts: crate::custom_resource::ResponseHosts::new(&region, origin),
            options: Options::new(settings),
        }
    }

    /// Serve `request` and answer it (see [`crate::custom_resource::respond_always`]).
    pub async fn respond(
        &self,
        request: aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest,
        deadline: tokio::time::Instant,
        http: &reqwest::Client,
    ) -> (crate::custom_resource::Meta, Result<Outcome, String>, Result<(), String>) {
        let (clients, cloudformation) = (self.clients.clone(), self.cloudformation.clone());
        let options = self.options.clone();
        crate::custom_resource::respond_always(request, deadline, http, &self.hosts, move |r| {
            handle_request(r, clients, cloudformation, options)
        })
        .await
    }
}

/// One custom-resource request, start to finish (without the response; see
/// [`crate::custom_resource::respond_always`]).
/// `Ok` when `requested` is the stack this provisioner belongs to.
pub fn own_stack(own: Option<&str>, requested: &str) -> Result<(), String> {
    match own {
        Some(own) if own == requested => Ok(()),
        Some(own) => Err(format!(
            "refused: this provisioner serves stack {own}, not {requested}; nothing was changed"
        )),
        None => Err(format!(
            "refused: STACK_ID is not set, so this provisioner cannot tell its own stack from {requested}; nothing was changed"
        )),
    }
}

/// Serve one CloudFormation request: the stack checked first, then whether CloudFormation
/// really has this resource's operation in progress (`stack`), then Create, Update or Delete.
pub async fn handle_request(
    request: aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest,
    clients: Clients,
    stack: impl StackResources,
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
    // Anyone allowed to invoke the function could send a request naming another stack (a
    // Delete with RetainLogs=false would remove the audit trail): only our own is served.
    let meta = crate::custom_resource::meta(&request);
    own_stack(options.stack_id.as_deref(), &meta.stack_id)?;
    // Naming our stack is easy (its ID is public to anyone who can describe it): CloudFormation
    // itself must have this resource's operation under way.
    confirm_with(&stack, &meta, RESOURCE_TYPE).await?;
    match request {
        Request::Create(r) => {
            let props =
                Properties::parse(&as_map(&r.resource_properties)).map_err(|e| e.to_string())?;
            let place = place_of(&r.stack_id)?;
            Provisioner::new(&clients, place, options).ensure(&props, &r.request_id).await
        }
        Request::Update(r) => {
            // Anything but the NamePrefix is brought up to date in place. A new NamePrefix
            // would need a new physical resource and the old one deleted afterwards, by this
            // function, under the stack's new policy, which is scoped to the new prefix: the
            // old role, key and instance could never be removed. Refused before any change.
            let props =
                Properties::parse(&as_map(&r.resource_properties)).map_err(|e| e.to_string())?;
            let old = Properties::parse(&as_map(&r.old_resource_properties)).ok();
            if let Some(old) = old.filter(|o| o.name_prefix != props.name_prefix) {
                return Err(format!(
                    "NamePrefix cannot change from '{}' to '{}': the provisioner's permissions are \
                     scoped to the prefix, so it could not remove what the old one made; nothing \
                     was changed. Deploy a new stack with the new prefix, then delete this one",
                    old.name_prefix, props.name_prefix
                ));
            }
            let place = place_of(&r.stack_id)?;
            Provisioner::new(&clients, place, options).ensure(&props, &r.request_id).await
        }
        Request::Delete(r) => {
            // The Delete's properties are not read: what it may destroy was recorded by the
            // Create or Update that CloudFormation last confirmed (see `TAG_RETAIN`).
            let place = place_of(&r.stack_id)?;
            Provisioner::new(&clients, place, options).delete(&r.physical_resource_id).await?;
            Ok(Outcome { physical_id: r.physical_resource_id, data: HashMap::new() })
        }
        _ => Err("unknown RequestType".to_string()),
    }
}
