//! The Config rule's AWS side: facts from EC2 (instances, their security groups and metadata
//! options), Systems Manager (which instances are online; the preferences document) and IAM
//! (the instance profile's managed policies), and verdicts sent with Config's PutEvaluations.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_config::types::{ComplianceType, Evaluation as ConfigEvaluation};
use aws_sdk_ec2::types::{Filter, HttpTokensState, IpPermission};
use aws_sdk_ssm::types::InstanceInformationStringFilter;
use jiff::Timestamp;
use serde_json::Value;
use session_audit::config_evaluation::{Compliance, Evaluation, Ingress, InstanceFacts};
use session_audit::config_rule::ConfigRule;
use session_audit::ports::compliance::{ComplianceError, ComplianceFacts, EvaluationResults};
use session_audit::rules::RulePack;
use session_audit::session::DEFAULT_DOCUMENT;
use session_audit::settings::ConfigRuleSettings;

use crate::findings::FindingsOut;
use crate::s3_store::S3Store;
use crate::session_start::lookups::document;
use crate::{AwsError, Clients};

/// Values per EC2 filter, instance IDs per DescribeInstanceInformation filter, and evaluations
/// per PutEvaluations: each API's limit or below it.
const EC2_FILTER_VALUES: usize = 100;
const SSM_FILTER_VALUES: usize = 50;
const PUT_BATCH: usize = 100;

/// EC2, SSM and IAM for the facts; Config for the verdicts.
#[derive(Debug, Clone)]
pub struct AwsCompliance {
    clients: Clients,
    config: aws_sdk_config::Client,
}

/// The config-rule use case as the function runs it.
pub type AwsConfigRule = ConfigRule<AwsCompliance, AwsCompliance, S3Store, FindingsOut>;

/// The rule over AWS, the log bucket and the findings sinks.
pub fn config_rule(
    sdk: &aws_config::SdkConfig,
    clients: &Clients,
    settings: ConfigRuleSettings,
    pack: RulePack,
) -> AwsConfigRule {
    let aws = AwsCompliance { clients: clients.clone(), config: aws_sdk_config::Client::new(sdk) };
    ConfigRule {
        facts: aws.clone(),
        results: aws,
        store: S3Store::new(clients.s3.clone(), settings.common.audit_bucket.clone()),
        sink: FindingsOut::new(clients, &settings.common, "config-rule"),
        pack,
        options: settings.options,
    }
}

fn failed(call: &str, e: impl Into<AwsError>) -> ComplianceError {
    let e = e.into();
    ComplianceError { call: call.to_string(), code: e.code, message: e.message }
}

/// An instance as DescribeInstances gives it, before the other services are asked.
struct Described {
    facts: InstanceFacts,
    profile: Option<String>,
}

impl AwsCompliance {
    /// DescribeInstances over `filters`, every page.
    async fn describe(&self, filters: Vec<Filter>) -> Result<Vec<Described>, ComplianceError> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .clients
                .ec2
                .describe_instances()
                .set_filters(Some(filters.clone()))
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| failed("ec2:DescribeInstances", e))?;
            for i in page.reservations().iter().flat_map(|r| r.instances()) {
                let Some(id) = i.instance_id() else { continue };
                let tokens = i.metadata_options().and_then(|m| m.http_tokens());
                out.push(Described {
                    facts: InstanceFacts {
                        instance_id: id.to_string(),
                        state: i.state().and_then(|s| s.name()).map_or("", |n| n.as_str()).into(),
                        managed_online: false,
                        groups: i
                            .security_groups()
                            .iter()
                            .filter_map(|g| g.group_id())
                            .map(String::from)
                            .collect(),
                        tags: i
                            .tags()
                            .iter()
                            .filter_map(|t| {
                                Some((t.key()?.to_string(), t.value().unwrap_or("").to_string()))
                            })
                            .collect(),
                        ingress: Vec::new(),
                        imds_v2_required: tokens == Some(&HttpTokensState::Required),
                        profile_policies: None,
                    },
                    profile: i.iam_instance_profile().and_then(|p| p.arn()).map(String::from),
                });
            }
            token = page.next_token().map(String::from);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    /// The inbound rules of `groups`, by group.
    async fn ingress(
        &self,
        groups: &BTreeSet<String>,
    ) -> Result<BTreeMap<String, Vec<Ingress>>, ComplianceError> {
        let mut out = BTreeMap::new();
        let groups: Vec<String> = groups.iter().cloned().collect();
        for chunk in groups.chunks(EC2_FILTER_VALUES) {
            let filter =
                Filter::builder().name("group-id").set_values(Some(chunk.to_vec())).build();
            let mut token = None;
            loop {
                let page = self
                    .clients
                    .ec2
                    .describe_security_groups()
                    .filters(filter.clone())
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| failed("ec2:DescribeSecurityGroups", e))?;
                for g in page.security_groups() {
                    let id = g.group_id().unwrap_or_default().to_string();
                    let rules = g.ip_permissions().iter().map(|p| inbound(&id, p)).collect();
                    out.insert(id, rules);
                }
                token = page.next_token().map(String::from);
                if token.is_none() {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// The instances among `ids` that Systems Manager has online.
    async fn online(&self, ids: &[String]) -> Result<BTreeSet<String>, ComplianceError> {
        let mut out = BTreeSet::new();
        for chunk in ids.chunks(SSM_FILTER_VALUES) {
            let filter = InstanceInformationStringFilter::builder()
                .key("InstanceIds")
                .set_values(Some(chunk.to_vec()))
                .build()
                .map_err(|e| {
                    failed(
                        "ssm:DescribeInstanceInformation",
                        AwsError { code: None, message: e.to_string() },
                    )
                })?;
            let mut token = None;
            loop {
                let page = self
                    .clients
                    .ssm
                    .describe_instance_information()
                    .filters(filter.clone())
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| failed("ssm:DescribeInstanceInformation", e))?;
                for i in page.instance_information_list() {
                    let online = i.ping_status().is_some_and(|p| p.as_str() == "Online");
                    if let Some(id) = i.instance_id().filter(|_| online) {
                        out.insert(id.to_string());
                    }
                }
                token = page.next_token().map(String::from);
                if token.is_none() {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// The managed policies of an instance profile's role (`None`: no such profile).
    async fn profile_policies(&self, arn: &str) -> Result<Option<Vec<String>>, ComplianceError> {
        let name = arn.rsplit('/').next().unwrap_or(arn);
        let profile = match self
            .clients
            .iam
            .get_instance_profile()
            .instance_profile_name(name)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                let e = AwsError::from(e);
                if e.is(&["NoSuchEntity"]) {
                    return Ok(None);
                }
                return Err(failed("iam:GetInstanceProfile", e));
            }
        };
        let mut policies = Vec::new();
        let roles = profile.instance_profile().map(|p| p.roles()).unwrap_or_default();
        for role in roles {
            let mut marker = None;
            loop {
                let page = self
                    .clients
                    .iam
                    .list_attached_role_policies()
                    .role_name(role.role_name())
                    .set_marker(marker)
                    .send()
                    .await
                    .map_err(|e| failed("iam:ListAttachedRolePolicies", e))?;
                policies.extend(
                    page.attached_policies()
                        .iter()
                        .filter_map(|p| p.policy_arn())
                        .map(String::from),
                );
                marker = page.marker().map(String::from).filter(|_| page.is_truncated());
                if marker.is_none() {
                    break;
                }
            }
        }
        Ok(Some(policies))
    }
}

/// One inbound permission in the evaluation's terms (`-1` ports: all of them).
fn inbound(group_id: &str, p: &IpPermission) -> Ingress {
    let protocol = p.ip_protocol().unwrap_or("-1").to_string();
    let port = |p: Option<i32>| p.filter(|p| (0..=65535).contains(p)).map(|p| p as u16);
    let ports = match (port(p.from_port()), port(p.to_port())) {
        (Some(from), Some(to)) if protocol != "-1" => Some((from, to)),
        _ => None,
    };
    let v4 = p.ip_ranges().iter().filter_map(|r| r.cidr_ip()).map(String::from);
    let v6 = p.ipv6_ranges().iter().filter_map(|r| r.cidr_ipv6()).map(String::from);
    Ingress { group_id: group_id.to_string(), protocol, ports, sources: v4.chain(v6).collect() }
}

impl ComplianceFacts for AwsCompliance {
    async fn instances(
        &self,
        ids: Option<&[String]>,
    ) -> Result<Vec<InstanceFacts>, ComplianceError> {
        let mut described = Vec::new();
        match ids {
            // A filter, not InstanceIds: an instance already gone is left out, not an error.
            Some(ids) => {
                for chunk in ids.chunks(EC2_FILTER_VALUES) {
                    let f = Filter::builder()
                        .name("instance-id")
                        .set_values(Some(chunk.to_vec()))
                        .build();
                    described.extend(self.describe(vec![f]).await?);
                }
            }
            None => described = self.describe(Vec::new()).await?,
        }
        let groups = described.iter().flat_map(|d| d.facts.groups.iter().cloned()).collect();
        let ingress = self.ingress(&groups).await?;
        let ids: Vec<String> = described.iter().map(|d| d.facts.instance_id.clone()).collect();
        let online = self.online(&ids).await?;
        let mut profiles: BTreeMap<String, Option<Vec<String>>> = BTreeMap::new();
        for arn in described.iter().filter_map(|d| d.profile.clone()) {
            if let std::collections::btree_map::Entry::Vacant(slot) = profiles.entry(arn) {
                let policies = self.profile_policies(slot.key()).await?;
                slot.insert(policies);
            }
        }
        Ok(described
            .into_iter()
            .map(|d| {
                let mut f = d.facts;
                f.managed_online = online.contains(&f.instance_id);
                f.ingress = f
                    .groups
                    .iter()
                    .flat_map(|g| ingress.get(g).cloned().unwrap_or_default())
                    .collect();
                f.profile_policies =
                    d.profile.and_then(|arn| profiles.get(&arn).cloned().flatten());
                f
            })
            .collect())
    }

    async fn instances_in_group(&self, group_id: &str) -> Result<Vec<String>, ComplianceError> {
        let f = Filter::builder().name("instance.group-id").values(group_id).build();
        Ok(self.describe(vec![f]).await?.into_iter().map(|d| d.facts.instance_id).collect())
    }

    async fn preferences(&self) -> Result<Option<Value>, ComplianceError> {
        match document(&self.clients, DEFAULT_DOCUMENT).await {
            Ok(content) => Ok(Some(content)),
            Err(e) if e.is(&["InvalidDocument"]) => Ok(None),
            Err(e) => Err(failed("ssm:GetDocument", e)),
        }
    }
}

impl EvaluationResults for AwsCompliance {
    async fn put(
        &self,
        token: &str,
        evaluations: &[Evaluation],
        at: Timestamp,
    ) -> Result<(), ComplianceError> {
        let ordering = aws_sdk_config::primitives::DateTime::from_millis(at.as_millisecond());
        for chunk in evaluations.chunks(PUT_BATCH) {
            let batch = chunk
                .iter()
                .map(|e| {
                    ConfigEvaluation::builder()
                        .compliance_resource_type(e.resource_type)
                        .compliance_resource_id(&e.resource_id)
                        .compliance_type(match e.compliance {
                            Compliance::Compliant => ComplianceType::Compliant,
                            Compliance::NonCompliant => ComplianceType::NonCompliant,
                            Compliance::NotApplicable => ComplianceType::NotApplicable,
                        })
                        .annotation(&e.annotation)
                        .ordering_timestamp(ordering)
                        .build()
                        .map_err(|e| {
                            failed(
                                "config:PutEvaluations",
                                AwsError { code: None, message: e.to_string() },
                            )
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .config
                .put_evaluations()
                .result_token(token)
                .set_evaluations(Some(batch))
                .send()
                .await
                .map_err(|e| failed("config:PutEvaluations", e))?;
            // Refused evaluations would leave Config showing an old verdict: fail, and the
            // invocation's retry puts them all again.
            if let Some(refused) = out.failed_evaluations().first() {
                return Err(ComplianceError {
                    call: "config:PutEvaluations".into(),
                    code: None,
                    message: format!(
                        "{} of {} evaluations refused, the first for {}",
                        out.failed_evaluations().len(),
                        chunk.len(),
                        refused.compliance_resource_id()
                    ),
                });
            }
        }
        Ok(())
    }
}
