use crate::db::{EmbeddedDb, backend};
use crate::keys::{index_entry, item_key, key_of_index_entry, query_bounds};
use async_trait::async_trait;
use redb::{ReadableDatabase, ReadableTable, Table, TableDefinition};
use siftgram_core::ports::table_store::{validate_batch, validate_transaction};
use siftgram_core::ports::{BatchOp, Condition, Index, Item, Key, Page, Query, StoreError, TableStore, Write};
use siftgram_core::{Clock, Timestamp};
use std::ops::Bound;
use std::sync::Arc;

const ITEMS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("items");
const INDEX: TableDefinition<&[u8], ()> = TableDefinition::new("items_by_index");

/// The `TableStore` port over redb.
#[derive(Clone)]
pub struct EmbeddedTableStore {
    db: EmbeddedDb,
    clock: Arc<dyn Clock>,
}

impl EmbeddedTableStore {
    pub fn new(db: EmbeddedDb, clock: Arc<dyn Clock>) -> Self {
        EmbeddedTableStore { db, clock }
    }

    /// Runs a read off the async runtime.
    async fn blocking<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&redb::Database, Timestamp) -> Result<T, StoreError> + Send + 'static,
    {
        let db = self.db.db.clone();
        let now = self.clock.now();
        tokio::task::spawn_blocking(move || work(&db, now))
            .await
            .map_err(|e| StoreError::Backend(backend(e)))?
    }

    /// Writes through the database's group commit (`crate::GroupCommit`); `work` may run more
    /// than once, each time in a fresh transaction.
    async fn write<T, F>(&self, mut work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnMut(&redb::WriteTransaction, Timestamp) -> Result<T, StoreError> + Send + 'static,
    {
        let now = self.clock.now();
        self.db.writer.write(move |txn| work(txn, now)).await.map_err(be)?
    }

    /// Physically removes expired items (reads already skip them). Returns how many went.
    pub async fn purge_expired(&self) -> Result<usize, StoreError> {
        self.write(|txn, now| {
            let mut items = txn.open_table(ITEMS).map_err(be)?;
            let mut index = txn.open_table(INDEX).map_err(be)?;
            let mut expired = Vec::new();
            for entry in items.iter().map_err(be)? {
                let (_, value) = entry.map_err(be)?;
                let item = decode(value.value())?;
                if !item.is_live(now) {
                    expired.push(item);
                }
            }
            for item in &expired {
                remove_item(&mut items, &mut index, item)?;
            }
            Ok(expired.len())
        })
        .await
    }
}

fn be<E: std::fmt::Display>(e: E) -> StoreError {
    StoreError::Backend(backend(e))
}

fn decode(bytes: &[u8]) -> Result<Item, StoreError> {
    serde_json::from_slice(bytes).map_err(be)
}

fn encode(item: &Item) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(item).map_err(be)
}

/// The stored item at `key`, expired or not.
fn stored<T: ReadableTable<&'static [u8], &'static [u8]>>(items: &T, key: &Key) -> Result<Option<Item>, StoreError> {
    match items.get(item_key(key).as_slice()).map_err(be)? {
        Some(value) => Ok(Some(decode(value.value())?)),
        None => Ok(None),
    }
}

type Items<'t> = Table<'t, &'static [u8], &'static [u8]>;
type IndexTable<'t> = Table<'t, &'static [u8], ()>;

fn remove_item(items: &mut Items, index: &mut IndexTable, item: &Item) -> Result<(), StoreError> {
    items.remove(item_key(&item.key).as_slice()).map_err(be)?;
    if let Some(ik) = &item.index {
        index.remove(index_entry(ik, &item.key).as_slice()).map_err(be)?;
    }
    Ok(())
}

fn write_item(items: &mut Items, index: &mut IndexTable, previous: Option<&Item>, item: &Item) -> Result<(), StoreError> {
    if let Some(prev) = previous {
        remove_item(items, index, prev)?;
    }
    items.insert(item_key(&item.key).as_slice(), encode(item)?.as_slice()).map_err(be)?;
    if let Some(ik) = &item.index {
        index.insert(index_entry(ik, &item.key).as_slice(), ()).map_err(be)?;
    }
    Ok(())
}

/// Applies one write whose condition already held, given the item stored before it (expired or
/// not); returns the item's version afterwards (0 when deleted).
fn apply(items: &mut Items, index: &mut IndexTable, write: &Write, previous: Option<&Item>, now: Timestamp) -> Result<u64, StoreError> {
    let live = previous.filter(|i| i.is_live(now));
    match write {
        Write::Put(item, condition) => {
            let item = Item { version: condition.next_version(live), ..item.clone() };
            write_item(items, index, previous, &item)?;
            Ok(item.version)
        }
        Write::Delete(..) => {
            if let Some(prev) = previous {
                remove_item(items, index, prev)?;
            }
            Ok(0)
        }
        Write::Check(..) => Ok(live.map_or(0, |i| i.version)),
    }
}

/// Runs writes in `txn`: every condition is checked before anything is written, then all are
/// applied. Each item is read once (a transaction never touches a key twice). `Err(i)` names the
/// first write whose condition failed; then nothing was written.
fn write_checked(txn: &redb::WriteTransaction, writes: &[Write], now: Timestamp) -> Result<Result<Vec<u64>, usize>, StoreError> {
    let mut items = txn.open_table(ITEMS).map_err(be)?;
    let mut index = txn.open_table(INDEX).map_err(be)?;
    let mut previous = Vec::with_capacity(writes.len());
    for (i, write) in writes.iter().enumerate() {
        let stored_item = stored(&items, write.key())?;
        let condition = match write {
            Write::Put(_, c) | Write::Delete(_, c) | Write::Check(_, c) => c,
        };
        if !condition.holds_for(stored_item.as_ref().filter(|item| item.is_live(now))) {
            return Ok(Err(i));
        }
        previous.push(stored_item);
    }
    let mut versions = Vec::with_capacity(writes.len());
    for (write, previous) in writes.iter().zip(&previous) {
        versions.push(apply(&mut items, &mut index, write, previous.as_ref(), now)?);
    }
    Ok(Ok(versions))
}

#[async_trait]
impl TableStore for EmbeddedTableStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        key.validate()?;
        let key = key.clone();
        self.blocking(move |db, now| {
            let txn = db.begin_read().map_err(be)?;
            let items = match txn.open_table(ITEMS) {
                Ok(t) => t,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
                Err(e) => return Err(be(e)),
            };
            Ok(stored(&items, &key)?.filter(|i| i.is_live(now)))
        })
        .await
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<u64, StoreError> {
        item.validate()?;
        let key = item.key.clone();
        let writes = vec![Write::Put(item, condition)];
        match self.write(move |txn, now| write_checked(txn, &writes, now)).await? {
            Ok(versions) => Ok(versions[0]),
            Err(_) => Err(StoreError::ConditionFailed(key)),
        }
    }

    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError> {
        key.validate()?;
        let writes = vec![Write::Delete(key.clone(), condition)];
        match self.write(move |txn, now| write_checked(txn, &writes, now)).await? {
            Ok(_) => Ok(()),
            Err(_) => Err(StoreError::ConditionFailed(key.clone())),
        }
    }

    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        query.validate()?;
        self.blocking(move |db, now| {
            let txn = db.begin_read().map_err(be)?;
            let items = match txn.open_table(ITEMS) {
                Ok(t) => t,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Page { items: vec![], next: None }),
                Err(e) => return Err(be(e)),
            };
            let (lower, upper) = query_bounds(&query)?;
            let bounds: (Bound<&[u8]>, Bound<&[u8]>) = (lower.as_ref().map(Vec::as_slice), upper.as_ref().map(Vec::as_slice));
            let want = query.limit.unwrap_or(usize::MAX);
            let mut found = Vec::new();
            // One past the limit tells whether another page exists.
            let mut take = |item: Item| {
                if item.is_live(now) && query.sort_key_of(&item).is_some_and(|sk| query.range.contains(sk)) {
                    found.push(item);
                }
                found.len() > want
            };
            match query.index {
                Index::Primary => {
                    let range = items.range::<&[u8]>(bounds).map_err(be)?;
                    let iter: Box<dyn Iterator<Item = _>> = if query.descending { Box::new(range.rev()) } else { Box::new(range) };
                    for entry in iter {
                        let (_, value) = entry.map_err(be)?;
                        if take(decode(value.value())?) {
                            break;
                        }
                    }
                }
                Index::Secondary => {
                    let index = match txn.open_table(INDEX) {
                        Ok(t) => t,
                        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Page { items: vec![], next: None }),
                        Err(e) => return Err(be(e)),
                    };
                    let range = index.range::<&[u8]>(bounds).map_err(be)?;
                    let iter: Box<dyn Iterator<Item = _>> = if query.descending { Box::new(range.rev()) } else { Box::new(range) };
                    for entry in iter {
                        let (entry, _) = entry.map_err(be)?;
                        let key = key_of_index_entry(entry.value()).ok_or_else(|| be("malformed index entry"))?;
                        if let Some(item) = stored(&items, &key)?
                            && take(item)
                        {
                            break;
                        }
                    }
                }
            }
            Ok(Page::from_lookahead(found, want))
        })
        .await
    }

    async fn batch_write(&self, ops: Vec<BatchOp>) -> Result<(), StoreError> {
        validate_batch(&ops)?;
        self.write(move |txn, _now| {
            let mut items = txn.open_table(ITEMS).map_err(be)?;
            let mut index = txn.open_table(INDEX).map_err(be)?;
            for op in &ops {
                match op {
                    // A batch is unconditional: each put overwrites and starts the item at version 1.
                    BatchOp::Put(item) => {
                        let previous = stored(&items, &item.key)?;
                        write_item(&mut items, &mut index, previous.as_ref(), &Item { version: 1, ..item.clone() })?;
                    }
                    BatchOp::Delete(key) => {
                        if let Some(prev) = stored(&items, key)? {
                            remove_item(&mut items, &mut index, &prev)?;
                        }
                    }
                }
            }
            Ok(())
        })
        .await
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        validate_transaction(&writes)?;
        let keys: Vec<Key> = writes.iter().map(|w| w.key().clone()).collect();
        match self.write(move |txn, now| write_checked(txn, &writes, now)).await? {
            Ok(_) => Ok(()),
            Err(index) => Err(StoreError::TransactionCancelled { index, key: keys[index].clone() }),
        }
    }
}
