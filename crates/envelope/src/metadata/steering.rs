//! Steering type ("loại chỉ đạo") of the edXML header.

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// Whether a dispatch takes part in a steering exchange (edXML
/// `SteeringType`): a directive from a superior, or a report back on one.
///
/// Relays and inbox tools use it to track which directives still await a
/// report. Stored in JSON as the integer code 0-2, as in edXML.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SteeringType {
    /// 0 — not a directive and not a report on one.
    #[default]
    None,
    /// 1 — a directive ("văn bản chỉ đạo").
    Directive,
    /// 2 — a report on the execution of a directive ("văn bản báo cáo thực
    /// hiện chỉ đạo"); it normally lists the directive in `in_reply_to`.
    DirectiveReport,
}

impl SteeringType {
    /// The edXML code, 0-2.
    pub fn code(self) -> u8 {
        match self {
            SteeringType::None => 0,
            SteeringType::Directive => 1,
            SteeringType::DirectiveReport => 2,
        }
    }

    /// The steering type with edXML code `code`, if it is 0-2.
    pub fn from_code(code: u8) -> Option<SteeringType> {
        match code {
            0 => Some(SteeringType::None),
            1 => Some(SteeringType::Directive),
            2 => Some(SteeringType::DirectiveReport),
            _ => None,
        }
    }

    /// A Vietnamese description for display.
    pub fn name(self) -> &'static str {
        match self {
            SteeringType::None => "Không phải văn bản chỉ đạo",
            SteeringType::Directive => "Văn bản chỉ đạo",
            SteeringType::DirectiveReport => "Văn bản báo cáo thực hiện chỉ đạo",
        }
    }
}

impl Serialize for SteeringType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(self.code())
    }
}

impl<'de> Deserialize<'de> for SteeringType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = u64::deserialize(deserializer)?;
        u8::try_from(code)
            .ok()
            .and_then(SteeringType::from_code)
            .ok_or_else(|| {
                de::Error::custom(format!(
                    "invalid steering type {code}: expected 0 (none), 1 (directive) \
                     or 2 (report on a directive)"
                ))
            })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn integer_codes() {
        for code in 0..3u8 {
            let st = SteeringType::from_code(code).unwrap();
            assert_eq!(st.code(), code);
            let json = serde_json::to_string(&st).unwrap();
            assert_eq!(json, code.to_string());
            assert_eq!(serde_json::from_str::<SteeringType>(&json).unwrap(), st);
        }
        assert_eq!(SteeringType::from_code(3), None);
        let err = serde_json::from_str::<SteeringType>("3").unwrap_err();
        assert!(err.to_string().contains("invalid steering type 3"), "{err}");
    }
}
