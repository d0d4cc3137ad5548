//! The response body: a whole buffer, or one of the faulty bodies.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

/// How much padding one frame carries.
const FILL_FRAME: usize = 64 * 1024;

/// The spaces padding is cut from, made on first use: a static array would
/// put 64 KiB of spaces into every binary that holds the emulator (both
/// packages among them).
fn fill_frame() -> &'static Bytes {
    static FILL: OnceLock<Bytes> = OnceLock::new();
    FILL.get_or_init(|| Bytes::from(vec![b' '; FILL_FRAME]))
}

/// Error a faulty body ends with, so hyper aborts the connection.
#[derive(Debug)]
pub(crate) struct Aborted;

impl std::fmt::Display for Aborted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("emulator fault: connection aborted")
    }
}

impl std::error::Error for Aborted {}

/// The body of every emulator response.
pub(crate) enum EmuBody {
    Full(Option<Bytes>),
    /// `prefix`, then `fill` bytes of spaces, then `suffix`.
    Oversize {
        prefix: Option<Bytes>,
        fill: u64,
        suffix: Option<Bytes>,
    },
    /// Sends its bytes, waits a moment (so hyper flushes the head and
    /// those bytes), then fails, which makes hyper drop the connection.
    Truncated {
        data: Option<Bytes>,
        pause: Option<Pin<Box<tokio::time::Sleep>>>,
    },
}

impl EmuBody {
    pub(crate) fn full(b: impl Into<Bytes>) -> Self {
        Self::Full(Some(b.into()))
    }

    pub(crate) fn truncated(data: Bytes) -> Self {
        Self::Truncated {
            data: Some(data),
            pause: None,
        }
    }

    pub(crate) fn oversize(bytes: u64) -> Self {
        const PREFIX: &[u8] = b"{\"data\":[],\"padding\":\"";
        const SUFFIX: &[u8] = b"\"}";
        let frame = (PREFIX.len() + SUFFIX.len()) as u64;
        if bytes < frame {
            return Self::Oversize {
                prefix: None,
                fill: bytes,
                suffix: None,
            };
        }
        Self::Oversize {
            prefix: Some(Bytes::from_static(PREFIX)),
            fill: bytes - frame,
            suffix: Some(Bytes::from_static(SUFFIX)),
        }
    }
}

impl Body for EmuBody {
    type Data = Bytes;
    type Error = Aborted;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Aborted>>> {
        let this = self.get_mut();
        let out = match this {
            Self::Full(b) => b.take().map(|b| Ok(Frame::data(b))),
            Self::Oversize {
                prefix,
                fill,
                suffix,
            } => {
                if let Some(p) = prefix.take() {
                    Some(Ok(Frame::data(p)))
                } else if *fill > 0 {
                    let n = (*fill).min(FILL_FRAME as u64) as usize;
                    *fill -= n as u64;
                    Some(Ok(Frame::data(fill_frame().slice(..n))))
                } else {
                    suffix.take().map(|s| Ok(Frame::data(s)))
                }
            }
            Self::Truncated { data, pause } => {
                if let Some(b) = data.take() {
                    return Poll::Ready(Some(Ok(Frame::data(b))));
                }
                let sleep = pause.get_or_insert_with(|| {
                    Box::pin(tokio::time::sleep(std::time::Duration::from_millis(50)))
                });
                if sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                Some(Err(Aborted))
            }
        };
        Poll::Ready(out)
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Full(b) => b.is_none(),
            Self::Oversize {
                prefix,
                fill,
                suffix,
            } => prefix.is_none() && *fill == 0 && suffix.is_none(),
            Self::Truncated { .. } => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            Self::Oversize {
                prefix,
                fill,
                suffix,
            } => SizeHint::with_exact(
                prefix.as_ref().map_or(0, |b| b.len() as u64)
                    + fill
                    + suffix.as_ref().map_or(0, |b| b.len() as u64),
            ),
            Self::Truncated { .. } => SizeHint::default(),
        }
    }
}
