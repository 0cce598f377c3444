//! `congvan demo`: a province, a district and a commune relay on loopback in
//! one process; signed dispatches go down and up the tree, are verified and
//! acknowledged, and the sender's timeline is printed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use congvan_envelope::metadata::{DocumentType, Draft, Organization, SignerBlock, Urgency};
use congvan_envelope::{
    issue_dispatch, make_receipt, receipt_time, verify_dispatch, AttachmentSource, Envelope,
    Statement, StatusCode,
};
use congvan_org::OrgId;
use congvan_relay::api::Ack;
use congvan_relay::config::{DeliveryConfig, PeerMode};
use congvan_relay::{client_config, RelayClient, RelayConfig, RunningRelay, TlsTrust};
use congvan_sign::{Algorithm, Certificate, Credential, TrustStore};
use time::OffsetDateTime;

use crate::failure::Failure;
use crate::output::say;
use congvan_text::Line;

type DemoResult<T> = Result<T, Failure>;

/// Runs the demo in `dir` (or a new temporary folder).
pub fn run(dir: Option<PathBuf>, serve: bool) -> DemoResult<ExitCode> {
    let dir = dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("congvan-demo-{}", std::process::id()))
    });
    if dir.join("pki").exists() {
        return Err(Failure::input(format!(
            "{} already holds a demo; choose another --dir",
            dir.display()
        )));
    }
    if serve {
        // The workplaces keep running: their warnings and errors go to
        // stderr (RUST_LOG=info or debug for more).
        crate::relay::init_logging_at("warn");
    }
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| Failure::input(format!("cannot start the async runtime: {e}")))?;
    let started = Instant::now();
    runtime.block_on(demo(&dir, serve))?;
    say!(
        "\nDemo finished in {:.1} s. Files are in {}",
        started.elapsed().as_secs_f64(),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

async fn demo(dir: &Path, serve: bool) -> DemoResult<()> {
    let pki = dir.join("pki");
    say!("1. Building an illustrative PKI (national root, provincial CA, offices, officials, relays) in {}", pki.display());
    congvan_sign::build_demo(&pki, Algorithm::EcdsaP256)?;
    let root = Certificate::load(&pki.join("root/cert.pem"))?;
    let trust = TrustStore::new(vec![root.clone()])?;

    say!("2. Starting three relays on 127.0.0.1: province H99, district H99.01, commune H99.01.01");
    let province = start_relay(dir, &pki, "H99", None, &["H99.01"], serve).await?;
    let district_parent = format!("https://{}", province.addr);
    let district = start_relay(
        dir,
        &pki,
        "H99.01",
        Some((&district_parent, "H99")),
        &["H99.01.01"],
        serve,
    )
    .await?;
    let commune_parent = format!("https://{}", district.addr);
    let commune = start_relay(
        dir,
        &pki,
        "H99.01.01",
        Some((&commune_parent, "H99.01")),
        &[],
        serve,
    )
    .await?;
    for (name, relay) in [
        ("province", &province),
        ("district", &district),
        ("commune", &commune),
    ] {
        say!(
            "   {name:<9} relay {} at https://{}",
            relay.state.config.name,
            relay.addr
        );
    }

    say!("3. The province sends an urgent (Hỏa tốc) công điện down two hops to the commune");
    let down = compose(
        dir,
        &pki,
        Compose {
            from: "H99",
            from_name: "Ủy ban nhân dân tỉnh Hà Tĩnh",
            to: ("H99.01.01", "Ủy ban nhân dân xã Cẩm Thạch"),
            doc_type: DocumentType::CongDien,
            number: "03/CĐ-UBND",
            subject: "Về việc chủ động ứng phó với bão số 5",
            content: "Yêu cầu Ủy ban nhân dân các xã triển khai ngay phương án sơ tán dân ở vùng ven biển.",
            urgency: Urgency::HoaToc,
            attachment: None,
        },
    )?;
    let province_office = Credential::load(&pki.join("H99/office"), None)?;
    let commune_office = Credential::load(&pki.join("H99.01.01/office"), None)?;
    send(&province, &pki, &province_office, &down).await?;

    say!("4. The commune sends a báo cáo with a PDF attachment up two hops to the province");
    let pdf = dir.join("bao-cao-thiet-hai.pdf");
    std::fs::write(&pdf, sample_pdf()?)
        .map_err(|e| Failure::input(format!("{}: {e}", pdf.display())))?;
    let up = compose(
        dir,
        &pki,
        Compose {
            from: "H99.01.01",
            from_name: "Ủy ban nhân dân xã Cẩm Thạch",
            to: ("H99", "Ủy ban nhân dân tỉnh Hà Tĩnh"),
            doc_type: DocumentType::BaoCao,
            number: "21/BC-UBND",
            subject: "Báo cáo nhanh tình hình thiệt hại do bão số 5",
            content: "Ủy ban nhân dân xã báo cáo nhanh tình hình thiệt hại theo biểu mẫu kèm theo.",
            urgency: Urgency::Khan,
            attachment: Some(&pdf),
        },
    )?;
    send(&commune, &pki, &commune_office, &up).await?;

    say!("5. Each recipient fetches, verifies and acknowledges");
    let down_id = receive(&commune, &pki, &commune_office, &trust, dir, "H99.01.01").await?;
    let up_id = receive(&province, &pki, &province_office, &trust, dir, "H99").await?;

    say!("6. Timelines as the senders see them (custody receipts and status codes)");
    timeline(&province, &pki, &province_office, &down_id, 5).await?;
    timeline(&commune, &pki, &commune_office, &up_id, 5).await?;

    if serve {
        crate::demo_serve::serve(dir, &pki, [&province, &district, &commune]).await?;
    }
    for relay in [commune, district, province] {
        relay.stop().await;
    }
    Ok(())
}

async fn start_relay(
    dir: &Path,
    pki: &Path,
    org: &str,
    parent: Option<(&str, &str)>,
    children: &[&str],
    serve: bool,
) -> DemoResult<RunningRelay> {
    let code = OrgId::parse(org)?;
    let data = dir
        .join("relays")
        .join(congvan_sign::demo_relay_name(&code));
    let mut config = RelayConfig::for_demo_pki(pki, &code, data);
    // Children pull traffic coming down, so the demo needs no fixed ports.
    if let Some((url, parent_org)) = parent {
        config = config.with_demo_parent(&OrgId::parse(parent_org)?, url, PeerMode::Pull);
    }
    for child in children {
        config = config.with_demo_pulling_child(&OrgId::parse(child)?);
    }
    config.delivery = DeliveryConfig {
        retry_initial_ms: 100,
        retry_max_ms: 2_000,
        long_poll_secs: 10,
        // The demo's dashboards show the figures of the relays below soon.
        figures_interval_secs: 10,
        ..DeliveryConfig::default()
    };
    // The demo PKI's folders are laid out as a relay publishes encryption
    // certificates (ORG/encryption/).
    config.encryption_certificates = Some(pki.to_path_buf());
    if serve {
        config.web = Some(crate::demo_serve::web_settings(pki, &code));
    }
    Ok(congvan_relay::start(config).await?)
}

struct Compose<'a> {
    from: &'a str,
    from_name: &'a str,
    to: (&'a str, &'a str),
    doc_type: DocumentType,
    number: &'a str,
    subject: &'a str,
    content: &'a str,
    urgency: Urgency,
    attachment: Option<&'a Path>,
}

fn compose(dir: &Path, pki: &Path, c: Compose<'_>) -> DemoResult<PathBuf> {
    let official = Credential::load(&pki.join(c.from).join("official"), None)?;
    let office = Credential::load(&pki.join(c.from).join("office"), None)?;
    let registry = congvan_org::Registry::load(&pki.join("registry.toml"))?;
    let from = OrgId::parse(c.from)?;
    let place = registry
        .get(&from)
        .and_then(|o| o.place.clone())
        .unwrap_or_else(|| "Hà Tĩnh".into());
    let metadata = Draft {
        doc_type: c.doc_type,
        number: c.number.to_string(),
        place,
        subject: c.subject.to_string(),
        content: c.content.to_string(),
        urgency: c.urgency,
        ..Draft::cong_van(
            Organization::new(from, c.from_name),
            vec![Organization::new(OrgId::parse(c.to.0)?, c.to.1)],
            SignerBlock::for_the_committee(official.cert()),
        )
    }
    .metadata();
    let out = dir.join(format!("{}.cvd", c.number.replace('/', "-")));
    let attachments: Vec<AttachmentSource> = c
        .attachment
        .into_iter()
        .map(AttachmentSource::file)
        .collect();
    issue_dispatch(
        &metadata,
        &attachments,
        &out,
        &official,
        Some(&office),
        OffsetDateTime::now_utc(),
    )?;
    say!(
        "   {} {} — signed by {} and sealed by {}",
        c.number,
        c.subject,
        official.cert().display_name(),
        office.cert().display_name()
    );
    Ok(out)
}

fn client(relay: &RunningRelay, pki: &Path, office: &Credential) -> DemoResult<RelayClient> {
    let root = Certificate::load(&pki.join("root/cert.pem"))?;
    let tls = client_config(office, &TlsTrust::new(&[root], Vec::new())?)?;
    // The office's own relay, and no other.
    Ok(RelayClient::new(
        &format!("https://{}", relay.addr),
        tls,
        relay.state.peer_trust(),
        congvan_relay::ExpectedRelay::Org(relay.state.config.org.clone()),
    )?
    .with_timeout(Duration::from_secs(20)))
}

async fn send(
    relay: &RunningRelay,
    pki: &Path,
    office: &Credential,
    file: &Path,
) -> DemoResult<()> {
    let accepted = client(relay, pki, office)?.send_file(file).await?;
    say!(
        "   sent to {}: {} ({})",
        relay.state.config.name,
        accepted.id,
        accepted.status
    );
    Ok(())
}

async fn receive(
    relay: &RunningRelay,
    pki: &Path,
    office: &Credential,
    trust: &TrustStore,
    dir: &Path,
    org: &str,
) -> DemoResult<String> {
    let client = client(relay, pki, office)?;
    let deadline = Instant::now() + Duration::from_secs(20);
    let item = loop {
        if let Some(item) = client.inbox().await?.into_iter().next() {
            break item;
        }
        if Instant::now() > deadline {
            return Err(Failure::input(format!(
                "nothing reached the inbox of {org} within 20 s"
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let out = dir.join(format!("received-{org}-{}.cvd", item.id));
    client.fetch(&item.id, &out).await?;
    let mut envelope = Envelope::open(&out)?;
    let report = verify_dispatch(&mut envelope, trust, OffsetDateTime::now_utc(), &mut |_| {})?;
    say!(
        "   {org} received {} from {}: {} — {} ({} custody receipt(s))",
        item.number,
        item.from,
        report.indication.name(),
        report.summary,
        report.receipts.len()
    );
    let manifest_sha256 = congvan_envelope::sha256_hex(envelope.manifest_bytes());
    for (code, note) in [
        (StatusCode::Arrived, None),
        (StatusCode::Accepted, Some("Đã vào sổ văn bản đến")),
    ] {
        let statement = Statement::Status {
            dispatch_id: item.id.clone(),
            manifest_sha256: manifest_sha256.clone(),
            code,
            by: OrgId::parse(org)?,
            time: receipt_time(OffsetDateTime::now_utc()),
            note: note.map(str::to_string),
        };
        let receipt = make_receipt(&statement, office)?;
        client.ack(&item.id, &Ack { receipt }).await?;
        say!("   {org} acknowledged with status {code}");
    }
    Ok(item.id)
}

async fn timeline(
    relay: &RunningRelay,
    pki: &Path,
    office: &Credential,
    id: &str,
    expected: usize,
) -> DemoResult<()> {
    let client = client(relay, pki, office)?;
    let deadline = Instant::now() + Duration::from_secs(20);
    let events = loop {
        let events = client.track(id).await?;
        if events.len() >= expected || Instant::now() > deadline {
            break events;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    say!("   {id} (sent by {})", relay.state.config.org);
    for event in events {
        say!(
            "     {}  {:<8} {}",
            Line(&event.time),
            Line(&event.kind),
            Line(&event.description)
        );
    }
    Ok(())
}

fn sample_pdf() -> DemoResult<Vec<u8>> {
    let view = congvan_render::DispatchView {
        parent_authority: None,
        issuing_authority: "ỦY BAN NHÂN DÂN XÃ CẨM THẠCH".into(),
        number: "21/BC-UBND".into(),
        place: "Cẩm Thạch".into(),
        date: congvan_render::CalendarDate {
            year: 2026,
            month: 11,
            day: 28,
        },
        document_type: Some("BIỂU MẪU".into()),
        subject: "Thống kê thiệt hại do bão số 5 (minh họa)".into(),
        content: vec!["Nhà ở bị tốc mái: 12. Diện tích lúa bị ngập: 35 ha.".into()],
        signer: congvan_render::SignerView {
            authority_lines: Vec::new(),
            position: "NGƯỜI LẬP BIỂU".into(),
            full_name: "Hoàng Văn Hải".into(),
            digital_signature: None,
        },
        seal: None,
        recipients: Vec::new(),
        urgency: None,
        secrecy: None,
        qr_payload: None,
        // A made-up attachment, shown as a document, not as signed.
        verified: true,
        marks: Vec::new(),
    };
    congvan_render::render_dispatch(&view)
        .map_err(|e| Failure::input(format!("cannot render the sample attachment: {e}")))
}
