//! `relay init`: a working configuration from the registry and a few flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use congvan_org::{OrgId, Registry};

use crate::config::{ChildConfig, ParentConfig, PeerMode, RelayConfig};
use crate::Error;

/// What `relay init` is told.
#[derive(Clone, Debug)]
pub struct InitRequest {
    /// The office whose relay this is.
    pub org: OrgId,
    /// HTTPS listen address.
    pub listen: SocketAddr,
    /// The relay credential directory.
    pub tls: PathBuf,
    /// Trusted roots.
    pub trust: Vec<PathBuf>,
    /// CRLs.
    pub crl: Vec<PathBuf>,
    /// The parent's URL, if any.
    pub parent_url: Option<String>,
    /// Long-poll the parent for downward traffic.
    pub pull: bool,
    /// State directory; the config is written there as `relay.toml`.
    pub data: PathBuf,
    /// The registry file.
    pub registry: PathBuf,
    /// Child URLs by relay name; children without one are set to pull.
    pub child_urls: Vec<(String, String)>,
    /// Where the web workplace listens, if wanted: plain HTTP on a
    /// loopback address (for a TLS proxy), HTTPS with the relay's
    /// certificate anywhere else.
    pub web: Option<SocketAddr>,
    /// The offices whose clerks use the workplace, with their office
    /// credential folders.
    pub web_offices: Vec<(OrgId, PathBuf)>,
}

/// Builds the configuration: the relay's name comes from the registry
/// (the relay serving `org`), the parent and children from the tree.
pub fn init_config(request: &InitRequest) -> Result<RelayConfig, Error> {
    let registry = Registry::load(&request.registry)?;
    let config_error = |problem: String| Error::Config {
        path: request.registry.clone(),
        problem,
    };
    let office = registry
        .get(&request.org)
        .ok_or_else(|| config_error(format!("{} is not in the registry", request.org)))?;
    let name = office.relay.clone().ok_or_else(|| {
        config_error(format!(
            "the registry names no relay for {}; add `relay = \"...\"` to its entry",
            request.org
        ))
    })?;

    let parent = match &request.parent_url {
        None => None,
        Some(url) => {
            let above = registry
                .ancestry(&request.org)
                .into_iter()
                .skip(1)
                .find_map(|o| match &o.relay {
                    Some(relay) if relay != &name => Some((o, relay.clone())),
                    _ => None,
                })
                .ok_or_else(|| {
                    config_error(format!("no relay above {} in the registry", request.org))
                })?;
            let (above, above_relay) = above;
            Some(ParentConfig {
                name: above_relay,
                org: above.code.clone(),
                url: url.clone(),
                mode: if request.pull {
                    PeerMode::Pull
                } else {
                    PeerMode::Push
                },
            })
        }
    };

    let mut children = Vec::new();
    for candidate in registry.offices() {
        let Some(relay) = &candidate.relay else {
            continue;
        };
        if relay == &name {
            continue;
        }
        // A child relay: the first relay above it is ours.
        let first_above = registry
            .ancestry(&candidate.code)
            .into_iter()
            .skip(1)
            .find_map(|o| o.relay.clone());
        if first_above.as_deref() == Some(name.as_str())
            && !children.iter().any(|c: &ChildConfig| &c.name == relay)
        {
            let url = request
                .child_urls
                .iter()
                .find(|(n, _)| n == relay)
                .map(|(_, u)| u.clone());
            children.push(ChildConfig {
                name: relay.clone(),
                org: candidate.code.clone(),
                mode: if url.is_some() {
                    PeerMode::Push
                } else {
                    PeerMode::Pull
                },
                url,
            });
        }
    }

    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut config = RelayConfig::new(
        name,
        request.org.clone(),
        request.listen,
        absolute(&request.data),
        absolute(&request.tls),
        request.trust.iter().map(|p| absolute(p)).collect(),
        absolute(&request.registry),
    );
    config.crl = request.crl.iter().map(|p| absolute(p)).collect();
    config.parent = parent;
    config.children = children;
    config.web = request.web.map(|listen| crate::config::WebSettings {
        listen,
        public_url: None,
        tls: if listen.ip().is_loopback() {
            crate::config::WebTls::None
        } else {
            crate::config::WebTls::Relay
        },
        idle_minutes: 30,
        lookups_per_minute: 30,
        offices: request
            .web_offices
            .iter()
            .map(|(org, folder)| crate::config::WebOffice {
                org: org.clone(),
                credential: absolute(folder),
            })
            .collect(),
    });
    Ok(config)
}
