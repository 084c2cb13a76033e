//! The ports wired to one backend: embedded (standalone) or AWS (DynamoDB + SQS + S3).

use crate::config::Config;
use siftgram_aws::{DynamoTableStore, SqsQueue};
use siftgram_core::ports::{Queue, QueueError, QueueSpec, TableStore};
use siftgram_core::repo::Repository;
use siftgram_core::{Clock, SystemClock};
use siftgram_embedded::{EmbeddedDb, EmbeddedQueue, EmbeddedTableStore};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    Embedded,
    Aws,
}

impl BackendKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Embedded => "embedded",
            BackendKind::Aws => "aws",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(transparent)]
    Embedded(#[from] siftgram_embedded::EmbeddedError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

enum Queues {
    Embedded(EmbeddedDb),
    Aws { client: aws_sdk_sqs::Client, prefix: String },
}

/// Everything the handlers need from storage, built once per process.
#[derive(Clone)]
pub struct Backend {
    pub kind: BackendKind,
    pub store: Arc<dyn TableStore>,
    pub repo: Repository,
    pub embedded: Option<EmbeddedTableStore>,
    pub aws: Option<Arc<aws_config::SdkConfig>>,
    queues: Arc<Queues>,
}

impl Backend {
    pub async fn connect(config: &Config) -> Result<Backend, BackendError> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        match config.backend {
            BackendKind::Embedded => {
                let db = EmbeddedDb::open_dir(&config.data_dir)?;
                Ok(Backend::embedded(db, clock, config))
            }
            BackendKind::Aws => {
                let sdk = siftgram_aws::sdk_config(config.aws_endpoint.as_deref()).await;
                Ok(Backend::connect_with(config, sdk))
            }
        }
    }

    /// The AWS backend on an already loaded SDK configuration.
    pub fn connect_with(config: &Config, sdk: aws_config::SdkConfig) -> Backend {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
        let store: Arc<dyn TableStore> = Arc::new(DynamoTableStore::new(dynamo, &config.table, clock.clone()));
        let queues = Queues::Aws { client: aws_sdk_sqs::Client::new(&sdk), prefix: config.resource_prefix.clone() };
        Backend {
            kind: BackendKind::Aws,
            repo: Repository::new(store.clone(), clock, config.tiers.clone()),
            store,
            embedded: None,
            aws: Some(Arc::new(sdk)),
            queues: Arc::new(queues),
        }
    }

    pub fn embedded(db: EmbeddedDb, clock: Arc<dyn Clock>, config: &Config) -> Backend {
        let table = EmbeddedTableStore::new(db.clone(), clock.clone());
        let store: Arc<dyn TableStore> = Arc::new(table.clone());
        Backend {
            kind: BackendKind::Embedded,
            repo: Repository::new(store.clone(), clock, config.tiers.clone()),
            store,
            embedded: Some(table),
            aws: None,
            queues: Arc::new(Queues::Embedded(db)),
        }
    }

    /// An existing queue (created by `migrate` on AWS; on first use when embedded).
    pub async fn queue(&self, spec: QueueSpec) -> Result<Arc<dyn Queue>, QueueError> {
        Ok(match self.queues.as_ref() {
            Queues::Embedded(db) => Arc::new(EmbeddedQueue::open(db, spec)?),
            Queues::Aws { client, prefix } => Arc::new(SqsQueue::open(client, prefix, spec).await?),
        })
    }

    /// Where post and answer events go: the events queue when something reads it (this node's
    /// webhook dispatcher, or the cloud's worker function), else nowhere — a node without
    /// webhook targets would otherwise grow a queue nobody drains by one message a post.
    pub async fn events_queue(&self, config: &Config) -> Result<Option<Arc<dyn Queue>>, String> {
        if config.webhooks.is_none() && config.node_consumers {
            return Ok(None);
        }
        let spec = siftgram_core::schema::queue_spec("events").map_err(|e| e.to_string())?;
        self.queue(spec).await.map(Some).map_err(|e| e.to_string())
    }

    /// Creates a queue and its dead-letter queue if needed (a migration step).
    pub async fn ensure_queue(&self, spec: QueueSpec) -> Result<Arc<dyn Queue>, QueueError> {
        Ok(match self.queues.as_ref() {
            Queues::Embedded(db) => Arc::new(EmbeddedQueue::open(db, spec)?),
            Queues::Aws { client, prefix } => Arc::new(SqsQueue::ensure(client, prefix, spec).await?),
        })
    }
}
