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
    /// The queues whose depths `/metrics` and `/health` report.
    pub queues: Arc<Vec<siftgram_api::NamedQueue>>,
    /// The index and embedder (standalone mode).
    pub search: Option<crate::search::SearchServices>,
    pub drives_sessions: bool,
    pub polls_bot: bool,
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
        match q.depths().await {
            Ok((messages, dead)) => siftgram_core::telemetry::queue_depth(&q.name, messages, dead),
            Err(e) => tracing::warn!(queue = %q.name, error = %e, "queue depth unavailable"),
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render()).into_response()
}

/// Each component's status and detail. 503 when the store or the index (what every answer
/// needs) is down; other trouble (a queue, the bot's polling) shows as `degraded`.
async fn health(State(state): State<HttpState>) -> Response {
    let mut components = serde_json::Map::new();
    let mut critical_down = false;
    let mut degraded = false;
    let mut put = |name: &str, status: &str, detail: serde_json::Value| {
        components.insert(name.into(), json!({"status": status, "detail": detail}));
    };

    match state.backend.store.get(&Key::new("meta#health", "probe")).await {
        Ok(_) => put("store", "ok", json!(state.backend.kind.as_str())),
        Err(e) => {
            tracing::warn!(error = %e, "health check: table store unavailable");
            critical_down = true;
            put("store", "down", json!("the table store does not answer"));
        }
    }
    match &state.search {
        Some(search) => match siftgram_core::ports::SearchIndex::count(&search.index).await {
            Ok(chunks) => put("index", "ok", json!(format!("{chunks} chunks"))),
            Err(e) => {
                tracing::warn!(error = %e, "health check: index unavailable");
                critical_down = true;
                put("index", "down", json!("the search index does not answer"));
            }
        },
        None => put("index", "elsewhere", json!("the indexer and Qdrant serve the index")),
    }
    match &state.search {
        Some(search) => {
            let e = &search.retriever.embedder;
            put("embedder", "ok", json!(format!("{} ({}-d)", e.model(), e.dimension())));
        }
        None => put("embedder", "elsewhere", json!("not used by this node")),
    }
    let mut queues = serde_json::Map::new();
    let mut queues_ok = true;
    for q in state.queues.iter() {
        match q.depths().await {
            Ok((messages, dead)) => {
                queues.insert(q.name.clone(), json!({"messages": messages, "dead_letters": dead}));
            }
            Err(e) => {
                tracing::warn!(queue = %q.name, error = %e, "health check: queue unavailable");
                queues_ok = false;
                queues.insert(q.name.clone(), json!("unavailable"));
            }
        }
    }
    degraded |= !queues_ok;
    put("queues", if queues_ok { "ok" } else { "degraded" }, serde_json::Value::Object(queues));
    match state.backend.repo.users_with_sessions().await {
        Ok(users) if state.drives_sessions => put("sessions", "ok", json!(format!("{} signed-in users", users.len()))),
        Ok(_) => put("sessions", "off", json!("SIFTGRAM_TELEGRAM is not set: this node drives no sessions")),
        Err(e) => {
            tracing::warn!(error = %e, "health check: sessions unreadable");
            degraded = true;
            put("sessions", "degraded", json!("the sessions cannot be read"));
        }
    }
    if state.polls_bot {
        let now = siftgram_core::Clock::now(&siftgram_core::SystemClock);
        match siftgram_bot::last_poll() {
            // A long poll waits 25 s for news; three missed in a row is trouble.
            Some(at) if now.0 - at.0 <= 90 => put("bot", "ok", json!(format!("last poll {} s ago", now.0 - at.0))),
            Some(at) => {
                degraded = true;
                put("bot", "degraded", json!(format!("no answer from Telegram for {} s", now.0 - at.0)));
            }
            None => {
                degraded = true;
                put("bot", "starting", json!("not polled yet"));
            }
        }
    } else {
        put("bot", "off", json!("no TELEGRAM_BOT_TOKEN, or the bot runs behind a webhook"));
    }
    let status = if critical_down { "down" } else if degraded { "degraded" } else { "ok" };
    let body = json!({
        "status": status,
        "backend": state.backend.kind.as_str(),
        "schema_version": state.schema_version,
        "version": env!("CARGO_PKG_VERSION"),
        "components": components,
    });
    let code = if critical_down { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
    (code, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::same_secret;

    /// A table store that has gone away.
    struct Gone;

    #[async_trait::async_trait]
    impl siftgram_core::ports::TableStore for Gone {
        async fn get(&self, _: &siftgram_core::ports::Key) -> Result<Option<siftgram_core::ports::Item>, siftgram_core::ports::StoreError> {
            Err(siftgram_core::ports::StoreError::Backend("gone".into()))
        }
        async fn put(&self, _: siftgram_core::ports::Item, _: siftgram_core::ports::Condition) -> Result<u64, siftgram_core::ports::StoreError> {
            Err(siftgram_core::ports::StoreError::Backend("gone".into()))
        }
        async fn delete(&self, _: &siftgram_core::ports::Key, _: siftgram_core::ports::Condition) -> Result<(), siftgram_core::ports::StoreError> {
            Err(siftgram_core::ports::StoreError::Backend("gone".into()))
        }
        async fn query(&self, _: siftgram_core::ports::Query) -> Result<siftgram_core::ports::Page, siftgram_core::ports::StoreError> {
            Err(siftgram_core::ports::StoreError::Backend("gone".into()))
        }
        async fn batch_write(&self, _: Vec<siftgram_core::ports::BatchOp>) -> Result<(), siftgram_core::ports::StoreError> {
            Err(siftgram_core::ports::StoreError::Backend("gone".into()))
        }
        async fn transact(&self, _: Vec<siftgram_core::ports::Write>) -> Result<(), siftgram_core::ports::StoreError> {
            Err(siftgram_core::ports::StoreError::Backend("gone".into()))
        }
    }

    #[tokio::test]
    async fn health_is_503_when_the_store_is_down() {
        use tower::ServiceExt;
        let dir = tempfile::tempdir().unwrap();
        let config = crate::Config::from_lookup(|_| None).unwrap();
        let db = siftgram_embedded::EmbeddedDb::open_dir(dir.path()).unwrap();
        let mut backend = crate::Backend::embedded(db, std::sync::Arc::new(siftgram_core::SystemClock), &config);
        backend.store = std::sync::Arc::new(Gone);
        let state = super::HttpState {
            backend,
            ops_token: "an-operator-token-0123".into(),
            schema_version: 2,
            metrics: siftgram_metrics::install().unwrap(),
            queues: Default::default(),
            search: None,
            drives_sessions: false,
            polls_bot: false,
        };
        let request = axum::http::Request::get("/health").header("Authorization", "Bearer an-operator-token-0123").body(axum::body::Body::empty()).unwrap();
        let response = super::router(state, None).oneshot(request).await.unwrap();
        assert_eq!(response.status(), 503);
        let body: serde_json::Value = serde_json::from_slice(&axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap()).unwrap();
        assert_eq!((body["status"].as_str(), body["components"]["store"]["status"].as_str()), (Some("down"), Some("down")));
    }

    #[test]
    fn secrets_match_only_exactly() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abd", b"abc"));
        assert!(!same_secret(b"ab", b"abc"));
        assert!(!same_secret(b"", b"abc"));
    }
}
