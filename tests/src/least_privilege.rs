//! The least-privilege proof: every call a function made against the emulator, as IAM would
//! authorize it ([`crate::iam_calls`]), evaluated against that function's policy as written in
//! template.yaml for the deployment the test ran ([`crate::template::Stack`]).
//!
//! Each emulator scenario checks its own calls when its [`crate::local_aws::LocalAws`] drops,
//! and writes them to `target/iam-calls/`; `iam-proof` (run by `make test` after the tests)
//! reads them all and runs the mutation check: dropping any one statement, or any one action
//! of a statement, must deny some recorded call, which it names.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::iam_calls::Needed;
use crate::iam_policy::{evaluate, Decision};
use crate::template::Stack;

/// One function as a test deployed it, and what its calls needed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Deployment {
    /// The template's logical ID (`SessionStartFunction`).
    pub function: String,
    /// Template parameters and custom-resource answers (`AccessPath.BucketName`).
    pub params: Vec<(String, String)>,
    pub needed: Vec<Needed>,
}

impl Deployment {
    /// The function's policies in the template as deployed, one entry per element of its
    /// `Policies` list (`None` where a condition left it out), so statements keep their place
    /// across deployments.
    pub fn policies(&self) -> Vec<Option<Value>> {
        let overrides: Vec<(&str, &str)> =
            self.params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let stack = Stack::new(&overrides);
        let listed = &stack.template["Resources"][self.function.as_str()]["Properties"]["Policies"];
        let listed = listed.as_sequence().expect("Policies");
        listed.iter().map(|p| Some(stack.resolve(p)).filter(|v| !v.is_null())).collect()
    }

    /// Every recorded call `policies` would deny, with the decision.
    pub fn denied(&self, policies: &[Option<Value>]) -> Vec<(&Needed, Decision)> {
        let policies: Vec<Value> = policies.iter().flatten().cloned().collect();
        self.needed
            .iter()
            .map(|n| (n, evaluate(&policies, &n.request())))
            .filter(|(_, d)| !d.allowed())
            .collect()
    }
}

/// One line per denied call, for a test failure.
pub fn explain(function: &str, denied: &[(&Needed, Decision)]) -> String {
    let lines: Vec<String> = denied
        .iter()
        .map(|(n, d)| {
            let context: Vec<String> = n.context.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!(
                "  {function}: {} on {} [{}] for {} -> {d:?}",
                n.action,
                n.resource,
                context.join(", "),
                n.call
            )
        })
        .collect();
    lines.join("\n")
}

/// `target/iam-calls`: where each scenario leaves its deployments for `iam-proof`.
pub fn record_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("CARGO_TARGET_DIR") {
        return PathBuf::from(dir).join("iam-calls");
    }
    // target/<profile>/deps/<exe> or target/<profile>/<exe>
    let exe = std::env::current_exe().expect("own executable");
    let mut dir = exe.parent().expect("exe dir").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.pop();
    dir.join("iam-calls")
}

/// Write one scenario's deployments, named after the test (its thread) and the process.
pub fn write(deployments: &[Deployment]) {
    if deployments.is_empty() {
        return;
    }
    let dir = record_dir();
    std::fs::create_dir_all(&dir).expect("iam-calls dir");
    let thread = std::thread::current();
    let name: String = thread
        .name()
        .unwrap_or("scenario")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '-' })
        .collect();
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = dir.join(format!("{name}.{}.{n}.json", std::process::id()));
    std::fs::write(path, serde_json::to_vec(deployments).expect("json")).expect("write iam-calls");
}
