//! Server configuration (`privgate.toml`): listeners, TLS files, data directory, upstreams and
//! limits.
//!
//! Owns: the config model with embedded defaults (so `serve` runs with no file), loading with
//! errors that name the file, the key path and what was expected, and validation that reports
//! every problem at once. Command-line flags are applied on top by the binary.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The whole server configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Listeners, files and the active policy.
    #[serde(default)]
    pub server: ServerSection,
    /// Where each provider's requests go.
    #[serde(default)]
    pub upstreams: UpstreamsSection,
    /// Limits and timeouts (defaults from RELIABILITY.md D8).
    #[serde(default)]
    pub limits: Limits,
    /// The audit trail.
    #[serde(default)]
    pub audit: AuditSection,
    /// Backends of any other JSON API, described by a route and JSON selectors.
    #[serde(default)]
    pub generic: Vec<GenericSection>,
    /// The admin API: tokens, roles, observability access, TLS.
    #[serde(default)]
    pub admin: AdminSection,
    /// Calling applications, recognised by the API key they send (stored as a SHA-256).
    #[serde(default, rename = "app")]
    pub apps: Vec<AppSection>,
    /// Which policy (and purpose) applies to which path and app; first match wins, else
    /// `server.policy`.
    #[serde(default, rename = "route")]
    pub routes: Vec<RouteSection>,
    /// The consent registry under `<data_dir>/consent`.
    #[serde(default)]
    pub consent: ConsentSection,
    /// An external Presidio-compatible analyzer asked beside the built-in detector. Absent = off
    /// (the default): no client is built and no call is made.
    #[serde(default)]
    pub presidio: Option<PresidioSection>,
}

/// `[presidio]`: an external analyzer speaking Presidio's `POST /analyze` API, whose findings
/// are merged with the built-in detector's on every text slot of a request body.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresidioSection {
    /// Base URL, e.g. `http://127.0.0.1:5002`; privgate posts to `<url>/analyze`.
    pub url: String,
    /// Longest the analyzer may take for one request (all its text slots), milliseconds.
    #[serde(default = "PresidioSection::default_timeout_ms")]
    pub timeout_ms: u64,
    /// The `language` sent with each text: a code such as `en`, or `auto` (CJK text → `zh`,
    /// anything else → `en`).
    #[serde(default = "PresidioSection::default_language")]
    pub language: String,
    /// Presidio entity name → privgate entity type, merged over the defaults (see
    /// `proxy::presidio::DEFAULT_ENTITY_MAP`); the value `IGNORE` unmaps a default. Findings of
    /// unmapped types are ignored.
    #[serde(default)]
    pub entity_map: std::collections::BTreeMap<String, String>,
    /// Presidio findings scoring below this are ignored (sent as `score_threshold`).
    #[serde(default = "PresidioSection::default_min_score")]
    pub min_score: f32,
    /// What a failed, slow or malformed analyzer answer does to the request.
    #[serde(default)]
    pub on_error: PresidioOnError,
    /// Calls in flight at once for one request (one call per text slot).
    #[serde(default = "PresidioSection::default_max_concurrent_calls")]
    pub max_concurrent_calls: usize,
    /// Extra CA certificate (PEM) to trust for an `https://` analyzer.
    #[serde(default)]
    pub extra_ca: Option<PathBuf>,
}

impl PresidioSection {
    fn default_timeout_ms() -> u64 {
        500
    }
    fn default_language() -> String {
        "en".into()
    }
    fn default_min_score() -> f32 {
        0.6
    }
    fn default_max_concurrent_calls() -> usize {
        4
    }

    /// A section with every default, for `url`.
    pub fn new(url: &str) -> PresidioSection {
        PresidioSection {
            url: url.to_string(),
            timeout_ms: Self::default_timeout_ms(),
            language: Self::default_language(),
            entity_map: Default::default(),
            min_score: Self::default_min_score(),
            on_error: PresidioOnError::default(),
            max_concurrent_calls: Self::default_max_concurrent_calls(),
            extra_ca: None,
        }
    }
}

/// `presidio.on_error`: what happens when the analyzer fails, times out or answers garbage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresidioOnError {
    /// Refuse the request (503 `redaction_unavailable`); nothing goes upstream.
    #[default]
    FailClosed,
    /// Forward with the built-in detector's findings only (counted in
    /// `privgate_presidio_skipped_requests_total`).
    Skip,
}

/// `[consent]`: the consent registry (grants, withdrawals, restrictions per subject; see
/// `privgate consent`). It is always open, with or without the audit trail.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsentSection {
    /// Keep consent events this many days; older ones are purged hourly by `serve`, except each
    /// subject's latest event per purpose and latest restriction, which stay as long as they are
    /// the current state (Art. 7(1): consent must stay demonstrable). `None` keeps every event.
    pub retention_days: Option<u32>,
}

/// `[[app]]`: one calling application, known by its credentials, never by a header it chooses.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSection {
    /// The app's name, used by `[[route]] app = …` (letters, digits, `-`, `_`).
    pub name: String,
    /// SHA-256 (hex) of each API key the app sends upstream (`Authorization: Bearer …`,
    /// `x-api-key` or `x-goog-api-key`); `privgate admin token`-style hashing, e.g.
    /// `printf %s "$KEY" | sha256sum`.
    pub api_key_sha256: Vec<String>,
}

/// `[[route]]`: the policy for requests to a path (prefix), optionally only from one app.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSection {
    /// Path prefix this rule covers, e.g. `/v1/` or `/v1/messages`; `/` covers every path.
    pub path: String,
    /// Only requests from this `[[app]]`; `None` = any caller.
    #[serde(default)]
    pub app: Option<String>,
    /// The policy id; `None` = `server.policy`.
    #[serde(default)]
    pub policy: Option<String>,
    /// The processing purpose of every request on this route; a different purpose in the
    /// purpose header is refused. `None` = the header's, else the policy's default.
    #[serde(default)]
    pub purpose: Option<String>,
}

impl RouteSection {
    /// True if this rule covers `path` from `app`.
    pub fn matches(&self, path: &str, app: Option<&str>) -> bool {
        let path_ok = self.path == "/"
            || path == self.path
            || (path.starts_with(&self.path)
                && (self.path.ends_with('/') || path.as_bytes()[self.path.len()] == b'/'));
        path_ok && self.app.as_deref().is_none_or(|a| app == Some(a))
    }
}

/// `[admin]`: who may use the admin listener's `/admin/...` API, and how it is served.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminSection {
    /// Bearer tokens, stored as SHA-256 digests (create one with `privgate admin token`).
    pub tokens: Vec<AdminTokenEntry>,
    /// `/metrics`, `/healthz` and `/readyz` answer without a token (default true); when false
    /// they need a token with the `ops` role.
    pub open_observability: bool,
    /// Serve the admin listener over TLS with the server certificate (default false: plain HTTP,
    /// so the listener must stay on loopback or a private network).
    pub tls: bool,
    /// Failed authentications one peer IP may make per minute before it gets 429.
    pub max_auth_failures_per_minute: u32,
}

impl Default for AdminSection {
    fn default() -> Self {
        AdminSection {
            tokens: Vec::new(),
            open_observability: true,
            tls: false,
            max_auth_failures_per_minute: 10,
        }
    }
}

/// One admin token: a name (the principal in audit events), the SHA-256 of the token, roles.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminTokenEntry {
    /// Who holds it; recorded as the principal of every action taken with it.
    pub name: String,
    /// SHA-256 of the token, 64 hex characters (the token itself is never stored).
    pub sha256: String,
    /// What it may do.
    pub roles: Vec<AdminRole>,
    /// When it stops working (unix ms, `YYYY-MM-DD` or RFC 3339 UTC); `None` = until removed.
    /// Revoking a token = removing its entry and restarting the server.
    #[serde(default)]
    pub expires: Option<String>,
}

/// An admin role. Default deny: a route is allowed only to the roles listed for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdminRole {
    /// Compliance officer: query, export, erase, verify, stats, public key, purge; and the
    /// consent routes.
    Officer,
    /// An application backend recording consent from its own UI: the consent routes only
    /// (grant, withdraw, restrict, unrestrict, show).
    Consent,
    /// Operations: metrics, health, readiness, policy reload.
    Ops,
    /// Everything, including key rotation.
    Admin,
}

impl AdminRole {
    /// The role's name as written in config.
    pub fn as_str(self) -> &'static str {
        match self {
            AdminRole::Officer => "officer",
            AdminRole::Consent => "consent",
            AdminRole::Ops => "ops",
            AdminRole::Admin => "admin",
        }
    }
}

/// `[[generic]]`: one route to any JSON backend.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenericSection {
    /// A short name: the `provider` label in metrics and logs.
    pub name: String,
    /// The path privgate serves (POST), e.g. `/acme/v1/generate`; forwarded as is.
    pub path: String,
    /// The upstream.
    pub upstream: Upstream,
    /// JSON selectors of the request's text slots (`$.prompt`, `$.history[*].text`).
    pub request_slots: Vec<String>,
}

/// `[audit]`: the encrypted, hash-chained audit trail under `<data_dir>/audit`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSection {
    /// Record every exchange. When on, a request goes upstream only after its intent record is
    /// durable; if it cannot be written, the request is refused (503 `audit_unavailable`).
    pub enabled: bool,
    /// How long a request waits for its audit record to become durable, milliseconds.
    pub write_timeout_ms: u64,
    /// Keep audit records at most this many days: the ceiling for every record (a policy's
    /// `[retention] audit_days` can only shorten it for its own records). Older ones are
    /// replaced by tombstones (the chain still verifies) and then purged, hourly by `serve` and
    /// by `privgate audit purge --retention`. `None` keeps them until purged by hand.
    pub retention_days: Option<u32>,
    /// Subjects under legal hold, as `ref:<64 hex>` blind indexes (shown by `privgate audit
    /// query`; never raw ids in a config file): retention leaves their records alone.
    pub legal_hold: Vec<String>,
}

impl Default for AuditSection {
    fn default() -> Self {
        AuditSection {
            enabled: true,
            write_timeout_ms: 2_000,
            retention_days: None,
            legal_hold: Vec::new(),
        }
    }
}

/// `[server]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    /// The client-facing HTTPS listener.
    pub listen: SocketAddr,
    /// The admin listener (`/metrics`, `/healthz`, `/readyz`); keep it on loopback.
    pub admin_listen: SocketAddr,
    /// Directory of `server.pem`, `server-key.pem` and `dev-ca.pem`.
    pub certs_dir: PathBuf,
    /// Server certificate chain; default `<certs_dir>/server.pem`.
    pub tls_cert: Option<PathBuf>,
    /// Server private key; default `<certs_dir>/server-key.pem`.
    pub tls_key: Option<PathBuf>,
    /// State directory (pseudonym key, stores).
    pub data_dir: PathBuf,
    /// Directory of policy files; `None` = only the embedded default.
    pub policies_dir: Option<PathBuf>,
    /// The policy of routes no `[[route]]` rule covers.
    pub policy: String,
    /// The header a caller names the data subject with (never forwarded upstream). Without it
    /// the subject is OpenAI's `user` or Anthropic's `metadata.user_id`.
    pub subject_header: String,
    /// The header a caller declares the processing purpose with (never forwarded upstream);
    /// checked against the policy's purposes.
    pub purpose_header: String,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            listen: "127.0.0.1:8443".parse().expect("static address"),
            admin_listen: "127.0.0.1:9090".parse().expect("static address"),
            certs_dir: PathBuf::from("certs"),
            tls_cert: None,
            tls_key: None,
            data_dir: PathBuf::from("data"),
            policies_dir: None,
            policy: crate::policy::DEFAULT_POLICY_ID.to_string(),
            subject_header: "x-privgate-subject".into(),
            purpose_header: "x-privgate-purpose".into(),
        }
    }
}

impl ServerSection {
    /// The certificate chain file in use.
    pub fn cert_path(&self) -> PathBuf {
        self.tls_cert
            .clone()
            .unwrap_or_else(|| self.certs_dir.join("server.pem"))
    }

    /// The private key file in use.
    pub fn key_path(&self) -> PathBuf {
        self.tls_key
            .clone()
            .unwrap_or_else(|| self.certs_dir.join("server-key.pem"))
    }

    /// True when both TLS files are the generated dev defaults.
    pub fn uses_dev_certs(&self) -> bool {
        self.tls_cert.is_none() && self.tls_key.is_none()
    }
}

/// `[upstreams]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamsSection {
    /// OpenAI-compatible backend (OpenAI, Azure-style gateways, Ollama, vLLM…).
    pub openai: Upstream,
    /// Anthropic Messages API backend.
    pub anthropic: Upstream,
    /// Google Gemini API backend.
    pub gemini: Upstream,
    /// Ollama native API backend (`/api/chat`, `/api/generate`).
    pub ollama: Upstream,
}

impl Default for UpstreamsSection {
    fn default() -> Self {
        UpstreamsSection {
            openai: Upstream::new("https://api.openai.com"),
            anthropic: Upstream::new("https://api.anthropic.com"),
            gemini: Upstream::new("https://generativelanguage.googleapis.com"),
            ollama: Upstream::new("http://127.0.0.1:11434"),
        }
    }
}

/// One upstream backend.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    /// Base URL: `https://host[:port][/prefix]` or `http://…` for local backends. The client's
    /// path (`/v1/...`) is appended.
    pub url: String,
    /// Extra CA certificate (PEM) to trust for this upstream, beside the public roots.
    #[serde(default)]
    pub extra_ca: Option<PathBuf>,
    /// Where the upstream processes data (e.g. `eu`, `us`), for policies' transfer rules.
    #[serde(default)]
    pub region: Option<String>,
    /// The legal basis of a transfer to it: `adequacy`, `scc` or `none`.
    #[serde(default)]
    pub transfer_basis: Option<String>,
}

impl Upstream {
    /// An upstream with no extra CA and no declared region.
    pub fn new(url: &str) -> Upstream {
        Upstream {
            url: url.to_string(),
            extra_ca: None,
            region: None,
            transfer_basis: None,
        }
    }
}

/// `[limits]`: defaults from RELIABILITY.md D8.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body accepted (and scanned).
    pub max_body_bytes: usize,
    /// Largest non-streamed upstream answer privgate reads to restore pseudonyms.
    pub max_response_bytes: usize,
    /// Deepest JSON nesting accepted.
    pub max_json_depth: usize,
    /// Most request headers on HTTP/1.1.
    pub max_headers: usize,
    /// Largest request header block (bytes).
    pub max_header_bytes: usize,
    /// Client connections open at once.
    pub max_connections: usize,
    /// HTTP/2 streams per connection.
    pub h2_max_concurrent_streams: u32,
    /// TLS handshake timeout, milliseconds.
    pub tls_handshake_timeout_ms: u64,
    /// Time for a client to send its request headers, milliseconds.
    pub header_read_timeout_ms: u64,
    /// Time for a client to send its whole request body, milliseconds.
    pub body_read_timeout_ms: u64,
    /// Upstream TCP connect timeout, milliseconds.
    pub upstream_connect_timeout_ms: u64,
    /// Upstream time to response headers, milliseconds.
    pub upstream_timeout_ms: u64,
    /// Upstream time to deliver a whole non-streamed body, milliseconds.
    pub upstream_body_timeout_ms: u64,
    /// Idle upstream connections are closed after this, milliseconds.
    pub upstream_pool_idle_ms: u64,
    /// Longest silence between chunks of a streamed answer before it is ended as failed, ms.
    pub stream_idle_timeout_ms: u64,
    /// Longest a streamed answer may run in all, milliseconds.
    pub stream_max_duration_ms: u64,
    /// Longest time PII detection may take for one request, milliseconds; past it the request
    /// is refused (503 `redaction_unavailable`), never forwarded unscanned.
    pub scan_budget_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 4 * 1024 * 1024,
            max_response_bytes: 32 * 1024 * 1024,
            max_json_depth: 64,
            max_headers: 100,
            max_header_bytes: 32 * 1024,
            max_connections: 10_000,
            h2_max_concurrent_streams: 100,
            tls_handshake_timeout_ms: 10_000,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 30_000,
            upstream_connect_timeout_ms: 5_000,
            upstream_timeout_ms: 60_000,
            upstream_body_timeout_ms: 600_000,
            upstream_pool_idle_ms: 90_000,
            scan_budget_ms: 2_000,
            stream_idle_timeout_ms: 60_000,
            stream_max_duration_ms: 600_000,
        }
    }
}

/// A duration from milliseconds.
pub fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

/// A config problem: which file, which key, what was expected.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid for the model.
    #[error("{file}: {key}: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// The key path.
        key: String,
        /// What is wrong and what was expected.
        message: String,
    },
    /// Several problems.
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Many(Vec<ConfigError>),
}

impl Config {
    /// Loads a config file; unknown keys and wrong types are errors naming the key path.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            file: file.clone(),
            source,
        })?;
        Config::parse(&file, &text)
    }

    /// Parses config text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Config, ConfigError> {
        let de = toml::Deserializer::new(text);
        let config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner();
            let line = inner
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            ConfigError::Invalid {
                file: match line {
                    Some(l) => format!("{file}:{l}"),
                    None => file.to_string(),
                },
                key: if key == "." { "(file)".into() } else { key },
                message: inner.message().to_string(),
            }
        })?;
        config.validate(file)?;
        Ok(config)
    }

    /// Checks what types alone cannot: URL shapes, non-zero limits. Reports every problem.
    pub fn validate(&self, file: &str) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        let mut bad = |key: &str, message: String| {
            problems.push(ConfigError::Invalid {
                file: file.to_string(),
                key: key.to_string(),
                message,
            })
        };
        for (name, up) in [
            ("openai", &self.upstreams.openai),
            ("anthropic", &self.upstreams.anthropic),
            ("gemini", &self.upstreams.gemini),
            ("ollama", &self.upstreams.ollama),
        ] {
            if let Err(m) = validate_upstream_url(&up.url) {
                bad(&format!("upstreams.{name}.url"), m);
            }
            if let Some(ca) = &up.extra_ca {
                if !ca.exists() {
                    bad(
                        &format!("upstreams.{name}.extra_ca"),
                        format!("expected a PEM file, {} does not exist", ca.display()),
                    );
                }
            }
        }
        for (i, g) in self.generic.iter().enumerate() {
            if !g.path.starts_with('/') || g.path.contains("..") || g.path.contains('?') {
                bad(
                    &format!("generic[{i}].path"),
                    format!(
                        "expected an absolute path like /acme/v1/generate, got {:?}",
                        g.path
                    ),
                );
            }
            if g.name.is_empty()
                || !g
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                bad(
                    &format!("generic[{i}].name"),
                    "expected letters, digits, '-' or '_'".into(),
                );
            }
            if let Err(m) = validate_upstream_url(&g.upstream.url) {
                bad(&format!("generic[{i}].upstream.url"), m);
            }
            if g.request_slots.is_empty() {
                bad(
                    &format!("generic[{i}].request_slots"),
                    "expected at least one selector".into(),
                );
            }
            for (j, sel) in g.request_slots.iter().enumerate() {
                if let Err(m) = crate::providers::generic::Selector::parse(sel) {
                    bad(&format!("generic[{i}].request_slots[{j}]"), m);
                }
            }
        }
        let l = &self.limits;
        for (key, v) in [
            ("limits.max_body_bytes", l.max_body_bytes as u64),
            ("limits.max_response_bytes", l.max_response_bytes as u64),
            ("limits.max_json_depth", l.max_json_depth as u64),
            ("limits.max_headers", l.max_headers as u64),
            ("limits.max_connections", l.max_connections as u64),
            (
                "limits.tls_handshake_timeout_ms",
                l.tls_handshake_timeout_ms,
            ),
            ("limits.header_read_timeout_ms", l.header_read_timeout_ms),
            ("limits.body_read_timeout_ms", l.body_read_timeout_ms),
            (
                "limits.upstream_connect_timeout_ms",
                l.upstream_connect_timeout_ms,
            ),
            ("limits.upstream_timeout_ms", l.upstream_timeout_ms),
            ("limits.scan_budget_ms", l.scan_budget_ms),
            ("limits.stream_idle_timeout_ms", l.stream_idle_timeout_ms),
            ("limits.stream_max_duration_ms", l.stream_max_duration_ms),
        ] {
            if v == 0 {
                bad(key, "expected a value greater than 0".into());
            }
        }
        if self.consent.retention_days == Some(0) {
            bad(
                "consent.retention_days",
                "expected at least 1 day (leave it out to keep every event)".into(),
            );
        }
        let mut names = std::collections::HashSet::new();
        for (i, t) in self.admin.tokens.iter().enumerate() {
            if t.name.trim().is_empty() {
                bad(&format!("admin.tokens[{i}].name"), "expected a name".into());
            } else if !names.insert(t.name.as_str()) {
                bad(
                    &format!("admin.tokens[{i}].name"),
                    format!("duplicate token name {:?}", t.name),
                );
            }
            if t.sha256.len() != 64 || hex::decode(&t.sha256).is_err() {
                bad(
                    &format!("admin.tokens[{i}].sha256"),
                    "expected 64 hex characters (the SHA-256 of the token; see `privgate admin token`)"
                        .into(),
                );
            }
            if let Some(e) = &t.expires {
                if crate::audit::cli::parse_time(e).is_err() {
                    bad(
                        &format!("admin.tokens[{i}].expires"),
                        format!("expected unix ms, YYYY-MM-DD or RFC 3339 UTC, got {e:?}"),
                    );
                }
            }
            if t.roles.is_empty() {
                bad(
                    &format!("admin.tokens[{i}].roles"),
                    "expected at least one of officer, ops, admin".into(),
                );
            }
        }
        for (i, h) in self.audit.legal_hold.iter().enumerate() {
            let ok = h
                .strip_prefix("ref:")
                .is_some_and(|x| x.len() == 64 && hex::decode(x).is_ok());
            if !ok {
                bad(
                    &format!("audit.legal_hold[{i}]"),
                    "expected ref:<64 hex>, the subject's blind index as `privgate audit query` shows it"
                        .into(),
                );
            }
        }
        if self.admin.max_auth_failures_per_minute == 0 {
            bad(
                "admin.max_auth_failures_per_minute",
                "expected a value greater than 0".into(),
            );
        }
        let ident_ok = |n: &str| {
            !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        let mut app_names = std::collections::HashSet::new();
        for (i, a) in self.apps.iter().enumerate() {
            if !ident_ok(&a.name) {
                bad(
                    &format!("app[{i}].name"),
                    "expected letters, digits, '-' or '_'".into(),
                );
            } else if !app_names.insert(a.name.as_str()) {
                bad(
                    &format!("app[{i}].name"),
                    format!("duplicate app name {:?}", a.name),
                );
            }
            if a.api_key_sha256.is_empty() {
                bad(
                    &format!("app[{i}].api_key_sha256"),
                    "expected at least one key hash".into(),
                );
            }
            for (j, h) in a.api_key_sha256.iter().enumerate() {
                if h.len() != 64 || hex::decode(h).is_err() {
                    bad(
                        &format!("app[{i}].api_key_sha256[{j}]"),
                        "expected 64 hex characters (the SHA-256 of the API key)".into(),
                    );
                }
            }
        }
        for (i, r) in self.routes.iter().enumerate() {
            if !r.path.starts_with('/') || r.path.contains("..") || r.path.contains('?') {
                bad(
                    &format!("route[{i}].path"),
                    format!(
                        "expected an absolute path prefix like /v1/, got {:?}",
                        r.path
                    ),
                );
            }
            if let Some(app) = &r.app {
                if !self.apps.iter().any(|a| &a.name == app) {
                    bad(
                        &format!("route[{i}].app"),
                        format!("no [[app]] is named {app:?}"),
                    );
                }
            }
            if let Some(p) = &r.purpose {
                if !crate::policy::valid_purpose(p) {
                    bad(
                        &format!("route[{i}].purpose"),
                        format!("expected lower-case letters, digits, '-' or '_', got {p:?}"),
                    );
                }
            }
        }
        for (key, h) in [
            ("server.subject_header", &self.server.subject_header),
            ("server.purpose_header", &self.server.purpose_header),
        ] {
            if http::HeaderName::from_bytes(h.as_bytes()).is_err() || h.to_ascii_lowercase() != *h {
                bad(key, format!("expected a lower-case header name, got {h:?}"));
            }
        }
        if let Some(p) = &self.presidio {
            if let Err(m) = validate_upstream_url(&p.url) {
                bad("presidio.url", m);
            }
            if p.timeout_ms == 0 {
                bad(
                    "presidio.timeout_ms",
                    "expected a value greater than 0".into(),
                );
            }
            if p.max_concurrent_calls == 0 {
                bad(
                    "presidio.max_concurrent_calls",
                    "expected a value greater than 0".into(),
                );
            }
            if !(0.0..=1.0).contains(&p.min_score) {
                bad(
                    "presidio.min_score",
                    format!("expected a score in 0.0..=1.0, got {}", p.min_score),
                );
            }
            let lang_ok = p.language == "auto"
                || (!p.language.is_empty()
                    && p.language.len() <= 16
                    && p.language
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
            if !lang_ok {
                bad(
                    "presidio.language",
                    format!(
                        "expected a language code such as \"en\" or \"auto\", got {:?}",
                        p.language
                    ),
                );
            }
            for (name, target) in &p.entity_map {
                if target != "IGNORE" && crate::detect::EntityType::parse(target).is_none() {
                    bad(
                        &format!("presidio.entity_map.{name}"),
                        format!("expected a privgate entity type (e.g. PERSON) or IGNORE, got {target:?}"),
                    );
                }
            }
            if let Some(ca) = &p.extra_ca {
                if !ca.exists() {
                    bad(
                        "presidio.extra_ca",
                        format!("expected a PEM file, {} does not exist", ca.display()),
                    );
                }
            }
        }
        if l.max_header_bytes < 8192 {
            bad(
                "limits.max_header_bytes",
                "expected at least 8192 bytes".into(),
            );
        }
        match problems.len() {
            0 => Ok(()),
            1 => Err(problems.remove(0)),
            _ => Err(ConfigError::Many(problems)),
        }
    }
}

/// Checks an upstream base URL: `http` or `https`, a host, no query or fragment.
pub fn validate_upstream_url(url: &str) -> Result<http::Uri, String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|_| format!("expected an http:// or https:// URL, got {url:?}"))?;
    match uri.scheme_str() {
        Some("http") | Some("https") => {}
        _ => return Err(format!("expected an http:// or https:// URL, got {url:?}")),
    }
    if uri.host().is_none() {
        return Err(format!("expected a host in {url:?}"));
    }
    if uri.query().is_some() {
        return Err(format!("expected no query string in {url:?}"));
    }
    Ok(uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_without_a_file() {
        let c = Config::parse("x.toml", "").unwrap();
        assert_eq!(c.server.listen.port(), 8443);
        assert_eq!(c.limits.max_body_bytes, 4 * 1024 * 1024);
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let err = Config::parse("privgate.toml", "[limits]\nmax_body_bytes = \"big\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("privgate.toml:2: limits.max_body_bytes:"),
            "{err}"
        );
        let err = Config::parse("privgate.toml", "[server]\nlisten_on = 1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("listen_on"), "{err}");
        let err = Config::parse("c.toml", "[upstreams.openai]\nurl = \"ftp://x\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("upstreams.openai.url"), "{err}");
    }
}

#[cfg(test)]
mod admin_tests {
    use super::*;

    #[test]
    fn admin_tokens_are_validated_all_at_once() {
        let digest = "ab".repeat(32);
        let ok = Config::parse(
            "c.toml",
            &format!(
                "[admin]\ntokens = [{{ name = \"a\", sha256 = \"{digest}\", roles = [\"officer\"], expires = \"2030-01-01\" }}]\n"
            ),
        )
        .unwrap();
        assert_eq!(ok.admin.tokens[0].roles, vec![AdminRole::Officer]);
        assert!(ok.admin.open_observability && !ok.admin.tls);
        let err = Config::parse(
            "c.toml",
            &format!(
                "[admin]\ntokens = [{{ name = \"a\", sha256 = \"xyz\", roles = [] }}, \
                 {{ name = \"a\", sha256 = \"{digest}\", roles = [\"ops\"], expires = \"soon\" }}]\n"
            ),
        )
        .unwrap_err()
        .to_string();
        for key in [
            "admin.tokens[0].sha256",
            "admin.tokens[0].roles",
            "admin.tokens[1].name",
            "admin.tokens[1].expires",
        ] {
            assert!(err.contains(key), "{key}: {err}");
        }
        let err = Config::parse(
            "c.toml",
            &format!("[admin]\ntokens = [{{ name = \"a\", sha256 = \"{digest}\", roles = [\"root\"] }}]\n"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("admin.tokens[0].roles") || err.contains("root"),
            "{err}"
        );
    }
}

#[cfg(test)]
mod example_tests {
    #[test]
    fn generic_routes_parse_and_bad_selectors_are_named() {
        let ok = "[[generic]]\nname = \"acme\"\npath = \"/acme/gen\"\nupstream = { url = \"http://127.0.0.1:9\" }\nrequest_slots = [\"$.prompt\"]\n";
        assert_eq!(super::Config::parse("c.toml", ok).unwrap().generic.len(), 1);
        let bad = ok.replace("$.prompt", "prompt");
        let err = super::Config::parse("c.toml", &bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("generic[0].request_slots[0]"), "{err}");
    }

    #[test]
    fn the_shipped_example_config_is_valid() {
        super::Config::parse(
            "privgate.example.toml",
            include_str!("../privgate.example.toml"),
        )
        .unwrap();
    }
}

#[cfg(test)]
mod presidio_tests {
    #[test]
    fn absent_section_is_off_and_defaults_apply() {
        assert!(super::Config::parse("c.toml", "")
            .unwrap()
            .presidio
            .is_none());
        let c = super::Config::parse("c.toml", "[presidio]\nurl = \"http://127.0.0.1:5002\"\n")
            .unwrap();
        let p = c.presidio.unwrap();
        assert_eq!(p.timeout_ms, 500);
        assert_eq!(p.language, "en");
        assert_eq!(p.min_score, 0.6);
        assert_eq!(p.on_error, super::PresidioOnError::FailClosed);
    }

    #[test]
    fn the_commented_presidio_example_is_valid() {
        let example = include_str!("../privgate.example.toml");
        let start = example
            .find("# [presidio]")
            .expect("the example documents [presidio]");
        let section: String = example[start..]
            .lines()
            .take_while(|l| !l.trim().is_empty())
            .map(|l| format!("{}\n", l.strip_prefix("# ").unwrap_or(l)))
            .collect();
        let c = super::Config::parse("privgate.example.toml", &section).unwrap();
        let p = c.presidio.expect("uncommented, the section parses");
        assert_eq!(p.entity_map["LOCATION"], "STREET_ADDRESS");
        assert_eq!(p.on_error, super::PresidioOnError::FailClosed);
    }

    #[test]
    fn presidio_problems_are_reported_together() {
        let err = super::Config::parse(
            "c.toml",
            "[presidio]\nurl = \"ftp://x\"\ntimeout_ms = 0\nmin_score = 2.0\nlanguage = \"e n\"\n\
             entity_map = { PERSON = \"PERSN\", LOCATION = \"IGNORE\" }\n",
        )
        .unwrap_err()
        .to_string();
        for key in [
            "presidio.url",
            "presidio.timeout_ms",
            "presidio.min_score",
            "presidio.language",
            "presidio.entity_map.PERSON",
        ] {
            assert!(err.contains(key), "{key}: {err}");
        }
        assert!(!err.contains("LOCATION"), "{err}");
        let err = super::Config::parse(
            "c.toml",
            "[presidio]\nurl = \"http://h\"\non_error = \"open\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("presidio.on_error"), "{err}");
    }
}

#[cfg(test)]
mod consent_tests {
    #[test]
    fn consent_retention_parses_and_is_validated() {
        let ok = super::Config::parse("c.toml", "[consent]\nretention_days = 30\n").unwrap();
        assert_eq!(ok.consent.retention_days, Some(30));
        assert_eq!(
            super::Config::default().consent.retention_days,
            None,
            "keep everything by default"
        );
        let err = super::Config::parse("c.toml", "[consent]\nretention_days = 0\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("consent.retention_days"), "{err}");
        let err = super::Config::parse("c.toml", "[consent]\nretention = 3\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("retention"), "{err}");
    }
}
