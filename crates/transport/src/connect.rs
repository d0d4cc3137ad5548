//! The hyper stack: a pooled hyper-util client over hyper-rustls (ring),
//! HTTP/1.1 keep-alive or HTTP/2 by ALPN, with a connector that never holds
//! more than `max_connections` connections open, and the mapping of its
//! failures into [`TransportError`]s.

use std::error::Error as StdError;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder, MaybeHttpsStream};
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use rustls::RootCertStore;
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wa_groups_protocol::{TransportError, TransportErrorKind};

type BoxError = Box<dyn StdError + Send + Sync>;

/// Builds the connector every connection of a client is made with: TCP
/// with a connect timeout, TLS (ring) offering HTTP/2 and HTTP/1.1 by ALPN,
/// plain HTTP for loopback, and the `max_connections` limit.
pub(crate) fn connector(
    roots: RootCertStore,
    connect_timeout: Duration,
    max_connections: usize,
) -> Result<LimitedConnector, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS configuration: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();

    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(connect_timeout));
    let https = HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    Ok(LimitedConnector {
        inner: https,
        permits: Arc::new(Semaphore::new(max_connections)),
    })
}

/// Wraps the HTTPS connector so that each open connection holds a permit:
/// never more than `max_connections` are open at once. A connection gives
/// its permit back when hyper drops it. (Sharing one HTTP/2 connection is
/// the pool's business: see `pool.rs`.)
#[derive(Clone)]
pub(crate) struct LimitedConnector {
    inner: HttpsConnector<HttpConnector>,
    permits: Arc<Semaphore>,
}

impl tower_service::Service<Uri> for LimitedConnector {
    type Response = CountedIo<MaybeHttpsStream<TokioIo<TcpStream>>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let permits = Arc::clone(&self.permits);
        let mut inner = self.inner.clone();
        Box::pin(async move {
            let permit = permits
                .acquire_owned()
                .await
                .map_err(|e| Box::new(e) as BoxError)?;
            std::future::poll_fn(|cx| inner.poll_ready(cx)).await?;
            let io = inner.call(uri).await?;
            Ok(CountedIo {
                io,
                _permit: permit,
            })
        })
    }
}

/// A connection holding one of the connector's permits.
pub(crate) struct CountedIo<T> {
    io: T,
    _permit: OwnedSemaphorePermit,
}

impl<T: hyper::rt::Read + Unpin> hyper::rt::Read for CountedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: hyper::rt::Write + Unpin> hyper::rt::Write for CountedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
}

impl<T: Connection> Connection for CountedIo<T> {
    fn connected(&self) -> Connected {
        self.io.connected()
    }
}

/// Maps a failure of the pooled client (connect, TLS, send, receive) or of
/// reading a body to a [`TransportError`]. The message is the chain of
/// causes; none of them holds the request, its headers or its body.
pub(crate) fn transport_error(err: &(dyn StdError + 'static), is_connect: bool) -> TransportError {
    let mut kind = if is_connect {
        TransportErrorKind::Connect
    } else {
        TransportErrorKind::Other
    };
    let mut parts: Vec<String> = Vec::new();
    // The deepest OS error is kept as the source, so bindings can chain it
    // (Python's `__cause__` becomes the matching `OSError`).
    let mut os_error: Option<io::Error> = None;
    let mut next: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = next {
        if let Some(code) = e
            .downcast_ref::<io::Error>()
            .and_then(io::Error::raw_os_error)
        {
            os_error = Some(io::Error::from_raw_os_error(code));
        }
        if is_tls(e) {
            kind = TransportErrorKind::Tls;
        } else if kind == TransportErrorKind::Other && is_reset(e) {
            kind = TransportErrorKind::ConnectionReset;
        }
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        // An io::Error shows its payload in its own text, and is_tls looks
        // inside it; its source() is the payload's source.
        next = e.source();
    }
    let error = TransportError::new(kind, parts.join(": "));
    match os_error {
        Some(source) => error.with_source(source),
        None => error,
    }
}

fn is_tls(e: &(dyn StdError + 'static)) -> bool {
    // hyper-rustls wraps tokio-rustls's io::Error (which holds the
    // rustls::Error) in another io::Error; source() skips both payloads.
    let mut current = e;
    for _ in 0..8 {
        if current.is::<rustls::Error>() {
            return true;
        }
        match current
            .downcast_ref::<io::Error>()
            .and_then(io::Error::get_ref)
        {
            Some(inner) => current = inner,
            None => return false,
        }
    }
    false
}

fn is_reset(e: &(dyn StdError + 'static)) -> bool {
    if let Some(h) = e.downcast_ref::<hyper::Error>() {
        return h.is_incomplete_message() || h.is_canceled() || h.is_closed();
    }
    e.downcast_ref::<io::Error>().is_some_and(|io| {
        matches!(
            io.kind(),
            io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof
        )
    })
}
