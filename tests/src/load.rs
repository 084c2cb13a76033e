//! The load run (issue 17 item 2), as library code: the bench (`cargo bench -p siftgram-tests
//! --bench load`, full size) prints its table, a test runs it small and checks its counts.
//!
//! * **Webhook flood**: `users` users each send `per_user` messages through the real webhook
//!   handler (secret, claim, rate limit, handler tree, replies to the fake Bot API over loopback),
//!   `concurrency` deliveries in flight; every `redeliver_every`-th update is delivered twice, as
//!   Telegram does after a timeout — the copy arriving while the first is handled is answered
//!   500 and, as Telegram does, delivered again later. Meanwhile one user floods. Counted:
//!   replies per user (lost: fewer than sent, doubled: more), the flooder's replies against the
//!   rate limit, deliveries asked to come back, deliveries never accepted.
//! * **Polling**: the same updates queued on the fake Bot API and taken by the standalone
//!   node's long-polling loop.
//! * **Jobs**: `jobs` questions on the jobs queue, answered by the worker; counted: answered,
//!   dead-lettered.

use crate::TestSystem;
use crate::bot::TestBot;
use siftgram_core::rules::RateLimit;
use siftgram_fake_telegram::FakeUser;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one flood showed.
#[derive(Clone, Debug, Default)]
pub struct FloodReport {
    pub updates: usize,
    pub redelivered: usize,
    pub elapsed: Duration,
    pub p50: Duration,
    pub p99: Duration,
    /// Messages of ordinary users that got no reply.
    pub lost: usize,
    /// Replies beyond one per message (a redelivery answered again).
    pub doubled: usize,
    /// Deliveries answered 500 ("still being handled") and delivered again later.
    pub retried: usize,
    /// Deliveries never answered 200, however often delivered.
    pub failed: usize,
    pub flooder_sent: usize,
    pub flooder_replies: usize,
}

impl FloodReport {
    pub fn per_second(&self) -> f64 {
        self.updates as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The sizes of one run.
#[derive(Clone, Copy, Debug)]
pub struct FloodSize {
    pub users: usize,
    pub per_user: usize,
    pub concurrency: usize,
    pub redeliver_every: usize,
    pub flooder_messages: usize,
}

/// How often one delivery answered 500 is delivered again (about 90 s of waits in all).
const MAX_REDELIVERIES: u32 = 100;

/// Ordinary users start here; the flooder is `FLOODER`.
const FIRST_USER: i64 = 5_000_000;
const FLOODER: i64 = 4_999_999;

/// The rate limit a run uses (the product's default): the flooder must be held to it.
pub fn rate_limit() -> RateLimit {
    RateLimit::default()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Replies per user, counted against what each sent.
fn count(bot: &TestBot, users: &[FakeUser], per_user: usize, report: &mut FloodReport) {
    for user in users {
        let replies = bot.telegram.bot_messages(user.id).len();
        report.lost += per_user.saturating_sub(replies);
        report.doubled += replies.saturating_sub(per_user);
    }
    report.flooder_replies = bot.telegram.bot_messages(FLOODER).len();
}

/// The webhook flood on `bot` (built with `rate_limit()`).
pub async fn webhook_flood(bot: Arc<TestBot>, size: FloodSize) -> FloodReport {
    let users: Vec<FakeUser> = (0..size.users as i64).map(|i| bot.user(FIRST_USER + i)).collect();
    let flooder = bot.user(FLOODER);
    // Messages interleaved across users, as a busy bot sees them; the flooder's all at once.
    let mut updates = Vec::new();
    for round in 0..size.per_user {
        for user in &users {
            updates.push(user.says(&format!("/help {round}")));
        }
        if round == 0 {
            updates.extend((0..size.flooder_messages).map(|n| flooder.says(&format!("/help flood {n}"))));
        }
    }
    let mut report = FloodReport { updates: updates.len(), flooder_sent: size.flooder_messages, ..FloodReport::default() };
    let mut deliveries: Vec<serde_json::Value> = Vec::new();
    for (i, update) in updates.into_iter().enumerate() {
        if size.redeliver_every > 0 && i % size.redeliver_every == 0 {
            deliveries.push(update.clone());
            report.redelivered += 1;
        }
        deliveries.push(update);
    }
    let started = Instant::now();
    let gate = Arc::new(tokio::sync::Semaphore::new(size.concurrency.max(1)));
    let mut running = tokio::task::JoinSet::new();
    for update in deliveries {
        let permit = gate.clone().acquire_owned().await.expect("semaphore");
        let bot = bot.clone();
        running.spawn(async move {
            let at = Instant::now();
            let mut retries = 0;
            let reply = loop {
                let reply = bot.deliver(&update).await;
                if reply.status != 500 || retries == MAX_REDELIVERIES {
                    break reply;
                }
                // Telegram waits before it delivers a failed update again, longer each time.
                retries += 1;
                tokio::time::sleep(Duration::from_millis(50 * u64::from(retries.min(20)))).await;
            };
            drop(permit);
            (at.elapsed(), reply.status, retries)
        });
    }
    let mut latencies = Vec::new();
    while let Some(done) = running.join_next().await {
        let (took, status, retries) = done.expect("delivery task");
        latencies.push(took);
        report.retried += usize::from(retries > 0);
        if status != 200 {
            report.failed += 1;
        }
    }
    report.elapsed = started.elapsed();
    latencies.sort();
    report.p50 = percentile(&latencies, 0.50);
    report.p99 = percentile(&latencies, 0.99);
    count(&bot, &users, size.per_user, &mut report);
    report
}

/// The same flood through long polling: updates queued on the fake Bot API, taken by the
/// standalone node's polling loop until every user has their replies (or `patience` passes).
pub async fn polling_flood(bot: Arc<TestBot>, size: FloodSize, patience: Duration) -> FloodReport {
    let users: Vec<FakeUser> = (0..size.users as i64).map(|i| bot.user(FIRST_USER + 1_000_000 + i)).collect();
    let expected = size.users * size.per_user;
    let mut report = FloodReport { updates: expected, ..FloodReport::default() };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let poller = {
        let bot = bot.clone();
        tokio::spawn(async move { siftgram_bot::run_polling(&bot.service, stopped, Duration::from_secs(1)).await })
    };
    let started = Instant::now();
    for round in 0..size.per_user {
        for user in &users {
            bot.telegram.push_update(user.says(&format!("/help {round}")));
        }
    }
    let answered = |bot: &TestBot| users.iter().map(|u| bot.telegram.bot_messages(u.id).len().min(size.per_user)).sum::<usize>();
    while answered(&bot) < expected && started.elapsed() < patience {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    report.elapsed = started.elapsed();
    let _ = stop.send(true);
    let _ = poller.await;
    count(&bot, &users, size.per_user, &mut report);
    report.flooder_replies = 0;
    report
}

/// What the jobs run showed.
#[derive(Clone, Debug, Default)]
pub struct JobsReport {
    pub jobs: usize,
    pub answered: usize,
    pub dead_lettered: usize,
    pub elapsed: Duration,
}

impl JobsReport {
    pub fn per_second(&self) -> f64 {
        self.answered as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// `jobs` questions from `askers` members, queued as the bot queues them, answered by the worker.
pub async fn jobs_run(sys: &TestSystem, jobs: usize, askers: usize) -> JobsReport {
    use siftgram_core::messages::{Delivery, Job, JobRequest, ReplyTo};
    use siftgram_core::ports::OutgoingMessage;
    let answers = crate::answers::TestAnswers::start(sys, 0, false).await;
    let channel = answers.search.channel(sys, 77_001, Some("load_news"), "Нагрузка").await;
    let now = siftgram_core::Clock::now(&*sys.clock);
    for n in 0..askers as i64 {
        answers.search.follow(sys, 6_000_000 + n, channel).await;
    }
    for m in 1..=20 {
        let post = answers.search.post(channel, m, &format!("Новость номер {m}: в городе открыли {m}-й пункт проката велосипедов."), m % 5, now);
        answers.search.publish(&siftgram_core::messages::PostMessage::Publish { post }).await;
    }
    answers.search.index_all().await;
    let messages: Vec<OutgoingMessage> = (0..jobs)
        .map(|n| {
            let user = siftgram_core::model::UserId::new(6_000_000 + (n % askers) as i64).expect("id");
            let job = Job {
                id: format!("load-{n}"),
                user,
                reply: ReplyTo { chat_id: user.get(), message_id: None, language: siftgram_core::model::Language::Ru },
                request: JobRequest::Ask { question: format!("где открыли пункт проката номер {}?", n % 20 + 1) },
                delivery: Delivery::Chat,
            };
            OutgoingMessage::new(serde_json::to_string(&job).expect("job"))
        })
        .collect();
    for chunk in messages.chunks(100) {
        answers.bot.jobs.send_batch(chunk.to_vec()).await.expect("queued");
    }
    let started = Instant::now();
    let answered = answers.run_jobs().await;
    let elapsed = started.elapsed();
    let dead = sys.dead_letters(&siftgram_core::schema::queue_spec("jobs").expect("jobs")).await;
    JobsReport { jobs, answered, dead_lettered: dead.approximate_len().await.expect("dead letters"), elapsed }
}

/// The run's table.
pub fn table(webhook: &FloodReport, polling: &FloodReport, jobs: &JobsReport, size: FloodSize) -> String {
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    let mut out = format!(
        "load run: {} users × {} messages, {} in flight, every {}th redelivered, one user flooding {} at once (limit {}/min, burst {})\n",
        size.users,
        size.per_user,
        size.concurrency,
        size.redeliver_every,
        size.flooder_messages,
        rate_limit().per_minute,
        rate_limit().burst
    );
    out.push_str(&format!("{:<10} {:>8} {:>10} {:>10} {:>10} {:>6} {:>8} {:>8} {:>7}\n", "path", "updates", "per s", "p50", "p99", "lost", "doubled", "retried", "failed"));
    out.push_str(&format!(
        "{:<10} {:>8} {:>10.0} {:>10} {:>10} {:>6} {:>8} {:>8} {:>7}\n",
        "webhook",
        webhook.updates + webhook.redelivered,
        webhook.per_second(),
        ms(webhook.p50),
        ms(webhook.p99),
        webhook.lost,
        webhook.doubled,
        webhook.retried,
        webhook.failed
    ));
    out.push_str(&format!("{:<10} {:>8} {:>10.0} {:>10} {:>10} {:>6} {:>8} {:>8} {:>7}\n", "polling", polling.updates, polling.per_second(), "-", "-", polling.lost, polling.doubled, "-", "-"));
    out.push_str(&format!("flooder: {} sent, {} answered (≤ burst {} + one warning)\n", webhook.flooder_sent, webhook.flooder_replies, rate_limit().burst));
    out.push_str(&format!("jobs: {} questions, {} answered, {} dead-lettered, {:.0} answered/s\n", jobs.jobs, jobs.answered, jobs.dead_lettered, jobs.per_second()));
    out
}
