//! A newcomer's first hour: the README's commands run exactly as written,
//! and the messages met on the way say what is wrong and what to do.
//!
//! The README sections between `<!-- NAME:begin -->` and `<!-- NAME:end -->`
//! are extracted from README.md itself and run with bash in a fresh folder
//! holding a copy of `certs/`, with the `congvan` built for these tests
//! first on the PATH; so the README cannot drift from the code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use congvan_relay::config::PeerMode;
use std::time::Duration;

use crate::support::process::{self, Run};
use crate::support::readme;
use crate::support::relays::*;
use congvan_envelope::metadata::Urgency;

/// The quickstart: a copy of the demo PKI, its CRL, two relays on loopback,
/// a quyết định composed, signed, sealed, sent, fetched, acknowledged and
/// tracked, every command as the README shows it.
#[test]
fn the_readme_quickstart_runs_as_written() {
    let dir = process::tempdir();
    let work = readme::fresh_checkout(dir.path());
    let committed_ca = std::fs::read(work.join("certs/ca-h99/revoked.json")).unwrap();

    let run = readme::run_section("quickstart", &work, Duration::from_secs(120));
    run.assert_ok();

    // The sender sees the commune's acknowledgement, recipient by recipient.
    let track = run
        .stdout
        .split("Recipients of")
        .nth(1)
        .unwrap_or_else(|| panic!("no track output\n{run}"));
    assert!(
        track.contains("H99.01.01")
            && track.contains("acknowledged")
            && track.contains("status 03"),
        "{run}"
    );
    // The relays' logs went to files: plain text, no colour escapes.
    for log in ["relay-h99-01.log", "relay-h99-01-01.log"] {
        let text = std::fs::read(work.join("quickstart").join(log)).unwrap();
        assert!(!text.is_empty(), "{log} is empty");
        assert!(!text.contains(&0x1b), "{log} has terminal escapes");
    }
    // The committed demo CA is untouched: the CRL was made on the copy.
    assert_eq!(
        std::fs::read(work.join("certs/ca-h99/revoked.json")).unwrap(),
        committed_ca,
        "the quickstart changed certs/"
    );
}

/// The operator's PKI commands, including the verification that is
/// expected to fail (and says so) because the certificate was revoked.
#[test]
fn the_readme_pki_commands_run_as_written() {
    let dir = process::tempdir();
    let work = readme::fresh_checkout(dir.path());
    let run = readme::run_section("pki", &work, Duration::from_secs(120));
    run.assert_ok();
    assert!(
        run.stdout.contains("refused as expected (exit 1)"),
        "the revoked certificate was not refused\n{run}"
    );
    assert!(work.join("pki/ca-h42.crl.pem").exists());
    assert!(work.join("demo-pki/root/cert.pem").exists());
}

/// The README's timestamp authority: a TSA certificate, `tsa run`, a
/// signature timestamped there and reported by `dispatch verify`.
#[test]
fn the_readme_tsa_commands_run_as_written() {
    let dir = process::tempdir();
    let work = readme::fresh_checkout(dir.path());
    let run = readme::run_section("tsa", &work, Duration::from_secs(60));
    run.assert_ok();
    assert!(run.stdout.contains("with a signature timestamp"), "{run}");
    assert!(
        run.stdout.contains("Dịch vụ cấp dấu thời gian H99"),
        "{run}"
    );
}

/// The README's preservation: a dispatch timestamped, preserved with the
/// CAs' lists under an archive timestamp, verified offline in 2040.
#[test]
fn the_readme_preserve_commands_run_as_written() {
    let dir = process::tempdir();
    let work = readme::fresh_checkout(dir.path());
    let run = readme::run_section("preserve", &work, Duration::from_secs(90));
    run.assert_ok();
    assert!(run.stdout.contains("preserved archive/qd22.cvd"), "{run}");
    assert!(run.stdout.contains("Result: PASSED"), "{run}");
    assert!(run.stdout.contains("Validated offline"), "{run}");
}

/// The operator's set-up of a web workplace for an office: relay init
/// --web, accounts (a leader with the signing key sealed under a PIN, an
/// auditor with TOTP), and the relay serving the login page.
/// The README's national-exchange commands: import, verify, export, status.
#[test]
fn the_readme_edxml_commands_run_as_written() {
    let dir = process::tempdir();
    let work = readme::fresh_checkout(dir.path());
    let run = readme::run_section("edxml", &work, Duration::from_secs(60));
    run.assert_ok();
    assert!(
        run.stdout
            .contains("sealed as a copy by the gateway office"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("valid authenticated copy by the gateway office H99"),
        "{run}"
    );
    assert!(run.stdout.contains("Exported dispatch"), "{run}");
    assert!(run.stdout.contains("Status 03 from"), "{run}");
    assert!(work.join("ke-hoach.edxml").exists());
}

#[test]
fn the_readme_web_workplace_commands_run_as_written() {
    let dir = process::tempdir();
    let work = readme::fresh_checkout(dir.path());
    let run = readme::run_section("web", &work, Duration::from_secs(120));
    run.assert_ok();
    for login in ["vanthu", "chutich", "kiemtra"] {
        assert!(run.stdout.contains(login), "user list shows {login}\n{run}");
    }
    assert!(run.stdout.contains("[TOTP]"), "{run}");
    let auditor = std::fs::read_to_string(work.join("web-office/auditor.txt")).unwrap();
    assert!(
        auditor.contains("TOTP secret") && auditor.contains("password: "),
        "{auditor}"
    );
    let config = std::fs::read_to_string(work.join("web-office/relay/relay.toml")).unwrap();
    assert!(
        config.contains("[web]") && config.contains("tls = \"none\""),
        "{config}"
    );
    let served = std::fs::read_to_string(work.join("web-office/relay.out")).unwrap();
    assert!(
        served.contains("web workplace at http://127.0.0.1:18080"),
        "{served}"
    );
    // The store of passwords and sealed keys is the owner's only.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(work.join("web-office/relay/web/web.sqlite"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o077,
        0,
        "web.sqlite is readable by others: {mode:o}"
    );
}

/// What the README's commands create holds private keys and relay stores:
/// git must not offer to commit it.
#[test]
fn what_the_readme_commands_create_is_ignored_by_git() {
    let repo = repo();
    for made in [
        "pki",
        "demo-pki",
        "quickstart",
        "web-office",
        "archive",
        "tsa-h99",
        "tsa.cvd",
    ] {
        let check = process::run(
            std::process::Command::new("git")
                .arg("-C")
                .arg(&repo)
                .args(["check-ignore", "--no-index", "-q", made]),
        );
        assert_eq!(check.code, Some(0), "{made}/ is not in .gitignore\n{check}");
    }
}

/// A metadata problem names the flag that sets the field, not the field's
/// JSON name.
#[test]
fn a_metadata_problem_names_the_flag_that_sets_it() {
    let dir = process::tempdir();
    let new = |extra: &[&str]| -> Run {
        let mut args = vec![
            "dispatch".to_string(),
            "new".into(),
            "--registry".into(),
            registry_path().display().to_string(),
            "--from".into(),
            "H99.01".into(),
            "--to".into(),
            "H99.01.01".into(),
            "--subject".into(),
            "Về việc thử".into(),
            "--signer-cert".into(),
            official_dir("H99.01")
                .join("cert.pem")
                .display()
                .to_string(),
            "--out".into(),
            dir.path().join("x.cvd").display().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        process::congvan(args)
    };

    let unknown_type = new(&["--type", "Thư tay", "--number", "05/UBND-VP"]);
    unknown_type.assert_code(2);
    assert!(
        unknown_type
            .stderr
            .contains("--type: unknown document type"),
        "{unknown_type}"
    );
    assert!(!unknown_type.stderr.contains("doc_type"), "{unknown_type}");

    let bad_number = new(&["--type", "Công văn", "--number", "15-UBND-VP"]);
    bad_number.assert_code(2);
    assert!(bad_number.stderr.contains("--number: "), "{bad_number}");
    assert!(!bad_number.stderr.contains("`number`"), "{bad_number}");
    assert!(!dir.path().join("x.cvd").exists(), "nothing is written");
}

/// A file relay.toml names but that does not exist is named with its
/// setting and how to make it.
#[test]
fn a_missing_file_in_relay_toml_is_named_with_its_setting_and_how_to_make_it() {
    let dir = process::tempdir();
    let mut config = relay_config(dir.path(), "H99.01");
    config.crl = vec![dir.path().join("ca-h99.crl.pem")];
    let path = dir.path().join("relay.toml");
    config.save(&path).unwrap();

    let run = process::congvan(["relay", "run", "--config", path.to_str().unwrap()]);
    run.assert_code(2);
    assert!(run.stderr.contains("`crl = \""), "{run}");
    assert!(run.stderr.contains("ca-h99.crl.pem"), "{run}");
    assert!(run.stderr.contains("congvan pki crl --issuer"), "{run}");
    assert!(!run.stderr.contains("os error"), "a bare I/O error: {run}");
}

/// Two relays on one data folder would each think they own its queue: the
/// second is refused, with the reason, while the first keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_relay_on_the_same_data_folder_is_refused() {
    let dir = process::tempdir();
    let mut config = relay_config(dir.path(), "H99.01");
    config.listen = free_addr();
    let mut first = RelayProcess::new(&dir.path().join("first"), config.clone());
    first.start().await;

    // Another listen address, the same data folder.
    config.listen = free_addr();
    let path = dir.path().join("second.toml");
    config.save(&path).unwrap();
    let second = tokio::task::spawn_blocking(move || {
        process::congvan(["relay", "run", "--config", path.to_str().unwrap()])
    })
    .await
    .unwrap();
    assert_ne!(second.code, Some(0), "{second}");
    assert!(
        second
            .stderr
            .contains("another relay is already running on the data folder"),
        "{second}"
    );
    assert!(
        first.is_running(),
        "the first relay was disturbed\n{}",
        first.log()
    );
    client(&first.url(), "H99.01").inbox().await.unwrap();

    // Once the first has stopped, the folder is free again.
    first.terminate();
    first.start().await;
}

/// An office that asks a relay serving other offices for its inbox is told
/// which relay keeps it, instead of "The inbox is empty".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_office_asking_another_relay_for_its_inbox_is_told_where_it_is_kept() {
    let dir = process::tempdir();
    let relay = congvan_relay::start(relay_config(dir.path(), "H99.01"))
        .await
        .unwrap();
    let relay_url = url(relay.addr);

    // H99.02's clerk points at the H99.01 relay (and accepts it as the relay).
    let run = clerk("inbox", &relay_url, "H99.02", &["--relay-org", "H99.01"]).await;
    run.assert_code(1);
    assert!(
        run.stderr.contains("does not serve H99.02") && run.stderr.contains("relay-h99-02"),
        "{run}"
    );
    assert!(!run.stdout.contains("The inbox is empty"), "{run}");

    // Its own offices still see their inbox.
    let own = clerk("inbox", &relay_url, "H99.01", &[] as &[&str]).await;
    own.assert_ok();
    assert!(own.stdout.contains("The inbox is empty"), "{own}");
    relay.stop().await;
}

/// `track` shows, for every recipient, where the dispatch is: delivered to
/// one commune's inbox, and waiting at the district for the other commune's
/// relay, which is down, with since when it has not answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn track_shows_where_the_dispatch_is_for_each_recipient() {
    let dir = process::tempdir();
    let base = dir.path();
    let down = free_addr(); // relay-h99-01-02 never starts

    let mut commune_config = relay_config(base, "H99.01.01");
    commune_config.listen = free_addr();
    let commune_url = url(commune_config.listen);
    let mut district_config = relay_config(base, "H99.01");
    add_child(&mut district_config, "H99.01.01", Some(&commune_url));
    add_child(&mut district_config, "H99.01.02", Some(&url(down)));
    let district = congvan_relay::start(district_config).await.unwrap();
    let district_url = url(district.addr);
    set_parent(&mut commune_config, "H99.01", &district_url, PeerMode::Push);
    let commune = congvan_relay::start(commune_config).await.unwrap();

    let author = Author::new("H99.01");
    let sent = author.write(
        &base.join("out"),
        &["H99.01.01", "H99.01.02"],
        Urgency::Khan,
        "Về việc kiểm tra đường truyền",
    );
    clerk("send", &district_url, "H99.01", &[sent.path.as_os_str()])
        .await
        .assert_ok();
    wait_inbox(&commune_url, "H99.01.01", &sent.id, Duration::from_secs(20)).await;

    // Until the commune relay's custody receipt is back and the district
    // has failed at least once to reach the relay that is down.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let run = loop {
        let run = clerk("track", &district_url, "H99.01", &[&sent.id]).await;
        let settled = run.stdout.contains("in its inbox at relay-h99-01-01")
            && run.stdout.contains("has not answered since");
        if settled || std::time::Instant::now() > deadline {
            break run;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    run.assert_ok();
    let line = |office: &str| {
        run.stdout
            .lines()
            .find(|l| l.trim_start().starts_with(office))
            .unwrap_or_else(|| panic!("no line for {office}\n{run}"))
            .to_string()
    };
    assert!(line("H99.01.01").contains("delivered"), "{run}");
    let waiting = line("H99.01.02");
    assert!(
        waiting.contains("queued")
            && waiting.contains("waiting here for relay-h99-01-02, which has not answered since"),
        "{run}"
    );

    // The same, for scripts.
    let json = clerk("track", &district_url, "H99.01", &[&sent.id, "--json"]).await;
    json.assert_ok();
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let states: Vec<(String, String)> = value["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["office"].as_str().unwrap().to_string(),
                r["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("H99.01.01".to_string(), "delivered".to_string()),
            ("H99.01.02".to_string(), "queued".to_string())
        ],
        "{json}"
    );
    assert!(
        value["events"].as_array().is_some_and(|e| !e.is_empty()),
        "{json}"
    );

    commune.stop().await;
    district.stop().await;
}
