//! Where a dispatch is, recipient by recipient, as its sender's relay knows.
//!
//! The timeline (`track`) lists receipts in time order; with several
//! recipients a clerk cannot tell from it which office has the dispatch and
//! which does not. This view answers that per recipient, from what the
//! sender's relay holds: its own routing state, its queue, and the signed
//! receipts that came back (verified when they arrived).

use crate::folder_gateway::EDXML_ROUTE;
use congvan_envelope::{parse_receipt, Jws, Statement};
use congvan_org::OrgId;
use serde::{Deserialize, Serialize};

use crate::state::RelayState;
use crate::Error;

/// Where a dispatch stands for one recipient.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientProgress {
    /// The recipient office.
    pub office: String,
    /// `acknowledged` (the office sent a status), `delivered` (in the
    /// office's inbox, no status yet), `in_transit` (handed on, not yet at
    /// the office's relay), `queued` (waiting here for the next hop),
    /// `exported` (an office outside congvan: written out as edXML by this
    /// relay's gateway) or `not_delivered` (refused or expired; `detail`
    /// says why), or `unknown`
    /// (a routing state this build does not know, named in `detail`).
    pub state: String,
    /// The relay that holds it last, by name, when known.
    pub at: Option<String>,
    /// For people: the latest status, the reason of a refusal, the hop
    /// and failed attempts of a queued transfer.
    pub detail: String,
}

/// What the receipts that came back say, read once.
#[derive(Default)]
struct Receipts {
    /// (office, code, time, note) of each status.
    statuses: Vec<(OrgId, String, String, Option<String>)>,
    /// (offices, relay, reason) of each non-delivery notice.
    non_deliveries: Vec<(Vec<OrgId>, OrgId, String)>,
    /// (relay organization, relay name, time) of each custody receipt.
    custody: Vec<(OrgId, String, String)>,
}

impl Receipts {
    fn read(state: &RelayState, id: &str) -> Result<Receipts, Error> {
        let mut out = Receipts::default();
        for event in state.store.events(id)? {
            // Stored receipts were verified at ingress; only their
            // statements are read here.
            let jws: Jws = serde_json::from_str(&event.receipt).map_err(|e| {
                Error::Corrupt(format!(
                    "a stored receipt of dispatch {id} is not JSON: {e}"
                ))
            })?;
            let (_, _, statement, _) = parse_receipt(&jws, "receipt")?;
            match statement {
                Statement::Status {
                    code,
                    by,
                    time,
                    note,
                    ..
                } => out.statuses.push((by, code.code().to_string(), time, note)),
                Statement::NonDelivery {
                    undelivered,
                    relay,
                    reason,
                    ..
                } => out.non_deliveries.push((undelivered, relay, reason)),
                Statement::Custody {
                    relay,
                    relay_name,
                    time,
                    ..
                } => out.custody.push((relay, relay_name, time)),
                // The issuer's own notice: no recipient's progress.
                Statement::Superseded { .. } => {}
            }
        }
        Ok(out)
    }
}

/// The progress of every recipient of dispatch `id`, sent by `sender`, in
/// office order.
pub fn recipient_progress(
    state: &RelayState,
    id: &str,
    sender: &OrgId,
) -> Result<Vec<RecipientProgress>, Error> {
    let receipts = Receipts::read(state, id)?;
    let registry = state.router.registry();
    let mut out = Vec::new();
    for (office, route, here) in state.store.recipient_routes(id)? {
        let org = OrgId::parse(&office)?;
        let progress = |state: &str, at: Option<String>, detail: String| RecipientProgress {
            office: office.clone(),
            state: state.to_string(),
            at,
            detail,
        };
        let serving = registry.serving_relay(&org).map(str::to_string);
        let latest_status = receipts
            .statuses
            .iter()
            .filter(|(by, ..)| *by == org)
            .max_by(|a, b| a.2.cmp(&b.2));
        let refused = receipts
            .non_deliveries
            .iter()
            .find(|(offices, ..)| offices.contains(&org));
        out.push(if let Some((_, code, time, note)) = latest_status {
            let note = note
                .as_deref()
                .map(|n| format!(": {n}"))
                .unwrap_or_default();
            progress(
                "acknowledged",
                serving,
                format!("status {code} at {time}{note}"),
            )
        } else if let Some((_, relay, reason)) = refused {
            progress(
                "not_delivered",
                None,
                format!("relay {relay} gave up: {reason}"),
            )
        } else {
            match here.as_str() {
                "delivered" => progress(
                    "delivered",
                    Some(state.config.name.clone()),
                    "in its inbox at this relay; no status yet".into(),
                ),
                "exported" => progress(
                    "exported",
                    Some(state.config.name.clone()),
                    "outside congvan: handed to the edXML gateway's outbox for the national \
                     exchange"
                        .into(),
                ),
                "expired" => progress(
                    "not_delivered",
                    Some(state.config.name.clone()),
                    format!("expired here before {route} took it"),
                ),
                "queued" if route == EDXML_ROUTE => progress(
                    "queued",
                    Some(state.config.name.clone()),
                    "outside congvan: waiting for the edXML gateway to write it out".into(),
                ),
                "queued" => {
                    let detail = match state.hop_health.trouble(&route) {
                        Some(down) => format!(
                            "waiting here for {route}, which has not answered since {} \
                             ({} tries); this relay keeps trying",
                            down.since, down.tries
                        ),
                        None => {
                            let attempts = state.store.queued_attempts(id, &route)?.unwrap_or(0);
                            format!("waiting here for {route}; {attempts} failed attempt(s) so far")
                        }
                    };
                    progress("queued", Some(state.config.name.clone()), detail)
                }
                other if other != "forwarded" => progress(
                    "unknown",
                    Some(state.config.name.clone()),
                    format!("this relay records it as {other:?}, which this build does not know"),
                ),
                _ => {
                    // Handed on: the latest custody receipt from a relay on
                    // the way to this office (above the sender on the way
                    // up, above the office on the way down) says how far
                    // it got.
                    let on_the_way = receipts
                        .custody
                        .iter()
                        .filter(|(relay_org, ..)| {
                            org.is_within(relay_org) || sender.is_within(relay_org)
                        })
                        .max_by(|a, b| a.2.cmp(&b.2));
                    match on_the_way {
                        Some((_, name, time)) if Some(name) == serving.as_ref() => progress(
                            "delivered",
                            Some(name.clone()),
                            format!("in its inbox at {name} since {time}; no status yet"),
                        ),
                        Some((_, name, time)) => progress(
                            "in_transit",
                            Some(name.clone()),
                            format!("taken by {name} at {time}; not yet at its relay"),
                        ),
                        None => progress(
                            "in_transit",
                            Some(route.clone()),
                            format!("handed to {route}; no receipt from it yet"),
                        ),
                    }
                }
            }
        });
    }
    Ok(out)
}
