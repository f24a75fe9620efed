//! End-to-end load: what does putting privgate between an app and its chat API cost, in
//! requests per second and in milliseconds of latency?
//!
//! Three parties run in this one process, each on its own tokio runtime with its own OS threads
//! (so no party's tasks wait in another party's scheduler queue):
//!
//! - **upstream** (`pg-upstream`, 1 worker): a fast fake OpenAI backend on `127.0.0.1:0`, plain
//!   HTTP/1.1 and, on a second port, HTTPS. It answers `POST /v1/chat/completions` at once with a
//!   chat completion whose `choices[0].message.content` echoes the last user message, and counts
//!   requests that reached it with a raw PII value in the body.
//! - **privgate** (`pg-privgate`, 1 worker): `privgate::proxy::Server` with `Config::default()`
//!   (the embedded `gdpr-default` policy) on loopback, dev certificates in a temporary directory,
//!   both upstreams pointed at the fake upstream's plain port.
//! - **load generator** (`pg-loadgen`, 1 worker by default): N keep-alive HTTP/1.1 connections
//!   (hyper's client connection, TCP_NODELAY, rustls trusting the dev CA where TLS is used), each
//!   sending the same ~2 KB chat request back to back.
//!
//! Cases, each at every concurrency (default 1 and 64): `direct` (plain HTTP to the upstream),
//! `direct_tls` (HTTPS to the upstream: the same TLS work a client does with privgate, without
//! privgate) and `privgate` (HTTPS to privgate, plain HTTP from privgate to the upstream). The
//! headline is privgate against `direct_tls`, which separates privgate's own cost from TLS.
//!
//! Every response is checked (status 200, all four PII values present in the answer: restored,
//! in the privgate case); any failure during warm-up aborts the run, later ones are counted as
//! errors. After each privgate case the upstream must have seen no raw PII value.
//!
//! Owns: the fake upstream, the load generator and the report (stdout table and
//! `target/e2e-bench.json`). Does not own: the proxy (started through its public API as is).
//!
//! Under `cargo test --all-targets` (no `--bench` argument) it prints one line and exits.
//!
//! Knobs (environment): `PRIVGATE_BENCH_AUDIT` (`0` = audit trail off, to measure its cost),
//! `PRIVGATE_BENCH_SECS` (measured seconds per case, default 5),
//! `PRIVGATE_BENCH_WARMUP_SECS` (default 1), `PRIVGATE_BENCH_CONCURRENCY` (comma-separated,
//! default `1,64`), `PRIVGATE_BENCH_CLIENT_THREADS` (load generator workers, default 1),
//! `PRIVGATE_BENCH_NODELAY` (`0` leaves Nagle on for the bench's own sockets; privgate always
//! sets TCP_NODELAY on its own).

#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use http::{header, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use memchr::memmem::Finder;
use privgate::config::{Config, Upstream};
use privgate::proxy::Server;
use privgate::tls::CertPaths;
use rustls::pki_types::ServerName;
use serde::{Deserialize, Serialize};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::time::Instant;
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// Thread-name prefixes; also how CPU time is attributed to parties (`/proc/self/task/*/comm`).
const UPSTREAM_THREAD: &str = "pg-upstream";
const PROXY_THREAD: &str = "pg-privgate";
const CLIENT_THREAD: &str = "pg-loadgen";

/// The route every request uses.
const PATH: &str = "/v1/chat/completions";

fn main() -> ExitCode {
    if !std::env::args().any(|a| a == "--bench") {
        println!("e2e: load benchmark skipped outside `cargo bench --bench e2e`");
        return ExitCode::SUCCESS;
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("e2e bench failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let settings = Settings::from_env()?;
    privgate::tls::install_crypto_provider();
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let certs = CertPaths::in_dir(&dir.path().join("certs"));
    privgate::tls::ensure_dev_certs(&certs).context("generating dev certificates")?;
    let payload = Arc::new(Payload::new());

    let upstream_rt = runtime(UPSTREAM_THREAD, 1)?;
    let upstream = upstream_rt.block_on(FakeUpstream::start(&certs, &payload, settings.nodelay))?;

    let proxy_rt = runtime(PROXY_THREAD, 1)?;
    let mut config = Config::default();
    config.server.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.server.admin_listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.server.certs_dir = dir.path().join("certs");
    config.server.data_dir = dir.path().join("data");
    let up = Upstream::new(&format!("http://127.0.0.1:{}", upstream.plain.port()));
    config.upstreams.openai = up.clone();
    config.upstreams.anthropic = up;
    // `PRIVGATE_BENCH_AUDIT=0` turns the audit trail off, to measure what auditing adds.
    config.audit.enabled = std::env::var("PRIVGATE_BENCH_AUDIT").map_or(true, |v| v.trim() != "0");
    let server = proxy_rt
        .block_on(Server::start(config))
        .context("starting privgate")?;

    let client_rt = runtime(CLIENT_THREAD, settings.client_threads)?;
    let tls = client_tls(&certs.ca)?;
    let targets = [
        Target {
            case: "direct",
            addr: upstream.plain,
            tls: None,
        },
        Target {
            case: "direct_tls",
            addr: upstream.tls,
            tls: Some(tls.clone()),
        },
        Target {
            case: "privgate",
            addr: server.addr,
            tls: Some(tls),
        },
    ];

    print_preamble(&settings, &payload);
    let mut results = Vec::new();
    for &concurrency in &settings.concurrency {
        for target in &targets {
            let pii_before = upstream.state.pii_seen.load(Ordering::Relaxed);
            let result = client_rt
                .block_on(run_case(target, concurrency, &settings, &payload))
                .with_context(|| format!("case {} at concurrency {concurrency}", target.case))?;
            let leaked = upstream.state.pii_seen.load(Ordering::Relaxed) - pii_before;
            if target.case == "privgate" && leaked > 0 {
                bail!(
                    "{leaked} request(s) reached the upstream through privgate with a raw PII \
                     value: the proxy did not pseudonymise, so its numbers would be meaningless"
                );
            }
            eprintln!(
                "  {:<10} c={:<3} {:>9.0} req/s  p50 {:.3} ms  p99 {:.3} ms",
                result.case, result.concurrency, result.rps, result.p50_ms, result.p99_ms
            );
            results.push(result);
        }
    }

    let ratios = ratios(&results);
    print_report(&results, &ratios);
    let json_path = write_json(&settings, &payload, &results, &ratios)?;
    println!("\nwrote {}", json_path.display());

    proxy_rt.block_on(server.shutdown(Duration::from_secs(1)));
    // Dropping the runtimes ends the upstream's accept loops and any connection task left.
    drop(client_rt);
    drop(proxy_rt);
    drop(upstream_rt);
    Ok(())
}

/// A multi-threaded runtime with `workers` named worker threads, owned by one party.
fn runtime(name: &str, workers: usize) -> Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name(name)
        .enable_all()
        .build()
        .with_context(|| format!("building the {name} runtime"))
}

// === settings ===

/// What to run, from the environment.
#[derive(Debug, Clone)]
struct Settings {
    measure: Duration,
    warmup: Duration,
    concurrency: Vec<usize>,
    client_threads: usize,
    nodelay: bool,
}

impl Settings {
    fn from_env() -> Result<Settings> {
        let secs = |name: &str, default: f64| -> Result<Duration> {
            match std::env::var(name) {
                Ok(v) => {
                    let s: f64 = v
                        .trim()
                        .parse()
                        .with_context(|| format!("{name}: expected seconds, got {v:?}"))?;
                    if !(s.is_finite() && s > 0.0) {
                        bail!("{name}: expected a positive number of seconds, got {v:?}");
                    }
                    Ok(Duration::from_secs_f64(s))
                }
                Err(_) => Ok(Duration::from_secs_f64(default)),
            }
        };
        let concurrency = match std::env::var("PRIVGATE_BENCH_CONCURRENCY") {
            Ok(v) => v
                .split(',')
                .map(|c| match c.trim().parse::<usize>() {
                    Ok(n) if n > 0 => Ok(n),
                    _ => bail!("PRIVGATE_BENCH_CONCURRENCY: expected e.g. 1,64, got {v:?}"),
                })
                .collect::<Result<Vec<_>>>()?,
            Err(_) => vec![1, 64],
        };
        let client_threads = match std::env::var("PRIVGATE_BENCH_CLIENT_THREADS") {
            Ok(v) => match v.trim().parse::<usize>() {
                Ok(n) if n > 0 => n,
                _ => bail!("PRIVGATE_BENCH_CLIENT_THREADS: expected a positive count, got {v:?}"),
            },
            Err(_) => 1,
        };
        Ok(Settings {
            measure: secs("PRIVGATE_BENCH_SECS", 5.0)?,
            warmup: secs("PRIVGATE_BENCH_WARMUP_SECS", 1.0)?,
            concurrency,
            client_threads,
            nodelay: std::env::var("PRIVGATE_BENCH_NODELAY").map_or(true, |v| v.trim() != "0"),
        })
    }
}

// === the request ===

/// The request body and the PII values it carries (synthetic; checksums computed here).
struct Payload {
    body: Bytes,
    /// Name and value of each PII value, in the order of `finders`.
    pii: Vec<(&'static str, String)>,
    finders: Vec<Finder<'static>>,
}

impl Payload {
    fn new() -> Payload {
        let email = "daniel.okafor.bench@example.net".to_string();
        let phone = "+44 20 7946 0958".to_string();
        let card = luhn_complete("523941067819302");
        let iban = iban_complete("DE", "500105175407324931");
        let system = "You are Ava, the customer support assistant for Northwind Mobile. Answer \
            politely and concisely in the customer's language. You can explain invoices, \
            refunds, roaming charges, contract terms and how to change a payment method. Never \
            promise a refund amount before the billing team has confirmed it, never ask for a \
            full card number or a password, and hand the conversation to a human agent when the \
            customer asks for one or is upset. Summarise what you will do next at the end of \
            every answer, and quote the customer's own details back exactly as they wrote them \
            so they can check them.";
        let user = format!(
            "Hello, I have been a customer for six years and this is the second time this \
             happens. My March invoice (number 2024-03-118842) shows two charges of 49.90 EUR \
             for the same Unlimited Plus plan, one on 3 March and one on 5 March, and I was also \
             charged 12.50 EUR for roaming although I did not leave the country that month. I \
             paid both with my card {card}, which is the card on file. I would like the \
             duplicate charge and the roaming fee refunded to my bank account instead, IBAN \
             {iban}, because the card expires next month and I do not want the refund to \
             bounce. Please also change my payment method to direct debit from that same \
             account from April on. You can reach me at {email} or on my mobile {phone} \
             between 9:00 and 17:00 on weekdays; I work night shifts on Fridays so please do \
             not call then. I already spoke to one of your colleagues on the phone last week \
             and was told the refund would arrive within five working days, but nothing has \
             arrived yet and nobody replied to my two e-mails. Could you tell me what the \
             status is, when I can expect the money, and whether I need to send anything else? \
             Thank you for your help."
        );
        let body = serde_json::json!({
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            "temperature": 0.2,
            "max_tokens": 512,
        });
        let pii = vec![
            ("email", email),
            ("phone", phone),
            ("card", card),
            ("iban", iban),
        ];
        let finders = pii
            .iter()
            .map(|(_, v)| Finder::new(v.as_bytes()).into_owned())
            .collect();
        Payload {
            body: Bytes::from(body.to_string()),
            pii,
            finders,
        }
    }

    /// True if `haystack` holds any of the PII values.
    fn contains_any(&self, haystack: &[u8]) -> bool {
        self.finders.iter().any(|f| f.find(haystack).is_some())
    }

    /// The names of the PII values missing from `haystack` (empty: all present).
    fn missing(&self, haystack: &[u8]) -> Vec<&'static str> {
        self.pii
            .iter()
            .zip(&self.finders)
            .filter(|(_, f)| f.find(haystack).is_none())
            .map(|((name, _), _)| *name)
            .collect()
    }
}

/// Appends the Luhn check digit to `body` (ASCII digits).
fn luhn_complete(body: &str) -> String {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// Computes the two IBAN check digits (ISO 13616, mod 97) for a country and an all-digit BBAN.
fn iban_complete(country: &str, bban: &str) -> String {
    let rearranged = format!("{bban}{country}00");
    let mut rem: u32 = 0;
    for c in rearranged.chars() {
        // Letters count as 10..=35, written as two digits.
        let v = c.to_digit(36).unwrap_or(0);
        for d in v.to_string().bytes() {
            rem = (rem * 10 + u32::from(d - b'0')) % 97;
        }
    }
    format!("{country}{:02}{bban}", 98 - rem)
}

// === the fake upstream ===

/// Counters the upstream keeps.
#[derive(Default)]
struct UpstreamState {
    /// Requests whose body held any raw PII value of the payload.
    pii_seen: AtomicU64,
}

/// A running fake upstream: one plain and one TLS listener, same service.
struct FakeUpstream {
    plain: SocketAddr,
    tls: SocketAddr,
    state: Arc<UpstreamState>,
}

/// The part of a chat request the upstream reads (borrowed where no escapes forced a copy).
#[derive(Deserialize)]
struct ChatRequest<'a> {
    #[serde(borrow)]
    model: Cow<'a, str>,
    #[serde(borrow)]
    messages: Vec<ChatMessage<'a>>,
}

#[derive(Deserialize)]
struct ChatMessage<'a> {
    #[serde(borrow)]
    role: Cow<'a, str>,
    #[serde(borrow)]
    content: Cow<'a, str>,
}

/// A chat completion in OpenAI's wire shape.
#[derive(Serialize)]
struct ChatCompletion<'a> {
    id: &'a str,
    object: &'a str,
    created: u64,
    model: &'a str,
    choices: [Choice<'a>; 1],
    usage: Usage,
}

#[derive(Serialize)]
struct Choice<'a> {
    index: u32,
    message: AssistantMessage<'a>,
    logprobs: Option<()>,
    finish_reason: &'a str,
}

#[derive(Serialize)]
struct AssistantMessage<'a> {
    role: &'a str,
    content: &'a str,
    refusal: Option<()>,
}

#[derive(Serialize)]
struct Usage {
    prompt_tokens: u32,
    completion_tokens: u32,
    total_tokens: u32,
}

impl FakeUpstream {
    async fn start(certs: &CertPaths, payload: &Arc<Payload>, nodelay: bool) -> Result<Self> {
        let plain = TcpListener::bind("127.0.0.1:0").await?;
        let tls = TcpListener::bind("127.0.0.1:0").await?;
        let up = FakeUpstream {
            plain: plain.local_addr()?,
            tls: tls.local_addr()?,
            state: Arc::new(UpstreamState::default()),
        };
        let acceptor = TlsAcceptor::from(
            privgate::tls::server_config(&certs.cert, &certs.key)
                .context("the upstream's TLS config")?,
        );
        // Both accept loops (and the connection tasks they spawn) run until the upstream
        // runtime is dropped at the end of the run.
        tokio::spawn(accept_loop(
            plain,
            None,
            up.state.clone(),
            payload.clone(),
            nodelay,
        ));
        tokio::spawn(accept_loop(
            tls,
            Some(acceptor),
            up.state.clone(),
            payload.clone(),
            nodelay,
        ));
        Ok(up)
    }
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    state: Arc<UpstreamState>,
    payload: Arc<Payload>,
    nodelay: bool,
) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = tcp.set_nodelay(nodelay);
        let (state, payload, tls) = (state.clone(), payload.clone(), tls.clone());
        // Ends when the client closes the connection, or with the runtime.
        tokio::spawn(async move {
            let svc = service_fn(move |req| answer(state.clone(), payload.clone(), req));
            let http = hyper::server::conn::http1::Builder::new();
            match tls {
                Some(acceptor) => {
                    if let Ok(stream) = acceptor.accept(tcp).await {
                        let _ = http.serve_connection(TokioIo::new(stream), svc).await;
                    }
                }
                None => {
                    let _ = http.serve_connection(TokioIo::new(tcp), svc).await;
                }
            }
        });
    }
}

/// Answers a chat completion at once, echoing the last user message.
async fn answer(
    state: Arc<UpstreamState>,
    payload: Arc<Payload>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let Ok(body) = req.into_body().collect().await.map(|b| b.to_bytes()) else {
        return Ok(plain_status(StatusCode::BAD_REQUEST));
    };
    if payload.contains_any(&body) {
        state.pii_seen.fetch_add(1, Ordering::Relaxed);
    }
    let Ok(chat) = serde_json::from_slice::<ChatRequest>(&body) else {
        return Ok(plain_status(StatusCode::BAD_REQUEST));
    };
    let last_user = chat
        .messages
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .map_or("", |m| &*m.content);
    let completion = ChatCompletion {
        id: "chatcmpl-bench",
        object: "chat.completion",
        created: 1_732_406_400,
        model: &chat.model,
        choices: [Choice {
            index: 0,
            message: AssistantMessage {
                role: "assistant",
                content: last_user,
                refusal: None,
            },
            logprobs: None,
            finish_reason: "stop",
        }],
        usage: Usage {
            prompt_tokens: 480,
            completion_tokens: 330,
            total_tokens: 810,
        },
    };
    let Ok(json) = serde_json::to_vec(&completion) else {
        return Ok(plain_status(StatusCode::INTERNAL_SERVER_ERROR));
    };
    let mut resp = Response::new(Full::new(Bytes::from(json)));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}

fn plain_status(status: StatusCode) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = status;
    resp
}

// === the load generator ===

/// Where a case sends its requests.
#[derive(Clone)]
struct Target {
    case: &'static str,
    addr: SocketAddr,
    tls: Option<TlsConnector>,
}

/// A client TLS config trusting only the dev CA, offering HTTP/1.1 alone.
fn client_tls(ca: &Path) -> Result<TlsConnector> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in privgate::tls::load_certs(ca).context("reading the dev CA")? {
        roots.add(cert).context("adding the dev CA")?;
    }
    let mut config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}

/// Opens one keep-alive HTTP/1.1 connection to `target`.
async fn connect(target: &Target, nodelay: bool) -> Result<SendRequest<Full<Bytes>>> {
    let tcp = TcpStream::connect(target.addr).await?;
    tcp.set_nodelay(nodelay)?;
    let http = hyper::client::conn::http1::Builder::new();
    // Each connection driver ends when its `SendRequest` is dropped (end of the case) or the
    // server closes the connection.
    match &target.tls {
        Some(connector) => {
            let stream = connector
                .connect(ServerName::try_from("localhost")?, tcp)
                .await?;
            let (send, conn) = http.handshake(TokioIo::new(stream)).await?;
            tokio::spawn(conn);
            Ok(send)
        }
        None => {
            let (send, conn) = http.handshake(TokioIo::new(tcp)).await?;
            tokio::spawn(conn);
            Ok(send)
        }
    }
}

/// What one connection's loop reports.
#[derive(Default)]
struct ConnReport {
    /// Latencies (ns) of requests started in the measured window.
    latencies: Vec<u64>,
    /// Failed requests started in the measured window.
    errors: u64,
    /// Good responses seen during warm-up.
    warmup_ok: u64,
    /// Why the first failure failed (warm-up failures abort the run).
    first_failure: Option<(bool, String)>,
}

/// One request: `Ok` if the answer was 200 and carried every PII value.
async fn exchange(
    send: &mut SendRequest<Full<Bytes>>,
    host: &str,
    payload: &Payload,
) -> Result<(), String> {
    send.ready()
        .await
        .map_err(|e| format!("connection not ready: {e}"))?;
    let req = Request::post(PATH)
        .header(header::HOST, host)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, "Bearer sk-bench-client-key")
        .body(Full::new(payload.body.clone()))
        .map_err(|e| format!("building the request: {e}"))?;
    let resp = send
        .send_request(req)
        .await
        .map_err(|e| format!("sending: {e}"))?;
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("reading the answer: {e}"))?
        .to_bytes();
    if status != StatusCode::OK {
        return Err(format!("status {status}, {} byte answer", body.len()));
    }
    let missing = payload.missing(&body);
    if !missing.is_empty() {
        return Err(format!(
            "status 200 but the answer lacks the original {} ({} bytes): not restored",
            missing.join(", "),
            body.len()
        ));
    }
    Ok(())
}

/// One connection's loop: requests back to back until `end`, latencies recorded from `measure`.
async fn conn_loop(
    mut send: SendRequest<Full<Bytes>>,
    target: Arc<Target>,
    payload: Arc<Payload>,
    measure: Instant,
    end: Instant,
    nodelay: bool,
) -> ConnReport {
    let host = format!("localhost:{}", target.addr.port());
    let mut report = ConnReport {
        latencies: Vec::with_capacity(4096),
        ..ConnReport::default()
    };
    loop {
        let started = Instant::now();
        if started >= end {
            return report;
        }
        let measured = started >= measure;
        let outcome = exchange(&mut send, &host, &payload).await;
        let elapsed = started.elapsed();
        match outcome {
            Ok(()) if measured => report.latencies.push(elapsed.as_nanos() as u64),
            Ok(()) => report.warmup_ok += 1,
            Err(why) => {
                if measured {
                    report.errors += 1;
                }
                if report.first_failure.is_none() {
                    report.first_failure = Some((!measured, why));
                }
                if !measured {
                    // A failure in warm-up aborts the run: no point in measuring it.
                    return report;
                }
                if send.is_closed() {
                    match connect(&target, nodelay).await {
                        Ok(s) => send = s,
                        Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                    }
                }
            }
        }
    }
}

/// The measured numbers of one case.
#[derive(Debug, Clone, Serialize)]
struct CaseResult {
    case: &'static str,
    concurrency: usize,
    requests: u64,
    errors: u64,
    seconds: f64,
    rps: f64,
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    mean_ms: f64,
    /// CPU time per request by party (µs), from the threads' scheduler stats, when available.
    cpu_us_per_request: Option<BTreeMap<&'static str, f64>>,
    /// Time runnable but waiting for a core, per request by party (µs): contention.
    wait_us_per_request: Option<BTreeMap<&'static str, f64>>,
}

async fn run_case(
    target: &Target,
    concurrency: usize,
    settings: &Settings,
    payload: &Arc<Payload>,
) -> Result<CaseResult> {
    let target = Arc::new(target.clone());
    let mut senders = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        senders.push(
            connect(&target, settings.nodelay)
                .await
                .with_context(|| format!("connecting to {}", target.addr))?,
        );
    }
    let measure = Instant::now() + settings.warmup;
    let end = measure + settings.measure;
    let tasks: Vec<_> = senders
        .into_iter()
        .map(|send| {
            // Each loop ends by itself at `end`; the handles are awaited below.
            tokio::spawn(conn_loop(
                send,
                target.clone(),
                payload.clone(),
                measure,
                end,
                settings.nodelay,
            ))
        })
        .collect();

    tokio::time::sleep_until(measure).await;
    let cpu_start = cpu_by_party();
    tokio::time::sleep_until(end).await;
    let cpu_end = cpu_by_party();

    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut warmup_ok = 0;
    let mut failure = None;
    for task in tasks {
        let report = task.await.context("a connection task panicked")?;
        latencies.extend(report.latencies);
        errors += report.errors;
        warmup_ok += report.warmup_ok;
        if let Some((in_warmup, why)) = report.first_failure {
            if in_warmup || failure.is_none() {
                failure = Some((in_warmup, why));
            }
        }
    }
    match failure {
        Some((true, why)) => bail!("warm-up response failed verification: {why}"),
        Some((false, why)) => eprintln!("  note: {errors} error(s), first: {why}"),
        None => {}
    }
    if warmup_ok == 0 {
        bail!("no verified response during warm-up; raise PRIVGATE_BENCH_WARMUP_SECS");
    }

    latencies.sort_unstable();
    let requests = latencies.len() as u64;
    let seconds = settings.measure.as_secs_f64();
    let ms = |ns: u64| ns as f64 / 1e6;
    let mean = if latencies.is_empty() {
        0.0
    } else {
        latencies.iter().map(|&n| n as f64).sum::<f64>() / latencies.len() as f64 / 1e6
    };
    let per_request = |f: fn(&CpuSample) -> u64| -> Option<BTreeMap<&'static str, f64>> {
        let (start, end) = (cpu_start.as_ref()?, cpu_end.as_ref()?);
        let done = (requests + errors).max(1) as f64;
        Some(
            end.iter()
                .map(|(party, e)| {
                    let s = start.get(party).map_or(0, f);
                    (*party, (f(e).saturating_sub(s)) as f64 / 1e3 / done)
                })
                .collect(),
        )
    };
    Ok(CaseResult {
        case: target.case,
        concurrency,
        requests,
        errors,
        seconds,
        rps: requests as f64 / seconds,
        p50_ms: ms(percentile(&latencies, 0.50)),
        p90_ms: ms(percentile(&latencies, 0.90)),
        p99_ms: ms(percentile(&latencies, 0.99)),
        max_ms: ms(latencies.last().copied().unwrap_or(0)),
        mean_ms: mean,
        cpu_us_per_request: per_request(|s| s.run_ns),
        wait_us_per_request: per_request(|s| s.wait_ns),
    })
}

/// Nearest-rank percentile of sorted values (0 when empty).
fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

// === CPU attribution ===

/// Scheduler time of one party's threads, summed.
#[derive(Debug, Default, Clone, Copy)]
struct CpuSample {
    /// On a core.
    run_ns: u64,
    /// Runnable, waiting for a core.
    wait_ns: u64,
}

/// Per party (upstream, privgate, loadgen): the threads' scheduler stats from
/// `/proc/self/task/*/schedstat`, attributed by thread name. `None` where that is unavailable.
fn cpu_by_party() -> Option<BTreeMap<&'static str, CpuSample>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir("/proc/self/task").ok()? {
        let dir = entry.ok()?.path();
        let Ok(comm) = std::fs::read_to_string(dir.join("comm")) else {
            continue; // the thread ended meanwhile
        };
        let party = match comm.trim() {
            n if n.starts_with(UPSTREAM_THREAD) => "upstream",
            n if n.starts_with(PROXY_THREAD) => "privgate",
            n if n.starts_with(CLIENT_THREAD) => "loadgen",
            _ => continue,
        };
        let Ok(stat) = std::fs::read_to_string(dir.join("schedstat")) else {
            continue;
        };
        let mut fields = stat.split_whitespace().map(|f| f.parse::<u64>().ok());
        let (Some(Some(run)), Some(Some(wait))) = (fields.next(), fields.next()) else {
            return None;
        };
        let sample: &mut CpuSample = out.entry(party).or_default();
        sample.run_ns += run;
        sample.wait_ns += wait;
    }
    Some(out)
}

// === the report ===

/// privgate against a baseline at one concurrency.
#[derive(Debug, Clone, Serialize)]
struct Ratio {
    concurrency: usize,
    baseline: &'static str,
    /// privgate req/s ÷ baseline req/s (target ≥ 0.8).
    throughput_ratio: f64,
    /// privgate p50 − baseline p50, ms.
    added_p50_ms: f64,
    /// privgate p99 − baseline p99, ms (target < 1).
    added_p99_ms: f64,
}

const TARGET_THROUGHPUT_RATIO: f64 = 0.8;
const TARGET_ADDED_P99_MS: f64 = 1.0;

fn ratios(results: &[CaseResult]) -> Vec<Ratio> {
    let find = |case: &str, c: usize| {
        results
            .iter()
            .find(|r| r.case == case && r.concurrency == c)
    };
    let mut out = Vec::new();
    for proxied in results.iter().filter(|r| r.case == "privgate") {
        for baseline in ["direct_tls", "direct"] {
            let Some(base) = find(baseline, proxied.concurrency) else {
                continue;
            };
            out.push(Ratio {
                concurrency: proxied.concurrency,
                baseline,
                throughput_ratio: if base.rps > 0.0 {
                    proxied.rps / base.rps
                } else {
                    0.0
                },
                added_p50_ms: proxied.p50_ms - base.p50_ms,
                added_p99_ms: proxied.p99_ms - base.p99_ms,
            });
        }
    }
    out
}

fn print_preamble(settings: &Settings, payload: &Payload) {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = load_average().map_or_else(|| "?".to_string(), |l| format!("{l:.2}"));
    println!("privgate end-to-end load benchmark");
    println!(
        "  request: POST {PATH}, {} byte body (system + user message) with {} PII values ({})",
        payload.body.len(),
        payload.pii.len(),
        payload
            .pii
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  per case: {:.1} s warm-up, then {:.1} s measured; keep-alive HTTP/1.1, TCP_NODELAY {}",
        settings.warmup.as_secs_f64(),
        settings.measure.as_secs_f64(),
        if settings.nodelay { "on" } else { "off" }
    );
    println!(
        "  threads: upstream 1, privgate 1, load generator {}; all parties share this machine's \
         {cores} core(s) (load average at start: {load})",
        settings.client_threads
    );
    println!(
        "  cases: direct = plain HTTP to the fake upstream; direct_tls = HTTPS to it; \
         privgate = HTTPS to privgate, plain HTTP on to the upstream"
    );
    if load_average().is_some_and(|l| l > 1.0) {
        println!(
            "  warning: the machine was busy before the run started (load average {load}); \
             other processes take cores from all three parties, so expect noisy numbers"
        );
    }
    eprintln!("running…");
}

/// The one-minute load average (Linux), to flag a busy machine.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn print_report(results: &[CaseResult], ratios: &[Ratio]) {
    println!();
    println!(
        "{:<11} {:>4} {:>10} {:>8} {:>8} {:>8} {:>8} {:>7}   cpu µs/req (client/proxy/upstream)",
        "case", "conc", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors"
    );
    for r in results {
        let cpu = r.cpu_us_per_request.as_ref().map_or_else(
            || "n/a".to_string(),
            |m| {
                let get = |k| m.get(k).map_or("-".into(), |v: &f64| format!("{v:.0}"));
                format!(
                    "{} / {} / {}",
                    get("loadgen"),
                    get("privgate"),
                    get("upstream")
                )
            },
        );
        println!(
            "{:<11} {:>4} {:>10.0} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>7}   {cpu}",
            r.case, r.concurrency, r.rps, r.p50_ms, r.p90_ms, r.p99_ms, r.max_ms, r.errors
        );
    }
    println!();
    println!(
        "privgate vs baseline (targets: throughput ≥ {TARGET_THROUGHPUT_RATIO}, added p99 < \
         {TARGET_ADDED_P99_MS} ms)"
    );
    println!(
        "{:<11} {:>4} {:>11} {:>13} {:>13}",
        "baseline", "conc", "throughput", "added p50 ms", "added p99 ms"
    );
    for r in ratios {
        let t_mark = if r.throughput_ratio >= TARGET_THROUGHPUT_RATIO {
            "ok"
        } else {
            "MISS"
        };
        let l_mark = if r.added_p99_ms < TARGET_ADDED_P99_MS {
            "ok"
        } else {
            "MISS"
        };
        println!(
            "{:<11} {:>4} {:>6.2} {:<4} {:>13.3} {:>8.3} {:<4}",
            r.baseline,
            r.concurrency,
            r.throughput_ratio,
            t_mark,
            r.added_p50_ms,
            r.added_p99_ms,
            l_mark
        );
    }
    for r in results.iter().filter(|r| r.case == "privgate") {
        if let Some(us) = r
            .cpu_us_per_request
            .as_ref()
            .and_then(|m| m.get("privgate"))
            .filter(|us| **us > 0.0)
        {
            println!(
                "privgate CPU at concurrency {:>3}: {us:.0} µs per request, i.e. at most ~{:.0} \
                 req/s per fully used core",
                r.concurrency,
                1e6 / us
            );
        }
    }
    println!(
        "\nnote: all three parties share this machine's cores, so at high concurrency privgate's \
         CPU is taken from the client and upstream; read cpu µs/req for the cost per request."
    );
}

/// `target/e2e-bench.json`, next to the bench binary's own target directory.
fn write_json(
    settings: &Settings,
    payload: &Payload,
    results: &[CaseResult],
    ratios: &[Ratio],
) -> Result<PathBuf> {
    // The bench binary lives in <target>/<profile>/deps/.
    let target_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let path = target_dir.join("e2e-bench.json");
    let doc = serde_json::json!({
        "bench": "e2e",
        "request": {
            "path": PATH,
            "body_bytes": payload.body.len(),
            "pii": payload.pii.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        },
        "settings": {
            "warmup_secs": settings.warmup.as_secs_f64(),
            "measure_secs": settings.measure.as_secs_f64(),
            "client_threads": settings.client_threads,
            "upstream_threads": 1,
            "proxy_threads": 1,
            "tcp_nodelay": settings.nodelay,
            "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
            "load_average_at_end": load_average(),
            "note": "all parties share this machine's cores",
        },
        "targets": {
            "throughput_ratio_min": TARGET_THROUGHPUT_RATIO,
            "added_p99_ms_max": TARGET_ADDED_P99_MS,
        },
        "results": results,
        "ratios": ratios,
    });
    let text = serde_json::to_string_pretty(&doc)?;
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}
