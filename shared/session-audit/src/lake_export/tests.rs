//! The export over the in-memory store: the digest chain written by the real use case (a
//! local P-256 key), then exported hour by hour into a [`MemLake`].

use super::*;
use crate::analysis::{Analyzer, Input};
use crate::audit_digest::{AuditDigest, DigestOptions};
use crate::ocsf::Class;
use crate::ports::lake::MemLake;
use crate::ports::signer::KeySigner;
use crate::ports::store::{block_on, Attributes, MemStore, Payload};
use crate::publish::Metrics;

fn at(t: &str) -> Timestamp {
    format!("2026-12-05T{t}Z").parse().unwrap()
}

fn report(session: &str) -> Vec<u8> {
    let transcript = b"\x1b[?2004hsh-5.2$ sudo cat /etc/shadow\r\r\n\x1b[?2004l\rroot:*:1::\r\n";
    let input = Input { session_id: Some(session.into()), ..Input::default() };
    let mut r = Analyzer::default().analyze_bytes(transcript, input);
    r.source.bucket = Some("audit-bucket".into());
    r.source.key = Some(format!("session-logs/{session}.log"));
    r.source.version_id = Some("v1".into());
    r.identity = Some(
        serde_json::json!({"principal": "Admin/ana", "person": "ana", "account": "123456789012"}),
    );
    r.target = Some(
        serde_json::json!({"instance_id": "i-0123456789abcdef0", "region": "us-east-1", "account": "123456789012"}),
    );
    r.started_at = Some("2026-12-05T10:00:00Z".into());
    r.ended_at = Some("2026-12-05T10:20:00Z".into());
    serde_json::to_vec(&r).unwrap()
}

fn put(store: &MemStore, time: &str, key: &str, body: Vec<u8>) {
    store.set_time(at(time));
    let a = Attributes::of("application/json");
    block_on(store.put(key, Payload::Bytes(body), &a, &Condition::Always)).unwrap();
}

/// The store after the digest chain covered it up to `as_of`.
fn digested(store: MemStore, as_of: &str) -> MemStore {
    let signer = KeySigner::from_seed("arn:aws:kms:us-east-1:123456789012:key/digest", 7);
    let chain = AuditDigest {
        store,
        signer,
        bucket: "audit-bucket".into(),
        options: DigestOptions::default(),
    };
    chain.store.set_time(at(as_of));
    block_on(chain.run(at(as_of), &mut Metrics::default())).unwrap();
    chain.store
}

fn export(store: MemStore, options: LakeOptions) -> LakeExport<MemStore, MemLake> {
    LakeExport { store, lake: MemLake::default(), options }
}

fn classes(events: &[Value]) -> Vec<u32> {
    events.iter().map(|e| Class::of(e).unwrap().uid()).collect()
}

#[test]
fn each_digested_hour_s_reports_become_one_batch_of_events_and_the_cursor_moves() {
    let store = MemStore::default();
    put(&store, "09:10:00", "session-logs/ana-0a1b2c3d4e5f60718.log", b"t".to_vec());
    put(
        &store,
        "10:30:00",
        &keys::report("2026-12-05", &keys::example("ana-0a1b2c3d4e5f60718"), "json").unwrap(),
        report("ana-0a1b2c3d4e5f60718"),
    );
    put(
        &store,
        "10:30:01",
        &keys::report("2026-12-05", &keys::example("ana-0a1b2c3d4e5f60718"), "md").unwrap(),
        b"# md".to_vec(),
    );
    put(
        &store,
        "11:05:00",
        &keys::report("2026-12-05", &keys::example("bob-0a1b2c3d4e5f60718"), "json").unwrap(),
        report("bob-0a1b2c3d4e5f60718"),
    );
    let store = digested(store, "10:15:00"); // the chain starts with 09:00
    let store = digested(store, "12:15:00"); // then 10:00 and 11:00
    let x = export(store, LakeOptions { backfill_hours: 3, ..LakeOptions::default() });
    let out = block_on(x.run()).unwrap();
    assert_eq!(out.hours.len(), 3, "09:00, 10:00, 11:00: {out:?}");
    assert_eq!(out.reports, 2);
    assert_eq!(out.skipped, Vec::<String>::new());
    let written = x.lake.written.lock().unwrap().clone();
    let names: Vec<&str> = written.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["session-audit-20261205T10", "session-audit-20261205T11"]);
    // Logon, the command, Logoff, the finding.
    assert_eq!(classes(&written[0].1), [3002, 1007, 3002, 2004]);
    let finding = &written[0].1[3];
    assert_eq!(
        finding["finding_info"]["uid"],
        "s3://audit-bucket/session-logs/ana-0a1b2c3d4e5f60718.log#v1:SA-CMD-010",
        "the finding_id session-report published"
    );
    assert_eq!(out.events, 8);
    // Nothing new: nothing more.
    let again = block_on(x.run()).unwrap();
    assert!(again.hours.is_empty() && again.objects.is_empty(), "{again:?}");
}

#[test]
fn a_first_run_without_a_chain_says_so_and_a_bound_leaves_the_rest_for_the_next() {
    let x = export(MemStore::default(), LakeOptions::default());
    assert!(block_on(x.run()).unwrap().no_chain);
    let store = MemStore::default();
    put(&store, "07:10:00", "session-logs/a.log", b"a".to_vec());
    let store = digested(store, "08:15:00");
    let store = digested(store, "12:15:00");
    let x =
        export(store, LakeOptions { max_hours: 2, backfill_hours: 5, ..LakeOptions::default() });
    let first = block_on(x.run()).unwrap();
    assert_eq!(first.hours, ["2026-12-05T07:00:00Z", "2026-12-05T08:00:00Z"]);
    assert_eq!(first.pending_from.as_deref(), Some("2026-12-05T09:00:00Z"));
    let second = block_on(x.run()).unwrap();
    assert_eq!(second.hours[0], "2026-12-05T09:00:00Z");
}

#[test]
fn hours_before_the_chain_and_bad_reports_are_named_not_dropped() {
    let store = MemStore::default();
    let key = keys::report("2026-12-05", &keys::example("eve-0a1b2c3d4e5f60718"), "json").unwrap();
    put(&store, "10:10:00", &key, b"{not json".to_vec());
    let store = digested(store, "11:15:00");
    let x = export(store, LakeOptions { backfill_hours: 2, ..LakeOptions::default() });
    let out = block_on(x.run()).unwrap();
    assert_eq!(out.skipped.len(), 2, "{:?}", out.skipped);
    assert!(out.skipped[0].starts_with("20261205T09: no digest"), "{:?}", out.skipped);
    assert!(
        out.skipped[1].starts_with(&format!("{key}@")) && out.skipped[1].contains("not a report")
    );
    assert_eq!(out.reports, 0);
}

#[test]
fn a_retried_hour_overwrites_its_own_objects() {
    let store = MemStore::default();
    put(
        &store,
        "10:30:00",
        &keys::report("2026-12-05", &keys::example("ana-0a1b2c3d4e5f60718"), "json").unwrap(),
        report("ana-0a1b2c3d4e5f60718"),
    );
    let store = digested(store, "11:15:00");
    let x = export(store, LakeOptions { backfill_hours: 1, ..LakeOptions::default() });
    block_on(x.run()).unwrap();
    // The cursor is lost (a crash before it was written): the hour runs again.
    let cursor = keys::lake_cursor();
    block_on(
        x.store.put(
            &cursor,
            Payload::Bytes(
                b"{\"schema\":\"session-audit/lake-cursor/1\",\"next\":\"2026-12-05T10:00:00Z\"}\n"
                    .to_vec(),
            ),
            &Attributes::of("application/json"),
            &Condition::Always,
        ),
    )
    .unwrap();
    block_on(x.run()).unwrap();
    let written = x.lake.written.lock().unwrap();
    assert_eq!(written.len(), 1, "one copy of the hour");
}

#[test]
fn a_busy_hour_is_written_in_parts_and_a_retry_cuts_the_same_ones() {
    let store = MemStore::default();
    for (n, who) in ["ana", "bob", "cid"].iter().enumerate() {
        let id = format!("{who}-0a1b2c3d4e5f60718");
        let key = keys::report("2026-12-05", &keys::example(&id), "json").unwrap();
        put(&store, &format!("10:3{n}:00"), &key, report(&id));
    }
    let store = digested(store, "11:15:00");
    let options = LakeOptions { backfill_hours: 1, part_events: 6, ..LakeOptions::default() };
    let x = export(store, options);
    let out = block_on(x.run()).unwrap();
    let written = x.lake.written.lock().unwrap().clone();
    let names: Vec<&str> = written.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["session-audit-20261205T10", "session-audit-20261205T10-1"]);
    assert_eq!(written.iter().map(|(_, e)| e.len()).sum::<usize>(), 12, "4 events x 3 reports");
    assert_eq!(out.events, 12);
    let cursor = keys::lake_cursor();
    let back = b"{\"schema\":\"session-audit/lake-cursor/1\",\"next\":\"2026-12-05T10:00:00Z\"}\n";
    let a = Attributes::of("application/json");
    block_on(x.store.put(&cursor, Payload::Bytes(back.to_vec()), &a, &Condition::Always)).unwrap();
    block_on(x.run()).unwrap();
    let again: Vec<(String, usize)> =
        x.lake.written.lock().unwrap().iter().map(|(n, e)| (n.clone(), e.len())).collect();
    let before: Vec<(String, usize)> = written.iter().map(|(n, e)| (n.clone(), e.len())).collect();
    assert_eq!(again, before, "the same parts, overwritten");
}
