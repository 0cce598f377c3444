//! The leaders' dashboard: the office's figures for today and the week,
//! equal to what the relay's store gives for the traffic the story sends;
//! the chart is server-drawn SVG (a screenshot is kept); the CSV holds the
//! page's figures; clerks do not see it.

use crate::support::browser::Browser;
use crate::support::process;
use crate::support::relays::*;
use crate::support::web::Http;
use congvan_envelope::metadata::Urgency;
use congvan_web::account::{add_account, NewAccount, Role};

const DISTRICT: &str = "H99.01";
const COMMUNE: &str = "H99.01.01";

#[tokio::test(flavor = "multi_thread")]
async fn a_leader_sees_the_weeks_figures_as_the_store_counts_them() {
    let dir = process::tempdir();
    let config = workplace_config(dir.path(), DISTRICT, COMMUNE, 30, &[DISTRICT]);
    let relay = congvan_relay::start(config).await.unwrap();
    let app = congvan_web::WebApp::open(relay.state.clone()).unwrap();
    // A leader signs: the account holds the official's key under a PIN.
    let official = official_dir(DISTRICT);
    for (role, login) in [(Role::Leader, "lanhdao"), (Role::Clerk, "vanthu")] {
        add_account(
            &app.store,
            &NewAccount {
                office: &org(DISTRICT),
                role,
                login,
                name: login,
                password: "mot-mat-khau-dai-2026",
                totp: false,
                signing_key: (role == Role::Leader).then_some((official.as_path(), "482913")),
            },
        )
        .unwrap();
    }
    let web = congvan_web::serve(app).await.unwrap();

    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let author = Author::new(DISTRICT);
    for (i, urgency) in [Urgency::Thuong, Urgency::Khan, Urgency::Khan]
        .into_iter()
        .enumerate()
    {
        let d = author.write(&out, &[COMMUNE], urgency, &format!("Báo cáo {i}"));
        send(&url(relay.addr), DISTRICT, &d).await;
    }
    let today = time::OffsetDateTime::now_utc()
        .to_offset(congvan_relay::notices::VIETNAM)
        .date();
    let week = relay
        .state
        .store
        .digest(DISTRICT, "x", congvan_notify::Period::Week, today)
        .unwrap();
    assert_eq!(week.sent, 3);

    let base = web.url.clone();
    let (page, csv, clerk) = tokio::task::spawn_blocking(move || {
        let mut leader = Http::new(&base);
        leader
            .login("lanhdao", "mot-mat-khau-dai-2026")
            .assert_status(303);
        let page = leader.get("/dashboard");
        let csv = leader.get("/dashboard.csv?period=week");
        let mut clerk = Http::new(&base);
        clerk
            .login("vanthu", "mot-mat-khau-dai-2026")
            .assert_status(303);
        (page, csv, clerk.get("/dashboard").status)
    })
    .await
    .unwrap();
    page.assert_status(200);
    let html = page.text();
    assert!(html.contains("<svg"), "no chart");
    assert_eq!(
        html.matches("class=\"bar\"").count(),
        10,
        "two bars per urgency"
    );
    for row in &week.by_urgency {
        let name = Urgency::from_code(row.urgency).unwrap().name();
        let line = format!("{name},{},{}", row.sent, row.received);
        assert!(csv.text().contains(&line), "{line} not in\n{}", csv.text());
    }
    assert!(
        csv.text()
            .contains(&format!("Tổng,{},{}", week.sent, week.received)),
        "{}",
        csv.text()
    );
    assert_eq!(clerk, 403, "a clerk sees no dashboard");

    let mut browser = Browser::start("dashboard").await;
    browser
        .login(&web.url, "lanhdao", "mot-mat-khau-dai-2026")
        .await;
    browser.open(&format!("{}/dashboard", web.url)).await;
    assert!(browser.text().await.contains("7 ngày qua"));
    browser.shot("dashboard").await;
    browser.close().await;
    web.stop().await;
    relay.stop().await;
}
