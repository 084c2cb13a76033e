use crate::GroupCommit;
use redb::Database;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error("cannot open the embedded database at {path}: {source}")]
    Open { path: PathBuf, source: redb::DatabaseError },
    #[error("cannot create the data directory {path}: {source}")]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("cannot start the writer of {path}: {source}")]
    Writer { path: PathBuf, source: std::io::Error },
}

/// redb's page cache for the store (its default is 1 GiB, which a node that has read through
/// its posts once would keep): the hot items (users, subscriptions, recent posts) fit many times
/// over, and the operating system caches the file besides.
const CACHE_BYTES: usize = 64 << 20;

/// One redb database file holding the table store and every queue. Reads open their own
/// transactions; every write goes through `writer`, one group commit for all of them.
#[derive(Clone)]
pub struct EmbeddedDb {
    pub(crate) db: Arc<Database>,
    pub(crate) writer: GroupCommit,
    pub(crate) queue_wakeups: Arc<crate::queue::Wakeups>,
}

impl EmbeddedDb {
    /// Opens (or creates) `<dir>/siftgram.redb`. Only one process may hold it at a time.
    pub fn open_dir(dir: &Path) -> Result<Self, EmbeddedError> {
        std::fs::create_dir_all(dir).map_err(|source| EmbeddedError::CreateDir { path: dir.to_owned(), source })?;
        let path = dir.join("siftgram.redb");
        let db = Database::builder().set_cache_size(CACHE_BYTES).create(&path).map_err(|source| EmbeddedError::Open { path: path.clone(), source })?;
        let db = Arc::new(db);
        let writer = GroupCommit::start(db.clone(), "store").map_err(|source| EmbeddedError::Writer { path, source })?;
        Ok(EmbeddedDb { db, writer, queue_wakeups: Default::default() })
    }

    /// Writes to this file so far and the commits they took.
    pub fn commit_counts(&self) -> crate::CommitCounts {
        self.writer.counts()
    }
}

pub(crate) fn backend<E: std::fmt::Display>(e: E) -> String {
    format!("embedded store: {e}")
}
