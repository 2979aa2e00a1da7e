//! The report as JSON, streamed: [`JsonReportWriter`] writes the `commands` array as commands
//! finish, so a transcript with millions of commands never has them all in memory; the result
//! parses back into [`Report`].

use std::io::{self, Write};

use super::model::{Report, ReportCommand, ReportTail, SCHEMA};
use super::writers::CommandWriter;

/// Streams a report as JSON: the schema, then each command on its own line, then the rest
/// (known only at the end). One line per command keeps huge reports greppable and diffable.
pub struct JsonReportWriter<W: Write> {
    out: W,
    first: bool,
    /// One line for the whole report (JSON Lines) instead of a line per command.
    single_line: bool,
    json: CommandJson,
}

impl<W: Write> JsonReportWriter<W> {
    /// Start a report (the schema, then the commands' array) on `out`.
    pub fn start(out: W) -> io::Result<Self> {
        Self::start_with(out, false)
    }

    /// As [`JsonReportWriter::start`]; `single_line` writes the whole report on one line (JSON Lines).
    pub fn start_with(mut out: W, single_line: bool) -> io::Result<Self> {
        write!(out, "{{\"schema\":\"{SCHEMA}\",\"commands\":[")?;
        Ok(JsonReportWriter { out, first: true, single_line, json: CommandJson::default() })
    }

    /// Close the commands' array and write the rest of the report; the writer back.
    pub fn finish(mut self, tail: &ReportTail<'_>) -> io::Result<W> {
        let close: &[u8] = if self.first || self.single_line { b"]," } else { b"\n]," };
        self.out.write_all(close)?;
        let rest = serde_json::to_vec(tail)?;
        self.out.write_all(&rest[1..])?; // the tail's fields, without its opening brace
        self.out.write_all(b"\n")?;
        Ok(self.out)
    }
}

impl<W: Write> CommandWriter for JsonReportWriter<W> {
    fn command(&mut self, command: &ReportCommand) -> io::Result<()> {
        let sep: &[u8] = match (self.first, self.single_line) {
            (true, true) => b"",
            (false, true) => b",",
            (true, false) => b"\n",
            (false, false) => b",\n",
        };
        self.first = false;
        self.out.write_all(self.json.encode(sep, command)?)
    }
}

impl Report {
    /// Write the whole report as JSON (the same bytes the streaming path produces).
    pub fn write_json<W: Write>(&self, out: W) -> io::Result<W> {
        let mut w = JsonReportWriter::start(out)?;
        for c in &self.commands {
            w.command(c)?;
        }
        w.finish(&self.tail())
    }
}

/// One report command as JSON, the bytes `serde_json` writes for [`ReportCommand`], built
/// faster: into one reused buffer (a single write per command), with the prompt's and the
/// confidence's encodings kept while they repeat (a session has one prompt and a few
/// confidences). Command-dense sessions spend a sixth of their time here otherwise. A test
/// compares with `serde_json` over generated commands.
///
///
/// Encodes commands; keep one per report.
#[derive(Debug, Default)]
pub struct CommandJson {
    buf: Vec<u8>,
    /// The last prompt and its JSON string.
    prompt: Option<(String, Vec<u8>)>,
    /// The last confidence (its bits) and its JSON number.
    confidence: Option<(u32, Vec<u8>)>,
}

impl CommandJson {
    /// `command` as one JSON object, after `prefix`; valid until the next call.
    pub fn encode(&mut self, prefix: &[u8], command: &ReportCommand) -> io::Result<&[u8]> {
        // Every field named: a field added to ReportCommand does not compile until it is
        // written here.
        let ReportCommand {
            seq,
            command,
            prompt,
            confidence,
            reason,
            output_lines,
            privileged,
            fullscreen,
            seen_in,
            time,
        } = command;
        let buf = &mut self.buf;
        buf.clear();
        buf.extend_from_slice(prefix);
        buf.extend_from_slice(b"{\"seq\":");
        serde_json::to_writer(&mut *buf, seq)?;
        buf.extend_from_slice(b",\"command\":");
        push_str(buf, command)?;
        buf.extend_from_slice(b",\"prompt\":");
        match &self.prompt {
            Some((last, json)) if last == prompt => buf.extend_from_slice(json),
            _ => {
                let json = serde_json::to_vec(prompt)?;
                buf.extend_from_slice(&json);
                self.prompt = Some((prompt.clone(), json));
            }
        }
        buf.extend_from_slice(b",\"confidence\":");
        match &self.confidence {
            Some((bits, json)) if *bits == confidence.to_bits() => buf.extend_from_slice(json),
            _ => {
                let json = serde_json::to_vec(confidence)?;
                buf.extend_from_slice(&json);
                self.confidence = Some((confidence.to_bits(), json));
            }
        }
        if let Some(reason) = reason {
            buf.extend_from_slice(b",\"reason\":");
            push_str(buf, reason)?;
        }
        buf.extend_from_slice(b",\"output_lines\":");
        serde_json::to_writer(&mut *buf, output_lines)?;
        buf.extend_from_slice(if *privileged {
            b",\"privileged\":true"
        } else {
            b",\"privileged\":false"
        });
        buf.extend_from_slice(if *fullscreen {
            b",\"fullscreen\":true"
        } else {
            b",\"fullscreen\":false"
        });
        for (name, value) in [(&b",\"seen_in\":"[..], seen_in), (&b",\"time\":"[..], time)] {
            if let Some(value) = value {
                buf.extend_from_slice(name);
                serde_json::to_writer(&mut *buf, value)?;
            }
        }
        buf.push(b'}');
        Ok(&self.buf)
    }
}

/// `text` as a JSON string, as `serde_json` writes it. Most texts need no escape (no control
/// character, quote or backslash): found in one vectorisable pass (no early exit) and copied
/// whole.
fn push_str(buf: &mut Vec<u8>, text: &str) -> io::Result<()> {
    let plain =
        text.bytes().fold(true, |plain, b| plain & (b >= 0x20) & (b != b'"') & (b != b'\\'));
    if plain {
        buf.reserve(text.len() + 2);
        buf.push(b'"');
        buf.extend_from_slice(text.as_bytes());
        buf.push(b'"');
        return Ok(());
    }
    Ok(serde_json::to_writer(&mut *buf, text)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn command() -> impl Strategy<Value = ReportCommand> {
        let text = prop_oneof![
            Just(String::new()),
            "[ -~]{0,20}",
            "\\PC{0,12}",
            "[\"\\\\\\n\\t\\u{1}\\u{1f} \\u{7f}é]{0,6}"
        ];
        let confidence = prop_oneof![Just(1.0f32), Just(0.8), Just(0.7), Just(0.6), any::<f32>()];
        (
            (
                any::<u64>(),
                text.clone(),
                prop::sample::select(vec!["$ ", "[u@h ~]$ ", "PS C:\\> ", "\"q\" "]),
            ),
            (
                confidence,
                prop::option::of(text.clone()),
                any::<u64>(),
                any::<bool>(),
                any::<bool>(),
            ),
            (prop::option::of(text.clone()), prop::option::of(text)),
        )
            .prop_map(
                |(
                    (seq, command, prompt),
                    (confidence, reason, output_lines, privileged, fullscreen),
                    (seen_in, time),
                )| ReportCommand {
                    seq,
                    command,
                    prompt: prompt.to_string(),
                    confidence,
                    reason,
                    output_lines,
                    privileged,
                    fullscreen,
                    seen_in,
                    time,
                },
            )
    }

    proptest! {
        #[test]
        fn the_bytes_serde_json_writes(commands in prop::collection::vec(command(), 1..8)) {
            let mut json = CommandJson::default();
            for c in &commands {
                let ours = json.encode(b",\n", c).unwrap().to_vec();
                let mut theirs = b",\n".to_vec();
                theirs.extend(serde_json::to_vec(c).unwrap());
                prop_assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&theirs));
            }
        }
    }
}
