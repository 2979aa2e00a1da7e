//! The house rules Cargo and the file tree can check: the engine and the CLI never depend on
//! the AWS SDK or an async/Lambda runtime; no crate's modules import each other in a circle,
//! and the engine's imports point down its layers; the audit key layout is spelled in one
//! file; the functions' mains stay thin; the integration tests build as few binaries.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::module_graph::read_crate;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every package `package` depends on through normal (not dev or build) dependencies.
fn normal_closure(metadata: &Value, package: &str) -> BTreeSet<String> {
    let names: BTreeMap<&str, &str> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let nodes: BTreeMap<&str, &Value> = metadata["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n))
        .collect();
    let start = names.iter().find(|(_, n)| **n == package).map(|(id, _)| *id).unwrap();
    let (mut seen, mut stack) = (BTreeSet::new(), vec![start]);
    while let Some(id) = stack.pop() {
        for dep in nodes[id]["deps"].as_array().unwrap() {
            let normal = dep["dep_kinds"].as_array().unwrap().iter().any(|k| k["kind"].is_null());
            let dep_id = dep["pkg"].as_str().unwrap();
            if normal && seen.insert(names[dep_id].to_string()) {
                stack.push(dep_id);
            }
        }
    }
    seen
}

#[test]
fn the_engine_and_the_cli_never_depend_on_aws_or_a_runtime() {
    // This machine's platform only: the packages of the others need not be downloaded.
    let rustc = Command::new("rustc").arg("-vV").output().expect("rustc -vV");
    let rustc = String::from_utf8(rustc.stdout).unwrap();
    let host = rustc.lines().find_map(|l| l.strip_prefix("host: ")).expect("host triple");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .args(["--filter-platform", host])
        .current_dir(root())
        .output()
        .expect("cargo metadata");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let metadata: Value = serde_json::from_slice(&out.stdout).unwrap();
    for package in ["session-audit", "session-audit-cli"] {
        let closure = normal_closure(&metadata, package);
        assert!(closure.contains("regex"), "{package}: the walk finds dependencies");
        let forbidden: Vec<_> = closure
            .iter()
            .filter(|n| {
                n.starts_with("aws-sdk-")
                    || [
                        "aws-config",
                        "tokio",
                        "lambda_runtime",
                        "aws_lambda_events",
                        "session-audit-aws",
                    ]
                    .contains(&n.as_str())
            })
            .collect();
        assert!(forbidden.is_empty(), "{package} depends on {forbidden:?}");
    }
    let aws = normal_closure(&metadata, "session-audit-aws");
    assert!(aws.contains("aws-sdk-s3") && aws.contains("session-audit"), "the walk sees the SDK");
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_dir() && !name.starts_with('.') && name != "target" {
            rust_files(&path, out);
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_key_layout_is_spelled_in_one_file_and_mains_stay_thin() {
    let mut files = Vec::new();
    rust_files(&root(), &mut files);
    let needle = ["format!(\"", "audit/"].concat();
    let spelled: Vec<_> = files
        .iter()
        .filter(|f| std::fs::read_to_string(f).unwrap().contains(&needle))
        .map(|f| f.strip_prefix(root()).unwrap().display().to_string())
        .collect();
    assert_eq!(spelled, ["shared/session-audit/src/keys/mod.rs"]);

    for main in std::fs::read_dir(root().join("functions")).unwrap() {
        let main = main.unwrap().path().join("src/main.rs");
        let lines = std::fs::read_to_string(&main).unwrap().lines().count();
        assert!(lines <= 60, "{} has {lines} lines: move logic to the crates", main.display());
    }

    let binaries = std::fs::read_dir(root().join("tests/tests"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "rs"))
        .count();
    assert!(binaries < 3, "tests/tests: {binaries} files plus the suite folder (at most 3)");
}

/// The engine's top-level modules by layer, top first: a module may use its own layer's and
/// the layers below. A new module must be placed here.
const ENGINE_LAYERS: &[&[&str]] = &[
    // The use cases, named as the functions that run them, and the settings they are built from.
    &[
        "session_start",
        "session_stream",
        "session_report",
        "access_summary",
        "audit_digest",
        "lake_export",
        "config_rule",
        "guardduty_correlation",
        "provisioner",
        "settings",
    ],
    // The seams the use cases write through.
    &["ports"],
    // The domain the use cases share.
    &[
        "session",
        "access",
        "provenance",
        "live",
        "summary",
        "upload",
        "publish",
        "asff",
        "ocsf",
        "config_evaluation",
        "guardduty",
        "analysis",
    ],
    // Transcripts in, judged and redacted; the report and the key layout.
    &["transcript", "rules", "redact", "report", "digest", "keys"],
    // The vocabulary every layer speaks.
    &["finding"],
];

#[test]
fn no_crate_imports_in_a_circle_and_the_engine_points_down_its_layers() {
    for krate in ["shared/session-audit", "shared/session-audit-aws", "cli"] {
        let graph = read_crate(&root().join(krate).join("src"));
        assert!(graph.modules.len() > 3, "{krate}: the walk finds its modules");
        assert_eq!(graph.circles(), Vec::<Vec<String>>::new(), "{krate}: import circles");
    }
    let engine = read_crate(&root().join("shared/session-audit/src"));
    let (up, unplaced) = engine.up_the_layers(ENGINE_LAYERS);
    assert_eq!(unplaced, Vec::<String>::new(), "engine modules in no layer (ENGINE_LAYERS)");
    assert_eq!(up, Vec::<String>::new(), "engine imports back up the layers");
}

#[test]
fn the_graph_sees_a_circle_and_an_import_up_the_layers() {
    // The check itself, on a made-up crate: it must fail where the house rule is broken.
    let dir = std::env::temp_dir().join(format!("module-graph-{}", std::process::id()));
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("report")).unwrap();
    let files = [
        ("lib.rs", "pub mod finding; pub mod report; pub mod rules;"),
        ("finding.rs", "pub struct Finding;"),
        ("rules.rs", "use crate::report::Report; pub fn f(_: Report) {}"),
        ("report/mod.rs", "pub mod model; pub use model::Report;"),
        ("report/model.rs", "pub struct Report(crate::rules::Rule);"),
    ];
    for (file, text) in files {
        std::fs::write(src.join(file), text).unwrap();
    }
    let graph = read_crate(&src);
    let circles = graph.circles();
    assert_eq!(circles.len(), 1, "{circles:?}");
    assert!(circles[0].contains(&"rules".to_string()));
    assert!(circles[0].contains(&"report::model".to_string()));
    let (up, unplaced) = graph.up_the_layers(&[&["report"], &["rules"]]);
    assert_eq!(up, ["rules -> report::model"], "through the re-export, to where it is defined");
    assert_eq!(unplaced, ["finding"]);
    std::fs::remove_dir_all(dir).unwrap();
}
