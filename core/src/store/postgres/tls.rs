//! TLS to Postgres, as libpq's `sslmode` and `sslrootcert` describe it, so a Supabase or managed-Postgres URL
//! works as given. The driver parses only `disable`, `prefer` and `require`, so both parameters are taken out of
//! the URL here and turned into the driver's mode and a rustls verifier:
//!
//! | `sslmode` | TLS | server certificate |
//! |---|---|---|
//! | `disable` | never | – |
//! | `prefer` (the default) | if the server offers it | not checked (libpq's behaviour) |
//! | `require` | always | not checked, unless `sslrootcert` is given: then as `verify-ca` (libpq's behaviour) |
//! | `verify-ca` | always | signed by a trusted root; the host name is not checked |
//! | `verify-full` | always | signed by a trusted root and issued for the host connected to |
//!
//! Trusted roots are the PEM certificates of `sslrootcert` (a file path; Supabase publishes its CA as one), or
//! the Mozilla roots (`webpki-roots`) without it. Source: PostgreSQL, "SSL Support", libpq-ssl.html, table 34.1.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{WebPkiServerVerifier, verify_server_cert_signed_by_trust_anchor};
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, Error as TlsError, RootCertStore, SignatureScheme};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::store::StoreError;

/// How a connection protects itself, read from the URL's `sslmode` and `sslrootcert`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsSettings {
    /// The mode as libpq names it.
    pub(crate) mode: TlsMode,
    /// The `sslrootcert` file, if given.
    pub(crate) root_cert: Option<String>,
}

/// libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TlsMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl TlsSettings {
    /// Takes `sslmode` and `sslrootcert` out of `url`'s query: the URL the driver parses, and the settings.
    ///
    /// Errors: [`StoreError::InvalidInput`] for an `sslmode` libpq does not know.
    pub(crate) fn take(url: &str) -> Result<(String, Self), StoreError> {
        let mut settings = Self { mode: TlsMode::Prefer, root_cert: None };
        let Some((base, query)) = url.split_once('?') else { return Ok((url.to_owned(), settings)) };
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("sslmode", value)) => {
                    settings.mode = match value {
                        "disable" => TlsMode::Disable,
                        "allow" | "prefer" => TlsMode::Prefer,
                        "require" => TlsMode::Require,
                        "verify-ca" => TlsMode::VerifyCa,
                        "verify-full" => TlsMode::VerifyFull,
                        other => {
                            return Err(StoreError::invalid(
                                "database URL",
                                format!(
                                    "sslmode {other:?} is not one of disable, allow, prefer, require, verify-ca, \
                                     verify-full"
                                ),
                            ));
                        }
                    }
                }
                Some(("sslrootcert", value)) => settings.root_cert = Some(percent_decoded(value)),
                _ => kept.push(pair),
            }
        }
        let url = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
        Ok((url, settings))
    }

    /// The driver's mode: it negotiates TLS; the verifier decides what a certificate must be.
    pub(crate) fn ssl_mode(&self) -> SslMode {
        match self.mode {
            TlsMode::Disable => SslMode::Disable,
            TlsMode::Prefer => SslMode::Prefer,
            TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull => SslMode::Require,
        }
    }

    /// The TLS connector for these settings.
    ///
    /// Errors: [`StoreError::InvalidInput`] when `sslrootcert` cannot be read or holds no certificate.
    pub(crate) fn connector(&self) -> Result<MakeRustlsConnect, StoreError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| StoreError::invalid("database URL", format!("TLS setup: {e}")))?;
        let check = match (self.mode, &self.root_cert) {
            (TlsMode::Disable | TlsMode::Prefer, _) | (TlsMode::Require, None) => Check::Nothing,
            (TlsMode::Require | TlsMode::VerifyCa, _) => Check::Chain,
            (TlsMode::VerifyFull, _) => Check::ChainAndName,
        };
        let config = match check {
            Check::ChainAndName => {
                let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(self.roots()?), provider)
                    .build()
                    .map_err(|e| StoreError::invalid("database URL", format!("TLS roots: {e}")))?;
                builder.with_webpki_verifier(verifier).with_no_client_auth()
            }
            Check::Chain | Check::Nothing => {
                let roots = if check == Check::Chain { Some(Arc::new(self.roots()?)) } else { None };
                let verifier =
                    Arc::new(LibpqVerifier { roots, algorithms: provider.signature_verification_algorithms });
                builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth()
            }
        };
        Ok(MakeRustlsConnect::new(config))
    }

    /// The trusted roots: the `sslrootcert` file's certificates, or the Mozilla roots.
    fn roots(&self) -> Result<RootCertStore, StoreError> {
        let mut roots = RootCertStore::empty();
        let Some(path) = &self.root_cert else {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            return Ok(roots);
        };
        let bad = |why: String| StoreError::invalid("database URL", format!("sslrootcert {path}: {why}"));
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| bad(e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(e.to_string()))?;
        let (added, _) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(bad("no usable certificate in the file".into()));
        }
        Ok(roots)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    Nothing,
    Chain,
    ChainAndName,
}

/// libpq's checks below `verify-full`: the chain against `roots` when there are roots (`verify-ca`), nothing
/// otherwise (`prefer`, `require`). Handshake signatures are always verified, so the peer holds the key of the
/// certificate it sent.
#[derive(Debug)]
struct LibpqVerifier {
    roots: Option<Arc<RootCertStore>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for LibpqVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        if let Some(roots) = &self.roots {
            let cert = ParsedCertificate::try_from(end_entity)?;
            verify_server_cert_signed_by_trust_anchor(&cert, roots, intermediates, now, self.algorithms.all)?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// `%2F` and friends in a URL's file path, decoded.
fn percent_decoded(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssl_settings_are_taken_out_of_the_url() {
        let (url, s) =
            TlsSettings::take("postgres://u@h/db?sslmode=verify-full&x=1&sslrootcert=%2Fetc%2Fca.pem").unwrap();
        assert_eq!(url, "postgres://u@h/db?x=1");
        assert_eq!(s, TlsSettings { mode: TlsMode::VerifyFull, root_cert: Some("/etc/ca.pem".into()) });
        assert_eq!(s.ssl_mode(), SslMode::Require);
        let (url, s) = TlsSettings::take("postgres://u@h/db").unwrap();
        assert_eq!((url.as_str(), s.mode, s.ssl_mode()), ("postgres://u@h/db", TlsMode::Prefer, SslMode::Prefer));
        let (_, s) = TlsSettings::take("postgres://u@h/db?sslmode=disable").unwrap();
        assert_eq!(s.ssl_mode(), SslMode::Disable);
        let err = TlsSettings::take("postgres://u@h/db?sslmode=verify_full").unwrap_err();
        assert_eq!(crate::ErrorCode::code(&err), "store.invalid_input");
    }

    #[test]
    fn an_unreadable_root_file_is_bad_input() {
        let s = TlsSettings { mode: TlsMode::VerifyFull, root_cert: Some("/nonexistent/ca.pem".into()) };
        let err = s.connector().err().expect("refused");
        assert!(err.to_string().contains("sslrootcert /nonexistent/ca.pem"), "{err}");
    }
}
