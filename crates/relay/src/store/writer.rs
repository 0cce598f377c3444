//! The single writer thread and its group commit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

use rusqlite::{Connection, Transaction};
use tokio::sync::oneshot;

use crate::Error;

type Job = Box<dyn FnOnce(&Transaction<'_>) -> Box<dyn FnOnce(bool) + Send> + Send>;

/// Sends writes to the writer thread, which commits them in batches.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
    stats: Arc<Stats>,
}

/// How well group commit batches: writes run and transactions committed.
#[derive(Debug, Default)]
struct Stats {
    writes: AtomicU64,
    commits: AtomicU64,
}

impl Writer {
    pub(crate) fn start(mut conn: Connection, batch_max: usize) -> Result<Writer, Error> {
        let (jobs, rx) = mpsc::channel::<Job>();
        let stats = Arc::new(Stats::default());
        let counted = stats.clone();
        std::thread::Builder::new()
            .name("congvan-store-writer".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    while batch.len() < batch_max {
                        match rx.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    let size = batch.len() as u64;
                    if commit_batch(&mut conn, batch) {
                        counted.writes.fetch_add(size, Ordering::Relaxed);
                        counted.commits.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
            .map_err(|e| Error::io("writer thread", e))?;
        Ok(Writer { jobs, stats })
    }

    /// Writes committed and transactions (each one fsync of the WAL) that
    /// committed them, since start: their ratio is the mean batch size.
    pub fn committed(&self) -> (u64, u64) {
        (
            self.stats.writes.load(Ordering::Relaxed),
            self.stats.commits.load(Ordering::Relaxed),
        )
    }

    /// Runs `work` inside the next batch transaction and returns its result
    /// once that transaction is committed (durable). A failing `work` is
    /// rolled back on its own savepoint; other work in the batch commits.
    pub async fn write<T, F>(&self, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, Error> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<T, Error>>();
        let job: Job = Box::new(move |txn: &Transaction<'_>| {
            let outcome = run_in_savepoint(txn, work);
            Box::new(move |committed: bool| {
                let result = match (committed, outcome) {
                    (true, outcome) => outcome,
                    (false, _) => Err(Error::CommitFailed),
                };
                // The caller may have gone away (client disconnected): the
                // write stands regardless, which is what at-least-once needs.
                if tx.send(result).is_err() {
                    tracing::debug!("a store write finished after its caller left");
                }
            })
        });
        self.jobs.send(job).map_err(|_| Error::ShuttingDown)?;
        rx.await.map_err(|_| Error::ShuttingDown)?
    }
}

fn run_in_savepoint<T>(
    txn: &Transaction<'_>,
    work: impl FnOnce(&Transaction<'_>) -> Result<T, Error>,
) -> Result<T, Error> {
    // Prepared once per connection: every write of every batch runs these.
    txn.prepare_cached("SAVEPOINT job")?.execute([])?;
    match work(txn) {
        Ok(value) => {
            txn.prepare_cached("RELEASE job")?.execute([])?;
            Ok(value)
        }
        Err(e) => {
            txn.execute_batch("ROLLBACK TO job; RELEASE job")?;
            Err(e)
        }
    }
}

/// How many busy timeouts a batch waits for the database's write lock.
const BEGIN_ATTEMPTS: u32 = 10;

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy)
    )
}

/// Runs and commits one batch; true when it committed.
fn commit_batch(conn: &mut Connection, batch: Vec<Job>) -> bool {
    // IMMEDIATE: the write lock is taken at BEGIN, where SQLite waits for
    // it (busy_timeout). A deferred transaction that reads first and then
    // writes asks for the lock mid-way, and SQLite answers that upgrade
    // with SQLITE_BUSY ("database is locked") at once, without waiting,
    // whenever its snapshot is no longer the newest.
    // Another process holding the database (an operator's sqlite3 shell)
    // makes BEGIN wait the busy timeout (30 s); the batch then waits again
    // rather than fail its writers.
    let mut attempt = 0;
    let txn = loop {
        match conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate) {
            Ok(txn) => break txn,
            Err(e) if attempt < BEGIN_ATTEMPTS && is_busy(&e) => {
                attempt += 1;
                tracing::warn!(error = %e, attempt, "the relay store is held by another process; waiting");
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot start a store transaction");
                return false;
            }
        }
    };
    let finishers: Vec<_> = batch.into_iter().map(|job| job(&txn)).collect();
    let committed = match txn.commit() {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = %e, "store commit failed");
            false
        }
    };
    for finish in finishers {
        finish(committed);
    }
    committed
}
