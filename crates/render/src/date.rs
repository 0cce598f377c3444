//! Dates and times as Vietnamese official documents print them.
//!
//! Written with the `time` crate for calendar arithmetic; only the Decree 30 wording is ours.

use time::{Date, Month, OffsetDateTime, UtcOffset};

use crate::{CalendarDate, Error};

/// Vietnam's offset from UTC (+07:00, no daylight saving time).
const VIETNAM_OFFSET_SECONDS: i32 = 7 * 3600;

/// Formats the place-and-date line of a dispatch, e.g. `"Hà Tĩnh, ngày 05 tháng 01 năm 2026"`.
///
/// Decree 30/2020/NĐ-CP writes days below 10 and the months January and February with a leading
/// zero ("ngày 05", "tháng 01", "tháng 02") and every other month without ("tháng 3"), so that a
/// hand-written digit cannot later be added in front. Public so that other tools (the CLI's
/// plain-text view) print the same line as the PDF.
///
/// # Errors
/// [`Error::InvalidDate`] when the date does not exist (e.g. 30 February).
pub fn place_and_date_line(place: &str, date: &CalendarDate) -> Result<String, Error> {
    validate(date)?;
    let month = if date.month <= 2 {
        format!("{:02}", date.month)
    } else {
        date.month.to_string()
    };
    Ok(format!(
        "{}, ngày {:02} tháng {} năm {}",
        place.trim(),
        date.day,
        month,
        date.year
    ))
}

/// Checks that a calendar date exists.
fn validate(date: &CalendarDate) -> Result<(), Error> {
    let invalid = || Error::InvalidDate {
        year: date.year,
        month: date.month,
        day: date.day,
    };
    let month = Month::try_from(date.month).map_err(|_| invalid())?;
    Date::from_calendar_date(date.year, month, date.day).map_err(|_| invalid())?;
    Ok(())
}

/// Converts Unix seconds to Vietnam local time.
fn vietnam_time(unix: i64) -> Result<OffsetDateTime, Error> {
    let offset = UtcOffset::from_whole_seconds(VIETNAM_OFFSET_SECONDS)
        .map_err(|_| Error::InvalidTimestamp(unix))?;
    OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| t.to_offset(offset))
        .map_err(|_| Error::InvalidTimestamp(unix))
}

/// Formats a moment the way Vietnamese readers expect: `05/01/2026 09:30:00 +07:00`
/// (day first, 24-hour clock, the offset spelled out so the zone is never ambiguous).
pub(crate) fn vietnam_datetime(unix: i64) -> Result<String, Error> {
    let t = vietnam_time(unix)?;
    Ok(format!(
        "{:02}/{:02}/{:04} {:02}:{:02}:{:02} +07:00",
        t.day(),
        u8::from(t.month()),
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

/// Formats a moment in Vietnam time without the offset, `05/01/2026 09:30:00`, for table
/// columns whose heading already says "UTC+7".
pub(crate) fn vietnam_datetime_short(unix: i64) -> Result<String, Error> {
    let t = vietnam_time(unix)?;
    Ok(format!(
        "{:02}/{:02}/{:04} {:02}:{:02}:{:02}",
        t.day(),
        u8::from(t.month()),
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

/// Formats a moment in ISO 8601 with the Vietnam offset, e.g. `2026-01-05T09:30:00+07:00`,
/// which Decree 30 (Appendix I) prescribes for an organization's digital signature.
pub(crate) fn vietnam_iso8601(unix: i64) -> Result<String, Error> {
    let t = vietnam_time(unix)?;
    Ok(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+07:00",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(year: i32, month: u8, day: u8) -> Result<String, Error> {
        place_and_date_line("Hà Tĩnh", &CalendarDate { year, month, day })
    }

    #[test]
    fn leading_zero_for_small_days_and_first_two_months() -> Result<(), Error> {
        assert_eq!(line(2026, 1, 5)?, "Hà Tĩnh, ngày 05 tháng 01 năm 2026");
        assert_eq!(line(2026, 2, 15)?, "Hà Tĩnh, ngày 15 tháng 02 năm 2026");
        assert_eq!(line(2026, 3, 3)?, "Hà Tĩnh, ngày 03 tháng 3 năm 2026");
        assert_eq!(line(2025, 12, 31)?, "Hà Tĩnh, ngày 31 tháng 12 năm 2025");
        assert_eq!(line(2026, 10, 10)?, "Hà Tĩnh, ngày 10 tháng 10 năm 2026");
        assert_eq!(line(2024, 2, 29)?, "Hà Tĩnh, ngày 29 tháng 02 năm 2024");
        Ok(())
    }

    #[test]
    fn impossible_dates_are_rejected() {
        assert!(matches!(
            line(2026, 2, 30),
            Err(Error::InvalidDate {
                month: 2,
                day: 30,
                ..
            })
        ));
        assert!(matches!(line(2025, 2, 29), Err(Error::InvalidDate { .. })));
        assert!(matches!(line(2026, 13, 1), Err(Error::InvalidDate { .. })));
        assert!(matches!(line(2026, 0, 1), Err(Error::InvalidDate { .. })));
        assert!(matches!(line(2026, 1, 0), Err(Error::InvalidDate { .. })));
    }

    #[test]
    fn times_are_shown_in_vietnam_time() -> Result<(), Error> {
        // 2026-01-05T02:30:00Z is 09:30 in Hà Nội.
        let unix = 1_767_580_200;
        assert_eq!(vietnam_datetime(unix)?, "05/01/2026 09:30:00 +07:00");
        assert_eq!(vietnam_iso8601(unix)?, "2026-01-05T09:30:00+07:00");
        assert_eq!(vietnam_datetime_short(unix)?, "05/01/2026 09:30:00");
        // Late UTC evening is already the next day in Vietnam.
        assert_eq!(
            vietnam_datetime(1_767_571_200 - 3600)?,
            "05/01/2026 06:00:00 +07:00"
        );
        assert!(matches!(
            vietnam_datetime(i64::MAX),
            Err(Error::InvalidTimestamp(_))
        ));
        Ok(())
    }
}
