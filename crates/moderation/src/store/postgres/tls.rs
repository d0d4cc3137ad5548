//! tokio-postgres's TLS over tokio-rustls: the connector the `sslmode`
//! settings build, and the `tls-server-end-point` channel binding SCRAM
//! asks for (RFC 5929: the end-entity certificate's hash, by the hash of
//! its signature algorithm, SHA-1 and MD5 taken up to SHA-256).
//!
//! Ours rather than tokio-postgres-rustls, which reads the signature
//! algorithm by decoding the whole certificate with the `x509-cert` stack;
//! here it is one walk down the certificate's outer DER structure, and the
//! hash is ring's, which rustls already carries.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect};
use tokio_rustls::TlsConnector;

/// Makes a [`RustlsConnect`] per connection, for the host it goes to.
#[derive(Clone)]
pub(super) struct MakeRustlsConnect {
    connector: TlsConnector,
}

impl MakeRustlsConnect {
    /// A connector with `config` (its roots and verifier are `sslmode`'s).
    pub(super) fn new(config: rustls::ClientConfig) -> Self {
        Self {
            connector: TlsConnector::from(Arc::new(config)),
        }
    }
}

impl<S> MakeTlsConnect<S> for MakeRustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = std::convert::Infallible;

    fn make_tls_connect(&mut self, hostname: &str) -> Result<RustlsConnect, Self::Error> {
        Ok(RustlsConnect {
            hostname: hostname.to_owned(),
            connector: self.connector.clone(),
        })
    }
}

/// One TLS handshake to a named server.
pub(super) struct RustlsConnect {
    /// Checked only when a handshake is made: tokio-postgres asks for a
    /// connector before it knows whether TLS will be used, with an empty
    /// name for a Unix socket (never encrypted).
    hostname: String,
    connector: TlsConnector,
}

impl<S> TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = BoxFuture<'static, io::Result<RustlsStream<S>>>;

    fn connect(self, stream: S) -> Self::Future {
        // An IP address is a name too (its certificate is checked against
        // it); anything else that is no DNS name is refused here.
        match ServerName::try_from(self.hostname) {
            Ok(name) => {
                let connect = self.connector.connect(name, stream);
                Box::pin(async move { connect.await.map(RustlsStream) })
            }
            Err(e) => {
                let e = io::Error::new(io::ErrorKind::InvalidInput, e);
                Box::pin(std::future::ready(Err(e)))
            }
        }
    }
}

/// An encrypted connection to the server.
pub(super) struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S> tokio_postgres::tls::TlsStream for RustlsStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn channel_binding(&self) -> ChannelBinding {
        let (_, session) = self.0.get_ref();
        match session.peer_certificates().and_then(|c| c.first()) {
            Some(cert) => server_end_point(cert)
                .map_or_else(ChannelBinding::none, ChannelBinding::tls_server_end_point),
            None => ChannelBinding::none(),
        }
    }
}

impl<S> AsyncRead for RustlsStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S> AsyncWrite for RustlsStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// The `tls-server-end-point` binding of a DER certificate: its hash by the
/// hash of its signature algorithm (RFC 5929 section 4.1), or `None` when
/// the certificate cannot be read or its algorithm names no hash (Ed25519,
/// RSASSA-PSS, whose hash is in its parameters), as tokio-postgres-rustls
/// does.
fn server_end_point(cert_der: &[u8]) -> Option<Vec<u8>> {
    let algorithm = match signature_algorithm(cert_der)? {
        // sha1WithRSAEncryption, sha256WithRSAEncryption,
        // ecdsa-with-SHA256, and the bare SHA-1 and SHA-256 hash OIDs some
        // certificates carry: SHA-256 (SHA-1 is taken up to SHA-256).
        SHA1_WITH_RSA | SHA256_WITH_RSA | ECDSA_WITH_SHA256 | SHA1 | SHA256 => {
            &ring::digest::SHA256
        }
        SHA384_WITH_RSA | ECDSA_WITH_SHA384 | SHA384 => &ring::digest::SHA384,
        SHA512_WITH_RSA | ECDSA_WITH_SHA512 | SHA512 => &ring::digest::SHA512,
        _ => return None,
    };
    Some(ring::digest::digest(algorithm, cert_der).as_ref().to_vec())
}

// The signature algorithms' object identifiers, as their DER contents.
/// 1.2.840.113549.1.1.5
const SHA1_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05];
/// 1.2.840.113549.1.1.11
const SHA256_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
/// 1.2.840.113549.1.1.12
const SHA384_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c];
/// 1.2.840.113549.1.1.13
const SHA512_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d];
/// 1.2.840.10045.4.3.2
const ECDSA_WITH_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
/// 1.2.840.10045.4.3.3
const ECDSA_WITH_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03];
/// 1.2.840.10045.4.3.4
const ECDSA_WITH_SHA512: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04];
/// 1.3.14.3.2.26
const SHA1: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];
/// 2.16.840.1.101.3.4.2.1
const SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
/// 2.16.840.1.101.3.4.2.2
const SHA384: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02];
/// 2.16.840.1.101.3.4.2.3
const SHA512: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03];

/// The contents of the signature algorithm's OID in a DER certificate:
/// `Certificate ::= SEQUENCE { tbsCertificate SEQUENCE, signatureAlgorithm
/// SEQUENCE { algorithm OBJECT IDENTIFIER, ... }, signature BIT STRING }`.
fn signature_algorithm(cert_der: &[u8]) -> Option<&[u8]> {
    const SEQUENCE: u8 = 0x30;
    const OID: u8 = 0x06;
    let (certificate, rest) = der_element(cert_der, SEQUENCE)?;
    if !rest.is_empty() {
        return None;
    }
    let (_tbs, after_tbs) = der_element(certificate, SEQUENCE)?;
    let (algorithm_identifier, _signature) = der_element(after_tbs, SEQUENCE)?;
    let (oid, _parameters) = der_element(algorithm_identifier, OID)?;
    Some(oid)
}

/// Splits one DER element with tag `tag` off the front of `input`: its
/// contents and what follows it. `None` for another tag, an indefinite or
/// non-minimal length, or one past the input's end.
fn der_element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&first, input) = input.split_first()?;
    if first != tag {
        return None;
    }
    let (&len0, mut input) = input.split_first()?;
    let len = if len0 < 0x80 {
        usize::from(len0)
    } else {
        // Long form: 1 to 4 length bytes (a certificate is far below 4 GiB).
        let count = usize::from(len0 & 0x7f);
        if count == 0 || count > 4 || input.len() < count {
            return None;
        }
        let (bytes, rest) = input.split_at(count);
        input = rest;
        let len = bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        // DER: the shortest form, no leading zero byte.
        if len < 0x80 || bytes[0] == 0 {
            return None;
        }
        len
    };
    (input.len() >= len).then(|| input.split_at(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PEM to DER, for the test certificates.
    fn der(pem: &str) -> Vec<u8> {
        use rustls::pki_types::{CertificateDer, pem::PemObject as _};
        CertificateDer::from_pem_slice(pem.as_bytes())
            .unwrap()
            .to_vec()
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    // Certificates made with `openssl req -x509` (RSA with SHA-256, ECDSA
    // with SHA-384, Ed25519), each with the digest `openssl x509
    // -fingerprint` prints for the hash RFC 5929 picks for it.
    const RSA_SHA256: &str = include_str!("../../../testdata/tls/rsa-sha256.pem");
    const RSA_SHA256_FINGERPRINT: &str = include_str!("../../../testdata/tls/rsa-sha256.sha256");
    const ECDSA_SHA384: &str = include_str!("../../../testdata/tls/ecdsa-sha384.pem");
    const ECDSA_SHA384_FINGERPRINT: &str =
        include_str!("../../../testdata/tls/ecdsa-sha384.sha384");
    const ED25519: &str = include_str!("../../../testdata/tls/ed25519.pem");

    #[test]
    fn the_binding_is_the_certificate_hash_by_its_signature_hash() {
        let cert = der(RSA_SHA256);
        assert_eq!(signature_algorithm(&cert), Some(SHA256_WITH_RSA));
        assert_eq!(
            hex(&server_end_point(&cert).unwrap()),
            RSA_SHA256_FINGERPRINT.trim()
        );
        let cert = der(ECDSA_SHA384);
        assert_eq!(signature_algorithm(&cert), Some(ECDSA_WITH_SHA384));
        assert_eq!(
            hex(&server_end_point(&cert).unwrap()),
            ECDSA_SHA384_FINGERPRINT.trim()
        );
    }

    /// tokio-postgres asks for a connector for every host, a Unix socket's
    /// with an empty name; only a handshake needs a valid one.
    #[tokio::test]
    async fn a_host_name_is_checked_only_when_a_handshake_is_made() {
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
        let mut make = MakeRustlsConnect::new(config);
        let Ok(connect) =
            MakeTlsConnect::<tokio::io::DuplexStream>::make_tls_connect(&mut make, "");
        let (stream, _peer) = tokio::io::duplex(64);
        let e = connect.connect(stream).await.err().unwrap();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
    }

    #[test]
    fn no_binding_without_a_hash_or_a_readable_certificate() {
        // Ed25519 (1.3.101.112) signs without a separate hash.
        let cert = der(ED25519);
        assert_eq!(signature_algorithm(&cert), Some(&[0x2b, 0x65, 0x70][..]));
        assert_eq!(server_end_point(&cert), None);
        // Cut short anywhere, or with bytes after it, it is no certificate.
        let cert = der(RSA_SHA256);
        for len in 0..cert.len() {
            assert_eq!(server_end_point(&cert[..len]), None, "cut at {len}");
        }
        let mut longer = cert.clone();
        longer.push(0);
        assert_eq!(server_end_point(&longer), None);
        // A non-minimal length is no DER.
        assert_eq!(der_element(&[0x30, 0x81, 0x01, 0x00], 0x30), None);
        assert_eq!(der_element(&[0x30, 0x82, 0x00, 0x81], 0x30), None);
        assert_eq!(der_element(&[0x30, 0x80], 0x30), None);
        assert_eq!(
            der_element(&[0x30, 0x01, 0xaa, 0xbb], 0x30),
            Some((&[0xaa][..], &[0xbb][..]))
        );
    }
}
