//! `session-audit events`: the session-start audit over CloudTrail JSON already on disk (single
//! records, EventBridge envelopes, CloudTrail log files, JSON lines), to back-fill history.
//!
//! Offline, the target's tags, a custom document's session type and the account's preferences
//! cannot be looked up: findings that need them are not raised, and each record says so.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;

use session_audit::rules::RulePack;
use session_audit::session::findings::{evaluate, Facts, StartConfig};
use session_audit::session::{records, DeniedRecord, Event, SessionRecord, Skip};
use session_audit::transcript::cloudwatch::JsonValues;

use crate::inputs::InputSpec;

const OFFLINE: &str = "back-filled offline: target tags, document session type and logging preferences were not checked";

#[derive(clap::Args)]
pub struct EventsArgs {
    /// CloudTrail JSON files, directories, or - for stdin.
    #[arg(required = true)]
    inputs: Vec<String>,
    /// Write records under DIR as the function lays them out (audit/sessions/dt=…/…json).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(Default)]
struct Tally {
    events: u64,
    not_audited: u64,
    malformed: u64,
    duplicates: u64,
    orphans: u64,
}

/// Returns the process exit code.
pub fn run(args: EventsArgs) -> Result<u8, String> {
    let config = StartConfig::from_lookup(|k| {
        std::env::var(k).ok().or_else(|| (k == "AUDIT_BUCKET").then(|| "offline".to_string()))
    })?;
    let pack = RulePack::builtin();
    let (specs, mut failed) = crate::inputs::expand(&args.inputs);
    let mut tally = Tally::default();
    let mut events: Vec<Event> = Vec::new();
    for spec in &specs {
        let mut bytes = Vec::new();
        if let Err(e) = spec.open().and_then(|mut r| r.read_to_end(&mut bytes)) {
            eprintln!("session-audit: cannot read '{}': {e}", spec.display());
            failed = true;
            continue;
        }
        collect(spec, &bytes, &mut events, &mut tally);
    }
    // Files can hold calls in any order: replay them in time order.
    events.sort_by(|a, b| a.event_time.cmp(&b.event_time).then(a.event_id.cmp(&b.event_id)));
    let mut sessions: BTreeMap<String, SessionRecord> = BTreeMap::new();
    let mut denied: BTreeMap<String, DeniedRecord> = BTreeMap::new();
    for event in &events {
        let findings = evaluate(&pack, &config, event, &Facts::default());
        if let Some(mut d) = DeniedRecord::from_event(event) {
            d.findings = findings;
            if denied.insert(d.event_id.clone(), d).is_some() {
                tally.duplicates += 1;
            }
            continue;
        }
        let Some(id) = event.session_id.clone() else {
            tally.malformed += 1;
            eprintln!("session-audit: {}: {:?} without a session ID", event.event_id, event.action);
            continue;
        };
        let existing = sessions.remove(&id);
        let had_record = existing.is_some();
        match SessionRecord::merge(existing.clone(), event, findings) {
            Some(mut record) => {
                if !had_record {
                    record.warnings.push(OFFLINE.to_string());
                }
                sessions.insert(id, record);
            }
            None => {
                tally.duplicates += 1;
                sessions.insert(id, existing.expect("a duplicate has a record"));
            }
        }
    }
    for record in sessions.values().filter(|r| !r.has_start()) {
        tally.orphans += 1;
        eprintln!(
            "session-audit: session {} has no StartSession in the input (recorded from {})",
            record.session_id, record.event_id
        );
    }
    write(&args, &sessions, &denied)?;
    eprintln!(
        "session-audit: {} events: {} sessions, {} denied, {} duplicates, {} without their start, {} not Session Manager calls, {} malformed",
        tally.events, sessions.len(), denied.len(), tally.duplicates, tally.orphans, tally.not_audited, tally.malformed
    );
    Ok(if failed || tally.malformed > 0 { 2 } else { 0 })
}

fn collect(spec: &InputSpec, bytes: &[u8], events: &mut Vec<Event>, tally: &mut Tally) {
    let mut values = Vec::new();
    let mut splitter = JsonValues::default();
    splitter.feed(bytes, |v| values.push(v));
    splitter.finish(|v| values.push(v));
    for value in values {
        let value = match value {
            Ok(v) => v,
            Err(e) => {
                tally.malformed += 1;
                eprintln!("session-audit: '{}': not JSON: {e:?}", spec.display());
                continue;
            }
        };
        for (account, record) in records(&value) {
            tally.events += 1;
            match Event::parse(record, account) {
                Ok(e) => events.push(e),
                Err(Skip::NotAudited(_)) => tally.not_audited += 1,
                Err(Skip::Malformed(why)) => {
                    tally.malformed += 1;
                    eprintln!(
                        "session-audit: '{}': malformed CloudTrail record: {why}",
                        spec.display()
                    );
                }
            }
        }
    }
}

fn write(
    args: &EventsArgs,
    sessions: &BTreeMap<String, SessionRecord>,
    denied: &BTreeMap<String, DeniedRecord>,
) -> Result<(), String> {
    let items = sessions
        .values()
        .map(|r| ("session", r.key(), serde_json::to_value(r)))
        .chain(denied.values().map(|d| ("denied", d.key(), serde_json::to_value(d))));
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (kind, key, value) in items {
        let value = value.map_err(|e| e.to_string())?;
        match &args.out {
            Some(dir) => {
                let path = dir.join(&key);
                std::fs::create_dir_all(path.parent().expect("key has a folder"))
                    .and_then(|_| {
                        std::fs::write(&path, serde_json::to_vec_pretty(&value).expect("json"))
                    })
                    .map_err(|e| format!("cannot write '{}': {e}", path.display()))?;
                writeln!(out, "{kind}\t{}", path.display()).map_err(|e| e.to_string())?;
            }
            None => {
                let line = serde_json::json!({"kind": kind, "key": key, "record": value});
                writeln!(out, "{line}").map_err(|e| e.to_string())?;
            }
        }
    }
    out.flush().map_err(|e| e.to_string())
}
