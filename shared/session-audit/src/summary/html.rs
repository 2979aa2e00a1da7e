//! The summary as one self-contained HTML page: no scripts, fonts or images from elsewhere;
//! charts are inline SVG. The verdict, the coverage bar and the charts come first; the tables
//! a reviewer works through follow.

use std::fmt::Write;

use super::markdown::{headline, totals};
use super::*;

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const BARS: usize = 10;

/// Text safe in HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn coverage_colour(c: Coverage) -> &'static str {
    match c {
        Coverage::TranscriptOk => "#2e7d32",
        Coverage::Truncated => "#f9a825",
        Coverage::Unparseable => "#ef6c00",
        Coverage::StreamOnly => "#8e24aa",
        Coverage::Missing => "#c62828",
        Coverage::Pending => "#90a4ae",
        Coverage::UnloggedByDesign => "#5c6bc0",
    }
}

/// One horizontal bar showing how sessions are covered, with a legend.
fn coverage_bar(out: &mut String, s: &Summary) {
    let total: u64 = s.completeness.counts.values().sum();
    let (width, height) = (900.0, 28.0);
    let _ = write!(
        out,
        r#"<svg class="chart" role="img" aria-label="Transcript coverage" width="{width}" height="{}" viewBox="0 0 {width} {}">"#,
        height + 26.0,
        height + 26.0
    );
    let mut x = 0.0;
    for (coverage, n) in &s.completeness.counts {
        if *n == 0 || total == 0 {
            continue;
        }
        let w = width * *n as f64 / total as f64;
        let _ = write!(
            out,
            r#"<rect x="{x:.1}" y="0" width="{w:.1}" height="{height}" fill="{}"><title>{}: {n}</title></rect>"#,
            coverage_colour(*coverage),
            coverage.label()
        );
        x += w;
    }
    let mut lx = 0.0;
    for (coverage, n) in &s.completeness.counts {
        let _ = write!(
            out,
            r#"<rect x="{lx}" y="{}" width="10" height="10" fill="{}"/><text x="{}" y="{}">{} {n}</text>"#,
            height + 8.0,
            coverage_colour(*coverage),
            lx + 14.0,
            height + 17.0,
            coverage.label()
        );
        lx += 150.0;
    }
    out.push_str("</svg>");
}

/// A weekday × hour grid, darker for more session starts.
fn heat_map(out: &mut String, s: &Summary) {
    let max = s.heat_map.counts.iter().flatten().copied().max().unwrap_or(0).max(1);
    let (cell, left, top) = (28.0, 40.0, 18.0);
    let (w, h) = (left + 24.0 * cell, top + 7.0 * cell);
    let _ = write!(
        out,
        r#"<svg class="chart" role="img" aria-label="Session starts by weekday and hour" width="{w}" height="{h}" viewBox="0 0 {w} {h}">"#
    );
    for hour in (0..24).step_by(3) {
        let _ =
            write!(out, r#"<text x="{}" y="12">{hour:02}</text>"#, left + hour as f64 * cell + 4.0);
    }
    for (d, row) in s.heat_map.counts.iter().enumerate() {
        let y = top + d as f64 * cell;
        let _ = write!(out, r#"<text x="0" y="{}">{}</text>"#, y + 18.0, WEEKDAYS[d]);
        for (hour, n) in row.iter().enumerate() {
            let opacity = if *n == 0 { 0.06 } else { 0.2 + 0.8 * *n as f64 / max as f64 };
            let _ = write!(
                out,
                r##"<rect x="{:.1}" y="{y:.1}" width="{}" height="{}" rx="3" fill="#1565c0" fill-opacity="{opacity:.2}"><title>{} {hour:02}:00 — {n} session(s)</title></rect>"##,
                left + hour as f64 * cell,
                cell - 2.0,
                cell - 2.0,
                WEEKDAYS[d]
            );
        }
    }
    out.push_str("</svg>");
}

/// Horizontal bars for the top entries of a ranking.
fn bars(out: &mut String, label: &str, rows: &[(String, u64)], colour: &str) {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    let (row_h, label_w, bar_w) = (22.0, 230.0, 300.0);
    let h = row_h * rows.len().max(1) as f64;
    let w = label_w + bar_w + 50.0;
    let _ = write!(
        out,
        r#"<svg class="chart" role="img" aria-label="{}" width="{w}" height="{h}" viewBox="0 0 {w} {h}">"#,
        escape(label)
    );
    if rows.is_empty() {
        let _ = write!(out, r#"<text x="0" y="15">none</text>"#);
    }
    for (i, (name, n)) in rows.iter().enumerate() {
        let y = i as f64 * row_h;
        let short: String = if name.chars().count() > 32 {
            name.chars().take(31).chain(['…']).collect()
        } else {
            name.clone()
        };
        let bw = bar_w * *n as f64 / max as f64;
        let _ = write!(
            out,
            r#"<text x="0" y="{:.1}">{}</text><rect x="{label_w}" y="{:.1}" width="{bw:.1}" height="{}" fill="{colour}"><title>{}: {n}</title></rect><text x="{:.1}" y="{:.1}">{n}</text>"#,
            y + 15.0,
            escape(&short),
            y + 3.0,
            row_h - 6.0,
            escape(name),
            label_w + bw + 6.0,
            y + 15.0
        );
    }
    out.push_str("</svg>");
}

fn top(rows: &[Count]) -> Vec<(String, u64)> {
    rows.iter().take(BARS).map(|c| (c.name.clone(), c.count)).collect()
}

fn session_table(out: &mut String, title: &str, list: &Listed<SessionRef>) {
    if list.total == 0 {
        return;
    }
    let _ = write!(out, "<h3>{} ({})</h3><table><tr><th>Session</th><th>Person</th><th>Instance</th><th>Started</th><th>Detail</th></tr>", escape(title), list.total);
    for r in &list.items {
        let _ = write!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            escape(&r.session_id),
            escape(&r.person),
            escape(&r.instance),
            escape(r.started_at.as_deref().unwrap_or("—")),
            escape(r.detail.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</table>");
    if list.cut() {
        let _ = write!(
            out,
            "<p class=\"note\">{} more in the JSON summary.</p>",
            list.total - list.items.len() as u64
        );
    }
}

const STYLE: &str = "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:1100px;color:#1c2833;padding:0 16px}\
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde;padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}\
.verdict{font-size:20px;font-weight:600;margin:12px 0 4px}.ok{color:#2e7d32}.warn{color:#c62828}.muted,.note{color:#5d6d7e}\
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:8px 28px}\
svg.chart{font-size:11px;fill:#1c2833;max-width:100%;height:auto}table{border-collapse:collapse;margin:6px 0;font-size:13px}\
td,th{border:1px solid #dde;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f4f6f8}code{font-size:12px}";

/// The summary as one self-contained HTML page, charts first.
pub fn render(s: &Summary) -> String {
    let mut out = String::new();
    let title = format!("Access summary: {} {}", s.kind.as_str(), s.period);
    let _ = write!(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>", escape(&title));
    let _ = write!(out, "<h1>{}</h1>", escape(&title));
    let good = s.headline.percent_full_transcript.is_none_or(|p| p >= 100.0);
    let _ = write!(
        out,
        "<p class=\"verdict {}\">{}</p>",
        if good { "ok" } else { "warn" },
        escape(&headline(s))
    );
    let _ = write!(out, "<p>{}</p><p class=\"muted\">Sessions started {} to {} (UTC days), judged at {}; grace period {} minutes.</p>", escape(&totals(s)), s.from, s.to, s.as_of, s.grace_minutes);
    if s.empty {
        out.push_str("<p class=\"verdict\">Empty period: no sessions, denied attempts or audit records were found.</p></body></html>\n");
        return out;
    }
    out.push_str("<h2>Transcript coverage</h2>");
    coverage_bar(&mut out, s);
    let _ = write!(out, "<h2>When sessions start ({})</h2>", escape(&s.heat_map.time_zone));
    heat_map(&mut out, s);
    out.push_str("<div class=\"grid\"><div><h2>By person</h2>");
    bars(&mut out, "Sessions by person", &top(&s.by_person), "#1565c0");
    out.push_str("</div><div><h2>By instance</h2>");
    bars(&mut out, "Sessions by instance", &top(&s.by_instance), "#00838f");
    if s.by_account_region.len() > 1 {
        out.push_str("</div><div><h2>By account and region</h2>");
        bars(&mut out, "Sessions by account and region", &top(&s.by_account_region), "#6a1b9a");
    }
    out.push_str("</div><div><h2>Findings</h2>");
    let findings: Vec<(String, u64)> = s
        .findings
        .iter()
        .take(BARS)
        .map(|f| (format!("{} ({})", f.rule_id, f.severity), f.count))
        .collect();
    bars(&mut out, "Findings by rule", &findings, "#ad1457");
    out.push_str("</div><div><h2>Denied attempts</h2>");
    bars(&mut out, "Denied attempts by person", &top(&s.denied.by_person), "#6d4c41");
    out.push_str("</div></div>");

    out.push_str("<h2>Completeness</h2>");
    let c = &s.completeness;
    session_table(&mut out, "Missing transcripts", &c.missing);
    session_table(&mut out, "Truncated transcripts", &c.truncated);
    session_table(&mut out, "Unparseable transcripts", &c.unparseable);
    session_table(
        &mut out,
        "Reported from the CloudWatch stream only (no transcript)",
        &c.stream_only,
    );
    session_table(&mut out, "Transcripts without a session record", &c.transcripts_without_record);
    session_table(&mut out, "Transcripts replaced after they were reported", &c.replaced);
    session_table(&mut out, "Uploads that are not their session's evidence", &c.untrusted);
    session_table(&mut out, "Still within the grace period", &c.pending);
    session_table(&mut out, "Unlogged by design", &c.unlogged_by_design);

    out.push_str("<h2>First-seen person → instance</h2>");
    match &s.new_pairs.baseline {
        Some(b) => {
            let _ = write!(out, "<p class=\"muted\">Not seen up to {}.</p>", escape(b));
        }
        None => out.push_str(
            "<p class=\"muted\">No earlier summary to compare with: every pair is new.</p>",
        ),
    }
    out.push_str("<ul>");
    for p in &s.new_pairs.pairs {
        let _ =
            write!(out, "<li>{} → <code>{}</code></li>", escape(&p.person), escape(&p.instance));
    }
    out.push_str("</ul>");

    let d = &s.durations;
    out.push_str("<h2>Durations and hours</h2><p>");
    match (d.median_minutes, d.p95_minutes, d.longest_minutes) {
        (Some(m), Some(p), Some(l)) => {
            let _ = write!(
                out,
                "Median {m} min, p95 {p} min, longest {l} min ({} sessions with a known end). ",
                d.measured
            );
        }
        _ => out.push_str("No session with a known end. "),
    }
    if let Some(share) = s.off_hours.share {
        let _ = write!(
            out,
            "{} session(s) off hours ({}; business hours {}).",
            s.off_hours.sessions,
            percent(share),
            escape(&s.off_hours.business_hours)
        );
    }
    out.push_str("</p>");

    let _ = write!(out, "<h2>Most frequent commands</h2><p class=\"muted\">{} command(s), {} privileged{}.</p><table><tr><th>Command</th><th>Count</th></tr>", s.commands.total, s.commands.privileged, if s.commands.approximate { "; counts are lower bounds" } else { "" });
    for c in &s.commands.top {
        let _ =
            write!(out, "<tr><td><code>{}</code></td><td>{}</td></tr>", escape(&c.name), c.count);
    }
    out.push_str("</table><h2>Sessions by document</h2><table><tr><th>Document (session type)</th><th>Sessions</th></tr>");
    for c in &s.documents {
        let _ = write!(out, "<tr><td>{}</td><td>{}</td></tr>", escape(&c.name), c.count);
    }
    out.push_str("</table>");
    if !s.port_forwards.is_empty() {
        out.push_str("<h2>Port forwarding by destination</h2><table><tr><th>Destination</th><th>Sessions</th></tr>");
        for c in &s.port_forwards {
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td></tr>",
                escape(&c.name),
                c.count
            );
        }
        out.push_str("</table>");
    }
    if s.guardduty.total > 0 {
        let _ = write!(
            out,
            "<h2>GuardDuty findings on instances ({})</h2><table><tr><th>Finding</th><th>Severity</th><th>Instance</th><th>Last seen</th><th>Sessions there</th></tr>",
            s.guardduty.total
        );
        for t in &s.guardduty.items {
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                escape(&t.finding_type),
                t.severity,
                escape(&t.instance),
                escape(&t.last_seen),
                escape(&t.sessions_text())
            );
        }
        out.push_str("</table>");
    }
    if s.preferences.total > 0 {
        let _ = write!(
            out,
            "<h2>Session Manager preferences changed ({})</h2><table><tr><th>Account/region</th><th>When</th><th>Call</th><th>By</th><th>Verdict</th><th>Why</th></tr>",
            s.preferences.total
        );
        for p in &s.preferences.items {
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td><strong>{}</strong></td><td>{}</td></tr>",
                escape(&p.place),
                escape(&p.time),
                escape(&p.call),
                escape(&p.who),
                escape(&p.verdict),
                escape(&p.why)
            );
        }
        out.push_str("</table>");
    }
    if s.corrupt.total > 0 {
        let _ = write!(
            out,
            "<h2>Unreadable inputs ({})</h2><table><tr><th>Source</th><th>Error</th></tr>",
            s.corrupt.total
        );
        for c in &s.corrupt.items {
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td></tr>",
                escape(&c.source),
                escape(&c.error)
            );
        }
        out.push_str("</table>");
    }
    let _ = writeln!(out, "<p class=\"note\">{}</p></body></html>", escape(&s.generator));
    out
}
