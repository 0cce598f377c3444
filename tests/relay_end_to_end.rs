//! Acceptance 1: end to end through five separate `congvan relay run`
//! processes (province H99; districts H99.01 and H99.02; communes H99.01.01
//! and H99.02.01), driven only by the clerk commands: `send`, `inbox`,
//! `fetch` (verifies: PASSED), `ack --status 01|03` and `track --json`.
//!
//! Both peer modes are on the paths: the province pushes to H99.01 and
//! H99.02 pulls from the province; H99.01.01 pulls from H99.01 and H99.02
//! pushes to H99.02.01. Traffic up the tree is always pushed.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::disallowed_macros)] // test progress output

use std::collections::HashSet;
use std::ffi::OsStr;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::process;
use crate::support::relays::*;
use congvan_envelope::metadata::Urgency;
use congvan_envelope::Statement;
use congvan_relay::config::PeerMode;
use congvan_relay::RelayConfig;

const WAIT: Duration = Duration::from_secs(40);

/// `congvan relay init` for office `code`, then quicker retries for the test.
fn init_relay(
    dir: &Path,
    code: &str,
    listen: std::net::SocketAddr,
    parent: Option<(&str, bool)>,
    push_children: &[(&str, std::net::SocketAddr)],
) -> RelayConfig {
    let data = dir.join(relay_name(code));
    let mut args: Vec<String> = vec![
        "relay".into(),
        "init".into(),
        "--org".into(),
        code.into(),
        "--listen".into(),
        listen.to_string(),
        "--tls".into(),
        relay_dir(code).display().to_string(),
        "--trust".into(),
        root_pem().display().to_string(),
        "--data".into(),
        data.display().to_string(),
        "--registry".into(),
        registry_path().display().to_string(),
    ];
    if let Some((parent_url, pull)) = parent {
        args.push("--parent".into());
        args.push(parent_url.into());
        if pull {
            args.push("--pull".into());
        }
    }
    for (child, addr) in push_children {
        args.push("--child".into());
        args.push(format!("{}={}", relay_name(child), url(*addr)));
    }
    let run = process::congvan(&args);
    run.assert_ok();
    let mut config = RelayConfig::load(&data.join("relay.toml")).expect("load relay.toml");
    config.delivery = fast_delivery();
    config
}

struct Flow {
    what: &'static str,
    from: &'static str,
    from_url: String,
    to: &'static str,
    to_url: String,
    urgency: Urgency,
    path: &'static [&'static str],
}

async fn run_flow(dir: &Path, flow: Flow) {
    let started = Instant::now();
    let author = Author::new(flow.from);
    let dispatch = author.write(&dir.join("out"), &[flow.to], flow.urgency, flow.what);
    let id = dispatch.id.as_str();

    // send
    let sent = clerk(
        "send",
        &flow.from_url,
        flow.from,
        &[dispatch.path.as_os_str()],
    )
    .await;
    sent.assert_ok();
    assert!(
        sent.stdout.contains("accepted") && sent.stdout.contains(id),
        "{sent}"
    );

    // inbox (the clerk command, JSON)
    let deadline = Instant::now() + WAIT;
    loop {
        let inbox = clerk("inbox", &flow.to_url, flow.to, &["--json"]).await;
        inbox.assert_ok();
        let items: Vec<serde_json::Value> = serde_json::from_str(&inbox.stdout).unwrap();
        if let Some(item) = items.iter().find(|i| i["id"] == id) {
            assert_eq!(item["from"], flow.from, "{inbox}");
            assert_eq!(item["urgency"], u64::from(flow.urgency.code()), "{inbox}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{}: {id} did not reach the inbox of {}",
            flow.what,
            flow.to
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // fetch: downloads and verifies
    let out = dir.join(format!("received-{id}.cvd"));
    let fetched = clerk(
        "fetch",
        &flow.to_url,
        flow.to,
        &[OsStr::new(id), OsStr::new("--out"), out.as_os_str()],
    )
    .await;
    fetched.assert_ok();
    assert!(fetched.stdout.contains("PASSED"), "{fetched}");

    // ack 01 (arrived), learning the manifest by fetching again, then 03
    // (accepted) from the copy already fetched; a copy of another dispatch
    // is refused before anything is sent.
    let acked = clerk(
        "ack",
        &flow.to_url,
        flow.to,
        &[id, "--status", "01", "--note", "đã nhận"],
    )
    .await;
    acked.assert_ok();
    let other = fixture("valid-cong-van-pdf.cvd");
    let wrong = clerk("ack", &flow.to_url, flow.to, &ack_accepted_from(id, &other)).await;
    wrong.assert_code(2);
    assert!(
        wrong.stderr.contains("not ") && wrong.stderr.contains(id),
        "{wrong}"
    );
    let acked = clerk("ack", &flow.to_url, flow.to, &ack_accepted_from(id, &out)).await;
    acked.assert_ok();

    // track: a signed custody receipt from every hop, and both statuses
    let expected: HashSet<String> = flow.path.iter().map(|c| relay_name(c)).collect();
    let deadline = Instant::now() + WAIT;
    let events = loop {
        let events = track_json(&flow.from_url, flow.from, id).await;
        let statuses = events.iter().filter(|e| e.kind == "status").count();
        if custody_relays(&events) == expected && statuses == 2 {
            break events;
        }
        assert!(
            Instant::now() < deadline,
            "{}: the timeline of {id} is incomplete: expected custody from {expected:?} and 2 statuses, got {events:#?}",
            flow.what
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let custody = events.iter().filter(|e| e.kind == "custody").count();
    assert_eq!(
        custody,
        flow.path.len(),
        "one custody receipt per hop: {events:#?}"
    );
    let mut codes = Vec::new();
    for event in &events {
        let verified = verify_event(event);
        assert_eq!(verified.statement.dispatch_id(), id);
        match &verified.statement {
            Statement::Status { code, by, .. } => {
                assert_eq!(by, &org(flow.to));
                assert_eq!(event.code.as_deref(), Some(code.code()));
                codes.push(code.code().to_string());
            }
            Statement::Custody { relay, .. } => {
                assert!(flow.path.iter().any(|c| org(c) == *relay));
            }
            other => panic!("unexpected event {other:?}"),
        }
    }
    codes.sort();
    assert_eq!(codes, ["01", "03"], "{events:#?}");

    // The human timeline names every hop too.
    let human = clerk("track", &flow.from_url, flow.from, &[id]).await;
    human.assert_ok();
    assert!(human.stdout.contains("Timeline of"), "{human}");
    eprintln!(
        "{}: delivered, verified, acknowledged and tracked in {:.1} s",
        flow.what,
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dispatches_cross_the_tree_through_separate_relay_processes() {
    let started = Instant::now();
    let dir = process::tempdir();
    let base = dir.path();
    let [p, d1, d2, c11, c21] = [(); 5].map(|_| free_addr());

    let province = init_relay(base, "H99", p, None, &[("H99.01", d1)]);
    let district1 = init_relay(base, "H99.01", d1, Some((&url(p), false)), &[]);
    let district2 = init_relay(
        base,
        "H99.02",
        d2,
        Some((&url(p), true)),
        &[("H99.02.01", c21)],
    );
    let commune11 = init_relay(base, "H99.01.01", c11, Some((&url(d1), true)), &[]);
    let commune21 = init_relay(base, "H99.02.01", c21, Some((&url(d2), false)), &[]);

    // What `relay init` derived from the registry.
    let mode = |c: &RelayConfig, child: &str| {
        c.children
            .iter()
            .find(|x| x.name == relay_name(child))
            .map(|x| x.mode)
    };
    assert_eq!(mode(&province, "H99.01"), Some(PeerMode::Push));
    assert_eq!(mode(&province, "H99.02"), Some(PeerMode::Pull));
    assert_eq!(mode(&district1, "H99.01.01"), Some(PeerMode::Pull));
    assert_eq!(mode(&district2, "H99.02.01"), Some(PeerMode::Push));
    assert_eq!(
        commune11.parent.as_ref().map(|x| (x.name.clone(), x.mode)),
        Some((relay_name("H99.01"), PeerMode::Pull))
    );

    let logs = base.join("logs");
    let mut relays: Vec<RelayProcess> = [province, district1, district2, commune11, commune21]
        .into_iter()
        .map(|c| RelayProcess::new(&logs, c))
        .collect();
    for relay in relays.iter_mut() {
        relay.spawn();
    }
    for relay in relays.iter_mut() {
        relay.wait_ready().await;
    }
    eprintln!(
        "five relay processes up in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let flows = [
        Flow {
            what: "commune to province",
            from: "H99.01.01",
            from_url: url(c11),
            to: "H99",
            to_url: url(p),
            urgency: Urgency::Khan,
            path: &["H99.01.01", "H99.01", "H99"],
        },
        Flow {
            what: "province down two hops to a commune",
            from: "H99",
            from_url: url(p),
            to: "H99.01.01",
            to_url: url(c11),
            urgency: Urgency::HoaToc,
            path: &["H99", "H99.01", "H99.01.01"],
        },
        Flow {
            what: "commune to a commune of another district",
            from: "H99.01.01",
            from_url: url(c11),
            to: "H99.02.01",
            to_url: url(c21),
            urgency: Urgency::Thuong,
            path: &["H99.01.01", "H99.01", "H99", "H99.02", "H99.02.01"],
        },
    ];
    let base_owned = base.to_path_buf();
    let tasks: Vec<_> = flows
        .into_iter()
        .map(|flow| {
            let dir = base_owned.join(flow.to);
            tokio::spawn(async move { run_flow(&dir, flow).await })
        })
        .collect();
    let mut failures = Vec::new();
    for task in tasks {
        if let Err(e) = task.await {
            failures.push(e);
        }
    }
    if !failures.is_empty() {
        for relay in &relays {
            eprintln!("===== {} =====\n{}", relay.name(), relay.log());
        }
        std::panic::resume_unwind(failures.remove(0).into_panic());
    }
    for relay in relays.iter_mut() {
        assert!(relay.is_running(), "{} died\n{}", relay.name(), relay.log());
    }
    eprintln!("end to end: {:.1} s", started.elapsed().as_secs_f64());
}

/// `ack` arguments for status 03 (accepted), taking the manifest from `copy`.
fn ack_accepted_from<'a>(id: &'a str, copy: &'a Path) -> Vec<&'a OsStr> {
    [id, "--status", "03", "--note", "đã nhận", "--file"]
        .into_iter()
        .map(OsStr::new)
        .chain([copy.as_os_str()])
        .collect()
}
