//! A relay's message log, batch-timestamped: every dispatch and receipt a
//! relay takes in is logged; once per interval one RFC 3161 token covers a
//! Merkle root of the records not yet stamped. `relay proof ID` exports a
//! dispatch's records with their inclusion proofs, and both `relay
//! check-proof` and Go's `sumdb/tlog` (an implementation that shares no
//! code with congvan) accept them; an altered proof is refused. A timestamp
//! authority that is down delays the batch, never the traffic. With
//! `custody = true` the relay also timestamps its custody receipt, which
//! then keeps an unstamped signature valid past a later revocation.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::process::{self, congvan, Run};
use crate::support::relays::*;
use congvan_envelope::metadata::Urgency;
use congvan_relay::config::TimestampingConfig;
use congvan_sign::{Algorithm, LeafRequest, Role, SigningKey};

const DISTRICT: &str = "H99.01";
const COMMUNE: &str = "H99.01.01";

/// A timestamp authority certified by the demo root, serving on loopback
/// for as long as the test's runtime lives; its URL.
async fn start_tsa() -> String {
    let root = credential(&certs().join("root"));
    let request = LeafRequest {
        role: Role::Tsa,
        name: "Dịch vụ cấp dấu thời gian H99".into(),
        org: org("H99"),
        organization_name: None,
        position: None,
        dns: Vec::new(),
        ips: Vec::new(),
        days: 30,
    };
    let key = SigningKey::generate(Algorithm::EcdsaP256).unwrap();
    let tsa = congvan_sign::issue_leaf(&root, &request, key).unwrap();
    let authority = Arc::new(congvan_tsa::Authority::new(tsa, "1.2.3.4.1").unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(congvan_tsa::serve(listener, authority));
    format!("http://{addr}/")
}

/// The district relay, whose commune relay never answers, stamping its
/// log every second at `tsa` (and its custody receipts too, with
/// `custody`); its configuration is written to relay.toml.
async fn district_relay_with(
    dir: &Path,
    tsa: &str,
    custody: bool,
) -> (congvan_relay::RunningRelay, PathBuf) {
    let mut config = relay_config(dir, DISTRICT);
    add_child(&mut config, COMMUNE, Some("https://127.0.0.1:1"));
    config.timestamping = Some(TimestampingConfig {
        tsa: tsa.to_string(),
        batch_interval_secs: 1,
        custody,
    });
    let toml = dir.join("relay.toml");
    config.save(&toml).unwrap();
    (congvan_relay::start(config).await.unwrap(), toml)
}

async fn district_relay(dir: &Path, tsa: &str) -> (congvan_relay::RunningRelay, PathBuf) {
    district_relay_with(dir, tsa, false).await
}

async fn relay_proof(id: &str, toml: &Path, out: &Path) -> Run {
    let args: Vec<String> = vec![
        "relay".into(),
        "proof".into(),
        id.into(),
        "--config".into(),
        toml.display().to_string(),
        "--out".into(),
        out.display().to_string(),
    ];
    tokio::task::spawn_blocking(move || congvan(args))
        .await
        .unwrap()
}

fn check_proof(proof: &Path, file: Option<&Path>) -> Run {
    let mut args = vec![
        "relay".to_string(),
        "check-proof".into(),
        proof.display().to_string(),
        "--trust".into(),
        root_pem().display().to_string(),
    ];
    if let Some(file) = file {
        args.extend(["--file".to_string(), file.display().to_string()]);
    }
    congvan(args)
}

/// Go's sumdb/tlog on the proof (tests/scripts/tlog_check.go).
fn go_tlog_check(proof: &Path, cache: &Path) -> Run {
    let script = process::repo().join("tests/scripts/tlog_check.go");
    process::run(
        std::process::Command::new("go")
            .arg("run")
            .arg(script)
            .arg(proof)
            .env("GO111MODULE", "off")
            .env("GOPATH", "/usr/share/gocode")
            .env("GOPROXY", "off")
            .env("GOCACHE", cache),
    )
}

/// A copy of the proof at `path` with `change` applied to its JSON.
fn altered(path: &Path, name: &str, change: impl Fn(&mut serde_json::Value)) -> PathBuf {
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    change(&mut json);
    let out = path.with_file_name(name);
    std::fs::write(&out, serde_json::to_vec_pretty(&json).unwrap()).unwrap();
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_relay_batch_timestamps_its_log_and_proves_what_it_held() {
    let dir = process::tempdir();
    let tsa = start_tsa().await;
    let (relay, toml) = district_relay(dir.path(), &tsa).await;
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let author = Author::new(DISTRICT);
    let mut sent = Vec::new();
    for i in 0..5 {
        let dispatch = author.write(&out, &[COMMUNE], Urgency::Thuong, &format!("Báo cáo {i}"));
        send(&url(relay.addr), DISTRICT, &dispatch).await;
        sent.push(dispatch);
    }

    // Within a few seconds a batch covers the dispatch and the relay's own
    // custody receipt for it.
    let proof = dir.path().join("proof.json");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let run = relay_proof(&sent[4].id, &toml, &proof).await;
        run.assert_ok();
        if run.stdout.contains("2 record(s)") && !run.stdout.contains("not yet") {
            break;
        }
        assert!(Instant::now() < deadline, "no batch timestamp came: {run}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&proof).unwrap()).unwrap();
    let records = json["records"].as_array().unwrap();
    assert!(records[0]["record"].as_str().unwrap().starts_with(&format!(
        "congvan-log-record/1 dispatch {} {}",
        sent[4].id,
        sent[4].manifest_sha256()
    )));
    assert!(records[1]["record"].as_str().unwrap().contains(" receipt "));

    let checked = check_proof(&proof, Some(&sent[4].path));
    checked.assert_ok();
    assert!(
        checked.stdout.contains("the proof holds: 2 record(s)"),
        "{checked}"
    );
    assert!(
        checked.stdout.contains("Dịch vụ cấp dấu thời gian H99"),
        "{checked}"
    );

    let go = go_tlog_check(&proof, &dir.path().join("gocache"));
    go.assert_ok();
    assert!(go.stdout.contains("2 inclusion proofs hold"), "{go}");

    // Another dispatch's file is not what the proof is about.
    let other = check_proof(&proof, Some(&sent[3].path));
    assert_eq!(other.code, Some(1), "{other}");

    // A record claiming another manifest: both checkers refuse it.
    let forged = altered(&proof, "forged.json", |json| {
        let record = json["records"][0]["record"].as_str().unwrap().to_string();
        let digest = sent[4].manifest_sha256();
        json["records"][0]["record"] = record.replace(&digest, &"0".repeat(64)).into();
    });
    let refused = check_proof(&forged, None);
    assert_eq!(refused.code, Some(1), "{refused}");
    assert!(
        refused.stderr.contains("inclusion proof does not lead"),
        "{refused}"
    );
    let go = go_tlog_check(&forged, &dir.path().join("gocache"));
    assert_ne!(go.code, Some(0), "{go}");

    // A statement naming another size: its token no longer matches.
    let resized = altered(&proof, "resized.json", |json| {
        let statement = json["records"][0]["statement"]
            .as_str()
            .unwrap()
            .to_string();
        let size = json["records"][0]["size"].as_u64().unwrap();
        json["records"][0]["statement"] = statement
            .replace(&format!("size {size}\n"), &format!("size {}\n", size + 1))
            .into();
        json["records"][0]["size"] = (size + 1).into();
    });
    let refused = check_proof(&resized, None);
    assert_eq!(refused.code, Some(1), "{refused}");
    assert!(refused.stderr.contains("does not hold"), "{refused}");

    // The statement (and the proof) claiming another relay: the tree still
    // checks, the batch timestamp does not.
    let renamed = altered(&proof, "renamed.json", |json| {
        json["relay"] = "H42".into();
        for record in json["records"].as_array_mut().unwrap() {
            let statement = record["statement"]
                .as_str()
                .unwrap()
                .replace("relay H99.01\n", "relay H42\n");
            record["statement"] = statement.into();
        }
    });
    let refused = check_proof(&renamed, None);
    assert_eq!(refused.code, Some(1), "{refused}");
    assert!(refused.stderr.contains("the batch timestamp"), "{refused}");

    // A record the relay never logged, in a proof made from scratch: a
    // one-leaf tree, a statement naming the relay, a genuine token from
    // the authority (which stamps whatever it is sent). Only the relay's
    // signature cannot be made.
    let fake = format!(
        "congvan-log-record/1 dispatch {} {}\n",
        sent[4].id,
        "1".repeat(64)
    );
    let root = congvan_relay::merkle::leaf_hash(fake.as_bytes());
    let fake_statement = congvan_relay::message_log::statement(DISTRICT, 1, 1, &root);
    let imprint = congvan_tsa::Imprint::sha256_of(fake_statement.as_bytes());
    let (token, _) = congvan_tsa::request_token(&tsa, &imprint, &trust())
        .await
        .unwrap();
    let b64 = |bytes: &[u8]| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    let self_made = altered(&proof, "self-made.json", |json| {
        json["records"].as_array_mut().unwrap().truncate(1);
        let record = &mut json["records"][0];
        record["record"] = fake.clone().into();
        record["index"] = 0.into();
        record["size"] = 1.into();
        record["root"] = b64(&root).into();
        record["path"] = serde_json::json!([]);
        record["statement"] = fake_statement.clone().into();
        record["token"] = b64(&token).into();
    });
    let refused = check_proof(&self_made, None);
    assert_eq!(refused.code, Some(1), "{refused}");
    assert!(
        refused
            .stderr
            .contains("the relay's signature does not verify"),
        "{refused}"
    );

    // A dispatch the relay never saw.
    let unknown = relay_proof("00000000-0000-4000-8000-000000000000", &toml, &proof).await;
    assert_ne!(unknown.code, Some(0), "{unknown}");
    assert!(unknown.stderr.contains("holds nothing about"), "{unknown}");
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timestamp_authority_that_is_down_delays_the_batch_not_the_traffic() {
    let dir = process::tempdir();
    // Port 1: nothing listens there.
    let (relay, toml) = district_relay(dir.path(), "http://127.0.0.1:1/").await;
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let dispatch = Author::new(DISTRICT).write(&out, &[COMMUNE], Urgency::Thuong, "Báo cáo");
    send(&url(relay.addr), DISTRICT, &dispatch).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let proof = dir.path().join("proof.json");
    let run = relay_proof(&dispatch.id, &toml, &proof).await;
    run.assert_ok();
    assert!(run.stdout.contains("0 record(s)"), "{run}");
    assert!(
        run.stdout.contains("2 more not yet in a timestamped batch"),
        "{run}"
    );
    relay.stop().await;
}

/// An official signs without a timestamp; the relay stamps its custody
/// receipt at ingress. When the official's key is revoked a minute later,
/// the dispatch the relay keeps still verifies PASSED; without the stamp it
/// is INDETERMINATE / REVOKED_NO_POE.
#[tokio::test(flavor = "multi_thread")]
async fn a_timestamped_custody_receipt_outlives_a_later_revocation() {
    use congvan_envelope::{Envelope, Indication, SubIndication};
    let dir = process::tempdir();
    let tsa = start_tsa().await;
    let (relay, _) = district_relay_with(dir.path(), &tsa, true).await;
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let dispatch = Author::new(DISTRICT).write(&out, &[COMMUNE], Urgency::Thuong, "Báo cáo");
    send(&url(relay.addr), DISTRICT, &dispatch).await;
    let record = relay.state.store.dispatch(&dispatch.id).unwrap().unwrap();
    let kept = dir.path().join("kept.cvd");
    assert!(relay
        .state
        .store
        .copy_dispatch_file(&record, &kept)
        .unwrap());
    relay.stop().await;

    // The official's key, revoked a minute from now; verified two minutes on.
    let ca_dir = copy_ca(dir.path());
    let ca = credential(&ca_dir);
    let now = time::OffsetDateTime::now_utc();
    let mut revocations = congvan_sign::RevocationRecord::default();
    let official = credential(&official_dir(DISTRICT));
    revocations
        .revoke(
            &ca,
            official.cert(),
            congvan_sign::RevocationReason::KeyCompromise,
            now + time::Duration::minutes(1),
        )
        .unwrap();
    let crl = dir.path().join("ca.crl.pem");
    std::fs::write(&crl, revocations.issue_crl(&ca, now, 7).unwrap()).unwrap();
    let mut store = trust();
    store
        .add_crls(congvan_sign::Crl::load_all(&crl).unwrap())
        .unwrap();
    let later = now + time::Duration::minutes(2);

    let mut envelope = Envelope::open(&kept).unwrap();
    let report =
        congvan_envelope::verify_dispatch(&mut envelope, &store, later, &mut |_| {}).unwrap();
    assert_eq!(report.indication, Indication::Passed, "{report}");
    let signer = &report.signatures[0];
    assert!(
        signer
            .timestamp
            .as_deref()
            .is_some_and(|t| t.contains("custody receipt")),
        "{report}"
    );
    assert!(signer.detail.contains("revoked at"), "{report}");

    // The same file with the receipt's timestamp stripped.
    let stripped = dir.path().join("stripped.cvd");
    let entry = envelope.receipts()[0].entry.clone();
    let mut receipt = envelope.receipts()[0].jws.clone();
    receipt.header = None;
    rewrite_cvd(&kept, &stripped, |name, bytes| {
        Some(if name == entry {
            serde_json::to_vec(&receipt).unwrap()
        } else {
            bytes
        })
    });
    let mut envelope = Envelope::open(&stripped).unwrap();
    let report =
        congvan_envelope::verify_dispatch(&mut envelope, &store, later, &mut |_| {}).unwrap();
    assert_eq!(report.indication, Indication::Indeterminate, "{report}");
    assert_eq!(
        report.sub_indication,
        Some(SubIndication::RevokedNoPoe),
        "{report}"
    );
}
