//! A secret dispatch (Mật) travels sealed: encrypted end to end for its
//! recipient offices and its sender, with only a routing header in clear.
//!
//! The adversaries: a relay (or whoever reads its disk) that would read the
//! dispatch; an office that is not a recipient; someone on the path who
//! alters the ciphertext, a tag, the routing header or the recipient list;
//! a relay that hands the sender a certificate of its choosing (from an
//! untrusted CA, or revoked). Python's jwcrypto is the independent JWE
//! implementation both ways.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::process::{self, Run};
use crate::support::relays::*;
use congvan_envelope::metadata::{Secrecy, Urgency};
use congvan_relay::config::PeerMode;

/// An edit of one container entry, as a forger would make it.
type Edit = dyn Fn(&str, &mut Vec<u8>) -> bool;

const SUBJECT_MARK: &str = "MARKER-SUBJECT-7f3a";
const BODY_MARK: &str = "MARKER-BODY-91c2";
const ATTACHMENT_MARK: &str = "MARKER-ATTACHMENT-5d0e";

/// A secret dispatch from `from` to `to`, with an attachment of `size`
/// bytes; the subject, body and attachment carry the markers.
fn secret_dispatch(dir: &Path, from: &str, to: &[&str], size: usize) -> Dispatch {
    let mut attachment = ATTACHMENT_MARK.as_bytes().to_vec();
    attachment.resize(size.max(attachment.len()), b'.');
    Author::new(from).write_edited(
        dir,
        to,
        Urgency::Khan,
        &format!("Về việc bảo vệ bí mật nhà nước {SUBJECT_MARK}"),
        Some(("phu-luc.txt", &attachment)),
        |m| {
            m.secrecy = Some(Secrecy::Mat);
            m.content = format!("Nội dung mật {BODY_MARK}.\n");
        },
    )
}

/// The district H99.01's secret dispatch to its two communes.
fn district_secret(dir: &Path, size: usize) -> Dispatch {
    secret_dispatch(dir, "H99.01", &["H99.01.01", "H99.01.02"], size)
}

fn oracle(args: &[&str]) -> Run {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/support/jwe_oracle.py");
    let mut all = vec![script.display().to_string()];
    all.extend(args.iter().map(|s| s.to_string()));
    process::run(std::process::Command::new("python3").args(all))
}

fn encrypt_args(inner: &Path, to: &[&str], out: &Path) -> Vec<String> {
    let mut args = vec![
        "dispatch".to_string(),
        "encrypt".into(),
        inner.display().to_string(),
    ];
    for code in to {
        args.push("--to-cert".into());
        args.push(encryption_dir(code).join("cert.pem").display().to_string());
    }
    args.extend([
        "--identity".into(),
        office_dir("H99.01").display().to_string(),
        "--trust".into(),
        root_pem().display().to_string(),
        "--out".into(),
        out.display().to_string(),
    ]);
    args
}

fn decrypt(sealed: &Path, code: &str, out: &Path) -> Run {
    let key = encryption_dir(code).join("key.pem");
    process::congvan([
        "dispatch".as_ref(),
        "decrypt".as_ref(),
        sealed.as_os_str(),
        "--key".as_ref(),
        key.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ])
}

/// Every byte of every file below `dir`.
fn every_file(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            every_file(&path, out);
        } else {
            out.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn jwcrypto_decrypts_each_recipients_entry_and_congvan_decrypts_what_jwcrypto_made() {
    let dir = process::tempdir();
    // 17.5 MB: eighteen chunks, the last one short; and, as one JWE from
    // jwcrypto, larger than any one chunk congvan writes.
    let inner = district_secret(dir.path(), 17_500_000);
    let sealed = dir.path().join("sealed.cvd");
    process::congvan(encrypt_args(
        &inner.path,
        &["H99.01.01", "H99.01.02", "H99.01"],
        &sealed,
    ))
    .assert_ok();
    let original = std::fs::read(&inner.path).unwrap();
    for code in ["H99.01.01", "H99.01.02", "H99.01"] {
        let out = dir.path().join(format!("by-jwcrypto-{code}.cvd"));
        let key = encryption_dir(code).join("key.pem");
        oracle(&[
            "decrypt-sealed",
            &sealed.display().to_string(),
            &key.display().to_string(),
            &out.display().to_string(),
        ])
        .assert_ok();
        assert_eq!(std::fs::read(&out).unwrap(), original, "{code}");
    }

    // The other way: a JWE that jwcrypto made for a congvan certificate.
    let jwe = dir.path().join("from-jwcrypto.jwe");
    let cert = encryption_dir("H99.01.02").join("cert.pem");
    oracle(&[
        "encrypt",
        &cert.display().to_string(),
        &inner.path.display().to_string(),
        &jwe.display().to_string(),
    ])
    .assert_ok();
    let out = dir.path().join("from-jwcrypto.cvd");
    decrypt(&jwe, "H99.01.02", &out).assert_ok();
    assert_eq!(std::fs::read(&out).unwrap(), original);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_dispatch_crosses_three_relays_none_of_which_can_read_it() {
    let dir = process::tempdir();
    // Province above district above commune, each pulling from above.
    let mut province = relay_config(dir.path(), "H99");
    add_child(&mut province, "H99.01", None);
    let province = congvan_relay::start(province).await.unwrap();
    let mut district = relay_below(dir.path(), "H99.01", &province, PeerMode::Pull);
    add_child(&mut district, "H99.01.01", None);
    let district = congvan_relay::start(district).await.unwrap();
    let commune = relay_below(dir.path(), "H99.01.01", &district, PeerMode::Pull);
    let commune = congvan_relay::start(commune).await.unwrap();

    // The province sends a secret dispatch to the commune; `send` seals it.
    let inner = secret_dispatch(&dir.path().join("out"), "H99", &["H99.01.01"], 100);
    // One whose attachment was altered after signing is not sealed at all:
    // no relay could check it once encrypted, so `send` checks it first.
    let altered = dir.path().join("altered.cvd");
    rewrite_cvd(&inner.path, &altered, |entry, mut bytes| {
        if entry.starts_with("attachments/") {
            bytes[0] ^= 0x01;
        }
        Some(bytes)
    });
    let run = clerk(
        "send",
        &url(province.addr),
        "H99",
        &[altered.display().to_string()],
    )
    .await;
    run.assert_code(1);
    assert!(run.stderr.contains("does not verify"), "{run}");
    // Sent in clear, it is refused: a secret dispatch is never stored so.
    let clear = client(&url(province.addr), "H99")
        .send_file(&inner.path)
        .await;
    expect_refused(clear, 422, &["not encrypted"]);
    let sent = clerk(
        "send",
        &url(province.addr),
        "H99",
        &[inner.path.display().to_string()],
    )
    .await;
    sent.assert_ok();
    assert!(sent.stdout.contains("encrypted"), "{sent}");

    wait_inbox(
        &url(commune.addr),
        "H99.01.01",
        &inner.id,
        Duration::from_secs(40),
    )
    .await;
    // The listing carries no subject.
    let listing = clerk("inbox", &url(commune.addr), "H99.01.01", &["--json"]).await;
    listing.assert_ok();
    assert!(!listing.stdout.contains(SUBJECT_MARK), "{listing}");

    // The commune fetches: decrypted with its key, then verified.
    let fetched = dir.path().join("fetched.cvd");
    let run = clerk(
        "fetch",
        &url(commune.addr),
        "H99.01.01",
        &[
            inner.id.clone(),
            "--out".into(),
            fetched.display().to_string(),
        ],
    )
    .await;
    run.assert_ok();
    assert!(run.stdout.contains("PASSED"), "{run}");
    assert_eq!(
        std::fs::read(&fetched).unwrap(),
        std::fs::read(&inner.path).unwrap()
    );
    // The commune answers "received" with the copy it decrypted: the status
    // names the sealed dispatch the relays hold, and reaches the province.
    clerk(
        "ack",
        &url(commune.addr),
        "H99.01.01",
        &[
            inner.id.clone(),
            "--status".into(),
            "03".into(),
            "--file".into(),
            fetched.display().to_string(),
        ],
    )
    .await
    .assert_ok();
    eventually(
        "the status at the province",
        Duration::from_secs(40),
        || {
            let id = inner.id.clone();
            let province_url = url(province.addr);
            async move {
                let events = track_json(&province_url, "H99", &id).await;
                events
                    .iter()
                    .any(|e| e.code.as_deref() == Some("03"))
                    .then_some(())
            }
        },
    )
    .await;

    // Every relay's data, read as raw bytes: databases, journals, blobs.
    let mut files = Vec::new();
    for relay in [&province, &district, &commune] {
        every_file(&relay.state.config.data, &mut files);
    }
    assert!(files.len() > 3, "{files:?}");
    for (path, bytes) in &files {
        for mark in [SUBJECT_MARK, BODY_MARK, ATTACHMENT_MARK] {
            assert!(!contains(bytes, mark), "{} holds {mark}", path.display());
        }
    }
}

#[test]
fn a_non_recipient_cannot_decrypt_and_every_alteration_is_refused() {
    let dir = process::tempdir();
    let inner = district_secret(dir.path(), 100_000);
    let sealed = dir.path().join("sealed.cvd");
    process::congvan(encrypt_args(
        &inner.path,
        &["H99.01.01", "H99.01.02", "H99.01"],
        &sealed,
    ))
    .assert_ok();

    // An office that is not a recipient: a clear refusal, nothing written.
    let out = dir.path().join("h99.02.cvd");
    let run = decrypt(&sealed, "H99.02", &out);
    run.assert_code(1);
    assert!(run.stderr.contains("not a recipient"), "{run}");
    assert!(!out.exists());

    let verify = |file: &Path| {
        process::congvan([
            "dispatch".as_ref(),
            "verify".as_ref(),
            file.as_os_str(),
            "--trust".as_ref(),
            root_pem().as_os_str(),
        ])
    };
    verify(&sealed).assert_ok();
    // Both layers, with a recipient's key: the seal, then the dispatch inside.
    let both = |code: &str| {
        let key = encryption_dir(code).join("key.pem");
        process::congvan([
            "dispatch".as_ref(),
            "verify".as_ref(),
            sealed.as_os_str(),
            "--trust".as_ref(),
            root_pem().as_os_str(),
            "--key".as_ref(),
            key.as_os_str(),
        ])
    };
    let run = both("H99.01.01");
    run.assert_ok();
    assert!(
        run.stdout.contains("sealed by the sending office H99.01"),
        "{run}"
    );
    assert!(run.stdout.contains("Inside"), "{run}");
    assert!(run.stdout.contains(SUBJECT_MARK), "{run}");
    let run = both("H99.02");
    run.assert_code(1);
    assert!(run.stderr.contains("not a recipient"), "{run}");

    let flip = |name: &'static str, at: usize| {
        move |entry: &str, mut bytes: Vec<u8>| {
            if entry == name {
                let i = at.min(bytes.len() - 1);
                bytes[i] ^= 0x01;
            }
            Some(bytes)
        }
    };
    // The ciphertext: the seal still holds (it covers the tags), the
    // recipient's decryption refuses it.
    let altered = dir.path().join("ciphertext.cvd");
    rewrite_cvd(&sealed, &altered, flip("ciphertext.bin", 5000));
    let run = decrypt(&altered, "H99.01.01", &dir.path().join("a.cvd"));
    run.assert_code(1);
    assert!(run.stderr.contains("does not authenticate"), "{run}");
    assert!(!dir.path().join("a.cvd").exists());

    // A tag, the routing header, the recipient list: the sender's seal no
    // longer covers them, and decryption refuses them too.
    let edits: [(&str, Box<Edit>); 3] = [
        (
            "tag",
            Box::new(|entry, bytes| {
                if entry == "jwe.json" {
                    let mut json: serde_json::Value = serde_json::from_slice(bytes).unwrap();
                    let tag = json["tag"].as_str().unwrap().to_string();
                    let first = if tag.starts_with('A') { "B" } else { "A" };
                    json["tag"] = format!("{first}{}", &tag[1..]).into();
                    *bytes = serde_json::to_vec_pretty(&json).unwrap();
                }
                true
            }),
        ),
        (
            "routing",
            Box::new(|entry, bytes| {
                if entry == "routing.json" {
                    // Raise the urgency, as a relay wanting priority would.
                    let mut json: serde_json::Value = serde_json::from_slice(bytes).unwrap();
                    assert_ne!(json["urgency"], 3);
                    json["urgency"] = 3.into();
                    *bytes = serde_json::to_vec_pretty(&json).unwrap();
                }
                true
            }),
        ),
        (
            "recipients",
            Box::new(|entry, bytes| {
                if entry == "jwe.json" {
                    let mut json: serde_json::Value = serde_json::from_slice(bytes).unwrap();
                    json["recipients"].as_array_mut().unwrap().remove(0);
                    *bytes = serde_json::to_vec_pretty(&json).unwrap();
                }
                true
            }),
        ),
    ];
    for (what, edit) in edits {
        let altered = dir.path().join(format!("{what}.cvd"));
        rewrite_cvd(&sealed, &altered, |e, mut b| {
            edit(e, &mut b);
            Some(b)
        });
        let run = verify(&altered);
        assert_eq!(run.code, Some(1), "{what}: {run}");
        assert!(run.stdout.contains("FAILED"), "{what}: {run}");
        // Past the seal, straight to decryption: refused as well.
        let mut opened = congvan_envelope::SealedEnvelope::open(&altered).unwrap();
        let key = congvan_secret::DecryptionKey::load(&encryption_dir("H99.01.02"), None).unwrap();
        let out = dir.path().join(format!("{what}-out.cvd"));
        let result = congvan_secret::open_sealed(&mut opened, &key, &out);
        assert!(result.is_err(), "{what}: decrypted anyway");
        assert!(!out.exists(), "{what}");
    }
}

#[test]
fn encryption_certificates_from_an_untrusted_ca_or_revoked_are_refused_when_sending() {
    let dir = process::tempdir();
    let inner = district_secret(dir.path(), 1000);
    let pki = |args: &[&str]| {
        let mut all = vec!["pki"];
        all.extend(args);
        process::congvan(all)
    };

    // Another province's PKI, which this trust store does not know, with an
    // encryption certificate in the name of a recipient.
    let other = dir.path().join("other");
    let root = other.join("root");
    let ca = other.join("ca");
    let fake = other.join("fake");
    let s = |p: &Path| p.display().to_string();
    pki(&["init-root", "--name", "CA gốc khác", "--out", &s(&root)]).assert_ok();
    pki(&[
        "issue-ca",
        "--issuer",
        &s(&root),
        "--name",
        "CA tỉnh khác",
        "--org",
        "H99",
        "--out",
        &s(&ca),
    ])
    .assert_ok();
    pki(&[
        "issue",
        "--issuer",
        &s(&ca),
        "--role",
        "encryption",
        "--name",
        "Ủy ban nhân dân xã Cẩm Thạch",
        "--org",
        "H99.01.01",
        "--out",
        &s(&fake),
    ])
    .assert_ok();
    let mut args = encrypt_args(
        &inner.path,
        &["H99.01.02", "H99.01"],
        &dir.path().join("x.cvd"),
    );
    args.extend(["--to-cert".into(), s(&fake.join("cert.pem"))]);
    let run = process::congvan(args);
    run.assert_code(1);
    assert!(
        run.stderr.contains("encryption certificate of H99.01.01"),
        "{run}"
    );
    assert!(!dir.path().join("x.cvd").exists());

    // Another province's CA under the same national root, forging an
    // encryption certificate for the commune (openssl signs what congvan's
    // own tools would refuse to issue): outside that CA's subtree.
    let h98 = dir.path().join("ca-h98");
    pki(&[
        "issue-ca",
        "--issuer",
        &s(&certs().join("root")),
        "--name",
        "CA tỉnh H98",
        "--org",
        "H98",
        "--out",
        &s(&h98),
    ])
    .assert_ok();
    let forged_dir = dir.path().join("forged");
    std::fs::create_dir_all(&forged_dir).unwrap();
    let key = forged_dir.join("key.pem");
    let csr = forged_dir.join("req.csr");
    let ext = forged_dir.join("ext.cnf");
    let forged = forged_dir.join("cert.pem");
    std::fs::write(
        &ext,
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,keyAgreement\n\
         extendedKeyUsage=2.25.171838327477816780108237510255657800027.1.4\n\
         subjectAltName=URI:urn:congvan:org:H99.01.01\nsubjectKeyIdentifier=hash\n\
         authorityKeyIdentifier=keyid\n",
    )
    .unwrap();
    let openssl = |args: &[&str]| process::run(std::process::Command::new("openssl").args(args));
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        &s(&key),
    ])
    .assert_ok();
    openssl(&[
        "req",
        "-new",
        "-key",
        &s(&key),
        "-subj",
        "/C=VN/CN=Forged commune",
        "-out",
        &s(&csr),
    ])
    .assert_ok();
    openssl(&[
        "x509",
        "-req",
        "-in",
        &s(&csr),
        "-CA",
        &s(&h98.join("cert.pem")),
        "-CAkey",
        &s(&h98.join("key.pem")),
        "-set_serial",
        "4242",
        "-days",
        "365",
        "-sha256",
        "-extfile",
        &s(&ext),
        "-out",
        &s(&forged),
    ])
    .assert_ok();
    std::fs::copy(h98.join("cert.pem"), forged_dir.join("chain.pem")).unwrap();
    let mut args = encrypt_args(
        &inner.path,
        &["H99.01.02", "H99.01"],
        &dir.path().join("z.cvd"),
    );
    args.extend(["--to-cert".into(), s(&forged)]);
    let run = process::congvan(args);
    run.assert_code(1);
    assert!(run.stderr.contains("outside the subtree"), "{run}");
    assert!(!dir.path().join("z.cvd").exists());

    // A revoked one: the CA revokes the commune's encryption certificate.
    let ca = copy_ca(dir.path());
    let cert = encryption_dir("H99.01.01").join("cert.pem");
    pki(&[
        "revoke",
        "--issuer",
        &s(&ca),
        "--cert",
        &s(&cert),
        "--reason",
        "keyCompromise",
    ])
    .assert_ok();
    let crl = dir.path().join("crl.pem");
    pki(&["crl", "--issuer", &s(&ca), "--out", &s(&crl)]).assert_ok();
    let mut args = encrypt_args(
        &inner.path,
        &["H99.01.01", "H99.01.02", "H99.01"],
        &dir.path().join("y.cvd"),
    );
    args.extend(["--crl".into(), s(&crl)]);
    let run = process::congvan(args);
    run.assert_code(1);
    assert!(run.stderr.to_lowercase().contains("revoked"), "{run}");
    assert!(!dir.path().join("y.cvd").exists());
}
