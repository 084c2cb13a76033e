//! `TestBot`: the real bot service (intake, handler tree, repositories, queues) of one
//! `TestSystem`, talking to a fake Telegram Bot API. Stories drive it the way Telegram does: a
//! webhook delivery with the secret header, then read what the user now sees in the chat.

use crate::TestSystem;
use serde_json::Value;
use siftgram_bot::teloxide::Bot;
use siftgram_bot::{BotService, BotSettings, Outbox, Services, WebhookReply};
use siftgram_core::messages::{Job, SessionCommand};
use siftgram_core::model::{Channel, ChannelId, Invite, InviteCode, Tier, UserId, Username};
use siftgram_core::ports::Queue;
use siftgram_core::rules::RateLimit;
use siftgram_core::schema::queue_spec;
use siftgram_fake_telegram::{FakeTelegram, FakeUser, SentMessage};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

pub const WEBHOOK_SECRET: &str = "test-webhook-secret_0123456789";
pub const ADMIN_ID: i64 = 1_000_001;
pub const MINIAPP_URL: &str = "https://miniapp.example.test/app";

pub struct TestBot {
    pub telegram: FakeTelegram,
    pub service: BotService,
    pub jobs: Arc<dyn Queue>,
    pub commands: Arc<dyn Queue>,
    /// The bot's own handles on the jobs and commands queues, which can be made to fail.
    jobs_outage: Arc<QueueOutage>,
    commands_outage: Arc<QueueOutage>,
    next_code: AtomicU32,
}

/// A queue whose next sends fail (a backend outage), then work again.
pub struct QueueOutage {
    queue: Arc<dyn Queue>,
    failing: AtomicU32,
}

#[async_trait::async_trait]
impl Queue for QueueOutage {
    fn spec(&self) -> &siftgram_core::ports::QueueSpec {
        self.queue.spec()
    }
    async fn send_batch(&self, messages: Vec<siftgram_core::ports::OutgoingMessage>) -> Result<(), siftgram_core::ports::QueueError> {
        if self.failing.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
            return Err(siftgram_core::ports::QueueError::Backend("the queue is unavailable (a test's outage)".into()));
        }
        self.queue.send_batch(messages).await
    }
    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<siftgram_core::ports::ReceivedMessage>, siftgram_core::ports::QueueError> {
        self.queue.receive(max, wait).await
    }
    async fn ack(&self, receipt: &siftgram_core::ports::Receipt) -> Result<(), siftgram_core::ports::QueueError> {
        self.queue.ack(receipt).await
    }
    async fn release(&self, receipt: &siftgram_core::ports::Receipt, delay: Duration) -> Result<(), siftgram_core::ports::QueueError> {
        self.queue.release(receipt, delay).await
    }
    async fn approximate_len(&self) -> Result<usize, siftgram_core::ports::QueueError> {
        self.queue.approximate_len().await
    }
}

/// Settings for stories: generous rate limit so that stories are not throttled by accident.
pub fn story_settings() -> BotSettings {
    BotSettings {
        webhook_secret: Some(WEBHOOK_SECRET.into()),
        miniapp_url: MINIAPP_URL.into(),
        admin_ids: vec![UserId::new(ADMIN_ID).expect("valid id")],
        rate_limit: RateLimit { burst: 1000, per_minute: 1000 },
        max_retry_wait: Duration::from_secs(10),
    }
}

impl TestBot {
    pub async fn start(system: &TestSystem) -> TestBot {
        TestBot::start_with(system, story_settings()).await
    }

    pub async fn start_with(system: &TestSystem, settings: BotSettings) -> TestBot {
        let telegram = FakeTelegram::start().await.expect("fake Bot API starts");
        TestBot::on(system, telegram, settings).await
    }

    /// The bot restarted with other settings (as after an operator changed them), talking to
    /// the same Telegram: chats and update ids carry on.
    pub async fn restarted_with(self, system: &TestSystem, settings: BotSettings) -> TestBot {
        TestBot::on(system, self.telegram, settings).await
    }

    async fn on(system: &TestSystem, telegram: FakeTelegram, settings: BotSettings) -> TestBot {
        let jobs = system.queue(queue_spec("jobs").expect("jobs queue in schema")).await;
        let commands = system.queue(queue_spec("commands").expect("commands queue in schema")).await;
        let bot = Bot::new(FakeTelegram::TOKEN).set_api_url(telegram.api_url().parse().expect("url"));
        let jobs_outage = Arc::new(QueueOutage { queue: jobs.clone(), failing: AtomicU32::new(0) });
        let commands_outage = Arc::new(QueueOutage { queue: commands.clone(), failing: AtomicU32::new(0) });
        let services = Services {
            repo: system.repo.clone(),
            jobs: jobs_outage.clone(),
            commands: commands_outage.clone(),
            out: Outbox { bot, budget: settings.max_retry_wait },
            settings,
        };
        let service = BotService::new(services).await.expect("bot service builds against the fake");
        TestBot { telegram, service, jobs, commands, jobs_outage, commands_outage, next_code: AtomicU32::new(0) }
    }

    /// The bot's next `n` sends to the jobs queue fail.
    pub fn jobs_fail_next(&self, n: u32) {
        self.jobs_outage.failing.store(n, Ordering::SeqCst);
    }

    /// The bot's next `n` sends to the session commands queue fail.
    pub fn commands_fail_next(&self, n: u32) {
        self.commands_outage.failing.store(n, Ordering::SeqCst);
    }

    /// A Russian-speaking Telegram user.
    pub fn user(&self, id: i64) -> FakeUser {
        self.telegram.user(id, "ru")
    }

    pub fn admin(&self) -> FakeUser {
        self.telegram.user(ADMIN_ID, "ru")
    }

    /// Delivers an update the way Telegram's webhook does.
    pub async fn deliver(&self, update: &Value) -> WebhookReply {
        let body = serde_json::to_vec(update).expect("json");
        self.service.handle_webhook(Some(WEBHOOK_SECRET.as_bytes()), &body).await
    }

    /// The user sends `text`; returns the bot's newest message in the chat afterwards.
    pub async fn says(&self, user: &FakeUser, text: &str) -> SentMessage {
        let reply = self.deliver(&user.says(text)).await;
        assert_eq!(reply.status, 200, "webhook answered {reply:?} to {text:?}");
        self.last_bot_message(user.id).unwrap_or_else(|| panic!("no reply to {text:?}"))
    }

    /// The user presses a button under the bot's message; returns that message afterwards.
    pub async fn presses(&self, user: &FakeUser, message_id: i32, data: &str) -> SentMessage {
        let reply = self.deliver(&user.presses(message_id, data)).await;
        assert_eq!(reply.status, 200, "webhook answered {reply:?} to button {data:?}");
        self.telegram.chat(user.id).into_iter().find(|m| m.message_id == message_id).expect("message still shown")
    }

    pub fn last_bot_message(&self, chat: i64) -> Option<SentMessage> {
        self.telegram.bot_messages(chat).pop()
    }

    pub fn bot_message_count(&self, chat: i64) -> usize {
        self.telegram.bot_messages(chat).len()
    }

    /// An invite made directly in the store (stories about admins make theirs with /admin_invite).
    pub async fn invite(&self, tier: Tier, valid_days: Option<u32>, uses: u32) -> InviteCode {
        let n = self.next_code.fetch_add(1, Ordering::SeqCst);
        let code = InviteCode::parse(&format!("STORY{n:07}")).expect("valid code");
        let now = self.service.services().repo.clock().now();
        let admin = UserId::new(ADMIN_ID).expect("id");
        let invite = Invite::new(code.clone(), admin, now, tier, valid_days, uses, None).expect("valid invite");
        self.service.services().repo.create_invite(&invite).await.expect("invite stored");
        code
    }

    /// A user who has signed in with an invite of `tier` (what a finished QR login leaves behind).
    pub async fn member(&self, id: i64, tier: Tier) -> FakeUser {
        let user = self.user(id);
        self.says(&user, "/start").await;
        let code = self.invite(tier, None, 1).await;
        self.service.services().repo.redeem_invite(code.as_str(), UserId::new(id).expect("id")).await.expect("redeemed");
        user
    }

    /// A channel the session node has resolved, followed by `user` (what a finished
    /// `/add_channel` leaves behind).
    pub async fn follows(&self, user: &FakeUser, channel_id: i64, username: &str, title: &str) -> ChannelId {
        let repo = &self.service.services().repo;
        let id = ChannelId::new(channel_id).expect("channel id");
        let channel = Channel::new(id, Some(Username::parse(username).expect("username")), title).expect("channel");
        repo.save_channel(&channel).await.expect("channel saved");
        repo.subscribe(UserId::new(user.id).expect("id"), id).await.expect("subscribed");
        id
    }

    /// Everything waiting on the jobs queue (received and acknowledged).
    pub async fn take_jobs(&self) -> Vec<Job> {
        drain(&*self.jobs).await.iter().map(|b| serde_json::from_str(b).expect("a job")).collect()
    }

    /// Everything waiting on the session node's commands queue.
    pub async fn take_commands(&self) -> Vec<SessionCommand> {
        drain(&*self.commands).await.iter().map(|b| serde_json::from_str(b).expect("a command")).collect()
    }
}

pub(crate) async fn drain(queue: &dyn Queue) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        let batch = queue.receive(10, Duration::ZERO).await.expect("receive");
        if batch.is_empty() {
            return out;
        }
        for m in batch {
            queue.ack(&m.receipt).await.expect("ack");
            out.push(m.body);
        }
    }
}
