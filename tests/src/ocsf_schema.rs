//! OCSF events checked against the schema: a compiled subset of OCSF 1.1.0 for the classes we
//! write (`tests/fixtures/ocsf/ocsf-1.1.0-subset.json`, made from the ocsf/ocsf-schema
//! repository by `compile_subset.py` beside it). Every required attribute present, no
//! attribute the class or object does not define, types and enum values as the schema says,
//! `type_uid` and `category_uid` consistent with the class.

use std::sync::OnceLock;

use serde_json::Value;

fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let path = crate::fixture("ocsf/ocsf-1.1.0-subset.json");
        let text = std::fs::read_to_string(&path).expect("the OCSF schema subset");
        serde_json::from_str(&text).expect("schema JSON")
    })
}

/// What is wrong with `event` by the schema (empty: valid).
pub fn problems(event: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let s = schema();
    let Some(class_uid) = event["class_uid"].as_u64() else {
        return vec!["class_uid missing".into()];
    };
    let class = &s["classes"][class_uid.to_string()];
    if class.is_null() {
        return vec![format!("class {class_uid} is not one we write")];
    }
    if event["category_uid"].as_u64() != class["category_uid"].as_u64() {
        out.push(format!("category_uid is not {}", class["category_uid"]));
    }
    let activity = event["activity_id"].as_u64().unwrap_or(u64::MAX);
    if event["type_uid"].as_u64() != Some(class_uid * 100 + activity) {
        out.push("type_uid is not class_uid * 100 + activity_id".into());
    }
    if event["metadata"]["version"] != s["version"] {
        out.push(format!("metadata.version is not {}", s["version"]));
    }
    check_object(event, &class["attributes"], class["name"].as_str().unwrap(), &mut out);
    out
}

fn check_object(value: &Value, attributes: &Value, path: &str, out: &mut Vec<String>) {
    let Some(fields) = value.as_object() else {
        out.push(format!("{path}: not an object"));
        return;
    };
    let defined = attributes.as_object().expect("attributes");
    for (name, spec) in defined {
        if spec["requirement"] == "required" && fields.get(name).is_none_or(Value::is_null) {
            out.push(format!("{path}.{name}: required, missing"));
        }
    }
    for (name, v) in fields {
        let Some(spec) = defined.get(name) else {
            out.push(format!("{path}.{name}: not an attribute of {path}"));
            continue;
        };
        let at = format!("{path}.{name}");
        if spec["is_array"] == true {
            match v.as_array() {
                Some(items) => items.iter().for_each(|i| check_value(i, spec, &at, out)),
                None => out.push(format!("{at}: not an array")),
            }
        } else {
            check_value(v, spec, &at, out);
        }
    }
}

fn check_value(v: &Value, spec: &Value, at: &str, out: &mut Vec<String>) {
    let ok = match spec["type"].as_str().unwrap() {
        // OCSF's `object` (as `unmapped` is typed) is any collection of attributes.
        "object" if spec["object"] == "object" => v.is_object(),
        "object" => {
            let name = spec["object"].as_str().unwrap();
            let object = &schema()["objects"][name]["attributes"];
            check_object(v, object, at, out);
            true
        }
        "string_t" => v.is_string(),
        "integer_t" | "long_t" => v.is_i64() || v.is_u64(),
        "float_t" => v.is_number(),
        "boolean_t" => v.is_boolean(),
        "json_t" => true,
        other => panic!("{at}: schema type {other} not known to this check"),
    };
    if !ok {
        out.push(format!("{at}: not a {}", spec["type"]));
    }
    if let Some(allowed) = spec["enum"].as_array() {
        if !allowed.contains(v) {
            out.push(format!("{at}: {v} is not one of its enum values"));
        }
    }
}
