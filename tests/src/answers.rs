//! `TestAnswers`: the bot, the indexer/retriever and the worker of one `TestSystem`, with fake
//! OpenAI-compatible chat providers (in chain order), a fake SearXNG and a webhook receiver.
//! Stories ask through the bot, run the worker over the jobs queue, and read the chat.

use crate::TestSystem;
use crate::bot::TestBot;
use crate::search::TestSearch;
use siftgram_core::consume::process_batch;
use siftgram_core::ports::{ChatModel, Queue, WebSearch};
use siftgram_core::schema::queue_spec;
use siftgram_fake_openai::{API_KEY, FakeOpenAi, Recorded};
use siftgram_fake_web::{FakeSearxng, WebhookReceiver};
use siftgram_models::{OpenAiChat, OpenAiEndpoint, ProviderChain};
use siftgram_web::{Searxng, SearxngConfig, WebhookDispatcher, WebhookTargets};
use siftgram_worker::Worker;
use std::sync::Arc;
use std::time::Duration;

pub const WEBHOOK_KEY: &str = "test-webhook-signing-key-0123";

pub struct TestAnswers {
    pub bot: TestBot,
    pub search: TestSearch,
    pub worker: Worker,
    /// The chat providers, first to last.
    pub providers: Vec<FakeOpenAi>,
    pub searxng: FakeSearxng,
    pub receiver: WebhookReceiver,
    pub webhooks: WebhookDispatcher,
    pub events: Arc<dyn Queue>,
}

impl TestAnswers {
    /// `providers` chat models in a chain (0: no model configured); `web`: SearXNG configured.
    pub async fn start(sys: &TestSystem, providers: usize, web: bool) -> TestAnswers {
        siftgram_models::install_tls_provider();
        let bot = TestBot::start(sys).await;
        let search = TestSearch::start(sys).await;
        let mut fakes = Vec::new();
        for _ in 0..providers {
            fakes.push(FakeOpenAi::start(8).await.expect("fake provider starts"));
        }
        let chat: Option<Arc<dyn ChatModel>> = (providers > 0).then(|| {
            let chain = fakes
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let endpoint = OpenAiEndpoint { base_url: f.url().to_owned(), api_key: Some(API_KEY.into()), model: format!("model-{}", i + 1), timeout: Duration::from_secs(5) };
                    Box::new(OpenAiChat::new(endpoint)) as Box<dyn ChatModel>
                })
                .collect();
            Arc::new(ProviderChain::new(chain)) as Arc<dyn ChatModel>
        });
        let searxng = FakeSearxng::start().await.expect("fake SearXNG starts");
        let web_search = web.then(|| {
            let config = SearxngConfig { base_url: searxng.url().to_owned(), basic_auth: None, timeout: Duration::from_secs(3) };
            Arc::new(Searxng::new(config)) as Arc<dyn WebSearch>
        });
        let events = sys.queue(queue_spec("events").expect("events queue")).await;
        let out = bot.service.services().out.clone();
        let worker = Worker::new(sys.repo.clone(), search.retriever.clone(), chat, web_search, out, Some(events.clone()));
        let receiver = WebhookReceiver::start().await.expect("webhook receiver starts");
        let targets = WebhookTargets { urls: vec![receiver.url().to_owned()], secret: WEBHOOK_KEY.into() };
        let webhooks = WebhookDispatcher::new(sys.repo.clone(), targets);
        TestAnswers { bot, search, worker, providers: fakes, searxng, receiver, webhooks, events }
    }

    /// Runs the worker over everything on the jobs queue; returns how many jobs it handled.
    pub async fn run_jobs(&self) -> usize {
        crate::handle_all(&*self.bot.jobs, &self.worker).await
    }

    /// Runs the webhook dispatcher over the events queue: (handled, failed).
    pub async fn run_webhooks(&self) -> (usize, usize) {
        let (mut acked, mut failed) = (0, 0);
        loop {
            let report = process_batch(&*self.events, &self.webhooks, 10, Duration::ZERO).await.expect("events queue works");
            if report.received == 0 {
                return (acked, failed);
            }
            acked += report.acked;
            failed += report.failed;
        }
    }

    /// The chat-completion requests provider `n` (0-based) received.
    pub fn chat_calls(&self, n: usize) -> Vec<Recorded> {
        self.providers[n].requests().into_iter().filter(|r| r.path.contains("chat")).collect()
    }

    /// The HTML of the newest text the bot sent to or edited in `chat` (links included).
    pub fn last_html(&self, chat: i64) -> String {
        let calls = self.bot.telegram.calls();
        let last = calls.iter().rev().find(|c| {
            matches!(c.method.to_lowercase().as_str(), "sendmessage" | "editmessagetext") && c.params["chat_id"].as_i64() == Some(chat)
        });
        last.and_then(|c| c.params["text"].as_str()).unwrap_or("").to_owned()
    }
}
