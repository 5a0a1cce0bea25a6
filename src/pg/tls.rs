//! TLS with rustls, following libpq's sslmode meanings (tokio-postgres itself knows
//! only disable/prefer/require, and its connectors always verify the hostname).

use std::sync::Arc;

use anyhow::Result;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::config::{DbConfig, SslMode};
use crate::report::exit::{Code, fail};

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The connector for `db`: which checks it makes follows `sslmode`.
pub fn connector(db: &DbConfig) -> Result<MakeRustlsConnect> {
    let provider = provider();
    let verifier: Arc<dyn ServerCertVerifier> = match effective_mode(db) {
        // disable never starts TLS; prefer and require encrypt without verifying (libpq).
        SslMode::Disable | SslMode::Prefer | SslMode::Require => Arc::new(Lenient {
            chain: None,
            algorithms: provider.signature_verification_algorithms,
        }),
        SslMode::VerifyCa => Arc::new(Lenient {
            chain: Some(webpki(db, provider.clone())?),
            algorithms: provider.signature_verification_algorithms,
        }),
        SslMode::VerifyFull => webpki(db, provider.clone())?,
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| fail(Code::Software, format!("TLS set-up failed: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// libpq: `require` with a root certificate given behaves like `verify-ca`.
pub fn effective_mode(db: &DbConfig) -> SslMode {
    match db.sslmode {
        SslMode::Require if db.sslrootcert.is_some() => SslMode::VerifyCa,
        m => m,
    }
}

fn webpki(db: &DbConfig, provider: Arc<CryptoProvider>) -> Result<Arc<WebPkiServerVerifier>> {
    let path = db.sslrootcert.as_ref().ok_or_else(|| {
        fail(
            Code::Config,
            "sslmode verify-ca/verify-full needs sslrootcert",
        )
    })?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<_, _>>())
        .map_err(|e| {
            fail(
                Code::Config,
                format!(
                    "sslrootcert {}: cannot read PEM certificates: {e}",
                    path.display()
                ),
            )
        })?;
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(fail(
            Code::Config,
            format!(
                "sslrootcert {}: no usable certificate in the file",
                path.display()
            ),
        ));
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| fail(Code::Config, format!("sslrootcert {}: {e}", path.display())))
}

/// libpq's weaker modes on rustls: without `chain`, encrypt but check no certificate
/// (`prefer`, `require`); with it, check the chain against the root certificates but not
/// the host name (`verify-ca`). webpki checks the chain first, so a name mismatch is only
/// reported for a trusted chain.
#[derive(Debug)]
struct Lenient {
    chain: Option<Arc<WebPkiServerVerifier>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
