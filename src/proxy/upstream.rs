//! The upstream side: one pooled hyper client per upstream (HTTPS with webpki roots plus an
//! optional extra CA, or plain HTTP when the URL says so), and URL joining.
//!
//! Retries: hyper's pool retries a request only when a pooled connection closed before any byte
//! of it was written; once body bytes went upstream, a failure is the client's 502, never a
//! silent second POST.

use std::time::Duration;

use http::Uri;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::body::ProxyBody;
use crate::config::{self, Limits, Upstream};
use crate::tls::{self, TlsError};

/// A pooled HTTP client for one upstream.
pub type UpstreamClient = Client<HttpsConnector<HttpConnector>, ProxyBody>;

/// One resolved upstream: where to send, and the client to send with.
#[derive(Clone)]
pub struct ResolvedUpstream {
    /// Scheme and authority.
    pub base: Uri,
    /// Path prefix from the configured URL, without a trailing `/` (often empty).
    pub prefix: String,
    /// The pooled client.
    pub client: UpstreamClient,
    /// The URL as configured, for startup messages.
    pub display: String,
    /// Declared processing region, for transfer rules.
    pub region: Option<String>,
    /// Declared transfer basis (`adequacy`, `scc`, `none`).
    pub transfer_basis: Option<String>,
}

impl std::fmt::Debug for ResolvedUpstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedUpstream")
            .field("url", &self.display)
            .finish()
    }
}

/// Errors building an upstream.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The URL is not usable.
    #[error("upstream URL: {0}")]
    Url(String),
    /// The extra CA could not be loaded.
    #[error(transparent)]
    Tls(#[from] TlsError),
}

impl ResolvedUpstream {
    /// Builds the client for an upstream.
    pub fn new(up: &Upstream, limits: &Limits) -> Result<ResolvedUpstream, UpstreamError> {
        let uri = config::validate_upstream_url(&up.url).map_err(UpstreamError::Url)?;
        let prefix = uri.path().trim_end_matches('/').to_string();
        let base = Uri::builder()
            .scheme(uri.scheme_str().unwrap_or("https"))
            .authority(
                uri.authority()
                    .map(|a| a.as_str())
                    .ok_or_else(|| UpstreamError::Url("no host".into()))?,
            )
            .path_and_query("/")
            .build()
            .map_err(|e| UpstreamError::Url(e.to_string()))?;

        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(config::ms(limits.upstream_connect_timeout_ms)));
        http.set_keepalive(Some(Duration::from_secs(60)));
        let tls = tls::client_config(up.extra_ca.as_deref())?;
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(config::ms(limits.upstream_pool_idle_ms))
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(https);
        Ok(ResolvedUpstream {
            base,
            prefix,
            client,
            display: up.url.clone(),
            region: up.region.clone(),
            transfer_basis: up.transfer_basis.clone(),
        })
    }

    /// The upstream URI for a client path and query.
    pub fn uri_for(&self, path_and_query: &str) -> Result<Uri, http::Error> {
        let mut parts = self.base.clone().into_parts();
        parts.path_and_query = Some(format!("{}{}", self.prefix, path_and_query).parse()?);
        Ok(Uri::from_parts(parts)?)
    }

    /// The host name, for logs.
    pub fn host(&self) -> &str {
        self.base.host().unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_prefix_and_path() {
        tls::install_crypto_provider();
        let up = ResolvedUpstream::new(
            &Upstream::new("http://127.0.0.1:11434/api/"),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(
            up.uri_for("/v1/chat/completions?x=1").unwrap().to_string(),
            "http://127.0.0.1:11434/api/v1/chat/completions?x=1"
        );
    }
}
