//! The figures of an office and every office below it, gathered from where
//! they are: this relay's store for the offices it serves, the reports of
//! relays below (`figure_reports.rs`) for the rest. What the leaders'
//! dashboard shows.

use congvan_org::{Level, OrgId};
use time::{Date, Duration, OffsetDateTime};

use crate::figure_reports::{reports_below, REPORT_DAYS};
use crate::figures::{DayFigures, OverdueItem, Totals};
use crate::notices::VIETNAM;
use crate::state::RelayState;
use crate::Error;

/// Where an office's figures come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// This relay serves it.
    Local,
    /// The report of the relay that serves it, computed at `generated_at` (Unix ms).
    Report {
        /// That relay.
        relay: String,
        /// When it computed its figures.
        generated_at: i64,
    },
    /// No figures: its relay has sent none that reached here.
    Missing {
        /// The relay that serves it, if the registry names one.
        relay: Option<String>,
    },
}

/// One office's figures over the last seven days.
#[derive(Clone, Debug)]
pub struct OfficeFigures {
    /// The office.
    pub code: OrgId,
    /// Its name.
    pub name: String,
    /// Its level.
    pub level: Level,
    /// Where its figures come from.
    pub source: Source,
    /// Its days (none when `Missing`).
    pub days: Vec<DayFigures>,
    /// Its overdue dispatches.
    pub overdue: Vec<OverdueItem>,
}

/// An office's subtree and its figures.
#[derive(Clone, Debug)]
pub struct Subtree {
    /// Today, in Vietnam: the last day of every period.
    pub today: Date,
    /// The offices, the root first, then by code.
    pub offices: Vec<OfficeFigures>,
}

/// A period of days, `from..=to` (`YYYY-MM-DD`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span<'a> {
    /// First day.
    pub from: &'a str,
    /// Last day.
    pub to: &'a str,
}

impl Span<'_> {
    fn holds(&self, day: &str) -> bool {
        day >= self.from && day <= self.to
    }
}

impl Subtree {
    /// The figures of `root` and, when `whole` is true, of every office
    /// below it that the registry knows (offices outside congvan aside).
    pub fn gather(
        state: &RelayState,
        root: &OrgId,
        whole: bool,
        now: OffsetDateTime,
    ) -> Result<Subtree, Error> {
        let today = now.to_offset(VIETNAM).date();
        let first = today - Duration::days(REPORT_DAYS - 1);
        let registry = state.router.registry();
        let below = reports_below(state)?;
        let mut offices = Vec::new();
        for office in registry.offices() {
            let inside = if whole {
                office.code.is_within(root)
            } else {
                &office.code == root
            };
            if !inside || office.external {
                continue;
            }
            let code = office.code.to_string();
            let (source, days, overdue) = if state.router.serves(&office.code) {
                (
                    Source::Local,
                    state.store.day_figures(&code, first, today, now)?,
                    state.store.overdue_items(&code, first, today, now)?,
                )
            } else {
                let relay = registry.serving_relay(&office.code).map(str::to_string);
                match below.iter().find(|(s, _)| Some(&s.relay) == relay.as_ref()) {
                    Some((stored, report)) => (
                        Source::Report {
                            relay: stored.relay.clone(),
                            generated_at: stored.generated_at,
                        },
                        report
                            .days
                            .iter()
                            .filter(|d| d.office == code)
                            .cloned()
                            .collect(),
                        report
                            .overdue
                            .iter()
                            .filter(|o| o.office == code)
                            .cloned()
                            .collect(),
                    ),
                    None => (Source::Missing { relay }, Vec::new(), Vec::new()),
                }
            };
            offices.push(OfficeFigures {
                code: office.code.clone(),
                name: office.name.clone(),
                level: office.level,
                source,
                days,
                overdue,
            });
        }
        // The root first, then the rest in code order (the registry's).
        offices.sort_by_key(|o| (&o.code != root, o.code.to_string()));
        Ok(Subtree { today, offices })
    }

    /// The sum over the offices with figures for `span` (at `level`, when
    /// given) of their days within it.
    pub fn totals(&self, span: Span<'_>, level: Option<Level>) -> Totals {
        let kept: Vec<Vec<DayFigures>> = self
            .offices
            .iter()
            // An office counts only with figures for the period: a report
            // from before it began says nothing about it.
            .filter(|o| o.days.iter().any(|d| span.holds(&d.day)))
            .filter(|o| level.is_none_or(|l| o.level == l))
            .map(|o| {
                o.days
                    .iter()
                    .filter(|d| span.holds(&d.day))
                    .cloned()
                    .collect()
            })
            .collect();
        Totals::of(kept.iter().map(Vec::as_slice))
    }

    /// Offices (at `level`, when given), with figures or not.
    pub fn office_count(&self, level: Option<Level>) -> usize {
        self.offices
            .iter()
            .filter(|o| level.is_none_or(|l| o.level == l))
            .count()
    }

    /// The overdue dispatches received within `span`, by office then day.
    pub fn overdue(&self, span: Span<'_>) -> Vec<&OverdueItem> {
        self.offices
            .iter()
            .flat_map(|o| o.overdue.iter())
            .filter(|item| span.holds(&item.received))
            .collect()
    }

    /// The levels present, top down.
    pub fn levels(&self) -> Vec<Level> {
        let mut levels: Vec<Level> = self.offices.iter().map(|o| o.level).collect();
        levels.sort();
        levels.dedup();
        levels
    }
}
