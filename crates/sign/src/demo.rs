//! The illustrative demo PKI: a national root, one province and its tree.

use std::path::{Path, PathBuf};

use congvan_org::{Level, Office, OrgId, Registry};

use time::{Duration, OffsetDateTime};

use crate::{
    init_root_at, issue_ca_at, issue_leaf, Algorithm, Error, LeafRequest, Role, SigningKey,
};

/// One office of the demo tree.
struct DemoOffice {
    code: &'static str,
    name: &'static str,
    level: Level,
    parent: Option<&'static str>,
    official: &'static str,
    position: &'static str,
    has_relay: bool,
    place: &'static str,
}

/// The demo tree. The codes are illustrative (`H99` is no real province)
/// and the names are examples only.
const OFFICES: &[DemoOffice] = &[
    DemoOffice {
        code: "H99",
        name: "Ủy ban nhân dân tỉnh Hà Tĩnh",
        level: Level::Province,
        parent: None,
        official: "Nguyễn Văn An",
        position: "Chủ tịch",
        has_relay: true,
        place: "Hà Tĩnh",
    },
    DemoOffice {
        code: "H99.10",
        name: "Sở Thông tin và Truyền thông tỉnh Hà Tĩnh",
        level: Level::Province,
        parent: Some("H99"),
        official: "Trần Thị Bình",
        position: "Giám đốc",
        has_relay: false,
        place: "Hà Tĩnh",
    },
    DemoOffice {
        code: "H99.01",
        name: "Ủy ban nhân dân huyện Cẩm Xuyên",
        level: Level::District,
        parent: Some("H99"),
        official: "Lê Văn Cường",
        position: "Chủ tịch",
        has_relay: true,
        place: "Cẩm Xuyên",
    },
    DemoOffice {
        code: "H99.02",
        name: "Ủy ban nhân dân huyện Thạch Hà",
        level: Level::District,
        parent: Some("H99"),
        official: "Phạm Thị Dung",
        position: "Chủ tịch",
        has_relay: true,
        place: "Thạch Hà",
    },
    DemoOffice {
        code: "H99.01.01",
        name: "Ủy ban nhân dân xã Cẩm Thạch",
        level: Level::Commune,
        parent: Some("H99.01"),
        official: "Hoàng Văn Hải",
        position: "Chủ tịch",
        has_relay: true,
        place: "Cẩm Thạch",
    },
    DemoOffice {
        code: "H99.01.02",
        name: "Ủy ban nhân dân xã Cẩm Duệ",
        level: Level::Commune,
        parent: Some("H99.01"),
        official: "Vũ Thị Lan",
        position: "Phó Chủ tịch",
        has_relay: true,
        place: "Cẩm Duệ",
    },
    DemoOffice {
        code: "H99.02.01",
        name: "Ủy ban nhân dân xã Thạch Kênh",
        level: Level::Commune,
        parent: Some("H99.02"),
        official: "Đặng Văn Minh",
        position: "Chủ tịch",
        has_relay: true,
        place: "Thạch Kênh",
    },
];

/// Where the demo put things, for printing a summary.
#[derive(Debug)]
pub struct DemoPki {
    /// The national root CA directory.
    pub root: PathBuf,
    /// The provincial CA directory.
    pub province_ca: PathBuf,
    /// The organization registry file.
    pub registry: PathBuf,
    /// Every end-entity credential directory written.
    pub leaves: Vec<PathBuf>,
}

/// The relay name the demo registry uses for an office's relay.
pub fn demo_relay_name(code: &OrgId) -> String {
    format!(
        "relay-{}",
        code.to_string().to_ascii_lowercase().replace('.', "-")
    )
}

/// Builds the whole illustrative hierarchy under `out`:
///
/// `root/`, `ca-h99/`, `<code>/office/`, `<code>/official/`, `<code>/relay/`
/// (each holding cert.pem, key.pem, chain.pem) and `registry.toml`.
pub fn build_demo(out: &Path, alg: Algorithm) -> Result<DemoPki, Error> {
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let days = 5 * 365;
    // The CAs are back-dated a year so that dispatches signed in the past
    // (fixtures, archive audits) fall inside their validity.
    let ca_start = OffsetDateTime::now_utc() - Duration::days(365);
    let root = init_root_at(
        "Quốc gia - CA gốc (minh họa)",
        SigningKey::generate(alg)?,
        20 * 365,
        ca_start,
    )?;
    let root_dir = out.join("root");
    root.write(&root_dir)?;

    let province = OrgId::parse("H99")?;
    let ca = issue_ca_at(
        &root,
        "CA tỉnh Hà Tĩnh (minh họa)",
        &province,
        SigningKey::generate(alg)?,
        10 * 365,
        ca_start,
    )?;
    let ca_dir = out.join("ca-h99");
    ca.write(&ca_dir)?;

    let mut leaves = Vec::new();
    let mut registry_offices = Vec::new();
    for office in OFFICES {
        let code = OrgId::parse(office.code)?;
        let office_dir = out.join(office.code);
        let base = LeafRequest {
            role: Role::Office,
            name: office.name.to_string(),
            org: code.clone(),
            organization_name: Some(office.name.to_string()),
            position: None,
            dns: Vec::new(),
            ips: Vec::new(),
            days,
        };
        let mut requests = vec![
            ("office", base.clone()),
            (
                "official",
                LeafRequest {
                    role: Role::Official,
                    name: office.official.to_string(),
                    position: Some(office.position.to_string()),
                    ..base.clone()
                },
            ),
        ];
        if office.has_relay {
            requests.push((
                "relay",
                LeafRequest {
                    role: Role::Relay,
                    name: format!("Relay {}", office.code),
                    dns: vec!["localhost".into()],
                    ips: vec![std::net::IpAddr::from([127, 0, 0, 1])],
                    ..base.clone()
                },
            ));
        }
        // Secret dispatches are encrypted to this key (ECDH-ES on P-256,
        // whatever the signing algorithm).
        requests.push((
            "encryption",
            LeafRequest {
                role: Role::Encryption,
                ..base.clone()
            },
        ));
        for (kind, request) in requests {
            let dir = office_dir.join(kind);
            let key_alg = if request.role == Role::Encryption {
                Algorithm::EcdsaP256
            } else {
                alg
            };
            issue_leaf(&ca, &request, SigningKey::generate(key_alg)?)?.write(&dir)?;
            leaves.push(dir);
        }
        registry_offices.push(Office {
            code: code.clone(),
            name: office.name.to_string(),
            level: office.level,
            parent: office.parent.map(OrgId::parse).transpose()?,
            place: Some(office.place.to_string()),
            relay: office.has_relay.then(|| demo_relay_name(&code)),
            external: false,
            // The province office is the demo's edXML gateway.
            gateway: office.parent.is_none(),
        });
    }
    // A ministry outside congvan, reached through the province's gateway.
    registry_offices.push(Office {
        code: OrgId::parse("G99")?,
        name: "Bộ Minh Họa".to_string(),
        level: congvan_org::Level::National,
        parent: None,
        place: Some("Hà Nội".to_string()),
        relay: None,
        external: true,
        gateway: false,
    });

    let registry = Registry::from_offices(registry_offices)?;
    let registry_path = out.join("registry.toml");
    let text = format!(
        "# Organization registry of the demo PKI.\n\
         # ILLUSTRATIVE: the codes (H99...) are not real organization ids, and the\n\
         # names are examples only. Real deployments load the official registry.\n\n{}",
        registry.to_toml()?
    );
    crate::pem_file::write_public(&registry_path, text.as_bytes())?;

    Ok(DemoPki {
        root: root_dir,
        province_ca: ca_dir,
        registry: registry_path,
        leaves,
    })
}
