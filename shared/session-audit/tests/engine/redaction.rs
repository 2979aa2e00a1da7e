//! Every spelling of a secret the redaction must know (`tests/fixtures/redaction/cases.json`):
//! each is replaced, and a near-miss beside it is stored as typed.

use serde_json::Value;
use session_audit::redact::Redactor;

use crate::fixture;

/// The table: (text, secret, near-miss).
pub fn cases() -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(fixture("redaction/cases.json")).unwrap();
    let rows: Vec<Value> = serde_json::from_str(&text).unwrap();
    let field = |r: &Value, k: &str| r[k].as_str().unwrap().to_string();
    rows.iter().map(|r| (field(r, "text"), field(r, "secret"), field(r, "near_miss"))).collect()
}

#[test]
fn every_spelling_in_the_table_is_redacted_and_its_near_miss_is_not() {
    let redactor = Redactor::new(Some(b"table-key"));
    let rows = cases();
    assert!(rows.len() >= 25, "the table is read: {}", rows.len());
    let mut failures = Vec::new();
    for (text, secret, near_miss) in &rows {
        let out = redactor.redact(text);
        if out.contains(secret.as_str()) || !out.contains("[REDACTED:") {
            failures.push(format!("kept: {text:?} -> {out:?}"));
        }
        let near = redactor.redact(near_miss);
        if near != near_miss.as_str() {
            failures.push(format!("changed: {near_miss:?} -> {near:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
