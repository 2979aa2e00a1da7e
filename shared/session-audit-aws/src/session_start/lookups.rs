//! What the start audit looks up in AWS: the target's tags, a custom document's session type,
//! and the account's Session Manager preferences. A lookup that fails leaves its fact unknown
//! and adds a warning to the record; it never stops the session from being recorded.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_sdk_ssm::types::{DocumentFormat, ResourceTypeForTagging};
use serde_json::Value;

use crate::{AwsError, Clients};
use session_audit::session::findings::{
    check_preferences, unlogged_by_design, Facts, PreferencesDrift, StartConfig,
};
use session_audit::session::{Event, DEFAULT_DOCUMENT};

/// A calendar and a minute (`YYYY-MM-DDTHH:MM`).
pub(super) type CalendarMinute = (String, String);

/// Answers that may be reused for a short while: the preferences and document session types
/// change rarely, and a burst of sessions should not cost a burst of SSM calls.
#[derive(Debug)]
pub(super) struct Cache {
    ttl: Duration,
    preferences: Mutex<Option<(Instant, Result<(), PreferencesDrift>)>>,
    session_types: Mutex<HashMap<String, (Instant, Option<String>)>>,
    /// (calendar, minute of the session's start) -> the calendar's state then.
    pub(super) calendar_states: Mutex<HashMap<CalendarMinute, (Instant, Option<String>)>>,
}

impl Cache {
    pub(super) fn new(ttl: Duration) -> Self {
        Cache {
            ttl,
            preferences: Mutex::new(None),
            session_types: Mutex::new(HashMap::new()),
            calendar_states: Mutex::new(HashMap::new()),
        }
    }

    pub(super) fn fresh<T: Clone>(&self, entry: Option<&(Instant, T)>) -> Option<T> {
        entry.filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, v)| v.clone())
    }
}

/// Look up everything `evaluate` can use for a StartSession, concurrently. Returns the facts
/// and a warning for each one that could not be established.
pub(super) async fn facts(
    clients: &Clients,
    cache: &Cache,
    config: &StartConfig,
    own_region: Option<&str>,
    event: &Event,
) -> (Facts, Vec<String>) {
    if let Some(own) = own_region.filter(|r| !event.region.is_empty() && *r != event.region) {
        // Tags, documents and preferences are regional: asking our region about another
        // region's instance would answer wrongly (an instance "without tags").
        return (
            Facts::default(),
            vec![format!("event from {} handled in {own}: target tags, document session type and preferences not checked", event.region)],
        );
    }
    let (tags, session_type, preferences) = tokio::join!(
        target_tags(clients, event.target.as_deref()),
        session_type(clients, cache, event.document_or_default()),
        preferences(clients, cache, config),
    );
    let mut warnings = Vec::new();
    let mut facts = Facts {
        target_tags: known(tags, &mut warnings),
        session_type: known(session_type, &mut warnings),
        preferences: known(preferences.map(Some), &mut warnings),
        change_window: None,
        approval: None,
    };
    if facts.target_tags.as_ref().is_some_and(|t| config.is_protected(t)) {
        let (window, approval) = tokio::join!(
            super::change::calendar_state(clients, cache, config, event),
            super::change::approval(clients, config, event),
        );
        facts.change_window = known(window, &mut warnings);
        facts.approval = known(approval.map(Some), &mut warnings);
    }
    (facts, warnings)
}

/// The fact, or `None` with the reason kept as a warning.
fn known<T>(lookup: Result<Option<T>, String>, warnings: &mut Vec<String>) -> Option<T> {
    lookup.unwrap_or_else(|w| {
        warnings.push(w);
        None
    })
}

/// The target's tags: EC2 instances through EC2, hybrid managed nodes (`mi-…`) through SSM.
async fn target_tags(
    clients: &Clients,
    target: Option<&str>,
) -> Result<Option<HashMap<String, String>>, String> {
    let Some(target) = target else {
        return Err("no target in the event: tags not checked".into());
    };
    let pairs = |list: Vec<(Option<String>, Option<String>)>| {
        list.into_iter().filter_map(|(k, v)| Some((k?, v.unwrap_or_default()))).collect()
    };
    if target.starts_with("i-") {
        let out = clients
            .ec2
            .describe_instances()
            .instance_ids(target)
            .send()
            .await
            .map_err(|e| format!("ec2:DescribeInstances {target}: {}", AwsError::from(e)))?;
        let instance = out.reservations().iter().flat_map(|r| r.instances()).next();
        let Some(instance) = instance else {
            return Err(format!("ec2:DescribeInstances {target}: no such instance"));
        };
        let tags = instance.tags().iter().map(|t| (t.key.clone(), t.value.clone())).collect();
        Ok(Some(pairs(tags)))
    } else if target.starts_with("mi-") {
        let out = clients
            .ssm
            .list_tags_for_resource()
            .resource_type(ResourceTypeForTagging::ManagedInstance)
            .resource_id(target)
            .send()
            .await
            .map_err(|e| format!("ssm:ListTagsForResource {target}: {}", AwsError::from(e)))?;
        let tags = out.tag_list().iter().map(|t| (Some(t.key.clone()), Some(t.value.clone())));
        Ok(Some(pairs(tags.collect())))
    } else {
        Err(format!(
            "target {target} is neither an EC2 instance nor a managed node: tags not checked"
        ))
    }
}

/// A document's content as JSON (SSM converts YAML documents).
pub(crate) async fn document(clients: &Clients, name: &str) -> Result<Value, AwsError> {
    let out =
        clients.ssm.get_document().name(name).document_format(DocumentFormat::Json).send().await?;
    let content = out.content().unwrap_or_default();
    serde_json::from_str(content)
        .map_err(|e| AwsError { code: None, message: format!("document {name} is not JSON: {e}") })
}

/// The `sessionType` of a custom document. AWS's own session documents are known by name.
async fn session_type(
    clients: &Clients,
    cache: &Cache,
    name: &str,
) -> Result<Option<String>, String> {
    if name == DEFAULT_DOCUMENT {
        return Ok(Some("Standard_Stream".into()));
    }
    if unlogged_by_design(name, None) {
        return Ok(None);
    }
    if let Some(hit) = cache.fresh(cache.session_types.lock().expect("cache").get(name)) {
        return Ok(hit);
    }
    let content = document(clients, name)
        .await
        .map_err(|e| format!("ssm:GetDocument {name}: {e}: session type not checked"))?;
    let found = content["sessionType"].as_str().map(str::to_string);
    cache
        .session_types
        .lock()
        .expect("cache")
        .insert(name.to_string(), (Instant::now(), found.clone()));
    Ok(found)
}

/// Whether the preferences still send encrypted transcripts where the audit reads them (`Err`
/// inside: drift, see [`check_preferences`]).
async fn preferences(
    clients: &Clients,
    cache: &Cache,
    config: &StartConfig,
) -> Result<Result<(), PreferencesDrift>, String> {
    if let Some(hit) = cache.fresh(cache.preferences.lock().expect("cache").as_ref()) {
        return Ok(hit);
    }
    let verdict = match document(clients, DEFAULT_DOCUMENT).await {
        Ok(content) => check_preferences(&content, config),
        Err(e) if e.is(&["InvalidDocument"]) => {
            Err(format!("the {DEFAULT_DOCUMENT} preferences document does not exist").into())
        }
        Err(e) => {
            return Err(format!(
                "ssm:GetDocument {DEFAULT_DOCUMENT}: {e}: logging preferences not checked"
            ))
        }
    };
    *cache.preferences.lock().expect("cache") = Some((Instant::now(), verdict.clone()));
    Ok(verdict)
}
