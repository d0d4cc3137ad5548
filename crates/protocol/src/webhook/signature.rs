//! `X-Hub-Signature-256`: checking and making signatures.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{SIGNATURE_HEADER, SIGNATURE_PREFIX};
use crate::error::{Error, Field, InvalidInput};

type HmacSha256 = Hmac<Sha256>;

/// Why a signature header is malformed.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MalformedSignature {
    /// It does not start with `sha256=`.
    WrongPrefix,
    /// The digest after `sha256=` is not 64 characters long; holds the
    /// length found, in bytes.
    WrongLength(usize),
    /// The digest holds characters other than hex digits.
    NotHex,
}

/// Why a delivery's signature was refused.
///
/// Neither this error nor its `Display` ever holds the app secret or the
/// header's value.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureError {
    /// The app secret given to check with is empty.
    EmptySecret,
    /// The `X-Hub-Signature-256` header is absent or empty.
    Missing,
    /// The header is not `sha256=` and 64 hex digits.
    Malformed(MalformedSignature),
    /// The signature does not match the body: wrong secret or altered body.
    Mismatch,
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptySecret => f.write_str("the app secret is empty"),
            Self::Missing => f.write_str("the X-Hub-Signature-256 header is missing or empty"),
            Self::Malformed(MalformedSignature::WrongPrefix) => {
                f.write_str("the X-Hub-Signature-256 header does not start with `sha256=`")
            }
            Self::Malformed(MalformedSignature::WrongLength(n)) => write!(
                f,
                "the X-Hub-Signature-256 digest is {n} characters long, not 64"
            ),
            Self::Malformed(MalformedSignature::NotHex) => {
                f.write_str("the X-Hub-Signature-256 digest is not hexadecimal")
            }
            Self::Mismatch => {
                f.write_str("the X-Hub-Signature-256 signature does not match the body")
            }
        }
    }
}

impl std::error::Error for SignatureError {}

impl From<SignatureError> for Error {
    fn from(e: SignatureError) -> Self {
        let field = match e {
            SignatureError::EmptySecret => Field::AppSecret,
            _ => Field::Signature,
        };
        Error::InvalidInput(InvalidInput::new(field, e.to_string()))
    }
}

fn new_mac(app_secret: &[u8]) -> Option<HmacSha256> {
    // HMAC takes keys of any length, so this never fails.
    <HmacSha256 as Mac>::new_from_slice(app_secret).ok()
}

/// Checks the `X-Hub-Signature-256` `header` (`sha256=` and 64 hex
/// digits, either case) of a delivery against the HMAC-SHA256 of
/// `raw_body` keyed with `app_secret`, in constant time.
///
/// Check the exact bytes received, before any parsing or re-encoding.
/// Whitespace around the header value is ignored; the `sha256=` prefix is
/// case-sensitive, the hex digits are not.
///
/// # Errors
///
/// [`SignatureError::EmptySecret`] for an empty secret,
/// [`SignatureError::Missing`] for an empty header,
/// [`SignatureError::Malformed`] for a header of the wrong form, and
/// [`SignatureError::Mismatch`] when the signature is not the body's.
pub fn verify_signature(
    app_secret: &[u8],
    raw_body: &[u8],
    header: &str,
) -> Result<(), SignatureError> {
    if app_secret.is_empty() {
        return Err(SignatureError::EmptySecret);
    }
    let header = header.trim();
    if header.is_empty() {
        return Err(SignatureError::Missing);
    }
    let hex = header
        .strip_prefix(SIGNATURE_PREFIX)
        .ok_or(SignatureError::Malformed(MalformedSignature::WrongPrefix))?;
    if hex.len() != 64 {
        return Err(SignatureError::Malformed(MalformedSignature::WrongLength(
            hex.len(),
        )));
    }
    let mut digest = [0u8; 32];
    for (byte, pair) in digest.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        match (hex_value(pair[0]), hex_value(pair[1])) {
            (Some(hi), Some(lo)) => *byte = (hi << 4) | lo,
            _ => return Err(SignatureError::Malformed(MalformedSignature::NotHex)),
        }
    }
    let mut mac = new_mac(app_secret).ok_or(SignatureError::Mismatch)?;
    mac.update(raw_body);
    mac.verify_slice(&digest)
        .map_err(|_| SignatureError::Mismatch)
}

/// [`verify_signature`] with the header taken from `headers`
/// ([`SIGNATURE_HEADER`]; the first one when there are several).
///
/// # Errors
///
/// As [`verify_signature`]; [`SignatureError::Missing`] when the header is
/// absent.
pub fn verify_signature_headers(
    app_secret: &[u8],
    headers: &http::HeaderMap,
    raw_body: &[u8],
) -> Result<(), SignatureError> {
    if app_secret.is_empty() {
        return Err(SignatureError::EmptySecret);
    }
    let value = headers
        .get(&SIGNATURE_HEADER)
        .ok_or(SignatureError::Missing)?;
    verify_signature(
        app_secret,
        raw_body,
        &String::from_utf8_lossy(value.as_bytes()),
    )
}

/// The `X-Hub-Signature-256` value Meta would send with `raw_body`:
/// `sha256=` and the lowercase hex HMAC-SHA256 of the body keyed with
/// `app_secret`.
///
/// An empty secret signs too (HMAC allows it), but [`verify_signature`]
/// refuses it.
pub fn sign(app_secret: &[u8], raw_body: &[u8]) -> String {
    let mut out = String::with_capacity(SIGNATURE_PREFIX.len() + 64);
    out.push_str(SIGNATURE_PREFIX);
    if let Some(mut mac) = new_mac(app_secret) {
        mac.update(raw_body);
        for b in mac.finalize().into_bytes() {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}
