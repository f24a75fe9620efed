//! GDPR controls from policy files: data minimisation (fields and headers that never leave) and
//! international transfers (an upstream in a region or under a basis the policy does not accept
//! is refused at run time and by `check`).

use serde_json::json;

use crate::common::{start_proxy, FakeUpstream};

#[tokio::test]
async fn minimisation_removes_fields_and_headers_before_forwarding() {
    let up = FakeUpstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("min.toml"),
        "id = \"min\"\nversion = \"1\"\n[minimise]\ndrop_fields = [\"user\", \"metadata.user_id\"]\nstrip_headers = [\"Cookie\", \"x-forwarded-for\"]\noverwrite_fields = { \"metadata.tier\" = \"standard\", \"safety_identifier\" = \"anon\" }\n",
    )
    .unwrap();
    let pdir = dir.path().to_path_buf();
    let proxy = start_proxy(&up, move |c| {
        c.server.policies_dir = Some(pdir);
        c.server.policy = "min".into();
    })
    .await;
    let resp = proxy
        .client
        .post(proxy.url("/v1/chat/completions"))
        .header("cookie", "session=abc")
        .header("x-forwarded-for", "203.0.113.9")
        .header("x-keep", "1")
        .json(&json!({"model": "m", "user": "customer-1", "metadata": {"user_id": "u1", "tier": "gold"},
            "messages": [{"role": "user", "content": "hello"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let r = up.last();
    let body = r.json();
    assert!(body.get("user").is_none());
    assert!(body["metadata"].get("user_id").is_none());
    assert_eq!(body["metadata"]["tier"], "standard", "overwritten");
    assert!(
        body.get("safety_identifier").is_none(),
        "an absent field is not created"
    );
    assert!(!r.headers.contains_key("cookie") && !r.headers.contains_key("x-forwarded-for"));
    assert_eq!(r.headers["x-keep"], "1");
}

#[tokio::test]
async fn transfers_to_a_forbidden_region_are_refused() {
    let up = FakeUpstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("eu.toml"),
        "id = \"eu-only\"\nversion = \"1\"\n[transfers]\nallowed_regions = [\"eu\"]\naccepted_bases = [\"adequacy\", \"scc\"]\n",
    )
    .unwrap();
    let pdir = dir.path().to_path_buf();
    let proxy = start_proxy(&up, move |c| {
        c.server.policies_dir = Some(pdir);
        c.server.policy = "eu-only".into();
        c.upstreams.openai.region = Some("eu".into());
        c.upstreams.openai.transfer_basis = Some("adequacy".into());
        c.upstreams.anthropic.region = Some("us".into());
        c.upstreams.anthropic.transfer_basis = Some("none".into());
    })
    .await;
    let ok = proxy
        .post(
            "/v1/chat/completions",
            &json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(ok.status(), 200);
    let refused = proxy
        .client
        .post(proxy.url("/v1/messages"))
        .json(&json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let v: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(v["error"]["code"], "transfer_not_permitted");
    assert_eq!(
        up.requests().len(),
        1,
        "nothing went to the forbidden upstream"
    );
}
