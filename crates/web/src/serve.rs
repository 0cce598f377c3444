//! The workplace's listener: HTTPS with the relay's certificate, or plain
//! HTTP on loopback behind a TLS proxy. Each request learns the address it
//! came from (for login throttling and the audit trail).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use congvan_relay::config::WebTls;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::ServiceExt;

use crate::app::WebApp;
use crate::session::ClientAddr;
use crate::Error;

/// A running web workplace.
pub struct RunningWeb {
    /// Where it listens (useful when configured with port 0).
    pub addr: SocketAddr,
    /// `https://` or `http://`, with the address.
    pub url: String,
    /// The workplace, for tests and the demo (creating accounts).
    pub app: Arc<WebApp>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl RunningWeb {
    /// Stops accepting and waits for the listener task.
    pub async fn stop(self) {
        if self.shutdown.send(true).is_err() {
            tracing::debug!("web listener had already stopped");
        }
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "the web listener ended abnormally");
        }
    }
}

/// Binds `[web] listen` and serves the workplace until stopped.
pub async fn serve(app: Arc<WebApp>) -> Result<RunningWeb, Error> {
    let listen = app.settings.listen;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| Error::Listen(format!("cannot listen on {listen}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Listen(e.to_string()))?;
    let tls = match app.settings.tls {
        WebTls::Relay => Some(tokio_rustls::TlsAcceptor::from(tls_config(&app)?)),
        WebTls::None => None,
    };
    let url = match (&app.settings.public_url, &tls) {
        (Some(url), _) => url.trim_end_matches('/').to_string(),
        (None, Some(_)) => format!("https://{addr}"),
        (None, None) => format!("http://{addr}"),
    };
    // The address printed copies point their QR code at: the public one,
    // or on loopback (the demo, a test) the listener's own. Elsewhere,
    // without `public_url`, no one outside could open what it would name.
    if app.settings.public_url.is_some() || addr.ip().is_loopback() {
        app.set_verify_base(&url);
    }
    let (shutdown, mut rx) = watch::channel(false);
    let router = app.router();
    let limits = app.relay.config.limits.clone();
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let per_address = PerAddress::new(limits.max_connections_per_address);
    // Behind a TLS proxy on this machine every peer is the proxy: the
    // person's address is the one the proxy appends to X-Forwarded-For.
    let behind_proxy = app.settings.tls == WebTls::None && app.settings.public_url.is_some();
    // No connection lives longer than the relay lets an upload take.
    let lifetime = Duration::from_secs(limits.body_timeout_secs);
    let task = tokio::spawn(async move {
        loop {
            let (tcp, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        tracing::warn!(error = %e, "web: accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = rx.changed() => return,
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                tracing::warn!(%peer, "web: too many connections; closing a new one");
                continue;
            };
            let Some(from_address) = per_address.acquire(peer.ip()) else {
                tracing::warn!(%peer, "web: too many connections from this address; closing a new one");
                continue;
            };
            let router = router.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                let _held = (slot, from_address);
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let mut req = req.map(Body::new);
                        let client = match forwarded_for(req.headers()) {
                            Some(ip) if behind_proxy && peer.ip().is_loopback() => {
                                SocketAddr::new(ip, 0)
                            }
                            _ => peer,
                        };
                        req.extensions_mut().insert(ClientAddr(client));
                        router.clone().oneshot(req)
                    },
                );
                let builder = {
                    let mut b = hyper::server::conn::http1::Builder::new();
                    b.timer(TokioTimer::new())
                        .header_read_timeout(Duration::from_secs(15));
                    b
                };
                let served = async {
                    match tls {
                        Some(acceptor) => {
                            match tokio::time::timeout(
                                Duration::from_secs(15),
                                acceptor.accept(tcp),
                            )
                            .await
                            {
                                Ok(Ok(stream)) => {
                                    builder
                                        .serve_connection(TokioIo::new(stream), service)
                                        .await
                                }
                                Ok(Err(e)) => {
                                    tracing::debug!(%peer, error = %e, "web: TLS handshake failed");
                                    Ok(())
                                }
                                Err(_) => Ok(()),
                            }
                        }
                        None => builder.serve_connection(TokioIo::new(tcp), service).await,
                    }
                };
                match tokio::time::timeout(lifetime, served).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        tracing::debug!(%peer, error = %e, "web: connection ended with an error")
                    }
                    Err(_) => tracing::info!(%peer, "web: connection open too long; closed"),
                }
            });
        }
    });
    tracing::info!(%url, "web workplace started");
    Ok(RunningWeb {
        addr,
        url,
        app,
        shutdown,
        task,
    })
}

/// The last address in `X-Forwarded-For`: the one the proxy itself added.
fn forwarded_for(headers: &axum::http::HeaderMap) -> Option<std::net::IpAddr> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .last()
        .and_then(|last| last.trim().parse().ok())
}

/// Connections per IP address, each held by a guard.
#[derive(Clone)]
struct PerAddress {
    max: usize,
    open: Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>>,
}

/// One connection counted against its address until dropped.
struct AddressSlot {
    ip: std::net::IpAddr,
    open: Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>>,
}

impl PerAddress {
    fn new(max: usize) -> PerAddress {
        PerAddress {
            max,
            open: Arc::default(),
        }
    }

    fn acquire(&self, ip: std::net::IpAddr) -> Option<AddressSlot> {
        let mut open = self.open.lock().ok()?;
        let count = open.entry(ip).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            ip,
            open: self.open.clone(),
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.open.lock() {
            if let Some(count) = open.get_mut(&self.ip) {
                *count -= 1;
                if *count == 0 {
                    open.remove(&self.ip);
                }
            }
        }
    }
}

/// HTTPS with the relay's certificate; browsers present no client
/// certificate here (people log in with a password).
fn tls_config(app: &WebApp) -> Result<Arc<rustls::ServerConfig>, Error> {
    let credential = &app.relay.credential;
    let mut chain = vec![rustls_pki_types::CertificateDer::from(
        credential.cert().der().to_vec(),
    )];
    for ca in credential.chain() {
        chain.push(rustls_pki_types::CertificateDer::from(ca.der().to_vec()));
    }
    let key = rustls_pki_types::PrivateKeyDer::Pkcs8(credential.key().pkcs8_der().to_vec().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| Error::Listen(e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(|e| Error::Listen(format!("the relay's certificate cannot serve HTTPS: {e}")))?;
    Ok(Arc::new(config))
}
