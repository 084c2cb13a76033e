//! The scheduler Lambda (EventBridge, every few minutes): runs the periodic work that is due.
//! Today that is retention, once a day; digests join it with the answers issue.

use siftgram_aws::DynamoTableStore;
use siftgram_core::model::TierCatalog;
use siftgram_core::ports::SearchIndex;
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
}

/// Built once per cold start over DynamoDB and `index`.
pub fn build_with(sdk: &aws_config::SdkConfig, table: &str, clock: Arc<dyn Clock>, index: Arc<dyn SearchIndex>) -> Scheduler {
    let store = Arc::new(DynamoTableStore::new(aws_sdk_dynamodb::Client::new(sdk), table, clock.clone()));
    Scheduler { repo: Repository::new(store, clock, TierCatalog::default()), index }
}

/// As deployed: `SIFTGRAM_TABLE`, `SIFTGRAM_QDRANT_URL`, `SIFTGRAM_QDRANT_API_KEY`, `SIFTGRAM_QDRANT_COLLECTION`.
pub fn build(sdk: &aws_config::SdkConfig, lookup: impl Fn(&str) -> Option<String>) -> Result<Scheduler, SchedulerError> {
    let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    let index = siftgram_qdrant::QdrantIndex::from_lookup(&lookup).map_err(|e| SchedulerError(e.to_string()))?;
    Ok(build_with(sdk, &get("SIFTGRAM_TABLE").unwrap_or_else(|| "siftgram".into()), Arc::new(SystemClock), Arc::new(index)))
}

/// One scheduled event. Retention runs on the first tick of each UTC day (the rule fires every
/// few minutes; a retention pass that finds nothing is cheap, and running twice is harmless).
pub async fn handle(scheduler: &Scheduler, event: serde_json::Value) -> Result<serde_json::Value, SchedulerError> {
    let now = scheduler.repo.clock().now();
    let forced = event["detail"]["task"].as_str() == Some("retention");
    let first_tick_of_day = now.0.rem_euclid(86_400) < 600;
    let mut removed = 0;
    if forced || first_tick_of_day {
        removed = apply_retention(&scheduler.repo, &*scheduler.index, now).await.map_err(|e| SchedulerError(e.to_string()))?;
    }
    Ok(serde_json::json!({"retention_removed": removed}))
}
