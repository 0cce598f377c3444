//! congvan's timestamp authority (RFC 3161) and the checking of time-stamp
//! tokens.
//!
//! A token is a CMS SignedData over a TSTInfo that binds a hash (the
//! message imprint) to a time. congvan issues them ([`Authority`], served
//! over HTTP by [`serve`]), asks for them ([`request_token`]) and checks
//! them ([`check_token`]): the signed attributes, the messageDigest, the
//! ESSCertIDv2 of the signing certificate, the TSA's extended key usage
//! (timeStamping, critical) and its chain under the trust store.
//!
//! The ASN.1 comes from RustCrypto's `x509-tsp` and `cms`; signing and
//! verifying stay on ring, as everywhere else in congvan.
#![forbid(unsafe_code)]

mod asn1;
mod authority;
mod error;
mod http;
mod imprint;
mod request;
mod token;

pub use authority::{Authority, MAX_REQUEST_BYTES};
pub use error::Error;
pub use http::{request_token, serve, QUERY_MEDIA_TYPE, REPLY_MEDIA_TYPE};
pub use imprint::{HashAlg, Imprint};
pub use request::TimestampRequest;
pub use token::{check_reply, check_token, granted_token, CheckedToken};
