//! `Types`: where a finding sits in the ASFF taxonomy (`namespace/category/classifier`). Derived
//! from the rule's ATT&CK techniques (tactic -> `TTPs/<tactic>`, exfiltration and impact ->
//! `Effects/…`, valid-account abuse -> `Unusual Behaviors/User`), so a user's own rule with
//! techniques lands in the right place too; rules about how Session Manager is configured are
//! configuration checks; a rule with neither is a best-practice check.

use crate::finding::Finding;

/// The namespaces ASFF allows.
pub const NAMESPACES: [&str; 5] = [
    "Software and Configuration Checks",
    "TTPs",
    "Effects",
    "Unusual Behaviors",
    "Sensitive Data Identifications",
];

/// The ATT&CK tactic ASFF files each technique under (by its base ID), for the techniques
/// rules map to. A technique spanning several tactics is filed under the one its rules mean
/// here (T1078 Valid Accounts: the way in).
const TECHNIQUES: &[(&str, &str)] = &[
    ("T1003", "TTPs/Credential Access"),
    ("T1021", "TTPs/Lateral Movement"),
    ("T1027", "TTPs/Defense Evasion"),
    ("T1036", "TTPs/Defense Evasion"),
    ("T1048", "Effects/Data Exfiltration"),
    ("T1053", "TTPs/Persistence"),
    ("T1059", "TTPs/Execution"),
    ("T1070", "TTPs/Defense Evasion"),
    ("T1071", "TTPs/Command and Control"),
    ("T1078", "TTPs/Initial Access"),
    ("T1098", "TTPs/Persistence"),
    ("T1105", "TTPs/Command and Control"),
    ("T1136", "TTPs/Persistence"),
    ("T1140", "TTPs/Defense Evasion"),
    ("T1222", "TTPs/Defense Evasion"),
    ("T1485", "Effects/Data Destruction"),
    ("T1529", "Effects/Denial of Service"),
    ("T1543", "TTPs/Persistence"),
    ("T1546", "TTPs/Persistence"),
    ("T1547", "TTPs/Persistence"),
    ("T1548", "TTPs/Privilege Escalation"),
    ("T1552", "TTPs/Credential Access"),
    ("T1555", "TTPs/Credential Access"),
    ("T1561", "Effects/Data Destruction"),
    ("T1562", "TTPs/Defense Evasion"),
    ("T1564", "TTPs/Defense Evasion"),
    // Data Manipulation: a record of what happened altered after the fact.
    ("T1565", "Effects/Data Destruction"),
    ("T1567", "Effects/Data Exfiltration"),
    ("T1572", "TTPs/Command and Control"),
    ("T1611", "TTPs/Privilege Escalation"),
];

/// Built-in session rules about how Session Manager is set up, not about what someone did.
const CONFIGURATION_RULES: &[&str] = &[
    "SA-SES-PREFERENCES-DRIFT",
    "SA-SES-UNLOGGED-DOCUMENT",
    "SA-SES-TARGET-UNTAGGED",
    "SA-SES-NO-MFA",
    "SA-SES-TOO-LONG",
];

/// At most this many types per finding (ASFF's limit).
pub const MAX_TYPES: usize = 50;

/// The finding's types, most specific first, each once.
pub fn types(f: &Finding) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let techniques = f.frameworks.iter().filter(|r| r.framework == "MITRE ATT&CK");
    // A user's pack may name anything; a `/` would make a fourth part.
    for technique in techniques.map(|r| r.control.trim().replace('/', "-")) {
        let base = technique.split(|c: char| !c.is_ascii_alphanumeric()).next().unwrap_or_default();
        if let Some((_, place)) = TECHNIQUES.iter().find(|(id, _)| *id == base) {
            found.push(format!("{place}/{technique}"));
        }
        if base == "T1078" {
            found.push("Unusual Behaviors/User".into());
        }
    }
    if CONFIGURATION_RULES.contains(&f.rule_id.as_str()) || found.is_empty() {
        let controls = f.frameworks.iter().any(|r| r.framework != "MITRE ATT&CK");
        found.push(if controls {
            "Software and Configuration Checks/Industry and Regulatory Standards".into()
        } else {
            "Software and Configuration Checks/AWS Security Best Practices".into()
        });
    }
    let mut out: Vec<String> = Vec::new();
    for t in found {
        if !out.contains(&t) && out.len() < MAX_TYPES {
            out.push(t);
        }
    }
    out
}

/// Whether `t` is a well-formed type: one to three non-empty parts, the first a namespace.
pub fn is_type(t: &str) -> bool {
    let parts: Vec<&str> = t.split('/').collect();
    (1..=3).contains(&parts.len())
        && NAMESPACES.contains(&parts[0])
        && parts.iter().all(|p| !p.trim().is_empty())
}
