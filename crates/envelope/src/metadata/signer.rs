//! The signature block: who signs, in what capacity.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::text::{check, fold, TextRule};
use super::Problems;
use crate::Error;

/// The capacity in which a person signs for someone else (Decree 30/2020,
/// Article 13): printed before the authority, e.g. "TM. ỦY BAN NHÂN DÂN".
///
/// In JSON without the dot: `"TM"`, `"KT"`, `"TL"`, `"TUQ"`, `"Q"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum AuthorityPrefix {
    /// TM. — "thay mặt": the head signs on behalf of a collective body.
    Tm,
    /// KT. — "ký thay": a deputy signs for the head.
    Kt,
    /// TL. — "thừa lệnh": signed by order of the head.
    Tl,
    /// TUQ. — "thừa ủy quyền": signed under the head's authorization.
    Tuq,
    /// Q. — "quyền": an acting head signs.
    Q,
}

const ALL: [AuthorityPrefix; 5] = [
    AuthorityPrefix::Tm,
    AuthorityPrefix::Kt,
    AuthorityPrefix::Tl,
    AuthorityPrefix::Tuq,
    AuthorityPrefix::Q,
];

impl AuthorityPrefix {
    /// Every prefix.
    pub fn all() -> &'static [AuthorityPrefix] {
        &ALL
    }

    /// The prefix as printed, with its dot: "TM.", "KT.", "TL.", "TUQ.", "Q.".
    pub fn text(self) -> &'static str {
        match self {
            AuthorityPrefix::Tm => "TM.",
            AuthorityPrefix::Kt => "KT.",
            AuthorityPrefix::Tl => "TL.",
            AuthorityPrefix::Tuq => "TUQ.",
            AuthorityPrefix::Q => "Q.",
        }
    }

    /// What the prefix means, in Vietnamese ("Thay mặt", "Ký thay", …).
    pub fn name(self) -> &'static str {
        match self {
            AuthorityPrefix::Tm => "Thay mặt",
            AuthorityPrefix::Kt => "Ký thay",
            AuthorityPrefix::Tl => "Thừa lệnh",
            AuthorityPrefix::Tuq => "Thừa ủy quyền",
            AuthorityPrefix::Q => "Quyền",
        }
    }

    /// Whether the prefix must be followed by the authority it acts for
    /// ("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH"). "Q." is followed directly
    /// by the position held in an acting capacity ("Q. GIÁM ĐỐC").
    pub fn needs_authority(self) -> bool {
        self != AuthorityPrefix::Q
    }

    /// Reads a prefix as typed: "TM", "TM.", "tm", "thay mặt", "thay-mat".
    pub fn from_user_text(text: &str) -> Option<AuthorityPrefix> {
        let folded = fold(text.trim());
        ALL.iter()
            .copied()
            .find(|p| fold(p.text()) == folded || fold(p.name()) == folded)
    }
}

impl fmt::Display for AuthorityPrefix {
    /// Writes the printed form with its dot ("TM.").
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

impl FromStr for AuthorityPrefix {
    type Err = Error;

    /// Same as [`AuthorityPrefix::from_user_text`], with an error listing the choices.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AuthorityPrefix::from_user_text(s).ok_or_else(|| Error::InvalidMetadata {
            field: "signer.authority_prefix".to_string(),
            problem: format!(
                "unknown authority prefix {s:?}; use TM (thay mặt), KT (ký thay), \
                 TL (thừa lệnh), TUQ (thừa ủy quyền) or Q (quyền)"
            ),
        })
    }
}

/// The signature block printed above the signature and checked against the
/// signing official's certificate: capacity, position and name.
///
/// Printed as, for example:
///
/// ```text
/// TM. ỦY BAN NHÂN DÂN      ← authority_prefix + authority
/// CHỦ TỊCH                 ← position
/// Nguyễn Văn A             ← full_name
/// ```
///
/// or, when a deputy signs for the head of a collective body, in the
/// three-line form of Decree 30 (Appendix I):
///
/// ```text
/// TM. ỦY BAN NHÂN DÂN      ← "TM." + on_behalf_of
/// KT. CHỦ TỊCH             ← authority_prefix (KT) + authority
/// PHÓ CHỦ TỊCH             ← position
/// Nguyễn Văn B             ← full_name
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignerBlock {
    /// The capacity prefix, or `None` when the head signs in their own name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority_prefix: Option<AuthorityPrefix>,
    /// What the prefix acts for: a collective body ("ỦY BAN NHÂN DÂN") or a
    /// head's position ("CHỦ TỊCH"). Required after TM./KT./TL./TUQ.,
    /// optional after Q., absent without a prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    /// The collective body a deputy signs for, printed as a first line
    /// "TM. <body>" above "KT. <authority>" (Decree 30's three-line form);
    /// only with the prefix KT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<String>,
    /// The signer's own position ("CHỦ TỊCH", "PHÓ CHỦ TỊCH").
    pub position: String,
    /// The signer's full name ("Nguyễn Văn A").
    pub full_name: String,
}

impl SignerBlock {
    /// The capacity and position lines in print order, without the name:
    /// `["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"]`, `["Q. GIÁM ĐỐC"]` for an acting
    /// head without a separate authority, or `["CHỦ TỊCH"]` with no prefix.
    /// Renderers and edXML export share this so they print the same block.
    pub fn title_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .on_behalf_of
            .iter()
            .map(|body| format!("{} {body}", AuthorityPrefix::Tm.text()))
            .collect();
        lines.extend(self.own_title_lines());
        lines
    }

    fn own_title_lines(&self) -> Vec<String> {
        match (&self.authority_prefix, &self.authority) {
            (Some(prefix), Some(authority)) => vec![
                format!("{} {}", prefix.text(), authority),
                self.position.clone(),
            ],
            (Some(prefix), None) => vec![format!("{} {}", prefix.text(), self.position)],
            (None, _) => vec![self.position.clone()],
        }
    }

    /// Adds every problem of this block to `out`, fields named `signer.*`.
    pub(crate) fn check(&self, out: &mut Problems) {
        if let Some(body) = &self.on_behalf_of {
            if let Some(problem) = check(body, TextRule::name()) {
                out.add("signer.on_behalf_of", problem);
            } else if self.authority_prefix != Some(AuthorityPrefix::Kt) {
                out.add(
                    "signer.on_behalf_of",
                    "is only used when a deputy signs (prefix KT): TM. ỦY BAN NHÂN DÂN, \
                     then KT. CHỦ TỊCH, then the deputy's position"
                        .to_string(),
                );
            }
        }
        if let Some(authority) = &self.authority {
            if let Some(problem) = check(authority, TextRule::name()) {
                out.add("signer.authority", problem);
            }
        }
        match (self.authority_prefix, &self.authority) {
            (Some(prefix), None) if prefix.needs_authority() => out.add(
                "signer.authority",
                format!(
                    "is missing; after {} name what the signer acts for, e.g. \
                     \"{} ỦY BAN NHÂN DÂN\" or \"KT. CHỦ TỊCH\"",
                    prefix.text(),
                    prefix.text()
                ),
            ),
            (None, Some(_)) => out.add(
                "signer.authority",
                "is given without an authority_prefix; add the prefix (TM, KT, TL, \
                 TUQ or Q) or remove the authority"
                    .to_string(),
            ),
            _ => {}
        }
        if let Some(problem) = check(&self.position, TextRule::name()) {
            out.add("signer.position", problem);
        }
        if let Some(problem) = check(&self.full_name, TextRule::name()) {
            out.add("signer.full_name", problem);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn block(prefix: Option<AuthorityPrefix>, authority: Option<&str>) -> SignerBlock {
        SignerBlock {
            authority_prefix: prefix,
            authority: authority.map(str::to_string),
            on_behalf_of: None,
            position: "CHỦ TỊCH".to_string(),
            full_name: "Nguyễn Văn A".to_string(),
        }
    }

    fn fields(b: &SignerBlock) -> Vec<String> {
        let mut out = Problems::default();
        b.check(&mut out);
        out.into_vec()
            .iter()
            .map(crate::metadata::tests::field_of)
            .collect()
    }

    #[test]
    fn prefixes_parse_and_serialise() {
        for &p in AuthorityPrefix::all() {
            assert_eq!(AuthorityPrefix::from_user_text(p.text()), Some(p));
            assert_eq!(AuthorityPrefix::from_user_text(p.name()), Some(p));
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.text().trim_end_matches('.')));
            assert_eq!(serde_json::from_str::<AuthorityPrefix>(&json).unwrap(), p);
        }
        assert_eq!(
            AuthorityPrefix::from_user_text("tuq"),
            Some(AuthorityPrefix::Tuq)
        );
        assert_eq!("x".parse::<AuthorityPrefix>().ok(), None);
    }

    #[test]
    fn title_lines() {
        let b = block(Some(AuthorityPrefix::Tm), Some("ỦY BAN NHÂN DÂN"));
        assert_eq!(b.title_lines(), ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"]);
        let b = block(Some(AuthorityPrefix::Q), None);
        assert_eq!(b.title_lines(), ["Q. CHỦ TỊCH"]);
        assert_eq!(block(None, None).title_lines(), ["CHỦ TỊCH"]);
        let mut b = block(Some(AuthorityPrefix::Kt), Some("CHỦ TỊCH"));
        b.on_behalf_of = Some("ỦY BAN NHÂN DÂN".to_string());
        b.position = "PHÓ CHỦ TỊCH".to_string();
        assert_eq!(
            b.title_lines(),
            ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"]
        );
        assert!(fields(&b).is_empty());
        b.authority_prefix = Some(AuthorityPrefix::Tl);
        assert_eq!(fields(&b), ["signer.on_behalf_of"]);
    }

    #[test]
    fn checks_prefix_and_authority_together() {
        assert!(fields(&block(None, None)).is_empty());
        assert!(fields(&block(Some(AuthorityPrefix::Kt), Some("CHỦ TỊCH"))).is_empty());
        assert!(fields(&block(Some(AuthorityPrefix::Q), None)).is_empty());
        assert_eq!(
            fields(&block(Some(AuthorityPrefix::Tm), None)),
            ["signer.authority"]
        );
        assert_eq!(fields(&block(None, Some("CHỦ TỊCH"))), ["signer.authority"]);
        let mut b = block(None, None);
        b.full_name = " ".to_string();
        b.position = String::new();
        assert_eq!(fields(&b), ["signer.position", "signer.full_name"]);
    }
}
