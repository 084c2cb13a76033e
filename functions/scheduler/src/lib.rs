//! The scheduler Lambda (EventBridge, every few minutes): runs the periodic work that is due.
//! Every tick: the digests that are due go to the jobs queue. Once a day: retention.

use siftgram_aws::{DynamoTableStore, SqsQueue};
use siftgram_core::digest::enqueue_due_digests;
use siftgram_core::model::TierCatalog;
use siftgram_core::ports::{Queue, SearchIndex};
use siftgram_core::schema::queue_spec;
use siftgram_core::repo::Repository;
use siftgram_core::retention::apply_retention;
use siftgram_core::{Clock, SystemClock};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SchedulerError(String);

pub struct Scheduler {
    pub repo: Repository,
    pub index: Arc<dyn SearchIndex>,
    pub jobs: Arc<dyn Queue>,
}

/// Built once per cold start over DynamoDB, the jobs queue (`resource_prefix` + `jobs`) and `index`.
pub async fn build_with(
    sdk: &aws_config::SdkConfig,
    table: &str,
    resource_prefix: &str,
    clock: Arc<dyn Clock>,
    index: Arc<dyn SearchIndex>,
    tiers: TierCatalog,
) -> Result<Scheduler, SchedulerError> {
    let store = Arc::new(DynamoTableStore::new(aws_sdk_dynamodb::Client::new(sdk), table, clock.clone()));
    let spec = queue_spec("jobs").map_err(|e| SchedulerError(e.to_string()))?;
    let jobs = SqsQueue::open(&aws_sdk_sqs::Client::new(sdk), resource_prefix, spec).await.map_err(|e| SchedulerError(e.to_string()))?;
    Ok(Scheduler { repo: Repository::new(store, clock, tiers), index, jobs: Arc::new(jobs) })
}

/// As deployed: `SIFTGRAM_TABLE`, `SIFTGRAM_RESOURCE_PREFIX`, `SIFTGRAM_TIERS_JSON`, `SIFTGRAM_QDRANT_URL`,
/// `SIFTGRAM_QDRANT_API_KEY`, `SIFTGRAM_QDRANT_COLLECTION`.
pub async fn build(sdk: &aws_config::SdkConfig, lookup: impl Fn(&str) -> Option<String>) -> Result<Scheduler, SchedulerError> {
    let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    let index = siftgram_qdrant::QdrantIndex::from_lookup(&lookup).map_err(|e| SchedulerError(e.to_string()))?;
    let table = get("SIFTGRAM_TABLE").unwrap_or_else(|| "siftgram".into());
    let prefix = get("SIFTGRAM_RESOURCE_PREFIX").unwrap_or_else(|| "siftgram-".into());
    let tiers = TierCatalog::from_lookup(&lookup).map_err(|(name, why)| SchedulerError(format!("{name}: {why}")))?;
    build_with(sdk, &table, &prefix, Arc::new(SystemClock), Arc::new(index), tiers).await
}

/// One scheduled event. Retention runs on the first tick of each UTC day (the rule fires every
/// few minutes; a retention pass that finds nothing is cheap, and running twice is harmless).
pub async fn handle(scheduler: &Scheduler, event: serde_json::Value) -> Result<serde_json::Value, SchedulerError> {
    // The tick's digest jobs carry its trace id.
    siftgram_core::trace::traced(Some(siftgram_core::trace::TraceId::fresh("tick")), tick(scheduler, event)).await
}

async fn tick(scheduler: &Scheduler, event: serde_json::Value) -> Result<serde_json::Value, SchedulerError> {
    let now = scheduler.repo.clock().now();
    let forced = event["detail"]["task"].as_str() == Some("retention");
    let first_tick_of_day = now.0.rem_euclid(86_400) < 600;
    let digests = enqueue_due_digests(&scheduler.repo, &*scheduler.jobs, now).await.map_err(|e| SchedulerError(e.to_string()))?;
    let mut removed = 0;
    if forced || first_tick_of_day {
        removed = apply_retention(&scheduler.repo, &*scheduler.index, now).await.map_err(|e| SchedulerError(e.to_string()))?;
    }
    Ok(serde_json::json!({"digests_enqueued": digests, "retention_removed": removed}))
}
