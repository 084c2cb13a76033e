//! The recorded Telegram over loopback HTTP, so that it outlives the process using it: the chaos
//! run keeps the world (and the accounts' update positions) in its own process while it kills
//! the node again and again, as Telegram outlives a crashed client.
//!
//! [`serve`] puts a world behind two routes; [`RemoteTelegram`] is the `TelegramConnector` the
//! node uses for `SIFTGRAM_TELEGRAM=recorded-at:<url>`. Each client of the node is a client of
//! the world on the server's side (its login token, password prompt and event cursor live there);
//! the node's side keeps the session bytes and account of the last answer for the port's two
//! synchronous calls.

use crate::RecordedTelegram;
use async_trait::async_trait;
use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use siftgram_core::model::Username;
use siftgram_core::ports::{LiveEvent, QrLogin, RemoteChannel, RemoteMessage, TelegramConnector, TelegramError, TelegramUser};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One call of the `TelegramUser` port.
#[derive(Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
enum Call {
    QrLogin,
    CheckPassword { password: String },
    Resolve { username: Username },
    History { channel: RemoteChannel, before: Option<i64>, limit: usize },
    Newer { channel: RemoteChannel, after: i64, limit: usize },
    NextEvents { wait_ms: u64 },
    Leave { channel: RemoteChannel },
    LogOut,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    Login(QrLogin),
    Account(i64),
    Channel(RemoteChannel),
    Messages(Vec<RemoteMessage>),
    Events(Vec<LiveEvent>),
    Done,
}

#[derive(Serialize, Deserialize)]
struct Answer {
    result: Result<Outcome, TelegramError>,
    /// The client's session after the call (what `TelegramUser::session` returns).
    session: Vec<u8>,
    account: Option<i64>,
}

#[derive(Serialize, Deserialize)]
struct Connect {
    session: Option<Vec<u8>>,
}

#[derive(Serialize, Deserialize)]
struct Connected {
    result: Result<u64, TelegramError>,
}

#[derive(Clone)]
struct Served {
    world: RecordedTelegram,
    clients: Arc<Mutex<HashMap<u64, Arc<dyn TelegramUser>>>>,
    next: Arc<std::sync::atomic::AtomicU64>,
}

/// Serves `world` on `listener` until the task is dropped or aborted.
pub fn serve(world: RecordedTelegram, listener: tokio::net::TcpListener) -> tokio::task::JoinHandle<()> {
    let served = Served { world, clients: Arc::default(), next: Arc::new(1.into()) };
    let app = axum::Router::new()
        .route("/connect", axum::routing::post(connect))
        .route("/call/{handle}", axum::routing::post(call))
        .with_state(served);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    })
}

async fn connect(State(s): State<Served>, Json(c): Json<Connect>) -> Json<Connected> {
    let result = s.world.connect(c.session.as_deref()).map(|client| {
        let handle = s.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        s.clients.lock().unwrap().insert(handle, Arc::from(client));
        handle
    });
    Json(Connected { result })
}

async fn call(State(s): State<Served>, Path(handle): Path<u64>, Json(c): Json<Call>) -> Json<Answer> {
    let Some(client) = s.clients.lock().unwrap().get(&handle).cloned() else {
        return Json(Answer { result: Err(TelegramError::Other(format!("no client {handle}"))), session: Vec::new(), account: None });
    };
    let result = match c {
        Call::QrLogin => client.qr_login().await.map(Outcome::Login),
        Call::CheckPassword { password } => client.check_password(&password).await.map(Outcome::Account),
        Call::Resolve { username } => client.resolve(&username).await.map(Outcome::Channel),
        Call::History { channel, before, limit } => client.history(&channel, before, limit).await.map(Outcome::Messages),
        Call::Newer { channel, after, limit } => client.newer(&channel, after, limit).await.map(Outcome::Messages),
        Call::NextEvents { wait_ms } => client.next_events(Duration::from_millis(wait_ms)).await.map(Outcome::Events),
        Call::Leave { channel } => client.leave(&channel).await.map(|()| Outcome::Done),
        Call::LogOut => client.log_out().await.map(|()| Outcome::Done),
    };
    Json(Answer { result, session: client.session(), account: client.account_id() })
}

/// The connector for a world served by [`serve`] at `base_url`.
#[derive(Clone)]
pub struct RemoteTelegram {
    base_url: String,
    http: reqwest::Client,
}

impl RemoteTelegram {
    pub fn new(base_url: &str) -> RemoteTelegram {
        RemoteTelegram { base_url: base_url.trim_end_matches('/').to_owned(), http: reqwest::Client::new() }
    }
}

impl TelegramConnector for RemoteTelegram {
    /// The port's connect is synchronous; the world learns of the client on its first call
    /// (where an unknown or revoked session is then refused).
    fn connect(&self, session: Option<&[u8]>) -> Result<Box<dyn TelegramUser>, TelegramError> {
        let account = session
            .and_then(|s| serde_json::from_slice::<serde_json::Value>(s).ok())
            .and_then(|v| v["account"].as_i64());
        let state = Remembered { session: session.map(<[u8]>::to_vec).unwrap_or_default(), account };
        Ok(Box::new(RemoteClient {
            remote: self.clone(),
            initial: session.map(<[u8]>::to_vec),
            handle: tokio::sync::OnceCell::new(),
            remembered: Mutex::new(state),
        }))
    }
}

struct Remembered {
    session: Vec<u8>,
    account: Option<i64>,
}

struct RemoteClient {
    remote: RemoteTelegram,
    initial: Option<Vec<u8>>,
    handle: tokio::sync::OnceCell<u64>,
    remembered: Mutex<Remembered>,
}

fn network(e: reqwest::Error) -> TelegramError {
    TelegramError::Network(format!("recorded Telegram: {e}"))
}

impl RemoteClient {
    async fn call(&self, call: Call) -> Result<Outcome, TelegramError> {
        let handle = self
            .handle
            .get_or_try_init(|| async {
                let url = format!("{}/connect", self.remote.base_url);
                let reply: Connected = self.remote.http.post(url).json(&Connect { session: self.initial.clone() }).send().await.map_err(network)?.json().await.map_err(network)?;
                reply.result
            })
            .await?;
        let url = format!("{}/call/{handle}", self.remote.base_url);
        let answer: Answer = self.remote.http.post(url).json(&call).send().await.map_err(network)?.json().await.map_err(network)?;
        *self.remembered.lock().unwrap() = Remembered { session: answer.session, account: answer.account };
        answer.result
    }
}

fn unexpected(o: Outcome) -> TelegramError {
    let what = match o {
        Outcome::Login(_) => "a login",
        Outcome::Account(_) => "an account",
        Outcome::Channel(_) => "a channel",
        Outcome::Messages(_) => "messages",
        Outcome::Events(_) => "events",
        Outcome::Done => "done",
    };
    TelegramError::Other(format!("recorded Telegram answered with {what}"))
}

#[async_trait]
impl TelegramUser for RemoteClient {
    async fn qr_login(&self) -> Result<QrLogin, TelegramError> {
        match self.call(Call::QrLogin).await? {
            Outcome::Login(l) => Ok(l),
            o => Err(unexpected(o)),
        }
    }

    async fn check_password(&self, password: &str) -> Result<i64, TelegramError> {
        match self.call(Call::CheckPassword { password: password.to_owned() }).await? {
            Outcome::Account(a) => Ok(a),
            o => Err(unexpected(o)),
        }
    }

    fn session(&self) -> Vec<u8> {
        self.remembered.lock().unwrap().session.clone()
    }

    async fn resolve(&self, username: &Username) -> Result<RemoteChannel, TelegramError> {
        match self.call(Call::Resolve { username: username.clone() }).await? {
            Outcome::Channel(c) => Ok(c),
            o => Err(unexpected(o)),
        }
    }

    async fn history(&self, channel: &RemoteChannel, before: Option<i64>, limit: usize) -> Result<Vec<RemoteMessage>, TelegramError> {
        match self.call(Call::History { channel: channel.clone(), before, limit }).await? {
            Outcome::Messages(m) => Ok(m),
            o => Err(unexpected(o)),
        }
    }

    async fn newer(&self, channel: &RemoteChannel, after: i64, limit: usize) -> Result<Vec<RemoteMessage>, TelegramError> {
        match self.call(Call::Newer { channel: channel.clone(), after, limit }).await? {
            Outcome::Messages(m) => Ok(m),
            o => Err(unexpected(o)),
        }
    }

    async fn next_events(&self, wait: Duration) -> Result<Vec<LiveEvent>, TelegramError> {
        match self.call(Call::NextEvents { wait_ms: wait.as_millis() as u64 }).await? {
            Outcome::Events(e) => Ok(e),
            o => Err(unexpected(o)),
        }
    }

    async fn leave(&self, channel: &RemoteChannel) -> Result<(), TelegramError> {
        match self.call(Call::Leave { channel: channel.clone() }).await? {
            Outcome::Done => Ok(()),
            o => Err(unexpected(o)),
        }
    }

    fn account_id(&self) -> Option<i64> {
        self.remembered.lock().unwrap().account
    }

    async fn log_out(&self) -> Result<(), TelegramError> {
        match self.call(Call::LogOut).await? {
            Outcome::Done => Ok(()),
            o => Err(unexpected(o)),
        }
    }
}
