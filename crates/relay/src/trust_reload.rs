//! When a running relay reads its CRL files again: a file changed (its
//! bytes, checked every two seconds), SIGHUP, or `congvan relay reload`,
//! which leaves a request in the data folder and waits for the answer the
//! relay writes beside it. See `live_trust.rs` for what a reload does.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::live_trust::Reloaded;
use crate::state::RelayState;
use crate::Error;

/// The request file `relay reload` writes in the data folder (its content:
/// a token that the answer repeats).
pub const REQUEST_FILE: &str = "reload.request";

/// The answer the relay writes in the data folder after each reload.
pub const STATUS_FILE: &str = "reload.status.json";

/// How often the files are looked at.
const CHECK: Duration = Duration::from_secs(2);

/// The outcome of the latest reload, as `relay reload` reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadStatus {
    /// The token of the request it answers, if a request caused it.
    pub request: Option<String>,
    /// What caused it: `request`, `SIGHUP` or `file changed`.
    pub cause: String,
    /// The trust generation in force after it.
    pub generation: u64,
    /// The CAs whose list changed (empty: nothing newer was found).
    pub changed: Vec<String>,
    /// Lists or files not taken, and why (the others were).
    #[serde(default)]
    pub refused: Vec<String>,
    /// Why the files could not be loaded (the lists in force stay).
    pub error: Option<String>,
}

/// Watches for reload causes until shutdown.
pub async fn watch(state: Arc<RelayState>, mut shutdown: watch::Receiver<bool>) {
    let mut seen = look(&state).await.1;
    let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(signal) => Some(signal),
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP; CRL files are still watched");
            None
        }
    };
    loop {
        let hup = async {
            match hangup.as_mut() {
                Some(signal) => signal.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(CHECK) => {
                // The files' state is taken before the reload reads them: a
                // file still being written is seen again once it is whole.
                let (request, now) = look(&state).await;
                if let Some(token) = request {
                    seen = now;
                    reload(&state, "request", Some(token)).await;
                } else if now != seen {
                    seen = now;
                    reload(&state, "file changed", None).await;
                }
            }
            _ = hup => {
                seen = look(&state).await.1;
                reload(&state, "SIGHUP", None).await;
            }
            _ = shutdown.changed() => return,
        }
    }
}

/// A pending request's token, and the CRL files' fingerprints, read on a
/// blocking thread (files may be slow, or not files at all).
async fn look(state: &Arc<RelayState>) -> (Option<String>, Vec<Option<Vec<u8>>>) {
    let (data, crls) = (state.config.data.clone(), state.config.crl.clone());
    match tokio::task::spawn_blocking(move || (take_request(&data), fingerprint(&crls))).await {
        Ok(seen) => seen,
        Err(e) => {
            tracing::warn!(error = %e, "cannot look at the CRL files");
            (None, Vec::new())
        }
    }
}

/// Reloads, logs the outcome and writes the status file.
pub async fn reload(state: &Arc<RelayState>, cause: &str, request: Option<String>) {
    let outcome = {
        let state = state.clone();
        tokio::task::spawn_blocking(move || state.reload_trust())
            .await
            .map_err(|e| Error::Tls(format!("the reload task failed: {e}")))
            .and_then(|r| r)
    };
    let generation = state.live_trust.current().generation;
    let status = match outcome {
        Ok(Reloaded {
            generation,
            changed,
            refused,
        }) => {
            for why in &refused {
                tracing::warn!(cause, refused = %congvan_text::line(why), "a CRL was not taken");
            }
            if changed.is_empty() {
                tracing::info!(
                    cause,
                    generation,
                    "CRLs read again; none is newer than those in force"
                );
            } else {
                tracing::info!(cause, generation, issuers = %congvan_text::line(&changed.join("; ")), "new CRLs in force");
            }
            ReloadStatus {
                request,
                cause: cause.into(),
                generation,
                changed,
                refused,
                error: None,
            }
        }
        Err(e) => {
            tracing::error!(cause, error = %congvan_text::line(&e.to_string()), "the CRLs could not be reloaded; the lists in force stay");
            ReloadStatus {
                request,
                cause: cause.into(),
                generation,
                changed: Vec::new(),
                refused: Vec::new(),
                error: Some(e.to_string()),
            }
        }
    };
    if let Err(e) = write_status(&state.config.data, &status) {
        tracing::warn!(error = %e, "cannot write the reload status");
    }
}

/// Largest CRL file looked at (loading refuses larger ones too).
const MAX_CRL_FILE: u64 = 16 * 1024 * 1024;

/// Reads a regular file of at most `max` bytes; `None` otherwise (missing,
/// a FIFO or device, too large).
fn read_regular(path: &Path, max: u64) -> Option<Vec<u8>> {
    use std::io::Read;
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > max {
        return None;
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(max + 1)
        .read_to_end(&mut bytes)
        .ok()?;
    (bytes.len() as u64 <= max).then_some(bytes)
}

/// A pending `relay reload` request's token, removing the request.
fn take_request(data: &Path) -> Option<String> {
    let path = data.join(REQUEST_FILE);
    let token = read_regular(&path, 64)?;
    if let Err(e) = std::fs::remove_file(&path) {
        tracing::warn!(path = %path.display(), error = %e, "cannot remove the reload request");
    }
    let token: String = String::from_utf8_lossy(&token)
        .trim()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    Some(token)
}

fn write_status(data: &Path, status: &ReloadStatus) -> Result<(), Error> {
    use std::io::Write;
    let path = data.join(STATUS_FILE);
    let temp = data.join(format!("{STATUS_FILE}.{:016x}", crate::store::random_u64()));
    let text = serde_json::to_vec_pretty(status)
        .map_err(|e| Error::io(&path, std::io::Error::other(e)))?;
    // A new file of its own: never through a link someone left there.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)
        .map_err(|e| Error::io(&temp, e))?;
    file.write_all(&text).map_err(|e| Error::io(&temp, e))?;
    drop(file);
    std::fs::rename(&temp, &path).map_err(|e| Error::io(&path, e))
}

/// The SHA-256 of each CRL file's bytes (`None`: unreadable now).
fn fingerprint(paths: &[PathBuf]) -> Vec<Option<Vec<u8>>> {
    paths
        .iter()
        .map(|p| {
            read_regular(p, MAX_CRL_FILE).map(|bytes| {
                ring::digest::digest(&ring::digest::SHA256, &bytes)
                    .as_ref()
                    .to_vec()
            })
        })
        .collect()
}

/// Asks the relay running on the data folder `data` to read its CRL files
/// again, and waits up to `wait` for its answer (`congvan relay reload`).
pub fn request_reload(data: &Path, wait: Duration) -> Result<ReloadStatus, Error> {
    // A running relay holds the folder's lock; taking it means none runs.
    match crate::data_lock::DataLock::acquire(data) {
        Ok(_unused) => {
            return Err(Error::Config {
                path: data.to_path_buf(),
                problem: "no relay is running on this data folder; a relay reads its CRLs when \
                          it starts (`congvan relay run`)"
                    .into(),
            })
        }
        Err(Error::DataFolderInUse { .. }) => {}
        Err(e) => return Err(e),
    }
    let token = format!("{:016x}", crate::store::random_u64());
    let path = data.join(REQUEST_FILE);
    let temp = data.join(format!("{REQUEST_FILE}.tmp"));
    std::fs::write(&temp, &token).map_err(|e| Error::io(&temp, e))?;
    std::fs::rename(&temp, &path).map_err(|e| Error::io(&path, e))?;
    let deadline = std::time::Instant::now() + wait;
    let status_path = data.join(STATUS_FILE);
    while std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        let Ok(text) = std::fs::read(&status_path) else {
            continue;
        };
        if let Ok(status) = serde_json::from_slice::<ReloadStatus>(&text) {
            if status.request.as_deref() == Some(token.as_str()) {
                return Ok(status);
            }
        }
    }
    Err(Error::Config {
        path: data.to_path_buf(),
        problem: format!(
            "the relay did not answer the reload request within {} s; is it stuck? its log says more",
            wait.as_secs()
        ),
    })
}
