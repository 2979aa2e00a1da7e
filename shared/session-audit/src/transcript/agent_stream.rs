//! What the SSM Agent streams to CloudWatch Logs, made from a terminal recording (docs/DESIGN.md §4,
//! amazon-ssm-agent `cloudwatchlogsservice.go`): at each upload tick the new *complete* lines
//! of ipcTempFile.log (the unterminated prompt line waits), each through pborman/ansi `Strip`
//! (the raw line kept when Strip fails: an OSC ended by BEL, a lone or unfinished escape;
//! bytes 0x80–0x9F dropped when it succeeds), TAB → one space, every CR deleted.
//!
//! The live path's tests, `make demo` and the stream bench replay recorded sessions through
//! this, so they see what the agent would have sent; the engine never calls it on real input.

/// One line as the agent puts it in `sessionData`.
pub fn agent_line(raw: &[u8]) -> String {
    let stripped = strip(raw).unwrap_or_else(|| raw.to_vec());
    let mut out = Vec::with_capacity(stripped.len());
    for &b in &stripped {
        match b {
            b'\r' => {}
            b'\t' => out.push(b' '),
            _ => out.push(b),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// pborman/ansi `Strip`: escape sequences removed, C1 bytes dropped; `None` where it fails.
fn strip(line: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        let b = line[i];
        if (0x80..=0x9f).contains(&b) {
            i += 1;
            continue;
        }
        if b != 0x1b {
            out.push(b);
            i += 1;
            continue;
        }
        let kind = *line.get(i + 1)?;
        i += 2;
        match kind {
            b'[' => {
                // parameters and intermediates, then one final byte
                while (0x20..=0x3f).contains(line.get(i)?) {
                    i += 1;
                }
                if !(0x40..=0x7e).contains(line.get(i)?) {
                    return None;
                }
                i += 1;
            }
            b']' | b'P' | b'X' | b'^' | b'_' => {
                // a string ended by ST (ESC \); BEL or the line's end is a failure
                loop {
                    match *line.get(i)? {
                        0x07 => return None,
                        0x1b if line.get(i + 1) == Some(&b'\\') => {
                            i += 2;
                            break;
                        }
                        _ => i += 1,
                    }
                }
            }
            0x20..=0x2f => {
                while (0x20..=0x2f).contains(line.get(i)?) {
                    i += 1;
                }
                if !(0x30..=0x7e).contains(line.get(i)?) {
                    return None;
                }
                i += 1;
            }
            0x30..=0x7e => {}
            _ => return None,
        }
    }
    Some(out)
}

/// Upload ticks over a recording: feed the terminal's bytes as they were written, call
/// [`AgentStream::tick`] when the agent would upload; each tick's lines are one event.
#[derive(Debug, Default)]
pub struct AgentStream {
    pending: Vec<u8>,
}

impl AgentStream {
    /// Take more of the session's bytes, as the agent appends them to `ipcTempFile.log`.
    pub fn write(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
    }

    /// The complete lines written since the last tick (the unterminated one waits).
    pub fn tick(&mut self) -> Vec<String> {
        let Some(last_lf) = self.pending.iter().rposition(|&b| b == b'\n') else {
            return Vec::new();
        };
        let rest = self.pending.split_off(last_lf + 1);
        let done = std::mem::replace(&mut self.pending, rest);
        done[..done.len() - 1].split(|&b| b == b'\n').map(agent_line).collect()
    }

    /// The session ended: whatever is left, the unterminated line included.
    pub fn finish(mut self) -> Vec<String> {
        let mut lines = self.tick();
        if !self.pending.is_empty() {
            lines.push(agent_line(&self.pending));
        }
        lines
    }
}

/// A recorded `script` transcript as the agent would have streamed it: the body between the
/// header and footer, cut into ticks of `lines_per_tick(i)` complete lines each (the recordings
/// carry no timing; a tick of a few lines is about one second of an interactive session).
pub fn ticks_of_recording(
    transcript: &[u8],
    mut lines_per_tick: impl FnMut(usize) -> usize,
) -> Vec<Vec<String>> {
    let body = match transcript.iter().position(|&b| b == b'\n') {
        Some(i) if transcript.starts_with(b"Script started on") => &transcript[i + 1..],
        _ => transcript,
    };
    let body = match body.windows(15).rposition(|w| w == b"\nScript done on") {
        Some(i) => &body[..i + 1],
        None => body,
    };
    let mut stream = AgentStream::default();
    let mut ticks = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let want = lines_per_tick(ticks.len()).max(1);
        let mut end = 0;
        for _ in 0..want {
            match rest[end..].iter().position(|&b| b == b'\n') {
                Some(i) => end += i + 1,
                None => end = rest.len(),
            }
            if end == rest.len() {
                break;
            }
        }
        stream.write(&rest[..end]);
        rest = &rest[end..];
        let lines =
            if rest.is_empty() { std::mem::take(&mut stream).finish() } else { stream.tick() };
        if !lines.is_empty() {
            ticks.push(lines);
        }
    }
    ticks
}

/// Who and where a streamed session is, for [`message`].
#[derive(Debug, Clone)]
pub struct StreamedSession<'a> {
    /// The session ID.
    pub session_id: &'a str,
    /// The instance.
    pub target: &'a str,
    /// The person's ARN.
    pub user_arn: &'a str,
    /// The OS user.
    pub run_as: &'a str,
    /// The region.
    pub region: &'a str,
}

/// One log event's message as the agent writes it (fields in the agent's order).
pub fn message(session: &StreamedSession<'_>, event_time: &str, lines: &[String]) -> String {
    serde_json::json!({
        "eventVersion": "1.0",
        "eventTime": event_time,
        "awsRegion": session.region,
        "target": {"id": session.target},
        "userIdentity": {"arn": session.user_arn},
        "runAsUser": session.run_as,
        "sessionId": session.session_id,
        "sessionData": lines,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_like_the_agent() {
        assert_eq!(agent_line(b"\x1b[?2004h\x1b[01;32muser\x1b[0m$ ls\r"), "user$ ls");
        assert_eq!(agent_line(b"a\tb"), "a b");
        // An OSC title ended by BEL makes Strip fail: the raw line, escapes and all.
        let raw = b"\x1b]0;t\x07\x1b[?2004h[u@h ~]$ ls";
        assert_eq!(agent_line(raw), String::from_utf8_lossy(raw));
        // ST-terminated OSC is removed; C1 bytes (the middle of the euro sign) dropped.
        assert_eq!(agent_line(b"\x1b]0;t\x1b\\x"), "x");
        assert_eq!(agent_line("€".as_bytes()), "\u{fffd}");
        assert_eq!(agent_line(b"ls\x08\x08"), "ls\x08\x08", "BS stays");
    }

    #[test]
    fn the_prompt_line_waits_for_its_newline() {
        let mut s = AgentStream::default();
        s.write(b"out\r\nsh-5.2$ ");
        assert_eq!(s.tick(), ["out"]);
        s.write(b"ls\r\n");
        assert_eq!(s.tick(), ["sh-5.2$ ls"]);
        s.write(b"sh-5.2$ ");
        assert_eq!(s.finish(), ["sh-5.2$ "]);
    }

    #[test]
    fn recordings_lose_header_and_footer() {
        let t = b"Script started on x\nsh$ ls\r\nout\r\nsh$ \nScript done on y\n";
        let ticks = ticks_of_recording(t, |_| 1);
        assert_eq!(ticks, [vec!["sh$ ls"], vec!["out"], vec!["sh$ "]]);
    }
}
