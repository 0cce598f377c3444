//! The public verification page under load: what the QR codes of a
//! province's printed notices cost the relay that answers for them.
//!
//! `cargo run --release -p congvan-web --example verify_page_load -- [RATE] [SECONDS]`
//!
//! A real relay store holding one real signed and sealed dispatch; the
//! workplace's own listener on loopback (plain HTTP: TLS is the proxy's or
//! the relay's, and is not what is measured); requests sent open-loop at
//! RATE per second (default 200) for SECONDS (default 10), each on a new
//! connection, as phones make them; the latency of each from connecting to
//! the last byte of the answer. Beside it, the floor measured in the same
//! run: `Envelope::open` + `verify_dispatch` of the same file, which every
//! lookup does.
//!
//! Requirement (issue: public QR verification page): p99 under 20 ms at
//! 200 requests/s.

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]
#![allow(clippy::disallowed_macros)] // an example prints its figures

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use congvan_envelope::metadata::Draft;
use congvan_org::OrgId;
use congvan_relay::config::{WebSettings, WebTls};
use congvan_relay::{RelayConfig, RelayState};
use congvan_sign::Credential;
use congvan_web::WebApp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn certs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../certs")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rate: u64 = args.next().map_or(200, |a| a.parse().expect("RATE"));
    let seconds: u64 = args.next().map_or(10, |a| a.parse().expect("SECONDS"));
    let dir = tempfile::tempdir().unwrap();
    let certs = certs();
    let district = OrgId::parse("H99.01").unwrap();
    let data = dir.path().join("relay");
    let mut config = RelayConfig::for_demo_pki(&certs, &district, data.clone());
    config.web = Some(WebSettings {
        listen: "127.0.0.1:0".parse().unwrap(),
        public_url: None,
        tls: WebTls::None,
        idle_minutes: 30,
        // Every request comes from 127.0.0.1 here.
        lookups_per_minute: u32::MAX,
        offices: Vec::new(),
    });

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
    hold(
        &data.join("relay.sqlite"),
        &metadata.id,
        &blob,
        &bytes,
        &manifest,
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let web = runtime.block_on(async {
        let app = WebApp::open(state.clone()).unwrap();
        congvan_web::serve(app).await.unwrap()
    });
    let addr = web.addr;
    let path = format!("/v/{}/{manifest}", metadata.id);

    // One lookup, checked: the page says Hợp lệ.
    let first = runtime.block_on(get(addr, &path)).unwrap();
    assert!(first.contains("Hợp lệ"), "the page does not say Hợp lệ");

    // The floor: open and verify the same file.
    let mut floor = Vec::new();
    for _ in 0..200 {
        let start = Instant::now();
        let mut e = congvan_envelope::Envelope::open(&file).unwrap();
        congvan_envelope::verify_dispatch(
            &mut e,
            &state.trust(),
            time::OffsetDateTime::now_utc(),
            &mut |_| {},
        )
        .unwrap();
        floor.push(start.elapsed());
    }
    floor.sort();

    let total = rate * seconds;
    let gap = Duration::from_secs_f64(1.0 / rate as f64);
    let latencies = runtime.block_on(async {
        let start = tokio::time::Instant::now();
        let mut tasks = Vec::with_capacity(total as usize);
        for i in 0..total {
            // Open loop: each request leaves at its time, answered or not.
            tokio::time::sleep_until(start + gap * i as u32).await;
            let path = path.clone();
            tasks.push(tokio::spawn(async move {
                let sent = Instant::now();
                let page = get(addr, &path).await;
                (sent.elapsed(), page.is_ok_and(|p| p.contains("Hợp lệ")))
            }));
        }
        let mut out = Vec::with_capacity(tasks.len());
        for task in tasks {
            out.push(task.await.unwrap());
        }
        out
    });
    let failed = latencies.iter().filter(|(_, ok)| !ok).count();
    let mut sorted: Vec<Duration> = latencies.iter().map(|(d, _)| *d).collect();
    sorted.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let p99 = percentile(&sorted, 0.99);
    println!(
        "{total} lookups at {rate}/s for {seconds} s, each on a new connection; {failed} not answered Hợp lệ"
    );
    println!(
        "latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms; requirement p99 < 20 ms: {}",
        ms(percentile(&sorted, 0.5)),
        ms(percentile(&sorted, 0.9)),
        ms(p99),
        ms(sorted[sorted.len() - 1]),
        if ms(p99) < 20.0 && failed == 0 { "ok" } else { "NOT MET" }
    );
    println!(
        "floor (open + verify of the same file): p50 {:.2} ms; page p50 / floor p50 = {:.1}x",
        ms(percentile(&floor, 0.5)),
        ms(percentile(&sorted, 0.5)) / ms(percentile(&floor, 0.5))
    );
    runtime.block_on(web.stop());
    if ms(p99) >= 20.0 || failed > 0 {
        std::process::exit(1);
    }
}

/// One HTTP/1.1 GET on a new connection; the body.
async fn get(addr: std::net::SocketAddr, path: &str) -> std::io::Result<String> {
    let mut tcp = tokio::net::TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    tcp.read_to_end(&mut answer).await?;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// Records the dispatch as one the relay holds.
fn hold(db: &Path, id: &str, blob: &str, bytes: &[u8], manifest: &str) {
    let mut conn = rusqlite::Connection::open(db).unwrap();
    let tx = conn.transaction().unwrap();
    tx.execute(
        "INSERT INTO blobs (sha256, size, data) VALUES (?1, ?2, ?3)",
        rusqlite::params![blob, bytes.len() as i64, bytes],
    )
    .unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    tx.execute(
        "INSERT INTO dispatches (id, blob, manifest_sha256, sender, number, subject, urgency, secret, due, received_at)
         VALUES (?1, ?2, ?3, 'H99.01', '15/UBND-VP', 'Về việc kế hoạch tiếp dân', 0, 0, NULL, ?4)",
        rusqlite::params![id, blob, manifest, now],
    )
    .unwrap();
    tx.commit().unwrap();
}
