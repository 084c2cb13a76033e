//! Siftgram's HTTP API: one axum [`Router`] for the Mini Apps (login, the user's own data),
//! the admin panel and automation (API keys), served by `functions/api` behind API Gateway and
//! by the standalone node under `/api`. The OpenAPI document is generated from the handlers
//! themselves (`/api/openapi.json`), so it cannot leave a route out.
//!
//! Every route authenticates its caller (see [`auth`]); errors are JSON
//! `{"error": code, "message": …}` ([`ApiError`]); bad input writes nothing.

pub mod auth;
mod config;
mod cors;
mod error;
mod extract;
pub mod miniapp;
mod openapi;
mod qr;
mod routes;

pub use auth::api_keys::{hex, random};
pub use config::{ApiConfig, ApiConfigError};
pub use error::{ApiError, ErrorBody};
pub use openapi::openapi;

use axum::Router;
use siftgram_core::ports::{Queue, WebSearch};
use siftgram_core::repo::Repository;
use siftgram_core::retrieval::Retriever;
use std::sync::Arc;

/// Largest request body accepted (a question, a password, digest settings: all far smaller).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What the handlers work with, built once per process.
pub struct ApiServices {
    pub repo: Repository,
    /// Work for the session node (FIFO, grouped by user): logins, channels, sign-out.
    pub commands: Arc<dyn Queue>,
    /// Slow requests for the workers (`/api/ask`).
    pub jobs: Arc<dyn Queue>,
    /// The hybrid retriever for `/api/search`; None where this process has no index (the
    /// route then answers 503).
    pub retriever: Option<Arc<Retriever>>,
    pub web: Option<Arc<dyn WebSearch>>,
    /// The queues the admin statistics report on.
    pub queues: Vec<NamedQueue>,
    pub config: ApiConfig,
}

/// A queue and its dead letters, by name (for the admin statistics, metrics and health).
#[derive(Clone)]
pub struct NamedQueue {
    pub name: String,
    pub queue: Arc<dyn Queue>,
    pub dead_letters: Arc<dyn Queue>,
}

impl NamedQueue {
    /// The queue called `name` among `queues`.
    pub fn find(queues: &[NamedQueue], name: &str) -> Option<Arc<dyn Queue>> {
        queues.iter().find(|q| q.name == name).map(|q| q.queue.clone())
    }

    /// Messages waiting or in flight, and dead letters (approximate on SQS).
    pub async fn depths(&self) -> Result<(usize, usize), siftgram_core::ports::QueueError> {
        Ok((self.queue.approximate_len().await?, self.dead_letters.approximate_len().await?))
    }
}

pub type ApiState = Arc<ApiServices>;

/// The API's routes, all under `/api`.
pub fn router(services: ApiServices) -> Router {
    routes::router(Arc::new(services))
}
