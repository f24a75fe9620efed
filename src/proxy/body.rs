//! Response and upstream-request body types: one boxed body for everything the proxy sends, and a
//! guard that keeps the `active_streams` gauge honest however a stream ends.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use prometheus::IntGauge;

/// Any error a body can end with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body type of every response privgate sends and every request it forwards.
pub type ProxyBody = BoxBody<Bytes, BoxError>;

/// A complete body.
pub fn full(bytes: impl Into<Bytes>) -> ProxyBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// An empty body.
pub fn empty() -> ProxyBody {
    Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed()
}

/// Wraps a streamed body: increments `gauge` now and decrements it when the stream ends, fails
/// or is dropped (client gone).
pub struct Tracked {
    inner: ProxyBody,
    gauge: Option<IntGauge>,
}

impl Tracked {
    /// Starts tracking.
    pub fn new(inner: ProxyBody, gauge: IntGauge) -> Tracked {
        gauge.inc();
        Tracked {
            inner,
            gauge: Some(gauge),
        }
    }

    fn done(&mut self) {
        if let Some(g) = self.gauge.take() {
            g.dec();
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.done();
    }
}

impl Body for Tracked {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            self.done();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
