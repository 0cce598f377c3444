//! E-mail notices and digests against a real SMTP server (aiosmtpd) on
//! 127.0.0.1, with relays running in-process on real sockets and SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::disallowed_macros)] // test progress output

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::support::process;
use crate::support::relays::*;
use crate::support::smtp::SmtpServer;
use congvan_envelope::metadata::{Secrecy, Urgency};
use congvan_notify::{MailConfig, SmtpSecurity};
use congvan_relay::config::PeerMode;
use congvan_relay::{RelayConfig, RunningRelay};
use serde_json::Value;

fn free_port() -> u16 {
    free_addr().port()
}

fn mail_config(port: u16) -> MailConfig {
    let mut offices = BTreeMap::new();
    offices.insert("H99".to_string(), vec!["vanthu@ubnd-h99.test".to_string()]);
    offices.insert(
        "H99.10".to_string(),
        vec!["vanthu@stttt-h99.test".to_string()],
    );
    offices.insert(
        "H99.01".to_string(),
        vec![
            "vanthu@ubnd-h99-01.test".to_string(),
            "lanhdao@ubnd-h99-01.test".to_string(),
        ],
    );
    MailConfig {
        host: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::None,
        username: None,
        password_file: None,
        password_env: None,
        from: "congvan <congvan@relay.test>".into(),
        offices,
        digest_hour: 99, // never: digests are queued by hand in these tests
        retry_secs: 1,
        check_secs: 1,
    }
}

/// Province relay (H99, H99.10) and district relay (H99.01); the district's
/// commune relay is configured but never started, so dispatches to it expire.
fn configs(base: &Path, smtp_port: u16) -> (RelayConfig, RelayConfig) {
    let mut province = relay_config(base, "H99");
    province.listen = free_addr();
    add_child(&mut province, "H99.01", None);
    province.mail = Some(mail_config(smtp_port));
    let mut district = relay_config(base, "H99.01");
    set_parent(&mut district, "H99", &url(province.listen), PeerMode::Pull);
    add_child(&mut district, "H99.01.01", Some("https://127.0.0.1:1"));
    district.delivery.expiry_secs = [3, 3, 3, 3, 3];
    district.mail = Some(mail_config(smtp_port));
    (province, district)
}

fn messages_to<'a>(all: &'a [Value], address: &str) -> Vec<&'a Value> {
    all.iter()
        .filter(|m| {
            m["to"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t.as_str().unwrap().contains(address))
        })
        .collect()
}

/// An SMTP server, and the province and district relays of [`configs`]
/// both mailing through it.
async fn mail_network(base: &Path) -> (SmtpServer, RunningRelay, RunningRelay) {
    let smtp = SmtpServer::start(base, free_port());
    let (province_cfg, district_cfg) = configs(base, smtp.port);
    let province = congvan_relay::start(province_cfg).await.unwrap();
    let district = congvan_relay::start(district_cfg).await.unwrap();
    (smtp, province, district)
}

/// Arrival (two offices), secret-arrival and expiry notices reach the configured clerks
/// with decoded Vietnamese subjects and UTF-8 plain-text bodies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arrival_secret_and_expiry_notices_reach_the_clerks() {
    let tmp = tempfile::tempdir().unwrap();
    let (smtp, province, district) = mail_network(tmp.path()).await;
    let district_url = url(district.addr);
    let author = Author::new("H99.01");
    let dir = tmp.path().join("out");

    let urgent = author.write_custom(
        &dir,
        &["H99", "H99.10"],
        Urgency::HoaToc,
        "Về việc ứng phó bão số 5",
        |m| {
            m.due = Some(m.date + time::Duration::days(3));
        },
    );
    let secret = author.write_custom(
        &dir,
        &["H99"],
        Urgency::Thuong,
        "Về việc nhân sự (tuyệt đối giữ kín)",
        |m| {
            m.secrecy = Some(Secrecy::Mat);
        },
    );
    // A secret dispatch travels sealed, as `congvan send` makes it.
    let secret = seal(&secret, "H99.01", &["H99"]);
    let lost = author.write(
        &dir,
        &["H99.01.01"],
        Urgency::Khan,
        "Về việc gửi xã Cẩm Thạch",
    );
    for d in [&urgent, &secret, &lost] {
        send(&district_url, "H99.01", d).await;
    }

    let first = eventually("four notices", Duration::from_secs(30), || {
        let all = smtp.messages();
        async move { (all.len() >= 4).then_some(all) }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let all = smtp.messages();
    assert_eq!(
        all.len(),
        4,
        "exactly four notices, none repeated: {all:#?} (first seen: {})",
        first.len()
    );

    // Hỏa tốc arrival at both recipient offices, subject marked and decoded.
    for address in ["vanthu@ubnd-h99.test", "vanthu@stttt-h99.test"] {
        let got = messages_to(&all, address);
        let arrival = got
            .iter()
            .find(|m| m["body"].as_str().unwrap().contains(&urgent.id))
            .unwrap_or_else(|| panic!("no arrival for {address}: {all:#?}"));
        let subject = arrival["subject"].as_str().unwrap();
        assert_eq!(
            subject, "[HỎA TỐC] Văn bản đến: 15/CV-UBND - Về việc ứng phó bão số 5",
            "{arrival:#}"
        );
        assert!(
            arrival["raw_subject"]
                .as_str()
                .unwrap()
                .contains("=?utf-8?"),
            "subject is not RFC 2047 encoded: {arrival:#}"
        );
        assert_eq!(arrival["content_type"], "text/plain");
        assert_eq!(arrival["charset"], "utf-8");
        let body = arrival["body"].as_str().unwrap();
        for text in [
            "Ủy ban nhân dân huyện Cẩm Xuyên (H99.01)",
            "Độ khẩn: Hỏa tốc",
            "Hạn xử lý:",
            "Trích yếu: Về việc ứng phó bão số 5",
        ] {
            assert!(body.contains(text), "{text:?} missing:\n{body}");
        }
    }

    // The secret dispatch: a notice that holds no subject, number or content.
    let secret_notice = messages_to(&all, "vanthu@ubnd-h99.test")
        .into_iter()
        .find(|m| m["body"].as_str().unwrap().contains(&secret.id))
        .expect("secret notice");
    let text = format!("{}\n{}", secret_notice["subject"], secret_notice["body"]);
    assert!(text.contains("Có văn bản mật đến"), "{text}");
    for leak in ["nhân sự", "giữ kín", "15/CV-UBND", "Trích yếu"] {
        assert!(!text.contains(leak), "secret notice leaks {leak:?}: {text}");
    }

    // The expiry notice goes to both of the sender's clerks, in one message.
    let expired: Vec<_> = messages_to(&all, "ubnd-h99-01.test");
    assert_eq!(expired.len(), 1, "{all:#?}");
    let notice = expired[0];
    assert_eq!(notice["to"].as_array().unwrap().len(), 2);
    assert!(
        notice["subject"]
            .as_str()
            .unwrap()
            .starts_with("[KHẨN] Văn bản không chuyển được: 15/CV-UBND"),
        "{notice:#}"
    );
    let body = notice["body"].as_str().unwrap();
    assert!(
        body.contains("H99.01.01") && body.contains(&lost.id),
        "{body}"
    );

    district.stop().await;
    province.stop().await;
}

/// With the SMTP server down, dispatches still flow; the queued notices go
/// out once it returns, each exactly once, across a relay restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_wait_for_a_dead_smtp_server_and_are_sent_once() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let (province_cfg, district_cfg) = configs(tmp.path(), port);
    let province = congvan_relay::start(province_cfg.clone()).await.unwrap();
    let district = congvan_relay::start(district_cfg).await.unwrap();
    let author = Author::new("H99.01").without_seal();
    let dir = tmp.path().join("out");
    let mut ids = Vec::new();
    for i in 0..4 {
        let d = author.write(&dir, &["H99"], Urgency::Thuong, &format!("Về việc số {i}"));
        send(&url(district.addr), "H99.01", &d).await;
        ids.push(d.id);
    }
    // Traffic flows with no SMTP server at all.
    for id in &ids {
        wait_inbox(&url(province.addr), "H99", id, Duration::from_secs(20)).await;
    }
    // Let the mail worker fail at least once, then restart the province relay.
    tokio::time::sleep(Duration::from_secs(2)).await;
    province.stop().await;
    let province = congvan_relay::start(province_cfg).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let smtp = SmtpServer::start(tmp.path(), port);
    let got = eventually("four arrival notices", Duration::from_secs(30), || {
        let all = smtp.messages();
        async move { (all.len() >= 4).then_some(all) }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let all = smtp.messages();
    assert_eq!(all.len(), 4, "{got:#?}");
    for id in &ids {
        let n = all
            .iter()
            .filter(|m| m["body"].as_str().unwrap().contains(id.as_str()))
            .count();
        assert_eq!(n, 1, "{id} notified {n} times");
    }
    district.stop().await;
    province.stop().await;
}

/// `congvan stats` gives, for a scripted week of traffic, exactly the
/// figures the test computes itself from the relay's SQLite store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weekly_digest_figures_match_the_store() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut province_cfg, district_cfg) = configs(tmp.path(), free_port());
    // The province's web workplace, where the digest's link leads.
    let mut web = workplace_config(tmp.path(), "H99", "H99.01", 30, &["H99"]).web;
    if let Some(web) = web.as_mut() {
        web.public_url = Some("https://vanban.hatinh.example/".into());
    }
    province_cfg.web = web;
    let province_toml = tmp.path().join("province.toml");
    province_cfg.save(&province_toml).unwrap();
    let db = province_cfg.data.join("relay.sqlite");
    let province = congvan_relay::start(province_cfg).await.unwrap();
    let district = congvan_relay::start(district_cfg).await.unwrap();
    let author = Author::new("H99.01").without_seal();
    let dir = tmp.path().join("out");
    let today = time::OffsetDateTime::now_utc()
        .to_offset(congvan_relay::notices::VIETNAM)
        .date();

    // The script: urgency, days before today it arrives, overdue?, statuses sent.
    let script: [(Urgency, i64, bool, &[&str]); 7] = [
        (Urgency::Thuong, 0, false, &["01", "03", "06"]),
        (Urgency::Thuong, 1, true, &["01", "03"]),
        (Urgency::Thuong, 2, true, &["01"]),
        (Urgency::Khan, 3, false, &["01", "03", "04", "05"]),
        (Urgency::Khan, 6, true, &[]),
        (Urgency::HoaToc, 4, false, &["01", "02"]),
        (Urgency::Thuong, 8, false, &["01"]), // before the week: not counted
    ];
    let mut ids = Vec::new();
    for (i, (urgency, _, overdue, _)) in script.iter().enumerate() {
        let d = author.write_custom(
            &dir,
            &["H99"],
            *urgency,
            &format!("Về việc thống kê {i}"),
            |m| {
                if *overdue {
                    m.date = today - time::Duration::days(10);
                    m.due = Some(today - time::Duration::days(5));
                } else {
                    m.due = Some(today + time::Duration::days(5));
                }
            },
        );
        send(&url(district.addr), "H99.01", &d).await;
        ids.push(d.id);
    }
    for id in &ids {
        wait_inbox(&url(province.addr), "H99", id, Duration::from_secs(20)).await;
    }
    for (id, (_, _, _, codes)) in ids.iter().zip(&script) {
        for code in *codes {
            clerk(
                "ack",
                &url(province.addr),
                "H99",
                &[id.as_str(), "--status", code],
            )
            .await
            .assert_ok();
        }
    }
    // Spread the arrivals over the week, as the script says.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let noon = |days: i64| {
        let day = today - time::Duration::days(days);
        let t = day
            .with_time(time::Time::from_hms(12, 0, 0).unwrap())
            .assume_offset(congvan_relay::notices::VIETNAM);
        (t.unix_timestamp_nanos() / 1_000_000) as i64
    };
    for (id, (_, days, _, _)) in ids.iter().zip(&script) {
        conn.execute(
            "UPDATE inbox SET delivered_at = ?1 WHERE dispatch_id = ?2",
            rusqlite::params![noon(*days), id],
        )
        .unwrap();
    }

    let stats = |extra: &[&str]| {
        let config = province_toml.to_str().unwrap();
        let mut args = vec![
            "stats", "--config", config, "--office", "H99", "--period", "week",
        ];
        args.extend(extra);
        process::congvan(args)
    };
    let out = stats(&["--json"]);
    out.assert_ok();
    let digest: Value = serde_json::from_str(&out.stdout).unwrap();

    // What the script implies.
    let in_week: Vec<_> = script.iter().filter(|s| s.1 <= 6).collect();
    assert_eq!(digest["received"], in_week.len() as u64);
    assert_eq!(digest["sent"], 0, "the province sent nothing");
    for (urgency, expected) in [(0u64, 3u64), (1, 2), (3, 1)] {
        let row = digest["by_urgency"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["urgency"] == urgency)
            .unwrap();
        assert_eq!(row["received"], expected, "urgency {urgency}: {digest:#}");
    }
    for code in ["01", "02", "03", "04", "05", "06"] {
        let acked = in_week.iter().filter(|s| s.3.contains(&code)).count() as f64;
        let share = digest["acknowledged"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p[0] == code)
            .unwrap()[1]
            .as_f64()
            .unwrap();
        assert!(
            (share - acked / in_week.len() as f64).abs() < 1e-9,
            "code {code}: {share} vs {acked}"
        );
    }
    let mut overdue: Vec<String> = ids
        .iter()
        .zip(&script)
        .filter(|(_, s)| s.2 && !s.3.contains(&"06"))
        .map(|(id, _)| id.clone())
        .collect();
    overdue.sort();
    let got: Vec<String> = digest["overdue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, overdue);

    // The median delivery time, computed here from the store's own rows.
    let mut delays: Vec<i64> = Vec::new();
    let mut stmt = conn
        .prepare("SELECT i.delivered_at - d.created_at FROM inbox i JOIN dispatches d ON d.id = i.dispatch_id WHERE i.office = 'H99' AND i.delivered_at >= ?1")
        .unwrap();
    for delay in stmt
        .query_map([noon(6) - 12 * 3_600_000], |r| r.get(0))
        .unwrap()
    {
        delays.push(delay.unwrap());
    }
    delays.sort();
    let n = delays.len();
    let median = if n % 2 == 1 {
        delays[n / 2] as f64
    } else {
        (delays[n / 2 - 1] + delays[n / 2]) as f64 / 2.0
    };
    let got = digest["median_delivery_secs"].as_f64().unwrap();
    assert!(
        (got - median / 1000.0).abs() < 1e-6,
        "median {got} vs {}",
        median / 1000.0
    );

    assert_eq!(
        digest["dashboard"], "https://vanban.hatinh.example/dashboard",
        "the digest links to the leaders' dashboard"
    );

    // The human form says the same.
    let text = stats(&[]);
    text.assert_ok();
    assert!(
        text.stdout
            .contains("tải CSV: https://vanban.hatinh.example/dashboard"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains(&format!("Văn bản đến: {}", in_week.len())),
        "{}",
        text.stdout
    );

    district.stop().await;
    province.stop().await;
}

/// The sender's clerks hear when a recipient rejects a dispatch (status 02)
/// and when a dispatch passes its due date without completion (06).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_and_overdue_notices_reach_the_sender() {
    let tmp = tempfile::tempdir().unwrap();
    let (smtp, province, district) = mail_network(tmp.path()).await;
    let author = Author::new("H99.01").without_seal();
    let dir = tmp.path().join("out");
    let today = time::OffsetDateTime::now_utc()
        .to_offset(congvan_relay::notices::VIETNAM)
        .date();
    let rejected = author.write(
        &dir,
        &["H99"],
        Urgency::Thuong,
        "Về việc đề nghị cấp kinh phí",
    );
    let late = author.write_custom(
        &dir,
        &["H99"],
        Urgency::Thuong,
        "Về việc báo cáo quá hạn",
        |m| {
            m.date = today - time::Duration::days(10);
            m.due = Some(today - time::Duration::days(1));
        },
    );
    for d in [&rejected, &late] {
        send(&url(district.addr), "H99.01", d).await;
        wait_inbox(&url(province.addr), "H99", &d.id, Duration::from_secs(20)).await;
    }
    clerk(
        "ack",
        &url(province.addr),
        "H99",
        &[
            rejected.id.as_str(),
            "--status",
            "02",
            "--note",
            "Hồ sơ thiếu dự toán chi tiết",
        ],
    )
    .await
    .assert_ok();

    let sender = "vanthu@ubnd-h99-01.test";
    let got = eventually(
        "the rejected and overdue notices",
        Duration::from_secs(30),
        || {
            let all = smtp.messages();
            async move { (messages_to(&all, sender).len() >= 2).then_some(all) }
        },
    )
    .await;
    let to_sender = messages_to(&got, sender);
    let notice = |id: &str, subject: &str, says: &str| {
        let found = to_sender
            .iter()
            .find(|m| m["body"].as_str().unwrap().contains(id))
            .unwrap_or_else(|| panic!("no notice about {id}: {to_sender:#?}"));
        assert_eq!(found["subject"], subject);
        assert!(found["body"].as_str().unwrap().contains(says), "{found:#}");
    };
    notice(
        &rejected.id,
        "Văn bản bị từ chối: 15/CV-UBND - Về việc đề nghị cấp kinh phí",
        "Lý do: Hồ sơ thiếu dự toán chi tiết",
    );
    notice(
        &late.id,
        "Văn bản quá hạn xử lý: 15/CV-UBND - Về việc báo cáo quá hạn",
        "H99",
    );
    // Sent once, although the check runs every second.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let again = smtp.messages();
    assert_eq!(messages_to(&again, sender).len(), 2, "{again:#?}");
    district.stop().await;
    province.stop().await;
}
