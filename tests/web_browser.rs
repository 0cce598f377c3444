//! The web workplace in real headless Chromium, clicked through as people
//! use it: a commune clerk composes a Hỏa tốc công văn with an attachment,
//! the commune leader signs it with the PIN (after a wrong one, which signs
//! nothing), the clerk seals and sends it, the district clerk finds it
//! first in the inbox, opens it (PDF shown, PASSED) and registers it (03),
//! and the commune's outbox shows the custody receipts and the 03.
//! Screenshots of each step are kept in `target/web-screenshots/`.

use crate::support::browser::Browser;
use crate::support::web::DemoServe;

const COMMUNE: &str = "H99.01.01";
const DISTRICT: &str = "H99.01";

#[test]
fn a_day_in_the_browser_from_the_commune_clerk_to_the_district_register() {
    let demo = DemoServe::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut b = Browser::start("a_day_in_the_browser").await;
        let commune = demo.web_url(COMMUNE);
        let district = demo.web_url(DISTRICT);
        let clerk = demo.account(COMMUNE, "clerk");
        let leader = demo.account(COMMUNE, "leader");
        let district_clerk = demo.account(DISTRICT, "clerk");
        let attachment = demo.dir.path().join("phuong-an-so-tan.pdf");
        std::fs::write(&attachment, crate::support::web::sample_attachment()).unwrap();

        // The commune clerk logs in and composes.
        b.open(&format!("{commune}/login")).await;
        b.shot("login").await;
        b.login(&commune, &clerk.login, &clerk.password).await;
        assert_eq!(b.path().await, "/inbox");
        b.shot("inbox-commune").await;
        b.follow("a[href='/compose']").await;
        b.choose("type", "cong-van").await;
        b.click(&format!("input[name='to'][value='{DISTRICT}']"))
            .await;
        b.fill("subject", "Về việc sơ tán dân vùng ven biển trước bão số 6")
            .await;
        b.fill(
            "body",
            "Đề nghị Ủy ban nhân dân huyện hỗ trợ phương tiện sơ tán 120 hộ dân.",
        )
        .await;
        b.choose("urgency", "hoa-toc").await;
        let attach = b
            .client
            .find(fantoccini::Locator::Css("input[name='attach']"))
            .await
            .unwrap();
        attach
            .send_keys(attachment.to_str().unwrap())
            .await
            .unwrap();
        b.shot("compose").await;
        b.press("Trình ký").await;
        let draft_path = b.path().await;
        assert!(
            draft_path.starts_with("/drafts/"),
            "{draft_path}: {}",
            b.text().await
        );
        let id = draft_path.rsplit('/').next().unwrap().to_string();
        assert!(b.text().await.contains("Chờ ký"));
        b.shot("draft-awaiting").await;
        b.logout().await;

        // The leader: the queue, the preview, a wrong PIN, then the right one.
        b.login(&commune, &leader.login, &leader.password).await;
        assert_eq!(b.path().await, "/drafts", "{}", b.text().await);
        assert!(b.text().await.contains("Hỏa tốc"));
        b.shot("cho-ky").await;
        b.follow(&format!("a[href='/drafts/{id}']")).await;
        assert!(b
            .html()
            .await
            .contains(&format!("data=\"/drafts/{id}/pdf\"")));
        b.fill("pin", "000000").await;
        b.press("Ký số").await;
        assert!(b.text().await.contains("Mã PIN không đúng"));
        b.shot("wrong-pin").await;
        b.open(&format!("{commune}/drafts/{id}")).await;
        assert!(
            b.text().await.contains("Chờ ký"),
            "a wrong PIN signed nothing"
        );
        b.fill("pin", leader.pin.as_deref().unwrap()).await;
        b.press("Ký số").await;
        assert!(b.text().await.contains("Đã ký, chờ đóng dấu"));
        b.logout().await;

        // The clerk seals and sends.
        b.login(&commune, &clerk.login, &clerk.password).await;
        b.open(&format!("{commune}/drafts/{id}")).await;
        b.shot("ready-to-seal").await;
        b.press("Đóng dấu và gửi").await;
        assert_eq!(b.path().await, format!("/dispatches/{id}"));

        // The district clerk: first in the inbox, highlighted; PDF; PASSED; 03.
        b.login(&district, &district_clerk.login, &district_clerk.password)
            .await;
        b.wait_for(&format!("{district}/inbox"), "sơ tán dân vùng ven biển")
            .await;
        let html = b.html().await;
        let first_row = html.find("<tbody>").map(|at| &html[at..]).unwrap();
        let first_row = &first_row[..first_row.find("</tr>").unwrap()];
        assert!(
            first_row.contains("class=\"fire\"") && first_row.contains(&id),
            "{first_row}"
        );
        b.shot("inbox-district").await;
        b.follow(&format!("a[href='/dispatches/{id}']")).await;
        let text = b.text().await;
        assert!(text.contains("PASSED"), "{text}");
        assert!(text.contains("phuong-an-so-tan.pdf"), "{text}");
        assert!(b
            .html()
            .await
            .contains(&format!("data=\"/dispatches/{id}/pdf\"")));
        b.shot("dispatch-district").await;
        b.press("Tiếp nhận, vào sổ (03)").await;
        assert!(b.text().await.contains("Số đến"));
        b.shot("registered").await;

        // The commune's outbox: custody receipts and the 03.
        b.open(&format!("{commune}/outbox")).await;
        assert!(b.html().await.contains(&id));
        b.shot("outbox").await;
        let timeline = b
            .wait_for(&format!("{commune}/dispatches/{id}"), "03 Đã tiếp nhận")
            .await;
        assert!(timeline.contains("Diễn biến"), "{timeline}");
        b.shot("timeline").await;

        // On a phone screen the inbox still reads.
        b.client.set_window_size(390, 844).await.unwrap();
        b.open(&format!("{district}/inbox")).await;
        b.shot("inbox-phone").await;
        b.close().await;
    });
}
