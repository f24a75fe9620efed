//! RELIABILITY G1 (reduced for CI): `kill -9` the real binary during sustained load; every
//! exchange a client saw answered has its audit record, and the chain verifies.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::common::{client_for, BinaryServer, FakeUpstream};

#[tokio::test]
async fn every_answered_exchange_survives_a_kill_9_under_load() {
    let up = FakeUpstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut bin = BinaryServer::spawn(&up, dir.path(), &[], "warn").await;
    let client = client_for(&bin.ca, bin.addr);
    let base = format!("https://localhost:{}/v1/chat/completions", bin.addr.port());
    let answered: Arc<Mutex<HashSet<String>>> = Arc::default();
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let (client, base, answered) = (client.clone(), base.clone(), answered.clone());
            tokio::spawn(async move {
                for i in 0.. {
                    let id = format!("crash-{w}-{i}");
                    let sent = client
                        .post(&base)
                        .header("x-request-id", &id)
                        .json(&json!({"model": "m", "messages": [{"role": "user", "content": "mail a.b@example.com"}]}))
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status() == 200 => {
                            answered.lock().unwrap().insert(id);
                        }
                        _ => return,
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    bin.kill().await;
    for w in workers {
        let _ = w.await;
    }
    let answered = answered.lock().unwrap().clone();
    assert!(
        answered.len() > 50,
        "sustained load: {} answered",
        answered.len()
    );

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_privgate"))
        .args(["audit", "query", "--data-dir", bin.data.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recorded: HashSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| {
            v.pointer("/content/record/request_id")
                .and_then(|x| x.as_str())
                .map(str::to_string)
        })
        .collect();
    let lost: Vec<_> = answered.difference(&recorded).collect();
    assert!(
        lost.is_empty(),
        "{} answered exchanges lost: {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    let verify = std::process::Command::new(env!("CARGO_BIN_EXE_privgate"))
        .args(["audit", "verify", "--data-dir", bin.data.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    eprintln!(
        "G1: {} answered before kill -9, 0 lost, chain verifies",
        answered.len()
    );
}
