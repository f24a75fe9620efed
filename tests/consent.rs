//! The consent registry as its users reach it: `privgate consent …` on a stopped data dir and
//! through a running server, and the `/admin/consent/…` API with its roles, errors and effect on
//! the next check. Subjects never reach the store files, logs or metrics.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use privgate::admin::auth::AdminToken;
use privgate::config::{AdminRole, AdminTokenEntry, Config};
use privgate::consent::ConsentState;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::{start_proxy, status_and_code, BinaryServer, FakeUpstream, TestProxy};

/// Runs the real binary with `env` (and without an inherited admin token).
fn privgate(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_privgate"));
    cmd.args(args).env_remove("PRIVGATE_ADMIN_TOKEN");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts no file under `dir` holds `needle`.
fn assert_not_in_files(dir: &Path, needle: &str) {
    let mut stack = vec![dir.to_path_buf()];
    let mut files = 0;
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        files += 1;
        let bytes = std::fs::read(&p).unwrap();
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{} holds the subject id",
            p.display()
        );
    }
    assert!(files > 0);
}

/// `privgate consent …` on a stopped data dir: records, shows (table and JSON), exit codes,
/// refuses bad purposes, finds the data dir through `--config`, and stores no subject id.
#[test]
fn consent_cli_on_a_stopped_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_s = data.to_str().unwrap();
    let subject = "cli-subject-4b7e@example.org";
    let run = |args: &[&str]| {
        let mut all = vec!["consent"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--data-dir", data_s]);
        privgate(&all, &[])
    };

    let (code, out, err) = run(&[
        "grant",
        "--subject",
        subject,
        "--purpose",
        "support",
        "--evidence",
        "form-9",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("consent is now granted"), "{out}");
    assert!(
        !out.contains(subject),
        "answers do not echo the subject: {out}"
    );
    let (code, out, err) = run(&[
        "withdraw",
        "--subject",
        subject,
        "--purpose",
        "training",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["state"], "withdrawn");
    assert_eq!(v["recorded"]["source"], "cli");
    let (code, _, err) = run(&["restrict", "--subject", subject, "--source", "dpo-desk"]);
    assert_eq!(code, 0, "{err}");

    let (code, out, _) = run(&["show", "--subject", subject]);
    assert_eq!(code, 0);
    assert!(out.contains("restricted (Art. 18): yes"), "{out}");
    assert!(out.contains("support") && out.contains("granted"), "{out}");
    assert!(
        out.contains("training") && out.contains("withdrawn"),
        "{out}"
    );
    assert!(out.contains("form-9") && out.contains("dpo-desk"), "{out}");
    assert!(out.contains("history (3 events, oldest first)"), "{out}");
    let (code, out, _) = run(&["show", "--subject", subject, "--json"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["restricted"], true);
    assert_eq!(v["history"].as_array().unwrap().len(), 3);
    assert_eq!(v["purposes"][0]["purpose"], "support");

    // Nothing recorded: exit 1. Bad input: exit 2 with the reason.
    let (code, out, _) = run(&["show", "--subject", "someone-else"]);
    assert_eq!(code, 1, "{out}");
    let (code, _, err) = run(&["grant", "--subject", subject, "--purpose", "Marketing"]);
    assert_eq!(code, 2);
    assert!(err.contains("invalid purpose"), "{err}");
    let (code, _, err) = privgate(&["consent", "grant", "--subject", subject], &[]);
    assert_eq!(code, 2, "--purpose is required for grant: {err}");

    // --config names the data dir.
    let config = dir.path().join("privgate.toml");
    std::fs::write(&config, format!("[server]\ndata_dir = {:?}\n", data_s)).unwrap();
    let (code, out, err) = privgate(
        &[
            "consent",
            "unrestrict",
            "--subject",
            subject,
            "--config",
            config.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("not restricted"), "{out}");

    // Erasure (Art. 17): gone, and `missing` afterwards.
    let (code, out, _) = run(&["erase", "--subject", subject, "--json"]);
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["events_deleted"],
        4
    );
    let (code, _, _) = run(&["show", "--subject", subject]);
    assert_eq!(code, 1);

    assert_not_in_files(&data, subject);
}

fn entry(name: &str, t: &AdminToken, roles: Vec<AdminRole>) -> AdminTokenEntry {
    AdminTokenEntry {
        name: name.into(),
        sha256: t.digest().to_hex(),
        roles,
        expires: None,
    }
}

struct Tokens {
    consent: AdminToken,
    officer: AdminToken,
    ops: AdminToken,
    admin: AdminToken,
}

impl Tokens {
    fn new() -> Tokens {
        Tokens {
            consent: AdminToken::generate(),
            officer: AdminToken::generate(),
            ops: AdminToken::generate(),
            admin: AdminToken::generate(),
        }
    }

    fn install(&self, c: &mut Config) {
        c.admin.tokens = vec![
            entry("app-backend", &self.consent, vec![AdminRole::Consent]),
            entry("officer-1", &self.officer, vec![AdminRole::Officer]),
            entry("ops-1", &self.ops, vec![AdminRole::Ops]),
            entry("root", &self.admin, vec![AdminRole::Admin]),
        ];
        c.admin.max_auth_failures_per_minute = 10_000;
    }
}

async fn post(
    proxy: &TestProxy,
    path: &str,
    token: Option<&AdminToken>,
    body: Value,
) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(format!("{}{}", proxy.admin, path))
        .json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t.expose());
    }
    req.send().await.unwrap()
}

async fn get(proxy: &TestProxy, path: &str, token: Option<&AdminToken>) -> reqwest::Response {
    let mut req = reqwest::Client::new().get(format!("{}{}", proxy.admin, path));
    if let Some(t) = token {
        req = req.bearer_auth(t.expose());
    }
    req.send().await.unwrap()
}

/// The consent role reaches the consent routes and nothing else; officer and admin reach them
/// too; ops does not; no token is 401. Erasure is officer-only.
#[tokio::test]
async fn consent_admin_api_roles() {
    let up = FakeUpstream::start().await;
    let tokens = Tokens::new();
    let proxy = start_proxy(&up, |c| tokens.install(c)).await;
    let body = json!({"subject": "role-subject", "purpose": "support"});
    let restrict = json!({"subject": "role-subject"});
    let writes = [
        ("/admin/consent/grant", &body),
        ("/admin/consent/withdraw", &body),
        ("/admin/consent/restrict", &restrict),
        ("/admin/consent/unrestrict", &restrict),
    ];
    let mut cases = 0;
    for (path, b) in writes {
        for (who, token, expected) in [
            ("none", None, StatusCode::UNAUTHORIZED),
            ("ops", Some(&tokens.ops), StatusCode::FORBIDDEN),
            ("consent", Some(&tokens.consent), StatusCode::OK),
            ("officer", Some(&tokens.officer), StatusCode::OK),
            ("admin", Some(&tokens.admin), StatusCode::OK),
        ] {
            let resp = post(&proxy, path, token, b.clone()).await;
            assert_eq!(resp.status(), expected, "{path} as {who}");
            cases += 1;
        }
    }
    let show = "/admin/consent/show?subject=role-subject";
    for (who, token, expected) in [
        ("none", None, StatusCode::UNAUTHORIZED),
        ("ops", Some(&tokens.ops), StatusCode::FORBIDDEN),
        ("consent", Some(&tokens.consent), StatusCode::OK),
        ("officer", Some(&tokens.officer), StatusCode::OK),
        ("admin", Some(&tokens.admin), StatusCode::OK),
    ] {
        assert_eq!(
            get(&proxy, show, token).await.status(),
            expected,
            "show as {who}"
        );
        cases += 1;
    }
    // The consent role is refused everywhere else.
    for path in [
        "/admin/audit/stats",
        "/admin/audit/query",
        "/admin/audit/public-key",
        "/metrics",
    ] {
        let resp = get(&proxy, path, Some(&tokens.consent)).await;
        if path == "/metrics" {
            // Observability is open by default; it needs no role at all.
            assert_eq!(resp.status(), StatusCode::OK);
        } else {
            assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{path} as consent");
        }
        cases += 1;
    }
    for (path, b) in [
        ("/admin/audit/erase", json!({"subject": "role-subject"})),
        ("/admin/consent/erase", json!({"subject": "role-subject"})),
        ("/admin/reload", json!({})),
    ] {
        let resp = post(&proxy, path, Some(&tokens.consent), b).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{path} as consent");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"], "forbidden");
        cases += 1;
    }
    let resp = post(
        &proxy,
        "/admin/consent/erase",
        Some(&tokens.officer),
        restrict.clone(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["events_deleted"], 12, "4 writes by 3 roles");
    println!("consent admin roles: {cases} cases as expected");
}

/// A grant or withdrawal through the API is durable and visible to the very next check; the
/// source defaults to the token's name; errors carry stable codes; the subject reaches neither
/// the metrics nor the audit trail in clear; consent actions leave access events.
#[tokio::test]
async fn consent_admin_api_records_shows_and_refuses_bad_input() {
    let up = FakeUpstream::start().await;
    let tokens = Tokens::new();
    let proxy = start_proxy(&up, |c| tokens.install(c)).await;
    let state = proxy.server.state.clone();
    let subject = "api-subject-91d3@example.org";
    let app = Some(&tokens.consent);

    let resp = post(
        &proxy,
        "/admin/consent/grant",
        app,
        json!({"subject": subject, "purpose": "support", "evidence": "signup-form-3"}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["state"], "granted");
    assert_eq!(v["recorded"]["source"], "admin:app-backend");
    let check = state.consent.lookup(subject, "support");
    assert_eq!(check.state, ConsentState::Granted);

    let resp = post(
        &proxy,
        "/admin/consent/withdraw",
        app,
        json!({"subject": subject, "purpose": "support", "source": "mobile-app"}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    // The very next check sees the withdrawal.
    let check = state.consent.lookup(subject, "support");
    assert_eq!(check.state, ConsentState::Withdrawn);
    post(
        &proxy,
        "/admin/consent/restrict",
        app,
        json!({"subject": subject}),
    )
    .await;
    let check = state.consent.lookup(subject, "support");
    assert!(check.restricted);

    let resp = get(
        &proxy,
        &format!("/admin/consent/show?subject={}", urlencode(subject)),
        app,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["x-privgate-count"], "3");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["restricted"], true);
    assert_eq!(v["purposes"][0]["state"], "withdrawn");
    let history = v["history"].as_array().unwrap();
    assert_eq!(history[0]["evidence"], "signup-form-3");
    assert_eq!(history[1]["source"], "mobile-app");
    assert_eq!(history[2]["kind"], "restrict");
    assert!(!v.to_string().contains(subject));

    // Errors: stable codes, 400, nothing recorded.
    for (path, body, code) in [
        (
            "/admin/consent/grant",
            json!({"subject": subject, "purpose": "Bad Purpose"}),
            "invalid_purpose",
        ),
        (
            "/admin/consent/grant",
            json!({"subject": subject}),
            "invalid_request",
        ),
        (
            "/admin/consent/grant",
            json!({"purpose": "support"}),
            "invalid_request",
        ),
        (
            "/admin/consent/grant",
            json!({"subject": "", "purpose": "support"}),
            "invalid_request",
        ),
        (
            "/admin/consent/grant",
            json!({"subject": subject, "purpose": "support", "colour": 1}),
            "invalid_request",
        ),
        (
            "/admin/consent/restrict",
            json!({"subject": subject, "purpose": "support"}),
            "invalid_request",
        ),
        (
            "/admin/consent/grant",
            json!({"subject": subject, "purpose": "support", "evidence": "a\nb"}),
            "invalid_request",
        ),
    ] {
        let resp = post(&proxy, path, app, body.clone()).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{body}");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"], code, "{body}: {v}");
        assert!(
            !v.to_string().contains(subject),
            "errors do not echo the subject"
        );
    }
    for path in [
        "/admin/consent/show",
        "/admin/consent/show?subject=x&colour=red",
    ] {
        let resp = get(&proxy, path, app).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(
            resp.json::<Value>().await.unwrap()["error"],
            "invalid_request"
        );
    }
    assert_eq!(state.consent.history(subject).unwrap().len(), 3);

    let metrics = proxy.metrics().await;
    assert!(!metrics.contains(subject));

    // Consent actions are in the audit trail as access events by the token's holder; the
    // subject only as a blind index.
    let all = get(&proxy, "/admin/audit/query", Some(&tokens.officer))
        .await
        .text()
        .await
        .unwrap();
    for action in [
        "consent-grant",
        "consent-withdraw",
        "consent-restrict",
        "consent-show",
    ] {
        assert!(
            all.lines()
                .any(|l| l.contains(&format!("\"action\":\"{action}\""))
                    && l.contains("\"principal\":\"app-backend\"")),
            "{action}: {all}"
        );
    }
    assert!(!all.contains(subject));

    let TestProxy { server, dir, .. } = proxy;
    drop(state);
    server.shutdown(Duration::from_secs(2)).await;
    assert_not_in_files(&dir.path().join("data/consent"), subject);
}

fn urlencode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// `privgate consent …` on the data dir of a running real binary goes through its admin API
/// (token from the environment), the admin API shows what it recorded, and after the server
/// stops the same `show` on the data dir prints the same. The subject reaches no log, even at
/// `RUST_LOG=trace`.
#[tokio::test]
async fn consent_cli_through_a_running_server() {
    let up = FakeUpstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let token = AdminToken::generate();
    let config = dir.path().join("privgate.toml");
    std::fs::write(
        &config,
        format!(
            "[admin]\ntokens = [{{ name = \"app-backend\", sha256 = \"{}\", roles = [\"consent\"] }}]\n",
            token.digest().to_hex()
        ),
    )
    .unwrap();
    let mut bin = BinaryServer::spawn(
        &up,
        dir.path(),
        &["--config", config.to_str().unwrap()],
        "trace",
    )
    .await;
    let data = bin.data.to_str().unwrap().to_string();
    let subject = "bin-subject-e20c@example.org";
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut all = vec!["consent"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--data-dir", &data]);
        privgate(&all, env)
    };
    let env = [("PRIVGATE_ADMIN_TOKEN", token.expose())];

    // Without a token: which one is needed, exit 2.
    let (code, _, err) = run(
        &["grant", "--subject", subject, "--purpose", "support"],
        &[],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("PRIVGATE_ADMIN_TOKEN") && err.contains("--roles consent"),
        "{err}"
    );

    let (code, out, err) = run(
        &[
            "grant",
            "--subject",
            subject,
            "--purpose",
            "support",
            "--evidence",
            "ticket-12",
        ],
        &env,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("consent is now granted"), "{out}");
    let (code, _, err) = run(
        &["withdraw", "--subject", subject, "--purpose", "training"],
        &env,
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(
        &["grant", "--subject", subject, "--purpose", "Not Valid"],
        &env,
    );
    assert_eq!(code, 2);
    assert!(err.contains("invalid purpose"), "{err}");

    // The admin API shows what the CLI recorded, with the token's name as source.
    let v: Value = reqwest::Client::new()
        .get(format!(
            "http://{}/admin/consent/show?subject={}",
            bin.admin,
            urlencode(subject)
        ))
        .bearer_auth(token.expose())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["purposes"][0]["purpose"], "support");
    assert_eq!(v["purposes"][0]["state"], "granted");
    assert_eq!(v["purposes"][1]["state"], "withdrawn");
    assert_eq!(v["history"][0]["source"], "admin:app-backend");
    assert_eq!(v["history"][0]["evidence"], "ticket-12");
    let (code, remote_table, _) = run(&["show", "--subject", subject], &env);
    assert_eq!(code, 0);
    let (code, remote_json, _) = run(&["show", "--subject", subject, "--json"], &env);
    assert_eq!(code, 0);
    assert_eq!(serde_json::from_str::<Value>(&remote_json).unwrap(), v);

    // Stop cleanly: the CLI then opens the store itself and prints the same.
    let pid = bin.child.id().unwrap().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = tokio::time::timeout(Duration::from_secs(20), bin.child.wait())
        .await
        .expect("the server stops on SIGTERM")
        .unwrap();
    assert!(status.success());
    let (code, local_table, err) = run(&["show", "--subject", subject], &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(local_table, remote_table);

    let logs = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap()
        + &std::fs::read_to_string(dir.path().join("stdout.log")).unwrap();
    assert!(logs.len() > 1000, "trace logging was on");
    assert!(!logs.contains(subject), "the subject reached the logs");
    assert!(!logs.contains(&token.expose()[5..]));
    assert_not_in_files(&bin.data.join("consent"), subject);
}

/// `[consent] retention_days`: `serve` purges old events at start (then hourly), keeping each
/// subject's current state.
#[tokio::test]
async fn serve_purges_consent_events_past_their_retention() {
    use privgate::consent::{ConsentEvent, ConsentEventKind, ConsentRegistry};
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |c| {
        c.consent.retention_days = Some(30);
        let reg = ConsentRegistry::open(&c.server.data_dir).unwrap();
        for (kind, t) in [
            (ConsentEventKind::Grant, 1_000),
            (ConsentEventKind::Withdraw, 2_000),
            (ConsentEventKind::Grant, 3_000),
        ] {
            let e = ConsentEvent {
                time_ms: t,
                ..ConsentEvent::new(kind, Some("support"), "test")
            };
            reg.record("old-subject", e).unwrap();
        }
    })
    .await;
    let consent = proxy.server.state.consent.clone();
    let mut left = 0;
    for _ in 0..100 {
        left = consent.history("old-subject").unwrap().len();
        if left == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(left, 1, "two old events purged, the current one kept");
    assert_eq!(
        consent.check("old-subject", "support"),
        ConsentState::Granted
    );
}

/// Issue #5's consent flow through the request path, under the shipped `policies/strict.toml`:
/// no consent → 403 `consent_required`; grant (admin API, consent role) → 200; withdraw → 403 on
/// the very next request; restrict → 403 `processing_restricted` even with consent; unrestrict →
/// 200 again; the history shows every step with its evidence; nothing was forwarded for a refused
/// request; the gate's decisions are counted; the subject appears in no metric or audit text.
#[tokio::test]
async fn consent_decides_each_request_under_the_strict_policy() {
    let up = FakeUpstream::start().await;
    let tokens = Tokens::new();
    let policies = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("policies");
    let proxy = start_proxy(&up, |c| {
        tokens.install(c);
        c.server.policies_dir = Some(policies);
        c.server.policy = "strict".into();
    })
    .await;
    let subject = "cust-5521@shop.example";
    let ask = |who: Option<&'static str>| {
        let mut req = proxy
            .client
            .post(proxy.url("/v1/chat/completions"))
            .header("x-privgate-purpose", "support");
        if let Some(s) = who {
            req = req.header("x-privgate-subject", s);
        }
        req.json(&json!({"model": "m", "messages": [{"role": "user", "content": "Where is my parcel?"}]}))
            .send()
    };
    let consent = Some(&tokens.consent);
    let body = json!({"subject": subject, "purpose": "support", "evidence": "web-form-88"});

    assert_eq!(
        status_and_code(ask(Some(subject)).await.unwrap()).await,
        (403, "consent_required".into())
    );
    assert_eq!(
        status_and_code(ask(None).await.unwrap()).await,
        (403, "consent_required".into()),
        "anonymous = block"
    );
    assert!(up.requests().is_empty());

    assert_eq!(
        post(&proxy, "/admin/consent/grant", consent, body.clone())
            .await
            .status(),
        200
    );
    assert_eq!(ask(Some(subject)).await.unwrap().status(), 200);
    assert_eq!(up.requests().len(), 1);
    // The subject header is privgate's own: it never reaches the vendor.
    assert!(!up.last().headers.contains_key("x-privgate-subject"));
    // Consent is per purpose: the policy permits only `support` anyway.
    let other = proxy
        .client
        .post(proxy.url("/v1/chat/completions"))
        .header("x-privgate-subject", subject)
        .header("x-privgate-purpose", "marketing")
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        status_and_code(other).await,
        (403, "purpose_not_allowed".into())
    );

    assert_eq!(
        post(&proxy, "/admin/consent/withdraw", consent, body.clone())
            .await
            .status(),
        200
    );
    assert_eq!(
        status_and_code(ask(Some(subject)).await.unwrap()).await,
        (403, "consent_required".into())
    );
    assert_eq!(
        post(&proxy, "/admin/consent/grant", consent, body.clone())
            .await
            .status(),
        200
    );
    assert_eq!(ask(Some(subject)).await.unwrap().status(), 200);
    let restrict = json!({"subject": subject, "evidence": "objection-ticket-12"});
    assert_eq!(
        post(&proxy, "/admin/consent/restrict", consent, restrict.clone())
            .await
            .status(),
        200
    );
    assert_eq!(
        status_and_code(ask(Some(subject)).await.unwrap()).await,
        (403, "processing_restricted".into())
    );
    assert_eq!(
        post(&proxy, "/admin/consent/unrestrict", consent, restrict)
            .await
            .status(),
        200
    );
    assert_eq!(ask(Some(subject)).await.unwrap().status(), 200);
    assert_eq!(
        up.requests().len(),
        3,
        "only the three admitted requests went upstream"
    );

    let shown: Value = get(
        &proxy,
        &format!("/admin/consent/show?subject={}", urlencode(subject)),
        consent,
    )
    .await
    .json()
    .await
    .unwrap();
    let kinds: Vec<&str> = shown["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["grant", "withdraw", "grant", "restrict", "unrestrict"]
    );
    assert_eq!(shown["history"][0]["evidence"], "web-form-88");

    let metrics = proxy.metrics().await;
    for (result, n) in [
        ("granted", 3),
        ("missing", 1),
        ("withdrawn", 1),
        ("restricted", 1),
        ("no_subject", 1),
    ] {
        let line = format!("privgate_consent_checks_total{{result=\"{result}\"}} {n}");
        assert!(metrics.contains(&line), "{line}\n{metrics}");
    }
    assert!(
        metrics.contains(r#"privgate_blocked_requests_total{reason="consent_required"} 3"#),
        "{metrics}"
    );
    assert!(!metrics.contains(subject));
    let text = proxy.audit_text().await;
    assert!(
        text.contains("\"consent\":\"withdrawn\"") && text.contains("\"lawful_basis\":\"consent\""),
        "{text}"
    );
    assert!(
        !text.contains(subject),
        "the subject is only a blind index in the trail"
    );
}
