//! The operator's folder gateway (`[edxml]`): a document-management system
//! outside congvan drops edXML messages into a folder; the province relay
//! imports each as a copy sealed by the province office and delivers it.
//! Killed with SIGKILL in the middle of a batch and started again, it
//! handles every file exactly once: each ends in `processed/` or in
//! `rejected/` beside its reason, and the inbox holds each dispatch once.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::process;
use crate::support::relays::*;
use congvan_relay::config::EdxmlSettings;

const BATCH: usize = 40;

fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(process::repo().join("fixtures/edxml").join(name)).unwrap()
}

/// Message `n` of the batch: the fixture renumbered, so each is another
/// document with its own dispatch id.
fn message(n: usize) -> String {
    let number = format!("{}", 2000 + n);
    fixture_text("new.edxml").replace("1234", &number)
}

/// The province relay's configuration with the folder gateway on, sealing
/// as the province office, its folders under `dir/edxml` (returned).
fn province_with_gateway(dir: &Path) -> (congvan_relay::RelayConfig, std::path::PathBuf) {
    let root = dir.join("edxml");
    let mut config = relay_config(dir, "H99");
    config.edxml = Some(EdxmlSettings {
        office: org("H99"),
        credential: office_dir("H99"),
        folder: Some(root.clone()),
        scan_ms: 50,
    });
    (config, root)
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_folder_gateway_survives_kill_9_mid_batch_handling_each_file_once() {
    let dir = process::tempdir();
    let (mut config, gateway_root) = province_with_gateway(dir.path());
    config.listen = free_addr();
    let inbox = gateway_root.join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    // The batch, two hostile messages among it, and one sent twice under
    // two names (a document-management system that retried).
    for n in 0..BATCH {
        std::fs::write(inbox.join(format!("msg-{n:03}.edxml")), message(n)).unwrap();
    }
    std::fs::write(
        inbox.join("msg-900-dtd.edxml"),
        fixture_text("hostile/dtd-entities.edxml"),
    )
    .unwrap();
    std::fs::write(
        inbox.join("msg-901-missing.edxml"),
        fixture_text("hostile/missing-attachment.edxml"),
    )
    .unwrap();
    std::fs::write(inbox.join("msg-902-again.edxml"), message(7)).unwrap();
    // And one that says something else under a document id already used.
    std::fs::write(
        inbox.join("msg-903-changed.edxml"),
        message(8).replace("V/v triển khai", "V/v hủy triển khai"),
    )
    .unwrap();
    let total = BATCH + 4;

    let mut relay = RelayProcess::new(&dir.path().join("logs"), config);
    relay.start().await;
    // Kill it as soon as the batch is under way.
    let processed = gateway_root.join("processed");
    let deadline = Instant::now() + Duration::from_secs(60);
    while names_in(&processed).len() < 3 {
        assert!(
            Instant::now() < deadline,
            "nothing processed:\n{}",
            relay.log()
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    relay.kill();
    let at_kill = names_in(&processed).len();
    assert!(
        at_kill < total,
        "the batch finished before the kill; make it larger"
    );

    relay.start().await;
    let rejected = gateway_root.join("rejected");
    let work = gateway_root.join("work");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let done = names_in(&processed).len()
            + names_in(&rejected)
                .iter()
                .filter(|n| !n.ends_with(".reason.txt"))
                .count();
        if done == total && names_in(&inbox).is_empty() && names_in(&work).is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not all handled: processed {:?} rejected {:?} work {:?}\n{}",
            names_in(&processed),
            names_in(&rejected),
            names_in(&work),
            relay.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Every file once: the valid ones processed, the hostile ones rejected
    // with their reason beside them.
    let mut expected: Vec<String> = (0..BATCH).map(|n| format!("msg-{n:03}.edxml")).collect();
    expected.push("msg-902-again.edxml".into());
    expected.sort();
    assert_eq!(names_in(&processed), expected);
    assert_eq!(
        names_in(&rejected),
        [
            "msg-900-dtd.edxml",
            "msg-900-dtd.edxml.reason.txt",
            "msg-901-missing.edxml",
            "msg-901-missing.edxml.reason.txt",
            "msg-903-changed.edxml",
            "msg-903-changed.edxml.reason.txt"
        ]
    );
    let reason =
        std::fs::read_to_string(rejected.join("msg-903-changed.edxml.reason.txt")).unwrap();
    assert!(reason.contains("this one differs"), "{reason}");
    let reason = std::fs::read_to_string(rejected.join("msg-900-dtd.edxml.reason.txt")).unwrap();
    assert!(reason.contains("declares a DTD"), "{reason}");
    let reason =
        std::fs::read_to_string(rejected.join("msg-901-missing.edxml.reason.txt")).unwrap();
    assert!(reason.contains("the attachment is missing"), "{reason}");

    // The province's inbox holds each document once: the retried one and
    // anything handled again after the kill were duplicates.
    let items = client(&relay.url(), "H99").inbox().await.unwrap();
    assert_eq!(items.len(), BATCH, "{items:?}");
    let mut numbers: Vec<String> = items.iter().map(|i| i.number.clone()).collect();
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), BATCH);
    assert!(items.iter().all(|i| i.number.ends_with("/BMH-VP")));
    relay.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatch_for_an_office_outside_congvan_leaves_as_edxml_in_the_outbox() {
    use congvan_envelope::metadata::{Secrecy, Urgency};
    let dir = process::tempdir();
    let (mut config, gateway_root) = province_with_gateway(dir.path());
    add_child(&mut config, "H99.01", None);
    let relay = congvan_relay::start(config).await.unwrap();
    let district = congvan_relay::start(relay_below(
        dir.path(),
        "H99.01",
        &relay,
        congvan_relay::config::PeerMode::Pull,
    ))
    .await
    .unwrap();
    let province = Author::new("H99");
    let out = dir.path().join("out");
    // G99 (a ministry) is not in the registry: outside congvan.
    let sent = province.write(&out, &["G99"], Urgency::Khan, "Về việc báo cáo liên thông");
    send(&url(relay.addr), "H99", &sent).await;

    let file = gateway_root
        .join("outbox")
        .join(format!("{}.edxml", sent.id));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !file.exists() {
        assert!(Instant::now() < deadline, "no {}", file.display());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let scratch = process::tempdir();
    let (message, _) =
        congvan_edxml::read_message(&file, scratch.path(), &congvan_edxml::Limits::default())
            .unwrap();
    assert_eq!(message.header.to[0].organ_id, "000.00.00.G99");
    assert_eq!(message.header.from.organ_id, "000.00.00.H99");
    assert_eq!(message.header.subject, "Về việc báo cáo liên thông");
    assert_eq!(message.header.other.priority, "1");
    // The sender sees where it went.
    let progress = client(&url(relay.addr), "H99")
        .recipients(&sent.id)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut progress = progress;
    while progress[0].state != "exported" {
        assert!(Instant::now() < deadline, "{progress:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
        progress = client(&url(relay.addr), "H99")
            .recipients(&sent.id)
            .await
            .unwrap();
    }

    // A secret dispatch does not leave congvan in clear: it is refused as
    // any secret dispatch in clear is (and sealed, it could not be made:
    // an office outside congvan has no encryption certificate).
    let secret = province.write_custom(&out, &["G99"], Urgency::Thuong, "Về việc mật", |m| {
        m.secrecy = Some(Secrecy::Mat)
    });
    let refused = client(&url(relay.addr), "H99")
        .send_file(&secret.path)
        .await;
    expect_refused(refused, 422, &["is marked Mật but is not encrypted"]);

    // From a district relay without the gateway, it travels up to the one
    // that has it, and leaves there.
    let from_district =
        Author::new("H99.01").write(&out, &["G99"], Urgency::Thuong, "Về việc báo cáo của huyện");
    send(&url(district.addr), "H99.01", &from_district).await;
    let file = gateway_root
        .join("outbox")
        .join(format!("{}.edxml", from_district.id));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !file.exists() {
        assert!(Instant::now() < deadline, "no {}", file.display());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    district.stop().await;
    relay.stop().await;
}

/// Imports `message` as `office` with a registry that lets it act as a
/// gateway and lists nothing else, as a hostile office with its own tools
/// would, and returns the sealed copy.
fn copy_sealed_by(dir: &Path, office: &str, message: &str) -> std::path::PathBuf {
    let registry = dir.join(format!("registry-{office}.toml"));
    std::fs::write(
        &registry,
        format!("[[office]]\ncode = \"{office}\"\nname = \"Văn phòng\"\nlevel = \"province\"\nrelay = \"r\"\ngateway = true\n"),
    )
    .unwrap();
    let source = dir.join(format!("{office}.edxml"));
    std::fs::write(&source, message).unwrap();
    let out = dir.join(format!("{office}.cvd"));
    process::congvan([
        "edxml".as_ref(),
        "import".as_ref(),
        source.as_os_str(),
        "--identity".as_ref(),
        office_dir(office).as_os_str(),
        "--registry".as_ref(),
        registry.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ])
    .assert_ok();
    out
}

/// The gateway's copy seal is not a way for a hostile office to send in
/// another's name: relays take such copies only from an office the registry
/// names as a gateway, and never of a dispatch in a congvan office's name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_from_a_non_gateway_or_in_a_congvan_office_s_name_are_refused() {
    let dir = process::tempdir();
    // A district office (not a gateway) seals a "copy" of a ministry's
    // dispatch and sends it through its own relay.
    let district = congvan_relay::start(relay_config(dir.path(), "H99.01"))
        .await
        .unwrap();
    let forged = copy_sealed_by(dir.path(), "H99.01", &message(1));
    let refused = client(&url(district.addr), "H99.01")
        .send_file(&forged)
        .await;
    expect_refused(refused, 403, &["does not name H99.01 as an edXML gateway"]);
    district.stop().await;

    // The real gateway office, with a registry of its own, seals a "copy"
    // of a dispatch claiming to come from the district on congvan.
    let province = congvan_relay::start(relay_config(dir.path(), "H99"))
        .await
        .unwrap();
    let in_districts_name = message(2).replacen("000.00.00.G99", "000.00.01.H99", 1);
    let forged = copy_sealed_by(dir.path(), "H99", &in_districts_name);
    let refused = client(&url(province.addr), "H99").send_file(&forged).await;
    expect_refused(refused, 403, &["H99.01 is an office on congvan"]);
    province.stop().await;
}

/// The other system's sender hears back: a recipient's status about a
/// dispatch taken in through the gateway is written to the outbox as an
/// edXML status message about the original document. Here the gateway
/// office is itself the recipient, as a province receiving from a ministry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuses_about_an_imported_dispatch_leave_as_edxml_status_messages() {
    let dir = process::tempdir();
    let (config, gateway_root) = province_with_gateway(dir.path());
    let relay = congvan_relay::start(config).await.unwrap();
    std::fs::create_dir_all(gateway_root.join("inbox")).unwrap();
    std::fs::write(gateway_root.join("inbox/m.edxml"), message(5)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let id = loop {
        let items = client(&url(relay.addr), "H99").inbox().await.unwrap();
        if let Some(item) = items.first() {
            break item.id.clone();
        }
        assert!(Instant::now() < deadline, "not delivered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let run = clerk(
        "ack",
        &url(relay.addr),
        "H99",
        &[id.as_str(), "--status", "03", "--note", "Đã vào sổ"],
    )
    .await;
    run.assert_ok();
    let file = gateway_root
        .join("outbox")
        .join(format!("status-{id}-000.00.00.H99-03.edxml"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !file.exists() {
        assert!(Instant::now() < deadline, "no {}", file.display());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let scratch = process::tempdir();
    let status =
        congvan_edxml::read_status(&file, scratch.path(), &congvan_edxml::Limits::default())
            .unwrap();
    assert_eq!(status.status_code, "03");
    assert_eq!(status.description.as_deref(), Some("Đã vào sổ"));
    assert_eq!(status.response_for.organ_id, "000.00.00.G99");
    assert_eq!(status.response_for.code, "2005/BMH-VP");
    assert_eq!(
        status.response_for.document_id.as_deref(),
        Some("000.00.00.G99,2026/11/02,2005/BMH-VP")
    );
    relay.stop().await;
}
