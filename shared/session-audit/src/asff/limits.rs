//! What Security Hub accepts: field lengths and counts, well-formed values, and requests of at
//! most 100 findings and 6 MB. [`problems`] checks one finding against all of it (the sink
//! sends none with a problem and counts it failed; the tests check every finding the pipeline
//! makes); [`batches`] cuts a list into requests.

use jiff::Timestamp;
use sha2::{Digest, Sha256};

use super::model::{is_account, AsffFinding, Product, SCHEMA_VERSION};
use super::types;

/// Findings per BatchImportFindings request.
pub const MAX_BATCH_FINDINGS: usize = 100;
/// Bytes of JSON per BatchImportFindings request (6 MB, with room for the envelope).
pub const MAX_BATCH_BYTES: usize = 6 * 1000 * 1000 - 4096;
/// Bytes of JSON per finding.
pub const MAX_FINDING_BYTES: usize = 240 * 1024;
pub(super) const TITLE_CHARS: usize = 256;
pub(super) const DESCRIPTION_CHARS: usize = 1024;
pub(super) const ID_CHARS: usize = 512;
pub(super) const URL_CHARS: usize = 2048;
pub(super) const FIELD_VALUE_CHARS: usize = 2048;
const FIELD_KEY_CHARS: usize = 128;
const MAX_FIELDS: usize = 50;
const MAX_RESOURCES: usize = 32;
pub(super) const MAX_REQUIREMENTS: usize = 32;
pub(super) const MAX_STANDARDS: usize = 10;

/// `s` cut to at most `max` characters, ending in `…` when cut.
pub(super) fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some(_) => {
            let end = s.char_indices().nth(max - 1).map_or(s.len(), |(i, _)| i);
            format!("{}…", &s[..end])
        }
    }
}

/// An `Id` within ASFF's length: as it is when short enough, else its start and a SHA-256 of
/// the whole (stable, so a re-import still updates the same finding).
pub(super) fn stable_id(id: &str) -> String {
    if id.chars().count() <= ID_CHARS {
        return id.to_string();
    }
    let hash = Sha256::digest(id.as_bytes());
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    let head: String = id.chars().take(ID_CHARS - hex.len() - 8).collect();
    format!("{head}…sha256:{hex}")
}

/// Everything Security Hub would refuse in `f` (empty: it would be accepted).
pub fn problems(f: &AsffFinding) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |ok: bool, what: &str| {
        if !ok {
            out.push(what.to_string());
        }
    };
    let chars = |s: &str| s.chars().count();
    check(f.schema_version == SCHEMA_VERSION, "SchemaVersion is not 2018-10-08");
    check(!f.id.is_empty() && chars(&f.id) <= ID_CHARS, "Id empty or over 512 characters");
    check(Product::parse(&f.product_arn).is_ok(), "ProductArn is not a default product ARN");
    check(
        !f.generator_id.is_empty() && chars(&f.generator_id) <= ID_CHARS,
        "GeneratorId empty or over 512 characters",
    );
    check(is_account(&f.aws_account_id), "AwsAccountId is not 12 digits");
    check(
        !f.types.is_empty() && f.types.len() <= types::MAX_TYPES,
        "Types: between 1 and 50 needed",
    );
    for t in &f.types {
        check(types::is_type(t), &format!("Types: `{t}` is not namespace/category/classifier"));
    }
    for (name, time) in [
        ("FirstObservedAt", &f.first_observed_at),
        ("CreatedAt", &f.created_at),
        ("UpdatedAt", &f.updated_at),
    ] {
        check(time.parse::<Timestamp>().is_ok(), &format!("{name} is not an RFC 3339 time"));
    }
    if let (Ok(created), Ok(updated)) =
        (f.created_at.parse::<Timestamp>(), f.updated_at.parse::<Timestamp>())
    {
        check(created <= updated, "CreatedAt is after UpdatedAt");
    }
    check(
        ["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"].contains(&f.severity.label.as_str()),
        "Severity.Label is not one of ASFF's five",
    );
    check(!f.title.is_empty() && chars(&f.title) <= TITLE_CHARS, "Title empty or over 256");
    check(
        !f.description.is_empty() && chars(&f.description) <= DESCRIPTION_CHARS,
        "Description empty or over 1024",
    );
    if let Some(url) = &f.source_url {
        check(
            url.starts_with("https://") && url.len() <= URL_CHARS,
            "SourceUrl is not an https URL",
        );
    }
    check(f.product_fields.len() <= MAX_FIELDS, "ProductFields: more than 50");
    for (k, v) in &f.product_fields {
        check(
            !k.is_empty() && chars(k) <= FIELD_KEY_CHARS && !k.starts_with("aws/"),
            &format!("ProductFields key `{k}` empty, too long or under aws/"),
        );
        check(chars(v) <= FIELD_VALUE_CHARS, &format!("ProductFields `{k}` over 2048"));
    }
    check(
        !f.resources.is_empty() && f.resources.len() <= MAX_RESOURCES,
        "Resources: between 1 and 32 needed",
    );
    for r in &f.resources {
        check(!r.r#type.is_empty() && !r.id.is_empty(), "Resources: Type and Id needed");
        check(chars(&r.id) <= ID_CHARS, "Resources: Id over 512 characters");
        check(
            ["aws", "aws-cn", "aws-us-gov"].contains(&r.partition.as_str()),
            "Resources: bad Partition",
        );
    }
    if let Some(c) = &f.compliance {
        check(
            ["PASSED", "WARNING", "FAILED", "NOT_AVAILABLE"].contains(&c.status.as_str()),
            "Compliance.Status is not one of ASFF's four",
        );
        check(c.related_requirements.len() <= MAX_REQUIREMENTS, "RelatedRequirements: over 32");
        check(c.associated_standards.len() <= MAX_STANDARDS, "AssociatedStandards: over 10");
    }
    check(
        serde_json::to_vec(f).is_ok_and(|j| j.len() <= MAX_FINDING_BYTES),
        "finding over 240 KiB",
    );
    out
}

/// `findings` cut into BatchImportFindings requests: at most [`MAX_BATCH_FINDINGS`] each and
/// [`MAX_BATCH_BYTES`] of JSON, in order.
pub fn batches(findings: &[AsffFinding]) -> Vec<&[AsffFinding]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, f) in findings.iter().enumerate() {
        let size = serde_json::to_vec(f).map_or(0, |j| j.len()) + 1;
        if i > start && (i - start == MAX_BATCH_FINDINGS || bytes + size > MAX_BATCH_BYTES) {
            out.push(&findings[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < findings.len() {
        out.push(&findings[start..]);
    }
    out
}
