//! The signed digest chain: evidence an auditor verifies offline.
//!
//! Every hour one digest lists every object version the bucket received in that hour (the
//! transcripts the agent uploads, the records, reports, live states and summaries the pipeline
//! writes, and delete markers): key, version, SHA-256, size, time. Versions written earlier but
//! missing from the earlier digests (a multipart upload completed after its hour was digested)
//! are listed as `backfill`. Each digest names the previous one (its key, SHA-256 and
//! signature), so the digests form a chain, and a sidecar holds the ECDSA P-256 signature over a
//! string that binds the bucket, the digest's key and end time, its SHA-256 and the previous
//! signature — as CloudTrail's digest files do. A manifest beside each digest lets
//! `sha256sum -c` check the objects with standard tools. [`verify`] walks the chain.
//!
//! Why P-256: KMS signs with it in every partition (FIPS-approved), OpenSSL verifies it
//! (`openssl dgst -sha256 -verify`), the `p256` crate verifies it in pure Rust, and the local
//! emulator signs with it; KMS's Ed25519 keys are newer and the emulator has none.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

mod public_key;
pub mod verify;

pub use public_key::{PublicKey, PublicKeyError};

/// The digest's schema.
pub const SCHEMA: &str = "session-audit/digest/1";
/// The sidecar's schema.
pub const SIGNATURE_SCHEMA: &str = "session-audit/digest-signature/1";
/// KMS's name of the signing algorithm (ECDSA over P-256 with SHA-256, DER signatures).
pub const ALGORITHM: &str = "ECDSA_SHA_256";

/// One object version the bucket received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The object key.
    pub key: String,
    /// The S3 version ID (`None` in an unversioned bucket).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// When S3 recorded the version ([`time`]: RFC 3339, UTC, milliseconds).
    pub last_modified: String,
    /// Hex SHA-256 of the content; empty for a delete marker.
    pub sha256: String,
    /// Bytes.
    pub size: u64,
    /// A delete marker: the key was deleted at `last_modified`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delete_marker: bool,
}

impl Entry {
    /// The canonical order: by key, then time (times are [`time`]'s fixed width, so text order
    /// is time order).
    fn order(&self) -> (&str, &str) {
        (&self.key, &self.last_modified)
    }
}

/// A version's time as entries record it: RFC 3339 UTC with milliseconds (S3's precision),
/// fixed width so that comparing the text compares the times.
pub fn time(t: jiff::Timestamp) -> String {
    format!("{}.{:03}Z", t.strftime("%Y-%m-%dT%H:%M:%S"), t.subsec_millisecond())
}

/// The previous digest, as the next one names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// Its key.
    pub key: String,
    /// Hex SHA-256 of its bytes.
    pub sha256: String,
    /// Its signature (hex DER), as in its sidecar.
    pub signature: String,
}

/// One hour's digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    /// [`SCHEMA`].
    pub schema: String,
    /// The bucket the objects are in.
    pub bucket: String,
    /// The hour's start (RFC 3339, UTC, inclusive).
    pub start: String,
    /// The hour's end (exclusive).
    pub end: String,
    /// The versions written in `[start, end)`, by key and time; versions of one key in the
    /// same millisecond in the store's order of writes.
    pub objects: Vec<Entry>,
    /// Versions written before `start` that no earlier digest lists.
    pub backfill: Vec<Entry>,
    /// The previous digest (`None` for the first of the chain).
    pub previous: Option<Link>,
}

/// What is wrong with a digest's or sidecar's bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// Not the JSON of the schema.
    #[error("not a digest: {0}")]
    Unreadable(String),
    /// JSON, but not written as the pipeline writes it (order, spacing, schema).
    #[error("not in canonical form")]
    NotCanonical,
}

/// Hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Bytes of a hex string.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 == 1 {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

impl Digest {
    /// A digest of `[start, end)` with its entries in canonical order.
    pub fn new(
        bucket: &str,
        start: &str,
        end: &str,
        mut objects: Vec<Entry>,
        mut backfill: Vec<Entry>,
        previous: Option<Link>,
    ) -> Self {
        // By key, then time; a stable sort keeps the store's order of writes for versions of
        // one key in the same millisecond, so the last listed is the newest.
        objects.sort_by(|a, b| a.order().cmp(&b.order()));
        backfill.sort_by(|a, b| a.order().cmp(&b.order()));
        Digest {
            schema: SCHEMA.into(),
            bucket: bucket.into(),
            start: start.into(),
            end: end.into(),
            objects,
            backfill,
            previous,
        }
    }

    /// The canonical bytes: compact JSON in field order, entries sorted, one trailing newline.
    /// Only these bytes are hashed and signed.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec(self).expect("a digest serialises");
        bytes.push(b'\n');
        bytes
    }

    /// Parse bytes the pipeline wrote; anything else (re-spaced, re-ordered) is refused.
    pub fn parse(bytes: &[u8]) -> Result<Self, DigestError> {
        let digest: Digest =
            serde_json::from_slice(bytes).map_err(|e| DigestError::Unreadable(e.to_string()))?;
        let sorted = digest.objects.is_sorted_by_key(Entry::order)
            && digest.backfill.is_sorted_by_key(Entry::order);
        if digest.schema != SCHEMA || !sorted || digest.to_bytes() != bytes {
            return Err(DigestError::NotCanonical);
        }
        Ok(digest)
    }

    /// Every entry, backfill first (they are older).
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.backfill.iter().chain(&self.objects)
    }

    /// The `sha256sum -c` manifest: the last version of each key this digest lists (not a
    /// delete marker), as a path from the export's root. Run it from there; a key written
    /// again in a later hour is checked by that hour's manifest.
    pub fn manifest(&self) -> String {
        let mut last: std::collections::BTreeMap<&str, &Entry> = Default::default();
        for e in self.entries() {
            let newer = last.get(e.key.as_str()).is_none_or(|l| l.last_modified <= e.last_modified);
            if newer {
                last.insert(&e.key, e);
            }
        }
        last.values()
            .filter(|e| !e.delete_marker)
            .map(|e| manifest_line(&e.sha256, &e.key))
            .collect()
    }
}

/// One `sha256sum` line. A key with a backslash or a line break (S3 allows both) is written
/// as GNU `sha256sum` writes such a name: the line starts with `\` and the name has `\\` and
/// `\n` for them, so `sha256sum -c` reads back the key and not a broken line.
fn manifest_line(sha256: &str, key: &str) -> String {
    if key.contains(['\\', '\n']) {
        let escaped = key.replace('\\', "\\\\").replace('\n', "\\n");
        format!("\\{sha256}  {escaped}\n")
    } else {
        format!("{sha256}  {key}\n")
    }
}

/// The sidecar beside a digest: what was signed, with which key, and the signature, so a
/// downloaded bundle verifies without S3 metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sidecar {
    /// [`SIGNATURE_SCHEMA`].
    pub schema: String,
    /// [`ALGORITHM`].
    pub algorithm: String,
    /// The signing key (the KMS key ARN).
    pub key_id: String,
    /// Hex SHA-256 of the signing key's public key (DER SubjectPublicKeyInfo).
    pub public_key_sha256: String,
    /// Hex SHA-256 of the digest's bytes.
    pub digest_sha256: String,
    /// The string signed ([`signing_string`]).
    pub signing_string: String,
    /// The DER ECDSA signature, hex.
    pub signature: String,
}

/// What is signed: the format, the digest's end, where it is, its hash and the previous
/// signature, one per line. Moving, editing or re-linking a digest changes it.
pub fn signing_string(
    bucket: &str,
    digest_key: &str,
    end: &str,
    digest_sha256: &str,
    previous_signature: Option<&str>,
) -> String {
    format!(
        "{SCHEMA}\n{end}\n{bucket}/{digest_key}\n{digest_sha256}\n{}",
        previous_signature.unwrap_or("null")
    )
}

/// A digest ready to store: its key, bytes, signature sidecar and manifest, and the link the
/// next digest carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// Where it goes ([`crate::keys::digest`] of its start).
    pub key: String,
    /// Its canonical bytes.
    pub bytes: Vec<u8>,
    /// Its signature sidecar.
    pub sidecar: Sidecar,
    /// Its `sha256sum -c` manifest.
    pub manifest: String,
    /// What the next digest names as its previous.
    pub link: Link,
}

/// A digest laid out for signing: everything of [`Sealed`] but the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsigned {
    /// Where it goes ([`crate::keys::digest`] of its start).
    pub key: String,
    /// Its canonical bytes.
    pub bytes: Vec<u8>,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
    /// What is signed ([`signing_string`]).
    pub signing_string: String,
    /// Its `sha256sum -c` manifest.
    pub manifest: String,
}

impl Unsigned {
    /// `digest`'s key, bytes, hash, manifest and the string to sign.
    pub fn of(digest: &Digest) -> Self {
        let start = digest.start.parse::<jiff::Timestamp>().unwrap_or_default();
        let key = crate::keys::digest(start);
        let bytes = digest.to_bytes();
        let sha256 = sha256_hex(&bytes);
        let previous = digest.previous.as_ref().map(|p| p.signature.as_str());
        let signing_string = signing_string(&digest.bucket, &key, &digest.end, &sha256, previous);
        Unsigned { key, manifest: digest.manifest(), bytes, sha256, signing_string }
    }

    /// Sealed with `signature` (DER) of [`Unsigned::signing_string`] by `key_id`, whose public
    /// half is `public_key`.
    pub fn sealed(self, key_id: &str, public_key: &PublicKey, signature: &[u8]) -> Sealed {
        let signature = hex(signature);
        let sidecar = Sidecar {
            schema: SIGNATURE_SCHEMA.into(),
            algorithm: ALGORITHM.into(),
            key_id: key_id.into(),
            public_key_sha256: public_key.fingerprint(),
            digest_sha256: self.sha256.clone(),
            signing_string: self.signing_string,
            signature: signature.clone(),
        };
        let link = Link { key: self.key.clone(), sha256: self.sha256, signature };
        Sealed { key: self.key, manifest: self.manifest, bytes: self.bytes, sidecar, link }
    }
}

/// Sign `digest` with `sign` (a DER ECDSA P-256 signature of the message, as KMS's Sign with
/// `ECDSA_SHA_256` returns it) under `key_id`, whose public half is `public_key`.
pub fn seal<E>(
    digest: &Digest,
    key_id: &str,
    public_key: &PublicKey,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>,
) -> Result<Sealed, E> {
    let unsigned = Unsigned::of(digest);
    let signature = sign(unsigned.signing_string.as_bytes())?;
    Ok(unsigned.sealed(key_id, public_key, &signature))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, at: &str, body: &[u8]) -> Entry {
        Entry {
            key: key.into(),
            version_id: Some(format!("v-{at}")),
            last_modified: at.into(),
            sha256: sha256_hex(body),
            size: body.len() as u64,
            delete_marker: false,
        }
    }

    #[test]
    fn the_canonical_bytes_round_trip_and_nothing_else_parses() {
        let d = Digest::new(
            "b",
            "2026-12-05T14:00:00Z",
            "2026-12-05T15:00:00Z",
            vec![
                entry("z", "2026-12-05T14:10:00Z", b"z"),
                entry("a", "2026-12-05T14:20:00Z", b"a"),
            ],
            vec![],
            None,
        );
        assert_eq!(d.objects[0].key, "a", "sorted");
        let bytes = d.to_bytes();
        assert_eq!(Digest::parse(&bytes), Ok(d.clone()));
        let pretty = serde_json::to_vec_pretty(&d).unwrap();
        assert_eq!(Digest::parse(&pretty), Err(DigestError::NotCanonical));
        let mut reordered = d.clone();
        reordered.objects.reverse();
        assert_eq!(Digest::parse(&reordered.to_bytes()), Err(DigestError::NotCanonical));
        assert!(matches!(Digest::parse(b"{}"), Err(DigestError::Unreadable(_))));
    }

    #[test]
    fn the_manifest_is_sha256sum_of_each_keys_last_version() {
        let d = Digest::new(
            "b",
            "s",
            "e",
            vec![
                entry("k", "2026-12-05T14:10:00Z", b"old"),
                entry("k", "2026-12-05T14:50:00Z", b"new"),
                entry("j", "2026-12-05T14:00:00Z", b"j"),
            ],
            vec![],
            None,
        );
        let expected = format!("{}  j\n{}  k\n", sha256_hex(b"j"), sha256_hex(b"new"));
        assert_eq!(d.manifest(), expected);
    }

    #[test]
    fn the_signing_string_binds_place_time_hash_and_the_previous_signature() {
        let s = signing_string("b", "audit/digests/x.json", "2026-12-05T15:00:00Z", "ab", None);
        assert_eq!(
            s,
            "session-audit/digest/1\n2026-12-05T15:00:00Z\nb/audit/digests/x.json\nab\nnull"
        );
        assert!(signing_string("b", "k", "e", "ab", Some("99")).ends_with("\nab\n99"));
        assert_eq!(unhex(&hex(&[0, 1, 254, 255])), Some(vec![0, 1, 254, 255]));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
    }
}
