//! `session-audit verify` as an auditor runs it on a bucket export: a signed chain verifies
//! (exit 0), a tampered one names what changed (exit 1), the JSON says the same, and each
//! digest's manifest checks with `sha256sum -c` from the export's root.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use session_audit::digest::{seal, sha256_hex, Digest, Entry, PublicKey};
use session_audit::keys;

fn export_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("session-audit-verify-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn put(root: &Path, key: &str, bytes: &[u8]) {
    let path = root.join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// Session `id` in the account and region the export is of.
fn session(id: &str) -> keys::SessionAt {
    keys::SessionAt::new(keys::Place::new("123456789012", "eu-central-1").unwrap(), id).unwrap()
}

/// Two signed hours of a transcript and its report; returns the public key's PEM file.
fn signed_export(root: &Path) -> PathBuf {
    let signer = SigningKey::from_bytes(&[3; 32].into()).unwrap();
    let public = PublicKey::from_verifying_key(*signer.verifying_key()).unwrap();
    let mut previous = None;
    for h in [8, 9] {
        let mut entries = Vec::new();
        for (key, body) in [
            (format!("session-logs/123456789012/eu-central-1/s{h}.log"), format!("transcript {h}")),
            (
                keys::report("2026-12-05", &session(&format!("s{h}")), "json").unwrap(),
                format!("{{\"report\":{h}}}"),
            ),
        ] {
            put(root, &key, body.as_bytes());
            entries.push(Entry {
                key,
                version_id: Some(format!("v{h}")),
                last_modified: format!("2026-12-05T{h:02}:30:00Z"),
                sha256: sha256_hex(body.as_bytes()),
                size: body.len() as u64,
                delete_marker: false,
            });
        }
        let (start, end) =
            (format!("2026-12-05T{h:02}:00:00Z"), format!("2026-12-05T{:02}:00:00Z", h + 1));
        let digest = Digest::new("bucket", &start, &end, entries, vec![], previous.take());
        let sealed = seal(&digest, "arn:aws:kms:us-east-1:123456789012:key/k", &public, |m| {
            let s: Signature = signer.sign(m);
            Ok::<_, ()>(s.to_der().as_bytes().to_vec())
        })
        .unwrap();
        put(root, &sealed.key, &sealed.bytes);
        put(
            root,
            &keys::digest_signature(&sealed.key),
            &serde_json::to_vec(&sealed.sidecar).unwrap(),
        );
        put(root, &keys::digest_manifest(&sealed.key), sealed.manifest.as_bytes());
        previous = Some(sealed.link);
    }
    let pem = root.with_extension("pem");
    std::fs::write(&pem, public.to_pem()).unwrap();
    pem
}

fn verify(root: &Path, pem: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_session-audit"))
        .arg("verify")
        .arg(root)
        .arg("--public-key")
        .arg(pem)
        .args(extra)
        .output()
        .expect("runs")
}

#[test]
fn an_untouched_export_verifies_and_a_tampered_one_names_the_change() {
    let root = export_dir("chain");
    let pem = signed_export(&root);
    let out = verify(&root, &pem, &["--until", "2026-12-05T10:00:00Z"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("VERIFIED: 2/2 digests and 4/4 objects valid"), "{text}");

    let s8 = keys::report("2026-12-05", &session("s8"), "json").unwrap();
    put(&root, &s8, b"{\"report\":\"softened\"}");
    std::fs::remove_file(root.join("session-logs/123456789012/eu-central-1/s9.log")).unwrap();
    let out = verify(&root, &pem, &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains(&format!("object modified {s8}")), "{text}");
    assert!(
        text.contains("object missing session-logs/123456789012/eu-central-1/s9.log"),
        "{text}"
    );
    let json = verify(&root, &pem, &["--json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["ok"], false);
    let modified: Vec<&str> = v["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["status"] != "valid")
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(modified, ["modified", "missing"]);
}

#[test]
fn the_manifests_check_with_sha256sum_and_bad_keys_are_usage_errors() {
    let root = export_dir("manifest");
    let pem = signed_export(&root);
    let manifest = keys::digest_manifest(&keys::digest("2026-12-05T09:00:00Z".parse().unwrap()));
    let out =
        Command::new("sha256sum").arg("-c").arg(&manifest).current_dir(&root).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    put(&root, "session-logs/123456789012/eu-central-1/s9.log", b"edited");
    let out =
        Command::new("sha256sum").arg("-c").arg(&manifest).current_dir(&root).output().unwrap();
    assert!(!out.status.success(), "sha256sum sees the edit too");

    std::fs::write(&pem, "not a key").unwrap();
    let out = verify(&root, &pem, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a P-256 public key"));
}

#[test]
fn a_digest_key_that_climbs_out_of_the_export_is_never_read() {
    // S3 keys may hold `..`: a signed digest listing one must not make verify read a file
    // outside the export (here a secret beside it); the key is reported missing.
    let root = export_dir("climb");
    let outside = root.with_extension("secret");
    std::fs::write(&outside, b"outside").unwrap();
    let signer = SigningKey::from_bytes(&[5; 32].into()).unwrap();
    let public = PublicKey::from_verifying_key(*signer.verifying_key()).unwrap();
    let name = outside.file_name().unwrap().to_string_lossy().to_string();
    let entry = Entry {
        key: format!("session-logs/../../{name}"),
        version_id: None,
        last_modified: "2026-12-05T08:30:00Z".into(),
        sha256: sha256_hex(b"outside"),
        size: 7,
        delete_marker: false,
    };
    let digest = Digest::new(
        "bucket",
        "2026-12-05T08:00:00Z",
        "2026-12-05T09:00:00Z",
        vec![entry],
        vec![],
        None,
    );
    let sealed = seal(&digest, "k", &public, |m| {
        let s: Signature = signer.sign(m);
        Ok::<_, ()>(s.to_der().as_bytes().to_vec())
    })
    .unwrap();
    put(&root, &sealed.key, &sealed.bytes);
    put(&root, &keys::digest_signature(&sealed.key), &serde_json::to_vec(&sealed.sidecar).unwrap());
    let pem = root.with_extension("pem");
    std::fs::write(&pem, public.to_pem()).unwrap();
    let out = verify(&root, &pem, &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("object missing session-logs/../../"), "{text}");
}

#[test]
fn keys_with_backslashes_and_line_breaks_check_with_sha256sum() {
    // S3 allows both in a key; the manifest escapes them as GNU sha256sum does.
    let root = export_dir("escaped");
    let keys = ["session-logs/a\\b.log", "session-logs/two\nlines.log", "session-logs/plain.log"];
    let mut entries = Vec::new();
    for (n, key) in keys.iter().enumerate() {
        let body = format!("body {n}");
        put(&root, key, body.as_bytes());
        entries.push(Entry {
            key: key.to_string(),
            version_id: None,
            last_modified: format!("2026-12-05T08:3{n}:00.000Z"),
            sha256: sha256_hex(body.as_bytes()),
            size: body.len() as u64,
            delete_marker: false,
        });
    }
    let digest = Digest::new(
        "bucket",
        "2026-12-05T08:00:00Z",
        "2026-12-05T09:00:00Z",
        entries,
        vec![],
        None,
    );
    std::fs::write(root.join("manifest.sha256sum"), digest.manifest()).unwrap();
    let check = || {
        Command::new("sha256sum")
            .args(["-c", "manifest.sha256sum"])
            .current_dir(&root)
            .output()
            .unwrap()
    };
    let out = check();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    put(&root, keys[1], b"edited");
    assert!(!check().status.success(), "the edited file with a line break in its name is caught");
}
