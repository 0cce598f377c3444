//! The QR code on a printed dispatch opens the issuing relay's public
//! verification page: rendered to PDF, page 1 turned into an image
//! (pdftoppm), the QR decoded (zbarimg), the address opened in headless
//! Chromium. The banner says Hợp lệ for the dispatch as issued, Không hợp
//! lệ for one altered after issue, Đã bị thu hồi once recalled, Đã được
//! thay thế bởi … once replaced, Không tìm thấy for an unknown one, and
//! for a secret dispatch only that it is classified. No login; lookups
//! are limited per address.

use std::path::{Path, PathBuf};

use crate::support::browser::Browser;
use crate::support::process::{self, congvan, run};
use crate::support::relays::*;
use crate::support::web::Http;
use congvan_envelope::metadata::{Secrecy, SupersedeKind, Supersedes, Urgency};

const DISTRICT: &str = "H99.01";
const COMMUNE: &str = "H99.01.01";

/// The district relay (its commune relay never answers) with its web
/// workplace on loopback, `lookups` public lookups per minute.
async fn relay_with_page(
    dir: &Path,
    lookups: u32,
) -> (congvan_relay::RunningRelay, congvan_web::RunningWeb) {
    let config = workplace_config(dir, DISTRICT, COMMUNE, lookups, &[]);
    let relay = congvan_relay::start(config).await.unwrap();
    let app = congvan_web::WebApp::open(relay.state.clone()).unwrap();
    let web = congvan_web::serve(app).await.unwrap();
    (relay, web)
}

/// `dispatch render --verify-url`, page 1 as an image, its QR decoded.
fn qr_of_rendered(cvd: &Path, base: &str, verified: bool) -> String {
    let pdf = cvd.with_extension("pdf");
    let mut args = vec![
        "dispatch".to_string(),
        "render".into(),
        cvd.display().to_string(),
        "--out".into(),
        pdf.display().to_string(),
        "--verify-url".into(),
        base.to_string(),
    ];
    if verified {
        args.extend(["--trust".to_string(), root_pem().display().to_string()]);
    }
    congvan(args).assert_ok();
    let text = process::pdftotext(&pdf);
    assert!(
        text.contains("Điều 12 Luật Giao dịch"),
        "no paper-copy mark:\n{text}"
    );
    qr_on_page_1(&pdf)
}

/// Page 1 of `pdf` as an image (pdftoppm), its QR code decoded (zbarimg).
fn qr_on_page_1(pdf: &Path) -> String {
    // pdftoppm -singlefile writes ROOT.png.
    let root = pdf.with_extension("page1");
    run(std::process::Command::new("pdftoppm")
        .args(["-png", "-r", "200", "-f", "1", "-l", "1", "-singlefile"])
        .arg(pdf)
        .arg(&root))
    .assert_ok();
    let decoded = run(std::process::Command::new("zbarimg")
        .args(["--raw", "-q"])
        .arg(format!("{}.png", root.display())));
    decoded.assert_ok();
    decoded.stdout.trim().to_string()
}

/// A copy of `cvd` whose manifest lists another digest for the metadata:
/// what someone who changed the dispatch after issue holds.
fn altered_after_issue(cvd: &Path) -> PathBuf {
    let out = cvd.with_file_name("altered.cvd");
    rewrite_cvd(cvd, &out, |name, bytes| {
        Some(if name == "META-INF/manifest.json" {
            let mut manifest: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            manifest["metadata"]["sha256"] = "0".repeat(64).into();
            serde_json::to_vec(&manifest).unwrap()
        } else {
            bytes
        })
    });
    out
}

async fn banner(browser: &mut Browser, url: &str, shot: &str) -> String {
    browser.open(url).await;
    let text = browser.text().await;
    browser.shot(shot).await;
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn the_qr_code_of_a_printed_dispatch_opens_a_page_that_says_whether_it_is_authentic() {
    let dir = process::tempdir();
    let (relay, web) = relay_with_page(dir.path(), 1000).await;
    let relay_url = url(relay.addr);
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let author = Author::new(DISTRICT);
    let mut browser = Browser::start("verify_page").await;

    // As issued.
    let issued = author.write(
        &out,
        &[COMMUNE],
        Urgency::Thuong,
        "Về việc kế hoạch tiếp dân",
    );
    send(&relay_url, DISTRICT, &issued).await;
    let link = qr_of_rendered(&issued.path, &web.url, true);
    assert!(
        link.starts_with(&format!("{}/v/{}/", web.url, issued.id)),
        "{link}"
    );
    let text = banner(&mut browser, &link, "valid").await;
    assert!(text.contains("Hợp lệ"), "{text}");
    assert!(text.contains("Về việc kế hoạch tiếp dân"), "{text}");
    assert!(text.contains(&issued.manifest_sha256()), "{text}");
    assert!(
        text.contains("Người ký") && text.contains("Con dấu"),
        "{text}"
    );

    // Altered after issue: its QR names another manifest.
    let altered = altered_after_issue(&issued.path);
    let link = qr_of_rendered(&altered, &web.url, false);
    let text = banner(&mut browser, &link, "altered").await;
    assert!(text.contains("Không hợp lệ"), "{text}");
    assert!(!text.contains("Về việc kế hoạch tiếp dân"), "{text}");

    // Unknown.
    let unknown = format!(
        "{}/v/00000000-0000-4000-8000-000000000000/{}",
        web.url,
        "a".repeat(64)
    );
    let text = banner(&mut browser, &unknown, "unknown").await;
    assert!(text.contains("Không tìm thấy"), "{text}");

    // Replaced by a later dispatch of its issuer.
    let first = author.write(&out, &[COMMUNE], Urgency::Thuong, "Về việc lịch họp");
    send(&relay_url, DISTRICT, &first).await;
    let first_link = qr_of_rendered(&first.path, &web.url, true);
    let second = author.write_custom(
        &out,
        &[COMMUNE],
        Urgency::Thuong,
        "Về việc lịch họp (thay thế)",
        |m| {
            m.details.supersedes = Some(Supersedes {
                kind: SupersedeKind::Replaces,
                id: first.id.clone(),
            })
        },
    );
    send(&relay_url, DISTRICT, &second).await;
    let text = banner(&mut browser, &first_link, "replaced").await;
    assert!(text.contains("Đã được thay thế bởi"), "{text}");
    assert!(text.contains(&second.id), "{text}");

    // Recalled by its issuer.
    let recalled = author.write(&out, &[COMMUNE], Urgency::Thuong, "Về việc gửi nhầm");
    send(&relay_url, DISTRICT, &recalled).await;
    let recalled_link = qr_of_rendered(&recalled.path, &web.url, true);
    let recall = clerk(
        "recall",
        &relay_url,
        DISTRICT,
        &[recalled.id.as_str(), "--reason", "Ban hành nhầm"],
    )
    .await;
    recall.assert_ok();
    let text = banner(&mut browser, &recalled_link, "recalled").await;
    assert!(text.contains("Đã bị thu hồi"), "{text}");

    // Secret: sealed for its recipients, shown as classified only.
    let secret = author.write_custom(
        &out,
        &[COMMUNE],
        Urgency::Thuong,
        "MẬT-SUBJECT-MARKER",
        |m| m.secrecy = Some(Secrecy::Mat),
    );
    send(&relay_url, DISTRICT, &seal(&secret, DISTRICT, &[COMMUNE])).await;
    let link = qr_of_rendered(&secret.path, &web.url, true);
    let text = banner(&mut browser, &link, "secret").await;
    assert!(
        text.contains("Văn bản mật"),
        "{link}\n{text}\nheld: {:?}",
        relay.state.store.dispatch(&secret.id)
    );
    assert!(!text.contains("MẬT-SUBJECT-MARKER"), "{text}");
    assert!(!text.contains(&secret.id), "{text}");

    browser.close().await;
    web.stop().await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_random_ids_are_not_found_and_then_the_address_is_throttled() {
    let dir = process::tempdir();
    let (relay, web) = relay_with_page(dir.path(), 1000).await;
    let base = web.url.clone();
    let statuses = tokio::task::spawn_blocking(move || {
        let mut http = Http::new(&base);
        let mut statuses = Vec::new();
        for _ in 0..1001 {
            let id = uuid_like();
            let digest: String = (0..64)
                .map(|i| b"0123456789abcdef"[(i * 7 + id.len()) % 16] as char)
                .collect();
            statuses.push(http.get(&format!("/v/{id}/{digest}")).status);
        }
        statuses
    })
    .await
    .unwrap();
    assert!(
        statuses[..1000].iter().all(|s| *s == 404),
        "{:?}",
        &statuses[..20]
    );
    assert_eq!(statuses[1000], 429);
    web.stop().await;
    relay.stop().await;
}

/// A random version-4 UUID.
fn uuid_like() -> String {
    let mut bytes = [0u8; 16];
    getrandom(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

fn getrandom(out: &mut [u8]) {
    use ring::rand::SecureRandom;
    ring::rand::SystemRandom::new().fill(out).unwrap();
}

/// `congvan demo --serve` names each relay's verification page in the
/// demo registry: a dispatch the demo sent, rendered with that registry,
/// carries a QR code that opens its issuing relay's page, which says Hợp lệ.
#[test]
fn a_rendered_demo_dispatch_opens_its_relays_page() {
    let demo = crate::support::web::DemoServe::start();
    let work = demo.work();
    let registry = work.join("pki/registry.toml");
    let sent = std::fs::read_dir(&work)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            name.ends_with(".cvd") && !name.starts_with("received-")
        })
        .expect("a dispatch the demo sent");
    let pdf = work.join("sent.pdf");
    congvan([
        "dispatch".as_ref(),
        "render".as_ref(),
        sent.as_os_str(),
        "--out".as_ref(),
        pdf.as_os_str(),
        "--trust".as_ref(),
        work.join("pki/root/cert.pem").as_os_str(),
        "--registry".as_ref(),
        registry.as_os_str(),
    ])
    .assert_ok();
    let link = qr_on_page_1(&pdf);
    let relays = demo.demo["relays"].as_array().unwrap();
    let issuer = relays
        .iter()
        .find(|r| link.starts_with(r["web_url"].as_str().unwrap()))
        .unwrap_or_else(|| panic!("{link} is no demo relay's page"));
    let base = issuer["web_url"].as_str().unwrap();
    let page = Http::new(base).get(link.trim_start_matches(base));
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(page.text().contains("Hợp lệ"), "{}", page.text());
}
