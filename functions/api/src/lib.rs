//! The API Lambda: API Gateway (REST proxy; HTTP API v2 too) → the same `siftgram_api` router
//! the standalone node serves under `/api`. `build` makes it once per cold start; `handle` is
//! one invocation (what tests call with event JSON).
//!
//! `/api/search` answers 503 here: the index lives with the indexer (the node serves it);
//! questions (`/api/ask`) go to the worker as in the bot.

use axum::Router;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use siftgram_api::{ApiConfig, ApiServices, NamedQueue};
use siftgram_aws::{DynamoTableStore, SqsQueue};
use siftgram_core::model::TierCatalog;
use siftgram_core::repo::Repository;
use siftgram_core::schema::queue_specs;
use siftgram_core::{Clock, SystemClock};
use std::sync::Arc;
use tower::ServiceExt;

#[derive(Debug, Clone)]
pub struct Config {
    pub api: ApiConfig,
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
}

impl Config {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, BuildError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let api = ApiConfig::from_lookup(&lookup)
            .map_err(|e| BuildError::Config(e.to_string()))?
            .ok_or_else(|| BuildError::Config("TELEGRAM_BOT_TOKEN is required (Mini App callers are checked with it)".into()))?;
        let tiers = TierCatalog::from_lookup(&lookup).map_err(|(name, why)| BuildError::Config(format!("{name}: {why}")))?;
        Ok(Config {
            api,
            table: get("SIFTGRAM_TABLE").unwrap_or_else(|| "siftgram".into()),
            resource_prefix: get("SIFTGRAM_RESOURCE_PREFIX").unwrap_or_else(|| "siftgram-".into()),
            tiers,
        })
    }
}

/// The router over DynamoDB and SQS (the queues exist: `migrate` made them).
pub async fn build(config: &Config, sdk: &aws_config::SdkConfig) -> Result<Router, BuildError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = Arc::new(DynamoTableStore::new(aws_sdk_dynamodb::Client::new(sdk), &config.table, clock.clone()));
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let open = |spec| {
        let sqs = sqs.clone();
        async move { Ok::<_, BuildError>(Arc::new(SqsQueue::open(&sqs, &config.resource_prefix, spec).await?) as Arc<dyn siftgram_core::ports::Queue>) }
    };
    let mut queues = Vec::new();
    for spec in queue_specs()? {
        queues.push(NamedQueue { name: spec.name.clone(), queue: open(spec.clone()).await?, dead_letters: open(spec.dead_letter()).await? });
    }
    let queue = |name: &str| NamedQueue::find(&queues, name).ok_or_else(|| BuildError::Config(format!("no {name} queue in the schema")));
    let services = ApiServices {
        repo: Repository::new(store, clock, config.tiers.clone()),
        commands: queue("commands")?,
        jobs: queue("jobs")?,
        retriever: None,
        web: None,
        queues,
        config: config.api.clone(),
    };
    Ok(siftgram_api::router(services))
}

/// One invocation. A REST API stage (`/prod/api/me`) is taken off the path first, so the routes
/// are the node's (`/api/me`).
pub async fn handle(router: &Router, mut request: Request) -> Result<Response<Body>, lambda_http::Error> {
    if let Some(RequestContext::ApiGatewayV1(context)) = request.request_context_ref()
        && let Some(stage) = context.stage.clone()
    {
        let uri = request.uri().clone();
        let prefix = format!("/{stage}");
        if let Some(rest) = uri.path().strip_prefix(&prefix).filter(|rest| rest.starts_with('/')) {
            let path_and_query = match uri.query() {
                Some(q) => format!("{rest}?{q}"),
                None => rest.to_owned(),
            };
            let mut parts = uri.into_parts();
            parts.path_and_query = Some(path_and_query.parse()?);
            *request.uri_mut() = lambda_http::http::Uri::from_parts(parts)?;
        }
    }
    let response = router.clone().oneshot(request).await?;
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, siftgram_api::MAX_BODY_BYTES * 64).await?;
    Ok(Response::from_parts(parts, Body::from(bytes.to_vec())))
}
