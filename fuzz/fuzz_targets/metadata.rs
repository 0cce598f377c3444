//! Fuzzes metadata parsing and validation, and the friendly parsers that
//! turn user-typed text into organization ids, document types and urgencies.
//!
//! Errors are the expected outcome for almost every input; a panic, a hang
//! or unbounded memory use is a bug.
#![no_main]

use congvan_envelope::metadata::{DocumentType, Metadata, Urgency};
use congvan_org::OrgId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(metadata) = serde_json::from_slice::<Metadata>(data) {
        let _ = metadata.validate();
        let problems = metadata.problems();
        for problem in &problems {
            let _ = problem.to_string();
        }
        let _ = metadata.number_and_notation();
        // Whatever parsed must serialise and parse back to the same value.
        let json = serde_json::to_vec(&metadata).expect("parsed metadata must serialise");
        let back: Metadata =
            serde_json::from_slice(&json).expect("serialised metadata must parse again");
        assert_eq!(back, metadata, "metadata does not round-trip through JSON");
        let mut normalized = metadata;
        normalized.normalize_text();
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(id) = OrgId::parse(text) {
            // The normal form must parse back to itself.
            let shown = id.to_string();
            let again = OrgId::parse(&shown).expect("a normalised org id must parse again");
            assert_eq!(
                again, id,
                "org id {text:?} shown as {shown:?} parses differently"
            );
            // The QCVN 102:2016 form, when there is one, names the same office.
            if let Some(qcvn) = id.to_qcvn() {
                let back = OrgId::parse(&qcvn);
                assert!(
                    matches!(&back, Ok(back) if *back == id),
                    "org id {shown:?} has QCVN form {qcvn:?}, which parses as {back:?}"
                );
            }
        }
        let _ = DocumentType::from_user_text(text);
        let _ = Urgency::from_user_text(text);
    }
});
