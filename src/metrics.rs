//! The Prometheus registry and every metric's definition, in one place.
//!
//! Owns: [`Metrics`], created once at start and shared. Label values come only from closed sets
//! (route templates, provider names, entity types, actions, error codes, status classes), never from
//! request data, so the number of series is bounded whatever clients send.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Pre-registered metric handles.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// `privgate_requests_total{route,provider,status}`: status is the status class (`2xx`…).
    pub requests_total: IntCounterVec,
    /// `privgate_request_duration_seconds{route}`: whole request, as the client sees it.
    pub request_duration: HistogramVec,
    /// `privgate_overhead_duration_seconds{route}`: time spent in privgate itself.
    pub overhead_duration: HistogramVec,
    /// `privgate_upstream_duration_seconds{route}`: time to upstream response headers.
    pub upstream_duration: HistogramVec,
    /// `privgate_pii_detections_total{entity,action,policy,mode}`: policy ids come from policy
    /// files (a bounded set), mode is `enforce` or `monitor` (monitor counts what it would do).
    pub pii_detections_total: IntCounterVec,
    /// `privgate_policy_info{policy,version_hash,mode}` = 1 for every loaded policy; replaced
    /// whole on each reload, so it always shows the exact rules in force.
    pub policy_info: IntGaugeVec,
    /// `privgate_blocked_requests_total{reason}`: requests answered by privgate itself.
    pub blocked_requests_total: IntCounterVec,
    /// `privgate_redaction_failures_total{stage}`.
    pub redaction_failures_total: IntCounterVec,
    /// `privgate_audit_records_total{kind}`: audit records made durable (`intent`, `completion`).
    pub audit_records_total: IntCounterVec,
    /// `privgate_audit_write_failures_total{reason}`: audit writes that failed (`timeout`, `io`…).
    pub audit_write_failures_total: IntCounterVec,
    /// `privgate_audit_write_duration_seconds{route}`: time to a durable intent record.
    pub audit_write_duration: HistogramVec,
    /// `privgate_policy_reloads_total{result}`.
    pub policy_reloads_total: IntCounterVec,
    /// `privgate_admin_auth_failures_total{reason}`: refused admin authentications (`missing`,
    /// `malformed`, `wrong`, `rate_limited`). Never labelled with a token or a peer.
    pub admin_auth_failures_total: IntCounterVec,
    /// `privgate_streams_aborted_total{side}`: streams that ended early (`upstream`, `client`).
    pub streams_aborted_total: IntCounterVec,
    /// `privgate_consent_checks_total{result}`: policy-gate decisions on the request path, by
    /// result (`granted`, `withdrawn`, `missing`, `restricted`, `not_required` when the lawful
    /// basis is not consent, `no_subject`). Count through
    /// [`Metrics::consent_check`], which uses handles resolved once.
    pub consent_checks_total: IntCounterVec,
    /// The `consent_checks_total` children, in [`CONSENT_RESULTS`] order.
    consent_checks: [IntCounter; 6],
    /// `privgate_presidio_requests_total{result}`: calls to the optional `[presidio]` analyzer,
    /// by result (`ok`, `error`, `timeout`).
    pub presidio_requests_total: IntCounterVec,
    /// `privgate_presidio_duration_seconds`: time of each `[presidio]` analyzer call.
    pub presidio_duration: Histogram,
    /// `privgate_presidio_skipped_requests_total`: requests forwarded with the built-in
    /// detector's findings only because the analyzer failed under `on_error = "skip"`.
    pub presidio_skipped_requests_total: IntCounter,
    /// `privgate_active_streams`: streamed answers in flight.
    pub active_streams: IntGauge,
    /// `privgate_active_connections`: client connections open.
    pub active_connections: IntGauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

/// The `result` label values of `privgate_consent_checks_total` (a closed set).
pub const CONSENT_RESULTS: [&str; 6] = [
    "granted",
    "withdrawn",
    "missing",
    "restricted",
    "not_required",
    "no_subject",
];

const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0, 60.0,
];

impl Metrics {
    /// Replaces `privgate_policy_info` with the policies of `set`.
    pub fn set_policies(&self, set: &crate::policy::PolicySet) {
        self.policy_info.reset();
        for p in set.iter() {
            self.policy_info
                .with_label_values(&[p.id.as_str(), p.version_hash.as_str(), p.mode.as_str()])
                .set(1);
        }
    }

    /// Creates and registers every metric.
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help).namespace("privgate"), labels)
                .expect("static metric definition is valid");
            registry
                .register(Box::new(c.clone()))
                .expect("metric names are unique");
            c
        };
        let histogram = |name: &str, help: &str| {
            let h = HistogramVec::new(
                HistogramOpts::new(name, help)
                    .namespace("privgate")
                    .buckets(LATENCY_BUCKETS.to_vec()),
                &["route"],
            )
            .expect("static metric definition is valid");
            registry
                .register(Box::new(h.clone()))
                .expect("metric names are unique");
            h
        };
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::with_opts(Opts::new(name, help).namespace("privgate"))
                .expect("static metric definition is valid");
            registry
                .register(Box::new(g.clone()))
                .expect("metric names are unique");
            g
        };
        let consent_checks_total = counter(
            "consent_checks_total",
            "Consent checks on the request path, by result (restricted wins over the state).",
            &["result"],
        );
        let consent_checks = CONSENT_RESULTS.map(|r| consent_checks_total.with_label_values(&[r]));
        Metrics {
            consent_checks_total,
            consent_checks,
            requests_total: counter(
                "requests_total",
                "Requests handled, by route template, provider and status class.",
                &["route", "provider", "status"],
            ),
            request_duration: histogram(
                "request_duration_seconds",
                "Request duration as the client sees it.",
            ),
            overhead_duration: histogram(
                "overhead_duration_seconds",
                "Time spent in privgate itself (excluding the upstream).",
            ),
            upstream_duration: histogram(
                "upstream_duration_seconds",
                "Time from sending upstream to upstream response headers.",
            ),
            pii_detections_total: counter(
                "pii_detections_total",
                "PII findings, by entity type, the action taken, policy and mode.",
                &["entity", "action", "policy", "mode"],
            ),
            policy_info: {
                let g = IntGaugeVec::new(
                    Opts::new(
                        "policy_info",
                        "Loaded policies: id, version hash of the file, mode (value 1).",
                    )
                    .namespace("privgate"),
                    &["policy", "version_hash", "mode"],
                )
                .expect("static metric definition is valid");
                registry
                    .register(Box::new(g.clone()))
                    .expect("metric names are unique");
                g
            },
            blocked_requests_total: counter(
                "blocked_requests_total",
                "Requests answered by privgate itself, by error code.",
                &["reason"],
            ),
            redaction_failures_total: counter(
                "redaction_failures_total",
                "Detector failures, by stage (request/response).",
                &["stage"],
            ),
            audit_records_total: counter(
                "audit_records_total",
                "Audit records made durable, by kind.",
                &["kind"],
            ),
            audit_write_failures_total: counter(
                "audit_write_failures_total",
                "Audit writes that failed, by reason.",
                &["reason"],
            ),
            audit_write_duration: histogram(
                "audit_write_duration_seconds",
                "Time until a request's intent record is durable.",
            ),
            policy_reloads_total: counter(
                "policy_reloads_total",
                "Policy loads and reloads, by result.",
                &["result"],
            ),
            admin_auth_failures_total: counter(
                "admin_auth_failures_total",
                "Admin API authentications refused, by reason.",
                &["reason"],
            ),
            streams_aborted_total: counter(
                "streams_aborted_total",
                "Streamed answers that ended early, by the side that ended them.",
                &["side"],
            ),
            presidio_requests_total: counter(
                "presidio_requests_total",
                "Calls to the external Presidio analyzer, by result (ok, error, timeout).",
                &["result"],
            ),
            presidio_duration: {
                let h = Histogram::with_opts(
                    HistogramOpts::new(
                        "presidio_duration_seconds",
                        "Time of each call to the external Presidio analyzer.",
                    )
                    .namespace("privgate")
                    .buckets(LATENCY_BUCKETS.to_vec()),
                )
                .expect("static metric definition is valid");
                registry
                    .register(Box::new(h.clone()))
                    .expect("metric names are unique");
                h
            },
            presidio_skipped_requests_total: {
                let c = IntCounter::with_opts(
                    Opts::new(
                        "presidio_skipped_requests_total",
                        "Requests forwarded with built-in findings only: the analyzer failed under on_error = skip.",
                    )
                    .namespace("privgate"),
                )
                .expect("static metric definition is valid");
                registry
                    .register(Box::new(c.clone()))
                    .expect("metric names are unique");
                c
            },
            active_streams: gauge("active_streams", "Streamed answers in flight."),
            active_connections: gauge("active_connections", "Client connections open."),
            registry,
        }
    }

    /// Counts one gate decision by its result (one of [`CONSENT_RESULTS`]); no label lookup, no
    /// allocation. A label outside the set is not counted.
    pub fn consent_check(&self, result: &str) {
        if let Some(i) = CONSENT_RESULTS.iter().position(|r| *r == result) {
            self.consent_checks[i].inc();
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let encoder = TextEncoder::new();
        // Encoding into a Vec cannot fail for well-formed metric families.
        let _ = encoder.encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// The status class label (`2xx`, `4xx`…) for a status code: a closed set.
pub fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}
