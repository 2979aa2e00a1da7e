//! The session-start audit's AWS side: its settings and the lookups it makes in EC2 and SSM.
//! The audit itself is the engine's [`session_audit::session::audit::SessionStart`], run over
//! the S3 store and the EventBridge sink.

mod lookups;

use std::time::Duration;

use session_audit::redact::Redactor;
use session_audit::rules::RulePack;
use session_audit::session::audit::{Lookups, SessionStart};
use session_audit::session::findings::{Facts, StartConfig};
use session_audit::session::Event;

use crate::findings::EventBridgeSink;
use crate::s3_store::S3Store;
use crate::{settings, Clients};

/// Settings beyond the findings configuration (environment variables, README).
#[derive(Debug, Clone)]
pub struct StartOptions {
    /// `FINDINGS_EVENT_BUS` (`default`).
    pub event_bus: String,
    /// `LOOKUP_CACHE_SECONDS` (`300`): how long preferences and document types are reused.
    pub cache_ttl: Duration,
    /// The function's own region (`AWS_REGION`); lookups for other regions' events are skipped.
    pub region: Option<String>,
}

impl StartOptions {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        Ok(StartOptions {
            event_bus: settings::event_bus(&get),
            cache_ttl: Duration::from_secs(settings::number(&get, "LOOKUP_CACHE_SECONDS", 300)?),
            region: get("AWS_REGION").filter(|r| !r.is_empty()),
        })
    }
}

/// Target tags (EC2, or SSM for managed nodes), document session types and the account's
/// preferences, cached for `LOOKUP_CACHE_SECONDS`.
#[derive(Debug)]
pub struct AwsLookups {
    clients: Clients,
    cache: lookups::Cache,
    /// What the preferences must say (bucket, transcript prefix).
    config: StartConfig,
    region: Option<String>,
}

impl Lookups for AwsLookups {
    async fn facts(&self, event: &Event) -> (Facts, Vec<String>) {
        lookups::facts(&self.clients, &self.cache, &self.config, self.region.as_deref(), event)
            .await
    }
}

/// The session-start audit as the function runs it.
pub type AwsSessionStart = SessionStart<S3Store, AwsLookups, EventBridgeSink>;

/// The audit over the log bucket, EventBridge and AWS lookups.
pub fn session_start(
    clients: &Clients,
    config: StartConfig,
    options: StartOptions,
    pack: RulePack,
    redactor: Redactor,
) -> AwsSessionStart {
    SessionStart {
        store: S3Store::new(clients.s3.clone(), config.audit_bucket.clone()),
        lookups: AwsLookups {
            clients: clients.clone(),
            cache: lookups::Cache::new(options.cache_ttl),
            config: config.clone(),
            region: options.region,
        },
        sink: EventBridgeSink { events: clients.events.clone(), bus: options.event_bus },
        config,
        pack,
        redactor,
    }
}
