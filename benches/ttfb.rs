//! Time to first byte and total time of a streamed answer, direct to a local SSE upstream and
//! through privgate (with a placeholder in every answer, so the stream is rewritten), in the same
//! run. The upstream sends its first event at once, then 20 more 1 ms apart.
//!
//! Run: `cargo bench --bench ttfb` (`PRIVGATE_BENCH_N` sets the request count, default 300).
//! Without `--bench` (as `cargo test --all-targets` runs it) it exits at once.

use std::convert::Infallible;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use privgate::config::{Config, Upstream};
use privgate::proxy::Server;

/// The fake upstream: echoes the request's last message in the first event.
async fn upstream() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let _ = tcp.set_nodelay(true);
            tokio::spawn(async move {
                let svc = service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
                    let body = req.into_body().collect().await.unwrap().to_bytes();
                    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                    let said = v["messages"][0]["content"]
                        .as_str()
                        .unwrap_or("")
                        .to_string();
                    let (tx, rx) =
                        tokio::sync::mpsc::channel::<Result<Frame<Bytes>, Infallible>>(32);
                    tokio::spawn(async move {
                        let ev = |t: &str| {
                            let c = serde_json::json!({"id":"c","object":"chat.completion.chunk","created":1,
                                "model":"m","choices":[{"index":0,"delta":{"content":t},"finish_reason":null}]});
                            Ok(Frame::data(Bytes::from(format!("data: {c}\n\n"))))
                        };
                        let _ = tx.send(ev(&said)).await;
                        for _ in 0..20 {
                            tokio::time::sleep(Duration::from_millis(1)).await;
                            let _ = tx.send(ev(" more words")).await;
                        }
                        let _ = tx
                            .send(Ok(Frame::data(Bytes::from_static(b"data: [DONE]\n\n"))))
                            .await;
                    });
                    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
                        rx.recv().await.map(|x| (x, rx))
                    });
                    let mut r = hyper::Response::new(StreamBody::new(stream));
                    r.headers_mut()
                        .insert("content-type", "text/event-stream".parse().unwrap());
                    Ok::<_, Infallible>(r)
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tcp), svc)
                    .await;
            });
        }
    });
    addr
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

async fn run(client: &reqwest::Client, url: &str, n: usize) -> (Vec<f64>, Vec<f64>) {
    let body = serde_json::json!({"model": "m", "stream": true,
        "messages": [{"role": "user", "content": "please write to mira.holm@example.com today"}]});
    let (mut first, mut total) = (Vec::new(), Vec::new());
    for i in 0..n + 20 {
        let t0 = Instant::now();
        let resp = client.post(url).json(&body).send().await.unwrap();
        let mut stream = resp.bytes_stream();
        use futures_util::StreamExt;
        let chunk = stream.next().await.unwrap().unwrap();
        let t1 = t0.elapsed();
        assert!(!chunk.is_empty());
        while stream.next().await.is_some() {}
        if i >= 20 {
            first.push(t1.as_secs_f64() * 1e3);
            total.push(t0.elapsed().as_secs_f64() * 1e3);
        }
    }
    (first, total)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("ttfb: run with `cargo bench --bench ttfb`");
        return;
    }
    let n: usize = std::env::var("PRIVGATE_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        let up = upstream().await;
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.server.listen = "127.0.0.1:0".parse().unwrap();
        config.server.admin_listen = "127.0.0.1:0".parse().unwrap();
        config.server.certs_dir = dir.path().join("certs");
        config.server.data_dir = dir.path().join("data");
        config.upstreams.openai = Upstream::new(&format!("http://{up}"));
        let paths = privgate::tls::CertPaths::in_dir(&config.server.certs_dir);
        privgate::tls::ensure_dev_certs(&paths).unwrap();
        let server = Server::start(config).await.unwrap();
        let pem = std::fs::read(&paths.ca).unwrap();
        let tls_client = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
            .resolve("localhost", server.addr)
            .http1_only()
            .build()
            .unwrap();
        let plain = reqwest::Client::builder().http1_only().build().unwrap();
        let (mut d1, mut dt) = run(&plain, &format!("http://{up}/v1/chat/completions"), n).await;
        let url = format!(
            "https://localhost:{}/v1/chat/completions",
            server.addr.port()
        );
        let (mut p1, mut pt) = run(&tls_client, &url, n).await;
        println!("streamed answer, {n} sequential requests (1 connection each side, keep-alive)");
        println!(
            "{:<28}{:>10}{:>10}{:>12}{:>12}",
            "", "ttfb p50", "ttfb p99", "total p50", "total p99"
        );
        let (a, b, c, d) = (
            pct(&mut d1, 0.5),
            pct(&mut d1, 0.99),
            pct(&mut dt, 0.5),
            pct(&mut dt, 0.99),
        );
        println!(
            "{:<28}{a:>9.3}ms{b:>9.3}ms{c:>11.3}ms{d:>11.3}ms",
            "direct (plain HTTP)"
        );
        let (e, f, g, h) = (
            pct(&mut p1, 0.5),
            pct(&mut p1, 0.99),
            pct(&mut pt, 0.5),
            pct(&mut pt, 0.99),
        );
        println!(
            "{:<28}{e:>9.3}ms{f:>9.3}ms{g:>11.3}ms{h:>11.3}ms",
            "through privgate (TLS)"
        );
        println!(
            "added by privgate: ttfb p50 {:+.3} ms, p99 {:+.3} ms; total p50 {:+.3} ms",
            e - a,
            f - b,
            g - c
        );
        println!(
            "(includes TLS to privgate and the durable audit intent written before forwarding)"
        );
    });
}
