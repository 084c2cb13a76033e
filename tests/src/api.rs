//! `TestApi`: the API router of one `TestSystem`, served on a random port, called over HTTP as
//! the Mini Apps and automation call it. Launch data is signed with the fake Bot API's token
//! (the bot's own), dated by the system's clock.

use crate::TestSystem;
use crate::bot::ADMIN_ID;
use reqwest::Method;
use serde_json::{Value, json};
use siftgram_api::{ApiConfig, ApiServices, NamedQueue};
use siftgram_core::messages::SessionCommand;
use siftgram_core::model::{Invite, InviteCode, Tier, User, UserId};
use siftgram_core::ports::{Queue, WebSearch};
use siftgram_core::retrieval::Retriever;
use siftgram_core::schema::queue_spec;
use siftgram_fake_telegram::FakeTelegram;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

pub const BOT_USERNAME: &str = "siftgram_test_bot";
/// Where the Mini App pages come from in the stories (another origin than the API's).
pub const MINIAPP_ORIGIN: &str = "https://miniapp.example.test";

/// How a request proves who sends it.
#[derive(Clone, Debug)]
pub enum Auth {
    None,
    /// `Authorization: <value>` exactly.
    Header(String),
}

impl Auth {
    pub fn tma(init_data: &str) -> Auth {
        Auth::Header(format!("tma {init_data}"))
    }
    pub fn key(key: &str) -> Auth {
        Auth::Header(format!("Bearer {key}"))
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    /// The error code of an error reply.
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }
}

pub struct TestApi {
    pub url: String,
    pub http: reqwest::Client,
    pub commands: Arc<dyn Queue>,
    pub jobs: Arc<dyn Queue>,
    server: tokio::task::JoinHandle<()>,
    next_code: AtomicU32,
}

impl Drop for TestApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestApi {
    pub async fn start(sys: &TestSystem) -> TestApi {
        TestApi::start_with(sys, None, None).await
    }

    /// With the retriever (and web search) `/api/search` uses.
    pub async fn start_with(sys: &TestSystem, retriever: Option<Arc<Retriever>>, web: Option<Arc<dyn WebSearch>>) -> TestApi {
        let commands = sys.queue(queue_spec("commands").expect("commands queue")).await;
        let jobs = sys.queue(queue_spec("jobs").expect("jobs queue")).await;
        let mut queues = Vec::new();
        for spec in siftgram_core::schema::queue_specs().expect("schema") {
            // The queue first: on SQS that creates its dead-letter queue too.
            let queue = sys.queue(spec.clone()).await;
            queues.push(NamedQueue { name: spec.name.clone(), dead_letters: sys.dead_letters(&spec).await, queue });
        }
        let mut config = ApiConfig::new(FakeTelegram::TOKEN, vec![UserId::new(ADMIN_ID).expect("id")]);
        config.bot_username = Some(BOT_USERNAME.into());
        config.api_key_rate = siftgram_core::rules::RateLimit { burst: 5, per_minute: 1 };
        config.allowed_origins = vec![MINIAPP_ORIGIN.into()];
        let services = ApiServices { repo: sys.repo.clone(), commands: commands.clone(), jobs: jobs.clone(), retriever, web, queues, config };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let router = siftgram_api::router(services);
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.expect("serve");
        });
        siftgram_models::install_tls_provider();
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("client");
        TestApi { url, http, commands, jobs, server, next_code: AtomicU32::new(0) }
    }

    /// Launch data for Telegram user `id` (language `lang`), signed now with the bot's token.
    pub fn init_data(sys: &TestSystem, id: i64, lang: &str) -> String {
        let user = json!({"id": id, "first_name": format!("User {id}"), "username": format!("user{id}"), "language_code": lang}).to_string();
        siftgram_api::auth::sign_init_data(&user, siftgram_core::Clock::now(&*sys.clock).0, FakeTelegram::TOKEN)
    }

    /// `Authorization: tma …` for user `id` in Russian.
    pub fn as_user(sys: &TestSystem, id: i64) -> Auth {
        Auth::tma(&TestApi::init_data(sys, id, "ru"))
    }

    pub async fn call(&self, method: Method, path: &str, auth: &Auth, body: Option<Value>) -> Reply {
        let mut request = self.http.request(method.clone(), format!("{}{path}", self.url));
        if let Auth::Header(value) = auth {
            request = request.header("Authorization", value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or_else(|_| panic!("{method} {path} answered non-JSON {status}: {text}")) };
        Reply { status, body, headers }
    }

    pub async fn get(&self, path: &str, auth: &Auth) -> Reply {
        self.call(Method::GET, path, auth, None).await
    }
    pub async fn post(&self, path: &str, auth: &Auth, body: Value) -> Reply {
        self.call(Method::POST, path, auth, Some(body)).await
    }
    pub async fn put(&self, path: &str, auth: &Auth, body: Value) -> Reply {
        self.call(Method::PUT, path, auth, Some(body)).await
    }
    pub async fn delete(&self, path: &str, auth: &Auth) -> Reply {
        self.call(Method::DELETE, path, auth, None).await
    }

    /// A user who talked to the bot but has no invite yet.
    pub async fn newcomer(sys: &TestSystem, id: i64) -> UserId {
        let user = UserId::new(id).expect("id");
        sys.repo.create_user(&User::new(user, &format!("User {id}"), Default::default(), siftgram_core::Clock::now(&*sys.clock)).expect("user")).await.expect("stored");
        user
    }

    /// A user who signed in with an invite of `tier`.
    pub async fn member(&self, sys: &TestSystem, id: i64, tier: Tier) -> UserId {
        let user = TestApi::newcomer(sys, id).await;
        let n = self.next_code.fetch_add(1, Ordering::SeqCst);
        let code = InviteCode::parse(&format!("API{id:05}{n:04}")).expect("code");
        let invite = Invite::new(code.clone(), UserId::new(ADMIN_ID).expect("id"), siftgram_core::Clock::now(&*sys.clock), tier, None, 1, None).expect("invite");
        sys.repo.create_invite(&invite).await.expect("stored");
        sys.repo.redeem_invite(code.as_str(), user).await.expect("redeemed");
        user
    }

    /// The admin (listed in the API's admin ids), known to the store.
    pub async fn admin(sys: &TestSystem) -> Auth {
        if sys.repo.get_user(UserId::new(ADMIN_ID).expect("id")).await.expect("readable").is_none() {
            TestApi::newcomer(sys, ADMIN_ID).await;
        }
        TestApi::as_user(sys, ADMIN_ID)
    }

    /// Everything waiting on the session node's commands queue.
    pub async fn take_commands(&self) -> Vec<SessionCommand> {
        crate::bot::drain(&*self.commands).await.iter().map(|b| serde_json::from_str(b).expect("a command")).collect()
    }
}
