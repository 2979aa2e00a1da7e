//! What Session Manager itself checks of a Session document and of the parameters a
//! StartSession passes to it: the document schema 1.0 (`sessionType`, `inputs`, `properties`,
//! `parameters`) and each parameter's `allowedValues` / `allowedPattern`. The provisioner runs
//! [`check_document`] on every document before it writes one; the start audit runs
//! [`check_parameters`] on what a session asked for, so a document loosened in the console or a
//! parameter CloudTrail shows outside its constraints is a finding, not a silent pass.

use std::collections::BTreeMap;

use regex::Regex;
use serde_json::Value;

/// The session types a Session document may declare.
pub const SESSION_TYPES: [&str; 4] =
    ["Standard_Stream", "Port", "InteractiveCommands", "NonInteractiveCommands"];
const PARAMETER_TYPES: [&str; 6] =
    ["String", "StringList", "Integer", "Boolean", "StringMap", "MapList"];
const TOP_LEVEL: [&str; 6] =
    ["schemaVersion", "description", "sessionType", "inputs", "parameters", "properties"];

/// The parameters a StartSession passed (CloudTrail's `requestParameters.parameters`).
pub type Parameters = BTreeMap<String, Vec<String>>;

/// The `{{ name }}` references in a text, names trimmed.
pub fn references(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(end) = rest[start..].find("}}") else { break };
        out.push(rest[start + 2..start + end].trim().to_string());
        rest = &rest[start + end + 2..];
    }
    out
}

fn strings_in(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings_in(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings_in(x, out)),
        _ => {}
    }
}

/// Every problem Session Manager would refuse the document for (or that would make its
/// parameters unchecked): empty when the document is a valid Session document.
pub fn check_document(doc: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(top) = doc.as_object() else {
        return vec!["a Session document is a JSON object".into()];
    };
    for key in top.keys().filter(|k| !TOP_LEVEL.contains(&k.as_str())) {
        problems.push(format!("unknown element '{key}'"));
    }
    if doc["schemaVersion"] != "1.0" {
        problems.push(format!(
            "schemaVersion is {}, Session documents take \"1.0\"",
            doc["schemaVersion"]
        ));
    }
    let session_type = doc["sessionType"].as_str().unwrap_or_default();
    if !SESSION_TYPES.contains(&session_type) {
        problems.push(format!(
            "sessionType '{session_type}' is not one of {}",
            SESSION_TYPES.join(", ")
        ));
    }
    let properties = &doc["properties"];
    match session_type {
        "Standard_Stream" if !doc["inputs"].is_object() => problems
            .push("a Standard_Stream document needs its inputs (the logging preferences)".into()),
        "Port" => {
            if properties["portNumber"].as_str().is_none() {
                problems.push("a Port document needs properties.portNumber".into());
            }
            let kind = properties["type"].as_str();
            if !matches!(kind, None | Some("LocalPortForwarding")) {
                problems.push(format!("properties.type {kind:?} is not LocalPortForwarding"));
            }
            if properties.get("host").is_some() && kind.is_none() {
                problems.push("properties.host needs properties.type LocalPortForwarding".into());
            }
        }
        "InteractiveCommands" | "NonInteractiveCommands" => {
            let platforms = ["linux", "windows", "macos"];
            let commands = platforms.iter().filter(|p| properties[**p]["commands"].is_string());
            if commands.count() == 0 {
                problems.push(format!(
                    "a {session_type} document needs properties.<linux|windows|macos>.commands"
                ));
            }
        }
        _ => {}
    }
    let declared = doc["parameters"].as_object().cloned().unwrap_or_default();
    let mut used = Vec::new();
    strings_in(properties, &mut used);
    let used: Vec<String> = used.iter().flat_map(|s| references(s)).collect();
    for name in &used {
        if !declared.contains_key(name) {
            problems.push(format!("properties use {{{{ {name} }}}}, which is not a parameter"));
        }
    }
    for (name, spec) in &declared {
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) {
            problems.push(format!("parameter name '{name}' has characters SSM refuses"));
        }
        if !used.contains(name) {
            problems.push(format!("parameter '{name}' is declared but no property uses it"));
        }
        let kind = spec["type"].as_str().unwrap_or_default();
        if !PARAMETER_TYPES.contains(&kind) {
            problems.push(format!(
                "parameter '{name}': type '{kind}' is not one of {}",
                PARAMETER_TYPES.join(", ")
            ));
        }
        if let Some(p) = spec["allowedPattern"].as_str() {
            if let Err(e) = Regex::new(p) {
                problems.push(format!("parameter '{name}': allowedPattern does not compile: {e}"));
            }
        }
        if spec["allowedValues"].as_array().is_some_and(Vec::is_empty) {
            problems.push(format!(
                "parameter '{name}': allowedValues is empty (nothing could be passed)"
            ));
        }
        if let Some(default) = spec.get("default") {
            let values = default_values(default);
            if let Err(why) = check_value(name, spec, &values) {
                problems.push(format!("parameter '{name}': its default is refused: {why}"));
            }
        }
    }
    problems
}

fn default_values(default: &Value) -> Vec<String> {
    match default {
        Value::Array(a) => {
            a.iter().map(|v| v.as_str().map_or(v.to_string(), str::to_string)).collect()
        }
        Value::String(s) => vec![s.clone()],
        other => vec![other.to_string()],
    }
}

/// Whether `values` satisfy one parameter's declaration.
fn check_value(name: &str, spec: &Value, values: &[String]) -> Result<(), String> {
    let kind = spec["type"].as_str().unwrap_or("String");
    if kind != "StringList" && values.len() != 1 {
        return Err(format!("'{name}' takes one value, {} given", values.len()));
    }
    let allowed: Option<Vec<&str>> =
        spec["allowedValues"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect());
    let pattern = spec["allowedPattern"].as_str().map(Regex::new);
    for v in values {
        if let Some(list) = &allowed {
            if !list.contains(&v.as_str()) {
                return Err(format!("'{name}' = {v:?} is not one of {}", list.join(", ")));
            }
        }
        match &pattern {
            Some(Ok(re)) if !re.is_match(v) => {
                return Err(format!("'{name}' = {v:?} does not match {}", re.as_str()))
            }
            Some(Err(e)) => return Err(format!("'{name}': allowedPattern does not compile: {e}")),
            _ => {}
        }
        if kind == "Integer" && v.parse::<i64>().is_err() {
            return Err(format!("'{name}' = {v:?} is not an integer"));
        }
    }
    Ok(())
}

/// The parameters a session runs with (what it passed, defaults for the rest), or every reason
/// Session Manager refuses them: an undeclared name, a missing required one, a value outside
/// `allowedValues` / `allowedPattern`.
pub fn check_parameters(doc: &Value, given: &Parameters) -> Result<Parameters, Vec<String>> {
    let declared = doc["parameters"].as_object().cloned().unwrap_or_default();
    let mut problems = Vec::new();
    for name in given.keys().filter(|n| !declared.contains_key(*n)) {
        problems.push(format!("'{name}' is not a parameter of the document"));
    }
    let mut resolved = Parameters::new();
    for (name, spec) in &declared {
        let values = match (given.get(name), spec.get("default")) {
            (Some(v), _) => v.clone(),
            (None, Some(d)) => default_values(d),
            (None, None) => {
                problems.push(format!("'{name}' is required"));
                continue;
            }
        };
        if let Err(why) = check_value(name, spec, &values) {
            problems.push(why);
        }
        resolved.insert(name.clone(), values);
    }
    if problems.is_empty() {
        Ok(resolved)
    } else {
        Err(problems)
    }
}

/// A text with its `{{ name }}` references replaced by the parameters' values (list values
/// joined by spaces), as the agent substitutes them.
pub fn substitute(text: &str, parameters: &Parameters) -> String {
    let mut out = text.to_string();
    for (name, values) in parameters {
        let value = values.join(" ");
        for form in [format!("{{{{ {name} }}}}"), format!("{{{{{name}}}}}")] {
            out = out.replace(&form, &value);
        }
    }
    out
}
