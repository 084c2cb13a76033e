//! The demo chat page and what it calls: `/demo` (the page), `/demo/api/*` (the chat as the
//! fake Bot API holds it, sending a message, pressing a button, opening a Mini App with signed
//! launch data, the phone's scan, a cited post). Every `/demo/api` call needs the page's key.

use crate::{DEMO_USER, Demo};
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use siftgram_core::model::ChannelId;
use siftgram_core::repo::{LoginState, Repository};
use std::sync::Arc;
use std::time::Duration;

const PAGE: &str = include_str!("../page/demo.html");
const SCRIPT: &str = include_str!("../page/demo.js");
const STYLE: &str = include_str!("../page/demo.css");

/// The page frames the node's own Mini App pages and calls only this origin.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'";

/// Telegram's light theme, as a client sends it to a Mini App.
const LIGHT_THEME: &str = r##"{"bg_color":"#ffffff","text_color":"#000000","hint_color":"#707579","link_color":"#3390ec","button_color":"#3390ec","button_text_color":"#ffffff","secondary_bg_color":"#f4f4f5","destructive_text_color":"#e53935"}"##;

/// The longest a page's wait for the next change is held open.
const LONG_POLL: Duration = Duration::from_secs(25);
/// The longest message the page sends (Telegram's own limit for a message).
const MAX_TEXT: usize = 4096;

#[derive(Clone)]
struct DemoState {
    demo: Arc<Demo>,
    repo: Repository,
    /// Where the node serves its Mini App pages (`http://<addr>/miniapp`).
    miniapp: String,
    /// The invite code made for this run.
    invite: String,
}

/// The page and its API, for the node to serve beside its own routes.
pub fn router(demo: Arc<Demo>, repo: Repository, miniapp: &str, invite: &str) -> Router {
    let state = DemoState { demo, repo, miniapp: miniapp.trim_end_matches('/').to_owned(), invite: invite.to_owned() };
    let api = Router::new()
        .route("/demo/api/about", get(about))
        .route("/demo/api/chat", get(chat))
        .route("/demo/api/say", post(say))
        .route("/demo/api/press", post(press))
        .route("/demo/api/launch", post(launch))
        .route("/demo/api/scan", post(scan))
        .route("/demo/api/post", get(cited_post))
        .layer(middleware::from_fn_with_state(state.clone(), require_key))
        .with_state(state);
    Router::new()
        .route("/demo", get(|| async { asset(PAGE, "text/html; charset=utf-8") }))
        .route("/demo/demo.js", get(|| async { asset(SCRIPT, "text/javascript; charset=utf-8") }))
        .route("/demo/demo.css", get(|| async { asset(STYLE, "text/css; charset=utf-8") }))
        .merge(api)
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

fn refuse(status: StatusCode, error: &str, message: &str) -> Response {
    (status, Json(json!({"error": error, "message": message}))).into_response()
}

/// A custom header: a page of another origin cannot send it without a CORS preflight, which
/// this router never grants.
async fn require_key(State(state): State<DemoState>, request: Request, next: Next) -> Response {
    let given = request.headers().get("x-demo-key").and_then(|v| v.to_str().ok()).unwrap_or("");
    let expected = state.demo.key.as_bytes();
    let same = given.len() == expected.len() && given.bytes().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    if !same {
        return refuse(StatusCode::UNAUTHORIZED, "no_demo_key", "open the demo from the link `siftgram demo` printed");
    }
    next.run(request).await
}

/// What the page tells a newcomer: this run's invite code, the sample channels, the password.
async fn about(State(state): State<DemoState>) -> Response {
    Json(json!({"invite": state.invite, "channels": channels(&state.demo), "password": crate::DEMO_PASSWORD})).into_response()
}

fn channels(demo: &Demo) -> Vec<Value> {
    demo.channels.iter().map(|(username, title)| json!({"username": username, "title": title})).collect()
}

#[derive(Deserialize)]
struct ChatQuery {
    /// The version the page shows; the answer waits for a newer one.
    #[serde(default)]
    after: Option<u64>,
}

/// The chat with the bot as a Telegram client shows it (edits applied, deletions gone), once
/// something changed after `after`.
async fn chat(State(state): State<DemoState>, Query(q): Query<ChatQuery>) -> Response {
    let telegram = &state.demo.telegram;
    let version = match q.after {
        Some(seen) => telegram.changed_after(seen, LONG_POLL).await,
        None => telegram.version(),
    };
    let messages: Vec<Value> = telegram
        .chat(DEMO_USER)
        .into_iter()
        .map(|m| {
            json!({
                "id": m.message_id,
                "from_bot": m.from_bot,
                "text": m.text,
                "html": m.html,
                "edited": m.edited,
                "date": m.date,
                "keyboard": m.reply_markup.as_ref().map(|k| k["inline_keyboard"].clone()),
            })
        })
        .collect();
    Json(json!({
        "version": version,
        "typing": telegram.is_typing(DEMO_USER, Duration::from_secs(5)),
        "messages": messages,
    }))
    .into_response()
}

#[derive(Deserialize)]
struct Say {
    text: String,
    #[serde(default)]
    lang: Option<String>,
}

fn language(lang: Option<&str>) -> &'static str {
    if lang == Some("en") { "en" } else { "ru" }
}

fn demo_user(state: &DemoState, lang: Option<&str>) -> siftgram_fake_telegram::FakeUser {
    state.demo.telegram.user(DEMO_USER, language(lang)).named(if language(lang) == "en" { "Demo" } else { "Демо" })
}

/// The user sends a message to the bot.
async fn say(State(state): State<DemoState>, Json(body): Json<Say>) -> Response {
    let text = body.text.trim();
    if text.is_empty() {
        return refuse(StatusCode::BAD_REQUEST, "empty", "type a message first");
    }
    if text.chars().count() > MAX_TEXT {
        return refuse(StatusCode::BAD_REQUEST, "too_long", "a Telegram message holds at most 4096 characters");
    }
    let update = demo_user(&state, body.lang.as_deref()).says(text);
    state.demo.telegram.push_update(update);
    Json(json!({"sent": true})).into_response()
}

#[derive(Deserialize)]
struct Press {
    message_id: i32,
    data: String,
    #[serde(default)]
    lang: Option<String>,
}

/// The user presses an inline button of one of the bot's messages.
async fn press(State(state): State<DemoState>, Json(body): Json<Press>) -> Response {
    let shown = state.demo.telegram.chat(DEMO_USER).into_iter().find(|m| m.message_id == body.message_id && m.from_bot);
    let Some(message) = shown else {
        return refuse(StatusCode::NOT_FOUND, "no_message", "that message is no longer in the chat");
    };
    if !message.buttons().iter().any(|(_, data)| *data == body.data) {
        return refuse(StatusCode::BAD_REQUEST, "no_button", "that message has no such button");
    }
    let update = demo_user(&state, body.lang.as_deref()).presses(body.message_id, &body.data);
    state.demo.telegram.push_update(update);
    Json(json!({"pressed": true})).into_response()
}

#[derive(Deserialize)]
struct Launch {
    url: String,
    #[serde(default)]
    lang: Option<String>,
}

/// A Mini App button's page with launch parameters signed as Telegram signs them (the fake
/// bot's token), in Telegram's light theme. Only the node's own Mini App pages.
async fn launch(State(state): State<DemoState>, Json(body): Json<Launch>) -> Response {
    let own = body.url.strip_prefix(&state.miniapp).is_some_and(|rest| rest.starts_with('/') && !rest.contains(['#', '?']));
    if !own {
        return refuse(StatusCode::BAD_REQUEST, "not_a_mini_app", "only this node's Mini App pages open in the demo");
    }
    let lang = language(body.lang.as_deref());
    let user = json!({"id": DEMO_USER, "first_name": if lang == "en" { "Demo" } else { "Демо" }, "username": "demo_reader", "language_code": lang}).to_string();
    let now = siftgram_core::Clock::now(&siftgram_core::SystemClock).0;
    let init_data = siftgram_api::auth::sign_init_data(&user, now, siftgram_fake_telegram::FakeTelegram::TOKEN);
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let url = format!("{}#tgWebAppData={}&tgWebAppVersion=8.0&tgWebAppPlatform=web&tgWebAppThemeParams={}", body.url, enc(&init_data), enc(LIGHT_THEME));
    Json(json!({"url": url})).into_response()
}

/// The phone scans the QR code the sign-in page shows now (the recorded account).
async fn scan(State(state): State<DemoState>) -> Response {
    match state.repo.login_state(Demo::user_id()).await {
        Ok(Some(LoginState::Waiting { url, .. })) => {
            state.demo.world.scan(&url, DEMO_USER);
            Json(json!({"scanned": true, "password": crate::DEMO_PASSWORD})).into_response()
        }
        Ok(_) => refuse(StatusCode::CONFLICT, "no_qr_code", "no QR code is waiting: send /login with the invite code, then open the sign-in page"),
        Err(e) => refuse(StatusCode::SERVICE_UNAVAILABLE, "store", &e.to_string()),
    }
}

#[derive(Deserialize)]
struct PostQuery {
    channel: String,
    id: i64,
}

/// A post a citation links to (`t.me/<channel>/<id>`), as the recorded channel has it now.
async fn cited_post(State(state): State<DemoState>, Query(q): Query<PostQuery>) -> Response {
    let username = q.channel.trim_start_matches('@');
    let found = state.demo.channels.iter().any(|(u, _)| u == username).then(|| sample_channel_id(username)).flatten().and_then(|channel| state.demo.world.message(channel, q.id));
    match found {
        Some((title, message)) => Json(json!({"channel": username, "title": title, "id": message.id, "date": message.date.0, "text": message.text})).into_response(),
        None => refuse(StatusCode::NOT_FOUND, "no_post", "no such post in the sample channels"),
    }
}

fn sample_channel_id(username: &str) -> Option<ChannelId> {
    crate::sample::USERNAMES.iter().find(|(_, u)| *u == username).and_then(|(id, _)| ChannelId::new(*id).ok())
}
