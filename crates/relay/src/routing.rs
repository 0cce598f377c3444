//! Where a dispatch goes next: this relay's own offices, a child relay, or
//! the parent.

use std::collections::HashSet;

use congvan_org::{OrgId, Registry};

use crate::config::RelayConfig;

/// The next step for one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// The recipient is served here: deliver to its inbox.
    Local,
    /// Hand it to this relay (a child or the parent), by name.
    Hop(String),
}

/// Routing decisions from the organization registry and the relay's peers.
#[derive(Clone, Debug)]
pub struct Router {
    name: String,
    registry: Registry,
    children: HashSet<String>,
    parent: Option<String>,
}

impl Router {
    /// A router for the relay described by `config`.
    pub fn new(config: &RelayConfig, registry: Registry) -> Router {
        Router {
            name: config.name.clone(),
            registry,
            children: config.children.iter().map(|c| c.name.clone()).collect(),
            parent: config.parent.as_ref().map(|p| p.name.clone()),
        }
    }

    /// The registry routing is based on.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// True when `office` is served by this relay.
    pub fn serves(&self, office: &OrgId) -> bool {
        self.registry.serving_relay(office) == Some(self.name.as_str())
    }

    /// Routes one recipient: down to the child whose subtree holds it, or
    /// up to the parent. `None` when the office is unknown or the tree has
    /// no way there (no parent at the top).
    pub fn route(&self, office: &OrgId) -> Option<Route> {
        self.registry.get(office)?;
        if self.serves(office) {
            return Some(Route::Local);
        }
        // Walk up from the recipient: the first relay on its path that is
        // one of our children is the way down.
        for ancestor in self.registry.ancestry(office) {
            if let Some(relay) = &ancestor.relay {
                if self.children.contains(relay) {
                    return Some(Route::Hop(relay.clone()));
                }
                if relay == &self.name {
                    // Served above by us, but through no child we know:
                    // the registry and our configuration disagree.
                    return None;
                }
            }
        }
        self.parent.clone().map(Route::Hop)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::config::{ChildConfig, ParentConfig, PeerMode};

    const REGISTRY: &str = r#"
[[office]]
code = "H99"
name = "Tỉnh"
level = "province"
relay = "p"
[[office]]
code = "H99.01"
name = "Huyện 1"
level = "district"
parent = "H99"
relay = "d1"
[[office]]
code = "H99.02"
name = "Huyện 2"
level = "district"
parent = "H99"
relay = "d2"
[[office]]
code = "H99.01.01"
name = "Xã 1"
level = "commune"
parent = "H99.01"
relay = "c11"
[[office]]
code = "H99.02.01"
name = "Xã 2"
level = "commune"
parent = "H99.02"
relay = "c21"
[[office]]
code = "H99.10"
name = "Sở"
level = "province"
parent = "H99"
"#;

    fn config(name: &str, children: &[&str], parent: Option<&str>) -> RelayConfig {
        let text = format!(
            "name = \"{name}\"\norg = \"H99\"\nlisten = \"127.0.0.1:1\"\ndata = \"d\"\ntls = \"t\"\ntrust = [\"r\"]\nregistry = \"x\"\n"
        );
        let mut c: RelayConfig = toml::from_str(&text).unwrap();
        c.children = children
            .iter()
            .map(|n| ChildConfig {
                name: n.to_string(),
                org: OrgId::parse("H99").unwrap(),
                url: None,
                mode: PeerMode::Pull,
            })
            .collect();
        c.parent = parent.map(|p| ParentConfig {
            name: p.to_string(),
            org: OrgId::parse("H99").unwrap(),
            url: "https://x".into(),
            mode: PeerMode::Push,
        });
        c
    }

    fn router(name: &str, children: &[&str], parent: Option<&str>) -> Router {
        let registry = Registry::from_toml(REGISTRY, &Registry::inline_origin()).unwrap();
        Router::new(&config(name, children, parent), registry)
    }

    fn id(s: &str) -> OrgId {
        OrgId::parse(s).unwrap()
    }

    #[test]
    fn routes_down_up_and_across() {
        let province = router("p", &["d1", "d2"], None);
        assert_eq!(
            province.route(&id("H99.01.01")),
            Some(Route::Hop("d1".into()))
        );
        assert_eq!(province.route(&id("H99.10")), Some(Route::Local));
        let commune = router("c11", &[], Some("d1"));
        assert_eq!(commune.route(&id("H99.01.01")), Some(Route::Local));
        assert_eq!(
            commune.route(&id("H99.02.01")),
            Some(Route::Hop("d1".into()))
        );
        let district = router("d1", &["c11"], Some("p"));
        assert_eq!(
            district.route(&id("H99.02.01")),
            Some(Route::Hop("p".into()))
        );
        assert_eq!(
            district.route(&id("H99.01.01")),
            Some(Route::Hop("c11".into()))
        );
        assert_eq!(district.route(&id("H98")), None);
        assert_eq!(province.route(&id("H98")), None);
    }
}
