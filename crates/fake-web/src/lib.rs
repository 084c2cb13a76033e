//! Fakes for the web: `FakeSearxng` answers `GET /search?format=json` with scripted (or derived)
//! results, can require basic auth and can be taken down; `WebhookReceiver` records every POST
//! (headers and raw body) and answers with a settable status; `FakeSite` serves scripted pages,
//! redirects and a robots.txt, and records every path asked for.

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

/// What `FakeSite` answers for one path.
#[derive(Clone, Debug)]
enum Page {
    Body { status: u16, content_type: String, body: Vec<u8> },
    Redirect(String),
}

#[derive(Default)]
struct SiteState {
    pages: HashMap<String, Page>,
    requested: Vec<String>,
}

/// A web site on loopback: `page`, `redirect` and `robots` script it, `requested` tells what was
/// fetched (path and query). Unscripted paths are 404s.
pub struct FakeSite {
    addr: std::net::SocketAddr,
    state: Arc<Mutex<SiteState>>,
    _stop: oneshot::Sender<()>,
}

impl FakeSite {
    pub async fn start() -> std::io::Result<FakeSite> {
        let state = Arc::new(Mutex::new(SiteState::default()));
        let app = Router::new().fallback(site).with_state(state.clone());
        let (url, stop) = serve(app).await?;
        let addr = url.trim_start_matches("http://").parse().expect("a socket address");
        Ok(FakeSite { addr, state, _stop: stop })
    }
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }
    pub fn port(&self) -> u16 {
        self.addr.port()
    }
    /// `path` (with its query, if any) answers 200 with this body.
    pub fn page(&self, path: &str, content_type: &str, body: impl Into<Vec<u8>>) {
        self.respond(path, 200, content_type, body);
    }
    pub fn respond(&self, path: &str, status: u16, content_type: &str, body: impl Into<Vec<u8>>) {
        let page = Page::Body { status, content_type: content_type.to_owned(), body: body.into() };
        self.state.lock().unwrap().pages.insert(path.to_owned(), page);
    }
    /// `path` answers 302 to `location`.
    pub fn redirect(&self, path: &str, location: &str) {
        self.state.lock().unwrap().pages.insert(path.to_owned(), Page::Redirect(location.to_owned()));
    }
    pub fn robots(&self, text: &str) {
        self.page("/robots.txt", "text/plain", text);
    }
    /// Every path asked for so far, in order.
    pub fn requested(&self) -> Vec<String> {
        self.state.lock().unwrap().requested.clone()
    }
}

async fn site(State(state): State<Arc<Mutex<SiteState>>>, uri: axum::http::Uri) -> Response {
    let path = uri.path_and_query().map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned());
    let mut s = state.lock().unwrap();
    s.requested.push(path.clone());
    match s.pages.get(&path).cloned() {
        Some(Page::Body { status, content_type, body }) => {
            (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), [(axum::http::header::CONTENT_TYPE, content_type)], body).into_response()
        }
        Some(Page::Redirect(location)) => (StatusCode::FOUND, [(axum::http::header::LOCATION, location)]).into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
