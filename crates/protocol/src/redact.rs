//! Scrubbing the access token out of everything a server sends back.
//!
//! A server may echo the token in any field, and not only as sent: inside a
//! JSON string it may be escaped (`\/`, `\"`, `\\`), in a URL it may be
//! percent-encoded, and Rust's `Debug` escapes it again. [`Redactor`] knows
//! every such form, and [`Redact`] applies it to each operation's output
//! before the output leaves the protocol crate, so the CLI and both bindings
//! print clean values without doing anything themselves.

use std::borrow::Cow;
use std::fmt;

use memchr::memmem;

use crate::error::{DecodeError, MIN_REDACTED_LEN};
use crate::ids::{Cursor, JoinRequestId};
use crate::model::{
    DecisionOutcome, ErrorDetail, GroupInfo, JoinRequest, JoinRequestPage, Participant,
};

/// What a scrubbed secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Every encoding of one secret that text from a server could hold.
#[derive(Clone)]
pub struct Redactor {
    /// Longest first, so that a form containing another is replaced whole.
    forms: Vec<String>,
    /// A searcher per form, in the same order: every string of every
    /// response is searched, and `str::contains` would set its searcher up
    /// again for each one.
    finders: Vec<memmem::Finder<'static>>,
    /// The shortest form's length: a shorter text holds none of them (an
    /// ID, most fields of a response, is shorter than any real token).
    shortest: usize,
}

impl PartialEq for Redactor {
    fn eq(&self, other: &Self) -> bool {
        self.forms == other.forms
    }
}

impl Eq for Redactor {}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Redactor([redacted])")
    }
}

impl Redactor {
    /// The forms of `secret`: as is, JSON-escaped (with and without `\/`),
    /// `Debug`-escaped, percent-encoded (form style, and every reserved byte
    /// in upper and lower case hex). A secret shorter than
    /// `MIN_REDACTED_LEN` (4 bytes) scrubs nothing: no real token is that short.
    pub fn new(secret: &str) -> Self {
        let mut forms = Vec::new();
        if secret.len() >= MIN_REDACTED_LEN {
            let json = serde_json::to_string(secret).unwrap_or_default();
            let json = json[1..json.len().saturating_sub(1).max(1)].to_owned();
            let debug = format!("{secret:?}");
            let debug = debug[1..debug.len() - 1].to_owned();
            let form: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
            forms = vec![
                secret.to_owned(),
                json.replace('/', "\\/"),
                json,
                debug,
                form,
                percent(secret, true),
                percent(secret, false),
            ];
            forms.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
            forms.dedup();
        }
        let shortest = forms.last().map_or(usize::MAX, String::len);
        let finders = forms
            .iter()
            .map(|f| memmem::Finder::new(f.as_bytes()).into_owned())
            .collect();
        Self {
            forms,
            finders,
            shortest,
        }
    }

    /// Whether `text` holds the secret in any of its forms.
    pub fn holds_secret(&self, text: &str) -> bool {
        text.len() >= self.shortest
            && self
                .finders
                .iter()
                .any(|f| f.find(text.as_bytes()).is_some())
    }

    /// `text` with every form of the secret replaced by [`REDACTED`].
    pub fn scrubbed<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if !self.holds_secret(text) {
            return Cow::Borrowed(text);
        }
        let mut out = text.to_owned();
        for (form, finder) in self.forms.iter().zip(&self.finders) {
            if finder.find(out.as_bytes()).is_some() {
                out = out.replace(form.as_str(), REDACTED);
            }
        }
        Cow::Owned(out)
    }

    /// Scrubs `text` in place.
    pub fn scrub(&self, text: &mut String) {
        if let Cow::Owned(s) = self.scrubbed(text) {
            *text = s;
        }
    }

    /// Scrubs an optional string in place.
    pub fn scrub_opt(&self, text: &mut Option<String>) {
        if let Some(t) = text {
            self.scrub(t);
        }
    }

    /// The forms of the secret, longest first.
    pub(crate) fn forms(&self) -> impl Iterator<Item = &str> {
        self.forms.iter().map(String::as_str)
    }
}

/// Percent-encodes every byte outside RFC 3986's unreserved set.
fn percent(s: &str, upper: bool) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else if upper {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

/// An operation's output that can be scrubbed of a secret.
pub trait Redact {
    /// Scrubs every server-sent string. A value that cannot be changed
    /// without breaking what it is for (a paging cursor, a join request ID
    /// to act on) and holds the secret is refused as a decode error.
    ///
    /// # Errors
    ///
    /// [`DecodeError`] naming the field that held the secret.
    fn redact(&mut self, redactor: &Redactor) -> Result<(), DecodeError>;
}

fn refuse(what: &str) -> DecodeError {
    DecodeError::new(
        Some(200),
        format!("the API returned a {what} holding the access token"),
        b"",
    )
}

fn check_cursor(c: Option<&Cursor>, r: &Redactor, what: &str) -> Result<(), DecodeError> {
    match c {
        Some(c) if r.holds_secret(c.as_str()) => Err(refuse(what)),
        _ => Ok(()),
    }
}

impl Redact for JoinRequest {
    fn redact(&mut self, r: &Redactor) -> Result<(), DecodeError> {
        if r.holds_secret(self.join_request_id.as_str()) {
            return Err(refuse("join_request_id"));
        }
        r.scrub_opt(&mut self.wa_id);
        r.scrub_opt(&mut self.user_id);
        r.scrub_opt(&mut self.parent_user_id);
        r.scrub_opt(&mut self.username);
        Ok(())
    }
}

impl Redact for JoinRequestPage {
    fn redact(&mut self, r: &Redactor) -> Result<(), DecodeError> {
        check_cursor(self.after.as_ref(), r, "paging cursor (after)")?;
        check_cursor(self.before.as_ref(), r, "paging cursor (before)")?;
        self.data.iter_mut().try_for_each(|jr| jr.redact(r))
    }
}

impl Redact for ErrorDetail {
    fn redact(&mut self, r: &Redactor) -> Result<(), DecodeError> {
        r.scrub_opt(&mut self.title);
        r.scrub_opt(&mut self.message);
        r.scrub_opt(&mut self.details);
        Ok(())
    }
}

/// An ID as reported back: the scrubbed text stands in for one holding
/// the secret (it was never an ID we sent, so nothing acts on it).
fn scrub_id(id: &mut JoinRequestId, r: &Redactor) {
    if let Cow::Owned(clean) = r.scrubbed(id.as_str())
        && let Ok(clean) = JoinRequestId::new(clean)
    {
        *id = clean;
    }
}

impl Redact for DecisionOutcome {
    fn redact(&mut self, r: &Redactor) -> Result<(), DecodeError> {
        self.succeeded.iter_mut().for_each(|id| scrub_id(id, r));
        self.unexpected.iter_mut().for_each(|id| scrub_id(id, r));
        for f in &mut self.failed {
            scrub_id(&mut f.join_request_id, r);
            f.errors.iter_mut().try_for_each(|e| e.redact(r))?;
        }
        self.errors.iter_mut().try_for_each(|e| e.redact(r))?;
        r.scrub_opt(&mut self.request_id);
        Ok(())
    }
}

impl Redact for Participant {
    fn redact(&mut self, r: &Redactor) -> Result<(), DecodeError> {
        r.scrub_opt(&mut self.wa_id);
        r.scrub_opt(&mut self.user_id);
        r.scrub_opt(&mut self.username);
        Ok(())
    }
}

impl Redact for GroupInfo {
    fn redact(&mut self, r: &Redactor) -> Result<(), DecodeError> {
        for s in [
            &mut self.id,
            &mut self.messaging_product,
            &mut self.join_approval_mode,
            &mut self.subject,
            &mut self.description,
        ] {
            r.scrub_opt(s);
        }
        if let Some(ps) = &mut self.participants {
            ps.iter_mut().try_for_each(|p| p.redact(r))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_encoding_is_scrubbed() {
        let secret = r#"EAAB/to"ke\n%x y"#;
        let r = Redactor::new(secret);
        let json = serde_json::to_string(secret).unwrap();
        let debug = format!("{secret:?}");
        let form: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        for text in [
            secret.to_owned(),
            json.clone(),
            json.replace('/', "\\/"),
            debug,
            form,
            percent(secret, true),
            percent(secret, false),
        ] {
            let wrapped = format!("before {text} after");
            let out = r.scrubbed(&wrapped);
            assert_eq!(out.matches(REDACTED).count(), 1, "{wrapped} -> {out}");
            assert!(!r.holds_secret(&out), "{out}");
        }
        assert_eq!(r.scrubbed("clean"), "clean");
    }

    #[test]
    fn short_secrets_scrub_nothing() {
        assert_eq!(Redactor::new("t").scrubbed("text"), "text");
        assert_eq!(
            format!("{:?}", Redactor::new("EAAB-secret")),
            "Redactor([redacted])"
        );
    }
}
