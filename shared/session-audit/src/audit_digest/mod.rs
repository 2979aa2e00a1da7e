//! The digest chain as a use case: every hour since the chain's head, the versions the bucket
//! received in that hour, hashed, signed and linked to the previous digest ([`crate::digest`]).
//! The audit-digest function runs it hourly over S3 and KMS.
//!
//! Exactly one chain, however runs overlap or crash: an hour's digest is written only where
//! none is (`If-None-Match`), and a run that finds one already there goes on from it when it
//! names the same previous digest (a run that stopped half way, or a concurrent one), and
//! stops with [`DigestRunError::Chain`] when it does not (not this function's chain). The head
//! object (`audit/digests/head.json`) only says where to go on from; the chain itself is in
//! the digests. The first run starts the chain with the last complete hour and lists
//! everything older as its backfill, so the chain covers the bucket from its first object.

mod run;
#[cfg(test)]
mod tests;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::digest::Link;
use crate::ports::signer::SignError;
use crate::ports::store::StoreError;
use crate::{Failure, FailureKind};

pub use run::AuditDigest;

/// The head's schema.
pub const HEAD_SCHEMA: &str = "session-audit/digest-head/1";

/// One hour.
pub const HOUR: SignedDuration = SignedDuration::from_hours(1);

/// Settings (read by [`crate::settings`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestOptions {
    /// `DIGEST_SETTLE_MINUTES` (`10`): an hour is digested once it ended this long ago, so
    /// uploads in flight at its end have landed.
    pub settle_minutes: u64,
    /// `DIGEST_MAX_HOURS` (`24`): hours one run digests at most; a run that leaves some says so
    /// and the next goes on.
    pub max_hours: u64,
    /// `DIGEST_BACKFILL_HOURS` (`48`): how far back a version may be dated and still be listed
    /// as backfill (S3 dates a multipart upload by its start). An older version that no
    /// digest lists is reported `added` by `session-audit verify`, never hidden.
    pub backfill_hours: u64,
}

impl Default for DigestOptions {
    fn default() -> Self {
        DigestOptions { settle_minutes: 10, max_hours: 24, backfill_hours: 48 }
    }
}

/// Where the chain goes on from: the newest digest's end and link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// [`HEAD_SCHEMA`].
    pub schema: String,
    /// The newest digest's end: the next one starts here.
    pub end: String,
    /// The newest digest.
    pub last: Link,
}

/// What a run is asked: the schedule's event, optionally with `as_of` (RFC 3339) to digest as
/// if it were then.
pub fn as_of(event: &Value, now: Timestamp) -> Result<Timestamp, DigestRunError> {
    match event.get("as_of") {
        None | Some(Value::Null) => Ok(now),
        Some(Value::String(t)) => t
            .parse()
            .map_err(|_| DigestRunError::Malformed(format!("as_of '{t}' is not an RFC 3339 time"))),
        Some(other) => Err(DigestRunError::Malformed(format!("as_of {other} is not a time"))),
    }
}

/// What a run did (the function's answer).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Produced {
    /// The digests written (or completed), oldest first.
    pub digests: Vec<String>,
    /// Versions they list in their hours.
    pub objects: usize,
    /// Older versions they list as backfill.
    pub backfill: usize,
    /// Versions listed but gone before they could be read (a version deleted meanwhile): each
    /// is logged and counted, none listed.
    pub vanished: Vec<String>,
    /// The first hour still to digest when this run stopped at its bound, or found another
    /// run ahead of it.
    pub pending_from: Option<String>,
    /// The signing key's public key object.
    pub public_key: String,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum DigestRunError {
    /// The event cannot be used as it is.
    #[error("malformed event: {0}")]
    Malformed(String),
    /// The audit store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The signer failed.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// The digests in the bucket are not a chain this function continues: someone else wrote
    /// one, or the head points elsewhere. Nothing is written over them.
    #[error("the digest chain cannot be continued: {0}")]
    Chain(String),
}

impl Failure for DigestRunError {
    fn kind(&self) -> FailureKind {
        match self {
            DigestRunError::Malformed(_) => FailureKind::MalformedEvent,
            DigestRunError::Store(_) => FailureKind::Store,
            DigestRunError::Sign(_) => FailureKind::Signer,
            DigestRunError::Chain(_) => FailureKind::Evidence,
        }
    }
}

/// The start of the hour `t` is in.
pub fn hour_of(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second().div_euclid(3600) * 3600).expect("in range")
}
