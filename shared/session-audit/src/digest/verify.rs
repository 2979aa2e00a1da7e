//! `session-audit verify`: walk an export's digest chain from the newest digest to the oldest
//! and judge every digest and every object. Offline: the export (a directory copy of the bucket,
//! `aws s3 sync`) and the public keys the auditor trusts are all it needs.
//!
//! * A digest is **valid** when its sidecar's signature, by a trusted key, covers its bytes at
//!   its place, and its successor's link names exactly it; else **bad signature**, **unknown
//!   key**, **unsigned**, **unreadable**, **broken** (validly signed, but not what its
//!   successor names), **missing** (named, absent), **gap** (its hour does not follow its
//!   predecessor's), or **orphan** (on no chain from the newest).
//! * An object is judged against the newest version the trusted digests list for its key:
//!   **valid**, **modified**, **missing**, **added** (in no trusted digest), or **moved** (its
//!   content is that of a missing key).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{sha256_hex, signing_string, unhex, Digest, Entry, PublicKey, Sidecar};
use crate::keys;

/// A copy of the bucket: keys and their latest content.
pub trait Export {
    /// Every key present.
    fn keys(&self) -> Vec<String>;
    /// The content of `key`, if present.
    fn read(&self, key: &str) -> Option<Vec<u8>>;
}

/// A digest's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DigestStatus {
    /// Signed by a trusted key, and named by its successor.
    Valid,
    /// The signature does not cover these bytes at this place.
    BadSignature,
    /// Signed by a key the auditor did not name.
    UnknownKey,
    /// No readable sidecar.
    Unsigned,
    /// Not a digest the pipeline wrote.
    Unreadable,
    /// Validly signed, but not the digest its successor names.
    Broken,
    /// Named by its successor, absent from the export.
    Missing,
    /// Its hour does not start where its predecessor's ended.
    Gap,
    /// On no chain from the newest digest.
    Orphan,
}

impl DigestStatus {
    /// The name the JSON output uses (`bad_signature`, …).
    pub fn name(self) -> &'static str {
        match self {
            DigestStatus::Valid => "valid",
            DigestStatus::BadSignature => "bad_signature",
            DigestStatus::UnknownKey => "unknown_key",
            DigestStatus::Unsigned => "unsigned",
            DigestStatus::Unreadable => "unreadable",
            DigestStatus::Broken => "broken",
            DigestStatus::Missing => "missing",
            DigestStatus::Gap => "gap",
            DigestStatus::Orphan => "orphan",
        }
    }
}

/// An object's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectStatus {
    /// The content the digests recorded.
    Valid,
    /// Other content than recorded.
    Modified,
    /// Recorded, absent.
    Missing,
    /// Present, in no trusted digest.
    Added,
    /// The recorded content of a key that is missing.
    Moved,
}

impl ObjectStatus {
    /// The name the JSON output uses.
    pub fn name(self) -> &'static str {
        match self {
            ObjectStatus::Valid => "valid",
            ObjectStatus::Modified => "modified",
            ObjectStatus::Missing => "missing",
            ObjectStatus::Added => "added",
            ObjectStatus::Moved => "moved",
        }
    }
}

/// One verdict, with what it is about and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check<S> {
    /// The key judged.
    pub key: String,
    /// The verdict.
    pub status: S,
    /// Why, in words (empty when valid).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// The whole verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// True when every digest and every object is valid.
    pub ok: bool,
    /// Where the chain starts and ends (the oldest digest's start, the newest's end).
    pub covers: Option<(String, String)>,
    /// Digests, newest first.
    pub digests: Vec<Check<DigestStatus>>,
    /// Objects, by key.
    pub objects: Vec<Check<ObjectStatus>>,
}

struct Loaded {
    digest: Option<Digest>,
    sha256: String,
    signature: Option<String>,
    own: DigestStatus,
    detail: String,
}

fn check<S>(key: &str, status: S, detail: impl Into<String>) -> Check<S> {
    Check { key: key.to_string(), status, detail: detail.into() }
}

/// A digest judged on its own: readable, signed, by a trusted key, over these bytes here.
fn load(export: &impl Export, key: &str, trusted: &[PublicKey]) -> Loaded {
    let bytes = export.read(key).unwrap_or_default();
    let sha256 = sha256_hex(&bytes);
    let mut loaded = Loaded {
        digest: None,
        sha256,
        signature: None,
        own: DigestStatus::Valid,
        detail: String::new(),
    };
    let digest = match Digest::parse(&bytes) {
        Ok(d) => d,
        Err(e) => {
            (loaded.own, loaded.detail) = (DigestStatus::Unreadable, e.to_string());
            return loaded;
        }
    };
    let sidecar = export.read(&keys::digest_signature(key));
    let sidecar: Option<Sidecar> = sidecar.and_then(|s| serde_json::from_slice(&s).ok());
    let Some(sidecar) = sidecar else {
        (loaded.own, loaded.detail) =
            (DigestStatus::Unsigned, "no readable signature sidecar".into());
        loaded.digest = Some(digest);
        return loaded;
    };
    loaded.signature = Some(sidecar.signature.clone());
    let previous = digest.previous.as_ref().map(|p| p.signature.as_str());
    let expected = signing_string(&digest.bucket, key, &digest.end, &loaded.sha256, previous);
    let key_used = trusted.iter().find(|k| k.fingerprint() == sidecar.public_key_sha256);
    let signature = unhex(&sidecar.signature).unwrap_or_default();
    (loaded.own, loaded.detail) = if sidecar.signing_string != expected {
        (
            DigestStatus::BadSignature,
            "the digest, its place or its link changed since it was signed".into(),
        )
    } else if key_used.is_none() {
        let fp = &sidecar.public_key_sha256;
        (DigestStatus::UnknownKey, format!("signed by key {fp}, not one given"))
    } else if !key_used.is_some_and(|k| k.verifies(expected.as_bytes(), &signature)) {
        (DigestStatus::BadSignature, "the signature does not verify".into())
    } else {
        (DigestStatus::Valid, String::new())
    };
    loaded.digest = Some(digest);
    loaded
}

/// Judge `export` with the public keys the auditor trusts. `until` (an RFC 3339 time) says how
/// far the chain must reach: digests missing after the newest one are named then.
pub fn verify(export: &impl Export, trusted: &[PublicKey], until: Option<&str>) -> Verification {
    let all = export.keys();
    let digest_keys: Vec<&String> = all.iter().filter(|k| keys::is_digest(k)).collect();
    let loaded: BTreeMap<&str, Loaded> =
        digest_keys.iter().map(|k| (k.as_str(), load(export, k, trusted))).collect();
    let mut verdicts: BTreeMap<String, Check<DigestStatus>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut put = |c: Check<DigestStatus>, verdicts: &mut BTreeMap<String, Check<DigestStatus>>| {
        if !verdicts.contains_key(&c.key) {
            order.push(c.key.clone());
        }
        verdicts.insert(c.key.clone(), c);
    };
    // Newest first: each digest's own verdict, then what its successor's link says of it.
    let mut expected_link: Option<(String, super::Link, String)> = None; // (successor, link, successor start)
    let mut visited = BTreeSet::new();
    let mut newest_end = None;
    let mut oldest_start = None;
    for key in digest_keys.iter().rev() {
        let l = &loaded[key.as_str()];
        if let Some((successor, link, start)) = expected_link.take() {
            if link.key.as_str() > key.as_str() || !loaded.contains_key(link.key.as_str()) {
                put(
                    check(
                        &link.key,
                        DigestStatus::Missing,
                        format!("named by {successor}, absent"),
                    ),
                    &mut verdicts,
                );
            } else if link.key != **key {
                // A link to an older digest than the one before: the hours between are gone.
                expected_link = Some((successor, link, start));
                put(
                    check(key, DigestStatus::Orphan, "skipped by its successor's link"),
                    &mut verdicts,
                );
                continue;
            } else if l.own == DigestStatus::Valid
                && (l.sha256 != link.sha256 || l.signature.as_deref() != Some(&link.signature))
            {
                put(
                    check(key, DigestStatus::Broken, format!("not the digest {successor} names")),
                    &mut verdicts,
                );
            } else if l.digest.as_ref().is_some_and(|d| d.end != start)
                && l.own == DigestStatus::Valid
            {
                put(
                    check(
                        &successor,
                        DigestStatus::Gap,
                        format!("starts at {start}, {key} ends elsewhere"),
                    ),
                    &mut verdicts,
                );
            }
        } else if !visited.is_empty() && expected_link.is_none() && newest_end.is_some() {
            // The chain ended (a first digest, or an unreadable one) above this one.
            put(
                check(key, DigestStatus::Orphan, "on no chain from the newest digest"),
                &mut verdicts,
            );
            continue;
        }
        visited.insert(key.to_string());
        if !verdicts.contains_key(key.as_str()) {
            put(check(key, l.own, l.detail.clone()), &mut verdicts);
        }
        if let Some(d) = &l.digest {
            newest_end.get_or_insert_with(|| d.end.clone());
            oldest_start = Some(d.start.clone());
            expected_link = d.previous.clone().map(|p| (key.to_string(), p, d.start.clone()));
        }
    }
    if let Some((successor, link, _)) = expected_link {
        put(
            check(&link.key, DigestStatus::Missing, format!("named by {successor}, absent")),
            &mut verdicts,
        );
    }
    if let (Some(until), Some(end)) = (until, &newest_end) {
        if end.as_str() < until {
            let next = end.parse::<jiff::Timestamp>().map(keys::digest).unwrap_or_default();
            let why = format!("the newest digest ends at {end}; the chain should reach {until}");
            put(check(&next, DigestStatus::Missing, why), &mut verdicts);
        }
    }
    // The objects the trusted digests vouch for: signed by a trusted key over their bytes.
    let trusted_digests = loaded.iter().filter(|(k, l)| {
        let status = verdicts.get(**k).map(|c| c.status);
        l.own == DigestStatus::Valid
            && matches!(status, Some(DigestStatus::Valid | DigestStatus::Gap))
    });
    let mut latest: BTreeMap<&str, &Entry> = BTreeMap::new();
    for (_, l) in trusted_digests {
        for e in l.digest.iter().flat_map(Digest::entries) {
            if latest.get(e.key.as_str()).is_none_or(|old| old.last_modified <= e.last_modified) {
                latest.insert(&e.key, e);
            }
        }
    }
    let objects = judge_objects(export, &all, &latest);
    let digests: Vec<Check<DigestStatus>> =
        order.iter().filter_map(|k| verdicts.remove(k)).collect();
    let ok = digests.iter().all(|c| c.status == DigestStatus::Valid)
        && objects.iter().all(|c| c.status == ObjectStatus::Valid)
        && !digests.is_empty();
    let covers = oldest_start.zip(newest_end);
    Verification { ok, covers, digests, objects }
}

/// Every object of the export against the newest version the trusted digests list.
fn judge_objects(
    export: &impl Export,
    all: &[String],
    latest: &BTreeMap<&str, &Entry>,
) -> Vec<Check<ObjectStatus>> {
    let mut out = BTreeMap::new();
    let mut unexpected: Vec<(&str, String)> = Vec::new();
    let present: BTreeSet<&str> =
        all.iter().map(String::as_str).filter(|k| !k.starts_with(keys::DIGEST_PREFIX)).collect();
    for key in &present {
        let sha = sha256_hex(&export.read(key).unwrap_or_default());
        match latest.get(key) {
            Some(e) if e.delete_marker => {
                let why = format!(
                    "deleted at {} per the digests, present in the export",
                    e.last_modified
                );
                out.insert(key.to_string(), check(key, ObjectStatus::Added, why));
            }
            Some(e) if e.sha256 == sha => {
                out.insert(key.to_string(), check(key, ObjectStatus::Valid, ""));
            }
            Some(e) => {
                let why = format!(
                    "content differs from version {} of {}",
                    e.version_id.as_deref().unwrap_or("null"),
                    e.last_modified
                );
                out.insert(key.to_string(), check(key, ObjectStatus::Modified, why));
            }
            None => unexpected.push((key, sha)),
        }
    }
    let mut missing: Vec<&Entry> = latest
        .values()
        .filter(|e| !e.delete_marker && !present.contains(e.key.as_str()))
        .copied()
        .collect();
    for (key, sha) in unexpected {
        match missing.iter().position(|e| e.sha256 == sha) {
            Some(i) => {
                let from = missing.remove(i);
                let why = format!("the recorded content of {}, which is missing", from.key);
                out.insert(key.to_string(), check(key, ObjectStatus::Moved, why));
            }
            None => {
                out.insert(
                    key.to_string(),
                    check(key, ObjectStatus::Added, "in no trusted digest"),
                );
            }
        }
    }
    for e in missing {
        let why = format!(
            "version {} of {} is recorded",
            e.version_id.as_deref().unwrap_or("null"),
            e.last_modified
        );
        out.insert(e.key.clone(), check(&e.key, ObjectStatus::Missing, why));
    }
    out.into_values().collect()
}

#[cfg(test)]
#[path = "verify_tests.rs"]
mod tests;
