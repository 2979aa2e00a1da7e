//! Which kind of transcript a byte stream is, from its first bytes.

use serde::{Deserialize, Serialize};

/// How many leading bytes are looked at before the format is decided.
pub const SNIFF_BYTES: usize = 4096;

/// The transcript formats Session Manager produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// S3 log from a Linux instance: util-linux `script` around the session's terminal output.
    LinuxScript,
    /// S3 log from a pre-2020 agent that ran `ssm-session-logger` inside the transcript.
    LegacyAgentScript,
    /// Terminal output with no `script` header (an `ipcTempFile.log`, or a cut-off upload).
    RawTerminal,
    /// CloudWatch Logs streaming events (`sessionData`), one per line or as a JSON array.
    CloudWatchJson,
    /// A Windows PowerShell transcript.
    PowerShell,
    /// Not a transcript: binary, compressed, or empty.
    Unparseable,
}

impl Format {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::LinuxScript => "linux_script",
            Format::LegacyAgentScript => "legacy_agent_script",
            Format::RawTerminal => "raw_terminal",
            Format::CloudWatchJson => "cloud_watch_json",
            Format::PowerShell => "power_shell",
            Format::Unparseable => "unparseable",
        }
    }
}

/// The `Script started on …` line, whichever util-linux wrote it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScriptHeader {
    /// The header line as written.
    pub raw: String,
    /// RFC 3339 time when the header carries a parseable one. This is when the agent wrote
    /// the transcript (session end), not when the session started.
    pub time: Option<String>,
    /// `COLUMNS="…"` from util-linux 2.35+ headers written on a terminal.
    pub columns: Option<usize>,
}

/// What the first bytes say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    /// The format detected.
    pub format: Format,
    /// The `script` header, when there was one.
    pub header: Option<ScriptHeader>,
    /// Bytes of the sniffed prefix that belong to the header (and BOM) and are not content.
    pub skip: usize,
    /// Why the format was chosen, when it was not plain.
    pub reason: Option<String>,
}

/// Decide the format from the first bytes (at most [`SNIFF_BYTES`]; fewer at end of input).
pub fn detect(prefix: &[u8]) -> Detected {
    let bom = if prefix.starts_with(b"\xef\xbb\xbf") { 3 } else { 0 };
    let body = &prefix[bom..];
    let plain = |format, reason: Option<&str>| Detected {
        format,
        header: None,
        skip: bom,
        reason: reason.map(str::to_string),
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return plain(Format::Unparseable, Some("empty transcript"));
    }
    // The header decides: what follows it is terminal output, binary bytes a program printed
    // (`head -c 24000 /usr/bin/bash`) included, never a verdict on the file.
    if body.starts_with(b"Script started on ") {
        let end = body.iter().position(|b| *b == b'\n').map_or(body.len(), |i| i + 1);
        let header = parse_header(&String::from_utf8_lossy(&body[..end]));
        let legacy = contains(body, b"ssm-session-logger");
        return Detected {
            format: if legacy { Format::LegacyAgentScript } else { Format::LinuxScript },
            header: Some(header),
            skip: bom + end,
            reason: None,
        };
    }
    if let Some(reason) = binary_reason(body) {
        return plain(Format::Unparseable, Some(reason));
    }
    let first = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if matches!(first, Some(b'{' | b'[')) {
        return plain(Format::CloudWatchJson, None);
    }
    if contains(body, b"PowerShell transcript start") || starts_with_powershell_prompt(body) {
        return plain(Format::PowerShell, None);
    }
    plain(Format::RawTerminal, None)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn starts_with_powershell_prompt(body: &[u8]) -> bool {
    body.starts_with(b"PS ") && body.get(4..6) == Some(b":\\")
}

/// Terminal output is text with some escape sequences; anything else is refused early.
pub fn binary_reason(body: &[u8]) -> Option<&'static str> {
    if body.starts_with(b"\x1f\x8b") {
        return Some("gzip-compressed data, not a transcript");
    }
    if body.starts_with(b"PK\x03\x04") {
        return Some("zip archive, not a transcript");
    }
    let suspicious =
        body.iter().filter(|b| matches!(b, 0x00..=0x06 | 0x0e..=0x1a | 0x1c..=0x1f | 0x7f)).count();
    let invalid_utf8 = String::from_utf8_lossy(body).matches('\u{fffd}').count();
    let noise = suspicious * 4 + invalid_utf8;
    // A few stray bytes are normal (invalid UTF-8 passes through); a fifth is not text.
    (body.len() >= 16 && noise * 5 > body.len()).then_some(
        "binary data: too many control bytes and invalid UTF-8 sequences to be terminal output",
    )
}

/// Parse the four util-linux header shapes:
/// `Script started on Wed May 27 23:00:48 2020` (≤ 2.27, ctime),
/// `Script started on 2022-01-25 06:49:24+0000` (2.28–2.34),
/// `Script started on 2025-09-29 16:58:03+00:00 [COMMAND="…" <not executed on terminal>]`
/// and `… [TERM="xterm" TTY="/dev/pts/0" COLUMNS="80" LINES="24"]` (2.35+).
pub fn parse_header(line: &str) -> ScriptHeader {
    let raw = line.trim_end_matches(['\r', '\n']).to_string();
    let rest = raw.strip_prefix("Script started on ").unwrap_or(&raw);
    let (when, attrs) = match rest.find(" [") {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let columns = attrs
        .split("COLUMNS=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .and_then(|s| s.parse().ok());
    ScriptHeader { time: parse_script_time(when.trim()), columns, raw }
}

/// `Script done on …` (any util-linux version) → RFC 3339 time, if the line is a footer.
pub fn parse_footer(line: &str) -> Option<Option<String>> {
    const FOOTER: &str = "Script done on ";
    if !line.starts_with(FOOTER) {
        return None; // every line but one: decided without trimming it
    }
    let rest = line.trim_end().strip_prefix(FOOTER)?;
    let when = rest.find(" [").map_or(rest, |i| &rest[..i]);
    Some(parse_script_time(when.trim()))
}

/// Times as util-linux prints them, to RFC 3339.
pub fn parse_script_time(s: &str) -> Option<String> {
    let b = s.as_bytes();
    // ISO: "2022-01-25 06:49:24+0000" or "2025-09-29 16:58:03+00:00"
    if b.len() >= 19 && b[4] == b'-' && b[7] == b'-' && b[10] == b' ' && b[13] == b':' {
        let digits =
            |r: std::ops::Range<usize>| s.get(r).filter(|p| p.bytes().all(|c| c.is_ascii_digit()));
        let (date, time) = (s.get(..10)?, s.get(11..19)?);
        digits(0..4)?;
        digits(11..13)?;
        let zone = match s.get(19..).map(str::trim) {
            None | Some("") | Some("UTC") | Some("Z") => "+00:00".to_string(),
            Some(z) if z.len() == 5 && (z.starts_with('+') || z.starts_with('-')) => {
                format!("{}:{}", &z[..3], &z[3..])
            }
            Some(z) if z.len() == 6 && z.as_bytes()[3] == b':' => z.to_string(),
            Some(_) => return None,
        };
        return Some(format!("{date}T{time}{zone}"));
    }
    parse_ctime(s)
}

/// ctime-like: "Wed May 27 23:00:48 2020" or "Wed 27 May 2020 11:00:48 PM UTC".
fn parse_ctime(s: &str) -> Option<String> {
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let words: Vec<&str> = s.split_whitespace().collect();
    let month = words.iter().find_map(|w| MONTHS.iter().position(|m| w.starts_with(m)))? + 1;
    let time = words.iter().find(|w| w.len() == 8 && w.as_bytes()[2] == b':')?;
    let numbers: Vec<u32> = words.iter().filter_map(|w| w.parse().ok()).collect();
    let year = *numbers.iter().find(|n| **n > 1900)?;
    let day = *numbers.iter().find(|n| (1..=31).contains(*n))?;
    let mut hour: u32 = time[..2].parse().ok()?;
    match words.iter().find(|w| **w == "AM" || **w == "PM") {
        Some(&"PM") if hour < 12 => hour += 12,
        Some(&"AM") if hour == 12 => hour = 0,
        _ => {}
    }
    let utc = words.iter().any(|w| *w == "UTC" || *w == "GMT");
    utc.then(|| format!("{year:04}-{month:02}-{day:02}T{hour:02}{}+00:00", &time[2..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_header_variants() {
        let h = parse_header("Script started on Wed May 27 23:00:48 2020\n");
        assert_eq!(h.time, None, "no zone in the oldest form: kept raw only");
        let h = parse_header("Script started on Wed 27 May 2020 11:00:48 PM UTC\n");
        assert_eq!(h.time.as_deref(), Some("2020-05-27T23:00:48+00:00"));
        let h = parse_header("Script started on 2022-01-25 06:49:24+0000\r\n");
        assert_eq!(h.time.as_deref(), Some("2022-01-25T06:49:24+00:00"));
        let h = parse_header(
            "Script started on 2025-09-29 16:58:03+00:00 [COMMAND=\"cat x\" <not executed on terminal>]\n",
        );
        assert_eq!(h.time.as_deref(), Some("2025-09-29T16:58:03+00:00"));
        assert_eq!(h.columns, None);
        let h = parse_header("Script started on 2025-09-29 16:58:03+02:00 [TERM=\"xterm\" TTY=\"/dev/pts/0\" COLUMNS=\"132\" LINES=\"40\"]\n");
        assert_eq!(h.columns, Some(132));
        assert_eq!(h.time.as_deref(), Some("2025-09-29T16:58:03+02:00"));
    }

    #[test]
    fn footers() {
        assert_eq!(
            parse_footer("Script done on 2026-11-27 22:37:04+00:00 [COMMAND_EXIT_CODE=\"0\"]"),
            Some(Some("2026-11-27T22:37:04+00:00".into()))
        );
        assert_eq!(parse_footer("sh-5.2$ ls"), None);
    }

    #[test]
    fn detection() {
        assert_eq!(detect(b"").format, Format::Unparseable);
        assert_eq!(detect(b"\x1f\x8b\x08\x00\x00\x00\x00\x00").format, Format::Unparseable);
        assert_eq!(
            detect(&[0u8, 1, 2, 3, 4, 5, 6, 0xff, 0xfe, 0, 0, 0, 0, 0, 0, 0, 0]).format,
            Format::Unparseable
        );
        let d = detect(b"Script started on 2022-01-25 06:49:24+0000\nsh-4.2$ ls\n");
        assert_eq!((d.format, d.skip), (Format::LinuxScript, 43));
        let d = detect(b"Script started on 2020-05-27 23:00:48+0000\r\nsh-4.2# /usr/bin/ssm-session-logger /var/x");
        assert_eq!(d.format, Format::LegacyAgentScript);
        assert_eq!(detect(b"  [ {\"sessionData\": []} ]").format, Format::CloudWatchJson);
        assert_eq!(
            detect(
                b"\xef\xbb\xbf**********************\r\nWindows PowerShell transcript start\r\n"
            )
            .format,
            Format::PowerShell
        );
        assert_eq!(detect(b"\x1b[?2004hsh-5.2$ ls\r\n\xff ok").format, Format::RawTerminal);
    }
}
