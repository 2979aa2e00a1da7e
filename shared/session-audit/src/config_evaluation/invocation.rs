//! What AWS Config sends a custom Lambda rule: the rule, the result token to answer with, and
//! what triggered it (a resource's configuration changed, or the periodic run). The
//! `invokingEvent` arrives as a JSON string inside the event (an object is taken too, as
//! tests and the console's sample events give it).

use jiff::Timestamp;
use serde_json::Value;

message_error!(
    /// An event that is not a Config rule invocation this rule can answer.
    BadInvocation
);

/// What made Config call the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// A recorded resource's configuration changed (or was deleted).
    Changed {
        /// `AWS::EC2::Instance`, `AWS::EC2::SecurityGroup`, …
        resource_type: String,
        /// The resource's ID.
        resource_id: String,
        /// Config's `configurationItemStatus` (`OK`, `ResourceDiscovered`, `ResourceDeleted`, …).
        status: String,
        /// When Config captured the change: the evaluations' ordering time.
        captured_at: Timestamp,
    },
    /// The periodic run (`ScheduledNotification`).
    Scheduled {
        /// When Config made the notification: the evaluations' ordering time.
        at: Timestamp,
    },
}

impl Trigger {
    /// The evaluations' `OrderingTimestamp`.
    pub fn ordering_time(&self) -> Timestamp {
        match self {
            Trigger::Changed { captured_at, .. } => *captured_at,
            Trigger::Scheduled { at } => *at,
        }
    }

    /// Whether the changed resource is gone.
    pub fn deleted(&self) -> bool {
        matches!(self, Trigger::Changed { status, .. } if status.starts_with("ResourceDeleted"))
    }
}

/// One invocation of the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The token PutEvaluations must carry.
    pub result_token: String,
    /// The rule's name.
    pub rule_name: String,
    /// The account evaluated.
    pub account: String,
    /// Config says the resource left the rule's scope: it is no longer evaluated.
    pub left_scope: bool,
    /// What triggered it.
    pub trigger: Trigger,
}

fn field<'a>(v: &'a Value, name: &str, what: &str) -> Result<&'a str, BadInvocation> {
    v[name]
        .as_str()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| BadInvocation(format!("Config rule invocation without `{name}` ({what})")))
}

fn timestamp(v: &Value, name: &str) -> Result<Timestamp, BadInvocation> {
    let text = field(v, name, "a time")?;
    text.parse().map_err(|e| BadInvocation(format!("`{name}` '{text}' is not a time: {e}")))
}

impl Invocation {
    /// The invocation `event` is, or why it is not one.
    pub fn parse(event: &Value) -> Result<Invocation, BadInvocation> {
        let invoking = match &event["invokingEvent"] {
            Value::String(text) => serde_json::from_str(text)
                .map_err(|e| BadInvocation(format!("`invokingEvent` is not JSON: {e}")))?,
            v @ Value::Object(_) => v.clone(),
            _ => {
                return Err(BadInvocation(
                    "not a Config rule invocation: no `invokingEvent`".into(),
                ))
            }
        };
        let message_type = field(&invoking, "messageType", "what triggered the rule")?;
        let trigger = match message_type {
            "ScheduledNotification" => {
                Trigger::Scheduled { at: timestamp(&invoking, "notificationCreationTime")? }
            }
            "ConfigurationItemChangeNotification"
            | "OversizedConfigurationItemChangeNotification" => {
                let item = if message_type.starts_with("Oversized") {
                    &invoking["configurationItemSummary"]
                } else {
                    &invoking["configurationItem"]
                };
                Trigger::Changed {
                    resource_type: field(item, "resourceType", "the resource's type")?.to_string(),
                    resource_id: field(item, "resourceId", "the resource")?.to_string(),
                    status: item["configurationItemStatus"].as_str().unwrap_or("OK").to_string(),
                    captured_at: timestamp(item, "configurationItemCaptureTime")?,
                }
            }
            other => {
                return Err(BadInvocation(format!(
                    "messageType '{other}' is not one this rule answers (a change, an oversized \
                     change or the periodic run)"
                )))
            }
        };
        let account = event["accountId"]
            .as_str()
            .or_else(|| invoking["awsAccountId"].as_str())
            .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| {
                BadInvocation("Config rule invocation without a 12-digit `accountId`".into())
            })?;
        Ok(Invocation {
            result_token: field(event, "resultToken", "the token to answer with")?.to_string(),
            rule_name: event["configRuleName"].as_str().unwrap_or_default().to_string(),
            account: account.to_string(),
            left_scope: event["eventLeftScope"] == true,
            trigger,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn change(item: Value) -> Value {
        json!({
            "invokingEvent": json!({"messageType": "ConfigurationItemChangeNotification",
                "configurationItem": item, "notificationCreationTime": "2026-11-24T10:00:05Z"}).to_string(),
            "ruleParameters": "{}",
            "resultToken": "token-1",
            "eventLeftScope": false,
            "executionRoleArn": "arn:aws:iam::123456789012:role/config-role",
            "configRuleArn": "arn:aws:config:us-east-1:123456789012:config-rule/config-rule-abc",
            "configRuleName": "session-audit-access-path",
            "configRuleId": "config-rule-abc",
            "accountId": "123456789012",
            "version": "1.0"
        })
    }

    #[test]
    fn a_change_as_config_sends_it() {
        let e = change(
            json!({"resourceType": "AWS::EC2::Instance", "resourceId": "i-0123456789abcdef0",
            "configurationItemStatus": "OK", "configurationItemCaptureTime": "2026-11-24T10:00:00.123Z"}),
        );
        let i = Invocation::parse(&e).unwrap();
        assert_eq!(i.result_token, "token-1");
        assert_eq!(i.account, "123456789012");
        assert!(!i.left_scope && !i.trigger.deleted());
        let Trigger::Changed { resource_id, captured_at, .. } = &i.trigger else { panic!() };
        assert_eq!(resource_id, "i-0123456789abcdef0");
        assert_eq!(captured_at.to_string(), "2026-11-24T10:00:00.123Z");
    }

    #[test]
    fn an_oversized_change_a_deletion_and_the_periodic_run() {
        let mut e = change(Value::Null);
        e["invokingEvent"] = json!({"messageType": "OversizedConfigurationItemChangeNotification",
            "configurationItemSummary": {"resourceType": "AWS::EC2::Instance", "resourceId": "i-0123456789abcdef0",
            "configurationItemStatus": "ResourceDeleted", "configurationItemCaptureTime": "2026-11-24T10:00:00Z"}})
        .to_string()
        .into();
        assert!(Invocation::parse(&e).unwrap().trigger.deleted());
        e["invokingEvent"] = json!({"messageType": "ScheduledNotification", "awsAccountId": "123456789012",
            "notificationCreationTime": "2026-11-24T00:00:00Z"});
        let i = Invocation::parse(&e).unwrap();
        assert_eq!(i.trigger.ordering_time().to_string(), "2026-11-24T00:00:00Z");
    }

    #[test]
    fn what_cannot_be_answered_is_refused_in_words() {
        let e = change(json!({"resourceType": "AWS::EC2::Instance", "resourceId": "i-1",
            "configurationItemCaptureTime": "2026-11-24T10:00:00Z"}));
        let mut no_token = e.clone();
        no_token["resultToken"] = Value::Null;
        assert!(Invocation::parse(&no_token).unwrap_err().0.contains("resultToken"));
        let mut bad_json = e.clone();
        bad_json["invokingEvent"] = "{not json".into();
        assert!(Invocation::parse(&bad_json).unwrap_err().0.contains("not JSON"));
        let mut other = e.clone();
        other["invokingEvent"] =
            json!({"messageType": "ConfigurationSnapshotDeliveryCompleted"}).to_string().into();
        assert!(Invocation::parse(&other).unwrap_err().0.contains("not one this rule answers"));
        assert!(Invocation::parse(&json!({"source": "aws.ssm"})).is_err());
    }
}
