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
    pub expired: AdminToken,
}

impl Tokens {
    pub fn new() -> Tokens {
        Tokens {
            officer: AdminToken::generate(),
            ops: AdminToken::generate(),
            admin: AdminToken::generate(),
            officer_ops: AdminToken::generate(),
            expired: AdminToken::generate(),
        }
    }

    pub fn install(&self, config: &mut Config) {
        let entry = |name: &str, t: &AdminToken, roles: Vec<AdminRole>| AdminTokenEntry {
            name: name.into(),
            sha256: t.digest().to_hex(),
            roles,
            expires: None,
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
            AdminTokenEntry {
                expires: Some("2020-01-01".into()),
                ..entry("expired", &self.expired, vec![AdminRole::Admin])
            },
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
    let query = if path == "/admin/audit/export" || path == "/admin/consent/show" {
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
        "/admin/consent/grant" | "/admin/consent/withdraw" => {
            req.json(&json!({"subject": "nobody-in-particular", "purpose": "support"}))
        }
        "/admin/consent/restrict" | "/admin/consent/unrestrict" | "/admin/consent/erase" => {
            req.json(&json!({"subject": "nobody-in-particular"}))
        }
        _ => req,
    };
    req.send().await.unwrap()
}

fn bearer(t: &AdminToken) -> String {
    format!("Bearer {}", t.expose())
}

/// H1: every route × {no token, malformed, empty, wrong, expired, insufficient role, valid} →
/// 401/401/401/401/401/403/200 (a revoked token is a removed entry, i.e. "wrong"), with `WWW-Authenticate: Bearer` on every 401 and nothing else revealed.
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
                "expired",
                Some(bearer(&tokens.expired)),
                StatusCode::UNAUTHORIZED,
            ),
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
        5 * privgate::admin::routes().len() as u64,
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

/// `POST /admin/audit/purge {"retention": true}` applies the server's retention rules (here
/// `retention_days = 0`: everything already written is past it) and the chain still verifies.
#[tokio::test]
async fn retention_over_the_admin_api() {
    let up = FakeUpstream::start().await;
    let tokens = Tokens::new();
    let proxy = start_proxy(&up, |c| {
        tokens.install(c);
        c.audit.retention_days = Some(0);
    })
    .await;
    let resp = proxy
        .client
        .post(proxy.url("/v1/chat/completions"))
        .header("x-privgate-subject", "dora-3")
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": "hello"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    tokio::time::sleep(Duration::from_millis(5)).await;
    let officer = bearer(&tokens.officer);
    let client = reqwest::Client::new();
    let purge = |body: serde_json::Value| {
        client
            .post(format!("{}/admin/audit/purge", proxy.admin))
            .header("authorization", &officer)
            .json(&body)
            .send()
    };
    let resp = purge(json!({"retention": true})).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let report: serde_json::Value = resp.json().await.unwrap();
    assert!(
        report["records_tombstoned"].as_u64().unwrap() >= 2,
        "intent and completion: {report}"
    );
    for bad in [
        json!({}),
        json!({"before": "2000-01-01", "retention": true}),
    ] {
        let resp = purge(bad.clone()).await.unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    let resp = call(
        &proxy,
        "GET",
        "/admin/audit/query?subject=dora-3",
        Some(&officer),
    )
    .await;
    assert_eq!(
        resp.headers()["x-privgate-count"],
        "0",
        "tombstoned: out of the index"
    );
    let resp = call(&proxy, "GET", "/admin/audit/verify", Some(&officer)).await;
    let text = resp.text().await.unwrap();
    assert!(
        text.contains("\"ok\":true") && text.contains("\"tombstones\":"),
        "{text}"
    );
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

/// Runs the real binary with `env`, returning (exit code, stdout, stderr).
fn privgate(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_privgate"));
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

/// The same command's output with what legitimately changes between two runs removed: export
/// timestamps, and verify's "checked at" line.
fn stable(out: &str) -> String {
    if let Ok(mut v) = serde_json::from_str::<serde_json::Value>(out) {
        if let Some(o) = v.as_object_mut() {
            o.remove("exported_at");
        }
        return v.to_string();
    }
    out.to_string()
}

/// `privgate audit …` on the data dir of a running real binary goes through its admin API (token
/// from the environment or a 0600 file) and prints what the same command prints on the stopped
/// server's data dir; without a token it says which one is needed. Tokens never reach the logs,
/// even at `RUST_LOG=trace` (H3 canary).
#[tokio::test]
async fn the_cli_works_through_a_running_server_with_the_same_output() {
    use crate::common::{client_for, BinaryServer};
    let up = FakeUpstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = privgate(
        &["admin", "token", "--name", "dpo-cli", "--roles", "officer"],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let token = out
        .lines()
        .find_map(|l| l.strip_prefix("token: "))
        .unwrap()
        .to_string();
    let entry = out.lines().find(|l| l.starts_with("{ name")).unwrap();
    let config = dir.path().join("privgate.toml");
    std::fs::write(&config, format!("[admin]\ntokens = [\n  {entry}\n]\n")).unwrap();
    let (code, _, err) = privgate(&["check", "--config", config.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "the printed line is valid config: {err}");

    let mut bin = BinaryServer::spawn(
        &up,
        dir.path(),
        &["--config", config.to_str().unwrap()],
        "trace",
    )
    .await;
    let client = client_for(&bin.ca, bin.addr);
    let base = format!("https://localhost:{}", bin.addr.port());
    for subject in ["alice-1", "alice-1", "bob-2"] {
        let resp = client
            .post(format!("{base}/v1/chat/completions"))
            .header("x-privgate-subject", subject)
            .json(&json!({"model": "m", "messages": [{"role": "user", "content": "mail x.y@example.com"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    let data = bin.data.to_str().unwrap().to_string();
    let audit = |args: &[&str], env: &[(&str, &str)]| {
        let mut all = vec!["audit"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--data-dir", &data]);
        privgate(&all, env)
    };
    let commands: Vec<Vec<&str>> = vec![
        vec!["query", "--subject", "alice-1"],
        vec!["query", "--subject", "alice-1", "--format", "csv"],
        vec!["query", "--subject", "alice-1", "--format", "table"],
        vec!["query", "--subject", "nobody", "--format", "csv"],
        vec!["query", "--route", "/v1/chat/completions", "--limit", "2"],
        vec!["export", "--subject", "alice-1"],
        vec!["public-key"],
    ];

    // Without a token: a clear message, exit 2.
    let (code, _, err) = audit(&["stats"], &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("PRIVGATE_ADMIN_TOKEN") && err.contains("privgate admin token"),
        "{err}"
    );
    // A wrong token (the canary): refused, exit 2.
    let canary = format!("pgat_canary{}", "7".repeat(56));
    let (code, _, err) = audit(&["stats"], &[("PRIVGATE_ADMIN_TOKEN", &canary)]);
    assert_eq!(code, 2);
    assert!(err.contains("401"), "{err}");
    assert!(!err.contains(&canary));
    // A token file readable by others is refused; 0600 works.
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let (code, _, err) = audit(
            &["stats", "--token-file", token_file.to_str().unwrap()],
            &[],
        );
        assert_eq!(code, 2);
        assert!(err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let (code, out, err) = audit(
        &["stats", "--token-file", token_file.to_str().unwrap()],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"records\""), "{out}");

    let env = [("PRIVGATE_ADMIN_TOKEN", token.as_str())];
    let mut running = Vec::new();
    for c in &commands {
        running.push(audit(c, &env));
    }
    let (code, out, err) = audit(&["verify"], &env);
    assert_eq!(code, 0, "verify through the server: {out}{err}");
    assert!(out.contains("\"ok\":true"), "{out}");
    // Erase through the running server.
    let (code, out, err) = audit(&["erase", "--subject", "bob-2"], &env);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"keys_destroyed\":1"), "{out}");

    // H3 against the real binary: a burst of wrong tokens (the canary among them) is cut off
    // with 429 after the default 10 failures per minute (one was spent above).
    let plain = reqwest::Client::new();
    let mut refused = 0;
    let mut limited = 0;
    for i in 0..200 {
        let presented = if i == 3 {
            canary.clone()
        } else {
            format!("pgat_{i:064x}")
        };
        let status = plain
            .get(format!("http://{}/admin/audit/stats", bin.admin))
            .bearer_auth(&presented)
            .send()
            .await
            .unwrap()
            .status();
        match status {
            StatusCode::UNAUTHORIZED => {
                assert_eq!(limited, 0, "no 401 once limited");
                refused += 1;
            }
            StatusCode::TOO_MANY_REQUESTS => limited += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(refused, 9, "10 failures per minute, one spent earlier");
    assert_eq!(limited, 200 - 9);
    println!("H3 brute force (binary): 429 after 10 failures, {limited} attempts refused");

    // Stop cleanly (SIGTERM): admin.json goes away and the CLI opens the store itself.
    let pid = bin.child.id().unwrap().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = tokio::time::timeout(Duration::from_secs(20), bin.child.wait())
        .await
        .expect("the server stops on SIGTERM")
        .unwrap();
    assert!(status.success());
    assert!(!bin.data.join("admin.json").exists());

    for (c, remote) in commands.iter().zip(&running) {
        let local = audit(c, &[]);
        assert_eq!(local.0, remote.0, "{c:?}: exit codes: {}", remote.2);
        assert_eq!(stable(&local.1), stable(&remote.1), "{c:?}: output");
    }
    assert_eq!(running[3].0, 1, "no records: exit 1 either way");
    let (code, out, _) = audit(&["query", "--subject", "bob-2"], &[]);
    assert_eq!(code, 1, "erased through the API: index entries gone");
    assert!(!out.contains("\"record\""), "erased through the API: {out}");
    let (code, out, err) = audit(&["verify"], &[]);
    assert_eq!(code, 0, "{out}{err}");

    // Every remote action left an access event naming the token's holder.
    let (_, all, _) = audit(&["query"], &[]);
    let remote_reads = all
        .lines()
        .filter(|l| l.contains("\"principal\":\"dpo-cli\""))
        .count();
    assert_eq!(
        remote_reads,
        commands.len() + 3,
        "stats + queries/exports/public-key + verify + erase: {all}"
    );

    // H3: neither the canary nor the real token is in the server's output.
    let logs = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap()
        + &std::fs::read_to_string(dir.path().join("stdout.log")).unwrap();
    assert!(logs.len() > 1000, "trace logging was on");
    for secret in [&canary[..], &token[..], &token[5..], &canary[5..]] {
        assert!(!logs.contains(secret), "a token reached the logs");
    }
    assert!(!all.contains(&token[5..]) && !all.contains(&canary[5..]));
}

/// `[admin] tls = true`: the admin listener speaks HTTPS with the server certificate (plain HTTP
/// is refused), the discovery file says so, and the CLI follows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_listener_can_serve_tls() {
    let up = FakeUpstream::start().await;
    let tokens = Tokens::new();
    let proxy = start_proxy(&up, |c| {
        tokens.install(c);
        c.admin.tls = true;
    })
    .await;
    let admin = proxy.server.admin_addr;
    let https = crate::common::client_for(&proxy.ca, admin);
    let resp = https
        .get(format!(
            "https://localhost:{}/admin/audit/stats",
            admin.port()
        ))
        .header("authorization", bearer(&tokens.officer))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = https
        .get(format!("https://localhost:{}/metrics", admin.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        reqwest::get(format!("http://{admin}/metrics"))
            .await
            .is_err(),
        "plain HTTP is not served when tls = true"
    );
    let data = proxy.server.state.config.server.data_dir.clone();
    let d = privgate::admin::client::Discovery::read(&data).unwrap();
    assert_eq!(d.scheme, "https");
    let r = privgate::admin::client::request(
        &d,
        &tokens.officer,
        http::Method::GET,
        "/admin/audit/public-key",
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body.trim().len(), 64);
    // The CLI (another process) finds this live server and goes through HTTPS.
    let token = tokens.officer.expose().to_string();
    let (code, out, err) = tokio::task::spawn_blocking(move || {
        privgate(
            &["audit", "public-key", "--data-dir", data.to_str().unwrap()],
            &[("PRIVGATE_ADMIN_TOKEN", &token)],
        )
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, r.body);
}
