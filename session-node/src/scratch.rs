//! A throwaway embedded system in a directory (store, repositories on a manual clock, index) for
//! the `eval` and `bench` commands, which measure the real code away from any live data.

use siftgram_core::clock::ManualClock;
use siftgram_core::model::TierCatalog;
use siftgram_core::ports::TableStore;
use siftgram_core::repo::Repository;
use siftgram_core::{Clock, SystemClock};
use siftgram_embedded::{EmbeddedDb, EmbeddedTableStore};
use siftgram_search::EmbeddedIndex;
use std::path::Path;
use std::sync::Arc;

pub struct Scratch {
    pub db: EmbeddedDb,
    pub repo: Repository,
    pub index: EmbeddedIndex,
    pub clock: Arc<ManualClock>,
}

impl Scratch {
    /// Opens `<dir>/store` and `<dir>/index`, the clock standing at now.
    pub fn open(dir: &Path) -> Result<Scratch, String> {
        let clock = Arc::new(ManualClock::starting_at(SystemClock.now()));
        let db = EmbeddedDb::open_dir(&dir.join("store")).map_err(|e| e.to_string())?;
        let store: Arc<dyn TableStore> = Arc::new(EmbeddedTableStore::new(db.clone(), clock.clone()));
        let repo = Repository::new(store, clock.clone(), TierCatalog::default());
        let index = EmbeddedIndex::open_dir(&dir.join("index")).map_err(|e| e.to_string())?;
        Ok(Scratch { db, repo, index, clock })
    }
}
