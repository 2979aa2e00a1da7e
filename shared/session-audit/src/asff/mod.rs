//! Findings as AWS Security Finding Format (ASFF) records for Security Hub's BatchImportFindings:
//! one custom-integration product per account (`product/<account>/default`), the finding event's
//! `finding_id` as the stable `Id` (re-importing updates, never duplicates), the rule as
//! `GeneratorId`, `Types` from the ASFF taxonomy. Pure: the AWS crate sends what is built here,
//! after [`problems`] has found nothing wrong with it.

use std::collections::BTreeMap;

use jiff::Timestamp;

use crate::finding::{Finding, FrameworkRef, Severity};
use crate::publish::{finding_id, FindingContext};

mod limits;
mod model;
mod types;

pub use limits::{batches, problems, MAX_BATCH_BYTES, MAX_BATCH_FINDINGS};
pub use model::{
    is_account, AsffCompliance, AsffDetails, AsffFinding, AsffResource, AsffSeverity, AsffStandard,
    BadProduct, Product, RecordState, SCHEMA_VERSION,
};
pub use types::types as finding_types;

/// Security Hub's severity label for ours.
pub fn severity_label(s: Severity) -> &'static str {
    match s {
        Severity::Info => "INFORMATIONAL",
        Severity::Low => "LOW",
        Severity::Medium => "MEDIUM",
        Severity::High => "HIGH",
        Severity::Critical => "CRITICAL",
    }
}

/// The ASFF finding for one published finding. `now` is the import time (`UpdatedAt`: Security
/// Hub keeps the newest); `CreatedAt`/`FirstObservedAt` are the finding's own time, so every
/// re-import of it carries the same. A withdrawn finding ([`RecordState::Archived`]) is
/// re-imported with the same `Id` and its compliance `PASSED`.
pub fn to_asff(
    finding: &Finding,
    ctx: &FindingContext,
    product: &Product,
    now: Timestamp,
    state: RecordState,
) -> AsffFinding {
    let updated = now.to_string();
    let observed = ctx.time.parse::<Timestamp>().map(|t| t.min(now).to_string()).ok();
    let region = if ctx.region.is_empty() { product.region.clone() } else { ctx.region.clone() };
    // Security Hub takes a default-product finding only under the importing account; the
    // session's own account names its resources and is kept in the fields.
    let account =
        ctx.account.clone().filter(|a| is_account(a)).unwrap_or_else(|| product.account.clone());
    let id = limits::stable_id(&finding_id(&ctx.origin_id, &finding.rule_id));
    let mut fields = BTreeMap::new();
    let mut field = |k: &str, v: Option<&str>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            fields.insert(format!("session-audit/{k}"), limits::cut(v, limits::FIELD_VALUE_CHARS));
        }
    };
    field("rule_id", Some(&finding.rule_id));
    field("account", ctx.account.as_deref());
    field("stage", Some(ctx.stage));
    field("session_id", ctx.session_id.as_deref());
    field("person", ctx.person.as_deref());
    field("principal", ctx.principal.as_deref());
    field("target", ctx.target.as_deref());
    field("record", Some(&ctx.record));
    field("command_seq", finding.command_seq.map(|n| n.to_string()).as_deref());
    field("occurrences", Some(&finding.occurrences.to_string()));
    if observed.is_none() {
        // Kept, not dropped: the time is the import's, and the finding says so.
        field("time_unknown", Some(if ctx.time.is_empty() { "(none)" } else { &ctx.time }));
    }
    AsffFinding {
        schema_version: SCHEMA_VERSION.into(),
        id,
        product_arn: product.arn(),
        product_name: "Session Audit".into(),
        company_name: "Session Audit".into(),
        region: region.clone(),
        generator_id: limits::cut(&finding.rule_id, limits::ID_CHARS),
        aws_account_id: product.account.clone(),
        types: types::types(finding),
        first_observed_at: observed.clone().unwrap_or_else(|| updated.clone()),
        created_at: observed.unwrap_or_else(|| updated.clone()),
        updated_at: updated,
        severity: AsffSeverity {
            label: severity_label(finding.severity).into(),
            original: finding.severity.as_str().into(),
        },
        title: limits::cut(&finding.title, limits::TITLE_CHARS),
        description: limits::cut(&description(finding, ctx), limits::DESCRIPTION_CHARS),
        source_url: source_url(&ctx.record, &product.partition, &region),
        product_fields: fields,
        resources: resources(ctx, &product.partition, &region, &account),
        compliance: compliance(finding, state),
        record_state: state,
    }
}

fn description(f: &Finding, ctx: &FindingContext) -> String {
    let who = ctx.person.as_deref().or(ctx.principal.as_deref()).unwrap_or("an unknown principal");
    let evidence =
        if f.evidence.is_empty() { String::new() } else { format!(" Evidence: {}", f.evidence) };
    // A finding about an account's settings (a spoke's preferences) has neither.
    let subject = match (ctx.session_id.as_deref(), ctx.target.as_deref()) {
        (None, None) => format!("by {who}"),
        (session, target) => format!(
            "session {} by {who} on {}",
            session.unwrap_or("no session"),
            target.unwrap_or("an unknown target")
        ),
    };
    format!("{} ({}, {} stage): {subject}.{evidence}", f.title, f.rule_id, ctx.stage)
}

/// The S3 console page of the record or report holding the finding (`s3://bucket/key` only).
fn source_url(record: &str, partition: &str, region: &str) -> Option<String> {
    let (bucket, key) = record.strip_prefix("s3://")?.split_once('/')?;
    let console = match partition {
        "aws" => "https://console.aws.amazon.com",
        "aws-cn" => "https://console.amazonaws.cn",
        "aws-us-gov" => "https://console.amazonaws-us-gov.com",
        _ => return None,
    };
    let url = format!(
        "{console}/s3/object/{}?region={}&prefix={}",
        urlencode(bucket),
        urlencode(region),
        urlencode(key)
    );
    (url.len() <= limits::URL_CHARS).then_some(url)
}

fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn resources(
    ctx: &FindingContext,
    partition: &str,
    region: &str,
    account: &str,
) -> Vec<AsffResource> {
    let resource = |r#type: &str, id: String, other: &[(&str, &str)]| AsffResource {
        r#type: r#type.into(),
        id: limits::cut(&id, limits::ID_CHARS),
        partition: partition.into(),
        region: region.into(),
        details: (!other.is_empty()).then(|| AsffDetails {
            other: other
                .iter()
                .map(|(k, v)| (k.to_string(), limits::cut(v, limits::FIELD_VALUE_CHARS)))
                .collect(),
        }),
    };
    let mut out = Vec::new();
    if let Some(target) = ctx.target.as_deref() {
        out.push(match target {
            t if t.starts_with("i-") && t[2..].bytes().all(|b| b.is_ascii_hexdigit()) => resource(
                "AwsEc2Instance",
                format!("arn:{partition}:ec2:{region}:{account}:instance/{t}"),
                &[],
            ),
            t if t.starts_with("mi-") && t[3..].bytes().all(|b| b.is_ascii_hexdigit()) => resource(
                "Other",
                format!("arn:{partition}:ssm:{region}:{account}:managed-instance/{t}"),
                &[("kind", "managed node")],
            ),
            t => resource("Other", t.to_string(), &[("kind", "session target")]),
        });
    }
    if let Some(principal) = ctx.principal.as_deref() {
        out.push(principal_resource(principal, &resource));
    }
    if let Some((bucket, key)) = ctx.record.strip_prefix("s3://").and_then(|r| r.split_once('/')) {
        out.push(resource("AwsS3Object", format!("arn:{partition}:s3:::{bucket}/{key}"), &[]));
    }
    if out.is_empty() {
        // ASFF needs one resource; the record's place is always known.
        out.push(resource("Other", ctx.record.clone(), &[("kind", "audit record")]));
    }
    out
}

/// The IAM resource behind a caller: an assumed-role session names its role (the resource a
/// responder acts on), with the session kept in the details.
fn principal_resource(
    principal: &str,
    resource: &impl Fn(&str, String, &[(&str, &str)]) -> AsffResource,
) -> AsffResource {
    let parts: Vec<&str> = principal.splitn(6, ':').collect();
    match parts[..] {
        ["arn", partition, "sts", "", account, rest] if rest.starts_with("assumed-role/") => {
            let role = rest["assumed-role/".len()..].split('/').next().unwrap_or_default();
            resource(
                "AwsIamRole",
                format!("arn:{partition}:iam::{account}:role/{role}"),
                &[("session_arn", principal)],
            )
        }
        ["arn", _, "iam", "", _, rest] if rest.starts_with("user/") => {
            resource("AwsIamUser", principal.to_string(), &[])
        }
        ["arn", _, "iam", "", _, rest] if rest.starts_with("role/") => {
            resource("AwsIamRole", principal.to_string(), &[])
        }
        _ => resource("Other", principal.to_string(), &[("kind", "principal")]),
    }
}

/// Security Hub standards a framework's requirements belong to.
fn standard(framework: &str) -> Option<&'static str> {
    match framework {
        "PCI DSS 4.0" => Some("standards/pci-dss/v/4.0.1"),
        "NIST SP 800-53 Rev. 5" => Some("standards/nist-800-53/v/5.0.0"),
        "CIS AWS Foundations 3.0" => Some("standards/cis-aws-foundations-benchmark/v/3.0.0"),
        _ => None,
    }
}

fn compliance(f: &Finding, state: RecordState) -> Option<AsffCompliance> {
    let controls: Vec<&FrameworkRef> =
        f.frameworks.iter().filter(|r| r.framework != "MITRE ATT&CK").collect();
    if controls.is_empty() {
        return None;
    }
    let mut standards: Vec<String> = Vec::new();
    for s in controls.iter().filter_map(|r| standard(&r.framework)) {
        if !standards.iter().any(|x| x == s) {
            standards.push(s.to_string());
        }
    }
    let status = match (state, f.severity) {
        (RecordState::Archived, _) => "PASSED",
        (_, Severity::Info) => "WARNING",
        _ => "FAILED",
    };
    Some(AsffCompliance {
        status: status.into(),
        related_requirements: controls
            .iter()
            .map(|r| format!("{} {}", r.framework, r.control))
            .take(limits::MAX_REQUIREMENTS)
            .collect(),
        associated_standards: standards
            .into_iter()
            .take(limits::MAX_STANDARDS)
            .map(|standards_id| AsffStandard { standards_id })
            .collect(),
    })
}

#[cfg(test)]
mod tests;
