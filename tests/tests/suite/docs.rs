//! The documentation a newcomer walks: the README stays a front door (at most 300 lines), every
//! relative link in it and in docs/ reaches a file (and a heading, when it names one), and every
//! `DESIGN.md §n` cited anywhere in the repository is a section of docs/DESIGN.md, so nothing
//! points outside a fresh clone; and the Athena view in docs/functions.md reads the key layout.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn markdown_pages() -> Vec<PathBuf> {
    let mut pages = vec![root().join("README.md")];
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "md") {
            pages.push(path);
        }
    }
    pages
}

/// A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The lines of a Markdown page outside code fences.
fn prose(page: &str) -> impl Iterator<Item = &str> {
    let mut fenced = false;
    page.lines().filter(move |line| {
        if line.starts_with("```") {
            fenced = !fenced;
            return false;
        }
        !fenced
    })
}

fn anchors(page: &str) -> Vec<String> {
    prose(page)
        .filter(|line| line.starts_with('#'))
        .map(|line| anchor(line.trim_start_matches('#')))
        .collect()
}

/// The relative link targets of a Markdown page (`[text](target)`, outside code fences).
fn links(page: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in prose(page) {
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            let Some(end) = rest.find(')') else { break };
            let target = &rest[..end];
            if !target.contains("://") && !target.starts_with("mailto:") {
                out.push(target.to_string());
            }
        }
    }
    out
}

/// Where a relative link from `page` leads, as a problem if it leads nowhere.
fn broken(page: &Path, target: &str) -> Option<String> {
    let (file, heading) = target.split_once('#').unwrap_or((target, ""));
    let path = if file.is_empty() { page.to_path_buf() } else { page.parent().unwrap().join(file) };
    if !path.exists() {
        return Some(format!("{target}: no file {}", path.display()));
    }
    if !heading.is_empty() && path.extension().is_some_and(|x| x == "md") {
        let text = std::fs::read_to_string(&path).unwrap();
        if !anchors(&text).iter().any(|a| a == heading) {
            return Some(format!("{target}: no heading #{heading}"));
        }
    }
    None
}

#[test]
fn the_readme_is_a_front_door_and_every_link_resolves() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(lines <= 300, "README.md has {lines} lines: move detail to docs/");
    let mut problems = Vec::new();
    let mut checked = 0;
    for page in markdown_pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        // An unclosed code fence hides the rest of the page (and its links) in one code block.
        let fences = text.lines().filter(|l| l.starts_with("```")).count();
        if fences % 2 == 1 {
            problems.push(format!("{}: a code fence is never closed", page.display()));
        }
        for target in links(&text) {
            checked += 1;
            if let Some(p) = broken(&page, &target) {
                problems.push(format!("{}: {p}", page.strip_prefix(root()).unwrap().display()));
            }
        }
    }
    assert!(checked > 20, "the walk finds the links ({checked})");
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_link_check_sees_a_missing_file_and_a_missing_heading() {
    let page = root().join("README.md");
    assert_eq!(broken(&page, "docs/deploy.md#first-deploy"), None);
    assert!(broken(&page, "docs/nowhere.md").is_some());
    assert!(broken(&page, "docs/deploy.md#no-such-heading").is_some());
    assert_eq!(anchor(" `session-audit analyze`"), "session-audit-analyze");
    assert_eq!(anchor(" Report (`session-audit/report/v1`)"), "report-session-auditreportv1");
}

fn tracked_text_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            let skipped = ["target", "fixtures", "node_modules"].contains(&name.as_str());
            if (!name.starts_with('.') || name == ".ci") && !skipped {
                tracked_text_files(&path, out);
            }
        } else if [".rs", ".md", ".toml", ".yaml", ".txt", "Makefile", "run", ".py"]
            .iter()
            .any(|x| name.ends_with(x))
        {
            out.push(path);
        }
    }
}

#[test]
fn every_design_reference_is_a_section_of_docs_design() {
    let design = std::fs::read_to_string(root().join("docs/DESIGN.md")).expect("docs/DESIGN.md");
    let sections: Vec<String> = design
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .filter_map(|l| l.split_once('.').map(|(n, _)| n.to_string()))
        .collect();
    assert!(sections.len() >= 6, "{sections:?}");
    let mut files = Vec::new();
    tracked_text_files(&root(), &mut files);
    let (mut cited, mut problems) = (0, Vec::new());
    // The design contract's own copy may name the shared folder it was copied from.
    let outside = ["`..", "/shared/"].concat();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        let shown = file.strip_prefix(root()).unwrap().display().to_string();
        if text.contains(&outside) && shown != "docs/DESIGN.md" {
            problems.push(format!("{shown}: points outside the repository ({outside})"));
        }
        for (at, _) in text.match_indices("DESIGN.md §") {
            let n: String =
                text[at + "DESIGN.md §".len()..].chars().take_while(char::is_ascii_digit).collect();
            cited += usize::from(!n.is_empty());
            if !n.is_empty() && !sections.contains(&n) {
                problems.push(format!("{shown}: DESIGN.md §{n} is no section"));
            }
        }
    }
    assert!(cited > 5, "the walk finds the references ({cited})");
    assert!(problems.is_empty(), "{problems:#?}");
}

/// docs/functions.md's Athena view reads the key layout the keys module writes: a current
/// report's JSON passes its filter and yields the report's account and region; the Markdown
/// beside it and the kept versions (`replaced/`, `untrusted/`) do not pass; a report of the
/// layout before places yields none (the view then names the hub's).
#[test]
fn the_athena_view_reads_the_report_keys_as_the_keys_module_writes_them() {
    use session_audit::keys::{self, Beside, Place, SessionAt};
    let page = std::fs::read_to_string(root().join("docs/functions.md")).unwrap();
    let view =
        &page[page.find("CREATE OR REPLACE VIEW session_audit_reports").expect("the view")..];
    let view = &view[..view.find(';').unwrap()];
    let patterns: Vec<&str> = view
        .split("regexp_extract(\"$path\", '")
        .skip(1)
        .map(|rest| &rest[..rest.find('\'').unwrap()])
        .collect();
    let [account_re, region_re] = patterns[..] else { panic!("two patterns: {view}") };
    // SQL LIKE: the view keeps '%.json' and drops '%/replaced/%' and '%/untrusted/%'.
    let like = |pattern: &str, key: &str| -> bool {
        let parts: Vec<&str> = pattern.split('%').collect();
        let (first, last) = (parts[0], parts[parts.len() - 1]);
        key.starts_with(first) && key.ends_with(last) && parts.iter().all(|p| key.contains(p))
    };
    let kept = |key: &str| {
        assert!(view.contains("\"$path\" LIKE '%.json'"), "{view}");
        let dropped = ["%/replaced/%", "%/untrusted/%"];
        for d in dropped {
            assert!(view.contains(&format!("\"$path\" NOT LIKE '{d}'")), "{d}: {view}");
        }
        like("%.json", key) && !dropped.iter().any(|d| like(d, key))
    };
    let extract = |re: &str, key: &str| -> Option<String> {
        let re = fancy_regex::Regex::new(re).unwrap();
        re.captures(key).unwrap().map(|c| c[1].to_string())
    };
    let place = Place::new("210987654321", "eu-west-1").unwrap();
    let session = SessionAt::new(place, "olga-0a1b2c3d4e5f60718").unwrap();
    let report = format!("s3://bucket/{}", keys::report("2026-11-30", &session, "json").unwrap());
    assert!(kept(&report), "{report}");
    assert_eq!(extract(account_re, &report).as_deref(), Some("210987654321"), "{report}");
    assert_eq!(extract(region_re, &report).as_deref(), Some("eu-west-1"), "{report}");
    let markdown = keys::report("2026-11-30", &session, "md").unwrap();
    assert!(!kept(&markdown));
    for beside in [Beside::Replaced, Beside::Untrusted] {
        let key = keys::beside_report(beside, "2026-11-30", &session, "v1", "json").unwrap();
        assert!(!kept(&key), "{key}");
    }
    let legacy = "s3://bucket/audit/reports/dt=2026-11-30/olga-0a1b2c3d4e5f60718.json";
    assert!(kept(legacy));
    assert_eq!(extract(account_re, legacy), None, "the hub's, by the view's coalesce");
}
