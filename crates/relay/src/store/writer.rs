//! The single writer thread and its group commit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

use rusqlite::{Connection, Transaction};
use tokio::sync::oneshot;

use crate::Error;

type Work = Box<dyn FnOnce(&Transaction<'_>) -> Box<dyn FnOnce(bool) + Send> + Send>;

/// One write for the next batch.
struct Job {
    work: Work,
    /// Whether its caller may be told "done" only once it is on disk. A
    /// batch of writes that need not be (bookkeeping that is safe to redo)
    /// commits without an fsync; the next durable commit syncs it too.
    durable: bool,
}

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
                let mut synced = true; // the connection opens with synchronous=FULL
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    while batch.len() < batch_max {
                        match rx.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    let durable = batch.iter().any(|job| job.durable);
                    if durable != synced {
                        let level = if durable { "FULL" } else { "NORMAL" };
                        match conn.pragma_update(None, "synchronous", level) {
                            Ok(()) => synced = durable,
                            // Left at FULL, an unsynced batch is only
                            // more durable than asked; left at NORMAL, a
                            // durable one is rolled back below.
                            Err(e) => {
                                tracing::error!(error = %e, "cannot set the store's sync level")
                            }
                        }
                    }
                    // A durable write is never committed without an fsync.
                    let may_commit = synced || !durable;
                    commit_batch(&mut conn, batch, may_commit, &counted);
                }
            })
            .map_err(|e| Error::io("writer thread", e))?;
        Ok(Writer { jobs, stats })
    }

    /// Writes committed and transactions that committed them, since start:
    /// their ratio is the mean batch size. Each transaction with a durable
    /// write is one fsync of the WAL.
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
        self.submit(work, true).await
    }

    /// Runs `work` as [`Writer::write`] does, and returns once it is
    /// committed, but perhaps not yet on disk: a crash may undo it (it is
    /// made durable by the next durable commit). Only for writes that are
    /// safe to lose and redo, such as marking a transfer done, which a crash
    /// turns into sending it again, answered "duplicate" by the next hop. It
    /// spares the disk an fsync on the delivery path.
    pub async fn write_unsynced<T, F>(&self, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, Error> + Send + 'static,
    {
        self.submit(work, false).await
    }

    async fn submit<T, F>(&self, work: F, durable: bool) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, Error> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<T, Error>>();
        let work: Work = Box::new(move |txn: &Transaction<'_>| {
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
        self.jobs
            .send(Job { work, durable })
            .map_err(|_| Error::ShuttingDown)?;
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

/// Runs and commits one batch, counted in `stats` before its writers hear
/// of it. With `may_commit` false the batch is rolled back and its writers
/// hear that it failed.
fn commit_batch(conn: &mut Connection, batch: Vec<Job>, may_commit: bool, stats: &Stats) {
    let size = batch.len() as u64;
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
                return;
            }
        }
    };
    let finishers: Vec<_> = batch.into_iter().map(|job| (job.work)(&txn)).collect();
    if !may_commit {
        drop(txn); // rolls back
        for finish in finishers {
            finish(false);
        }
        return;
    }
    let committed = match txn.commit() {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = %e, "store commit failed");
            false
        }
    };
    if committed {
        stats.writes.fetch_add(size, Ordering::Relaxed);
        stats.commits.fetch_add(1, Ordering::Relaxed);
    }
    for finish in finishers {
        finish(committed);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The sync level the writer's connection commits at, read inside a
    /// write of the given kind (it runs in that write's batch).
    async fn level_in(writer: &Writer, durable: bool) -> i64 {
        let read = |txn: &Transaction<'_>| {
            txn.execute("INSERT INTO t VALUES (1)", [])?;
            Ok(txn.pragma_query_value(None, "synchronous", |r| r.get::<_, i64>(0))?)
        };
        if durable {
            writer.write(read).await.unwrap()
        } else {
            writer.write_unsynced(read).await.unwrap()
        }
    }

    #[tokio::test]
    async fn a_durable_write_always_commits_with_an_fsync_even_after_an_unsynced_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.sqlite");
        let conn = crate::store::schema::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
        let writer = Writer::start(conn, 16).unwrap();
        const NORMAL: i64 = 1;
        const FULL: i64 = 2;
        assert_eq!(level_in(&writer, true).await, FULL);
        assert_eq!(level_in(&writer, false).await, NORMAL);
        assert_eq!(level_in(&writer, true).await, FULL);
        assert_eq!(level_in(&writer, false).await, NORMAL);
        assert_eq!(level_in(&writer, false).await, NORMAL);
        assert_eq!(level_in(&writer, true).await, FULL);
        // Every write is committed, whichever its kind.
        let reader = Connection::open(&path).unwrap();
        let rows: i64 = reader
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 6);
        assert_eq!(writer.committed(), (6, 6));
    }
}
