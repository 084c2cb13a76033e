use redb::Database;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error("cannot open the embedded database at {path}: {source}")]
    Open { path: PathBuf, source: redb::DatabaseError },
    #[error("cannot create the data directory {path}: {source}")]
    CreateDir { path: PathBuf, source: std::io::Error },
}

/// One redb database file holding the table store and every queue.
#[derive(Clone)]
pub struct EmbeddedDb {
    pub(crate) db: Arc<Database>,
    pub(crate) queue_wakeups: Arc<crate::queue::Wakeups>,
}

impl EmbeddedDb {
    /// Opens (or creates) `<dir>/siftgram.redb`. Only one process may hold it at a time.
    pub fn open_dir(dir: &Path) -> Result<Self, EmbeddedError> {
        std::fs::create_dir_all(dir).map_err(|source| EmbeddedError::CreateDir { path: dir.to_owned(), source })?;
        let path = dir.join("siftgram.redb");
        let db = Database::create(&path).map_err(|source| EmbeddedError::Open { path, source })?;
        Ok(EmbeddedDb { db: Arc::new(db), queue_wakeups: Default::default() })
    }
}

pub(crate) fn backend<E: std::fmt::Display>(e: E) -> String {
    format!("embedded store: {e}")
}
