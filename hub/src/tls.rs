//! The hub's TLS: a self-signed CA and a server certificate for the hub's names and addresses
//! (generated at `init`), or certificates the college provides; the rustls server
//! configuration; and the certificate's SHA-256 fingerprint, which agents pin at enrollment.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

pub const DIR: &str = "tls";
pub const CA: &str = "ca.pem";
pub const CERT: &str = "server.pem";
pub const KEY: &str = "server.key";

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("生成证书失败：{0}")]
    Generate(#[from] rcgen::Error),
    #[error("读写证书文件 {0} 失败：{1}")]
    Io(PathBuf, std::io::Error),
    #[error("证书文件 {0} 中没有可用的证书或私钥")]
    Empty(PathBuf),
    #[error("证书与私钥不匹配或格式不支持：{0}")]
    Config(#[from] rustls::Error),
}

/// Writes a new CA and a server certificate for `names` (DNS names or IP addresses) into
/// `<data>/tls/`. Returns the server certificate's fingerprint.
pub fn generate(data: &Path, school: &str, names: &[String]) -> Result<String, TlsError> {
    let dir = data.join(DIR);
    std::fs::create_dir_all(&dir).map_err(|e| TlsError::Io(dir.clone(), e))?;
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, format!("caiji 中心端 CA（{school}）"));
    ca_params.distinguished_name = dn;
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(names.to_vec())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, names.first().cloned().unwrap_or_else(|| "caiji-hub".into()));
    params.distinguished_name = dn;
    let cert = params.signed_by(&key, &issuer)?;
    let write = |name: &str, text: String| {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(|e| TlsError::Io(p, e))
    };
    write(CA, ca_cert.pem())?;
    write(CERT, format!("{}{}", cert.pem(), ca_cert.pem()))?;
    write(KEY, key.serialize_pem())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(KEY);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).map_err(|e| TlsError::Io(p, e))?;
    }
    Ok(fingerprint(cert.der()))
}

/// Copies certificates the college provides (a PEM chain and its key) into `<data>/tls/`.
pub fn install(data: &Path, cert: &Path, key: &Path) -> Result<String, TlsError> {
    let dir = data.join(DIR);
    std::fs::create_dir_all(&dir).map_err(|e| TlsError::Io(dir.clone(), e))?;
    for (from, to) in [(cert, CERT), (key, KEY)] {
        std::fs::copy(from, dir.join(to)).map_err(|e| TlsError::Io(from.to_path_buf(), e))?;
    }
    let (chain, _) = load(data)?;
    Ok(fingerprint(&chain[0]))
}

/// Reads the server's certificate chain and key.
pub fn load(data: &Path) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let dir = data.join(DIR);
    let read = |name: &str| {
        let p = dir.join(name);
        std::fs::read(&p).map_err(|e| TlsError::Io(p, e))
    };
    let cert_pem = read(CERT)?;
    let chain: Vec<CertificateDer<'static>> =
        rustls_pemfile::certs(&mut cert_pem.as_slice()).filter_map(Result::ok).collect();
    if chain.is_empty() {
        return Err(TlsError::Empty(dir.join(CERT)));
    }
    let key_pem = read(KEY)?;
    let key = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .ok()
        .flatten()
        .ok_or_else(|| TlsError::Empty(dir.join(KEY)))?;
    Ok((chain, key))
}

/// The rustls configuration of the hub's HTTPS server.
pub fn server_config(data: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let (chain, key) = load(data)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    // HTTP/2 compresses the headers of the many small sync requests on one connection.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The fingerprint of the hub's certificate, as shown to the office and pinned by agents.
pub fn server_fingerprint(data: &Path) -> Result<String, TlsError> {
    let (chain, _) = load(data)?;
    Ok(fingerprint(&chain[0]))
}

/// SHA-256 of a certificate's DER, as colon-separated upper-case hex.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der).iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}
