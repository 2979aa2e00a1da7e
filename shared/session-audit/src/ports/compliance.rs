//! The Config rule's seams: where the facts about instances and the account's preferences come
//! from (EC2, SSM and IAM in the AWS crate) and where verdicts go (Config's PutEvaluations).
//! [`MemCompliance`] is both, in memory, for tests.

use std::future::Future;
use std::sync::Mutex;

use jiff::Timestamp;
use serde_json::Value;

use crate::config_evaluation::{Evaluation, InstanceFacts};

/// A lookup or an answer that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{call} failed: {}{message}", code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default())]
pub struct ComplianceError {
    /// The call (`ec2:DescribeInstances`, `config:PutEvaluations`, …).
    pub call: String,
    /// The service's error code, when it gave one.
    pub code: Option<String>,
    /// What went wrong.
    pub message: String,
}

/// What the rule looks up.
pub trait ComplianceFacts: Sync {
    /// The instances named (every instance of the region when `None`); an instance that no
    /// longer exists is left out.
    fn instances(
        &self,
        ids: Option<&[String]>,
    ) -> impl Future<Output = Result<Vec<InstanceFacts>, ComplianceError>> + Send;

    /// The instances a security group is attached to.
    fn instances_in_group(
        &self,
        group_id: &str,
    ) -> impl Future<Output = Result<Vec<String>, ComplianceError>> + Send;

    /// The content of the account's `SSM-SessionManagerRunShell` document (`None`: there is
    /// none, so Session Manager runs on its defaults: nothing logged).
    fn preferences(&self) -> impl Future<Output = Result<Option<Value>, ComplianceError>> + Send;
}

/// Where verdicts go.
pub trait EvaluationResults: Sync {
    /// Put `evaluations` with the invocation's `token`, ordered at `at`; all or an error.
    fn put(
        &self,
        token: &str,
        evaluations: &[Evaluation],
        at: Timestamp,
    ) -> impl Future<Output = Result<(), ComplianceError>> + Send;
}

/// Facts set by a test, and the evaluations put, in memory.
#[derive(Debug, Default)]
pub struct MemCompliance {
    /// Every instance of the "region".
    pub instances: Vec<InstanceFacts>,
    /// The preferences document's content.
    pub preferences: Option<Value>,
    /// Every put: the token, the evaluations and their time.
    pub put: Mutex<Vec<(String, Vec<Evaluation>, Timestamp)>>,
}

impl MemCompliance {
    /// Every evaluation put so far, in order.
    pub fn evaluations(&self) -> Vec<Evaluation> {
        self.put.lock().expect("lock").iter().flat_map(|(_, e, _)| e.clone()).collect()
    }
}

impl ComplianceFacts for MemCompliance {
    async fn instances(
        &self,
        ids: Option<&[String]>,
    ) -> Result<Vec<InstanceFacts>, ComplianceError> {
        let wanted = |i: &&InstanceFacts| ids.is_none_or(|ids| ids.contains(&i.instance_id));
        Ok(self.instances.iter().filter(wanted).cloned().collect())
    }

    async fn instances_in_group(&self, group_id: &str) -> Result<Vec<String>, ComplianceError> {
        let uses = |i: &&InstanceFacts| i.groups.iter().any(|g| g == group_id);
        Ok(self.instances.iter().filter(uses).map(|i| i.instance_id.clone()).collect())
    }

    async fn preferences(&self) -> Result<Option<Value>, ComplianceError> {
        Ok(self.preferences.clone())
    }
}

impl EvaluationResults for MemCompliance {
    async fn put(
        &self,
        token: &str,
        evaluations: &[Evaluation],
        at: Timestamp,
    ) -> Result<(), ComplianceError> {
        self.put.lock().expect("lock").push((token.to_string(), evaluations.to_vec(), at));
        Ok(())
    }
}
