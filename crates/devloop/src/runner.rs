//! Every function of the cloud shape served in one process over LocalStack: the bot and the API
//! behind the API Gateway stand-in, the indexer and the worker behind the event-source bridge
//! (one mapping per `infra/functions.json` entry), the scheduler on its declared rate. Each is
//! the function crate's own `build` + `handle`, as its Lambda `main` runs it. The functions reach
//! their index as deployed, through the Qdrant adapter's gRPC, here served by the dev loop's
//! Qdrant stand-in (`crate::qdrant`) over one embedded index.

use crate::{ApiGateway, EventSourceBridge, HttpFunction, SqsFunction};
use async_trait::async_trait;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use siftgram_core::schema::functions;
use siftgram_search::EmbeddedIndex;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

struct Bot(siftgram_bot::BotService);
struct Api(axum::Router);
struct Indexer(siftgram_core::indexing::Indexer);
struct Worker(siftgram_fn_worker::Services);

#[async_trait]
impl HttpFunction for Bot {
    async fn call(&self, request: lambda_http::Request) -> Result<lambda_http::Response<lambda_http::Body>, String> {
        siftgram_fn_bot::handle(&self.0, request).await.map_err(|e| e.to_string())
    }
}

#[async_trait]
impl HttpFunction for Api {
    async fn call(&self, request: lambda_http::Request) -> Result<lambda_http::Response<lambda_http::Body>, String> {
        siftgram_fn_api::handle(&self.0, request).await.map_err(|e| e.to_string())
    }
}

#[async_trait]
impl SqsFunction for Indexer {
    async fn invoke(&self, event: SqsEvent) -> Result<SqsBatchResponse, String> {
        Ok(siftgram_fn_indexer::handle(&self.0, event).await)
    }
}

#[async_trait]
impl SqsFunction for Worker {
    async fn invoke(&self, event: SqsEvent) -> Result<SqsBatchResponse, String> {
        Ok(siftgram_fn_worker::handle(&self.0, event).await)
    }
}

/// Names the function that would not build.
fn failed<E: std::fmt::Display>(function: &'static str) -> impl Fn(E) -> String {
    move |e| format!("the {function} function: {e}")
}

pub struct RunningFunctions {
    /// Where the API Gateway stand-in listens (`/telegram`, `/api/...`).
    pub gateway_url: String,
    /// The Qdrant stand-in's gRPC URL (what the functions get as `SIFTGRAM_QDRANT_URL`).
    pub qdrant_url: String,
    /// The index behind the stand-in.
    pub index: EmbeddedIndex,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningFunctions {
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Builds every function from `env` (the variables each Lambda gets: `SIFTGRAM_TABLE`,
/// `SIFTGRAM_RESOURCE_PREFIX`, `TELEGRAM_BOT_TOKEN`, `SIFTGRAM_WEBHOOK_SECRET`, …) and serves
/// them: the gateway on `gateway_addr`, the Qdrant stand-in on `qdrant_addr` over the index in
/// `index_dir`.
pub async fn start(
    sdk: &aws_config::SdkConfig,
    env: impl Fn(&str) -> Option<String>,
    gateway_addr: SocketAddr,
    qdrant_addr: SocketAddr,
    index_dir: &Path,
) -> Result<RunningFunctions, String> {
    let (stop, stopped) = watch::channel(false);
    let mut tasks = Vec::new();
    let index = EmbeddedIndex::open_dir(index_dir).map_err(|e| format!("the index: {e}"))?;
    let collection = env("SIFTGRAM_QDRANT_COLLECTION").filter(|c| !c.trim().is_empty()).unwrap_or_else(|| "siftgram_posts".into());
    let listener = std::net::TcpListener::bind(qdrant_addr).map_err(|e| format!("the Qdrant stand-in on {qdrant_addr}: {e}"))?;
    let mut stop_qdrant = stopped.clone();
    let shutdown = async move {
        let _ = stop_qdrant.wait_for(|s| *s).await;
    };
    let (qdrant_url, task) = crate::qdrant::spawn(index.clone(), &collection, listener, shutdown).map_err(|e| format!("the Qdrant stand-in: {e}"))?;
    tasks.push(task);
    let env = |name: &str| match name {
        "SIFTGRAM_QDRANT_URL" => Some(qdrant_url.clone()),
        "SIFTGRAM_QDRANT_COLLECTION" => Some(collection.clone()),
        _ => env(name),
    };

    let bot = siftgram_fn_bot::build(&siftgram_fn_bot::Config::from_lookup(&env).map_err(failed("bot"))?, sdk).await.map_err(failed("bot"))?;
    let api = siftgram_fn_api::build(&siftgram_fn_api::Config::from_lookup(&env).map_err(failed("api"))?, sdk).await.map_err(failed("api"))?;
    let indexer_config = siftgram_fn_indexer::Config::from_lookup(&env).map_err(failed("indexer"))?;
    let indexer = siftgram_fn_indexer::build(&indexer_config, sdk, &env).await.map_err(failed("indexer"))?;
    let worker = siftgram_fn_worker::build(siftgram_fn_worker::Config::from_lookup(&env).map_err(failed("worker"))?, sdk, &env).await.map_err(failed("worker"))?;
    let scheduler = siftgram_fn_scheduler::build(sdk, &env).await.map_err(failed("scheduler"))?;

    let gateway = ApiGateway::from_manifest("dev", &[("bot", Arc::new(Bot(bot)) as Arc<dyn HttpFunction>), ("api", Arc::new(Api(api)))])?;
    let listener = tokio::net::TcpListener::bind(gateway_addr).await.map_err(|e| format!("the gateway on {gateway_addr}: {e}"))?;
    let gateway_url = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    let mut stop_serving = stopped.clone();
    tasks.push(tokio::spawn(async move {
        let serve = axum::serve(listener, gateway.router().into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(async move {
            let _ = stop_serving.wait_for(|s| *s).await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "the gateway stand-in failed");
        }
    }));

    let bridge = EventSourceBridge::new(sdk, &indexer_config.resource_prefix);
    let (indexer, worker): (Arc<dyn SqsFunction>, Arc<dyn SqsFunction>) = (Arc::new(Indexer(indexer)), Arc::new(Worker(worker)));
    for mapping in bridge.shipped_mappings().await.map_err(|e| e.to_string())? {
        let function = match mapping.function.as_str() {
            "indexer" => indexer.clone(),
            "worker" => worker.clone(),
            other => return Err(format!("infra/functions.json maps a queue to {other:?}, which the dev loop does not run")),
        };
        tasks.push(bridge.spawn(mapping, function, stopped.clone()));
    }

    let every = functions().map_err(|e| e.to_string())?.into_iter().find_map(|f| f.schedule).map_or(60, |s| u64::from(s.every_minutes) * 60);
    let mut stop_ticking = stopped.clone();
    tasks.push(tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(every)) => {}
                _ = stop_ticking.wait_for(|s| *s) => return,
            }
            let event = serde_json::json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
            if let Err(e) = siftgram_fn_scheduler::handle(&scheduler, event).await {
                tracing::error!(error = %e, "scheduled run failed");
            }
        }
    }));
    Ok(RunningFunctions { gateway_url, qdrant_url, index, stop, tasks })
}
