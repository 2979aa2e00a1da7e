//! Secret redaction for everything Session Audit stores.
//!
//! A secret is replaced by `[REDACTED:<kind>:<token>]`, where the token is the first 12 hex
//! digits of HMAC-SHA256(key, secret). The same secret gives the same token in every session
//! (so reviewers can see that one leaked key was used three times) but cannot be read back,
//! and without the key a short password cannot be brute-forced from its token.

use std::borrow::Cow;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use hmac::{Hmac, Mac};
use regex::{Captures, Regex, RegexSet};
use sha2::Sha256;

mod patterns;
use patterns::{LITERALS, LITERALS_ANY_CASE, PATTERNS};

/// Used when no key is configured; reports say so, because anyone can recompute it.
const DEFAULT_KEY: &[u8] = b"session-audit default redaction key: configure your own";

struct Compiled {
    any_case: AhoCorasick,
    literals: AhoCorasick,
    any: RegexSet,
    each: Vec<Regex>,
}

static COMPILED: LazyLock<Compiled> = LazyLock::new(|| Compiled {
    any_case: AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(LITERALS_ANY_CASE)
        .expect("redaction literals"),
    literals: AhoCorasick::new(LITERALS).expect("redaction literals"),
    any: RegexSet::new(PATTERNS.iter().map(|p| p.source)).expect("redaction patterns"),
    each: PATTERNS.iter().map(|p| Regex::new(p.source).expect("redaction pattern")).collect(),
});

impl Compiled {
    fn might_match(&self, text: &str) -> bool {
        self.literals.is_match(text) || self.any_case.is_match(text)
    }
}

/// Replaces secrets with keyed-hash tokens.
#[derive(Clone)]
pub struct Redactor {
    mac: Hmac<Sha256>,
    default_key: bool,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor").field("default_key", &self.default_key).finish_non_exhaustive()
    }
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new(None)
    }
}

impl Redactor {
    /// `key`: the HMAC key; `None` uses a built-in key and marks reports accordingly.
    pub fn new(key: Option<&[u8]>) -> Self {
        let k = key.filter(|k| !k.is_empty());
        Redactor {
            mac: Hmac::<Sha256>::new_from_slice(k.unwrap_or(DEFAULT_KEY))
                .expect("HMAC takes any key"),
            default_key: k.is_none(),
        }
    }

    /// True when no key was configured.
    pub fn uses_default_key(&self) -> bool {
        self.default_key
    }

    /// The token for one secret.
    pub fn token(&self, kind: &str, secret: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(secret.as_bytes());
        let digest = mac.finalize().into_bytes();
        let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
        format!("[REDACTED:{kind}:{hex}]")
    }

    /// `text` with every secret replaced. Borrowed when there is nothing to redact.
    pub fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let compiled = &*COMPILED;
        if !compiled.might_match(text) || !compiled.any.is_match(text) {
            return Cow::Borrowed(text);
        }
        let mut out = text.to_string();
        for (pattern, re) in PATTERNS.iter().zip(&compiled.each) {
            if !re.is_match(&out) {
                continue;
            }
            let replaced = re.replace_all(&out, |caps: &Captures| {
                let whole = caps.get(0).expect("match");
                let Some(secret) = caps.get(pattern.group) else {
                    return whole.as_str().to_string();
                };
                if secret.as_str().starts_with("[REDACTED:") {
                    return whole.as_str().to_string();
                }
                let token = self.token(pattern.kind, secret.as_str());
                let (start, end) = (secret.start() - whole.start(), secret.end() - whole.start());
                format!("{}{}{}", &whole.as_str()[..start], token, &whole.as_str()[end..])
            });
            out = replaced.into_owned();
        }
        Cow::Owned(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The literal prefilter never hides a secret: any text a pattern matches holds one of the
    /// literals, over soups of secret-shaped fragments and noise.
    #[test]
    fn no_pattern_matches_without_a_literal() {
        use proptest::prelude::*;
        const FRAGMENTS: &[&str] = &[
            "AKIAIOSFODNN7EXAMPLE",
            "ASIA0123456789ABCDEF",
            "=",
            ":",
            "export ",
            "X_SECRET",
            "DB_PASSWORD",
            "MY_TOKEN",
            "API_KEY",
            "apikey",
            "Credentials",
            "--password ",
            "--token=",
            "--api-key ",
            "mysql ",
            "mariadb ",
            " -p",
            "hunter2",
            "sshpass -p ",
            " -u ",
            " --user=",
            "user:pw",
            "'",
            "\"",
            "echo ",
            "printf '%s' ",
            "| sudo -S ",
            "-passin pass:",
            "-pass pass:",
            "redis-cli -a ",
            "https://",
            "ftp://",
            "@host",
            "eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl",
            "Bearer ",
            "-----BEGIN RSA PRIVATE KEY-----",
            "-----END RSA PRIVATE KEY-----",
            "aws_secret_access_key ",
            "\"SecretAccessKey\": ",
            "\"Token\":\"",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            " ",
            "\n",
            ";",
            "|",
            "ls -la",
            "x",
            "0123456789abcdef0123",
            // The spellings of issue 26.
            "docker login ",
            "az login ",
            "mongosh ",
            "htpasswd -b f u ",
            "openssl enc -k ",
            "ghp_0123456789abcdefghij",
            "hvs.0123456789abcdefghij",
            "xoxb-0123456789",
            "vault login ",
            "MYSQL_PWD=",
            "GH_PAT=",
            "X-Api-Key: ",
            "Authorization: ",
            "PRIVATE-TOKEN: ",
            "chpasswd",
            "sudo -S id <<< ",
            "ldapsearch -w ",
            "smbclient -U u%",
            "sqlcmd -P ",
            "--from-literal=K=",
            "password: ",
            "api_key = ",
            "--password-stdin",
            "0123456789abcdefghijk@",
        ];
        let compiled = &*COMPILED;
        let soup = proptest::collection::vec(0..FRAGMENTS.len(), 1..12);
        proptest!(ProptestConfig::with_cases(4000), |(picks in soup)| {
            let text: String = picks.iter().map(|&i| FRAGMENTS[i]).collect();
            if compiled.any.is_match(&text) {
                prop_assert!(compiled.might_match(&text), "{text:?}");
            }
        });
    }

    fn r(text: &str) -> String {
        Redactor::new(Some(b"test-key")).redact(text).into_owned()
    }

    #[test]
    fn every_kind_of_secret_is_replaced() {
        let cases = [
            ("aws configure set aws_access_key_id AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
            ("export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI"),
            ("mysql -u root -pHunter2! prod", "Hunter2!"),
            ("psql --password=s3cr3t", "s3cr3t"),
            ("export GITHUB_TOKEN=ghp_abcdefghijklmnop", "ghp_abcdefghijklmnop"),
            ("DB_PASSWORD='p a s s' ./run", "p a s s"),
            ("curl -H 'Authorization: Bearer abcdef123456.xyz' https://x", "abcdef123456.xyz"),
            ("echo eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "eyJhbGci"),
            ("cat <<EOF\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\nEOF", "MIIEpAIBAAKCAQEA"),
            ("git clone https://bob:tops3cret@git.example.com/r.git", "tops3cret"),
            ("sshpass -p 'pw123' ssh host", "pw123"),
            // The spellings people type most (issue 13), each stored in clear before.
            ("aws configure set aws_secret_access_key wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI"),
            ("aws configure set aws_session_token IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJH", "IQoJb3JpZ2lu"),
            ("curl -u admin:Sup3rS3cret https://api.example.com", "Sup3rS3cret"),
            ("curl --user 'deploy:pa ss' https://x", "pa ss"),
            ("wget --user=bob --password=wg3tpw http://x/f", "wg3tpw"),
            ("echo Hunter2pw | sudo -S systemctl restart nginx", "Hunter2pw"),
            ("echo 'my pass' | sudo -S -k id", "my pass"),
            ("printf '%s\\n' Printfpw | sudo -S true", "Printfpw"),
            ("openssl pkcs12 -in a.p12 -passin pass:P12secret -out a.pem", "P12secret"),
            ("openssl enc -aes-256-cbc -pass pass:EncPw42 -in f", "EncPw42"),
            ("redis-cli -h cache -a R3disPw ping", "R3disPw"),
            ("redis-cli -u redis://:R3disUrlPw@cache:6379 ping", "R3disUrlPw"),
            ("PGPASSWORD=PgPw123 psql -h db -U app", "PgPw123"),
            ("mysql --password=MyPw456 -u root", "MyPw456"),
            ("mysql -uroot -pMyPw789 db", "MyPw789"),
            ("psql postgresql://app:PgUrlPw@db:5432/app", "PgUrlPw"),
        ];
        // Clients the table never named: the `login` model, not a list of programs.
        let cases = cases.into_iter().chain([
            ("nerdctl login -u bob -p NerdPw1 ghcr.io", "NerdPw1"),
            ("helm registry login -u x -p HelmPw2 registry.example.com", "HelmPw2"),
            ("finch login --username bob -p 'Finch Pw3' ecr", "Finch Pw3"),
        ]);
        for (text, secret) in cases {
            let out = r(text);
            assert!(!out.contains(secret), "{text} → {out}");
            assert!(out.contains("[REDACTED:"), "{text} → {out}");
        }
    }

    #[test]
    fn tokens_correlate_across_texts_and_depend_on_the_key() {
        let a = r("export API_TOKEN=abc123");
        let b = r("API_TOKEN=abc123 ./deploy");
        let token =
            |s: &str| s[s.find("[REDACTED").unwrap()..].split(']').next().unwrap().to_string();
        assert_eq!(token(&a), token(&b));
        let other = Redactor::new(Some(b"other")).redact("export API_TOKEN=abc123").into_owned();
        assert_ne!(token(&a), token(&other));
    }

    #[test]
    fn ordinary_commands_are_untouched_and_borrowed() {
        let red = Redactor::default();
        for text in [
            "ls -la",
            "mkdir -p /tmp/x",
            "echo $PATH",
            "grep -r password docs/",
            "sudo -u postgres psql",
            "mysql -u root",
            "grep aws_secret_access_key ~/.aws/credentials",
            "echo hello | sudo tee /etc/motd",
            "openssl enc -pass env:PASSPHRASE -in f",
            "docker login -u bob --password-stdin registry.example.com",
            "sudo login -p -f bob",
        ] {
            assert!(matches!(red.redact(text), Cow::Borrowed(_)), "{text}");
        }
        assert!(red.uses_default_key());
    }

    #[test]
    fn redaction_is_idempotent() {
        let once = r("export SECRET_KEY=abc");
        assert_eq!(r(&once), once);
    }
}
