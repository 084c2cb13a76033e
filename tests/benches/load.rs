//! The load run at full size: 1,000 users flooding the webhook handler (with redeliveries and
//! one user flooding), the same through long polling, 10,000 questions on the jobs queue.
//! Prints the table; `tests/tests/load.rs` runs it small in CI.
//!
//! Run: `cargo bench -p siftgram-tests --bench load` (LOAD_USERS, LOAD_JOBS override the sizes).

use siftgram_bot::BotSettings;
use siftgram_tests::TestSystem;
use siftgram_tests::bot::{TestBot, story_settings};
use siftgram_tests::load::{FloodSize, jobs_run, polling_flood, rate_limit, table, webhook_flood};
use std::sync::Arc;
use std::time::Duration;

fn main() {
    let env = |name: &str, default: usize| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(async {
        let sys = TestSystem::embedded().await;
        let bot = Arc::new(TestBot::start_with(&sys, BotSettings { rate_limit: rate_limit(), ..story_settings() }).await);
        let size = FloodSize { users: env("LOAD_USERS", 1_000), per_user: 5, concurrency: 64, redeliver_every: 10, flooder_messages: 200 };
        eprintln!("[load] webhook: {} updates", size.users * size.per_user + size.flooder_messages);
        let webhook = webhook_flood(bot.clone(), size).await;
        eprintln!("[load] polling: {} updates", size.users * 2);
        let polling = polling_flood(bot.clone(), FloodSize { per_user: 2, ..size }, Duration::from_secs(3_600)).await;
        let jobs = env("LOAD_JOBS", 10_000);
        eprintln!("[load] jobs: {jobs} questions");
        let jobs = jobs_run(&sys, jobs, 100).await;
        println!("{}", table(&webhook, &polling, &jobs, size));
    });
}
