//! Figures travel up the tree. Every relay with a parent computes the last
//! seven days' figures of the offices it serves, signs them with its relay
//! key, and posts them to its parent with the newest report it holds from
//! each relay below; the parent keeps them, so a province's dashboard
//! covers communes it does not serve itself.
//!
//! Who may say what: a report counts only when a relay certificate valid
//! under the parent's trust signed it, that relay is the registry's
//! serving relay of every office the report gives figures for, and the
//! relay lies in the subtree of the child that brought it. A child can
//! pass its own children's reports up, but cannot alter one (the signature
//! is the original relay's) or speak for offices outside its subtree. A
//! replayed older report never replaces a newer one. A child that withholds
//! reports cannot be prevented; the dashboard shows each relay's report
//! time, so a stale figure is visible as stale.

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use congvan_org::OrgId;
use rusqlite::params;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::api::{FiguresOutcome, FiguresUpload};
use crate::caller::Caller;
use crate::client::RelayClient;
use crate::figures::{DayFigures, OverdueItem};
use crate::ingest::{unix_ms, Refusal};
use crate::notices::VIETNAM;
use crate::state::RelayState;
use crate::Error;

/// Days a report covers, ending with the reporting relay's today.
pub const REPORT_DAYS: i64 = 7;

/// Most reports one upload carries; a relay with more sends several.
pub const UPLOAD_REPORTS: usize = 32;

/// Most day entries one report may hold (offices × days).
const MAX_DAYS: usize = 70_000;

/// How far in the future a report's time may lie (clock skew).
const SKEW_MS: i64 = 5 * 60 * 1000;

/// The oldest report kept: a relay that stopped reporting two days ago
/// shows as without figures, not with old ones.
const MAX_AGE_MS: i64 = 2 * 86_400 * 1000;

/// Largest report text: a relay serving a hundred busy offices fits, and
/// one hostile report cannot crowd the others out of an upload.
pub const MAX_REPORT_BYTES: usize = 2 * 1024 * 1024;

/// Most bytes of reports in one upload (the parent takes 8 MiB).
const UPLOAD_BYTES: usize = 6 * 1024 * 1024;

/// What a relay says about the offices it serves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FigureReport {
    /// The reporting relay's name in the registry.
    pub relay: String,
    /// When it computed the figures (Unix ms).
    pub generated_at: i64,
    /// Each served office's figures for each of the report's days.
    pub days: Vec<DayFigures>,
    /// Dispatches those offices received in those days that are overdue.
    pub overdue: Vec<OverdueItem>,
}

/// A report as its relay signed it: the JSON text, the relay's signature
/// over exactly those bytes, and its certificate chain. Passed up the tree
/// unchanged, so every level checks the original relay's signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedFigures {
    /// The [`FigureReport`] as JSON text.
    pub report: String,
    /// Base64 of the relay's signature over `report`.
    pub signature: String,
    /// Base64 DER: the relay's certificate, then its CAs.
    pub certificates: Vec<String>,
}

/// This relay's own report: its served offices' last seven days, as of now.
pub fn own_report(state: &RelayState, now: OffsetDateTime) -> Result<SignedFigures, Error> {
    let today = now.to_offset(VIETNAM).date();
    let first = today - time::Duration::days(REPORT_DAYS - 1);
    let mut days = Vec::new();
    let mut overdue = Vec::new();
    for office in served_offices(state) {
        let code = office.to_string();
        days.extend(state.store.day_figures(&code, first, today, now)?);
        overdue.extend(state.store.overdue_items(&code, first, today, now)?);
    }
    let report = FigureReport {
        relay: state.config.name.clone(),
        generated_at: unix_ms(now),
        days,
        overdue,
    };
    sign_report(&report, &state.credential)
}

/// Signs a report with a relay's credential.
pub fn sign_report(
    report: &FigureReport,
    credential: &congvan_sign::Credential,
) -> Result<SignedFigures, Error> {
    let text = serde_json::to_string(report).map_err(|e| Error::Protocol {
        url: "figures".into(),
        problem: e.to_string(),
    })?;
    let signature = STANDARD.encode(credential.key().sign(text.as_bytes())?);
    let certificates = std::iter::once(credential.cert())
        .chain(credential.chain())
        .map(|c| STANDARD.encode(c.der()))
        .collect();
    Ok(SignedFigures {
        report: text,
        signature,
        certificates,
    })
}

/// The registry's offices this relay serves (external ones have no figures).
pub fn served_offices(state: &RelayState) -> Vec<OrgId> {
    state
        .router
        .registry()
        .offices()
        .filter(|o| !o.external && state.router.serves(&o.code))
        .map(|o| o.code.clone())
        .collect()
}

/// Checks a report brought by the child relay `child` (see the module
/// comment for the rules) and returns what it says. The reason, when it is
/// refused, names the rule it broke.
pub fn check(
    signed: &SignedFigures,
    state: &RelayState,
    child: &OrgId,
    now: OffsetDateTime,
) -> Result<FigureReport, String> {
    if signed.report.len() > MAX_REPORT_BYTES {
        return Err(format!(
            "the report is larger than {MAX_REPORT_BYTES} bytes"
        ));
    }
    // Read before it is trusted (at most 2 MiB): it names its relay,
    // whose organization the signature must be of.
    let report: FigureReport = serde_json::from_str(&signed.report)
        .map_err(|e| format!("the report does not read: {e}"))?;

    let registry = state.router.registry();
    let relay = &report.relay;
    let shown = congvan_text::line(relay);
    let org = registry
        .relay_organization(relay)
        .ok_or_else(|| format!("the registry names no organization for relay {shown}"))?
        .clone();
    // The certificate must bind the organization the registry gives the
    // relay: that, not the certificate's display name, is who it is.
    crate::relay_signed::check_relay_signed(
        signed.report.as_bytes(),
        &signed.signature,
        &signed.certificates,
        &org,
        &state.peer_trust(),
        now,
    )
    .map_err(|e| format!("the report of relay {shown}: {e}"))?;
    if relay == &state.config.name {
        return Err("the report is this relay's own".into());
    }
    if !org.is_within(child) {
        return Err(format!(
            "relay {shown} ({org}) is not below the child relay {child} that brought its report"
        ));
    }
    if report.generated_at > unix_ms(now) + SKEW_MS {
        return Err("the report is dated in the future".into());
    }
    if report.generated_at < unix_ms(now) - MAX_AGE_MS {
        return Err("the report is more than two days old".into());
    }
    if report.days.len() > MAX_DAYS || report.overdue.len() > MAX_DAYS {
        return Err("the report is larger than any relay's figures".into());
    }
    let speaks_for = |office: &str| -> Result<(), String> {
        let code = OrgId::parse(office).map_err(|e| {
            format!(
                "{} is not an organization id: {e}",
                congvan_text::line(office)
            )
        })?;
        if registry.serving_relay(&code) != Some(relay.as_str()) {
            return Err(format!(
                "relay {shown} gives figures for {code}, which it does not serve"
            ));
        }
        Ok(())
    };
    // The days a report may cover: its seven, a day of clock skew each way.
    let generated =
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(report.generated_at) * 1_000_000)
            .map_err(|_| "the report's time is out of range".to_string())?
            .to_offset(VIETNAM)
            .date();
    let (first, last) = (
        (generated - time::Duration::days(REPORT_DAYS)).to_string(),
        (generated + time::Duration::days(1)).to_string(),
    );
    let mut seen = std::collections::BTreeSet::new();
    for day in &report.days {
        speaks_for(&day.office)?;
        check_day(&day.day)?;
        if day.day < first || day.day > last {
            return Err(format!(
                "figures for {}, outside the report's seven days",
                day.day
            ));
        }
        if !seen.insert((day.office.as_str(), day.day.as_str())) {
            return Err(format!("{} {} appears twice", day.office, day.day));
        }
        day.check()?;
    }
    let mut per_office = std::collections::BTreeMap::<&str, usize>::new();
    for item in &report.overdue {
        speaks_for(&item.office)?;
        item.check()?;
        let n = per_office.entry(item.office.as_str()).or_default();
        *n += 1;
        if *n > crate::figures::MAX_OVERDUE {
            return Err(format!(
                "more than {} overdue dispatches for {}",
                crate::figures::MAX_OVERDUE,
                item.office
            ));
        }
    }
    Ok(report)
}

fn check_day(text: &str) -> Result<(), String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &format)
        .map(|_| ())
        .map_err(|_| format!("{} is not a day (YYYY-MM-DD)", congvan_text::line(text)))
}

/// `POST /v1/figures` from a child relay: each report is checked and kept
/// when it is newer than the one held from its relay; one refused report
/// never fails the others.
pub async fn receive(
    state: &Arc<RelayState>,
    caller: &Caller,
    upload: FiguresUpload,
) -> Result<Vec<FiguresOutcome>, Refusal> {
    let Caller::Relay { org: child, .. } = caller else {
        return Err(Refusal::new(403, "only a child relay sends figures"));
    };
    if !state.config.children.iter().any(|c| &c.org == child) {
        return Err(Refusal::new(
            403,
            format!("relay {child} is not a child of this relay"),
        ));
    }
    if upload.reports.len() > UPLOAD_REPORTS {
        return Err(Refusal::new(
            413,
            format!("more than {UPLOAD_REPORTS} reports in one upload"),
        ));
    }
    let now = OffsetDateTime::now_utc();
    let mut outcomes = Vec::new();
    for signed in upload.reports {
        let checked = {
            let state = state.clone();
            let child = child.clone();
            let signed = signed.clone();
            tokio::task::spawn_blocking(move || check(&signed, &state, &child, now))
                .await
                .map_err(|e| Refusal::new(500, format!("the check failed: {e}")))?
        };
        let report = match checked {
            Ok(report) => report,
            Err(reason) => {
                tracing::warn!(child = %child, reason = %congvan_text::line(&reason), "refused a figures report");
                outcomes.push(FiguresOutcome {
                    relay: None,
                    outcome: "refused".into(),
                    reason: Some(reason),
                });
                continue;
            }
        };
        let text = serde_json::to_string(&signed).map_err(|e| Refusal::new(500, e.to_string()))?;
        let (relay, generated_at, received_at) =
            (report.relay.clone(), report.generated_at, unix_ms(now));
        let stored = state
            .writer
            .write(move |txn| {
                let changed = txn.execute(
                    "INSERT INTO figure_reports (relay, generated_at, received_at, signed) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (relay) DO UPDATE SET generated_at = excluded.generated_at,
                         received_at = excluded.received_at, signed = excluded.signed
                     WHERE excluded.generated_at > figure_reports.generated_at",
                    params![relay, generated_at, received_at, text],
                )?;
                Ok(changed > 0)
            })
            .await?;
        outcomes.push(FiguresOutcome {
            relay: Some(report.relay),
            outcome: if stored { "stored" } else { "older" }.into(),
            reason: None,
        });
    }
    Ok(outcomes)
}

/// The reports held from relays below, read back (each was checked when
/// it came). One that no longer reads is left out, with a warning.
pub fn reports_below(
    state: &RelayState,
) -> Result<Vec<(crate::store::StoredReport, FigureReport)>, Error> {
    let mut out = Vec::new();
    for stored in state.store.figure_reports()? {
        let report = serde_json::from_str::<SignedFigures>(&stored.signed)
            .map_err(|e| e.to_string())
            .and_then(|s| {
                serde_json::from_str::<FigureReport>(&s.report).map_err(|e| e.to_string())
            });
        match report {
            Ok(report) => out.push((stored, report)),
            Err(e) => {
                tracing::warn!(relay = %congvan_text::line(&stored.relay), error = %e, "a stored figures report does not read")
            }
        }
    }
    Ok(out)
}

/// Sends this relay's report and those it holds from below to the parent,
/// every `interval`, until shutdown. A parent that cannot be reached is
/// tried again at the next interval: figures are a summary, recomputed
/// each time, so nothing is lost by waiting.
pub async fn uploader(
    state: Arc<RelayState>,
    client: RelayClient,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        if let Err(e) = upload_once(&state, &client).await {
            tracing::info!(parent = client.url(), error = %congvan_text::line(&e.to_string()), "figures not sent; will try again");
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Splits reports into uploads: the first alone, then at most
/// [`UPLOAD_REPORTS`] reports and `UPLOAD_BYTES` each (a report over
/// [`MAX_REPORT_BYTES`] is not sent: the parent would refuse it).
fn batches(reports: Vec<SignedFigures>) -> Vec<Vec<SignedFigures>> {
    let mut out = Vec::new();
    let mut current: Vec<SignedFigures> = Vec::new();
    let mut size = 0;
    for (i, report) in reports.into_iter().enumerate() {
        if report.report.len() > MAX_REPORT_BYTES {
            tracing::warn!(
                bytes = report.report.len(),
                "a figures report is too large to send up; left out"
            );
            continue;
        }
        let bytes = report.report.len()
            + report.signature.len()
            + report.certificates.iter().map(String::len).sum::<usize>();
        if !current.is_empty() && (current.len() >= UPLOAD_REPORTS || size + bytes > UPLOAD_BYTES) {
            out.push(std::mem::take(&mut current));
            size = 0;
        }
        current.push(report);
        size += bytes;
        if i == 0 {
            out.push(std::mem::take(&mut current));
            size = 0;
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// One round of [`uploader`].
pub async fn upload_once(state: &Arc<RelayState>, client: &RelayClient) -> Result<(), Error> {
    let reports = {
        let state = state.clone();
        tokio::task::spawn_blocking(move || -> Result<Vec<SignedFigures>, Error> {
            let mut reports = vec![own_report(&state, OffsetDateTime::now_utc())?];
            for stored in state.store.figure_reports()? {
                match serde_json::from_str(&stored.signed) {
                    Ok(signed) => reports.push(signed),
                    Err(e) => tracing::warn!(relay = %congvan_text::line(&stored.relay), error = %e, "a stored figures report does not read"),
                }
            }
            Ok(reports)
        })
        .await
        .map_err(|_| Error::ShuttingDown)??
    };
    // Its own report first and alone: a report from below that the parent
    // refuses whole never keeps this relay's figures from going up.
    let mut failed = None;
    for batch in batches(reports) {
        match client.send_figures(&FiguresUpload { reports: batch }).await {
            Ok(outcomes) => {
                for o in outcomes.iter().filter(|o| o.outcome == "refused") {
                    tracing::warn!(parent = client.url(), reason = %congvan_text::line(o.reason.as_deref().unwrap_or("")), "the parent refused a figures report");
                }
            }
            Err(e) => failed = Some(e),
        }
    }
    if let Some(e) = failed {
        return Err(e);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(bytes: usize) -> SignedFigures {
        SignedFigures {
            report: "x".repeat(bytes),
            signature: String::new(),
            certificates: Vec::new(),
        }
    }

    #[test]
    fn the_own_report_goes_alone_and_large_ones_split_the_rest() {
        let mut reports = vec![signed(10)];
        reports.extend((0..40).map(|_| signed(10)));
        reports.push(signed(MAX_REPORT_BYTES + 1));
        reports.extend((0..4).map(|_| signed(MAX_REPORT_BYTES)));
        let sizes: Vec<usize> = batches(reports).iter().map(Vec::len).collect();
        // Own alone; then at most 32 reports and 6 MiB per upload (the
        // oversized one left out): 32 small; 8 small and two large; two large.
        assert_eq!(sizes, [1, 32, 10, 2]);
    }
}
