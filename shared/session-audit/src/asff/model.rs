//! The ASFF records as Security Hub reads them (the subset Session Audit fills) and the product
//! they are imported as.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The only ASFF schema version there is.
pub const SCHEMA_VERSION: &str = "2018-10-08";

/// The custom integration a stack imports as: `arn:<partition>:securityhub:<region>:<account>:
/// product/<account>/default`, which every account with Security Hub enabled has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// `aws`, `aws-cn`, `aws-us-gov`.
    pub partition: String,
    /// The Security Hub region findings are imported into.
    pub region: String,
    /// The importing account.
    pub account: String,
}

message_error!(
    /// A product ARN that is not an account's default custom-integration product.
    BadProduct
);

impl Product {
    /// The product's ARN.
    pub fn arn(&self) -> String {
        let Product { partition, region, account } = self;
        format!("arn:{partition}:securityhub:{region}:{account}:product/{account}/default")
    }

    /// Read a product ARN (`SECURITY_HUB_PRODUCT`).
    pub fn parse(arn: &str) -> Result<Product, BadProduct> {
        let bad = || {
            BadProduct(format!(
                "`{arn}` is not a Security Hub default product ARN \
                 (arn:<partition>:securityhub:<region>:<account>:product/<account>/default)"
            ))
        };
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let [_arn @ "arn", partition, "securityhub", region, account, resource] = parts[..] else {
            return Err(bad());
        };
        let owner = resource.strip_prefix("product/").and_then(|r| r.strip_suffix("/default"));
        let ok = is_account(account)
            && owner == Some(account)
            && !partition.is_empty()
            && !region.is_empty()
            && region.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !ok {
            return Err(bad());
        }
        Ok(Product { partition: partition.into(), region: region.into(), account: account.into() })
    }
}

/// Whether `s` is a 12-digit account ID.
pub fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Whether a finding is still standing (`ACTIVE`) or was withdrawn (`ARCHIVED`: Security Hub
/// then moves a NEW or NOTIFIED workflow to RESOLVED).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RecordState {
    /// The finding stands.
    Active,
    /// The finding was withdrawn (the session was later found fine).
    Archived,
}

/// One ASFF finding, as much of the format as Session Audit fills.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)] // the ASFF attribute names say what each is
pub struct AsffFinding {
    pub schema_version: String,
    pub id: String,
    pub product_arn: String,
    pub product_name: String,
    pub company_name: String,
    pub region: String,
    pub generator_id: String,
    pub aws_account_id: String,
    pub types: Vec<String>,
    pub first_observed_at: String,
    pub created_at: String,
    pub updated_at: String,
    pub severity: AsffSeverity,
    pub title: String,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    pub product_fields: BTreeMap<String, String>,
    pub resources: Vec<AsffResource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compliance: Option<AsffCompliance>,
    pub record_state: RecordState,
}

/// `Severity`: the label Security Hub sorts by and ours as given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct AsffSeverity {
    pub label: String,
    pub original: String,
}

/// One `Resources` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct AsffResource {
    pub r#type: String,
    pub id: String,
    pub partition: String,
    pub region: String,
    /// `Details`: only `Other`, what the ARN alone does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<AsffDetails>,
}

/// A resource's `Details`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct AsffDetails {
    pub other: BTreeMap<String, String>,
}

/// One `Compliance.AssociatedStandards` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct AsffStandard {
    pub standards_id: String,
}

/// `Compliance`: the controls the rule maps to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct AsffCompliance {
    pub status: String,
    pub related_requirements: Vec<String>,
    /// The Security Hub standards the requirements belong to.
    pub associated_standards: Vec<AsffStandard>,
}
