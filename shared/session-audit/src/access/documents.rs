//! The Session documents a stack sanctions: a shell (the audited one), port forwarding to the
//! instance's own allowed ports, port forwarding through it to an allow-list of `host:port`
//! destinations, and two routine tasks whose parameters the document itself constrains. The
//! provisioner writes them and the user policy names only them; the start audit knows them by
//! the same [`Catalog`], so what IAM allows and what the audit accepts cannot drift apart.

use std::fmt;

use serde_json::{json, Value};

use super::schema::{check_parameters, substitute, Parameters};

/// The account's default shell document (it holds the Session Manager preferences).
pub const DEFAULT_SHELL: &str = "SSM-SessionManagerRunShell";

/// What the `TailLog` task may read: a file under `/var/log/`, every path segment starting with
/// a letter, digit, `_` or `-` (so `..` can never climb out), nothing a shell would expand.
pub const LOG_PATTERN: &str = r"^/var/log(/[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}){1,8}$";
/// A port on the user's computer (`0`: any free one).
const LOCAL_PORT_PATTERN: &str = r"^([0-9]|[1-9][0-9]{1,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$";

message_error!(
    /// A document setting that cannot be used, and why.
    BadCatalog
);

/// One `host:port` a remote port-forwarding session may reach (a database behind the instance).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Destination {
    /// A DNS name or IPv4 address.
    pub host: String,
    /// The port on it.
    pub port: u16,
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

fn port(text: &str) -> Result<u16, BadCatalog> {
    text.trim()
        .parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("'{text}' is not a port (1-65535)").into())
}

impl Destination {
    /// `db.internal:5432`, `10.0.1.20:3306`.
    pub fn parse(text: &str) -> Result<Self, BadCatalog> {
        let (host, p) =
            text.trim().rsplit_once(':').ok_or_else(|| format!("'{text}' is not host:port"))?;
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        if host.len() > 253 || !host.split('.').all(label_ok) {
            return Err(format!("'{host}' in '{text}' is not a DNS name or IPv4 address").into());
        }
        Ok(Destination { host: host.to_ascii_lowercase(), port: port(p)? })
    }
}

/// A comma-separated list, blanks dropped, duplicates removed, order kept.
fn list<T: PartialEq>(
    text: &str,
    parse: impl Fn(&str) -> Result<T, BadCatalog>,
) -> Result<Vec<T>, BadCatalog> {
    let mut out = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let v = parse(item)?;
        if !out.contains(&v) {
            out.push(v);
        }
    }
    Ok(out)
}

/// The documents of a stack, by what they are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An interactive shell, logged as the preferences say.
    Shell,
    /// Forward a local port to one of the instance's allowed ports.
    PortForward,
    /// Forward a local port through the instance to an allowed `host:port`.
    RemotePortForward,
    /// Restart an allowed systemd service (non-interactive).
    RestartService,
    /// Follow a log under `/var/log/` (interactive).
    TailLog,
}

impl Kind {
    /// Every kind, in the order they are created.
    pub const ALL: [Kind; 5] = [
        Kind::Shell,
        Kind::PortForward,
        Kind::RemotePortForward,
        Kind::RestartService,
        Kind::TailLog,
    ];

    /// The name of this kind's document under a stack's `NamePrefix`.
    pub fn named(self, prefix: &str) -> String {
        format!("{prefix}-{}", self.suffix())
    }

    fn suffix(self) -> &'static str {
        match self {
            Kind::Shell => "Shell",
            Kind::PortForward => "PortForward",
            Kind::RemotePortForward => "RemotePortForward",
            Kind::RestartService => "RestartService",
            Kind::TailLog => "TailLog",
        }
    }
}

/// What a stack sanctions: its documents' names (from the prefix) and their allow-lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    /// The stack's `NamePrefix`: every document is `<prefix>-<Kind>`.
    pub prefix: String,
    /// Ports on the instance that `PortForward` may reach (`PortForwardPorts`).
    pub ports: Vec<u16>,
    /// Where `RemotePortForward` may go (`RemoteDestinations`); empty: no such document.
    pub destinations: Vec<Destination>,
    /// The services `RestartService` may restart (`TaskServices`).
    pub services: Vec<String>,
}

impl Catalog {
    /// From the stack's settings (comma-separated lists), each checked.
    pub fn parse(
        prefix: &str,
        ports: &str,
        destinations: &str,
        services: &str,
    ) -> Result<Self, BadCatalog> {
        let ports = list(ports, port)?;
        if ports.is_empty() {
            return Err(
                "PortForwardPorts names no port: the port-forwarding document would allow none"
                    .into(),
            );
        }
        let service = |s: &str| -> Result<String, BadCatalog> {
            let ok = s.len() <= 64
                && s.chars().all(|c| c.is_ascii_alphanumeric() || "@._-".contains(c))
                && !s.starts_with('-');
            ok.then(|| s.to_string()).ok_or_else(|| {
                format!("'{s}' is not a systemd unit name (letters, digits, @._-)").into()
            })
        };
        let services = list(services, service)?;
        if services.is_empty() {
            return Err("TaskServices names no service: the restart task would allow none".into());
        }
        Ok(Catalog {
            prefix: prefix.to_string(),
            ports,
            destinations: list(destinations, Destination::parse)?,
            services,
        })
    }

    /// The kinds this stack creates (no remote forwarding without destinations).
    pub fn kinds(&self) -> Vec<Kind> {
        Kind::ALL
            .into_iter()
            .filter(|k| *k != Kind::RemotePortForward || !self.destinations.is_empty())
            .collect()
    }

    /// The document's name.
    pub fn name(&self, kind: Kind) -> String {
        kind.named(&self.prefix)
    }

    /// The kind of a document of this catalog, by name.
    pub fn kind_of(&self, document: &str) -> Option<Kind> {
        self.kinds().into_iter().find(|k| self.name(*k) == document)
    }

    /// Every document a session may use: the default shell and this catalog's.
    pub fn allowed(&self) -> Vec<String> {
        let mut out = vec![DEFAULT_SHELL.to_string()];
        out.extend(self.kinds().into_iter().map(|k| self.name(k)));
        out
    }

    /// The document's content. `shell_inputs` are the preferences' inputs, which the shell
    /// document carries too (its sessions are logged exactly as the default shell's).
    pub fn document(&self, kind: Kind, shell_inputs: &Value) -> Value {
        let strings = |v: &[String]| Value::from(v.to_vec());
        let local = json!({"type": "String", "description": "The port on your computer (0: any free port)", "allowedPattern": LOCAL_PORT_PATTERN, "default": "0"});
        let described = |what: &str| format!("Session Audit ({}): {what}", self.prefix);
        match kind {
            Kind::Shell => json!({
                "schemaVersion": "1.0",
                "description": described("an interactive shell, logged to the audited bucket and log group"),
                "sessionType": "Standard_Stream",
                "inputs": shell_inputs,
            }),
            Kind::PortForward => json!({
                "schemaVersion": "1.0",
                "description": described("forward a local port to an allowed port on the instance"),
                "sessionType": "Port",
                "parameters": {
                    "portNumber": {"type": "String", "description": "The port on the instance", "allowedValues": strings(&self.ports.iter().map(u16::to_string).collect::<Vec<_>>())},
                    "localPortNumber": local,
                },
                "properties": {"type": "LocalPortForwarding", "portNumber": "{{ portNumber }}", "localPortNumber": "{{ localPortNumber }}"},
            }),
            Kind::RemotePortForward => {
                let mut hosts: Vec<String> =
                    self.destinations.iter().map(|d| d.host.clone()).collect();
                hosts.dedup();
                let mut ports: Vec<String> =
                    self.destinations.iter().map(|d| d.port.to_string()).collect();
                ports.sort();
                ports.dedup();
                json!({
                    "schemaVersion": "1.0",
                    "description": described(&format!("forward a local port through the instance to one of {}", self.destinations.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))),
                    "sessionType": "Port",
                    "parameters": {
                        "host": {"type": "String", "description": "The host behind the instance", "allowedValues": strings(&hosts)},
                        "portNumber": {"type": "String", "description": "The port on that host", "allowedValues": strings(&ports)},
                        "localPortNumber": local,
                    },
                    "properties": {"type": "LocalPortForwarding", "host": "{{ host }}", "portNumber": "{{ portNumber }}", "localPortNumber": "{{ localPortNumber }}"},
                })
            }
            Kind::RestartService => json!({
                "schemaVersion": "1.0",
                "description": described("restart an allowed service and show its status"),
                "sessionType": "NonInteractiveCommands",
                "parameters": {
                    "service": {"type": "String", "description": "The systemd service", "allowedValues": strings(&self.services)},
                },
                "properties": {"linux": {"commands": "sudo systemctl restart {{ service }} && systemctl --no-pager status {{ service }}", "runAsElevated": false}},
            }),
            Kind::TailLog => json!({
                "schemaVersion": "1.0",
                "description": described("follow a log under /var/log"),
                "sessionType": "InteractiveCommands",
                "parameters": {
                    "log": {"type": "String", "description": "A file under /var/log", "allowedPattern": LOG_PATTERN, "default": "/var/log/messages"},
                    "lines": {"type": "String", "description": "Lines to show first", "allowedPattern": "^[1-9][0-9]{0,3}$", "default": "100"},
                },
                "properties": {"linux": {"commands": "sudo tail -n {{ lines }} -F {{ log }}", "runAsElevated": false}},
            }),
        }
    }

    /// What a session with `document` and `given` parameters does, judged against this
    /// catalog: the sanctioned use, or why it is not one.
    pub fn judge(&self, document: &str, given: &Parameters) -> Use {
        let Some(kind) = self.kind_of(document) else {
            if document != DEFAULT_SHELL {
                return Use::NotAllowed;
            }
            if !given.is_empty() {
                let problems = vec![format!("{DEFAULT_SHELL} takes no parameters")];
                return Use::Refused { kind: Kind::Shell, problems };
            }
            return Use::Sanctioned {
                kind: Kind::Shell,
                parameters: Parameters::new(),
                detail: None,
            };
        };
        let content = self.document(kind, &Value::Null);
        let parameters = match check_parameters(&content, given) {
            Ok(p) => p,
            Err(problems) => return Use::Refused { kind, problems },
        };
        let one =
            |name: &str| parameters.get(name).and_then(|v| v.first()).cloned().unwrap_or_default();
        let detail = match kind {
            Kind::Shell => None,
            Kind::PortForward => Some(format!("localhost:{}", one("portNumber"))),
            Kind::RemotePortForward => {
                let wanted = format!("{}:{}", one("host"), one("portNumber"));
                if !self.destinations.iter().any(|d| d.to_string() == wanted) {
                    let list =
                        self.destinations.iter().map(ToString::to_string).collect::<Vec<_>>();
                    return Use::Refused {
                        kind,
                        problems: vec![format!(
                            "{wanted} is not an allowed destination ({})",
                            list.join(", ")
                        )],
                    };
                }
                Some(wanted)
            }
            Kind::RestartService | Kind::TailLog => content["properties"]["linux"]["commands"]
                .as_str()
                .map(|c| substitute(c, &parameters)),
        };
        Use::Sanctioned { kind, parameters, detail }
    }
}

/// What a session did with the stack's documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Use {
    /// One of the sanctioned documents, with parameters it allows. `detail`: the destination of
    /// a port forward (`db.internal:5432`, `localhost:80`) or the command a task ran.
    Sanctioned {
        /// Which document.
        kind: Kind,
        /// The parameters, defaults filled in.
        parameters: Parameters,
        /// Destination or command.
        detail: Option<String>,
    },
    /// One of the sanctioned documents with parameters it does not allow (changed in the
    /// console, or a destination pair off the list).
    Refused {
        /// Which document.
        kind: Kind,
        /// Why.
        problems: Vec<String>,
    },
    /// A document the stack does not sanction.
    NotAllowed,
}
