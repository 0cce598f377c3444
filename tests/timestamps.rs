//! A timestamp authority from the command line: `pki issue --role tsa`
//! makes its certificate (timeStamping, critical, as OpenSSL reads it),
//! `tsa run` serves it, `dispatch sign --tsa` timestamps a signature and
//! `dispatch verify` reports the timestamp. A TSA that is not there leaves
//! the dispatch unsigned, with a clear error. `dispatch preserve` embeds
//! the validation data under an archive timestamp, and `dispatch verify
//! --offline` checks it with the root alone, decades later.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::support::process::{cli_dispatch, congvan, congvan_bin, openssl, repo, tempdir};

/// `congvan tsa run`, stopped when dropped.
struct RunningTsa {
    child: Child,
    url: String,
}

impl Drop for RunningTsa {
    fn drop(&mut self) {
        // Already gone is fine: the test is over either way.
        if self.child.kill().is_ok() {
            self.child.wait().expect("reaping the TSA");
        }
    }
}

/// A free loopback port: bound, then released for the child to take.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn start_tsa(identity: &Path) -> RunningTsa {
    let port = free_port();
    let child = Command::new(congvan_bin())
        .args(["tsa", "run", "--listen", &format!("127.0.0.1:{port}")])
        .args([
            "--identity",
            identity.to_str().unwrap(),
            "--policy",
            "1.2.3.4.1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Owned at once, so that the process is stopped on every path.
    let tsa = RunningTsa {
        child,
        url: format!("http://127.0.0.1:{port}/"),
    };
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return tsa;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    panic!("congvan tsa run did not listen on port {port}");
}

/// `dispatch sign --role signer` with the credential in `official`,
/// timestamped at `tsa_url` whose token is checked under `root`.
fn sign_timestamped(
    file: &Path,
    official: &Path,
    tsa_url: &str,
    root: &Path,
) -> crate::support::process::Run {
    congvan([
        "dispatch",
        "sign",
        file.to_str().unwrap(),
        "--key",
        official.join("key.pem").to_str().unwrap(),
        "--cert",
        official.join("cert.pem").to_str().unwrap(),
        "--role",
        "signer",
        "--tsa",
        tsa_url,
        "--tsa-trust",
        root.to_str().unwrap(),
    ])
}

#[test]
fn a_signature_timestamped_at_a_running_tsa_is_reported_by_verify() {
    let tmp = tempdir();
    let certs = repo().join("certs");
    let tsa_dir = tmp.path().join("tsa");
    congvan([
        "pki",
        "issue",
        "--issuer",
        certs.join("root").to_str().unwrap(),
        "--role",
        "tsa",
        "--name",
        "Dịch vụ cấp dấu thời gian H99",
        "--org",
        "H99",
        "--days",
        "365",
        "--out",
        tsa_dir.to_str().unwrap(),
    ])
    .assert_ok();
    let text = openssl(
        tmp.path(),
        ["x509", "-in", "tsa/cert.pem", "-noout", "-text"],
    )
    .stdout;
    assert!(
        text.contains("X509v3 Extended Key Usage: critical"),
        "{text}"
    );
    assert!(text.contains("Time Stamping"), "{text}");

    let tsa = start_tsa(&tsa_dir);
    let file = tmp.path().join("d.cvd");
    cli_dispatch(
        &certs,
        &file,
        "H99.01.01",
        "7/UBND-VP",
        &["--subject", "Dấu thời gian"],
        &[],
    );
    let official = certs.join("H99.01/official");
    let root = certs.join("root/cert.pem");
    let signed = sign_timestamped(&file, &official, &tsa.url, &root);
    signed.assert_ok();
    assert!(
        signed.stdout.contains("with a signature timestamp"),
        "{signed}"
    );

    let verified = congvan([
        "dispatch",
        "verify",
        file.to_str().unwrap(),
        "--trust",
        root.to_str().unwrap(),
        "--json",
    ]);
    verified.assert_ok();
    let report: serde_json::Value = serde_json::from_str(&verified.stdout).unwrap();
    let stamp = report["signatures"][0]["timestamp"]
        .as_str()
        .unwrap_or_default();
    assert!(
        stamp.contains("Dịch vụ cấp dấu thời gian H99"),
        "{verified}"
    );

    // The TSA goes away: signing fails and writes nothing.
    drop(tsa);
    let before = std::fs::read(&file).unwrap();
    let office = certs.join("H99.01/office");
    let refused = congvan([
        "dispatch",
        "sign",
        file.to_str().unwrap(),
        "--key",
        office.join("key.pem").to_str().unwrap(),
        "--cert",
        office.join("cert.pem").to_str().unwrap(),
        "--role",
        "seal",
        "--tsa",
        "http://127.0.0.1:9/",
        "--tsa-trust",
        root.to_str().unwrap(),
    ]);
    assert_ne!(refused.code, Some(0), "{refused}");
    assert!(refused.stderr.contains("timestamp failed"), "{refused}");
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "a failed timestamp changed the file"
    );
}

/// `pki crl` for the CA in `ca_dir`, into `out`.
fn issue_crl(ca_dir: &Path, out: &Path) {
    congvan([
        "pki",
        "crl",
        "--issuer",
        ca_dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--days",
        "7",
    ])
    .assert_ok();
}

#[test]
fn a_preserved_dispatch_verifies_offline_long_after_its_certificates_expired() {
    let tmp = tempdir();
    let pki = tmp.path().join("pki");
    congvan(["pki", "demo", "--out", pki.to_str().unwrap()]).assert_ok();
    let tsa_dir = tmp.path().join("tsa");
    let root_dir = pki.join("root");
    congvan([
        "pki",
        "issue",
        "--issuer",
        root_dir.to_str().unwrap(),
        "--role",
        "tsa",
        "--name",
        "Dịch vụ cấp dấu thời gian H99",
        "--org",
        "H99",
        "--days",
        "365",
        "--out",
        tsa_dir.to_str().unwrap(),
    ])
    .assert_ok();
    let tsa = start_tsa(&tsa_dir);
    let root = root_dir.join("cert.pem");
    let file = tmp.path().join("d.cvd");
    cli_dispatch(
        &pki,
        &file,
        "H99.01.01",
        "9/UBND-VP",
        &["--subject", "Lưu trữ lâu dài"],
        &[],
    );
    let official = pki.join("H99.01/official");
    sign_timestamped(&file, &official, &tsa.url, &root).assert_ok();

    // Without the CAs' lists there is nothing to preserve with: refused,
    // the file untouched.
    let before = std::fs::read(&file).unwrap();
    let preserve = |crls: &[&Path]| {
        let mut args = vec![
            "dispatch".to_string(),
            "preserve".into(),
            file.display().to_string(),
            "--tsa".into(),
            tsa.url.clone(),
            "--trust".into(),
            root.display().to_string(),
        ];
        for crl in crls {
            args.extend(["--crl".to_string(), crl.display().to_string()]);
        }
        congvan(&args)
    };
    let refused = preserve(&[]);
    assert_ne!(refused.code, Some(0), "{refused}");
    assert!(refused.stderr.contains("no CRL of"), "{refused}");
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "a refused preserve changed the file"
    );

    // The lists issued after the signature's timestamp: preserved.
    let root_crl = tmp.path().join("root.crl");
    let ca_crl = tmp.path().join("ca.crl");
    issue_crl(&root_dir, &root_crl);
    issue_crl(&pki.join("ca-h99"), &ca_crl);
    let preserved = preserve(&[&root_crl, &ca_crl]);
    preserved.assert_ok();
    assert!(preserved.stdout.contains("preserved"), "{preserved}");
    assert!(preserved.stdout.contains("2 CRL(s)"), "{preserved}");
    drop(tsa);

    // In 2040 the official's, the CA's and the authority's certificates
    // have expired; in 2050 the root's too. Only the root is given.
    for at in ["2040-01-01T00:00:00Z", "2050-01-01T00:00:00Z"] {
        let verified = congvan([
            "dispatch",
            "verify",
            file.to_str().unwrap(),
            "--offline",
            "--trust",
            root.to_str().unwrap(),
            "--at",
            at,
            "--json",
        ]);
        verified.assert_ok();
        let report: serde_json::Value = serde_json::from_str(&verified.stdout).unwrap();
        assert_eq!(report["indication"], "PASSED", "{verified}");
        assert_eq!(report["offline"], true, "{verified}");
        let archive = &report["archive_timestamps"][0];
        assert_eq!(archive["anchor_of_proof"], true, "{verified}");
    }
    let text = congvan([
        "dispatch",
        "verify",
        file.to_str().unwrap(),
        "--offline",
        "--trust",
        root.to_str().unwrap(),
        "--at",
        "2040-01-01T00:00:00Z",
    ]);
    text.assert_ok();
    assert!(text.stdout.contains("Archive timestamps"), "{text}");
    assert!(text.stdout.contains("Validated offline"), "{text}");

    // Offline means the embedded data alone: a --crl is refused.
    let mixed = congvan([
        "dispatch",
        "verify",
        file.to_str().unwrap(),
        "--offline",
        "--trust",
        root.to_str().unwrap(),
        "--crl",
        root_crl.to_str().unwrap(),
    ]);
    assert_ne!(mixed.code, Some(0), "{mixed}");
}
