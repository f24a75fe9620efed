//! HTTP and TLS edge behaviour over raw sockets: ambiguous framing refused, underscores refused,
//! the header-read and TLS-handshake timeouts really fire.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{start_proxy, FakeUpstream, TestProxy};

async fn tls_connect(proxy: &TestProxy) -> tokio_rustls::client::TlsStream<TcpStream> {
    privgate::tls::install_crypto_provider();
    let mut roots = rustls::RootCertStore::empty();
    for c in privgate::tls::load_certs(&proxy.ca).unwrap() {
        roots.add(c).unwrap();
    }
    let mut cfg = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    let tcp = TcpStream::connect(proxy.server.addr).await.unwrap();
    connector
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .unwrap()
}

async fn raw_exchange(proxy: &TestProxy, request: &[u8]) -> String {
    let mut s = tls_connect(proxy).await;
    s.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn content_length_with_transfer_encoding_is_refused_in_either_order() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let body = r#"{"model":"m","messages":[]}"#;
    for headers in [
        format!(
            "Content-Length: {}\r\nTransfer-Encoding: chunked\r\n",
            body.len()
        ),
        format!(
            "Transfer-Encoding: chunked\r\nContent-Length: {}\r\n",
            body.len()
        ),
    ] {
        let req = format!(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n{headers}Connection: close\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
            body.len()
        );
        let resp = raw_exchange(&proxy, req.as_bytes()).await;
        assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");
        assert!(resp.contains("bad_request"));
    }
    assert!(up.requests().is_empty());
}

#[tokio::test]
async fn header_names_with_underscores_are_refused() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let body = r#"{"model":"m","messages":[]}"#;
    let req = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nX_Api_Key: k\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let resp = raw_exchange(&proxy, req.as_bytes()).await;
    assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");
    assert!(up.requests().is_empty());
}

#[tokio::test]
async fn the_header_read_timeout_fires() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |c| c.limits.header_read_timeout_ms = 300).await;
    let mut s = tls_connect(&proxy).await;
    s.write_all(b"POST /v1/chat/completions HTTP/1.1\r\nHost: local")
        .await
        .unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the connection was closed by the server");
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn the_tls_handshake_timeout_fires() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |c| c.limits.tls_handshake_timeout_ms = 300).await;
    let mut tcp = TcpStream::connect(proxy.server.addr).await.unwrap();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "closed without a handshake"
    );
}
