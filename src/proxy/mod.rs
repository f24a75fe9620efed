//! The client-facing listener: TCP accept with a connection cap, TLS handshake with a timeout,
//! HTTP/1.1 and HTTP/2 by ALPN (hyper, with a timer so the header-read timeout really fires), and
//! the shared state every request handler reads.
//!
//! Owns: [`AppState`], [`Server`] (start, addresses, shutdown). The request path itself is in
//! `handler`; header hygiene in `headers`; upstream clients in `upstream`.

pub mod auditing;
pub mod body;
pub mod handler;
pub mod headers;
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
    /// The id of the policy routes use.
    pub policy_id: String,
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
    /// The audit retention rules in force, read by the hourly sweep (so a policy reload applies
    /// at the next sweep). For now `[audit] retention_days` is the default for every record,
    /// metadata and kept text alike, as before retention per policy.
    pub fn retention_rules(&self) -> crate::audit::RetentionRules {
        retention_rules(&self.config, &self.policies.load())
    }

    /// Reloads the policies directory: validated first, then swapped atomically. In-flight
    /// requests finish under the version they started with; an invalid change keeps the old
    /// policies. Counted in `privgate_policy_reloads_total{result}`.
    pub fn reload_policies(&self) -> Result<(), crate::policy::PolicyError> {
        let Some(dir) = &self.config.server.policies_dir else {
            return Ok(());
        };
        let result = PolicySet::load_dir(dir).and_then(|set| {
            if set.get(&self.policy_id).is_none() {
                return Err(crate::policy::PolicyError {
                    problems: vec![crate::policy::PolicyProblem {
                        file: dir.display().to_string(),
                        line: None,
                        key: "id".into(),
                        message: format!("the active policy {:?} is gone", self.policy_id),
                    }],
                });
            }
            Ok(set)
        });
        match result {
            Ok(set) => {
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

    /// The active policy. Loaded once per request, so an in-flight request keeps the version it
    /// started with across a reload.
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
        metrics
            .policy_reloads_total
            .with_label_values(&["ok"])
            .inc();
        let state = Arc::new(AppState {
            config,
            policies: ArcSwap::from_pointee(policies),
            policy_id,
            response_key: key.scoped(b"privgate/response"),
            key,
            upstreams,
            metrics,
            audit,
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
        if let Some(audit) = state.audit.clone() {
            // Ends with the server's shutdown signal.
            tasks.push(tokio::spawn(purge_periodically(
                audit,
                state.clone(),
                rx_watch.clone(),
            )));
        }
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
    // TODO(lead): one entry per policy from its `[retention] audit_days, payload_days`:
    //   for p in policies.iter() {
    //       by_policy.insert(p.id.clone(), Retention::days(p.retention.audit_days,
    //           p.retention.payload_days));
    //   }
    // A listed policy's rule replaces the default entirely (None = no limit from it).
    let _ = policies;
    RetentionRules {
        by_policy: std::collections::BTreeMap::new(),
        default: Retention::days(config.audit.retention_days, None),
        // TODO(lead): subjects under legal hold, once there is a way to place one.
        ..RetentionRules::default()
    }
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

/// Applies the audit retention rules ([`AppState::retention_rules`], read afresh each time), at
/// start and then hourly; does nothing while no rule limits anything.
async fn purge_periodically(
    audit: Arc<crate::audit::AuditLog>,
    state: Arc<AppState>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let rules = state.retention_rules();
        let now = crate::proxy::auditing::now_ms();
        let result = if rules.is_unlimited() {
            Ok(None)
        } else {
            audit.enforce_retention(rules, now).await.map(Some)
        };
        match result {
            Ok(None) => {}
            Ok(Some(report)) => tracing::info!(?report, "audit retention sweep"),
            Err(e) => {
                state
                    .metrics
                    .audit_write_failures_total
                    .with_label_values(&["purge"])
                    .inc();
                tracing::error!(error = %e, "audit retention sweep failed");
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
