//! An optional external recognizer: a Presidio-compatible analyzer (`POST <url>/analyze`) asked
//! about every text slot of a request body, its findings merged with the built-in detector's.
//!
//! Owns: the `[presidio]` client (HTTP/1.1, keep-alive pool, `TCP_NODELAY`), the wire format,
//! the conversion of Presidio's offsets (Python string indices, i.e. Unicode code points) to
//! byte offsets, the entity-name mapping, the language choice, the per-call metrics and the
//! `on_error` rule. Does not own: how findings are merged and acted on (that is
//! [`CompiledPolicy::redact_with_extra`](crate::policy::CompiledPolicy::redact_with_extra), which
//! applies the policy's entity set, thresholds and allow-lists to these findings too), nor the
//! walk over a request's text slots (`providers`).
//!
//! Off unless the server config has a `[presidio]` section: then no client exists and the request
//! path makes no call. When on, one request costs one call per non-blank text slot, at most
//! `max_concurrent_calls` at a time, all within `timeout_ms` in total. With
//! `on_error = "fail_closed"` (the default) a refused connection, a timeout, a non-200 answer or
//! a malformed one (bad JSON, offsets outside the text) refuses the request with 503
//! `redaction_unavailable` before anything goes upstream; with `"skip"` the request goes on
//! with the built-in findings only, counted in `privgate_presidio_skipped_requests_total`.
//!
//! Only request bodies are analyzed: header values, query strings and answers are scanned by the
//! built-in detector alone. Nothing here logs or labels a text or a value.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use http::{header, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use prometheus::{Histogram, IntCounter};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::time::Instant;

use super::upstream::UpstreamError;
use crate::config::{self, PresidioOnError, PresidioSection};
use crate::detect::{EntityType, Finding};
use crate::error::ProxyError;
use crate::metrics::Metrics;
use crate::policy::CompiledPolicy;
use crate::providers::{self, generic::Selector, Endpoint};

/// Presidio entity names mapped to privgate entity types unless `entity_map` says otherwise.
///
/// Left out on purpose: `LOCATION` (mostly cities and countries, not street addresses: map it to
/// `STREET_ADDRESS` to redact them anyway), `DATE_TIME` (any date or time, far broader than a
/// date of birth), `NRP`, and identifiers privgate has no type for (`UK_NHS`, `US_BANK_NUMBER`,
/// `US_DRIVER_LICENSE`, `US_ITIN`, `MEDICAL_LICENSE`).
pub const DEFAULT_ENTITY_MAP: &[(&str, EntityType)] = &[
    ("PERSON", EntityType::Person),
    ("EMAIL_ADDRESS", EntityType::Email),
    ("PHONE_NUMBER", EntityType::Phone),
    ("CREDIT_CARD", EntityType::CreditCard),
    ("IBAN_CODE", EntityType::Iban),
    ("IP_ADDRESS", EntityType::IpAddress),
    ("US_SSN", EntityType::UsSsn),
    ("URL", EntityType::Url),
    ("CRYPTO", EntityType::Crypto),
    ("US_PASSPORT", EntityType::Passport),
    ("IT_FISCAL_CODE", EntityType::ItFiscalCode),
    ("ES_NIF", EntityType::EsDni),
];

/// The largest analyzer answer read for one text (a finding is ~150 bytes of JSON).
const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;

/// Why an analyzer call failed. Carries no text and no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PresidioError {
    /// No answer within `timeout_ms`.
    #[error("the analyzer did not answer in time")]
    Timeout,
    /// Connection refused or reset, or the answer could not be read.
    #[error("the analyzer is unreachable")]
    Unavailable,
    /// An answer other than 200.
    #[error("the analyzer answered with status {0}")]
    Status(u16),
    /// Not a JSON list of results, or offsets outside the text.
    #[error("the analyzer's answer is malformed")]
    Malformed,
}

impl PresidioError {
    /// The `result` label of `privgate_presidio_requests_total`.
    pub fn label(self) -> &'static str {
        match self {
            PresidioError::Timeout => "timeout",
            _ => "error",
        }
    }
}

/// Which `language` each text is sent with.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Language {
    /// Always this code.
    Fixed(String),
    /// Han characters → `zh`, anything else → `en`.
    Auto,
}

/// One `/analyze` request body.
#[derive(Serialize)]
struct AnalyzeRequest<'a> {
    text: &'a str,
    language: &'a str,
    entities: &'a [String],
    score_threshold: f32,
}

/// One result of an `/analyze` answer (other fields, such as `analysis_explanation`, ignored).
#[derive(Deserialize)]
struct AnalyzeResult {
    entity_type: String,
    start: usize,
    end: usize,
    score: f32,
}

/// The `[presidio]` client, built once at start and shared by every request.
pub struct Presidio {
    endpoint: Uri,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
    language: Language,
    map: BTreeMap<String, EntityType>,
    /// The mapped names, sent as `entities` so the analyzer skips the others.
    entities: Vec<String>,
    min_score: f32,
    on_error: PresidioOnError,
    max_concurrent: usize,
    /// `privgate_presidio_requests_total{result}` children: ok, error, timeout.
    ok: IntCounter,
    error: IntCounter,
    timeout_count: IntCounter,
    duration: Histogram,
    skipped: IntCounter,
    failures: IntCounter,
}

impl std::fmt::Debug for Presidio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presidio")
            .field("host", &self.endpoint.host())
            .field("on_error", &self.on_error)
            .finish_non_exhaustive()
    }
}

impl Presidio {
    /// Builds the client from a validated `[presidio]` section (see `Config::validate`).
    pub fn new(section: &PresidioSection, metrics: &Metrics) -> Result<Presidio, UpstreamError> {
        let uri = config::validate_upstream_url(&section.url).map_err(UpstreamError::Url)?;
        let endpoint: Uri = format!(
            "{}://{}{}/analyze",
            uri.scheme_str().unwrap_or("http"),
            uri.authority()
                .map(|a| a.as_str())
                .ok_or_else(|| UpstreamError::Url("no host".into()))?,
            uri.path().trim_end_matches('/')
        )
        .parse()
        .map_err(|e: http::uri::InvalidUri| UpstreamError::Url(e.to_string()))?;
        let timeout = config::ms(section.timeout_ms);
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(timeout));
        http.set_keepalive(Some(Duration::from_secs(60)));
        let tls = crate::tls::client_config(section.extra_ca.as_deref())?;
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(https);
        let mut map: BTreeMap<String, EntityType> = DEFAULT_ENTITY_MAP
            .iter()
            .map(|(name, e)| (name.to_string(), *e))
            .collect();
        for (name, target) in &section.entity_map {
            match EntityType::parse(target) {
                Some(e) => {
                    map.insert(name.clone(), e);
                }
                // `IGNORE` (validation refused anything else).
                None => {
                    map.remove(name);
                }
            }
        }
        let language = match section.language.as_str() {
            "auto" => Language::Auto,
            code => Language::Fixed(code.to_string()),
        };
        let m = &metrics.presidio_requests_total;
        Ok(Presidio {
            endpoint,
            client,
            timeout,
            language,
            entities: map.keys().cloned().collect(),
            map,
            min_score: section.min_score,
            on_error: section.on_error,
            max_concurrent: section.max_concurrent_calls.max(1),
            ok: m.with_label_values(&["ok"]),
            error: m.with_label_values(&["error"]),
            timeout_count: m.with_label_values(&["timeout"]),
            duration: metrics.presidio_duration.clone(),
            skipped: metrics.presidio_skipped_requests_total.clone(),
            failures: metrics
                .redaction_failures_total
                .with_label_values(&["request"]),
        })
    }

    /// The `/analyze` URL called.
    pub fn endpoint(&self) -> &Uri {
        &self.endpoint
    }

    /// True when prompts would travel unencrypted to another machine: plain `http://` to a host
    /// that is not loopback (worth a warning at start).
    pub fn is_plaintext_remote(&self) -> bool {
        let loopback = match self.endpoint.host() {
            Some("localhost") => true,
            Some(h) => h
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback()),
            None => false,
        };
        self.endpoint.scheme_str() == Some("http") && !loopback
    }

    /// The analyzer's findings for each text slot of a request body, in the order
    /// `providers::visit_request` (or the generic route's selectors) walks them, ready for
    /// [`CompiledPolicy::redact_with_extra`]. `None` when there is nothing to add: no text slot,
    /// a body the walk itself refuses (the redaction pass reports that error), or a failed call
    /// under `on_error = "skip"`. A failed call under `fail_closed` is
    /// [`ProxyError::RedactionUnavailable`].
    pub async fn request_findings(
        &self,
        request_id: &str,
        policy: &CompiledPolicy,
        endpoint: Endpoint,
        selectors: Option<&[Selector]>,
        json: &mut Value,
    ) -> Result<Option<Vec<Vec<Finding>>>, ProxyError> {
        let Some(texts) = slot_texts(policy, endpoint, selectors, json) else {
            return Ok(None);
        };
        if texts.iter().all(|t| t.trim().is_empty()) {
            return Ok(None);
        }
        match self.analyze_all(&texts).await {
            Ok(findings) => Ok(Some(findings)),
            Err(e) => match self.on_error {
                PresidioOnError::FailClosed => {
                    self.failures.inc();
                    tracing::warn!(request_id, result = e.label(), reason = %e, "presidio analyzer failed; request refused");
                    Err(ProxyError::RedactionUnavailable)
                }
                PresidioOnError::Skip => {
                    self.skipped.inc();
                    tracing::warn!(request_id, result = e.label(), reason = %e, "presidio analyzer failed; built-in detector only");
                    Ok(None)
                }
            },
        }
    }

    /// Analyzes every text (blank ones are not sent), at most `max_concurrent` calls at a time,
    /// all before one deadline; the first failure cancels the rest.
    pub async fn analyze_all(&self, texts: &[String]) -> Result<Vec<Vec<Finding>>, PresidioError> {
        let deadline = Instant::now() + self.timeout;
        // Indices, not `&String` items: a closure over a borrowed item makes the future's
        // lifetime higher-ranked, and the stream then fails to be `Send`.
        futures_util::stream::iter(0..texts.len())
            .map(|i| self.analyze(&texts[i], deadline))
            .buffered(self.max_concurrent)
            .try_collect()
            .await
    }

    /// One `/analyze` call, counted and timed.
    async fn analyze(&self, text: &str, deadline: Instant) -> Result<Vec<Finding>, PresidioError> {
        if text.trim().is_empty() {
            return Ok(Vec::new());
        }
        let started = std::time::Instant::now();
        let result = match tokio::time::timeout_at(deadline, self.call(text)).await {
            Ok(r) => r,
            Err(_) => Err(PresidioError::Timeout),
        };
        self.duration.observe(started.elapsed().as_secs_f64());
        match &result {
            Ok(_) => self.ok.inc(),
            Err(PresidioError::Timeout) => self.timeout_count.inc(),
            Err(_) => self.error.inc(),
        }
        result
    }

    async fn call(&self, text: &str) -> Result<Vec<Finding>, PresidioError> {
        let language = match &self.language {
            Language::Fixed(code) => code.as_str(),
            Language::Auto => auto_language(text),
        };
        let body = serde_json::to_vec(&AnalyzeRequest {
            text,
            language,
            entities: &self.entities,
            score_threshold: self.min_score,
        })
        .map_err(|_| PresidioError::Malformed)?;
        let req = Request::post(self.endpoint.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|_| PresidioError::Unavailable)?;
        let resp = self.client.request(req).await.map_err(|e| {
            let timed_out =
                std::error::Error::source(&e).is_some_and(|s| s.to_string().contains("timed out"));
            if timed_out {
                PresidioError::Timeout
            } else {
                PresidioError::Unavailable
            }
        })?;
        let status = resp.status();
        let answer = Limited::new(resp.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map_err(|_| PresidioError::Unavailable)?
            .to_bytes();
        if status != StatusCode::OK {
            return Err(PresidioError::Status(status.as_u16()));
        }
        let results: Vec<AnalyzeResult> =
            serde_json::from_slice(&answer).map_err(|_| PresidioError::Malformed)?;
        self.to_findings(text, &results)
    }

    /// Maps results to findings with byte offsets: unmapped entity types and scores under
    /// `min_score` are dropped; an offset past the text or `start >= end` is a malformed answer.
    fn to_findings(
        &self,
        text: &str,
        results: &[AnalyzeResult],
    ) -> Result<Vec<Finding>, PresidioError> {
        let kept: Vec<(&AnalyzeResult, EntityType)> = results
            .iter()
            .filter(|r| r.score >= self.min_score)
            .filter_map(|r| self.map.get(&r.entity_type).map(|e| (r, *e)))
            .collect();
        let ranges: Vec<(usize, usize)> = kept.iter().map(|(r, _)| (r.start, r.end)).collect();
        let bytes = char_ranges_to_bytes(text, &ranges).ok_or(PresidioError::Malformed)?;
        Ok(kept
            .iter()
            .zip(bytes)
            .map(|((r, entity), (start, end))| Finding {
                start,
                end,
                entity: *entity,
                score: r.score.clamp(0.0, 1.0),
            })
            .collect())
    }
}

/// The text of every slot the redaction pass will visit, in its order; `None` if the walk fails
/// (the redaction pass meets the same failure and reports it).
fn slot_texts(
    policy: &CompiledPolicy,
    endpoint: Endpoint,
    selectors: Option<&[Selector]>,
    json: &mut Value,
) -> Option<Vec<String>> {
    let mut texts = Vec::new();
    let mut visitor = |slot: &mut String| {
        texts.push(slot.clone());
        Ok(())
    };
    // The walk may strip unreadable parts (`unreadable = "strip"`): the redaction pass would do
    // the same, and stripping twice changes nothing, so both passes see the same slots.
    let walked = match selectors {
        Some(selectors) if json.is_object() => {
            providers::generic::visit_selected(selectors, json, &mut visitor)
        }
        Some(_) => return None,
        None => providers::visit_request(endpoint, json, policy.unreadable, &mut visitor),
    };
    walked.ok().map(|()| texts)
}

/// `language = "auto"`: `zh` if the text holds a Han character, else `en`.
pub fn auto_language(text: &str) -> &'static str {
    let han = |c: char| matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}');
    if !text.is_ascii() && text.chars().any(han) {
        "zh"
    } else {
        "en"
    }
}

/// Converts `(start, end)` ranges in code points (Python string indices) to byte ranges of
/// `text`, in one pass over the text. `None` if a range has `start >= end` or ends past the
/// text.
pub fn char_ranges_to_bytes(text: &str, ranges: &[(usize, usize)]) -> Option<Vec<(usize, usize)>> {
    if ranges.iter().any(|&(s, e)| s >= e) {
        return None;
    }
    if text.is_ascii() {
        return ranges
            .iter()
            .all(|&(_, e)| e <= text.len())
            .then(|| ranges.to_vec());
    }
    let mut wanted: Vec<usize> = ranges.iter().flat_map(|&(s, e)| [s, e]).collect();
    wanted.sort_unstable();
    wanted.dedup();
    // Byte offset of each wanted code-point offset, in `wanted` order.
    let mut bytes = Vec::with_capacity(wanted.len());
    let boundaries = text
        .char_indices()
        .map(|(b, _)| b)
        .chain(std::iter::once(text.len()));
    for (ci, bi) in boundaries.enumerate() {
        if bytes.len() == wanted.len() {
            break;
        }
        if wanted[bytes.len()] == ci {
            bytes.push(bi);
        }
    }
    if bytes.len() < wanted.len() {
        return None;
    }
    let at = |c: usize| wanted.binary_search(&c).ok().map(|i| bytes[i]);
    ranges
        .iter()
        .map(|&(s, e)| Some((at(s)?, at(e)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_points_become_byte_offsets() {
        let text = "é 中文 😀 ana";
        // Python: text.index("ana") == 7, "中文" == 2..4, "😀" == 5..6.
        let got = char_ranges_to_bytes(text, &[(7, 10), (2, 4), (5, 6), (0, 1)]).unwrap();
        let slices: Vec<&str> = got.iter().map(|&(s, e)| &text[s..e]).collect();
        assert_eq!(slices, ["ana", "中文", "😀", "é"]);
        assert_eq!(char_ranges_to_bytes("abc", &[(0, 3)]).unwrap(), [(0, 3)]);
    }

    #[test]
    fn offsets_outside_the_text_are_malformed() {
        assert!(char_ranges_to_bytes("abc", &[(0, 4)]).is_none());
        assert!(char_ranges_to_bytes("中文", &[(1, 3)]).is_none());
        assert!(char_ranges_to_bytes("中文", &[(1, 1)]).is_none());
        assert!(char_ranges_to_bytes("中文", &[(2, 1)]).is_none());
        assert_eq!(char_ranges_to_bytes("中文", &[(1, 2)]).unwrap(), [(3, 6)]);
        assert_eq!(char_ranges_to_bytes("中文", &[]).unwrap(), []);
    }

    /// The request path needs this future to be `Send` (hyper's connection tasks are spawned);
    /// checked at compile time.
    #[allow(dead_code)]
    fn request_findings_is_send(p: &Presidio, policy: &CompiledPolicy, json: &mut Value) {
        fn is_send<T: Send>(_: T) {}
        is_send(p.request_findings("", policy, Endpoint::Models, None, json));
    }

    fn client(entity_map: &[(&str, &str)]) -> Presidio {
        crate::tls::install_crypto_provider();
        let mut section = PresidioSection::new("http://127.0.0.1:5002/presidio/");
        section.entity_map = entity_map
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Presidio::new(&section, &Metrics::new()).unwrap()
    }

    fn result(entity_type: &str, start: usize, end: usize, score: f32) -> AnalyzeResult {
        AnalyzeResult {
            entity_type: entity_type.into(),
            start,
            end,
            score,
        }
    }

    #[test]
    fn entity_map_overrides_merge_over_the_defaults() {
        let p = client(&[("LOCATION", "STREET_ADDRESS"), ("URL", "IGNORE")]);
        assert_eq!(p.map["LOCATION"], EntityType::StreetAddress);
        assert_eq!(p.map["PERSON"], EntityType::Person);
        assert!(!p.map.contains_key("URL") && !p.map.contains_key("DATE_TIME"));
        assert!(p.entities.contains(&"LOCATION".to_string()));
        assert!(!p.entities.contains(&"URL".to_string()));
        assert_eq!(
            p.endpoint().to_string(),
            "http://127.0.0.1:5002/presidio/analyze"
        );
        assert!(!p.is_plaintext_remote());
        let remote = Presidio::new(
            &PresidioSection::new("http://10.0.0.5:5002"),
            &Metrics::new(),
        );
        assert!(remote.unwrap().is_plaintext_remote());
        let tls = Presidio::new(
            &PresidioSection::new("https://pii.internal"),
            &Metrics::new(),
        );
        assert!(!tls.unwrap().is_plaintext_remote());
    }

    #[test]
    fn results_become_findings_unmapped_and_weak_ones_dropped() {
        let p = client(&[]);
        let text = "é zofia in lisbon";
        let found = p
            .to_findings(
                text,
                &[
                    result("PERSON", 2, 7, 0.85),
                    result("LOCATION", 11, 17, 0.9),
                    result("PERSON", 11, 17, 0.3),
                ],
            )
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(&text[found[0].start..found[0].end], "zofia");
        assert_eq!(found[0].entity, EntityType::Person);
        assert_eq!(
            p.to_findings(text, &[result("PERSON", 2, 18, 0.9)]),
            Err(PresidioError::Malformed)
        );
        // Offsets of dropped results are not checked: nothing is done with them.
        assert!(p
            .to_findings(text, &[result("DATE_TIME", 0, 99, 0.9)])
            .unwrap()
            .is_empty());
    }

    #[test]
    fn auto_language_is_a_script_test() {
        assert_eq!(auto_language("call ana tomorrow"), "en");
        assert_eq!(auto_language("café müller"), "en");
        assert_eq!(auto_language("请联系王小明"), "zh");
    }

    proptest::proptest! {
        #[test]
        fn conversion_matches_char_indices(s in "\\PC{0,40}", a in 0usize..50, b in 0usize..50) {
            let n = s.chars().count();
            let (lo, hi) = (a.min(b), a.max(b));
            let got = char_ranges_to_bytes(&s, &[(lo, hi)]);
            if lo < hi && hi <= n {
                let (bs, be) = got.unwrap()[0];
                let want: String = s.chars().skip(lo).take(hi - lo).collect();
                proptest::prop_assert_eq!(&s[bs..be], want.as_str());
            } else {
                proptest::prop_assert!(got.is_none());
            }
        }
    }
}
