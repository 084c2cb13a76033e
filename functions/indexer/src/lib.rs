//! The indexer Lambda: an SQS batch from the posts queue → `Indexer::apply` per message; failed
//! messages are reported by id (partial batch failure) so only they are retried and, after the
//! queue's receive limit, dead-lettered. `build` runs once per cold start; `handle` per batch.

use siftgram_core::trace::{TraceId, traced};
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use siftgram_aws::{DynamoTableStore, SqsQueue};
use siftgram_core::indexing::{Indexer, retrieval_embedder};
use siftgram_core::messages::PostMessage;
use siftgram_core::model::TierCatalog;
use siftgram_core::ports::SearchIndex;
use siftgram_core::repo::Repository;
use siftgram_core::schema::queue_spec;
use siftgram_core::{Clock, SystemClock};
use siftgram_models::EmbedderConfig;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BuildError(String);

fn build_err(e: impl std::fmt::Display) -> BuildError {
    BuildError(e.to_string())
}

/// This function's configuration, from the environment.
#[derive(Clone, Debug)]
pub struct Config {
    pub table: String,
    pub resource_prefix: String,
    pub embedder: EmbedderConfig,
    /// The tagging model; None = keyword tags.
    pub tagger: Option<siftgram_models::OpenAiEndpoint>,
    pub tiers: TierCatalog,
    /// How linked pages are read (`SIFTGRAM_READ_LINKS`, default on); None = unread.
    pub links: Option<siftgram_web::LinkFetcherSettings>,
}

impl Config {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, BuildError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        Ok(Config {
            table: get("SIFTGRAM_TABLE").unwrap_or_else(|| "siftgram".into()),
            resource_prefix: get("SIFTGRAM_RESOURCE_PREFIX").unwrap_or_else(|| "siftgram-".into()),
            embedder: EmbedderConfig::from_lookup(&lookup).map_err(|(name, why)| BuildError(format!("{name}: {why}")))?,
            tagger: siftgram_models::tagger_from_lookup(&lookup),
            tiers: TierCatalog::from_lookup(&lookup).map_err(|(name, why)| BuildError(format!("{name}: {why}")))?,
            links: siftgram_web::LinkFetcherSettings::from_lookup(&lookup).map_err(|(name, why)| BuildError(format!("{name}: {why}")))?,
        })
    }
}

/// The indexer over DynamoDB, the events queue, the configured embedder and `index`.
pub async fn build_with(config: &Config, sdk: &aws_config::SdkConfig, index: Arc<dyn SearchIndex>) -> Result<Indexer, BuildError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = Arc::new(DynamoTableStore::new(aws_sdk_dynamodb::Client::new(sdk), &config.table, clock.clone()));
    let repo = Repository::new(store, clock, config.tiers.clone());
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let events = SqsQueue::open(&sqs, &config.resource_prefix, queue_spec("events").map_err(build_err)?).await.map_err(build_err)?;
    let embedder = retrieval_embedder(config.embedder.build().await.map_err(build_err)?, repo.clone());
    let tagger = config.tagger.clone().map(|e| Arc::new(siftgram_models::OpenAiTagger::new(e)) as Arc<dyn siftgram_core::ports::Tagger>);
    let mut indexer = siftgram_search::indexer(repo, index, embedder, tagger, Some(Arc::new(events)));
    indexer.links = config.links.clone().map(|s| Arc::new(siftgram_web::LinkFetcher::new(s)) as Arc<dyn siftgram_core::ports::LinkReader>);
    indexer.index.open_collection(&indexer.collection()).await.map_err(build_err)?;
    Ok(indexer)
}

/// The indexer on Qdrant, as deployed.
pub async fn build(config: &Config, sdk: &aws_config::SdkConfig, lookup: impl Fn(&str) -> Option<String>) -> Result<Indexer, BuildError> {
    let index = siftgram_qdrant::QdrantIndex::from_lookup(lookup).map_err(build_err)?;
    build_with(config, sdk, Arc::new(index)).await
}

/// One SQS batch, each message under its sender's trace. Every message is tried; the ones that failed are returned for retry.
pub async fn handle(indexer: &Indexer, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    // The batch's records side by side (the indexer resolves concurrent versions of a post), so
    // the embedder has them all at once; each fails or succeeds on its own.
    let outcomes = futures_util::future::join_all(event.records.iter().map(|record| {
        let trace = record.message_attributes.get(siftgram_aws::TRACE_ATTRIBUTE).and_then(|a| a.string_value.as_deref()).and_then(TraceId::parse);
        traced(trace, async {
            match serde_json::from_str::<PostMessage>(record.body.as_deref().unwrap_or("")) {
                Ok(message) => indexer.apply(message).await.map(|_| ()).map_err(|e| e.to_string()),
                Err(e) => Err(format!("malformed posts-queue message: {e}")),
            }
        })
    }))
    .await;
    for (record, outcome) in event.records.iter().zip(outcomes) {
        let id = record.message_id.clone().unwrap_or_default();
        if let Err(error) = outcome {
            tracing::error!(message_id = %id, %error, "post not indexed; it will be retried");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::Config;
    use siftgram_core::model::Tier;

    #[test]
    fn the_tier_overrides_apply_here_as_in_the_bot() {
        let config = Config::from_lookup(|k| (k == "SIFTGRAM_TIERS_JSON").then(|| r#"{"premium": {"posts_per_day": 7}}"#.to_owned())).unwrap();
        assert_eq!(config.tiers.limits(Tier::Premium).posts_per_day, 7);
        assert!(Config::from_lookup(|k| (k == "SIFTGRAM_TIERS_JSON").then(|| "{".to_owned())).is_err());
    }
}
