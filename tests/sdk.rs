//! The official `openai` and `anthropic` Python SDKs as real clients, non-streaming and
//! streaming, through privgate to the fake upstream. The SDKs live in `.venv` (made by
//! `scripts/test.sh`); under CI a missing venv is a failure, elsewhere the test says it skipped.

use std::path::PathBuf;

use crate::common::{assert_no_leak, start_proxy, Canaries, FakeUpstream};

fn python() -> Option<PathBuf> {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let ok = venv.exists()
        && std::process::Command::new(&venv)
            .args(["-c", "import openai, anthropic"])
            .status()
            .is_ok_and(|s| s.success());
    if ok {
        Some(venv)
    } else if std::env::var_os("CI").is_some() {
        panic!("CI must have the SDK venv: run scripts/test.sh");
    } else {
        eprintln!("SKIPPED: SDK tests need .venv with openai and anthropic (run scripts/test.sh)");
        None
    }
}

#[tokio::test]
async fn official_sdks_work_through_privgate() {
    let Some(python) = python() else { return };
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let c = Canaries::new();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/clients.py");
    let out = tokio::process::Command::new(python)
        .arg(script)
        .env("PRIVGATE_BASE", &proxy.base)
        .env("PRIVGATE_PORT", proxy.server.addr.port().to_string())
        .env("SSL_CERT_FILE", &proxy.ca)
        .env("CANARY_EMAIL", &c.email)
        .env("CANARY_CARD", &c.card)
        .env("CANARY_IBAN", &c.iban)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "SDK script failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("ALL SDK CHECKS PASSED"), "{stdout}");
    assert!(
        up.requests().len() >= 6,
        "every SDK call reached the upstream"
    );
    assert_no_leak(&up.all_bytes(), &c, "what the SDK calls sent upstream");
}
