//! Helpers shared by the fuzz targets in `fuzz_targets/`: the endpoint they
//! parse responses with, the checks every error must pass, and a small
//! reader that splits one fuzz input into several values.

use wa_groups_protocol::{
    AccessToken, ApiVersion, BaseUrl, EXCERPT_LIMIT, Endpoint, Error, UserAgent,
};

/// The access token the targets put in the endpoint: the golden one of
/// `testdata/requests.json`, so that seeds echoing it exist.
pub const TOKEN: &str = "EAAGOLDENTOKEN123";

/// The endpoint every response target parses with.
pub fn endpoint() -> Endpoint {
    endpoint_for(ApiVersion::default())
}

/// The endpoint with API version `version`.
pub fn endpoint_for(version: ApiVersion) -> Endpoint {
    Endpoint::new(
        BaseUrl::default(),
        version,
        AccessToken::new(TOKEN).expect("valid token"),
        UserAgent::library(),
    )
}

/// What every error out of `Endpoint::parse_response` must satisfy: the
/// token appears nowhere in it, a decode error keeps at most
/// `EXCERPT_LIMIT` bytes of the body, and the status is the response's.
pub fn check_error(e: &Error, status: u16) {
    let shown = e.to_string();
    let debug = format!("{e:?}");
    assert!(!shown.contains(TOKEN), "token in Display: {shown}");
    assert!(!debug.contains(TOKEN), "token in Debug: {debug}");
    check_excerpt(e);
    assert_eq!(e.status(), Some(status), "status of {e:?}");
}

/// A decode error's excerpt is at most `EXCERPT_LIMIT` bytes.
pub fn check_excerpt(e: &Error) {
    if let Error::Decode(d) = e {
        assert!(
            d.excerpt().len() <= EXCERPT_LIMIT,
            "excerpt of {} bytes > {EXCERPT_LIMIT}: {:?}",
            d.excerpt().len(),
            d.excerpt()
        );
    }
}

/// Takes values off the front of a fuzz input.
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// The next byte, 0 once the input is used up.
    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// The next big-endian `u16`.
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.byte(), self.byte()])
    }

    /// The next `n` bytes (fewer at the end of the input).
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        head
    }

    /// Bytes up to the next `\n` (dropped), or the rest of the input.
    pub fn line(&mut self) -> &'a [u8] {
        match self.data.iter().position(|&b| b == b'\n') {
            Some(i) => {
                let head = &self.data[..i];
                self.data = &self.data[i + 1..];
                head
            }
            None => self.rest(),
        }
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }
}
