//! A server that speaks TLS with a certificate for `localhost` signed by a certificate
//! authority the test made, and a second authority that signed nothing of it.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

use crate::cluster::OwnCluster;

pub struct TlsServer {
    pub cluster: OwnCluster,
    /// The CA certificate that signed the server's certificate.
    pub ca: PathBuf,
    /// A CA certificate that did not.
    pub other_ca: PathBuf,
    _dir: tempfile::TempDir,
}

impl TlsServer {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (ca_cert, ca_key) = authority("test CA");
        let (other_cert, _) = authority("another CA");
        let issuer = Issuer::new(authority_params("test CA"), ca_key);
        let server_key = KeyPair::generate().unwrap();
        let server_cert = CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&server_key, &issuer)
            .unwrap();
        let cluster = OwnCluster::start(
            "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n",
            &[
                ("server.crt", server_cert.pem().as_bytes()),
                ("server.key", server_key.serialize_pem().as_bytes()),
            ],
        );
        let (ca, other_ca) = (dir.path().join("ca.crt"), dir.path().join("other-ca.crt"));
        std::fs::write(&ca, ca_cert).unwrap();
        std::fs::write(&other_ca, other_cert).unwrap();
        Self {
            cluster,
            ca,
            other_ca,
            _dir: dir,
        }
    }

    /// `database` on this server as `host` names it, with `sslmode=verify-full` trusting `ca`,
    /// and a password (the server trusts local connections, but nothing may print it).
    pub fn url(&self, host: &str, database: &str, ca: &Path) -> String {
        format!(
            "postgres://postgres:tls-secret-pw@{host}:{}/{database}?sslmode=verify-full&sslrootcert={}",
            self.cluster.port(),
            ca.display()
        )
    }
}

fn authority_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
}

/// A self-signed CA: its certificate (PEM) and key.
fn authority(name: &str) -> (String, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let cert = authority_params(name).self_signed(&key).unwrap();
    (cert.pem(), key)
}
