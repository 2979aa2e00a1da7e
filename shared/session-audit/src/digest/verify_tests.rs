//! Every way an export can be tampered with, each named by `verify` exactly; an untouched
//! export verifies.

use std::collections::BTreeMap;

use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};

use super::*;
use crate::digest::Link;

#[derive(Clone, Default)]
struct Mem(BTreeMap<String, Vec<u8>>);

impl Export for Mem {
    fn keys(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }
    fn read(&self, key: &str) -> Option<Vec<u8>> {
        self.0.get(key).cloned()
    }
}

fn signer(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32].into()).unwrap()
}

fn public(seed: u8) -> PublicKey {
    PublicKey::from_verifying_key(*signer(seed).verifying_key()).unwrap()
}

fn hour(h: u32) -> jiff::Timestamp {
    format!("2026-12-05T{h:02}:00:00Z").parse().unwrap()
}

/// Sign `digest` as the pipeline does and put it, its sidecar and its manifest in `export`.
fn seal(export: &mut Mem, digest: &Digest, key: &SigningKey) -> Link {
    let public = PublicKey::from_verifying_key(*key.verifying_key()).unwrap();
    let kms = "arn:aws:kms:us-east-1:123456789012:key/test";
    let sealed = crate::digest::seal(digest, kms, &public, |m| {
        let signature: Signature = key.sign(m);
        Ok::<_, ()>(signature.to_der().as_bytes().to_vec())
    })
    .unwrap();
    let sidecar = serde_json::to_vec(&sealed.sidecar).unwrap();
    export.0.insert(keys::digest_signature(&sealed.key), sidecar);
    export.0.insert(keys::digest_manifest(&sealed.key), sealed.manifest.into_bytes());
    export.0.insert(sealed.key, sealed.bytes);
    sealed.link
}

/// Three hours, 10:00 to 13:00: a transcript and its report each hour, and a live state
/// written in every hour (the export holds its last version).
fn three_hours() -> Mem {
    let mut export = Mem::default();
    let mut previous = None;
    for (i, h) in [10, 11, 12].into_iter().enumerate() {
        let mut entries = Vec::new();
        let files = [
            (format!("session-logs/s{i}.log"), format!("transcript {i}")),
            (
                keys::report("2026-12-05", &keys::example(&format!("s{i}")), "json").unwrap(),
                format!("report {i}"),
            ),
            ("audit/live/s.json".to_string(), format!("live state after hour {i}")),
        ];
        for (n, (key, body)) in files.into_iter().enumerate() {
            entries.push(Entry {
                key: key.clone(),
                version_id: Some(format!("v{h}{n}")),
                last_modified: format!("2026-12-05T{h}:{:02}:00Z", 10 + n),
                sha256: sha256_hex(body.as_bytes()),
                size: body.len() as u64,
                delete_marker: false,
            });
            export.0.insert(key, body.into_bytes());
        }
        let end = hour(h + 1).to_string();
        let digest = Digest::new("b", &hour(h).to_string(), &end, entries, vec![], previous.take());
        previous = Some(seal(&mut export, &digest, &signer(7)));
    }
    export
}

fn digests(v: &Verification) -> Vec<(String, DigestStatus)> {
    v.digests.iter().map(|c| (c.key.clone(), c.status)).collect()
}

/// The objects that are not valid.
fn wrong(v: &Verification) -> Vec<(String, ObjectStatus)> {
    v.objects
        .iter()
        .filter(|c| c.status != ObjectStatus::Valid)
        .map(|c| (c.key.clone(), c.status))
        .collect()
}

const H10: &str = "audit/digests/dt=2026-12-05/20261205T10.json";
const H11: &str = "audit/digests/dt=2026-12-05/20261205T11.json";
const H12: &str = "audit/digests/dt=2026-12-05/20261205T12.json";

#[test]
fn an_untouched_export_verifies() {
    let v = verify(&three_hours(), &[public(7)], Some("2026-12-05T13:00:00Z"));
    assert!(v.ok, "{v:#?}");
    assert_eq!(
        digests(&v),
        [
            (H12.into(), DigestStatus::Valid),
            (H11.into(), DigestStatus::Valid),
            (H10.into(), DigestStatus::Valid)
        ]
    );
    assert_eq!(v.objects.len(), 7, "3 transcripts, 3 reports, 1 live state");
    assert_eq!(v.covers, Some(("2026-12-05T10:00:00Z".into(), "2026-12-05T13:00:00Z".into())));
}

#[test]
fn each_object_tampering_is_named_exactly() {
    let report = "audit/reports/dt=2026-12-05/acct=123456789012/region=eu-central-1/s1.json";
    let mut edited = three_hours();
    edited.0.insert(report.into(), b"report 1, softened".to_vec());
    let mut deleted = three_hours();
    deleted.0.remove("session-logs/s0.log");
    let mut added = three_hours();
    added.0.insert(
        "audit/reports/dt=2026-12-05/acct=123456789012/region=eu-central-1/forged.json".into(),
        b"made up".to_vec(),
    );
    let mut moved = three_hours();
    let body = moved.0.remove(report).unwrap();
    moved.0.insert(
        "audit/reports/dt=2026-12-05/acct=123456789012/region=eu-central-1/someone-else.json"
            .into(),
        body,
    );
    let cases = [
        (edited, vec![(report, ObjectStatus::Modified)]),
        (deleted, vec![("session-logs/s0.log", ObjectStatus::Missing)]),
        (added, vec![("audit/reports/dt=2026-12-05/acct=123456789012/region=eu-central-1/forged.json", ObjectStatus::Added)]),
        (moved, vec![("audit/reports/dt=2026-12-05/acct=123456789012/region=eu-central-1/someone-else.json", ObjectStatus::Moved)]),
    ];
    for (export, expected) in cases {
        let v = verify(&export, &[public(7)], None);
        assert!(!v.ok);
        assert!(digests(&v).iter().all(|(_, s)| *s == DigestStatus::Valid), "{v:#?}");
        let expected: Vec<(String, ObjectStatus)> =
            expected.into_iter().map(|(k, s)| (k.to_string(), s)).collect();
        assert_eq!(wrong(&v), expected);
    }
}

#[test]
fn an_edited_digest_breaks_its_signature_and_vouches_for_nothing() {
    let mut export = three_hours();
    // Drop the report of hour 11 from its digest, keep the old signature.
    let mut d = Digest::parse(&export.0[H11]).unwrap();
    d.objects.retain(|e| !e.key.contains("reports"));
    export.0.insert(H11.into(), d.to_bytes());
    let v = verify(&export, &[public(7)], None);
    assert_eq!(digests(&v)[1], (H11.into(), DigestStatus::BadSignature));
    assert_eq!(digests(&v)[0].1, DigestStatus::Valid);
    // What only that digest listed is no longer vouched for.
    assert!(wrong(&v).contains(&(
        "audit/reports/dt=2026-12-05/acct=123456789012/region=eu-central-1/s1.json".into(),
        ObjectStatus::Added
    )));
    assert!(wrong(&v).contains(&("session-logs/s1.log".into(), ObjectStatus::Added)));
}

#[test]
fn a_digest_re_signed_with_another_key_is_not_trusted_and_breaks_the_chain() {
    let mut export = three_hours();
    let mut d = Digest::parse(&export.0[H11]).unwrap();
    d.objects.retain(|e| !e.key.contains("reports"));
    let forged = seal(&mut export, &d, &signer(9));
    let v = verify(&export, &[public(7)], None);
    assert_eq!(digests(&v)[1], (H11.into(), DigestStatus::UnknownKey));
    // Trusting the forger's key too: the digest verifies, but it is not the one hour 12 names.
    let v = verify(&export, &[public(7), public(9)], None);
    assert_eq!(digests(&v)[1], (H11.into(), DigestStatus::Broken), "{forged:?}");
    assert!(!v.ok);
}

#[test]
fn a_dropped_hour_is_missing_and_its_objects_are_vouched_for_by_nothing() {
    let mut export = three_hours();
    for key in [H11.to_string(), keys::digest_signature(H11), keys::digest_manifest(H11)] {
        export.0.remove(&key);
    }
    let v = verify(&export, &[public(7)], None);
    assert_eq!(
        digests(&v),
        [
            (H12.into(), DigestStatus::Valid),
            (H11.into(), DigestStatus::Missing),
            (H10.into(), DigestStatus::Valid)
        ]
    );
    assert_eq!(
        wrong(&v),
        [
            (
                "audit/reports/dt=2026-12-05/acct=123456789012/region=eu-central-1/s1.json"
                    .to_string(),
                ObjectStatus::Added
            ),
            ("session-logs/s1.log".to_string(), ObjectStatus::Added),
        ]
    );
}

#[test]
fn a_truncated_chain_and_a_gap_are_named() {
    let mut export = three_hours();
    for key in [H12.to_string(), keys::digest_signature(H12)] {
        export.0.remove(&key);
    }
    let v = verify(&export, &[public(7)], Some("2026-12-05T13:00:00Z"));
    assert_eq!(v.digests.last().unwrap().key, H12, "{v:#?}");
    assert_eq!(v.digests.last().unwrap().status, DigestStatus::Missing);

    // A chain whose second digest starts an hour after the first ended.
    let mut export = Mem::default();
    let first =
        Digest::new("b", &hour(10).to_string(), &hour(11).to_string(), vec![], vec![], None);
    let link = seal(&mut export, &first, &signer(7));
    let second =
        Digest::new("b", &hour(12).to_string(), &hour(13).to_string(), vec![], vec![], Some(link));
    seal(&mut export, &second, &signer(7));
    let v = verify(&export, &[public(7)], None);
    assert_eq!(digests(&v), [(H12.into(), DigestStatus::Gap), (H10.into(), DigestStatus::Valid)]);
}

#[test]
fn a_digest_moved_to_another_hour_or_unsigned_is_named() {
    let mut export = three_hours();
    let sidecar = export.0.remove(&keys::digest_signature(H10)).unwrap();
    let v = verify(&export, &[public(7)], None);
    assert_eq!(digests(&v)[2], (H10.into(), DigestStatus::Unsigned));
    export.0.insert(keys::digest_signature(H10), sidecar);
    // An empty hour is still a digest: proof that nothing arrived.
    let empty =
        Digest::new("b", &hour(13).to_string(), &hour(14).to_string(), vec![], vec![], None);
    let bytes = empty.to_bytes();
    export.0.insert("audit/digests/dt=2026-12-05/20261205T09.json".into(), bytes);
    let v = verify(&export, &[public(7)], None);
    assert_eq!(digests(&v).last().unwrap().1, DigestStatus::Orphan, "{v:#?}");
}
