//! `siftgram chaos`: the standalone node killed with SIGKILL again and again while it works, and
//! what survives compared with what Telegram has.
//!
//! The driver (this process) holds everything that outlives the node in production: the
//! recorded Telegram (served over loopback, see `siftgram_recorded_telegram::wire`, with channels
//! of many posts and a script of new posts, edits and deletions that keeps running while the
//! node is down), the fake Bot API (updates wait there until the node polls them again), and an
//! embedding server. It starts the node's real binary on one data directory (or on LocalStack's
//! SQS and DynamoDB), signs a member in through the Mini App API, follows the channels, and then
//! each round starts one kind of work — backfill, live changes, questions, a digest, another
//! member's login — kills the node at a random moment of it, restarts it and times the recovery.
//! At the end the node is let to settle, stopped cleanly, and its store and index are read and
//! compared with the world: every count printed must be 0.

use crate::backend::Backend;
use crate::config::Config;
use siftgram_core::model::{ChannelId, PostKey, UserId};
use siftgram_core::retrieval::{CHUNK_CHARS, CHUNK_OVERLAP, chunk_text};
use siftgram_fake_telegram::FakeTelegram;
use siftgram_recorded_telegram::RecordedTelegram;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What the run does.
#[derive(Clone, Debug)]
pub struct ChaosPlan {
    pub kills: usize,
    pub channels: usize,
    pub posts_per_channel: usize,
    pub seed: u64,
    /// None: the embedded store and queues; Some: LocalStack's DynamoDB and SQS at this endpoint.
    pub localstack: Option<String>,
}

/// The kinds of work a kill lands in, in the order the rounds take them.
const MOMENTS: [&str; 5] = ["backfill", "live changes", "questions", "digest", "login"];

#[derive(Clone, Debug)]
pub struct Kill {
    pub during: &'static str,
    /// From the start of the work to the SIGKILL.
    pub after: Duration,
    /// From the restart to the node's health answering `ok`.
    pub recovery: Duration,
}

/// Everything that must be 0.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Posts Telegram has that the store lacks.
    pub posts_missing: usize,
    /// Posts Telegram has that the index lacks.
    pub posts_not_indexed: usize,
    /// Posts with more points in the index than their chunks.
    pub posts_doubled: usize,
    /// Stored or indexed text older than Telegram's (an edit not applied).
    pub stale_edits: usize,
    /// Posts deleted in Telegram still stored or indexed.
    pub deleted_found: usize,
    /// The same reply (or digest part) sent to the member twice, "⏳" shown twice for one request.
    pub replies_twice: usize,
    /// Questions or digests never answered (no "⏳", or a "⏳" never replaced).
    pub replies_lost: usize,
    /// Questions counted against the daily quota beyond those asked.
    pub quota_twice: usize,
    /// Logins that did not end signed in with a stored session.
    pub sign_ins_lost: usize,
}

impl Tally {
    pub fn all_zero(&self) -> bool {
        *self == Tally::default()
    }
}

pub struct ChaosReport {
    pub kills: Vec<Kill>,
    pub tally: Tally,
    pub posts: usize,
    pub live_changes: usize,
    pub questions: usize,
    pub digests: usize,
    pub logins: usize,
    /// From the last restart to everything settled.
    pub settle: Duration,
    /// The run crossed midnight UTC, so the daily quota could not be compared.
    pub quota_not_compared: bool,
    pub elapsed: Duration,
}

/// A small deterministic generator (the run is reproducible from its seed).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const OPS_TOKEN: &str = "chaos-operator-token-0123456789";
const INVITE: &str = "CHAOSINVITE1";
const MEMBER: i64 = 701;
const PASSWORD: &str = "chaos-2fa-password";
const TOPICS: [&str; 8] = ["метро", "школы", "парки", "выборы", "погода", "театр", "футбол", "налоги"];

fn post_text(title: &str, id: i64) -> String {
    let topic = TOPICS[(id as usize) % TOPICS.len()];
    format!("{title}, выпуск {id}: новости о теме «{topic}». Подробности: номер {id}, раздел {}.", id % 13)
}

fn progress(line: &str) {
    eprintln!("chaos: {line}");
}

/// How the node is reached over HTTP (the same address across restarts).
#[derive(Clone)]
struct Api {
    addr: String,
    http: reqwest::Client,
}

/// The node's process.
struct Node {
    binary: PathBuf,
    env: Vec<(String, String)>,
    log: PathBuf,
    child: Option<std::process::Child>,
    api: Api,
}

impl Node {
    fn start(&mut self) -> Result<(), String> {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).map_err(|e| format!("{}: {e}", self.log.display()))?;
        let err = log.try_clone().map_err(|e| e.to_string())?;
        let mut command = std::process::Command::new(&self.binary);
        command.arg("run").env_clear().envs(self.env.iter().map(|(k, v)| (k, v))).stdout(log).stderr(err);
        for keep in ["PATH", "HOME", "SSL_CERT_FILE", "SSL_CERT_DIR"] {
            if let Ok(v) = std::env::var(keep) {
                command.env(keep, v);
            }
        }
        self.child = Some(command.spawn().map_err(|e| format!("starting {}: {e}", self.binary.display()))?);
        Ok(())
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait for the exit (the node drains and closes its store).
    fn stop(&mut self) -> Result<(), String> {
        let Some(mut child) = self.child.take() else { return Ok(()) };
        let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let status = child.wait().map_err(|e| e.to_string())?;
        if status.success() { Ok(()) } else { Err(format!("the node exited with {status} on SIGTERM; see {}", self.log.display())) }
    }

    /// Waits until the node answers its health check with `ok`; how long that took.
    async fn healthy(&mut self, patience: Duration) -> Result<Duration, String> {
        let started = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!("the node exited ({status}); see {}", self.log.display()));
            }
            if let Ok(r) = self.api.http.get(self.api.url("/health")).bearer_auth(OPS_TOKEN).send().await
                && r.status() == 200
            {
                return Ok(started.elapsed());
            }
            if started.elapsed() > patience {
                return Err(format!("the node was not healthy after {patience:?}; see {}", self.log.display()));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Api {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn tma(user: i64) -> String {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        let init = siftgram_api::auth::sign_init_data(&format!(r#"{{"id":{user},"first_name":"U{user}","language_code":"ru"}}"#), now, FakeTelegram::TOKEN);
        format!("tma {init}")
    }

    /// `GET path` as `user`; None while the node is down.
    async fn get_as(&self, user: i64, path: &str) -> Option<serde_json::Value> {
        let r = self.http.get(self.url(path)).header("Authorization", Api::tma(user)).send().await.ok()?;
        if r.status() != 200 {
            return None;
        }
        r.json().await.ok()
    }

    async fn post_as(&self, user: i64, path: &str, body: serde_json::Value) -> Option<u16> {
        let r = self.http.post(self.url(path)).header("Authorization", Api::tma(user)).json(&body).send().await.ok()?;
        Some(r.status().as_u16())
    }

    async fn health(&self) -> Option<serde_json::Value> {
        let r = self.http.get(self.url("/health")).bearer_auth(OPS_TOKEN).send().await.ok()?;
        r.json().await.ok()
    }
}

/// A member signing in as a person would: send /login, scan each QR code shown, type the
/// password when asked, and send /login again when the page has shown nothing new for a while
/// (the node that showed it was killed). Returns when the page says done. The phone scanning is
/// the user's own account (the node refuses another account's login).
async fn sign_in(node: &Api, bot: &FakeTelegram, world: &RecordedTelegram, user: i64) -> Result<(), String> {
    let person = bot.user(user, "ru");
    bot.push_update(person.says(&format!("/login {INVITE}")));
    let started = Instant::now();
    let mut last_change = Instant::now();
    let mut last_seen = String::new();
    let mut scanned = String::new();
    let mut password_sent_for: Option<u64> = None;
    let mut retries = 0;
    while started.elapsed() < Duration::from_secs(900) {
        let state = node.get_as(user, "/api/login").await;
        let seen = state.as_ref().map(|s| s.to_string()).unwrap_or_default();
        if seen != last_seen {
            last_seen = seen;
            last_change = Instant::now();
        }
        match state.as_ref().and_then(|s| s["state"].as_str()) {
            Some("done") => return Ok(()),
            Some("waiting") => {
                let url = state.as_ref().and_then(|s| s["url"].as_str()).unwrap_or_default().to_owned();
                if url != scanned {
                    world.scan(&url, user);
                    scanned = url;
                }
            }
            Some("password_needed") => {
                let failures = state.as_ref().and_then(|s| s["failures"].as_u64()).unwrap_or(0);
                if password_sent_for != Some(failures) && node.post_as(user, "/api/login/password", serde_json::json!({"password": PASSWORD})).await == Some(202) {
                    password_sent_for = Some(failures);
                }
            }
            Some("blocked") => return Err(format!("user {user}: the login was blocked: {last_seen}")),
            // A login can fail when its node dies under it; the person tries again, a few times.
            Some("failed") if retries < 5 && last_change.elapsed() > Duration::from_secs(1) => {
                retries += 1;
                bot.push_update(person.says(&format!("/login {INVITE}")));
                last_change = Instant::now();
            }
            Some("failed") if retries >= 5 => return Err(format!("user {user}: the login kept failing: {last_seen}")),
            _ => {}
        }
        if last_change.elapsed() > Duration::from_secs(20) {
            // Nothing moved for 20 s: the node that ran this login is gone; ask again.
            bot.push_update(person.says(&format!("/login {INVITE}")));
            last_change = Instant::now();
            password_sent_for = None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("user {user} was not signed in after 15 minutes"))
}

/// Telegram going on while the node lives and dies: new posts, edits and deletions.
fn script_live_changes(world: RecordedTelegram, channels: Vec<(ChannelId, String)>, seed: u64, running: Arc<AtomicBool>) -> tokio::task::JoinHandle<usize> {
    tokio::spawn(async move {
        let mut rng = Rng(seed | 1);
        let mut changes = 0;
        while running.load(Ordering::Relaxed) {
            let (channel, title) = &channels[rng.below(channels.len() as u64) as usize];
            let ids = world.message_ids(*channel);
            match rng.below(10) {
                0..=4 => {
                    let id = ids.last().copied().unwrap_or(0) + 1;
                    world.post(*channel, &post_text(title, id));
                }
                5..=7 if !ids.is_empty() => {
                    let id = ids[rng.below(ids.len() as u64) as usize];
                    world.edit(*channel, id, &format!("{} Обновлено: правка {changes}, тема «{}».", post_text(title, id), TOPICS[rng.below(8) as usize]));
                }
                _ if ids.len() > 1 => {
                    let id = ids[rng.below(ids.len() as u64) as usize];
                    world.delete(*channel, &[id]);
                }
                _ => continue,
            }
            changes += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        changes
    })
}

/// Runs the plan with the node binary at `binary`, its data under `work`.
pub async fn run(binary: &Path, plan: &ChaosPlan, work: &Path) -> Result<ChaosReport, String> {
    siftgram_models::install_tls_provider();
    let run_started = Instant::now();
    let started_day = siftgram_core::Clock::now(&siftgram_core::SystemClock).0.div_euclid(86_400);
    let mut rng = Rng(plan.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);

    // What outlives the node.
    let bot = Arc::new(FakeTelegram::start().await.map_err(|e| format!("fake Bot API: {e}"))?);
    let embeddings = siftgram_fake_openai::FakeOpenAi::start(64).await.map_err(|e| format!("embedding server: {e}"))?;
    let world = RecordedTelegram::new();
    let mut channels = Vec::new();
    for c in 0..plan.channels {
        let title = format!("Канал {}", c + 1);
        let id = world.add_generated_channel(3000 + c as i64, &format!("chaos_{}", c + 1), &title, plan.posts_per_channel as i64, |m| post_text(&title, m));
        channels.push((id, title));
    }
    world.add_account(MEMBER, Some(PASSWORD));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let telegram_url = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    let _served = siftgram_recorded_telegram::wire::serve(world.clone(), listener);

    // The node's configuration, the same on every start.
    let addr = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.to_string();
    let data = work.join("data");
    let mut env: Vec<(String, String)> = [
        ("SIFTGRAM_DATA_DIR", data.display().to_string()),
        ("SIFTGRAM_HTTP_ADDR", addr.clone()),
        ("SIFTGRAM_OPS_TOKEN", OPS_TOKEN.into()),
        ("SIFTGRAM_NODE_ID", "chaos-node".into()),
        ("TELEGRAM_BOT_TOKEN", FakeTelegram::TOKEN.into()),
        ("TELEGRAM_API_URL", bot.api_url()),
        ("SIFTGRAM_TELEGRAM", format!("recorded-at:{telegram_url}")),
        ("SIFTGRAM_EMBEDDER", "openai".into()),
        ("SIFTGRAM_EMBED_URL", embeddings.url().to_owned()),
        ("SIFTGRAM_EMBED_MODEL", "chaos-embeddings".into()),
        ("SIFTGRAM_EMBED_DIMENSION", "64".into()),
        ("SIFTGRAM_EMBED_API_KEY", siftgram_fake_openai::API_KEY.into()),
        ("SIFTGRAM_BOT_POLLING", "true".into()),
        ("RUST_LOG", "info".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if let Some(endpoint) = &plan.localstack {
        let ns = format!("chaos{}", std::process::id());
        for (k, v) in [
            ("SIFTGRAM_BACKEND", "aws".to_owned()),
            ("SIFTGRAM_NODE_CONSUMERS", "true".to_owned()),
            ("SIFTGRAM_TABLE", format!("siftgram-{ns}")),
            ("SIFTGRAM_RESOURCE_PREFIX", format!("{ns}-")),
            ("AWS_ENDPOINT_URL", endpoint.clone()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ] {
            env.push((k.into(), v));
        }
    }
    let config = {
        let map: HashMap<String, String> = env.iter().cloned().collect();
        Config::from_lookup(|k| map.get(k).cloned()).map_err(|e| e.to_string())?
    };
    seed_invite(&config).await?;

    let mut node = Node { binary: binary.to_owned(), env, log: work.join("node.log"), child: None, api: Api { addr, http: reqwest::Client::new() } };
    node.start()?;
    node.healthy(Duration::from_secs(300)).await?;
    progress(&format!("node up at {}; world: {} channels × {} posts", node.api.addr, plan.channels, plan.posts_per_channel));
    sign_in(&node.api, &bot, &world, MEMBER).await?;
    progress("member signed in");
    let member = bot.user(MEMBER, "ru");

    let running = Arc::new(AtomicBool::new(true));
    let live = script_live_changes(world.clone(), channels.clone(), plan.seed, running.clone());
    let mut kills = Vec::new();
    let (mut questions, mut digests) = (0usize, 0usize);
    let mut logins: Vec<tokio::task::JoinHandle<Result<(), String>>> = Vec::new();
    let mut login_users = Vec::new();
    for round in 0..plan.kills {
        let during = MOMENTS[round % MOMENTS.len()];
        let work_started = Instant::now();
        match during {
            "backfill" if round == 0 => {
                for n in 1..=channels.len() {
                    bot.push_update(member.says(&format!("/add_channel @chaos_{n}")));
                }
            }
            "backfill" | "live changes" => {}
            "questions" => {
                for _ in 0..2 {
                    questions += 1;
                    let topic = TOPICS[rng.below(8) as usize];
                    bot.push_update(member.says(&format!("/ask что писали про тему «{topic}»? (вопрос {questions})")));
                }
            }
            "digest" => {
                digests += 1;
                bot.push_update(member.says("/digest now"));
            }
            _ => {
                let user = 710 + round as i64;
                world.add_account(user, Some(PASSWORD));
                login_users.push(user);
                let (api, bot, world) = (node.api.clone(), bot.clone(), world.clone());
                logins.push(tokio::spawn(async move { sign_in(&api, &bot, &world, user).await }));
            }
        }
        // The kill lands anywhere in the first 3 s of the work.
        let delay = Duration::from_millis(rng.below(3000));
        tokio::time::sleep(delay.saturating_sub(work_started.elapsed())).await;
        node.kill();
        let after = work_started.elapsed();
        node.start()?;
        let recovery = node.healthy(Duration::from_secs(300)).await?;
        progress(&format!("kill {}/{} during {during} after {:.1} s; healthy again in {:.2} s", round + 1, plan.kills, after.as_secs_f64(), recovery.as_secs_f64()));
        kills.push(Kill { during, after, recovery });
        // Let the work get going again before the next kill.
        tokio::time::sleep(Duration::from_millis(500 + rng.below(1500))).await;
    }
    running.store(false, Ordering::Relaxed);
    let live_changes = live.await.map_err(|e| e.to_string())?;
    for login in logins {
        login.await.map_err(|e| e.to_string())??;
    }
    progress(&format!("{live_changes} live changes scripted; waiting for the node to settle"));
    let settling = Instant::now();
    settle(&node.api, &bot, &world, &channels, questions, digests).await;
    let settle_time = settling.elapsed();
    node.stop()?;

    let mut tally = Tally::default();
    let shown: Vec<String> = bot.bot_messages(MEMBER).into_iter().map(|m| m.text).collect();
    compare_messages(&member_sends(&bot), &shown, questions, digests, &mut tally);
    let backend = open_backend(&config).await?;
    let index = siftgram_search::EmbeddedIndex::open_dir(&config.data_dir.join("index")).map_err(|e| e.to_string())?;
    let posts = compare_store_and_index(&backend.repo, &index, &world, &channels, &mut tally).await?;
    let now_day = siftgram_core::Clock::now(&siftgram_core::SystemClock).0.div_euclid(86_400);
    let quota_not_compared = now_day != started_day;
    if !quota_not_compared {
        let used = backend.repo.daily_usage(UserId::new(MEMBER).expect("user id"), siftgram_core::rules::DailyQuota::RagQueries).await.map_err(|e| e.to_string())? as usize;
        tally.quota_twice = used.saturating_sub(questions + digests);
    }
    for user in &login_users {
        if backend.repo.load_session(UserId::new(*user).expect("user id")).await.map_err(|e| e.to_string())?.is_none() {
            tally.sign_ins_lost += 1;
        }
    }
    if backend.repo.load_session(UserId::new(MEMBER).expect("user id")).await.map_err(|e| e.to_string())?.is_none() {
        tally.sign_ins_lost += 1;
    }
    Ok(ChaosReport { kills, tally, posts, live_changes, questions, digests, logins: login_users.len() + 1, settle: settle_time, quota_not_compared, elapsed: run_started.elapsed() })
}

/// The node's storage as this process reaches it (LocalStack accepts any credentials; the
/// node is given test ones in its environment).
async fn open_backend(config: &Config) -> Result<Backend, String> {
    match &config.aws_endpoint {
        Some(endpoint) if config.backend == crate::backend::BackendKind::Aws => Ok(Backend::connect_with(config, siftgram_aws::local_sdk_config(endpoint).await)),
        _ => Backend::connect(config).await.map_err(|e| format!("storage: {e}")),
    }
}

async fn seed_invite(config: &Config) -> Result<(), String> {
    let backend = open_backend(config).await?;
    crate::migrate::run(&backend, config).await.map_err(|e| format!("migrate: {e}"))?;
    let now = siftgram_core::Clock::now(&siftgram_core::SystemClock);
    let code = siftgram_core::model::InviteCode::parse(INVITE).map_err(|e| e.to_string())?;
    let invite = siftgram_core::model::Invite::new(code, UserId::new(1).expect("user id"), now, siftgram_core::model::Tier::Enterprise, None, 1000, None).map_err(|e| e.to_string())?;
    backend.repo.create_invite(&invite).await.map_err(|e| e.to_string())?;
    Ok(())
}

fn member_sends(bot: &FakeTelegram) -> Vec<String> {
    bot.calls_to("sendMessage").into_iter().filter(|c| c.params["chat_id"].as_i64() == Some(MEMBER)).map(|c| c.params["text"].as_str().unwrap_or_default().to_owned()).collect()
}

const ASK_WORKING: &str = "⏳ Ищу ответ";
const DIGEST_WORKING: &str = "⏳ Собираю дайджест";

/// Waits (up to 20 minutes) until the store holds what Telegram has, the queues are empty and
/// every request was answered, seen twice in a row a second apart.
async fn settle(node: &Api, bot: &FakeTelegram, world: &RecordedTelegram, channels: &[(ChannelId, String)], questions: usize, digests: usize) {
    let started = Instant::now();
    let mut progress_at = Instant::now();
    let mut calm = 0;
    while calm < 2 && started.elapsed() < Duration::from_secs(1200) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let health = node.health().await.unwrap_or_default();
        let queues = health["components"]["queues"]["detail"].as_object().cloned().unwrap_or_default();
        let queued: u64 = if queues.is_empty() { 1 } else { queues.values().map(|v| v["messages"].as_u64().unwrap_or(1)).sum() };
        let dead: u64 = queues.values().map(|v| v["dead_letters"].as_u64().unwrap_or(0)).sum();
        if dead > 0 {
            // Nothing will bring those back by itself; the comparison counts what they cost.
            progress(&format!("{dead} messages were dead-lettered; comparing now"));
            return;
        }
        let list = node.get_as(MEMBER, "/api/channels").await.unwrap_or_default();
        let stored: HashMap<i64, u64> = list["channels"].as_array().map(|a| a.iter().map(|c| (c["id"].as_i64().unwrap_or(0), c["posts"].as_u64().unwrap_or(0))).collect()).unwrap_or_default();
        let behind: u64 = channels.iter().map(|(id, _)| (world.message_ids(*id).len() as u64).abs_diff(stored.get(&id.get()).copied().unwrap_or(0))).sum();
        let sent = member_sends(bot);
        let working = sent.iter().filter(|t| t.starts_with(ASK_WORKING)).count() + sent.iter().filter(|t| t.starts_with(DIGEST_WORKING)).count();
        let pending = bot.bot_messages(MEMBER).iter().filter(|m| m.text.starts_with(ASK_WORKING) || m.text.starts_with(DIGEST_WORKING)).count();
        let done = queued == 0 && behind == 0 && pending == 0 && working >= questions + digests;
        calm = if done { calm + 1 } else { 0 };
        if progress_at.elapsed() > Duration::from_secs(5) {
            progress(&format!("settling: {queued} queued, {behind} posts behind, {pending} replies pending ({:.0} s)", started.elapsed().as_secs_f64()));
            progress_at = Instant::now();
        }
    }
}

/// Counts doubled and lost replies from what the member was sent (`sent`: every sendMessage
/// text, in order) and what their chat shows now (`shown`).
fn compare_messages(sent: &[String], shown: &[String], questions: usize, digests: usize, tally: &mut Tally) {
    let asks = sent.iter().filter(|t| t.starts_with(ASK_WORKING)).count();
    let digest_starts = sent.iter().filter(|t| t.starts_with(DIGEST_WORKING)).count();
    tally.replies_twice += asks.saturating_sub(questions) + digest_starts.saturating_sub(digests);
    tally.replies_lost += questions.saturating_sub(asks) + digests.saturating_sub(digest_starts);
    tally.replies_lost += shown.iter().filter(|t| t.starts_with(ASK_WORKING) || t.starts_with(DIGEST_WORKING)).count();
    // Every other text the member was sent is one of a kind (replies name their channel, digest
    // parts their posts); "⏳" progress lines repeat by design.
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for text in sent.iter().filter(|t| !t.starts_with('⏳')) {
        *seen.entry(text.as_str()).or_default() += 1;
    }
    tally.replies_twice += seen.values().map(|n| n - 1).sum::<usize>();
}

/// Reads every stored post and every index point and compares them with the world; returns how
/// many posts Telegram has in the followed channels.
async fn compare_store_and_index(repo: &siftgram_core::repo::Repository, index: &siftgram_search::EmbeddedIndex, world: &RecordedTelegram, channels: &[(ChannelId, String)], tally: &mut Tally) -> Result<usize, String> {
    let keywords = siftgram_search::Analyzer::default();
    let mut points: HashMap<PostKey, BTreeMap<u32, Vec<u32>>> = HashMap::new();
    let mut doubled = std::collections::HashSet::new();
    for (post, chunk, terms) in index.points() {
        if points.entry(post).or_default().insert(chunk, terms).is_some() {
            doubled.insert(post);
        }
    }
    let mut total = 0;
    for (channel, _) in channels {
        let mut stored = HashMap::new();
        let mut cursor = None;
        loop {
            let (posts, next) = repo.channel_posts_oldest_first(*channel, 500, cursor).await.map_err(|e| e.to_string())?;
            for p in posts {
                stored.insert(p.key.message_id, p.text);
            }
            cursor = next;
            if cursor.is_none() {
                break;
            }
        }
        let ids = world.message_ids(*channel);
        total += ids.len();
        for id in &ids {
            let (_, message) = world.message(*channel, *id).expect("a listed message");
            match stored.remove(id) {
                None => tally.posts_missing += 1,
                Some(text) if text != message.text => tally.stale_edits += 1,
                Some(_) => {}
            }
            let key = PostKey::new(*channel, *id).map_err(|e| e.to_string())?;
            let expected: BTreeMap<u32, Vec<u32>> = chunk_text(&message.text, CHUNK_CHARS, CHUNK_OVERLAP).iter().map(|c| (c.index, keywords.document(&c.text).indices)).collect();
            match points.remove(&key) {
                None => tally.posts_not_indexed += 1,
                Some(found) => {
                    if found.len() > expected.len() || doubled.contains(&key) {
                        tally.posts_doubled += 1;
                    } else if found != expected {
                        tally.stale_edits += 1;
                    }
                }
            }
        }
        // What is left was deleted in Telegram.
        tally.deleted_found += stored.len();
    }
    tally.deleted_found += points.keys().filter(|k| channels.iter().any(|(c, _)| *c == k.channel_id)).count();
    Ok(total)
}

/// The report as a table.
pub fn render(plan: &ChaosPlan, r: &ChaosReport) -> String {
    let mut out = String::new();
    let backend = if plan.localstack.is_some() { "LocalStack SQS + DynamoDB" } else { "embedded" };
    out.push_str(&format!(
        "chaos run ({backend}): {} kills, {} posts in {} channels, {} live changes, {} questions, {} digests, {} logins, seed {}\n",
        r.kills.len(), r.posts, plan.channels, r.live_changes, r.questions, r.digests, r.logins, plan.seed
    ));
    out.push_str(&format!("{:<14} {:>6} {:>12} {:>12} {:>12}\n", "killed during", "kills", "at (median)", "recovery p50", "recovery max"));
    for moment in MOMENTS {
        let mut of: Vec<&Kill> = r.kills.iter().filter(|k| k.during == moment).collect();
        if of.is_empty() {
            continue;
        }
        of.sort_by_key(|k| k.recovery);
        let mut at: Vec<Duration> = of.iter().map(|k| k.after).collect();
        at.sort();
        let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1e3);
        out.push_str(&format!("{:<14} {:>6} {:>12} {:>12} {:>12}\n", moment, of.len(), ms(at[at.len() / 2]), ms(of[of.len() / 2].recovery), ms(of[of.len() - 1].recovery)));
    }
    let t = &r.tally;
    for (name, n) in [
        ("posts missing", t.posts_missing),
        ("posts not indexed", t.posts_not_indexed),
        ("posts doubled", t.posts_doubled),
        ("stale edits", t.stale_edits),
        ("deleted still found", t.deleted_found),
        ("replies sent twice", t.replies_twice),
        ("replies lost", t.replies_lost),
        ("quota counted twice", t.quota_twice),
        ("sign-ins lost", t.sign_ins_lost),
    ] {
        out.push_str(&format!("{name:<22} {n}\n"));
    }
    if r.quota_not_compared {
        out.push_str("(the run crossed midnight UTC: the daily quota was not compared)\n");
    }
    out.push_str(&format!("settled {:.1} s after the last restart; whole run {:.0} s\n", r.settle.as_secs_f64(), r.elapsed.as_secs_f64()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use siftgram_core::model::{MediaKind, Post};
    use siftgram_core::ports::{CollectionInfo, IndexedChunk, ChunkPayload, SearchIndex};

    #[test]
    fn a_request_shown_twice_or_never_answered_is_counted() {
        let texts = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let mut clean = Tally::default();
        compare_messages(&texts(&["⏳ Ищу ответ в ваших каналах…", "Канал 1 добавлен", "⏳ Собираю дайджест…"]), &texts(&["ответ", "Канал 1 добавлен", "дайджест"]), 1, 1, &mut clean);
        assert!(clean.all_zero(), "{clean:?}");
        let mut bad = Tally::default();
        let sent = texts(&["⏳ Ищу ответ в ваших каналах…", "⏳ Ищу ответ в ваших каналах…", "Часть 2 дайджеста", "Часть 2 дайджеста"]);
        compare_messages(&sent, &texts(&["ответ", "⏳ Ищу ответ в ваших каналах…"]), 1, 1, &mut bad);
        assert_eq!((bad.replies_twice, bad.replies_lost), (2, 2), "one ⏳ and one part doubled; the digest never started and one ⏳ never replaced");
    }

    #[tokio::test]
    async fn the_comparison_finds_missing_stale_and_deleted_posts_in_store_and_index() {
        let dir = tempfile::tempdir().unwrap();
        let backend = Backend::embedded(siftgram_embedded::EmbeddedDb::open_dir(dir.path()).unwrap(), Arc::new(siftgram_core::SystemClock), &Config::from_lookup(|_| None).unwrap());
        let index = siftgram_search::EmbeddedIndex::open_dir(&dir.path().join("index")).unwrap();
        index.open_collection(&CollectionInfo { model: "m".into(), dimension: 2 }).await.unwrap();
        let world = RecordedTelegram::new();
        let channel = world.add_generated_channel(3001, "chaos_1", "Канал 1", 4, |m| post_text("Канал 1", m));
        world.edit(channel, 2, "Канал 1: новая версия второго поста.");
        world.delete(channel, &[4]);
        let keywords = siftgram_search::Analyzer::default();
        // Post 1 as Telegram has it; post 2 in its old version; post 3 nowhere; deleted post 4 in both.
        for (id, text) in [(1, post_text("Канал 1", 1)), (2, post_text("Канал 1", 2)), (4, post_text("Канал 1", 4))] {
            let key = PostKey::new(channel, id).unwrap();
            backend.repo.insert_post(&Post::new(key, None, &text, siftgram_core::Timestamp(0), MediaKind::default()).unwrap()).await.unwrap();
            let payload = ChunkPayload { date: siftgram_core::Timestamp(0), tags: Vec::new(), language: keywords.language(&text) };
            let chunks = chunk_text(&text, CHUNK_CHARS, CHUNK_OVERLAP).iter().map(|c| IndexedChunk { post: key, chunk: c.index, dense: vec![1.0, 0.0], sparse: keywords.document(&c.text), payload: payload.clone() }).collect();
            index.upsert_post(key, chunks).await.unwrap();
        }
        let mut tally = Tally::default();
        let posts = compare_store_and_index(&backend.repo, &index, &world, &[(channel, "Канал 1".into())], &mut tally).await.unwrap();
        assert_eq!(posts, 3);
        let expected = Tally { posts_missing: 1, posts_not_indexed: 1, stale_edits: 2, deleted_found: 2, ..Tally::default() };
        assert_eq!(tally, expected);
    }
}
