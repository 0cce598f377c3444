use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;

/// Longest id the parent-first syntax allows (Decision 20/2020/QĐ-TTg).
const MAX_LEN: usize = 35;

/// A normalised organization id: level-1 body first, then each lower level.
///
/// `000.00.15.H99` (QCVN 102:2016) and `H99.15` (parent-first) are the same
/// office and compare equal. The canonical text form is the parent-first one.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrgId {
    segments: Vec<String>,
}

impl OrgId {
    /// Parses either syntax and normalises it.
    pub fn parse(text: &str) -> Result<OrgId, Error> {
        let invalid = |why| Error::InvalidOrgId {
            id: text.to_string(),
            why,
        };
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(invalid("it is empty"));
        }
        if trimmed.len() > MAX_LEN || trimmed.chars().count() > MAX_LEN {
            return Err(invalid("it is longer than 35 characters"));
        }
        let upper = trimmed.to_ascii_uppercase();
        let parts: Vec<&str> = upper.split('.').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(invalid("it has an empty group between dots"));
        }
        let first = parts[0];
        if is_qcvn_form(&parts) {
            return from_qcvn(&parts).map_err(invalid);
        }
        if !is_level1(first) {
            return Err(invalid(
                "it must start with a level-1 code such as H99 (parent-first form) \
                 or have the QCVN 102:2016 form DDD.CC.BB.Xnn",
            ));
        }
        for part in &parts[1..] {
            if part.len() > 5 || !part.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(invalid(
                    "each group after the first must be 1-5 letters or digits",
                ));
            }
        }
        Ok(OrgId {
            segments: parts.iter().map(|p| p.to_string()).collect(),
        })
    }

    /// The groups from the level-1 body down to this office.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// How deep in the tree this office sits: 1 for a level-1 body.
    pub fn depth(&self) -> usize {
        self.segments.len()
    }

    /// The office one level up by code, if any. The registry may say otherwise
    /// (codes lag behind mergers); use [`crate::Registry::parent`] for routing.
    pub fn code_parent(&self) -> Option<OrgId> {
        if self.segments.len() <= 1 {
            return None;
        }
        Some(OrgId {
            segments: self.segments[..self.segments.len() - 1].to_vec(),
        })
    }

    /// True when `self` is `ancestor` or lies below it in the code tree.
    ///
    /// This is the check that keeps a provincial CA inside its own province.
    pub fn is_within(&self, ancestor: &OrgId) -> bool {
        self.segments.starts_with(&ancestor.segments)
    }

    /// The QCVN 102:2016 form, when the id has at most four levels that fit it.
    ///
    /// A level fits when it has exactly the group's width in digits and is not
    /// all zeros, so the QCVN form parses back to this same id. Padding would
    /// not: `H99.1` and `H99.01` are different ids, and `H99.00` is not `H99`.
    pub fn to_qcvn(&self) -> Option<String> {
        let widths = [3usize, 2, 2, 3];
        if self.segments.len() > 4 || !is_level1(&self.segments[0]) {
            return None;
        }
        let mut groups = Vec::with_capacity(4);
        for (level, width) in (0..4).zip(widths.iter().rev()) {
            let group = match self.segments.get(level) {
                Some(seg) if level == 0 => seg.clone(),
                Some(seg)
                    if seg.len() == *width
                        && seg.bytes().all(|b| b.is_ascii_digit())
                        && !seg.bytes().all(|b| b == b'0') =>
                {
                    seg.clone()
                }
                Some(_) => return None,
                None => "0".repeat(*width),
            };
            groups.push(group);
        }
        groups.reverse();
        Some(groups.join("."))
    }
}

fn is_level1(part: &str) -> bool {
    let bytes = part.as_bytes();
    bytes.len() == 3 && bytes[0].is_ascii_uppercase() && bytes[1..].iter().all(u8::is_ascii_digit)
}

fn is_qcvn_form(parts: &[&str]) -> bool {
    parts.len() == 4
        && parts[0].len() == 3
        && parts[0].chars().all(|c| c.is_ascii_digit())
        && parts[1].len() == 2
        && parts[2].len() == 2
}

fn from_qcvn(parts: &[&str]) -> Result<OrgId, &'static str> {
    if !is_level1(parts[3]) {
        return Err("the last group of a QCVN 102:2016 id must be a level-1 code such as H99");
    }
    if !parts[..3]
        .iter()
        .all(|p| p.chars().all(|c| c.is_ascii_digit()))
    {
        return Err("the first three groups of a QCVN 102:2016 id must be digits");
    }
    // Read right to left; an all-zero group means the level is unused, and a
    // used level cannot sit below an unused one.
    let mut segments = vec![parts[3].to_string()];
    let mut ended = false;
    for part in [parts[2], parts[1], parts[0]] {
        let unused = part.chars().all(|c| c == '0');
        if unused {
            ended = true;
        } else if ended {
            return Err("a level is used below an unused (all-zero) level");
        } else {
            segments.push(part.to_string());
        }
    }
    Ok(OrgId { segments })
}

impl fmt::Display for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.segments.join("."))
    }
}

impl fmt::Debug for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OrgId({self})")
    }
}

impl FromStr for OrgId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrgId::parse(s)
    }
}

impl TryFrom<String> for OrgId {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        OrgId::parse(&s)
    }
}

impl From<OrgId> for String {
    fn from(id: OrgId) -> String {
        id.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> OrgId {
        OrgId::parse(s).unwrap()
    }

    #[test]
    fn both_syntaxes_normalise_to_one_form() {
        assert_eq!(id("000.00.15.H99"), id("H99.15"));
        assert_eq!(id("000.00.00.G01").to_string(), "G01");
        assert_eq!(id("000.03.15.H99").to_string(), "H99.15.03");
        assert_eq!(id("h99.151.01").to_string(), "H99.151.01");
    }

    #[test]
    fn qcvn_round_trip() {
        assert_eq!(id("000.03.15.H99").to_qcvn().unwrap(), "000.03.15.H99");
        assert_eq!(id("H99.151.01").to_qcvn(), None);
        assert_eq!(id("H99.15").to_qcvn().unwrap(), "000.00.15.H99");
        // Found by fuzzing (fuzz/fuzz_targets/metadata.rs): padding or an
        // all-zero level gave the QCVN form of a different office.
        for no_form in ["H99.1.01", "H99.15.3", "H99.00", "H99.00.05", "H99.15.00"] {
            assert_eq!(id(no_form).to_qcvn(), None, "{no_form}");
        }
    }

    #[test]
    fn subtree() {
        assert!(id("H99.15.03").is_within(&id("H99")));
        assert!(id("H99").is_within(&id("H99")));
        assert!(!id("H98.15").is_within(&id("H99")));
        assert!(!id("H99.1").is_within(&id("H99.15")));
        assert_eq!(id("H99.15.03").code_parent().unwrap(), id("H99.15"));
    }

    #[test]
    fn rejects_bad_ids_with_reason() {
        for bad in [
            "",
            "H9",
            "99.15",
            "001.00.15.H99",
            "000.00.15.999",
            "H99..1",
            "H99.ĐX",
            "H99.1.2.3.4.5.6.7.8.9.10.11.12.13.14",
        ] {
            let err = OrgId::parse(bad).unwrap_err();
            assert!(
                err.to_string().contains("invalid organization id"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn serde_uses_canonical_text() {
        let json = serde_json_like(&id("000.00.15.H99"));
        assert_eq!(json, "H99.15");
    }

    fn serde_json_like(id: &OrgId) -> String {
        String::from(id.clone())
    }
}
