//! Resource policies (a bucket's, a key's) and AWS's rule for combining them with the caller's
//! identity policies, for the proofs that a resource admits whom it should and no one else.
//!
//! The rule, as AWS documents its policy evaluation logic: an explicit deny anywhere wins. A
//! resource-policy statement applies to a caller its `Principal` names: `*` or `{"AWS": "*"}`
//! (anyone), the caller's ARN or service (the caller itself), or the caller's account (`123…`
//! or `arn:…:root`: the account, which then decides through its own IAM policies). Then:
//! - a bucket in the caller's account: the identity policy or a statement naming the caller
//!   itself suffices (a bucket needs no policy for its own account);
//! - a key in the caller's account: the key policy must grant — the caller itself, or its
//!   account together with an identity policy (the default statement "enables IAM policies");
//! - any resource in another account: both the resource policy (the caller or its account) and
//!   the caller's identity policy.

use serde_json::Value;

use crate::iam_policy::{evaluate, statement_matches, statements, strings, Decision, Request};

/// Who asks: an IAM principal (`arn:aws:iam::<account>:role/…`) or a service
/// (`logs.us-east-1.amazonaws.com`, account empty), and its organization if any.
#[derive(Debug, Clone)]
pub struct Caller {
    pub arn: String,
    pub account: String,
    pub organization: Option<String>,
    /// The caller's identity policies.
    pub identity: Vec<Value>,
}

impl Caller {
    /// A role `name` of `account`, in `organization`, with `identity` policies.
    pub fn role(
        account: &str,
        name: &str,
        organization: Option<&str>,
        identity: Vec<Value>,
    ) -> Self {
        Caller {
            arn: format!("arn:aws:iam::{account}:role/{name}"),
            account: account.into(),
            organization: organization.map(str::to_string),
            identity,
        }
    }

    /// `req` with the condition keys AWS sets from the caller.
    fn context(&self, req: &Request) -> Request {
        let mut req = req.clone().with("aws:PrincipalArn", &self.arn);
        if !self.account.is_empty() {
            req = req.with("aws:PrincipalAccount", &self.account);
        }
        match &self.organization {
            Some(org) => req.with("aws:PrincipalOrgID", org),
            None => req,
        }
    }
}

/// What kind of resource, which decides whether its own account needs its policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// S3 and most services: the owner's identity policies suffice.
    Bucket,
    /// KMS: nothing without the key policy.
    Key,
}

/// A resource's policy and the account that owns it.
#[derive(Debug, Clone)]
pub struct Resource<'a> {
    pub kind: Kind,
    pub account: &'a str,
    pub policy: Option<&'a Value>,
}

/// How a resource-policy statement's `Principal` names the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Named {
    /// The caller's account: its IAM policies decide for it.
    Account,
    /// The caller itself (its ARN, its service, or anyone).
    Itself,
}

fn named(principal: &Value, caller: &Caller) -> Option<Named> {
    if principal == "*" {
        return Some(Named::Itself);
    }
    let Some(map) = principal.as_object() else {
        panic!("a Principal this evaluator does not read: {principal}")
    };
    let mut best = None;
    for (kind, values) in map {
        for v in strings(values) {
            let hit = match kind.as_str() {
                "AWS" if v == "*" || v == caller.arn => Some(Named::Itself),
                "AWS"
                    if !caller.account.is_empty()
                        && (v == caller.account
                            || v == format!("arn:aws:iam::{}:root", caller.account)) =>
                {
                    Some(Named::Account)
                }
                "AWS" => None,
                "Service" => (v == caller.arn).then_some(Named::Itself),
                other => panic!("a Principal kind this evaluator does not read: {other}"),
            };
            best = best.max(hit);
        }
    }
    best
}

/// The decision for `caller` asking `req` of `resource`.
pub fn authorize(caller: &Caller, resource: &Resource, req: &Request) -> Decision {
    let req = caller.context(req);
    let identity = evaluate(&caller.identity, &req);
    if let Decision::ExplicitDeny(sid) = identity {
        return Decision::ExplicitDeny(format!("identity {sid}"));
    }
    let mut granted: Option<(Named, String)> = None;
    for (n, s) in resource.policy.into_iter().flat_map(statements).enumerate() {
        let Some(how) = named(&s["Principal"], caller) else { continue };
        if !statement_matches(s, &req) {
            continue;
        }
        let sid = s["Sid"].as_str().map_or_else(|| format!("#{n}"), str::to_string);
        if s["Effect"] == "Deny" {
            return Decision::ExplicitDeny(format!("resource {sid}"));
        }
        if granted.as_ref().is_none_or(|(best, _)| how > *best) {
            granted = Some((how, sid));
        }
    }
    let by_identity = match &identity {
        Decision::Allowed(sid) => Some(format!("identity {sid}")),
        _ => None,
    };
    let same_account = caller.account == resource.account;
    let outcome = match (&granted, by_identity) {
        // The resource names the caller itself, in its own account: nothing more is needed.
        (Some((Named::Itself, sid)), _) if same_account => Some(format!("resource {sid}")),
        // Its own bucket: the identity policy suffices.
        (_, Some(id)) if same_account && resource.kind == Kind::Bucket => Some(id),
        // The resource admits the caller or its account, and the account agrees.
        (Some((_, sid)), Some(id)) => Some(format!("{id} + resource {sid}")),
        _ => None,
    };
    outcome.map_or(Decision::ImplicitDeny, Decision::Allowed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KEY: &str = "arn:aws:kms:us-east-1:111111111111:key/k";

    fn key_policy() -> Value {
        json!({"Statement": [
            {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "Logs", "Effect": "Allow", "Principal": {"Service": "logs.us-east-1.amazonaws.com"},
             "Action": "kms:Decrypt", "Resource": "*"},
            {"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": "222222222222"},
             "Action": "kms:Decrypt", "Resource": "*"}
        ]})
    }

    fn anything() -> Vec<Value> {
        vec![json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})]
    }

    #[test]
    fn a_key_grants_through_its_policy_and_its_account_through_iam() {
        let policy = key_policy();
        let key = Resource { kind: Kind::Key, account: "111111111111", policy: Some(&policy) };
        let decrypt = Request::new("kms:Decrypt", KEY);
        let own_without_iam = Caller::role("111111111111", "r", None, vec![]);
        assert!(!authorize(&own_without_iam, &key, &decrypt).allowed(), "root only delegates");
        let own_with_iam = Caller::role("111111111111", "r", None, anything());
        assert!(authorize(&own_with_iam, &key, &decrypt).allowed());
        let logs = Caller {
            arn: "logs.us-east-1.amazonaws.com".into(),
            account: String::new(),
            organization: None,
            identity: vec![],
        };
        assert!(!authorize(&logs, &key, &decrypt).allowed(), "another account's service");
        let partner = Caller::role("222222222222", "r", None, vec![]);
        assert!(!authorize(&partner, &key, &decrypt).allowed(), "its account must agree");
        let partner = Caller::role("222222222222", "r", None, anything());
        assert!(authorize(&partner, &key, &decrypt).allowed());
        let stranger = Caller::role("333333333333", "r", None, anything());
        assert!(!authorize(&stranger, &key, &decrypt).allowed(), "not named by the key");
        let not_granted = Request::new("kms:Encrypt", KEY);
        assert!(!authorize(&partner, &key, &not_granted).allowed());
    }

    #[test]
    fn a_bucket_needs_no_policy_for_its_account_and_both_across_accounts() {
        let put = Request::new("s3:PutObject", "arn:aws:s3:::b/k");
        let none = Resource { kind: Kind::Bucket, account: "111111111111", policy: None };
        assert!(
            authorize(&Caller::role("111111111111", "r", None, anything()), &none, &put).allowed()
        );
        assert!(
            !authorize(&Caller::role("222222222222", "r", None, anything()), &none, &put).allowed()
        );
        let open = json!({"Statement": [
            {"Sid": "Anyone", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:PutObject",
             "Resource": "arn:aws:s3:::b/*"},
            {"Sid": "Tls", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*",
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
        ]});
        let bucket = Resource { kind: Kind::Bucket, account: "111111111111", policy: Some(&open) };
        let own_without_iam = Caller::role("111111111111", "r", None, vec![]);
        assert!(authorize(&own_without_iam, &bucket, &put).allowed(), "'*' names the caller");
        let other_without_iam = Caller::role("222222222222", "r", None, vec![]);
        assert!(!authorize(&other_without_iam, &bucket, &put).allowed(), "its account must agree");
        let other = Caller::role("222222222222", "r", None, anything());
        assert!(authorize(&other, &bucket, &put).allowed());
        let plain = put.clone().with("aws:SecureTransport", "false");
        assert_eq!(
            authorize(&other, &bucket, &plain),
            Decision::ExplicitDeny("resource Tls".into())
        );
    }
}
