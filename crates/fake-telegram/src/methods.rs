//! The Bot API methods the bot uses, with Telegram's result shapes and error texts.

use crate::state::{Call, Failure, SentMessage, State};
use crate::updates::now;
use crate::{BOT_USER_ID, BOT_USERNAME, Shared, html};
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const MAX_TEXT_CHARS: usize = 4096;
/// Telegram's caps on inline keyboards (not in the Bot API docs; what the servers answer).
const MAX_KEYBOARD_BUTTONS: usize = 100;
const MAX_CALLBACK_DATA_BYTES: usize = 64;
const NOT_MODIFIED: &str = "Bad Request: message is not modified: specified new message content and reply markup are \
                            exactly the same as a current content and reply markup of the message";

type Reply = Result<Value, (u16, String, Option<Value>)>;

fn bad(description: &str) -> (u16, String, Option<Value>) {
    (400, description.to_owned(), None)
}

fn respond(reply: Reply) -> Response {
    match reply {
        Ok(result) => (StatusCode::OK, axum::Json(json!({"ok": true, "result": result}))).into_response(),
        Err((code, description, parameters)) => {
            let mut body = json!({"ok": false, "error_code": code, "description": description});
            if let Some(p) = parameters {
                body["parameters"] = p;
            }
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
            (status, axum::Json(body)).into_response()
        }
    }
}

pub async fn handle(
    AxState(shared): AxState<Shared>,
    Path((bot_token, method)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if bot_token.strip_prefix("bot") != Some(&*shared.token) {
        return respond(Err((401, "Unauthorized".into(), None)));
    }
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    let params: Value = if body.is_empty() {
        json!({})
    } else if let Some(boundary) = content_type.split("boundary=").nth(1).filter(|_| content_type.starts_with("multipart/form-data")) {
        match multipart_params(&body, boundary.trim_matches('"')) {
            Some(v) => v,
            None => return respond(Err(bad("Bad Request: can't parse multipart/form-data"))),
        }
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) => return respond(Err(bad("Bad Request: invalid JSON in the request body"))),
        }
    };
    let method_lc = method.to_ascii_lowercase();
    if method_lc == "getupdates" {
        return respond(get_updates(&shared, &params).await);
    }
    let mut state = shared.state.lock().expect("fake state lock");
    state.calls.push(Call { method: method.clone(), params: params.clone(), at: Instant::now() });
    if let Some(failure) = state.take_failure(&method_lc).filter(|f| !matches!(f, Failure::Pass)) {
        return respond(Err(match failure {
            Failure::Pass => unreachable!("filtered out above"),
            Failure::TooManyRequests { retry_after } => (
                429,
                format!("Too Many Requests: retry after {retry_after}"),
                Some(json!({"retry_after": retry_after})),
            ),
            Failure::Internal => (500, "Internal Server Error".into(), None),
            Failure::BadRequest(description) => (400, format!("Bad Request: {description}"), None),
        }));
    }
    let reply = call(&mut state, &method_lc, &params);
    if reply.is_ok() {
        state.version += 1;
        drop(state);
        shared.changed.notify_waiters();
    }
    respond(reply)
}

fn call(state: &mut State, method: &str, p: &Value) -> Reply {
    match method {
        "getme" => Ok(json!({
            "id": BOT_USER_ID, "is_bot": true, "first_name": "Siftgram", "username": BOT_USERNAME,
            "can_join_groups": false, "can_read_all_group_messages": false, "supports_inline_queries": false,
            "can_connect_to_business": false, "has_main_web_app": true,
        })),
        "sendmessage" => send_message(state, p),
        "editmessagetext" => edit_message_text(state, p),
        "editmessagereplymarkup" => edit_reply_markup(state, p),
        "deletemessage" => {
            let (chat, id) = (chat_id(p)?, message_id(p)?);
            match state.chats.get_mut(&chat).and_then(|c| c.messages.remove(&id)) {
                Some(_) => Ok(json!(true)),
                None => Err(bad("Bad Request: message to delete not found")),
            }
        }
        "answercallbackquery" => {
            if p["callback_query_id"].as_str().is_none_or(str::is_empty) {
                return Err(bad("Bad Request: query is too old and response timeout expired or query id is invalid"));
            }
            state.callback_answers.push(p.clone());
            Ok(json!(true))
        }
        "sendchataction" => {
            let chat = chat_id(p)?;
            if p["action"].as_str() == Some("typing") {
                state.typing.insert(chat, Instant::now());
            }
            Ok(json!(true))
        }
        "setwebhook" => set_webhook(state, p),
        "deletewebhook" => {
            state.webhook = None;
            if p["drop_pending_updates"].as_bool() == Some(true) {
                state.pending.clear();
            }
            Ok(json!(true))
        }
        "getwebhookinfo" => Ok(json!({
            "url": state.webhook.as_ref().map(|w| w.0.clone()).unwrap_or_default(),
            "has_custom_certificate": false,
            "pending_update_count": state.pending.len(),
        })),
        "setmycommands" => set_my_commands(state, p),
        "getmycommands" => {
            let lang = p["language_code"].as_str().unwrap_or("");
            let list = state.commands.get(lang).cloned().unwrap_or_default();
            Ok(json!(list.into_iter().map(|(c, d)| json!({"command": c, "description": d})).collect::<Vec<_>>()))
        }
        "deletemycommands" => {
            state.commands.remove(p["language_code"].as_str().unwrap_or(""));
            Ok(json!(true))
        }
        "setchatmenubutton" => Ok(json!(true)),
        _ => Err((404, "Not Found".into(), None)),
    }
}

fn chat_id(p: &Value) -> Result<i64, (u16, String, Option<Value>)> {
    p["chat_id"].as_i64().ok_or_else(|| bad("Bad Request: chat_id is empty"))
}
fn message_id(p: &Value) -> Result<i32, (u16, String, Option<Value>)> {
    p["message_id"].as_i64().map(|v| v as i32).ok_or_else(|| bad("Bad Request: message_id is empty"))
}

/// The text as shown and, for HTML, as formatted.
fn visible(p: &Value) -> Result<(String, Option<String>), (u16, String, Option<Value>)> {
    let text = p["text"].as_str().unwrap_or("");
    let (shown, formatted) = match p["parse_mode"].as_str() {
        Some("HTML") => (html::visible_text(text).map_err(|e| bad(&e))?, Some(text.to_owned())),
        _ => (text.to_owned(), None),
    };
    if shown.trim().is_empty() {
        return Err(bad("Bad Request: message text is empty"));
    }
    if shown.encode_utf16().count() > MAX_TEXT_CHARS {
        return Err(bad("Bad Request: message is too long"));
    }
    Ok((shown, formatted))
}

/// The reply markup as Telegram would accept it, or its refusal.
fn markup(p: &Value) -> Result<Option<Value>, (u16, String, Option<Value>)> {
    let Some(markup) = p.get("reply_markup").filter(|m| !m.is_null()) else { return Ok(None) };
    let buttons: Vec<&Value> = markup["inline_keyboard"].as_array().into_iter().flatten().filter_map(Value::as_array).flatten().collect();
    if buttons.len() > MAX_KEYBOARD_BUTTONS {
        return Err(bad("Bad Request: reply markup is too long"));
    }
    for b in buttons {
        if b["text"].as_str().is_none_or(|t| t.trim().is_empty()) {
            return Err(bad("Bad Request: text buttons are unallowed in the inline keyboard"));
        }
        if b["callback_data"].as_str().is_some_and(|d| d.is_empty() || d.len() > MAX_CALLBACK_DATA_BYTES) {
            return Err(bad("Bad Request: BUTTON_DATA_INVALID"));
        }
    }
    Ok(Some(markup.clone()))
}

fn message_json(chat: i64, m: &SentMessage) -> Value {
    let mut v = json!({
        "message_id": m.message_id,
        "from": {"id": BOT_USER_ID, "is_bot": true, "first_name": "Siftgram", "username": BOT_USERNAME},
        "chat": {"id": chat, "type": "private", "first_name": "User"},
        "date": now(),
        "text": m.text,
    });
    if m.edited {
        v["edit_date"] = json!(now());
    }
    if let Some(markup) = &m.reply_markup {
        v["reply_markup"] = markup.clone();
    }
    v
}

fn send_message(state: &mut State, p: &Value) -> Reply {
    let chat = chat_id(p)?;
    if state.blocked.contains(&chat) {
        return Err((403, "Forbidden: bot was blocked by the user".into(), None));
    }
    if !state.chats.contains_key(&chat) {
        return Err(bad("Bad Request: chat not found"));
    }
    let (text, html) = visible(p)?;
    let message_id = state.take_message_id(chat);
    let markup = markup(p)?;
    // A message sent ends the "typing…" shown before it, as in Telegram's apps.
    state.typing.remove(&chat);
    let m = SentMessage { message_id, from_bot: true, text, reply_markup: markup, edited: false, html, date: now() };
    let out = message_json(chat, &m);
    state.chats.entry(chat).or_default().messages.insert(message_id, m);
    Ok(out)
}

/// One of the bot's own messages (the only ones a bot may edit).
fn bot_message_mut(state: &mut State, chat: i64, id: i32) -> Result<&mut SentMessage, (u16, String, Option<Value>)> {
    state
        .chats
        .get_mut(&chat)
        .and_then(|c| c.messages.get_mut(&id))
        .filter(|m| m.from_bot)
        .ok_or_else(|| bad("Bad Request: message to edit not found"))
}

fn edit_message_text(state: &mut State, p: &Value) -> Reply {
    let (chat, id) = (chat_id(p)?, message_id(p)?);
    let (text, html) = visible(p)?;
    let markup = markup(p)?;
    let m = bot_message_mut(state, chat, id)?;
    if m.text == text && m.reply_markup == markup {
        return Err(bad(NOT_MODIFIED));
    }
    m.text = text;
    m.html = html;
    m.reply_markup = markup;
    m.edited = true;
    Ok(message_json(chat, m))
}

fn edit_reply_markup(state: &mut State, p: &Value) -> Reply {
    let (chat, id) = (chat_id(p)?, message_id(p)?);
    let markup = markup(p)?;
    let m = bot_message_mut(state, chat, id)?;
    if m.reply_markup == markup {
        return Err(bad(NOT_MODIFIED));
    }
    m.reply_markup = markup;
    m.edited = true;
    Ok(message_json(chat, m))
}

fn set_webhook(state: &mut State, p: &Value) -> Reply {
    let url = p["url"].as_str().unwrap_or("");
    if url.is_empty() {
        state.webhook = None;
        return Ok(json!(true));
    }
    if !url.starts_with("https://") {
        return Err(bad("Bad Request: bad webhook: An HTTPS URL must be provided for webhook"));
    }
    let secret = p["secret_token"].as_str().map(str::to_owned);
    if let Some(s) = &secret
        && (s.is_empty() || s.len() > 256 || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
    {
        return Err(bad("Bad Request: secret token contains unallowed characters"));
    }
    state.webhook = Some((url.to_owned(), secret));
    Ok(json!(true))
}

fn set_my_commands(state: &mut State, p: &Value) -> Reply {
    let list = p["commands"].as_array().ok_or_else(|| bad("Bad Request: commands are empty"))?;
    let mut out = Vec::new();
    for c in list {
        let command = c["command"].as_str().unwrap_or("");
        let description = c["description"].as_str().unwrap_or("");
        let valid = (1..=32).contains(&command.len())
            && command.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            return Err(bad("Bad Request: BOT_COMMAND_INVALID"));
        }
        if description.is_empty() || description.chars().count() > 256 {
            return Err(bad("Bad Request: command description must be 1-256 characters"));
        }
        out.push((command.to_owned(), description.to_owned()));
    }
    state.commands.insert(p["language_code"].as_str().unwrap_or("").to_owned(), out);
    Ok(json!(true))
}

/// Long polling: answers at once if updates at or after `offset` are waiting, else waits up to
/// `timeout` seconds for one. A webhook in place makes it a 409, as in Telegram.
async fn get_updates(shared: &Shared, p: &Value) -> Reply {
    let offset = p["offset"].as_i64().unwrap_or(0);
    let limit = p["limit"].as_u64().unwrap_or(100).clamp(1, 100) as usize;
    let deadline = Instant::now() + Duration::from_secs(p["timeout"].as_u64().unwrap_or(0).min(50));
    loop {
        let notified = shared.new_update.notified();
        {
            let mut state = shared.state.lock().expect("fake state lock");
            if state.webhook.is_some() {
                return Err((
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first".into(),
                    None,
                ));
            }
            // Asking from `offset` confirms everything before it.
            state.pending.retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
            if !state.pending.is_empty() || Instant::now() >= deadline {
                state.calls.push(Call { method: "getUpdates".into(), params: p.clone(), at: Instant::now() });
                return Ok(Value::Array(state.pending.iter().take(limit).cloned().collect()));
            }
        }
        let _ = tokio::time::timeout_at(deadline.into(), notified).await;
    }
}

/// The text fields of a multipart/form-data body (teloxide sends methods that may carry files
/// this way). Values that are JSON (objects, arrays, numbers, booleans) are decoded as JSON.
fn multipart_params(body: &[u8], boundary: &str) -> Option<Value> {
    let text = std::str::from_utf8(body).ok()?;
    let mut out = serde_json::Map::new();
    for part in text.split(&format!("--{boundary}")).skip(1) {
        if part.starts_with("--") {
            break;
        }
        let (head, value) = part.split_once("\r\n\r\n")?;
        let name = head.split("name=\"").nth(1)?.split('"').next()?;
        let value = value.strip_suffix("\r\n").unwrap_or(value);
        let decoded = serde_json::from_str::<Value>(value).ok().filter(|v| !v.is_string()).unwrap_or_else(|| json!(value));
        out.insert(name.to_owned(), decoded);
    }
    Some(Value::Object(out))
}
