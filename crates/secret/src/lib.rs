//! Secret dispatches (Mật, Tối mật, Tuyệt mật), encrypted end to end.
//!
//! A secret dispatch is made and signed as any other; then it is sealed:
//! encrypted into a JWE (RFC 7516, general JSON serialization) for each
//! recipient office and for the sender office, and wrapped in a sealed
//! container whose only clear content is a routing header (id, offices,
//! urgency, secrecy, times). Relays verify the sender office's seal over
//! the outer manifest, store and forward the ciphertext, and can read
//! nothing else.
//!
//! - content: A256GCM in 1 MiB chunks (the STREAM construction of
//!   [`stream`]), the routing header as additional data;
//! - keys: ECDH-ES+A256KW on P-256 per recipient ([`key_wrap`]), each
//!   entry naming its certificate by `x5t#S256`; the algorithm is
//!   pluggable ([`KeyManagement`]);
//! - [`seal_dispatch`] and [`open_sealed`] do the work; [`Recipient`]
//!   exists only for a certificate validated against a trust store.
//!
//! `docs/FORMAT.md` §11 documents the bytes.
#![forbid(unsafe_code)]

mod concat_kdf;
mod error;
pub mod jwe;
pub mod key_wrap;
mod keys;
mod random;
mod seal;
pub mod stream;

pub use error::Error;
pub use jwe::Jwe;
pub use key_wrap::KeyManagement;
pub use keys::{thumbprint, DecryptionKey, Recipient};
pub use seal::{check_structure, decrypt_jwe_file, open_sealed, seal_dispatch, Sealed};
