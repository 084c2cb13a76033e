//! Group commit: writes from many tasks share one redb write transaction and one fsync.
//!
//! redb runs one write transaction at a time and fsyncs every commit, so ten posts indexed side
//! by side waited on a row of fsyncs, one per write. Here one thread does all the writing: it
//! takes every write waiting, runs them in arrival order in one transaction, commits once, and
//! only then answers each — an answered write is exactly as durable as before. A write that fails
//! is not committed with the others: the group is run again one write per transaction, so it
//! fails alone and the rest still land. A single writer waits for nobody: its transaction starts
//! as soon as the one before it ends.

use redb::{Database, WriteTransaction};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use tokio::sync::oneshot;

/// Most writes in one transaction (bounds the work one commit waits for).
const MAX_GROUP: usize = 128;

#[derive(Debug, thiserror::Error)]
pub enum WriteFailed {
    #[error("commit failed: {0}")]
    Commit(String),
    #[error("the write panicked")]
    Panicked,
    #[error("the writer thread has stopped")]
    Stopped,
}

/// A write waiting for its transaction, type-erased so one channel carries every kind.
trait Pending: Send {
    /// Runs the write in `txn`; false when it failed (then the transaction must not commit).
    fn run(&mut self, txn: &WriteTransaction) -> bool;
    /// Answers the waiting task: the transaction committed (or the write ran alone and
    /// failed, nothing to commit) when `fate` is Ok.
    fn finish(self: Box<Self>, fate: Result<(), String>);
}

struct Request<W, C, T, E, U> {
    work: W,
    committed: C,
    output: Option<Result<T, E>>,
    reply: oneshot::Sender<Result<Result<U, E>, WriteFailed>>,
}

impl<W, C, T, E, U> Pending for Request<W, C, T, E, U>
where
    W: FnMut(&WriteTransaction) -> Result<T, E> + Send,
    C: FnOnce(T) -> U + Send,
    T: Send,
    E: Send,
    U: Send,
{
    fn run(&mut self, txn: &WriteTransaction) -> bool {
        // A panicking write fails alone instead of taking the writer thread with it.
        self.output = std::panic::catch_unwind(AssertUnwindSafe(|| (self.work)(txn))).ok();
        matches!(self.output, Some(Ok(_)))
    }

    fn finish(self: Box<Self>, fate: Result<(), String>) {
        let Request { work, committed, output, reply } = *self;
        drop(work);
        let answer = match (fate, output) {
            (Err(why), _) => Err(WriteFailed::Commit(why)),
            (Ok(()), Some(Ok(value))) => Ok(Ok(committed(value))),
            (Ok(()), Some(Err(e))) => Ok(Err(e)),
            (Ok(()), None) => Err(WriteFailed::Panicked),
        };
        let _ = reply.send(answer);
    }
}

/// How many writes were sent to the writer, how many it took up, and in how many commits (their
/// ratio is the mean group).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommitCounts {
    pub sent: u64,
    pub writes: u64,
    pub commits: u64,
}

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    writes: AtomicU64,
    commits: AtomicU64,
}

/// The writer of one redb database. Cloning shares it; the last clone dropped stops the thread
/// (after the writes already sent) and waits for it, so the file can be opened again at once.
#[derive(Clone)]
pub struct GroupCommit {
    inner: Arc<Writer>,
}

struct Writer {
    counters: Arc<Counters>,
    jobs: Option<mpsc::Sender<Box<dyn Pending>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(thread) = self.thread.take()
            && thread.thread().id() != std::thread::current().id()
        {
            let _ = thread.join();
        }
    }
}

impl GroupCommit {
    /// Starts the writer thread of `db`; every write to `db` must go through it from now on.
    pub fn start(db: Arc<Database>, name: &str) -> std::io::Result<GroupCommit> {
        let (jobs, waiting) = mpsc::channel::<Box<dyn Pending>>();
        let counters = Arc::new(Counters::default());
        let counted = counters.clone();
        let thread = std::thread::Builder::new().name(format!("{name}-writer")).spawn(move || write_forever(&db, waiting, &counted))?;
        Ok(GroupCommit { inner: Arc::new(Writer { counters, jobs: Some(jobs), thread: Some(thread) }) })
    }

    /// Writes answered and commits made so far.
    pub fn counts(&self) -> CommitCounts {
        let counters = &self.inner.counters;
        CommitCounts {
            sent: counters.sent.load(Ordering::Relaxed),
            writes: counters.writes.load(Ordering::Relaxed),
            commits: counters.commits.load(Ordering::Relaxed),
        }
    }

    /// Runs `work` in a write transaction shared with whatever other writes are waiting, and
    /// returns its result once that transaction is durable. `work` may run more than once (its
    /// group is retried one write at a time when another write of it fails), each time in a
    /// fresh transaction: it must only read and write through `txn`.
    pub async fn write<T, E, W>(&self, work: W) -> Result<Result<T, E>, WriteFailed>
    where
        W: FnMut(&WriteTransaction) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        self.write_then(work, |value| value).await
    }

    /// `write`, then `committed` on the writer thread right after the commit — so what it does
    /// (an in-memory copy of the table brought up to date) happens in commit order.
    pub async fn write_then<T, E, U, W, C>(&self, work: W, committed: C) -> Result<Result<U, E>, WriteFailed>
    where
        W: FnMut(&WriteTransaction) -> Result<T, E> + Send + 'static,
        C: FnOnce(T) -> U + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
        U: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let request: Box<dyn Pending> = Box::new(Request { work, committed, output: None, reply });
        self.inner.jobs.as_ref().ok_or(WriteFailed::Stopped)?.send(request).map_err(|_| WriteFailed::Stopped)?;
        self.inner.counters.sent.fetch_add(1, Ordering::Relaxed);
        answer.await.map_err(|_| WriteFailed::Stopped)?
    }
}

fn write_forever(db: &Database, waiting: mpsc::Receiver<Box<dyn Pending>>, counters: &Counters) {
    while let Ok(first) = waiting.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP
            && let Ok(next) = waiting.try_recv()
        {
            group.push(next);
        }
        // A panic in a `committed` step drops the replies still unsent (their writers learn
        // `Stopped`); the thread goes on with the next group.
        counters.writes.fetch_add(group.len() as u64, Ordering::Relaxed);
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| commit_group(db, group, counters)));
    }
}

fn commit_group(db: &Database, mut group: Vec<Box<dyn Pending>>, counters: &Counters) {
    if group.len() > 1 {
        match run_together(db, &mut group, counters) {
            Ok(true) => {
                for write in group {
                    write.finish(Ok(()));
                }
                return;
            }
            Ok(false) => {} // one write failed: every write alone, below
            Err(why) => {
                for write in group {
                    write.finish(Err(why.clone()));
                }
                return;
            }
        }
    }
    for mut write in group {
        match db.begin_write() {
            Err(e) => write.finish(Err(e.to_string())),
            Ok(txn) => {
                if write.run(&txn) {
                    counters.commits.fetch_add(1, Ordering::Relaxed);
                    let fate = txn.commit().map_err(|e| e.to_string());
                    write.finish(fate);
                } else {
                    let _ = txn.abort();
                    write.finish(Ok(()));
                }
            }
        }
    }
}

/// Runs every write of `group` in one transaction: committed (true), or aborted because one
/// failed (false).
fn run_together(db: &Database, group: &mut [Box<dyn Pending>], counters: &Counters) -> Result<bool, String> {
    let txn = db.begin_write().map_err(|e| e.to_string())?;
    for write in group.iter_mut() {
        if !write.run(&txn) {
            let _ = txn.abort();
            return Ok(false);
        }
    }
    counters.commits.fetch_add(1, Ordering::Relaxed);
    txn.commit().map_err(|e| e.to_string())?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::{ReadableDatabase, ReadableTable, TableDefinition};

    const T: TableDefinition<u64, u64> = TableDefinition::new("t");

    fn open() -> (tempfile::TempDir, Arc<Database>, GroupCommit) {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Database::create(dir.path().join("g.redb")).unwrap());
        let writer = GroupCommit::start(db.clone(), "test").unwrap();
        (dir, db, writer)
    }

    fn put(key: u64, value: u64) -> impl FnMut(&WriteTransaction) -> Result<(), String> + Send + 'static {
        move |txn| {
            let mut t = txn.open_table(T).map_err(|e| e.to_string())?;
            t.insert(key, value).map_err(|e| e.to_string())?;
            Ok(())
        }
    }

    fn read(db: &Database, key: u64) -> Option<u64> {
        let txn = db.begin_read().unwrap();
        let table = txn.open_table(T).ok()?;
        table.get(key).unwrap().map(|v| v.value())
    }

    /// Holds the writer in a write of its own until `n` more writes are waiting, so those form
    /// one group; returns the held write's task.
    async fn hold_until_waiting(writer: &GroupCommit, n: u64) -> tokio::task::JoinHandle<()> {
        let before = writer.counts().sent;
        let (release, held) = std::sync::mpsc::channel::<()>();
        let held = std::sync::Mutex::new(held);
        let holder = writer.clone();
        let task = tokio::spawn(async move {
            holder
                .write(move |_: &WriteTransaction| {
                    let _ = held.lock().unwrap().recv();
                    Ok::<(), String>(())
                })
                .await
                .unwrap()
                .unwrap()
        });
        let writer = writer.clone();
        tokio::spawn(async move {
            while writer.counts().sent < before + 1 + n {
                tokio::task::yield_now().await;
            }
            release.send(()).unwrap();
        });
        task
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_sent_together_share_one_commit_and_each_is_answered_after_it() {
        let (_dir, db, writer) = open();
        let held = hold_until_waiting(&writer, 200).await;
        let writes: Vec<_> = (0..200u64)
            .map(|k| {
                let (writer, db) = (writer.clone(), db.clone());
                tokio::spawn(async move {
                    writer.write(put(k, k * 10)).await.unwrap().unwrap();
                    // Answered means committed: a fresh read transaction sees it.
                    assert_eq!(read(&db, k), Some(k * 10));
                })
            })
            .collect();
        for w in writes {
            w.await.unwrap();
        }
        held.await.unwrap();
        let counts = writer.counts();
        assert_eq!((counts.sent, counts.writes), (201, 201));
        // The held write's group may have taken a few of them before they all waited; the rest
        // go in groups of at most MAX_GROUP.
        assert!(counts.commits <= 3, "{counts:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_write_fails_alone_and_its_partial_writes_are_not_kept() {
        let (_dir, db, writer) = open();
        let held = hold_until_waiting(&writer, 50).await;
        let writes: Vec<_> = (0..50u64)
            .map(|k| {
                let writer = writer.clone();
                tokio::spawn(async move {
                    if k == 25 {
                        writer
                            .write(move |txn: &WriteTransaction| {
                                put(1000, 1)(txn)?;
                                Err::<(), String>("refused".into())
                            })
                            .await
                    } else {
                        writer.write(put(k, 1)).await
                    }
                })
            })
            .collect();
        for (k, w) in writes.into_iter().enumerate() {
            let expected = if k == 25 { Err("refused".to_string()) } else { Ok(()) };
            assert_eq!(w.await.unwrap().unwrap(), expected, "write {k}");
        }
        held.await.unwrap();
        for k in (0..50u64).filter(|k| *k != 25) {
            assert_eq!(read(&db, k), Some(1), "write {k} landed");
        }
        assert_eq!(read(&db, 1000), None, "the failing write's own insert was rolled back");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_write_is_reported_and_the_writer_goes_on() {
        let (_dir, db, writer) = open();
        let answer = writer.write(|_: &WriteTransaction| -> Result<(), String> { panic!("a bug in one write") }).await;
        assert!(matches!(answer, Err(WriteFailed::Panicked)), "{answer:?}");
        writer.write(put(7, 7)).await.unwrap().unwrap();
        assert_eq!(read(&db, 7), Some(7));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn committed_steps_run_in_commit_order() {
        let (_dir, _db, writer) = open();
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let writes = (0..100u64).map(|k| {
            let writer = writer.clone();
            let order = order.clone();
            async move {
                writer
                    .write_then(
                        move |txn: &WriteTransaction| {
                            // The value each write finds is how many committed before it.
                            let mut t = txn.open_table(T).map_err(|e| e.to_string())?;
                            let seen = t.get(0).map_err(|e| e.to_string())?.map_or(0, |v| v.value());
                            t.insert(0, seen + 1).map_err(|e| e.to_string())?;
                            Ok::<u64, String>(seen)
                        },
                        move |seen| {
                            let _ = k;
                            order.lock().unwrap().push(seen)
                        },
                    )
                    .await
                    .unwrap()
                    .unwrap()
            }
        });
        futures_util::future::join_all(writes).await;
        assert_eq!(*order.lock().unwrap(), (0..100).collect::<Vec<u64>>());
    }

    #[test]
    fn dropping_the_last_handle_closes_the_file_for_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.redb");
        let db = Arc::new(Database::create(&path).unwrap());
        let writer = GroupCommit::start(db.clone(), "test").unwrap();
        drop(db);
        drop(writer);
        Database::create(&path).expect("no other handle holds the file");
    }
}
