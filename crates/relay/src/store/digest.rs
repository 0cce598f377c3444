//! The figures of an office's digest, computed from the store.

use congvan_notify::{Digest, Period, UrgencyCount};
use rusqlite::params;
use time::{Date, Duration, OffsetDateTime, Time};

use super::Store;
use crate::notices::VIETNAM;
use crate::Error;

/// The status codes a digest reports shares for.
const CODES: [&str; 6] = ["01", "02", "03", "04", "05", "06"];

impl Store {
    /// The digest of `office` for the day `day` or the week ending with it
    /// (Vietnam time).
    pub fn digest(
        &self,
        office: &str,
        office_name: &str,
        period: Period,
        day: Date,
    ) -> Result<Digest, Error> {
        let first = match period {
            Period::Day => day,
            Period::Week => day - Duration::days(6),
        };
        let start = first.with_time(Time::MIDNIGHT).assume_offset(VIETNAM);
        let end = (day + Duration::days(1))
            .with_time(Time::MIDNIGHT)
            .assume_offset(VIETNAM);
        let (start_ms, end_ms) = (ms(start), ms(end));
        let end_day = (day + Duration::days(1)).to_string();
        self.read(|c| {
            let mut by_urgency: Vec<UrgencyCount> = (0..=4u8).map(|u| UrgencyCount { urgency: u, ..Default::default() }).collect();
            let mut stmt = c.prepare_cached(
                "SELECT urgency, COUNT(*) FROM dispatches WHERE sender = ?1 AND received_at >= ?2 AND received_at < ?3 GROUP BY urgency",
            )?;
            for row in stmt.query_map(params![office, start_ms, end_ms], |r| Ok((r.get::<_, u8>(0)?, r.get::<_, u64>(1)?)))? {
                let (u, n) = row?;
                if let Some(slot) = by_urgency.get_mut(usize::from(u)) {
                    slot.sent = n;
                }
            }
            let mut stmt = c.prepare_cached(
                "SELECT d.urgency, COUNT(*) FROM inbox i JOIN dispatches d ON d.id = i.dispatch_id
                 WHERE i.office = ?1 AND i.delivered_at >= ?2 AND i.delivered_at < ?3 GROUP BY d.urgency",
            )?;
            for row in stmt.query_map(params![office, start_ms, end_ms], |r| Ok((r.get::<_, u8>(0)?, r.get::<_, u64>(1)?)))? {
                let (u, n) = row?;
                if let Some(slot) = by_urgency.get_mut(usize::from(u)) {
                    slot.received = n;
                }
            }
            let sent = by_urgency.iter().map(|u| u.sent).sum();
            let received: u64 = by_urgency.iter().map(|u| u.received).sum();

            let mut acknowledged = Vec::new();
            for code in CODES {
                let n: u64 = c.query_row(
                    "SELECT COUNT(*) FROM inbox i WHERE i.office = ?1 AND i.delivered_at >= ?2 AND i.delivered_at < ?3
                     AND EXISTS (SELECT 1 FROM statuses s WHERE s.office = i.office AND s.dispatch_id = i.dispatch_id
                                 AND s.code = ?4 AND s.time < ?5)",
                    params![office, start_ms, end_ms, code, end_ms],
                    |r| r.get(0),
                )?;
                let share = if received == 0 { 0.0 } else { n as f64 / received as f64 };
                acknowledged.push((code.to_string(), share));
            }

            let mut stmt = c.prepare_cached(
                "SELECT i.dispatch_id FROM inbox i JOIN dispatches d ON d.id = i.dispatch_id
                 WHERE i.office = ?1 AND i.delivered_at < ?2 AND d.due IS NOT NULL AND d.due < ?3
                 AND NOT EXISTS (SELECT 1 FROM statuses s WHERE s.office = i.office AND s.dispatch_id = i.dispatch_id
                                 AND s.code = '06' AND s.time < ?2)
                 ORDER BY i.dispatch_id",
            )?;
            let overdue = stmt
                .query_map(params![office, end_ms, end_day], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;

            let mut stmt = c.prepare_cached(
                "SELECT i.delivered_at - d.created_at FROM inbox i JOIN dispatches d ON d.id = i.dispatch_id
                 WHERE i.office = ?1 AND i.delivered_at >= ?2 AND i.delivered_at < ?3 ORDER BY 1",
            )?;
            let delays = stmt
                .query_map(params![office, start_ms, end_ms], |r| r.get::<_, i64>(0))?
                .collect::<rusqlite::Result<Vec<i64>>>()?;

            Ok(Digest {
                office: office.to_string(),
                office_name: office_name.to_string(),
                period: Some(period),
                from: first.to_string(),
                to: day.to_string(),
                sent,
                received,
                by_urgency,
                acknowledged,
                overdue,
                median_delivery_secs: median_ms(&delays).map(|m| m / 1000.0),
                dashboard: None,
            })
        })
    }

    /// Mail not yet sent, oldest first: (row id, office, notice JSON).
    pub fn unsent_mail(&self, limit: usize) -> Result<Vec<(i64, String, String)>, Error> {
        self.read(|c| {
            let mut stmt = c.prepare_cached("SELECT id, office, notice FROM mail_outbox WHERE sent_at IS NULL ORDER BY id LIMIT ?1")?;
            let rows = stmt.query_map(params![limit as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect()
        })
    }

    /// Dispatches due before `today` (YYYY-MM-DD) that some recipient has
    /// not reported completed (06): (id, sender, pending recipients).
    pub fn overdue_sent(&self, today: &str) -> Result<Vec<(String, String, Vec<String>)>, Error> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT d.id, d.sender, r.org FROM dispatches d JOIN recipients r ON r.dispatch_id = d.id
                 WHERE d.due IS NOT NULL AND d.due < ?1
                 AND NOT EXISTS (SELECT 1 FROM events e WHERE e.dispatch_id = d.id AND e.kind = 'status'
                                 AND e.code = '06' AND e.office = r.org)
                 AND NOT EXISTS (SELECT 1 FROM mail_outbox m WHERE m.dedup = 'overdue:' || d.id)
                 ORDER BY d.id, r.org",
            )?;
            let rows = stmt.query_map(params![today], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?;
            let mut out: Vec<(String, String, Vec<String>)> = Vec::new();
            for row in rows {
                let (id, sender, org) = row?;
                match out.last_mut() {
                    Some(last) if last.0 == id => last.2.push(org),
                    _ => out.push((id, sender, vec![org])),
                }
            }
            Ok(out)
        })
    }
}

fn ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

fn median_ms(sorted: &[i64]) -> Option<f64> {
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[n / 2] as f64),
        n => Some((sorted[n / 2 - 1] + sorted[n / 2]) as f64 / 2.0),
    }
}
