//! A large realistic transcript, generated: a `script` header, a session block repeated
//! (readline-marked prompts with edits, coloured `ls` output, wrapped lines, a pager on the
//! alternate screen, long output, a secret to redact, every tenth block a flagged command),
//! then the footer. Shared by the engine bench, the report bench and the report memory test
//! (`#[path]`-included, so no test code ships in the library).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// One generated block of a bash session (`i` varies its text): coloured listings, a sudo
/// command, an edited command line, log output.
pub fn session_block(i: usize) -> Vec<u8> {
    let mut b = Vec::new();
    let p = b"\x1b]0;ec2-user@ip-10-0-1-11:~\x07\x1b[?2004h[ec2-user@ip-10-0-1-11 ~]$ ";
    let cmd = |b: &mut Vec<u8>, typed: &[u8]| {
        b.extend_from_slice(p);
        b.extend_from_slice(typed);
        b.extend_from_slice(b"\r\r\n\x1b[?2004l\r");
    };
    cmd(&mut b, format!("ls -la /var/log/app-{i}").as_bytes());
    for n in 0..40 {
        let line = format!(
            "-rw-r--r--  1 root root {:>8} Nov 27 22:{:02} \x1b[01;34mservice-{i}-{n}.log\x1b[0m\r\r\n",
            n * 7919 % 100_000,
            n % 60
        );
        b.extend_from_slice(line.as_bytes());
    }
    cmd(&mut b, b"sudo systemctl status amazon-ssm-agent");
    b.extend_from_slice(
        b"\x1b[0;1;32m\xe2\x97\x8f\x1b[0m amazon-ssm-agent.service - amazon-ssm-agent\r\r\n",
    );
    b.extend_from_slice(
        b"     Loaded: loaded (/etc/systemd/system/amazon-ssm-agent.service; enabled)\r\r\n",
    );
    b.extend_from_slice(
        b"     Active: \x1b[0;1;32mactive (running)\x1b[0m since Fri 2026-11-27 08:00:01 UTC\r\r\n",
    );
    // An edited command: typo fixed with backspaces and a mid-line insert.
    b.extend_from_slice(p);
    b.extend_from_slice(b"grep -i errr\x08\x1b[K /var/log/messages\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08\x1b[1@o\r\r\n\x1b[?2004l\r");
    for n in 0..30 {
        let line = format!("Nov 27 22:{:02}:{:02} ip-10-0-1-11 app[{}]: request {} completed in {} ms status=200 path=/api/v1/items/{}\r\r\n", n % 60, (n * 7) % 60, 1000 + i, i * 31 + n, n * 3 % 97, n);
        b.extend_from_slice(line.as_bytes());
    }
    cmd(&mut b, b"less /etc/services");
    b.extend_from_slice(b"\x1b[?1049h\x1b[22;0;0t\x1b[?1h\x1b=\r");
    for n in 0..24 {
        b.extend_from_slice(format!("service-{n}\t{n}/tcp\t# comment\r\r\n").as_bytes());
    }
    b.extend_from_slice(
        b"\x1b[7m/etc/services\x1b[27m\x1b[K\r\x1b[K\x1b[?1l\x1b>\x1b[?1049l\x1b[23;0;0t",
    );
    // A secret to redact and, every tenth block, a command a rule flags.
    cmd(&mut b, b"export DB_PASSWORD=hunter2 && ./deploy.sh --env prod");
    if i.is_multiple_of(10) {
        cmd(&mut b, b"sudo cat /etc/shadow | grep -v '^#'");
        b.extend_from_slice(b"root:*:20228:0:99999:7:::\r\r\n");
    }
    b.extend_from_slice(b"deploying...\r\r\n[\x1b[32m OK \x1b[0m] done\r\r\n");
    b
}

/// Commands as busy admin sessions type them (one in fifty is flagged by a rule). Only the
/// engine bench builds command-dense input; the other includers use `build`.
#[allow(dead_code)]
const TYPED: [&str; 20] = [
    "ls -la",
    "cd /var/log",
    "tail -n 2 messages",
    "df -h /",
    "systemctl status nginx --no-pager -n 0",
    "grep -c ERROR /var/log/app/app.log",
    "ps aux --sort=-%mem | head -3",
    "free -m",
    "uptime",
    "cat /etc/os-release | head -2",
    "sudo journalctl -u amazon-ssm-agent -n 1 --no-pager",
    "curl -s -o /dev/null -w '%{http_code}' http://localhost:8080/health",
    "export APP_ENV=staging",
    "git -C /opt/app log --oneline -1",
    "docker ps --format '{{.Names}}'",
    "ss -tlnp | grep 443",
    "du -sh /var/cache/dnf",
    "echo $PATH",
    "whoami",
    "date -u",
];

/// One command of a command-dense session, about 210 bytes: an AL2023 bash prompt with its
/// title, colours and bracketed-paste markers, a command, and one or two short output lines.
#[allow(dead_code)]
pub fn command_block(i: usize) -> Vec<u8> {
    let mut b = Vec::with_capacity(320);
    b.extend_from_slice(b"\x1b]0;ec2-user@ip-10-0-1-11:/var/log\x07\x1b[?2004h\x1b[01;32m[ec2-user@ip-10-0-1-11\x1b[00m \x1b[01;34mlog\x1b[00m]$ ");
    let typed =
        if i % 50 == 49 { "sudo cat /etc/shadow | head -1" } else { TYPED[i % TYPED.len()] };
    b.extend_from_slice(typed.as_bytes());
    b.extend_from_slice(b"\r\r\n\x1b[?2004l\r");
    b.extend_from_slice(
        format!(
            "Nov 30 09:{:02}:{:02} ip-10-0-1-11 app[{}]: ok id={i}\r\r\n",
            i % 60,
            i * 7 % 60,
            1000 + i % 97
        )
        .as_bytes(),
    );
    if i.is_multiple_of(2) {
        b.extend_from_slice(
            format!("\x1b[01;34mresult\x1b[0m {} items in {} ms\r\r\n", i % 1000, i % 37)
                .as_bytes(),
        );
    }
    b
}

/// The bodies of the real sessions recorded for the golden tests (`tests/fixtures/recorded`,
/// each without its `script` header and footer), in file-name order: a transcript built of
/// them, in turn, is one long session the way real ones look. Only the engine bench uses it.
#[allow(dead_code)]
pub fn recorded_sessions() -> io::Result<Vec<Vec<u8>>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/recorded");
    let mut paths: Vec<_> =
        std::fs::read_dir(dir)?.map(|e| e.map(|e| e.path())).collect::<io::Result<_>>()?;
    paths.retain(|p| p.extension().is_some_and(|e| e == "log"));
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let bytes = std::fs::read(p)?;
            let body = &bytes[bytes.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1)..];
            let end = body.windows(16).rposition(|w| w == b"\nScript done on ");
            Ok(body[..end.map_or(body.len(), |i| i + 1)].to_vec())
        })
        .collect()
}

/// Write a transcript of at least `size` bytes to `path` (kept if already that large): the
/// output-heavy one the report bench and memory test use.
#[allow(dead_code)]
pub fn build(path: &Path, size: u64) -> io::Result<()> {
    build_with(path, size, session_block)
}

/// A transcript of at least `size` bytes of `block(0)`, `block(1)`, … between the header and
/// footer, at `path` (kept if already that large).
pub fn build_with(path: &Path, size: u64, block: impl Fn(usize) -> Vec<u8>) -> io::Result<()> {
    if std::fs::metadata(path).map(|m| m.len() >= size).unwrap_or(false) {
        return Ok(());
    }
    std::fs::create_dir_all(path.parent().expect("parent"))?;
    let mut out = BufWriter::new(File::create(path)?);
    out.write_all(b"Script started on 2026-11-27 22:33:47+00:00 [COMMAND=\"cat ipcTempFile.log\" <not executed on terminal>]\n")?;
    let mut written = 0u64;
    let mut i = 0;
    while written < size {
        let block = block(i);
        out.write_all(&block)?;
        written += block.len() as u64;
        i += 1;
    }
    out.write_all(b"\nScript done on 2026-11-27 23:59:59+00:00 [COMMAND_EXIT_CODE=\"0\"]\n")?;
    out.flush()
}
