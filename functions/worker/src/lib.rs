//! The worker Lambda, subscribed to two queues: `jobs` (the user's slow requests, run by
//! `siftgram_worker::Worker`) and `events` (outgoing webhooks). A record goes to the consumer
//! of the queue it came from; failures are reported by message id (partial batch failure), so
//! only they are retried and, past the receive limit, dead-lettered.

use siftgram_core::trace::{TraceId, traced};
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use siftgram_aws::{DynamoTableStore, SqsQueue};
use siftgram_bot::BotConfig;
use siftgram_core::consume::MessageHandler;
use siftgram_core::indexing::retrieval_embedder;
use siftgram_core::model::TierCatalog;
use siftgram_core::ports::{ChatModel, CollectionInfo, KeywordEncoder, Receipt, ReceivedMessage, SearchIndex, WebSearch};
use siftgram_core::repo::Repository;
use siftgram_core::retrieval::Retriever;
use siftgram_core::schema::queue_spec;
use siftgram_core::{Clock, SystemClock};
use siftgram_models::EmbedderConfig;
use siftgram_web::{Searxng, SearxngConfig, WebhookDispatcher, WebhookTargets};
use siftgram_worker::Worker;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BuildError(String);

fn build_err(e: impl std::fmt::Display) -> BuildError {
    BuildError(e.to_string())
}

/// This function's configuration, from the environment.
pub struct Config {
    pub table: String,
    pub resource_prefix: String,
    pub bot: BotConfig,
    pub embedder: EmbedderConfig,
    pub chat: Option<siftgram_models::ProviderChain>,
    pub searxng: Option<SearxngConfig>,
    pub webhooks: Option<WebhookTargets>,
    pub tiers: TierCatalog,
}

impl Config {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, BuildError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let bot = BotConfig::from_lookup(&lookup).map_err(build_err)?.ok_or_else(|| BuildError("TELEGRAM_BOT_TOKEN is required".into()))?;
        Ok(Config {
            table: get("SIFTGRAM_TABLE").unwrap_or_else(|| "siftgram".into()),
            resource_prefix: get("SIFTGRAM_RESOURCE_PREFIX").unwrap_or_else(|| "siftgram-".into()),
            bot,
            embedder: EmbedderConfig::from_lookup(&lookup).map_err(|(name, why)| BuildError(format!("{name}: {why}")))?,
            chat: siftgram_models::chat_from_lookup(&lookup).map_err(|(name, why)| BuildError(format!("{name}: {why}")))?,
            searxng: SearxngConfig::from_lookup(&lookup),
            webhooks: WebhookTargets::from_lookup(&lookup).map_err(|(name, why)| BuildError(format!("{name}: {why}")))?,
            tiers: TierCatalog::from_lookup(&lookup).map_err(|(name, why)| BuildError(format!("{name}: {why}")))?,
        })
    }
}

/// Built once per cold start.
pub struct Services {
    pub worker: Worker,
    pub webhooks: Option<WebhookDispatcher>,
    /// The events queue's name, to tell its records from the jobs queue's.
    pub events_queue: String,
}

/// The services over DynamoDB, SQS, the configured models and `index`.
pub async fn build_with(config: Config, sdk: &aws_config::SdkConfig, index: Arc<dyn SearchIndex>) -> Result<Services, BuildError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = Arc::new(DynamoTableStore::new(aws_sdk_dynamodb::Client::new(sdk), &config.table, clock.clone()));
    let repo = Repository::new(store, clock, config.tiers.clone());
    let events_spec = queue_spec("events").map_err(build_err)?;
    let events = SqsQueue::open(&aws_sdk_sqs::Client::new(sdk), &config.resource_prefix, events_spec.clone()).await.map_err(build_err)?;
    let embedder = retrieval_embedder(config.embedder.build().await.map_err(build_err)?, repo.clone());
    // Questions are embedded by this function's model: an index built by another is refused
    // here, at cold start, rather than answering from vectors that do not compare.
    index.open_collection(&CollectionInfo { model: embedder.model().to_owned(), dimension: embedder.dimension() }).await.map_err(build_err)?;
    let keywords: Arc<dyn KeywordEncoder> = Arc::new(siftgram_search::Analyzer::default());
    let retriever = Arc::new(Retriever { repo: repo.clone(), index, embedder, keywords });
    let chat = config.chat.map(|c| Arc::new(c) as Arc<dyn ChatModel>);
    let web = config.searxng.map(|c| Arc::new(Searxng::new(c)) as Arc<dyn WebSearch>);
    let worker = Worker::new(repo.clone(), retriever, chat, web, config.bot.outbox(), Some(Arc::new(events)));
    let webhooks = config.webhooks.map(|t| WebhookDispatcher::new(repo, t));
    Ok(Services { worker, webhooks, events_queue: format!("{}{}", config.resource_prefix, events_spec.name) })
}

/// The services on Qdrant, as deployed.
pub async fn build(config: Config, sdk: &aws_config::SdkConfig, lookup: impl Fn(&str) -> Option<String>) -> Result<Services, BuildError> {
    let index = siftgram_qdrant::QdrantIndex::from_lookup(lookup).map_err(build_err)?;
    build_with(config, sdk, Arc::new(index)).await
}

/// One SQS batch from either queue, each message under its sender's trace. Every record is tried; failed ones are returned for retry.
pub async fn handle(services: &Services, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let from_events = record.event_source_arn.as_deref().is_some_and(|arn| arn.rsplit(':').next() == Some(services.events_queue.as_str()));
        let receive_count = record.attributes.get("ApproximateReceiveCount").and_then(|c| c.parse().ok()).unwrap_or(1);
        let trace = record.message_attributes.get(siftgram_aws::TRACE_ATTRIBUTE).and_then(|a| a.string_value.as_deref()).and_then(TraceId::parse);
        let message = ReceivedMessage { id: id.clone(), body: record.body.unwrap_or_default(), receipt: Receipt(String::new()), receive_count, group: None, trace };
        let handler: &dyn MessageHandler = match (from_events, &services.webhooks) {
            (false, _) => &services.worker,
            (true, Some(webhooks)) => webhooks,
            // No webhook targets configured: events are acknowledged and dropped.
            (true, None) => continue,
        };
        if let Err(error) = traced(message.trace.clone(), handler.handle(&message)).await {
            tracing::error!(message_id = %id, %error, "message failed; it will be retried");
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
        let env = |tiers: &'static str| move |k: &str| match k {
            "TELEGRAM_BOT_TOKEN" => Some("123:abc".to_owned()),
            "SIFTGRAM_TIERS_JSON" => Some(tiers.to_owned()),
            _ => None,
        };
        let config = Config::from_lookup(env(r#"{"free": {"rag_queries_per_day": 3}}"#)).unwrap();
        assert_eq!(config.tiers.limits(Tier::Free).rag_queries_per_day, 3);
        let err = Config::from_lookup(env(r#"{"free": {"rag": 3}}"#)).err().expect("unknown fields are refused");
        assert!(err.to_string().contains("SIFTGRAM_TIERS_JSON"), "{err}");
    }
}
