//! Header hygiene between client and upstream: hop-by-hop headers (RFC 9110 §7.6.1) and those
//! named in `Connection` are dropped in both directions; privgate's own control headers never go
//! upstream; request ids are taken only when they are short and plain.

use http::header::{self, HeaderMap, HeaderName};

/// Headers that describe one connection, never the message.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authorization",
    "proxy-authenticate",
];

/// Removes hop-by-hop headers and every header the `Connection` header names.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(*name);
    }
}

/// Prepares the client's headers for the upstream: hop-by-hop, `Host` (set from the upstream
/// URL), framing (recomputed), `Accept-Encoding` (privgate must read answers to restore them),
/// `Expect` and privgate's own `x-privgate-*` control headers are removed. Everything else,
/// including `Authorization`, `x-api-key` and `anthropic-version`, passes.
pub fn upstream_request_headers(mut headers: HeaderMap) -> HeaderMap {
    strip_hop_by_hop(&mut headers);
    for name in [
        header::HOST,
        header::CONTENT_LENGTH,
        header::ACCEPT_ENCODING,
        header::EXPECT,
    ] {
        headers.remove(name);
    }
    let own: Vec<HeaderName> = headers
        .keys()
        .filter(|k| k.as_str().starts_with("x-privgate-"))
        .cloned()
        .collect();
    for k in own {
        headers.remove(k);
    }
    headers
}

/// Headers that carry credentials or protocol data rather than text a person wrote: forwarded
/// without scanning (a key scanned as `API_KEY` would be removed and break authentication).
pub fn is_unscanned_header(name: &HeaderName) -> bool {
    let n = name.as_str();
    matches!(
        n,
        "authorization"
            | "x-api-key"
            | "api-key"
            | "x-goog-api-key"
            | "content-type"
            | "accept"
            | "user-agent"
            | "openai-organization"
            | "openai-project"
            | "openai-beta"
            | "idempotency-key"
    ) || n.starts_with("anthropic-")
        || n.starts_with("x-stainless-")
}

/// True if any header name contains `_` (refused at the edge: proxies disagree on whether
/// `X_Foo` and `X-Foo` are the same header, a known smuggling lever).
pub fn has_underscore_name(headers: &HeaderMap) -> bool {
    headers.keys().any(|k| k.as_str().contains('_'))
}

/// The client's `x-request-id` if it is 1–64 plain characters, else a fresh random id.
pub fn request_id(headers: &HeaderMap) -> String {
    if let Some(v) = headers.get("x-request-id").and_then(|v| v.to_str().ok()) {
        if !v.is_empty()
            && v.len() <= 64
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        {
            return v.to_string();
        }
    }
    use rand::RngCore;
    let mut b = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut b);
    format!("pg-{}", hex::encode(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn connection_named_and_hop_by_hop_headers_are_dropped() {
        let mut h = HeaderMap::new();
        h.insert(
            "connection",
            HeaderValue::from_static("x-secret, keep-alive"),
        );
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("te", HeaderValue::from_static("trailers"));
        h.insert("authorization", HeaderValue::from_static("Bearer k"));
        h.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
        h.insert("x-privgate-subject", HeaderValue::from_static("s"));
        h.insert("host", HeaderValue::from_static("localhost"));
        let out = upstream_request_headers(h);
        let mut names: Vec<&str> = out.keys().map(|k| k.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["anthropic-version", "authorization"]);
    }

    #[test]
    fn request_ids_are_plain() {
        let mut h = HeaderMap::new();
        h.insert("x-request-id", HeaderValue::from_static("abc-123"));
        assert_eq!(request_id(&h), "abc-123");
        h.insert("x-request-id", HeaderValue::from_static("jane@example.com"));
        assert!(request_id(&h).starts_with("pg-"));
    }
}
