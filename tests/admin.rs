//! The admin API (RELIABILITY H1–H4): the authorisation matrix over every route, 404 only after
//! authentication, 429 after repeated failures, admin actions recorded in the audit trail,
//! policy reload over HTTP, and `privgate admin token`.

use std::time::Duration;

use privgate::admin::auth::AdminToken;
use privgate::config::{AdminRole, AdminTokenEntry, Config};
use reqwest::StatusCode;
use serde_json::json;

use crate::common::{start_proxy, FakeUpstream, TestProxy};

/// Tokens of each role for one test server.
pub struct Tokens {
    pub officer: AdminToken,
    pub ops: AdminToken,
    pub admin: AdminToken,
    pub officer_ops: AdminToken,
}

impl Tokens {
    pub fn new() -> Tokens {
        Tokens {
            officer: AdminToken::generate(),
            ops: AdminToken::generate(),
            admin: AdminToken::generate(),
            officer_ops: AdminToken::generate(),
        }
    }

    pub fn install(&self, config: &mut Config) {
        let entry = |name: &str, t: &AdminToken, roles: Vec<AdminRole>| AdminTokenEntry {
            name: name.into(),
            sha256: t.digest().to_hex(),
            roles,
        };
        config.admin.tokens = vec![
            entry("officer-1", &self.officer, vec![AdminRole::Officer]),
            entry("ops-1", &self.ops, vec![AdminRole::Ops]),
            entry("root", &self.admin, vec![AdminRole::Admin]),
            entry(
                "both",
                &self.officer_ops,
                vec![AdminRole::Officer, AdminRole::Ops],
            ),
        ];
    }
}

async fn call(
    proxy: &TestProxy,
    method: &str,
    path: &str,
    auth: Option<&str>,
) -> reqwest::Response {
    let client = reqwest::Client::new();
    let query = if path == "/admin/audit/export" {
        "?subject=nobody-in-particular"
    } else {
        ""
    };
    let url = format!("{}{}{}", proxy.admin, path, query);
    let mut req = match method {
        "POST" => client.post(url),
        _ => client.get(url),
    };
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    req = match path {
        "/admin/audit/erase" => req.json(&json!({"subject": "nobody-in-particular"})),
        "/admin/audit/purge" => req.json(&json!({"before": "2000-01-01"})),
        _ => req,
    };
    req.send().await.unwrap()
}

fn bearer(t: &AdminToken) -> String {
    format!("Bearer {}", t.expose())
}

/// H1: every route × {no token, malformed, wrong, insufficient role, valid} →
/// 401/401/401/403/200, with `WWW-Authenticate: Bearer` on every 401 and nothing else revealed.
#[tokio::test]
async fn authorisation_matrix_over_every_admin_route() {
    let up = FakeUpstream::start().await;
    let tokens = Tokens::new();
    let proxy = start_proxy(&up, |c| {
        tokens.install(c);
        c.admin.open_observability = false;
        c.admin.max_auth_failures_per_minute = 10_000;
    })
    .await;
    let wrong = format!("Bearer pgat_{}", "0".repeat(64));
    let mut cases = 0;
    let mut refusal_bodies = std::collections::HashSet::new();
    for (method, path) in privgate::admin::routes() {
        let insufficient = match path {
            "/metrics" | "/healthz" | "/readyz" | "/admin/reload" => &tokens.officer,
            "/admin/keys/rotate" => &tokens.officer_ops,
            _ => &tokens.ops,
        };
        let valid = match path {
            "/metrics" | "/healthz" | "/readyz" | "/admin/reload" => &tokens.ops,
            "/admin/keys/rotate" => &tokens.admin,
            _ => &tokens.officer,
        };
        for (case, auth, expected) in [
            ("no token", None, StatusCode::UNAUTHORIZED),
            (
                "malformed",
                Some("Basic b2ZmaWNlcjpwdw==".to_string()),
                StatusCode::UNAUTHORIZED,
            ),
            (
                "empty bearer",
                Some("Bearer ".to_string()),
                StatusCode::UNAUTHORIZED,
            ),
            ("wrong", Some(wrong.clone()), StatusCode::UNAUTHORIZED),
            (
                "insufficient role",
                Some(bearer(insufficient)),
                StatusCode::FORBIDDEN,
            ),
            ("valid", Some(bearer(valid)), StatusCode::OK),
        ] {
            let resp = call(&proxy, method, path, auth.as_deref()).await;
            let status = resp.status();
            assert_eq!(status, expected, "{method} {path} with {case}");
            if status == StatusCode::UNAUTHORIZED {
                assert_eq!(resp.headers()["www-authenticate"], "Bearer");
                refusal_bodies.insert(resp.text().await.unwrap());
            }
            cases += 1;
        }
        // The admin role may use every route.
        let resp = call(&proxy, method, path, Some(&bearer(&tokens.admin))).await;
        assert_eq!(resp.status(), StatusCode::OK, "{method} {path} as admin");
    }
    assert_eq!(
        refusal_bodies.len(),
        1,
        "every 401 says the same thing: {refusal_bodies:?}"
    );
    println!("H1 authz matrix: {cases} cases as expected");
    let metrics = call(&proxy, "GET", "/metrics", Some(&bearer(&tokens.ops)))
        .await
        .text()
        .await
        .unwrap();
    let failures: u64 = metrics
        .lines()
        .filter(|l| l.starts_with("privgate_admin_auth_failures_total{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(
        failures,
        4 * privgate::admin::routes().len() as u64,
        "{metrics}"
    );
    assert!(!metrics.contains(tokens.officer.expose()));
}

/// Unknown routes answer 404 only after authentication: without a token they look like any
/// other route (401), so routes cannot be enumerated.
#[tokio::test]
async fn unknown_routes_are_404_only_after_authentication() {
    let up = FakeUpstream::start().await;
    let tokens = Tokens::new();
    let proxy = start_proxy(&up, |c| tokens.install(c)).await;
    for path in ["/admin/nope", "/admin/audit/secret", "/anything", "/"] {
        let resp = call(&proxy, "GET", path, None).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{path}");
        let anon = resp.text().await.unwrap();
        let known = call(&proxy, "GET", "/admin/audit/stats", None)
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(
            anon, known,
            "no difference between known and unknown routes"
        );
        let resp = call(&proxy, "GET", path, Some(&bearer(&tokens.officer))).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
    }
    // Observability stays open by default (Prometheus and the other tests rely on it).
    assert_eq!(
        call(&proxy, "GET", "/metrics", None).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        call(&proxy, "GET", "/readyz", None).await.status(),
        StatusCode::OK
    );
}

/// H3: wrong tokens are counted per peer; past the limit the peer gets 429 (even with a valid
/// token) for the rest of the minute.
#[tokio::test]
async fn repeated_failures_get_429() {
    let up = FakeUpstream::start().await;
    let tokens = Tokens::new();
    let proxy = start_proxy(&up, |c| {
        tokens.install(c);
        c.admin.max_auth_failures_per_minute = 10;
    })
    .await;
    let mut attempts = 0;
    loop {
        let wrong = format!("Bearer pgat_{:064x}", attempts);
        let resp = call(&proxy, "GET", "/admin/audit/stats", Some(&wrong)).await;
        attempts += 1;
        if resp.status() == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(resp.headers()["retry-after"], "60");
            break;
        }
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert!(attempts < 100, "never rate-limited");
    }
    assert_eq!(
        attempts, 11,
        "10 failures allowed, the 11th attempt is refused"
    );
    let resp = call(
        &proxy,
        "GET",
        "/admin/audit/stats",
        Some(&bearer(&tokens.officer)),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let metrics = proxy.metrics().await;
    assert!(
        metrics.contains("privgate_admin_auth_failures_total{reason=\"rate_limited\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("privgate_admin_auth_failures_total{reason=\"wrong\"} 10"),
        "{metrics}"
    );
    println!("H3 brute force: 429 after {} failures", attempts - 1);
}

/// H4: every admin action leaves an access event naming the token (never the token itself).
#[tokio::test]
async fn admin_actions_are_audited_with_the_token_name() {
    let up = FakeUpstream::start().await;
    let tokens = Tokens::new();
    let proxy = start_proxy(&up, |c| tokens.install(c)).await;
    let resp = proxy
        .client
        .post(proxy.url("/v1/chat/completions"))
        .header("x-privgate-subject", "carol-9")
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": "hello"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let officer = bearer(&tokens.officer);
    let reads = [
        "/admin/audit/query?subject=carol-9",
        "/admin/audit/export?subject=carol-9",
        "/admin/audit/stats",
        "/admin/audit/verify",
        "/admin/audit/public-key",
    ];
    for path in reads {
        let resp = call(&proxy, "GET", path, Some(&officer)).await;
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
    }
    let resp = call(
        &proxy,
        "GET",
        "/admin/audit/query?subject=carol-9&format=csv",
        Some(&officer),
    )
    .await;
    assert_eq!(resp.headers()["x-privgate-count"], "1");
    assert!(resp.text().await.unwrap().starts_with("seq,time,state"));
    let all = call(&proxy, "GET", "/admin/audit/query", Some(&officer))
        .await
        .text()
        .await
        .unwrap();
    let access: Vec<serde_json::Value> = all
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["content"]["event"]["event"] == "access")
        .collect();
    let by_officer: Vec<_> = access
        .iter()
        .filter(|v| v.to_string().contains("\"principal\":\"officer-1\""))
        .collect();
    assert_eq!(
        by_officer.len(),
        reads.len() + 1,
        "reads N → access events N: {all}"
    );
    for action in ["query", "export", "stats", "verify", "public-key"] {
        assert!(
            by_officer
                .iter()
                .any(|v| v.to_string().contains(&format!("\"action\":\"{action}\""))),
            "{action}: {all}"
        );
    }
    assert!(!all.contains(tokens.officer.expose()));
    assert!(!all.contains("carol-9"), "subjects only as blind indexes");
    println!("H4 admin reads audited: {0}/{0}", reads.len() + 1);
    // Bad input is a 400 with a message, not a crash.
    let resp = call(
        &proxy,
        "GET",
        "/admin/audit/query?since=yesterday",
        Some(&officer),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = call(
        &proxy,
        "GET",
        "/admin/audit/query?colour=red",
        Some(&officer),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

const V1: &str = "id = \"support\"\nversion = \"1\"\n[actions]\nEMAIL = \"pseudonymise\"\n";
const BROKEN: &str = "id = \"support\"\nversion = \"3\"\n[actions]\nEMAIL = \"vaporise\"\n";

/// `POST /admin/reload` reloads the policies (200) or names the problems and keeps the old ones
/// (422).
#[tokio::test]
async fn reload_over_the_admin_api() {
    let up = FakeUpstream::start().await;
    let tokens = Tokens::new();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("support.toml"), V1).unwrap();
    let policies = dir.path().to_path_buf();
    let proxy = start_proxy(&up, |c| {
        tokens.install(c);
        c.server.policies_dir = Some(policies);
        c.server.policy = "support".into();
    })
    .await;
    let ops = bearer(&tokens.ops);
    let resp = call(&proxy, "POST", "/admin/reload", Some(&ops)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["policy"], "support");
    std::fs::write(dir.path().join("support.toml"), BROKEN).unwrap();
    let resp = call(&proxy, "POST", "/admin/reload", Some(&ops)).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert!(v["problems"].to_string().contains("vaporise"), "{v}");
    // The previous policy stays in force.
    let ready = call(&proxy, "GET", "/readyz", None).await;
    assert_eq!(ready.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(10)).await;
}

/// The discovery file the CLI uses: written on start (0600), removed on clean shutdown.
#[tokio::test]
async fn the_discovery_file_lives_as_long_as_the_server() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let data = proxy.server.state.config.server.data_dir.clone();
    let d = privgate::admin::client::Discovery::read(&data).expect("admin.json");
    assert_eq!(d.addr, proxy.server.admin_addr);
    assert_eq!(d.scheme, "http");
    assert_eq!(d.pid, std::process::id());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("admin.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let TestProxy { server, dir, .. } = proxy;
    server.shutdown(Duration::from_secs(2)).await;
    assert!(!data.join("admin.json").exists());
    drop(dir);
}
