//! How long the server takes to render the workplace's busiest pages.
//!
//! `cargo bench -p congvan-web --bench pages`
//!
//! An office whose inbox holds 10,000 dispatches (rows written straight
//! into a real relay store, one of them a real signed and sealed dispatch
//! held inline): the inbox page (first page of 50, with the total) and the
//! page of that dispatch (copy out of the store, open, verify against the
//! relay's trust store, render) are requested through the workplace's
//! router with a logged-in clerk's cookie, as the listener hands them
//! requests. Each figure is set beside the floor measured in the same run:
//! for the inbox, the store's own query for that page; for the dispatch,
//! `Envelope::open` + `verify_dispatch` of the same file.
//!
//! Requirement (issue: the web workplace): inbox under 20 ms median,
//! dispatch page under 30 ms median.

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use congvan_envelope::metadata::Draft;
use congvan_org::OrgId;
use congvan_relay::config::{WebOffice, WebSettings, WebTls};
use congvan_relay::{RelayConfig, RelayState};
use congvan_sign::Credential;
use congvan_web::account::{add_account, NewAccount, Role};
use congvan_web::WebApp;
use http_body_util::BodyExt;
use tower::ServiceExt;

const DISPATCHES: usize = 10_000;
const ROUNDS: usize = 200;

fn certs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../certs")
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let certs = certs();
    let commune = OrgId::parse("H99.01.01").unwrap();
    let data = dir.path().join("relay");
    let mut config = RelayConfig::for_demo_pki(&certs, &commune, data.clone());
    config.web = Some(WebSettings {
        listen: "127.0.0.1:0".parse().unwrap(),
        public_url: None,
        tls: WebTls::None,
        idle_minutes: 30,
        lookups_per_minute: 30,
        offices: vec![WebOffice {
            org: commune.clone(),
            credential: certs.join("H99.01.01/office"),
        }],
    });

    // One real dispatch from the district, signed and sealed.
    let official = Credential::load(&certs.join("H99.01/official"), None).unwrap();
    let office = Credential::load(&certs.join("H99.01/office"), None).unwrap();
    let metadata = Draft::demo(official.cert()).metadata();
    let file = dir.path().join("real.cvd");
    congvan_envelope::issue_dispatch(
        &metadata,
        &[],
        &file,
        &official,
        Some(&office),
        time::OffsetDateTime::now_utc(),
    )
    .unwrap();
    let bytes = std::fs::read(&file).unwrap();
    let envelope = congvan_envelope::Envelope::open(&file).unwrap();
    let manifest = congvan_envelope::sha256_hex(envelope.manifest_bytes());
    drop(envelope);
    let blob = congvan_envelope::sha256_hex(&bytes);

    let state = Arc::new(RelayState::open(config).unwrap());
    fill_inbox(
        &data.join("relay.sqlite"),
        &metadata.id,
        &blob,
        &bytes,
        &manifest,
    );
    let app = WebApp::open(state.clone()).unwrap();
    let clerk = add_account(
        &app.store,
        &NewAccount {
            office: &commune,
            role: Role::Clerk,
            login: "vanthu",
            name: "Văn thư",
            password: "mot-mat-khau-dai",
            totp: false,
            signing_key: None,
        },
    )
    .unwrap();
    app.store
        .create_session("bench-token", clerk.id, "bench-csrf")
        .unwrap();
    let cookie = format!("{}=bench-token", app.cookies.session);
    let router = app.router();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    let get = |path: String| {
        let router = router.clone();
        let cookie = cookie.clone();
        runtime.block_on(async move {
            let request = axum::http::Request::get(path)
                .header("cookie", cookie)
                .body(Body::empty())
                .unwrap();
            let response = router.oneshot(request).await.unwrap();
            assert_eq!(response.status(), 200);
            response.into_body().collect().await.unwrap().to_bytes()
        })
    };
    let first = get("/inbox".into());
    let html = String::from_utf8_lossy(&first);
    assert!(
        html.contains("10000 văn bản"),
        "the inbox page shows the total"
    );
    let page = get(format!("/dispatches/{}", metadata.id));
    assert!(String::from_utf8_lossy(&page).contains("PASSED"));

    let time = |f: &mut dyn FnMut()| -> Duration {
        let mut samples = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            let start = Instant::now();
            f();
            samples.push(start.elapsed());
        }
        median(samples)
    };
    // Interleave page and floor so load from other jobs touches both alike.
    let mut inbox_page = Vec::new();
    let mut inbox_query = Vec::new();
    let mut dispatch_page = Vec::new();
    let mut verify = Vec::new();
    for _ in 0..5 {
        inbox_page.push(time(&mut || {
            get("/inbox".into());
        }));
        inbox_query.push(time(&mut || {
            state.store.inbox_count("H99.01.01").unwrap();
            state.store.inbox_page("H99.01.01", 0, Some(50)).unwrap();
        }));
        dispatch_page.push(time(&mut || {
            get(format!("/dispatches/{}", metadata.id));
        }));
        verify.push(time(&mut || {
            let mut e = congvan_envelope::Envelope::open(&file).unwrap();
            congvan_envelope::verify_dispatch(
                &mut e,
                &state.trust(),
                time::OffsetDateTime::now_utc(),
                &mut |_| {},
            )
            .unwrap();
        }));
    }
    let (ip, iq, dp, v) = (
        median(inbox_page),
        median(inbox_query),
        median(dispatch_page),
        median(verify),
    );
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("{DISPATCHES} dispatches in the inbox; medians of 5 x {ROUNDS} requests");
    println!("inbox page (50 of {DISPATCHES})   {:>8.3} ms   store query {:>8.3} ms   ratio {:.2}x   limit 20 ms {}",
        ms(ip), ms(iq), ms(ip) / ms(iq), if ms(ip) < 20.0 { "ok" } else { "OVER" });
    println!("dispatch page              {:>8.3} ms   open+verify {:>8.3} ms   ratio {:.2}x   limit 30 ms {}",
        ms(dp), ms(v), ms(dp) / ms(v), if ms(dp) < 30.0 { "ok" } else { "OVER" });
}

/// Writes 10,000 inbox rows (the real dispatch among them) into the store.
fn fill_inbox(db: &Path, real_id: &str, blob: &str, bytes: &[u8], manifest: &str) {
    let mut conn = rusqlite::Connection::open(db).unwrap();
    let tx = conn.transaction().unwrap();
    tx.execute(
        "INSERT INTO blobs (sha256, size, data) VALUES (?1, ?2, ?3)",
        rusqlite::params![blob, bytes.len() as i64, bytes],
    )
    .unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    for i in 0..DISPATCHES {
        let id = if i == 0 {
            real_id.to_string()
        } else {
            format!("{i:08x}-0000-4000-8000-{i:012x}")
        };
        let urgency = [0, 0, 0, 1, 2, 3][i % 6];
        let secret = i % 17 == 0;
        tx.execute(
            "INSERT INTO dispatches (id, blob, manifest_sha256, sender, number, subject, urgency, secret, due, received_at)
             VALUES (?1, ?2, ?3, 'H99.01', ?4, ?5, ?6, ?7, ?8, ?9)",
            rusqlite::params![
                id, blob, manifest, format!("{}/UBND-VP", i + 1),
                format!("Về việc báo cáo số liệu thống kê định kỳ, đợt {i}"),
                urgency, secret, (i % 3 == 0).then_some("2027-01-15"), now - i as i64 * 1000
            ],
        )
        .unwrap();
        tx.execute(
            "INSERT INTO inbox (office, dispatch_id, delivered_at, status) VALUES ('H99.01.01', ?1, ?2, ?3)",
            rusqlite::params![id, now - i as i64 * 1000, (i % 4 == 0).then_some("03")],
        )
        .unwrap();
    }
    tx.commit().unwrap();
}
