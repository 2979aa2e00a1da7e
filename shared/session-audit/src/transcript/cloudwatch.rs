//! CloudWatch Logs streaming events, read incrementally.
//!
//! With `cloudWatchStreamingEnabled`, the agent writes one JSON event per chunk of terminal
//! output: `{eventVersion, eventTime, awsRegion, target{id}, userIdentity{arn}, runAsUser,
//! sessionId, sessionData[]}`. Exports come as one event per line, as a JSON array, or as
//! `aws logs get-log-events` / `filter-log-events` output whose `events[].message` holds the
//! event as a string. [`JsonValues`] cuts complete top-level values (or array elements) out of
//! the byte stream without holding more than one value at a time.

use serde_json::Value;

/// A single value larger than this is refused rather than buffered. One CloudWatch Logs event
/// is at most 256 KiB, so a real event is far below it.
pub const MAX_VALUE_BYTES: usize = 8 * 1024 * 1024;

/// Splits a byte stream into complete JSON values.
#[derive(Default)]
pub struct JsonValues {
    buf: Vec<u8>,
    depth: usize,
    in_string: bool,
    escaped: bool,
    started: bool,
    oversized: bool,
    wrapper: Wrapper,
}

/// An `aws logs get-log-events` / `filter-log-events` document: `{…, "events": [ … ], …}`.
/// Its `events` elements are streamed one by one; the rest of the wrapper is skipped.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Wrapper {
    #[default]
    None,
    /// Inside the `events` array: its elements are the values.
    Events,
    /// After the array, until the wrapper object closes (`depth` counts from it).
    SkipRest,
}

/// Something wrong with the JSON stream; the analysis marks the transcript and goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonProblem {
    /// Not JSON, with the parser's message.
    Invalid(String),
    /// A value longer than the reader keeps: skipped.
    Oversized,
}

impl JsonValues {
    /// Feed bytes; each complete value is handed to `f`.
    pub fn feed(&mut self, bytes: &[u8], mut f: impl FnMut(Result<Value, JsonProblem>)) {
        for &b in bytes {
            if !self.started {
                if b.is_ascii_whitespace() {
                    continue;
                }
                self.started = true;
                if b == b'[' {
                    continue; // one top-level array: its elements are the values
                }
            }
            if self.in_string {
                if self.wrapper != Wrapper::SkipRest {
                    self.push(b);
                }
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            if self.wrapper == Wrapper::SkipRest {
                match b {
                    b'"' => self.in_string = true,
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' => {
                        self.depth = self.depth.saturating_sub(1);
                        if self.depth == 0 {
                            self.wrapper = Wrapper::None;
                        }
                    }
                    _ => {}
                }
                continue;
            }
            match b {
                b'[' if self.depth == 1
                    && self.buf.first() == Some(&b'{')
                    && ends_with_events_key(&self.buf) =>
                {
                    self.buf.clear();
                    self.depth = 0;
                    self.wrapper = Wrapper::Events;
                }
                b'{' | b'[' => {
                    self.depth += 1;
                    self.push(b);
                }
                b'}' | b']' => {
                    if self.depth == 0 {
                        if self.wrapper == Wrapper::Events {
                            self.wrapper = Wrapper::SkipRest;
                            self.depth = 1;
                        }
                        continue; // the closing bracket of a top-level array
                    }
                    self.depth -= 1;
                    self.push(b);
                    if self.depth == 0 {
                        self.emit(&mut f);
                    }
                }
                b'"' => {
                    self.in_string = true;
                    self.push(b);
                }
                b',' if self.depth == 0 => {}
                _ if b.is_ascii_whitespace() && self.depth == 0 => {}
                _ => self.push(b),
            }
        }
    }

    /// End of input: anything left is an incomplete value.
    pub fn finish(&mut self, mut f: impl FnMut(Result<Value, JsonProblem>)) {
        if self.buf.iter().any(|b| !b.is_ascii_whitespace()) || self.oversized {
            self.emit(&mut f);
        }
    }

    fn push(&mut self, b: u8) {
        if self.buf.len() < MAX_VALUE_BYTES {
            self.buf.push(b);
        } else {
            self.oversized = true;
        }
    }

    fn emit(&mut self, f: &mut impl FnMut(Result<Value, JsonProblem>)) {
        let result = if self.oversized {
            Err(JsonProblem::Oversized)
        } else {
            serde_json::from_slice(&self.buf).map_err(|e| JsonProblem::Invalid(e.to_string()))
        };
        self.buf.clear();
        self.oversized = false;
        self.depth = 0;
        self.in_string = false;
        self.escaped = false;
        f(result);
    }
}

/// The buffered start of an object ends with `"events":` (whitespace allowed).
fn ends_with_events_key(buf: &[u8]) -> bool {
    let trimmed = buf.trim_ascii_end();
    let Some(before_colon) = trimmed.strip_suffix(b":") else { return false };
    before_colon.trim_ascii_end().ends_with(b"\"events\"")
}

/// The fields of a streaming event that the analysis uses.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct StreamEvent {
    /// The session ID the event names.
    pub session_id: Option<String>,
    /// The instance it names.
    pub target: Option<String>,
    /// Its `userIdentity.arn`.
    pub user_arn: Option<String>,
    /// The OS user the session runs as.
    pub run_as: Option<String>,
    /// The region it names.
    pub region: Option<String>,
    /// The agent's `eventTime` (its upload tick, not the command's time).
    pub event_time: Option<String>,
    /// The lines it carries (`sessionData`).
    pub data: Vec<String>,
}

/// Find the streaming events in one top-level value (an event, a log event whose `message`
/// is an event, or an export with `events`).
pub fn events_in(value: Value, out: &mut Vec<StreamEvent>) -> usize {
    let mut unrecognised = 0;
    match value {
        Value::Object(mut map) => {
            if let Some(Value::Array(data)) = map.remove("sessionData") {
                let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
                out.push(StreamEvent {
                    session_id: text(map.get("sessionId")),
                    target: text(map.get("target").and_then(|t| t.get("id"))),
                    user_arn: text(map.get("userIdentity").and_then(|u| u.get("arn"))),
                    run_as: text(map.get("runAsUser")),
                    region: text(map.get("awsRegion")),
                    event_time: text(map.get("eventTime")),
                    data: data
                        .into_iter()
                        .map(|d| d.as_str().unwrap_or_default().to_string())
                        .collect(),
                });
            } else if let Some(Value::String(message)) = map.remove("message") {
                match serde_json::from_str(&message) {
                    Ok(inner) => unrecognised += events_in(inner, out),
                    Err(_) => unrecognised += 1,
                }
            } else if let Some(Value::Array(events)) = map.remove("events") {
                for e in events {
                    unrecognised += events_in(e, out);
                }
            } else {
                unrecognised += 1;
            }
        }
        Value::Array(items) => {
            for item in items {
                unrecognised += events_in(item, out);
            }
        }
        _ => unrecognised += 1,
    }
    unrecognised
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<Result<Value, JsonProblem>> {
        let mut out = Vec::new();
        let mut s = JsonValues::default();
        for c in chunks {
            s.feed(c, |v| out.push(v));
        }
        s.finish(|v| out.push(v));
        out
    }

    #[test]
    fn lines_arrays_and_split_chunks() {
        let got = split(&[b"{\"a\":\"}\\\"{\"}\n{\"b\"", b":[1,{\"c\":2}]}\n"]);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].as_ref().unwrap()["a"], "}\"{");
        let got = split(&[b"[ {\"a\":1} , {\"a\":2} ]"]);
        assert_eq!(got.iter().filter(|v| v.is_ok()).count(), 2);
    }

    #[test]
    fn truncated_value_is_reported() {
        let got = split(&[b"{\"a\":1}\n{\"b\":"]);
        assert!(got[0].is_ok());
        assert!(matches!(got[1], Err(JsonProblem::Invalid(_))));
    }

    #[test]
    fn get_log_events_pages_are_streamed_element_by_element() {
        let page = br#"{"events": [{"message": "a"}, {"message": "b"}], "nextForwardToken": "f/1", "nested": [{"x": "]}"}]}
{"events":[{"message":"c"}],"searchedLogStreams":[]}"#;
        let got = split(&[page]);
        let messages: Vec<&str> =
            got.iter().map(|v| v.as_ref().unwrap()["message"].as_str().unwrap()).collect();
        assert_eq!(messages, ["a", "b", "c"]);
    }

    #[test]
    fn events_from_exports() {
        let inner = r#"{\"sessionId\":\"s-1\",\"sessionData\":[\"sh-4.2$ ls\"]}"#;
        let export = format!(r#"{{"events":[{{"timestamp":1,"message":"{inner}"}}]}}"#);
        let mut out = Vec::new();
        let unrecognised = events_in(serde_json::from_str(&export).unwrap(), &mut out);
        assert_eq!(unrecognised, 0);
        assert_eq!(out[0].session_id.as_deref(), Some("s-1"));
        assert_eq!(out[0].data, ["sh-4.2$ ls"]);
    }
}
