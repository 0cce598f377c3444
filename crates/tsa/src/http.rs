//! RFC 3161 over HTTP (§3.4): `application/timestamp-query` in,
//! `application/timestamp-reply` out.
//!
//! Plain HTTP is what TSAs speak: a token is signed, so a network attacker
//! can withhold or delay one but not forge it, and the nonce stops a
//! replayed reply from passing.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use time::OffsetDateTime;
use tokio::net::{TcpListener, TcpStream};

use crate::authority::MAX_REQUEST_BYTES;
use crate::{check_reply, Authority, CheckedToken, Error, Imprint, TimestampRequest};

/// Media type of a request.
pub const QUERY_MEDIA_TYPE: &str = "application/timestamp-query";
/// Media type of a reply.
pub const REPLY_MEDIA_TYPE: &str = "application/timestamp-reply";

/// The longest reply a client reads: a token with its chain is a few KB.
const MAX_REPLY_BYTES: usize = 1024 * 1024;

/// How long a client waits for a TSA.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the server waits for a request's headers, and for its body:
/// a request is a few hundred bytes, so a peer that trickles is dropped.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The most connections served at once; more wait in the listen queue.
const MAX_CONNECTIONS: usize = 1024;

/// Serves `authority` on `listener` until the task is dropped: every POST
/// of a request gets a reply (a token or a rejection saying why); anything
/// else gets an HTTP error. Connections are kept alive.
pub async fn serve(listener: TcpListener, authority: Arc<Authority>) -> std::io::Result<()> {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let slot = match slots.clone().acquire_owned().await {
            Ok(slot) => slot,
            // The semaphore is never closed; should it be, stop serving.
            Err(_) => return Ok(()),
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors or the like: wait a little, keep serving.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let authority = authority.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let authority = authority.clone();
                async move { Ok::<_, std::convert::Infallible>(answer(request, &authority).await) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(REQUEST_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            // Held for the connection's life.
            let _slot = slot;
            if let Err(e) = connection.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
}

async fn answer(request: Request<Incoming>, authority: &Authority) -> Response<Full<Bytes>> {
    let plain = |status: StatusCode, text: &str| {
        let mut response = Response::new(Full::new(Bytes::from(format!("{text}\n"))));
        *response.status_mut() = status;
        response
    };
    if request.method() != Method::POST {
        return plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "POST an RFC 3161 request (application/timestamp-query)",
        );
    }
    let media_type = request
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if media_type != QUERY_MEDIA_TYPE {
        return plain(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the request must be application/timestamp-query",
        );
    }
    let body = Limited::new(request.into_body(), MAX_REQUEST_BYTES).collect();
    let body = match tokio::time::timeout(REQUEST_TIMEOUT, body).await {
        Ok(Ok(body)) => body.to_bytes(),
        Ok(Err(_)) => {
            return plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                "a timestamp request is under 16 KiB",
            )
        }
        Err(_) => {
            return plain(
                StatusCode::REQUEST_TIMEOUT,
                "the request body did not arrive",
            )
        }
    };
    let reply = authority.respond(&body, OffsetDateTime::now_utc());
    let mut response = Response::new(Full::new(Bytes::from(reply)));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(REPLY_MEDIA_TYPE),
    );
    response
}

/// Asks the TSA at `url` (`http://host:port/path`) for a token over
/// `imprint` and checks the reply (nonce, imprint, signature, the TSA's
/// chain under `trust`). Returns the DER token and what it says.
pub async fn request_token(
    url: &str,
    imprint: &Imprint,
    trust: &congvan_sign::TrustStore,
) -> Result<(Vec<u8>, CheckedToken), Error> {
    let failed = |problem: String| Error::Http {
        url: url.to_string(),
        problem,
    };
    let uri: hyper::Uri = url.parse().map_err(|e| failed(format!("not a URL: {e}")))?;
    if uri.scheme_str() != Some("http") {
        return Err(failed(
            "congvan speaks to a TSA over http:// (RFC 3161 §3.4); the token itself is signed"
                .into(),
        ));
    }
    let host = uri
        .host()
        .ok_or_else(|| failed("the URL has no host".into()))?;
    let port = uri.port_u16().unwrap_or(80);
    let request = TimestampRequest::new(imprint)?;
    let exchange = async {
        let stream = TcpStream::connect((host, port))
            .await
            .map_err(|e| failed(format!("cannot connect: {e}")))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| failed(format!("HTTP handshake failed: {e}")))?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "TSA connection ended with an error");
            }
        });
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let http_request = Request::post(path)
            .header(hyper::header::HOST, format!("{host}:{port}"))
            .header(hyper::header::CONTENT_TYPE, QUERY_MEDIA_TYPE)
            .body(Full::new(Bytes::from(request.der.clone())))
            .map_err(|e| failed(format!("cannot build the request: {e}")))?;
        let response = sender
            .send_request(http_request)
            .await
            .map_err(|e| failed(format!("no answer: {e}")))?;
        if response.status() != StatusCode::OK {
            return Err(failed(format!("answered HTTP {}", response.status())));
        }
        let media_type = response
            .headers()
            .get(hyper::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        if media_type != REPLY_MEDIA_TYPE {
            return Err(failed(format!(
                "answered {media_type:?}, not {REPLY_MEDIA_TYPE}"
            )));
        }
        let body = Limited::new(response.into_body(), MAX_REPLY_BYTES)
            .collect()
            .await
            .map_err(|e| failed(format!("reading the reply failed: {e}")))?
            .to_bytes();
        Ok(body)
    };
    let body = tokio::time::timeout(CLIENT_TIMEOUT, exchange)
        .await
        .map_err(|_| failed("no reply within 30 s".into()))??;
    check_reply(&body, &request, trust)
}
