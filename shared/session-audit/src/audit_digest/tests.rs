//! The chain as the function writes it, over the in-memory store with a local P-256 key, and
//! checked by the offline verifier: what a run lists, links and signs, and how it goes on
//! after a crash, a concurrent run or a bound.

use super::*;
use crate::digest::verify::{verify, DigestStatus, Export, ObjectStatus};
use crate::digest::{Digest, Entry, PublicKey};
use crate::keys;
use crate::ports::signer::{KeySigner, Signer};
use crate::ports::store::{
    block_on, put_json, Attributes, AuditStore, Condition, MemStore, Payload,
};
use crate::publish::Metrics;

const BUCKET: &str = "audit-bucket";

fn at(t: &str) -> Timestamp {
    format!("2026-12-05T{t}Z").parse().unwrap()
}

fn chain(options: DigestOptions) -> AuditDigest<MemStore, KeySigner> {
    let signer = KeySigner::from_seed("arn:aws:kms:us-east-1:123456789012:key/digest", 7);
    AuditDigest { store: MemStore::default(), signer, bucket: BUCKET.into(), options }
}

fn write(c: &AuditDigest<MemStore, KeySigner>, time: &str, key: &str, body: &str) {
    c.store.set_time(at(time));
    let payload = Payload::Bytes(body.as_bytes().to_vec());
    block_on(c.store.put(key, payload, &Attributes::of("text/plain"), &Condition::Always)).unwrap();
}

fn run(c: &AuditDigest<MemStore, KeySigner>, as_of: &str) -> Produced {
    c.store.set_time(at(as_of));
    block_on(c.run(at(as_of), &mut Metrics::default())).unwrap()
}

fn digest(c: &AuditDigest<MemStore, KeySigner>, start: &str) -> Digest {
    let bytes = block_on(c.store.get(&keys::digest(at(start)), None)).unwrap().unwrap().bytes;
    Digest::parse(&bytes).unwrap()
}

fn listed(entries: &[Entry]) -> Vec<&str> {
    entries.iter().map(|e| e.key.as_str()).collect()
}

struct Snapshot(Vec<(String, Vec<u8>)>);

impl Export for Snapshot {
    fn keys(&self) -> Vec<String> {
        self.0.iter().map(|(k, _)| k.clone()).collect()
    }
    fn read(&self, key: &str) -> Option<Vec<u8>> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }
}

fn public(c: &AuditDigest<MemStore, KeySigner>) -> PublicKey {
    PublicKey::parse(&block_on(c.signer.public_key()).unwrap()).unwrap()
}

#[test]
fn the_first_run_starts_with_the_last_hour_and_everything_older_as_backfill() {
    let c = chain(DigestOptions::default());
    write(&c, "09:10:00", "session-logs/old.log", "old");
    write(&c, "12:20:00", "session-logs/a.log", "a");
    write(&c, "12:59:59", "audit/reports/a.json", "{}");
    write(&c, "13:01:00", "session-logs/next-hour.log", "n");
    let produced = run(&c, "13:15:00");
    assert_eq!(produced.digests, vec![keys::digest(at("12:00:00"))]);
    assert_eq!(produced.pending_from, None);
    let d = digest(&c, "12:00:00");
    assert_eq!(
        (d.start.as_str(), d.end.as_str()),
        ("2026-12-05T12:00:00Z", "2026-12-05T13:00:00Z")
    );
    assert_eq!(listed(&d.objects), ["audit/reports/a.json", "session-logs/a.log"]);
    assert_eq!(listed(&d.backfill), ["session-logs/old.log"]);
    assert_eq!(d.previous, None);
    assert_eq!(d.objects[1].sha256, crate::digest::sha256_hex(b"a"));
    assert_eq!(d.objects[1].size, 1);
    assert!(d.objects[1].version_id.is_some(), "versions are named");
    let pem = block_on(c.store.get(&produced.public_key, None)).unwrap().unwrap();
    assert_eq!(PublicKey::parse(&pem.bytes).unwrap(), public(&c), "the public key is published");
}

#[test]
fn hours_are_linked_an_empty_hour_gets_a_digest_and_the_export_verifies() {
    let c = chain(DigestOptions::default());
    write(&c, "12:20:00", "session-logs/a.log", "a");
    run(&c, "13:15:00");
    write(&c, "13:05:00", "session-logs/b.log", "b");
    write(&c, "13:06:00", "audit/live/b.json", "1");
    write(&c, "13:40:00", "audit/live/b.json", "2");
    // 14:00-15:00: nothing.
    write(&c, "15:30:00", "session-logs/c.log", "c");
    let produced = run(&c, "16:10:00");
    assert_eq!(produced.digests.len(), 3, "{produced:?}");
    let (d13, d14, d15) = (digest(&c, "13:00:00"), digest(&c, "14:00:00"), digest(&c, "15:00:00"));
    assert_eq!(
        listed(&d13.objects),
        ["audit/live/b.json", "audit/live/b.json", "session-logs/b.log"]
    );
    assert!(d14.objects.is_empty() && d14.backfill.is_empty(), "proof of nothing");
    assert_eq!(d14.previous.as_ref().unwrap().key, keys::digest(at("13:00:00")));
    assert_eq!(d15.previous.as_ref().unwrap().key, keys::digest(at("14:00:00")));
    assert_eq!(d13.previous.as_ref().unwrap().key, keys::digest(at("12:00:00")));

    let verdict =
        verify(&Snapshot(c.store.snapshot()), &[public(&c)], Some("2026-12-05T16:00:00Z"));
    assert!(verdict.ok, "{verdict:#?}");
    assert_eq!(verdict.digests.len(), 4);
    assert!(verdict.digests.iter().all(|d| d.status == DigestStatus::Valid));
    assert_eq!(verdict.objects.len(), 4, "a, b, the live state, c: {verdict:#?}");

    // And the verifier notices an edit of what the chain recorded.
    let mut edited = c.store.snapshot();
    edited.iter_mut().find(|(k, _)| k == "session-logs/b.log").unwrap().1 = b"B".to_vec();
    let verdict = verify(&Snapshot(edited), &[public(&c)], None);
    let b = verdict.objects.iter().find(|o| o.key == "session-logs/b.log").unwrap();
    assert_eq!(b.status, ObjectStatus::Modified);
}

#[test]
fn a_late_version_is_backfilled_once_and_a_rerun_writes_nothing() {
    let c = chain(DigestOptions::default());
    write(&c, "12:20:00", "session-logs/a.log", "a");
    run(&c, "13:15:00");
    // A multipart upload started at 12:50 and completed after 12:00-13:00 was digested: S3
    // dates the version by its start.
    write(&c, "12:50:00", "session-logs/late.log", "late");
    let produced = run(&c, "14:15:00");
    let d13 = digest(&c, "13:00:00");
    assert_eq!(listed(&d13.backfill), ["session-logs/late.log"]);
    assert_eq!((produced.objects, produced.backfill), (0, 1));
    let again = run(&c, "14:20:00");
    assert!(again.digests.is_empty(), "{again:?}");
    let d14 = block_on(c.store.get(&keys::digest(at("14:00:00")), None)).unwrap();
    assert!(d14.is_none(), "14:00-15:00 is not over");
}

#[test]
fn a_version_older_than_the_backfill_window_is_left_to_the_verifier() {
    let options = DigestOptions { backfill_hours: 2, ..DigestOptions::default() };
    let c = chain(options);
    run(&c, "10:15:00");
    run(&c, "13:15:00");
    write(&c, "08:00:00", "session-logs/ancient.log", "x");
    run(&c, "14:15:00");
    let verdict = verify(&Snapshot(c.store.snapshot()), &[public(&c)], None);
    let ancient = verdict.objects.iter().find(|o| o.key == "session-logs/ancient.log").unwrap();
    assert_eq!(ancient.status, ObjectStatus::Added, "never hidden: {verdict:#?}");
}

#[test]
fn a_run_stops_at_its_bound_and_the_next_goes_on() {
    let c = chain(DigestOptions { max_hours: 2, ..DigestOptions::default() });
    run(&c, "08:15:00");
    let produced = run(&c, "13:15:00");
    assert_eq!(produced.digests.len(), 2);
    assert_eq!(produced.pending_from.as_deref(), Some("2026-12-05T10:00:00Z"));
    let produced = run(&c, "13:15:00");
    assert_eq!(produced.digests, vec![keys::digest(at("10:00:00")), keys::digest(at("11:00:00"))]);
    let produced = run(&c, "13:15:00");
    assert_eq!(produced.digests, vec![keys::digest(at("12:00:00"))]);
    assert_eq!(produced.pending_from, None);
    let verdict =
        verify(&Snapshot(c.store.snapshot()), &[public(&c)], Some("2026-12-05T13:00:00Z"));
    assert!(verdict.ok, "{verdict:#?}");
}

#[test]
fn a_digest_a_crashed_run_left_unsigned_is_completed_not_replaced() {
    let c = chain(DigestOptions::default());
    write(&c, "12:20:00", "session-logs/a.log", "a");
    run(&c, "13:15:00");
    let head = block_on(c.store.get(&keys::digest_head(), None)).unwrap().unwrap();
    let head: Head = serde_json::from_slice(&head.bytes).unwrap();
    // The crashed run wrote 13:00-14:00 (listing nothing: it ran early) and stopped.
    let left = Digest::new(
        BUCKET,
        "2026-12-05T13:00:00Z",
        "2026-12-05T14:00:00Z",
        vec![],
        vec![],
        Some(head.last),
    );
    let key = keys::digest(at("13:00:00"));
    let payload = Payload::Bytes(left.to_bytes());
    block_on(c.store.put(&key, payload, &Attributes::of("application/json"), &Condition::Always))
        .unwrap();
    write(&c, "13:30:00", "session-logs/b.log", "b");
    let produced = run(&c, "14:15:00");
    assert_eq!(produced.digests, vec![key.clone()]);
    assert_eq!(digest(&c, "13:00:00"), left, "the digest there is kept");
    // b.log, which the kept digest does not list, is backfilled by the next hour.
    run(&c, "15:15:00");
    assert_eq!(listed(&digest(&c, "14:00:00").backfill), ["session-logs/b.log"]);
    let verdict = verify(&Snapshot(c.store.snapshot()), &[public(&c)], None);
    assert!(verdict.ok, "{verdict:#?}");
}

#[test]
fn a_digest_that_is_not_this_chains_stops_the_run_and_is_not_overwritten() {
    let c = chain(DigestOptions::default());
    run(&c, "13:15:00");
    let forged =
        Digest::new(BUCKET, "2026-12-05T13:00:00Z", "2026-12-05T14:00:00Z", vec![], vec![], None);
    let key = keys::digest(at("13:00:00"));
    let payload = Payload::Bytes(forged.to_bytes());
    block_on(c.store.put(&key, payload, &Attributes::of("application/json"), &Condition::Always))
        .unwrap();
    let err = block_on(c.run(at("14:15:00"), &mut Metrics::default())).unwrap_err();
    assert!(matches!(err, DigestRunError::Chain(_)), "{err}");
    assert_eq!(crate::Failure::kind(&err), crate::FailureKind::Evidence);
    assert_eq!(digest(&c, "13:00:00"), forged);
    let sidecar = block_on(c.store.get(&keys::digest_signature(&key), None)).unwrap();
    assert!(sidecar.is_none(), "nothing signed for it");
    // A head that is not one stops the run too.
    let bad = serde_json::json!({"schema": "other"});
    block_on(put_json(&c.store, &keys::digest_head(), &bad, &Condition::Always)).unwrap();
    let err = block_on(c.run(at("15:15:00"), &mut Metrics::default())).unwrap_err();
    assert!(err.to_string().contains("is not a head"), "{err}");
}

#[test]
fn the_event_may_name_the_time_and_nothing_else_is_read() {
    let now = at("10:00:00");
    assert_eq!(as_of(&serde_json::json!({}), now).unwrap(), now);
    let scheduled =
        serde_json::json!({"detail-type": "Scheduled Event", "time": "2026-12-05T09:00:00Z"});
    assert_eq!(as_of(&scheduled, now).unwrap(), now);
    let asked = serde_json::json!({"as_of": "2026-12-05T08:00:00Z"});
    assert_eq!(as_of(&asked, now).unwrap(), at("08:00:00"));
    let bad = as_of(&serde_json::json!({"as_of": "yesterday"}), now).unwrap_err();
    assert_eq!(crate::Failure::kind(&bad), crate::FailureKind::MalformedEvent);
    assert_eq!(hour_of(at("10:59:59")), at("10:00:00"));
}

#[test]
fn a_new_signing_key_goes_on_with_the_chain_and_both_keys_are_needed_to_verify_it() {
    let mut c = chain(DigestOptions::default());
    write(&c, "12:20:00", "session-logs/a.log", "a");
    run(&c, "13:15:00");
    let old = public(&c);
    c.signer = KeySigner::from_seed("arn:aws:kms:us-east-1:123456789012:key/rotated", 8);
    write(&c, "13:20:00", "session-logs/b.log", "b");
    let produced = run(&c, "14:15:00");
    let new = public(&c);
    assert_ne!(old, new);
    let published = keys::digest_public_key("key/rotated", "");
    assert_eq!(produced.public_key, published);
    let pem = keys::digest_public_key("key/digest", "");
    assert!(block_on(c.store.get(&pem, None)).unwrap().is_some(), "the old key stays published");
    let export = Snapshot(c.store.snapshot());
    let both = verify(&export, &[old, new.clone()], None);
    assert!(both.ok, "{both:#?}");
    let only_new = verify(&export, &[new], None);
    let statuses: Vec<DigestStatus> = only_new.digests.iter().map(|d| d.status).collect();
    assert_eq!(statuses, [DigestStatus::Valid, DigestStatus::UnknownKey], "{only_new:#?}");
}
