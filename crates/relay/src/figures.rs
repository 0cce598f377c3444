//! Exchange figures, the way provinces report them: per office and per day
//! (Vietnam time), in counts that add up across offices and days, so that a
//! province's dashboard can sum the figures of communes served by relays
//! below it (`figure_reports.rs` carries them up the tree).
//!
//! Every figure is "as of" the moment it was computed: a status reported
//! later changes yesterday's share acknowledged, so relays send the last
//! seven days again each time, and the newest report wins.

use serde::{Deserialize, Serialize};

/// The status codes whose shares the dashboard shows (Decree 30: received,
/// assigned, in progress, … completed).
pub const STATUS_CODES: [&str; 6] = ["01", "02", "03", "04", "05", "06"];

/// The status code that means "completed" (hoàn thành).
pub const COMPLETED: &str = "06";

/// Most timing samples one office's day carries; past this the medians are
/// those of the first samples in dispatch order (a commune receives tens a day).
pub const MAX_SAMPLES: usize = 10_000;

/// Most overdue dispatches one office's report lists.
pub const MAX_OVERDUE: usize = 500;

/// One office's figures for one day.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayFigures {
    /// The office's organization id.
    pub office: String,
    /// The day, `YYYY-MM-DD` in Vietnam time.
    pub day: String,
    /// Dispatches the office sent that day, by urgency 0..=4.
    pub sent: [u64; 5],
    /// Dispatches delivered to the office that day, by urgency 0..=4.
    pub received: [u64; 5],
    /// Of the dispatches sent, those in clear: a relay sees the signatures
    /// of these only (a secret dispatch's are inside its encryption).
    pub sent_in_clear: u64,
    /// Of those in clear, the ones carrying both an official's signature
    /// and the office's seal.
    pub signed_and_sealed: u64,
    /// Of the dispatches received, those the office has reported each
    /// status code for, in the order of [`STATUS_CODES`].
    pub acknowledged: [u64; 6],
    /// Of the dispatches received with a due date: completed (status 06)
    /// by the end of the due day.
    pub on_time: u64,
    /// … completed after the due day.
    pub late: u64,
    /// … not completed, and the due day is past.
    pub overdue: u64,
    /// … not completed, and not due yet.
    pub pending: u64,
    /// Milliseconds from each received dispatch's creation to its delivery.
    pub delivery_ms: Vec<i64>,
    /// Milliseconds from delivery to completion, of each received dispatch
    /// completed so far.
    pub completion_ms: Vec<i64>,
}

/// Largest count a day entry may carry: more than any office sends or
/// receives in a day, far from overflowing any sum.
const MAX_COUNT: u64 = 1_000_000_000;

/// Timing samples lie between a day of clock skew back and a year.
const SAMPLE_RANGE_MS: std::ops::RangeInclusive<i64> = -86_400_000..=366 * 86_400_000;

impl DayFigures {
    /// Refuses figures that cannot be true of any office: counts beyond
    /// reason, parts larger than their wholes, timings out of range, more
    /// samples than dispatches. A relay below is believed about its
    /// offices, but not about arithmetic.
    pub fn check(&self) -> Result<(), String> {
        let counts = self
            .sent
            .iter()
            .chain(&self.received)
            .chain(&self.acknowledged)
            .chain([
                &self.sent_in_clear,
                &self.signed_and_sealed,
                &self.on_time,
                &self.late,
                &self.overdue,
                &self.pending,
            ]);
        if counts.into_iter().any(|n| *n > MAX_COUNT) {
            return Err(format!(
                "{} {}: a count beyond reason",
                self.office, self.day
            ));
        }
        let (sent, received) = (self.sent_total(), self.received_total());
        let with_due = self.on_time + self.late + self.overdue + self.pending;
        let consistent = self.sent_in_clear <= sent
            && self.signed_and_sealed <= self.sent_in_clear
            && self.acknowledged.iter().all(|n| *n <= received)
            && with_due <= received
            && self.delivery_ms.len() as u64 <= received
            && self.completion_ms.len() as u64 <= received;
        if !consistent {
            return Err(format!(
                "{} {}: parts larger than their whole",
                self.office, self.day
            ));
        }
        let timings = self.delivery_ms.iter().chain(&self.completion_ms);
        if self.delivery_ms.len() > MAX_SAMPLES
            || self.completion_ms.len() > MAX_SAMPLES
            || timings.into_iter().any(|t| !SAMPLE_RANGE_MS.contains(t))
        {
            return Err(format!(
                "{} {}: timing samples out of range",
                self.office, self.day
            ));
        }
        Ok(())
    }

    /// The dispatches sent, all urgencies.
    pub fn sent_total(&self) -> u64 {
        self.sent.iter().sum()
    }

    /// The dispatches received, all urgencies.
    pub fn received_total(&self) -> u64 {
        self.received.iter().sum()
    }
}

/// A received dispatch past its due date and not completed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverdueItem {
    /// The office that received it.
    pub office: String,
    /// The day it was delivered (`YYYY-MM-DD`).
    pub received: String,
    /// Its due date.
    pub due: String,
    /// The dispatch id.
    pub id: String,
}

impl OverdueItem {
    /// Refuses an item whose days are not dates or whose id is not one.
    pub fn check(&self) -> Result<(), String> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let dates = time::Date::parse(&self.received, &format).is_ok()
            && time::Date::parse(&self.due, &format).is_ok();
        let id = !self.id.is_empty()
            && self.id.len() <= 128
            && self
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
        if dates && id {
            Ok(())
        } else {
            Err("an overdue item whose dates or id do not read".into())
        }
    }
}

/// The figures of a set of offices over a period, summed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    /// Offices whose figures are in the sum.
    pub offices: usize,
    /// Of those, offices that sent or received at least one dispatch.
    pub exchanging: usize,
    /// Sent, by urgency.
    pub sent: [u64; 5],
    /// Received, by urgency.
    pub received: [u64; 5],
    /// Sent in clear.
    pub sent_in_clear: u64,
    /// Sent in clear with signature and seal.
    pub signed_and_sealed: u64,
    /// Received with each status code.
    pub acknowledged: [u64; 6],
    /// Completed by the due day.
    pub on_time: u64,
    /// Completed after it.
    pub late: u64,
    /// Past due, not completed.
    pub overdue: u64,
    /// Not due yet, not completed.
    pub pending: u64,
    /// Median milliseconds from creation to delivery.
    pub median_delivery_ms: Option<f64>,
    /// Median milliseconds from delivery to completion.
    pub median_completion_ms: Option<f64>,
}

impl Totals {
    /// Sums the figures of each office in `by_office` (an office's days,
    /// already limited to the period).
    pub fn of<'a>(by_office: impl IntoIterator<Item = &'a [DayFigures]>) -> Totals {
        let mut t = Totals::default();
        let (mut delivery, mut completion) = (Vec::new(), Vec::new());
        for days in by_office {
            t.offices += 1;
            let mut exchanged = false;
            for d in days {
                exchanged |= d.sent_total() + d.received_total() > 0;
                add(&mut t.sent, &d.sent);
                add(&mut t.received, &d.received);
                add(&mut t.acknowledged, &d.acknowledged);
                t.sent_in_clear += d.sent_in_clear;
                t.signed_and_sealed += d.signed_and_sealed;
                t.on_time += d.on_time;
                t.late += d.late;
                t.overdue += d.overdue;
                t.pending += d.pending;
                delivery.extend_from_slice(&d.delivery_ms);
                completion.extend_from_slice(&d.completion_ms);
            }
            if exchanged {
                t.exchanging += 1;
            }
        }
        t.median_delivery_ms = median(&mut delivery);
        t.median_completion_ms = median(&mut completion);
        t
    }

    /// All dispatches sent.
    pub fn sent_total(&self) -> u64 {
        self.sent.iter().sum()
    }

    /// All dispatches received.
    pub fn received_total(&self) -> u64 {
        self.received.iter().sum()
    }

    /// The share (0.0–1.0) of received dispatches with status `STATUS_CODES[i]`.
    pub fn acknowledged_share(&self, i: usize) -> f64 {
        share(self.acknowledged[i], self.received_total())
    }

    /// The share of offices that exchanged at least one dispatch.
    pub fn exchanging_share(&self) -> f64 {
        share(self.exchanging as u64, self.offices as u64)
    }

    /// The share of dispatches in clear carrying signature and seal.
    pub fn signed_and_sealed_share(&self) -> f64 {
        share(self.signed_and_sealed, self.sent_in_clear)
    }
}

fn add<const N: usize>(into: &mut [u64; N], from: &[u64; N]) {
    for (a, b) in into.iter_mut().zip(from) {
        *a += b;
    }
}

/// `part / whole`, 0 when there is no whole.
pub fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// The median of the samples (the mean of the middle two for an even count).
pub fn median(samples: &mut [i64]) -> Option<f64> {
    samples.sort_unstable();
    match samples.len() {
        0 => None,
        n if n % 2 == 1 => Some(samples[n / 2] as f64),
        n => Some((samples[n / 2 - 1] as f64 + samples[n / 2] as f64) / 2.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(office: &str, sent: u64, received: u64, delivery: &[i64]) -> DayFigures {
        DayFigures {
            office: office.into(),
            day: "2026-12-01".into(),
            sent: [sent, 0, 0, 0, 0],
            received: [0, received, 0, 0, 0],
            delivery_ms: delivery.to_vec(),
            ..DayFigures::default()
        }
    }

    #[test]
    fn totals_add_counts_and_take_the_median_of_all_samples() {
        let a = [day("A", 2, 1, &[10]), day("A", 1, 0, &[])];
        let b = [day("B", 0, 3, &[30, 20, 40])];
        let c: [DayFigures; 0] = [];
        let t = Totals::of([&a[..], &b[..], &c[..]]);
        assert_eq!(t.offices, 3);
        assert_eq!(t.exchanging, 2);
        assert_eq!(t.sent_total(), 3);
        assert_eq!(t.received_total(), 4);
        // 10, 20, 30, 40: not the median of the offices' medians.
        assert_eq!(t.median_delivery_ms, Some(25.0));
        assert!((t.exchanging_share() - 2.0 / 3.0).abs() < 1e-9);
    }
}
