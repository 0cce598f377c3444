//! Secret dispatches on the command line: `dispatch encrypt`, `dispatch
//! decrypt`, and the sealing and opening that `send` and `fetch` do by
//! themselves for a dispatch marked secret.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use congvan_envelope::{Envelope, SealedEnvelope};
use congvan_org::OrgId;
use congvan_secret::{DecryptionKey, Recipient};
use congvan_sign::{Certificate, Credential, StaleCrls, TrustStore};
use congvan_text::Line;
use time::OffsetDateTime;

use crate::failure::Failure;
use crate::output::say;

/// `congvan dispatch encrypt FILE.cvd --to-cert CERT.pem... --out FILE`.
pub fn encrypt(
    file: &Path,
    to_cert: &[PathBuf],
    identity: &Path,
    trust: &[PathBuf],
    crl: &[PathBuf],
    password_file: Option<&Path>,
    out: &Path,
) -> Result<ExitCode, Failure> {
    refuse_existing(out)?;
    let store = crate::dispatch::trust_store(trust, &[], crl, StaleCrls::TryLater)?;
    let password = crate::pki::read_password(password_file)?;
    let seal = Credential::load(identity, password.as_deref())?;
    let now = OffsetDateTime::now_utc();
    let mut readers = Vec::new();
    for path in to_cert {
        let cert = Certificate::load(path)?;
        let beside = path.with_file_name(congvan_sign::CHAIN_FILE);
        let chain = if beside.exists() && beside != *path {
            Certificate::load_all(&beside)?
        } else {
            Vec::new()
        };
        readers.push(Recipient::validated(&cert, &chain, &store, now)?);
    }
    let sealed = congvan_secret::seal_dispatch(file, &readers, &seal, None, now, out)?;
    say!(
        "{} written: dispatch {} encrypted for {} ({} bytes inside); relays can read only its \
         routing header",
        out.display(),
        Line(&sealed.id),
        sealed
            .readers
            .iter()
            .map(|o| o.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        sealed.size
    );
    Ok(ExitCode::SUCCESS)
}

/// `congvan dispatch decrypt FILE --key KEY.pem --out FILE.cvd`.
pub fn decrypt(
    file: &Path,
    key: &Path,
    password_file: Option<&Path>,
    out: &Path,
) -> Result<ExitCode, Failure> {
    refuse_existing(out)?;
    let key = load_key(key, password_file)?;
    if SealedEnvelope::is_sealed(file)? {
        let mut sealed = SealedEnvelope::open(file)?;
        let id = congvan_secret::open_sealed(&mut sealed, &key, out)?;
        say!(
            "{} written: dispatch {} decrypted; verify it with `congvan dispatch verify`",
            out.display(),
            Line(&id)
        );
    } else {
        let bytes = congvan_secret::decrypt_jwe_file(file, &key, out)?;
        say!("{} written ({bytes} bytes decrypted)", out.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// An encryption key given as its key.pem (cert.pem beside it) or folder.
pub fn load_key(path: &Path, password_file: Option<&Path>) -> Result<DecryptionKey, Failure> {
    let dir = if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    };
    let password = crate::pki::read_password(password_file)?;
    Ok(DecryptionKey::load(&dir, password.as_deref())?)
}

/// The encryption folder that sits beside an office/ identity folder.
pub fn encryption_dir_beside(identity: &Path) -> PathBuf {
    identity
        .parent()
        .map(|p| p.join("encryption"))
        .unwrap_or_else(|| PathBuf::from("encryption"))
}

/// For `send`: seals the secret dispatch at `file` for its recipients and
/// for `sender` itself, each encryption certificate fetched with `fetch`
/// (from the relay, or beside the identity for the sender's own) and
/// validated here. Returns the sealed file, inside `dir`.
pub fn seal_for_sending(
    file: &Path,
    identity: &Credential,
    own_encryption: &Path,
    store: &TrustStore,
    fetch: &mut dyn FnMut(&OrgId) -> Result<Vec<u8>, Failure>,
    dir: &Path,
) -> Result<PathBuf, Failure> {
    let envelope = Envelope::open(file)?;
    let metadata = envelope.metadata().clone();
    drop(envelope);
    let now = OffsetDateTime::now_utc();
    let mut readers = Vec::new();
    for office in metadata.to.iter().map(|o| &o.id) {
        let pem = fetch(office)?;
        let path = dir.join(format!("{office}.pem"));
        std::fs::write(&path, pem)
            .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
        let mut certs = Certificate::load_all(&path)?;
        if certs.is_empty() {
            return Err(Failure::input(format!(
                "the relay gave no encryption certificate for {office}"
            )));
        }
        let cert = certs.remove(0);
        if cert.org() != Some(office) {
            return Err(Failure::input(format!(
                "the relay gave a certificate of {} as the encryption certificate of {office}",
                cert.org()
                    .map_or("no office".to_string(), |o| o.to_string())
            )));
        }
        readers.push(Recipient::validated(&cert, &certs, store, now)?);
    }
    // The sender keeps a copy it can read, for its archive.
    let own_cert = own_encryption.join(congvan_sign::CERT_FILE);
    if own_cert.exists() {
        let cert = Certificate::load(&own_cert)?;
        let chain_file = own_encryption.join(congvan_sign::CHAIN_FILE);
        let chain = if chain_file.exists() {
            Certificate::load_all(&chain_file)?
        } else {
            Vec::new()
        };
        readers.push(Recipient::validated(&cert, &chain, store, now)?);
    }
    let out = dir.join("sealed.cvd");
    congvan_secret::seal_dispatch(file, &readers, identity, None, now, &out)?;
    Ok(out)
}

fn refuse_existing(out: &Path) -> Result<(), Failure> {
    if out.exists() {
        return Err(Failure::input(format!(
            "{} already exists; choose another --out",
            out.display()
        )));
    }
    Ok(())
}
