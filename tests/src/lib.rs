//! Shared helpers for the integration tests: fixture paths, the local AWS harness and a Lambda
//! Runtime API double that runs the functions' real binaries. (The engine's own tests live in
//! the engine crate and build without the SDK.)

pub mod compliance;
#[path = "../../shared/session-audit/benches/counting_alloc.rs"]
pub mod counting_alloc;
pub mod digest_chain;
pub mod doubles;
pub mod findings_capture;
mod http;
pub mod iam_calls;
pub mod iam_policy;
pub mod least_privilege;
pub mod live_stream;
pub mod local_aws;
pub mod ocsf_schema;
pub mod organization;
pub mod organization_proof;
pub mod pipeline;
pub mod resource_policy;
pub mod runtime_api;
pub mod sanctioned_access;
pub mod synthetic_week;
pub mod template;

use std::path::PathBuf;

/// The account moto serves when credentials do not name another.
pub const EMULATOR_ACCOUNT: &str = "123456789012";
/// The region the emulator's clients and functions run in.
pub const EMULATOR_REGION: &str = "us-east-1";

/// The functions' own account and region settings (`ACCOUNT_ID`, `AWS_REGION`) as the template
/// sets them, for a settings reader: the emulator's account and region.
pub fn home_setting(name: &str) -> Option<String> {
    match name {
        "ACCOUNT_ID" => Some(EMULATOR_ACCOUNT.to_string()),
        "AWS_REGION" => Some(EMULATOR_REGION.to_string()),
        _ => None,
    }
}

/// Session `id` of the emulator's own account and region (where the tests' sessions run).
pub fn local_session(id: &str) -> session_audit::keys::SessionAt {
    let place = session_audit::keys::Place::new(EMULATOR_ACCOUNT, EMULATOR_REGION).unwrap();
    session_audit::keys::SessionAt::new(place, id).expect("a valid session ID")
}

/// `tests/fixtures/<rel>`.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(rel)
}

/// Markdown headings one level deeper, to sit under a docs page's title.
pub fn demote_headings(md: &str) -> String {
    md.lines()
        .map(|l| if l.starts_with('#') { format!("#{l}\n") } else { format!("{l}\n") })
        .collect()
}

/// Whether this run rewrites the examples in `docs/` instead of checking them.
pub fn updating_doc_examples() -> bool {
    std::env::var("UPDATE_DOC_EXAMPLES").is_ok_and(|v| v == "1")
}

/// `docs/<file>` in the repository.
pub fn doc_path(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs").join(file)
}

/// Check that the block of `docs/<file>` between `<!-- {name}:start -->` and
/// `<!-- {name}:end -->` is `content` (the examples in docs/ are written by the tests that check
/// them). `UPDATE_DOC_EXAMPLES=1` rewrites the block instead.
pub fn check_doc_block(file: &str, name: &str, content: &str) {
    let path = doc_path(file);
    let doc = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (start, end) = (format!("<!-- {name}:start -->\n"), format!("<!-- {name}:end -->"));
    let a = doc.find(&start).unwrap_or_else(|| panic!("docs/{file} has no {start}")) + start.len();
    let b = doc.find(&end).unwrap_or_else(|| panic!("docs/{file} has no {end}"));
    if updating_doc_examples() {
        std::fs::write(&path, format!("{}{content}{}", &doc[..a], &doc[b..])).unwrap();
        return;
    }
    assert_eq!(&doc[a..b], content, "docs/{file} is stale: rerun with UPDATE_DOC_EXAMPLES=1");
}
