//! A relay keeps serving, and loses nothing, whatever one party does: a
//! dispatch the next hop cannot take, a pulled dispatch the child refuses, a
//! child killed in the middle of a pull, uploads racing each other, sockets
//! that connect and say nothing, another version of a dispatch it holds.
//! Real relays on loopback (in-process, or `congvan relay run` processes).
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::disallowed_macros)] // test progress output

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::process;
use crate::support::relays::*;
use congvan_envelope::metadata::{Secrecy, Urgency};
use congvan_envelope::{append_receipt, make_receipt, receipt_time, Envelope, Statement};
use congvan_relay::config::PeerMode;
use congvan_relay::{RelayConfig, RunningRelay};
use time::OffsetDateTime;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};

/// One row count from a relay's store.
fn count(relay: &RunningRelay, sql: &str, id: &str) -> i64 {
    let db = rusqlite::Connection::open(relay.state.store.path()).unwrap();
    db.query_row(sql, [id], |r| r.get(0)).unwrap()
}

/// A genuine dispatch from `office`, carrying one custody receipt of
/// `relay_code` renamed to number 9998: valid, but with room for one more
/// receipt only, as a hostile relay could forward it.
fn almost_full(dir: &Path, office: &str, relay_code: &str, to: &[&str]) -> Dispatch {
    let d = Author::new(office).write(dir, to, Urgency::HoaToc, "Văn bản gần hết chỗ biên nhận");
    let mut envelope = Envelope::open(&d.path).unwrap();
    let statement = Statement::Custody {
        dispatch_id: d.id.clone(),
        manifest_sha256: d.manifest_sha256(),
        signatures: Vec::new(),
        relay: org(relay_code),
        relay_name: relay_name(relay_code),
        time: receipt_time(OffsetDateTime::now_utc()),
    };
    let receipt = make_receipt(&statement, &credential(&relay_dir(relay_code))).unwrap();
    append_receipt(&mut envelope, &receipt).unwrap();
    drop(envelope);
    let mut bytes = d.bytes();
    let from = b"META-INF/receipts/0001.json";
    let to = b"META-INF/receipts/9998.json";
    let mut renamed = 0;
    for i in 0..bytes.len() - from.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            renamed += 1;
        }
    }
    assert_eq!(renamed, 2, "local header and directory record");
    std::fs::write(&d.path, bytes).unwrap();
    assert_eq!(Envelope::open(&d.path).unwrap().receipt_room(), 1);
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatch_the_next_hop_cannot_take_does_not_hold_up_the_others() {
    let dir = process::tempdir();
    let mut province_config = relay_config(dir.path(), "H99");
    add_child(&mut province_config, "H99.01", None);
    let province = congvan_relay::start(province_config).await.unwrap();
    let mut district_config = relay_below(dir.path(), "H99.01", &province, PeerMode::Push);
    add_child(&mut district_config, "H99.01.01", None);
    let district = congvan_relay::start(district_config).await.unwrap();
    let district_url = url(district.addr);

    // An office hands its relay a dispatch with no room for the route: it is
    // refused at once, with the reason.
    let out = dir.path().join("out");
    let full = almost_full(&out, "H99.01", "H99.01", &["H99"]);
    match client(&district_url, "H99.01").send_file(&full.path).await {
        Err(congvan_relay::Error::Refused {
            status: 422,
            reason,
            ..
        }) => {
            assert!(reason.contains("room for 1 more receipt"), "{reason}")
        }
        other => panic!("an office's dispatch without room was {other:?}"),
    }

    // A commune relay (a configured child) pushes one up with room for just
    // its district's receipt. The district takes it; the province cannot.
    let poisoned = almost_full(&out, "H99.01.01", "H99.01.01", &["H99"]);
    let answer = client_expecting(
        &district_url,
        &credential(&relay_dir("H99.01.01")),
        congvan_relay::ExpectedRelay::Org(org("H99.01")),
    )
    .send_file(&poisoned.path)
    .await
    .unwrap();
    assert_eq!(answer.status, "accepted");
    // Right behind it, more urgent first, a normal dispatch to the same hop.
    let normal = Author::new("H99.01").write(&out, &["H99"], Urgency::Thuong, "Báo cáo tháng");
    let sent = Instant::now();
    send(&district_url, "H99.01", &normal).await;
    wait_inbox(
        &url(province.addr),
        "H99",
        &normal.id,
        Duration::from_secs(5),
    )
    .await;
    let took = sent.elapsed();
    let retry = Duration::from_millis(district.state.config.delivery.retry_initial_ms);
    eprintln!("the normal dispatch arrived in {took:?} (one retry interval: {retry:?})");
    assert!(took < Duration::from_secs(2), "held up for {took:?}");

    // The poisoned one was given up with a signed non-delivery notice, on
    // its way back to the commune's relay.
    eventually(
        "the non-delivery notice",
        Duration::from_secs(5),
        || async {
            let expired = count(
                &district,
                "SELECT COUNT(*) FROM recipients WHERE dispatch_id = ?1 AND state = 'expired'",
                &poisoned.id,
            );
            let db = rusqlite::Connection::open(district.state.store.path()).unwrap();
            let mut stmt = db
                .prepare(
                    "SELECT m.jws FROM messages m JOIN outbox o ON o.ref = m.digest
                 WHERE m.dispatch_id = ?1 AND o.hop = 'relay-h99-01-01'",
                )
                .unwrap();
            let queued: Vec<String> = stmt
                .query_map([&poisoned.id], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            let notice = queued.iter().any(|jws| {
                let jws = serde_json::from_str(jws).unwrap();
                matches!(
                    congvan_envelope::verify_receipt(&jws, "queued", &trust()).unwrap().statement,
                    Statement::NonDelivery { ref reason, .. } if reason.contains("room")
                )
            });
            (expired == 1 && notice).then_some(())
        },
    )
    .await;
    assert!(province
        .state
        .store
        .dispatch(&poisoned.id)
        .unwrap()
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pulled_dispatch_the_child_refuses_ends_in_a_non_delivery_notice() {
    let dir = process::tempdir();
    let mut province_config = relay_config(dir.path(), "H99");
    add_child(&mut province_config, "H99.01", None);
    let province = congvan_relay::start(province_config).await.unwrap();
    // The district's registry lags behind: it does not know commune H99.01.02.
    let registry = std::fs::read_to_string(registry_path()).unwrap();
    let start = registry.find("code = \"H99.01.02\"").unwrap();
    let block_start = registry[..start].rfind("[[office]]").unwrap();
    let block_end = registry[start..]
        .find("[[office]]")
        .map_or(registry.len(), |e| start + e);
    let lagging = dir.path().join("lagging-registry.toml");
    std::fs::write(
        &lagging,
        format!("{}{}", &registry[..block_start], &registry[block_end..]),
    )
    .unwrap();
    let mut district_config = relay_config(dir.path(), "H99.01");
    district_config.registry = lagging;
    set_parent(
        &mut district_config,
        "H99",
        &url(province.addr),
        PeerMode::Pull,
    );
    let district = congvan_relay::start(district_config).await.unwrap();

    let d = Author::new("H99").write(
        &dir.path().join("out"),
        &["H99.01.02"],
        Urgency::Khan,
        "Gửi xã chưa có trong danh mục của huyện",
    );
    send(&url(province.addr), "H99", &d).await;
    let notice =
        non_delivery_notice(&url(province.addr), "H99", &d.id, Duration::from_secs(10)).await;
    assert!(notice.description.contains("refused it"), "{notice:?}");
    assert!(
        notice.description.contains("unknown to the registry"),
        "{notice:?}"
    );
    match verify_event(&notice).statement {
        Statement::NonDelivery { undelivered, .. } => assert_eq!(undelivered, [org("H99.01.02")]),
        other => panic!("{other:?}"),
    }
    assert!(district.state.store.dispatch(&d.id).unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_killed_during_a_pull_gets_the_dispatch_soon_after_its_restart() {
    let dir = process::tempdir();
    let mut province_config = relay_config(dir.path(), "H99");
    add_child(&mut province_config, "H99.01", None);
    let province = congvan_relay::start(province_config).await.unwrap();
    let mut district_config = relay_config(dir.path(), "H99.01");
    district_config.listen = free_addr();
    set_parent(
        &mut district_config,
        "H99",
        &url(province.addr),
        PeerMode::Pull,
    );
    let mut district = RelayProcess::new(dir.path(), district_config);

    // Large enough that the download takes a while: the child is killed
    // with the item leased to it and not yet confirmed.
    let big: Vec<u8> = (0..60 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let d = Author::new("H99").write_with(
        &dir.path().join("out"),
        &["H99.01"],
        Urgency::HoaToc,
        "Hồ sơ lớn",
        Some(("ho-so.bin", &big)),
    );
    send(&url(province.addr), "H99", &d).await;
    district.start().await;
    eventually(
        "the child's lease on the item",
        Duration::from_secs(20),
        || async {
            (count(
                &province,
                "SELECT COUNT(*) FROM outbox WHERE ref = ?1 AND next_attempt_at > 0",
                &d.id,
            ) == 1)
                .then_some(())
        },
    )
    .await;
    district.kill();
    assert_eq!(
        count(
            &province,
            "SELECT COUNT(*) FROM outbox WHERE ref = ?1",
            &d.id
        ),
        1,
        "the pull finished before the kill: use a larger dispatch"
    );
    let restarted = Instant::now();
    district.start().await;
    wait_inbox(&district.url(), "H99.01", &d.id, Duration::from_secs(5)).await;
    eprintln!("delivered {:?} after the restart", restarted.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_uploads_and_a_crash_before_the_commit_leave_no_orphan_file() {
    let dir = process::tempdir();
    let config = relay_config(dir.path(), "H99");
    let data = config.data.clone();
    let relay = congvan_relay::start(config.clone()).await.unwrap();
    let big = vec![7u8; 2 * 1024 * 1024];
    let d = Author::new("H99.10").write_with(
        &dir.path().join("out"),
        &["H99"],
        Urgency::Thuong,
        "Tám lần gửi cùng lúc",
        Some(("du-lieu.bin", &big)),
    );
    let mut uploads = Vec::new();
    for _ in 0..8 {
        let client = client(&url(relay.addr), "H99.10");
        let path = d.path.clone();
        uploads.push(tokio::spawn(async move { client.send_file(&path).await }));
    }
    let mut accepted = 0;
    for upload in uploads {
        if upload.await.unwrap().unwrap().status == "accepted" {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 1);
    let files = relay.state.store.blobs().files().unwrap();
    let record = relay.state.store.dispatch(&d.id).unwrap().unwrap();
    assert_eq!(
        files,
        std::slice::from_ref(&record.blob),
        "one file, the recorded one"
    );
    relay.stop().await;

    // What a kill between adopting an upload and its commit leaves: a blob
    // file no record refers to. The next start removes it.
    let orphan = "ab".repeat(32);
    let shard = data.join("blobs").join("ab");
    std::fs::create_dir_all(&shard).unwrap();
    std::fs::write(shard.join(&orphan), b"an upload never recorded").unwrap();
    let relay = congvan_relay::start(config).await.unwrap();
    assert_eq!(relay.state.store.blobs().files().unwrap(), [record.blob]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_version_of_a_held_dispatch_is_a_conflict() {
    let dir = process::tempdir();
    let relay = congvan_relay::start(relay_config(dir.path(), "H99"))
        .await
        .unwrap();
    let out = dir.path().join("out");
    let first = Author::new("H99.10").write(&out, &["H99"], Urgency::Thuong, "Bản thứ nhất");
    let id = first.id.clone();
    let second = Author::new("H99.10").write_custom(
        &out,
        &["H99"],
        Urgency::Thuong,
        "Bản thứ hai",
        |m| {
            m.id = id.clone();
        },
    );
    send(&url(relay.addr), "H99.10", &first).await;
    // The same version again: a duplicate, answered as such (exit 0).
    let again = clerk(
        "send",
        &url(relay.addr),
        "H99.10",
        &[first.path.to_str().unwrap()],
    )
    .await;
    again.assert_ok();
    assert!(again.stdout.starts_with("duplicate"), "{again}");
    // Another version under the same id: 409, exit 1, in words.
    let run = clerk(
        "send",
        &url(relay.addr),
        "H99.10",
        &[second.path.to_str().unwrap()],
    )
    .await;
    run.assert_code(1);
    assert!(run.stderr.contains("409"), "{run}");
    assert!(
        run.stderr
            .contains("another version of this dispatch is already held")
            || run.stderr.contains("another version of dispatch"),
        "{run}"
    );
    let held = relay.state.store.dispatch(&id).unwrap().unwrap();
    assert_eq!(held.subject, "Bản thứ nhất");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_dispatch_shows_no_subject_in_any_listing() {
    let dir = process::tempdir();
    let relay = congvan_relay::start(relay_config(dir.path(), "H99"))
        .await
        .unwrap();
    let d = Author::new("H99.10").write_custom(
        &dir.path().join("out"),
        &["H99"],
        Urgency::Thuong,
        "Phương án bảo vệ mục tiêu trọng yếu",
        |m| m.secrecy = Some(Secrecy::Mat),
    );
    let d = seal(&d, "H99.10", &["H99"]);
    send(&url(relay.addr), "H99.10", &d).await;
    let items = client(&url(relay.addr), "H99").inbox().await.unwrap();
    let item = items.iter().find(|i| i.id == d.id).unwrap();
    assert!(item.secret);
    assert_eq!(item.subject, None);
    for args in [vec!["--json"], vec![]] {
        let run = clerk("inbox", &url(relay.addr), "H99", &args).await;
        run.assert_ok();
        assert!(run.stdout.contains(&d.id), "{run}");
        assert!(!run.stdout.contains("Phương án"), "{run}");
    }
}

/// A socket from `source` (any 127.0.0.0/8 address) to `addr`.
async fn connect_from(source: Ipv4Addr, addr: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    socket.connect(addr).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_sockets_and_silent_bodies_do_not_stop_others() {
    let dir = process::tempdir();
    let mut config = relay_config(dir.path(), "H99");
    config.limits.max_connections = 24;
    config.limits.max_handshakes = 12;
    config.limits.max_connections_per_address = 8;
    config.limits.max_connections_per_certificate = 8;
    config.limits.header_timeout_secs = 2;
    let relay = congvan_relay::start(config).await.unwrap();

    // From one address: sockets that connect and never start TLS.
    let mut silent = Vec::new();
    for _ in 0..40 {
        if let Ok(s) = connect_from(Ipv4Addr::new(127, 0, 0, 2), relay.addr).await {
            silent.push(s);
        }
    }
    // From another, authenticated: uploads of receipts that announce a body
    // and never send it.
    let office = credential(&office_dir("H99.10"));
    let mut bodies = Vec::new();
    for _ in 0..40 {
        let Ok(tcp) = connect_from(Ipv4Addr::new(127, 0, 0, 3), relay.addr).await else {
            continue;
        };
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
        let tls = tokio_rustls::TlsConnector::from(tls_config_with(&office));
        let Ok(Ok(mut stream)) =
            tokio::time::timeout(Duration::from_secs(2), tls.connect(name, tcp)).await
        else {
            continue;
        };
        let head = "POST /v1/receipts HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{";
        if stream.write_all(head.as_bytes()).await.is_ok() && stream.flush().await.is_ok() {
            bodies.push(stream);
        }
    }
    eprintln!(
        "holding {} silent sockets and {} silent bodies",
        silent.len(),
        bodies.len()
    );
    // An office elsewhere still gets its inbox, at once.
    let started = Instant::now();
    for _ in 0..5 {
        client(&url(relay.addr), "H99").inbox().await.unwrap();
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    drop((silent, bodies));
}

#[test]
fn out_of_range_settings_are_refused_when_the_configuration_is_loaded() {
    let dir = process::tempdir();
    let mut config = relay_config(dir.path(), "H99");
    config.delivery.expiry_secs[3] = u64::MAX / 2;
    let path = dir.path().join("relay.toml");
    config.save(&path).unwrap();
    let run = process::congvan(["relay", "run", "--config", path.to_str().unwrap()]);
    run.assert_code(2);
    assert!(run.stderr.contains("delivery.expiry_secs[3]"), "{run}");
    let mut config = relay_config(dir.path(), "H99");
    config.retention.delivered_days = 10_000_000;
    config.save(&path).unwrap();
    let run = process::congvan(["relay", "run", "--config", path.to_str().unwrap()]);
    run.assert_code(2);
    assert!(run.stderr.contains("retention.delivered_days"), "{run}");
}

/// A relay whose CRL is past its nextUpdate warns, shows it in
/// `congvan_stale_crls`, and answers 503 (try later) to what the stale list
/// would decide, so senders retry instead of losing the dispatch; with
/// `crl_stale = "accept"` it uses the old list. A refusal of a forged
/// dispatch is logged as a refusal, not as a relay failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_crl_is_reported_and_answered_try_later() {
    let dir = process::tempdir();
    let ca_dir = copy_ca(dir.path());
    let ca = credential(&ca_dir);
    let mut record = congvan_sign::RevocationRecord::load(&ca_dir).unwrap();
    let crl = record
        .issue_crl(&ca, OffsetDateTime::now_utc() - time::Duration::days(10), 2)
        .unwrap();
    let crl_path = dir.path().join("stale.crl.pem");
    std::fs::write(&crl_path, crl).unwrap();

    let mut config = relay_config(dir.path(), "H99");
    config.crl = vec![crl_path.clone()];
    config.listen = free_addr();
    config.metrics_listen = Some(free_addr());
    let metrics = config.metrics_listen.unwrap();
    let mut relay = RelayProcess::new(&dir.path().join("strict"), config.clone());
    relay.start().await;
    assert_eq!(scrape(metrics).await.get("congvan_stale_crls"), 1.0);
    let out = dir.path().join("out");
    let d = Author::new("H99.10").write(&out, &["H99"], Urgency::Khan, "Khi danh sách thu hồi cũ");
    match client(&relay.url(), "H99.10").send_file(&d.path).await {
        Err(congvan_relay::Error::Refused {
            status: 503,
            reason,
            ..
        }) => {
            assert!(reason.contains("cannot decide revocation now"), "{reason}")
        }
        other => panic!("a dispatch under a stale CRL: {other:?}"),
    }
    // A forged dispatch: refused, and logged as such.
    let forged = out.join("forged.cvd");
    rewrite_cvd(&d.path, &forged, |name, bytes| {
        Some(if name == "metadata.json" {
            String::from_utf8(bytes)
                .unwrap()
                .replace("Khi danh", "Khi dành")
                .into_bytes()
        } else {
            bytes
        })
    });
    let refused = client(&relay.url(), "H99.10").send_file(&forged).await;
    assert!(
        matches!(
            refused,
            Err(congvan_relay::Error::Refused { status: 422, .. })
        ),
        "{refused:?}"
    );
    relay.terminate();
    let log = relay.log();
    assert!(log.contains("a CRL is out of date"), "{log}");
    assert!(
        !log.contains("ERROR"),
        "a refusal was logged as a failure:\n{log}"
    );

    config.crl_stale = congvan_relay::config::CrlStale::Accept;
    let accepting = congvan_relay::start(RelayConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        metrics_listen: None,
        data: dir.path().join("accepting"),
        ..config.clone()
    })
    .await
    .unwrap();
    let answer = send(&url(accepting.addr), "H99.10", &d).await;
    assert_eq!(answer.status, "accepted");
    accepting.stop().await;

    // Back under the default policy, the recipient's acknowledgement of the
    // dispatch it holds is answered 503 too, not 422: a sender (an office,
    // or a relay passing receipts on) keeps a receipt it may try again.
    let strict = congvan_relay::start(RelayConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        metrics_listen: None,
        data: dir.path().join("accepting"),
        crl_stale: congvan_relay::config::CrlStale::TryLater,
        ..config
    })
    .await
    .unwrap();
    let receipt = make_receipt(
        &Statement::Status {
            dispatch_id: d.id.clone(),
            manifest_sha256: d.manifest_sha256(),
            code: congvan_envelope::StatusCode::Accepted,
            by: org("H99"),
            time: receipt_time(OffsetDateTime::now_utc()),
            note: None,
        },
        &credential(&office_dir("H99")),
    )
    .unwrap();
    let acked = client(&url(strict.addr), "H99")
        .ack(&d.id, &congvan_relay::api::Ack { receipt })
        .await;
    match acked {
        Err(congvan_relay::Error::Refused {
            status: 503,
            reason,
            ..
        }) => assert!(reason.contains("cannot decide revocation now"), "{reason}"),
        other => panic!("an acknowledgement under a stale CRL: {other:?}"),
    }
}

/// A small upload stays in memory from the socket to the commit; a larger
/// one is spilled to a file as it outgrows memory; one larger than the
/// database row becomes a blob file. Each of the three, right at the
/// boundaries, is stored whole: the sender's dispatch plus one custody
/// receipt, under the SHA-256 the record names, and no temporary
/// file is left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_either_side_of_the_memory_and_inline_limits_are_kept_whole() {
    use congvan_relay::store::INLINE_BLOB_LIMIT;
    use congvan_relay::upload::MEMORY_UPLOAD_LIMIT;
    let dir = process::tempdir();
    let relay = congvan_relay::start(relay_config(dir.path(), "H99"))
        .await
        .unwrap();
    // (attachment size, what the stored file must be)
    let cases = [
        (MEMORY_UPLOAD_LIMIT - 32 * 1024, "in memory, inline"),
        (MEMORY_UPLOAD_LIMIT + 16 * 1024, "spilled, inline"),
        (INLINE_BLOB_LIMIT + 16 * 1024, "spilled, a blob file"),
    ];
    for (i, (size, case)) in cases.into_iter().enumerate() {
        let noise: Vec<u8> = (0..size as u32)
            .map(|j| (j.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let d = Author::new("H99.10").write_with(
            &dir.path().join(format!("out{i}")),
            &["H99"],
            Urgency::Thuong,
            "Hồ sơ ở ranh giới",
            Some(("ho-so.bin", &noise)),
        );
        let sent = std::fs::metadata(&d.path).unwrap().len();
        match case {
            "in memory, inline" => assert!(sent <= MEMORY_UPLOAD_LIMIT, "{case}: {sent}"),
            "spilled, inline" => assert!(
                sent > MEMORY_UPLOAD_LIMIT && sent < INLINE_BLOB_LIMIT - 16 * 1024,
                "{case}: {sent}"
            ),
            _ => assert!(sent > INLINE_BLOB_LIMIT, "{case}: {sent}"),
        }
        send(&url(relay.addr), "H99.10", &d).await;

        let record = relay.state.store.dispatch(&d.id).unwrap().unwrap();
        let kept = match relay.state.store.blob(&record.blob).unwrap().unwrap() {
            Some(bytes) => {
                assert_ne!(case, "spilled, a blob file", "{case} was stored inline");
                bytes
            }
            None => {
                assert_eq!(case, "spilled, a blob file", "{case} became a file");
                std::fs::read(relay.state.store.blobs().path(&record.blob)).unwrap()
            }
        };
        assert_eq!(congvan_envelope::sha256_hex(&kept), record.blob, "{case}");
        let copy = dir.path().join(format!("kept{i}.cvd"));
        std::fs::write(&copy, &kept).unwrap();
        let envelope = Envelope::open(&copy).unwrap();
        assert_eq!(envelope.receipts().len(), 1, "{case}: one custody receipt");
        assert_eq!(
            congvan_envelope::sha256_hex(envelope.manifest_bytes()),
            d.manifest_sha256(),
            "{case}: the sender's manifest"
        );
        assert_eq!(
            relay.state.store.blobs().clean_temp().unwrap(),
            0,
            "{case}: a temporary file was left"
        );
    }
    relay.stop().await;
}

/// Uploads held in memory share one budget, so that offices uploading
/// slowly on every connection they may open cannot fill the relay's
/// memory. With the budget spent, a small dispatch goes through a file
/// instead, stays one (it is not read back into memory to wait for its
/// commit) and is still accepted and stored whole; the budget is given
/// back once each upload is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_memory_budget_spent_a_small_upload_goes_through_a_file() {
    use congvan_relay::upload::MEMORY_UPLOADS_BUDGET;
    use std::sync::atomic::Ordering;
    let dir = process::tempdir();
    let relay = congvan_relay::start(relay_config(dir.path(), "H99"))
        .await
        .unwrap();
    let budget = relay.state.upload_memory.clone();

    let first = Author::new("H99.10").write(
        &dir.path().join("out1"),
        &["H99"],
        Urgency::Thuong,
        "Khi bộ nhớ còn",
    );
    send(&url(relay.addr), "H99.10", &first).await;
    assert_eq!(
        budget.held(),
        0,
        "the budget is given back after the commit"
    );
    let to_file = || relay.state.metrics.uploads_to_file.load(Ordering::Relaxed);
    assert_eq!(to_file(), 0, "a small upload stays in memory");

    let mut flood = budget.start();
    assert!(flood.grow(MEMORY_UPLOADS_BUDGET));
    let second = Author::new("H99.10").write(
        &dir.path().join("out2"),
        &["H99"],
        Urgency::Thuong,
        "Khi bộ nhớ đã hết",
    );
    send(&url(relay.addr), "H99.10", &second).await;
    assert_eq!(to_file(), 1, "with the budget spent it went through a file");
    let record = relay.state.store.dispatch(&second.id).unwrap().unwrap();
    // Nor is it read back into memory to wait for the commit: it stays a
    // file and becomes the blob.
    assert_eq!(
        relay.state.store.blob(&record.blob).unwrap(),
        Some(None),
        "kept as a blob file"
    );
    let kept = std::fs::read(relay.state.store.blobs().path(&record.blob)).unwrap();
    assert_eq!(congvan_envelope::sha256_hex(&kept), record.blob);
    assert_eq!(relay.state.store.blobs().clean_temp().unwrap(), 0);
    assert_eq!(
        budget.held(),
        MEMORY_UPLOADS_BUDGET,
        "only the flood is held"
    );
    drop(flood);
    assert_eq!(budget.held(), 0);
    relay.stop().await;
}

/// An office that starts uploads and goes away in the middle, some small
/// enough to be held in memory and some already spilled to a file: the
/// relay gives back every byte of its memory budget and leaves no
/// temporary file, and still takes the next dispatch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_that_break_off_give_back_their_memory_and_leave_no_file() {
    use congvan_relay::upload::MEMORY_UPLOAD_LIMIT;
    let dir = process::tempdir();
    let relay = congvan_relay::start(relay_config(dir.path(), "H99"))
        .await
        .unwrap();
    let office = credential(&office_dir("H99.10"));
    for sent in [64 * 1024, MEMORY_UPLOAD_LIMIT as usize + 64 * 1024] {
        let mut streams = Vec::new();
        for _ in 0..4 {
            let mut stream = tls_connect(relay.addr, tls_config_with(&office))
                .await
                .unwrap();
            let head = format!(
                "POST /v1/dispatches HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: {}\r\n\r\n",
                sent * 2
            );
            stream.write_all(head.as_bytes()).await.unwrap();
            stream.write_all(&vec![b'P'; sent]).await.unwrap();
            stream.flush().await.unwrap();
            streams.push(stream);
        }
        let temp_files = || {
            std::fs::read_dir(relay.state.store.path().parent().unwrap().join("blobs/tmp"))
                .map(|d| d.count())
                .unwrap_or(0)
        };
        // The relay has what was sent: in memory, or in files.
        eventually(
            "the partial uploads received",
            Duration::from_secs(10),
            || async {
                let received = if sent as u64 <= MEMORY_UPLOAD_LIMIT {
                    relay.state.upload_memory.held() >= 4 * sent as u64
                } else {
                    temp_files() == 4
                };
                received.then_some(())
            },
        )
        .await;
        let held_while_sending = relay.state.upload_memory.held();
        drop(streams);
        eventually(
            "the budget given back and the partial files removed",
            Duration::from_secs(10),
            || async { (relay.state.upload_memory.held() == 0 && temp_files() == 0).then_some(()) },
        )
        .await;
        eprintln!("{sent} bytes sent on each of 4 uploads: {held_while_sending} bytes were held in memory");
    }
    let d =
        Author::new("H99.10").write(dir.path(), &["H99"], Urgency::Thuong, "Sau các lần gửi dở");
    send(&url(relay.addr), "H99.10", &d).await;
    relay.stop().await;
}
