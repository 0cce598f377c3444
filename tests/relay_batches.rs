//! Small dispatches travel between relays in batches, and a batch answers
//! item by item: a backlog for a peer that was away drains in few requests,
//! one dispatch the peer refuses ends in its own non-delivery notice and
//! holds up none of the others, and a malformed batch is refused whole
//! while the relay goes on serving.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::disallowed_macros)] // test progress output

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::support::process;
use crate::support::relays::*;
use bytes::Bytes;
use congvan_envelope::metadata::Urgency;
use congvan_relay::config::PeerMode;

/// Twenty small dispatches from H99 to H99.01, and one of about 60 KB,
/// larger than the district will take, sent to the province at
/// `province_url`.
async fn queue_backlog(out: &Path, province_url: &str) -> (Vec<Dispatch>, Dispatch) {
    let author = Author::new("H99");
    let mut small = Vec::new();
    for n in 0..20 {
        let d = author.write(
            out,
            &["H99.01"],
            Urgency::Thuong,
            &format!("Công văn số {n}"),
        );
        send(province_url, "H99", &d).await;
        small.push(d);
    }
    let noise: Vec<u8> = (0..60_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let large = author.write_with(
        out,
        &["H99.01"],
        Urgency::Thuong,
        "Hồ sơ kèm bản đồ",
        Some(("ban-do.bin", &noise)),
    );
    send(province_url, "H99", &large).await;
    (small, large)
}

/// Checks that `large` was refused for good by `district` for its size,
/// that its sender at `province_url` got the non-delivery notice, and that
/// the district kept nothing of it.
async fn refused_for_its_size(
    province_url: &str,
    district: &congvan_relay::RunningRelay,
    large: &Dispatch,
) {
    let notice = non_delivery_notice(province_url, "H99", &large.id, Duration::from_secs(20)).await;
    assert!(
        notice
            .description
            .contains("larger than this relay accepts"),
        "{notice:?}"
    );
    assert!(district.state.store.dispatch(&large.id).unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_drains_in_batches_and_a_refused_item_holds_up_no_other() {
    let dir = process::tempdir();
    let out = dir.path().join("out");
    // The province pushes to its district, which is down for now.
    let district_addr = free_addr();
    let mut province_config = relay_config(dir.path(), "H99");
    add_child(&mut province_config, "H99.01", Some(&url(district_addr)));
    let province = congvan_relay::start(province_config).await.unwrap();
    let province_url = url(province.addr);

    // Meanwhile the province takes twenty small dispatches for it, and one
    // larger than the district accepts.
    let (small, large) = queue_backlog(&out, &province_url).await;

    // The district comes up, taking dispatches of at most 40 KB.
    let mut district_config = relay_below(dir.path(), "H99.01", &province, PeerMode::Push);
    district_config.listen = district_addr;
    district_config.limits.max_dispatch_bytes = 40_000;
    let district = congvan_relay::start(district_config).await.unwrap();
    let district_url = url(district.addr);
    for d in &small {
        wait_inbox(&district_url, "H99.01", &d.id, Duration::from_secs(20)).await;
    }

    // Fewer requests than dispatches: the backlog went in batches.
    let batches = province.state.metrics.batches_sent.load(Ordering::Relaxed);
    eprintln!("21 queued dispatches went in {batches} batch(es)");
    assert!(batches >= 1, "the backlog went one by one");

    // The large one alone was refused, for good, with the district's
    // reason, and its sender is told.
    refused_for_its_size(&province_url, &district, &large).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_answers_item_by_item_and_a_malformed_one_is_refused_whole() {
    let dir = process::tempdir();
    let out = dir.path().join("out");
    let mut config = relay_config(dir.path(), "H99");
    add_child(&mut config, "H99.01", None);
    let province = congvan_relay::start(config).await.unwrap();
    let province_url = url(province.addr);
    let author = Author::new("H99");
    let held = author.write(&out, &["H99.01"], Urgency::Thuong, "Đã gửi trước");
    send(&province_url, "H99", &held).await;
    let first = author.write(&out, &["H99.01"], Urgency::Thuong, "Thứ nhất");
    let second = author.write(&out, &["H99.01"], Urgency::Khan, "Thứ hai");
    let mut tampered = first.bytes();
    let at = tampered.len() / 3;
    tampered[at] ^= 0x20;

    // Four items: new, tampered, new, held already. Each gets its own
    // answer, in order, as if it had been sent alone.
    let items = [
        Bytes::from(first.bytes()),
        Bytes::from(tampered),
        Bytes::from(second.bytes()),
        Bytes::from(held.bytes()),
    ];
    let outcomes = client(&province_url, "H99")
        .send_batch(&items)
        .await
        .unwrap();
    let statuses: Vec<&str> = outcomes.iter().map(|o| o.status.as_str()).collect();
    assert_eq!(
        statuses,
        ["accepted", "refused", "accepted", "duplicate"],
        "{outcomes:?}"
    );
    assert_eq!(outcomes[0].id.as_deref(), Some(first.id.as_str()));
    assert_eq!(outcomes[1].code, Some(422), "{outcomes:?}");
    assert!(
        outcomes[1].reason.as_deref().unwrap_or("").len() > 10,
        "{outcomes:?}"
    );
    assert_eq!(outcomes[3].id.as_deref(), Some(held.id.as_str()));
    for d in [&first, &second] {
        assert!(
            province.state.store.dispatch(&d.id).unwrap().is_some(),
            "{}",
            d.id
        );
    }

    // A body cut off inside an item, and one that declares an item larger
    // than a batch carries: refused whole, with what is wrong, nothing kept.
    let tls = tls_config_with(&credential(&office_dir("H99")));
    let mut cut = Vec::new();
    congvan_relay::batch::push_frame(&mut cut, &first.bytes());
    cut.truncate(cut.len() - 100);
    let mut huge = Vec::new();
    huge.extend_from_slice(&u32::MAX.to_be_bytes());
    huge.extend_from_slice(&[0; 64]);
    for (what, body, expect) in [
        ("cut short", cut, "cut short"),
        ("an oversized item", huge, "send a larger one on its own"),
    ] {
        let answer = raw_request(
            province.addr,
            tls.clone(),
            "POST",
            "/v1/dispatches/batch",
            congvan_relay::batch::BATCH_MEDIA_TYPE,
            &body,
        )
        .await;
        assert_eq!(answer.status, Some(422), "{what}: {}", answer.text);
        assert!(answer.text.contains(expect), "{what}: {}", answer.text);
    }

    // And the relay goes on serving.
    let after = author.write(&out, &["H99.01"], Urgency::Thuong, "Sau lô hỏng");
    assert_eq!(send(&province_url, "H99", &after).await.status, "accepted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pulling_child_takes_its_backlog_in_batches_and_reports_item_by_item() {
    let dir = process::tempdir();
    let out = dir.path().join("out");
    // The district pulls from the province (it cannot be reached), and is
    // away while twenty small dispatches and one it will not take queue up.
    let mut province_config = relay_config(dir.path(), "H99");
    add_child(&mut province_config, "H99.01", None);
    let province = congvan_relay::start(province_config).await.unwrap();
    let province_url = url(province.addr);
    let (small, large) = queue_backlog(&out, &province_url).await;

    // The district comes back, taking dispatches of at most 40 KB.
    let mut district_config = relay_below(dir.path(), "H99.01", &province, PeerMode::Pull);
    district_config.limits.max_dispatch_bytes = 40_000;
    let district = congvan_relay::start(district_config).await.unwrap();
    let district_url = url(district.addr);
    for d in &small {
        wait_inbox(&district_url, "H99.01", &d.id, Duration::from_secs(20)).await;
    }

    // Fewer polls than dispatches: the backlog came down in batches.
    let batches = district
        .state
        .metrics
        .batches_pulled
        .load(Ordering::Relaxed);
    eprintln!("21 queued dispatches came down in {batches} batch(es)");
    assert!(batches >= 1, "the backlog came one by one");

    // The large one alone was refused, for good, with the district's
    // reason; its sender is told, and nothing stays leased in the queue.
    refused_for_its_size(&province_url, &district, &large).await;
    let queue = relay_name("H99.01");
    eventually(
        "an empty queue for the district",
        Duration::from_secs(20),
        || async {
            let left = province.state.store.due(&queue, i64::MAX, 100).unwrap();
            left.iter().all(|e| e.kind != "dispatch").then_some(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_cannot_settle_what_is_queued_for_another() {
    let dir = process::tempdir();
    let out = dir.path().join("out");
    let mut config = relay_config(dir.path(), "H99");
    add_child(&mut config, "H99.01", None);
    add_child(&mut config, "H99.02", None);
    let province = congvan_relay::start(config).await.unwrap();
    let d = Author::new("H99").write(&out, &["H99.02"], Urgency::Thuong, "Gửi huyện khác");
    send(&url(province.addr), "H99", &d).await;
    let theirs = relay_name("H99.02");
    let queued = province.state.store.due(&theirs, i64::MAX, 10).unwrap();
    let seq = queued
        .iter()
        .find(|e| e.reference == d.id)
        .expect("queued for H99.02")
        .seq;

    // H99.01's relay claims, in one report, that it refused that item and
    // took a second it was never given.
    let tls = tls_config_with(&credential(&relay_dir("H99.01")));
    let report = format!(
        r#"{{"items":[{{"seq":{seq},"refused":"không nhận"}},{{"seq":{seq},"refused":null}}]}}"#
    );
    let answer = raw_request(
        province.addr,
        tls.clone(),
        "POST",
        "/v1/pull/outcomes",
        "application/json",
        report.as_bytes(),
    )
    .await;
    assert_eq!(answer.status, Some(403), "{}", answer.text);
    assert!(answer.text.contains("another relay"), "{}", answer.text);
    // The item is still queued for H99.02, and its sender heard nothing.
    let still = province.state.store.due(&theirs, i64::MAX, 10).unwrap();
    assert!(still.iter().any(|e| e.seq == seq), "{still:?}");
    let events = track_json(&url(province.addr), "H99", &d.id).await;
    assert!(
        events.iter().all(|e| e.kind != "non_delivery"),
        "{events:?}"
    );

    // A report too long or not a report at all is refused whole, saying so.
    let many = (0..65)
        .map(|n| format!(r#"{{"seq":{n},"refused":null}}"#))
        .collect::<Vec<_>>()
        .join(",");
    for (what, body, status, expect) in [
        (
            "too many items",
            format!(r#"{{"items":[{many}]}}"#),
            413,
            "at most 64",
        ),
        ("not JSON", "items: all".to_string(), 400, "bad report"),
    ] {
        let answer = raw_request(
            province.addr,
            tls.clone(),
            "POST",
            "/v1/pull/outcomes",
            "application/json",
            body.as_bytes(),
        )
        .await;
        assert_eq!(answer.status, Some(status), "{what}: {}", answer.text);
        assert!(answer.text.contains(expect), "{what}: {}", answer.text);
    }
}
