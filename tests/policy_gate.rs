//! The policy gate end to end: which policy applies (routes, apps known by API-key hash, never a
//! caller's header), the purpose (route, header, default; refused when the policy does not list
//! it), the `anonymous` rule, the `strict` fallback, and monitor mode recording what it would do.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::common::{start_proxy, status_and_code, FakeUpstream, TestProxy};

const BLOCK_EMAIL: &str = "id = \"tight\"\nversion = \"1\"\n[actions]\nEMAIL = \"block\"\n[processing]\npurposes = [\"support\", \"billing\"]\ndefault_purpose = \"support\"\n";
const LOOSE: &str = "id = \"loose\"\nversion = \"1\"\n[actions]\nEMAIL = \"allow\"\n";

fn chat(text: &str) -> Value {
    json!({"model": "m", "messages": [{"role": "user", "content": text}]})
}

async fn proxy_with(
    up: &FakeUpstream,
    files: &[(&str, &str)],
    config: &str,
) -> (TestProxy, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let pdir = dir.path().to_path_buf();
    let extra = privgate::config::Config::parse("test.toml", config).unwrap();
    let proxy = start_proxy(up, move |c| {
        c.server.policies_dir = Some(pdir);
        c.server.policy = extra.server.policy.clone();
        c.apps = extra.apps;
        c.routes = extra.routes;
    })
    .await;
    (proxy, dir)
}

#[tokio::test]
async fn a_caller_header_cannot_pick_a_weaker_policy() {
    let up = FakeUpstream::start().await;
    let internal_key = "sk-internal-tools-7f3a";
    let config = format!(
        "[server]\npolicy = \"tight\"\n[[app]]\nname = \"internal\"\napi_key_sha256 = [\"{}\"]\n[[route]]\npath = \"/v1/\"\napp = \"internal\"\npolicy = \"loose\"\n",
        hex::encode(Sha256::digest(internal_key.as_bytes()))
    );
    let (proxy, _d) = proxy_with(
        &up,
        &[("tight.toml", BLOCK_EMAIL), ("loose.toml", LOOSE)],
        &config,
    )
    .await;
    let prompt = chat("Write to jane.roe@example.org please");
    // Every header a caller might try: none of them selects a policy or an app.
    let resp = proxy
        .client
        .post(proxy.url("/v1/chat/completions"))
        .header("authorization", "Bearer sk-someone-else")
        .header("x-privgate-policy", "loose")
        .header("x-privgate-app", "internal")
        .header("x-privgate-mode", "monitor")
        .json(&prompt)
        .send()
        .await
        .unwrap();
    assert_eq!(status_and_code(resp).await, (400, "pii_blocked".into()));
    assert!(up.requests().is_empty(), "nothing reached the upstream");
    // The app's real key does select its route's policy.
    let resp = proxy
        .client
        .post(proxy.url("/v1/chat/completions"))
        .header("authorization", format!("Bearer {internal_key}"))
        .json(&prompt)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(up.last().text().contains("jane.roe@example.org"));
    // Anthropic-style key header works the same way; the key itself is forwarded untouched.
    let resp = proxy
        .client
        .post(proxy.url("/v1/messages"))
        .header("x-api-key", internal_key)
        .json(&json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "mail jane.roe@example.org"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(up.last().headers["x-api-key"], internal_key);
}

#[tokio::test]
async fn purposes_come_from_the_route_or_a_checked_header() {
    let up = FakeUpstream::start().await;
    let config =
        "[server]\npolicy = \"tight\"\n[[route]]\npath = \"/v1/messages\"\npurpose = \"billing\"\n";
    let (proxy, _d) = proxy_with(&up, &[("tight.toml", BLOCK_EMAIL)], config).await;
    let send = |path: &'static str, purpose: Option<&'static str>| {
        let mut req = proxy.client.post(proxy.url(path));
        if let Some(p) = purpose {
            req = req.header("x-privgate-purpose", p);
        }
        let body = if path == "/v1/messages" {
            json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]})
        } else {
            chat("hi")
        };
        req.json(&body).send()
    };
    // No purpose: the policy's default. A listed purpose: accepted.
    assert_eq!(
        send("/v1/chat/completions", None).await.unwrap().status(),
        200
    );
    assert_eq!(
        send("/v1/chat/completions", Some("billing"))
            .await
            .unwrap()
            .status(),
        200
    );
    // A purpose the policy does not list, or a malformed one: refused, not forwarded.
    let before = up.requests().len();
    for bad in ["marketing", "Support!", "x".repeat(65).leak() as &str] {
        let (status, code) =
            status_and_code(send("/v1/chat/completions", Some(bad)).await.unwrap()).await;
        assert_eq!(
            (status, code.as_str()),
            (403, "purpose_not_allowed"),
            "{bad}"
        );
    }
    // The route fixes its purpose: the same purpose is fine, another one is refused.
    assert_eq!(
        send("/v1/messages", Some("billing"))
            .await
            .unwrap()
            .status(),
        200
    );
    let (status, code) =
        status_and_code(send("/v1/messages", Some("support")).await.unwrap()).await;
    assert_eq!((status, code.as_str()), (403, "purpose_not_allowed"));
    assert_eq!(up.requests().len(), before + 1);
    // The purpose header is privgate's: never forwarded.
    assert!(!up.last().headers.contains_key("x-privgate-purpose"));
    // The audit record carries the purpose and the lawful basis.
    let text = proxy.audit_text().await;
    assert!(text.contains("\"purpose\":\"billing\""), "{text}");
    assert!(
        text.contains("\"lawful_basis\":\"legitimate_interests\""),
        "{text}"
    );
}

#[tokio::test]
async fn anonymous_requests_follow_the_policy_rule() {
    let up = FakeUpstream::start().await;
    let named = "id = \"named\"\nversion = \"1\"\n[processing]\nanonymous = \"block\"\n";
    let strictish = "id = \"fallback\"\nversion = \"1\"\n[processing]\nanonymous = \"strict\"\n[strict]\ndefault_action = \"remove\"\n";
    let config =
        "[server]\npolicy = \"named\"\n[[route]]\npath = \"/v1/messages\"\npolicy = \"fallback\"\n";
    let (proxy, _d) = proxy_with(
        &up,
        &[("named.toml", named), ("fallback.toml", strictish)],
        config,
    )
    .await;
    // No subject: refused with a stable code that names no value.
    let resp = proxy.post("/v1/chat/completions", &chat("hello")).await;
    assert_eq!(
        status_and_code(resp).await,
        (400, "subject_required".into())
    );
    assert!(up.requests().is_empty());
    // A subject by header or by the provider's user field: forwarded; the header never leaves.
    let resp = proxy
        .client
        .post(proxy.url("/v1/chat/completions"))
        .header("x-privgate-subject", "customer-881")
        .json(&chat("hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(!up.last().headers.contains_key("x-privgate-subject"));
    let mut with_user = chat("hello");
    with_user["user"] = json!("customer-882");
    assert_eq!(
        proxy
            .post("/v1/chat/completions", &with_user)
            .await
            .status(),
        200
    );
    // `strict`: forwarded, with the [strict] actions (remove instead of pseudonymise).
    let resp = proxy
        .client
        .post(proxy.url("/v1/messages"))
        .json(&json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "Reach me at jo.bloggs@example.net"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let sent = up.last().text();
    assert!(
        sent.contains("[EMAIL]") && !sent.contains("jo.bloggs"),
        "{sent}"
    );
    // The same request with a subject is pseudonymised as usual.
    let resp = proxy
        .client
        .post(proxy.url("/v1/messages"))
        .json(
            &json!({"model": "m", "max_tokens": 5, "metadata": {"user_id": "c-9"},
            "messages": [{"role": "user", "content": "Reach me at jo.bloggs@example.net"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let sent = up.last().text();
    assert!(
        sent.contains("<EMAIL_") && !sent.contains("jo.bloggs"),
        "{sent}"
    );
}

#[tokio::test]
async fn check_refuses_a_route_whose_upstream_the_policy_forbids() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("eu.toml"),
        "id = \"eu-only\"\nversion = \"1\"\n[transfers]\nallowed_regions = [\"eu\"]\n",
    )
    .unwrap();
    let config = dir.path().join("privgate.toml");
    std::fs::write(
        &config,
        "[upstreams.openai]\nurl = \"https://api.openai.com\"\nregion = \"eu\"\n[upstreams.anthropic]\nurl = \"https://api.anthropic.com\"\nregion = \"us\"\n[[route]]\npath = \"/v1/chat/completions\"\npolicy = \"eu-only\"\n[[route]]\npath = \"/v1/messages\"\npolicy = \"eu-only\"\npurpose = \"marketing\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_privgate"))
        .args(["check", "--config"])
        .arg(&config)
        .arg("--policies")
        .arg(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("route[1]: policy eu-only forbids the transfer to upstreams.anthropic"),
        "{err}"
    );
    assert!(
        !err.contains("route[0]:"),
        "the EU upstream is permitted: {err}"
    );
    // The embedded default permits any purpose; eu-only lists none, so any purpose is fine too.
    assert!(!err.contains("route[1].purpose"), "{err}");
}

#[tokio::test]
async fn monitor_mode_records_the_refusal_it_would_make_and_forwards_unchanged() {
    let up = FakeUpstream::start().await;
    let watch = "id = \"watch\"\nversion = \"1\"\nmode = \"monitor\"\n[processing]\nlawful_basis = \"consent\"\npurposes = [\"support\"]\ndefault_purpose = \"support\"\non_missing = \"block\"\nanonymous = \"block\"\n";
    let (proxy, _d) = proxy_with(
        &up,
        &[("watch.toml", watch)],
        "[server]\npolicy = \"watch\"\n",
    )
    .await;
    let body = json!({"model": "m", "user": "never-consented-7", "messages": [{"role": "user", "content": "mail pat.kim@example.com"}]});
    let resp = proxy.post("/v1/chat/completions", &body).await;
    assert_eq!(resp.status(), 200, "monitor never refuses");
    assert_eq!(up.last().json(), body, "forwarded unchanged");
    let text = proxy.audit_text().await;
    assert!(text.contains("\"consent\":\"missing\""), "{text}");
    assert!(text.contains("\"lawful_basis\":\"consent\""), "{text}");
    assert!(
        !text.contains("never-consented-7"),
        "the subject is only a blind index"
    );
    let m = proxy.metrics().await;
    assert!(
        m.contains(r#"privgate_pii_detections_total{action="pseudonymise",entity="EMAIL",mode="monitor",policy="watch"} 1"#),
        "{m}"
    );
}
