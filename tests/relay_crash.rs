//! Acceptance 2: crash safety. While 1,000 dispatches flow commune ->
//! district -> province, the district relay (a separate `congvan relay run`
//! process) is killed with SIGKILL at random moments, at least three times,
//! and restarted on the same address. Every dispatch reaches the province
//! inbox exactly once and verifies.
//!
//! The province and the commune run in this process (their counters and
//! stores are read directly); the commune stays up throughout. Set
//! `CONGVAN_TEST_SEED` to repeat a run's kill moments.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::disallowed_macros)] // test progress output

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::process;
use crate::support::relays::*;
use congvan_envelope::metadata::Urgency;
use congvan_envelope::{verify_dispatch, Envelope, Indication};
use congvan_relay::config::PeerMode;
use congvan_relay::store::Store;
use time::OffsetDateTime;

const COUNT: usize = 1_000;
const SENDERS: usize = 8;
const KILLS: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_the_district_relay_while_1000_dispatches_flow() {
    let started = Instant::now();
    let dir = process::tempdir();
    let base = dir.path();
    let mut rng = Rng::from_env_or_clock("crash test");

    // 1,000 signed dispatches, made on two threads.
    let out = base.join("out");
    let makers: Vec<_> = (0..2)
        .map(|part| {
            let out = out.clone();
            tokio::task::spawn_blocking(move || {
                let author = Author::new("H99.01.01").without_seal();
                (0..COUNT / 2)
                    .map(|i| {
                        let d = author.write(
                            &out,
                            &["H99"],
                            Urgency::Thuong,
                            &format!("Báo cáo số {part}-{i}"),
                        );
                        (d.id.clone(), d.path)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut dispatches = Vec::new();
    for maker in makers {
        dispatches.extend(maker.await.unwrap());
    }
    let sent_ids: HashSet<String> = dispatches.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(sent_ids.len(), COUNT);
    eprintln!(
        "{COUNT} dispatches signed in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // Province (in-process), district (a process on a fixed port), commune
    // (in-process). The province pushes down to the district; the commune
    // pulls from it.
    let district_addr = free_addr();
    let mut province_config = relay_config(base, "H99");
    add_child(&mut province_config, "H99.01", Some(&url(district_addr)));
    let province = congvan_relay::start(province_config).await.unwrap();

    let mut district_config = relay_config(base, "H99.01");
    district_config.listen = district_addr;
    set_parent(
        &mut district_config,
        "H99",
        &url(province.addr),
        PeerMode::Push,
    );
    add_child(&mut district_config, "H99.01.01", None);
    let district_data = district_config.data.clone();
    let district_batch_items = district_config.delivery.push_batch_items;
    let mut district = RelayProcess::new(&base.join("logs"), district_config);
    district.start().await;

    let mut commune_config = relay_config(base, "H99.01.01");
    set_parent(
        &mut commune_config,
        "H99.01",
        &url(district_addr),
        PeerMode::Pull,
    );
    let commune = congvan_relay::start(commune_config).await.unwrap();
    let commune_url = url(commune.addr);

    // Eight senders into the commune relay, retrying on connection errors.
    let queue = Arc::new(Mutex::new(VecDeque::from(dispatches)));
    let send_started = Instant::now();
    let senders: Vec<_> = (0..SENDERS)
        .map(|_| {
            let queue = queue.clone();
            let client = client(&commune_url, "H99.01.01");
            tokio::spawn(async move {
                let mut retries = 0u32;
                loop {
                    let Some((id, path)) = queue.lock().unwrap().pop_front() else {
                        return retries;
                    };
                    let mut attempt = 0;
                    loop {
                        match client.send_file(&path).await {
                            Ok(answer) => {
                                assert_eq!(answer.id, id);
                                assert!(
                                    answer.status == "accepted" || answer.status == "duplicate",
                                    "{answer:?}"
                                );
                                break;
                            }
                            Err(congvan_relay::Error::Refused { status, reason, .. }) => {
                                panic!("the commune refused {id}: {status} {reason}")
                            }
                            Err(e) => {
                                attempt += 1;
                                retries += 1;
                                assert!(attempt < 50, "cannot send {id}: {e}");
                                tokio::time::sleep(Duration::from_millis(100)).await;
                            }
                        }
                    }
                }
            })
        })
        .collect();

    // Kill -9 the district at random moments while traffic flows through it:
    // kill k falls at a random point in the k-th of KILLS equal stretches of
    // the flow (counted in dispatches the province has accepted), so the
    // kills spread over the whole flow however fast it runs.
    let accepted = |relay: &congvan_relay::RunningRelay| {
        relay.state.metrics.accepted.load(Ordering::Relaxed) as usize
    };
    let stretch = COUNT / (KILLS + 1);
    let mut kills = Vec::new();
    for k in 0..KILLS {
        let threshold = stretch * k + rng.range(stretch as u64 / 4, stretch as u64) as usize;
        eventually(
            "traffic through the district",
            Duration::from_secs(120),
            || {
                let now = accepted(&province);
                async move { (now >= threshold).then_some(()) }
            },
        )
        .await;
        let at = accepted(&province);
        if at >= COUNT {
            break;
        }
        district.kill();
        kills.push(at);
        eprintln!(
            "kill -9 #{} of the district with {at}/{COUNT} at the province ({:.1} s)",
            kills.len(),
            started.elapsed().as_secs_f64()
        );
        tokio::time::sleep(Duration::from_millis(rng.range(0, 700))).await;
        district.start().await;
    }
    let mut send_retries = 0;
    for sender in senders {
        send_retries += sender.await.unwrap();
    }
    eprintln!(
        "all sent to the commune in {:.1} s ({send_retries} retried sends)",
        send_started.elapsed().as_secs_f64()
    );
    assert!(
        kills.len() >= 3,
        "only {} kills happened before the flow finished: {kills:?}",
        kills.len()
    );

    // Everything arrives (progress is printed; on a timeout, where each
    // missing dispatch is, and the district's warnings).
    let in_inbox =
        |relay: &congvan_relay::RunningRelay| relay.state.store.inbox("H99").map_or(0, |i| i.len());
    let flow_deadline = Instant::now() + Duration::from_secs(240);
    let mut last_print = Instant::now();
    while in_inbox(&province) < COUNT {
        if last_print.elapsed() >= Duration::from_secs(10) {
            last_print = Instant::now();
            eprintln!(
                "{}/{COUNT} at the province after {:.0} s; {:?} still queued at the commune",
                in_inbox(&province),
                send_started.elapsed().as_secs_f64(),
                commune.state.store.queue_depth().ok()
            );
        }
        if Instant::now() > flow_deadline {
            district.kill();
            let (store, _writer) = Store::open(&district_data, 1).unwrap();
            let arrived: HashSet<String> = province
                .state
                .store
                .inbox("H99")
                .unwrap()
                .into_iter()
                .map(|i| i.id)
                .collect();
            let mut report = String::new();
            for id in sent_ids.difference(&arrived) {
                report.push_str(&format!(
                    "{id}: at the district {:?}; commune timeline {:?}\n",
                    store.dispatch(id).unwrap().map(|d| d.received_at),
                    commune
                        .state
                        .store
                        .events(id)
                        .unwrap()
                        .iter()
                        .map(|e| (e.kind.clone(), e.actor.clone(), e.description.clone()))
                        .collect::<Vec<_>>()
                ));
            }
            let queued = store.due(&relay_name("H99"), i64::MAX, 10).unwrap();
            let log = district.log();
            let warnings: Vec<&str> = log
                .lines()
                .filter(|l| l.contains("WARN") || l.contains("ERROR"))
                .collect();
            panic!(
                "only {}/{COUNT} reached the province (accepted metric {}, commune expired {}).\n{report}queued at the district: {queued:?}\ndistrict warnings:\n{}",
                arrived.len(),
                accepted(&province),
                commune.state.metrics.expired.load(Ordering::Relaxed),
                warnings.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "all {COUNT} at the province after {:.1} s of flow, {} kills",
        send_started.elapsed().as_secs_f64(),
        kills.len()
    );
    assert!(district.is_running(), "{}", district.log());

    // Exactly once: the province inbox holds exactly the 1,000 ids.
    let inbox = client(&url(province.addr), "H99").inbox().await.unwrap();
    let inbox_ids: HashSet<String> = inbox.iter().map(|i| i.id.clone()).collect();
    assert_eq!(inbox.len(), COUNT, "inbox length");
    assert_eq!(inbox_ids, sent_ids, "the inbox holds exactly the ids sent");
    let stored = province.state.store.inbox("H99").unwrap();
    assert_eq!(stored.len(), COUNT);

    // The province's books: 1,000 accepted, none refused, every extra
    // transfer (a district that died before recording a hand-over sends it
    // again) answered as a duplicate.
    let metrics = &province.state.metrics;
    // (Counted just after the commit the inbox shows.)
    eventually(
        "the last acceptance counted",
        Duration::from_secs(5),
        || {
            let n = accepted(&province);
            async move { (n >= COUNT).then_some(()) }
        },
    )
    .await;
    let duplicates = metrics.duplicates.load(Ordering::Relaxed);
    assert_eq!(metrics.accepted.load(Ordering::Relaxed), COUNT as u64);
    assert_eq!(metrics.delivered.load(Ordering::Relaxed), COUNT as u64);
    assert_eq!(metrics.rejected.load(Ordering::Relaxed), 0);
    eprintln!("province: {COUNT} accepted, {duplicates} duplicate transfers answered");
    // The district hands small dispatches on in batches of at most
    // `push_batch_items`, one batch at a time, so each kill can leave at
    // most one batch of hand-overs unrecorded, to be sent again.
    let per_kill = district_batch_items;
    assert!(
        duplicates as usize <= kills.len() * per_kill,
        "{duplicates} duplicates for {} kills",
        kills.len()
    );
    // The commune accepted each once, and felt the kills.
    assert_eq!(
        commune.state.metrics.accepted.load(Ordering::Relaxed),
        COUNT as u64
    );
    assert!(
        commune.state.metrics.retried.load(Ordering::Relaxed) > 0,
        "the commune never had to retry: the kills did not interrupt anything"
    );

    // Every dispatch verifies, with one custody receipt per hop.
    let verify_started = Instant::now();
    let fetched = base.join("fetched");
    std::fs::create_dir_all(&fetched).unwrap();
    let ids: Vec<String> = sent_ids.iter().cloned().collect();
    let chunks: Vec<Vec<String>> = ids.chunks(COUNT / SENDERS).map(|c| c.to_vec()).collect();
    let province_url = url(province.addr);
    let checkers: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let client = client(&province_url, "H99");
            let fetched = fetched.clone();
            tokio::spawn(async move {
                let mut files = Vec::new();
                for id in chunk {
                    let path = fetched.join(format!("{id}.cvd"));
                    client.fetch(&id, &path).await.unwrap();
                    files.push((id, path));
                }
                tokio::task::spawn_blocking(move || {
                    let trust = trust();
                    for (id, path) in files {
                        let mut envelope = Envelope::open(&path).unwrap();
                        assert_eq!(envelope.metadata().id, id);
                        let report = verify_dispatch(
                            &mut envelope,
                            &trust,
                            OffsetDateTime::now_utc(),
                            &mut |_| {},
                        )
                        .unwrap();
                        assert_eq!(
                            report.indication,
                            Indication::Passed,
                            "{id}: {}",
                            report.summary
                        );
                        let custody: Vec<_> = report
                            .receipts
                            .iter()
                            .filter(|r| r.kind == "custody")
                            .collect();
                        assert_eq!(custody.len(), 3, "{id}: one custody per hop: {custody:?}");
                        assert!(custody.iter().all(|r| r.valid), "{id}: {custody:?}");
                    }
                })
                .await
                .unwrap();
            })
        })
        .collect();
    for checker in checkers {
        checker.await.unwrap();
    }
    eprintln!(
        "{COUNT} fetched and verified in {:.1} s",
        verify_started.elapsed().as_secs_f64()
    );

    // The district handed everything on: nothing is left queued for the
    // province in its store.
    district.kill();
    let (store, _writer) = Store::open(&district_data, 1).unwrap();
    let left = store.due(&relay_name("H99"), i64::MAX, 10).unwrap();
    assert!(left.is_empty(), "still queued at the district: {left:?}");

    commune.stop().await;
    province.stop().await;
    eprintln!("crash test: {:.1} s", started.elapsed().as_secs_f64());
}
