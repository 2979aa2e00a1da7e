//! A small IAM policy evaluator for the tests: identity policies (JSON, as the template grants
//! them) against one request — an action, a resource ARN and the request's condition keys.
//! Action and resource wildcards (`*`, `?`), `Deny` over `Allow`, and the condition operators
//! the template and the user policy use (`StringEquals`, `StringNotEquals`, `StringLike`,
//! `StringEqualsIfExists`, `ArnEquals`, `ArnLike`, `Bool`, `BoolIfExists`, `Null`), with policy
//! variables (`${aws:username}`, `${aws:PrincipalAccount}`) in condition values and resources
//! taken from the request. An operator it does not know fails the test that meets it rather
//! than being guessed. Resource policies (a bucket's, a key's) and the cross-account rule are
//! [`crate::resource_policy`]'s; what neither can prove (SCPs, permission boundaries, session
//! policies) is AWS's, and the README says so.

use serde_json::Value;

/// One request: what is asked, on what, with which condition keys.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub action: String,
    pub resource: String,
    pub context: Vec<(String, String)>,
}

impl Request {
    pub fn new(action: &str, resource: &str) -> Self {
        Request { action: action.into(), resource: resource.into(), context: Vec::new() }
    }

    /// With the condition key `key` set to `value`.
    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.context.push((key.into(), value.into()));
        self
    }
}

/// The outcome, with the statement that decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allowed(String),
    ExplicitDeny(String),
    ImplicitDeny,
}

impl Decision {
    pub fn allowed(&self) -> bool {
        matches!(self, Decision::Allowed(_))
    }
}

/// `pattern` with IAM's `*` and `?` matched against `text` (case-sensitive, as resources are;
/// actions are compared lower-cased by the caller).
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

pub(crate) fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().flat_map(strings).collect(),
        Value::Bool(b) => vec![b.to_string()],
        Value::Number(n) => vec![n.to_string()],
        _ => Vec::new(),
    }
}

pub(crate) fn statements(policy: &Value) -> Vec<&Value> {
    match &policy["Statement"] {
        Value::Array(a) => a.iter().collect(),
        s @ Value::Object(_) => vec![s],
        _ => Vec::new(),
    }
}

fn conditions_hold(conditions: &Value, req: &Request) -> bool {
    let Some(ops) = conditions.as_object() else { return true };
    ops.iter().all(|(op, keys)| {
        keys.as_object().expect("condition block").iter().all(|(key, wanted)| {
            // Policy variables in values (`${aws:username}`) take the request's value of that
            // key; a variable the request lacks matches nothing.
            let wanted: Vec<String> = strings(wanted)
                .into_iter()
                .filter_map(|w| match w.strip_prefix("${").and_then(|v| v.strip_suffix('}')) {
                    Some(var) => req.context.iter().find(|(k, _)| k == var).map(|(_, v)| v.clone()),
                    None => Some(w),
                })
                .collect();
            let have: Vec<&str> = req
                .context
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.as_str())
                .collect();
            let any = |f: &dyn Fn(&str, &str) -> bool| {
                have.iter().any(|h| wanted.iter().any(|w| f(w, h)))
            };
            match op.as_str() {
                "StringEquals" | "ArnEquals" | "Bool" => any(&|w, h| w == h),
                "StringLike" | "ArnLike" => any(&|w, h| glob(w, h)),
                "StringEqualsIfExists" => have.is_empty() || any(&|w, h| w == h),
                "BoolIfExists" => have.is_empty() || any(&|w, h| w == h),
                // Negated: true when the key is absent, or no value equals any wanted one.
                "StringNotEquals" => !any(&|w, h| w == h),
                "Null" => wanted.iter().all(|w| (w == "true") == have.is_empty()),
                other => panic!("condition operator {other} is not evaluated by this test"),
            }
        })
    })
}

/// `resource` with its policy variables (`${aws:PrincipalAccount}`) replaced by the request's
/// values; `None` when the request lacks one (the resource then matches nothing, as in IAM).
fn resolve_variables(resource: &str, req: &Request) -> Option<String> {
    let mut out = String::new();
    let mut rest = resource;
    while let Some(start) = rest.find("${") {
        let end = start + rest[start..].find('}')?;
        let var = &rest[start + 2..end];
        let value = req.context.iter().find(|(k, _)| k.eq_ignore_ascii_case(var))?;
        // A value is literal text: one holding a wildcard would widen the grant, which no
        // key this evaluator substitutes (accounts, user names) can hold.
        assert!(!value.1.contains(['*', '?']), "policy variable {var} = {} is a pattern", value.1);
        out.push_str(&rest[..start]);
        out.push_str(&value.1);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// Whether statement `s` applies to `req` by its action, resource and conditions (a resource
/// policy's `Principal` is the caller's to match).
pub(crate) fn statement_matches(s: &Value, req: &Request) -> bool {
    assert!(s.get("NotAction").is_none() && s.get("NotResource").is_none(), "unsupported: {s}");
    assert!(s.get("NotPrincipal").is_none(), "unsupported: {s}");
    let action = req.action.to_ascii_lowercase();
    let actions = strings(&s["Action"]);
    let resources = strings(&s["Resource"]);
    actions.iter().any(|a| glob(&a.to_ascii_lowercase(), &action))
        && resources
            .iter()
            .filter_map(|r| resolve_variables(r, req))
            .any(|r| glob(&r, &req.resource))
        && conditions_hold(&s["Condition"], req)
}

/// The decision of `policies` (identity policies of one principal) for `req`.
pub fn evaluate(policies: &[Value], req: &Request) -> Decision {
    let mut allowed = None;
    for (n, s) in policies.iter().flat_map(statements).enumerate() {
        if !statement_matches(s, req) {
            continue;
        }
        let sid = s["Sid"].as_str().map(str::to_string).unwrap_or_else(|| format!("#{n}"));
        if s["Effect"] == "Deny" {
            return Decision::ExplicitDeny(sid);
        }
        allowed.get_or_insert(sid);
    }
    allowed.map_or(Decision::ImplicitDeny, Decision::Allowed)
}

/// Every action a statement grants, for the no-wildcard rule.
pub fn granted_actions(policies: &[Value]) -> Vec<String> {
    policies
        .iter()
        .flat_map(statements)
        .filter(|s| s["Effect"] == "Allow")
        .flat_map(|s| strings(&s["Action"]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wildcards_conditions_and_deny_over_allow() {
        assert!(glob("arn:aws:s3:::b/audit/*", "arn:aws:s3:::b/audit/x/y.json"));
        assert!(!glob("arn:aws:s3:::b/audit/*", "arn:aws:s3:::b/session-logs/x"));
        assert!(glob("a?c*", "abcdef") && !glob("a?c", "abcd"));
        let allow = json!({"Statement": [{"Sid": "A", "Effect": "Allow", "Action": ["s3:GetObject"],
            "Resource": "arn:aws:s3:::b/*", "Condition": {"StringEquals": {"aws:ResourceTag/k": "v"}}}]});
        let deny =
            json!({"Statement": {"Sid": "D", "Effect": "Deny", "Action": "s3:*", "Resource": "*"}});
        let req = Request::new("S3:GetObject", "arn:aws:s3:::b/k");
        assert_eq!(
            evaluate(std::slice::from_ref(&allow), &req),
            Decision::ImplicitDeny,
            "condition unmet"
        );
        let tagged = req.clone().with("aws:ResourceTag/k", "v");
        assert_eq!(evaluate(std::slice::from_ref(&allow), &tagged), Decision::Allowed("A".into()));
        assert_eq!(evaluate(&[allow, deny], &tagged), Decision::ExplicitDeny("D".into()));
    }

    #[test]
    fn variables_in_resources_take_the_request_value_or_match_nothing() {
        let own = json!({"Statement": [{"Effect": "Allow", "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::b/logs/${aws:PrincipalAccount}/*"}]});
        let put = |key: &str| Request::new("s3:PutObject", &format!("arn:aws:s3:::b/logs/{key}"));
        let mine = put("111122223333/r/s.log").with("aws:PrincipalAccount", "111122223333");
        assert!(evaluate(std::slice::from_ref(&own), &mine).allowed());
        let theirs = put("444455556666/r/s.log").with("aws:PrincipalAccount", "111122223333");
        assert!(!evaluate(std::slice::from_ref(&own), &theirs).allowed());
        let unknown = put("111122223333/r/s.log");
        assert!(!evaluate(std::slice::from_ref(&own), &unknown).allowed(), "no value, no match");
    }
}
