//! template.yaml (the hub) and spoke.yaml read as CloudFormation would for a test stack:
//! parameters, pseudo parameters, conditions and the intrinsic functions the templates use,
//! resolved to JSON. The functions' IAM policies come from here, as written, for the IAM checks.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{json, Value};
use serde_yaml::Value as Yaml;

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";
pub const STACK: &str =
    "arn:aws:cloudformation:us-east-1:123456789012:stack/sa/6a1f0e60-0000-4000-8000-000000000001";
/// The redaction key secret the test stack generated (`!Ref RedactionKeySecret`).
pub const REDACTION_SECRET: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:sa-redaction-key-AbCdEf";
/// The digest signing key the test stack made (`!GetAtt DigestSigningKey.Arn`).
pub const DIGEST_KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/digest-signing";
/// The provisioner's outputs in the test stack, unless a test names others.
pub const BUCKET: &str = "session-audit-logs-123456789012-us-east-1";
pub const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/provisioned";
/// The transcript log group the provisioner makes for the default NamePrefix.
pub const LOG_GROUP: &str = "/session-audit/session-audit/sessions";

/// The template with its parameters, conditions and the custom resource's answers.
pub struct Stack {
    pub template: Yaml,
    params: BTreeMap<String, String>,
    conditions: BTreeMap<String, bool>,
    /// `AccessPath.BucketName`, `AccessPath.KmsKeyArn`: the custom resource's answers.
    attributes: BTreeMap<String, String>,
    /// `AWS::AccountId` and `AWS::Region`.
    account: String,
    region: String,
}

/// The spoke's log group name for the default NamePrefix (`!Ref TranscriptLogGroup`).
pub const SPOKE_LOG_GROUP: &str = "/session-audit/sessions";

impl Stack {
    /// The stack for parameters `overrides` (defaults for the rest). An override may also name the custom resource's answers (`AccessPath.BucketName`,
    /// `AccessPath.KmsKeyArn`, `AccessPath.LogGroupName`, by default [`BUCKET`], [`KEY`] and
    /// [`LOG_GROUP`]).
    pub fn new(overrides: &[(&str, &str)]) -> Stack {
        let attributes = [
            ("AccessPath.BucketName", BUCKET),
            ("AccessPath.KmsKeyArn", KEY),
            ("AccessPath.LogGroupName", LOG_GROUP),
            ("RedactionKeySecret", REDACTION_SECRET),
            ("DigestSigningKey.Arn", DIGEST_KEY),
            ("AccessPath.ChangeCalendar", "session-audit-ChangeWindows"),
        ];
        Stack::load("template.yaml", (ACCOUNT, REGION), &attributes, overrides)
    }

    /// spoke.yaml deployed in `account` and `region` with parameters `overrides` (the hub's
    /// bucket, key and bus have no default: name them).
    pub fn spoke(account: &str, region: &str, overrides: &[(&str, &str)]) -> Stack {
        let attributes = [("TranscriptLogGroup", SPOKE_LOG_GROUP)];
        Stack::load("spoke.yaml", (account, region), &attributes, overrides)
    }

    /// destination.yaml as deployed in the hub's `account` and `region` with `overrides`.
    pub fn destination(account: &str, region: &str, overrides: &[(&str, &str)]) -> Stack {
        Stack::load("destination.yaml", (account, region), &[], overrides)
    }

    fn load(
        file: &str,
        (account, region): (&str, &str),
        attributes: &[(&str, &str)],
        overrides: &[(&str, &str)],
    ) -> Stack {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(file);
        let template: Yaml = serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let declared = template["Parameters"].as_mapping().unwrap();
        let mut params = BTreeMap::new();
        for (name, p) in declared {
            let default = match &p["Default"] {
                Yaml::String(s) => s.clone(),
                Yaml::Number(n) => n.to_string(),
                // No default: the deployment must name it.
                Yaml::Null => continue,
                other => panic!("parameter {name:?} default {other:?}"),
            };
            params.insert(name.as_str().unwrap().to_string(), default);
        }
        let mut attributes: BTreeMap<String, String> =
            attributes.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        for (k, v) in overrides {
            let resource = k.contains('.') || attributes.contains_key(*k);
            let known = if resource { &mut attributes } else { &mut params };
            assert!(
                known.contains_key(*k) || (!resource && declared.contains_key(*k)),
                "no parameter {k}"
            );
            known.insert(k.to_string(), v.to_string());
        }
        let (account, region) = (account.to_string(), region.to_string());
        let mut stack =
            Stack { template, params, conditions: BTreeMap::new(), attributes, account, region };
        let conditions = stack.template["Conditions"].as_mapping().cloned().unwrap_or_default();
        for (name, c) in &conditions {
            let value = stack.resolve(c) == json!(true);
            stack.conditions.insert(name.as_str().unwrap().to_string(), value);
        }
        stack
    }

    fn reference(&self, name: &str) -> Value {
        let fixed = match name {
            "AWS::Partition" => "aws",
            "AWS::Region" => &self.region,
            "AWS::AccountId" => &self.account,
            "AWS::StackId" => STACK,
            "AWS::StackName" => "sa",
            "AWS::NoValue" => return Value::Null,
            _ => self.attributes.get(name).map_or("", String::as_str),
        };
        if !fixed.is_empty() {
            return json!(fixed);
        }
        match self.params.get(name) {
            Some(v) => json!(v),
            None => json!(format!("<{name}>")),
        }
    }

    fn sub(&self, text: &str, vars: &BTreeMap<String, Value>) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let end = rest[i..].find('}').unwrap() + i;
            let name = &rest[i + 2..end];
            let value = vars.get(name).cloned().unwrap_or_else(|| self.reference(name));
            out.push_str(value.as_str().unwrap_or(""));
            rest = &rest[end + 1..];
        }
        out + rest
    }

    /// `value` with every intrinsic function applied; `Null` stands for `AWS::NoValue`.
    pub fn resolve(&self, value: &Yaml) -> Value {
        match value {
            Yaml::Tagged(t) => {
                let arg = &t.value;
                let list = |v: &Yaml| v.as_sequence().unwrap().clone();
                match t.tag.to_string().as_str() {
                    "!Ref" => self.reference(arg.as_str().unwrap()),
                    "!GetAtt" => self.reference(arg.as_str().unwrap()),
                    "!Sub" => match arg {
                        Yaml::String(s) => json!(self.sub(s, &BTreeMap::new())),
                        Yaml::Sequence(s) => {
                            let vars = s[1]
                                .as_mapping()
                                .unwrap()
                                .iter()
                                .map(|(k, v)| (k.as_str().unwrap().to_string(), self.resolve(v)))
                                .collect();
                            json!(self.sub(s[0].as_str().unwrap(), &vars))
                        }
                        other => panic!("!Sub {other:?}"),
                    },
                    "!Join" => {
                        let l = list(arg);
                        let delim = l[0].as_str().unwrap();
                        let parts = self.resolve(&l[1]);
                        let parts: Vec<&str> =
                            parts.as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
                        json!(parts.join(delim))
                    }
                    "!Split" => {
                        let l = list(arg);
                        let text = self.resolve(&l[1]);
                        json!(text
                            .as_str()
                            .unwrap()
                            .split(l[0].as_str().unwrap())
                            .collect::<Vec<_>>())
                    }
                    "!Select" => {
                        let l = list(arg);
                        let index = l[0].as_u64().expect("!Select index") as usize;
                        self.resolve(&l[1])[index].clone()
                    }
                    "!If" => {
                        let l = list(arg);
                        let pick =
                            if self.conditions[l[0].as_str().unwrap()] { &l[1] } else { &l[2] };
                        self.resolve(pick)
                    }
                    "!Equals" => {
                        let l = list(arg);
                        json!(self.resolve(&l[0]) == self.resolve(&l[1]))
                    }
                    "!Not" => json!(self.resolve(&list(arg)[0]) != json!(true)),
                    "!And" => json!(list(arg).iter().all(|c| self.resolve(c) == json!(true))),
                    // Conditions are read in order: one names only those above it.
                    "!Condition" => json!(self.conditions[arg.as_str().unwrap()]),
                    other => panic!("intrinsic {other} not resolved by this test"),
                }
            }
            Yaml::Sequence(s) => {
                Value::Array(s.iter().map(|v| self.resolve(v)).filter(|v| !v.is_null()).collect())
            }
            Yaml::Mapping(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| (k.as_str().unwrap().to_string(), self.resolve(v)))
                    .filter(|(_, v)| !v.is_null())
                    .collect(),
            ),
            Yaml::String(s) => json!(s),
            Yaml::Number(n) => serde_json::to_value(n.as_f64()).unwrap(),
            Yaml::Bool(b) => json!(b),
            Yaml::Null => Value::Null,
        }
    }

    /// A resource's resolved properties.
    pub fn properties(&self, logical: &str) -> Value {
        self.resolve(&self.template["Resources"][logical]["Properties"])
    }

    /// The identity policies a SAM function's role gets (`Policies`).
    pub fn policies(&self, function: &str) -> Vec<Value> {
        self.properties(function)["Policies"].as_array().unwrap().clone()
    }

    /// The template parameters a function's `environment` says it was deployed with: the
    /// inverse of its `Environment.Variables` (`!Ref P` gives P; `RULES_URI` gives
    /// `RulesObject` and `RulesObjectVersion`), so a test that runs a function with some environment is checked
    /// against the policy that deployment would have.
    pub fn parameters_from_environment(
        &self,
        function: &str,
        environment: &[(&str, String)],
    ) -> Vec<(String, String)> {
        let variables =
            &self.template["Resources"][function]["Properties"]["Environment"]["Variables"];
        let mut out = Vec::new();
        for (name, value) in environment {
            let Some(Yaml::Tagged(t)) = variables.get(*name) else { continue };
            match (t.tag.to_string().as_str(), &t.value) {
                ("!Ref", Yaml::String(p)) if self.params.contains_key(p) => {
                    out.push((p.clone(), value.clone()))
                }
                ("!GetAtt", Yaml::String(a)) if self.attributes.contains_key(a) => {
                    out.push((a.clone(), value.clone()))
                }
                ("!If", _) if *name == "REDACTION_KEY_SECRET" && !value.is_empty() => {
                    out.push(("RedactionKeySecret".into(), value.clone()));
                }
                ("!If", _) if *name == "PROTECTED_TAG" => {
                    let tag = if value.is_empty() { "none" } else { value.as_str() };
                    out.push(("ProtectedTag".into(), tag.into()));
                }
                ("!If", _) if *name == "APPROVAL_RUNBOOK" && !value.is_empty() => {
                    out.push((
                        "Approvers".into(),
                        "arn:aws:iam::123456789012:user/approver".into(),
                    ));
                }
                ("!If", _) if *name == "SECURITY_HUB_PRODUCT" && !value.is_empty() => {
                    out.push(("SecurityHub".into(), "Enabled".into()));
                }
                ("!If", _) if *name == "RULES_URI" => {
                    use session_audit::settings::RulesLocation;
                    if let Ok(RulesLocation::S3 { bucket, key, version }) =
                        RulesLocation::parse(value)
                    {
                        out.push(("RulesObject".into(), format!("{bucket}/{key}")));
                        out.push(("RulesObjectVersion".into(), version.unwrap_or_default()));
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// Whether the resource `logical` is made by this stack (its `Condition` holds, or it has
    /// none).
    pub fn makes(&self, logical: &str) -> bool {
        match self.template["Resources"][logical]["Condition"].as_str() {
            Some(condition) => self.conditions[condition],
            None => self.template["Resources"].as_mapping().unwrap().contains_key(logical),
        }
    }

    pub fn functions(&self) -> Vec<String> {
        let resources = self.template["Resources"].as_mapping().unwrap();
        resources
            .iter()
            .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
            .map(|(k, _)| k.as_str().unwrap().to_string())
            .collect()
    }
}

/// The provisioner's properties from `props` (template property names and values), with the
/// test stack's place and the names it derives: what a deployment of the stack would write.
pub fn provisioned(
    props: &[(&str, &str)],
) -> (
    session_audit::provisioner::Properties,
    session_audit::provisioner::Place,
    session_audit::provisioner::Names,
) {
    use session_audit::provisioner::{Names, Place, Properties};
    let props: std::collections::HashMap<String, Value> =
        props.iter().map(|(k, v)| (k.to_string(), Value::from(*v))).collect();
    let p = Properties::parse(&props).expect("properties");
    let place = Place::from_stack_id(STACK).expect("stack ID");
    let n = Names::new(&p.name_prefix, &place);
    (p, place, n)
}
