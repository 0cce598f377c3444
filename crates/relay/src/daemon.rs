//! Starting and stopping a relay: the listener and every background task.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::caller::Caller;
use crate::client::{ExpectedRelay, RelayClient};
use crate::config::{PeerMode, RelayConfig};
use crate::data_lock::DataLock;
use crate::delivery::{expiry_sweeper, pull_worker, push_worker};
use crate::state::RelayState;
use crate::Error;

/// A relay running inside this process.
pub struct RunningRelay {
    /// The HTTPS address it listens on (useful when configured with port 0).
    pub addr: SocketAddr,
    /// The plain-HTTP metrics address, if configured.
    pub metrics_addr: Option<SocketAddr>,
    /// Shared state, for tests and embedding.
    pub state: Arc<RelayState>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// Held until the relay has stopped: one relay per data folder.
    _data_lock: DataLock,
}

impl RunningRelay {
    /// Stops accepting, lets tasks finish their current step, and waits.
    pub async fn stop(self) {
        if self.shutdown.send(true).is_err() {
            tracing::debug!("relay tasks had already stopped");
        }
        for task in self.tasks {
            if let Err(e) = task.await {
                tracing::warn!(error = %e, "a relay task ended abnormally");
            }
        }
    }
}

/// Opens the store, binds the listener and starts every task.
pub async fn start(config: RelayConfig) -> Result<RunningRelay, Error> {
    let data_lock = DataLock::acquire(&config.data)?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| Error::io(format!("listen address {}", config.listen), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io("listener", e))?;
    let metrics_listener = match config.metrics_listen {
        Some(m) => Some(
            TcpListener::bind(m)
                .await
                .map_err(|e| Error::io(format!("metrics address {m}"), e))?,
        ),
        None => None,
    };
    let state = Arc::new(RelayState::open(config)?);
    // Only the daemon may do this: a tool opening the same store (stats)
    // must not touch uploads the running relay has in flight.
    let removed = state.store.blobs().clean_temp()?;
    if removed > 0 {
        tracing::info!(
            removed,
            "removed unfinished uploads left by an earlier stop"
        );
    }
    // Leases held by pulling children before this start will never be
    // confirmed to this run: offer those items again at once.
    for child in &state.config.children {
        if child.mode == PeerMode::Pull {
            crate::pull_serve::release_leases(&state, &child.name)
                .await
                .map_err(|r| Error::Protocol {
                    url: "local store".into(),
                    problem: r.reason,
                })?;
        }
    }
    let orphans = state.store.remove_orphan_blobs()?;
    if orphans > 0 {
        tracing::info!(
            orphans,
            "removed dispatch files no record refers to (left by a stop between storing and recording)"
        );
    }
    let (shutdown, rx) = watch::channel(false);
    let mut tasks = Vec::new();

    let serving = state.clone();
    let serve_rx = rx.clone();
    tasks.push(tokio::spawn(async move {
        if let Err(e) = crate::server::serve(serving, listener, serve_rx).await {
            tracing::error!(error = %e, "the HTTPS server stopped");
        }
    }));

    let lifetime = std::time::Duration::from_secs(state.config.limits.connection_max_secs);
    if let Some(parent) = state.config.parent.clone() {
        let client = RelayClient::for_peer(
            &parent.url,
            state.live_trust.clone(),
            ExpectedRelay::Org(parent.org.clone()),
            lifetime,
        )?;
        tasks.push(tokio::spawn(push_worker(
            state.clone(),
            parent.name.clone(),
            client.clone(),
            rx.clone(),
        )));
        tasks.push(tokio::spawn(crate::figure_reports::uploader(
            state.clone(),
            client.clone(),
            std::time::Duration::from_secs(state.config.delivery.figures_interval_secs.max(1)),
            rx.clone(),
        )));
        if parent.mode == PeerMode::Pull {
            let as_caller = Caller::Relay {
                org: parent.org.clone(),
                name: parent.name.clone(),
            };
            tasks.push(tokio::spawn(pull_worker(
                state.clone(),
                client,
                as_caller,
                rx.clone(),
            )));
        }
    }
    for child in state.config.children.clone() {
        if let (PeerMode::Push, Some(url)) = (child.mode, &child.url) {
            let client = RelayClient::for_peer(
                url,
                state.live_trust.clone(),
                ExpectedRelay::Org(child.org.clone()),
                lifetime,
            )?;
            tasks.push(tokio::spawn(push_worker(
                state.clone(),
                child.name.clone(),
                client,
                rx.clone(),
            )));
        }
    }
    if let Some(settings) = state.config.edxml.clone() {
        let credential = congvan_sign::Credential::load(&settings.credential, None)?;
        if credential.cert().org() != Some(&settings.office) {
            return Err(Error::Config {
                path: "[edxml]".into(),
                problem: format!(
                    "the credential in {} is not the office {}'s",
                    settings.credential.display(),
                    settings.office
                ),
            });
        }
        if !state.router.serves(&settings.office) {
            return Err(Error::Config {
                path: "[edxml]".into(),
                problem: format!(
                    "this relay does not serve the gateway office {}",
                    settings.office
                ),
            });
        }
        tasks.push(tokio::spawn(crate::folder_gateway::run(
            state.clone(),
            settings,
            Arc::new(credential),
            rx.clone(),
        )));
    }
    tasks.push(tokio::spawn(expiry_sweeper(state.clone(), rx.clone())));
    tasks.push(tokio::spawn(crl_watch(state.clone(), rx.clone())));
    tasks.push(tokio::spawn(crate::trust_reload::watch(
        state.clone(),
        rx.clone(),
    )));
    tasks.push(tokio::spawn(crate::delivery::retention_sweeper(
        state.clone(),
        rx.clone(),
    )));
    if let Some(stamping) = &state.config.timestamping {
        tasks.push(tokio::spawn(crate::message_log::batch_stamper(
            state.clone(),
            stamping.tsa.clone(),
            std::time::Duration::from_secs(stamping.batch_interval_secs.max(1)),
            rx.clone(),
        )));
    }
    if let Some(mail) = &state.config.mail {
        let mailer = congvan_notify::Mailer::new(mail).map_err(|e| Error::Config {
            path: "[mail]".into(),
            problem: e.to_string(),
        })?;
        tasks.push(tokio::spawn(crate::notices::mail_worker(
            state.clone(),
            mailer,
            rx.clone(),
        )));
        tasks.push(tokio::spawn(crate::notices::scheduler(
            state.clone(),
            rx.clone(),
        )));
    }

    let mut metrics_addr = None;
    if let Some(listener) = metrics_listener {
        metrics_addr = listener.local_addr().ok();
        let metrics_state = state.clone();
        let mut metrics_rx = rx.clone();
        let app = axum::Router::new().route(
            "/metrics",
            get(move || {
                let state = metrics_state.clone();
                async move {
                    let depth = state.store.queue_depth().unwrap_or(-1);
                    let stale = state
                        .trust()
                        .stale_crls_at(time::OffsetDateTime::now_utc())
                        .len();
                    state.metrics.render(&state.config.name, depth, stale)
                }
            }),
        );
        tasks.push(tokio::spawn(async move {
            let stop = async move {
                if metrics_rx.changed().await.is_err() {
                    tracing::debug!("metrics server: relay gone");
                }
            };
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(stop)
                .await
            {
                tracing::error!(error = %e, "the metrics server stopped");
            }
        }));
    }
    tracing::info!(relay = %state.config.name, %addr, "relay started");
    Ok(RunningRelay {
        addr,
        metrics_addr,
        state,
        shutdown,
        tasks,
        _data_lock: data_lock,
    })
}

/// Runs a relay until SIGINT or SIGTERM.
pub async fn run(config: RelayConfig) -> Result<(), Error> {
    let relay = start(config).await?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| Error::io("signal handler", e))?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("stopping");
    relay.stop().await;
    Ok(())
}

/// Warns, at start and every ten minutes, while a loaded CRL is past its
/// nextUpdate: the operator must fetch a current one (and restart), or
/// dispatches it decides are answered "try later" (or, with
/// `crl_stale = "accept"`, checked against an old list).
async fn crl_watch(state: Arc<RelayState>, mut shutdown: watch::Receiver<bool>) {
    loop {
        for crl in state.trust().stale_crls_at(time::OffsetDateTime::now_utc()) {
            tracing::warn!(
                issuer = %crl.issuer(),
                next_update = %crl.next_update(),
                policy = ?state.config.crl_stale,
                "a CRL is out of date: put a current one in its file (the relay reads it again by itself)"
            );
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(600)) => {}
            _ = shutdown.changed() => return,
        }
    }
}
