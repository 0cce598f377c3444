//! Checking the preservation records of a dispatch and their archive
//! timestamps: which are intact, which prove what existed when.

use std::collections::HashMap;

use congvan_sign::TrustStore;
use time::OffsetDateTime;

use crate::container::StoredPreservation;
use crate::preservation::{archive_timestamp_imprint, PreservationRecord, ALWAYS_COVERED};
use crate::report::ArchiveTimestampResult;
use crate::verify::{Rules, Verdict, MAX_CLOCK_SKEW};
use crate::{Envelope, Indication, SubIndication, VerificationReport};

/// What the archive timestamps establish.
pub(crate) struct ArchiveOutcome {
    /// Entry name → genTime of the earliest used archive timestamp
    /// covering it: a proof that the entry existed then.
    pub(crate) poe: HashMap<String, OffsetDateTime>,
    /// The first record or token found altered: it fails the dispatch.
    pub(crate) failure: Option<Verdict>,
}

/// Why a record is not used.
enum Problem {
    /// Altered or malformed: someone changed what was preserved.
    Failed(Verdict),
    /// Sound, but not evidence here (an authority this verifier does not
    /// trust, a token dated in the future).
    NotUsed(String),
}

/// Checks every record and token of `envelope` into `report`.
///
/// A record whose `covers` no longer match the entries, or whose token is
/// not a valid token over its bytes, fails the dispatch (FAILED /
/// HASH_FAILURE): that is how an altered embedded CRL, certificate or
/// timestamp shows. A token from an authority `trust` does not know is set
/// aside. Under the offline rules, every used token but the latest must
/// also have its authority shown unrevoked by a CRL issued after its
/// genTime (which a later record embeds); the latest stands on the anchor.
pub(crate) fn check_archive_timestamps(
    envelope: &Envelope,
    trust: &TrustStore,
    now: OffsetDateTime,
    rules: Rules,
    report: &mut VerificationReport,
) -> ArchiveOutcome {
    let mut failure = None;
    let mut earlier: Vec<&str> = Vec::new();
    let mut used: Vec<(usize, congvan_tsa::CheckedToken, PreservationRecord)> = Vec::new();
    for stored in envelope.preservations() {
        let mut result = ArchiveTimestampResult {
            entry: stored.token_entry.clone(),
            time: None,
            tsa: None,
            covers: 0,
            certificates: 0,
            crls: 0,
            used: false,
            anchor_of_proof: false,
            problem: None,
        };
        match judge(stored, envelope, &earlier, trust, now, &mut result) {
            Ok((checked, record)) => used.push((report.archive_timestamps.len(), checked, record)),
            Err(Problem::Failed(verdict)) => {
                result.problem = Some(verdict.2.clone());
                failure.get_or_insert(verdict);
            }
            Err(Problem::NotUsed(problem)) => result.problem = Some(problem),
        }
        earlier.push(&stored.record_entry);
        earlier.push(&stored.token_entry);
        report.archive_timestamps.push(result);
    }

    if let Rules::Offline { latest_vouched } = rules {
        let latest = if latest_vouched {
            used.len().checked_sub(1)
        } else {
            None
        };
        let mut kept = Vec::with_capacity(used.len());
        for (i, (index, checked, record)) in used.into_iter().enumerate() {
            let result = &mut report.archive_timestamps[index];
            if Some(i) == latest {
                result.anchor_of_proof = true;
            } else if let Err(e) =
                trust.check_crls_issued_after(&checked.chain, checked.gen_time, now)
            {
                result.problem = Some(format!(
                    "not used: its authority is not shown unrevoked after it: {e}"
                ));
                continue;
            }
            kept.push((index, checked, record));
        }
        used = kept;
    }

    let mut poe: HashMap<String, OffsetDateTime> = HashMap::new();
    for (index, checked, record) in &used {
        report.archive_timestamps[*index].used = true;
        for entry in record.covers.keys() {
            let at = poe.entry(entry.clone()).or_insert(checked.gen_time);
            if checked.gen_time < *at {
                *at = checked.gen_time;
            }
        }
    }
    ArchiveOutcome { poe, failure }
}

/// Checks one record and its token.
fn judge(
    stored: &StoredPreservation,
    envelope: &Envelope,
    earlier: &[&str],
    trust: &TrustStore,
    now: OffsetDateTime,
    result: &mut ArchiveTimestampResult,
) -> Result<(congvan_tsa::CheckedToken, PreservationRecord), Problem> {
    use congvan_tsa::Error as T;
    let failed = |sub, detail: String| Problem::Failed((Indication::Failed, sub, detail));
    let entry = &stored.record_entry;
    let record = PreservationRecord::parse(&stored.record, entry)
        .map_err(|e| failed(SubIndication::FormatFailure, e.to_string()))?;
    result.covers = record.covers.len();
    result.certificates = record.certificates.len();
    result.crls = record.crls.len();
    if let Err(e) = record
        .parsed_certificates(entry)
        .and_then(|_| record.parsed_crls(entry))
    {
        return Err(Problem::NotUsed(format!("not used: {e}")));
    }
    if let Some(missing) = ALWAYS_COVERED
        .iter()
        .copied()
        .chain(earlier.iter().copied())
        .find(|name| !record.covers.contains_key(*name))
    {
        return Err(failed(
            SubIndication::FormatFailure,
            format!(
                "{entry} does not cover {missing}: a preservation record covers the metadata, \
                 the manifest and every earlier record and archive timestamp"
            ),
        ));
    }
    let digests = envelope.entry_digests();
    for (name, digest) in &record.covers {
        if digests.get(name) != Some(digest) {
            return Err(failed(
                SubIndication::HashFailure,
                format!(
                    "{}, which the archive timestamp {} covers, was altered or removed after \
                     it was preserved",
                    congvan_text::line(name),
                    stored.token_entry
                ),
            ));
        }
    }
    let imprint = archive_timestamp_imprint(&stored.record);
    let checked = match congvan_tsa::check_token(&stored.token, &imprint, trust, &[]) {
        Ok(checked) => checked,
        Err(e @ (T::Untrusted(_) | T::NotTimestampCertificate(_) | T::Unsupported(_))) => {
            return Err(Problem::NotUsed(format!("not used: {e}")))
        }
        Err(e) => {
            return Err(failed(
                SubIndication::HashFailure,
                format!(
                    "the archive timestamp {} is not a valid token over {entry}: {e}; the \
                     preserved validation data or its timestamp was altered",
                    stored.token_entry
                ),
            ))
        }
    };
    result.time = Some(crate::signature::signing_time_text(checked.gen_time));
    result.tsa = Some(checked.tsa().display_name().to_string());
    if checked.gen_time > now + MAX_CLOCK_SKEW {
        return Err(Problem::NotUsed(
            "not used: it is dated in the future".to_string(),
        ));
    }
    Ok((checked, record))
}
