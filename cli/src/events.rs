//! `session-audit events`: the session-start audit over CloudTrail JSON already on disk (single
//! records, EventBridge envelopes, CloudTrail log files, JSON lines), to back-fill history.
//!
//! Offline, the target's tags, a custom document's session type and the account's preferences
//! cannot be looked up: findings that need them are not raised, and each record says so.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::PathBuf;

use session_audit::ports::sink::Offline;
use session_audit::ports::store::{block_on, get_json, AuditStore, FsStore, MemStore};
use session_audit::publish::Metrics;
use session_audit::redact::Redactor;
use session_audit::rules::RulePack;
use session_audit::session::findings::StartConfig;
use session_audit::session::{records, DeniedRecord, Event, SessionRecord, Skip};
use session_audit::session_start::{OfflineLookups, Outcome, SessionStart, StartError};
use session_audit::settings::Variables;
use session_audit::transcript::cloudwatch::JsonValues;

use crate::inputs::InputSpec;

#[derive(clap::Args)]
pub struct EventsArgs {
    /// CloudTrail JSON files, directories, or - for stdin.
    #[arg(required = true)]
    inputs: Vec<String>,
    /// Write records under DIR as the function lays them out (audit/sessions/dt=…/acct=…/region=…/…json);
    /// records already there are merged with, as the function does in the bucket.
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
    // Offline there is no bucket: the records' keys are what matter, under a stand-in name.
    let config = Variables(|k: &str| {
        std::env::var(k).ok().or_else(|| (k == "AUDIT_BUCKET").then(|| "offline".to_string()))
    })
    .start_config()
    .map_err(|e| e.to_string())?;
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
    let result = match &args.out {
        Some(dir) => audit(FsStore::new(dir), config, &events, &mut tally, true),
        None => audit(MemStore::default(), config, &events, &mut tally, false),
    };
    let (sessions, denied) = result?;
    eprintln!(
        "session-audit: {} events: {} sessions, {} denied, {} duplicates, {} without their start, {} not Session Manager calls, {} malformed",
        tally.events, sessions, denied, tally.duplicates, tally.orphans, tally.not_audited, tally.malformed
    );
    Ok(if failed || tally.malformed > 0 { 2 } else { 0 })
}

/// The session-start audit over `store`, offline; prints each record it wrote. Returns the
/// number of session and denied records.
fn audit<S: AuditStore>(
    store: S,
    config: StartConfig,
    events: &[Event],
    tally: &mut Tally,
    paths: bool,
) -> Result<(usize, usize), String> {
    let audit = SessionStart {
        store,
        lookups: OfflineLookups,
        sink: Offline,
        config,
        pack: RulePack::builtin(),
        redactor: Redactor::new(None),
        // Offline: nothing is looked up, and every record is filed under its event's place.
        home: None,
    };
    let mut metrics = Metrics::default();
    let mut keys = BTreeSet::new();
    for event in events {
        match block_on(audit.audit(event, &mut metrics)) {
            Ok(a) => match a.outcome {
                Outcome::Recorded { key } => {
                    keys.insert(key);
                }
                Outcome::Duplicate { key } => {
                    tally.duplicates += 1;
                    keys.insert(key);
                }
                Outcome::NotAudited { .. } => tally.not_audited += 1,
            },
            Err(StartError::Malformed { event_id, reason }) => {
                tally.malformed += 1;
                eprintln!("session-audit: {event_id}: {reason}");
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    print(&audit.store, &keys, tally, paths)
}

/// One line per record: `kind<TAB>path` when `paths` (records written to disk), else the
/// record as JSON.
fn print(
    store: &impl AuditStore,
    keys: &BTreeSet<String>,
    tally: &mut Tally,
    paths: bool,
) -> Result<(usize, usize), String> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let (mut sessions, mut denied) = (0, 0);
    // Sessions first, then denied attempts, each in key order.
    let (denied_keys, session_keys): (Vec<_>, Vec<_>) =
        keys.iter().partition(|k| k.starts_with("audit/denied/"));
    for key in session_keys.into_iter().chain(denied_keys) {
        let is_denied = key.starts_with("audit/denied/");
        let value = if is_denied {
            read::<DeniedRecord>(store, key)?.map(|d| serde_json::to_value(d).expect("json"))
        } else {
            read::<SessionRecord>(store, key)?.map(|r| {
                if !r.has_start() {
                    tally.orphans += 1;
                    eprintln!(
                        "session-audit: session {} has no StartSession in the input (recorded from {})",
                        r.session_id, r.event_id
                    );
                }
                serde_json::to_value(r).expect("json")
            })
        };
        // A record moved to another day by its StartSession is gone from its first key.
        let Some(value) = value else { continue };
        let kind = if is_denied { "denied" } else { "session" };
        if is_denied {
            denied += 1
        } else {
            sessions += 1
        }
        let line = if paths {
            format!("{kind}\t{}", store.uri(key))
        } else {
            serde_json::json!({"kind": kind, "key": key, "record": value}).to_string()
        };
        writeln!(out, "{line}").map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())?;
    Ok((sessions, denied))
}

fn read<T: serde::de::DeserializeOwned>(
    store: &impl AuditStore,
    key: &str,
) -> Result<Option<T>, String> {
    match block_on(get_json::<T>(store, key)).map_err(|e| e.to_string())? {
        None => Ok(None),
        Some(s) => s.value.map(Some).map_err(|e| format!("{}: {e}", store.uri(key))),
    }
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
