//! Long-term preservation (B-LT and B-LTA in the JAdES and ASiC sense, at
//! the level of the container): the validation data a verifier needs in
//! twenty years, embedded in the dispatch, and an archive timestamp over
//! it and everything before it.
//!
//! A `.cvd` carries several signatures and receipts, so one record covers
//! them all, as an ASiC archive manifest does. Record `NNNN.json` lists
//! the SHA-256 of every entry it covers (metadata, manifest, every
//! signature and receipt, every earlier record and token; attachments are
//! covered through the manifest), the certificates of every chain and the
//! CRL of every CA on them; token `NNNN.tst` is an RFC 3161 token whose
//! imprint is the SHA-256 of the record's bytes. Preserving again, before
//! the last authority's certificate expires or its algorithm weakens,
//! covers the earlier record and token with a new one.

use std::collections::BTreeMap;
use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use congvan_sign::{Certificate, Crl, StaleCrls, TrustStore};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::container::StoredPreservation;
use crate::layout::{MANIFEST_ENTRY, METADATA_ENTRY};
use crate::{Envelope, Error, Timestamper};

/// The `format` of a preservation record.
pub const PRESERVATION_FORMAT: &str = "congvan-preservation/1";

/// Most certificates, and most CRLs, one record may embed.
const MAX_EMBEDDED: usize = 256;

/// A preservation record, `META-INF/preservation/NNNN.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PreservationRecord {
    /// Always [`PRESERVATION_FORMAT`].
    pub format: String,
    /// When the record was made (RFC 3339); the token's genTime is what
    /// counts.
    pub created: String,
    /// Always `sha256`: the digest of `covers`.
    pub digest_algorithm: String,
    /// Entry name → SHA-256 (hex) of its stored bytes.
    pub covers: BTreeMap<String, String>,
    /// Certificates (standard base64 of the DER).
    pub certificates: Vec<String>,
    /// CRLs (standard base64 of the DER).
    pub crls: Vec<String>,
}

impl PreservationRecord {
    /// Reads a record, refusing anything outside its format.
    pub fn parse(bytes: &[u8], entry: &str) -> Result<PreservationRecord, Error> {
        let bad = |problem: String| Error::Format(format!("{entry}: {problem}"));
        let record: PreservationRecord = serde_json::from_slice(bytes)
            .map_err(|e| bad(format!("not a preservation record congvan reads: {e}")))?;
        if record.format != PRESERVATION_FORMAT {
            return Err(bad(format!(
                "format {:?}, not {PRESERVATION_FORMAT}",
                record.format
            )));
        }
        if record.digest_algorithm != "sha256" {
            return Err(bad(format!(
                "digest algorithm {:?}; congvan reads sha256",
                record.digest_algorithm
            )));
        }
        if record.certificates.len() > MAX_EMBEDDED || record.crls.len() > MAX_EMBEDDED {
            return Err(bad(format!(
                "more than {MAX_EMBEDDED} certificates or CRLs"
            )));
        }
        Ok(record)
    }

    /// The record's bytes as stored (the token's imprint is over them).
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        serde_json::to_vec_pretty(self)
            .map_err(|e| Error::Format(format!("cannot encode the preservation record: {e}")))
    }

    /// The embedded certificates.
    pub fn parsed_certificates(&self, entry: &str) -> Result<Vec<Certificate>, Error> {
        self.certificates
            .iter()
            .map(|text| {
                let der = decode(text, entry, "certificate")?;
                Ok(Certificate::from_der(&der, Path::new(entry))?)
            })
            .collect()
    }

    /// The embedded CRLs.
    pub fn parsed_crls(&self, entry: &str) -> Result<Vec<Crl>, Error> {
        self.crls
            .iter()
            .map(|text| {
                let der = decode(text, entry, "CRL")?;
                Ok(Crl::from_der(&der, Path::new(entry))?)
            })
            .collect()
    }
}

fn decode(text: &str, entry: &str, what: &str) -> Result<Vec<u8>, Error> {
    STANDARD
        .decode(text)
        .map_err(|e| Error::Format(format!("{entry}: an embedded {what} is not base64: {e}")))
}

/// The imprint an archive timestamp must carry: SHA-256 of its record.
pub fn archive_timestamp_imprint(record: &[u8]) -> congvan_tsa::Imprint {
    congvan_tsa::Imprint::sha256_of(record)
}

/// A trust store for validating with nothing but what `records` embed:
/// the given trust anchors, the records' certificates as candidate
/// intermediates, and their CRLs (newest per CA), used although long past
/// their nextUpdate, since an auditor in twenty years has no current list
/// (the freshness rule of long-term validation applies instead:
/// [`TrustStore::check_crls_issued_after`]). A record that cannot be read
/// contributes nothing; verification reports it.
pub(crate) fn offline_store(
    anchors: Vec<Certificate>,
    records: &[(String, PreservationRecord)],
) -> Result<TrustStore, Error> {
    let mut store = TrustStore::new(anchors)?;
    for (entry, record) in records {
        // A record whose data cannot be read contributes nothing; its
        // check reports it "not used" (`archive_check.rs`).
        let (Ok(certificates), Ok(crls)) =
            (record.parsed_certificates(entry), record.parsed_crls(entry))
        else {
            continue;
        };
        store.add_intermediates(certificates.into_iter().filter(Certificate::is_ca));
        store.add_crls(crls)?;
    }
    store.set_stale_crls(StaleCrls::Accept);
    Ok(store)
}

/// The readable records of `preservations`, with their entry names.
pub(crate) fn readable_records(
    preservations: &[StoredPreservation],
) -> Vec<(String, PreservationRecord)> {
    preservations
        .iter()
        .filter_map(|p| {
            PreservationRecord::parse(&p.record, &p.record_entry)
                .ok()
                .map(|r| (p.record_entry.clone(), r))
        })
        .collect()
}

/// A trust store for `dispatch verify --offline`: `anchors` and the
/// validation data embedded in `envelope`, nothing else.
pub fn offline_trust_store(
    envelope: &Envelope,
    anchors: Vec<Certificate>,
) -> Result<TrustStore, Error> {
    offline_store(anchors, &readable_records(envelope.preservations()))
}

/// What `preserve_dispatch` added.
#[derive(Clone, Debug)]
pub struct PreservationSummary {
    /// The record's entry name.
    pub record_entry: String,
    /// The archive timestamp's genTime.
    pub gen_time: OffsetDateTime,
    /// The authority that made it.
    pub tsa: String,
    /// How many entries the record covers.
    pub covers: usize,
    /// How many certificates it embeds.
    pub certificates: usize,
    /// How many CRLs it embeds.
    pub crls: usize,
}

/// Preserves a dispatch: embeds the certificates of every chain in it (the
/// signers', the relays', the timestamp authorities') and the CRL of every
/// CA on them, taken from `trust`, then adds an archive timestamp from
/// `timestamper` over that record and everything before it, in one
/// atomic, synced rewrite.
///
/// It refuses, and leaves the file as it was, unless the dispatch verifies
/// PASSED under the offline rules with exactly the data it would then
/// carry and `trust`'s anchors: what is preserved must be what a verifier
/// in twenty years can check. That is where a missing CRL, or one issued
/// before a signature's timestamp, is named (`--crl`).
pub fn preserve_dispatch(
    envelope: &mut Envelope,
    trust: &TrustStore,
    now: OffsetDateTime,
    progress: &mut dyn FnMut(u64),
    timestamper: Timestamper<'_>,
) -> Result<PreservationSummary, Error> {
    let number = envelope.preservations().len() as u32 + 1;
    if number as usize > envelope.limits().max_preservations {
        return Err(Error::Refused(format!(
            "the dispatch already carries {} preservation records, as many as a reader accepts",
            number - 1
        )));
    }
    let certificates = chain_certificates(envelope, trust)?;
    let mut crls: Vec<Vec<u8>> = Vec::new();
    for cert in &certificates {
        if cert.subject_der() == cert.issuer_der() {
            continue;
        }
        if let Some(list) = trust
            .crls()
            .iter()
            .find(|c| c.issuer_der() == cert.issuer_der())
        {
            if !crls.iter().any(|d| d.as_slice() == list.der()) {
                crls.push(list.der().to_vec());
            }
        }
    }
    let record = PreservationRecord {
        format: PRESERVATION_FORMAT.to_string(),
        created: now
            .format(&Rfc3339)
            .map_err(|e| Error::Format(format!("cannot write the time: {e}")))?,
        digest_algorithm: "sha256".into(),
        covers: envelope.entry_digests().clone(),
        certificates: certificates
            .iter()
            .map(|c| STANDARD.encode(c.der()))
            .collect(),
        crls: crls.iter().map(|d| STANDARD.encode(d)).collect(),
    };
    let record_entry = crate::layout::preservation_record_entry(number);
    let bytes = record.to_bytes()?;
    let earlier: u64 = envelope
        .preservations()
        .iter()
        .map(|p| p.record.len() as u64)
        .sum();
    let limit = envelope.limits().max_preservation_bytes;
    if earlier + bytes.len() as u64 > limit {
        return Err(Error::Refused(format!(
            "the preservation records would take {} bytes; readers accept at most {limit}",
            earlier + bytes.len() as u64
        )));
    }

    // What a verifier will have: the anchors, the earlier records and this one.
    let mut records = readable_records(envelope.preservations());
    records.push((record_entry.clone(), record.clone()));
    let store = offline_store(trust.anchors().to_vec(), &records)?;
    let report = crate::verify::verify_long_term(envelope, &store, now, progress, false)?;
    if report.indication != crate::Indication::Passed {
        let status = match report.sub_indication {
            Some(sub) => format!("{}/{}", report.indication.name(), sub.name()),
            None => report.indication.name().to_string(),
        };
        return Err(Error::Refused(format!(
            "the dispatch was not preserved: with the validation data it would carry it does \
             not verify offline ({status}: {})",
            report.summary
        )));
    }
    // The proof so far must stay whole: each earlier archive timestamp
    // needs its authority shown unrevoked by a list issued after it.
    if let Some(broken) = report.archive_timestamps.iter().find(|a| !a.used) {
        return Err(Error::Refused(format!(
            "the dispatch was not preserved: with the validation data it would carry it does \
             not verify offline: the earlier archive timestamp {} would not be proven ({}); \
             give a CRL of its authority's CA issued after it (--crl)",
            broken.entry,
            broken.problem.as_deref().unwrap_or("not used")
        )));
    }

    let imprint = archive_timestamp_imprint(&bytes);
    let token = timestamper(&imprint)?;
    let checked = congvan_tsa::check_token(&token, &imprint, trust, &[]).map_err(|e| {
        Error::Refused(format!(
            "the dispatch was not preserved: the archive timestamp is not valid under the \
             trusted roots: {e}"
        ))
    })?;
    let token_entry = crate::layout::archive_timestamp_entry(number);
    crate::builder::append_entries(
        envelope,
        &[(record_entry.clone(), bytes), (token_entry, token)],
        crate::Durability::Synced,
        false,
    )?;
    Ok(PreservationSummary {
        record_entry,
        gen_time: checked.gen_time,
        tsa: checked.tsa().display_name().to_string(),
        covers: record.covers.len(),
        certificates: record.certificates.len(),
        crls: record.crls.len(),
    })
}

/// Every certificate of every chain the dispatch relies on: each
/// signature's and receipt's x5c, and the chains of the signature and
/// archive timestamps that validate under `trust`. (A timestamp that does
/// not validate is reported by the verification that follows.)
fn chain_certificates(envelope: &Envelope, trust: &TrustStore) -> Result<Vec<Certificate>, Error> {
    let mut certs: Vec<Certificate> = Vec::new();
    let mut add = |more: Vec<Certificate>| {
        for cert in more {
            if !certs.contains(&cert) {
                certs.push(cert);
            }
        }
    };
    for stored in envelope.signatures() {
        let (header, _) = crate::signature::parse_header_fields(&stored.jws, &stored.entry)?;
        add(crate::signature::decode_x5c(
            &header.x5c,
            0,
            &stored.entry,
            Some(trust),
        )?);
        let imprint = crate::timestamp::signature_timestamp_imprint(&stored.jws);
        for token in crate::timestamp::signature_timestamps(&stored.jws, &stored.entry)? {
            if let Ok(checked) = congvan_tsa::check_token(&token, &imprint, trust, &[]) {
                add(checked.chain.certificates);
            }
        }
    }
    for stored in envelope.receipts() {
        let (header, _, _, _) = crate::parse_receipt(&stored.jws, &stored.entry)?;
        add(crate::signature::decode_x5c(
            &header.x5c,
            0,
            &stored.entry,
            Some(trust),
        )?);
    }
    for earlier in envelope.preservations() {
        let imprint = archive_timestamp_imprint(&earlier.record);
        if let Ok(checked) = congvan_tsa::check_token(&earlier.token, &imprint, trust, &[]) {
            add(checked.chain.certificates);
        }
    }
    Ok(certs)
}

/// Entries every record must cover besides the signatures: the signed
/// content's description, and (checked by the caller) each earlier record
/// and token.
pub(crate) const ALWAYS_COVERED: [&str; 2] = [METADATA_ENTRY, MANIFEST_ENTRY];
