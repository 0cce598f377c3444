//! Calendar dates in JSON as `"YYYY-MM-DD"` (ISO 8601 / edXML `PromulgationDate`).
//!
//! Written by hand because the workspace's `time` dependency does not enable
//! its `serde` feature, and its serde support would not give this error text.

use serde::{de, Deserialize, Deserializer, Serializer};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::Date;

const FORMAT: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");

fn parse<E: de::Error>(text: &str) -> Result<Date, E> {
    Date::parse(text, FORMAT)
        .map_err(|e| E::custom(format!("invalid date {text:?}: expected YYYY-MM-DD ({e})")))
}

/// Serialises a date as `"YYYY-MM-DD"`.
pub(crate) fn serialize<S: Serializer>(date: &Date, serializer: S) -> Result<S::Ok, S::Error> {
    let text = date
        .format(FORMAT)
        .map_err(<S::Error as serde::ser::Error>::custom)?;
    serializer.serialize_str(&text)
}

/// Reads a `"YYYY-MM-DD"` date.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse(&text)
}

/// The same for an optional date (`null` or absent is `None`).
pub(crate) mod option {
    use super::*;

    /// Serialises `Some(date)` as `"YYYY-MM-DD"` and `None` as `null`.
    pub(crate) fn serialize<S: Serializer>(
        date: &Option<Date>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match date {
            Some(date) => super::serialize(date, serializer),
            None => serializer.serialize_none(),
        }
    }

    /// Reads an optional `"YYYY-MM-DD"` date.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Date>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|text| parse(&text))
            .transpose()
    }
}
