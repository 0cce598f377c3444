//! `congvan demo --serve`: the demo's relays stay up with a web workplace
//! each, and demo accounts (clerk, leader, auditor) for each office.

use std::path::Path;

use congvan_org::OrgId;
use congvan_relay::config::{WebOffice, WebSettings, WebTls};
use congvan_relay::RunningRelay;
use congvan_web::account::{add_account, random_password, random_pin, NewAccount, Role};
use congvan_web::RunningWeb;
use serde::Serialize;

use crate::failure::Failure;
use crate::output::say;

/// The workplace of a demo relay: plain HTTP on a free loopback port, for
/// the relay's own office.
pub fn web_settings(pki: &Path, org: &OrgId) -> WebSettings {
    WebSettings {
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        public_url: None,
        tls: WebTls::None,
        idle_minutes: 120,
        lookups_per_minute: 30,
        offices: vec![WebOffice {
            org: org.clone(),
            credential: pki.join(org.to_string()).join("office"),
        }],
    }
}

/// One relay in demo.json.
#[derive(Serialize)]
struct DemoRelay {
    organization: String,
    name: String,
    api_url: String,
    web_url: String,
    accounts: Vec<DemoAccount>,
}

/// One demo account in demo.json.
#[derive(Serialize)]
struct DemoAccount {
    office: String,
    role: &'static str,
    login: String,
    name: String,
    password: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    signing_pin: Option<String>,
}

/// Opens the workplaces, makes the accounts, writes `DIR/demo.json`, and
/// waits for Ctrl-C or SIGTERM.
pub async fn serve(dir: &Path, pki: &Path, relays: [&RunningRelay; 3]) -> Result<(), Failure> {
    let mut webs: Vec<RunningWeb> = Vec::new();
    let mut listing = Vec::new();
    for (relay, level) in relays.into_iter().zip(["tinh", "huyen", "xa"]) {
        let app = congvan_web::WebApp::open(relay.state.clone())?;
        let org = relay.state.config.org.clone();
        let mut accounts = Vec::new();
        for (role, who, name) in [
            (Role::Clerk, "vanthu", "Nguyễn Thị Hoa"),
            (Role::Leader, "lanhdao", "Lãnh đạo"),
            (Role::Auditor, "kiemtra", "Lê Văn Minh"),
        ] {
            let password = random_password()?;
            let pin = (role == Role::Leader).then(random_pin).transpose()?;
            let official = pki.join(org.to_string()).join("official");
            let login = format!("{who}.{level}");
            let display = match role {
                Role::Leader => congvan_sign::Credential::load(&official, None)?
                    .cert()
                    .common_name()
                    .unwrap_or(name)
                    .to_string(),
                _ => name.to_string(),
            };
            add_account(
                &app.store,
                &NewAccount {
                    office: &org,
                    role,
                    login: &login,
                    name: &display,
                    password: &password,
                    totp: false,
                    signing_key: pin.as_deref().map(|p| (official.as_path(), p)),
                },
            )?;
            accounts.push(DemoAccount {
                office: org.to_string(),
                role: role.name(),
                login,
                name: display,
                password,
                signing_pin: pin,
            });
        }
        let web = congvan_web::serve(app).await?;
        listing.push(DemoRelay {
            organization: org.to_string(),
            name: relay.state.config.name.clone(),
            api_url: format!("https://{}", relay.addr),
            web_url: web.url.clone(),
            accounts,
        });
        webs.push(web);
    }
    // The registry names each relay's verification page, so that
    // `dispatch render --registry` puts it in the QR code.
    let mut pages =
        String::from("\n# The demo relays' verification pages (congvan demo --serve).\n");
    for relay in &listing {
        pages.push_str(&format!(
            "[[relay]]\nname = {:?}\nverify_url = {:?}\n",
            relay.name, relay.web_url
        ));
    }
    let registry = pki.join("registry.toml");
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&registry)
        .map_err(|e| Failure::input(format!("{}: {e}", registry.display())))?;
    std::io::Write::write_all(&mut file, pages.as_bytes())
        .map_err(|e| Failure::input(format!("{}: {e}", registry.display())))?;
    congvan_org::Registry::load(&registry)?;
    let path = dir.join("demo.json");
    let text = serde_json::to_string_pretty(&serde_json::json!({ "relays": listing }))
        .map_err(|e| Failure::input(format!("cannot write demo.json: {e}")))?;
    write_private(&path, text.as_bytes())?;
    say!(
        "\n7. The web workplaces are open (logins and passwords also in {}):",
        path.display()
    );
    for relay in &listing {
        say!(
            "   {} {}  {}",
            relay.organization,
            relay.name,
            relay.web_url
        );
        for a in &relay.accounts {
            match &a.signing_pin {
                Some(pin) => say!(
                    "     {:<8} {:<16} password {}  signing PIN {pin}",
                    a.role,
                    a.login,
                    a.password
                ),
                None => say!("     {:<8} {:<16} password {}", a.role, a.login, a.password),
            }
        }
    }
    say!(
        "   A dispatch rendered with `congvan dispatch render FILE.cvd --out FILE.pdf --registry {}` \
         carries a QR code that opens its issuing relay's verification page.",
        registry.display()
    );
    say!("   Open a web address above in a browser. Press Ctrl-C to stop.");
    crate::relay::wait_for_stop().await?;
    for web in webs {
        web.stop().await;
    }
    Ok(())
}

/// demo.json holds passwords: readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
    file.write_all(bytes)
        .map_err(|e| Failure::input(format!("{}: {e}", path.display())))
}
