use async_trait::async_trait;
use siftgram_core::ports::{BatchOp, Condition, Item, Key, Page, Query, StoreError, TableStore, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Wraps a real table store and counts the writes that reach it, so a test can prove that bad
/// input "writes nothing" — not even an attempt.
pub struct RecordingStore {
    inner: Arc<dyn TableStore>,
    writes: AtomicUsize,
}

impl RecordingStore {
    pub fn new(inner: Arc<dyn TableStore>) -> Self {
        RecordingStore { inner, writes: AtomicUsize::new(0) }
    }
    /// Write calls (put, delete, batch, transaction) made so far, successful or not.
    pub fn writes(&self) -> usize {
        self.writes.load(Ordering::SeqCst)
    }
    fn count(&self) {
        self.writes.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl TableStore for RecordingStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.inner.get(key).await
    }
    async fn put(&self, item: Item, condition: Condition) -> Result<u64, StoreError> {
        self.count();
        self.inner.put(item, condition).await
    }
    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError> {
        self.count();
        self.inner.delete(key, condition).await
    }
    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        self.inner.query(query).await
    }
    async fn batch_write(&self, ops: Vec<BatchOp>) -> Result<(), StoreError> {
        self.count();
        self.inner.batch_write(ops).await
    }
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.count();
        self.inner.transact(writes).await
    }
}
