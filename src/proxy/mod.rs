//! The client-facing listener: TCP accept with a connection cap, TLS handshake with a timeout,
//! HTTP/1.1 and HTTP/2 by ALPN (hyper, with a timer so the header-read timeout really fires), and
//! the shared state every request handler reads.
//!
//! Owns: [`AppState`], [`Server`] (start, addresses, shutdown). The request path itself is in
//! `handler`; header hygiene in `headers`; upstream clients in `upstream`.

pub mod auditing;
pub mod body;
pub mod gate;
pub mod handler;
pub mod headers;
pub mod presidio;
pub mod routing;
pub mod sniff;
pub mod upstream;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio_rustls::TlsAcceptor;

use crate::config::{self, Config};
use crate::metrics::Metrics;
use crate::policy::{CompiledPolicy, PolicySet};
use crate::redact::PseudonymKey;
use upstream::ResolvedUpstream;

/// The upstream of each provider.
#[derive(Debug, Clone)]
pub struct Upstreams {
    /// OpenAI-compatible.
    pub openai: ResolvedUpstream,
    /// Anthropic.
    pub anthropic: ResolvedUpstream,
    /// Gemini.
    pub gemini: ResolvedUpstream,
    /// Ollama.
    pub ollama: ResolvedUpstream,
    /// `[[generic]]` routes, in config order.
    pub generic: Vec<GenericRoute>,
}

/// A `[[generic]]` route, ready to serve.
#[derive(Debug, Clone)]
pub struct GenericRoute {
    /// The served path (also the metric route label: a config identifier, bounded).
    pub path: &'static str,
    /// The name (logs).
    pub name: String,
    /// The request's text slots.
    pub selectors: Arc<[crate::providers::generic::Selector]>,
    /// Where it goes.
    pub upstream: ResolvedUpstream,
}

/// State shared by every connection and request.
pub struct AppState {
    /// The validated configuration.
    pub config: Config,
    /// Loaded policies; swapped whole on reload.
    pub policies: ArcSwap<PolicySet>,
    /// The id of the policy of paths no `[[route]]` covers.
    pub policy_id: String,
    /// Calling apps, known by API-key digest.
    pub apps: routing::Apps,
    /// `[[route]]` rules: which policy and purpose apply to which path and app.
    pub routes: routing::RouteTable,
    /// The pseudonym master key.
    pub key: PseudonymKey,
    /// The key of response-side hashes, derived once from `key`.
    pub response_key: PseudonymKey,
    /// Upstream clients.
    pub upstreams: Upstreams,
    /// Metric handles.
    pub metrics: Metrics,
    /// The audit trail (`None` when `[audit] enabled = false`).
    pub audit: Option<Arc<crate::audit::AuditLog>>,
    /// The consent registry (`<data_dir>/consent`), always open: the request path asks it
    /// `lookup(subject, purpose)` on every request; the admin API records and shows consent.
    pub consent: Arc<crate::consent::ConsentRegistry>,
    /// The optional external analyzer (`[presidio]`); `None` when the section is absent.
    pub presidio: Option<presidio::Presidio>,
    /// Readiness: false until listening, and while shutting down.
    pub ready: AtomicBool,
    /// False after an audit write failed, until one succeeds again (readiness reports it).
    pub audit_healthy: AtomicBool,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("policy_id", &self.policy_id)
            .field("upstreams", &self.upstreams)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// The audit retention rules in force (see [`retention_rules`]), read by the hourly sweep, so
    /// a policy reload applies at the next sweep.
    pub fn retention_rules(&self) -> crate::audit::RetentionRules {
        retention_rules(&self.config, &self.policies.load())
    }

    /// The consent history's retention in force (see [`consent_retention_days`]).
    pub fn consent_retention_days(&self) -> Option<u32> {
        consent_retention_days(&self.config, &self.policies.load())
    }

    /// Reloads the policies directory: validated first, then swapped atomically. In-flight
    /// requests finish under the version they started with; an invalid change keeps the old
    /// policies. Counted in `privgate_policy_reloads_total{result}`.
    pub fn reload_policies(&self) -> Result<(), crate::policy::PolicyError> {
        let Some(dir) = &self.config.server.policies_dir else {
            return Ok(());
        };
        let result = PolicySet::load_dir(dir).and_then(|set| {
            let problems = routing::route_problems(&self.config, &set, false);
            if !problems.is_empty() {
                return Err(crate::policy::PolicyError {
                    problems: problems
                        .into_iter()
                        .map(|message| crate::policy::PolicyProblem {
                            file: dir.display().to_string(),
                            line: None,
                            key: "(routes)".into(),
                            message,
                        })
                        .collect(),
                });
            }
            Ok(set)
        });
        match result {
            Ok(set) => {
                self.metrics.set_policies(&set);
                self.policies.store(Arc::new(set));
                self.metrics
                    .policy_reloads_total
                    .with_label_values(&["ok"])
                    .inc();
                let p = self.policy();
                tracing::info!(policy = %p.id, hash = %p.version_hash, "policies reloaded");
                Ok(())
            }
            Err(e) => {
                self.metrics
                    .policy_reloads_total
                    .with_label_values(&["error"])
                    .inc();
                for problem in &e.problems {
                    tracing::error!(%problem, "policy reload refused; keeping the previous policies");
                }
                Err(e)
            }
        }
    }

    /// The policy and the route's fixed purpose for a request to `path` from `app`. Loaded once
    /// per request, so an in-flight request keeps the version it started with across a reload.
    pub fn policy_for(&self, path: &str, app: Option<&str>) -> (Arc<CompiledPolicy>, Option<&str>) {
        let selected = self.routes.select(path, app);
        let policy = self
            .policies
            .load()
            .get(selected.policy_id)
            .unwrap_or_else(|| self.policy());
        (policy, selected.purpose)
    }

    /// Whether `subject` restricted processing, and its consent for `purpose`: one lookup in
    /// the registry's in-memory index (no I/O; a withdrawal is seen by the next request).
    pub fn consent_lookup(&self, subject: &str, purpose: &str) -> (bool, gate::ConsentOutcome) {
        let check = self.consent.lookup(subject, purpose);
        let state = match check.state {
            crate::consent::ConsentState::Granted => gate::ConsentOutcome::Granted,
            crate::consent::ConsentState::Withdrawn => gate::ConsentOutcome::Withdrawn,
            crate::consent::ConsentState::Missing => gate::ConsentOutcome::Missing,
        };
        (check.restricted, state)
    }

    /// Counts one gate decision in `privgate_consent_checks_total{result}`.
    pub fn count_consent_check(&self, outcome: gate::ConsentOutcome) {
        self.metrics.consent_check(outcome.as_str());
    }

    /// The policy of paths no `[[route]]` covers (`server.policy`).
    pub fn policy(&self) -> Arc<CompiledPolicy> {
        self.policies
            .load()
            .get(&self.policy_id)
            .expect("the active policy id was validated at start and on every reload")
    }
}

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A listener could not bind.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// TLS material.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// An upstream.
    #[error(transparent)]
    Upstream(#[from] upstream::UpstreamError),
    /// Policies.
    #[error("policies:\n{0}")]
    Policy(#[from] crate::policy::PolicyError),
    /// The audit store could not be opened.
    #[error("audit store: {0}")]
    Audit(crate::audit::AuditError),
    /// A `[[route]]` names a missing policy or a purpose its policy does not permit.
    #[error("routes:\n{0}")]
    Routes(String),
    /// The consent registry could not be opened.
    #[error("consent registry in {path}: {source}")]
    Consent {
        /// The data dir.
        path: PathBuf,
        /// Why.
        source: crate::consent::ConsentError,
    },
    /// The chosen policy does not exist.
    #[error("policy {id:?} not found; loaded: {loaded}")]
    UnknownPolicy {
        /// The id asked for.
        id: String,
        /// The ids loaded.
        loaded: String,
    },
    /// The data directory or key file.
    #[error("{path}: {source}")]
    Data {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// A running server: its bound addresses and a handle to stop it.
#[derive(Debug)]
pub struct Server {
    /// The HTTPS listener's address (useful with port 0).
    pub addr: SocketAddr,
    /// The admin listener's address.
    pub admin_addr: SocketAddr,
    /// Shared state (metrics, policies).
    pub state: Arc<AppState>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Server {
    /// Loads policies, TLS and upstreams from `config`, binds both listeners and starts serving.
    /// Generates dev certificates first when the configured ones are the (missing) defaults.
    pub async fn start(config: Config) -> Result<Server, StartError> {
        crate::tls::install_crypto_provider();
        let policies = match &config.server.policies_dir {
            Some(dir) => PolicySet::load_dir(dir)?,
            None => PolicySet::embedded(),
        };
        let policy_id = config.server.policy.clone();
        if policies.get(&policy_id).is_none() {
            return Err(StartError::UnknownPolicy {
                id: policy_id,
                loaded: policies.ids().join(", "),
            });
        }
        let problems = routing::route_problems(&config, &policies, false);
        if !problems.is_empty() {
            return Err(StartError::Routes(problems.join("\n")));
        }
        for p in policies.iter().filter(|p| p.dangerous_audit_fail_open) {
            tracing::warn!(policy = %p.id, "policy sets dangerous_audit_fail_open: requests are forwarded even when they cannot be audited");
        }
        let key = load_or_create_key(&config.server.data_dir)?;
        let audit = if config.audit.enabled {
            let opts = crate::audit::AuditOptions {
                write_timeout: config::ms(config.audit.write_timeout_ms),
                ..crate::audit::AuditOptions::default()
            };
            Some(Arc::new(
                crate::audit::AuditLog::open(&config.server.data_dir, opts)
                    .map_err(StartError::Audit)?,
            ))
        } else {
            None
        };
        let consent = crate::consent::ConsentRegistry::open(&config.server.data_dir)
            .map(Arc::new)
            .map_err(|source| StartError::Consent {
                path: config.server.data_dir.clone(),
                source,
            })?;
        let tls = crate::tls::server_config(&config.server.cert_path(), &config.server.key_path())?;
        let admin_tls = if config.admin.tls {
            Some(crate::admin::tls_acceptor(
                &config.server.cert_path(),
                &config.server.key_path(),
            )?)
        } else {
            None
        };
        let upstreams = Upstreams {
            openai: ResolvedUpstream::new(&config.upstreams.openai, &config.limits)?,
            anthropic: ResolvedUpstream::new(&config.upstreams.anthropic, &config.limits)?,
            gemini: ResolvedUpstream::new(&config.upstreams.gemini, &config.limits)?,
            ollama: ResolvedUpstream::new(&config.upstreams.ollama, &config.limits)?,
            generic: config
                .generic
                .iter()
                .map(|g| {
                    Ok(GenericRoute {
                        // Leaked once per configured route at start: route labels are
                        // `&'static str`, and the set is bounded by the config.
                        path: Box::leak(g.path.clone().into_boxed_str()),
                        name: g.name.clone(),
                        selectors: g
                            .request_slots
                            .iter()
                            .filter_map(|s| crate::providers::generic::Selector::parse(s).ok())
                            .collect(),
                        upstream: ResolvedUpstream::new(&g.upstream, &config.limits)?,
                    })
                })
                .collect::<Result<_, StartError>>()?,
        };
        let listener = TcpListener::bind(config.server.listen)
            .await
            .map_err(|source| StartError::Bind {
                addr: config.server.listen,
                source,
            })?;
        let admin_listener = TcpListener::bind(config.server.admin_listen)
            .await
            .map_err(|source| StartError::Bind {
                addr: config.server.admin_listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.server.listen,
            source,
        })?;
        let admin_addr = admin_listener
            .local_addr()
            .map_err(|source| StartError::Bind {
                addr: config.server.admin_listen,
                source,
            })?;
        let metrics = Metrics::new();
        metrics.set_policies(&policies);
        metrics
            .policy_reloads_total
            .with_label_values(&["ok"])
            .inc();
        let apps = routing::Apps::new(&config);
        let routes = routing::RouteTable::new(&config, &policy_id);
        let presidio = match &config.presidio {
            Some(section) => {
                let p = presidio::Presidio::new(section, &metrics)?;
                let host = p.endpoint().host().unwrap_or("");
                tracing::info!(host, on_error = ?section.on_error, "external presidio analyzer enabled");
                if p.is_plaintext_remote() {
                    tracing::warn!(host, "presidio analyzer over plain http to a non-loopback host: prompts travel unencrypted");
                }
                Some(p)
            }
            None => None,
        };
        let state = Arc::new(AppState {
            presidio,
            apps,
            routes,
            config,
            policies: ArcSwap::from_pointee(policies),
            policy_id,
            response_key: key.scoped(b"privgate/response"),
            key,
            upstreams,
            metrics,
            audit,
            consent,
            ready: AtomicBool::new(false),
            audit_healthy: AtomicBool::new(true),
        });
        let (shutdown, rx) = watch::channel(false);
        let rx_watch = rx.clone();
        // Both accept loops end when `shutdown` fires; connections they spawned get a graceful
        // shutdown and are then left to finish on their own.
        let mut tasks = vec![
            tokio::spawn(accept_loop(
                listener,
                TlsAcceptor::from(tls),
                state.clone(),
                rx.clone(),
            )),
            tokio::spawn(crate::admin::serve(
                admin_listener,
                state.clone(),
                admin_tls,
                rx,
            )),
        ];
        // Retention: always running (a reload may set a limit); ends with the shutdown signal.
        tasks.push(tokio::spawn(purge_periodically(
            state.clone(),
            rx_watch.clone(),
        )));
        if let Some(dir) = state.config.server.policies_dir.clone() {
            // Ends with the server's shutdown signal.
            tasks.push(tokio::spawn(watch_policies(dir, state.clone(), rx_watch)));
        }
        // Lets `privgate audit …` find this server while it holds the audit store.
        let discovery = crate::admin::client::Discovery {
            addr: admin_addr,
            scheme: if state.config.admin.tls {
                "https"
            } else {
                "http"
            }
            .into(),
            pid: std::process::id(),
            ca: state
                .config
                .server
                .uses_dev_certs()
                .then(|| crate::tls::CertPaths::in_dir(&state.config.server.certs_dir).ca),
        };
        if let Err(source) = discovery.write(&state.config.server.data_dir) {
            return Err(StartError::Data {
                path: state
                    .config
                    .server
                    .data_dir
                    .join(crate::admin::client::DISCOVERY_FILE),
                source,
            });
        }
        state.ready.store(true, Ordering::SeqCst);
        Ok(Server {
            addr,
            admin_addr,
            state,
            shutdown,
            tasks,
        })
    }

    /// Stops accepting, asks open connections to finish, and waits up to `grace` for them.
    pub async fn shutdown(self, grace: Duration) {
        self.state.ready.store(false, Ordering::SeqCst);
        let _ = self.shutdown.send(true);
        let _ = tokio::time::timeout(grace, futures_util::future::join_all(self.tasks)).await;
        if let Some(audit) = &self.state.audit {
            audit.shutdown();
        }
        crate::admin::client::Discovery::remove_own(&self.state.config.server.data_dir);
    }
}

/// The audit retention rules of a config and its policies: what the hourly sweep of `serve` and
/// `privgate audit purge --retention` apply. `[audit] retention_days` is the default rule.
pub fn retention_rules(config: &Config, policies: &PolicySet) -> crate::audit::RetentionRules {
    use crate::audit::{Retention, RetentionRules};
    // `[audit] retention_days` is the ceiling for every record; a policy's `[retention]` can
    // only shorten it for its own records. Kept text never outlives its record.
    let cap = config.audit.retention_days;
    let shorter = |a: Option<u32>, b: Option<u32>| match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let by_policy = policies
        .iter()
        .map(|p| {
            let audit = shorter(p.retention.audit, cap);
            (p.id.clone(), Retention::days(audit, p.retention.payload))
        })
        .collect();
    RetentionRules {
        by_policy,
        default: Retention::days(config.audit.retention_days, None),
        legal_hold: config
            .audit
            .legal_hold
            .iter()
            .filter_map(|h| crate::audit::SubjectRef::from_hex(h.strip_prefix("ref:")?).ok())
            .collect(),
    }
}

/// How long consent history is kept: `[consent] retention_days` when set, else the longest
/// `[retention] consent_days` of the loaded policies when every policy sets one (consent is
/// per purpose, and a purpose may serve several policies: the longest limit wins), else no limit.
pub fn consent_retention_days(config: &Config, policies: &PolicySet) -> Option<u32> {
    if let Some(days) = config.consent.retention_days {
        return Some(days);
    }
    policies
        .iter()
        .map(|p| p.retention.consent)
        .try_fold(0u32, |acc, d| d.map(|d| acc.max(d)))
        .filter(|d| *d > 0)
}

/// Reads the pseudonym key from `<data_dir>/pseudonym.key`, creating the directory (0700) and a
/// random key (0600) on first start.
pub fn load_or_create_key(data_dir: &std::path::Path) -> Result<PseudonymKey, StartError> {
    let err = |path: &std::path::Path| {
        let path = path.to_path_buf();
        move |source| StartError::Data { path, source }
    };
    std::fs::create_dir_all(data_dir).map_err(err(data_dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700));
    }
    let path = data_dir.join("pseudonym.key");
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let bytes = hex::decode(text.trim())
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok());
            bytes
                .map(PseudonymKey::from_bytes)
                .ok_or_else(|| StartError::Data {
                    path: path.clone(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "expected 64 hex characters (a 32-byte key)",
                    ),
                })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            use rand::RngCore;
            let mut b = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut b);
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            use std::io::Write;
            let mut f = opts.open(&path).map_err(err(&path))?;
            f.write_all(hex::encode(b).as_bytes())
                .and_then(|()| f.sync_all())
                .map_err(err(&path))?;
            Ok(PseudonymKey::from_bytes(b))
        }
        Err(e) => Err(StartError::Data { path, source: e }),
    }
}

/// Applies the retention rules at start and then hourly: the audit rules
/// ([`AppState::retention_rules`]) and the consent history's ([`AppState::consent_retention_days`]),
/// both read afresh each time so a policy reload applies at the next sweep; does nothing while no
/// rule limits anything.
async fn purge_periodically(state: Arc<AppState>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let now = crate::proxy::auditing::now_ms();
        if let Some(audit) = state.audit.clone() {
            let rules = state.retention_rules();
            if !rules.is_unlimited() {
                match audit.enforce_retention(rules, now).await {
                    Ok(report) => tracing::info!(?report, "audit retention sweep"),
                    Err(e) => {
                        state
                            .metrics
                            .audit_write_failures_total
                            .with_label_values(&["purge"])
                            .inc();
                        tracing::error!(error = %e, "audit retention sweep failed");
                    }
                }
            }
        }
        if let Some(days) = state.consent_retention_days() {
            let consent = state.consent.clone();
            let keep = Duration::from_secs(u64::from(days) * 86_400);
            // sled I/O: off the async workers.
            match tokio::task::spawn_blocking(move || consent.purge(keep, now)).await {
                Ok(Ok(report)) => tracing::info!(?report, "consent retention purge"),
                Ok(Err(e)) => tracing::error!(error = %e, "consent retention purge failed"),
                Err(_) => tracing::error!("consent retention purge panicked"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = shutdown.changed() => break,
        }
    }
}

/// How often the policies directory is checked for changes.
const POLICY_POLL: Duration = Duration::from_secs(1);

/// A cheap fingerprint of a directory's `*.toml` files: names, sizes, modification times.
fn dir_fingerprint(dir: &std::path::Path) -> Vec<(PathBuf, u64, Option<std::time::SystemTime>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
        .map(|e| {
            let meta = e.metadata().ok();
            (
                e.path(),
                meta.as_ref().map_or(0, |m| m.len()),
                meta.and_then(|m| m.modified().ok()),
            )
        })
        .collect();
    out.sort();
    out
}

/// Reloads policies when files under `dir` change (polling: no platform watcher needed).
async fn watch_policies(dir: PathBuf, state: Arc<AppState>, mut shutdown: watch::Receiver<bool>) {
    let mut seen = dir_fingerprint(&dir);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(POLICY_POLL) => {}
            _ = shutdown.changed() => break,
        }
        let now = dir_fingerprint(&dir);
        if now != seen {
            seen = now;
            let _ = state.reload_policies();
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    state: Arc<AppState>,
    mut shutdown: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(state.config.limits.max_connections));
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::warn!("connection limit reached; closing new connection");
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let state = state.clone();
        let shutdown = shutdown.clone();
        // The connection task ends when the client or the timeouts close it, or after a graceful
        // shutdown; it holds its permit until then.
        tokio::spawn(async move {
            let _permit = permit;
            serve_connection(tcp, peer, acceptor, state, shutdown).await;
        });
    }
}

async fn serve_connection(
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    state: Arc<AppState>,
    mut shutdown: watch::Receiver<bool>,
) {
    let limits = &state.config.limits;
    let tls = match tokio::time::timeout(
        config::ms(limits.tls_handshake_timeout_ms),
        acceptor.accept(tcp),
    )
    .await
    {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake timed out");
            return;
        }
    };
    let is_h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
    let (io, framing) = sniff::SniffIo::new(tls);
    state.metrics.active_connections.inc();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config::ms(limits.header_read_timeout_ms))
        .max_headers(limits.max_headers)
        .max_buf_size(limits.max_header_bytes.max(8192))
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.h2_max_concurrent_streams)
        .initial_stream_window_size(64 * 1024)
        .initial_connection_window_size(1024 * 1024)
        .max_pending_accept_reset_streams(20)
        .max_local_error_reset_streams(1024)
        .max_header_list_size(limits.max_header_bytes as u32)
        .keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(Duration::from_secs(20));
    let builder = if is_h2 {
        builder.http2_only()
    } else {
        builder.http1_only()
    };
    let svc_state = state.clone();
    let service = service_fn(move |req| handler::handle(svc_state.clone(), framing.clone(), req));
    let conn = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    tokio::select! {
        res = conn.as_mut() => {
            if let Err(e) = res {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        }
        _ = shutdown.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(10), conn.as_mut()).await;
        }
    }
    state.metrics.active_connections.dec();
}

#[cfg(test)]
mod retention_tests {
    use super::*;

    fn shipped() -> PolicySet {
        PolicySet::load_dir(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("policies")).unwrap()
    }

    #[test]
    fn each_policy_keeps_its_own_records_and_text_for_its_own_time() {
        let day = Duration::from_secs(86_400);
        let mut config = Config::default();
        config.audit.retention_days = Some(500);
        let rules = retention_rules(&config, &shipped());
        let strict = rules.for_policy(Some("strict"));
        assert_eq!(
            (strict.audit, strict.payload),
            (Some(365 * day), Some(7 * day))
        );
        let default = rules.for_policy(Some("gdpr-default"));
        assert_eq!(
            (default.audit, default.payload),
            (Some(365 * day), Some(30 * day))
        );
        // monitor sets only audit_days; its kept text follows its records.
        let monitor = rules.for_policy(Some("monitor"));
        assert_eq!(monitor.effective_payload(), Some(90 * day));
        // Records of an unknown (e.g. since deleted) policy follow the config's default.
        assert_eq!(rules.for_policy(Some("gone")).audit, Some(500 * day));
        // The config's limit is a ceiling no policy can extend.
        config.audit.retention_days = Some(100);
        let rules = retention_rules(&config, &shipped());
        assert_eq!(rules.for_policy(Some("strict")).audit, Some(100 * day));
        assert_eq!(rules.for_policy(Some("monitor")).audit, Some(90 * day));
        // Legal holds come from the config, as blind indexes.
        config.audit.legal_hold = vec![format!("ref:{}", "ab".repeat(32))];
        let rules = retention_rules(&config, &shipped());
        assert!(rules
            .legal_hold
            .contains(&crate::audit::SubjectRef([0xab; 32])));
    }

    #[test]
    fn consent_history_keeps_the_longest_policy_limit_unless_the_config_sets_one() {
        let mut config = Config::default();
        let set = shipped();
        // monitor sets no consent_days: no limit from the policies.
        assert_eq!(consent_retention_days(&config, &set), None);
        let mut only_limited = PolicySet::embedded();
        only_limited.insert(
            crate::policy::compile(
                "s.toml",
                &std::fs::read_to_string(
                    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("policies/strict.toml"),
                )
                .unwrap(),
            )
            .unwrap(),
        );
        assert_eq!(consent_retention_days(&config, &only_limited), Some(1095));
        config.consent.retention_days = Some(30);
        assert_eq!(consent_retention_days(&config, &set), Some(30));
    }
}
