use crate::RecordingStore;
use siftgram_aws::{DynamoTableStore, SqsQueue};
use siftgram_core::model::TierCatalog;
use siftgram_core::ports::{BatchOp, Condition, Item, Key, Page, Query, Queue, QueueSpec, StoreError, TableStore, Write};
use siftgram_core::repo::Repository;
use siftgram_core::{Clock, ManualClock, SystemClock};
use siftgram_embedded::{EmbeddedDb, EmbeddedQueue, EmbeddedTableStore};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Where the LocalStack tests find LocalStack (`localstack/localstack.sh start` puts it there).
pub fn localstack_endpoint() -> String {
    std::env::var("SIFTGRAM_TEST_AWS_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:4566".into())
}

fn unique_namespace() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    format!("t{:x}{:x}{}", std::process::id(), nanos & 0xffff_ffff, COUNTER.fetch_add(1, Ordering::SeqCst))
}

enum Backend {
    Embedded { dir: tempfile::TempDir, db: Option<EmbeddedDb> },
    LocalStack { sdk: Box<aws_config::SdkConfig>, table: String, queue_prefix: String },
}

/// One test's private system: a table store (wrapped to count writes), repositories over it, a
/// manual clock, and queues in the test's own namespace.
pub struct TestSystem {
    pub name: &'static str,
    pub clock: Arc<ManualClock>,
    pub store: Arc<RecordingStore>,
    pub repo: Repository,
    backend: Backend,
}

impl TestSystem {
    /// The embedded backend in a fresh temp dir.
    pub async fn embedded() -> TestSystem {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = EmbeddedDb::open_dir(dir.path()).expect("open embedded db");
        let clock = Arc::new(ManualClock::starting_at(SystemClock.now()));
        let inner: Arc<dyn TableStore> = Arc::new(EmbeddedTableStore::new(db.clone(), clock.clone()));
        TestSystem::assemble("embedded", clock, inner, Backend::Embedded { dir, db: Some(db) })
    }

    /// LocalStack's DynamoDB and SQS, in a table and queue prefix of this test's own.
    /// Fails (never skips) when LocalStack is not running.
    pub async fn localstack() -> TestSystem {
        let endpoint = localstack_endpoint();
        let sdk = siftgram_aws::local_sdk_config(&endpoint).await;
        let ns = unique_namespace();
        let table = format!("siftgram-{ns}");
        let client = aws_sdk_dynamodb::Client::new(&sdk);
        if let Err(e) = siftgram_aws::ensure_table(&client, &table).await {
            panic!("LocalStack is not usable at {endpoint} ({e}); start it with `localstack/localstack.sh start`");
        }
        let clock = Arc::new(ManualClock::starting_at(SystemClock.now()));
        let inner: Arc<dyn TableStore> = Arc::new(DynamoTableStore::new(client, &table, clock.clone()));
        TestSystem::assemble("localstack", clock, inner, Backend::LocalStack { sdk: Box::new(sdk), table, queue_prefix: format!("{ns}-") })
    }

    fn assemble(name: &'static str, clock: Arc<ManualClock>, inner: Arc<dyn TableStore>, backend: Backend) -> TestSystem {
        let store = Arc::new(RecordingStore::new(inner));
        let repo = Repository::new(store.clone(), clock.clone(), TierCatalog::default());
        TestSystem { name, clock, store, repo, backend }
    }

    /// LocalStack's SDK configuration, table name and queue-name prefix (None when embedded),
    /// for building a Lambda's services the way its `main` does.
    pub fn aws_parts(&self) -> Option<(&aws_config::SdkConfig, &str, &str)> {
        match &self.backend {
            Backend::LocalStack { sdk, table, queue_prefix } => Some((sdk, table, queue_prefix)),
            Backend::Embedded { .. } => None,
        }
    }

    pub fn is_localstack(&self) -> bool {
        matches!(self.backend, Backend::LocalStack { .. })
    }

    /// A queue (and its dead-letter queue) in this test's namespace.
    pub async fn queue(&self, spec: QueueSpec) -> Arc<dyn Queue> {
        match &self.backend {
            Backend::Embedded { db, .. } => Arc::new(EmbeddedQueue::open(db.as_ref().expect("db open"), spec).expect("queue")),
            Backend::LocalStack { sdk, queue_prefix, .. } => {
                Arc::new(SqsQueue::ensure(&aws_sdk_sqs::Client::new(sdk), queue_prefix, spec).await.expect("create SQS queue"))
            }
        }
    }

    /// The dead-letter queue of the queue `spec`.
    pub async fn dead_letters(&self, spec: &QueueSpec) -> Arc<dyn Queue> {
        match &self.backend {
            Backend::Embedded { .. } => self.queue(spec.dead_letter()).await,
            Backend::LocalStack { sdk, queue_prefix, .. } => Arc::new(
                SqsQueue::open(&aws_sdk_sqs::Client::new(sdk), queue_prefix, spec.dead_letter()).await.expect("dead-letter queue exists"),
            ),
        }
    }

    /// Simulates a process restart: every handle to storage is dropped and opened again from
    /// what is durable (the embedded file; LocalStack's state). Callers must drop their own
    /// queue handles first.
    pub async fn restart(&mut self) {
        let clock = self.clock.clone();
        let inner: Arc<dyn TableStore> = match &mut self.backend {
            Backend::Embedded { dir, db } => {
                db.take();
                // Let the old store go too, then reopen the same file.
                self.store = Arc::new(RecordingStore::new(Arc::new(NoStore)));
                self.repo = Repository::new(self.store.clone(), clock.clone(), TierCatalog::default());
                let reopened = reopen(dir.path()).await;
                *db = Some(reopened.clone());
                Arc::new(EmbeddedTableStore::new(reopened, clock.clone()))
            }
            Backend::LocalStack { sdk, table, .. } => {
                let endpoint = localstack_endpoint();
                **sdk = siftgram_aws::local_sdk_config(&endpoint).await;
                Arc::new(DynamoTableStore::new(aws_sdk_dynamodb::Client::new(sdk), table.as_str(), clock.clone()))
            }
        };
        self.store = Arc::new(RecordingStore::new(inner));
        self.repo = Repository::new(self.store.clone(), clock, TierCatalog::default());
    }

    /// Deletes what the test created on LocalStack (the embedded temp dir goes by itself).
    pub async fn cleanup(self) {
        if let Backend::LocalStack { sdk, table, .. } = &self.backend {
            let _ = aws_sdk_dynamodb::Client::new(sdk).delete_table().table_name(table).send().await;
        }
    }
}

/// redb refuses a second open while the old handle is still being dropped by a blocking task.
async fn reopen(dir: &std::path::Path) -> EmbeddedDb {
    for _ in 0..50 {
        match EmbeddedDb::open_dir(dir) {
            Ok(db) => return db,
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    EmbeddedDb::open_dir(dir).expect("reopen embedded db")
}

/// Stands in while the embedded database is closed during a restart: every call fails.
struct NoStore;

fn closed() -> StoreError {
    StoreError::Backend("closed for restart".into())
}

#[async_trait::async_trait]
impl TableStore for NoStore {
    async fn get(&self, _: &Key) -> Result<Option<Item>, StoreError> {
        Err(closed())
    }
    async fn put(&self, _: Item, _: Condition) -> Result<u64, StoreError> {
        Err(closed())
    }
    async fn delete(&self, _: &Key, _: Condition) -> Result<(), StoreError> {
        Err(closed())
    }
    async fn query(&self, _: Query) -> Result<Page, StoreError> {
        Err(closed())
    }
    async fn batch_write(&self, _: Vec<BatchOp>) -> Result<(), StoreError> {
        Err(closed())
    }
    async fn transact(&self, _: Vec<Write>) -> Result<(), StoreError> {
        Err(closed())
    }
}
