//! Webhook handler latency, warm and in-process on the embedded store, through the real intake
//! (secret check, update claim, rate limit, user lookup) and handler tree, replying to the fake
//! Bot API over loopback HTTP. Prints p50/p99 for `/my_channels` and `/ask` (enqueue only).
//! Target: p99 ≤ 50 ms.
//!
//! Run: `cargo bench -p siftgram-tests --bench webhook`

use siftgram_core::model::Tier;
use siftgram_tests::TestSystem;
use siftgram_tests::bot::TestBot;
use std::time::{Duration, Instant};

const WARMUP: usize = 50;
const SAMPLES: usize = 500;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn measure(bot: &TestBot, user: &siftgram_fake_telegram::FakeUser, text: &str) -> (Duration, Duration) {
    let mut samples = Vec::with_capacity(SAMPLES);
    for i in 0..WARMUP + SAMPLES {
        let update = user.says(text);
        let started = Instant::now();
        let reply = bot.deliver(&update).await;
        let took = started.elapsed();
        assert_eq!(reply.status, 200);
        if i >= WARMUP {
            samples.push(took);
        }
    }
    samples.sort();
    (percentile(&samples, 0.50), percentile(&samples, 0.99))
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(async {
        let sys = TestSystem::embedded().await;
        let bot = TestBot::start(&sys).await;
        let anna = bot.member(42, Tier::Enterprise).await;
        for n in 0..10 {
            bot.follows(&anna, 10_000 + n, &format!("bench_channel_{n}"), &format!("Channel {n}")).await;
        }
        println!("webhook handler latency (embedded store, warm, {SAMPLES} samples, reply via loopback HTTP):");
        for (name, text) in [("/my_channels (10 channels)", "/my_channels"), ("/ask (enqueue only)", "/ask что нового за неделю?")] {
            let (p50, p99) = measure(&bot, &anna, text).await;
            let verdict = if p99 <= Duration::from_millis(50) { "meets" } else { "MISSES" };
            println!("  {name:<28} p50 {:>7.2} ms   p99 {:>7.2} ms   ({verdict} the p99 ≤ 50 ms target)", ms(p50), ms(p99));
        }
        sys.cleanup().await;
    });
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
