//! One run of the digest chain: read the head, list the bucket's versions once, then digest,
//! sign and store each hour in turn, moving the head after each.

use std::collections::HashSet;

use jiff::Timestamp;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::{as_of, hour_of, DigestOptions, DigestRunError, Head, Produced, HEAD_SCHEMA, HOUR};
use crate::digest::{hex, Digest, Entry, Link, PublicKey, Sidecar, Unsigned};
use crate::keys;
use crate::ports::signer::{SignError, Signer};
use crate::ports::store::{
    get_json, put_json, Attributes, AuditStore, Body, Condition, ListedVersion, Payload, Stored,
    VersionListing,
};
use crate::publish::Metrics;

/// The digest chain of one bucket, written through `store` and signed by `signer`.
#[derive(Debug)]
pub struct AuditDigest<S, K> {
    /// The bucket: its audit objects, transcripts and the digests themselves.
    pub store: S,
    /// The signing key.
    pub signer: K,
    /// The bucket's name, as the digests and signatures name it.
    pub bucket: String,
    /// Settings.
    pub options: DigestOptions,
}

/// A version, as the set of those already listed knows it.
type Seen = (String, Option<String>);

impl<S: AuditStore + VersionListing, K: Signer> AuditDigest<S, K> {
    /// Run for a scheduled `event` (see [`super::as_of`]).
    pub async fn handle(
        &self,
        event: &Value,
        metrics: &mut Metrics,
    ) -> Result<Produced, DigestRunError> {
        self.run(as_of(event, Timestamp::now())?, metrics).await
    }

    /// Digest every complete hour (ended `settle_minutes` before `as_of`) since the head, at
    /// most `max_hours` of them.
    pub async fn run(
        &self,
        as_of: Timestamp,
        metrics: &mut Metrics,
    ) -> Result<Produced, DigestRunError> {
        let settle = jiff::SignedDuration::from_mins(self.options.settle_minutes as i64);
        let until = hour_of(as_of - settle);
        let head = self.head().await?;
        let public = self.publish_public_key().await?;
        let mut produced = Produced {
            public_key: keys::digest_public_key(self.signer.key_id(), &public.fingerprint()),
            ..Produced::default()
        };
        let (first, mut previous, mut etag) = match head {
            Some((h, etag)) => {
                let end = h.end.parse::<Timestamp>().map_err(|_| {
                    DigestRunError::Chain(format!("the head's end '{}' is not a time", h.end))
                })?;
                (end, Some(h.last), Some(etag))
            }
            None => (until - HOUR, None, None),
        };
        let hours: Vec<Timestamp> = (0..self.options.max_hours as i64)
            .map(|i| first + HOUR * i as i32)
            .take_while(|start| *start + HOUR <= until)
            .collect();
        let Some(&last) = hours.last() else { return Ok(produced) };
        if last + HOUR < until {
            produced.pending_from = Some((last + HOUR).to_string());
        }

        // A chain that goes on lists versions back to the backfill window, skipping those the
        // window's digests list; the first digest lists everything before it.
        let window = HOUR * self.options.backfill_hours as i32;
        let since = previous.is_some().then(|| first - window);
        let mut seen = match since {
            Some(since) => self.listed_since(since, first).await?,
            None => HashSet::new(),
        };
        let listed = self.store.versions_since(since, keys::DIGEST_PREFIX).await?;
        tracing::info!(versions = listed.len(), hours = hours.len(), from = %first, "digesting");

        for start in hours {
            let end = start + HOUR;
            let (mut objects, mut backfill) = (Vec::new(), Vec::new());
            let new = listed.iter().filter(|v| v.last_modified < end);
            for v in new.filter(|v| seen.insert((v.key.clone(), v.version_id.clone()))) {
                match self.entry(v).await? {
                    Some(e) if v.last_modified >= start => objects.push(e),
                    Some(e) => backfill.push(e),
                    None => {
                        tracing::warn!(key = %v.key, version = ?v.version_id, "version gone before it was read");
                        metrics.add("DigestVersionsVanished", 1.0);
                        produced.vanished.push(format!("{}?versionId={:?}", v.key, v.version_id));
                    }
                }
            }
            let (o, b) = (objects.len(), backfill.len());
            let digest = Digest::new(
                &self.bucket,
                &start.to_string(),
                &end.to_string(),
                objects,
                backfill,
                previous.clone(),
            );
            let link = self.store_digest(&digest, &public).await?;
            let head =
                Head { schema: HEAD_SCHEMA.into(), end: end.to_string(), last: link.clone() };
            let condition = etag.map_or(Condition::Absent, Condition::Unchanged);
            if !put_json(&self.store, &keys::digest_head(), &head, &condition).await? {
                // Another run moved the head: it goes on from there.
                produced.pending_from = Some(end.to_string());
                produced.digests.push(link.key);
                break;
            }
            etag = self.store.head(&keys::digest_head()).await?.and_then(|i| i.etag);
            tracing::info!(digest = %link.key, objects = o, backfill = b, "digest written");
            metrics.add("DigestObjects", o as f64).add("DigestBackfill", b as f64);
            (produced.objects, produced.backfill) = (produced.objects + o, produced.backfill + b);
            produced.digests.push(link.key.clone());
            previous = Some(link);
        }
        metrics.add("Digests", produced.digests.len() as f64);
        Ok(produced)
    }

    async fn head(&self) -> Result<Option<(Head, String)>, DigestRunError> {
        let key = keys::digest_head();
        match get_json::<Head>(&self.store, &key).await? {
            None => Ok(None),
            Some(Stored { value: Ok(h), etag }) if h.schema == HEAD_SCHEMA => Ok(Some((h, etag))),
            Some(Stored { value, .. }) => Err(DigestRunError::Chain(format!(
                "{key} is not a head: {}",
                value.err().unwrap_or_else(|| "unknown schema".into())
            ))),
        }
    }

    /// The signing key's public half, published once under its fingerprint.
    async fn publish_public_key(&self) -> Result<PublicKey, DigestRunError> {
        let der = self.signer.public_key().await?;
        let public = PublicKey::parse(&der).map_err(|e| SignError {
            key_id: self.signer.key_id().into(),
            code: None,
            message: e.to_string(),
        })?;
        let key = keys::digest_public_key(self.signer.key_id(), &public.fingerprint());
        let pem = Payload::Bytes(public.to_pem().into_bytes());
        let attributes = Attributes::of("application/x-pem-file");
        self.store.put(&key, pem, &attributes, &Condition::Absent).await?;
        Ok(public)
    }

    /// The versions the digests of `[since, until)` list.
    async fn listed_since(
        &self,
        since: Timestamp,
        until: Timestamp,
    ) -> Result<HashSet<Seen>, DigestRunError> {
        let mut seen = HashSet::new();
        let mut start = since;
        while start < until {
            let key = keys::digest(start);
            if let Some(object) = self.store.get(&key, None).await? {
                let digest = Digest::parse(&object.bytes)
                    .map_err(|e| DigestRunError::Chain(format!("{key}: {e}")))?;
                seen.extend(digest.entries().map(|e| (e.key.clone(), e.version_id.clone())));
            }
            start += HOUR;
        }
        Ok(seen)
    }

    /// `v` hashed, or `None` when the version is gone.
    async fn entry(&self, v: &ListedVersion) -> Result<Option<Entry>, DigestRunError> {
        let mut entry = Entry {
            key: v.key.clone(),
            version_id: v.version_id.clone(),
            last_modified: crate::digest::time(v.last_modified),
            sha256: String::new(),
            size: 0,
            delete_marker: v.delete_marker,
        };
        if v.delete_marker {
            return Ok(Some(entry));
        }
        let Some((_, mut body)) = self.store.open(&v.key, v.version_id.as_deref()).await? else {
            return Ok(None);
        };
        let mut hash = Sha256::new();
        while let Some(chunk) = body.next_chunk().await? {
            hash.update(&chunk);
            entry.size += chunk.len() as u64;
        }
        entry.sha256 = hex(&hash.finalize());
        Ok(Some(entry))
    }

    /// Write `digest` where none is, then its signature and manifest; a digest already there
    /// that continues the same chain is completed instead. Returns its link.
    async fn store_digest(
        &self,
        digest: &Digest,
        public: &PublicKey,
    ) -> Result<Link, DigestRunError> {
        let mut unsigned = Unsigned::of(digest);
        let json = Attributes::of("application/json");
        let payload = Payload::Bytes(unsigned.bytes.clone());
        if !self.store.put(&unsigned.key, payload, &json, &Condition::Absent).await? {
            unsigned = self.continued(&unsigned.key, digest.previous.as_ref()).await?;
        }
        let key = unsigned.key.clone();
        let signature = self.signer.sign(unsigned.signing_string.as_bytes()).await?;
        let sealed = unsigned.sealed(self.signer.key_id(), public, &signature);
        let mut link = sealed.link;
        let sidecar_key = keys::digest_signature(&key);
        if !put_json(&self.store, &sidecar_key, &sealed.sidecar, &Condition::Absent).await? {
            let stored = get_json::<Sidecar>(&self.store, &sidecar_key).await?;
            match stored.map(|s| s.value) {
                Some(Ok(s)) if s.digest_sha256 == link.sha256 => link.signature = s.signature,
                _ => {
                    return Err(DigestRunError::Chain(format!(
                        "{sidecar_key} does not sign the digest at {key}"
                    )))
                }
            }
        }
        let manifest = Payload::Bytes(sealed.manifest.into_bytes());
        let text = Attributes::of("text/plain; charset=utf-8");
        self.store.put(&keys::digest_manifest(&key), manifest, &text, &Condition::Always).await?;
        Ok(link)
    }

    /// The digest already at `key`, if it continues the chain from `previous`.
    async fn continued(
        &self,
        key: &str,
        previous: Option<&Link>,
    ) -> Result<Unsigned, DigestRunError> {
        let stored = self.store.get(key, None).await?;
        let bytes = stored.map(|o| o.bytes).unwrap_or_default();
        let digest =
            Digest::parse(&bytes).map_err(|e| DigestRunError::Chain(format!("{key}: {e}")))?;
        if digest.previous.as_ref() != previous {
            return Err(DigestRunError::Chain(format!(
                "{key} is already there and names another previous digest than the head"
            )));
        }
        Ok(Unsigned::of(&digest))
    }
}
