//! `RUST_LOG` support: a tracing subscriber writing to stderr, off unless
//! `RUST_LOG` is set. Every line passes through the access token's
//! [`Redactor`] (all its encodings) and [`terminal_safe`] before it is
//! written, so no level, no crate (hyper, rustls, h2 included) and no
//! server-sent text can put the token or a terminal escape on the screen.

use std::io::Write as _;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use wa_groups::protocol::Redactor;

use crate::output::terminal_safe;

/// Installs the subscriber when `RUST_LOG` is set; `token` is the secret
/// to scrub from every line.
pub(crate) fn init(token: Option<&str>) {
    let Ok(filter) = EnvFilter::try_from_default_env() else {
        return;
    };
    let writer = Scrubbed {
        redactor: Redactor::new(token.unwrap_or_default()),
    };
    // Another subscriber already set is not worth failing the command for.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(writer)
        .try_init();
}

/// Makes one buffered line writer per event.
struct Scrubbed {
    redactor: Redactor,
}

impl<'a> MakeWriter<'a> for Scrubbed {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Line<'a> {
        Line {
            redactor: &self.redactor,
            buf: Vec::new(),
        }
    }
}

/// One event's text, scrubbed and written to stderr when dropped.
pub(crate) struct Line<'a> {
    redactor: &'a Redactor,
    buf: Vec<u8>,
}

impl std::io::Write for Line<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line<'_> {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.buf);
        let text = self.redactor.scrubbed(&text);
        let mut out = String::with_capacity(text.len());
        for line in text.lines() {
            out.push_str(&terminal_safe(line));
            out.push('\n');
        }
        // Logging must never fail the command.
        let _ = std::io::stderr().lock().write_all(out.as_bytes());
    }
}
