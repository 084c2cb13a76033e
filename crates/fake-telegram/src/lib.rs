//! A fake Telegram Bot API server for tests and the standalone demo.
//!
//! It speaks the real wire format — `POST /bot<token>/<method>` with a JSON body, answers
//! `{"ok": true, "result": …}` or `{"ok": false, "error_code": …, "description": …}` with
//! Telegram's own error texts — keeps each chat's messages (so edits and deletions behave), records
//! every call, and serves injected updates through `getUpdates`. Point teloxide at it with
//! `Bot::new(FakeTelegram::TOKEN).set_api_url(fake.api_url())`.

pub mod html;
mod methods;
mod state;
mod updates;

pub use state::{Call, Failure, SentMessage};
pub use updates::FakeUser;

use axum::Router;
use axum::routing::post;
use serde_json::Value;
use state::State;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::{Notify, oneshot};

/// The bot the fake serves.
pub const BOT_USER_ID: i64 = 7_000_000_001;
pub const BOT_USERNAME: &str = "siftgram_test_bot";

#[derive(Clone)]
pub(crate) struct Shared {
    pub state: Arc<Mutex<State>>,
    pub new_update: Arc<Notify>,
    /// Woken by every change of `State::version`.
    pub changed: Arc<Notify>,
    pub token: Arc<str>,
}

/// A running fake; it stops when dropped.
pub struct FakeTelegram {
    addr: SocketAddr,
    shared: Shared,
    _stop: oneshot::Sender<()>,
}

impl FakeTelegram {
    /// The only token the fake accepts (others get 401 like the real API).
    pub const TOKEN: &'static str = "7000000001:AAFakeTokenForSiftgramTests_0123456789";

    /// Starts on a random 127.0.0.1 port.
    pub async fn start() -> std::io::Result<FakeTelegram> {
        Self::start_on("127.0.0.1:0".parse().expect("literal address"), Self::TOKEN).await
    }

    pub async fn start_on(addr: SocketAddr, token: &str) -> std::io::Result<FakeTelegram> {
        let shared = Shared { state: Arc::default(), new_update: Arc::default(), changed: Arc::default(), token: token.into() };
        let app = Router::new().route("/{bot_token}/{method}", post(methods::handle)).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "fake Bot API server failed");
            }
        });
        Ok(FakeTelegram { addr, shared, _stop: stop })
    }

    /// The base URL to give the bot client (`set_api_url`).
    pub fn api_url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.shared.state.lock().expect("fake state lock"))
    }

    /// A Telegram user who can send the bot messages and press its buttons.
    pub fn user(&self, id: i64, language_code: &str) -> FakeUser {
        FakeUser::new(self.shared.clone(), id, language_code)
    }

    /// Every Bot API call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.with(|s| s.calls.clone())
    }

    /// Calls of one method (case-insensitive, as Telegram treats method names).
    pub fn calls_to(&self, method: &str) -> Vec<Call> {
        self.with(|s| s.calls.iter().filter(|c| c.method.eq_ignore_ascii_case(method)).cloned().collect())
    }

    /// The messages currently in a chat (edits applied, deletions removed), oldest first.
    pub fn chat(&self, chat_id: i64) -> Vec<SentMessage> {
        self.with(|s| s.chats.get(&chat_id).map(|c| c.messages.values().cloned().collect()).unwrap_or_default())
    }

    /// The bot's messages in a chat, oldest first.
    pub fn bot_messages(&self, chat_id: i64) -> Vec<SentMessage> {
        self.chat(chat_id).into_iter().filter(|m| m.from_bot).collect()
    }

    /// The next call of `method` fails with `failure` (queue several to fail several calls).
    pub fn fail_next(&self, method: &str, failure: Failure) {
        self.with(|s| s.failures.push((method.to_ascii_lowercase(), failure)));
    }

    /// The user blocks the bot: sends to their chat get 403 from now on.
    pub fn block_bot(&self, user_id: i64) {
        self.with(|s| s.blocked.insert(user_id));
    }

    /// Queues an update for `getUpdates` (webhook tests deliver updates themselves).
    pub fn push_update(&self, update: Value) {
        self.with(|s| s.pending.push(update));
        self.shared.new_update.notify_waiters();
    }

    /// A number that grows with every change a chat could show (see `changed_after`).
    pub fn version(&self) -> u64 {
        self.with(|s| s.version)
    }

    /// Waits until the version is above `seen`, at most `wait`; returns the version then.
    pub async fn changed_after(&self, seen: u64, wait: std::time::Duration) -> u64 {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Registered before the check, so a change between the two is not missed.
            let notified = self.shared.changed.notified();
            let now = self.version();
            if now > seen || tokio::time::Instant::now() >= deadline {
                return now;
            }
            let _ = tokio::time::timeout_at(deadline, notified).await;
        }
    }

    /// The bot said it is typing in `chat` within the last `within` and sent nothing since.
    pub fn is_typing(&self, chat_id: i64, within: std::time::Duration) -> bool {
        self.with(|s| s.typing.get(&chat_id).is_some_and(|at| at.elapsed() < within))
    }

    /// The webhook URL and secret set by `setWebhook`, if any.
    pub fn webhook(&self) -> Option<(String, Option<String>)> {
        self.with(|s| s.webhook.clone())
    }

    /// Commands registered by `setMyCommands` for a language ("" = default), as (command, description).
    pub fn commands(&self, language_code: &str) -> Vec<(String, String)> {
        self.with(|s| s.commands.get(language_code).cloned().unwrap_or_default())
    }
}
