//! Connection errors that waiting cannot fix, and the one line that says which setting to
//! change: a wrong password, an unknown database, a certificate the client does not trust. The
//! rest (refused, unreachable, starting up) is worth retrying.

use migrate_core::sqlstate::{
    ADMIN_SHUTDOWN, CANNOT_CONNECT_NOW, INVALID_AUTHORIZATION, INVALID_CATALOG_NAME,
    INVALID_PASSWORD, TOO_MANY_CONNECTIONS,
};
use rustls::{CertificateError, Error as TlsError};

use crate::settings::DatabaseSettings;

/// The line for an error retrying cannot fix, or `None` when it may pass.
pub(crate) fn permanent(error: &sqlx::Error, settings: &DatabaseSettings) -> Option<String> {
    let source = settings.source;
    let url = settings.redacted_url();
    if let Some(db) = error.as_database_error() {
        return Some(match db.code().as_deref() {
            Some(INVALID_PASSWORD | INVALID_AUTHORIZATION) => format!(
                "authentication failed for {url}: {}; check the user and password in {source}",
                db.message()
            ),
            Some(INVALID_CATALOG_NAME) => format!(
                "database {:?} does not exist on {url}; create it first (in development: cargo xtask db-reset)",
                settings.database_name().unwrap_or("?")
            ),
            // The server is starting up, shutting down or full: worth waiting for.
            Some(CANNOT_CONNECT_NOW | TOO_MANY_CONNECTIONS | ADMIN_SHUTDOWN) => return None,
            _ => format!("cannot connect to {url}: {}", db.message()),
        });
    }
    if let Some(tls) = tls_error(error) {
        let host = settings.host();
        let fix = match tls {
            TlsError::InvalidCertificate(CertificateError::UnknownIssuer) => format!(
                "the server's certificate is not signed by a certificate authority the client trusts: set \
                 sslrootcert in {source} to the CA certificate that signed it"
            ),
            TlsError::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            ) => format!(
                "the server's certificate is not valid for the host {host:?}: put the host name its certificate \
                 names in {source} (or use sslmode=verify-ca, which checks the CA only)"
            ),
            TlsError::InvalidCertificate(
                CertificateError::Expired | CertificateError::ExpiredContext { .. },
            ) => "the server's certificate has expired: renew it on the server".to_owned(),
            other => format!("{other}: check the ssl settings (sslmode, sslrootcert) in {source}"),
        };
        return Some(format!("TLS with {url} failed: {fix}"));
    }
    match error {
        sqlx::Error::Tls(e) => Some(format!(
            "TLS with {url} failed: {}; check the ssl settings (sslmode, sslrootcert) in {source}",
            settings.redact(&e.to_string())
        )),
        sqlx::Error::Configuration(e) => Some(format!(
            "cannot connect to {url}: {}; check {source}",
            settings.redact(&e.to_string())
        )),
        _ => None,
    }
}

/// The TLS failure behind `error`: rustls's own error, which sqlx passes on as the cause of an
/// I/O error during the handshake.
fn tls_error(error: &sqlx::Error) -> Option<&TlsError> {
    match error {
        sqlx::Error::Io(e) => e.get_ref()?.downcast_ref::<TlsError>(),
        sqlx::Error::Tls(e) => e.downcast_ref::<TlsError>(),
        _ => None,
    }
}
