//! Acceptance 6: `/metrics` (plain HTTP on `metrics_listen`) reports the
//! accepted, delivered, forwarded, duplicate, rejected, retried and expired
//! counters, the queue depth and the hop-latency histogram, with values that
//! match exactly what the test did.
//!
//! District H99.01 (under test) pulls from the province and has a push child,
//! commune H99.01.01, whose relay never runs.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::disallowed_macros)] // test progress output

use std::time::{Duration, Instant};

use crate::support::process;
use crate::support::relays::*;
use congvan_envelope::metadata::Urgency;
use congvan_relay::config::PeerMode;

const EXPIRY_SECS: u64 = 3;
const ACCEPTED: &str = "congvan_dispatches_accepted_total";
const DUPLICATE: &str = "congvan_dispatches_duplicate_total";
const REJECTED: &str = "congvan_dispatches_rejected_total";
const DELIVERED: &str = "congvan_dispatches_delivered_total";
const FORWARDED: &str = "congvan_transfers_forwarded_total";
const RETRIED: &str = "congvan_transfers_retried_total";
const EXPIRED: &str = "congvan_dispatches_expired_total";
const RECEIPTS: &str = "congvan_receipts_total";
const DEPTH: &str = "congvan_queue_depth";
const LATENCY: &str = "congvan_hop_latency_seconds";

#[track_caller]
fn expect(scrape: &Scrape, expected: &[(&str, f64)]) {
    for (name, value) in expected {
        assert_eq!(
            scrape.get(name),
            *value,
            "{name} should be {value}\n{}",
            scrape.text
        );
    }
}

/// The histogram is well formed; returns its count.
#[track_caller]
fn check_histogram(scrape: &Scrape) -> f64 {
    let buckets: Vec<(f64, f64)> = scrape
        .samples
        .iter()
        .filter_map(|(k, v)| {
            let le = k
                .strip_prefix(&format!("{LATENCY}_bucket{{le=\""))?
                .strip_suffix("\"}")?;
            let bound = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap()
            };
            Some((bound, *v))
        })
        .collect();
    let mut sorted = buckets.clone();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(sorted.len() >= 2, "no histogram buckets\n{}", scrape.text);
    assert!(
        sorted.windows(2).all(|w| w[0].1 <= w[1].1),
        "buckets are cumulative: {sorted:?}"
    );
    let count = scrape.get(&format!("{LATENCY}_count"));
    assert_eq!(sorted.last().unwrap(), &(f64::INFINITY, count));
    let sum = scrape.get(&format!("{LATENCY}_sum"));
    assert!(
        sum >= 0.0 && (count == 0.0) == (sum == 0.0),
        "sum {sum}, count {count}"
    );
    count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_match_what_happened() {
    let started = Instant::now();
    let dir = process::tempdir();
    let base = dir.path();
    let metrics_addr = || Some("127.0.0.1:0".parse().unwrap());

    let mut province_config = relay_config(base, "H99");
    province_config.metrics_listen = metrics_addr();
    add_child(&mut province_config, "H99.01", None);
    let province = congvan_relay::start(province_config).await.unwrap();
    let province_metrics = province.metrics_addr.unwrap();

    let mut district_config = relay_config(base, "H99.01");
    district_config.metrics_listen = metrics_addr();
    set_parent(
        &mut district_config,
        "H99",
        &url(province.addr),
        PeerMode::Pull,
    );
    add_child(&mut district_config, "H99.01.01", Some(&url(free_addr())));
    district_config.delivery.expiry_secs = [EXPIRY_SECS; 5];
    district_config.delivery.retry_initial_ms = 100;
    district_config.delivery.retry_max_ms = 200;
    let district = congvan_relay::start(district_config).await.unwrap();
    let district_url = url(district.addr);
    let district_metrics = district.metrics_addr.unwrap();
    let sender = client(&district_url, "H99.01");

    // Nothing has happened yet.
    for addr in [province_metrics, district_metrics] {
        let s = scrape(addr).await;
        expect(
            &s,
            &[
                (ACCEPTED, 0.0),
                (DUPLICATE, 0.0),
                (REJECTED, 0.0),
                (DELIVERED, 0.0),
                (FORWARDED, 0.0),
                (RETRIED, 0.0),
                (EXPIRED, 0.0),
                (DEPTH, 0.0),
            ],
        );
        assert_eq!(check_histogram(&s), 0.0);
    }

    // Three dispatches up to the province.
    let author = Author::new("H99.01");
    let out = base.join("out");
    let mut up = Vec::new();
    for i in 0..3 {
        let d = author.write(&out, &["H99"], Urgency::Khan, &format!("Báo cáo {i}"));
        assert_eq!(sender.send_file(&d.path).await.unwrap().status, "accepted");
        up.push(d);
    }
    for d in &up {
        wait_inbox(&url(province.addr), "H99", &d.id, Duration::from_secs(20)).await;
    }
    // ...and the province's custody receipts down to the district.
    eventually(
        "custody receipts back at the district",
        Duration::from_secs(20),
        || async {
            let s = scrape(district_metrics).await;
            let p = scrape(province_metrics).await;
            (s.get(RECEIPTS) == 3.0
                && s.get(DEPTH) == 0.0
                && s.get(FORWARDED) == 3.0
                && p.get(DEPTH) == 0.0
                && p.get(FORWARDED) == 3.0)
                .then_some(())
        },
    )
    .await;

    // One sent again: a duplicate, not a second acceptance.
    assert_eq!(
        sender.send_file(&up[0].path).await.unwrap().status,
        "duplicate"
    );

    // Three refused uploads: a tampered dispatch, one issued by another
    // office, and bytes that are no dispatch at all.
    let tampered = fixture("tampered-attachment.cvd");
    assert!(sender.send_file(&tampered).await.is_err());
    let foreign = Author::new("H99").write(&out, &["H99.01"], Urgency::Thuong, "Mạo danh");
    assert!(sender.send_file(&foreign.path).await.is_err());
    let garbage = out.join("garbage.cvd");
    std::fs::write(&garbage, b"not a dispatch").unwrap();
    assert!(sender.send_file(&garbage).await.is_err());

    let s = scrape(district_metrics).await;
    expect(
        &s,
        &[
            (ACCEPTED, 3.0),
            (DUPLICATE, 1.0),
            (REJECTED, 3.0),
            (DELIVERED, 0.0),
            (FORWARDED, 3.0),
            (RETRIED, 0.0),
            (EXPIRED, 0.0),
            (RECEIPTS, 3.0),
            (DEPTH, 0.0),
        ],
    );
    assert_eq!(
        check_histogram(&s),
        3.0,
        "one hop latency per dispatch handed on"
    );
    let p = scrape(province_metrics).await;
    expect(
        &p,
        &[
            (ACCEPTED, 3.0),
            (DUPLICATE, 0.0),
            (REJECTED, 0.0),
            (DELIVERED, 3.0),
            // the three custody receipts the district pulled
            (FORWARDED, 3.0),
            (RETRIED, 0.0),
            (EXPIRED, 0.0),
            (DEPTH, 0.0),
        ],
    );
    assert_eq!(
        check_histogram(&p),
        0.0,
        "the province handed on no dispatch"
    );

    // One dispatch for the commune whose relay never answers: queued, retried,
    // then expired with a non-delivery notice.
    let sent_at = Instant::now();
    let doomed = author.write(&out, &["H99.01.01"], Urgency::HoaToc, "Công điện");
    assert_eq!(
        sender.send_file(&doomed.path).await.unwrap().status,
        "accepted"
    );
    let s = scrape(district_metrics).await;
    assert!(sent_at.elapsed() < Duration::from_secs(EXPIRY_SECS));
    expect(&s, &[(ACCEPTED, 4.0), (DEPTH, 1.0), (EXPIRED, 0.0)]);
    eventually(
        "the dispatch to expire",
        Duration::from_secs(EXPIRY_SECS + 10),
        || async { (scrape(district_metrics).await.get(EXPIRED) == 1.0).then_some(()) },
    )
    .await;
    let waited = sent_at.elapsed();
    assert!(waited >= Duration::from_secs(EXPIRY_SECS), "{waited:?}");
    let s = scrape(district_metrics).await;
    expect(
        &s,
        &[
            (ACCEPTED, 4.0),
            (DUPLICATE, 1.0),
            (REJECTED, 3.0),
            (DELIVERED, 0.0),
            (FORWARDED, 3.0),
            (EXPIRED, 1.0),
            (DEPTH, 0.0),
        ],
    );
    assert_eq!(check_histogram(&s), 3.0);
    // Every 50..200 ms for the ~3 s it waited.
    let retried = s.get(RETRIED);
    let most = (waited.as_millis() / 50 + 1) as f64;
    assert!(
        (3.0..=most).contains(&retried),
        "{retried} retries in {waited:?}"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        scrape(district_metrics).await.get(RETRIED),
        retried,
        "still retrying an expired dispatch"
    );
    // The notice is on the sender's timeline at the district.
    let events = client(&district_url, "H99.01")
        .track(&doomed.id)
        .await
        .unwrap();
    assert!(
        events.iter().any(|e| e.kind == "non_delivery"),
        "{events:?}"
    );

    district.stop().await;
    province.stop().await;
    eprintln!("metrics: {:.1} s", started.elapsed().as_secs_f64());
}
