//! What an office does through its relay, for the pages: read a dispatch
//! it may see, send a status, hand a sealed dispatch over. Each goes
//! through the relay's own checks (the same as the API's), with the
//! office's identity: the web workplace has no back door into the store.

use std::path::{Path, PathBuf};

use congvan_envelope::{
    make_receipt, receipt_time, verify_dispatch, Envelope, Statement, StatusCode,
    VerificationReport,
};
use congvan_org::OrgId;
use congvan_relay::encryption_certificates::{published_encryption_certificate, Published};
use congvan_relay::store::DispatchRecord;
use congvan_relay::Caller;
use time::OffsetDateTime;

use crate::app::WebApp;
use crate::Error;

/// A file in the workplace's scratch folder, removed when dropped.
pub struct WorkFile(PathBuf);

impl WorkFile {
    /// A new, unused path in the scratch folder.
    pub fn new(app: &WebApp, suffix: &str) -> Result<WorkFile, Error> {
        let name = format!("{}{suffix}", crate::random::token()?);
        Ok(WorkFile(app.store.work_dir().join(name)))
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for WorkFile {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.0) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %self.0.display(), error = %e, "could not remove a scratch file");
            }
        }
    }
}

/// A dispatch opened for a page: the relay's record, the file, and what
/// verifying it now found.
pub struct Opened {
    /// What the relay stores about it.
    pub record: DispatchRecord,
    /// The dispatch itself.
    pub envelope: Envelope,
    /// Verified against the relay's trust store, now.
    pub report: VerificationReport,
    _file: WorkFile,
}

/// Opens dispatch `id` if `office` may see it (`None` otherwise, or when
/// retention removed its file).
pub fn open(app: &WebApp, office: &str, id: &str) -> Result<Option<Opened>, Error> {
    let Some(record) = app.relay.store.visible_to(office, id)? else {
        return Ok(None);
    };
    let file = WorkFile::new(app, ".cvd")?;
    if !app.relay.store.copy_dispatch_file(&record, file.path())? {
        return Ok(None);
    }
    // A secret dispatch is decrypted here, inside a session of `office`
    // (the caller's), with that office's key: a non-recipient fails.
    let file = match congvan_envelope::Opened::open(file.path())? {
        congvan_envelope::Opened::Dispatch(_) => file,
        congvan_envelope::Opened::Sealed(mut sealed) => {
            let key = app.decryption_key(office)?;
            let clear = WorkFile::new(app, ".cvd")?;
            congvan_secret::open_sealed(&mut sealed, &key, clear.path())
                .map_err(|e| Error::Account(format!("cannot decrypt the secret dispatch: {e}")))?;
            clear
        }
    };
    let (envelope, report) = open_file(app, file.path())?;
    Ok(Some(Opened {
        record,
        envelope,
        report,
        _file: file,
    }))
}

/// Opens and verifies a dispatch file against the relay's trust store.
pub fn open_file(app: &WebApp, path: &Path) -> Result<(Envelope, VerificationReport), Error> {
    let mut envelope = Envelope::open(path)?;
    let report = verify_dispatch(
        &mut envelope,
        &app.relay.trust(),
        OffsetDateTime::now_utc(),
        &mut |_| {},
    )?;
    Ok((envelope, report))
}

/// Signs status `code` with the office's key and gives it to the relay as
/// `congvan ack` would. `Ok(Err(reason))` when the relay refuses.
pub async fn send_status(
    app: &WebApp,
    office: &str,
    record: &DispatchRecord,
    code: StatusCode,
    note: Option<String>,
) -> Result<Result<(), String>, Error> {
    let credential = app.office_credential(office)?;
    let by = OrgId::parse(office).map_err(|e| Error::Account(e.to_string()))?;
    let statement = Statement::Status {
        dispatch_id: record.id.clone(),
        manifest_sha256: record.manifest_sha256.clone(),
        code,
        by: by.clone(),
        time: receipt_time(OffsetDateTime::now_utc()),
        note,
    };
    let receipt = make_receipt(&statement, credential)?;
    let caller = Caller::Office { org: by };
    Ok(
        congvan_relay::ingest_ack(&app.relay, &caller, &record.id, receipt)
            .await
            .map_err(|refusal| refusal.reason),
    )
}

/// Hands a signed and sealed dispatch file to the relay, as `congvan send`
/// would: verified, stored and routed there, or refused with a reason.
pub async fn hand_over(
    app: &WebApp,
    office: &str,
    file: &Path,
) -> Result<Result<String, String>, Error> {
    let org = OrgId::parse(office).map_err(|e| Error::Account(e.to_string()))?;
    // A secret dispatch is handed over only sealed for its readers.
    let sealed = match seal_if_secret(app, office, file) {
        Ok(sealed) => sealed,
        Err(reason) => return Ok(Err(reason)),
    };
    let file = sealed.as_ref().map_or(file, |w| w.path());
    let (temp, handle) = app.relay.store.blobs().temp_file()?;
    drop(handle);
    std::fs::copy(file, &temp).map_err(|e| Error::io(file, e))?;
    let caller = Caller::Office { org };
    Ok(
        congvan_relay::ingest_dispatch(&app.relay, &caller, congvan_relay::Upload::File(temp))
            .await
            .map(|(id, _)| id)
            .map_err(|refusal| refusal.reason),
    )
}

/// Seals a secret dispatch for its recipients and its sender, each
/// encryption certificate taken from the relay's published folder and
/// validated with the relay's trust store; `None` for one that is not
/// secret. `Err(reason)` when it cannot be sealed.
fn seal_if_secret(app: &WebApp, office: &str, file: &Path) -> Result<Option<WorkFile>, String> {
    let mut envelope = Envelope::open(file).map_err(|e| e.to_string())?;
    if envelope.metadata().secrecy.is_none() {
        return Ok(None);
    }
    // Relays cannot verify what they cannot read: it is verified here.
    let report = verify_dispatch(
        &mut envelope,
        &app.relay.trust(),
        OffsetDateTime::now_utc(),
        &mut |_| {},
    )
    .map_err(|e| e.to_string())?;
    let metadata = envelope.metadata().clone();
    drop(envelope);
    if report.indication != congvan_envelope::Indication::Passed {
        return Err(format!(
            "the dispatch does not verify ({}), so it is not sealed and sent",
            report.summary
        ));
    }
    let now = OffsetDateTime::now_utc();
    let mut readers = Vec::new();
    for org in metadata.to.iter().map(|o| &o.id).chain([&metadata.from.id]) {
        let pem = match published_encryption_certificate(&app.relay.config, org)
            .map_err(|e| e.to_string())?
        {
            Published::Pem(pem) => pem,
            Published::NoFolder => {
                return Err("this relay publishes no encryption certificates \
                            (encryption_certificates), so a secret dispatch cannot be \
                            encrypted for its recipients"
                    .into())
            }
            Published::NotFound => {
                return Err(format!(
                    "the relay holds no encryption certificate of {org}: a secret dispatch \
                     cannot be sent to it until its CA publishes one"
                ))
            }
        };
        readers.push(
            congvan_secret::Recipient::from_pem(
                &pem,
                org,
                "the relay's folder",
                &app.relay.trust(),
                now,
            )
            .map_err(|e| e.to_string())?,
        );
    }
    let out = WorkFile::new(app, ".cvd").map_err(|e| e.to_string())?;
    let credential = app.office_credential(office).map_err(|e| e.to_string())?;
    congvan_secret::seal_dispatch(file, &readers, credential, None, now, out.path())
        .map_err(|e| e.to_string())?;
    Ok(Some(out))
}
