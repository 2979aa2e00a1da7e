//! A change to an account-region's Session Manager preferences, forwarded by its spoke: judged
//! ([`crate::session::preferences`]), filed once under its place and day by event ID (the
//! summary names every drifted place from there), and SA-SES-PREFERENCES-DRIFT published once
//! when it drifted. Same order as a session call: the record first, then the findings.

use serde_json::Value;

use super::{store, Audited, Lookups, Outcome, SessionStart, StartError};
use crate::ports::sink::FindingsSink;
use crate::ports::store::AuditStore;
use crate::publish::{FindingContext, Metrics};
use crate::session::preferences::{judge, PreferencesChange, Verdict};

impl<S: AuditStore, L: Lookups, F: FindingsSink> SessionStart<S, L, F> {
    /// File one change to a place's preferences ([`crate::session::preferences::is_preferences_change`]).
    pub(super) async fn preferences_changed(
        &self,
        record: &Value,
        account: Option<String>,
        metrics: &mut Metrics,
    ) -> Result<Audited, StartError> {
        let id = record.get("eventID").and_then(Value::as_str).unwrap_or("?").to_string();
        let malformed = |reason: String| StartError::Malformed { event_id: id.clone(), reason };
        let mut change =
            judge(record, account, &self.config, self.home.as_ref()).map_err(malformed)?;
        let mut warnings = Vec::new();
        match &mut change.verdict {
            Verdict::Drifted(why) => {
                *why = self.redactor.redact(why).into_owned();
                let evidence = format!(
                    "the Session Manager preferences of {}/{} no longer send every transcript \
                     where the audit reads it ({} by {}): {why}",
                    change.account,
                    change.region,
                    change.call,
                    change.identity.arn.as_deref().unwrap_or(&change.identity.principal),
                );
                let finding = self.pack.session_finding("logging_preferences_drift", evidence);
                change.findings.extend(finding);
            }
            Verdict::Unverified(why) => warnings.push(why.clone()),
            Verdict::Conforms => {}
        }
        let key = change.key().map_err(|e| malformed(e.to_string()))?;
        let fresh = self
            .write_once(&key, &change)
            .await
            .map_err(store(&change.event_id, "writing the preferences change"))?;
        if fresh {
            metrics.add_findings(&change.findings);
        }
        tracing::info!(event_id = %change.event_id, %key, verdict = ?change.verdict, fresh, "preferences changed");
        self.publish_once::<PreferencesChange>(&key, &self.change_context(&key, &change)).await?;
        Ok(Audited {
            event_id: change.event_id.clone(),
            action: None,
            outcome: match fresh {
                true => Outcome::Recorded { key },
                false => Outcome::Duplicate { key },
            },
            findings: change.findings.iter().map(|f| f.rule_id.clone()).collect(),
            warnings,
        })
    }

    fn change_context(&self, key: &str, change: &PreferencesChange) -> FindingContext {
        FindingContext {
            origin_id: change.event_id.clone(),
            session_id: None,
            time: change.event_time.clone(),
            account: Some(change.account.clone()),
            region: change.region.clone(),
            principal: change.identity.arn.clone().or(Some(change.identity.principal.clone())),
            person: change.identity.person.clone(),
            target: None,
            record: self.store.uri(key),
            stage: "start",
        }
    }
}
