//! The session-start audit's AWS side: its settings and the lookups it makes in EC2 and SSM.
//! The audit itself is the engine's [`session_audit::session_start::SessionStart`], run over
//! the S3 store and the findings sinks (EventBridge, Security Hub).

mod change;
pub(crate) mod lookups;

use session_audit::redact::Redactor;
use session_audit::rules::RulePack;
use session_audit::session::findings::{Facts, StartConfig};
use session_audit::session::Event;
use session_audit::session_start::{Lookups, SessionStart};
use session_audit::settings::StartSettings;

use crate::findings::FindingsOut;
use crate::s3_store::S3Store;
use crate::Clients;

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
pub type AwsSessionStart = SessionStart<S3Store, AwsLookups, FindingsOut>;

/// The audit over the log bucket, the findings sinks and AWS lookups.
pub fn session_start(
    clients: &Clients,
    settings: StartSettings,
    pack: RulePack,
    redactor: Redactor,
) -> AwsSessionStart {
    let config = settings.config;
    SessionStart {
        store: S3Store::new(clients.s3.clone(), settings.common.audit_bucket.clone()),
        lookups: AwsLookups {
            clients: clients.clone(),
            cache: lookups::Cache::new(settings.cache_ttl),
            config: config.clone(),
            region: settings.region,
        },
        sink: FindingsOut::new(clients, &settings.common, "session-start"),
        config,
        pack,
        redactor,
        home: settings.common.home.clone(),
    }
}
