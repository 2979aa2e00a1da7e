//! The summary as Markdown, for a ticket or a wiki: headline first, then the lists a reviewer
//! acts on (missing transcripts), then the patterns.

use std::fmt::Write;

use super::*;
use crate::report::markdown::{code_cell, text_cell};

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
/// Rows shown per ranking table (the JSON has them all).
const TOP_ROWS: usize = 20;

/// The one-line verdict shared by every rendering.
pub fn headline(s: &Summary) -> String {
    let h = &s.headline;
    let mut line = match h.percent_full_transcript {
        Some(p) => format!(
            "{p:.1}% of privileged access has a full transcript ({} of {} sessions)",
            h.with_full_transcript, h.privileged_sessions
        ),
        None => "No privileged access to judge".to_string(),
    };
    if h.pending > 0 {
        let _ = write!(line, "; {} still within the grace period", h.pending);
    }
    line
}

/// Totals under the headline.
pub fn totals(s: &Summary) -> String {
    let mut parts = vec![
        format!("{} session(s)", s.sessions),
        format!("{} people", s.people),
        format!("{} instance(s)", s.instances),
        format!("{} denied attempt(s)", s.denied.attempts),
    ];
    if let Some(share) = s.off_hours.share {
        parts.push(format!("{} off hours", percent(share)));
    }
    if s.corrupt.total > 0 {
        parts.push(format!("{} unreadable input(s)", s.corrupt.total));
    }
    parts.join(" · ")
}

fn cut_note(md: &mut String, total: u64, shown: usize) {
    if total > shown as u64 {
        let _ = writeln!(md, "\n_{} more not shown (see the JSON summary)._", total - shown as u64);
    }
}

fn sessions(md: &mut String, title: &str, list: &Listed<SessionRef>) {
    if list.total == 0 {
        return;
    }
    let _ = writeln!(md, "\n### {title} ({})\n", list.total);
    let _ =
        writeln!(md, "| Session | Person | Instance | Started | Detail |\n|---|---|---|---|---|");
    for r in &list.items {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            code_cell(&r.session_id),
            text_cell(&r.person),
            code_cell(&r.instance),
            r.started_at.as_deref().unwrap_or("—"),
            text_cell(r.detail.as_deref().unwrap_or(""))
        );
    }
    cut_note(md, list.total, list.items.len());
}

fn ranking(md: &mut String, title: &str, what: &str, rows: &[Count]) {
    let _ = writeln!(md, "\n### {title}\n");
    if rows.is_empty() {
        let _ = writeln!(md, "None.");
        return;
    }
    let _ = writeln!(md, "| {what} | Count |\n|---|---:|");
    for c in rows.iter().take(TOP_ROWS) {
        let _ = writeln!(md, "| {} | {} |", text_cell(&c.name), c.count);
    }
    cut_note(md, rows.len() as u64, rows.len().min(TOP_ROWS));
}

/// The summary as Markdown.
pub fn render(s: &Summary) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Access summary: {} {}\n", s.kind.as_str(), s.period);
    let _ = writeln!(md, "**{}**\n", headline(s));
    let _ = writeln!(md, "{}\n", totals(s));
    let _ = writeln!(
        md,
        "Sessions started {} to {} (UTC days), judged at {}; a transcript is missing when it has not arrived {} minutes after the session ended.",
        s.from, s.to, s.as_of, s.grace_minutes
    );
    if s.empty {
        let _ = writeln!(
            md,
            "\n**Empty period:** no sessions, denied attempts or audit records were found."
        );
        return md;
    }

    let c = &s.completeness;
    let _ = writeln!(md, "\n## Completeness\n\n| Coverage | Sessions |\n|---|---:|");
    for (coverage, n) in &c.counts {
        let _ = writeln!(md, "| {} | {n} |", coverage.label());
    }
    sessions(&mut md, "Missing transcripts", &c.missing);
    sessions(&mut md, "Truncated transcripts", &c.truncated);
    sessions(&mut md, "Unparseable transcripts", &c.unparseable);
    sessions(&mut md, "Reported from the CloudWatch stream only (no transcript)", &c.stream_only);
    sessions(&mut md, "Transcripts without a session record", &c.transcripts_without_record);
    sessions(&mut md, "Transcripts replaced after they were reported", &c.replaced);
    sessions(&mut md, "Uploads that are not their session's evidence", &c.untrusted);
    sessions(&mut md, "Still within the grace period", &c.pending);
    sessions(&mut md, "Unlogged by design", &c.unlogged_by_design);
    if c.records_without_start > 0 {
        let _ = writeln!(
            md,
            "\n{} session record(s) lack their StartSession (only a later call was seen).",
            c.records_without_start
        );
    }

    let _ = writeln!(md, "\n## Who accessed what");
    ranking(&mut md, "By person", "Person", &s.by_person);
    ranking(&mut md, "By instance", "Instance", &s.by_instance);
    if s.by_account_region.len() > 1 {
        ranking(&mut md, "By account and region", "Account/region", &s.by_account_region);
    }
    let _ =
        writeln!(md, "\n### Person × instance\n\n| Person | Instance | Sessions |\n|---|---|---:|");
    for p in s.by_pair.iter().take(TOP_ROWS) {
        let _ =
            writeln!(md, "| {} | {} | {} |", text_cell(&p.person), code_cell(&p.instance), p.count);
    }
    cut_note(&mut md, s.by_pair.len() as u64, s.by_pair.len().min(TOP_ROWS));
    let baseline = match &s.new_pairs.baseline {
        Some(b) => format!("not seen up to {b}"),
        None => "no earlier summary to compare with: every pair is new".to_string(),
    };
    let _ = writeln!(md, "\n### First-seen person → instance ({baseline})\n");
    if s.new_pairs.pairs.is_empty() {
        let _ = writeln!(md, "None.");
    }
    for p in &s.new_pairs.pairs {
        let _ = writeln!(md, "- {} → {}", text_cell(&p.person), code_cell(&p.instance));
    }

    let _ = writeln!(md, "\n## When\n");
    let _ = writeln!(md, "Session starts by weekday and hour ({}):\n", s.heat_map.time_zone);
    let _ = write!(md, "| |");
    for h in 0..24 {
        let _ = write!(md, " {h:02} |");
    }
    let _ = writeln!(md, "\n|---|{}", "---:|".repeat(24));
    for (day, row) in WEEKDAYS.iter().zip(&s.heat_map.counts) {
        let _ = write!(md, "| {day} |");
        for n in row {
            let _ = if *n == 0 { write!(md, " |") } else { write!(md, " {n} |") };
        }
        let _ = writeln!(md);
    }
    if let Some(share) = s.off_hours.share {
        let _ = writeln!(
            md,
            "\nOff hours: {} session(s), {} of those with a known start (business hours {}).",
            s.off_hours.sessions,
            percent(share),
            s.off_hours.business_hours
        );
    }
    let d = &s.durations;
    match (d.median_minutes, d.p95_minutes, &d.longest) {
        (Some(m), Some(p), Some(l)) => {
            let _ = writeln!(
                md,
                "\nDurations ({} sessions with a known end): median {m} min, p95 {p} min, longest {} min ({} by {} on {}).",
                d.measured,
                d.longest_minutes.unwrap_or(0),
                code_cell(&l.session_id),
                text_cell(&l.person),
                code_cell(&l.instance)
            );
        }
        _ => {
            let _ = writeln!(md, "\nDurations: no session with a known end.");
        }
    }

    let _ = writeln!(md, "\n## Denied attempts ({})", s.denied.attempts);
    if s.denied.attempts > 0 {
        ranking(&mut md, "By person", "Person", &s.denied.by_person);
        ranking(&mut md, "By reason", "Error code", &s.denied.by_reason);
    }

    let _ = writeln!(md, "\n## Findings\n");
    if s.findings.is_empty() {
        let _ = writeln!(md, "None.");
    } else {
        let _ = writeln!(md, "| Rule | Severity | Title | Count |\n|---|---|---|---:|");
        for f in &s.findings {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                f.rule_id,
                f.severity,
                text_cell(&f.title),
                f.count
            );
        }
    }

    let cmds = &s.commands;
    let bound = if cmds.approximate { " (counts are lower bounds)" } else { "" };
    let _ = writeln!(
        md,
        "\n## Most frequent commands{bound}\n\n{} command(s), {} privileged.\n",
        cmds.total, cmds.privileged
    );
    if !cmds.top.is_empty() {
        let _ = writeln!(md, "| Command | Count |\n|---|---:|");
        for c in &cmds.top {
            let _ = writeln!(md, "| {} | {} |", code_cell(&c.name), c.count);
        }
    }
    ranking(&mut md, "Sessions by document", "Document (session type)", &s.documents);
    if !s.port_forwards.is_empty() {
        ranking(&mut md, "Port forwarding by destination", "Destination", &s.port_forwards);
    }

    if s.guardduty.total > 0 {
        let _ = writeln!(
            md,
            "\n## GuardDuty findings on instances ({})\n\n| Finding | Severity | Instance | Last seen | Sessions there |\n|---|---|---|---|---|",
            s.guardduty.total
        );
        for t in &s.guardduty.items {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                code_cell(&t.finding_type),
                t.severity,
                code_cell(&t.instance),
                t.last_seen,
                text_cell(&t.sessions_text())
            );
        }
        cut_note(&mut md, s.guardduty.total, s.guardduty.items.len());
    }

    if s.preferences.total > 0 {
        let _ = writeln!(
            md,
            "\n## Session Manager preferences changed ({}, {} drifted)\n\n| Account/region | When | Call | By | Verdict | Why |\n|---|---|---|---|---|---|",
            s.preferences.total,
            s.preferences.items.iter().filter(|p| p.verdict == "drifted").count()
        );
        for p in &s.preferences.items {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | **{}** | {} |",
                code_cell(&p.place),
                p.time,
                p.call,
                text_cell(&p.who),
                p.verdict,
                text_cell(&p.why)
            );
        }
        cut_note(&mut md, s.preferences.total, s.preferences.items.len());
    }

    if s.corrupt.total > 0 {
        let _ = writeln!(
            md,
            "\n## Unreadable inputs ({})\n\n| Source | Error |\n|---|---|",
            s.corrupt.total
        );
        for c in &s.corrupt.items {
            let _ = writeln!(md, "| {} | {} |", code_cell(&c.source), text_cell(&c.error));
        }
        cut_note(&mut md, s.corrupt.total, s.corrupt.items.len());
    }
    md
}
