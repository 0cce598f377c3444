//! A dispatch sent in error: the province recalls it through three relays
//! (status 13 down to the commune, 15 back up), and replaces another with
//! a new dispatch. Driven by the clerk commands (`recall`, `inbox`,
//! `fetch`, `ack`, `track`), with relays in this process.
//!
//! Who may say what is one rule (`StatusCode::said_by`): only the issuer
//! requests a recall, only a recipient answers it and only after a request,
//! only the issuer replaces its dispatch.

use std::time::{Duration, Instant};

use crate::support::process;
use crate::support::relays::*;
use congvan_envelope::metadata::{SupersedeKind, Supersedes, Urgency};
use congvan_relay::config::PeerMode;
use congvan_relay::RunningRelay;
use tempfile::TempDir;

const WAIT: Duration = Duration::from_secs(40);

/// Renders a verified dispatch and returns its text, read by pdftotext.
fn rendered_text(cvd: &std::path::Path) -> String {
    let pdf = cvd.with_extension("pdf");
    process::render_verified(cvd, &pdf);
    process::pdftotext(&pdf)
}

const PROVINCE: &str = "H99";
const DISTRICT: &str = "H99.01";
const COMMUNE: &str = "H99.01.01";

/// Province → district → commune, each pulling from the one above.
struct Tree {
    province: RunningRelay,
    district: RunningRelay,
    commune: RunningRelay,
    dir: TempDir,
}

impl Tree {
    async fn start() -> Tree {
        let dir = process::tempdir();
        let mut province = relay_config(dir.path(), PROVINCE);
        add_child(&mut province, DISTRICT, None);
        let province = congvan_relay::start(province).await.unwrap();
        let mut district = relay_below(dir.path(), DISTRICT, &province, PeerMode::Pull);
        add_child(&mut district, COMMUNE, None);
        let district = congvan_relay::start(district).await.unwrap();
        let commune = relay_below(dir.path(), COMMUNE, &district, PeerMode::Pull);
        let commune = congvan_relay::start(commune).await.unwrap();
        Tree {
            province,
            district,
            commune,
            dir,
        }
    }

    fn url(&self, code: &str) -> String {
        let relay = match code {
            PROVINCE => &self.province,
            DISTRICT => &self.district,
            _ => &self.commune,
        };
        url(relay.addr)
    }

    async fn clerk(&self, command: &str, code: &str, extra: &[&str]) -> process::Run {
        clerk(command, &self.url(code), code, extra).await
    }

    /// The commune's inbox as JSON (`all`: recalled ones too).
    async fn commune_inbox(&self, all: bool) -> Vec<serde_json::Value> {
        let mut extra = vec!["--json"];
        if all {
            extra.push("--all");
        }
        let run = self.clerk("inbox", COMMUNE, &extra).await;
        run.assert_ok();
        serde_json::from_str(&run.stdout).unwrap()
    }

    /// Waits until the commune's inbox entry for `id` satisfies `ready`.
    async fn until_commune_sees(
        &self,
        id: &str,
        what: &str,
        ready: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let items = self.commune_inbox(true).await;
            if let Some(item) = items.iter().find(|i| i["id"] == id && ready(i)) {
                return item.clone();
            }
            assert!(
                Instant::now() < deadline,
                "{id}: {what} never happened: {items:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the province's timeline of `id` has status `code`.
    async fn until_province_tracks(&self, id: &str, code: &str) -> serde_json::Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let run = self.clerk("track", PROVINCE, &[id, "--json"]).await;
            run.assert_ok();
            let track: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
            let events = track["events"].as_array().unwrap();
            if events.iter().any(|e| e["code"] == code) {
                return track;
            }
            assert!(
                Instant::now() < deadline,
                "{id}: no status {code} in {track}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recall_goes_down_three_relays_and_its_answer_comes_back() {
    let tree = Tree::start().await;
    let out = tree.dir.path().join("out");
    let sent = Author::new(PROVINCE).write(
        &out,
        &[COMMUNE],
        Urgency::Khan,
        "Về việc tổ chức hội nghị (ban hành nhầm)",
    );
    let id = sent.id.as_str();
    tree.clerk("send", PROVINCE, &[sent.path.to_str().unwrap()])
        .await
        .assert_ok();
    tree.until_commune_sees(id, "delivery", |_| true).await;

    // No recall was requested: there is nothing to agree to.
    let early = tree.clerk("ack", COMMUNE, &[id, "--status", "15"]).await;
    early.assert_code(1);
    assert!(early.stderr.contains("has requested none"), "{early}");
    // A recipient cannot request the recall of what it received.
    let usurped = tree
        .clerk("recall", COMMUNE, &[id, "--reason", "không muốn nhận"])
        .await;
    usurped.assert_code(1);
    assert!(usurped.stderr.contains("the issuer's to send"), "{usurped}");

    // The province recalls it.
    let recall = tree
        .clerk(
            "recall",
            PROVINCE,
            &[id, "--reason", "Ban hành nhầm đối tượng"],
        )
        .await;
    recall.assert_ok();
    assert!(recall.stdout.contains("recall requested"), "{recall}");
    let item = tree
        .until_commune_sees(id, "the recall request", |i| i["recall_requested"] == true)
        .await;
    assert_eq!(item["status"], serde_json::Value::Null, "{item}");
    let listing = tree.clerk("inbox", COMMUNE, &[]).await;
    assert!(listing.stdout.contains("ĐỀ NGHỊ THU HỒI"), "{listing}");

    // Fetched, the dispatch carries the signed request and says so.
    let copy = tree.dir.path().join("received.cvd");
    let fetched = tree
        .clerk("fetch", COMMUNE, &[id, "--out", copy.to_str().unwrap()])
        .await;
    fetched.assert_ok();
    assert!(
        fetched
            .stdout
            .contains("ĐỀ NGHỊ THU HỒI (recall requested)"),
        "{fetched}"
    );
    assert!(
        fetched.stdout.contains("Ban hành nhầm đối tượng"),
        "{fetched}"
    );

    // The commune agrees: the dispatch leaves its working inbox, stays for audit.
    tree.clerk(
        "ack",
        COMMUNE,
        &[id, "--status", "15", "--file", copy.to_str().unwrap()],
    )
    .await
    .assert_ok();
    let working = tree.commune_inbox(false).await;
    assert!(working.iter().all(|i| i["id"] != id), "{working:?}");
    let all = tree.commune_inbox(true).await;
    let kept = all.iter().find(|i| i["id"] == id).unwrap();
    assert_eq!(kept["status"], "15");
    let audit = tree.clerk("inbox", COMMUNE, &["--all"]).await;
    assert!(audit.stdout.contains("ĐÃ THU HỒI"), "{audit}");

    // The province's timeline shows its request and the answer.
    let track = tree.until_province_tracks(id, "15").await;
    let events = track["events"].as_array().unwrap();
    assert!(events.iter().any(|e| e["code"] == "13"), "{track}");
    let human = tree.clerk("track", PROVINCE, &[id]).await;
    assert!(
        human.stdout.contains("status 13 Yêu cầu thu hồi from H99"),
        "{human}"
    );
    assert!(
        human
            .stdout
            .contains("status 15 Đồng ý thu hồi/cập nhật from H99.01.01"),
        "{human}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replacement_marks_the_dispatch_it_replaces_everywhere() {
    let tree = Tree::start().await;
    let out = tree.dir.path().join("out");
    let province = Author::new(PROVINCE);
    let first = province.write(&out, &[COMMUNE], Urgency::Thuong, "Về việc lịch tiếp dân");
    tree.clerk("send", PROVINCE, &[first.path.to_str().unwrap()])
        .await
        .assert_ok();
    tree.until_commune_sees(&first.id, "delivery", |_| true)
        .await;

    // Another office cannot replace the province's dispatch: the district
    // relay holds the first and knows whose it is.
    let forged = Author::new(DISTRICT).write_custom(
        &out,
        &[COMMUNE],
        Urgency::Thuong,
        "Về việc lịch tiếp dân (thay thế giả mạo)",
        |m| {
            m.details.supersedes = Some(Supersedes {
                kind: SupersedeKind::Replaces,
                id: first.id.clone(),
            })
        },
    );
    let refused = tree
        .clerk("send", DISTRICT, &[forged.path.to_str().unwrap()])
        .await;
    refused.assert_code(1);
    assert!(
        refused
            .stderr
            .contains("only the issuer of a dispatch can replace or update it"),
        "{refused}"
    );

    let second = province.write_custom(
        &out,
        &[COMMUNE],
        Urgency::Thuong,
        "Về việc lịch tiếp dân (thay thế)",
        |m| {
            m.details.supersedes = Some(Supersedes {
                kind: SupersedeKind::Replaces,
                id: first.id.clone(),
            })
        },
    );
    let sent = tree
        .clerk("send", PROVINCE, &[second.path.to_str().unwrap()])
        .await;
    sent.assert_ok();
    assert!(
        sent.stdout.contains(&format!(
            "the recipients of {} are told it is replaced by",
            first.id
        )),
        "{sent}"
    );
    let item = tree
        .until_commune_sees(&first.id, "the replacement", |i| {
            i["superseded_by"]["id"] == second.id.as_str()
        })
        .await;
    assert_eq!(item["superseded_by"]["kind"], "replaces", "{item}");
    let listing = tree.clerk("inbox", COMMUNE, &[]).await;
    assert!(
        listing
            .stdout
            .contains(&format!("ĐÃ ĐƯỢC THAY THẾ: replaced by {}", second.id)),
        "{listing}"
    );

    // The sender's timeline of the first says what replaced it…
    let track = tree.clerk("track", PROVINCE, &[&first.id]).await;
    track.assert_ok();
    assert!(
        track
            .stdout
            .contains(&format!("replaced by dispatch {}", second.id)),
        "{track}"
    );
    // …and the replacement says what it replaces when verified.
    let copy = tree.dir.path().join("second.cvd");
    let fetched = tree
        .clerk(
            "fetch",
            COMMUNE,
            &[&second.id, "--out", copy.to_str().unwrap()],
        )
        .await;
    fetched.assert_ok();
    assert!(
        fetched
            .stdout
            .contains(&format!("Supersedes: replaces dispatch {}", first.id)),
        "{fetched}"
    );
    let printed = rendered_text(&copy);
    assert!(printed.contains("THAY THẾ VĂN BẢN MÃ"), "{printed}");
    assert!(printed.contains(&first.id), "{printed}");

    // The earlier one, fetched, carries the issuer's signed notice: its
    // verification and its printed copy say what replaced it.
    let old_copy = tree.dir.path().join("first.cvd");
    let deadline = Instant::now() + WAIT;
    loop {
        let _ = std::fs::remove_file(&old_copy);
        let fetched = tree
            .clerk(
                "fetch",
                COMMUNE,
                &[&first.id, "--out", old_copy.to_str().unwrap()],
            )
            .await;
        fetched.assert_ok();
        if fetched
            .stdout
            .contains("ĐÃ ĐƯỢC THAY THẾ/CẬP NHẬT (superseded)")
        {
            assert!(
                fetched
                    .stdout
                    .contains(&format!("replaced by dispatch {}", second.id)),
                "{fetched}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "no notice: {fetched}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let printed = rendered_text(&old_copy);
    assert!(printed.contains("ĐÃ ĐƯỢC THAY THẾ/CẬP NHẬT"), "{printed}");
    // One entry in the sender's timeline, not two.
    let track = tree.clerk("track", PROVINCE, &[&first.id, "--json"]).await;
    let track: serde_json::Value = serde_json::from_str(&track.stdout).unwrap();
    let superseded = track["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "superseded")
        .count();
    assert_eq!(superseded, 1, "{track}");
}

/// A rogue relay below cannot pass a recipient's own "recall request" up
/// to the issuer's relay: 13 is the issuer's, and travels only down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recall_request_made_by_a_recipient_is_refused_on_the_way_up() {
    use congvan_envelope::{make_receipt, receipt_time, Statement, StatusCode};
    use congvan_relay::api::ReceiptMessage;
    let tree = Tree::start().await;
    let out = tree.dir.path().join("out");
    let sent = Author::new(PROVINCE).write(&out, &[COMMUNE], Urgency::Thuong, "Về việc họp");
    tree.clerk("send", PROVINCE, &[sent.path.to_str().unwrap()])
        .await
        .assert_ok();
    tree.until_commune_sees(&sent.id, "delivery", |_| true)
        .await;
    let manifest = tree
        .province
        .state
        .store
        .dispatch(&sent.id)
        .unwrap()
        .unwrap()
        .manifest_sha256;
    let fake = make_receipt(
        &Statement::Status {
            dispatch_id: sent.id.clone(),
            manifest_sha256: manifest,
            code: StatusCode::RecallRequested,
            by: org(COMMUNE),
            time: receipt_time(time::OffsetDateTime::now_utc()),
            note: Some("giả mạo".into()),
        },
        &credential(&office_dir(COMMUNE)),
    )
    .unwrap();
    // The district relay's own credential, as a compromised district would use it.
    let as_district = client_expecting(
        &tree.url(PROVINCE),
        &credential(&relay_dir(DISTRICT)),
        congvan_relay::ExpectedRelay::Org(org(PROVINCE)),
    );
    let refused = as_district
        .send_receipt(&ReceiptMessage {
            dest: PROVINCE.into(),
            receipt: fake,
        })
        .await;
    expect_refused(refused, 403, &["is its issuer's to send"]);
    assert!(!tree
        .province
        .state
        .store
        .recall_requested(&sent.id)
        .unwrap());
}
