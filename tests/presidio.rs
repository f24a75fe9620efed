//! The optional `[presidio]` analyzer, end to end: privgate on real TLS, the fake upstream, and
//! an in-process fake Presidio (hyper on loopback) that finds given words the way Presidio
//! reports them: `[{"entity_type", "start", "end", "score"}]` with code-point offsets.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use privgate::config::{PresidioOnError, PresidioSection};
use serde_json::{json, Value};
use tokio::net::TcpListener;

use crate::common::{start_proxy, FakeUpstream};

/// How the fake analyzer answers.
#[derive(Clone, Copy, PartialEq)]
enum Answer {
    /// Every occurrence of its words, as Presidio reports them.
    Words,
    /// 500 with an error body.
    Status500,
    /// 200 with a body that is not a JSON list.
    Garbage,
    /// A result whose `end` is one past the text.
    OffsetPastEnd,
}

/// A fake Presidio analyzer: reports every occurrence of its words with their entity types,
/// after an optional delay; records every request body.
#[derive(Clone)]
struct FakePresidio {
    url: String,
    words: Arc<Vec<(&'static str, &'static str, f64)>>,
    delay: Duration,
    mode: Answer,
    seen: Arc<Mutex<Vec<Value>>>,
}

impl FakePresidio {
    async fn start(words: Vec<(&'static str, &'static str, f64)>, delay: Duration) -> FakePresidio {
        Self::start_answering(words, delay, Answer::Words).await
    }

    async fn start_answering(
        words: Vec<(&'static str, &'static str, f64)>,
        delay: Duration,
        mode: Answer,
    ) -> FakePresidio {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let fake = FakePresidio {
            url: format!("http://{addr}"),
            words: Arc::new(words),
            delay,
            mode,
            seen: Arc::new(Mutex::new(Vec::new())),
        };
        let shared = fake.clone();
        // Ends when the test's runtime shuts down.
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let fake = shared.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let fake = fake.clone();
                        async move { fake.answer(req).await }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), svc)
                        .await;
                });
            }
        });
        fake
    }

    async fn answer(&self, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
        let path = req.uri().path().to_string();
        let body = req.into_body().collect().await.unwrap().to_bytes();
        let v: Value = serde_json::from_slice(&body).unwrap();
        self.seen.lock().unwrap().push(v.clone());
        tokio::time::sleep(self.delay).await;
        assert_eq!(path, "/analyze");
        let text = v["text"].as_str().unwrap();
        let n = text.chars().count();
        match self.mode {
            Answer::Words => {}
            Answer::Status500 => {
                let mut r = Response::new(Full::new(Bytes::from_static(b"{\"error\": \"boom\"}")));
                *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                return Ok(r);
            }
            Answer::Garbage => {
                return Ok(Response::new(Full::new(Bytes::from_static(b"<html>oops"))));
            }
            Answer::OffsetPastEnd => {
                let body =
                    json!([{"entity_type": "PERSON", "start": 0, "end": n + 1, "score": 0.9}]);
                return Ok(Response::new(Full::new(Bytes::from(body.to_string()))));
            }
        }
        let mut results = Vec::new();
        for (word, entity, score) in self.words.iter() {
            for (byte_start, _) in text.match_indices(word) {
                // Python string indices: code points, not bytes.
                let start = text[..byte_start].chars().count();
                let end = start + word.chars().count();
                results.push(json!({"entity_type": entity, "start": start, "end": end,
                    "score": score, "analysis_explanation": null,
                    "recognition_metadata": {"recognizer_name": "Fake"}}));
            }
        }
        Ok(Response::new(Full::new(Bytes::from(
            serde_json::to_vec(&results).unwrap(),
        ))))
    }

    fn requests(&self) -> Vec<Value> {
        self.seen.lock().unwrap().clone()
    }
}

/// A port nothing listens on.
fn closed_port_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}

fn chat(text: &str) -> Value {
    json!({"model": "m", "messages": [{"role": "user", "content": text}]})
}

fn sent_content(up: &FakeUpstream) -> String {
    up.last().json()["messages"][0]["content"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn presidio_names_are_redacted_upstream_and_restored_in_the_answer() {
    let up = FakeUpstream::start().await;
    let presidio = FakePresidio::start(vec![("zofia", "PERSON", 0.85)], Duration::ZERO).await;
    let url = presidio.url.clone();
    let proxy = start_proxy(&up, |c| c.presidio = Some(PresidioSection::new(&url))).await;
    let text = "please ask zofia to mail olek.nowak.x2@example.net, zofia knows";
    let resp = proxy.post("/v1/chat/completions", &chat(text)).await;
    assert_eq!(resp.status(), 200);
    let answer = resp.text().await.unwrap();

    let sent = sent_content(&up);
    assert!(!up.all_bytes().contains("zofia"), "{sent}");
    assert!(
        !sent.contains("olek.nowak"),
        "built-in findings still apply"
    );
    assert!(sent.starts_with("please ask <PERSON_"), "{sent}");
    assert_eq!(
        sent.matches("<PERSON_").count(),
        2,
        "same value, same placeholder: {sent}"
    );
    assert!(answer.contains(text), "restored in the answer: {answer}");

    let seen = presidio.requests();
    assert_eq!(seen.len(), 1, "one call per text slot");
    assert_eq!(seen[0]["text"], text);
    assert_eq!(seen[0]["language"], "en");
    assert!(seen[0]["entities"]
        .as_array()
        .unwrap()
        .contains(&json!("PERSON")));
    assert!(
        (seen[0]["score_threshold"].as_f64().unwrap() - 0.6).abs() < 1e-6,
        "{}",
        seen[0]
    );
    let m = proxy.metrics().await;
    assert!(
        m.contains(r#"privgate_presidio_requests_total{result="ok"} 1"#),
        "{m}"
    );
    assert!(
        m.contains("privgate_presidio_duration_seconds_count 1"),
        "{m}"
    );
}

#[tokio::test]
async fn presidio_code_point_offsets_land_on_the_right_bytes() {
    let up = FakeUpstream::start().await;
    let presidio = FakePresidio::start(
        vec![("zofia", "PERSON", 0.85), ("王小明", "PERSON", 0.9)],
        Duration::ZERO,
    )
    .await;
    let url = presidio.url.clone();
    let proxy = start_proxy(&up, |c| {
        let mut p = PresidioSection::new(&url);
        p.language = "auto".into();
        c.presidio = Some(p);
    })
    .await;
    // Two- and three-byte letters and a four-byte emoji before each name: byte and code-point
    // offsets differ by 1, 2 and 3 per character.
    let texts = [
        "café é 😀 zofia 😀 ok",
        "请联系王小明，谢谢 zofia",
        "🙂🙂🙂 zofia",
    ];
    let body = json!({"model": "m", "messages": texts.iter()
        .map(|t| json!({"role": "user", "content": t})).collect::<Vec<_>>()});
    let resp = proxy.post("/v1/chat/completions", &body).await;
    assert_eq!(resp.status(), 200);
    let answer = resp.text().await.unwrap();
    let sent = up.last().json();
    let contents: Vec<String> = (0..3)
        .map(|i| sent["messages"][i]["content"].as_str().unwrap().to_string())
        .collect();
    let cut = |s: &str| {
        let start = s.find("<PERSON_").unwrap();
        let end = start + s[start..].find('>').unwrap() + 1;
        format!("{}P{}", &s[..start], &s[end..])
    };
    assert_eq!(cut(&contents[0]), "café é 😀 P 😀 ok", "{contents:?}");
    assert!(contents[1].starts_with("请联系<PERSON_"), "{contents:?}");
    assert!(contents[1].contains("，谢谢 <PERSON_"), "{contents:?}");
    assert!(!contents[1].contains("王小明"));
    assert_eq!(cut(&contents[2]), "🙂🙂🙂 P", "{contents:?}");
    // The fake upstream echoes the last message: restored, emoji and all.
    assert!(answer.contains(texts[2]), "{answer}");
    let languages: Vec<Value> = presidio
        .requests()
        .iter()
        .map(|r| r["language"].clone())
        .collect();
    assert_eq!(languages.len(), 3);
    assert_eq!(languages.iter().filter(|l| *l == "zh").count(), 1);
    assert_eq!(languages.iter().filter(|l| *l == "en").count(), 2);
}

#[tokio::test]
async fn presidio_unmapped_types_are_ignored() {
    let up = FakeUpstream::start().await;
    let presidio = FakePresidio::start(
        vec![
            ("lisbon", "LOCATION", 0.85),
            ("tuesday", "DATE_TIME", 0.85),
            ("ukwn", "SOMETHING_NEW", 0.99),
            ("zofia", "PERSON", 0.85),
            // Under min_score (0.6).
            ("marek", "PERSON", 0.4),
        ],
        Duration::ZERO,
    )
    .await;
    let url = presidio.url.clone();
    let proxy = start_proxy(&up, |c| c.presidio = Some(PresidioSection::new(&url))).await;
    let text = "zofia flies to lisbon on tuesday with marek, ukwn";
    assert_eq!(
        proxy
            .post("/v1/chat/completions", &chat(text))
            .await
            .status(),
        200
    );
    let sent = sent_content(&up);
    assert!(sent.starts_with("<PERSON_"), "{sent}");
    assert!(
        sent.ends_with(" flies to lisbon on tuesday with marek, ukwn"),
        "{sent}"
    );
}

#[tokio::test]
async fn presidio_down_or_slow_fails_closed() {
    for slow in [false, true] {
        let up = FakeUpstream::start().await;
        let presidio = FakePresidio::start(
            vec![("zofia", "PERSON", 0.85)],
            Duration::from_millis(if slow { 2_000 } else { 0 }),
        )
        .await;
        let url = if slow {
            presidio.url.clone()
        } else {
            closed_port_url()
        };
        let proxy = start_proxy(&up, |c| {
            let mut p = PresidioSection::new(&url);
            p.timeout_ms = 200;
            c.presidio = Some(p);
        })
        .await;
        let started = std::time::Instant::now();
        let resp = proxy.post("/v1/chat/completions", &chat("ask zofia")).await;
        assert_eq!(resp.status(), 503, "slow={slow}");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"]["code"], "redaction_unavailable", "{v}");
        assert!(
            started.elapsed() < Duration::from_millis(1_500),
            "bounded by timeout_ms"
        );
        assert!(
            up.requests().is_empty(),
            "nothing went upstream (slow={slow})"
        );
        let m = proxy.metrics().await;
        let label = if slow { "timeout" } else { "error" };
        assert!(
            m.contains(&format!(
                "privgate_presidio_requests_total{{result=\"{label}\"}} 1"
            )),
            "{m}"
        );
        assert!(
            m.contains(r#"privgate_redaction_failures_total{stage="request"} 1"#),
            "{m}"
        );
    }
}

#[tokio::test]
async fn presidio_malformed_answers_fail_closed() {
    for mode in [Answer::Status500, Answer::Garbage, Answer::OffsetPastEnd] {
        let up = FakeUpstream::start().await;
        let presidio = FakePresidio::start_answering(vec![], Duration::ZERO, mode).await;
        let url = presidio.url.clone();
        let proxy = start_proxy(&up, |c| c.presidio = Some(PresidioSection::new(&url))).await;
        let resp = proxy
            .post("/v1/chat/completions", &chat("ask zofia 中文"))
            .await;
        assert_eq!(resp.status(), 503);
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"]["code"], "redaction_unavailable", "{v}");
        assert!(up.requests().is_empty(), "nothing went upstream");
        assert_eq!(presidio.requests().len(), 1);
        let m = proxy.metrics().await;
        assert!(
            m.contains(r#"privgate_presidio_requests_total{result="error"} 1"#),
            "{m}"
        );
    }
}

#[tokio::test]
async fn presidio_skip_forwards_with_built_in_redaction_only() {
    let up = FakeUpstream::start().await;
    let url = closed_port_url();
    let proxy = start_proxy(&up, |c| {
        let mut p = PresidioSection::new(&url);
        p.on_error = PresidioOnError::Skip;
        c.presidio = Some(p);
    })
    .await;
    let text = "ask zofia, mail olek.nowak.x2@example.net";
    let resp = proxy.post("/v1/chat/completions", &chat(text)).await;
    assert_eq!(resp.status(), 200);
    let sent = sent_content(&up);
    assert!(sent.starts_with("ask zofia, mail <EMAIL_"), "{sent}");
    let m = proxy.metrics().await;
    assert!(
        m.contains("privgate_presidio_skipped_requests_total 1"),
        "{m}"
    );
    assert!(
        m.contains(r#"privgate_presidio_requests_total{result="error"} 1"#),
        "{m}"
    );
}

#[tokio::test]
async fn presidio_section_absent_means_no_call() {
    let up = FakeUpstream::start().await;
    let presidio = FakePresidio::start(vec![("zofia", "PERSON", 0.85)], Duration::ZERO).await;
    let proxy = start_proxy(&up, |c| assert!(c.presidio.is_none(), "off by default")).await;
    let resp = proxy.post("/v1/chat/completions", &chat("ask zofia")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(sent_content(&up), "ask zofia");
    assert!(
        presidio.requests().is_empty(),
        "the analyzer was never asked"
    );
    let m = proxy.metrics().await;
    assert!(!m.contains("privgate_presidio_requests_total{"), "{m}");
}

#[tokio::test]
async fn presidio_findings_reach_large_bodies_scanned_on_the_blocking_pool() {
    let up = FakeUpstream::start().await;
    let presidio = FakePresidio::start(vec![("zofia", "PERSON", 0.85)], Duration::ZERO).await;
    let url = presidio.url.clone();
    let proxy = start_proxy(&up, |c| c.presidio = Some(PresidioSection::new(&url))).await;
    // Over the 64 KiB inline-scan size, in several slots.
    let filler = "lorem ipsum dolor sit amet ".repeat(1_000);
    let body = json!({"model": "m", "messages": [
        {"role": "system", "content": filler},
        {"role": "user", "content": format!("{filler} ask zofia")},
        {"role": "user", "content": format!("é 中文 {filler} zofia")},
    ]});
    assert!(body.to_string().len() > 64 * 1024);
    let resp = proxy.post("/v1/chat/completions", &body).await;
    assert_eq!(resp.status(), 200);
    assert!(!up.all_bytes().contains("zofia"));
    assert_eq!(up.last().text().matches("<PERSON_").count(), 2);
    assert_eq!(presidio.requests().len(), 3, "one call per slot");
}
