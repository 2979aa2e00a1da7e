//! `make demo`: the whole Session Audit pipeline on this machine against the local emulator,
//! the functions running as their real binaries (see src/pipeline.rs). Progress goes to
//! stderr; where everything is, and the day's access summary, to stdout.

use std::path::PathBuf;

#[tokio::main]
async fn main() {
    let save = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/local-pipeline");
    let o = session_audit_tests::pipeline::run(false, Some(&save)).await;
    let save = save.canonicalize().unwrap_or(save);
    let count = |prefix: &str| o.kept_after_delete.iter().filter(|k| k.starts_with(prefix)).count();
    println!("Session Audit ran end to end on the local emulator in {:.0} s.\n", o.seconds);
    println!(
        "Log bucket {} (kept after the stack's Delete; instance {} {}):",
        o.bucket, o.instance_id, o.instance_state_after_delete
    );
    println!(
        "  session records  audit/sessions/dt={}/   {} objects",
        o.day,
        count("audit/sessions/")
    );
    println!(
        "  denied attempts  audit/denied/dt={}/     {} object(s)",
        o.day,
        count("audit/denied/")
    );
    println!(
        "  live state       audit/live/                {} object(s) ({} live findings published while alice's session ran)",
        count("audit/live/"),
        o.live.findings.len()
    );
    println!(
        "  reports          audit/reports/dt={}/    {} objects (JSON + Markdown per transcript)",
        o.day,
        count("audit/reports/")
    );
    for key in o.report_keys.iter().filter(|k| k.ends_with(".md")) {
        println!("                   {key}");
    }
    println!("  summary          {}", o.summary_keys.join("  "));
    println!("\nCopies of every audit object: {}", save.display());
    println!("Open the HTML summary: {}\n", save.join(&o.summary_keys[2]).display());
    println!("{}", o.summary_markdown);
    let org = &o.organization;
    println!(
        "\n# The organization's summary of {} (organization {}, AllowedRegions {})\n",
        session_audit_tests::organization::DAY,
        session_audit_tests::organization::ORGANIZATION,
        session_audit_tests::organization::ALLOWED_REGIONS
    );
    println!("{}", session_audit_tests::demote_headings(&org.summary_markdown));
}
