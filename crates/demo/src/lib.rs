//! `siftgram demo`: the whole standalone system with no credentials and no network. This crate
//! holds what only the demo has — the sample channels and the recorded account that signs in
//! with them, the scripted live posts, and a chat page at `/demo` that stands in for Telegram's
//! app. The page only talks to the fake Bot API the way a Telegram client would (the user's
//! messages become updates, the bot's replies are read back); everything behind it is the real
//! handler tree, queues, workers and session node, wired by `siftgram_session_node::demo`.

mod chat;
pub mod sample;

use siftgram_core::model::{ChannelId, UserId};
use siftgram_fake_telegram::FakeTelegram;
use siftgram_recorded_telegram::RecordedTelegram;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use chat::router;

/// The person trying the demo, as Telegram knows them.
pub const DEMO_USER: i64 = 100_000_042;
/// The recorded account's two-step verification password (the page shows it next to the scan).
pub const DEMO_PASSWORD: &str = "siftgram-demo";

pub struct Demo {
    /// The Bot API the node's bot polls.
    pub telegram: FakeTelegram,
    /// The Telegram the user's session connects to.
    pub world: RecordedTelegram,
    /// The sample channels' @usernames and titles, for the page's hints.
    pub channels: Vec<(String, String)>,
    /// Asked of every page request (the page has it from the URL the demo prints), so another
    /// site open in the same browser cannot drive the demo chat.
    key: String,
}

impl Demo {
    /// Starts the fake Bot API and loads the recorded Telegram with the sample and the account.
    pub async fn start() -> std::io::Result<Arc<Demo>> {
        let telegram = FakeTelegram::start().await?;
        let world = RecordedTelegram::new();
        let now = siftgram_core::Clock::now(&siftgram_core::SystemClock);
        let mut channels = Vec::new();
        for channel in sample::channels(now) {
            world.add_channel(&channel.recorded, Some(channel.username));
            channels.push((channel.username.to_owned(), channel.recorded.title.clone()));
        }
        world.add_account(DEMO_USER, Some(DEMO_PASSWORD));
        let key = siftgram_api::hex(&siftgram_api::random::<16>());
        Ok(Arc::new(Demo { telegram, world, channels, key }))
    }

    pub fn user_id() -> UserId {
        UserId::new(DEMO_USER).expect("a valid id")
    }

    /// The page's address on the node at `base` (`http://127.0.0.1:8080`).
    pub fn page_url(&self, base: &str) -> String {
        format!("{}/demo?key={}", base.trim_end_matches('/'), self.key)
    }

    /// Publishes the scripted posts one every `every` (after the first wait), then stops.
    pub fn spawn_live_posts(self: &Arc<Self>, every: Duration, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
        let demo = self.clone();
        tokio::spawn(async move {
            let (channel, posts): (ChannelId, Vec<String>) = sample::live_posts();
            for text in posts {
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = shutdown.wait_for(|stop| *stop) => return,
                }
                let id = demo.world.post(channel, &text);
                tracing::info!(channel = %channel, message = id, "demo: a new post in the sample channel");
            }
        })
    }
}
