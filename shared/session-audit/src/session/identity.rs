//! Who called: CloudTrail's `userIdentity` normalised to one shape a reviewer can read.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::text;

/// The kind of principal that made a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    /// An IAM user.
    IamUser,
    /// An assumed IAM role (a console role, a CI role).
    AssumedRole,
    /// IAM Identity Center (SSO): an assumed `AWSReservedSSO_<PermissionSet>_…` role.
    IdentityCenter,
    /// A federated user (`GetFederationToken`).
    FederatedUser,
    /// The account's root user.
    Root,
    /// An AWS service acting on its own.
    AwsService,
    /// Anything else CloudTrail may send.
    Unknown,
}

/// The caller of a session call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The kind of principal.
    pub kind: IdentityKind,
    /// A readable name: the user, `role/session`, the Identity Center person, `root`.
    pub principal: String,
    /// Its ARN.
    pub arn: Option<String>,
    /// Its account.
    pub account: Option<String>,
    /// The role assumed, for an assumed role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_name: Option<String>,
    /// The role session's name (often the person's name or email).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_name: Option<String>,
    /// The Identity Center permission set, for an Identity Center session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_set: Option<String>,
    /// The person behind a role session (Identity Center user name or email), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// `None` when CloudTrail does not say (long-term access keys carry no MFA context).
    pub mfa: Option<bool>,
    /// The caller's IP address.
    pub source_ip: Option<String>,
    /// The caller's user agent.
    pub user_agent: Option<String>,
    /// Started from the AWS console rather than the CLI or an SDK.
    pub console: bool,
    /// An EC2 instance's role (its session name is the instance ID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// When the caller's temporary credentials were issued (`sessionContext.attributes.
    /// creationDate`, normalised to RFC 3339 UTC whatever format the source used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_issued_at: Option<String>,
}

/// A time CloudTrail or an export wrote as RFC 3339, `YYYY-MM-DD HH:MM:SS` or epoch seconds
/// or milliseconds (number or digits).
fn issued_at(v: Option<&Value>) -> Option<String> {
    let epoch = |n: i64| {
        let t = if n > 100_000_000_000 {
            jiff::Timestamp::from_millisecond(n)
        } else {
            jiff::Timestamp::from_second(n)
        };
        t.ok().map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
    };
    match v? {
        Value::Number(n) => epoch(n.as_i64()?),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            epoch(s.parse().ok()?)
        }
        Value::String(s) => super::normalise_time(s),
        _ => None,
    }
}

/// Whether `s` is shaped as an EC2 instance ID (`i-` and 8 or 17 hex digits).
pub fn is_instance_id(s: &str) -> bool {
    s.strip_prefix("i-")
        .is_some_and(|h| (8..=17).contains(&h.len()) && h.chars().all(|c| c.is_ascii_hexdigit()))
}

impl Identity {
    /// From an ARN alone (the CloudWatch stream's `userIdentity.arn`): its kind read from the
    /// ARN's shape, then as from a CloudTrail record with only that ARN.
    pub fn from_arn(arn: &str) -> Identity {
        let kind = if arn.contains(":assumed-role/") {
            "AssumedRole"
        } else if arn.contains(":federated-user/") {
            "FederatedUser"
        } else if arn.ends_with(":root") {
            "Root"
        } else if arn.contains(":user/") {
            "IAMUser"
        } else {
            ""
        };
        Identity::from_cloudtrail(&serde_json::json!({"userIdentity": {"type": kind, "arn": arn}}))
    }

    /// From a CloudTrail record (its `userIdentity`, `sourceIPAddress` and `userAgent`).
    pub fn from_cloudtrail(record: &Value) -> Identity {
        let u = record.get("userIdentity").cloned().unwrap_or(Value::Null);
        let kind_text = text(&u, "/type").unwrap_or_default();
        let arn = text(&u, "/arn");
        let user_agent = text(record, "/userAgent");
        let source_ip = text(record, "/sourceIPAddress");
        // The console calls Session Manager from AWS's own Java SDK; people at a terminal
        // use the CLI or an SDK with their own user agent.
        let console = user_agent
            .as_deref()
            .is_some_and(|a| a.starts_with("aws-internal") || a.contains("console.amazonaws.com"))
            || source_ip.as_deref().is_some_and(|ip| ip.ends_with("console.amazonaws.com"));
        // A string in CloudTrail, a boolean in some exports.
        let mfa = u
            .pointer("/sessionContext/attributes/mfaAuthenticated")
            .and_then(|m| {
                m.as_bool().or_else(|| m.as_str().map(|s| s.eq_ignore_ascii_case("true")))
            })
            .or_else(|| {
                text(record, "/additionalEventData/MFAUsed").map(|m| m.eq_ignore_ascii_case("yes"))
            });
        let mut id = Identity {
            kind: IdentityKind::Unknown,
            principal: String::new(),
            arn: arn.clone(),
            account: text(&u, "/accountId"),
            role_name: None,
            session_name: None,
            permission_set: None,
            person: None,
            mfa,
            source_ip,
            user_agent,
            console,
            instance_id: None,
            credentials_issued_at: issued_at(u.pointer("/sessionContext/attributes/creationDate")),
        };
        match kind_text.as_str() {
            "IAMUser" => {
                id.kind = IdentityKind::IamUser;
                id.principal = text(&u, "/userName")
                    .or_else(|| {
                        arn.as_deref().and_then(|a| a.rsplit('/').next()).map(str::to_string)
                    })
                    .unwrap_or_default();
            }
            "AssumedRole" => {
                let issuer_arn = text(&u, "/sessionContext/sessionIssuer/arn").unwrap_or_default();
                // arn:aws:sts::<account>:assumed-role/<role>/<session>
                let mut parts = arn
                    .as_deref()
                    .and_then(|a| a.split_once(":assumed-role/"))
                    .map(|(_, r)| r.splitn(2, '/'))
                    .into_iter()
                    .flatten();
                let role = parts
                    .next()
                    .map(str::to_string)
                    .or_else(|| text(&u, "/sessionContext/sessionIssuer/userName"));
                let session = parts.next().map(str::to_string).or_else(|| {
                    text(&u, "/principalId")
                        .and_then(|p| p.split_once(':').map(|(_, s)| s.to_string()))
                });
                let sso = issuer_arn.contains("/aws-reserved/sso.amazonaws.com/")
                    || role.as_deref().is_some_and(|r| r.starts_with("AWSReservedSSO_"));
                if sso {
                    id.kind = IdentityKind::IdentityCenter;
                    id.permission_set = role.as_deref().map(|r| {
                        let inner = r.strip_prefix("AWSReservedSSO_").unwrap_or(r);
                        // AWSReservedSSO_<PermissionSet>_<16 hex>
                        match inner.rsplit_once('_') {
                            Some((set, hash))
                                if hash.len() == 16
                                    && hash.chars().all(|c| c.is_ascii_hexdigit()) =>
                            {
                                set.to_string()
                            }
                            _ => inner.to_string(),
                        }
                    });
                    id.person = session.clone();
                    id.principal = session.clone().unwrap_or_default();
                } else {
                    id.kind = IdentityKind::AssumedRole;
                    id.principal = format!(
                        "{}/{}",
                        role.as_deref().unwrap_or("?"),
                        session.as_deref().unwrap_or("?")
                    );
                    id.instance_id = session.clone().filter(|s| is_instance_id(s));
                }
                id.role_name = role;
                id.session_name = session;
            }
            "FederatedUser" => {
                id.kind = IdentityKind::FederatedUser;
                id.principal = arn
                    .as_deref()
                    .and_then(|a| a.split_once(":federated-user/"))
                    .map(|(_, n)| n.to_string())
                    .or_else(|| text(&u, "/principalId"))
                    .unwrap_or_default();
            }
            "Root" => {
                id.kind = IdentityKind::Root;
                id.principal = "root".to_string();
            }
            "AWSService" => {
                id.kind = IdentityKind::AwsService;
                id.principal = text(&u, "/invokedBy").unwrap_or_else(|| "aws-service".to_string());
            }
            _ => {
                id.principal = arn
                    .clone()
                    .or_else(|| text(&u, "/principalId"))
                    .unwrap_or_else(|| "unknown".to_string());
            }
        }
        if id.account.is_none() {
            id.account = arn
                .as_deref()
                .and_then(|a| a.split(':').nth(4))
                .map(str::to_string)
                .filter(|s| !s.is_empty());
        }
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arn_alone_names_the_person_of_an_identity_center_session() {
        let sso = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/ana@example.com";
        let id = Identity::from_arn(sso);
        assert_eq!(
            (id.kind, id.person.as_deref()),
            (IdentityKind::IdentityCenter, Some("ana@example.com"))
        );
        assert_eq!(id.permission_set.as_deref(), Some("Admin"));
        let role = Identity::from_arn("arn:aws:sts::123456789012:assumed-role/Ops/bob");
        assert_eq!((role.principal.as_str(), role.person), ("Ops/bob", None));
        assert_eq!(Identity::from_arn("arn:aws:iam::123456789012:user/carol").principal, "carol");
        assert_eq!(Identity::from_arn("arn:aws:iam::123456789012:root").kind, IdentityKind::Root);
    }
    use serde_json::json;

    fn identity(user: Value, agent: &str) -> Identity {
        Identity::from_cloudtrail(
            &json!({"userIdentity": user, "userAgent": agent, "sourceIPAddress": "198.51.100.1"}),
        )
    }

    #[test]
    fn credential_times_and_mfa_in_any_format() {
        let with = |date: Value, mfa: Value| {
            let record = serde_json::json!({"userIdentity": {"type": "AssumedRole",
                "arn": "arn:aws:sts::1:assumed-role/R/s",
                "sessionContext": {"attributes": {"creationDate": date, "mfaAuthenticated": mfa}}}});
            Identity::from_cloudtrail(&record)
        };
        let want = Some("2021-01-31T02:10:47Z".to_string());
        assert_eq!(with("2021-01-31T02:10:47Z".into(), "true".into()).credentials_issued_at, want);
        assert_eq!(
            with("2021-01-31T02:10:47.000Z".into(), "true".into()).credentials_issued_at,
            want
        );
        assert_eq!(with("2021-01-31 02:10:47".into(), "true".into()).credentials_issued_at, want);
        assert_eq!(with(1612059047.into(), "true".into()).credentials_issued_at, want);
        assert_eq!(with("1612059047000".into(), "true".into()).credentials_issued_at, want);
        assert_eq!(with("last tuesday".into(), "true".into()).credentials_issued_at, None);
        assert_eq!(with(Value::Null, true.into()).mfa, Some(true));
        assert_eq!(with(Value::Null, false.into()).mfa, Some(false));
        assert_eq!(with(Value::Null, "TRUE".into()).mfa, Some(true));
    }

    #[test]
    fn iam_user_from_the_cli_without_mfa_context() {
        let id = identity(
            json!({"type": "IAMUser", "arn": "arn:aws:iam::354114410416:user/garland.kan.temp", "accountId": "354114410416", "userName": "garland.kan.temp"}),
            "aws-cli/2.0.0 Python/3.7.3",
        );
        assert_eq!((id.kind, id.principal.as_str()), (IdentityKind::IamUser, "garland.kan.temp"));
        assert_eq!(id.mfa, None);
        assert!(!id.console);
    }

    #[test]
    fn assumed_role_from_the_console() {
        let id = identity(
            json!({"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/Admin/jojithom", "sessionContext": {"sessionIssuer": {"arn": "arn:aws:iam::123456789012:role/Admin", "userName": "Admin"}, "attributes": {"mfaAuthenticated": "false"}}}),
            "aws-internal/3 aws-sdk-java/1.11.937",
        );
        assert_eq!(id.kind, IdentityKind::AssumedRole);
        assert_eq!(id.principal, "Admin/jojithom");
        assert_eq!(id.mfa, Some(false));
        assert!(id.console);
        assert_eq!(id.account.as_deref(), Some("123456789012"), "account from the ARN");
    }

    #[test]
    fn identity_center_permission_set_and_person() {
        let id = identity(
            json!({"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/jane@example.com", "sessionContext": {"sessionIssuer": {"arn": "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_AdministratorAccess_0123456789abcdef"}, "attributes": {"mfaAuthenticated": "true"}}}),
            "aws-cli/2.15",
        );
        assert_eq!(id.kind, IdentityKind::IdentityCenter);
        assert_eq!(id.permission_set.as_deref(), Some("AdministratorAccess"));
        assert_eq!(id.person.as_deref(), Some("jane@example.com"));
        assert_eq!(id.principal, "jane@example.com");
        assert_eq!(id.mfa, Some(true));
    }

    #[test]
    fn instance_roles_federated_users_root_and_services() {
        let id = identity(
            json!({"type": "AssumedRole", "arn": "arn:aws:sts::1:assumed-role/app-role/i-0abc1234def567890"}),
            "aws-sdk-go",
        );
        assert_eq!(id.instance_id.as_deref(), Some("i-0abc1234def567890"));
        let id = identity(
            json!({"type": "FederatedUser", "arn": "arn:aws:sts::1:federated-user/bob"}),
            "x",
        );
        assert_eq!((id.kind, id.principal.as_str()), (IdentityKind::FederatedUser, "bob"));
        let id = identity(json!({"type": "Root", "arn": "arn:aws:iam::1:root"}), "x");
        assert_eq!((id.kind, id.principal.as_str()), (IdentityKind::Root, "root"));
        let id = identity(json!({"type": "AWSService", "invokedBy": "ssm.amazonaws.com"}), "x");
        assert_eq!(
            (id.kind, id.principal.as_str()),
            (IdentityKind::AwsService, "ssm.amazonaws.com")
        );
        let id = Identity::from_cloudtrail(&json!({}));
        assert_eq!((id.kind, id.principal.as_str()), (IdentityKind::Unknown, "unknown"));
    }
}
