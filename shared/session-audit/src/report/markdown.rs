//! Markdown rendering of a session report: what a reviewer reads in a ticket or a wiki.

use std::fmt::Write;

use super::model::Report;
use crate::finding::Severity;

/// A table cell holding code: pipes escaped, newlines shown, backticks fenced safely. Inside a
/// code span nothing is markup, so links and HTML stay text.
pub fn code_cell(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let body = text.replace('|', "\\|").replace("\r\n", " ⏎ ").replace(['\n', '\r'], " ⏎ ");
    let pad = if body.starts_with('`') || body.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{body}{pad}{fence}")
}

/// Punctuation left as it is in prose: none of it can start a link, an image, HTML, emphasis
/// or an entity once the rest is escaped (autolinks need a `.` in the domain, which is).
const PLAIN_PUNCTUATION: &str = "-:,;/@?=%'\"";

/// A table cell (or a line) holding prose that may come from the person being audited (a
/// StartSession reason, a user agent, a session name): every other ASCII punctuation mark is
/// backslash-escaped, so `[x](https://evil)`, `<img src=…>`, `&lt;`, `**` or `www.evil.com`
/// render as the characters they are, never as a link, an image or HTML. Newlines become spaces.
pub fn text_cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    for c in text.chars() {
        match c {
            '\n' | '\r' => out.push(' '),
            c if c.is_ascii_punctuation() && !PLAIN_PUNCTUATION.contains(c) => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

fn json_brief(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Object(map) => map
            .iter()
            .filter(|(_, v)| !v.is_null() && !v.is_object() && !v.is_array())
            .map(|(k, v)| {
                format!("{k}: {}", v.as_str().map_or_else(|| v.to_string(), str::to_string))
            })
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

fn report(r: &Report, omitted: u64) -> String {
    let mut md = String::new();
    let counts = &r.stats.findings_by_severity;
    let breakdown: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .filter_map(|s| counts.get(s).filter(|n| **n > 0).map(|n| format!("{n} {s}")))
        .collect();
    let total: u64 = counts.values().sum();
    let _ = writeln!(md, "# Session report: {}\n", code_cell(&r.session_id));
    let _ = write!(md, "**Status: {}**", r.status.as_str());
    if let Some(reason) = &r.status_reason {
        let _ = write!(md, " ({})", text_cell(reason));
    }
    let _ = write!(md, " · {total} finding(s)");
    if !breakdown.is_empty() {
        let _ = write!(md, " ({})", breakdown.join(", "));
    }
    let _ = writeln!(md, " · {} command(s)\n", r.stats.commands);

    let _ = writeln!(md, "| | |\n|---|---|");
    let _ = writeln!(md, "| Session | {} |", code_cell(&r.session_id));
    if let Some(identity) = &r.identity {
        let _ = writeln!(md, "| Identity | {} |", text_cell(&json_brief(identity)));
    }
    if let Some(target) = &r.target {
        let _ = writeln!(md, "| Target | {} |", text_cell(&json_brief(target)));
    }
    let na = || "unknown".to_string();
    let _ = writeln!(md, "| Started | {} |", text_cell(&r.started_at.clone().unwrap_or_else(na)));
    let _ = writeln!(md, "| Ended | {} |", text_cell(&r.ended_at.clone().unwrap_or_else(na)));
    let s = &r.source;
    let place = match (&s.bucket, &s.key, &s.path) {
        (Some(b), Some(k), _) => format!("s3://{b}/{k}"),
        (_, _, Some(p)) => p.clone(),
        _ => "stdin".to_string(),
    };
    let version =
        s.version_id.as_ref().map(|v| format!(" (version {})", text_cell(v))).unwrap_or_default();
    let format = s.format.map(|f| f.as_str()).unwrap_or_default();
    let _ = writeln!(
        md,
        "| Transcript | {}{version}, {format}, {} bytes, {} lines |",
        code_cell(&place),
        r.stats.bytes,
        r.stats.lines
    );
    if let Some(by) = &s.uploaded_by {
        let _ = writeln!(md, "| Uploaded by | {} |", code_cell(by));
    }
    if let Some(sha256) = &s.sha256 {
        let _ = writeln!(md, "| Transcript SHA-256 | {} |", code_cell(sha256));
    }

    let _ = writeln!(md, "\n## Findings\n");
    if r.findings.is_empty() {
        let _ = writeln!(md, "No findings.");
    } else {
        let mut findings: Vec<_> = r.findings.iter().collect();
        findings
            .sort_by(|a, b| b.severity.cmp(&a.severity).then(a.command_seq.cmp(&b.command_seq)));
        let _ = writeln!(md, "| Severity | Rule | Finding | Command | Evidence | Frameworks |\n|---|---|---|---|---|---|");
        for f in findings {
            let seq = f.command_seq.map(|n| format!("#{n}")).unwrap_or_else(|| "session".into());
            let frameworks: Vec<String> =
                f.frameworks.iter().map(|x| format!("{} {}", x.framework, x.control)).collect();
            let times =
                if f.occurrences > 1 { format!(" (×{})", f.occurrences) } else { String::new() };
            let _ = writeln!(
                md,
                "| {} | {} | {}{times} | {seq} | {} | {} |",
                f.severity,
                text_cell(&f.rule_id),
                text_cell(&f.title),
                code_cell(&f.evidence),
                text_cell(&frameworks.join("; "))
            );
        }
    }
    if r.stats.findings_suppressed > 0 {
        let _ = writeln!(
            md,
            "\n{} more finding(s) of rules that matched too often are counted but not listed.",
            r.stats.findings_suppressed
        );
    }

    let _ = writeln!(md, "\n## Commands\n");
    if r.commands.is_empty() {
        let _ = writeln!(md, "No commands were reconstructed.");
    } else {
        if let Some(ch) = &r.stats.channels {
            let _ = writeln!(
                md,
                "Checked against the session's CloudWatch stream: {} of {} commands timed by it, {} it saw missing here, {} not in it.\n",
                ch.timed,
                r.stats.commands,
                ch.stream_only,
                ch.transcript_only
            );
        }
        // A time column when the stream gave times (UTC, to the second, ±1 s).
        let timed = r.commands.iter().any(|c| c.time.is_some());
        let (time_head, time_rule) = if timed { (" Time |", "---|") } else { ("", "") };
        let _ = writeln!(
            md,
            "| # |{time_head} Prompt | Command | Output lines | Notes |\n|---|{time_rule}---|---|---|---|"
        );
        for c in &r.commands {
            let mut notes = Vec::new();
            if c.privileged {
                notes.push("root".to_string());
            }
            if c.fullscreen {
                notes.push("full-screen program".to_string());
            }
            if c.confidence < 1.0 {
                notes.push(format!(
                    "confidence {:.1}: {}",
                    c.confidence,
                    c.reason.as_deref().unwrap_or("")
                ));
            }
            let time = match (timed, c.time.as_deref()) {
                (false, _) => String::new(),
                (true, Some(t)) => format!(" {} |", t.get(11..19).unwrap_or(t)),
                (true, None) => " |".to_string(),
            };
            let _ = writeln!(
                md,
                "| {} |{time} {} | {} | {} | {} |",
                c.seq,
                code_cell(c.prompt.trim_end()),
                code_cell(&c.command),
                c.output_lines,
                text_cell(&notes.join("; "))
            );
        }
    }
    if omitted > 0 {
        let _ = writeln!(md, "\n{omitted} more command(s) are in the JSON report.");
    }
    if !r.stats.parse_warnings.is_empty() {
        let _ = writeln!(md, "\n## Parse warnings\n");
        for w in &r.stats.parse_warnings {
            let _ = writeln!(md, "- {}", text_cell(w));
        }
    }
    md
}

impl Report {
    /// Markdown for a reviewer. `omitted` commands were not kept in memory (see the JSON).
    pub fn to_markdown(&self, omitted: u64) -> String {
        report(self, omitted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_survive_pipes_backticks_and_newlines() {
        assert_eq!(code_cell("ls | wc"), "`ls \\| wc`");
        assert_eq!(code_cell("echo `id`"), "`` echo `id` ``");
        assert_eq!(code_cell("a\nb"), "`a ⏎ b`");
        assert_eq!(code_cell("a\r\nb\rc"), "`a ⏎ b ⏎ c`");
    }

    /// Every markup character that is not escaped, for the checks below.
    fn live_markup(md: &str) -> Vec<char> {
        let mut live = Vec::new();
        let mut chars = md.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '[' | ']' | '<' | '>' | '(' | ')' | '!' | '*' | '_' | '`' | '&' | '~' | '.' => {
                    live.push(c)
                }
                _ => {}
            }
        }
        live
    }

    #[test]
    fn prose_from_the_audited_person_never_becomes_a_link_an_image_or_html() {
        for attack in [
            "[x](https://evil.example/steal)",
            "<img src=https://evil.example/pixel.gif>",
            "![tracker](https://evil.example/t.png)",
            "&lt;script&gt; **bold** _it_ ~~gone~~ `code`",
            "see www.evil.example or mail a@evil.example",
            "<https://evil.example>",
            "line\n# heading\r\n| cell |",
        ] {
            let cell = text_cell(attack);
            assert!(live_markup(&cell).is_empty(), "{attack:?} -> {cell:?}");
            assert!(!cell.contains('\n') && !cell.contains('\r'));
        }
        assert_eq!(text_cell("Admin/jojithom, mfa: false"), "Admin/jojithom, mfa: false");
    }

    #[test]
    fn a_report_prints_attacker_text_inert() {
        let input = crate::analysis::Input::default();
        let mut r = crate::analysis::Analyzer::default().analyze_bytes(b"", input);
        r.status_reason = Some("[x](https://evil.example) <img src=x>".into());
        r.identity =
            Some(serde_json::json!({"user_agent": "<img src=https://evil.example/p.gif>"}));
        r.target = Some(serde_json::json!({"reason": "![t](https://evil.example/t.png)"}));
        let md = report(&r, 0);
        for needle in ["](", "![", "evil.example"] {
            assert!(!md.contains(needle), "{needle} live in:\n{md}");
        }
        let tags = md.match_indices("<img").filter(|(i, _)| !md[..*i].ends_with('\\')).count();
        assert_eq!(tags, 0, "an unescaped <img in:\n{md}");
    }
}
