//! E-mail notices: queued in the store with the write that causes them
//! (so each is queued exactly once, whatever restarts), and sent by a
//! worker that never holds up dispatch traffic.

use std::sync::Arc;
use std::time::Duration;

use congvan_envelope::{Statement, StatusCode};
use congvan_notify::{DispatchSummary, Mailer, Notice, Period};
use rusqlite::{params, OptionalExtension, Transaction};
use time::{OffsetDateTime, UtcOffset};
use tokio::sync::watch;

use crate::ingest::{unix_ms, ReceiptRow};
use crate::state::RelayState;
use crate::Error;

/// Vietnam time, for due dates and digest days.
pub const VIETNAM: UtcOffset = match UtcOffset::from_hms(7, 0, 0) {
    Ok(offset) => offset,
    Err(_) => UtcOffset::UTC,
};

/// What a receipt arriving at the sender's relay should tell its clerks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailHint {
    /// A recipient rejected the dispatch (status 02).
    Rejected {
        /// The recipient.
        by: String,
        /// Its reason.
        note: Option<String>,
    },
    /// A relay gave up delivering it.
    Expired {
        /// Recipients not reached.
        undelivered: Vec<String>,
        /// Why.
        reason: String,
    },
}

impl MailHint {
    /// The notice a statement calls for, when mail is on.
    pub fn for_statement(statement: &Statement, mail_on: bool) -> Option<MailHint> {
        if !mail_on {
            return None;
        }
        match statement {
            Statement::Status {
                code: StatusCode::Rejected,
                by,
                note,
                ..
            } => Some(MailHint::Rejected {
                by: by.to_string(),
                note: note.clone(),
            }),
            Statement::NonDelivery {
                undelivered,
                reason,
                ..
            } => Some(MailHint::Expired {
                undelivered: undelivered.iter().map(|o| o.to_string()).collect(),
                reason: reason.clone(),
            }),
            _ => None,
        }
    }
}

fn summary_in(txn: &Transaction<'_>, id: &str) -> Result<Option<DispatchSummary>, Error> {
    Ok(txn
        .query_row(
            "SELECT number, subject, sender, sender_name, urgency, secret, due FROM dispatches WHERE id = ?1",
            params![id],
            |r| {
                let sender: String = r.get(2)?;
                let sender_name: String = r.get(3)?;
                Ok(DispatchSummary {
                    id: id.to_string(),
                    number: r.get(0)?,
                    subject: r.get(1)?,
                    sender: if sender_name.is_empty() { sender } else { format!("{sender_name} ({sender})") },
                    urgency: r.get(4)?,
                    secret: r.get(5)?,
                    due: r.get(6)?,
                })
            },
        )
        .optional()?)
}

fn queue(
    txn: &Transaction<'_>,
    dedup: &str,
    office: &str,
    notice: &Notice,
    now_ms: i64,
) -> Result<(), Error> {
    let json = serde_json::to_string(notice).map_err(|e| Error::Protocol {
        url: "mail".into(),
        problem: e.to_string(),
    })?;
    txn.execute(
        "INSERT OR IGNORE INTO mail_outbox (dedup, office, notice, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![dedup, office, json, now_ms],
    )?;
    Ok(())
}

/// Queues the arrival notice for a dispatch put in `office`'s inbox.
pub(crate) fn queue_arrival(
    txn: &Transaction<'_>,
    id: &str,
    office: &str,
    now_ms: i64,
) -> Result<(), Error> {
    let Some(dispatch) = summary_in(txn, id)? else {
        return Ok(());
    };
    queue(
        txn,
        &format!("arrival:{id}:{office}"),
        office,
        &Notice::Arrival { dispatch },
        now_ms,
    )
}

/// Queues the notice a receipt arriving at the sender's relay calls for.
pub(crate) fn queue_event_notice(
    txn: &Transaction<'_>,
    row: &ReceiptRow,
    hint: &MailHint,
) -> Result<(), Error> {
    let Some(dispatch) = summary_in(txn, &row.dispatch_id)? else {
        return Ok(());
    };
    let notice = match hint.clone() {
        MailHint::Rejected { by, note } => Notice::Rejected { dispatch, by, note },
        MailHint::Expired {
            undelivered,
            reason,
        } => Notice::Expired {
            dispatch,
            undelivered,
            reason,
        },
    };
    queue(
        txn,
        &format!("event:{}", row.digest),
        &row.dest.to_string(),
        &notice,
        row.now_ms,
    )
}

/// Sends queued notices; retries while the SMTP server is down.
pub async fn mail_worker(
    state: Arc<RelayState>,
    mailer: Mailer,
    mut shutdown: watch::Receiver<bool>,
) {
    let Some(config) = state.config.mail.clone() else {
        return;
    };
    let retry = Duration::from_secs(config.retry_secs.max(1));
    loop {
        let mut failed = false;
        match state.store.unsent_mail(50) {
            Ok(batch) => {
                for (id, office, notice_json) in batch {
                    let outcome = send_one(&mailer, config.addresses(&office), &notice_json).await;
                    let now = unix_ms(OffsetDateTime::now_utc());
                    let (sent, error) = match &outcome {
                        Ok(true) => (Some(now), None),
                        Ok(false) => (
                            Some(now),
                            Some("no addresses configured for this office".to_string()),
                        ),
                        Err(e) => (None, Some(e.to_string())),
                    };
                    if sent.is_none() {
                        failed = true;
                        tracing::info!(
                            office,
                            error = error.as_deref().unwrap_or(""),
                            "mail not sent; will retry"
                        );
                    }
                    let recorded = state
                        .writer
                        .write(move |txn| {
                            txn.execute(
                                "UPDATE mail_outbox SET sent_at = ?1, last_error = ?2, attempts = attempts + 1 WHERE id = ?3",
                                params![sent, error, id],
                            )?;
                            Ok(())
                        })
                        .await;
                    if let Err(e) = recorded {
                        tracing::error!(error = %e, "cannot record a mail attempt");
                    }
                    if failed {
                        break;
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot read the mail queue"),
        }
        let pause = if failed {
            retry
        } else {
            Duration::from_millis(500)
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Sends one queued notice; `Ok(false)` when the office has no addresses.
async fn send_one(
    mailer: &Mailer,
    to: &[String],
    notice_json: &str,
) -> Result<bool, congvan_notify::Error> {
    if to.is_empty() {
        return Ok(false);
    }
    let notice: Notice = serde_json::from_str(notice_json)
        .map_err(|e| congvan_notify::Error::Compose(e.to_string()))?;
    let (subject, body) = notice.render();
    mailer.send(to, &subject, &body).await?;
    Ok(true)
}

/// Queues overdue notices and the daily and weekly digests.
pub async fn scheduler(state: Arc<RelayState>, mut shutdown: watch::Receiver<bool>) {
    let Some(config) = state.config.mail.clone() else {
        return;
    };
    loop {
        let now = OffsetDateTime::now_utc();
        if let Err(e) = queue_overdue(&state, now).await {
            tracing::error!(error = %e, "cannot check overdue dispatches");
        }
        let local = now.to_offset(VIETNAM);
        if local.hour() == config.digest_hour {
            let yesterday = local.date().previous_day().unwrap_or(local.date());
            let mut periods = vec![Period::Day];
            if local.weekday() == time::Weekday::Monday {
                periods.push(Period::Week);
            }
            for office in config.offices.keys() {
                for period in &periods {
                    if let Err(e) = queue_digest(&state, office, *period, yesterday).await {
                        tracing::error!(office, error = %e, "cannot queue a digest");
                    }
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(config.check_secs.max(1))) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Queues (once) an overdue notice for every dispatch sent by an office
/// served here that is past its due date without completion from every
/// recipient.
pub async fn queue_overdue(state: &Arc<RelayState>, now: OffsetDateTime) -> Result<(), Error> {
    let today = now.to_offset(VIETNAM).date().to_string();
    for (id, sender, pending) in state.store.overdue_sent(&today)? {
        let Ok(org) = congvan_org::OrgId::parse(&sender) else {
            continue;
        };
        if !state.router.serves(&org) {
            continue;
        }
        let now_ms = unix_ms(now);
        state
            .writer
            .write(move |txn| {
                let Some(dispatch) = summary_in(txn, &id)? else {
                    return Ok(());
                };
                queue(
                    txn,
                    &format!("overdue:{id}"),
                    &sender,
                    &Notice::Overdue { dispatch, pending },
                    now_ms,
                )
            })
            .await?;
    }
    Ok(())
}

/// The leaders' dashboard of `office`'s web workplace, which the digest
/// links to: the relay's `[web] public_url`, else the registry's page for
/// the office's relay (`[[relay]] verify_url`). `None` when neither is set.
pub fn dashboard_url(
    config: &crate::RelayConfig,
    registry: &congvan_org::Registry,
    office: &str,
) -> Option<String> {
    let base = config
        .web
        .as_ref()
        .and_then(|w| w.public_url.clone())
        .or_else(|| {
            let code = congvan_org::OrgId::parse(office).ok()?;
            registry.verify_url(&code).map(str::to_string)
        })?;
    Some(format!("{}/dashboard", base.trim_end_matches('/')))
}

/// Queues (once per office, period and day) a digest e-mail.
pub async fn queue_digest(
    state: &Arc<RelayState>,
    office: &str,
    period: Period,
    day: time::Date,
) -> Result<(), Error> {
    let name = congvan_org::OrgId::parse(office)
        .ok()
        .and_then(|o| state.registry().get(&o).map(|x| x.name.clone()))
        .unwrap_or_else(|| office.to_string());
    let mut digest = state.store.digest(office, &name, period, day)?;
    digest.dashboard = dashboard_url(&state.config, state.registry(), office);
    let (subject, body) = digest.render();
    let dedup = format!("digest:{period:?}:{office}:{day}");
    let office = office.to_string();
    let now_ms = unix_ms(OffsetDateTime::now_utc());
    state
        .writer
        .write(move |txn| {
            queue(
                txn,
                &dedup,
                &office,
                &Notice::Digest { subject, body },
                now_ms,
            )
        })
        .await
}
