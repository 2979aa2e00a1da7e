//! Turning command-line arguments into what the commands read: the list of inputs, and the
//! rule pack.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use session_audit::rules::RulePack;

/// One transcript to analyse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputSpec {
    Stdin,
    File(PathBuf),
}

/// Extensions taken from directories. `*.source.txt` are provenance notes, not transcripts.
const EXTENSIONS: &[&str] = &["log", "json", "jsonl", "ndjson", "txt"];

/// Expand files, directories (recursively, sorted) and `-`. Unreadable arguments are reported
/// on stderr and flagged, and the rest still run.
pub fn expand(args: &[String]) -> (Vec<InputSpec>, bool) {
    let mut specs = Vec::new();
    let mut failed = false;
    for arg in args {
        if arg == "-" {
            specs.push(InputSpec::Stdin);
            continue;
        }
        let path = Path::new(arg);
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => {
                let mut found = Vec::new();
                if let Err(e) = walk(path, &mut found) {
                    eprintln!("session-audit: cannot read directory '{arg}': {e}");
                    failed = true;
                }
                found.sort();
                specs.extend(found.into_iter().map(InputSpec::File));
            }
            Ok(_) => specs.push(InputSpec::File(path.to_path_buf())),
            Err(e) => {
                eprintln!("session-audit: cannot read '{arg}': {e}");
                failed = true;
            }
        }
    }
    (specs, failed)
}

impl InputSpec {
    pub fn display(&self) -> String {
        match self {
            InputSpec::Stdin => "-".to_string(),
            InputSpec::File(p) => p.display().to_string(),
        }
    }

    pub fn path(&self) -> Option<&Path> {
        match self {
            InputSpec::Stdin => None,
            InputSpec::File(p) => Some(p),
        }
    }

    /// The file's stem: the agent names transcripts `<sessionId>.log`.
    pub fn session_id(&self) -> Option<String> {
        let name = self.path()?.file_name()?.to_string_lossy().into_owned();
        let stem = [".log", ".jsonl", ".json", ".txt"]
            .iter()
            .find_map(|ext| name.strip_suffix(ext))
            .unwrap_or(&name);
        Some(stem.to_string())
    }

    pub fn open(&self) -> io::Result<Box<dyn Read>> {
        Ok(match self {
            InputSpec::Stdin => Box::new(io::stdin().lock()),
            InputSpec::File(p) => Box::new(File::open(p)?),
        })
    }
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if entry.file_type()?.is_dir() {
            walk(&path, found)?;
        } else if is_transcript_name(&name) {
            found.push(path);
        }
    }
    Ok(())
}

fn is_transcript_name(name: &str) -> bool {
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    EXTENSIONS.contains(&ext) && !name.ends_with(".source.txt") && !name.ends_with(".expected.json")
}

/// The built-in rule pack, plus the user pack at `path` (`--rules`) if one is given.
pub fn load_rules(path: Option<&Path>) -> Result<RulePack, String> {
    let Some(path) = path else { return Ok(RulePack::builtin()) };
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read rule pack '{}': {e}", path.display()))?;
    RulePack::load(Some((&path.display().to_string(), &text)))
        .map_err(|e| format!("invalid rule pack: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_taken_from_directories() {
        assert!(is_transcript_name("abc-0123.log"));
        assert!(is_transcript_name("export.jsonl"));
        assert!(!is_transcript_name("abc.log.source.txt"));
        assert!(!is_transcript_name("session.expected.json"));
        assert!(!is_transcript_name("record.py"));
    }
}
