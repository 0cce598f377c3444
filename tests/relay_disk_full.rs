//! A relay whose disk fills up: a real `congvan relay run` with its state on
//! a small tmpfs of its own (a private mount namespace made with
//! `unshare`, so nothing is mounted on the machine), filled for real.
//!
//! It answers uploads 503 with "the relay's disk is full" once it has read
//! them, naming no internal path; and when it cannot record a finished
//! transfer it backs off instead of sending the same dispatch again and
//! again.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::disallowed_macros)] // test progress output

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::process;
use crate::support::relays::*;
use congvan_envelope::metadata::Urgency;
use congvan_relay::config::PeerMode;

/// `congvan relay run` in its own mount namespace, its `data` folder a
/// 16 MB tmpfs, and a filler that fills it when `control/fill` appears.
struct FullDiskRelay {
    child: Child,
}

impl FullDiskRelay {
    fn start(data: &Path, config: &Path, control: &Path, log: &Path) -> FullDiskRelay {
        std::fs::create_dir_all(data).unwrap();
        std::fs::create_dir_all(control).unwrap();
        let script = r#"
            set -e
            mount -t tmpfs -o size=16m tmpfs "$1"
            (
                for _ in $(seq 1 1200); do
                    if [ -e "$3/fill" ]; then
                        dd if=/dev/zero of="$1/filler" bs=64k 2>/dev/null || true
                        touch "$3/filled"
                        break
                    fi
                    sleep 0.05
                done
            ) &
            exec "$4" relay run --config "$2"
        "#;
        let log = std::fs::File::create(log).unwrap();
        let child = Command::new("unshare")
            .args(["-rm", "sh", "-c", script, "sh"])
            .arg(data)
            .arg(config)
            .arg(control)
            .arg(process::congvan_bin())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("unshare (util-linux)");
        FullDiskRelay { child }
    }
}

impl Drop for FullDiskRelay {
    fn drop(&mut self) {
        // The relay and the filler are one process group.
        let group = format!("-{}", self.child.id());
        let killed = Command::new("kill").args(["-9", "--", &group]).status();
        if !matches!(killed, Ok(s) if s.success()) {
            eprintln!("could not kill process group {group}: {killed:?}");
        }
        if let Err(e) = self.child.wait() {
            eprintln!("waiting for the relay: {e}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_answered_503_in_words_and_never_hot_loops() {
    let dir = process::tempdir();
    // The province is the district's parent; it starts later.
    let province_addr = free_addr();
    let mut district = relay_config(dir.path(), "H99.01");
    district.listen = free_addr();
    set_parent(&mut district, "H99", &url(province_addr), PeerMode::Push);
    let data = district.data.clone();
    let config_path = dir.path().join("district.toml");
    district.save(&config_path).unwrap();
    let control = dir.path().join("control");
    let log = dir.path().join("district.log");
    let _relay = FullDiskRelay::start(&data, &config_path, &control, &log);
    let district_url = url(district.listen);
    let probe = client(&district_url, "H99.01");
    let up = Instant::now();
    while probe.inbox().await.is_err() {
        assert!(
            up.elapsed() < Duration::from_secs(30),
            "the relay did not start:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A dispatch for the province, queued while the province is down.
    let out = dir.path().join("out");
    let queued = Author::new("H99.01").write(&out, &["H99"], Urgency::Khan, "Báo cáo nhanh");
    probe.send_file(&queued.path).await.unwrap();

    // Then the disk fills.
    std::fs::write(control.join("fill"), b"").unwrap();
    let started = Instant::now();
    while !control.join("filled").exists() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the filler did not run"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // An upload now: read, then refused in words.
    let big = vec![1u8; 3 * 1024 * 1024];
    let d = Author::new("H99.01").write_with(
        &out,
        &["H99"],
        Urgency::Thuong,
        "Hồ sơ khi đĩa đầy",
        Some(("ho-so.bin", &big)),
    );
    match probe.send_file(&d.path).await {
        Err(congvan_relay::Error::Refused {
            status: 503,
            reason,
            ..
        }) => {
            assert!(reason.contains("the relay's disk is full"), "{reason}");
            assert!(!reason.contains('/'), "an internal path in {reason:?}");
        }
        other => panic!("an upload to a full disk: {other:?}"),
    }

    // The province comes up. It takes the queued dispatch; the district
    // cannot record that, so the transfer repeats, but with backoff.
    let mut province_config = relay_config(dir.path(), "H99");
    province_config.listen = province_addr;
    add_child(&mut province_config, "H99.01", None);
    let province = congvan_relay::start(province_config).await.unwrap();
    wait_inbox(
        &url(province.addr),
        "H99",
        &queued.id,
        Duration::from_secs(15),
    )
    .await;
    let before = province
        .state
        .metrics
        .duplicates
        .load(std::sync::atomic::Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(4)).await;
    let after = province
        .state
        .metrics
        .duplicates
        .load(std::sync::atomic::Ordering::Relaxed);
    let repeats = after - before;
    eprintln!("the province saw {repeats} repeated uploads in 4 s");
    // Backoff from 100 ms doubling to 1 s: at most a dozen in 4 s; a hot
    // loop makes hundreds.
    assert!(repeats <= 12, "{repeats} repeats in 4 s");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("backing off"), "{text}");
}
