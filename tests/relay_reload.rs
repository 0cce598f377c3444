//! CRLs reload while the relay runs, and revocation reaches connections
//! that were opened before it. An office keeps a connection to its relay
//! alive; its certificate is revoked and the new CRL loaded with
//! `congvan relay reload`: its next request on that same connection is
//! refused, while another office's kept-alive connection goes on working.
//! A CRL file that changes is read by itself, without a restart; an older
//! list put back in the file un-revokes no one; a file that does not load
//! leaves the lists in force and the relay serving.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::process;
use crate::support::relays::*;
use congvan_sign::Credential;

/// A copy of the provincial CA that issues and revokes for the story.
struct Ca {
    dir: PathBuf,
}

impl Ca {
    fn new(base: &Path) -> Ca {
        Ca { dir: copy_ca(base) }
    }

    /// A new office certificate for H99.10, in `out`.
    fn issue_office(&self, out: &Path) -> Credential {
        process::congvan([
            OsStr::new("pki"),
            OsStr::new("issue"),
            OsStr::new("--issuer"),
            self.dir.as_os_str(),
            OsStr::new("--role"),
            OsStr::new("office"),
            OsStr::new("--name"),
            OsStr::new("Sở Thông tin và Truyền thông tỉnh Hà Tĩnh"),
            OsStr::new("--org"),
            OsStr::new("H99.10"),
            OsStr::new("--out"),
            out.as_os_str(),
        ])
        .assert_ok();
        credential(out)
    }

    fn revoke(&self, holder: &Path) {
        process::congvan([
            OsStr::new("pki"),
            OsStr::new("revoke"),
            OsStr::new("--issuer"),
            self.dir.as_os_str(),
            OsStr::new("--cert"),
            holder.join("cert.pem").as_os_str(),
            OsStr::new("--reason"),
            OsStr::new("keyCompromise"),
        ])
        .assert_ok();
    }

    /// Issues the CA's current list into `out`.
    fn crl(&self, out: &Path) {
        process::congvan([
            OsStr::new("pki"),
            OsStr::new("crl"),
            OsStr::new("--issuer"),
            self.dir.as_os_str(),
            OsStr::new("--out"),
            out.as_os_str(),
        ])
        .assert_ok();
    }
}

/// The same PEM list with one bit of its signature flipped.
fn forge_signature(pem: &str) -> String {
    use base64::Engine;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let mut der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    let last = der.len() - 3;
    der[last] ^= 0x01;
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = text
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN X509 CRL-----\n{}\n-----END X509 CRL-----\n",
        lines.join("\n")
    )
}

/// [`reload`] on a blocking thread, while the relay runs on this runtime.
async fn reload_off_runtime(config: &Path) -> process::Run {
    let config = config.to_path_buf();
    tokio::task::spawn_blocking(move || reload(&config))
        .await
        .unwrap()
}

fn reload(config: &Path) -> process::Run {
    process::congvan([
        OsStr::new("relay"),
        OsStr::new("reload"),
        OsStr::new("--config"),
        config.as_os_str(),
    ])
}

/// A refusal of a revoked peer: a 403 that says so, or the connection
/// closed under it.
fn refused(answer: &Result<(u16, String), String>) -> bool {
    match answer {
        Ok((403, body)) => body.contains("revoked"),
        Ok(_) => false,
        Err(_closed) => true,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_peer_is_refused_on_its_kept_alive_connection_after_a_reload() {
    let dir = process::tempdir();
    let ca = Ca::new(dir.path());
    let kept = dir.path().join("kept");
    let other = dir.path().join("other");
    let late = dir.path().join("late");
    let (kept_id, other_id, late_id) = (
        ca.issue_office(&kept),
        ca.issue_office(&other),
        ca.issue_office(&late),
    );
    let crl = dir.path().join("ca-h99.crl.pem");
    ca.crl(&crl);
    let before_revocation = std::fs::read(&crl).unwrap();

    let mut config = relay_config(dir.path(), "H99");
    config.crl = vec![crl.clone()];
    let config_path = dir.path().join("relay.toml");
    config.save(&config_path).unwrap();
    let relay = congvan_relay::start(config).await.unwrap();

    let mut kept_alive = KeptAlive::open(relay.addr, &kept_id).await;
    let mut other_alive = KeptAlive::open(relay.addr, &other_id).await;
    assert_eq!(kept_alive.get("/v1/inbox").await.unwrap().0, 200);
    assert_eq!(other_alive.get("/v1/inbox").await.unwrap().0, 200);

    // Revoked, and the new list loaded by hand.
    ca.revoke(&kept);
    ca.crl(&crl);
    let out = reload_off_runtime(&config_path).await;
    out.assert_ok();
    // The relay may have noticed the changed file a moment before the
    // request: either way the new list is the second generation.
    assert!(out.stdout.contains("(generation 2)"), "{}", out.stdout);

    let next = kept_alive.get("/v1/inbox").await;
    assert!(
        refused(&next),
        "the revoked office's next request: {next:?}"
    );
    assert_eq!(
        other_alive.get("/v1/inbox").await.unwrap().0,
        200,
        "another office's kept-alive connection goes on"
    );
    let again = client_as(&url(relay.addr), &kept_id).inbox().await;
    assert!(again.is_err(), "a new connection is refused too: {again:?}");

    // An older genuine list put back in the file un-revokes no one.
    std::fs::write(&crl, &before_revocation).unwrap();
    let out = reload_off_runtime(&config_path).await;
    assert_ne!(out.code, Some(0), "{}", out.stdout);
    assert!(out.stdout.contains("none is newer"), "{}", out.stdout);
    assert!(
        out.stderr.contains("older than the one in force"),
        "{}",
        out.stderr
    );
    assert!(
        client_as(&url(relay.addr), &kept_id).inbox().await.is_err(),
        "still revoked after the rollback"
    );

    // A file that does not load: the lists in force stay, the relay serves.
    std::fs::write(
        &crl,
        b"-----BEGIN X509 CRL-----\nnot a list\n-----END X509 CRL-----\n",
    )
    .unwrap();
    let out = reload_off_runtime(&config_path).await;
    assert_ne!(out.code, Some(0), "{}", out.stdout);
    assert!(out.stderr.contains("not taken"), "{}", out.stderr);
    assert_eq!(other_alive.get("/v1/inbox").await.unwrap().0, 200);

    // A list in the CA's name with a high number but a forged signature
    // cannot take the CA's place (it would refuse all its certificates).
    // (The genuine new list is made aside, so the relay never sees it yet.)
    ca.revoke(&late);
    let mut late_alive = KeptAlive::open(relay.addr, &late_id).await;
    let staging = dir.path().join("staging.crl.pem");
    ca.crl(&staging);
    let genuine = std::fs::read_to_string(&staging).unwrap();
    std::fs::write(&crl, forge_signature(&genuine)).unwrap();
    let out = reload_off_runtime(&config_path).await;
    assert_ne!(out.code, Some(0), "{}", out.stdout);
    assert!(
        out.stderr.contains("signature does not verify"),
        "{}",
        out.stderr
    );
    assert_eq!(other_alive.get("/v1/inbox").await.unwrap().0, 200);

    // A changed file is read by itself: no command, no restart.
    assert_eq!(
        late_alive.get("/v1/inbox").await.unwrap().0,
        200,
        "not revoked yet in the lists in force"
    );
    std::fs::write(&crl, &genuine).unwrap();
    let status_file = relay.state.config.data.join("reload.status.json");
    let status = eventually(
        "the changed CRL file read by itself",
        Duration::from_secs(15),
        || {
            let status_file = status_file.clone();
            async move {
                let status: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(status_file).ok()?).ok()?;
                (status["cause"] == "file changed" && status["generation"] == 3).then_some(status)
            }
        },
    )
    .await;
    assert_eq!(status["refused"], serde_json::json!([]), "{status}");
    let next = late_alive.get("/v1/inbox").await;
    assert!(refused(&next), "{next:?}");
    assert!(
        client_as(&url(relay.addr), &late_id).inbox().await.is_err(),
        "a new connection is refused too"
    );
    assert_eq!(other_alive.get("/v1/inbox").await.unwrap().0, 200);
    relay.stop().await;
}

#[test]
fn reload_says_when_no_relay_runs() {
    let dir = process::tempdir();
    let config = relay_config(dir.path(), "H99");
    let path = dir.path().join("relay.toml");
    config.save(&path).unwrap();
    let out = reload(&path);
    assert_ne!(out.code, Some(0));
    assert!(out.stderr.contains("no relay is running"), "{}", out.stderr);
}
