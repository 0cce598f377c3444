use std::path::Path;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::{pem_file, Certificate, Credential, Error};

/// The file in a CA directory that records what the CA has revoked.
pub const REVOKED_FILE: &str = "revoked.json";

/// Why a certificate was revoked (RFC 5280 CRLReason).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RevocationReason {
    /// No reason given.
    Unspecified,
    /// The private key leaked or may have.
    KeyCompromise,
    /// A CA's private key leaked or may have.
    CaCompromise,
    /// The subject's details changed (a merger, a new name).
    AffiliationChanged,
    /// A new certificate replaces this one.
    Superseded,
    /// The office or person no longer needs it.
    CessationOfOperation,
    /// Temporarily suspended.
    CertificateHold,
}

impl RevocationReason {
    /// All reasons with their RFC 5280 names, for argument parsing and help.
    pub const ALL: [(RevocationReason, &'static str); 7] = [
        (RevocationReason::Unspecified, "unspecified"),
        (RevocationReason::KeyCompromise, "keyCompromise"),
        (RevocationReason::CaCompromise, "cACompromise"),
        (RevocationReason::AffiliationChanged, "affiliationChanged"),
        (RevocationReason::Superseded, "superseded"),
        (
            RevocationReason::CessationOfOperation,
            "cessationOfOperation",
        ),
        (RevocationReason::CertificateHold, "certificateHold"),
    ];

    /// Parses an RFC 5280 reason name such as `keyCompromise`.
    pub fn parse(name: &str) -> Option<RevocationReason> {
        RevocationReason::ALL
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|(r, _)| *r)
    }

    fn to_rcgen(self) -> rcgen::RevocationReason {
        match self {
            RevocationReason::Unspecified => rcgen::RevocationReason::Unspecified,
            RevocationReason::KeyCompromise => rcgen::RevocationReason::KeyCompromise,
            RevocationReason::CaCompromise => rcgen::RevocationReason::CaCompromise,
            RevocationReason::AffiliationChanged => rcgen::RevocationReason::AffiliationChanged,
            RevocationReason::Superseded => rcgen::RevocationReason::Superseded,
            RevocationReason::CessationOfOperation => rcgen::RevocationReason::CessationOfOperation,
            RevocationReason::CertificateHold => rcgen::RevocationReason::CertificateHold,
        }
    }
}

/// One revoked certificate as the CA recorded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedEntry {
    /// Serial number, lowercase hex.
    pub serial: String,
    /// The certificate's subject, for people reading the file.
    pub subject: String,
    /// When it was revoked (RFC 3339).
    pub revoked_at: String,
    /// Why.
    pub reason: RevocationReason,
}

/// A CA's revocation record: every revoked serial and the last CRL number.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationRecord {
    /// The number of the last CRL issued (monotonic, RFC 5280 cRLNumber).
    pub crl_number: u64,
    /// Every certificate revoked so far.
    pub revoked: Vec<RevokedEntry>,
}

impl RevocationRecord {
    /// Reads the record from a CA directory; a CA that never revoked has none.
    pub fn load(ca_dir: &Path) -> Result<RevocationRecord, Error> {
        let path = ca_dir.join(REVOKED_FILE);
        if !path.exists() {
            return Ok(RevocationRecord::default());
        }
        let bytes = pem_file::read_bounded(&path)?;
        let record: RevocationRecord = serde_json::from_slice(&bytes)
            .map_err(|e| Error::malformed(&path, format!("bad revocation record: {e}")))?;
        // Check every entry now, so that a damaged record is reported against
        // its file rather than later, when a CRL is issued from it.
        for entry in &record.revoked {
            if parse_hex(&entry.serial).is_none_or(|serial| serial.is_empty()) {
                return Err(Error::malformed(
                    &path,
                    format!(
                        "bad revocation record: serial {:?} is not a hex serial number",
                        entry.serial
                    ),
                ));
            }
            if OffsetDateTime::parse(&entry.revoked_at, &Rfc3339).is_err() {
                return Err(Error::malformed(
                    &path,
                    format!(
                        "bad revocation record: revoked_at {:?} of serial {} is not an RFC 3339 time",
                        entry.revoked_at, entry.serial
                    ),
                ));
            }
        }
        Ok(record)
    }

    /// Writes the record back into the CA directory.
    pub fn save(&self, ca_dir: &Path) -> Result<(), Error> {
        let path = ca_dir.join(REVOKED_FILE);
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::malformed(&path, format!("cannot encode: {e}")))?;
        pem_file::write_public(&path, &json)
    }

    /// Records the revocation of `cert`, which `ca` must have issued.
    /// Revoking twice is refused, so the first revocation time stands.
    pub fn revoke(
        &mut self,
        ca: &Credential,
        cert: &Certificate,
        reason: RevocationReason,
        at: OffsetDateTime,
    ) -> Result<&RevokedEntry, Error> {
        crate::issuance::check_issued_by(cert, ca.cert())?;
        let serial = cert.serial_hex();
        if self.revoked.iter().any(|e| e.serial == serial) {
            return Err(Error::Refused(format!(
                "certificate serial {serial} (\"{}\") is already revoked",
                cert.display_name()
            )));
        }
        self.revoked.push(RevokedEntry {
            serial,
            subject: cert.subject().to_string(),
            revoked_at: rfc3339(at),
            reason,
        });
        Ok(&self.revoked[self.revoked.len() - 1])
    }

    /// Issues the next CRL, valid for `days`, and bumps the CRL number.
    pub fn issue_crl(
        &mut self,
        ca: &Credential,
        now: OffsetDateTime,
        days: u32,
    ) -> Result<String, Error> {
        let mut revoked_certs = Vec::with_capacity(self.revoked.len());
        for entry in &self.revoked {
            let serial = parse_hex(&entry.serial).ok_or_else(|| {
                Error::Issuance(format!("bad serial {:?} in {REVOKED_FILE}", entry.serial))
            })?;
            let revoked_at = OffsetDateTime::parse(&entry.revoked_at, &Rfc3339)
                .map_err(|e| Error::Issuance(format!("bad time in {REVOKED_FILE}: {e}")))?;
            revoked_certs.push(rcgen::RevokedCertParams {
                serial_number: rcgen::SerialNumber::from_slice(&serial),
                revocation_time: revoked_at,
                reason_code: Some(entry.reason.to_rcgen()),
                invalidity_date: None,
            });
        }
        self.crl_number += 1;
        let params = rcgen::CertificateRevocationListParams {
            this_update: now,
            next_update: now + Duration::days(i64::from(days.max(1))),
            crl_number: rcgen::SerialNumber::from(self.crl_number),
            issuing_distribution_point: None,
            revoked_certs,
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        };
        let issuer = crate::issuance::rcgen_issuer(ca)?;
        let crl = params
            .signed_by(&issuer)
            .map_err(|e| Error::Issuance(format!("cannot sign the CRL: {e}")))?;
        crl.pem()
            .map_err(|e| Error::Issuance(format!("cannot encode the CRL: {e}")))
    }
}

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

fn parse_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}
