//! Fakes for the web: `FakeSearxng` answers `GET /search?format=json` with scripted (or derived)
//! results, can require basic auth and can be taken down; `WebhookReceiver` records every POST
//! (headers and raw body) and answers with a settable status.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

async fn serve(app: Router) -> std::io::Result<(String, oneshot::Sender<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = stopped.await;
        }).await;
    });
    Ok((url, stop))
}

#[derive(Default)]
struct SearxState {
    queries: Vec<HashMap<String, String>>,
    results: HashMap<String, Vec<Value>>,
    down: bool,
    basic_auth: Option<String>,
}

pub struct FakeSearxng {
    url: String,
    state: Arc<Mutex<SearxState>>,
    _stop: oneshot::Sender<()>,
}

impl FakeSearxng {
    pub async fn start() -> std::io::Result<FakeSearxng> {
        let state = Arc::new(Mutex::new(SearxState::default()));
        let app = Router::new().route("/search", get(search)).with_state(state.clone());
        let (url, stop) = serve(app).await?;
        Ok(FakeSearxng { url, state, _stop: stop })
    }
    pub fn url(&self) -> &str {
        &self.url
    }
    /// The results for `query` (title, url, content); other queries get two derived pages.
    pub fn results_for(&self, query: &str, results: &[(&str, &str, &str)]) {
        let list = results.iter().map(|(t, u, c)| json!({"title": t, "url": u, "content": c, "engine": "fake"})).collect();
        self.state.lock().unwrap().results.insert(query.to_owned(), list);
    }
    /// While down, every request gets 502 (as behind a proxy whose upstream died).
    pub fn set_down(&self, down: bool) {
        self.state.lock().unwrap().down = down;
    }
    pub fn require_basic_auth(&self, user: &str, password: &str) {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.state.lock().unwrap().basic_auth = Some(format!("Basic {token}"));
    }
    /// The query parameters of every request so far.
    pub fn queries(&self) -> Vec<HashMap<String, String>> {
        self.state.lock().unwrap().queries.clone()
    }
}

async fn search(State(state): State<Arc<Mutex<SearxState>>>, headers: HeaderMap, Query(params): Query<HashMap<String, String>>) -> Response {
    let mut s = state.lock().unwrap();
    s.queries.push(params.clone());
    if s.down {
        return (StatusCode::BAD_GATEWAY, "upstream down").into_response();
    }
    if let Some(expected) = &s.basic_auth
        && headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str())
    {
        return (StatusCode::UNAUTHORIZED, "auth required").into_response();
    }
    if params.get("format").map(String::as_str) != Some("json") {
        return (StatusCode::FORBIDDEN, "format not allowed").into_response();
    }
    let q = params.get("q").cloned().unwrap_or_default();
    let results = s.results.get(&q).cloned().unwrap_or_else(|| {
        let slug: String = q.chars().map(|c| if c.is_alphanumeric() { c } else { '-' }).collect();
        (1..=2).map(|i| json!({"title": format!("{q} — page {i}"), "url": format!("https://example.org/{slug}/{i}"), "content": format!("About {q}."), "engine": "fake"})).collect()
    });
    axum::Json(json!({"query": q, "number_of_results": results.len(), "results": results})).into_response()
}

/// One webhook delivery as the receiver got it.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Delivery {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("webhook body is JSON")
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

#[derive(Default)]
struct ReceiverState {
    got: Vec<Delivery>,
    status: u16,
}

pub struct WebhookReceiver {
    url: String,
    state: Arc<Mutex<ReceiverState>>,
    _stop: oneshot::Sender<()>,
}

impl WebhookReceiver {
    pub async fn start() -> std::io::Result<WebhookReceiver> {
        let state = Arc::new(Mutex::new(ReceiverState { got: Vec::new(), status: 200 }));
        let app = Router::new().route("/hook", post(receive)).with_state(state.clone());
        let (url, stop) = serve(app).await?;
        Ok(WebhookReceiver { url: format!("{url}/hook"), state, _stop: stop })
    }
    pub fn url(&self) -> &str {
        &self.url
    }
    /// The status every delivery gets from now on (recorded either way).
    pub fn answer_with(&self, status: u16) {
        self.state.lock().unwrap().status = status;
    }
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.state.lock().unwrap().got.clone()
    }
}

async fn receive(State(state): State<Arc<Mutex<ReceiverState>>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let mut s = state.lock().unwrap();
    let headers = headers.iter().map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned())).collect();
    s.got.push(Delivery { headers, body: body.to_vec() });
    StatusCode::from_u16(s.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}
