use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Error, OrgId};

/// The administrative level an office belongs to; routing walks these levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Central government: ministries, national bodies.
    National,
    /// A province or centrally-run city and its departments.
    Province,
    /// A district, town or provincial city.
    District,
    /// A commune, ward or township.
    Commune,
}

/// One office as the registry describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Office {
    /// The office's organization id.
    pub code: OrgId,
    /// The office's full name ("Ủy ban nhân dân tỉnh ...").
    pub name: String,
    /// Its administrative level.
    pub level: Level,
    /// The office it reports to, when it is not a root of the tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<OrgId>,
    /// The place name printed on its dispatches ("địa danh"), e.g. "Hà Tĩnh".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    /// The name of the relay that serves it; offices without one are served by
    /// their nearest ancestor's relay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay: Option<String>,
    /// True for an office outside congvan, reached through an edXML
    /// gateway: dispatches to it leave as edXML, and a dispatch in its name
    /// enters only as a gateway's copy.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub external: bool,
    /// True for an office whose seal may make copies of dispatches from
    /// offices outside congvan (an edXML gateway). No other office may.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gateway: bool,
}

/// A relay's public face: `[[relay]]` in the registry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayEntry {
    /// The relay's name, as offices' `relay` give it.
    pub name: String,
    /// The base address of its public verification page (its web
    /// workplace), e.g. `https://vanban.hatinh.gov.vn`: what the QR code of
    /// a dispatch its offices issue opens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_url: Option<String>,
}

/// Checks the base address of a verification page, the one rule for what
/// may go into the QR code of every printed dispatch: `https://HOST[:PORT][/PATH]`
/// (`http://` only on a loopback host, for the demo and tests), with no
/// user name, query, fragment, space or control character. Says what is
/// wrong otherwise.
pub fn check_verify_url(url: &str) -> Result<(), String> {
    let rest = if let Some(rest) = url.strip_prefix("https://") {
        rest
    } else if let Some(rest) = url.strip_prefix("http://") {
        let host = rest.split(['/', ':']).next().unwrap_or("");
        if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
            return Err(format!(
                "{url:?} is plain http: a phone must reach the page over https (http only on a loopback address)"
            ));
        }
        rest
    } else {
        return Err(format!("{url:?} does not start with https://"));
    };
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() {
        return Err(format!("{url:?} names no host"));
    }
    if let Some(c) = url
        .chars()
        .find(|c| c.is_control() || c.is_whitespace() || matches!(c, '@' | '?' | '#' | '\\'))
    {
        return Err(format!(
            "{url:?} contains {c:?}: a page address carries no user name, query, fragment or space"
        ));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryFile {
    #[serde(default)]
    office: Vec<Office>,
    #[serde(default)]
    relay: Vec<RelayEntry>,
}

/// The organization registry: which offices exist, who their parent is and
/// which relay serves them.
///
/// Parents are explicit rather than derived from codes, because codes lag
/// behind administrative changes such as province mergers.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    offices: BTreeMap<OrgId, Office>,
    relays: BTreeMap<String, RelayEntry>,
}

impl Registry {
    /// Loads a registry from a TOML file of `[[office]]` tables.
    pub fn load(path: &Path) -> Result<Registry, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::RegistryIo {
            path: path.to_path_buf(),
            source,
        })?;
        Registry::from_toml(&text, path)
    }

    /// Parses registry TOML; `origin` names the source in error messages.
    pub fn from_toml(text: &str, origin: &Path) -> Result<Registry, Error> {
        let file: RegistryFile = toml::from_str(text).map_err(|e| Error::RegistryFormat {
            path: origin.to_path_buf(),
            message: e.to_string(),
        })?;
        let mut registry = Registry::from_offices(file.office)?;
        for relay in file.relay {
            if let Some(url) = &relay.verify_url {
                check_verify_url(url).map_err(|problem| Error::RegistryFormat {
                    path: origin.to_path_buf(),
                    message: format!("[[relay]] {}: verify_url {problem}", relay.name),
                })?;
            }
            if registry.relays.contains_key(&relay.name) {
                return Err(Error::RegistryFormat {
                    path: origin.to_path_buf(),
                    message: format!("[[relay]] {} is listed twice", relay.name),
                });
            }
            registry.relays.insert(relay.name.clone(), relay);
        }
        Ok(registry)
    }

    /// The public verification page of the relay serving `office` (see
    /// [`RelayEntry::verify_url`]), if the registry gives one.
    pub fn verify_url(&self, office: &OrgId) -> Option<&str> {
        let relay = self.serving_relay(office)?;
        self.relays.get(relay)?.verify_url.as_deref()
    }

    /// Builds a registry from offices, checking codes are unique and parents exist.
    pub fn from_offices(offices: Vec<Office>) -> Result<Registry, Error> {
        let mut map = BTreeMap::new();
        for office in offices {
            let code = office.code.clone();
            if map.insert(code.clone(), office).is_some() {
                return Err(Error::DuplicateOffice(code.to_string()));
            }
        }
        for office in map.values() {
            if let Some(parent) = &office.parent {
                if !map.contains_key(parent) {
                    return Err(Error::UnknownParent {
                        office: office.code.to_string(),
                        parent: parent.to_string(),
                    });
                }
            }
        }
        Ok(Registry {
            offices: map,
            relays: BTreeMap::new(),
        })
    }

    /// Serialises the registry back to TOML, e.g. for `pki demo`.
    pub fn to_toml(&self) -> Result<String, Error> {
        #[derive(Serialize)]
        struct Out<'a> {
            office: Vec<&'a Office>,
            #[serde(skip_serializing_if = "Vec::is_empty")]
            relay: Vec<&'a RelayEntry>,
        }
        let out = Out {
            office: self.offices.values().collect(),
            relay: self.relays.values().collect(),
        };
        toml::to_string(&out).map_err(|e| Error::RegistryFormat {
            path: Registry::inline_origin(),
            message: e.to_string(),
        })
    }

    /// The office with this code, if registered.
    pub fn get(&self, code: &OrgId) -> Option<&Office> {
        self.offices.get(code)
    }

    /// All offices, ordered by code.
    pub fn offices(&self) -> impl Iterator<Item = &Office> {
        self.offices.values()
    }

    /// The registered parent of an office.
    pub fn parent(&self, code: &OrgId) -> Option<&Office> {
        self.get(code)?.parent.as_ref().and_then(|p| self.get(p))
    }

    /// The chain from the office up to the root of its tree, the office first.
    pub fn ancestry(&self, code: &OrgId) -> Vec<&Office> {
        let mut chain = Vec::new();
        let mut current = self.get(code);
        while let Some(office) = current {
            if chain.iter().any(|o: &&Office| o.code == office.code) {
                break; // a cycle in the file; stop rather than loop
            }
            chain.push(office);
            current = office.parent.as_ref().and_then(|p| self.get(p));
        }
        chain
    }

    /// The relay that serves an office: its own, or its nearest ancestor's.
    pub fn serving_relay(&self, code: &OrgId) -> Option<&str> {
        self.ancestry(code)
            .into_iter()
            .find_map(|o| o.relay.as_deref())
    }

    /// True when the registry lists `code` as an office outside congvan.
    pub fn is_external(&self, code: &OrgId) -> bool {
        self.get(code).is_some_and(|o| o.external)
    }

    /// True when the registry lets `code`'s seal make copies of dispatches
    /// from offices outside congvan.
    pub fn is_gateway(&self, code: &OrgId) -> bool {
        self.get(code).is_some_and(|o| o.gateway && !o.external)
    }

    /// The organization a relay belongs to, which its certificate binds: the
    /// topmost office that names it (a relay serving a district also serves
    /// the district's departments and communes without relays of their
    /// own). `None` when no office names it, or when several unrelated
    /// offices do and the registry cannot say which.
    pub fn relay_organization(&self, relay: &str) -> Option<&OrgId> {
        let mut tops = self.offices.values().filter(|o| {
            o.relay.as_deref() == Some(relay)
                && self
                    .parent(&o.code)
                    .is_none_or(|p| self.serving_relay(&p.code) != Some(relay))
        });
        let top = tops.next()?;
        match tops.next() {
            Some(_) => None,
            None => Some(&top.code),
        }
    }

    /// The path of the registry origin used in messages when none is known.
    pub fn inline_origin() -> PathBuf {
        PathBuf::from("<inline>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
[[office]]
code = "H99"
name = "Ủy ban nhân dân tỉnh Minh Họa"
level = "province"
relay = "province"

[[office]]
code = "000.00.15.H99"
name = "Ủy ban nhân dân huyện Một"
level = "district"
parent = "H99"
relay = "district-15"

[[office]]
code = "H99.15.03"
name = "Ủy ban nhân dân xã Ba"
level = "commune"
parent = "H99.15"
"#;

    #[test]
    fn loads_and_routes() {
        let reg = Registry::from_toml(SAMPLE, &Registry::inline_origin()).unwrap();
        let commune = OrgId::parse("H99.15.03").unwrap();
        assert_eq!(reg.parent(&commune).unwrap().code.to_string(), "H99.15");
        assert_eq!(reg.serving_relay(&commune), Some("district-15"));
        assert_eq!(reg.ancestry(&commune).len(), 3);
        assert_eq!(
            reg.relay_organization("district-15").map(|o| o.to_string()),
            Some("H99.15".to_string())
        );
        assert_eq!(
            reg.relay_organization("province").map(|o| o.to_string()),
            Some("H99".to_string())
        );
        assert_eq!(reg.relay_organization("nobody"), None);
        let again =
            Registry::from_toml(&reg.to_toml().unwrap(), &Registry::inline_origin()).unwrap();
        assert_eq!(again.offices().count(), 3);
    }

    #[test]
    fn unknown_parent_is_named() {
        let text =
            "[[office]]\ncode = \"H99.1\"\nname = \"x\"\nlevel = \"district\"\nparent = \"H98\"\n";
        let err = Registry::from_toml(text, &Registry::inline_origin()).unwrap_err();
        assert!(err.to_string().contains("H98"), "{err}");
    }

    #[test]
    fn a_verification_page_is_https_with_nothing_riding_along() {
        for ok in [
            "https://vanban.hatinh.gov.vn",
            "https://vanban.hatinh.gov.vn:8443/tra-cuu",
            "http://127.0.0.1:18080",
        ] {
            assert_eq!(check_verify_url(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://vanban.hatinh.gov.vn",
            "javascript:alert(1)",
            "https://",
            "https://user@evil.example",
            "https://a.example/?next=x",
            "https://a.example/#x",
            "https://a.example/\u{7}",
            "https://a b.example",
            "ftp://a.example",
        ] {
            assert!(check_verify_url(bad).is_err(), "{bad} accepted");
        }
        let text = "[[office]]\ncode = \"H99\"\nname = \"x\"\nlevel = \"province\"\nrelay = \"r\"\n\n[[relay]]\nname = \"r\"\nverify_url = \"http://evil.example\"\n";
        let err = Registry::from_toml(text, &Registry::inline_origin()).unwrap_err();
        assert!(err.to_string().contains("verify_url"), "{err}");
        let good = text.replace("http://evil.example", "https://vanban.example");
        let registry = Registry::from_toml(&good, &Registry::inline_origin()).unwrap();
        let h99 = OrgId::parse("H99").unwrap();
        assert_eq!(registry.verify_url(&h99), Some("https://vanban.example"));
    }
}
