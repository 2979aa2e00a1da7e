//! The config-rule use case: AWS Config calls it when an instance or security group changes and
//! once a day; it looks the facts up ([`ComplianceFacts`]), judges each instance and the
//! account's Session Manager preferences ([`crate::config_evaluation`]), puts the verdicts
//! ([`EvaluationResults`]), and, for each verdict that changed, files it under `audit/config/`
//! and raises (or withdraws) its finding the way every other stage does.
//!
//! A verdict that did not change since the last one filed is neither written nor published
//! again, so the daily run costs a read per resource, not an event.

use futures_util::{stream, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config_evaluation::invocation::{BadInvocation, Invocation, Trigger};
use crate::config_evaluation::{
    evaluate_instance, evaluate_preferences, Compliance, Evaluation, PreferencesExpected,
};
use crate::finding::Finding;
use crate::keys::{config_verdict, BadId, Judged};
use crate::ports::compliance::{ComplianceError, ComplianceFacts, EvaluationResults};
use crate::ports::sink::{FindingsSink, SinkError};
use crate::ports::store::{get_json, put_json, AuditStore, Condition, StoreError};
use crate::publish::FindingContext;
use crate::rules::RulePack;
use crate::{Failure, FailureKind};

/// Schema of a filed verdict.
pub const VERDICT_SCHEMA: &str = "session-audit/config-verdict/v1";

/// Reads of earlier verdicts in flight at once.
const CONCURRENCY: usize = 16;

/// What the rule holds instances and preferences to.
#[derive(Debug, Clone)]
pub struct RuleOptions {
    /// What the preferences must say.
    pub expected: PreferencesExpected,
    /// Only instances with this tag are judged (`CONFIG_SCOPE_TAG`); others are not applicable.
    pub scope_tag: Option<(String, String)>,
    /// The region the function runs in (the preferences are regional).
    pub region: String,
}

/// The use case over its seams.
pub struct ConfigRule<F, R, S, K> {
    /// Where facts come from.
    pub facts: F,
    /// Where verdicts go.
    pub results: R,
    /// Where verdicts are filed.
    pub store: S,
    /// Where findings go.
    pub sink: K,
    /// The rules (severity and frameworks of the SA-CFG-* findings).
    pub pack: RulePack,
    /// What the rule holds resources to.
    pub options: RuleOptions,
}

/// A filed verdict: `audit/config/<instances|accounts>/<id>.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Always [`VERDICT_SCHEMA`].
    pub schema: String,
    /// The Config rule that judged it.
    pub rule: String,
    /// `AWS::EC2::Instance` or `AWS::::Account`.
    pub resource_type: String,
    /// The instance or account ID.
    pub resource_id: String,
    /// The account.
    pub account: String,
    /// The region.
    pub region: String,
    /// `COMPLIANT`, `NON_COMPLIANT` or `NOT_APPLICABLE`.
    pub compliance: String,
    /// Why, in words.
    pub annotation: String,
    /// The evaluation's ordering time (the change's capture, or the periodic run's).
    pub evaluated_at: String,
}

/// What one invocation did.
#[derive(Debug, Clone, Serialize)]
pub struct Answered {
    /// What triggered it, in words.
    pub trigger: String,
    /// Every verdict put.
    pub verdicts: Vec<Verdict>,
    /// Findings raised (verdicts newly non-compliant, or non-compliant for another reason).
    pub findings: usize,
    /// Findings withdrawn (resources compliant again).
    pub withdrawn: usize,
    /// Verdicts the same as the one filed before: neither filed nor published again.
    pub unchanged: usize,
}

/// Why an invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigRuleError {
    /// Not an invocation this rule answers.
    #[error("{0}")]
    Malformed(#[from] BadInvocation),
    /// A resource ID that cannot name an audit object.
    #[error("{0}")]
    BadId(#[from] BadId),
    /// A lookup or PutEvaluations failed.
    #[error("{0}")]
    Compliance(#[from] ComplianceError),
    /// The store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The findings sink failed.
    #[error("{0}")]
    Sink(#[from] SinkError),
}

impl Failure for ConfigRuleError {
    fn kind(&self) -> FailureKind {
        match self {
            ConfigRuleError::Malformed(_) | ConfigRuleError::BadId(_) => {
                FailureKind::MalformedEvent
            }
            ConfigRuleError::Compliance(_) => FailureKind::Lookup,
            ConfigRuleError::Store(_) => FailureKind::Store,
            ConfigRuleError::Sink(_) => FailureKind::Sink,
        }
    }
}

fn not_applicable(resource_type: &'static str, id: &str, why: String) -> Evaluation {
    Evaluation {
        resource_type,
        resource_id: id.to_string(),
        compliance: Compliance::NotApplicable,
        annotation: why,
    }
}

impl<F, R, S, K> ConfigRule<F, R, S, K>
where
    F: ComplianceFacts,
    R: EvaluationResults,
    S: AuditStore,
    K: FindingsSink,
{
    /// Answer one invocation: evaluate, put the verdicts, file and publish what changed.
    pub async fn handle(&self, event: &Value) -> Result<Answered, ConfigRuleError> {
        let invocation = Invocation::parse(event)?;
        let (trigger, evaluations) = self.evaluate(&invocation).await?;
        let at = invocation.trigger.ordering_time();
        if !evaluations.is_empty() {
            self.results.put(&invocation.result_token, &evaluations, at).await?;
        }
        let verdicts: Vec<Verdict> = evaluations
            .iter()
            .map(|e| Verdict {
                schema: VERDICT_SCHEMA.to_string(),
                rule: invocation.rule_name.clone(),
                resource_type: e.resource_type.to_string(),
                resource_id: e.resource_id.clone(),
                account: invocation.account.clone(),
                region: self.options.region.clone(),
                compliance: e.compliance.as_str().to_string(),
                annotation: e.annotation.clone(),
                evaluated_at: at.to_string(),
            })
            .collect();
        let mut answered =
            Answered { trigger, verdicts: Vec::new(), findings: 0, withdrawn: 0, unchanged: 0 };
        self.file(&verdicts, &mut answered).await?;
        answered.verdicts = verdicts;
        Ok(answered)
    }

    async fn evaluate(
        &self,
        invocation: &Invocation,
    ) -> Result<(String, Vec<Evaluation>), ConfigRuleError> {
        const INSTANCE: &str = "AWS::EC2::Instance";
        match &invocation.trigger {
            Trigger::Scheduled { at } => {
                let mut out = self.instances(None).await?;
                out.push(self.preferences(&invocation.account).await?);
                Ok((format!("periodic run of {at}"), out))
            }
            t @ Trigger::Changed { resource_type, resource_id, status, .. } => {
                let trigger = format!("{resource_type} {resource_id} changed ({status})");
                let out = match resource_type.as_str() {
                    INSTANCE if invocation.left_scope || t.deleted() => {
                        let why = if t.deleted() { "deleted" } else { "left the rule's scope" };
                        vec![not_applicable(INSTANCE, resource_id, format!("instance {why}"))]
                    }
                    INSTANCE => {
                        let mut found =
                            self.instances(Some(std::slice::from_ref(resource_id))).await?;
                        if found.is_empty() {
                            found.push(not_applicable(
                                INSTANCE,
                                resource_id,
                                "no such instance".into(),
                            ));
                        }
                        found
                    }
                    "AWS::EC2::SecurityGroup" if t.deleted() => Vec::new(),
                    "AWS::EC2::SecurityGroup" => {
                        let ids = self.facts.instances_in_group(resource_id).await?;
                        let mut out = if ids.is_empty() {
                            Vec::new()
                        } else {
                            self.instances(Some(&ids)).await?
                        };
                        out.push(not_applicable(
                            "AWS::EC2::SecurityGroup",
                            resource_id,
                            format!("judged through the {} instances it is attached to", ids.len()),
                        ));
                        out
                    }
                    // Outside the rule's scope as the template sets it: nothing to judge.
                    _ => Vec::new(),
                };
                Ok((trigger, out))
            }
        }
    }

    async fn instances(&self, ids: Option<&[String]>) -> Result<Vec<Evaluation>, ConfigRuleError> {
        let facts = self.facts.instances(ids).await?;
        Ok(facts
            .iter()
            .map(|f| match &self.options.scope_tag {
                Some((k, v)) if !f.tags.iter().any(|(tk, tv)| tk == k && tv == v) => {
                    not_applicable(
                        "AWS::EC2::Instance",
                        &f.instance_id,
                        format!("outside the rule's scope (no tag {k}={v})"),
                    )
                }
                _ => evaluate_instance(f),
            })
            .collect())
    }

    async fn preferences(&self, account: &str) -> Result<Evaluation, ConfigRuleError> {
        let content = self.facts.preferences().await?.unwrap_or(Value::Null);
        Ok(evaluate_preferences(account, &content, &self.options.expected))
    }

    /// File each verdict that changed, after publishing its finding (or withdrawing the one
    /// its earlier verdict raised): a filed verdict means its finding went out.
    async fn file(&self, verdicts: &[Verdict], out: &mut Answered) -> Result<(), ConfigRuleError> {
        // Each verdict with the key it is filed under (a security group's is not filed).
        let mut keyed = Vec::new();
        for v in verdicts {
            if let Some(key) = self.key(v)? {
                keyed.push((v, key));
            }
        }
        let filed: Vec<(&Verdict, String, Option<Verdict>)> = stream::iter(keyed)
            .map(|(v, key)| async move {
                let before = get_json::<Verdict>(&self.store, &key).await?;
                Ok::<_, ConfigRuleError>((v, key, before.and_then(|b| b.value.ok())))
            })
            .buffered(CONCURRENCY)
            .try_collect()
            .await?;
        let mut raise = Vec::new();
        let mut withdraw = Vec::new();
        let mut writes = Vec::new();
        for (v, key, before) in filed {
            let same = before.as_ref().is_some_and(|b| {
                (b.compliance.as_str(), b.annotation.as_str())
                    == (v.compliance.as_str(), v.annotation.as_str())
            });
            if same {
                out.unchanged += 1;
                continue;
            }
            let uri = self.store.uri(&key);
            if v.compliance == Compliance::NonCompliant.as_str() {
                raise.extend(self.finding(v, &uri));
            } else if let Some(b) =
                before.filter(|b| b.compliance == Compliance::NonCompliant.as_str())
            {
                withdraw.extend(self.finding(&b, &uri));
            }
            writes.push((key, v));
        }
        if !raise.is_empty() {
            self.sink.publish_each(&raise).await?;
        }
        if !withdraw.is_empty() {
            self.sink.withdraw(&withdraw).await?;
        }
        (out.findings, out.withdrawn) = (raise.len(), withdraw.len());
        stream::iter(writes)
            .map(|(key, v)| async move { put_json(&self.store, &key, v, &Condition::Always).await })
            .buffer_unordered(CONCURRENCY)
            .try_collect::<Vec<bool>>()
            .await?;
        Ok(())
    }

    /// Where a verdict is filed (`None`: not filed, as a security group's pointer to its
    /// instances).
    fn key(&self, v: &Verdict) -> Result<Option<String>, BadId> {
        match v.resource_type.as_str() {
            "AWS::EC2::Instance" => config_verdict(Judged::Instance, &v.resource_id).map(Some),
            "AWS::::Account" => {
                config_verdict(Judged::Account, &format!("{}.{}", v.resource_id, v.region))
                    .map(Some)
            }
            _ => Ok(None),
        }
    }

    /// The finding a non-compliant verdict raises, unless the rule pack turned it off.
    fn finding(&self, v: &Verdict, record: &str) -> Option<(Finding, FindingContext)> {
        let instance = v.resource_type == "AWS::EC2::Instance";
        let condition = if instance {
            "config_instance_noncompliant"
        } else {
            "config_preferences_noncompliant"
        };
        let what = if instance {
            format!("instance {}", v.resource_id)
        } else {
            format!("Session Manager preferences of {} in {}", v.resource_id, v.region)
        };
        let finding = self.pack.session_finding(condition, format!("{what}: {}", v.annotation))?;
        let ctx = FindingContext {
            // One finding per resource, updated in place (Security Hub) as its verdict changes.
            origin_id: format!("config:{}:{}:{}", v.account, v.region, v.resource_id),
            session_id: None,
            time: v.evaluated_at.clone(),
            account: Some(v.account.clone()),
            region: v.region.clone(),
            principal: None,
            person: None,
            target: instance.then(|| v.resource_id.clone()),
            record: record.to_string(),
            stage: "config",
        };
        Some((finding, ctx))
    }
}

#[cfg(test)]
mod tests;
