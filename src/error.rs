//! Errors the proxy answers with, and the one place they are mapped to an HTTP status, a stable
//! `code` and a provider-shaped JSON body.
//!
//! Owns: [`ProxyError`] and [`ErrorFlavor`]. Messages name entity types, never values: nothing in
//! this module ever receives request text.

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use serde_json::json;

use crate::detect::EntityType;

/// Which wire format the client speaks, and therefore which error shape it expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorFlavor {
    /// `{"error":{"message","type","code","param"}}`
    OpenAi,
    /// `{"type":"error","error":{"type","message"},"request_id"}`
    Anthropic,
    /// `{"error":{"code","message","status","details":[{"reason"}]}}` (Google APIs)
    Gemini,
    /// `{"error":"message"}` (Ollama)
    Ollama,
}

/// Everything that makes privgate answer a request itself instead of with the upstream's answer.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// No route for the path.
    #[error("no route for this path")]
    NotFound,
    /// The route exists but not for this method.
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// The body is not valid JSON (or not the JSON shape the route expects).
    #[error("request body is not valid JSON: {0}")]
    InvalidJson(String),
    /// The body is not UTF-8.
    #[error("request body is not valid UTF-8")]
    InvalidUtf8,
    /// The body exceeds the configured limit.
    #[error("request body exceeds the limit of {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// JSON nested deeper than the configured limit.
    #[error("request JSON is nested deeper than {limit} levels")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// A body shape the adapter does not understand: refused rather than forwarded unscanned.
    #[error("unsupported request shape: {0}")]
    UnsupportedShape(String),
    /// Content the proxy cannot read, refused by policy.
    #[error("request contains content privgate cannot inspect ({0}); refused by policy")]
    UnsupportedContent(String),
    /// A compressed request body (privgate cannot scan what it cannot read).
    #[error("unsupported Content-Encoding on request body")]
    UnsupportedEncoding,
    /// Ambiguous or malformed framing (e.g. both Content-Length and Transfer-Encoding).
    #[error("bad request framing: {0}")]
    BadRequest(&'static str),
    /// The client was too slow sending its body.
    #[error("timed out reading the request body")]
    BodyTimeout,
    /// The policy blocks an entity type found in the request.
    #[error("request blocked by privacy policy: it contains {0}")]
    PiiBlocked(EntityType),
    /// The active policy does not permit a transfer to this route's upstream (GDPR Art. 44+).
    #[error("the policy does not permit sending data to this upstream ({0})")]
    TransferNotPermitted(String),
    /// The policy's lawful basis is consent and the subject has none for the purpose (or the
    /// request names no subject and the policy's `anonymous` rule blocks).
    #[error("the data subject has not consented to processing for this purpose (policy {0})")]
    ConsentRequired(String),
    /// The subject has restricted or objected to processing (GDPR Art. 18/21).
    #[error("processing of this data subject's data is restricted")]
    ProcessingRestricted,
    /// The declared purpose is not one the policy (or the route) permits.
    #[error("the declared processing purpose is not permitted here (policy {0})")]
    PurposeNotAllowed(String),
    /// The policy needs a purpose and neither the route nor the request declared one.
    #[error("declare the processing purpose (header {0})")]
    PurposeRequired(String),
    /// The request names no data subject and the policy's `anonymous` rule refuses that.
    #[error("name the data subject (header {0}, or the provider's user field)")]
    SubjectRequired(String),
    /// The URL's query string holds personal data.
    #[error("the request URL contains {0}; send personal data in the body, not the URL")]
    PiiInUrl(EntityType),
    /// The detector failed (panicked or exceeded its budget): fail closed.
    #[error("PII detection is unavailable; the request was not forwarded")]
    RedactionUnavailable,
    /// The audit record that must precede forwarding could not be made durable: fail closed.
    #[error("the audit trail is unavailable; the request was not forwarded")]
    AuditUnavailable,
    /// The upstream refused the connection, failed TLS or reset before answering.
    #[error("upstream is unavailable")]
    UpstreamUnavailable,
    /// The upstream's answer exceeds the limit privgate reads to restore it.
    #[error("the upstream answer exceeds the limit of {limit} bytes")]
    ResponseTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The upstream did not answer in time.
    #[error("upstream did not respond in time")]
    UpstreamTimeout,
    /// The proxy is at its connection or concurrency limit.
    #[error("privgate is overloaded; retry later")]
    Overloaded,
    /// An internal error that is not the client's fault.
    #[error("internal error")]
    Internal,
}

impl ProxyError {
    /// The HTTP status the client sees.
    pub fn status(&self) -> StatusCode {
        match self {
            ProxyError::NotFound => StatusCode::NOT_FOUND,
            ProxyError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ProxyError::InvalidJson(_)
            | ProxyError::InvalidUtf8
            | ProxyError::BadRequest(_)
            | ProxyError::UnsupportedShape(_)
            | ProxyError::TooDeep { .. } => StatusCode::BAD_REQUEST,
            ProxyError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ProxyError::UnsupportedContent(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ProxyError::UnsupportedEncoding => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ProxyError::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            ProxyError::PiiBlocked(_) | ProxyError::PiiInUrl(_) => StatusCode::BAD_REQUEST,
            ProxyError::TransferNotPermitted(_)
            | ProxyError::ConsentRequired(_)
            | ProxyError::ProcessingRestricted
            | ProxyError::PurposeNotAllowed(_) => StatusCode::FORBIDDEN,
            ProxyError::PurposeRequired(_) | ProxyError::SubjectRequired(_) => {
                StatusCode::BAD_REQUEST
            }
            ProxyError::RedactionUnavailable
            | ProxyError::AuditUnavailable
            | ProxyError::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            ProxyError::UpstreamUnavailable | ProxyError::ResponseTooLarge { .. } => {
                StatusCode::BAD_GATEWAY
            }
            ProxyError::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
            ProxyError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable privgate error code (also the `reason` label of blocked-request metrics).
    pub fn code(&self) -> &'static str {
        match self {
            ProxyError::NotFound => "not_found",
            ProxyError::MethodNotAllowed => "method_not_allowed",
            ProxyError::InvalidJson(_) => "invalid_json",
            ProxyError::InvalidUtf8 => "invalid_utf8",
            ProxyError::BodyTooLarge { .. } => "body_too_large",
            ProxyError::TooDeep { .. } => "json_too_deep",
            ProxyError::UnsupportedShape(_) => "unsupported_shape",
            ProxyError::UnsupportedContent(_) => "unsupported_content",
            ProxyError::UnsupportedEncoding => "unsupported_encoding",
            ProxyError::BadRequest(_) => "bad_request",
            ProxyError::BodyTimeout => "body_timeout",
            ProxyError::PiiBlocked(_) => "pii_blocked",
            ProxyError::PiiInUrl(_) => "pii_in_url",
            ProxyError::TransferNotPermitted(_) => "transfer_not_permitted",
            ProxyError::ConsentRequired(_) => "consent_required",
            ProxyError::ProcessingRestricted => "processing_restricted",
            ProxyError::PurposeNotAllowed(_) => "purpose_not_allowed",
            ProxyError::PurposeRequired(_) => "purpose_required",
            ProxyError::SubjectRequired(_) => "subject_required",
            ProxyError::RedactionUnavailable => "redaction_unavailable",
            ProxyError::AuditUnavailable => "audit_unavailable",
            ProxyError::UpstreamUnavailable => "upstream_unavailable",
            ProxyError::ResponseTooLarge { .. } => "response_too_large",
            ProxyError::UpstreamTimeout => "upstream_timeout",
            ProxyError::Overloaded => "overloaded",
            ProxyError::Internal => "internal_error",
        }
    }

    /// The OpenAI `type` / Anthropic `error.type` for this error.
    fn error_type(&self, flavor: ErrorFlavor) -> &'static str {
        let status = self.status();
        match flavor {
            ErrorFlavor::Gemini => match status.as_u16() {
                400 | 413 | 415 | 422 | 405 => "INVALID_ARGUMENT",
                403 => "PERMISSION_DENIED",
                404 => "NOT_FOUND",
                408 | 504 => "DEADLINE_EXCEEDED",
                503 | 502 => "UNAVAILABLE",
                _ => "INTERNAL",
            },
            ErrorFlavor::OpenAi | ErrorFlavor::Ollama => match status.as_u16() {
                400 | 413 | 415 | 422 | 408 => "invalid_request_error",
                403 => "permission_error",
                404 => "not_found_error",
                405 => "invalid_request_error",
                _ => "server_error",
            },
            ErrorFlavor::Anthropic => match status.as_u16() {
                400 | 415 | 422 | 408 | 405 => "invalid_request_error",
                403 => "permission_error",
                404 => "not_found_error",
                413 => "request_too_large",
                503 => "overloaded_error",
                _ => "api_error",
            },
        }
    }

    /// The response for this error, shaped for the client's wire format.
    pub fn to_response(&self, flavor: ErrorFlavor, request_id: &str) -> Response<Bytes> {
        let message = format!("privgate: {self}");
        let body = match flavor {
            ErrorFlavor::OpenAi => json!({
                "error": {
                    "message": message,
                    "type": self.error_type(flavor),
                    "param": null,
                    "code": self.code(),
                },
                "request_id": request_id,
            }),
            ErrorFlavor::Anthropic => json!({
                "type": "error",
                "error": {
                    "type": self.error_type(flavor),
                    "message": message,
                    "code": self.code(),
                },
                "request_id": request_id,
            }),
            ErrorFlavor::Gemini => json!({
                "error": {
                    "code": self.status().as_u16(),
                    "message": message,
                    "status": self.error_type(flavor),
                    "details": [{
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": self.code(),
                        "domain": "privgate",
                        "metadata": {"request_id": request_id},
                    }],
                },
            }),
            ErrorFlavor::Ollama => json!({
                "error": message,
                "code": self.code(),
                "request_id": request_id,
            }),
        };
        let mut resp = Response::new(Bytes::from(body.to_string()));
        *resp.status_mut() = self.status();
        let headers = resp.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert("x-privgate-error", HeaderValue::from_static(self.code()));
        if matches!(
            self,
            ProxyError::RedactionUnavailable
                | ProxyError::AuditUnavailable
                | ProxyError::Overloaded
        ) {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_and_anthropic_shapes_carry_the_stable_code() {
        let err = ProxyError::PiiBlocked(EntityType::CreditCard);
        let oa: serde_json::Value =
            serde_json::from_slice(err.to_response(ErrorFlavor::OpenAi, "r1").body()).unwrap();
        assert_eq!(oa["error"]["code"], "pii_blocked");
        assert_eq!(oa["error"]["type"], "invalid_request_error");
        assert!(oa["error"]["message"]
            .as_str()
            .unwrap()
            .contains("CREDIT_CARD"));
        let an: serde_json::Value =
            serde_json::from_slice(err.to_response(ErrorFlavor::Anthropic, "r1").body()).unwrap();
        assert_eq!(an["type"], "error");
        assert_eq!(an["error"]["type"], "invalid_request_error");
        assert_eq!(an["error"]["code"], "pii_blocked");
    }

    #[test]
    fn statuses_match_the_contract() {
        assert_eq!(ProxyError::BodyTooLarge { limit: 1 }.status(), 413);
        assert_eq!(ProxyError::UpstreamUnavailable.status(), 502);
        assert_eq!(ProxyError::UpstreamTimeout.status(), 504);
        assert_eq!(ProxyError::RedactionUnavailable.status(), 503);
        assert_eq!(ProxyError::NotFound.status(), 404);
    }
}
