//! The bot webhook Lambda: API Gateway (REST proxy, or HTTP API v2) → `BotService::handle_webhook`.
//! Everything it needs is built once per cold start by `build`; `handle` is what tests call.

use lambda_http::{Body, Request, Response};
use siftgram_aws::{DynamoTableStore, SqsQueue};
use siftgram_bot::{BotConfig, BotService};
use siftgram_core::model::TierCatalog;
use siftgram_core::repo::Repository;
use siftgram_core::schema::queue_spec;
use siftgram_core::{Clock, SystemClock};
use std::sync::Arc;

/// This function's configuration, from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    pub bot: BotConfig,
    pub table: String,
    pub resource_prefix: String,
    pub tiers: TierCatalog,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Queue(#[from] siftgram_core::ports::QueueError),
    #[error(transparent)]
    Schema(#[from] siftgram_core::schema::SchemaError),
    #[error(transparent)]
    Setup(#[from] siftgram_bot::SetupError),
}

impl Config {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, BuildError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let bot = BotConfig::from_lookup(&lookup)
            .map_err(|e| BuildError::Config(e.to_string()))?
            .ok_or_else(|| BuildError::Config("TELEGRAM_BOT_TOKEN is required".into()))?;
        if bot.settings.webhook_secret.is_none() {
            return Err(BuildError::Config("SIFTGRAM_WEBHOOK_SECRET is required for a webhook".into()));
        }
        let tiers = TierCatalog::from_lookup(&lookup).map_err(|(name, why)| BuildError::Config(format!("{name}: {why}")))?;
        Ok(Config {
            bot,
            table: get("SIFTGRAM_TABLE").unwrap_or_else(|| "siftgram".into()),
            resource_prefix: get("SIFTGRAM_RESOURCE_PREFIX").unwrap_or_else(|| "siftgram-".into()),
            tiers,
        })
    }
}

/// The bot over DynamoDB and SQS; asks Telegram for the bot's identity once.
pub async fn build(config: &Config, sdk: &aws_config::SdkConfig) -> Result<BotService, BuildError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = Arc::new(DynamoTableStore::new(aws_sdk_dynamodb::Client::new(sdk), &config.table, clock.clone()));
    let sqs = aws_sdk_sqs::Client::new(sdk);
    // Replies wait out 429s for at most `max_retry_wait` (10 s by default): API Gateway gives up
    // after 29 s.
    let services = config.bot.services(
        Repository::new(store, clock, config.tiers.clone()),
        Arc::new(SqsQueue::open(&sqs, &config.resource_prefix, queue_spec("jobs")?).await?),
        Arc::new(SqsQueue::open(&sqs, &config.resource_prefix, queue_spec("commands")?).await?),
    );
    Ok(BotService::new(services).await?)
}

/// One webhook call.
pub async fn handle(service: &BotService, request: Request) -> Result<Response<Body>, lambda_http::Error> {
    let secret = request.headers().get("x-telegram-bot-api-secret-token").map(|v| v.as_bytes());
    let reply = service.handle_webhook(secret, request.body().as_ref()).await;
    Ok(Response::builder().status(reply.status).header("content-type", "text/plain").body(Body::from(reply.body))?)
}
