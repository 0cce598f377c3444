//! The JSON bodies of the relay's HTTP API, shared by server and client.

use congvan_envelope::Jws;
use serde::{Deserialize, Serialize};

/// The answer to a dispatch upload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    /// The dispatch id.
    pub id: String,
    /// `accepted` (new and durable) or `duplicate` (already held).
    pub status: String,
}

/// A receipt travelling back towards the office that sent a dispatch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptMessage {
    /// The office it is for: the dispatch's sender.
    pub dest: String,
    /// The signed receipt.
    pub receipt: Jws,
}

/// A status sent by a recipient office about a dispatch in its inbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// The signed status receipt.
    pub receipt: Jws,
}

/// An error answer: what went wrong, in words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// The reason.
    pub error: String,
}

/// HTTP header naming what a pulled item is (`dispatch` or `receipt`).
pub const PULL_KIND_HEADER: &str = "x-congvan-kind";
/// HTTP header carrying a pulled item's queue position, to confirm it.
pub const PULL_SEQ_HEADER: &str = "x-congvan-seq";
/// HTTP header carrying the queue positions of a pulled batch (kind
/// `batch`), comma-separated, in the order of its items.
pub const PULL_SEQS_HEADER: &str = "x-congvan-seqs";

/// `POST /v1/pull/outcomes`: what a pulling child did with the items of a
/// batch it took, in one request (each as `/v1/pull/{seq}/done` or
/// `/refused` would say). An item the child could not take for now is
/// left out: its lease runs out and it is offered again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullOutcomes {
    /// The items' outcomes.
    pub items: Vec<PullOutcome>,
}

/// What became of one pulled item at the child.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullOutcome {
    /// Its queue position at the parent.
    pub seq: i64,
    /// Why the child refused it for good; none when it is durable there.
    pub refused: Option<String>,
}

/// `POST /v1/figures`: signed figures reports going up the tree
/// (`figure_reports.rs`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FiguresUpload {
    /// The sending relay's own report and those it holds from below.
    pub reports: Vec<crate::figure_reports::SignedFigures>,
}

/// What the parent did with one report of a [`FiguresUpload`], in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FiguresOutcome {
    /// The report's relay, when the report could be read.
    pub relay: Option<String>,
    /// `stored`, `older` (a newer one is held) or `refused`.
    pub outcome: String,
    /// Why it was refused.
    pub reason: Option<String>,
}
