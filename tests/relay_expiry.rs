//! Acceptance 4: expiry. Commune H99.02.01's relay is configured as a push
//! child of district H99.02 but never started. A dispatch from the province
//! to that commune waits at the district until its expiry (shortened to
//! 2 s, retries every ~100 ms), then a signed non-delivery notice goes back
//! up the tree to the sender, whose `congvan track` shows it.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::disallowed_macros)] // test progress output

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::support::process;
use crate::support::relays::*;
use congvan_envelope::metadata::Urgency;
use congvan_envelope::Statement;
use congvan_relay::config::PeerMode;

const EXPIRY_SECS: u64 = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unreachable_office_yields_a_signed_non_delivery_notice() {
    let started = Instant::now();
    let dir = process::tempdir();
    let base = dir.path();

    // Province (district H99.02 pulls from it) and district H99.02 with a
    // push child whose relay never runs.
    let mut province_config = relay_config(base, "H99");
    add_child(&mut province_config, "H99.02", None);
    let province = congvan_relay::start(province_config).await.unwrap();
    let province_url = url(province.addr);

    let dead_commune = free_addr();
    let mut district_config = relay_config(base, "H99.02");
    set_parent(&mut district_config, "H99", &province_url, PeerMode::Pull);
    add_child(&mut district_config, "H99.02.01", Some(&url(dead_commune)));
    district_config.delivery.expiry_secs = [EXPIRY_SECS; 5];
    district_config.delivery.retry_initial_ms = 100;
    district_config.delivery.retry_max_ms = 200;
    district_config.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    let district = congvan_relay::start(district_config).await.unwrap();

    let dispatch = Author::new("H99").write(
        &base.join("out"),
        &["H99.02.01"],
        Urgency::Khan,
        "Về việc kiểm tra đê điều",
    );
    let sent_at = Instant::now();
    let sent = clerk("send", &province_url, "H99", &[dispatch.path.as_os_str()]).await;
    sent.assert_ok();

    // The sender's timeline gets the notice.
    let events = eventually(
        "a non-delivery notice on the sender's timeline",
        Duration::from_secs(30),
        || {
            let province_url = province_url.clone();
            let id = dispatch.id.clone();
            async move {
                let events = track_json(&province_url, "H99", &id).await;
                events
                    .iter()
                    .any(|e| e.kind == "non_delivery")
                    .then_some(events)
            }
        },
    )
    .await;
    let waited = sent_at.elapsed();
    assert!(
        waited >= Duration::from_secs(EXPIRY_SECS),
        "the notice came after {waited:?}, before the {EXPIRY_SECS} s expiry"
    );

    let notice = events.iter().find(|e| e.kind == "non_delivery").unwrap();
    let verified = verify_event(notice);
    match &verified.statement {
        Statement::NonDelivery {
            dispatch_id,
            relay,
            undelivered,
            reason,
            ..
        } => {
            assert_eq!(dispatch_id, &dispatch.id);
            assert_eq!(relay, &org("H99.02"), "the district gave up");
            assert_eq!(undelivered, &vec![org("H99.02.01")]);
            assert!(reason.contains(&relay_name("H99.02.01")), "{reason}");
        }
        other => panic!("not a non-delivery notice: {other:?}"),
    }
    assert_eq!(verified.signer.org(), Some(&org("H99.02")));
    assert!(
        notice.description.contains("H99.02.01"),
        "{}",
        notice.description
    );
    // Custody by both relays that held it came first.
    assert_eq!(
        custody_relays(&events),
        [relay_name("H99"), relay_name("H99.02")]
            .into_iter()
            .collect()
    );

    // The human timeline says it too.
    let human = clerk("track", &province_url, "H99", &[&dispatch.id]).await;
    human.assert_ok();
    assert!(human.stdout.contains("non_delivery"), "{human}");

    // The district retried, then expired it, and holds nothing more.
    let metrics = eventually("the expiry counted", Duration::from_secs(5), || async {
        let m = scrape(district.metrics_addr.unwrap()).await;
        (m.get("congvan_dispatches_expired_total") == 1.0).then_some(m)
    })
    .await;
    assert!(
        metrics.get("congvan_transfers_retried_total") >= 2.0,
        "{}",
        metrics.text
    );
    assert_eq!(metrics.get("congvan_dispatches_expired_total"), 1.0);
    eventually(
        "the district's queue to empty",
        Duration::from_secs(10),
        || {
            let depth = district.state.store.queue_depth().unwrap();
            async move { (depth == 0).then_some(()) }
        },
    )
    .await;
    assert_eq!(
        district.state.metrics.expired.load(Ordering::Relaxed),
        1,
        "expired once"
    );

    district.stop().await;
    province.stop().await;
    eprintln!("expiry: {:.1} s", started.elapsed().as_secs_f64());
}
