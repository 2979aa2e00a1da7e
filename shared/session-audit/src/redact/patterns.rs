//! The secrets redaction knows: what each looks like, and the literals one of which every
//! match holds (the prefilter that lets nearly every line skip the regexes).

pub(super) struct Pattern {
    pub(super) kind: &'static str,
    /// The capture group holding the secret (0 = the whole match).
    pub(super) group: usize,
    pub(super) source: &'static str,
}

/// Text no pattern can match lacks all of these: each pattern needs at least one of them (a
/// property test checks it). Nearly every command and prompt has none, and is passed by one
/// literal scan instead of the regex set. Literals of case-insensitive patterns, matched
/// ignoring ASCII case:
pub(super) const LITERALS_ANY_CASE: &[&str] = &[
    "secret",     // aws-secret, secret-variable, --secret
    "token",      // aws-secret, secret-variable, --token, bearer tokens
    "bearer",     // bearer-token
    "pass",       // secret-variable, --password, sshpass, pass:
    "api_key",    // secret-variable
    "apikey",     // secret-variable
    "api-key",    // --api-key
    "credential", // secret-variable
    "pwd",        // MYSQL_PWD=
    "_pat",       // GH_PAT=
    "authorization",
    "login",   // docker/podman/az/vault login
    "literal", // kubectl --from-literal
];
/// … and of case-sensitive ones, matched exactly.
pub(super) const LITERALS: &[&str] = &[
    "PRIVATE KEY", // pem
    "AKIA",
    "ASIA",
    "ABIA",
    "ACCA",      // access key IDs
    "eyJ",       // jwt
    "mysql",     // mysql -p
    "mariadb",   // mariadb -p
    "-u",        // curl -u user:pass
    "--user",    // curl --user user:pass
    "-S",        // echo … | sudo -S
    "redis-cli", // redis-cli -a
    "://",       // scheme://user:pass@host
    "mongo",     // mongosh -p
    "htpasswd",
    "openssl", // openssl enc -k
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "xox", // Slack
    "hvs.",
    "hvb.", // Vault
    "<<<",  // sudo -S <<< pw
    "ldap", // ldapsearch -w
    "%",    // smbclient -U user%pw
    "-P",   // sqlcmd -P
];

pub(super) const PATTERNS: &[Pattern] = &[
    Pattern {
        kind: "pem-private-key",
        group: 0,
        source: r"(?s)-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\z)",
    },
    Pattern {
        kind: "aws-access-key-id",
        group: 0,
        source: r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b",
    },
    Pattern {
        kind: "aws-secret",
        group: 1,
        // `=`/`:` in files and JSON; a space in `aws configure set aws_secret_access_key …`.
        source: r#"(?i)(?:aws_secret_access_key|secret_access_key|aws_session_token|"SecretAccessKey"|"SessionToken"|"Token")["']?(?:\s*[=:]\s*|\s+)["']?([A-Za-z0-9/+=]{20,})"#,
    },
    Pattern {
        kind: "jwt",
        group: 0,
        source: r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}",
    },
    Pattern { kind: "bearer-token", group: 1, source: r"(?i)\bbearer\s+([A-Za-z0-9._~+/=-]{8,})" },
    Pattern {
        kind: "secret-variable",
        group: 1,
        source: r#"(?i)\b[A-Z0-9_]*(?:SECRET|TOKEN|PASSWORD|PASSWD|PASS|API_?KEY|PRIVATE_KEY|CREDENTIALS?)[A-Z0-9_]*=("[^"]*"|'[^']*'|[^\s;&|]+)"#,
    },
    // `MYSQL_PWD=`, `GH_PAT=`: the name ends so (`PWD`, `OLDPWD` and `MY_PATH` do not).
    Pattern {
        kind: "secret-variable",
        group: 1,
        source: r#"(?i)\b[A-Z0-9_]*_(?:PWD|PAT)=("[^"]*"|'[^']*'|[^\s;&|]+)"#,
    },
    Pattern {
        kind: "password-option",
        group: 1,
        source: r#"(?i)--(?:password|passwd|pass|token|secret|api-key)[= ]("[^"]*"|'[^']*'|[^\s;&|]+)"#,
    },
    Pattern {
        kind: "password-option",
        group: 1,
        source: r#"\b(?:mysql|mysqldump|mysqladmin|mariadb)\b[^|;&\n]*?\s-p("[^"]*"|'[^']*'|[^\s;&|]+)"#,
    },
    Pattern { kind: "password-option", group: 1, source: r"\bsshpass\s+-p\s*([^\s;&|]+)" },
    // curl/wget/http clients: `-u user:pass`, `--user user:pass` (quoted or not).
    Pattern {
        kind: "password-option",
        group: 1,
        source: r"(?:^|\s)(?:-u|--user)(?:\s+|=)?'[^':]*:([^']+)'",
    },
    Pattern {
        kind: "password-option",
        group: 1,
        source: r#"(?:^|\s)(?:-u|--user)(?:\s+|=)?"[^":]*:([^"]+)""#,
    },
    Pattern {
        kind: "password-option",
        group: 1,
        source: r#"(?:^|\s)(?:-u|--user)(?:\s+|=)?[^\s:'"]+:([^\s;&|'"]+)"#,
    },
    // A password piped to `sudo -S`.
    Pattern {
        kind: "password-option",
        group: 1,
        source: r#"\becho\s+(?:-[neE]+\s+)*("[^"]*"|'[^']*'|[^\s|;&]+)\s*\|\s*sudo\b[^|;&\n]*\s-S\b"#,
    },
    Pattern {
        kind: "password-option",
        group: 1,
        source: r#"\bprintf\s+(?:'[^']*'|"[^"]*")\s+("[^"]*"|'[^']*'|[^\s|;&]+)\s*\|\s*sudo\b[^|;&\n]*\s-S\b"#,
    },
    // openssl's `-passin pass:…`, `-passout pass:…`, `-pass pass:…` (env: and file: are not).
    Pattern { kind: "password-option", group: 1, source: r"-pass(?:in|out)?\s+pass:([^\s;&|]+)" },
    Pattern {
        kind: "password-option",
        group: 1,
        source: r#"\bredis-cli\b[^|;&\n]*?\s-a\s+("[^"]*"|'[^']*'|[^\s;&|]+)"#,
    },
    Pattern {
        kind: "url-credentials",
        group: 1,
        source: r"\b[a-z][a-z0-9+.-]*://[^\s:/@]*:([^\s@/]+)@",
    },
    // Tokens whose shape names them, wherever they are (a URL's user, `vault login`, a header).
    Pattern {
        kind: "known-token",
        group: 0,
        source: r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}|xox[abposr]-[A-Za-z0-9-]{10,}|hv[sb]\.[A-Za-z0-9_-]{20,})",
    },
    // A URL whose user part is a long token (`https://<token>@host/…`, no `:`).
    Pattern {
        kind: "url-credentials",
        group: 1,
        source: r"\b[a-z][a-z0-9+.-]*://([A-Za-z0-9_.~-]{20,})@",
    },
    // `name: value` / `name = value` lines (config files, here-documents) whose name says secret.
    Pattern {
        kind: "secret-setting",
        group: 1,
        source: r#"(?im)^[ \t>-]*["']?[A-Za-z0-9_.-]*(?:password|passwd|secret|token|api[_-]?key|credentials?)["']?[ \t]*[:=][ \t]*("[^"\n]*"|'[^'\n]*'|[^\s"'][^\s]*)"#,
    },
    // HTTP headers that carry a credential.
    Pattern {
        kind: "auth-header",
        group: 1,
        source: r#"(?i)\b(?:x-api-key|x-auth-token|private-token|api-key)[ \t]*:[ \t]*([^\s'"]+)"#,
    },
    Pattern {
        kind: "auth-header",
        group: 1,
        source: r#"(?i)\bauthorization[ \t]*:[ \t]*(?:(?:token|basic|digest|apikey|bearer)[ \t]+)?([^\s'"]+)"#,
    },
    // Clients that take a password after a flag of their own.
    Pattern {
        kind: "password-option",
        group: 1,
        // Any client's `login` subcommand (docker, podman, nerdctl, helm registry, az, oras, …).
        source: r#"\blogin\b[^|;&\n]*?\s-p[ \t]*("[^"]*"|'[^']*'|[^\s;&|-][^\s;&|]*)"#,
    },
    Pattern {
        kind: "password-option",
        group: 1,
        source: r#"\bmongo(?:sh|dump|restore|export|import|stat|top)?\b[^|;&\n]*?\s-p[ \t]+("[^"]*"|'[^']*'|[^\s;&|-][^\s;&|]*)"#,
    },
    Pattern {
        kind: "password-option",
        group: 1,
        source: r#"\bopenssl\b[^|;&\n]*?\s-k[ \t]+("[^"]*"|'[^']*'|[^\s;&|]+)"#,
    },
    Pattern {
        kind: "password-option",
        group: 1,
        source: r#"\bldap[a-z]*\b[^|;&\n]*?\s-w[ \t]+("[^"]*"|'[^']*'|[^\s;&|]+)"#,
    },
    Pattern {
        kind: "password-option",
        group: 1,
        source: r#"\b(?:sqlcmd|bcp|osql|isql)\b[^|;&\n]*?\s-P[ \t]*("[^"]*"|'[^']*'|[^\s;&|]+)"#,
    },
    // `htpasswd -b[c] file user password`.
    Pattern {
        kind: "password-option",
        group: 1,
        source: r#"\bhtpasswd(?:[ \t]+-[A-Za-z]+)*[ \t]+-[A-Za-z]*b[A-Za-z]*(?:[ \t]+-[A-Za-z]+)*[ \t]+[^\s-][^\s]*[ \t]+[^\s]+[ \t]+("[^"]*"|'[^']*'|[^\s;&|]+)"#,
    },
    // `smbclient -U user%password` (and the other Samba tools).
    Pattern {
        kind: "password-option",
        group: 1,
        source: r#"\s(?:-U|--user(?:name)?)[= \t]?["']?[^\s%"']+%([^\s;&|"']+)"#,
    },
    // `kubectl create secret … --from-literal=NAME=value`.
    Pattern {
        kind: "password-option",
        group: 1,
        source: r#"--from-literal=[^=\s]+=("[^"]*"|'[^']*'|[^\s;&|]+)"#,
    },
    // A password fed to `sudo -S` by a here-string, or piped to `chpasswd` or to
    // `… login --password-stdin`.
    Pattern {
        kind: "password-option",
        group: 1,
        source: r#"\bsudo\b[^|;&\n]*\s-S\b[^|;&\n]*<<<[ \t]*("[^"]*"|'[^']*'|[^\s;&|]+)"#,
    },
    Pattern {
        kind: "password-option",
        group: 1,
        source: r#"\b(?:echo|printf)\s+(?:-[neE]+\s+)*("[^"]*"|'[^']*'|[^\s|;&]+)\s*\|\s*(?:sudo\s+)?\S*\bchpasswd\b"#,
    },
    Pattern {
        kind: "password-option",
        group: 1,
        source: r#"\b(?:echo|printf)\s+(?:-[neE]+\s+)*("[^"]*"|'[^']*'|[^\s|;&]+)\s*\|[^|;&\n]*\blogin\b[^|;&\n]*--password-stdin"#,
    },
    // `vault login <token>` (a token argument, not `-method=…` or `name=value`).
    Pattern {
        kind: "password-option",
        group: 1,
        source: r#"\bvault\s+login(?:\s+-\S+)*\s+([^\s=;&|-][^\s=;&|]*)(?:\s|$)"#,
    },
];
