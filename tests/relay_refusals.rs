//! Acceptance 5: refusals. Each is refused with a clear reason, nothing is
//! stored or forwarded, and the relay keeps serving others throughout
//! (after each refusal a valid send from another office succeeds).
//!
//! Every test runs its own province relay (serving offices H99 and H99.10)
//! in-process, with district H99.01 as a pulling child: the next hop of
//! anything addressed to H99.01, which must receive nothing refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::disallowed_macros)] // test progress output

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::process;
use crate::support::relays::*;
use congvan_envelope::metadata::Urgency;
use congvan_envelope::{make_receipt, receipt_time, Statement, StatusCode};
use congvan_relay::api::Ack;
use congvan_relay::config::PeerMode;
use congvan_relay::{ExpectedRelay, RelayClient, RelayConfig, RunningRelay};
use congvan_sign::Credential;
use std::sync::Arc;
use tempfile::TempDir;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A province relay with a pulling district below it.
struct Net {
    province: RunningRelay,
    district: RunningRelay,
    dir: TempDir,
    valid_sends: usize,
}

impl Net {
    async fn start(tweak: impl FnOnce(&mut RelayConfig)) -> Net {
        let dir = process::tempdir();
        let mut province_config = relay_config(dir.path(), "H99");
        add_child(&mut province_config, "H99.01", None);
        tweak(&mut province_config);
        let province = congvan_relay::start(province_config).await.unwrap();
        let district_config = relay_below(dir.path(), "H99.01", &province, PeerMode::Pull);
        let district = congvan_relay::start(district_config).await.unwrap();
        Net {
            province,
            district,
            dir,
            valid_sends: 0,
        }
    }

    fn url(&self) -> String {
        url(self.province.addr)
    }

    fn district_url(&self) -> String {
        url(self.district.addr)
    }

    fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    /// A valid dispatch from H99.10 to H99 is accepted and delivered.
    async fn valid_send_succeeds(&mut self) {
        self.valid_sends += 1;
        let d = Author::new("H99.10").write(
            &self.out(),
            &["H99"],
            Urgency::Thuong,
            &format!("Văn bản hợp lệ số {}", self.valid_sends),
        );
        let answer = client(&self.url(), "H99.10")
            .send_file(&d.path)
            .await
            .unwrap_or_else(|e| panic!("a valid send after a refusal failed: {e}"));
        assert_eq!(answer.status, "accepted");
        wait_inbox(&self.url(), "H99", &d.id, Duration::from_secs(10)).await;
    }

    /// Nothing about `id` is stored here or at the next hop, nothing is
    /// queued, and the sender cannot track it.
    /// `uploader` sends `d`, made by `sender`, to the province relay: it is
    /// refused with `status` and `words`, nothing of it is stored anywhere,
    /// and a valid dispatch still goes through. Returns the reason.
    async fn refuses(
        &mut self,
        uploader: RelayClient,
        d: &Dispatch,
        sender: &str,
        (status, words): (u16, &[&str]),
    ) -> String {
        let reason = expect_refused(uploader.send_file(&d.path).await, status, words);
        self.assert_not_stored(&d.id, sender).await;
        self.valid_send_succeeds().await;
        reason
    }

    async fn assert_not_stored(&self, id: &str, sender: &str) {
        for relay in [&self.province, &self.district] {
            assert!(
                relay.state.store.dispatch(id).unwrap().is_none(),
                "{} stored the refused {id}",
                relay.state.config.name
            );
            assert!(relay.state.store.events(id).unwrap().is_empty());
        }
        let queued = self
            .province
            .state
            .store
            .due(&relay_name("H99.01"), i64::MAX, 10_000)
            .unwrap();
        assert!(
            queued.iter().all(|e| e.reference != id),
            "{id} was queued for the next hop: {queued:?}"
        );
        assert!(self
            .district
            .state
            .store
            .inbox("H99.01")
            .unwrap()
            .iter()
            .all(|i| i.id != id));
        match client(&self.url(), sender).track(id).await {
            Err(congvan_relay::Error::Refused { status: 404, .. }) => {}
            other => panic!("track of a refused dispatch: {other:?}"),
        }
        let tmp = self.dir.path().join(relay_name("H99")).join("blobs/tmp");
        let left: Vec<_> = std::fs::read_dir(&tmp)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "uploads left behind: {left:?}");
    }
}

/// Expects the TLS handshake to be refused, with the reason in words.
#[track_caller]
fn expect_handshake_refused<T: std::fmt::Debug>(
    result: Result<T, congvan_relay::Error>,
    because: &str,
) {
    match result {
        Err(congvan_relay::Error::TlsRefused { reason, .. }) if reason.contains(because) => {
            eprintln!("handshake refused as expected: {reason}");
        }
        other => panic!("expected the TLS handshake to be refused ({because}), got {other:?}"),
    }
}

fn dispatch_id(path: &Path) -> String {
    congvan_envelope::Envelope::open(path)
        .unwrap()
        .metadata()
        .id
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_tampered_dispatches_are_refused() {
    let mut net = Net::start(|_| {}).await;

    // The committed fixture (district H99.01's dispatch with one byte of its
    // PDF flipped), sent through the district's relay with the clerk command.
    let fixture = fixture("tampered-attachment.cvd");
    let id = dispatch_id(&fixture);
    let run = clerk(
        "send",
        &net.district_url(),
        "H99.01",
        &[fixture.as_os_str()],
    )
    .await;
    run.assert_code(1);
    assert!(
        run.stderr.contains("422") && run.stderr.contains("HASH_FAILURE"),
        "{run}"
    );
    assert!(net.district.state.store.dispatch(&id).unwrap().is_none());
    assert_eq!(net.district.state.store.queue_depth().unwrap(), 0);
    // The district keeps serving its office.
    let ok = Author::new("H99.01").write(&net.out(), &["H99"], Urgency::Khan, "Báo cáo");
    send(&net.district_url(), "H99.01", &ok).await;
    wait_inbox(&net.url(), "H99", &ok.id, Duration::from_secs(10)).await;

    // A dispatch of the province's with its metadata edited after signing.
    let genuine = Author::new("H99").write(
        &net.out(),
        &["H99.01"],
        Urgency::Thuong,
        "Về việc phân bổ kinh phí",
    );
    let forged = net.out().join("forged.cvd");
    rewrite_cvd(&genuine.path, &forged, |name, bytes| {
        Some(if name == "metadata.json" {
            String::from_utf8(bytes)
                .unwrap()
                .replace("phân bổ kinh phí", "thu hồi kinh phí")
                .into_bytes()
        } else {
            bytes
        })
    });
    let reason = expect_refused(
        client(&net.url(), "H99").send_file(&forged).await,
        422,
        &["FAILED", "HASH_FAILURE"],
    );
    eprintln!("tampered metadata: {reason}");
    net.assert_not_stored(&genuine.id, "H99").await;
    net.valid_send_succeeds().await;

    // Signed and sealed with certificates from another root (a look-alike
    // PKI with the same office codes).
    let rogue = net.dir.path().join("rogue-pki");
    congvan_sign::build_demo(&rogue, congvan_sign::Algorithm::EcdsaP256).unwrap();
    let outsider = Author::with_credentials(
        "H99",
        credential(&rogue.join("H99/official")),
        credential(&rogue.join("H99/office")),
    );
    let d = outsider.write(&net.out(), &["H99.01"], Urgency::HoaToc, "Công điện giả");
    let reason = expect_refused(client(&net.url(), "H99").send_file(&d.path).await, 422, &[]);
    assert!(
        reason.contains("verification") || reason.contains("verify"),
        "{reason}"
    );
    eprintln!("outside the trust root: {reason}");
    net.assert_not_stored(&d.id, "H99").await;
    net.valid_send_succeeds().await;

    // Not a dispatch at all, through the library client.
    let reason = expect_refused(
        client(&net.url(), "H99")
            .send_file(&garbage_file(&net.out()))
            .await,
        422,
        &["not a valid dispatch"],
    );
    eprintln!("garbage: {reason}");
    net.valid_send_succeeds().await;
}

fn garbage_file(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("garbage.cvd");
    std::fs::write(&path, b"PK\x03\x04 this is not a dispatch").unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_certificates_are_refused() {
    // Issue and revoke under a copy of the provincial CA.
    let pki = process::tempdir();
    let ca = copy_ca(pki.path());
    let issue = |role: &str, name: &str, code: &str, out: &Path, position: Option<&str>| {
        let mut args: Vec<&OsStr> = vec![
            OsStr::new("pki"),
            OsStr::new("issue"),
            OsStr::new("--issuer"),
            ca.as_os_str(),
            OsStr::new("--role"),
            OsStr::new(role),
            OsStr::new("--name"),
            OsStr::new(name),
            OsStr::new("--org"),
            OsStr::new(code),
            OsStr::new("--out"),
            out.as_os_str(),
        ];
        if let Some(p) = position {
            args.extend([OsStr::new("--position"), OsStr::new(p)]);
        }
        process::congvan(args).assert_ok();
    };
    let control = pki.path().join("unrevoked-office");
    issue(
        "office",
        "Sở Thông tin và Truyền thông tỉnh Hà Tĩnh",
        "H99.10",
        &control,
        None,
    );
    let office = pki.path().join("revoked-office");
    let official = pki.path().join("revoked-official");
    issue(
        "office",
        "Sở Thông tin và Truyền thông tỉnh Hà Tĩnh",
        "H99.10",
        &office,
        None,
    );
    issue(
        "official",
        "Trần Văn Thu",
        "H99",
        &official,
        Some("Phó Chủ tịch"),
    );
    for cert in [&office, &official] {
        process::congvan([
            OsStr::new("pki"),
            OsStr::new("revoke"),
            OsStr::new("--issuer"),
            ca.as_os_str(),
            OsStr::new("--cert"),
            cert.join("cert.pem").as_os_str(),
            OsStr::new("--reason"),
            OsStr::new("keyCompromise"),
        ])
        .assert_ok();
    }
    let crl = pki.path().join("ca-h99.crl.pem");
    process::congvan([
        OsStr::new("pki"),
        OsStr::new("crl"),
        OsStr::new("--issuer"),
        ca.as_os_str(),
        OsStr::new("--out"),
        crl.as_os_str(),
    ])
    .assert_ok();
    let revoked_at = Instant::now();

    let mut net = Net::start(|c| c.crl = vec![crl.clone()]).await;
    // The relay serves the unrevoked, CRL or not.
    net.valid_send_succeeds().await;

    // A certificate from the same CA, issued alongside but not revoked, is
    // served: what follows is refused for the revocation alone.
    client_as(&net.url(), &credential(&control))
        .inbox()
        .await
        .expect("an unrevoked certificate is served");

    // A revoked office certificate: the TLS handshake is refused.
    let revoked_office = credential(&office);
    expect_handshake_refused(
        client_as(&net.url(), &revoked_office).inbox().await,
        "it has been revoked",
    );
    let answer = raw_request(
        net.province.addr,
        tls_config_with(&revoked_office),
        "GET",
        "/v1/inbox",
        "application/json",
        b"",
    )
    .await;
    assert_eq!(answer.status, None, "an HTTP answer came back: {answer:?}");
    // The clerk command fails too.
    let run = process::congvan([
        OsStr::new("inbox"),
        OsStr::new("--relay"),
        OsStr::new(&net.url()),
        OsStr::new("--identity"),
        office.as_os_str(),
        OsStr::new("--trust"),
        root_pem().as_os_str(),
    ]);
    assert_ne!(run.code, Some(0), "{run}");
    net.valid_send_succeeds().await;

    // A dispatch signed by a revoked official (signed after the revocation).
    if let Some(rest) = Duration::from_millis(1_100).checked_sub(revoked_at.elapsed()) {
        tokio::time::sleep(rest).await;
    }
    let author =
        Author::with_credentials("H99", credential(&official), credential(&office_dir("H99")));
    let d = author.write(&net.out(), &["H99.01"], Urgency::Thuong, "Quyết định");
    let reason = net
        .refuses(client(&net.url(), "H99"), &d, "H99", (422, &["REVOKED"]))
        .await;
    eprintln!("revoked official: {reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_office_cannot_send_as_another_office() {
    let mut net = Net::start(|_| {}).await;

    // H99.10 uploads a dispatch issued (and validly signed) by H99.
    let d = Author::new("H99").write(&net.out(), &["H99.01"], Urgency::Khan, "Mạo danh");
    let reason = net
        .refuses(
            client(&net.url(), "H99.10"),
            &d,
            "H99",
            (403, &["H99.10", "H99"]),
        )
        .await;
    eprintln!("impersonation: {reason}");

    // The clerk command reports it and exits 1.
    let run = clerk("send", &net.url(), "H99.10", &[d.path.as_os_str()]).await;
    run.assert_code(1);
    assert!(run.stderr.contains("403"), "{run}");
    net.assert_not_stored(&d.id, "H99").await;

    // An office sending its own dispatch through a relay that is not its own.
    let d = Author::new("H99.02").write(&net.out(), &["H99"], Urgency::Thuong, "Sai trạm");
    net.refuses(
        client(&net.url(), "H99.02"),
        &d,
        "H99.02",
        (403, &["not served by this relay"]),
    )
    .await;

    // A relay that is not a configured peer cannot inject dispatches.
    let d = Author::new("H99.02").write(&net.out(), &["H99"], Urgency::Thuong, "Trạm lạ");
    net.refuses(
        client_as(&net.url(), &credential(&relay_dir("H99.02"))),
        &d,
        "H99.02",
        (403, &["not a configured peer"]),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offices_read_only_their_own_inbox() {
    let mut net = Net::start(|_| {}).await;
    let to_h99 = Author::new("H99.10").write(&net.out(), &["H99"], Urgency::Thuong, "Gửi tỉnh");
    let to_h9910 = Author::new("H99").write(&net.out(), &["H99.10"], Urgency::Thuong, "Gửi sở");
    // Held at the province on its way to the district: neither H99's to
    // send nor to receive.
    let passing =
        Author::new("H99.10").write(&net.out(), &["H99.01"], Urgency::Thuong, "Gửi huyện");
    for (d, sender) in [
        (&to_h99, "H99.10"),
        (&to_h9910, "H99"),
        (&passing, "H99.10"),
    ] {
        client(&net.url(), sender).send_file(&d.path).await.unwrap();
    }

    // Each inbox shows only its own items.
    let ids = |items: Vec<congvan_relay::store::InboxItem>| {
        let mut ids: Vec<String> = items.into_iter().map(|i| i.id).collect();
        ids.sort();
        ids
    };
    let h99 = ids(client(&net.url(), "H99").inbox().await.unwrap());
    assert_eq!(h99, vec![to_h99.id.clone()]);
    assert_eq!(
        ids(client(&net.url(), "H99.10").inbox().await.unwrap()),
        vec![to_h9910.id.clone()]
    );
    assert!(net
        .province
        .state
        .store
        .dispatch(&passing.id)
        .unwrap()
        .is_some());
    // H99.01 is served by the district relay: the province relay keeps no
    // inbox for it (the dispatch above only passed through), and says so.
    expect_refused(
        client(&net.url(), "H99.01").inbox().await,
        404,
        &["does not serve H99.01", "relay-h99-01"],
    );
    let run = clerk("inbox", &net.url(), "H99.01", &["--json"]).await;
    run.assert_code(1);
    assert!(run.stderr.contains("does not serve H99.01"), "{run}");
    assert!(run.stdout.is_empty(), "{run}");

    // Fetching someone else's dispatch: 404, as if it did not exist.
    let tmp = net.out();
    let fetch = |code: &'static str, id: String| {
        let url = net.url();
        let out = tmp.join(format!("{code}-{id}.cvd"));
        async move { client(&url, code).fetch(&id, &out).await }
    };
    expect_refused(fetch("H99", passing.id.clone()).await, 404, &[]);
    expect_refused(fetch("H99.01", to_h99.id.clone()).await, 404, &[]);
    expect_refused(fetch("H99.01", to_h9910.id.clone()).await, 404, &[]);
    // ...and through the clerk command, which writes nothing.
    let out = tmp.join("stolen.cvd");
    let run = clerk(
        "fetch",
        &net.url(),
        "H99",
        &[
            OsStr::new(&passing.id),
            OsStr::new("--out"),
            out.as_os_str(),
        ],
    )
    .await;
    run.assert_code(1);
    assert!(run.stderr.contains("404"), "{run}");
    assert!(!out.exists());
    // The recipient and the sender may.
    fetch("H99", to_h99.id.clone()).await.unwrap();
    fetch("H99.10", to_h99.id.clone()).await.unwrap();

    // Only the sender tracks; only a recipient acknowledges.
    expect_refused(client(&net.url(), "H99").track(&to_h99.id).await, 404, &[]);
    client(&net.url(), "H99.10")
        .track(&to_h99.id)
        .await
        .unwrap();
    let h9910 = credential(&office_dir("H99.10"));
    let record = net
        .province
        .state
        .store
        .dispatch(&to_h99.id)
        .unwrap()
        .unwrap();
    let receipt = make_receipt(
        &Statement::Status {
            dispatch_id: to_h99.id.clone(),
            manifest_sha256: record.manifest_sha256.clone(),
            code: StatusCode::Accepted,
            by: org("H99.10"),
            time: receipt_time(OffsetDateTime::now_utc()),
            note: None,
        },
        &h9910,
    )
    .unwrap();
    // The issuer's only status is the recall request (13).
    expect_refused(
        client(&net.url(), "H99.10")
            .ack(&to_h99.id, &Ack { receipt })
            .await,
        403,
        &[
            "its recipients send status 03",
            "the issuer can request a recall (13)",
        ],
    );
    assert!(net
        .province
        .state
        .store
        .events(&to_h99.id)
        .unwrap()
        .iter()
        .all(|e| e.kind != "status"));
    net.valid_send_succeeds().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_without_a_client_certificate_is_refused() {
    let mut net = Net::start(|_| {}).await;

    let answer = raw_request(
        net.province.addr,
        tls_config_without_client_cert(),
        "GET",
        "/v1/health",
        "application/json",
        b"",
    )
    .await;
    assert_eq!(answer.status, None, "an HTTP answer came back: {answer:?}");
    let anonymous = RelayClient::new(
        &net.url(),
        tls_config_without_client_cert(),
        Arc::new(trust()),
        ExpectedRelay::Serving(org("H99.01")),
    )
    .unwrap();
    expect_handshake_refused(anonymous.inbox().await, "requires a client certificate");
    net.valid_send_succeeds().await;

    // A certificate from another root is no better.
    let rogue = net.dir.path().join("rogue-pki");
    congvan_sign::build_demo(&rogue, congvan_sign::Algorithm::EcdsaP256).unwrap();
    let outsider: Credential = credential(&rogue.join("H99.10/office"));
    let answer = raw_request(
        net.province.addr,
        tls_config_with(&outsider),
        "GET",
        "/v1/inbox",
        "application/json",
        b"",
    )
    .await;
    assert_eq!(answer.status, None, "an HTTP answer came back: {answer:?}");
    net.valid_send_succeeds().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_requests_are_refused() {
    const LIMIT: u64 = 64 * 1024;
    let mut net = Net::start(|c| c.limits.max_dispatch_bytes = LIMIT).await;
    let tls = tls_config_with(&credential(&office_dir("H99.10")));
    let addr = net.province.addr;

    // Garbage, broken JSON, an unknown route: each refused with its status,
    // and a valid dispatch still goes through after each.
    let refusals: [(&str, &str, &str, &[u8], u16); 3] = [
        (
            "POST",
            "/v1/dispatches",
            "application/vnd.congvan.dispatch+zip",
            b"\x00\x01garbage, not a zip",
            422,
        ),
        (
            "POST",
            "/v1/receipts",
            "application/json",
            b"{\"dest\": \"H99\", \"receipt\": ",
            400,
        ),
        ("GET", "/v1/nothing-here", "text/plain", b"", 404),
    ];
    for (method, path, content_type, body, status) in refusals {
        let answer = raw_request(addr, tls.clone(), method, path, content_type, body).await;
        assert_eq!(
            answer.status,
            Some(status),
            "{method} {path}: {}",
            answer.text
        );
        if status == 422 {
            assert!(answer.text.contains("\"error\""), "{}", answer.text);
        }
        net.valid_send_succeeds().await;
    }

    // A dispatch over the limit: 413, and no partial upload left behind.
    let mut rng = Rng::seeded(0x5eed);
    let noise: Vec<u8> = (0..3 * LIMIT).map(|_| rng.next() as u8).collect();
    let big = Author::new("H99.10").write_with(
        &net.out(),
        &["H99"],
        Urgency::Thuong,
        "Hồ sơ quá lớn",
        Some(("ho-so.bin", &noise)),
    );
    expect_refused(
        client(&net.url(), "H99.10").send_file(&big.path).await,
        413,
        &["larger"],
    );
    net.assert_not_stored(&big.id, "H99.10").await;
    net.valid_send_succeeds().await;
}

/// Reads until the server closes the connection (or `limit` passes);
/// returns how long that took and what was read.
async fn until_closed<S: tokio::io::AsyncRead + Unpin>(
    stream: &mut S,
    limit: Duration,
) -> (Duration, Vec<u8>, bool) {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let left = limit.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return (started.elapsed(), got, false),
            Ok(Ok(0)) | Ok(Err(_)) => return (started.elapsed(), got, true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_clients_are_cut_off_while_others_are_served() {
    const TIMEOUT: u64 = 2;
    let mut net = Net::start(|c| c.limits.header_timeout_secs = TIMEOUT).await;
    let addr = net.province.addr;

    // Raw TCP that never says anything (not even a TLS hello).
    let silent = tokio::spawn(async move {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        until_closed(&mut tcp, Duration::from_secs(15)).await
    });

    // TLS completed, then the request headers one byte per second.
    let tls = tls_config_with(&credential(&office_dir("H99.10")));
    let loris = tokio::spawn(async move {
        let mut stream = tls_connect(addr, tls).await.unwrap();
        let request =
            b"GET /v1/inbox HTTP/1.1\r\nhost: 127.0.0.1\r\naccept: application/json\r\n\r\n";
        let started = Instant::now();
        let mut sent = 0;
        for byte in request {
            if stream.write_all(&[*byte]).await.is_err() || stream.flush().await.is_err() {
                break;
            }
            sent += 1;
            // Wait a second for the next byte, watching for a close.
            let (_, got, closed) = until_closed(&mut stream, Duration::from_secs(1)).await;
            if closed || !got.is_empty() {
                return (
                    started.elapsed(),
                    sent,
                    String::from_utf8_lossy(&got).into_owned(),
                );
            }
        }
        (started.elapsed(), sent, String::new())
    });

    // Fifty idle connections.
    let mut idle = Vec::new();
    for _ in 0..50 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }

    // Meanwhile valid clients are served promptly.
    for _ in 0..3 {
        let started = Instant::now();
        net.valid_send_succeeds().await;
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "a valid send took {:?} with slow clients around",
            started.elapsed()
        );
    }

    let (waited, _, closed) = silent.await.unwrap();
    assert!(closed, "a silent connection was kept open for {waited:?}");
    assert!(
        waited >= Duration::from_millis(TIMEOUT * 1000 - 200)
            && waited < Duration::from_secs(TIMEOUT + 3),
        "a silent connection was closed after {waited:?} (timeout {TIMEOUT} s)"
    );
    let (waited, sent, answer) = loris.await.unwrap();
    assert!(
        !answer.contains("200 OK"),
        "the slow client was served: {answer}"
    );
    assert!(
        waited < Duration::from_secs(TIMEOUT + 3) && sent < 10,
        "a slow-loris client was kept {waited:?} and sent {sent} bytes"
    );
    eprintln!("slow-loris cut off after {waited:?} and {sent} bytes; answer {answer:?}");

    // The idle ones were closed too, and the relay still serves.
    for mut tcp in idle {
        let (waited, _, closed) = until_closed(&mut tcp, Duration::from_secs(TIMEOUT + 3)).await;
        assert!(closed, "an idle connection stayed open ({waited:?} more)");
    }
    stalled_handshake_is_cut_off(&mut net).await;
}

async fn stalled_handshake_is_cut_off(net: &mut Net) {
    net.valid_send_succeeds().await;
    let mut health = TcpStream::connect(net.province.addr).await.unwrap();
    // A half-finished TLS hello is cut off as well.
    health.write_all(&[0x16, 0x03, 0x01]).await.unwrap();
    let (waited, _, closed) = until_closed(&mut health, Duration::from_secs(6)).await;
    assert!(closed, "a stalled handshake stayed open {waited:?}");
}
