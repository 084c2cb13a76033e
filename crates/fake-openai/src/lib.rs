//! A fake OpenAI-compatible server: `POST /v1/embeddings` (deterministic unit vectors derived
//! from the text, so equal texts embed equally) and `POST /v1/chat/completions` (scripted
//! answers, in order). Every request is recorded; failures (status, optional `Retry-After`) can
//! be queued. Requests without the expected bearer key get 401, as real providers answer.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

#[derive(Clone, Debug)]
pub struct Recorded {
    pub path: String,
    pub body: Value,
}

/// A failure the next request returns.
#[derive(Clone, Debug)]
pub struct Failure {
    pub status: u16,
    pub retry_after: Option<u64>,
}

#[derive(Default)]
struct Inner {
    requests: Vec<Recorded>,
    failures: VecDeque<Failure>,
    chat_answers: VecDeque<String>,
}

#[derive(Clone)]
struct Shared {
    inner: Arc<Mutex<Inner>>,
    dimension: usize,
    api_key: Arc<str>,
}

pub struct FakeOpenAi {
    url: String,
    shared: Shared,
    _stop: oneshot::Sender<()>,
}

pub const API_KEY: &str = "sk-fake-test-key";

/// A unit vector for `text`: FNV-seeded pseudo-random components.
pub fn vector_for(text: &str, dimension: usize) -> Vec<f32> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let v: Vec<f32> = (0..dimension)
        .map(|_| {
            h = h.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ((h >> 33) % 2000) as f32 / 1000.0 - 1.0
        })
        .collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
    v.into_iter().map(|x| x / n).collect()
}

impl FakeOpenAi {
    pub async fn start(dimension: usize) -> std::io::Result<FakeOpenAi> {
        let shared = Shared { inner: Arc::default(), dimension, api_key: API_KEY.into() };
        let app = Router::new()
            .route("/v1/embeddings", post(embeddings))
            .route("/v1/chat/completions", post(chat))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/v1", listener.local_addr()?);
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stopped.await;
            }).await;
        });
        Ok(FakeOpenAi { url, shared, _stop: stop })
    }

    /// The base URL (`http://127.0.0.1:<port>/v1`).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.inner.lock().expect("lock").requests.clone()
    }

    pub fn fail_next(&self, status: u16, retry_after: Option<u64>) {
        self.shared.inner.lock().expect("lock").failures.push_back(Failure { status, retry_after });
    }

    /// The next chat completion answers `content`.
    pub fn answer_next(&self, content: &str) {
        self.shared.inner.lock().expect("lock").chat_answers.push_back(content.to_owned());
    }
}

/// Records the request; Err is the response to give instead of an answer.
fn intake(shared: &Shared, path: &str, headers: &HeaderMap, body: &str) -> Result<Value, Box<Response>> {
    let authorized = headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {}", shared.api_key));
    let parsed: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let mut inner = shared.inner.lock().expect("lock");
    inner.requests.push(Recorded { path: path.to_owned(), body: parsed.clone() });
    if !authorized {
        return Err(Box::new((StatusCode::UNAUTHORIZED, axum::Json(json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}))).into_response()));
    }
    if let Some(f) = inner.failures.pop_front() {
        let mut response = (StatusCode::from_u16(f.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), axum::Json(json!({"error": {"message": "injected failure"}}))).into_response();
        if let Some(secs) = f.retry_after {
            response.headers_mut().insert("retry-after", secs.to_string().parse().expect("digits"));
        }
        return Err(Box::new(response));
    }
    if parsed.is_null() {
        return Err(Box::new((StatusCode::BAD_REQUEST, axum::Json(json!({"error": {"message": "body is not JSON"}}))).into_response()));
    }
    Ok(parsed)
}

async fn embeddings(State(shared): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let request = match intake(&shared, "/v1/embeddings", &headers, &body) {
        Ok(r) => r,
        Err(response) => return *response,
    };
    let inputs: Vec<String> = match &request["input"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    };
    let data: Vec<Value> = inputs.iter().enumerate().map(|(i, t)| json!({"object": "embedding", "index": i, "embedding": vector_for(t, shared.dimension)})).collect();
    axum::Json(json!({"object": "list", "data": data, "model": request["model"], "usage": {"prompt_tokens": 0, "total_tokens": 0}})).into_response()
}

async fn chat(State(shared): State<Shared>, headers: HeaderMap, body: String) -> Response {
    if let Err(response) = intake(&shared, "/v1/chat/completions", &headers, &body) {
        return *response;
    }
    let content = shared.inner.lock().expect("lock").chat_answers.pop_front().unwrap_or_default();
    axum::Json(json!({
        "id": "chatcmpl-fake", "object": "chat.completion", "model": "fake",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    }))
    .into_response()
}
