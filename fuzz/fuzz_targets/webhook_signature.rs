//! `X-Hub-Signature-256` checks: `webhook::verify_signature`,
//! `verify_signature_headers` and `sign`.
//!
//! Input: one byte gives the secret's length (0 to 79), one byte a position;
//! then the secret, the header up to the next `\n` (lossily decoded), and
//! the body.
//!
//! Properties:
//! - verification never panics, and accepts a header only when it is
//!   `sha256=` and the body's HMAC in hex (either case) with surrounding
//!   whitespace: no other header passes;
//! - `sign` gives `sha256=` and 64 lowercase hex digits, and a body signed
//!   with `sign` always verifies (also in uppercase and padded with
//!   whitespace), while one altered digit, an altered body or a different
//!   secret is a `Mismatch`;
//! - an empty secret is refused (`EmptySecret`) whatever the header;
//! - `verify_signature_headers` agrees with `verify_signature`, and an
//!   absent header is `Missing`.

#![no_main]

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use wa_groups_fuzz::Reader;
use wa_groups_protocol::webhook::{
    SIGNATURE_HEADER, SIGNATURE_PREFIX, SignatureError, sign, verify_signature,
    verify_signature_headers,
};

fuzz_target!(|data: &[u8]| {
    let mut input = Reader::new(data);
    let secret_len = usize::from(input.byte() % 80);
    let position = usize::from(input.byte());
    let secret = input.take(secret_len);
    let raw_header = input.line();
    let header = String::from_utf8_lossy(raw_header);
    let body = input.rest();

    let sig = sign(secret, body);
    assert_eq!(sig.len(), SIGNATURE_PREFIX.len() + 64);
    let hex = sig.strip_prefix(SIGNATURE_PREFIX).unwrap();
    assert!(hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));

    // The fuzzed header.
    let verdict = verify_signature(secret, body, &header);
    if secret.is_empty() {
        assert_eq!(verdict, Err(SignatureError::EmptySecret));
    }
    if verdict.is_ok() {
        let given = header.trim().strip_prefix(SIGNATURE_PREFIX).unwrap();
        assert_eq!(given.to_ascii_lowercase(), hex, "accepted {header:?}");
    }
    let _ = verdict.map_err(|e| e.to_string());

    // The same header through a HeaderMap.
    let mut headers = HeaderMap::new();
    assert!(matches!(
        verify_signature_headers(secret, &headers, body),
        Err(SignatureError::Missing | SignatureError::EmptySecret)
    ));
    if let Ok(value) = HeaderValue::from_bytes(raw_header) {
        headers.insert(SIGNATURE_HEADER, value);
        assert_eq!(
            verify_signature_headers(secret, &headers, body),
            verify_signature(secret, body, &String::from_utf8_lossy(raw_header))
        );
    }

    // Signed bodies.
    if secret.is_empty() {
        assert_eq!(
            verify_signature(secret, body, &sig),
            Err(SignatureError::EmptySecret)
        );
        return;
    }
    assert_eq!(verify_signature(secret, body, &sig), Ok(()));
    let upper = format!("{SIGNATURE_PREFIX}{}", hex.to_ascii_uppercase());
    assert_eq!(verify_signature(secret, body, &upper), Ok(()));
    assert_eq!(
        verify_signature(secret, body, &format!(" \t{sig}\r\n")),
        Ok(())
    );

    // One altered hex digit.
    let mut altered = sig.clone().into_bytes();
    let i = SIGNATURE_PREFIX.len() + position % 64;
    altered[i] = if altered[i] == b'0' { b'1' } else { b'0' };
    let altered = String::from_utf8(altered).unwrap();
    assert_eq!(
        verify_signature(secret, body, &altered),
        Err(SignatureError::Mismatch)
    );

    // An altered body, a different secret.
    let mut longer = body.to_vec();
    longer.push(position as u8);
    assert_eq!(
        verify_signature(secret, &longer, &sig),
        Err(SignatureError::Mismatch)
    );
    if !body.is_empty() {
        let mut flipped = body.to_vec();
        flipped[position % body.len()] ^= 1;
        assert_eq!(
            verify_signature(secret, &flipped, &sig),
            Err(SignatureError::Mismatch)
        );
    }
    let mut other_secret = secret.to_vec();
    other_secret[position % secret.len()] ^= 0x80;
    assert_eq!(
        verify_signature(&other_secret, body, &sig),
        Err(SignatureError::Mismatch)
    );
});
