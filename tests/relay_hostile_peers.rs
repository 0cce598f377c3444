//! Hostile parties with valid certificates of the PKI, on real sockets.
//!
//! - Receipts: a relay that is not a peer, a peer relay reporting for an
//!   office that is not a recipient, a relay off the dispatch's route, a
//!   malleated copy of a genuine receipt: all refused with a reason, none
//!   in the sender's timeline; an office that acknowledges twice makes one
//!   event and one notice.
//! - Impostors: a relay certificate of another organization, and one for
//!   the right organization issued by another province's CA (made with the
//!   real openssl), answer at a relay's address. Send, push and pull give
//!   them nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::disallowed_macros)] // test progress output

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::support::process;
use crate::support::relays::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use congvan_envelope::metadata::Urgency;
use congvan_envelope::{make_receipt, receipt_time, Jws, Statement, StatusCode};
use congvan_notify::{MailConfig, SmtpSecurity};
use congvan_relay::api::{Ack, ReceiptMessage};
use congvan_relay::config::PeerMode;
use congvan_relay::{ExpectedRelay, RunningRelay};
use congvan_sign::Credential;
use time::OffsetDateTime;

fn custody(dispatch: &Dispatch, relay_code: &str, credential: &Credential) -> Jws {
    let statement = Statement::Custody {
        dispatch_id: dispatch.id.clone(),
        manifest_sha256: dispatch.manifest_sha256(),
        signatures: Vec::new(),
        relay: org(relay_code),
        relay_name: relay_name(relay_code),
        time: receipt_time(OffsetDateTime::now_utc()),
    };
    make_receipt(&statement, credential).unwrap()
}

fn status(dispatch: &Dispatch, office: &str, code: StatusCode, note: &str) -> Jws {
    let statement = Statement::Status {
        dispatch_id: dispatch.id.clone(),
        manifest_sha256: dispatch.manifest_sha256(),
        code,
        by: org(office),
        time: receipt_time(OffsetDateTime::now_utc()),
        note: Some(note.into()),
    };
    make_receipt(&statement, &credential(&office_dir(office))).unwrap()
}

/// A mail configuration whose server is never reached: notices stay queued
/// in the relay's store, where they are counted.
fn unreachable_mail() -> MailConfig {
    let mut offices = BTreeMap::new();
    offices.insert("H99.01".to_string(), vec!["vanthu@ubnd-h99-01.test".into()]);
    MailConfig {
        host: "127.0.0.1".into(),
        port: free_addr().port(),
        security: SmtpSecurity::None,
        username: None,
        password_file: None,
        password_env: None,
        from: "congvan <congvan@relay.test>".into(),
        offices,
        digest_hour: 7,
        retry_secs: 3600,
        check_secs: 3600,
    }
}

/// Notices queued for `office` about `id` whose text mentions `words`.
fn notices(relay: &RunningRelay, office: &str, words: &str) -> usize {
    let db = rusqlite::Connection::open(relay.state.store.path()).unwrap();
    let mut stmt = db
        .prepare("SELECT notice FROM mail_outbox WHERE office = ?1")
        .unwrap();
    let rows: Vec<String> = stmt
        .query_map([office], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    rows.iter().filter(|n| n.contains(words)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_from_those_not_entitled_are_refused_and_absent_from_track() {
    let dir = process::tempdir();
    // The district relay, pushing to commune H99.01.01; commune H99.01.02
    // is a configured child too (a peer, but not on this dispatch's route).
    let district_addr = free_addr();
    let mut commune_config = relay_config(dir.path(), "H99.01.01");
    set_parent(
        &mut commune_config,
        "H99.01",
        &url(district_addr),
        PeerMode::Push,
    );
    let commune = congvan_relay::start(commune_config).await.unwrap();
    let mut district_config = relay_config(dir.path(), "H99.01");
    district_config.listen = district_addr;
    add_child(&mut district_config, "H99.01.01", Some(&url(commune.addr)));
    add_child(&mut district_config, "H99.01.02", None);
    district_config.mail = Some(unreachable_mail());
    let district = congvan_relay::start(district_config).await.unwrap();
    let district_url = url(district.addr);

    let d = Author::new("H99.01").write(
        &dir.path().join("out"),
        &["H99.01.01"],
        Urgency::Thuong,
        "Về việc kiểm tra biên nhận",
    );
    send(&district_url, "H99.01", &d).await;
    wait_inbox(
        &url(commune.addr),
        "H99.01.01",
        &d.id,
        Duration::from_secs(10),
    )
    .await;
    // The genuine timeline: the district's and the commune's custody.
    let genuine = eventually(
        "the commune's custody receipt",
        Duration::from_secs(10),
        || {
            let district_url = district_url.clone();
            let id = d.id.clone();
            async move {
                let events = track_json(&district_url, "H99.01", &id).await;
                (events.len() == 2).then_some(events)
            }
        },
    )
    .await;

    let as_relay = |code: &str| {
        client_expecting(
            &district_url,
            &credential(&relay_dir(code)),
            ExpectedRelay::Org(org("H99.01")),
        )
    };
    let message = |receipt: Jws| ReceiptMessage {
        dest: "H99.01".into(),
        receipt,
    };

    // A relay that is not a peer of the district.
    let h99_02 = credential(&relay_dir("H99.02"));
    expect_refused(
        as_relay("H99.02")
            .send_receipt(&message(custody(&d, "H99.02", &h99_02)))
            .await,
        403,
        &["not a configured peer"],
    );
    // A peer the dispatch was not handed to, reporting for its own office.
    expect_refused(
        as_relay("H99.01.02")
            .send_receipt(&message(status(
                &d,
                "H99.01.02",
                StatusCode::Rejected,
                "Từ chối",
            )))
            .await,
        403,
        &["did not hand dispatch"],
    );
    // The peer on the route, passing on what others cannot say.
    let on_route = as_relay("H99.01.01");
    expect_refused(
        on_route
            .send_receipt(&message(status(
                &d,
                "H99.01.02",
                StatusCode::Rejected,
                "giả mạo",
            )))
            .await,
        403,
        &["is not a recipient"],
    );
    expect_refused(
        on_route
            .send_receipt(&message(custody(&d, "H99.02", &h99_02)))
            .await,
        403,
        &["cannot be on the route"],
    );
    let non_delivery = Statement::NonDelivery {
        dispatch_id: d.id.clone(),
        manifest_sha256: d.manifest_sha256(),
        relay: org("H99.02"),
        undelivered: vec![org("H99.01.01")],
        reason: "giả mạo".into(),
        time: receipt_time(OffsetDateTime::now_utc()),
    };
    expect_refused(
        on_route
            .send_receipt(&message(make_receipt(&non_delivery, &h99_02).unwrap()))
            .await,
        403,
        &["cannot report non-delivery"],
    );
    // Towards another office than the dispatch's sender.
    expect_refused(
        on_route
            .send_receipt(&ReceiptMessage {
                dest: "H99.02".into(),
                receipt: status(&d, "H99.01.01", StatusCode::Rejected, "x"),
            })
            .await,
        422,
        &["go back to its sender"],
    );
    // A malleated copy of the commune's genuine custody receipt (s → n − s):
    // valid ECDSA, a different signature value, the same statement.
    let commune_custody = genuine
        .iter()
        .find(|e| e.actor.contains("h99-01-01"))
        .unwrap();
    let mut twin: Jws = serde_json::from_str(&commune_custody.receipt).unwrap();
    twin.signature =
        URL_SAFE_NO_PAD.encode(flip_s(&URL_SAFE_NO_PAD.decode(&twin.signature).unwrap()));
    expect_refused(
        on_route.send_receipt(&message(twin)).await,
        422,
        &["high-s"],
    );

    // The recipient rejects, twice (two signed statements, one meaning).
    let commune_url = url(commune.addr);
    for note in ["Sai thể thức", "Sai thể thức (gửi lại)"] {
        client(&commune_url, "H99.01.01")
            .ack(
                &d.id,
                &Ack {
                    receipt: status(&d, "H99.01.01", StatusCode::Rejected, note),
                },
            )
            .await
            .unwrap();
    }
    let events = eventually(
        "the rejection at the sender",
        Duration::from_secs(10),
        || {
            let district_url = district_url.clone();
            let id = d.id.clone();
            async move {
                let events = track_json(&district_url, "H99.01", &id).await;
                events
                    .iter()
                    .any(|e| e.code.as_deref() == Some("02"))
                    .then_some(events)
            }
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let events = {
        let again = track_json(&district_url, "H99.01", &d.id).await;
        assert_eq!(again.len(), events.len(), "{again:#?}");
        again
    };
    let kinds: Vec<(&str, Option<&str>, &str)> = events
        .iter()
        .map(|e| (e.kind.as_str(), e.code.as_deref(), e.actor.as_str()))
        .collect();
    assert_eq!(events.len(), 3, "{kinds:?}");
    assert_eq!(
        events.iter().filter(|e| e.kind == "custody").count(),
        2,
        "{kinds:?}"
    );
    assert!(events.iter().all(|e| !e.description.contains("giả mạo")));
    assert!(events.iter().all(|e| !e.actor.contains("H99.02")));
    assert_eq!(notices(&district, "H99.01", "Sai thể thức"), 1);
}

/// (r, n − s) for a P-256 signature.
fn flip_s(signature: &[u8]) -> Vec<u8> {
    const N: [u8; 32] = [
        0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63,
        0x25, 0x51,
    ];
    let mut out = signature.to_vec();
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut digit = i16::from(N[i]) - i16::from(out[32 + i]) - borrow;
        borrow = i16::from(digit < 0);
        if digit < 0 {
            digit += 256;
        }
        out[32 + i] = digit as u8;
    }
    out
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run openssl (scripts/install-test-deps.sh installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A relay credential for H99.01 issued by a provincial CA for H98 under the
/// demo root: the right organization, from a CA not allowed to vouch for it.
fn rogue_province_relay(dir: &Path) -> PathBuf {
    let work = dir.join("rogue-ca");
    std::fs::create_dir_all(&work).unwrap();
    let root = certs().join("root");
    std::fs::write(
        work.join("ext.cnf"),
        "[ca]\nbasicConstraints=critical,CA:true,pathlen:0\n\
         keyUsage=critical,keyCertSign,cRLSign,digitalSignature\n\
         subjectAltName=URI:urn:congvan:org:H98\n\
         subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n\
         [relay]\nbasicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\n\
         extendedKeyUsage=serverAuth,clientAuth,2.25.171838327477816780108237510255657800027.1.3\n\
         subjectAltName=URI:urn:congvan:org:H99.01,IP:127.0.0.1,DNS:localhost\n\
         subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    )
    .unwrap();
    let root_cert = root.join("cert.pem");
    let root_key = root.join("key.pem");
    openssl(
        &work,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "ca.key",
        ],
    );
    openssl(
        &work,
        &[
            "req",
            "-new",
            "-key",
            "ca.key",
            "-subj",
            "/C=VN/CN=CA H98 (rogue)",
            "-out",
            "ca.csr",
        ],
    );
    openssl(
        &work,
        &[
            "x509",
            "-req",
            "-in",
            "ca.csr",
            "-CA",
            root_cert.to_str().unwrap(),
            "-CAkey",
            root_key.to_str().unwrap(),
            "-set_serial",
            "0x4098",
            "-days",
            "30",
            "-extfile",
            "ext.cnf",
            "-extensions",
            "ca",
            "-out",
            "ca.pem",
        ],
    );
    let out = dir.join("rogue-relay");
    std::fs::create_dir_all(&out).unwrap();
    openssl(
        &work,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "relay.key",
        ],
    );
    openssl(
        &work,
        &[
            "req",
            "-new",
            "-key",
            "relay.key",
            "-subj",
            "/C=VN/CN=Relay H99.01",
            "-out",
            "relay.csr",
        ],
    );
    openssl(
        &work,
        &[
            "x509",
            "-req",
            "-in",
            "relay.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-set_serial",
            "0x4099",
            "-days",
            "20",
            "-extfile",
            "ext.cnf",
            "-extensions",
            "relay",
            "-out",
            "relay.pem",
        ],
    );
    std::fs::copy(work.join("relay.pem"), out.join("cert.pem")).unwrap();
    std::fs::copy(work.join("relay.key"), out.join("key.pem")).unwrap();
    std::fs::copy(work.join("ca.pem"), out.join("chain.pem")).unwrap();
    out
}

/// An impostor answering for relay H99.01 with the credential in `tls`.
async fn impostor(dir: &Path, tls: PathBuf) -> RunningRelay {
    let mut config = relay_config(&dir.join("impostor"), "H99.01");
    config.tls = tls;
    // It lets the commune pull from it, to see whether the commune would.
    add_child(&mut config, "H99.01.01", None);
    congvan_relay::start(config).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_impostor_relay_receives_nothing_from_send_push_or_pull() {
    let dir = process::tempdir();
    let impostors = [
        ("a relay of another organization", relay_dir("H99.02")),
        (
            "a relay for H99.01 from another province's CA",
            rogue_province_relay(dir.path()),
        ),
    ];
    for (i, (what, tls)) in impostors.into_iter().enumerate() {
        eprintln!("impostor: {what}");
        let base = dir.path().join(format!("case-{i}"));
        let fake = impostor(&base, tls).await;
        let fake_url = url(fake.addr);

        // Send: the district's clerk, pointed at the impostor.
        let d = Author::new("H99.01").write(
            &base.join("out"),
            &["H99.01.01"],
            Urgency::HoaToc,
            "Gửi nhầm máy chủ",
        );
        let run = clerk("send", &fake_url, "H99.01", &[d.path.to_str().unwrap()]).await;
        run.assert_code(1);
        assert!(
            run.stderr.contains("not the expected relay"),
            "{what}: {run}"
        );
        // The registry names the relay too: the same refusal.
        let run = clerk(
            "send",
            &fake_url,
            "H99.01",
            &[
                d.path.to_str().unwrap(),
                "--registry",
                registry_path().to_str().unwrap(),
            ],
        )
        .await;
        run.assert_code(1);

        // Push: a commune whose parent address now answers as the impostor.
        let mut commune_config = relay_config(&base, "H99.01.01");
        set_parent(&mut commune_config, "H99.01", &fake_url, PeerMode::Pull);
        let commune = congvan_relay::start(commune_config).await.unwrap();
        let up = Author::new("H99.01.01").write(
            &base.join("out"),
            &["H99.01"],
            Urgency::HoaToc,
            "Báo cáo lên huyện",
        );
        send(&url(commune.addr), "H99.01.01", &up).await;

        // Pull: the impostor holds a genuine dispatch for the commune (put
        // there through a raw connection, as a replaying attacker would).
        let down = Author::new("H99.01").write(
            &base.join("out"),
            &["H99.01.01"],
            Urgency::HoaToc,
            "Văn bản phát lại",
        );
        let answer = raw_request(
            fake.addr,
            tls_config_with(&credential(&office_dir("H99.01"))),
            "POST",
            "/v1/dispatches",
            "application/vnd.congvan.dispatch+zip",
            &down.bytes(),
        )
        .await;
        assert_eq!(answer.status, Some(200), "{answer:?}");

        // Several retry rounds later: nothing reached the impostor, nothing
        // was pulled from it, the upward dispatch is still queued.
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(
            fake.state.store.dispatch(&d.id).unwrap().is_none(),
            "{what}"
        );
        assert!(
            fake.state.store.dispatch(&up.id).unwrap().is_none(),
            "{what}"
        );
        let queued = commune
            .state
            .store
            .queued_recipients(&up.id, &relay_name("H99.01"))
            .unwrap();
        assert_eq!(queued, ["H99.01"], "{what}: not marked forwarded");
        assert!(
            commune.state.store.dispatch(&down.id).unwrap().is_none(),
            "{what}: the commune pulled from the impostor"
        );
        let offered = fake
            .state
            .store
            .due(&relay_name("H99.01.01"), i64::MAX, 10)
            .unwrap();
        assert_eq!(
            offered.len(),
            1,
            "{what}: a pull was confirmed to the impostor"
        );
        commune.stop().await;
        fake.stop().await;
    }
}
