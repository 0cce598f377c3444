//! Why a TLS connection failed, in words a clerk can act on.
//!
//! rustls reports a refused certificate as an error value or as an alert
//! from the other side, buried under the I/O and HTTP errors it travelled
//! through; shown as it is, a clerk reads "connection error". Here the
//! chain of sources is searched for the rustls error and the common cases
//! are put plainly.

use rustls::{AlertDescription, CertificateError};

/// The reason a connection failed, when a TLS error says one.
pub(crate) fn explain(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(describe(tls));
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref() {
                if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
                    return Some(describe(tls));
                }
            }
        }
        current = e.source();
    }
    None
}

fn describe(error: &rustls::Error) -> String {
    use rustls::Error as E;
    match error {
        E::AlertReceived(alert) => match alert {
            AlertDescription::CertificateExpired => "the relay refused this identity's certificate: it has expired (or is not yet valid); ask your CA for a new one".into(),
            AlertDescription::CertificateRevoked => "the relay refused this identity's certificate: it has been revoked; ask your CA for a new one".into(),
            AlertDescription::UnknownCA => "the relay refused this identity's certificate: it was not issued by a CA the relay trusts (a certificate of another PKI?)".into(),
            AlertDescription::BadCertificate
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateUnknown => "the relay refused this identity's certificate: it cannot be used to connect (wrong role or key usage, or unreadable)".into(),
            AlertDescription::AccessDenied => "the relay refused this identity's certificate: access denied".into(),
            AlertDescription::CertificateRequired => "the relay requires a client certificate; give --identity DIR with an office certificate".into(),
            other => format!("the relay ended the TLS handshake ({other:?})"),
        },
        E::InvalidCertificate(reason) => {
            let why = match reason {
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => "it has expired".to_string(),
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => "it is not yet valid (check this computer's clock)".to_string(),
                CertificateError::Revoked => "it has been revoked".to_string(),
                CertificateError::UnknownIssuer => "it was not issued by a CA in --trust".to_string(),
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => "it is not valid for the host name in --relay".to_string(),
                CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => "it is not a TLS server certificate".to_string(),
                CertificateError::BadSignature => "its signature does not verify".to_string(),
                other => format!("{other:?}"),
            };
            format!("the relay's certificate was refused: {why}")
        }
        other => format!("TLS: {other}"),
    }
}
