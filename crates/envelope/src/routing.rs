//! The routing header of a sealed (encrypted) dispatch: all that relays
//! see of a secret dispatch.
//!
//! A sealed container hides its dispatch in a JWE. What stays outside is
//! what a relay needs to route and expire it and to refuse what it must: the
//! id, who sent it, to whom, how urgent and how secret it is, and when it
//! was made and stops being worth delivering. No number, subject or names of
//! people or offices: only organization codes. The header is authenticated
//! twice: as the JWE's additional data (so recipients know the relays saw
//! what the sender wrote) and by the sender office's seal over the outer
//! manifest (so every relay can check who sent it).

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::metadata::{Metadata, Secrecy, Urgency};
use crate::Error;

/// Most recipients one sealed dispatch may name (as a dispatch may).
pub const MAX_ROUTING_RECIPIENTS: usize = 500;

/// The routing header (`routing.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Routing {
    /// [`Routing::FORMAT_VERSION`] (1).
    pub format_version: u32,
    /// The dispatch id, the same as the dispatch inside.
    pub id: String,
    /// The office that answers for it (its issuer), by code.
    pub from: congvan_org::OrgId,
    /// The recipient offices, by code.
    pub to: Vec<congvan_org::OrgId>,
    /// Urgency, which decides how long relays keep trying.
    #[serde(default)]
    pub urgency: Urgency,
    /// Secrecy level; absent for a dispatch encrypted without being secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrecy: Option<Secrecy>,
    /// When the dispatch was made (RFC 3339 UTC), as in its metadata.
    pub created_at: String,
    /// After this time (RFC 3339 UTC) relays stop trying to deliver it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

impl Routing {
    /// The version this code writes and reads.
    pub const FORMAT_VERSION: u32 = 1;

    /// The routing header of a dispatch, as its sender writes it: nothing
    /// but codes, levels and times from the metadata.
    pub fn of(metadata: &Metadata, expires_at: Option<OffsetDateTime>) -> Result<Routing, Error> {
        let expires_at = expires_at
            .map(|t| {
                t.format(&Rfc3339)
                    .map_err(|e| Error::Format(format!("cannot write the expiry time: {e}")))
            })
            .transpose()?;
        Ok(Routing {
            format_version: Routing::FORMAT_VERSION,
            id: metadata.id.clone(),
            from: metadata.from.id.clone(),
            to: metadata.to.iter().map(|o| o.id.clone()).collect(),
            urgency: metadata.urgency,
            secrecy: metadata.secrecy,
            created_at: metadata.created_at.clone(),
            expires_at,
        })
    }

    /// The bytes of `routing.json` as congvan writes them: the JWE's
    /// additional data is exactly these bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        serde_json::to_vec_pretty(self)
            .map_err(|e| Error::Format(format!("cannot encode the routing header: {e}")))
    }

    /// The header's own rules: a UUID id, at least one recipient, each once
    /// and never the sender, and times that parse.
    pub fn check(&self) -> Result<(), Error> {
        let bad = |problem: String| Error::Format(format!("routing.json: {problem}"));
        if self.format_version != Routing::FORMAT_VERSION {
            return Err(bad(format!(
                "format_version {} is not {}",
                self.format_version,
                Routing::FORMAT_VERSION
            )));
        }
        if let Some(problem) = crate::metadata::uuid_problem(&self.id) {
            return Err(bad(format!("id: {problem}")));
        }
        if self.to.is_empty() {
            return Err(bad("it names no recipient".into()));
        }
        if self.to.len() > MAX_ROUTING_RECIPIENTS {
            return Err(bad(format!(
                "it names {} recipients; at most {MAX_ROUTING_RECIPIENTS} are accepted",
                self.to.len()
            )));
        }
        let mut seen = std::collections::HashSet::new();
        for office in &self.to {
            if office == &self.from {
                return Err(bad(format!("the sender {office} is also a recipient")));
            }
            if !seen.insert(office) {
                return Err(bad(format!("recipient {office} is named twice")));
            }
        }
        self.created()?;
        self.expires()?;
        Ok(())
    }

    /// When it was made.
    pub fn created(&self) -> Result<OffsetDateTime, Error> {
        OffsetDateTime::parse(&self.created_at, &Rfc3339).map_err(|e| {
            Error::Format(format!(
                "routing.json: created_at {:?} is not an RFC 3339 time: {e}",
                self.created_at
            ))
        })
    }

    /// When relays stop trying, if the sender said.
    pub fn expires(&self) -> Result<Option<OffsetDateTime>, Error> {
        self.expires_at
            .as_ref()
            .map(|text| {
                OffsetDateTime::parse(text, &Rfc3339).map_err(|e| {
                    Error::Format(format!(
                        "routing.json: expires_at {text:?} is not an RFC 3339 time: {e}"
                    ))
                })
            })
            .transpose()
    }

    /// Refuses a dispatch inside that is not the one this header routes:
    /// another id, sender, recipient list, urgency, secrecy or time. A
    /// sender cannot route one dispatch under another's header.
    pub fn check_matches(&self, metadata: &Metadata) -> Result<(), Error> {
        let mut inner_to: Vec<&congvan_org::OrgId> = metadata.to.iter().map(|o| &o.id).collect();
        let mut outer_to: Vec<&congvan_org::OrgId> = self.to.iter().collect();
        inner_to.sort();
        outer_to.sort();
        let differs = if self.id != metadata.id {
            Some("id")
        } else if self.from != metadata.from.id {
            Some("sender")
        } else if inner_to != outer_to {
            Some("recipients")
        } else if self.urgency != metadata.urgency {
            Some("urgency")
        } else if self.secrecy != metadata.secrecy {
            Some("secrecy")
        } else if self.created_at != metadata.created_at {
            Some("creation time")
        } else {
            None
        };
        match differs {
            None => Ok(()),
            Some(what) => Err(Error::Refused(format!(
                "the routing header does not match the dispatch inside (the {what} differs): \
                 the outer container was not made for this dispatch"
            ))),
        }
    }
}
