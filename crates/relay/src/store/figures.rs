//! An office's exchange figures (`figures.rs`), computed from the store,
//! and the figure reports of the relays below this one.

use rusqlite::params;
use time::{Date, Duration, OffsetDateTime, Time};

use super::Store;
use crate::figures::{DayFigures, OverdueItem, COMPLETED, MAX_OVERDUE, MAX_SAMPLES, STATUS_CODES};
use crate::notices::VIETNAM;
use crate::Error;

/// A figures report of a relay below, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredReport {
    /// The relay that signed it.
    pub relay: String,
    /// When that relay computed it (Unix ms).
    pub generated_at: i64,
    /// When it arrived here (Unix ms).
    pub received_at: i64,
    /// The signed report, JSON (`figure_reports::SignedFigures`).
    pub signed: String,
}

/// A received dispatch as the figures need it.
struct Received {
    id: String,
    delivered_at: i64,
    urgency: u8,
    created_at: i64,
    due: Option<String>,
    completed_at: Option<i64>,
}

impl Store {
    /// The figures of `office` for each day from `first` to `last` (Vietnam
    /// time), as of `now`: statuses reported so far count.
    pub fn day_figures(
        &self,
        office: &str,
        first: Date,
        last: Date,
        now: OffsetDateTime,
    ) -> Result<Vec<DayFigures>, Error> {
        let mut days: Vec<DayFigures> = Vec::new();
        let mut day = first;
        while day <= last {
            days.push(DayFigures {
                office: office.to_string(),
                day: day.to_string(),
                ..DayFigures::default()
            });
            day += Duration::days(1);
        }
        let (start, end) = (day_start_ms(first), day_start_ms(last + Duration::days(1)));
        let today = now.to_offset(VIETNAM).date();
        let slot = |ms: i64| -> Option<usize> {
            let d = vietnam_day(ms)?;
            usize::try_from((d - first).whole_days()).ok()
        };
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT received_at, urgency, secret, sealed FROM dispatches
                 WHERE sender = ?1 AND received_at >= ?2 AND received_at < ?3",
            )?;
            let rows = stmt.query_map(params![office, start, end], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, u8>(1)?,
                    r.get::<_, bool>(2)?,
                    r.get::<_, Option<bool>>(3)?,
                ))
            })?;
            for row in rows {
                let (at, urgency, secret, sealed) = row?;
                let Some(d) = slot(at).and_then(|i| days.get_mut(i)) else {
                    continue;
                };
                if let Some(n) = d.sent.get_mut(usize::from(urgency)) {
                    *n += 1;
                }
                if !secret {
                    d.sent_in_clear += 1;
                    if sealed == Some(true) {
                        d.signed_and_sealed += 1;
                    }
                }
            }

            let mut stmt = c.prepare_cached(
                "SELECT i.dispatch_id, i.delivered_at, d.urgency, d.created_at, d.due,
                        (SELECT s.time FROM statuses s WHERE s.office = i.office
                         AND s.dispatch_id = i.dispatch_id AND s.code = ?4)
                 FROM inbox i JOIN dispatches d ON d.id = i.dispatch_id
                 WHERE i.office = ?1 AND i.delivered_at >= ?2 AND i.delivered_at < ?3
                 ORDER BY i.delivered_at, i.dispatch_id",
            )?;
            let received = stmt
                .query_map(params![office, start, end, COMPLETED], |r| {
                    Ok(Received {
                        id: r.get(0)?,
                        delivered_at: r.get(1)?,
                        urgency: r.get(2)?,
                        created_at: r.get(3)?,
                        due: r.get(4)?,
                        completed_at: r.get(5)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<Received>>>()?;
            for item in &received {
                let Some(d) = slot(item.delivered_at).and_then(|i| days.get_mut(i)) else {
                    continue;
                };
                if let Some(n) = d.received.get_mut(usize::from(item.urgency)) {
                    *n += 1;
                }
                if d.delivery_ms.len() < MAX_SAMPLES {
                    d.delivery_ms.push(item.delivered_at - item.created_at);
                }
                if let Some(done) = item.completed_at {
                    if d.completion_ms.len() < MAX_SAMPLES {
                        d.completion_ms.push(done - item.delivered_at);
                    }
                }
                match (due_day(item), item.completed_at) {
                    (None, _) => {}
                    (Some(due), Some(done)) if done < day_start_ms(due + Duration::days(1)) => {
                        d.on_time += 1
                    }
                    (Some(_), Some(_)) => d.late += 1,
                    (Some(due), None) if due < today => d.overdue += 1,
                    (Some(_), None) => d.pending += 1,
                }
            }

            let mut stmt = c.prepare_cached(
                "SELECT i.delivered_at, s.code FROM statuses s
                 JOIN inbox i ON i.office = s.office AND i.dispatch_id = s.dispatch_id
                 WHERE i.office = ?1 AND i.delivered_at >= ?2 AND i.delivered_at < ?3",
            )?;
            let rows = stmt.query_map(params![office, start, end], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })?;
            for row in rows {
                let (at, code) = row?;
                let Some(d) = slot(at).and_then(|i| days.get_mut(i)) else {
                    continue;
                };
                if let Some(i) = STATUS_CODES.iter().position(|c| *c == code) {
                    d.acknowledged[i] += 1;
                }
            }
            Ok(())
        })?;
        Ok(days)
    }

    /// Dispatches delivered to `office` from `first` to `last` that are
    /// past their due day and not completed as of `now`, oldest first.
    pub fn overdue_items(
        &self,
        office: &str,
        first: Date,
        last: Date,
        now: OffsetDateTime,
    ) -> Result<Vec<OverdueItem>, Error> {
        let (start, end) = (day_start_ms(first), day_start_ms(last + Duration::days(1)));
        let today = now.to_offset(VIETNAM).date().to_string();
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT i.dispatch_id, i.delivered_at, d.due FROM inbox i JOIN dispatches d ON d.id = i.dispatch_id
                 WHERE i.office = ?1 AND i.delivered_at >= ?2 AND i.delivered_at < ?3
                 AND d.due IS NOT NULL AND d.due < ?4
                 AND NOT EXISTS (SELECT 1 FROM statuses s WHERE s.office = i.office
                                 AND s.dispatch_id = i.dispatch_id AND s.code = ?5)
                 ORDER BY i.delivered_at, i.dispatch_id LIMIT ?6",
            )?;
            let rows = stmt.query_map(
                params![office, start, end, today, COMPLETED, MAX_OVERDUE as i64],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?)),
            )?;
            let mut items = Vec::new();
            for row in rows {
                let (id, at, due) = row?;
                items.push(OverdueItem {
                    office: office.to_string(),
                    received: vietnam_day(at).map_or_else(String::new, |d| d.to_string()),
                    due,
                    id,
                });
            }
            Ok(items)
        })
    }

    /// The newest figures report of each relay below, by relay name.
    pub fn figure_reports(&self) -> Result<Vec<StoredReport>, Error> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT relay, generated_at, received_at, signed FROM figure_reports ORDER BY relay",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(StoredReport {
                    relay: r.get(0)?,
                    generated_at: r.get(1)?,
                    received_at: r.get(2)?,
                    signed: r.get(3)?,
                })
            })?;
            rows.collect()
        })
    }
}

/// Midnight starting `day` in Vietnam, as Unix ms.
fn day_start_ms(day: Date) -> i64 {
    let t = day.with_time(Time::MIDNIGHT).assume_offset(VIETNAM);
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The Vietnam day of a Unix-ms time.
fn vietnam_day(ms: i64) -> Option<Date> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .map(|t| t.to_offset(VIETNAM).date())
}

/// A received dispatch's due date, when it has a readable one.
fn due_day(item: &Received) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let due = item.due.as_deref()?;
    match Date::parse(due, &format) {
        Ok(day) => Some(day),
        Err(e) => {
            tracing::warn!(dispatch = %congvan_text::line(&item.id), error = %e, "a stored due date does not read as a date");
            None
        }
    }
}
