//! Validated inputs. A value of these types has passed every rule of
//! docs/design.md, so code that holds one never checks it again.

use std::fmt;
use std::str::FromStr;

use http::HeaderValue;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Field, InvalidInput};

macro_rules! string_newtype {
    ($(#[$meta:meta])* $name:ident, $validate:path) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Box<str>);

        impl $name {
            /// Validates `value`.
            pub fn new(value: impl AsRef<str> + Into<String>) -> Result<Self, InvalidInput> {
                $validate(value.as_ref())?;
                Ok(Self(value.into().into_boxed_str()))
            }

            /// The value as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&*self.0, f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidInput;
            fn from_str(s: &str) -> Result<Self, InvalidInput> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidInput;
            fn try_from(s: String) -> Result<Self, InvalidInput> {
                Self::new(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = InvalidInput;
            fn try_from(s: &str) -> Result<Self, InvalidInput> {
                Self::new(s)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                &*self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                &*self.0 == *other
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str(concat!("a valid ", stringify!($name)))
                    }
                    // One allocation, straight from the parser's buffer.
                    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<$name, E> {
                        $validate(s).map_err(E::custom)?;
                        Ok($name(s.into()))
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}

fn validate_group_id(s: &str) -> Result<(), InvalidInput> {
    let err = |r: &'static str| Err(InvalidInput::new(Field::GroupId, r));
    if s.is_empty() {
        return err("must not be empty");
    }
    if s.len() > 256 {
        return err("must be at most 256 characters");
    }
    if s == "." || s == ".." {
        return err("must not be \".\" or \"..\"");
    }
    if !s.bytes().all(is_group_id_byte) {
        return err("may hold only A-Z a-z 0-9 and - . _ ~ + =");
    }
    Ok(())
}

fn is_group_id_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'=')
}

fn validate_join_request_id(s: &str) -> Result<(), InvalidInput> {
    let err = |r: &'static str| Err(InvalidInput::new(Field::JoinRequestId, r));
    if s.is_empty() {
        return err("must not be empty");
    }
    if s.len() > 1024 {
        return err("must be at most 1024 bytes");
    }
    if !is_visible(s) {
        return err("must not hold whitespace or control characters");
    }
    Ok(())
}

/// No whitespace and no control characters. IDs are ASCII in practice, so
/// check bytes first and fall back to Unicode rules only for other text.
fn is_visible(s: &str) -> bool {
    if s.bytes().all(|b| b.is_ascii_graphic()) {
        return true;
    }
    !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn validate_cursor(s: &str) -> Result<(), InvalidInput> {
    let err = |r: &'static str| Err(InvalidInput::new(Field::After, r));
    if s.is_empty() {
        return err("must not be empty");
    }
    if s.len() > 4096 {
        return err("must be at most 4096 bytes");
    }
    if !is_visible(s) {
        return err("must not hold whitespace or control characters");
    }
    Ok(())
}

fn validate_api_version(s: &str) -> Result<(), InvalidInput> {
    let ok = s
        .strip_prefix('v')
        .and_then(|rest| rest.split_once('.'))
        .is_some_and(|(major, minor)| is_small_number(major) && is_small_number(minor));
    if ok {
        Ok(())
    } else {
        Err(InvalidInput::new(
            Field::ApiVersion,
            "must look like v23.0 (a 'v', digits, a dot, digits)",
        ))
    }
}

fn is_small_number(s: &str) -> bool {
    (1..=4).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

string_newtype!(
    /// A WhatsApp group ID: 1 to 256 of `A-Z a-z 0-9 - . _ ~ + =`, never `.` or `..`.
    /// It goes in the URL path, so nothing that could change the path is allowed.
    GroupId,
    validate_group_id
);

string_newtype!(
    /// A join request ID: 1 to 1024 bytes, no whitespace or control characters.
    /// IDs are base64, so `/` and `+` are allowed; they only travel in bodies.
    JoinRequestId,
    validate_join_request_id
);

string_newtype!(
    /// An opaque paging cursor (`paging.cursors.after` / `before`).
    Cursor,
    validate_cursor
);

string_newtype!(
    /// A Graph API version such as `v23.0`.
    ApiVersion,
    validate_api_version
);

impl Default for ApiVersion {
    fn default() -> Self {
        Self(crate::DEFAULT_API_VERSION.into())
    }
}

impl Cursor {
    /// Validates `value` as the cursor given for `field` (`after` or `before`),
    /// so the error names the right parameter.
    pub fn for_field(value: &str, field: Field) -> Result<Self, InvalidInput> {
        validate_cursor(value).map_err(|e| InvalidInput::new(field, e.reason().to_owned()))?;
        Ok(Self(value.into()))
    }
}

/// The most join request IDs one approve or reject call takes: far above
/// any real backlog, low enough that a list's reported length can be
/// trusted for pre-allocation once it has passed [`check_id_count`].
pub const MAX_JOIN_REQUEST_IDS: usize = 1_000_000;

/// Refuses a list of `len` join request IDs longer than
/// [`MAX_JOIN_REQUEST_IDS`], naming `join_request_ids`. The bindings call
/// it with the length a caller reports, before reading the list.
pub fn check_id_count(len: usize) -> Result<(), InvalidInput> {
    if len > MAX_JOIN_REQUEST_IDS {
        return Err(InvalidInput::new(
            Field::JoinRequestIds,
            format!("must hold at most {MAX_JOIN_REQUEST_IDS} join request IDs"),
        ));
    }
    Ok(())
}

/// A list of join request IDs for one approve or reject call: never empty,
/// at most [`MAX_JOIN_REQUEST_IDS`] long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinRequestIds(Vec<JoinRequestId>);

impl JoinRequestIds {
    /// Validates every ID; the error names the position of the first bad one.
    pub fn new<I>(ids: I) -> Result<Self, InvalidInput>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let ids = ids
            .into_iter()
            .enumerate()
            .map(|(i, id)| {
                let id = id.as_ref();
                validate_join_request_id(id).map_err(|e| e.at(i))?;
                Ok(JoinRequestId(id.into()))
            })
            .collect::<Result<Vec<_>, InvalidInput>>()?;
        Self::from_ids(ids)
    }

    /// Wraps already validated IDs; refuses an empty or too long list.
    pub fn from_ids(ids: Vec<JoinRequestId>) -> Result<Self, InvalidInput> {
        check_id_count(ids.len())?;
        if ids.is_empty() {
            return Err(InvalidInput::new(
                Field::JoinRequestIds,
                "must hold at least one join request ID",
            ));
        }
        Ok(Self(ids))
    }

    /// The IDs, in the order given.
    pub fn as_slice(&self) -> &[JoinRequestId] {
        &self.0
    }

    /// The IDs, in the order given.
    pub fn into_vec(self) -> Vec<JoinRequestId> {
        self.0
    }

    /// How many IDs (duplicates included).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: the list is never empty. Present for clippy's sake.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a JoinRequestIds {
    type Item = &'a JoinRequestId;
    type IntoIter = std::slice::Iter<'a, JoinRequestId>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// The access token. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(Box<str>);

impl AccessToken {
    /// Validates `value`: 1 to 8192 printable ASCII characters without
    /// spaces, starting with a letter, digit, `-`, `_` or `.` (the spec's
    /// `Authorization` pattern).
    pub fn new(value: impl AsRef<str>) -> Result<Self, InvalidInput> {
        let s = value.as_ref();
        let err = |r: &'static str| Err(InvalidInput::new(Field::AccessToken, r));
        if s.is_empty() {
            return err("must not be empty");
        }
        if s.len() > 8192 {
            return err("must be at most 8192 bytes");
        }
        if s.bytes().any(|b| b.is_ascii_control()) {
            return err("must not hold CR, LF or other control characters");
        }
        if !s.bytes().all(|b| b.is_ascii_graphic()) {
            return err("must be printable ASCII without spaces");
        }
        // The spec's Authorization pattern, `^Bearer\s+[A-Za-z0-9\-_.]+.*$`.
        if !s
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return err("must start with A-Z a-z 0-9 - _ or . (the spec's Authorization pattern)");
        }
        Ok(Self(s.into()))
    }

    /// The secret itself. Call only to put it on the wire.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// `Authorization: Bearer <token>`, marked sensitive so HTTP/2 never
    /// indexes it and `Debug` hides it.
    pub fn authorization_header(&self) -> HeaderValue {
        let mut v = HeaderValue::try_from(format!("Bearer {}", self.0))
            .unwrap_or_else(|_| HeaderValue::from_static("Bearer"));
        v.set_sensitive(true);
        v
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken([redacted])")
    }
}

impl fmt::Display for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The `User-Agent` sent with every request. It always matches the spec's
/// pattern `^[a-zA-Z0-9\-_]+\/[0-9]+\.[0-9]+\.[0-9]+(;[a-zA-Z0-9\-=\.]+)?(\s+[a-zA-Z0-9\-_]+\/[0-9\-\.]+)?$`:
/// `wa-groups/<version>`, then `;<runtime>=<version>` for a binding, then one
/// space and the caller's own `product/version`.
#[derive(Clone, PartialEq, Eq)]
pub struct UserAgent(HeaderValue);

impl UserAgent {
    /// The library's own agent, `wa-groups/<crate version>`.
    pub fn library() -> Self {
        Self(HeaderValue::from_static(concat!(
            "wa-groups/",
            env!("CARGO_PKG_VERSION")
        )))
    }

    /// The library's agent with a binding's runtime (such as `python`,
    /// `3.11.7`) and the caller's own `product/version`, both optional.
    pub fn build(runtime: Option<(&str, &str)>, user: Option<&str>) -> Result<Self, InvalidInput> {
        let mut s = String::from(concat!("wa-groups/", env!("CARGO_PKG_VERSION")));
        if let Some((name, version)) = runtime {
            s.push(';');
            s.push_str(name);
            s.push('=');
            s.push_str(version);
        }
        if let Some(user) = user {
            let user = user.trim();
            if !user.is_empty() {
                s.push(' ');
                s.push_str(user);
            }
        }
        if !matches_spec_pattern(&s) {
            return Err(InvalidInput::new(
                Field::UserAgent,
                "must be product/version such as myapp/1.2.3 (letters, digits, - and _, then /, then digits, - and .)",
            ));
        }
        HeaderValue::try_from(s)
            .map(Self)
            .map_err(|_| InvalidInput::new(Field::UserAgent, "must be printable ASCII"))
    }

    /// The header value.
    pub fn header_value(&self) -> &HeaderValue {
        &self.0
    }

    /// The agent as text.
    pub fn as_str(&self) -> &str {
        self.0.to_str().unwrap_or_default()
    }
}

impl Default for UserAgent {
    fn default() -> Self {
        Self::library()
    }
}

impl fmt::Debug for UserAgent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for UserAgent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `s` matches the spec's User-Agent pattern (see [`UserAgent`]).
pub(crate) fn matches_spec_pattern(s: &str) -> bool {
    fn product(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
    }
    fn take(s: &[u8], pred: impl Fn(u8) -> bool) -> (&[u8], &[u8]) {
        let n = s.iter().take_while(|&&b| pred(b)).count();
        s.split_at(n)
    }
    let s = s.as_bytes();
    // product
    let (name, rest) = take(s, product);
    if name.is_empty() {
        return false;
    }
    let Some(rest) = rest.strip_prefix(b"/") else {
        return false;
    };
    // major.minor.patch
    let mut rest = rest;
    for i in 0..3 {
        let (digits, r) = take(rest, |b| b.is_ascii_digit());
        if digits.is_empty() {
            return false;
        }
        rest = r;
        if i < 2 {
            let Some(r) = rest.strip_prefix(b".") else {
                return false;
            };
            rest = r;
        }
    }
    // (;[a-zA-Z0-9\-=\.]+)?
    if let Some(r) = rest.strip_prefix(b";") {
        let (seg, r) = take(r, |b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'=' | b'.')
        });
        if seg.is_empty() {
            return false;
        }
        rest = r;
    }
    // (\s+[a-zA-Z0-9\-_]+\/[0-9\-\.]+)?
    if rest.is_empty() {
        return true;
    }
    let (ws, r) = take(rest, |b| b.is_ascii_whitespace());
    if ws.is_empty() {
        return false;
    }
    let (name, r) = take(r, product);
    if name.is_empty() {
        return false;
    }
    let Some(r) = r.strip_prefix(b"/") else {
        return false;
    };
    let (ver, r) = take(r, |b| b.is_ascii_digit() || b == b'-' || b == b'.');
    !ver.is_empty() && r.is_empty()
}

/// The API's base URL: `https://host[:port][/prefix]`, or `http://` for a
/// loopback host (the emulator) only.
#[derive(Clone, PartialEq, Eq)]
pub struct BaseUrl {
    // Kept without a trailing slash so paths append with one `/`.
    url: Box<str>,
    https: bool,
}

impl BaseUrl {
    /// Validates `value`.
    pub fn new(value: impl AsRef<str>) -> Result<Self, InvalidInput> {
        let raw = value.as_ref();
        let err = |r: &'static str| Err(InvalidInput::new(Field::BaseUrl, r));
        let uri: http::Uri = match raw.parse() {
            Ok(u) => u,
            Err(_) => return err("is not a valid URL"),
        };
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return err("must start with https:// (or http:// for a loopback host)"),
        };
        let Some(authority) = uri.authority() else {
            return err("must name a host");
        };
        if authority.as_str().contains('@') {
            return err("must not hold user information");
        }
        if !https && !is_loopback(authority.host()) {
            return err("may use http:// only for a loopback host (127.0.0.0/8, ::1, localhost)");
        }
        if uri.query().is_some() || raw.contains('#') {
            return err("must not hold a query or fragment");
        }
        let path = uri.path().trim_end_matches('/');
        let url = format!(
            "{}://{}{}",
            if https { "https" } else { "http" },
            authority,
            path
        );
        Ok(Self {
            url: url.into_boxed_str(),
            https,
        })
    }

    /// The URL without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// Whether the URL uses TLS.
    pub fn is_https(&self) -> bool {
        self.https
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

impl Default for BaseUrl {
    fn default() -> Self {
        Self {
            url: crate::DEFAULT_BASE_URL.into(),
            https: true,
        }
    }
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.url, f)
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_match_the_spec_pattern() {
        assert!(matches_spec_pattern(UserAgent::library().as_str()));
        assert_eq!(
            UserAgent::library().as_str(),
            concat!("wa-groups/", env!("CARGO_PKG_VERSION"))
        );
        let full = UserAgent::build(Some(("python", "3.11.7")), Some("myapp/1.2.3")).unwrap();
        assert_eq!(
            full.as_str(),
            concat!(
                "wa-groups/",
                env!("CARGO_PKG_VERSION"),
                ";python=3.11.7 myapp/1.2.3"
            )
        );
        assert!(matches_spec_pattern(full.as_str()));
        let node = UserAgent::build(Some(("node", "20.20.2")), None).unwrap();
        assert!(matches_spec_pattern(node.as_str()));
        // The spec's own default, and shapes the pattern refuses.
        assert!(matches_spec_pattern(
            "Meta-Business-Messaging-OpenAPI/1.0.0;spec=2025-10-21"
        ));
        for bad in [
            "wa-groups",
            "wa-groups/1.0",
            "wa groups/1.0.0",
            "a/1.0.0;",
            "a/1.0.0 b",
            "a/1.0.0 b/x",
            "a/1.0.0;x;y",
            "a/1.0.0 b/1 c/2",
        ] {
            assert!(!matches_spec_pattern(bad), "{bad}");
        }
        assert!(
            UserAgent::build(Some(("python", "3.11.7+local")), None).is_err(),
            "a runtime version that breaks the pattern"
        );
    }
}
