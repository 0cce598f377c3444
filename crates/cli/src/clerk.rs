//! The clerk's commands: send, inbox, fetch, ack, track.

use std::path::Path;
use std::process::ExitCode;

use congvan_envelope::{
    make_receipt, receipt_time, verify_dispatch, Envelope, Indication, Statement, StatusCode,
};
use congvan_org::{OrgId, Registry};
use congvan_relay::api::Ack;
use congvan_relay::{client_config, ExpectedRelay, RelayClient, TlsTrust};
use congvan_sign::{Credential, Purpose, Role, StaleCrls};
use std::sync::Arc;
use time::OffsetDateTime;

use crate::args::Connection;
use crate::failure::{Failure, EXIT_INDETERMINATE, EXIT_REFUSED};
use crate::output::{say, say_err};
use congvan_text::Line;

struct Session {
    identity: Credential,
    client: RelayClient,
    runtime: tokio::runtime::Runtime,
}

fn connect(conn: &Connection) -> Result<Session, Failure> {
    let password = crate::pki::read_password(conn.password_file.as_deref())?;
    let identity = Credential::load(&conn.identity, password.as_deref())?;
    // For the parties of the connection a stale CRL is used as is, as the
    // TLS layer uses it (a revoked certificate it lists is still refused);
    // what it decides about a dispatch is the verifier's call (`fetch`).
    let trust = crate::dispatch::trust_store(&conn.trust, &[], &conn.crl, StaleCrls::Accept)?;
    let office = check_identity(&identity, &trust, &conn.identity)?;
    let expected = expected_relay(conn, &office)?;
    let crls = trust.crls().iter().map(|c| c.der().to_vec()).collect();
    let tls_trust = TlsTrust::new(trust.anchors(), crls)?;
    let tls = client_config(&identity, &tls_trust)?;
    let client = RelayClient::new(&conn.relay, tls, Arc::new(trust), expected)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::input(format!("cannot start the async runtime: {e}")))?;
    Ok(Session {
        identity,
        client,
        runtime,
    })
}

/// The office the identity speaks for, after checking here what the relay
/// would check there: a relay's refusal of an expired or revoked
/// certificate is only a TLS alert, while this says what is wrong.
fn check_identity(
    identity: &Credential,
    trust: &congvan_sign::TrustStore,
    dir: &Path,
) -> Result<OrgId, Failure> {
    let refused = |problem: String| Failure {
        code: EXIT_REFUSED,
        message: format!(
            "the identity in {} cannot be used: {problem}",
            dir.display()
        ),
    };
    let cert = identity.cert();
    if cert.role() != Some(Role::Office) {
        return Err(refused(format!(
            "\"{}\" is not an office certificate; clerk commands use the office's certificate \
             (its office/ folder)",
            cert.display_name()
        )));
    }
    let purpose = Purpose {
        role: Some(Role::Office),
        org: None,
    };
    trust
        .validate(cert, identity.chain(), &purpose, OffsetDateTime::now_utc())
        .map_err(|e| refused(e.to_string()))?;
    cert.org()
        .cloned()
        .ok_or_else(|| refused("the certificate binds no organization".into()))
}

/// Which relay the clerk's tool must be talking to.
fn expected_relay(conn: &Connection, office: &OrgId) -> Result<ExpectedRelay, Failure> {
    if let Some(org) = &conn.relay_org {
        return Ok(ExpectedRelay::Org(OrgId::parse(org)?));
    }
    let path = conn
        .registry
        .clone()
        .or_else(|| std::env::var_os("CONGVAN_REGISTRY").map(std::path::PathBuf::from));
    let Some(path) = path else {
        return Ok(ExpectedRelay::Serving(office.clone()));
    };
    let registry = Registry::load(&path)?;
    let named = registry
        .serving_relay(office)
        .and_then(|relay| registry.relay_organization(relay));
    Ok(match named {
        Some(org) => ExpectedRelay::Org(org.clone()),
        None => ExpectedRelay::Serving(office.clone()),
    })
}

/// `congvan send FILE.cvd`.
pub fn send(file: &Path, conn: &Connection) -> Result<ExitCode, Failure> {
    // Fail early, locally, on a file that is not a dispatch.
    let envelope = Envelope::open(file)?;
    let id = envelope.metadata().id.clone();
    let supersedes = envelope.metadata().details.supersedes.clone();
    let secrecy = envelope.metadata().secrecy;
    drop(envelope);
    let session = connect(conn)?;
    // A secret dispatch leaves this machine only encrypted, for its
    // recipients' certificates, each validated here.
    let sealed_dir = match secrecy {
        Some(_) => Some(
            tempfile::tempdir()
                .map_err(|e| Failure::input(format!("cannot make a temporary folder: {e}")))?,
        ),
        None => None,
    };
    let to_send = match &sealed_dir {
        Some(dir) => {
            let store =
                crate::dispatch::trust_store(&conn.trust, &[], &conn.crl, StaleCrls::TryLater)?;
            crate::secret::seal_for_sending(
                file,
                &session.identity,
                &crate::secret::encryption_dir_beside(&conn.identity),
                &store,
                &mut |office| {
                    Ok(session
                        .runtime
                        .block_on(session.client.encryption_certificate(office))?)
                },
                dir.path(),
            )?
        }
        None => file.to_path_buf(),
    };
    let accepted = session
        .runtime
        .block_on(session.client.send_file(&to_send))?;
    say!("{} {}: {}", Line(&accepted.status), id, file.display());
    if let Some(secrecy) = secrecy {
        say!(
            "sent encrypted ({}): only its recipients can read it",
            secrecy.name()
        );
    }
    if let Some(earlier) = supersedes {
        // Tell the earlier dispatch's recipients, signed by this office, so
        // their copies of it say what supersedes it.
        notify_superseded(&session, &earlier, &id).map_err(|e| Failure {
            code: EXIT_REFUSED,
            message: format!(
                "{id} was sent, but the notice to the recipients of {} failed: {}; send {} \
                 again to retry the notice",
                earlier.id,
                e.message,
                file.display()
            ),
        })?;
        say!(
            "the recipients of {} are told it is {} {id}",
            Line(&earlier.id),
            match earlier.kind {
                congvan_envelope::metadata::SupersedeKind::Replaces => "replaced by",
                congvan_envelope::metadata::SupersedeKind::Updates => "updated by",
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Signs and sends the issuer's notice that `later` supersedes `earlier`.
fn notify_superseded(
    session: &Session,
    earlier: &congvan_envelope::metadata::Supersedes,
    later: &str,
) -> Result<(), Failure> {
    let by = office_of(session)?;
    let statement = Statement::Superseded {
        dispatch_id: earlier.id.clone(),
        manifest_sha256: manifest_sha256_of(session, &earlier.id, None)?,
        by,
        how: earlier.kind,
        superseded_by: later.to_string(),
        time: receipt_time(OffsetDateTime::now_utc()),
    };
    let receipt = make_receipt(&statement, &session.identity)?;
    session
        .runtime
        .block_on(session.client.ack(&earlier.id, &Ack { receipt }))?;
    Ok(())
}

/// `congvan inbox`.
pub fn inbox(conn: &Connection, json: bool, all: bool) -> Result<ExitCode, Failure> {
    let session = connect(conn)?;
    let items = if all {
        session
            .runtime
            .block_on(session.client.inbox_with_recalled())?
    } else {
        session.runtime.block_on(session.client.inbox())?
    };
    if json {
        crate::output::json(&items)?;
        return Ok(ExitCode::SUCCESS);
    }
    if items.is_empty() {
        say!("The inbox is empty.");
    }
    for item in items {
        let urgency = congvan_envelope::metadata::Urgency::from_code(item.urgency)
            .and_then(|u| u.mark())
            .map(|m| format!("[{m}] "))
            .unwrap_or_default();
        let subject = match (&item.subject, item.secret) {
            (Some(subject), false) => subject.clone(),
            _ => "(MẬT: mở bằng congvan fetch)".to_string(),
        };
        let mut status = item
            .status
            .as_deref()
            .map(|s| format!("  status {s}"))
            .unwrap_or_default();
        match item.status.as_deref() {
            Some("15") => status.push_str("  [ĐÃ THU HỒI: recalled]"),
            _ if item.recall_requested => status.push_str(
                "  [ĐỀ NGHỊ THU HỒI: the issuer requests its recall; answer with ack --status 15 or 16]",
            ),
            _ => {}
        }
        if let Some(later) = &item.superseded_by {
            let mark = match later.kind.as_str() {
                "updates" => "ĐÃ ĐƯỢC CẬP NHẬT: updated by",
                _ => "ĐÃ ĐƯỢC THAY THẾ: replaced by",
            };
            status.push_str(&format!("  [{mark} {}]", later.id));
        }
        say!(
            "{}  {urgency}{}  {}  from {}{}",
            Line(&item.id),
            Line(&item.number),
            Line(&subject),
            Line(&item.from),
            Line(&status)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `congvan fetch ID --out FILE.cvd`: download, then verify.
pub fn fetch(id: &str, conn: &Connection, out: &Path) -> Result<ExitCode, Failure> {
    if out.exists() {
        return Err(Failure::input(format!(
            "{} already exists; choose another --out",
            out.display()
        )));
    }
    let session = connect(conn)?;
    let bytes = session.runtime.block_on(session.client.fetch(id, out))?;
    let store = crate::dispatch::trust_store(&conn.trust, &[], &conn.crl, StaleCrls::TryLater)?;
    let mut envelope = match congvan_envelope::Opened::open(out)? {
        congvan_envelope::Opened::Dispatch(envelope) => *envelope,
        congvan_envelope::Opened::Sealed(sealed) => {
            return fetch_sealed(id, conn, out, &store, *sealed)
        }
    };
    // The issuer's recall request travels apart from the file: joined to it
    // here as a receipt, it is verified with the rest and stays with it.
    // Only notices that verify as the issuer's, about this very dispatch,
    // are joined; a relay that hands over anything else is named, and the
    // dispatch is kept as it came.
    let notices = session.runtime.block_on(session.client.notices(id))?;
    let manifest = congvan_envelope::sha256_hex(envelope.manifest_bytes());
    let issuer = envelope.metadata().responsible_office().clone();
    let mut joined = 0;
    for notice in &notices {
        let fits = congvan_envelope::verify_receipt(notice, "notice", &store)
            .map_err(|e| e.to_string())
            .and_then(|v| {
                let s = &v.statement;
                let ok = s.is_issuer_notice()
                    && s.dispatch_id() == id
                    && s.manifest_sha256() == manifest
                    && s.required_signer().1 == issuer;
                ok.then_some(())
                    .ok_or_else(|| "not a notice of this dispatch's issuer".to_string())
            });
        match fits {
            Ok(()) => {
                congvan_envelope::append_receipt(&mut envelope, notice)?;
                joined += 1;
            }
            Err(problem) => say_err!(
                "congvan: the relay handed over a notice about {} that was not joined: {}",
                Line(id),
                Line(&problem)
            ),
        }
    }
    let mut envelope = if joined == 0 {
        envelope
    } else {
        Envelope::open(out)?
    };
    let report = verify_dispatch(
        &mut envelope,
        &store,
        OffsetDateTime::now_utc(),
        &mut |_| {},
    )?;
    say!("{} written ({bytes} bytes)", out.display());
    crate::output::stdout(&report.to_text(), false);
    Ok(match report.indication {
        Indication::Passed => ExitCode::SUCCESS,
        Indication::Failed => ExitCode::from(EXIT_REFUSED),
        Indication::Indeterminate => ExitCode::from(EXIT_INDETERMINATE),
    })
}

/// The rest of `fetch` for a secret dispatch: the sealed file just
/// downloaded to `out` is verified (the sender office's seal), decrypted
/// with the office's encryption key in its place, and the dispatch inside
/// verified. If the outer layer fails or cannot be decrypted, the download
/// is removed: the relay still holds it.
fn fetch_sealed(
    id: &str,
    conn: &Connection,
    out: &Path,
    store: &congvan_sign::TrustStore,
    mut sealed: congvan_envelope::SealedEnvelope,
) -> Result<ExitCode, Failure> {
    let opened = (|| {
        let outer = congvan_envelope::verify_sealed(&sealed, store, OffsetDateTime::now_utc())?;
        if outer.indication != Indication::Passed {
            crate::output::stdout(&outer.to_text(), false);
            return Err(Failure {
                code: EXIT_REFUSED,
                message: format!("the sealed dispatch {id} did not verify, so it is not decrypted"),
            });
        }
        let key = crate::secret::load_key(
            &crate::secret::encryption_dir_beside(&conn.identity),
            conn.password_file.as_deref(),
        )?;
        // Written beside `out` and renamed over the sealed download.
        congvan_secret::open_sealed(&mut sealed, &key, out)?;
        Ok(())
    })();
    drop(sealed);
    if let Err(failure) = opened {
        if let Err(e) = std::fs::remove_file(out) {
            say_err!("congvan: could not remove {}: {e}", out.display());
        }
        return Err(failure);
    }
    let mut envelope = Envelope::open(out)?;
    let report = verify_dispatch(&mut envelope, store, OffsetDateTime::now_utc(), &mut |_| {})?;
    say!(
        "{} written: secret dispatch decrypted with this office's encryption key",
        out.display()
    );
    crate::output::stdout(&report.to_text(), false);
    Ok(match report.indication {
        Indication::Passed => ExitCode::SUCCESS,
        Indication::Failed => ExitCode::from(EXIT_REFUSED),
        Indication::Indeterminate => ExitCode::from(EXIT_INDETERMINATE),
    })
}

/// `congvan ack ID --status 03`: sign a status with the office key and send it.
pub fn ack(
    id: &str,
    status: &str,
    note: Option<String>,
    file: Option<&Path>,
    conn: &Connection,
) -> Result<ExitCode, Failure> {
    let code: StatusCode = status.parse().map_err(Failure::input)?;
    if code == StatusCode::RecallRequested {
        return Err(Failure::input(
            "13 (recall requested) is the issuer's: send it with congvan recall ID --reason TEXT",
        ));
    }
    let session = connect(conn)?;
    send_status(&session, id, code, note, file)?;
    say!("status {code} sent for {id}");
    Ok(ExitCode::SUCCESS)
}

/// Signs status `code` about dispatch `id` as this office and sends it; the
/// relay takes it to whoever it is for (the sender, or for 13 every
/// recipient).
fn send_status(
    session: &Session,
    id: &str,
    code: StatusCode,
    note: Option<String>,
    file: Option<&Path>,
) -> Result<(), Failure> {
    let by = office_of(session)?;
    // The status names the manifest it is about.
    let manifest_sha256 = manifest_sha256_of(session, id, file)?;
    let statement = Statement::Status {
        dispatch_id: id.to_string(),
        manifest_sha256,
        code,
        by,
        time: receipt_time(OffsetDateTime::now_utc()),
        note,
    };
    let receipt = make_receipt(&statement, &session.identity)?;
    session
        .runtime
        .block_on(session.client.ack(id, &Ack { receipt }))?;
    Ok(())
}

/// The organization the identity's certificate binds.
fn office_of(session: &Session) -> Result<congvan_org::OrgId, Failure> {
    session
        .identity
        .cert()
        .org()
        .cloned()
        .ok_or_else(|| Failure::input("the identity certificate binds no organization"))
}

/// `congvan recall ID --reason TEXT`: the issuer asks every recipient to
/// recall a dispatch it sent (status 13); each answers 15 or 16 with `ack`.
pub fn recall(
    id: &str,
    reason: String,
    file: Option<&Path>,
    conn: &Connection,
) -> Result<ExitCode, Failure> {
    if reason.trim().is_empty() {
        return Err(Failure::input(
            "give the reason for the recall with --reason (recipients are shown it)",
        ));
    }
    let session = connect(conn)?;
    send_status(
        &session,
        id,
        StatusCode::RecallRequested,
        Some(reason),
        file,
    )?;
    say!(
        "recall requested for {}: each recipient answers 15 (agreed) or 16 (refused); follow it with congvan track {}",
        Line(id),
        Line(id)
    );
    Ok(ExitCode::SUCCESS)
}

/// SHA-256 of dispatch `id`'s manifest as the relays hold it, which every
/// status and notice names: read from the copy the office holds (`file`),
/// or from the dispatch fetched again for it. A secret dispatch is held
/// sealed, so its decrypted copy does not name it: the sealed one is
/// fetched instead.
fn manifest_sha256_of(session: &Session, id: &str, file: Option<&Path>) -> Result<String, Failure> {
    if let Some(path) = file {
        if let Some(digest) = manifest_digest_of(path, id)? {
            return Ok(digest);
        }
    }
    let temp = tempfile_path(id);
    session.runtime.block_on(session.client.fetch(id, &temp))?;
    let digest = manifest_digest_of(&temp, id);
    if let Err(e) = std::fs::remove_file(&temp) {
        say_err!("congvan: could not remove {}: {e}", temp.display());
    }
    digest?.ok_or_else(|| {
        Failure::input(format!(
            "the relay handed over dispatch {id} in clear although it is secret"
        ))
    })
}

/// SHA-256 of the manifest of the dispatch in `path`, which must be `id`,
/// as relays hold it; `None` for the decrypted copy of a secret dispatch,
/// whose relays hold it sealed.
fn manifest_digest_of(path: &Path, id: &str) -> Result<Option<String>, Failure> {
    let (held, manifest) = match congvan_envelope::Opened::open(path)? {
        congvan_envelope::Opened::Dispatch(envelope) if envelope.metadata().secrecy.is_some() => {
            (envelope.metadata().id.clone(), None)
        }
        congvan_envelope::Opened::Dispatch(envelope) => (
            envelope.metadata().id.clone(),
            Some(envelope.manifest_bytes().to_vec()),
        ),
        congvan_envelope::Opened::Sealed(sealed) => (
            sealed.routing().id.clone(),
            Some(sealed.manifest_bytes().to_vec()),
        ),
    };
    if held != id {
        return Err(Failure::input(format!(
            "{} holds dispatch {held}, not {id}; give the file fetched for {id}",
            path.display()
        )));
    }
    Ok(manifest.map(|m| congvan_envelope::sha256_hex(&m)))
}

fn tempfile_path(id: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("congvan-ack-{}-{id}.cvd", std::process::id()))
}

/// `congvan track ID`.
pub fn track(id: &str, conn: &Connection, json: bool) -> Result<ExitCode, Failure> {
    let session = connect(conn)?;
    let events = session.runtime.block_on(session.client.track(id))?;
    let recipients = session.runtime.block_on(session.client.recipients(id))?;
    if json {
        crate::output::json(&serde_json::json!({
            "id": id,
            "recipients": recipients,
            "events": events,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    say!("Recipients of {}", Line(id));
    for r in &recipients {
        say!(
            "  {:<12} {:<14} {}",
            Line(&r.office),
            Line(&r.state),
            Line(&r.detail)
        );
    }
    say!("Timeline of {}", Line(id));
    for event in events {
        say!(
            "  {}  {:<12} {}",
            Line(&event.time),
            Line(&event.kind),
            Line(&event.description)
        );
    }
    Ok(ExitCode::SUCCESS)
}
