//! The admin listener: observability (`/metrics`, `/healthz`, `/readyz`) and the admin API
//! (`/admin/...`: the audit trail's query, export, erase, verify, stats, public key and purge;
//! the consent registry's grant, withdraw, restrict, unrestrict, show and erase; policy reload;
//! key rotation) for tools, dashboards, application backends and the CLI while a server runs.
//!
//! Every `/admin/...` request (and observability when `[admin] open_observability = false`)
//! needs `Authorization: Bearer <token>`; see `auth` for how tokens are checked. Order of checks:
//! 1. open observability routes answer at once;
//! 2. a peer over its failure limit gets 429;
//! 3. authentication (401 with `WWW-Authenticate: Bearer`, counted, nothing else revealed);
//! 4. routing (404 / 405 only now, so routes cannot be enumerated without a token);
//! 5. authorisation by role (403);
//! 6. the action, which is itself recorded in the audit trail before its result is released.
//!
//! The listener is plain HTTP by default (keep it on loopback or a private network);
//! `[admin] tls = true` serves it with the server certificate.
//!
//! Owns: the admin routes and their role table. Token checks are in `auth`; the discovery file
//! and client used by the CLI in `client`; rendering in `audit::cli`.

pub mod auth;
pub mod client;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::audit::{cli, AuditError, AuditFilter, AuditLog};
use crate::config::AdminRole;
use crate::consent::{ConsentError, ConsentEvent, ConsentEventKind};
use crate::proxy::AppState;
use auth::{Authenticator, FailureLimiter, Principal};

/// Largest request body the admin API reads.
const MAX_BODY: usize = 64 * 1024;

/// The admin listener's shared parts: state, token checks, failure limiter, optional TLS.
struct Admin {
    state: Arc<AppState>,
    auth: Authenticator,
    limiter: FailureLimiter,
    tls: Option<TlsAcceptor>,
}

/// The TLS acceptor for the admin listener (HTTP/1.1 only) from the server certificate.
pub fn tls_acceptor(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<TlsAcceptor, crate::tls::TlsError> {
    let mut config = (*crate::tls::server_config(cert, key)?).clone();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves the admin routes until `shutdown` fires; over TLS when `tls` is given.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    tls: Option<TlsAcceptor>,
    mut shutdown: watch::Receiver<bool>,
) {
    let admin = Arc::new(Admin {
        auth: Authenticator::from_config(&state.config.admin),
        limiter: FailureLimiter::new(
            state.config.admin.max_auth_failures_per_minute,
            Duration::from_secs(60),
        ),
        state,
        tls,
    });
    loop {
        let (tcp, peer) = tokio::select! {
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let _ = tcp.set_nodelay(true);
        let admin = admin.clone();
        // Ends when the client closes the connection, the TLS handshake fails or times out, or
        // the header timeout fires.
        tokio::spawn(async move {
            let svc_admin = admin.clone();
            let svc = service_fn(move |req| {
                let admin = svc_admin.clone();
                async move { Ok::<_, Infallible>(handle(&admin, peer, req).await) }
            });
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10));
            match &admin.tls {
                Some(acceptor) => {
                    let Ok(Ok(tls)) =
                        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await
                    else {
                        return;
                    };
                    let _ = http.serve_connection(TokioIo::new(tls), svc).await;
                }
                None => {
                    let _ = http.serve_connection(TokioIo::new(tcp), svc).await;
                }
            }
        });
    }
}

/// What a route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Metrics,
    Health,
    Ready,
    Query,
    Export,
    Erase,
    Verify,
    Stats,
    PublicKey,
    Purge,
    Reload,
    RotateKeys,
    ConsentGrant,
    ConsentWithdraw,
    ConsentRestrict,
    ConsentUnrestrict,
    ConsentShow,
    ConsentErase,
}

impl Action {
    /// The roles that may use a route, any one suffices (`admin` has every role). Default deny:
    /// no route is open to a token without one of its roles.
    fn roles(self) -> &'static [AdminRole] {
        match self {
            Action::Metrics | Action::Health | Action::Ready | Action::Reload => &[AdminRole::Ops],
            Action::Query
            | Action::Export
            | Action::Erase
            | Action::Verify
            | Action::Stats
            | Action::PublicKey
            | Action::Purge
            // Erasure is the officer's decision, not an application's.
            | Action::ConsentErase => &[AdminRole::Officer],
            // Application backends record what their users chose; officers may too.
            Action::ConsentGrant
            | Action::ConsentWithdraw
            | Action::ConsentRestrict
            | Action::ConsentUnrestrict
            | Action::ConsentShow => &[AdminRole::Consent, AdminRole::Officer],
            Action::RotateKeys => &[AdminRole::Admin],
        }
    }

    /// Whether `p` may use this route.
    fn permits(self, p: &Principal) -> bool {
        self.roles().iter().any(|r| p.may(*r))
    }

    /// The action's name in audit access events.
    fn name(self) -> &'static str {
        match self {
            Action::Metrics => "metrics",
            Action::Health => "health",
            Action::Ready => "ready",
            Action::Query => "query",
            Action::Export => "export",
            Action::Erase => "erase",
            Action::Verify => "verify",
            Action::Stats => "stats",
            Action::PublicKey => "public-key",
            Action::Purge => "purge",
            Action::Reload => "reload",
            Action::RotateKeys => "keys-rotate",
            Action::ConsentGrant => "consent-grant",
            Action::ConsentWithdraw => "consent-withdraw",
            Action::ConsentRestrict => "consent-restrict",
            Action::ConsentUnrestrict => "consent-unrestrict",
            Action::ConsentShow => "consent-show",
            Action::ConsentErase => "consent-erase",
        }
    }

    /// The event a consent write records.
    fn consent_kind(self) -> Option<ConsentEventKind> {
        Some(match self {
            Action::ConsentGrant => ConsentEventKind::Grant,
            Action::ConsentWithdraw => ConsentEventKind::Withdraw,
            Action::ConsentRestrict => ConsentEventKind::Restrict,
            Action::ConsentUnrestrict => ConsentEventKind::Unrestrict,
            _ => return None,
        })
    }
}

/// The route table: path → (method, action).
const ROUTES: &[(&str, &Method, Action)] = &[
    ("/metrics", &Method::GET, Action::Metrics),
    ("/healthz", &Method::GET, Action::Health),
    ("/readyz", &Method::GET, Action::Ready),
    ("/admin/audit/query", &Method::GET, Action::Query),
    ("/admin/audit/export", &Method::GET, Action::Export),
    ("/admin/audit/erase", &Method::POST, Action::Erase),
    ("/admin/audit/verify", &Method::GET, Action::Verify),
    ("/admin/audit/stats", &Method::GET, Action::Stats),
    ("/admin/audit/public-key", &Method::GET, Action::PublicKey),
    ("/admin/audit/purge", &Method::POST, Action::Purge),
    ("/admin/reload", &Method::POST, Action::Reload),
    ("/admin/keys/rotate", &Method::POST, Action::RotateKeys),
    ("/admin/consent/grant", &Method::POST, Action::ConsentGrant),
    (
        "/admin/consent/withdraw",
        &Method::POST,
        Action::ConsentWithdraw,
    ),
    (
        "/admin/consent/restrict",
        &Method::POST,
        Action::ConsentRestrict,
    ),
    (
        "/admin/consent/unrestrict",
        &Method::POST,
        Action::ConsentUnrestrict,
    ),
    ("/admin/consent/show", &Method::GET, Action::ConsentShow),
    ("/admin/consent/erase", &Method::POST, Action::ConsentErase),
];

/// Every admin route as `(method, path)`, for tests and docs.
pub fn routes() -> Vec<(&'static str, &'static str)> {
    ROUTES.iter().map(|(p, m, _)| (m.as_str(), *p)).collect()
}

fn lookup(method: &Method, path: &str) -> Result<Action, StatusCode> {
    let Some((_, m, action)) = ROUTES.iter().find(|(p, _, _)| *p == path) else {
        return Err(StatusCode::NOT_FOUND);
    };
    let head_ok = *m == Method::GET && method == Method::HEAD;
    if method == *m || head_ok {
        Ok(*action)
    } else {
        Err(StatusCode::METHOD_NOT_ALLOWED)
    }
}

fn text(status: StatusCode, ctype: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn error(status: StatusCode, code: &str, message: &str) -> Response<Full<Bytes>> {
    text(
        status,
        "application/json",
        serde_json::json!({"error": code, "message": message}).to_string() + "\n",
    )
}

async fn handle(admin: &Admin, peer: SocketAddr, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let state = &admin.state;
    let path = req.uri().path();
    let observability = matches!(path, "/metrics" | "/healthz" | "/readyz");
    if observability && state.config.admin.open_observability {
        return match lookup(req.method(), path) {
            Ok(action) => observe(state, action),
            Err(status) => error(status, "method_not_allowed", "use GET"),
        };
    }
    let failures = &state.metrics.admin_auth_failures_total;
    if admin.limiter.blocked(peer.ip()) {
        failures.with_label_values(&["rate_limited"]).inc();
        let mut r = error(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_failures",
            "too many failed authentications; try again in a minute",
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        return r;
    }
    let principal = match admin.auth.authenticate(
        req.headers()
            .get(header::AUTHORIZATION)
            .map(HeaderValue::as_bytes),
    ) {
        Ok(p) => p,
        Err(why) => {
            admin.limiter.record_failure(peer.ip());
            failures.with_label_values(&[why.reason()]).inc();
            tracing::warn!(%peer, reason = why.reason(), "admin authentication refused");
            let mut r = error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a valid bearer token is required",
            );
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return r;
        }
    };
    let action = match lookup(req.method(), path) {
        Ok(a) => a,
        Err(StatusCode::METHOD_NOT_ALLOWED) => {
            return error(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "wrong method for this route",
            )
        }
        Err(_) => return error(StatusCode::NOT_FOUND, "not_found", "no such route"),
    };
    if !action.permits(&principal) {
        tracing::info!(principal = %principal.name, action = action.name(), "admin action forbidden");
        let roles: Vec<&str> = action.roles().iter().map(|r| r.as_str()).collect();
        return error(
            StatusCode::FORBIDDEN,
            "forbidden",
            &format!("this token lacks the {} role", roles.join(" or ")),
        );
    }
    tracing::info!(principal = %principal.name, action = action.name(), "admin action");
    match action {
        Action::Metrics | Action::Health | Action::Ready => observe(state, action),
        _ => act(state, &principal, action, req).await,
    }
}

fn observe(state: &AppState, action: Action) -> Response<Full<Bytes>> {
    match action {
        Action::Metrics => text(
            StatusCode::OK,
            "text/plain; version=0.0.4",
            state.metrics.render(),
        ),
        Action::Ready => {
            let policy = state.policy();
            if !state.audit_healthy.load(Ordering::SeqCst) {
                // The last audit write failed: requests are being refused (fail closed) until a
                // write succeeds again, so load balancers should send traffic elsewhere.
                text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "application/json",
                    "{\"status\":\"not_ready\",\"reason\":\"audit_unavailable\"}\n".into(),
                )
            } else if state.ready.load(Ordering::SeqCst) {
                text(
                    StatusCode::OK,
                    "application/json",
                    format!(
                        "{{\"status\":\"ready\",\"policy\":\"{}\",\"policy_hash\":\"{}\"}}\n",
                        policy.id, policy.version_hash
                    ),
                )
            } else {
                text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "application/json",
                    "{\"status\":\"not_ready\"}\n".into(),
                )
            }
        }
        _ => text(
            StatusCode::OK,
            "application/json",
            "{\"status\":\"ok\"}\n".into(),
        ),
    }
}

/// An admin action failed; rendered as a JSON error.
struct Failure(StatusCode, &'static str, String);

impl From<AuditError> for Failure {
    fn from(e: AuditError) -> Failure {
        match e {
            AuditError::InvalidInput(_) => {
                Failure(StatusCode::BAD_REQUEST, "invalid", e.to_string())
            }
            AuditError::Key(_) => Failure(StatusCode::CONFLICT, "key_error", e.to_string()),
            _ => Failure(
                StatusCode::SERVICE_UNAVAILABLE,
                "audit_unavailable",
                e.to_string(),
            ),
        }
    }
}

impl From<ConsentError> for Failure {
    fn from(e: ConsentError) -> Failure {
        match e {
            ConsentError::InvalidPurpose => {
                Failure(StatusCode::BAD_REQUEST, "invalid_purpose", e.to_string())
            }
            ConsentError::InvalidInput(_) => {
                Failure(StatusCode::BAD_REQUEST, "invalid_request", e.to_string())
            }
            _ => Failure(
                StatusCode::SERVICE_UNAVAILABLE,
                "consent_unavailable",
                e.to_string(),
            ),
        }
    }
}

/// The consent routes answer malformed input with `invalid_request` (the audit routes keep
/// their historical `invalid`).
fn invalid_request(f: Failure) -> Failure {
    match f {
        Failure(StatusCode::BAD_REQUEST, "invalid", m) => {
            Failure(StatusCode::BAD_REQUEST, "invalid_request", m)
        }
        other => other,
    }
}

/// Runs a blocking consent registry call (sled I/O, fsync) off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ConsentError> + Send + 'static,
) -> Result<T, Failure> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(Failure::from),
        Err(_) => Err(Failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the consent operation failed".into(),
        )),
    }
}

fn bad(message: impl Into<String>) -> Failure {
    Failure(StatusCode::BAD_REQUEST, "invalid", message.into())
}

async fn act(
    state: &AppState,
    who: &Principal,
    action: Action,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    match run(state, who, action, req).await {
        Ok(r) => r,
        Err(Failure(status, code, message)) => error(status, code, &message),
    }
}

/// Parses `a=b&c=d` (percent-decoded, `+` as space); unknown keys are errors.
fn params(query: Option<&str>, allowed: &[&str]) -> Result<Vec<(String, String)>, Failure> {
    let mut out = Vec::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " "))
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| bad("query parameters must be UTF-8"))
        };
        let (k, v) = (decode(k)?, decode(v)?);
        if !allowed.contains(&k.as_str()) {
            return Err(bad(format!(
                "unknown parameter {k:?}; expected one of {}",
                allowed.join(", ")
            )));
        }
        out.push((k, v));
    }
    Ok(out)
}

fn param<'a>(ps: &'a [(String, String)], key: &str) -> Option<&'a str> {
    ps.iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

async fn json_body<T: serde::de::DeserializeOwned>(req: Request<Incoming>) -> Result<T, Failure> {
    let bytes = Limited::new(req.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|_| bad("request body unreadable or larger than 64 KiB"))?
        .to_bytes();
    serde_json::from_slice(&bytes).map_err(|e| bad(format!("expected a JSON body: {e}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubjectBody {
    subject: String,
}

/// The body of a consent write. `purpose` for grant and withdraw only; `source` defaults to
/// `admin:<token name>`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsentBody {
    subject: String,
    #[serde(default)]
    purpose: Option<String>,
    #[serde(default)]
    evidence: Option<String>,
    #[serde(default)]
    source: Option<String>,
}

/// The access event's filter for a consent action: the subject under the *audit* trail's blind
/// index (the consent store's index uses another key).
fn consent_filter(state: &AppState, subject: &str) -> AuditFilter {
    AuditFilter {
        subject: state.audit.as_ref().map(|log| log.subject_ref(subject)),
        ..AuditFilter::default()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PurgeBody {
    /// Delete records before this time (`privgate audit purge --before`).
    #[serde(default)]
    before: Option<String>,
    /// Apply the server's retention rules instead (`privgate audit purge --retention`).
    #[serde(default)]
    retention: bool,
}

fn log_of(state: &AppState) -> Result<&AuditLog, Failure> {
    state.audit.as_deref().ok_or(Failure(
        StatusCode::SERVICE_UNAVAILABLE,
        "audit_disabled",
        "the audit trail is disabled ([audit] enabled = false)".into(),
    ))
}

/// Records the action in the trail before its result is released: an action that cannot be
/// audited is not answered (fail closed).
async fn audited(
    state: &AppState,
    who: &Principal,
    action: Action,
    filter: &AuditFilter,
    count: u64,
) -> Result<(), Failure> {
    if let Some(log) = &state.audit {
        log.record_access(&who.name, action.name(), filter, count)
            .await?;
    }
    Ok(())
}

async fn run(
    state: &AppState,
    who: &Principal,
    action: Action,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Failure> {
    let none = AuditFilter::default();
    let json = |body: String| text(StatusCode::OK, "application/json", body);
    let query = req.uri().query().map(str::to_string);
    match action {
        Action::Query => {
            let log = log_of(state)?;
            let ps = params(
                query.as_deref(),
                &[
                    "subject", "since", "until", "route", "policy", "entity", "decision", "limit",
                    "format",
                ],
            )?;
            let time = |k: &str| param(&ps, k).map(cli::parse_time).transpose();
            let filter = AuditFilter {
                subject: param(&ps, "subject")
                    .map(|s| cli::subject_arg(log, s))
                    .transpose()?,
                since_ms: time("since")?,
                until_ms: time("until")?,
                route: param(&ps, "route").map(str::to_string),
                policy: param(&ps, "policy").map(str::to_string),
                entity: param(&ps, "entity").map(str::to_string),
                decision: param(&ps, "decision").map(str::to_string),
                limit: param(&ps, "limit")
                    .map(|l| l.parse().map_err(|_| bad("limit: expected a number")))
                    .transpose()?,
            };
            let format = match param(&ps, "format") {
                Some(f) => {
                    cli::Format::parse(f).ok_or_else(|| bad("format: json, csv or table"))?
                }
                None => cli::Format::Json,
            };
            let (body, n) = cli::query(log, filter.clone(), format).await?;
            audited(state, who, action, &filter, n as u64).await?;
            let ctype = match format {
                cli::Format::Json => "application/x-ndjson",
                cli::Format::Csv => "text/csv",
                cli::Format::Table => "text/plain; charset=utf-8",
            };
            let mut r = text(StatusCode::OK, ctype, body);
            r.headers_mut()
                .insert("x-privgate-count", HeaderValue::from(n as u64));
            Ok(r)
        }
        Action::Export => {
            let log = log_of(state)?;
            let ps = params(query.as_deref(), &["subject"])?;
            let subject = param(&ps, "subject").ok_or_else(|| bad("subject is required"))?;
            let subject = cli::subject_arg(log, subject)?;
            let filter = AuditFilter {
                subject: Some(subject),
                ..AuditFilter::default()
            };
            let body = cli::export(log, subject).await?;
            audited(state, who, action, &filter, 1).await?;
            Ok(json(body))
        }
        Action::Erase => {
            let log = log_of(state)?;
            let b: SubjectBody = json_body(req).await?;
            let subject = cli::subject_arg(log, &b.subject)?;
            let filter = AuditFilter {
                subject: Some(subject),
                ..AuditFilter::default()
            };
            let body = cli::erase(log, subject).await?;
            audited(state, who, action, &filter, 1).await?;
            Ok(json(body))
        }
        Action::Purge => {
            let log = log_of(state)?;
            let b: PurgeBody = json_body(req).await?;
            let (filter, body) = match (b.before, b.retention) {
                (Some(before), false) => {
                    let before = cli::parse_time(&before)?;
                    let filter = AuditFilter {
                        until_ms: Some(before),
                        ..AuditFilter::default()
                    };
                    (filter, cli::purge(log, before).await?)
                }
                (None, true) => {
                    let now = crate::proxy::auditing::now_ms();
                    let body = cli::apply_retention(log, state.retention_rules(), now).await?;
                    (AuditFilter::default(), body)
                }
                _ => return Err(bad("give either \"before\" or \"retention\": true")),
            };
            audited(state, who, action, &filter, 0).await?;
            Ok(json(body))
        }
        Action::Verify => {
            let log = log_of(state)?;
            let ps = params(query.as_deref(), &["public_key"])?;
            let (body, ok) = cli::verify_open(log, param(&ps, "public_key")).await?;
            audited(state, who, action, &none, 0).await?;
            let mut r = text(StatusCode::OK, "text/plain; charset=utf-8", body);
            r.headers_mut().insert(
                "x-privgate-verify",
                HeaderValue::from_static(if ok { "ok" } else { "failed" }),
            );
            Ok(r)
        }
        Action::Stats => {
            let body = cli::stats(log_of(state)?).await?;
            audited(state, who, action, &none, 0).await?;
            Ok(json(body))
        }
        Action::PublicKey => {
            let key = log_of(state)?.export_public_key();
            audited(state, who, action, &none, 0).await?;
            Ok(text(StatusCode::OK, "text/plain", key + "\n"))
        }
        Action::Reload => {
            let result = state.reload_policies();
            audited(state, who, action, &none, u64::from(result.is_ok())).await?;
            match result {
                Ok(()) => {
                    let p = state.policy();
                    Ok(json(
                        serde_json::json!({"status": "reloaded", "policy": p.id, "policy_hash": p.version_hash})
                            .to_string()
                            + "\n",
                    ))
                }
                Err(e) => Ok(text(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "application/json",
                    serde_json::json!({
                        "error": "policy_invalid",
                        "problems": e.problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    })
                    .to_string()
                        + "\n",
                )),
            }
        }
        Action::RotateKeys => {
            let generation = log_of(state)?.rotate_master_key().await?;
            audited(state, who, action, &none, 0).await?;
            Ok(json(
                serde_json::json!({"master_generation": generation}).to_string() + "\n",
            ))
        }
        Action::ConsentGrant
        | Action::ConsentWithdraw
        | Action::ConsentRestrict
        | Action::ConsentUnrestrict => {
            let kind = action
                .consent_kind()
                .expect("every consent write has an event kind");
            let b: ConsentBody = json_body(req).await.map_err(invalid_request)?;
            crate::consent::validate_subject(&b.subject)?;
            let event = ConsentEvent {
                time_ms: crate::consent::now_ms(),
                kind,
                purpose: b.purpose,
                source: b.source.unwrap_or_else(|| format!("admin:{}", who.name)),
                evidence: b.evidence,
            };
            event.validate()?;
            let filter = consent_filter(state, &b.subject);
            let consent = state.consent.clone();
            let view = blocking(move || consent.record_view(&b.subject, event)).await?;
            // Recorded after the write: the access event says what was done, and who did it. If
            // it cannot be written the caller gets 503 although the consent event is durable;
            // a retry records the same event again, which leaves the same state.
            audited(state, who, action, &filter, 1).await?;
            Ok(json(
                serde_json::to_string(&view).expect("a view serialises") + "\n",
            ))
        }
        Action::ConsentShow => {
            let ps = params(query.as_deref(), &["subject"]).map_err(invalid_request)?;
            let subject = param(&ps, "subject")
                .ok_or_else(|| invalid_request(bad("subject is required")))?
                .to_string();
            crate::consent::validate_subject(&subject)?;
            let filter = consent_filter(state, &subject);
            let consent = state.consent.clone();
            let view = blocking(move || consent.show(&subject)).await?;
            audited(state, who, action, &filter, view.history.len() as u64).await?;
            let mut r = json(serde_json::to_string(&view).expect("a view serialises") + "\n");
            r.headers_mut().insert(
                "x-privgate-count",
                HeaderValue::from(view.history.len() as u64),
            );
            Ok(r)
        }
        Action::ConsentErase => {
            let b: SubjectBody = json_body(req).await.map_err(invalid_request)?;
            crate::consent::validate_subject(&b.subject)?;
            let filter = consent_filter(state, &b.subject);
            let consent = state.consent.clone();
            let n = blocking(move || consent.erase_subject(&b.subject)).await?;
            audited(state, who, action, &filter, n).await?;
            Ok(json(
                serde_json::json!({ "events_deleted": n }).to_string() + "\n",
            ))
        }
        Action::Metrics | Action::Health | Action::Ready => Ok(observe(state, action)),
    }
}
