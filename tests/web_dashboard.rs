//! The leaders' dashboard across three levels. A commune relay, a district
//! relay and the province relay carry a scripted week of traffic; the
//! commune's and district's figures travel up the tree signed by their
//! relays, and the province leader's dashboard shows the whole province.
//! Every figure is checked against what the three stores hold, computed
//! here with SQL of our own; the page's tables equal their CSV downloads;
//! the chart renders (screenshot). Then a hostile child relay tries to
//! speak for offices it does not serve, to alter a report, to bring one
//! from outside its subtree and to replay an old one.
//!
//! The week is scripted by sending every dispatch now and then moving its
//! times back in each store by the script's number of days: the relays
//! compute their figures from their stores as they would after a real week.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::browser::Browser;
use crate::support::process;
use crate::support::relays::*;
use crate::support::web::Http;
use congvan_envelope::metadata::Urgency;
use congvan_relay::config::PeerMode;
use congvan_relay::figure_reports::{sign_report, FigureReport};
use congvan_web::account::{add_account, NewAccount, Role};

const PROVINCE: &str = "H99";
const DEPARTMENT: &str = "H99.10"; // a province department, served by the province relay
const DISTRICT: &str = "H99.01";
const COMMUNE: &str = "H99.01.01";
const PASSWORD: &str = "mot-mat-khau-dai-2026";

/// One scripted dispatch: who sends it to whom, how urgent, how many days
/// before today it travelled, its due date (days from today), whether it
/// is sealed, and the statuses its recipient reports.
struct Scripted {
    from: &'static str,
    to: &'static str,
    urgency: Urgency,
    days_ago: i64,
    due_in: Option<i64>,
    sealed: bool,
    statuses: &'static [&'static str],
}

const fn s(
    from: &'static str,
    to: &'static str,
    urgency: Urgency,
    days_ago: i64,
    due_in: Option<i64>,
    sealed: bool,
    statuses: &'static [&'static str],
) -> Scripted {
    Scripted {
        from,
        to,
        urgency,
        days_ago,
        due_in,
        sealed,
        statuses,
    }
}

const WEEK: [Scripted; 8] = [
    s(
        COMMUNE,
        DISTRICT,
        Urgency::Thuong,
        0,
        Some(3),
        true,
        &["01", "03", "06"],
    ),
    s(COMMUNE, DISTRICT, Urgency::Khan, 2, Some(-1), true, &["01"]),
    s(
        DISTRICT,
        COMMUNE,
        Urgency::ThuongKhan,
        1,
        Some(-2),
        true,
        &["01", "06"],
    ),
    s(PROVINCE, COMMUNE, Urgency::HoaToc, 3, None, true, &["01"]),
    s(COMMUNE, PROVINCE, Urgency::Thuong, 5, None, false, &[]),
    s(
        DEPARTMENT,
        DISTRICT,
        Urgency::Khan,
        0,
        None,
        true,
        &["01", "03"],
    ),
    s(DISTRICT, PROVINCE, Urgency::Thuong, 6, Some(-3), true, &[]),
    // Nine days ago: before the week, counted nowhere.
    s(DISTRICT, COMMUNE, Urgency::Thuong, 9, None, true, &["01"]),
];

/// The three relays, the province's with its web workplace.
struct Tree {
    province: congvan_relay::RunningRelay,
    district: congvan_relay::RunningRelay,
    commune: congvan_relay::RunningRelay,
    web: congvan_web::RunningWeb,
}

impl Tree {
    async fn start(base: &Path) -> Tree {
        let mut config = workplace_config(base, PROVINCE, DISTRICT, 30, &[PROVINCE]);
        // The district pulls (the province need not reach it).
        config.children[0].url = None;
        config.children[0].mode = PeerMode::Pull;
        let province = congvan_relay::start(config).await.unwrap();
        let mut config = relay_below(base, DISTRICT, &province, PeerMode::Pull);
        add_child(&mut config, COMMUNE, None);
        config.delivery.figures_interval_secs = 1;
        let district = congvan_relay::start(config).await.unwrap();
        let mut config = relay_below(base, COMMUNE, &district, PeerMode::Pull);
        config.delivery.figures_interval_secs = 1;
        let commune = congvan_relay::start(config).await.unwrap();

        let app = congvan_web::WebApp::open(province.state.clone()).unwrap();
        // A leader signs: the account holds the official's key under a PIN.
        let official = official_dir(PROVINCE);
        for (role, login) in [(Role::Leader, "lanhdao"), (Role::Clerk, "vanthu")] {
            add_account(
                &app.store,
                &NewAccount {
                    office: &org(PROVINCE),
                    role,
                    login,
                    name: login,
                    password: PASSWORD,
                    totp: false,
                    signing_key: (role == Role::Leader).then_some((official.as_path(), "482913")),
                },
            )
            .unwrap();
        }
        let web = congvan_web::serve(app).await.unwrap();
        Tree {
            province,
            district,
            commune,
            web,
        }
    }

    /// The relay serving `office`.
    fn relay_of(&self, office: &str) -> &congvan_relay::RunningRelay {
        match office {
            PROVINCE | DEPARTMENT => &self.province,
            DISTRICT => &self.district,
            _ => &self.commune,
        }
    }

    fn stores(&self) -> [PathBuf; 3] {
        [&self.province, &self.district, &self.commune]
            .map(|r| r.state.config.data.join("relay.sqlite"))
    }

    async fn stop(self) {
        self.web.stop().await;
        self.commune.stop().await;
        self.district.stop().await;
        self.province.stop().await;
    }
}

fn vn_today() -> time::Date {
    time::OffsetDateTime::now_utc()
        .to_offset(congvan_relay::notices::VIETNAM)
        .date()
}

/// Unix ms of noon, `days` before today, in Vietnam.
fn noon(days: i64) -> i64 {
    let t = (vn_today() - time::Duration::days(days))
        .with_time(time::Time::from_hms(12, 0, 0).unwrap())
        .assume_offset(congvan_relay::notices::VIETNAM);
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// Unix ms of midnight starting `days` before today (and `-1`: tomorrow).
fn midnight(days: i64) -> i64 {
    let t = (vn_today() - time::Duration::days(days))
        .with_time(time::Time::MIDNIGHT)
        .assume_offset(congvan_relay::notices::VIETNAM);
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// Sends the script's dispatches, has their recipients report the
/// statuses, and moves each dispatch back by its number of days in every
/// store. Returns the ids, in script order.
async fn play_week(tree: &Tree, out: &Path) -> Vec<String> {
    let today = vn_today();
    let mut ids = Vec::new();
    for (i, item) in WEEK.iter().enumerate() {
        let mut author = Author::new(item.from);
        if !item.sealed {
            author = author.without_seal();
        }
        let d = author.write_custom(
            out,
            &[item.to],
            item.urgency,
            &format!("Báo cáo {i}"),
            |m| {
                m.date = today - time::Duration::days(10);
                m.due = item.due_in.map(|n| today + time::Duration::days(n));
            },
        );
        send(&url(tree.relay_of(item.from).addr), item.from, &d).await;
        ids.push(d.id);
    }
    for (id, item) in ids.iter().zip(&WEEK) {
        let at = url(tree.relay_of(item.to).addr);
        wait_inbox(&at, item.to, id, Duration::from_secs(30)).await;
        for code in item.statuses {
            clerk("ack", &at, item.to, &[id.as_str(), "--status", code])
                .await
                .assert_ok();
        }
    }
    for store in tree.stores() {
        let conn = rusqlite::Connection::open(&store).unwrap();
        conn.busy_timeout(Duration::from_secs(30)).unwrap();
        for (i, (id, item)) in ids.iter().zip(&WEEK).enumerate() {
            let at = noon(item.days_ago);
            // Created (i + 1) minutes before it arrived.
            conn.execute(
                "UPDATE dispatches SET received_at = ?1, created_at = ?2 WHERE id = ?3",
                rusqlite::params![at, at - (i as i64 + 1) * 60_000, id],
            )
            .unwrap();
            conn.execute(
                "UPDATE inbox SET delivered_at = ?1 WHERE dispatch_id = ?2",
                rusqlite::params![at, id],
            )
            .unwrap();
        }
    }
    ids
}

/// What the stores hold for `office` between `start` and `end` (Unix ms),
/// computed here without the relay's code.
#[derive(Debug, Default)]
struct Expected {
    sent: [u64; 5],
    received: [u64; 5],
    acknowledged: BTreeMap<String, u64>,
    sent_in_clear: u64,
    signed_and_sealed: u64,
    delivery_ms: Vec<i64>,
    completion_ms: Vec<i64>,
}

fn expected(store: &Path, office: &str, start: i64, end: i64) -> Expected {
    let conn = rusqlite::Connection::open(store).unwrap();
    let mut e = Expected::default();
    let mut q = conn
        .prepare("SELECT urgency, secret, sealed FROM dispatches WHERE sender = ?1 AND received_at >= ?2 AND received_at < ?3")
        .unwrap();
    for row in q
        .query_map(rusqlite::params![office, start, end], |r| {
            Ok((
                r.get::<_, usize>(0)?,
                r.get::<_, bool>(1)?,
                r.get::<_, Option<bool>>(2)?,
            ))
        })
        .unwrap()
    {
        let (u, secret, sealed) = row.unwrap();
        e.sent[u] += 1;
        if !secret {
            e.sent_in_clear += 1;
            e.signed_and_sealed += u64::from(sealed == Some(true));
        }
    }
    let mut q = conn
        .prepare("SELECT d.urgency, i.delivered_at - d.created_at FROM inbox i JOIN dispatches d ON d.id = i.dispatch_id WHERE i.office = ?1 AND i.delivered_at >= ?2 AND i.delivered_at < ?3")
        .unwrap();
    for row in q
        .query_map(rusqlite::params![office, start, end], |r| {
            Ok((r.get::<_, usize>(0)?, r.get::<_, i64>(1)?))
        })
        .unwrap()
    {
        let (u, delay) = row.unwrap();
        e.received[u] += 1;
        e.delivery_ms.push(delay);
    }
    let mut q = conn
        .prepare("SELECT s.code, COUNT(*) FROM statuses s JOIN inbox i ON i.office = s.office AND i.dispatch_id = s.dispatch_id WHERE i.office = ?1 AND i.delivered_at >= ?2 AND i.delivered_at < ?3 GROUP BY s.code")
        .unwrap();
    for row in q
        .query_map(rusqlite::params![office, start, end], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?))
        })
        .unwrap()
    {
        let (code, n) = row.unwrap();
        e.acknowledged.insert(code, n);
    }
    let mut q = conn
        .prepare("SELECT s.time - i.delivered_at FROM statuses s JOIN inbox i ON i.office = s.office AND i.dispatch_id = s.dispatch_id WHERE s.code = '06' AND i.office = ?1 AND i.delivered_at >= ?2 AND i.delivered_at < ?3")
        .unwrap();
    for row in q
        .query_map(rusqlite::params![office, start, end], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap()
    {
        e.completion_ms.push(row.unwrap());
    }
    e
}

/// The rows of table `name` on the page, cells unescaped.
fn page_rows(html: &str, name: &str) -> Vec<Vec<String>> {
    let start = html
        .find(&format!("data-table=\"{name}\""))
        .unwrap_or_else(|| panic!("no table {name} on the page"));
    let body = &html[start..];
    let body = &body[body.find("<tbody>").unwrap()..body.find("</tbody>").unwrap()];
    body.split("<tr>")
        .skip(1)
        .map(|row| {
            row.split("<td>")
                .skip(1)
                .map(|cell| {
                    let text = &cell[..cell.find("</td>").unwrap()];
                    text.replace("&lt;", "<")
                        .replace("&gt;", ">")
                        .replace("&quot;", "\"")
                        .replace("&amp;", "&")
                })
                .collect()
        })
        .collect()
}

/// The data rows of a CSV download (no field here needs quoting).
fn csv_rows(csv: &str) -> Vec<Vec<String>> {
    csv.lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

fn median(mut v: Vec<i64>) -> String {
    v.sort_unstable();
    let m = match v.len() {
        0 => return "—".into(),
        n if n % 2 == 1 => v[n / 2] as f64,
        n => (v[n / 2 - 1] + v[n / 2]) as f64 / 2.0,
    };
    format!("{:.1}", m / 1000.0)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_province_dashboard_adds_up_the_week_of_every_level_below_it() {
    let dir = process::tempdir();
    let tree = Tree::start(dir.path()).await;
    let ids = play_week(&tree, &dir.path().join("out")).await;
    let moved = time::OffsetDateTime::now_utc();
    let moved_ms = (moved.unix_timestamp_nanos() / 1_000_000) as i64;

    // The commune's report travels commune → district → province; the
    // district's goes up directly. Wait for reports computed after the move.
    let province_state = tree.province.state.clone();
    eventually(
        "fresh figures from both relays below",
        Duration::from_secs(30),
        || {
            let state = province_state.clone();
            async move {
                let reports = state.store.figure_reports().ok()?;
                let fresh = |name: &str| {
                    reports
                        .iter()
                        .any(|r| r.relay == relay_name(name) && r.generated_at > moved_ms)
                };
                (fresh(DISTRICT) && fresh(COMMUNE)).then_some(())
            }
        },
    )
    .await;

    let base = tree.web.url.clone();
    let (page, tables, clerk_status) = tokio::task::spawn_blocking(move || {
        let mut leader = Http::new(&base);
        leader.login("lanhdao", PASSWORD).assert_status(303);
        let page = leader.get("/dashboard");
        let mut tables = BTreeMap::new();
        for table in [
            "urgency",
            "status",
            "processing",
            "levels",
            "overdue",
            "sources",
        ] {
            for period in ["day", "week"] {
                let csv = leader.get(&format!(
                    "/dashboard.csv?scope=subtree&period={period}&table={table}"
                ));
                csv.assert_status(200);
                tables.insert((table, period), csv.text());
            }
        }
        // A period or table the page does not offer is no download.
        leader
            .get("/dashboard.csv?period=month&table=urgency")
            .assert_status(404);
        leader
            .get("/dashboard.csv?period=week&table=accounts")
            .assert_status(404);
        let mut clerk = Http::new(&base);
        clerk.login("vanthu", PASSWORD).assert_status(303);
        (page, tables, clerk.get("/dashboard").status)
    })
    .await
    .unwrap();
    page.assert_status(200);
    let html = page.text();
    assert_eq!(clerk_status, 403, "a clerk sees no dashboard");

    // What the three stores hold, office by office, for the week and today.
    let offices = [(PROVINCE, 0), (DEPARTMENT, 0), (DISTRICT, 1), (COMMUNE, 2)];
    let stores = tree.stores();
    let sum = |start: i64, end: i64, only: Option<&str>| {
        let mut all = Expected::default();
        let mut exchanging = 0;
        for (office, store) in offices {
            if only.is_some_and(|o| o != office) {
                continue;
            }
            let e = expected(&stores[store], office, start, end);
            if e.sent.iter().sum::<u64>() + e.received.iter().sum::<u64>() > 0 {
                exchanging += 1;
            }
            for u in 0..5 {
                all.sent[u] += e.sent[u];
                all.received[u] += e.received[u];
            }
            for (code, n) in e.acknowledged {
                *all.acknowledged.entry(code).or_default() += n;
            }
            all.sent_in_clear += e.sent_in_clear;
            all.signed_and_sealed += e.signed_and_sealed;
            all.delivery_ms.extend(e.delivery_ms);
            all.completion_ms.extend(e.completion_ms);
        }
        (all, exchanging)
    };
    for (period, start) in [("week", midnight(6)), ("day", midnight(0))] {
        let end = midnight(-1);
        let (all, _) = sum(start, end, None);
        let urgency = csv_rows(&tables[&("urgency", period)]);
        for (u, row) in urgency.iter().take(5).enumerate() {
            assert_eq!(
                row[1..],
                [all.sent[u].to_string(), all.received[u].to_string()],
                "{period}, urgency {u}"
            );
        }
        let status = csv_rows(&tables[&("status", period)]);
        for row in &status {
            let n = all.acknowledged.get(&row[0]).copied().unwrap_or(0);
            assert_eq!(row[1], n.to_string(), "{period}, status {}", row[0]);
        }
        let processing = csv_rows(&tables[&("processing", period)]);
        assert_eq!(
            processing[4][1],
            median(all.delivery_ms.clone()),
            "{period}: median delivery"
        );
        assert_eq!(
            processing[5][1],
            median(all.completion_ms.clone()),
            "{period}: median time to completion"
        );

        // The table by level counts each level's offices from its own store.
        let levels = csv_rows(&tables[&("levels", period)]);
        let commune = levels.iter().find(|r| r[0] == "Xã").expect("a commune row");
        let (c, c_exchanging) = sum(start, end, Some(COMMUNE));
        assert_eq!(commune[1], "3", "three communes in the province's registry");
        assert_eq!(commune[2], "1", "one commune relay reported");
        assert_eq!(commune[3], c_exchanging.to_string());
        assert_eq!(commune[5], c.sent_in_clear.to_string());
        assert_eq!(commune[6], c.signed_and_sealed.to_string());
        let province = levels.iter().find(|r| r[0] == "Tỉnh").unwrap();
        assert_eq!(province[2], "2", "the province and its department");
    }
    // The week, by script: what each level sent and received.
    let week = csv_rows(&tables[&("urgency", "week")]);
    assert_eq!(
        week[5][1..],
        ["7".to_string(), "7".to_string()],
        "seven of eight in the week"
    );
    let levels = csv_rows(&tables[&("levels", "week")]);
    let commune = levels.iter().find(|r| r[0] == "Xã").unwrap();
    assert_eq!(
        commune[5..7],
        ["3".to_string(), "2".to_string()],
        "one of the commune's three unsealed"
    );
    // Overdue: the commune's Khẩn to the district (due yesterday, no 06) and
    // the district's report to the province (due three days ago).
    let overdue = csv_rows(&tables[&("overdue", "week")]);
    let listed: Vec<&str> = overdue.iter().map(|r| r[3].as_str()).collect();
    let mut expected_overdue = vec![ids[1].as_str(), ids[6].as_str()];
    expected_overdue.sort();
    let mut listed_sorted = listed.clone();
    listed_sorted.sort();
    assert_eq!(listed_sorted, expected_overdue, "{overdue:?}");
    let processing = csv_rows(&tables[&("processing", "week")]);
    assert_eq!(
        processing[0][1], "1",
        "on time: the commune's first, completed before its due day"
    );
    assert_eq!(
        processing[1][1], "1",
        "late: the district's Thượng khẩn, completed after"
    );
    assert_eq!(processing[2][1], "2", "overdue");
    let sources = csv_rows(&tables[&("sources", "week")]);
    let source_of = |code: &str| sources.iter().find(|r| r[0] == code).unwrap()[3].clone();
    assert_eq!(
        source_of(COMMUNE),
        relay_name(COMMUNE),
        "the commune's figures came up the tree"
    );
    assert_eq!(source_of("H99.02"), relay_name("H99.02"));
    assert!(sources
        .iter()
        .any(|r| r[0] == "H99.02" && r[4] == "chưa có số liệu"));

    // Page tables equal the downloads (the week's section is the second).
    for table in ["urgency", "status", "processing", "levels"] {
        let day = page_rows(&html, table);
        assert_eq!(day, csv_rows(&tables[&(table, "day")]), "{table}, today");
        let after = &html[html.find(&format!("data-table=\"{table}\"")).unwrap() + 10..];
        assert_eq!(
            page_rows(after, table),
            csv_rows(&tables[&(table, "week")]),
            "{table}, week"
        );
    }
    assert_eq!(
        html.matches("class=\"bar\"").count(),
        10,
        "two bars per urgency"
    );

    let mut browser = Browser::start("dashboard").await;
    browser.login(&tree.web.url, "lanhdao", PASSWORD).await;
    browser.open(&format!("{}/dashboard", tree.web.url)).await;
    let text = browser.text().await;
    assert!(
        text.contains("7 ngày qua") && text.contains("Theo cấp"),
        "{text}"
    );
    browser.shot("dashboard").await;
    browser.close().await;
    tree.stop().await;
}

/// A district relay (a valid certificate, a configured child) turned
/// hostile, posting figures to the province.
#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_child_relay_cannot_speak_for_others_or_rewrite_their_figures() {
    let dir = process::tempdir();
    let mut config = relay_config(dir.path(), PROVINCE);
    add_child(&mut config, DISTRICT, None);
    let province = congvan_relay::start(config).await.unwrap();
    let as_district = client_as(&url(province.addr), &credential(&relay_dir(DISTRICT)));
    let today = vn_today().to_string();
    let report = |relay_office: &str, figures_for: &str, generated_at: i64| FigureReport {
        relay: relay_name(relay_office),
        generated_at,
        days: vec![congvan_relay::figures::DayFigures {
            office: figures_for.into(),
            day: today.clone(),
            sent: [40, 0, 0, 0, 0],
            ..Default::default()
        }],
        overdue: Vec::new(),
    };
    let signed_by =
        |office: &str, r: &FigureReport| sign_report(r, &credential(&relay_dir(office))).unwrap();
    let now_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;

    // Figures for an office served by another district's relay.
    let for_other = signed_by(DISTRICT, &report(DISTRICT, "H99.02", now_ms));
    // Its own figures, inflated after signing.
    let mut altered = signed_by(DISTRICT, &report(DISTRICT, DISTRICT, now_ms));
    altered.report = altered.report.replace("[40,", "[400,");
    // A genuine report of a relay outside its subtree.
    let outsider = signed_by("H99.02", &report("H99.02", "H99.02", now_ms));
    // Another relay's name on its own signature.
    let impostor = signed_by(DISTRICT, &report(COMMUNE, COMMUNE, now_ms));
    // A genuine report from its commune, then an older one replayed.
    let newer = signed_by(COMMUNE, &report(COMMUNE, COMMUNE, now_ms));
    let older = signed_by(COMMUNE, &report(COMMUNE, COMMUNE, now_ms - 60_000));
    // Impossible figures: more acknowledged than received.
    let mut impossible = report(COMMUNE, COMMUNE, now_ms);
    impossible.days[0].acknowledged = [5, 0, 0, 0, 0, 0];
    let impossible = signed_by(COMMUNE, &impossible);
    // A genuine report from three days ago, when none is held.
    let stale = signed_by(COMMUNE, &report(COMMUNE, COMMUNE, now_ms - 3 * 86_400_000));
    let upload = congvan_relay::api::FiguresUpload {
        reports: vec![
            for_other, altered, outsider, impostor, newer, older, impossible, stale,
        ],
    };
    let outcomes = as_district.send_figures(&upload).await.unwrap();
    let said: Vec<(&str, &str)> = outcomes
        .iter()
        .map(|o| (o.outcome.as_str(), o.reason.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(said.len(), 8, "{said:?}");
    assert!(
        said[0].0 == "refused" && said[0].1.contains("which it does not serve"),
        "{said:?}"
    );
    assert!(
        said[1].0 == "refused" && said[1].1.contains("does not verify"),
        "{said:?}"
    );
    assert!(
        said[2].0 == "refused" && said[2].1.contains("is not below the child relay"),
        "{said:?}"
    );
    assert!(
        said[3].0 == "refused" && said[3].1.contains("the signer is not relay"),
        "{said:?}"
    );
    assert_eq!(said[4].0, "stored", "{said:?}");
    assert_eq!(
        said[5].0, "older",
        "a replayed older report replaces nothing: {said:?}"
    );
    let held = province.state.store.figure_reports().unwrap();
    assert_eq!(held.len(), 1, "only the commune's genuine report is kept");
    assert_eq!(held[0].generated_at, now_ms);

    // An office is no relay: it sends no figures.
    let as_office = client(&url(province.addr), DISTRICT);
    let refused = as_office
        .send_figures(&congvan_relay::api::FiguresUpload { reports: vec![] })
        .await;
    expect_refused(refused, 403, &["only a child relay sends figures"]);
    province.stop().await;
}
