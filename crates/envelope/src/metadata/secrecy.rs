//! Secrecy level ("độ mật") of a dispatch.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::text::fold;
use crate::Error;

/// The state-secret classification of a dispatch (Law on Protection of State
/// Secrets 2018). A dispatch that is not secret has no secrecy at all
/// (`Option<Secrecy>` is `None`), so there is no "not secret" value here.
///
/// In JSON: `"mat"`, `"toi-mat"`, `"tuyet-mat"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Secrecy {
    /// Mật: confidential.
    Mat,
    /// Tối mật: secret.
    ToiMat,
    /// Tuyệt mật: top secret.
    TuyetMat,
}

const ALL: [Secrecy; 3] = [Secrecy::Mat, Secrecy::ToiMat, Secrecy::TuyetMat];

impl Secrecy {
    /// Every level, least secret first.
    pub fn all() -> &'static [Secrecy] {
        &ALL
    }

    /// The Vietnamese name, e.g. "Tối mật".
    pub fn name(self) -> &'static str {
        match self {
            Secrecy::Mat => "Mật",
            Secrecy::ToiMat => "Tối mật",
            Secrecy::TuyetMat => "Tuyệt mật",
        }
    }

    /// The ASCII slug used in JSON and on the command line, e.g. "toi-mat".
    pub fn slug(self) -> &'static str {
        match self {
            Secrecy::Mat => "mat",
            Secrecy::ToiMat => "toi-mat",
            Secrecy::TuyetMat => "tuyet-mat",
        }
    }

    /// The mark stamped on the document: "MẬT", "TỐI MẬT", "TUYỆT MẬT".
    pub fn mark(self) -> &'static str {
        match self {
            Secrecy::Mat => "MẬT",
            Secrecy::ToiMat => "TỐI MẬT",
            Secrecy::TuyetMat => "TUYỆT MẬT",
        }
    }

    /// Reads a level as a person would type it: the slug (`mat`, `toi-mat`,
    /// `tuyet-mat`) or the Vietnamese name or mark in any case or Unicode form.
    pub fn from_user_text(text: &str) -> Option<Secrecy> {
        let slug = fold(text.trim());
        ALL.iter().copied().find(|s| s.slug() == slug)
    }
}

impl fmt::Display for Secrecy {
    /// Writes the Vietnamese name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Secrecy {
    type Err = Error;

    /// Same as [`Secrecy::from_user_text`], with an error that lists the choices.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Secrecy::from_user_text(s).ok_or_else(|| Error::InvalidMetadata {
            field: "secrecy".to_string(),
            problem: format!(
                "unknown secrecy level {s:?}; use mat (Mật), toi-mat (Tối mật) or \
                 tuyet-mat (Tuyệt mật), or leave it out for a dispatch that is not secret"
            ),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_slugs_names_and_marks() {
        for &s in Secrecy::all() {
            assert_eq!(Secrecy::from_user_text(s.slug()), Some(s));
            assert_eq!(Secrecy::from_user_text(s.name()), Some(s));
            assert_eq!(Secrecy::from_user_text(s.mark()), Some(s));
            assert_eq!(s.slug().parse::<Secrecy>().unwrap(), s);
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.slug())
            );
        }
        assert_eq!(Secrecy::from_user_text("tối  mật"), Some(Secrecy::ToiMat));
        assert_eq!(Secrecy::from_user_text("secret"), None);
        assert_eq!(Secrecy::from_user_text(""), None);
        let err = "x".parse::<Secrecy>().unwrap_err().to_string();
        assert!(err.contains("secrecy") && err.contains("toi-mat"), "{err}");
        assert!(serde_json::from_str::<Secrecy>("\"Mật\"").is_err());
    }
}
