//! A day at the office in the web workplace, driven over HTTP as a browser
//! drives it (the same flow in real Chromium is in `web_browser.rs`), and
//! what a hostile user or page would try.
//!
//! Each story starts its own `congvan demo --serve`: a province, a district
//! and a commune relay, each with its workplace and demo accounts.

use crate::support::web::{id_in, sample_attachment, DemoServe, Http, Part};

const COMMUNE: &str = "H99.01.01";
const DISTRICT: &str = "H99.01";
const PROVINCE: &str = "H99";

/// The commune clerk composes a dispatch to the district; returns its id.
fn compose(clerk: &mut Http, subject: &str, urgency: &str, secrecy: &str) -> String {
    let form = clerk.get("/compose");
    form.assert_status(200);
    let csrf = form.csrf();
    let signer = leader_option(&form.text());
    let attachment = sample_attachment();
    let answer = clerk.post_multipart(
        "/compose",
        &[
            Part::Field("csrf", &csrf),
            Part::Field("type", "cong-van"),
            Part::Field("number", &number_in(&form.text())),
            Part::Field("to", DISTRICT),
            Part::Field("subject", subject),
            Part::Field(
                "body",
                "Đề nghị Ủy ban nhân dân huyện cho ý kiến về phương án sơ tán.",
            ),
            Part::Field("urgency", urgency),
            Part::Field("secrecy", secrecy),
            Part::Field("due", "2027-01-15"),
            Part::Field("signer", &signer),
            Part::File("attach", "phuong-an.pdf", &attachment),
        ],
    );
    answer.assert_status(303);
    assert!(
        answer.location().starts_with("/drafts/"),
        "{}",
        answer.location()
    );
    id_in(answer.location())
}

fn leader_option(html: &str) -> String {
    let at = html.find("name=\"signer\"").expect("no signer select");
    let rest = &html[at..];
    let v = rest.find("value=\"").unwrap() + 7;
    rest[v..v + rest[v..].find('"').unwrap()].to_string()
}

fn number_in(html: &str) -> String {
    let at = html
        .find("name=\"number\" value=\"")
        .expect("no number field");
    let rest = &html[at + 21..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// The leader signs draft `id` with `pin`; returns the answer.
fn sign(leader: &mut Http, id: &str, pin: &str) -> crate::support::web::Resp {
    let csrf = leader.get(&format!("/drafts/{id}")).csrf();
    leader.post(
        &format!("/drafts/{id}/sign"),
        &[("csrf", &csrf), ("pin", pin)],
    )
}

/// The clerk seals and sends the signed draft `id`.
fn seal_and_send(clerk: &mut Http, id: &str) {
    let csrf = clerk.get(&format!("/drafts/{id}")).csrf();
    let sent = clerk.post(&format!("/drafts/{id}/send"), &[("csrf", &csrf)]);
    sent.assert_status(303);
    assert_eq!(sent.location(), format!("/dispatches/{id}"));
}

/// Waits until `page` on `http` contains `needle` (relays hand dispatches on
/// within a second or two).
fn eventually(http: &mut Http, page: &str, needle: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let text = http.get(page).text();
        if text.contains(needle) {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{page} never showed {needle:?}:\n{text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn a_hoa_toc_cong_van_goes_from_the_commune_clerk_through_the_leader_to_the_district_register() {
    let demo = DemoServe::start();
    let mut clerk = demo.login(COMMUNE, "clerk");
    let id = compose(&mut clerk, "Về việc sơ tán dân khẩn cấp", "hoa-toc", "");
    let draft = clerk.get(&format!("/drafts/{id}")).text();
    assert!(draft.contains("Chờ ký"), "{draft}");

    // The leader finds it waiting, sees the preview, and signs with the PIN.
    let mut leader = demo.login(COMMUNE, "leader");
    let queue = leader.get("/drafts").text();
    assert!(queue.contains(&id), "{queue}");
    let preview = leader.get(&format!("/drafts/{id}/pdf"));
    preview.assert_status(200);
    assert!(preview.body.starts_with(b"%PDF"));
    let wrong = sign(&mut leader, &id, "000000");
    wrong.assert_status(403);
    assert!(
        wrong.text().contains("Mã PIN không đúng"),
        "{}",
        wrong.text()
    );
    let still = clerk.get(&format!("/drafts/{id}")).text();
    assert!(
        still.contains("Chờ ký"),
        "a wrong PIN made no signature:\n{still}"
    );
    let file = demo
        .work()
        .join("relays/relay-h99-01-01/web/drafts")
        .join(format!("{id}.cvd"));
    let held = congvan_envelope::Envelope::open(&file).unwrap();
    assert_eq!(held.signatures().len(), 0, "a wrong PIN made no signature");
    drop(held);
    let pin = demo.account(COMMUNE, "leader").pin.unwrap();
    sign(&mut leader, &id, &pin).assert_status(303);
    let signed = congvan_envelope::Envelope::open(&file).unwrap();
    assert_eq!(
        signed.signatures().len(),
        1,
        "the PIN made the leader's signature"
    );
    drop(signed);

    // The clerk seals and sends.
    assert!(clerk
        .get(&format!("/drafts/{id}"))
        .text()
        .contains("Đóng dấu và gửi"));
    seal_and_send(&mut clerk, &id);

    // The district clerk sees it first in the inbox, highlighted.
    let mut district = demo.login(DISTRICT, "clerk");
    let inbox = eventually(&mut district, "/inbox", &id);
    let first_row = inbox
        .find("<tr class=\"fire\"")
        .expect("the Hỏa tốc row is highlighted");
    assert!(inbox[first_row..].contains(&id));
    let page = district.get(&format!("/dispatches/{id}"));
    page.assert_status(200);
    let text = page.text();
    assert!(text.contains("PASSED"), "{text}");
    assert!(text.contains("phuong-an.pdf"), "{text}");
    assert!(text.contains(&format!("/dispatches/{id}/pdf")));
    let pdf = district.get(&format!("/dispatches/{id}/pdf"));
    pdf.assert_status(200);
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));

    // Registering it (03) gives it the next incoming number.
    let csrf = page.csrf();
    district
        .post(
            &format!("/dispatches/{id}/status"),
            &[("csrf", &csrf), ("status", "03")],
        )
        .assert_status(303);
    let registered = district.get(&format!("/dispatches/{id}")).text();
    assert!(registered.contains("Số đến"), "{registered}");

    // The commune's outbox shows the custody receipts and the 03.
    let outbox = clerk.get("/outbox").text();
    assert!(outbox.contains(&id), "{outbox}");
    let timeline = eventually(&mut clerk, &format!("/dispatches/{id}"), "03 Đã tiếp nhận");
    assert!(timeline.contains("Diễn biến"), "{timeline}");
    assert!(
        timeline.matches("<li>").count() >= 3,
        "custody receipts and the status:\n{timeline}"
    );

    // The audit trail holds the logins and the signature.
    let mut auditor = demo.login(COMMUNE, "auditor");
    let audit = auditor.get("/audit").text();
    for action in ["login", "sign-refused", "sign", "seal-and-send"] {
        assert!(
            audit.contains(&format!("<td>{action}</td>")),
            "{action} not audited:\n{audit}"
        );
    }
}

#[test]
fn markup_and_script_in_every_field_come_back_as_text() {
    let demo = DemoServe::start();
    let mut clerk = demo.login(COMMUNE, "clerk");
    let hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'&";
    let id = compose(&mut clerk, hostile, "thuong", "");
    let draft = clerk.get(&format!("/drafts/{id}")).text();
    assert!(!draft.contains("<script>alert"), "{draft}");
    assert!(!draft.contains("<img src=x"), "{draft}");
    assert!(
        draft.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{draft}"
    );

    // A hostile value in a field that must be well formed is refused beside
    // the field, and shown back as text too.
    let form = clerk.get("/compose");
    let csrf = form.csrf();
    let bad = clerk.post_multipart(
        "/compose",
        &[
            Part::Field("csrf", &csrf),
            Part::Field("type", "cong-van"),
            Part::Field("number", "<b>bold</b>"),
            Part::Field("to", DISTRICT),
            Part::Field("subject", "Về việc kiểm tra"),
            Part::Field("body", "Nội dung."),
            Part::Field("urgency", "thuong"),
            Part::Field("secrecy", ""),
            Part::Field("due", "<i>not a date</i>"),
            Part::Field("signer", &leader_option(&form.text())),
        ],
    );
    bad.assert_status(422);
    let text = bad.text();
    assert!(text.contains("field-problem"), "{text}");
    assert!(
        text.contains("id=\"due-problem\""),
        "the date problem is beside its field:\n{text}"
    );
    assert!(
        !text.contains("<b>bold</b>") && !text.contains("<i>not a date"),
        "{text}"
    );
    assert!(text.contains("&lt;b&gt;bold&lt;/b&gt;"), "{text}");
}

#[test]
fn a_post_without_the_session_csrf_token_is_refused() {
    let demo = DemoServe::start();
    let mut clerk = demo.login(COMMUNE, "clerk");
    let id = compose(&mut clerk, "Về việc kiểm tra CSRF", "thuong", "");
    let mut leader = demo.login(COMMUNE, "leader");
    let pin = demo.account(COMMUNE, "leader").pin.unwrap();
    for csrf in ["", "forged-token", &clerk.csrf()] {
        let refused = leader.post(
            &format!("/drafts/{id}/sign"),
            &[("csrf", csrf), ("pin", &pin)],
        );
        refused.assert_status(403);
    }
    assert!(leader
        .get(&format!("/drafts/{id}"))
        .text()
        .contains("Chờ ký"));
    // The login form has its own token.
    let mut stranger = Http::new(&demo.web_url(COMMUNE));
    stranger
        .post("/login", &[("login", "vanthu.xa"), ("password", "x")])
        .assert_status(403);
}

#[test]
fn another_offices_dispatch_answers_not_found() {
    let demo = DemoServe::start();
    // The demo's own run sent a báo cáo from the commune to the province
    // through the district relay: the district holds it in transit but is
    // neither its sender nor a recipient.
    let mut commune = demo.login(COMMUNE, "clerk");
    let outbox = commune.get("/outbox").text();
    let at = outbox
        .find("/dispatches/")
        .expect("the demo's báo cáo is in the outbox");
    let id = outbox[at + 12..at + 12 + 36].to_string();
    commune.get(&format!("/dispatches/{id}")).assert_status(200);
    let mut district = demo.login(DISTRICT, "clerk");
    for path in [
        format!("/dispatches/{id}"),
        format!("/dispatches/{id}/pdf"),
        format!("/dispatches/{id}/file"),
        "/dispatches/00000000-0000-4000-8000-000000000000".to_string(),
    ] {
        district.get(&path).assert_status(404);
    }
    let csrf = district.csrf();
    district
        .post(
            &format!("/dispatches/{id}/status"),
            &[("csrf", &csrf), ("status", "03")],
        )
        .assert_status(404);
    // A draft of another office is not found either.
    let draft = compose(&mut commune, "Về việc dự thảo riêng", "thuong", "");
    let mut province = demo.login(PROVINCE, "clerk");
    province.get(&format!("/drafts/{draft}")).assert_status(404);
}

#[test]
fn no_inbox_page_lists_the_subject_of_a_secret_dispatch() {
    let demo = DemoServe::start();
    let mut clerk = demo.login(COMMUNE, "clerk");
    let subject = "Về việc phương án bảo vệ mục tiêu XK-7731";
    let id = compose(&mut clerk, subject, "khan", "mat");
    let pin = demo.account(COMMUNE, "leader").pin.unwrap();
    let mut leader = demo.login(COMMUNE, "leader");
    assert!(
        !leader.get("/drafts").text().contains("XK-7731"),
        "the Chờ ký list hides it"
    );
    sign(&mut leader, &id, &pin).assert_status(303);
    seal_and_send(&mut clerk, &id);
    assert!(!clerk.get("/outbox").text().contains("XK-7731"));
    let mut district_clerk = demo.login(DISTRICT, "clerk");
    let inbox = eventually(&mut district_clerk, "/inbox", &id);
    assert!(!inbox.contains("XK-7731"), "{inbox}");
    assert!(inbox.contains("MẬT"));
    let mut district_leader = demo.login(DISTRICT, "leader");
    assert!(!district_leader.get("/inbox").text().contains("XK-7731"));
    // The recipient reads it in the dispatch itself.
    assert!(district_clerk
        .get(&format!("/dispatches/{id}"))
        .text()
        .contains("XK-7731"));
    assert!(
        !demo.log_lines().contains("XK-7731"),
        "the subject reached the logs"
    );
}

#[test]
fn repeated_wrong_passwords_throttle_the_login_even_with_the_right_one() {
    let demo = DemoServe::start();
    let account = demo.account(COMMUNE, "clerk");
    let mut guesser = Http::new(&account.web);
    for _ in 0..5 {
        guesser
            .login(&account.login, "wrong-password-123")
            .assert_status(401);
    }
    let refused = guesser.login(&account.login, &account.password);
    refused.assert_status(429);
    assert!(
        refused.text().contains("quá nhiều lần"),
        "{}",
        refused.text()
    );
    // Another account from the same address still logs in.
    let other = demo.account(COMMUNE, "leader");
    guesser
        .login(&other.login, &other.password)
        .assert_status(303);
    // An unknown login is answered as a wrong password.
    let mut stranger = Http::new(&account.web);
    let unknown = stranger.login("khong.co.ai", "whatever-password");
    unknown.assert_status(401);
    assert!(unknown
        .text()
        .contains("Tên đăng nhập, mật khẩu hoặc mã xác thực không đúng"));
}

#[test]
fn session_cookies_and_every_response_carry_the_security_headers() {
    let demo = DemoServe::start();
    let account = demo.account(COMMUNE, "clerk");
    let mut http = Http::new(&account.web);
    let login_page = http.get("/login");
    let ok = http.login(&account.login, &account.password);
    ok.assert_status(303);
    let cookie = ok
        .headers_named("set-cookie")
        .into_iter()
        .find(|c| c.starts_with("congvan_session_relay_h99_01_01="))
        .expect("a session cookie")
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    for resp in [
        login_page,
        ok,
        http.get("/inbox"),
        http.get("/nowhere"),
        http.get("/assets/style.css"),
    ] {
        let csp = resp.header("content-security-policy").expect("a CSP");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert_eq!(resp.header("x-frame-options"), Some("DENY"));
        assert_eq!(resp.header("referrer-policy"), Some("no-referrer"));
    }
    // Logging out ends the session: the old cookie opens nothing.
    let session = http
        .cookies
        .get("congvan_session_relay_h99_01_01")
        .unwrap()
        .clone();
    let csrf = http.csrf();
    http.post("/logout", &[("csrf", &csrf)]).assert_status(303);
    let mut replay = Http::new(&account.web);
    replay
        .cookies
        .insert("congvan_session_relay_h99_01_01".into(), session);
    let after = replay.get("/inbox");
    after.assert_status(303);
    assert_eq!(after.location(), "/login");
}

#[test]
fn an_auditor_verifies_an_uploaded_file_and_a_tampered_one_fails() {
    let demo = DemoServe::start();
    let mut auditor = demo.login(PROVINCE, "auditor");
    // The demo wrote the dispatches it sent next to its PKI.
    let good = std::fs::read_dir(demo.work())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.extension().is_some_and(|e| e == "cvd") && !p.to_string_lossy().contains("received")
        })
        .expect("a dispatch file in the demo folder");
    let bytes = std::fs::read(&good).unwrap();
    let csrf = auditor.get("/verify").csrf();
    let page = auditor.post_multipart(
        "/verify",
        &[
            Part::Field("csrf", &csrf),
            Part::File("file", "a.cvd", &bytes),
        ],
    );
    page.assert_status(200);
    assert!(page.text().contains("PASSED"), "{}", page.text());
    let report = auditor.post_multipart(
        "/verify",
        &[
            Part::Field("csrf", &csrf),
            Part::Field("pdf", "1"),
            Part::File("file", "a.cvd", &bytes),
        ],
    );
    assert_eq!(report.header("content-type"), Some("application/pdf"));
    let mut tampered = bytes.clone();
    let at = tampered
        .windows(4)
        .position(|w| w == b"V\xe1\xbb\x81")
        .unwrap_or(tampered.len() / 2);
    tampered[at] ^= 0x01;
    let bad = auditor.post_multipart(
        "/verify",
        &[
            Part::Field("csrf", &csrf),
            Part::File("file", "a.cvd", &tampered),
        ],
    );
    bad.assert_status(200);
    assert!(!bad.text().contains("PASSED"), "{}", bad.text());
    let garbage = auditor.post_multipart(
        "/verify",
        &[
            Part::Field("csrf", &csrf),
            Part::File("file", "x.cvd", b"not a zip"),
        ],
    );
    garbage.assert_status(200);
    assert!(garbage.text().contains("FAILED") || garbage.text().contains("INDETERMINATE"));
}

#[test]
fn the_roles_see_only_their_own_pages() {
    let demo = DemoServe::start();
    let mut auditor = demo.login(COMMUNE, "auditor");
    auditor.get("/compose").assert_status(403);
    auditor.get("/inbox").assert_status(403);
    let mut leader = demo.login(COMMUNE, "leader");
    leader.get("/compose").assert_status(403);
    let mut nobody = Http::new(&demo.web_url(COMMUNE));
    let r = nobody.get("/inbox");
    r.assert_status(303);
    assert_eq!(r.location(), "/login");
}

#[test]
fn passwords_pins_subjects_and_content_never_reach_the_logs() {
    let demo = DemoServe::start(); // logs at RUST_LOG=debug
    let clerk_account = demo.account(COMMUNE, "clerk");
    let mut guess = Http::new(&clerk_account.web);
    guess
        .login(&clerk_account.login, "a-wrong-password-QZ81")
        .assert_status(401);
    let mut clerk = demo.login(COMMUNE, "clerk");
    let id = compose(
        &mut clerk,
        "Về việc nội dung KHONG-GHI-LOG-55",
        "thuong",
        "",
    );
    let mut leader = demo.login(COMMUNE, "leader");
    sign(&mut leader, &id, "991177").assert_status(403);
    let pin = demo.account(COMMUNE, "leader").pin.unwrap();
    sign(&mut leader, &id, &pin).assert_status(303);
    seal_and_send(&mut clerk, &id);
    let mut district = demo.login(DISTRICT, "clerk");
    eventually(&mut district, "/inbox", &id);

    let logs = demo.log_lines();
    assert!(
        logs.contains("DEBUG") || logs.contains("INFO"),
        "the demo logged nothing:\n{logs}"
    );
    assert!(
        logs.contains(&id),
        "the dispatch's id is logged, as an operator needs:\n{logs}"
    );
    for secret in [
        clerk_account.password.as_str(),
        "a-wrong-password-QZ81",
        &pin,
        "991177",
        "KHONG-GHI-LOG-55",
        "phương án sơ tán",
    ] {
        assert!(!logs.contains(secret), "{secret:?} reached the logs");
    }
}

#[test]
fn oversized_forms_are_refused_before_they_are_held_in_memory() {
    let demo = DemoServe::start();
    let mut stranger = Http::new(&demo.web_url(COMMUNE));
    let csrf = stranger.get("/login").csrf();
    let huge = "x".repeat(256 * 1024);
    let refused = stranger.post(
        "/login",
        &[("csrf", &csrf), ("login", &huge), ("password", "p")],
    );
    refused.assert_status(413);
    let mut clerk = demo.login(COMMUNE, "clerk");
    let csrf = clerk.get("/compose").csrf();
    let body = "đ".repeat(600 * 1024); // 1.2 MB of text, over the field limit
    let refused = clerk.post_multipart(
        "/compose",
        &[Part::Field("csrf", &csrf), Part::Field("body", &body)],
    );
    refused.assert_status(400);
    assert!(refused.text().contains("quá dài"), "{}", refused.text());
    // And the workplace still serves.
    clerk.get("/inbox").assert_status(200);
}

#[test]
fn off_loopback_the_workplace_serves_https_with_the_relays_certificate_and_secure_cookies() {
    use crate::support::relays::{free_addr, office_dir, relay_config, RelayProcess};
    use congvan_relay::config::{WebOffice, WebSettings, WebTls};
    let dir = crate::support::process::tempdir();
    let mut config = relay_config(dir.path(), COMMUNE);
    config.listen = free_addr();
    let web = free_addr();
    config.web = Some(WebSettings {
        listen: web,
        public_url: None,
        tls: WebTls::Relay,
        idle_minutes: 30,
        lookups_per_minute: 30,
        offices: vec![WebOffice {
            org: crate::support::relays::org(COMMUNE),
            credential: office_dir(COMMUNE),
        }],
    });
    let mut relay = RelayProcess::new(dir.path(), config);
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(relay.start());
    let root = crate::support::relays::root_pem();
    let curl = |args: &[&str]| {
        crate::support::process::run(
            std::process::Command::new("curl")
                .args(["-s", "-i", "--cacert", root.to_str().unwrap()])
                .args(args),
        )
    };
    // Wait for the web listener (it starts just after the relay's).
    let url = format!("https://{web}/login");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let page = loop {
        let page = curl(&[&url]);
        if page.code == Some(0) {
            break page;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no HTTPS answer\n{page}\n{}",
            relay.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(page.stdout.starts_with("HTTP/1.1 200"), "{page}");
    let cookie = page
        .stdout
        .lines()
        .find(|l| l.to_lowercase().starts_with("set-cookie:"))
        .unwrap();
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    // Plain HTTP on that port is not served.
    let plain = crate::support::process::run(std::process::Command::new("curl").args([
        "-s",
        "-i",
        "--max-time",
        "5",
        &format!("http://{web}/login"),
    ]));
    assert!(!plain.stdout.contains("Đăng nhập"), "{plain}");
}

#[test]
fn five_wrong_pins_lock_the_signing_key_even_for_the_right_one() {
    let demo = DemoServe::start();
    let mut clerk = demo.login(COMMUNE, "clerk");
    let id = compose(&mut clerk, "Về việc kiểm tra khóa ký", "thuong", "");
    let mut leader = demo.login(COMMUNE, "leader");
    for left in (0..5).rev() {
        let wrong = sign(&mut leader, &id, "111111");
        wrong.assert_status(403);
        if left > 0 {
            assert!(
                wrong.text().contains(&format!("Còn {left} lần thử")),
                "{}",
                wrong.text()
            );
        }
    }
    let pin = demo.account(COMMUNE, "leader").pin.unwrap();
    let locked = sign(&mut leader, &id, &pin);
    locked.assert_status(403);
    assert!(locked.text().contains("đã bị khóa"), "{}", locked.text());
    assert!(clerk
        .get(&format!("/drafts/{id}"))
        .text()
        .contains("Chờ ký"));
}
