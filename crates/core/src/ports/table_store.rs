//! The table store: items addressed by (partition key, sort key), with conditional writes, TTL,
//! ordered queries within a partition, one secondary index, batches and small transactions.
//!
//! The shape is DynamoDB's single-table model, because that is the cloud backend; the embedded
//! store implements exactly the same semantics, and one conformance suite (in `tests/`) runs
//! against both. Validation lives here so both backends refuse the same bad input the same way.

use crate::Timestamp;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An item's own attributes (the store keeps keys, index keys, TTL and version beside them).
pub type Attrs = serde_json::Map<String, Value>;

/// DynamoDB's limits, applied to both backends.
pub const MAX_PK_BYTES: usize = 2048;
pub const MAX_SK_BYTES: usize = 1024;
/// DynamoDB items are at most 400 KB including names; leave room for keys and bookkeeping.
pub const MAX_ATTRS_BYTES: usize = 350 * 1024;
pub const MAX_TRANSACTION_WRITES: usize = 25;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Key { pk: pk.into(), sk: sk.into() }
    }

    pub fn validate(&self) -> Result<(), StoreError> {
        validate_key_part("partition key", &self.pk, MAX_PK_BYTES)?;
        validate_key_part("sort key", &self.sk, MAX_SK_BYTES)
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.pk, self.sk)
    }
}

fn validate_key_part(what: &str, value: &str, max: usize) -> Result<(), StoreError> {
    if value.is_empty() {
        return Err(StoreError::Invalid(format!("{what} is empty")));
    }
    if value.len() > max {
        return Err(StoreError::Invalid(format!("{what} is {} bytes, more than {max}", value.len())));
    }
    // The embedded store separates key parts with NUL.
    if value.contains('\0') {
        return Err(StoreError::Invalid(format!("{what} contains a NUL character")));
    }
    Ok(())
}

/// Which ordering a query walks: the table's own keys, or the one secondary index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Index {
    #[default]
    Primary,
    /// Items that set `Item::index` (in DynamoDB: the `gsi1` global secondary index).
    Secondary,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub key: Key,
    pub attrs: Attrs,
    /// This item's key in the secondary index, if it is listed there.
    pub index: Option<Key>,
    /// Epoch seconds after which the item no longer exists for reads or conditions.
    pub expires_at: Option<Timestamp>,
    /// Set by the store: 1 when created by a put-if-absent, +1 on every conditional or plain put.
    /// Ignored on input.
    pub version: u64,
}

impl Item {
    pub fn new(key: Key, attrs: Attrs) -> Self {
        Item { key, attrs, index: None, expires_at: None, version: 0 }
    }
    pub fn with_index(mut self, index: Key) -> Self {
        self.index = Some(index);
        self
    }
    pub fn expiring_at(mut self, at: Timestamp) -> Self {
        self.expires_at = Some(at);
        self
    }
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.expires_at.is_none_or(|t| t > now)
    }
    pub fn attr(&self, name: &str) -> Option<&Value> {
        self.attrs.get(name)
    }

    pub fn validate(&self) -> Result<(), StoreError> {
        self.key.validate()?;
        if let Some(index) = &self.index {
            index.validate()?;
        }
        let size = serde_json::to_vec(&self.attrs).map(|v| v.len()).unwrap_or(usize::MAX);
        if size > MAX_ATTRS_BYTES {
            return Err(StoreError::Invalid(format!("item {} is {size} bytes, more than {MAX_ATTRS_BYTES}", self.key)));
        }
        Ok(())
    }
}

/// What must hold for a write to happen. An expired item counts as absent.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    Always,
    NotExists,
    Exists,
    /// The stored item exists and has exactly this version (optimistic concurrency).
    Version(u64),
    /// The stored item exists and this attribute equals the value (same JSON type).
    AttrEquals(String, Value),
}

impl Condition {
    /// Evaluates the condition against the live item (None when absent or expired).
    pub fn holds_for(&self, current: Option<&Item>) -> bool {
        match (self, current) {
            (Condition::Always, _) => true,
            (Condition::NotExists, current) => current.is_none(),
            (Condition::Exists, current) => current.is_some(),
            (Condition::Version(v), Some(item)) => item.version == *v,
            (Condition::AttrEquals(name, value), Some(item)) => item.attrs.get(name) == Some(value),
            (Condition::Version(_) | Condition::AttrEquals(..), None) => false,
        }
    }

    /// The version a put under this condition gives the item, given the live one.
    pub fn next_version(&self, current: Option<&Item>) -> u64 {
        match self {
            Condition::NotExists => 1,
            Condition::Version(v) => v + 1,
            _ => current.map_or(1, |i| i.version + 1),
        }
    }
}

/// One write inside a transaction.
#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    Put(Item, Condition),
    Delete(Key, Condition),
    /// Writes nothing; the transaction commits only if the condition holds.
    Check(Key, Condition),
}

impl Write {
    pub fn key(&self) -> &Key {
        match self {
            Write::Put(item, _) => &item.key,
            Write::Delete(key, _) | Write::Check(key, _) => key,
        }
    }
}

/// One unconditional write inside a batch. Batch puts overwrite and start the item at version 1.
#[derive(Clone, Debug, PartialEq)]
pub enum BatchOp {
    Put(Item),
    Delete(Key),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SkRange {
    All,
    Prefix(String),
    /// Inclusive on both ends.
    Between(String, String),
    /// Sort keys greater than or equal to this one.
    From(String),
}

impl SkRange {
    pub fn contains(&self, sk: &str) -> bool {
        match self {
            SkRange::All => true,
            SkRange::Prefix(p) => sk.starts_with(p.as_str()),
            SkRange::Between(a, b) => a.as_str() <= sk && sk <= b.as_str(),
            SkRange::From(a) => a.as_str() <= sk,
        }
    }
}

/// Where the previous page stopped: the (table and index) keys of its last item. Opaque to callers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor(String);

#[derive(Serialize, Deserialize)]
struct CursorKeys {
    key: Key,
    index: Option<Key>,
}

impl Cursor {
    pub fn after(item: &Item) -> Cursor {
        let keys = CursorKeys { key: item.key.clone(), index: item.index.clone() };
        Cursor(serde_json::to_string(&keys).expect("keys serialize"))
    }
    pub fn from_token(token: impl Into<String>) -> Cursor {
        Cursor(token.into())
    }
    pub fn token(&self) -> &str {
        &self.0
    }
    /// The table key and index key of the item the previous page ended with.
    pub fn keys(&self) -> Result<(Key, Option<Key>), StoreError> {
        let keys: CursorKeys =
            serde_json::from_str(&self.0).map_err(|_| StoreError::Invalid("malformed cursor".into()))?;
        Ok((keys.key, keys.index))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    pub index: Index,
    pub pk: String,
    pub range: SkRange,
    pub descending: bool,
    pub limit: Option<usize>,
    pub cursor: Option<Cursor>,
}

impl Query {
    pub fn partition(pk: impl Into<String>) -> Self {
        Query { index: Index::Primary, pk: pk.into(), range: SkRange::All, descending: false, limit: None, cursor: None }
    }
    pub fn index_partition(pk: impl Into<String>) -> Self {
        Query { index: Index::Secondary, ..Query::partition(pk) }
    }
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.range = SkRange::Prefix(prefix.into());
        self
    }
    pub fn between(mut self, from: impl Into<String>, to: impl Into<String>) -> Self {
        self.range = SkRange::Between(from.into(), to.into());
        self
    }
    pub fn from(mut self, from: impl Into<String>) -> Self {
        self.range = SkRange::From(from.into());
        self
    }
    pub fn descending(mut self) -> Self {
        self.descending = true;
        self
    }
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }
    pub fn after(mut self, cursor: Option<Cursor>) -> Self {
        self.cursor = cursor;
        self
    }

    pub fn validate(&self) -> Result<(), StoreError> {
        validate_key_part("query partition key", &self.pk, MAX_PK_BYTES)?;
        if self.limit == Some(0) {
            return Err(StoreError::Invalid("query limit is 0".into()));
        }
        if let SkRange::Between(a, b) = &self.range
            && a > b
        {
            return Err(StoreError::Invalid("query range starts after it ends".into()));
        }
        if let Some(cursor) = &self.cursor {
            let (key, index_key) = cursor.keys()?;
            if self.index == Index::Secondary && index_key.is_none() {
                return Err(StoreError::Invalid("cursor is not from an index query".into()));
            }
            if key.pk != self.pk && index_key.is_none_or(|k| k.pk != self.pk) {
                return Err(StoreError::Invalid("cursor is from another partition".into()));
            }
        }
        Ok(())
    }

    /// The sort key an item has in the ordering this query walks.
    pub fn sort_key_of<'a>(&self, item: &'a Item) -> Option<&'a str> {
        match self.index {
            Index::Primary => Some(item.key.sk.as_str()),
            Index::Secondary => item.index.as_ref().map(|k| k.sk.as_str()),
        }
    }
}

/// A page of live items; `next` is set when more items follow.
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    pub items: Vec<Item>,
    pub next: Option<Cursor>,
}

impl Page {
    /// Adapters read up to one item past the limit: its presence is what tells that another
    /// page exists, so `next` is exact (no empty last page).
    pub fn from_lookahead(mut found: Vec<Item>, limit: usize) -> Page {
        if found.len() <= limit {
            return Page { items: found, next: None };
        }
        found.truncate(limit);
        let next = found.last().map(Cursor::after);
        Page { items: found, next }
    }
}

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum StoreError {
    #[error("the condition on {0} does not hold")]
    ConditionFailed(Key),
    #[error("transaction cancelled: the condition of write #{index} ({key}) does not hold")]
    TransactionCancelled { index: usize, key: Key },
    /// Another transaction touched the same items at the same moment; retrying may succeed.
    #[error("conflicting concurrent write; retry")]
    Conflict,
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("table store backend: {0}")]
    Backend(String),
}

impl StoreError {
    pub fn is_condition_failure(&self) -> bool {
        matches!(self, StoreError::ConditionFailed(_) | StoreError::TransactionCancelled { .. })
    }
}

/// Checks a transaction before any backend sees it: size and no item touched twice.
pub fn validate_transaction(writes: &[Write]) -> Result<(), StoreError> {
    if writes.is_empty() {
        return Err(StoreError::Invalid("empty transaction".into()));
    }
    if writes.len() > MAX_TRANSACTION_WRITES {
        return Err(StoreError::Invalid(format!(
            "transaction has {} writes, more than {MAX_TRANSACTION_WRITES}",
            writes.len()
        )));
    }
    let mut seen = std::collections::HashSet::new();
    for write in writes {
        match write {
            Write::Put(item, _) => item.validate()?,
            Write::Delete(key, _) | Write::Check(key, _) => key.validate()?,
        }
        if !seen.insert(write.key()) {
            return Err(StoreError::Invalid(format!("transaction touches {} twice", write.key())));
        }
    }
    Ok(())
}

/// Checks a batch: every op valid and no key twice (DynamoDB refuses both).
pub fn validate_batch(ops: &[BatchOp]) -> Result<(), StoreError> {
    let mut seen = std::collections::HashSet::new();
    for op in ops {
        let key = match op {
            BatchOp::Put(item) => {
                item.validate()?;
                &item.key
            }
            BatchOp::Delete(key) => {
                key.validate()?;
                key
            }
        };
        if !seen.insert(key) {
            return Err(StoreError::Invalid(format!("batch touches {key} twice")));
        }
    }
    Ok(())
}

#[async_trait]
pub trait TableStore: Send + Sync {
    /// The live item at `key`, if any (expired items are absent).
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError>;
    /// Writes `item` if `condition` holds; returns the item's new version.
    async fn put(&self, item: Item, condition: Condition) -> Result<u64, StoreError>;
    /// Deletes the item if `condition` holds (deleting an absent item under `Always` is fine).
    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError>;
    /// Live items of one partition in sort-key order, at most `limit`, after `cursor`.
    async fn query(&self, query: Query) -> Result<Page, StoreError>;
    /// Unconditional puts and deletes, any number, each key at most once.
    async fn batch_write(&self, ops: Vec<BatchOp>) -> Result<(), StoreError>;
    /// Up to 25 writes that all happen or none does.
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError>;
}

/// Fetches every page of a query.
pub async fn query_all(store: &dyn TableStore, mut query: Query) -> Result<Vec<Item>, StoreError> {
    let mut items = Vec::new();
    loop {
        let page = store.query(query.clone()).await?;
        items.extend(page.items);
        match page.next {
            Some(next) => query.cursor = Some(next),
            None => return Ok(items),
        }
    }
}
