//! `RUST_LOG` support: a tracing subscriber writing to stderr, filtered by
//! `RUST_LOG` (off when unset, unless the command asks for a default, as
//! `moderate serve` does). Every line passes through a [`Redactor`] for
//! each secret (all their encodings) and [`terminal_safe`] before it is
//! written, so no level, no crate (hyper, rustls, h2 included) and no
//! server-sent text can put a secret or a terminal escape on the screen.

use std::io::Write as _;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use wa_groups::protocol::Redactor;

use crate::output::terminal_safe;

/// Installs the subscriber when `RUST_LOG` is set, or with `default` as
/// the filter when it is not; `secrets` are scrubbed from every line.
pub(crate) fn init(secrets: &[String], default: Option<&str>) {
    let filter = match (EnvFilter::try_from_default_env(), default) {
        (Ok(filter), _) => filter,
        (Err(_), Some(default)) => EnvFilter::new(default),
        (Err(_), None) => return,
    };
    let writer = Scrubbed {
        redactors: secrets
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| Redactor::new(s))
            .collect(),
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
    redactors: Vec<Redactor>,
}

impl<'a> MakeWriter<'a> for Scrubbed {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Line<'a> {
        Line {
            redactors: &self.redactors,
            buf: Vec::new(),
        }
    }
}

/// One event's text, scrubbed and written to stderr when dropped.
pub(crate) struct Line<'a> {
    redactors: &'a [Redactor],
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
        let mut text = String::from_utf8_lossy(&self.buf).into_owned();
        for redactor in self.redactors {
            text = redactor.scrubbed(&text).into_owned();
        }
        let mut out = String::with_capacity(text.len());
        for line in text.lines() {
            out.push_str(&terminal_safe(line));
            out.push('\n');
        }
        // Logging must never fail the command.
        let _ = std::io::stderr().lock().write_all(out.as_bytes());
    }
}
