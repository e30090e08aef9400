//! TLS: a local certificate authority and a server certificate, made on first start and kept
//! in the data dir so clients keep trusting azemu across restarts.
//!
//! `ca.pem` is what clients trust (`REQUESTS_CA_BUNDLE`, `SSL_CERT_FILE`). The server
//! certificate is re-issued by the same CA when the requested SANs change. Private keys are
//! written with mode 0600 and never served.

use crate::config::Config;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub(crate) struct TlsSetup {
    pub(crate) server_config: Arc<rustls::ServerConfig>,
    /// The PEM file clients should trust.
    pub(crate) ca_path: PathBuf,
}

fn other<E: std::fmt::Display>(e: E) -> io::Error {
    io::Error::other(e.to_string())
}

/// The SANs the server certificate carries: localhost, loopback addresses, the host and extras.
pub(crate) fn sans(cfg: &Config) -> Vec<String> {
    let mut v: Vec<String> = ["localhost", "127.0.0.1", "::1"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if !cfg.host.is_empty() && cfg.host != "0.0.0.0" && cfg.host != "::" {
        v.push(cfg.host.clone());
    }
    v.extend(cfg.tls_sans.iter().cloned());
    v.sort();
    v.dedup();
    v
}

pub(crate) fn setup(cfg: &Config) -> io::Result<TlsSetup> {
    let (certs, key, ca_path) = match (&cfg.cert, &cfg.key) {
        (Some(cert), Some(key)) => {
            let certs = load_certs(cert)?;
            let key = load_key(key)?;
            (certs, key, cert.clone())
        }
        (None, None) => ensure_local_ca(&cfg.data_dir, &sans(cfg))?,
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "--cert and --key go together",
            ))
        }
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(other)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(other)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsSetup {
        server_config: Arc::new(config),
        ca_path,
    })
}

fn pem_error(path: &Path, e: rustls_pki_types::pem::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("{}: {e}", path.display()))
}

fn load_certs(path: &Path) -> io::Result<Vec<CertificateDer<'static>>> {
    CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error(path, e))?
        .map(|c| c.map_err(|e| pem_error(path, e)))
        .collect()
}

fn load_key(path: &Path) -> io::Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => io::Error::new(
            io::ErrorKind::InvalidData,
            format!("no private key in {}", path.display()),
        ),
        e => pem_error(path, e),
    })
}

fn ca_params() -> CertificateParams {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "azemu local CA");
    dn.push(DnType::OrganizationName, "azemu");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.not_before = rcgen::date_time_ymd(2025, 1, 1);
    p.not_after = rcgen::date_time_ymd(2045, 1, 1);
    p
}

/// Creates (or reuses) `ca.pem` and a server certificate for `sans` in `dir`.
fn ensure_local_ca(
    dir: &Path,
    sans: &[String],
) -> io::Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>, PathBuf)> {
    std::fs::create_dir_all(dir)?;
    let ca_path = dir.join("ca.pem");
    let ca_key_path = dir.join("ca-key.pem");
    let server_path = dir.join("server.pem");
    let server_key_path = dir.join("server-key.pem");
    let sans_path = dir.join("server-sans.txt");

    let (ca_pem, ca_key) = match (std::fs::read_to_string(&ca_path), std::fs::read_to_string(&ca_key_path)) {
        (Ok(pem), Ok(key)) => (pem, KeyPair::from_pem(&key).map_err(other)?),
        _ => {
            let key = KeyPair::generate().map_err(other)?;
            let cert = ca_params().self_signed(&key).map_err(other)?;
            crate::files::write_private(&ca_key_path, key.serialize_pem().as_bytes())?;
            std::fs::write(&ca_path, cert.pem())?;
            let _ = std::fs::remove_file(&server_path);
            (cert.pem(), key)
        }
    };

    let wanted = sans.join("\n");
    let reusable = std::fs::read_to_string(&sans_path).ok().as_deref() == Some(wanted.as_str())
        && server_path.exists()
        && server_key_path.exists();
    if !reusable {
        let issuer = Issuer::from_ca_cert_pem(&ca_pem, ca_key).map_err(other)?;
        let key = KeyPair::generate().map_err(other)?;
        let mut p = CertificateParams::new(sans.to_vec()).map_err(other)?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "azemu");
        p.distinguished_name = dn;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        p.use_authority_key_identifier_extension = true;
        p.not_before = rcgen::date_time_ymd(2025, 1, 1);
        p.not_after = rcgen::date_time_ymd(2045, 1, 1);
        let cert = p.signed_by(&key, &issuer).map_err(other)?;
        crate::files::write_private(&server_key_path, key.serialize_pem().as_bytes())?;
        std::fs::write(&server_path, cert.pem())?;
        std::fs::write(&sans_path, &wanted)?;
    }
    Ok((load_certs(&server_path)?, load_key(&server_key_path)?, ca_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_pem_files_it_writes_and_names_what_is_missing() {
        let dir = std::env::temp_dir().join(format!("azemu-tls-{}", uuid::Uuid::new_v4()));
        let (certs, _key, ca) = ensure_local_ca(&dir, &["localhost".to_string()]).expect("a local CA");
        assert_eq!(certs.len(), 1);
        assert_eq!(load_certs(&ca).expect("the CA reads back").len(), 1);
        let e = load_key(&ca).expect_err("a certificate is no key");
        assert!(e.to_string().contains("no private key"), "{e}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
