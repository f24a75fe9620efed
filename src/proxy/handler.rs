//! One exchange, in phases (pingora's vocabulary): request filter (route, framing, limits) →
//! privacy (parse once, scan every text slot, apply the policy) → upstream request → response
//! filter (restore pseudonyms in JSON answers; stream SSE through) → logging and metrics, which
//! always run.
//!
//! Owns: the request path. Every failure becomes a [`ProxyError`] and is answered in the client's
//! provider shape by one function. Nothing here logs a body, a header value or a detected value.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::auditing::{self, AuditState};
use super::body::{self, ProxyBody, SseRewrite, StreamGuard};
use super::gate;
use super::headers;
use super::sniff::AmbiguousFraming;
use super::upstream::ResolvedUpstream;
use super::AppState;
use crate::audit::{AuditRecord, Completion, Decision};
use crate::config;
use crate::detect::EntityType;
use crate::error::{ErrorFlavor, ProxyError};
use crate::metrics::status_class;
use crate::policy::{CompiledPolicy, Level};
use crate::providers::anthropic::MessagesStream;
use crate::providers::gemini::GenerateStream;
use crate::providers::ollama::NdjsonStream;
use crate::providers::openai_chat::ChatStream;
use crate::providers::openai_responses::ResponsesStream;
use crate::providers::sse::{PerEventRestore, StreamTransform};
use crate::providers::{self, Endpoint, Provider, Route};
use crate::redact::{Applied, Redaction, ResponseFilter, Restorer};

/// What the logging phase needs to know about an exchange.
struct Exchange {
    request_id: String,
    route: Option<Route>,
    flavor: ErrorFlavor,
    started: Instant,
    upstream_time: Duration,
    findings: u32,
    streamed: bool,
    response_bytes: Option<u64>,
    audit: Option<AuditState>,
}

/// Handles one request; never fails (errors become provider-shaped responses).
pub async fn handle(
    state: Arc<AppState>,
    framing: AmbiguousFraming,
    req: Request<Incoming>,
) -> Result<Response<ProxyBody>, std::convert::Infallible> {
    let mut ex = Exchange {
        request_id: headers::request_id(req.headers()),
        route: None,
        flavor: providers::flavor_for_path(req.uri().path()),
        started: Instant::now(),
        upstream_time: Duration::ZERO,
        findings: 0,
        streamed: false,
        response_bytes: None,
        audit: None,
    };
    let result = process(&state, &framing, req, &mut ex).await;
    let mut resp = match result {
        Ok(resp) => {
            if let Some(AuditState {
                intent: Some(seq), ..
            }) = ex.audit.take()
            {
                if !ex.streamed {
                    let mut c = Completion::new(Decision::Forwarded);
                    c.client_status = Some(resp.status().as_u16());
                    c.upstream_status = Some(resp.status().as_u16());
                    c.latency_total_ms = Some(ex.started.elapsed().as_millis() as u64);
                    c.latency_upstream_ms = Some(ex.upstream_time.as_millis() as u64);
                    c.response_bytes = ex.response_bytes;
                    auditing::complete_later(&state, seq, c);
                }
            }
            resp
        }
        Err(err) => {
            let status = err.status().as_u16();
            match ex.audit.take() {
                Some(AuditState {
                    intent: Some(seq), ..
                }) => {
                    let mut c = Completion::new(auditing::decision_for(&err));
                    c.client_status = Some(status);
                    c.latency_total_ms = Some(ex.started.elapsed().as_millis() as u64);
                    auditing::complete_later(&state, seq, c);
                }
                Some(a) if !matches!(err, ProxyError::AuditUnavailable) => {
                    auditing::record_refusal(
                        &state,
                        a.record,
                        auditing::decision_for(&err),
                        status,
                    );
                }
                _ => {}
            }
            state
                .metrics
                .blocked_requests_total
                .with_label_values(&[err.code()])
                .inc();
            let level_warn = err.status().is_server_error();
            if level_warn {
                tracing::warn!(request_id = %ex.request_id, code = err.code(), status = err.status().as_u16(), "request failed");
            } else {
                tracing::info!(request_id = %ex.request_id, code = err.code(), status = err.status().as_u16(), "request refused");
            }
            err.to_response(ex.flavor, &ex.request_id).map(body::full)
        }
    };
    if let Ok(v) = HeaderValue::from_str(&ex.request_id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    log_and_count(&state, &ex, resp.status());
    Ok(resp)
}

fn log_and_count(state: &AppState, ex: &Exchange, status: StatusCode) {
    let (route, provider) = match &ex.route {
        Some(r) => (r.template, r.provider.as_str()),
        None => ("unmatched", "none"),
    };
    let total = ex.started.elapsed();
    let m = &state.metrics;
    m.requests_total
        .with_label_values(&[route, provider, status_class(status.as_u16())])
        .inc();
    m.request_duration
        .with_label_values(&[route])
        .observe(total.as_secs_f64());
    if ex.route.is_some() {
        m.overhead_duration
            .with_label_values(&[route])
            .observe(total.saturating_sub(ex.upstream_time).as_secs_f64());
    }
    tracing::info!(
        request_id = %ex.request_id,
        route,
        provider,
        status = status.as_u16(),
        findings = ex.findings,
        streamed = ex.streamed,
        total_ms = total.as_secs_f64() * 1e3,
        upstream_ms = ex.upstream_time.as_secs_f64() * 1e3,
        "exchange"
    );
}

async fn process(
    state: &Arc<AppState>,
    framing: &AmbiguousFraming,
    req: Request<Incoming>,
    ex: &mut Exchange,
) -> Result<Response<ProxyBody>, ProxyError> {
    // --- request filter: route, framing, limits -------------------------------------------
    let route = match providers::route(req.method(), req.uri().path()) {
        Err(ProxyError::NotFound) => generic_route(state, req.method(), req.uri().path())?,
        other => other?,
    };
    ex.route = Some(route);
    ex.flavor = route.provider.flavor();
    let h = req.headers();
    if framing.seen()
        || (h.contains_key(header::CONTENT_LENGTH) && h.contains_key(header::TRANSFER_ENCODING))
    {
        return Err(ProxyError::BadRequest(
            "both Content-Length and Transfer-Encoding",
        ));
    }
    if headers::has_underscore_name(h) {
        return Err(ProxyError::BadRequest(
            "header names with underscores are refused",
        ));
    }
    if let Some(enc) = h.get(header::CONTENT_ENCODING) {
        if !enc.as_bytes().eq_ignore_ascii_case(b"identity") {
            return Err(ProxyError::UnsupportedEncoding);
        }
    }
    // --- policy gate, part 1: which policy, which purpose (never chosen by a caller header) --
    let app = state.apps.identify(h);
    let (policy, route_purpose) = state.policy_for(req.uri().path(), app);
    let purpose = gate::purpose(
        &policy,
        route_purpose,
        h.get(state.config.server.purpose_header.as_str()),
    )?;
    let upstream = state.upstream(route).clone();
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let uri = upstream
        .uri_for(&path_and_query)
        .map_err(|_| ProxyError::BadRequest("unusable request target"))?;
    if let Some(why) = policy.transfer_refusal(
        upstream.region.as_deref(),
        upstream.transfer_basis.as_deref(),
    ) {
        return Err(ProxyError::TransferNotPermitted(why));
    }
    if let Some(audit) = &state.audit {
        ex.audit = Some(AuditState {
            record: AuditRecord {
                time_ms: auditing::now_ms(),
                request_id: ex.request_id.clone(),
                route: route.template.to_string(),
                provider: route.provider.as_str().to_string(),
                upstream_host: upstream.host().to_string(),
                subject: auditing::subject_id(h, &state.config.server.subject_header, None)
                    .map(|s| audit.subject_ref(&s)),
                purpose: purpose.clone(),
                lawful_basis: Some(policy.processing.lawful_basis.as_str().to_string()),
                policy_id: policy.id.clone(),
                policy_version: policy.version_hash.clone(),
                decision: Some(Decision::Forwarded),
                ..AuditRecord::default()
            },
            intent: None,
        });
    }

    let headers_for_subject = h.clone();
    let scope = credential_scope(h);
    let mut redaction = Redaction::new(state.key.scoped(&scope));
    if let Some(entity) = scan_query(&policy, req.uri().query()) {
        return Err(ProxyError::PiiInUrl(entity));
    }

    if !route.inspects_body() {
        // Model listing: no text to scan, streamed both ways.
        let (parts, incoming) = req.into_parts();
        let mut up_headers = headers::upstream_request_headers(parts.headers);
        if policy.mode == crate::policy::Mode::Enforce {
            for name in &policy.strip_headers {
                up_headers.remove(name.as_str());
            }
        }
        strip_control_headers(state, &mut up_headers);
        redact_headers(state, &policy, &mut up_headers, &mut redaction)?;
        let mut up = Request::builder().method(parts.method).uri(uri);
        *up.headers_mut().expect("builder has no error yet") = up_headers;
        drop(incoming);
        let up = up.body(body::empty()).map_err(|_| ProxyError::Internal)?;
        write_intent(state, &policy, route, ex).await?;
        let resp = send(state, &upstream, up, ex).await?;
        let (mut parts, incoming) = resp.into_parts();
        headers::strip_hop_by_hop(&mut parts.headers);
        let body = incoming.map_err(|e| Box::new(e) as body::BoxError).boxed();
        return Ok(Response::from_parts(parts, body));
    }

    // --- read the body, bounded in size and time -------------------------------------------
    let limit = state.config.limits.max_body_bytes;
    if let Some(len) = h
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if len > limit as u64 {
            return Err(ProxyError::BodyTooLarge { limit });
        }
    }
    let (parts, incoming) = req.into_parts();
    let collected = tokio::time::timeout(
        config::ms(state.config.limits.body_read_timeout_ms),
        Limited::new(incoming, limit).collect(),
    )
    .await
    .map_err(|_| ProxyError::BodyTimeout)?
    .map_err(|e| {
        if e.is::<http_body_util::LengthLimitError>() {
            ProxyError::BodyTooLarge { limit }
        } else {
            ProxyError::BadRequest("the request body could not be read")
        }
    })?
    .to_bytes();

    // --- privacy: parse once, scan every slot ----------------------------------------------
    let text = std::str::from_utf8(&collected).map_err(|_| ProxyError::InvalidUtf8)?;
    let mut json: Value = serde_json::from_str(text).map_err(|e| {
        ProxyError::InvalidJson(format!("at line {} column {}", e.line(), e.column()))
    })?;
    let max_depth = state.config.limits.max_json_depth;
    if providers::json_depth(&json) > max_depth {
        return Err(ProxyError::TooDeep { limit: max_depth });
    }
    // --- policy gate, part 2: subject, restriction, consent, anonymous rule -----------------
    let subject = auditing::subject_id(
        &headers_for_subject,
        &state.config.server.subject_header,
        Some(&json),
    );
    let admission = gate::admit(state, &policy, subject.as_deref(), purpose.as_deref());
    if let (Some(a), Some(audit)) = (ex.audit.as_mut(), state.audit.as_ref()) {
        a.record.subject = subject.as_deref().map(|s| audit.subject_ref(s));
        a.record.consent = Some(admission.consent.as_str().to_string());
    }
    let level = admission.into_level(&policy)?;
    let wants_stream = providers::wants_stream(route.endpoint, &json);
    // Optional `[presidio]` analyzer: its findings per text slot, merged in by the scan below.
    let extra = match &state.presidio {
        Some(p) => {
            let selectors = generic_selectors(state, route);
            p.request_findings(
                &ex.request_id,
                &policy,
                route.endpoint,
                selectors.as_deref(),
                &mut json,
            )
            .await?
        }
        None => None,
    };
    let budget = config::ms(state.config.limits.scan_budget_ms);
    let ((changed, unreadable), mut json, mut redaction) = if collected.len() > INLINE_SCAN_BYTES {
        // Large bodies are scanned off the async workers so they cannot stall other requests.
        let policy = policy.clone();
        let mut json = json;
        let mut redaction = redaction;
        let selectors = generic_selectors(state, route);
        tokio::task::spawn_blocking(move || {
            let r = redact_request(
                &policy,
                level,
                selectors.as_deref(),
                route,
                &mut json,
                &mut redaction,
                budget,
                extra.as_deref(),
            );
            (r, json, redaction)
        })
        .await
        .map_err(|_| ProxyError::RedactionUnavailable)
        .and_then(|(r, json, redaction)| r.map(|changed| (changed, json, redaction)))
    } else {
        let selectors = generic_selectors(state, route);
        redact_request(
            &policy,
            level,
            selectors.as_deref(),
            route,
            &mut json,
            &mut redaction,
            budget,
            extra.as_deref(),
        )
        .map(|changed| (changed, json, redaction))
    }
    .inspect_err(|e| {
        if matches!(e, ProxyError::RedactionUnavailable) {
            state
                .metrics
                .redaction_failures_total
                .with_label_values(&["request"])
                .inc();
        }
    })?;
    for ((entity, action), n) in redaction.counts() {
        state
            .metrics
            .pii_detections_total
            .with_label_values(&[
                entity.as_str(),
                action.as_str(),
                policy.id.as_str(),
                policy.mode.as_str(),
            ])
            .inc_by(u64::from(*n));
    }
    ex.findings = redaction.total_findings();
    if let Some(a) = ex.audit.as_mut() {
        a.record.model = json
            .get("model")
            .and_then(Value::as_str)
            .map(str::to_string);
        a.record.entities = auditing::entity_counts(redaction.counts());
        if unreadable > 0 {
            // Content privgate could not inspect, and what the policy did with it.
            a.record.entities.push(crate::audit::EntityCount {
                entity: "UNREADABLE_CONTENT".into(),
                action: policy.unreadable.as_str().into(),
                count: unreadable,
            });
        }
        a.record.request_bytes = collected.len() as u64;
    }
    if let Some(entity) = blocked_entity(&redaction, &policy) {
        return Err(ProxyError::PiiBlocked(entity));
    }
    // Data minimisation: fields the policy never lets leave (e.g. `user`, `metadata`).
    let changed = if policy.mode == crate::policy::Mode::Enforce {
        policy.minimise_body(&mut json) | changed
    } else {
        changed
    };
    let forward_body: Bytes = if changed {
        Bytes::from(serde_json::to_vec(&json).map_err(|_| ProxyError::Internal)?)
    } else {
        collected
    };
    if policy.record_redacted_text {
        if let Some(a) = ex.audit.as_mut() {
            // What went upstream (already redacted), kept encrypted in the trail.
            a.record.prompt_text = Some(String::from_utf8_lossy(&forward_body).into_owned());
        }
    }

    // --- upstream request ------------------------------------------------------------------
    let mut up_headers = headers::upstream_request_headers(parts.headers);
    if policy.mode == crate::policy::Mode::Enforce {
        for name in &policy.strip_headers {
            up_headers.remove(name.as_str());
        }
    }
    strip_control_headers(state, &mut up_headers);
    redact_headers(state, &policy, &mut up_headers, &mut redaction)?;
    up_headers.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(forward_body.len()),
    );
    let mut up = Request::builder().method(parts.method).uri(uri);
    *up.headers_mut().expect("builder has no error yet") = up_headers;
    let up = up
        .body(body::full(forward_body))
        .map_err(|_| ProxyError::Internal)?;
    write_intent(state, &policy, route, ex).await?;
    let sent_at = Instant::now();
    let resp = send(state, &upstream, up, ex).await?;

    // --- response filter -------------------------------------------------------------------
    let restorer = redaction.restorer().with_filter(ResponseFilter::for_policy(
        policy.clone(),
        state.response_key.clone(),
    ));
    let (mut parts, incoming) = resp.into_parts();
    headers::strip_hop_by_hop(&mut parts.headers);
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let is_sse = content_type.starts_with("text/event-stream");
    let is_ndjson = content_type.starts_with("application/x-ndjson");
    if is_sse || is_ndjson || (wants_stream && parts.status.is_success()) {
        // Streamed answers go through event by event as they arrive; when the request had
        // placeholders, each event is rewritten with them restored (bounded holdback).
        ex.streamed = true;
        let mut body = incoming.map_err(|e| Box::new(e) as body::BoxError).boxed();
        if (is_sse || is_ndjson) && !restorer.is_empty() {
            parts.headers.remove(header::CONTENT_LENGTH);
            let transform = stream_transform(route, restorer);
            body = BodyExt::boxed(SseRewrite::new(body, transform, is_ndjson));
        }
        let limits = &state.config.limits;
        let mut guard = StreamGuard::new(
            body,
            state.metrics.active_streams.clone(),
            state.metrics.streams_aborted_total.clone(),
            (is_sse || is_ndjson).then(|| stream_error_event(route.provider)),
        )
        .with_timeouts(
            config::ms(limits.stream_idle_timeout_ms),
            config::ms(limits.stream_max_duration_ms),
        );
        if let Some(seq) = ex.audit.as_ref().and_then(|a| a.intent) {
            let state = state.clone();
            let started = ex.started;
            let status = parts.status.as_u16();
            guard.on_end(Box::new(move |aborted: Option<&'static str>| {
                let decision = match aborted {
                    None => Decision::Forwarded,
                    Some(code) => Decision::Error { code: code.into() },
                };
                let mut c = Completion::new(decision);
                c.client_status = Some(status);
                c.upstream_status = Some(status);
                c.latency_total_ms = Some(started.elapsed().as_millis() as u64);
                auditing::complete_later(&state, seq, c);
            }));
        }
        return Ok(Response::from_parts(parts, BodyExt::boxed(guard)));
    }
    let limit = state.config.limits.max_response_bytes;
    let answer = tokio::time::timeout(
        config::ms(state.config.limits.upstream_body_timeout_ms),
        Limited::new(incoming, limit).collect(),
    )
    .await
    .map_err(|_| ProxyError::UpstreamTimeout)?
    .map_err(|e| {
        if e.is::<http_body_util::LengthLimitError>() {
            ProxyError::ResponseTooLarge { limit }
        } else {
            ProxyError::UpstreamUnavailable
        }
    })?
    .to_bytes();
    ex.upstream_time = sent_at.elapsed();
    state
        .metrics
        .upstream_duration
        .with_label_values(&[route.template])
        .observe(ex.upstream_time.as_secs_f64());
    let answer = restore_answer(
        answer,
        &restorer,
        parts.headers.get(header::CONTENT_ENCODING),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(answer.len()));
    Ok(Response::from_parts(parts, body::full(answer)))
}

/// The provider's own mid-stream error event: the OpenAI SDKs raise `APIError` on a data chunk
/// carrying `error`; Anthropic's stream has an `error` event.
fn stream_error_event(provider: Provider) -> Bytes {
    let message = "privgate: the upstream stream failed before it finished";
    let data = match provider {
        Provider::OpenAi | Provider::Generic => serde_json::json!({"error": {"message": message,
            "type": "server_error", "param": null, "code": "upstream_stream_interrupted"}}),
        Provider::Anthropic => serde_json::json!({"type": "error", "error": {
            "type": "api_error", "message": message, "code": "upstream_stream_interrupted"}}),
        Provider::Gemini => serde_json::json!({"error": {"code": 502, "message": message,
            "status": "UNAVAILABLE"}}),
        Provider::Ollama => {
            let line = serde_json::json!({"error": message, "code": "upstream_stream_interrupted"});
            return Bytes::from(format!("{line}\n"));
        }
    };
    let name = (provider == Provider::Anthropic).then_some("error");
    crate::providers::sse::event_bytes(name, &data)
}

/// The stream rewriter for a route's SSE format.
fn stream_transform(route: Route, restorer: Restorer) -> Box<dyn StreamTransform> {
    let restorer = Arc::new(restorer);
    match route.endpoint {
        Endpoint::ChatCompletions => Box::new(ChatStream::new(restorer)),
        Endpoint::Responses => Box::new(ResponsesStream::new(restorer)),
        Endpoint::Messages => Box::new(MessagesStream::new(restorer)),
        Endpoint::GeminiStream => Box::new(GenerateStream::new(restorer)),
        Endpoint::OllamaChat | Endpoint::OllamaGenerate => Box::new(NdjsonStream::new(restorer)),
        _ => Box::new(PerEventRestore::new(restorer)),
    }
}

/// Bodies larger than this are scanned on the blocking pool.
const INLINE_SCAN_BYTES: usize = 64 * 1024;

/// Makes the exchange's intent record durable before anything goes upstream (fail closed).
async fn write_intent(
    state: &AppState,
    policy: &CompiledPolicy,
    route: Route,
    ex: &mut Exchange,
) -> Result<(), ProxyError> {
    let (Some(a), Some(audit)) = (ex.audit.as_mut(), state.audit.as_ref()) else {
        return Ok(());
    };
    let fail_open = policy.dangerous_audit_fail_open;
    a.intent =
        auditing::write_intent(state, audit, route.template, a.record.clone(), fail_open).await?;
    Ok(())
}

/// Removes the configured subject and purpose headers (the default `x-privgate-*` names are
/// already gone with every other privgate control header).
fn strip_control_headers(state: &AppState, headers: &mut http::HeaderMap) {
    headers.remove(state.config.server.subject_header.as_str());
    headers.remove(state.config.server.purpose_header.as_str());
}

/// Runs detection and the policy over every text slot. A panic in the detector, or a scan that
/// exceeds its time budget, becomes [`ProxyError::RedactionUnavailable`]: fail closed, nothing
/// goes upstream. `extra` holds an external analyzer's findings per slot, in walk order.
#[allow(clippy::too_many_arguments)]
fn redact_request(
    policy: &CompiledPolicy,
    level: Level,
    selectors: Option<&[providers::generic::Selector]>,
    route: Route,
    json: &mut Value,
    redaction: &mut Redaction,
    budget: Duration,
    extra: Option<&[Vec<crate::detect::Finding>]>,
) -> Result<(bool, u32), ProxyError> {
    let (result, unreadable) = providers::counting_unreadable(|| {
        redact_slots(
            policy, level, selectors, route, json, redaction, budget, extra,
        )
    });
    result.map(|changed| (changed, unreadable))
}

#[allow(clippy::too_many_arguments)]
fn redact_slots(
    policy: &CompiledPolicy,
    level: Level,
    selectors: Option<&[providers::generic::Selector]>,
    route: Route,
    json: &mut Value,
    redaction: &mut Redaction,
    budget: Duration,
    extra: Option<&[Vec<crate::detect::Finding>]>,
) -> Result<bool, ProxyError> {
    let started = Instant::now();
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let mut changed = false;
        let mut blocked = false;
        let mut slot_index = 0usize;
        let mut visitor = |slot: &mut String| {
            if started.elapsed() > budget {
                return Err(ProxyError::RedactionUnavailable);
            }
            // Slots are walked in the order the analyzer saw them; a mismatch fails closed.
            let slot_extra: &[crate::detect::Finding] = match extra {
                Some(e) => e.get(slot_index).ok_or(ProxyError::RedactionUnavailable)?,
                None => &[],
            };
            slot_index += 1;
            match policy.redact_with_extra(slot, redaction, level, slot_extra) {
                Applied::Text(std::borrow::Cow::Owned(new)) => {
                    *slot = new;
                    changed = true;
                }
                Applied::Text(std::borrow::Cow::Borrowed(_)) => {}
                Applied::Blocked(_) => blocked = true,
            }
            if started.elapsed() > budget {
                return Err(ProxyError::RedactionUnavailable);
            }
            Ok(())
        };
        match selectors {
            Some(selectors) => {
                if !json.is_object() {
                    return Err(ProxyError::UnsupportedShape(
                        "the request body must be a JSON object".into(),
                    ));
                }
                providers::generic::visit_selected(selectors, json, &mut visitor)
            }
            None => providers::visit_request(route.endpoint, json, policy.unreadable, &mut visitor),
        }?;
        if extra.is_some_and(|e| e.len() != slot_index) {
            return Err(ProxyError::RedactionUnavailable);
        }
        Ok(changed || blocked)
    }));
    match outcome {
        Ok(r) => r,
        Err(_) => Err(ProxyError::RedactionUnavailable),
    }
}

/// Header values can carry PII too (`X-User-Email`, a request id that is an e-mail): every
/// forwarded header except credentials and protocol headers is scanned and redacted with the
/// request's mapping. A header whose redacted value is not a valid header value is dropped.
fn redact_headers(
    state: &AppState,
    policy: &CompiledPolicy,
    headers: &mut http::HeaderMap,
    redaction: &mut Redaction,
) -> Result<(), ProxyError> {
    let names: Vec<http::HeaderName> = headers
        .keys()
        .filter(|k| !headers::is_unscanned_header(k))
        .cloned()
        .collect();
    for name in names {
        let values: Vec<HeaderValue> = headers.get_all(&name).iter().cloned().collect();
        let mut out = Vec::with_capacity(values.len());
        let mut changed = false;
        for v in values {
            let Ok(text) = v.to_str() else {
                out.push(v);
                continue;
            };
            let applied =
                std::panic::catch_unwind(AssertUnwindSafe(|| policy.redact(text, redaction)))
                    .map_err(|_| {
                        state
                            .metrics
                            .redaction_failures_total
                            .with_label_values(&["request"])
                            .inc();
                        ProxyError::RedactionUnavailable
                    })?;
            match applied {
                Applied::Text(std::borrow::Cow::Owned(new)) => {
                    changed = true;
                    if let Ok(v) = HeaderValue::from_str(&new) {
                        out.push(v);
                    }
                }
                Applied::Text(std::borrow::Cow::Borrowed(_)) => out.push(v),
                Applied::Blocked(e) => return Err(ProxyError::PiiBlocked(e)),
            }
        }
        if changed {
            headers.remove(&name);
            for v in out {
                headers.append(name.clone(), v);
            }
        }
    }
    Ok(())
}

/// Query parameters that carry credentials or protocol switches, not text a person wrote
/// (Gemini's `?key=` API key, `?alt=sse`, Azure's `api-version`).
const UNSCANNED_QUERY_PARAMS: &[&str] = &["key", "alt", "api-version", "beta"];

/// A query string is not a place for personal data: if any (percent-decoded) parameter holds a
/// finding whose action is not `allow`, the request is refused rather than rewritten.
fn scan_query(policy: &CompiledPolicy, query: Option<&str>) -> Option<EntityType> {
    let query = query?;
    if policy.mode == crate::policy::Mode::Monitor {
        return None;
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if UNSCANNED_QUERY_PARAMS.contains(&decode(k).as_str()) {
            return None;
        }
        let text = format!("{} {}", decode(k), decode(v));
        policy
            .findings(&text)
            .into_iter()
            .find(|f| policy.action_for(f.entity) != crate::redact::Action::Allow)
            .map(|f| f.entity)
    })
}

/// The first entity type the policy blocks, if the request held one (never in monitor mode).
fn blocked_entity(redaction: &Redaction, policy: &CompiledPolicy) -> Option<EntityType> {
    if policy.mode == crate::policy::Mode::Monitor {
        return None;
    }
    redaction
        .counts()
        .keys()
        .find(|(_, a)| *a == crate::redact::Action::Block)
        .map(|(e, _)| *e)
}

/// Sends upstream with the first-byte timeout and maps failures.
async fn send(
    state: &AppState,
    upstream: &ResolvedUpstream,
    req: Request<ProxyBody>,
    ex: &mut Exchange,
) -> Result<Response<Incoming>, ProxyError> {
    let started = Instant::now();
    let result = tokio::time::timeout(
        config::ms(state.config.limits.upstream_timeout_ms),
        upstream.client.request(req),
    )
    .await;
    ex.upstream_time = started.elapsed();
    match result {
        Err(_) => Err(ProxyError::UpstreamTimeout),
        Ok(Err(e)) => {
            let timeout = std::error::Error::source(&e)
                .map(|s| s.to_string().contains("timed out"))
                .unwrap_or(false);
            tracing::warn!(request_id = %ex.request_id, upstream = upstream.host(), connect = e.is_connect(), "upstream request failed");
            if timeout {
                Err(ProxyError::UpstreamTimeout)
            } else {
                Err(ProxyError::UpstreamUnavailable)
            }
        }
        Ok(Ok(resp)) => Ok(resp),
    }
}

/// Restores placeholders in a JSON answer (success or error body alike: error bodies can echo
/// the prompt). Anything that is not plain JSON is passed unchanged.
fn restore_answer(answer: Bytes, restorer: &Restorer, encoding: Option<&HeaderValue>) -> Bytes {
    if restorer.is_empty()
        || encoding.is_some()
        || (restorer.filter().is_none() && !answer.contains(&b'<'))
    {
        return answer;
    }
    match serde_json::from_slice::<Value>(&answer) {
        Ok(mut v) => {
            if providers::restore_json(&mut v, restorer) {
                serde_json::to_vec(&v).map(Bytes::from).unwrap_or(answer)
            } else {
                answer
            }
        }
        Err(_) => match std::str::from_utf8(&answer) {
            Ok(text) => match restorer.process(text) {
                std::borrow::Cow::Owned(s) => Bytes::from(s),
                std::borrow::Cow::Borrowed(_) => answer,
            },
            Err(_) => answer,
        },
    }
}

/// The pseudonym scope of a caller: a hash of its credential, so placeholders are stable for one
/// API key and unlinkable across keys.
fn credential_scope(h: &http::HeaderMap) -> Vec<u8> {
    let cred = h
        .get(header::AUTHORIZATION)
        .or_else(|| h.get("x-api-key"))
        .or_else(|| h.get("api-key"))
        .map(|v| v.as_bytes())
        .unwrap_or(b"anonymous");
    Sha256::digest(cred).to_vec()
}

/// The selectors of a `[[generic]]` route (shared: they may go to the blocking pool).
fn generic_selectors(
    state: &AppState,
    route: Route,
) -> Option<Arc<[providers::generic::Selector]>> {
    match route.endpoint {
        Endpoint::Generic(i) => Some(state.upstreams.generic[usize::from(i)].selectors.clone()),
        _ => None,
    }
}

/// A `[[generic]]` route for the path, if one is configured.
fn generic_route(state: &AppState, method: &http::Method, path: &str) -> Result<Route, ProxyError> {
    let i = state
        .upstreams
        .generic
        .iter()
        .position(|g| g.path == path)
        .ok_or(ProxyError::NotFound)?;
    if method != http::Method::POST {
        return Err(ProxyError::MethodNotAllowed);
    }
    Ok(Route {
        template: state.upstreams.generic[i].path,
        provider: Provider::Generic,
        endpoint: Endpoint::Generic(i as u16),
    })
}

impl AppState {
    fn upstream(&self, route: Route) -> &ResolvedUpstream {
        if let Endpoint::Generic(i) = route.endpoint {
            return &self.upstreams.generic[usize::from(i)].upstream;
        }
        match route.provider {
            Provider::Generic => &self.upstreams.openai,
            Provider::OpenAi => &self.upstreams.openai,
            Provider::Anthropic => &self.upstreams.anthropic,
            Provider::Gemini => &self.upstreams.gemini,
            Provider::Ollama => &self.upstreams.ollama,
        }
    }
}
