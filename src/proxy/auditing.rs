//! The audit phase of an exchange: the record privgate keeps of every routed request, written
//! fail-closed (the intent is durable before the first byte goes upstream) and completed when the
//! exchange ends, whatever way it ends.
//!
//! Owns: building [`AuditRecord`]s from what the request path knows (never a detected value; the
//! subject only as its blind index), the intent write with its metrics, and completions, which
//! never delay the client (the intent is already durable; a failed completion is counted).

use std::sync::Arc;
use std::time::Instant;

use http::HeaderMap;
use serde_json::Value;

use super::AppState;
use crate::audit::{AuditError, AuditLog, AuditRecord, Completion, Decision, EntityCount, Seq};
use crate::error::ProxyError;
use crate::redact::ActionCounts;

/// The data subject a request is about: the subject header (`server.subject_header`, default
/// `x-privgate-subject`), else OpenAI's `user`, else Anthropic's `metadata.user_id`.
pub fn subject_id(headers: &HeaderMap, header: &str, body: Option<&Value>) -> Option<String> {
    if let Some(v) = headers.get(header).and_then(|v| v.to_str().ok()) {
        if !v.trim().is_empty() {
            return Some(v.trim().to_string());
        }
    }
    let body = body?;
    body.get("user")
        .and_then(Value::as_str)
        .or_else(|| body.get("metadata")?.get("user_id")?.as_str())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Per entity type and action, the counts of a redaction.
pub fn entity_counts(counts: &ActionCounts) -> Vec<EntityCount> {
    counts
        .iter()
        .map(|((entity, action), n)| EntityCount {
            entity: entity.as_str().to_string(),
            action: action.as_str().to_string(),
            count: *n,
        })
        .collect()
}

/// What the request path keeps for the audit phase.
#[derive(Debug, Default)]
pub struct AuditState {
    /// The record so far.
    pub record: AuditRecord,
    /// The intent's sequence number, once durable.
    pub intent: Option<Seq>,
}

fn reason(e: &AuditError) -> &'static str {
    match e {
        AuditError::Timeout => "timeout",
        AuditError::Io(_) => "io",
        AuditError::Closed => "closed",
        AuditError::Crypto | AuditError::Key(_) => "crypto",
        _ => "store",
    }
}

/// Writes the intent record; `Ok(Some(seq))` only once it is durable. A failure is the client's
/// 503, unless the policy says `dangerous_audit_fail_open`: then the request goes on unrecorded
/// (`Ok(None)`), and a metric and a log line say so.
pub async fn write_intent(
    state: &AppState,
    audit: &AuditLog,
    route: &'static str,
    record: AuditRecord,
    fail_open: bool,
) -> Result<Option<Seq>, ProxyError> {
    let started = Instant::now();
    match audit.append_intent(record).await {
        Ok(seq) => {
            state
                .audit_healthy
                .store(true, std::sync::atomic::Ordering::SeqCst);
            state
                .metrics
                .audit_write_duration
                .with_label_values(&[route])
                .observe(started.elapsed().as_secs_f64());
            state
                .metrics
                .audit_records_total
                .with_label_values(&["intent"])
                .inc();
            Ok(Some(seq))
        }
        Err(e) => {
            state
                .audit_healthy
                .store(false, std::sync::atomic::Ordering::SeqCst);
            state
                .metrics
                .audit_write_failures_total
                .with_label_values(&[reason(&e)])
                .inc();
            if fail_open {
                state
                    .metrics
                    .audit_write_failures_total
                    .with_label_values(&["fail_open_forwarded"])
                    .inc();
                tracing::error!(error = %e, "audit intent not durable; the policy is fail-open, forwarding UNRECORDED");
                return Ok(None);
            }
            tracing::error!(error = %e, "audit intent not durable; refusing the request");
            Err(ProxyError::AuditUnavailable)
        }
    }
}

/// Completes an intent in the background: the client is not kept waiting, and a failure is
/// counted and logged (the intent is durable already; a restart marks it incomplete).
pub fn complete_later(state: &Arc<AppState>, seq: Seq, completion: Completion) {
    let Some(audit) = state.audit.clone() else {
        return;
    };
    let state = state.clone();
    // Ends once the completion is durable or has failed; it holds no request resources.
    tokio::spawn(async move {
        match audit.complete(seq, completion).await {
            Ok(_) => state
                .metrics
                .audit_records_total
                .with_label_values(&["completion"])
                .inc(),
            Err(e) => {
                state
                    .metrics
                    .audit_write_failures_total
                    .with_label_values(&[reason(&e)])
                    .inc();
                tracing::error!(error = %e, "audit completion failed");
            }
        }
    });
}

/// Records an exchange privgate answered itself (blocked or failed before forwarding) as one
/// final record, in the background: nothing went upstream, so the client need not wait.
pub fn record_refusal(
    state: &Arc<AppState>,
    mut record: AuditRecord,
    decision: Decision,
    status: u16,
) {
    let Some(audit) = state.audit.clone() else {
        return;
    };
    record.decision = Some(decision);
    record.client_status = Some(status);
    let state = state.clone();
    // Ends once the record is durable or has failed.
    tokio::spawn(async move {
        match audit.append_final(record).await {
            Ok(_) => state
                .metrics
                .audit_records_total
                .with_label_values(&["final"])
                .inc(),
            Err(e) => {
                state
                    .metrics
                    .audit_write_failures_total
                    .with_label_values(&[reason(&e)])
                    .inc();
                tracing::error!(error = %e, "audit record of a refused request failed");
            }
        }
    });
}

/// The decision for an error privgate answered with.
pub fn decision_for(err: &ProxyError) -> Decision {
    let code = err.code().to_string();
    if err.status().is_server_error() {
        Decision::Error { code }
    } else {
        Decision::Blocked { code }
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
