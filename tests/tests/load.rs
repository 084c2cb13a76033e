//! The load run at a small size (the bench runs it full size): a webhook flood with
//! redeliveries and one user flooding, the same through long polling, and a burst of questions
//! on the jobs queue. Nothing lost, nothing answered twice, the flooder held to the rate limit
//! while everyone else is served, nothing dead-lettered. Counts only — no timing is asserted.

use siftgram_bot::BotSettings;
use siftgram_tests::TestSystem;
use siftgram_tests::bot::{TestBot, story_settings};
use siftgram_tests::load::{FloodSize, jobs_run, polling_flood, rate_limit, table, webhook_flood};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_a_flood_nothing_is_lost_or_answered_twice_and_the_flooder_is_held_back() {
    siftgram_tests::logs::capture();
    let sys = TestSystem::embedded().await;
    let bot = Arc::new(TestBot::start_with(&sys, BotSettings { rate_limit: rate_limit(), ..story_settings() }).await);
    let size = FloodSize { users: 60, per_user: 3, concurrency: 16, redeliver_every: 7, flooder_messages: 40 };
    let webhook = webhook_flood(bot.clone(), size).await;
    let polling = polling_flood(bot.clone(), FloodSize { users: 20, per_user: 2, ..size }, Duration::from_secs(600)).await;
    let jobs = jobs_run(&sys, 120, 12).await;
    eprintln!("{}", table(&webhook, &polling, &jobs, size));

    let failures: Vec<String> = siftgram_tests::logs::captured().lines().filter(|l| l.contains("ERROR") || l.contains("\"level\":\"ERROR\"")).take(5).map(str::to_owned).collect();
    assert_eq!((webhook.lost, webhook.doubled, webhook.failed), (0, 0, 0), "{webhook:?}\n{failures:#?}");
    assert!(webhook.redelivered > 0);
    // The bucket refills at its rate while the run lasts; beyond that, one warning.
    let refill = (rate_limit().per_minute as f64 * webhook.elapsed.as_secs_f64() / 60.0).ceil() as usize;
    assert!(webhook.flooder_replies <= rate_limit().burst as usize + refill + 1, "the flooder got {} replies: {webhook:?}", webhook.flooder_replies);
    assert!(webhook.flooder_replies >= 1, "the flooder was answered at first");
    assert_eq!((polling.lost, polling.doubled), (0, 0), "{polling:?}");
    assert_eq!((jobs.answered, jobs.dead_lettered), (120, 0), "{jobs:?}");
}
