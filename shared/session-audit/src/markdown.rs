//! Markdown rendering of a session report: what a reviewer reads in a ticket or a wiki.

use std::fmt::Write;

use crate::report::Report;
use crate::rules::Severity;

/// A table cell holding code: pipes escaped, newlines shown, backticks fenced safely.
pub fn code_cell(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let body = text.replace('|', "\\|").replace('\n', " ⏎ ");
    let pad = if body.starts_with('`') || body.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{body}{pad}{fence}")
}

/// A table cell holding prose.
pub fn text_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
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

pub fn report(r: &Report, omitted: u64) -> String {
    let mut md = String::new();
    let counts = &r.stats.findings_by_severity;
    let breakdown: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .filter_map(|s| counts.get(s).filter(|n| **n > 0).map(|n| format!("{n} {s}")))
        .collect();
    let total: u64 = counts.values().sum();
    let _ = writeln!(md, "# Session report: {}\n", text_cell(&r.session_id));
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
    let _ = writeln!(md, "| Started | {} |", r.started_at.clone().unwrap_or_else(na));
    let _ = writeln!(md, "| Ended | {} |", r.ended_at.clone().unwrap_or_else(na));
    let s = &r.source;
    let place = match (&s.bucket, &s.key, &s.path) {
        (Some(b), Some(k), _) => format!("s3://{b}/{k}"),
        (_, _, Some(p)) => p.clone(),
        _ => "stdin".to_string(),
    };
    let version = s.version_id.as_ref().map(|v| format!(" (version {v})")).unwrap_or_default();
    let format = s.format.map(|f| f.as_str()).unwrap_or_default();
    let _ = writeln!(
        md,
        "| Transcript | {}{version}, {format}, {} bytes, {} lines |",
        code_cell(&place),
        r.stats.bytes,
        r.stats.lines
    );

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
                f.rule_id,
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
        let _ =
            writeln!(md, "| # | Prompt | Command | Output lines | Notes |\n|---|---|---|---|---|");
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
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_survive_pipes_backticks_and_newlines() {
        assert_eq!(code_cell("ls | wc"), "`ls \\| wc`");
        assert_eq!(code_cell("echo `id`"), "`` echo `id` ``");
        assert_eq!(code_cell("a\nb"), "`a ⏎ b`");
    }
}
