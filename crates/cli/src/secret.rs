//! Secret dispatches on the command line: `dispatch encrypt`, `dispatch
//! decrypt`, and the sealing and opening that `send` and `fetch` do by
//! themselves for a dispatch marked secret.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use congvan_envelope::{Envelope, Opened};
use congvan_org::OrgId;
use congvan_secret::{DecryptionKey, Recipient};
use congvan_sign::{Certificate, Credential, StaleCrls, TrustStore};
use congvan_text::Line;
use time::OffsetDateTime;

use crate::failure::Failure;
use crate::output::say;
use congvan_envelope::Indication;

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
    // A sealed container is a ZIP; anything else is read as a JWE file.
    match Opened::open(file) {
        Ok(Opened::Sealed(mut sealed)) => {
            let id = congvan_secret::open_sealed(&mut sealed, &key, out)?;
            say!(
                "{} written: dispatch {} decrypted; verify it with `congvan dispatch verify`",
                out.display(),
                Line(&id)
            );
        }
        Ok(Opened::Dispatch(_)) => {
            return Err(Failure::input(format!(
                "{} is a dispatch in clear: there is nothing to decrypt",
                file.display()
            )))
        }
        Err(congvan_envelope::Error::NotAContainer { .. }) => {
            let bytes = congvan_secret::decrypt_jwe_file(file, &key, out)?;
            say!("{} written ({bytes} bytes decrypted)", out.display());
        }
        Err(e) => return Err(e.into()),
    }
    Ok(ExitCode::SUCCESS)
}

/// `congvan dispatch verify SEALED --key KEY.pem`: the outer layer (the
/// sending office's seal), then, decrypted into a temporary folder that is
/// removed afterwards, the dispatch inside. The exit code is the worse of
/// the two.
pub fn verify_both(
    file: &Path,
    key: &Path,
    password_file: Option<&Path>,
    store: &TrustStore,
    at: Option<&str>,
    json: bool,
) -> Result<ExitCode, Failure> {
    let now = crate::verify_many::reference_time(at)?;
    let mut sealed = match Opened::open(file)? {
        Opened::Sealed(sealed) => sealed,
        Opened::Dispatch(_) => {
            return Err(Failure::input(format!(
                "{} is a dispatch in clear; --key is for a sealed (secret) dispatch",
                file.display()
            )))
        }
    };
    let outer = congvan_envelope::verify_sealed(&sealed, store, now)?;
    let key = load_key(key, password_file)?;
    let dir = tempfile::tempdir()
        .map_err(|e| Failure::input(format!("cannot make a temporary folder: {e}")))?;
    let clear = dir.path().join("inside.cvd");
    let inner = match congvan_secret::open_sealed(&mut sealed, &key, &clear) {
        Ok(_) => Some(crate::verify_many::verify_file(
            &clear,
            crate::verify_many::Validation::Store(store),
            now,
        )?),
        Err(e) if outer.indication != Indication::Passed => {
            // The outer layer already says what is wrong; say why inside
            // could not be read too.
            crate::output::say_err!("congvan: not decrypted: {}", Line(&e.to_string()));
            None
        }
        Err(e) => return Err(e.into()),
    };
    if json {
        crate::output::json(&serde_json::json!({ "sealed": outer, "inside": inner }))?;
    } else {
        crate::output::stdout(&outer.to_text(), false);
        if let Some(inner) = &inner {
            say!("");
            say!(
                "Inside (decrypted with the key of {}):",
                Line(&key.org().map_or("?".to_string(), |o| o.to_string()))
            );
            crate::output::stdout(&inner.to_text(), false);
        }
    }
    let worst = inner
        .iter()
        .map(|r| r.indication)
        .chain([outer.indication])
        .max_by_key(|i| match i {
            Indication::Passed => 0,
            Indication::Indeterminate => 1,
            Indication::Failed => 2,
        })
        .unwrap_or(outer.indication);
    Ok(match worst {
        Indication::Passed => ExitCode::SUCCESS,
        Indication::Failed => ExitCode::from(crate::failure::EXIT_REFUSED),
        Indication::Indeterminate => ExitCode::from(crate::failure::EXIT_INDETERMINATE),
    })
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
/// for the sending office itself (whose encryption folder `own_encryption`
/// sits beside its identity), each encryption certificate fetched with
/// `fetch` from the relay when not at hand, and validated here with
/// `store`. Returns the sealed file, inside `dir`.
pub fn seal_for_sending(
    file: &Path,
    identity: &Credential,
    own_encryption: &Path,
    store: &TrustStore,
    fetch: &mut dyn FnMut(&OrgId) -> Result<Vec<u8>, Failure>,
    dir: &Path,
) -> Result<PathBuf, Failure> {
    // Relays cannot verify what they cannot read, so the dispatch is
    // verified here, as the first relay would verify one in clear.
    let mut envelope = Envelope::open(file)?;
    let now = OffsetDateTime::now_utc();
    let report = congvan_envelope::verify_dispatch(&mut envelope, store, now, &mut |_| {})?;
    if report.indication != Indication::Passed {
        crate::output::stderr(&report.to_text(), false);
        return Err(Failure {
            code: crate::failure::EXIT_REFUSED,
            message: format!(
                "{} does not verify, so it is not sealed and sent: no relay could check it \
                 once encrypted",
                file.display()
            ),
        });
    }
    let metadata = envelope.metadata().clone();
    drop(envelope);
    let mut readers = Vec::new();
    for office in metadata.to.iter().map(|o| &o.id) {
        let pem = fetch(office)?;
        readers.push(Recipient::from_pem(&pem, office, "the relay", store, now)?);
    }
    // The sender keeps a copy it can read, for its archive: its own
    // certificate, from its encryption folder or else from the relay.
    let own_cert = own_encryption.join(congvan_sign::CERT_FILE);
    let (pem, origin) = if own_cert.exists() {
        let mut pem = read(&own_cert)?;
        let chain = own_encryption.join(congvan_sign::CHAIN_FILE);
        if chain.exists() {
            pem.extend(read(&chain)?);
        }
        (pem, own_cert.display().to_string())
    } else {
        (fetch(&metadata.from.id)?, "the relay".to_string())
    };
    readers.push(Recipient::from_pem(
        &pem,
        &metadata.from.id,
        &origin,
        store,
        now,
    )?);
    let out = dir.join("sealed.cvd");
    congvan_secret::seal_dispatch(file, &readers, identity, None, now, &out)?;
    Ok(out)
}

fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure::input(format!("{}: {e}", path.display())))
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
