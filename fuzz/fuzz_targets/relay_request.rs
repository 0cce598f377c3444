//! Fuzzes the relay's request handling: arbitrary HTTP requests to the API
//! routes of a real relay state (SQLite store in a scratch folder, the demo
//! certificates, a pulling child), as each kind of caller the TLS layer can
//! produce, without the socket.
//!
//! Input layout: the first byte picks the caller (an office it serves, an
//! office it does not, its pulling child relay, a relay that is not a peer,
//! or a refused handshake); the bytes up to the first newline are
//! `METHOD PATH[?QUERY]`; the rest is the body.
//!
//! Refusals (4xx) and "try later" (503) are the expected answers; a panic,
//! a hang, unbounded memory, or a 500 (an internal failure caused by what a
//! caller sent) is a bug.
#![no_main]

use std::path::Path;
use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{Method, Request};
use congvan_org::OrgId;
use congvan_relay::config::{ChildConfig, PeerMode};
use congvan_relay::{routes, Authenticated, Caller, RelayConfig, RelayState};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

struct Relay {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
}

/// Relay H99 (province) with pulling child H99.01, opened once per process
/// in `$TMPDIR/congvan-fuzz-relay-<pid>`.
fn relay() -> &'static Relay {
    static RELAY: OnceLock<Relay> = OnceLock::new();
    RELAY.get_or_init(|| {
        let certs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../certs");
        let data = std::env::temp_dir().join(format!("congvan-fuzz-relay-{}", std::process::id()));
        let mut config: RelayConfig = serde_json::from_value(serde_json::json!({
            "name": "relay-h99",
            "org": "H99",
            "listen": "127.0.0.1:0",
            "data": data,
            "tls": certs.join("H99/relay"),
            "trust": [certs.join("root/cert.pem")],
            "registry": certs.join("registry.toml"),
        }))
        .expect("a minimal relay configuration");
        config.delivery.long_poll_secs = 0;
        config.children.push(ChildConfig {
            name: "relay-h99-01".into(),
            org: org("H99.01"),
            url: None,
            mode: PeerMode::Pull,
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let state = runtime
            .block_on(async { RelayState::open(config) })
            .expect("the relay state opens");
        Relay {
            router: routes(Arc::new(state)),
            runtime,
        }
    })
}

fn org(code: &str) -> OrgId {
    OrgId::parse(code).expect("a demo organization code")
}

fn caller(selector: u8) -> Authenticated {
    Authenticated(match selector % 5 {
        0 => Ok(Caller::Office { org: org("H99.10") }),
        1 => Ok(Caller::Office {
            org: org("H99.02.01"),
        }),
        2 => Ok(Caller::Relay {
            org: org("H99.01"),
            name: "relay-h99-01".into(),
        }),
        3 => Ok(Caller::Relay {
            org: org("H99.02"),
            name: "relay-h99-02".into(),
        }),
        _ => Err("no client certificate was presented".into()),
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let newline = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    let (line, body) = rest.split_at(newline);
    let body = body.get(1..).unwrap_or_default().to_vec();
    let Ok(line) = std::str::from_utf8(line) else {
        return;
    };
    let Some((method, target)) = line.split_once(' ') else {
        return;
    };
    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
        return;
    };
    let length = body.len();
    let Ok(mut request) = Request::builder()
        .method(method)
        .uri(target)
        .header("content-length", length)
        .body(Body::from(body))
    else {
        return;
    };
    request.extensions_mut().insert(caller(selector));
    let relay = relay();
    let response = relay
        .runtime
        .block_on(relay.router.clone().oneshot(request))
        .expect("the router is infallible");
    assert_ne!(
        response.status().as_u16(),
        500,
        "an internal failure answered a request ({line})"
    );
});
