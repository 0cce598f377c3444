//! Counters for the `/metrics` endpoint (Prometheus text format).

use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds (seconds) of the hop-latency histogram buckets.
const LATENCY_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0];

/// The relay's counters. Monotonic since start, as Prometheus expects.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Dispatches accepted (new, durable).
    pub accepted: AtomicU64,
    /// Dispatches received again and answered as duplicates.
    pub duplicates: AtomicU64,
    /// Dispatches refused at ingress.
    pub rejected: AtomicU64,
    /// Dispatches put into a local inbox.
    pub delivered: AtomicU64,
    /// Transfers handed to the next hop.
    pub forwarded: AtomicU64,
    /// Transfer attempts that failed and will be retried.
    pub retried: AtomicU64,
    /// Dispatches given up on, with a non-delivery notice.
    pub expired: AtomicU64,
    /// Receipts accepted (custody, status, non-delivery).
    pub receipts: AtomicU64,
    /// Uploads received into a temporary file rather than memory: large
    /// ones, and small ones that found the memory budget for uploads
    /// spent (many of those say the budget is too small, or a flood).
    pub uploads_to_file: AtomicU64,
    /// Batches of small dispatches handed to a peer relay in one request.
    pub batches_sent: AtomicU64,
    /// Batches of small dispatches taken from the parent in one pull.
    pub batches_pulled: AtomicU64,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
}

impl Metrics {
    /// Adds one to a counter.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Records the time a dispatch spent at this hop, from acceptance to hand-over.
    pub fn observe_hop_latency(&self, seconds: f64) {
        for (bound, bucket) in LATENCY_BUCKETS.iter().zip(&self.latency_buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    /// The Prometheus text exposition, with the current queue depth.
    pub fn render(&self, relay: &str, queue_depth: i64, stale_crls: usize) -> String {
        let mut out = String::new();
        let counters = [
            (
                "congvan_dispatches_accepted_total",
                "Dispatches accepted and stored durably.",
                &self.accepted,
            ),
            (
                "congvan_dispatches_duplicate_total",
                "Dispatches received again (idempotent).",
                &self.duplicates,
            ),
            (
                "congvan_dispatches_rejected_total",
                "Dispatches refused at ingress.",
                &self.rejected,
            ),
            (
                "congvan_dispatches_delivered_total",
                "Dispatches delivered to a local inbox.",
                &self.delivered,
            ),
            (
                "congvan_uploads_to_file_total",
                "Uploads received into a temporary file rather than memory.",
                &self.uploads_to_file,
            ),
            (
                "congvan_batches_sent_total",
                "Batches of small dispatches handed to a peer relay in one request.",
                &self.batches_sent,
            ),
            (
                "congvan_batches_pulled_total",
                "Batches of small dispatches taken from the parent in one pull.",
                &self.batches_pulled,
            ),
            (
                "congvan_transfers_forwarded_total",
                "Transfers handed to the next hop.",
                &self.forwarded,
            ),
            (
                "congvan_transfers_retried_total",
                "Transfer attempts that failed and will be retried.",
                &self.retried,
            ),
            (
                "congvan_dispatches_expired_total",
                "Dispatches expired with a non-delivery notice.",
                &self.expired,
            ),
            (
                "congvan_receipts_total",
                "Receipts accepted.",
                &self.receipts,
            ),
        ];
        for (name, help, value) in counters {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name}{{relay=\"{relay}\"}} {}",
                value.load(Ordering::Relaxed)
            ));
            out.push('\n');
        }
        out.push_str(&format!("# HELP congvan_queue_depth Transfers waiting for a next hop.\n# TYPE congvan_queue_depth gauge\ncongvan_queue_depth{{relay=\"{relay}\"}} {queue_depth}"
        ));
        out.push('\n');
        out.push_str(&format!("# HELP congvan_stale_crls CRLs past their nextUpdate: while above 0, dispatches whose revocation they decide are answered 503 (try later) unless crl_stale = \"accept\".\n# TYPE congvan_stale_crls gauge\ncongvan_stale_crls{{relay=\"{relay}\"}} {stale_crls}"
        ));
        out.push('\n');
        let name = "congvan_hop_latency_seconds";
        out.push_str(&format!("# HELP {name} Time from acceptance to hand-over to the next hop.\n# TYPE {name} histogram"
        ));
        out.push('\n');
        for (bound, bucket) in LATENCY_BUCKETS.iter().zip(&self.latency_buckets) {
            out.push_str(&format!(
                "{name}_bucket{{relay=\"{relay}\",le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            ));
            out.push('\n');
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let sum = self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        out.push_str(&format!("{name}_bucket{{relay=\"{relay}\",le=\"+Inf\"}} {count}\n{name}_sum{{relay=\"{relay}\"}} {sum}\n{name}_count{{relay=\"{relay}\"}} {count}"
        ));
        out.push('\n');
        out
    }
}
