//! Finding and calling a running server's admin API: the discovery file `<data_dir>/admin.json`
//! that `serve` writes (address, scheme, pid; mode 0600) and a one-request HTTP/1.1 client, so
//! `privgate audit …` works while a server holds the audit store (sled admits one process).
//!
//! Owns: [`Discovery`] and [`request`]. What each CLI command sends is in `main.rs`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};

use super::auth::AdminToken;

/// The discovery file's name inside the data dir.
pub const DISCOVERY_FILE: &str = "admin.json";

/// Where a running server's admin API is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Discovery {
    /// The admin listener's address.
    pub addr: SocketAddr,
    /// `http` or `https`.
    pub scheme: String,
    /// The server's process id.
    pub pid: u32,
    /// The CA to trust for `https` (the generated dev CA), if any.
    #[serde(default)]
    pub ca: Option<PathBuf>,
}

impl Discovery {
    /// The base URL, e.g. `http://127.0.0.1:9090`.
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// Writes `<data_dir>/admin.json` (mode 0600, replaced atomically).
    pub fn write(&self, data_dir: &Path) -> std::io::Result<()> {
        use std::io::Write;
        let tmp = data_dir.join(format!("{DISCOVERY_FILE}.tmp"));
        let _ = std::fs::remove_file(&tmp);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(&serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?)?;
        f.sync_all()?;
        std::fs::rename(&tmp, data_dir.join(DISCOVERY_FILE))
    }

    /// Reads `<data_dir>/admin.json`, if there is one.
    pub fn read(data_dir: &Path) -> Option<Discovery> {
        let text = std::fs::read(data_dir.join(DISCOVERY_FILE)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Removes `<data_dir>/admin.json` if it names this process.
    pub fn remove_own(data_dir: &Path) {
        if Discovery::read(data_dir).is_some_and(|d| d.pid == std::process::id()) {
            let _ = std::fs::remove_file(data_dir.join(DISCOVERY_FILE));
        }
    }

    /// Whether the process it names still runs (Linux: `/proc/<pid>`; elsewhere assumed alive).
    pub fn alive(&self) -> bool {
        if cfg!(target_os = "linux") {
            Path::new("/proc").join(self.pid.to_string()).exists()
        } else {
            true
        }
    }
}

/// Calling the admin API failed before an HTTP answer arrived.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Connecting, TLS or the exchange failed.
    #[error("admin API at {url}: {message}")]
    Connect {
        /// The base URL.
        url: String,
        /// What failed.
        message: String,
    },
}

/// An admin API answer.
#[derive(Debug)]
pub struct ClientResponse {
    /// The HTTP status.
    pub status: u16,
    /// The response headers.
    pub headers: http::HeaderMap,
    /// The body as text.
    pub body: String,
}

/// Sends one request to the admin API and reads the whole answer.
pub async fn request(
    target: &Discovery,
    token: &AdminToken,
    method: Method,
    path_and_query: &str,
    body: Option<serde_json::Value>,
) -> Result<ClientResponse, ClientError> {
    let fail = |message: String| ClientError::Connect {
        url: target.url(),
        message,
    };
    let tcp = tokio::net::TcpStream::connect(target.addr)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let mut req = Request::builder()
        .method(method)
        .uri(path_and_query)
        .header(http::header::HOST, target.addr.to_string())
        .header(
            http::header::AUTHORIZATION,
            format!("Bearer {}", token.expose()),
        );
    let payload = match body {
        Some(v) => {
            req = req.header(http::header::CONTENT_TYPE, "application/json");
            Bytes::from(v.to_string())
        }
        None => Bytes::new(),
    };
    let req = req
        .body(Full::new(payload))
        .map_err(|_| fail("invalid request".into()))?;
    let resp = if target.scheme == "https" {
        let mut config =
            crate::tls::client_config(target.ca.as_deref()).map_err(|e| fail(e.to_string()))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let name = if target.addr.ip().is_loopback() {
            rustls::pki_types::ServerName::try_from("localhost".to_string())
        } else {
            rustls::pki_types::ServerName::try_from(target.addr.ip().to_string())
        }
        .map_err(|_| fail("invalid server name".into()))?;
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| fail(e.to_string()))?;
        exchange(TokioIo::new(tls), req).await
    } else {
        exchange(TokioIo::new(tcp), req).await
    }
    .map_err(fail)?;
    Ok(resp)
}

async fn exchange<I>(io: I, req: Request<Full<Bytes>>) -> Result<ClientResponse, String>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| e.to_string())?;
    // Ends when the one exchange is done and the sender is dropped.
    tokio::spawn(conn);
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok(ClientResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}
