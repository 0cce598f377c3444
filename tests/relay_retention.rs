//! Retention: delivered dispatches' files are removed after the configured
//! time; queued ones are kept; records stay for `track`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use crate::support::relays::*;
use congvan_envelope::metadata::Urgency;
use congvan_relay::Error;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivered_files_are_cleaned_up_and_queued_ones_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = relay_config(tmp.path(), "H99");
    // A child that never answers keeps one dispatch queued.
    add_child(&mut config, "H99.01", Some("https://127.0.0.1:1"));
    config.retention.delivered_days = 0;
    config.retention.sweep_secs = 1;
    let relay = congvan_relay::start(config).await.unwrap();
    let relay_url = url(relay.addr);
    let author = Author::new("H99").without_seal();
    let dir = tmp.path().join("out");
    let delivered = author.write(&dir, &["H99.10"], Urgency::Thuong, "Về việc lưu trữ");
    let queued = author.write(&dir, &["H99.01"], Urgency::Thuong, "Về việc còn chờ chuyển");
    for d in [&delivered, &queued] {
        client(&relay_url, "H99").send_file(&d.path).await.unwrap();
    }
    wait_inbox(&relay_url, "H99.10", &delivered.id, Duration::from_secs(10)).await;
    let recipient = client(&relay_url, "H99.10");
    let out = tmp.path().join("fetched.cvd");
    recipient.fetch(&delivered.id, &out).await.unwrap();

    let gone = eventually(
        "the delivered file to be cleaned up",
        Duration::from_secs(15),
        || {
            let recipient = recipient.clone();
            let out = tmp.path().join("again.cvd");
            let id = delivered.id.clone();
            async move {
                match recipient.fetch(&id, &out).await {
                    Err(Error::Refused {
                        status: 410,
                        reason,
                        ..
                    }) => Some(reason),
                    _ => None,
                }
            }
        },
    )
    .await;
    assert!(gone.contains("no longer kept"), "{gone}");
    // Still listed, still tracked.
    assert!(recipient
        .inbox()
        .await
        .unwrap()
        .iter()
        .any(|i| i.id == delivered.id));
    assert!(!client(&relay_url, "H99")
        .track(&delivered.id)
        .await
        .unwrap()
        .is_empty());
    // The queued dispatch's file is kept: its sender can still fetch it.
    client(&relay_url, "H99")
        .fetch(&queued.id, &tmp.path().join("queued.cvd"))
        .await
        .unwrap();
    relay.stop().await;
}
