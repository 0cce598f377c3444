//! Acceptance 3: an offline parent. The province relay (a separate process)
//! is stopped; the district keeps accepting; 20 Thường then 5 Hỏa tốc
//! dispatches queue up; when the province comes back the backlog drains
//! with every Hỏa tốc dispatch before any Thường one.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::disallowed_macros)] // test progress output

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::support::process;
use crate::support::relays::*;
use congvan_envelope::metadata::Urgency;
use congvan_relay::config::PeerMode;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backlog_drains_most_urgent_first_when_the_parent_returns() {
    let started = Instant::now();
    let dir = process::tempdir();
    let base = dir.path();

    // District H99.01 in-process; province H99 as a process on a fixed port.
    let province_addr = free_addr();
    let mut district_config = relay_config(base, "H99.01");
    set_parent(
        &mut district_config,
        "H99",
        &url(province_addr),
        PeerMode::Push,
    );
    let district = congvan_relay::start(district_config).await.unwrap();
    let district_url = url(district.addr);

    let mut province_config = relay_config(base, "H99");
    province_config.listen = province_addr;
    add_child(&mut province_config, "H99.01", Some(&district_url));
    let mut province = RelayProcess::new(&base.join("logs"), province_config);
    province.start().await;
    let province_url = province.url();

    // The path works.
    let author = Author::new("H99.01");
    let out = base.join("out");
    let warm_up = author.write(&out, &["H99"], Urgency::Thuong, "Kiểm tra đường truyền");
    let sent = clerk("send", &district_url, "H99.01", &[warm_up.path.as_os_str()]).await;
    sent.assert_ok();
    wait_inbox(&province_url, "H99", &warm_up.id, Duration::from_secs(20)).await;

    // The province goes away (a clean stop).
    province.terminate();
    let retried_before = district.state.metrics.retried.load(Ordering::Relaxed);

    // The district keeps accepting: 20 Thường first, then 5 Hỏa tốc.
    let sender = client(&district_url, "H99.01");
    let mut thuong = HashSet::new();
    let mut hoa_toc = HashSet::new();
    for i in 0..25 {
        let urgency = if i < 20 {
            Urgency::Thuong
        } else {
            Urgency::HoaToc
        };
        let d = author.write(&out, &["H99"], urgency, &format!("Văn bản {i}"));
        let answer = if i == 0 || i == 20 {
            // One of each through the clerk command.
            let run = clerk("send", &district_url, "H99.01", &[d.path.as_os_str()]).await;
            run.assert_ok();
            assert!(run.stdout.starts_with("accepted"), "{run}");
            "accepted".to_string()
        } else {
            sender.send_file(&d.path).await.unwrap().status
        };
        assert_eq!(answer, "accepted");
        if i < 20 {
            thuong.insert(d.id);
        } else {
            hoa_toc.insert(d.id);
        }
    }
    let queued = district
        .state
        .store
        .due(&relay_name("H99"), i64::MAX, 100)
        .unwrap();
    assert_eq!(queued.len(), 25, "the backlog waits at the district");
    assert!(
        queued[..5].iter().all(|e| hoa_toc.contains(&e.reference)),
        "the queue is ordered by urgency: {queued:?}"
    );

    // It keeps trying (with backoff) while the province is down.
    eventually("the district to retry", Duration::from_secs(10), || {
        let n = district.state.metrics.retried.load(Ordering::Relaxed);
        async move { (n >= retried_before + 2).then_some(()) }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    // The province returns; the backlog drains.
    province.start().await;
    let inbox_client = client(&province_url, "H99");
    let items = eventually(
        "the backlog at the province",
        Duration::from_secs(30),
        || {
            let inbox_client = inbox_client.clone();
            let wanted = thuong.len() + hoa_toc.len();
            let (t, h) = (thuong.clone(), hoa_toc.clone());
            async move {
                let items = inbox_client.inbox().await.ok()?;
                let ours: Vec<_> = items
                    .into_iter()
                    .filter(|i| t.contains(&i.id) || h.contains(&i.id))
                    .collect();
                (ours.len() == wanted).then_some(ours)
            }
        },
    )
    .await;
    let last_hoa_toc = items
        .iter()
        .filter(|i| hoa_toc.contains(&i.id))
        .map(|i| i.delivered_at)
        .max()
        .unwrap();
    let first_thuong = items
        .iter()
        .filter(|i| thuong.contains(&i.id))
        .map(|i| i.delivered_at)
        .min()
        .unwrap();
    let mut order: Vec<_> = items
        .iter()
        .map(|i| (i.delivered_at, i.urgency, i.id.clone()))
        .collect();
    order.sort();
    assert!(
        last_hoa_toc <= first_thuong,
        "a Thường dispatch was delivered before a Hỏa tốc one: {order:#?}"
    );
    assert!(items
        .iter()
        .all(|i| (i.urgency == 3) == hoa_toc.contains(&i.id)));
    // (The last hand-over is recorded at the district just after the
    // province answered.)
    eventually(
        "the district's queue to empty",
        Duration::from_secs(10),
        || {
            let depth = district.state.store.queue_depth().unwrap();
            async move { (depth == 0).then_some(()) }
        },
    )
    .await;
    district.stop().await;
    eprintln!("offline parent: {:.1} s", started.elapsed().as_secs_f64());
}
