//! Shared test fixtures: the fake upstream, a proxy started in-process on loopback with real TLS
//! and a generated CA, a real HTTPS client that trusts that CA, and PII canaries written for
//! these tests (checksums computed here, not copied from any corpus).

#![allow(dead_code)]

pub mod upstream;

use std::net::SocketAddr;
use std::path::PathBuf;

use privgate::config::{Config, Upstream};
use privgate::proxy::Server;
use tempfile::TempDir;

pub use upstream::FakeUpstream;

/// Lines of a fixture file (one SSE `data` payload per line).
pub fn fixture_events(name: &str) -> Vec<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// A proxy under test.
pub struct TestProxy {
    pub server: Server,
    pub base: String,
    pub admin: String,
    pub client: reqwest::Client,
    pub ca: PathBuf,
    pub dir: TempDir,
}

impl TestProxy {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn metrics(&self) -> String {
        reqwest::get(format!("{}/metrics", self.admin))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Every audit record so far, decrypted, as one JSON text (for `contains` checks).
    pub async fn audit_text(&self) -> String {
        let audit = self.server.state.audit.as_ref().expect("audit is on");
        let records = audit.query(Default::default()).await.unwrap();
        serde_json::to_string(&records).unwrap()
    }

    pub async fn post(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("authorization", "Bearer sk-test-client")
            .json(body)
            .send()
            .await
            .unwrap()
    }
}

/// A response's status and privgate error `code` (empty when it has none).
pub async fn status_and_code(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let v: serde_json::Value = resp.json().await.unwrap_or(serde_json::Value::Null);
    (
        status,
        v["error"]["code"].as_str().unwrap_or("").to_string(),
    )
}

/// A client trusting `ca`, resolving `localhost` to `addr`.
pub fn client_for(ca: &std::path::Path, addr: SocketAddr) -> reqwest::Client {
    let pem = std::fs::read(ca).unwrap();
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .resolve("localhost", addr)
        .build()
        .unwrap()
}

/// Starts privgate against `up`, after `tweak` adjusts the config.
pub async fn start_proxy(up: &FakeUpstream, tweak: impl FnOnce(&mut Config)) -> TestProxy {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    config.server.admin_listen = "127.0.0.1:0".parse().unwrap();
    config.server.certs_dir = dir.path().join("certs");
    config.server.data_dir = dir.path().join("data");
    let upstream = Upstream {
        extra_ca: up.ca.clone(),
        ..Upstream::new(&up.url)
    };
    config.upstreams.openai = upstream.clone();
    config.upstreams.anthropic = upstream.clone();
    config.upstreams.gemini = upstream.clone();
    config.upstreams.ollama = upstream;
    tweak(&mut config);
    let paths = privgate::tls::CertPaths::in_dir(&config.server.certs_dir);
    privgate::tls::ensure_dev_certs(&paths).unwrap();
    let server = Server::start(config).await.expect("proxy starts");
    let client = client_for(&paths.ca, server.addr);
    TestProxy {
        base: format!("https://localhost:{}", server.addr.port()),
        admin: format!("http://{}", server.admin_addr),
        server,
        client,
        ca: paths.ca,
        dir,
    }
}

/// Appends the Luhn check digit to `body`.
pub fn luhn_complete(body: &str) -> String {
    let digits: Vec<u32> = body.chars().map(|c| c.to_digit(10).unwrap()).collect();
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
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

/// Completes a 17-digit PRC resident id with its ISO 7064 MOD 11-2 check character.
pub fn cn_id_complete(body17: &str) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const C: &[u8; 11] = b"10X98765432";
    let s: u32 = body17
        .chars()
        .zip(W)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    format!("{body17}{}", C[(s % 11) as usize] as char)
}

/// Computes the two IBAN check digits for a country and BBAN.
pub fn iban_complete(country: &str, bban: &str) -> String {
    let rearranged = format!("{bban}{country}00");
    let mut rem: u32 = 0;
    for c in rearranged.chars() {
        let v = c.to_digit(36).unwrap();
        for d in v.to_string().chars() {
            rem = (rem * 10 + d.to_digit(10).unwrap()) % 97;
        }
    }
    format!("{country}{:02}{bban}", 98 - rem)
}

/// One canary value per entity type of the core set.
#[derive(Debug, Clone)]
pub struct Canaries {
    pub email: String,
    pub phone: String,
    pub card: String,
    pub iban: String,
    pub ipv4: String,
    pub ipv6: String,
    pub ssn: String,
    pub openai_key: String,
    pub aws_key: String,
    pub github_token: String,
    pub cn_phone: String,
    pub cn_id: String,
}

impl Canaries {
    pub fn new() -> Canaries {
        Canaries {
            email: "marta.kowalczyk.q7@example.org".into(),
            phone: "+44 20 7946 0321".into(),
            card: luhn_complete("453914880343646"),
            iban: iban_complete("DE", "370400440532013077"),
            ipv4: "198.51.100.73".into(),
            ipv6: "2001:db8:85a3::8a2e:370:7334".into(),
            ssn: "536-22-8093".into(),
            openai_key: "sk-proj-Q3vT8xLm2Rk9Wz4Yb7Nc1Hd5Fg6Js0PaEuKiOl".into(),
            aws_key: "AKIAZ7Q4MPLX3RWT9KVB".into(),
            github_token: "ghp_8fK2mQ9xLp4Rt7Wv1Zc3Yb6Nd0Hs5Gj2AeUq".into(),
            cn_phone: "13912345678".into(),
            cn_id: cn_id_complete("11010519880412003"),
        }
    }

    /// Every value, for leak scans.
    pub fn all(&self) -> Vec<&str> {
        vec![
            &self.email,
            &self.phone,
            &self.card,
            &self.iban,
            &self.ipv4,
            &self.ipv6,
            &self.ssn,
            &self.openai_key,
            &self.aws_key,
            &self.github_token,
            &self.cn_phone,
            &self.cn_id,
        ]
    }

    /// The values that must come back restored in answers (all but secrets).
    pub fn restorable(&self) -> Vec<&str> {
        vec![
            &self.email,
            &self.phone,
            &self.card,
            &self.iban,
            &self.ipv4,
            &self.ipv6,
            &self.ssn,
            &self.cn_phone,
            &self.cn_id,
        ]
    }

    /// A sentence holding the restorable values.
    pub fn sentence(&self) -> String {
        format!(
            "Hi, I am writing about my account. Mail {} or call {}. Card {} and IBAN {}. \
             Logged in from {} and {}. SSN {}.",
            self.email, self.phone, self.card, self.iban, self.ipv4, self.ipv6, self.ssn
        )
    }

    /// A Chinese sentence with CJK-adjacent digits.
    pub fn chinese(&self) -> String {
        format!(
            "你好，我的电话{}，身份证号码{}谢谢",
            self.cn_phone, self.cn_id
        )
    }

    /// A sentence with secrets only.
    pub fn secrets(&self) -> String {
        format!(
            "my keys: {} and {} and {}",
            self.openai_key, self.aws_key, self.github_token
        )
    }
}

/// Asserts no canary value appears in `haystack`; names the leaked one (it is a test value).
pub fn assert_no_leak(haystack: &str, canaries: &Canaries, what: &str) {
    for v in canaries.all() {
        assert!(!haystack.contains(v), "{what} contains canary {v:?}");
        let compact: String = v
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if compact.len() > 6 {
            assert!(
                !haystack.contains(&compact),
                "{what} contains canary {compact:?}"
            );
        }
    }
}

/// The real `privgate` binary serving on loopback ports, its output in files under `dir`.
pub struct BinaryServer {
    pub child: tokio::process::Child,
    pub addr: SocketAddr,
    pub admin: SocketAddr,
    pub ca: PathBuf,
    pub data: PathBuf,
}

impl BinaryServer {
    /// Starts `privgate serve` against `up` with certs and data under `dir`, and waits until
    /// `/readyz` answers.
    pub async fn spawn(
        up: &FakeUpstream,
        dir: &std::path::Path,
        extra: &[&str],
        log: &str,
    ) -> BinaryServer {
        let free = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
        };
        let (addr, admin) = (free(), free());
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_privgate"))
            .args(["serve", "--listen", &addr.to_string()])
            .args(["--admin-listen", &admin.to_string()])
            .arg("--certs-dir")
            .arg(dir.join("certs"))
            .arg("--data-dir")
            .arg(dir.join("data"))
            .args([
                "--upstream-openai",
                &up.url,
                "--upstream-anthropic",
                &up.url,
            ])
            .args(extra)
            .env("RUST_LOG", log)
            // Files, not pipes: trace output would fill a pipe nobody reads until the end.
            .stdout(std::process::Stdio::from(
                std::fs::File::create(dir.join("stdout.log")).unwrap(),
            ))
            .stderr(std::process::Stdio::from(
                std::fs::File::create(dir.join("stderr.log")).unwrap(),
            ))
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        for _ in 0..200 {
            if reqwest::get(format!("http://{admin}/readyz"))
                .await
                .is_ok_and(|r| r.status() == 200)
            {
                return BinaryServer {
                    child,
                    addr,
                    admin,
                    ca: dir.join("certs/dev-ca.pem"),
                    data: dir.join("data"),
                };
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the privgate binary did not become ready");
    }

    /// SIGKILL, and wait for the process to be gone.
    pub async fn kill(&mut self) {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
    }
}

/// Reads a streamed answer to its end; returns the bytes received and whether the stream ended
/// with an error (rather than cleanly). Panics if a chunk takes more than 5 s (a hang).
pub async fn read_stream(resp: reqwest::Response) -> (Vec<u8>, bool) {
    use futures_util::StreamExt;
    let mut stream = resp.bytes_stream();
    let mut got = Vec::new();
    while let Some(chunk) = tokio::time::timeout(std::time::Duration::from_secs(5), stream.next())
        .await
        .expect("no hang: every chunk or the end within 5 s")
    {
        match chunk {
            Ok(b) => got.extend_from_slice(&b),
            Err(_) => return (got, true),
        }
    }
    (got, false)
}
