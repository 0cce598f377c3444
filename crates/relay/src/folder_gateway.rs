//! The `[edxml]` folder gateway: edXML messages dropped into a folder by a
//! document-management system outside congvan are imported, sealed as
//! copies by the gateway office and delivered like any dispatch.
//!
//! Exactly once, across stops of any kind: a file is first claimed by a
//! rename from `inbox/` into `work/`, and leaves `work/` only by a rename
//! into `processed/` or `rejected/` after its outcome is durable. A stop in
//! between leaves it in `work/`, where the next scan takes it up again; the
//! import gives the same message the same dispatch id, so delivering it
//! again is the relay's idempotent "duplicate", never a second copy.
//!
//! The other way, a dispatch for an office outside congvan (not in the
//! registry) is recorded with the route [`EDXML_ROUTE`] and written to
//! `outbox/ID.edxml` by this gateway, once, for the other system to take.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use congvan_edxml::{import_message, ImportOptions};
use congvan_sign::Credential;
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::caller::Caller;
use crate::config::EdxmlSettings;
use crate::ingest::{ingest_dispatch, Outcome};
use crate::state::RelayState;
use crate::upload::Upload;
use crate::Error;

/// The route recorded for recipients outside congvan, reached through the
/// gateway's outbox.
pub const EDXML_ROUTE: &str = "edxml-gateway";

/// The gateway's folders.
#[derive(Clone, Debug)]
pub struct GatewayFolders {
    /// Where messages arrive.
    pub inbox: PathBuf,
    /// Claimed, being handled.
    pub work: PathBuf,
    /// Handled: delivered (or already delivered).
    pub processed: PathBuf,
    /// Refused, each beside `NAME.reason.txt`.
    pub rejected: PathBuf,
    /// Dispatches for offices outside congvan, as `ID.edxml`.
    pub outbox: PathBuf,
}

impl GatewayFolders {
    /// The folders under `root`, created (owner-only) if missing.
    pub fn create(root: &Path) -> Result<GatewayFolders, Error> {
        let folders = GatewayFolders {
            inbox: root.join("inbox"),
            work: root.join("work"),
            processed: root.join("processed"),
            rejected: root.join("rejected"),
            outbox: root.join("outbox"),
        };
        for dir in [
            &folders.inbox,
            &folders.work,
            &folders.processed,
            &folders.rejected,
            &folders.outbox,
        ] {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        Ok(folders)
    }
}

/// Runs the gateway until shutdown.
pub async fn run(
    state: Arc<RelayState>,
    settings: EdxmlSettings,
    credential: Arc<Credential>,
    mut shutdown: watch::Receiver<bool>,
) {
    let folders = match GatewayFolders::create(&settings.root(&state.config.data)) {
        Ok(folders) => folders,
        Err(e) => {
            tracing::error!(error = %e, "the edXML gateway cannot make its folders; it is not running");
            return;
        }
    };
    let tick = Duration::from_millis(settings.scan_ms.max(50));
    loop {
        if let Err(e) = scan(&state, &settings, &credential, &folders).await {
            tracing::error!(error = %e, "edXML gateway scan failed; trying again");
        }
        if let Err(e) = export_pending(&state, &folders).await {
            tracing::error!(error = %e, "edXML gateway export failed; trying again");
        }
        if let Err(e) = export_statuses(&state, &settings, &folders).await {
            tracing::error!(error = %e, "edXML gateway status export failed; trying again");
        }
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Regular files of `dir` whose names do not start with a dot, by name.
fn files_in(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        let hidden = name.to_string_lossy().starts_with('.');
        let is_file = entry.file_type().map_err(|e| Error::io(dir, e))?.is_file();
        if is_file && !hidden {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

/// A path in `dir` named like `file`, not yet taken (`NAME`, `NAME.1`, …).
fn free_name(dir: &Path, file: &Path) -> PathBuf {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "message".into());
    let mut candidate = dir.join(&name);
    let mut n = 1;
    while candidate.exists() {
        candidate = dir.join(format!("{name}.{n}"));
        n += 1;
    }
    candidate
}

/// Renames and makes the rename durable (the folder is synced).
fn durable_rename(from: &Path, to: &Path) -> Result<(), Error> {
    std::fs::rename(from, to).map_err(|e| Error::io(to, e))?;
    if let Some(dir) = to.parent() {
        let handle = std::fs::File::open(dir).map_err(|e| Error::io(dir, e))?;
        handle.sync_all().map_err(|e| Error::io(dir, e))?;
    }
    Ok(())
}

/// One pass: what an earlier run left in `work/`, then what has arrived.
pub async fn scan(
    state: &Arc<RelayState>,
    settings: &EdxmlSettings,
    credential: &Arc<Credential>,
    folders: &GatewayFolders,
) -> Result<usize, Error> {
    let mut claimed = files_in(&folders.work)?;
    for arrived in files_in(&folders.inbox)? {
        let to = free_name(&folders.work, &arrived);
        durable_rename(&arrived, &to)?;
        claimed.push(to);
    }
    let mut handled = 0;
    for file in claimed {
        if handle(state, settings, credential, folders, &file).await? {
            handled += 1;
        }
    }
    Ok(handled)
}

/// Handles one claimed file; `false` when it stays for the next scan (the
/// relay could not decide now).
async fn handle(
    state: &Arc<RelayState>,
    settings: &EdxmlSettings,
    credential: &Arc<Credential>,
    folders: &GatewayFolders,
    file: &Path,
) -> Result<bool, Error> {
    let (temp, handle) = state.store.blobs().temp_file()?;
    drop(handle);
    std::fs::remove_file(&temp).map_err(|e| Error::io(&temp, e))?;
    let imported = {
        let file = file.to_path_buf();
        let temp = temp.clone();
        let credential = credential.clone();
        let options = ImportOptions {
            registry: Some(state.router.registry().clone()),
            ..ImportOptions::default()
        };
        tokio::task::spawn_blocking(move || {
            import_message(
                &file,
                &temp,
                &credential,
                OffsetDateTime::now_utc(),
                &options,
            )
        })
        .await
        .map_err(|e| Error::Protocol {
            url: "edXML gateway".into(),
            problem: format!("the import task failed: {e}"),
        })?
    };
    let report = match imported {
        Ok(report) => report,
        // This machine's trouble (a full disk, a folder it cannot write),
        // not the message's: kept for the next scan.
        Err(e @ congvan_edxml::Error::Io { .. }) => {
            tracing::warn!(file = %file.display(), error = %e, "edXML message kept for the next scan");
            return Ok(false);
        }
        Err(e) => {
            reject(folders, file, &format!("not imported: {e}"))?;
            return Ok(true);
        }
    };
    let imported_content = content_of(&temp)?;
    let caller = Caller::Office {
        org: settings.office.clone(),
    };
    match ingest_dispatch(state, &caller, Upload::File(temp)).await {
        Ok((id, outcome)) => {
            let to = free_name(&folders.processed, file);
            durable_rename(file, &to)?;
            tracing::info!(
                dispatch = %id,
                file = %to.display(),
                duplicate = outcome == Outcome::Duplicate,
                notes = report.notes.len(),
                "edXML message imported and delivered"
            );
            Ok(true)
        }
        // The same document (same sender, document and business kind, so
        // the same id) is already held: imported before, by an earlier run
        // stopped before it moved the file, or sent again by the other
        // system. Each import is sealed afresh, so it is another version
        // of the bytes but not another dispatch: handled, not redelivered.
        Err(refusal) if refusal.status == 409 => {
            let held = held_content(state, &report.id)?;
            if held.as_ref() != Some(&imported_content) {
                reject(
                    folders,
                    file,
                    &format!(
                        "another message about the same document (same sender, document id \
                         and kind) was delivered before as dispatch {}, and this one differs \
                         from it; a correction must come as an update (business kind 2) or a \
                         replacement (3)",
                        report.id
                    ),
                )?;
                return Ok(true);
            }
            let to = free_name(&folders.processed, file);
            durable_rename(file, &to)?;
            tracing::info!(
                dispatch = %report.id,
                file = %to.display(),
                "edXML message already delivered; not delivered again"
            );
            Ok(true)
        }
        Err(refusal) if refusal.status >= 500 => {
            tracing::warn!(file = %file.display(), reason = %refusal.reason, "edXML message kept for the next scan");
            Ok(false)
        }
        Err(refusal) => {
            reject(
                folders,
                file,
                &format!(
                    "refused by the relay ({}): {}",
                    refusal.status, refusal.reason
                ),
            )?;
            Ok(true)
        }
    }
}

/// Moves `file` to `rejected/` after writing why beside it.
fn reject(folders: &GatewayFolders, file: &Path, reason: &str) -> Result<(), Error> {
    let to = free_name(&folders.rejected, file);
    let mut note = to.clone().into_os_string();
    note.push(".reason.txt");
    let note = PathBuf::from(note);
    let text = format!(
        "{}\n{reason}\n",
        congvan_envelope::receipt_time(OffsetDateTime::now_utc())
    );
    std::fs::write(&note, text).map_err(|e| Error::io(&note, e))?;
    durable_rename(file, &to)?;
    tracing::warn!(file = %to.display(), %reason, "edXML message rejected");
    Ok(())
}

/// Writes every dispatch waiting for recipients outside congvan to
/// `outbox/ID.edxml` (through a hidden temporary name, so the other system
/// never sees half a file), then records those recipients as exported.
pub async fn export_pending(
    state: &Arc<RelayState>,
    folders: &GatewayFolders,
) -> Result<usize, Error> {
    let pending = state.store.queued_via(EDXML_ROUTE)?;
    let mut written = 0;
    for (id, blob) in pending {
        let out = folders.outbox.join(format!("{id}.edxml"));
        if !out.exists() {
            let (cvd, mut file) = state.store.blobs().temp_file()?;
            match state.store.blob(&blob)? {
                Some(Some(bytes)) => {
                    std::io::Write::write_all(&mut file, &bytes).map_err(|e| Error::io(&cvd, e))?
                }
                Some(None) => {
                    let path = state.store.blobs().path(&blob);
                    let mut source = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
                    std::io::copy(&mut source, &mut file).map_err(|e| Error::io(&cvd, e))?;
                }
                None => {
                    tracing::warn!(dispatch = %id, "its file is gone; cannot write it out as edXML");
                    continue;
                }
            }
            drop(file);
            let staged = folders.outbox.join(format!(".{id}.edxml.part"));
            if staged.exists() {
                std::fs::remove_file(&staged).map_err(|e| Error::io(&staged, e))?;
            }
            let exported = {
                let (cvd, staged) = (cvd.clone(), staged.clone());
                tokio::task::spawn_blocking(move || congvan_edxml::export_dispatch(&cvd, &staged))
                    .await
                    .map_err(|e| Error::Protocol {
                        url: "edXML gateway".into(),
                        problem: format!("the export task failed: {e}"),
                    })?
            };
            std::fs::remove_file(&cvd).map_err(|e| Error::io(&cvd, e))?;
            match exported {
                Ok(_) => {}
                // This machine's trouble: tried again at the next scan.
                Err(e @ congvan_edxml::Error::Io { .. }) => {
                    tracing::warn!(dispatch = %id, error = %e, "cannot write the dispatch out as edXML now");
                    continue;
                }
                // The dispatch's: it never will be; its sender is told, signed.
                Err(e) => {
                    tracing::warn!(dispatch = %id, error = %e, "dispatch cannot leave as edXML");
                    let reason = format!("it cannot be written out as edXML: {e}");
                    // -1: the route has no outbox row to remove.
                    crate::ingest::give_up(state, -1, &id, EDXML_ROUTE, &reason).await?;
                    continue;
                }
            }
            durable_rename(&staged, &out)?;
        }
        let dispatch = id.clone();
        state
            .writer
            .write(move |txn| {
                txn.execute(
                    "UPDATE recipients SET state = 'exported' WHERE dispatch_id = ?1 AND route = ?2 AND state = 'queued'",
                    rusqlite::params![dispatch, EDXML_ROUTE],
                )?;
                Ok(())
            })
            .await?;
        tracing::info!(dispatch = %id, file = %out.display(), "dispatch written out as edXML");
        written += 1;
    }
    Ok(written)
}

/// What a gateway copy says, apart from when and by which hops it came:
/// its metadata without those, and its attachments' names and digests.
#[derive(Debug, PartialEq, Eq)]
struct CopyContent {
    metadata: congvan_envelope::metadata::Metadata,
    attachments: Vec<(String, String)>,
}

fn content_of(path: &Path) -> Result<CopyContent, Error> {
    Ok(content_in(&congvan_envelope::Envelope::open(path)?))
}

fn content_in(envelope: &congvan_envelope::Envelope) -> CopyContent {
    let mut metadata = envelope.metadata().clone();
    metadata.created_at = String::new();
    if let Some(origin) = metadata.details.origin.as_mut() {
        origin.received_at = String::new();
        origin.trace.clear();
    }
    let attachments = envelope
        .manifest()
        .attachments
        .iter()
        .map(|a| (a.name.clone(), a.sha256.clone()))
        .collect();
    CopyContent {
        metadata,
        attachments,
    }
}

/// The content of the dispatch held under `id`, if its file is here.
fn held_content(state: &RelayState, id: &str) -> Result<Option<CopyContent>, Error> {
    match state.store.dispatch(id)? {
        Some(record) => with_held(state, &record.blob, content_in),
        None => Ok(None),
    }
}

/// Runs `read` on a dispatch's file from the store, wherever its blob is
/// kept (an inline blob is copied to a temporary file, removed after).
fn with_held<T>(
    state: &RelayState,
    blob: &str,
    read: impl FnOnce(&congvan_envelope::Envelope) -> T,
) -> Result<Option<T>, Error> {
    match state.store.blob(blob)? {
        Some(Some(bytes)) => {
            let (path, mut file) = state.store.blobs().temp_file()?;
            std::io::Write::write_all(&mut file, &bytes).map_err(|e| Error::io(&path, e))?;
            drop(file);
            let opened = congvan_envelope::Envelope::open(&path);
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
            Ok(Some(read(&opened?)))
        }
        Some(None) => {
            let envelope = congvan_envelope::Envelope::open(&state.store.blobs().path(blob))?;
            Ok(Some(read(&envelope)))
        }
        None => Ok(None),
    }
}

/// The edXML status message telling the other system's sender what a
/// recipient said about a dispatch taken in from it; `None` for a dispatch
/// made in congvan.
fn status_message(
    state: &RelayState,
    gateway: &congvan_org::OrgId,
    m: &congvan_envelope::metadata::Metadata,
    statement: &congvan_envelope::Statement,
) -> Option<congvan_edxml::StatusMessage> {
    let origin = m.details.origin.as_ref()?;
    let congvan_envelope::Statement::Status {
        code,
        by,
        time,
        note,
        ..
    } = statement
    else {
        return None;
    };
    let name = state
        .router
        .registry()
        .get(by)
        .map_or_else(|| by.to_string(), |o| o.name.clone());
    // The time was checked as RFC 3339 when the receipt was verified.
    let at =
        time::OffsetDateTime::parse(time, &time::format_description::well_known::Rfc3339).ok()?;
    Some(congvan_edxml::StatusMessage {
        from: congvan_edxml::Organ {
            organ_id: congvan_edxml::organ_id_text(by),
            organ_name: name,
            ..congvan_edxml::Organ::default()
        },
        response_for: congvan_edxml::ResponseFor {
            organ_id: congvan_edxml::organ_id_text(&m.from.id),
            code: m.number.clone(),
            promulgation_date: congvan_edxml::format_date(m.date),
            document_id: origin.document_id.clone(),
        },
        staff: None,
        status_code: code.code().to_string(),
        description: note.clone(),
        timestamp: congvan_edxml::format_timestamp(at),
        trace: vec![congvan_edxml::TraceHeader {
            organ_id: congvan_edxml::organ_id_text(gateway),
            timestamp: congvan_edxml::format_timestamp(time::OffsetDateTime::now_utc()),
        }],
    })
}

/// Writes each recipient's status about a dispatch taken in from outside
/// congvan back out as an edXML status message,
/// `outbox/status-ID-OFFICE-CODE.edxml`, once.
pub async fn export_statuses(
    state: &Arc<RelayState>,
    settings: &EdxmlSettings,
    folders: &GatewayFolders,
) -> Result<usize, Error> {
    let mut written = 0;
    for (digest, id, blob, jws) in state
        .store
        .statuses_for_gateway(&settings.office.to_string())?
    {
        let jws: congvan_envelope::Jws = serde_json::from_str(&jws).map_err(|e| {
            Error::Corrupt(format!(
                "a stored receipt of dispatch {id} is not JSON: {e}"
            ))
        })?;
        let (_, _, statement, _) = congvan_envelope::parse_receipt(&jws, "receipt")?;
        let message = with_held(state, &blob, |envelope| {
            status_message(state, &settings.office, envelope.metadata(), &statement)
        })?
        .flatten();
        let wrote = match message {
            Some(message) => {
                let name = format!(
                    "status-{id}-{}-{}.edxml",
                    message.from.organ_id, message.status_code
                );
                let out = folders.outbox.join(&name);
                let staged = folders.outbox.join(format!(".{name}.part"));
                congvan_edxml::write_status(&message, &staged).map_err(|e| Error::Protocol {
                    url: "edXML gateway".into(),
                    problem: e.to_string(),
                })?;
                durable_rename(&staged, &out)?;
                tracing::info!(dispatch = %id, file = %out.display(), "status written out as edXML");
                written += 1;
                1
            }
            None => 0,
        };
        state
            .writer
            .write(move |txn| {
                txn.execute(
                    "INSERT OR IGNORE INTO edxml_statuses (digest, written) VALUES (?1, ?2)",
                    rusqlite::params![digest, wrote],
                )?;
                Ok(())
            })
            .await?;
    }
    Ok(written)
}
