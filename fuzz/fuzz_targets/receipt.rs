//! Fuzzes the receipt reader: arbitrary bytes as a receipt JWS (flattened
//! JSON, as stored in `META-INF/receipts/` and carried by the relay API),
//! through everything a verifier or relay does with one: `parse_receipt`
//! (header, `crit`, algorithm, statement fields and their text rules), the
//! statement's description, and `verify_receipt` against the demo trust
//! store (x5c decoding, low-s, the signature, path validation).
//!
//! Input layout: the stored receipt entry itself; or, after a leading zero
//! byte, a statement (the decoded payload) framed in the header and
//! signature of a genuine seed receipt, so that mutations reach the
//! statement's parser instead of breaking the base64 around it.
//!
//! Errors are the expected outcome for almost every input; a panic, a hang
//! or unbounded memory use is a bug. A receipt that verifies must be about
//! what its statement says and signed by the certificate it names.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use congvan_envelope::{parse_receipt, verify_receipt, Jws};
use congvan_sign::{Certificate, Crl, TrustStore};
use libfuzzer_sys::fuzz_target;

/// The demo root, the province CA and its CRL, loaded once.
fn trust() -> &'static TrustStore {
    static TRUST: OnceLock<TrustStore> = OnceLock::new();
    TRUST.get_or_init(|| {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let root = Certificate::load_all(&repo.join("certs/root/cert.pem"))
            .expect("the demo root (certs/root/cert.pem)");
        let mut store = TrustStore::new(root).expect("a trust store of the demo root");
        store.add_intermediates(
            Certificate::load_all(&repo.join("certs/ca-h99/cert.pem"))
                .expect("the demo province CA"),
        );
        store
            .add_crls(
                Crl::load_all(&repo.join("fixtures/pki/ca-h99.crl.pem"))
                    .expect("the fixtures' CRL"),
            )
            .expect("the fixtures' CRL is acceptable");
        store
    })
}

/// A genuine receipt: its header and signature frame a fuzzed statement.
fn genuine() -> &'static Jws {
    static GENUINE: OnceLock<Jws> = OnceLock::new();
    GENUINE.get_or_init(|| {
        Jws::parse(
            include_bytes!("../seeds/receipt/with-receipts-0002.json"),
            "seed",
        )
        .expect("the seed receipt parses")
    })
}

fuzz_target!(|data: &[u8]| {
    let jws = match data.split_first() {
        Some((0, statement)) => Jws {
            payload: Some(URL_SAFE_NO_PAD.encode(statement)),
            ..genuine().clone()
        },
        _ => {
            let Ok(jws) = Jws::parse(data, "receipt") else {
                return;
            };
            jws
        }
    };
    let parsed = parse_receipt(&jws, "receipt");
    if let Ok((_, _, statement, _)) = &parsed {
        // What a report prints of any receipt, valid or not.
        let _ = statement.describe();
        let _ = statement.problem();
    }
    if let Ok(verified) = verify_receipt(&jws, "receipt", trust()) {
        // Verification implies the parse succeeded with the same statement.
        let (_, _, statement, _) = parsed.expect("a receipt that verifies is one that parses");
        assert_eq!(statement, verified.statement);
        assert!(
            verified.statement.problem().is_none(),
            "a verified receipt breaks the text rules"
        );
    }
});
