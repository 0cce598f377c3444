//! Fuzzes the `.cvd` container reader: `Envelope::open` on arbitrary bytes,
//! then everything a verifier reads from an opened container (attachment
//! hashing, the metadata digest, signature and receipt headers).
//!
//! Errors are the expected outcome for almost every input; a panic, a hang
//! or unbounded memory use is a bug.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use congvan_envelope::{parse_header, parse_receipt, Envelope};
use libfuzzer_sys::fuzz_target;

/// `Envelope::open` takes a path, so each input is written to one fixed
/// file per process (overwritten every iteration).
fn scratch_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::env::temp_dir().join(format!("congvan-fuzz-container-{}.cvd", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    let path = scratch_path();
    std::fs::write(path, data).expect("cannot write the fuzz input to the temp dir");
    let Ok(mut envelope) = Envelope::open(path) else {
        return;
    };
    let _ = envelope.metadata().problems();
    let _ = envelope.check_metadata_digest();
    let _ = envelope.check_attachments(&mut |_| {});
    for stored in envelope.signatures() {
        let _ = parse_header(&stored.jws, &stored.entry);
        let _ = stored.jws.signature_bytes(&stored.entry);
        let _ = stored.jws.signature_digest(&stored.entry);
    }
    for stored in envelope.receipts() {
        if let Ok((_, _, statement, _)) = parse_receipt(&stored.jws, &stored.entry) {
            let _ = statement.describe();
        }
    }
});
