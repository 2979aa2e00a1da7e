//! `session-audit verify`: the digest chain of a bucket export (`aws s3 sync s3://<bucket> DIR`)
//! checked offline with the public keys the auditor trusts (the stack's `DigestPublicKey`
//! output, or the PEM files under `audit/digests/public-keys/` compared with it).
//!
//! Exit status: 0 every digest and object valid, 1 anything else (each named), 2 usage or I/O.

use std::io::Write;
use std::path::{Path, PathBuf};

use session_audit::digest::verify::{verify, Export, Verification};
use session_audit::digest::PublicKey;

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The export's root: the bucket's keys as paths below it.
    export: PathBuf,
    /// A trusted public key (PEM or DER); repeat for keys the stack rotated through.
    #[arg(long = "public-key", value_name = "FILE", required = true)]
    public_keys: Vec<PathBuf>,
    /// The time (RFC 3339) the chain must reach: later missing digests are named.
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// Print the whole verdict as JSON instead of the lines that are not valid.
    #[arg(long)]
    json: bool,
}

/// A directory copy of the bucket.
struct DirExport(PathBuf);

impl DirExport {
    fn walk(&self, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            // The entry's own type: a symlinked folder is not followed (no loops, nothing
            // outside the export is walked).
            let kind = entry.file_type()?;
            if kind.is_dir() {
                self.walk(&path, out)?;
            } else if let Ok(rel) = path.strip_prefix(&self.0) {
                let key: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(key.join("/"));
            }
        }
        Ok(())
    }
}

impl Export for DirExport {
    fn keys(&self) -> Vec<String> {
        let mut out = Vec::new();
        // An unreadable folder is reported by `run` before the walk; here it adds nothing.
        let _ = self.walk(&self.0, &mut out);
        out.sort();
        out
    }
    fn read(&self, key: &str) -> Option<Vec<u8>> {
        // Keys come from digests, and S3 keys may hold `..` or start with `/`: such a key is
        // never a path below the export, so it reads as absent (and is reported missing).
        let below = std::path::Path::new(key)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !below {
            return None;
        }
        std::fs::read(self.0.join(key)).ok()
    }
}

/// Print the verdict; `Ok(1)` when anything is not valid.
pub fn run(args: VerifyArgs) -> Result<u8, String> {
    let mut keys = Vec::new();
    for path in &args.public_keys {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        keys.push(PublicKey::parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))?);
    }
    std::fs::read_dir(&args.export).map_err(|e| format!("{}: {e}", args.export.display()))?;
    let verdict = verify(&DirExport(args.export.clone()), &keys, args.until.as_deref());
    let mut out = std::io::stdout().lock();
    let written = if args.json {
        serde_json::to_writer_pretty(&mut out, &verdict).map_err(|e| e.to_string())?;
        writeln!(out)
    } else {
        print_lines(&mut out, &verdict)
    };
    written.map_err(|e| format!("stdout: {e}"))?;
    Ok(if verdict.ok { 0 } else { 1 })
}

fn print_lines(out: &mut impl Write, v: &Verification) -> std::io::Result<()> {
    for c in &v.digests {
        if c.status.name() != "valid" {
            writeln!(out, "digest {} {}: {}", c.status.name(), c.key, c.detail)?;
        }
    }
    for c in &v.objects {
        if c.status.name() != "valid" {
            writeln!(out, "object {} {}: {}", c.status.name(), c.key, c.detail)?;
        }
    }
    let (valid_digests, valid_objects) = (
        v.digests.iter().filter(|c| c.status.name() == "valid").count(),
        v.objects.iter().filter(|c| c.status.name() == "valid").count(),
    );
    let covers = v.covers.as_ref().map_or("nothing".into(), |(a, b)| format!("{a} to {b}"));
    writeln!(
        out,
        "{}: {valid_digests}/{} digests and {valid_objects}/{} objects valid, covering {covers}",
        if v.ok { "VERIFIED" } else { "NOT VERIFIED" },
        v.digests.len(),
        v.objects.len(),
    )
}
