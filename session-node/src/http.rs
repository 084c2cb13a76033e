//! The node's HTTP endpoints: `/health` for the operator (bearer token), and the API and Mini
//! App pages of `siftgram-api`.

use crate::backend::Backend;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use siftgram_core::ports::Key;
use std::sync::Arc;

#[derive(Clone)]
pub struct HttpState {
    pub backend: Backend,
    pub ops_token: Arc<str>,
    pub schema_version: u32,
    /// Renders this process's metrics (`GET /metrics`).
    pub metrics: siftgram_metrics::MetricsHandle,
    /// The queues whose depths `/metrics` reports.
    pub queues: Arc<Vec<siftgram_api::NamedQueue>>,
}

/// The operator endpoints (ops token), the Mini App pages (public: they hold no data) and,
/// with a bot token, the API under `/api` (each caller proven by the API itself).
pub fn router(state: HttpState, api: Option<siftgram_api::ApiServices>) -> Router {
    let ops = Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .layer(middleware::from_fn_with_state(state.clone(), require_ops_token))
        .with_state(state);
    let app = ops.merge(siftgram_api::miniapp::router());
    match api {
        Some(api) => app.merge(siftgram_api::router(api)),
        None => app,
    }
}

/// Compares in constant time for equal lengths, so the token cannot be guessed byte by byte.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len() && given.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

async fn require_ops_token(State(state): State<HttpState>, request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !same_secret(given.as_bytes(), state.ops_token.as_bytes()) {
        let body = axum::Json(json!({"error": "missing or wrong bearer token"}));
        return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], body).into_response();
    }
    next.run(request).await
}

/// Prometheus text, behind the operator token like `/health` (scrapers send it as a bearer
/// token). Queue depths are sampled now.
async fn metrics(State(state): State<HttpState>) -> Response {
    for q in state.queues.iter() {
        match (q.queue.approximate_len().await, q.dead_letters.approximate_len().await) {
            (Ok(messages), Ok(dead)) => siftgram_core::telemetry::queue_depth(&q.name, messages, dead),
            (Err(e), _) | (_, Err(e)) => tracing::warn!(queue = %q.name, error = %e, "queue depth unavailable"),
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render()).into_response()
}

/// Healthy when the table store answers; reports the backend and schema version.
async fn health(State(state): State<HttpState>) -> Response {
    let probe = state.backend.store.get(&Key::new("meta#health", "probe")).await;
    let (status, store) = match probe {
        Ok(_) => (StatusCode::OK, "ok".to_string()),
        Err(e) => {
            tracing::warn!(error = %e, "health check: table store unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable".to_string())
        }
    };
    let body = json!({
        "status": if status == StatusCode::OK { "ok" } else { "degraded" },
        "backend": state.backend.kind.as_str(),
        "schema_version": state.schema_version,
        "table_store": store,
        "version": env!("CARGO_PKG_VERSION"),
    });
    (status, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::same_secret;

    #[test]
    fn secrets_match_only_exactly() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abd", b"abc"));
        assert!(!same_secret(b"ab", b"abc"));
        assert!(!same_secret(b"", b"abc"));
    }
}
