//! `siftgram bench`: ingest throughput (keyword-only and with the embedder) and hybrid query
//! latency at several index sizes, `/ask` latency without the model call, with the process's
//! memory. Figures, not pass/fail.

mod api;
mod ask;
pub mod embeddings;
#[cfg(feature = "peers")]
mod peers;
mod sessions;

/// `bench --compare`: tantivy and hnsw_rs beside our index, in a build that has them.
#[cfg(feature = "peers")]
pub async fn compare(keyword_posts: usize, dense_sizes: &[usize], dir: &Path) -> Result<(), String> {
    println!("{}", header("siftgram bench --compare"));
    peers::compare(keyword_posts, dense_sizes, dir).await
}

#[cfg(not(feature = "peers"))]
pub async fn compare(_: usize, _: &[usize], _: &Path) -> Result<(), String> {
    Err("this build has no peers to compare with: cargo run --release --features peers -- bench --compare".into())
}

use siftgram_core::messages::PostMessage;
use siftgram_core::model::{Channel, ChannelId, Language, MediaKind, Post, PostKey};
use siftgram_core::ports::{ChunkPayload, Embedder, IndexFilter, IndexQuery, IndexedChunk, Queue, SearchIndex};
use siftgram_core::{Clock, Timestamp};
use siftgram_search::{Analyzer, EmbeddedIndex};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const WORDS: &[&str] = &[
    "курс", "доллар", "рубль", "ставка", "банк", "инфляция", "нефть", "биржа", "акции", "облигации", "бюджет", "налог", "выборы",
    "президент", "правительство", "закон", "суд", "погода", "снег", "метро", "город", "парк", "концерт", "театр", "выставка",
    "матч", "футбол", "хоккей", "победа", "турнир", "сборная", "тренер", "рецепт", "суп", "хлеб", "кофе", "ресторан", "рынок",
    "школа", "университет", "наука", "космос", "ракета", "спутник", "телефон", "компьютер", "программа", "данные", "сеть",
    "rust", "python", "linux", "kernel", "release", "compiler", "database", "cloud", "model", "training", "chip", "startup",
    "funding", "security", "vulnerability", "patch", "update", "browser", "mobile", "network", "storage", "latency", "benchmark",
];

const SYLLABLES: &[&str] = &["ка", "ро", "ми", "ла", "ст", "ен", "то", "ва", "ри", "но", "пе", "су", "ди", "мо", "ба", "ze", "tor", "lin", "ex", "ar"];

/// A vocabulary of the real words above plus syllable words, most frequent first.
fn vocabulary() -> Vec<String> {
    let mut v: Vec<String> = WORDS.iter().map(|w| w.to_string()).collect();
    for a in SYLLABLES {
        for b in SYLLABLES {
            for c in SYLLABLES.iter().take(10) {
                v.push(format!("{a}{b}{c}"));
            }
        }
    }
    v
}

/// A deterministic pseudo-random stream (the figures must be comparable between runs).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn unit(&mut self) -> f32 {
        (self.next() % 20_000) as f32 / 10_000.0 - 1.0
    }
    /// Words drawn log-uniformly over the vocabulary (a Zipf-like spread: a few words are
    /// everywhere, most are rare — as in real posts).
    fn text(&mut self, words: usize) -> String {
        thread_local!(static VOCAB: Vec<String> = vocabulary());
        VOCAB.with(|v| {
            (0..words)
                .map(|_| {
                    let u = (self.next() % 1_000_000) as f64 / 1_000_000.0;
                    v[((v.len() as f64).powf(u) as usize).saturating_sub(1).min(v.len() - 1)].clone()
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
    }
    fn vector(&mut self, dim: usize) -> Vec<f32> {
        let v: Vec<f32> = (0..dim).map(|_| self.unit()).collect();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
        v.into_iter().map(|x| x / n).collect()
    }
}

/// The core's clock as a chain of dependent adds sees it (one add per cycle): shared and
/// virtual machines run at very different speeds from day to day, and a bench's figures only
/// compare with another run's at the same clock.
fn clock_ghz() -> Option<f64> {
    #[cfg(target_arch = "x86_64")]
    {
        const ADDS: u64 = 500_000_000;
        let mut x: u64 = 0;
        let started = Instant::now();
        for _ in 0..ADDS {
            // SAFETY: one register add, no memory touched.
            unsafe { std::arch::asm!("add {0}, 1", inout(reg) x, options(nomem, nostack)) };
        }
        std::hint::black_box(x);
        Some(ADDS as f64 / started.elapsed().as_secs_f64() / 1e9)
    }
    #[cfg(not(target_arch = "x86_64"))]
    None
}

/// A run's first line: what it is, and the machine it ran on.
fn header(what: &str) -> String {
    let clock = clock_ghz().map_or(String::new(), |ghz| format!(", ≈ {ghz:.2} GHz (a chain of dependent adds)"));
    format!("{what}, {} CPUs{clock}", std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn memory() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| status.lines().find(|l| l.starts_with(name)).and_then(|l| l.split_whitespace().nth(1)).and_then(|kb| kb.parse::<u64>().ok()).unwrap_or(0);
    format!("RSS {} MiB (peak {} MiB)", field("VmRSS:") / 1024, field("VmHWM:") / 1024)
}

fn percentiles(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let at = |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0;
    format!("p50 {:.2} ms  p95 {:.2} ms  p99 {:.2} ms", at(0.50), at(0.95), at(0.99))
}

/// What an ingest run measured: posts per second, and the fsynced commits it took per post
/// (store and index together; group commit is what keeps it far below one per write).
struct Ingested {
    rate: f64,
    commits_per_post: f64,
}

async fn ingest(embedder: Arc<dyn Embedder>, posts: usize, dir: &Path, seed: u64) -> Result<Ingested, String> {
    let mut rng = Lcg(seed);
    let texts: Vec<String> = (0..posts)
        .map(|_| {
            let words = 20 + rng.next() as usize % 40;
            rng.text(words)
        })
        .collect();
    ingest_texts(embedder, &texts, dir).await
}

/// Posts per second through the node's indexing path: the posts queue (embedded), batches
/// handled side by side by the indexer as the node does (store, tags, embeddings, index), each
/// acked.
async fn ingest_texts(embedder: Arc<dyn Embedder>, texts: &[String], dir: &Path) -> Result<Ingested, String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let crate::scratch::Scratch { db, repo, index, clock } = crate::scratch::Scratch::open(dir)?;
    let queue = siftgram_embedded::EmbeddedQueue::open(&db, siftgram_core::schema::queue_spec("posts").map_err(|e| err(&e))?).map_err(|e| err(&e))?;
    let indexer = siftgram_search::indexer(repo.clone(), Arc::new(index.clone()), embedder, None, None);
    index.open_collection(&indexer.collection()).await.map_err(|e| err(&e))?;
    let channel = ChannelId::new(1).expect("id");
    repo.save_channel(&Channel::new(channel, None, "bench").map_err(|e| err(&e))?).await.map_err(|e| err(&e))?;
    for (id, text) in (1..).zip(texts) {
        let post = Post::new(PostKey::new(channel, id).map_err(|e| err(&e))?, None, text, clock.now(), MediaKind::None).map_err(|e| err(&e))?;
        let body = serde_json::to_string(&PostMessage::Publish { post }).map_err(|e| err(&e))?;
        queue.send(siftgram_core::ports::OutgoingMessage::new(body)).await.map_err(|e| err(&e))?;
    }
    let commits = || db.commit_counts().commits + index.commit_counts().commits;
    let commits_before = commits();
    let mut progress = crate::progress::Progress::new("bench: ingest", "posts", Some(texts.len() as u64));
    let started = Instant::now();
    let mut acked = 0;
    while acked < texts.len() {
        let report = siftgram_core::consume::process_batch_side_by_side(&queue, &indexer, crate::supervise::SIDE_BY_SIDE_BATCH, Duration::ZERO)
            .await
            .map_err(|e| err(&e))?;
        if report.failed > 0 {
            return Err(format!("{} posts failed to index", report.failed));
        }
        acked += report.acked;
        progress.add(report.acked as u64);
    }
    let rate = texts.len() as f64 / started.elapsed().as_secs_f64();
    progress.finish();
    Ok(Ingested { rate, commits_per_post: (commits() - commits_before) as f64 / texts.len() as f64 })
}

/// Hybrid search latency over `size` posts in 100 channels (dense vectors are random: the search
/// does the same work whatever the numbers are).
async fn query_latency(size: usize, queries: usize, dir: &Path) -> Result<(String, String), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    const DIM: usize = 384;
    const CHANNELS: i64 = 100;
    let index = EmbeddedIndex::open_dir(dir).map_err(|e| err(&e))?;
    index.open_collection(&siftgram_core::ports::CollectionInfo { model: "bench".into(), dimension: DIM }).await.map_err(|e| err(&e))?;
    let analyzer = Analyzer::default();
    let mut rng = Lcg(size as u64);
    let mut batch = Vec::new();
    let mut progress = crate::progress::Progress::new("bench: building the index", "posts", Some(size as u64));
    for n in 0..size as i64 {
        let channel = ChannelId::new(n % CHANNELS + 1).expect("id");
        let post = PostKey::new(channel, n / CHANNELS + 1).map_err(|e| err(&e))?;
        let text = rng.text(30);
        let payload = ChunkPayload { date: Timestamp(1_790_000_000 + n * 60), tags: Vec::new(), language: Language::Ru };
        batch.push((post, vec![IndexedChunk { post, chunk: 0, dense: rng.vector(DIM), sparse: analyzer.document(&text), payload }]));
        if batch.len() == 5000 {
            index.upsert_many(std::mem::take(&mut batch)).await.map_err(|e| err(&e))?;
            progress.add(5000);
        }
    }
    progress.add(batch.len() as u64);
    index.upsert_many(batch).await.map_err(|e| err(&e))?;
    progress.finish();
    let mut run = |channels: i64| {
        let filter = IndexFilter { channels: (1..=channels).map(|c| ChannelId::new(c).expect("id")).collect(), ..IndexFilter::default() };
        (0..queries).map(|_| IndexQuery { dense: rng.vector(DIM), sparse: analyzer.query(&rng.text(3)), filter: filter.clone(), limit: 10 }).collect::<Vec<_>>()
    };
    let (all, five) = (run(CHANNELS), run(5));
    let mut results = Vec::new();
    for qs in [all, five] {
        let mut samples = Vec::with_capacity(qs.len());
        for q in &qs {
            let t = Instant::now();
            index.search(q).await.map_err(|e| err(&e))?;
            samples.push(t.elapsed());
        }
        results.push(percentiles(samples));
    }
    Ok((results.remove(0), results.remove(0)))
}

/// `binary bench --open-library dir`: `ask::open_and_ask` in a fresh process; its one line.
fn open_library(binary: &Path, dir: &Path) -> Result<String, String> {
    let out = std::process::Command::new(binary).args(["bench", "--open-library"]).arg(dir).output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("bench --open-library failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

pub use ask::open_and_ask;

/// What `siftgram bench` measures.
pub struct BenchPlan<'a> {
    /// Index sizes of the query, `/ask` and API runs.
    pub sizes: &'a [usize],
    pub keyword_posts: usize,
    /// The configured embedder (None: no embedding figures), and the engine it is compared with.
    pub embedder: Option<Arc<dyn Embedder>>,
    pub reference: Option<Arc<dyn Embedder>>,
    pub embed_sample: usize,
    pub session_users: &'a [usize],
    /// This program: it measures a library's memory in a process of its own (None: not measured).
    pub node_binary: Option<&'a Path>,
}

/// Every figure of `siftgram bench`, its scratch data in `work_dir`.
pub async fn run_bench(plan: BenchPlan<'_>, work_dir: &Path) -> Result<(), String> {
    let BenchPlan { sizes, keyword_posts, embedder, reference, embed_sample, session_users, node_binary } = plan;
    println!("{}", header("siftgram bench — embedded index"));
    let keyword = ingest(Arc::new(siftgram_search::KeywordOnly), keyword_posts, &work_dir.join("ingest-keyword"), 1).await?;
    println!(
        "ingest, keyword-only (posts queue → store + tags + index, batches of {} side by side): {:.0} posts/s over {keyword_posts} posts, {:.2} fsynced commits per post",
        crate::supervise::SIDE_BY_SIDE_BATCH, keyword.rate, keyword.commits_per_post
    );
    if let Some(embedder) = &embedder {
        print!("{}", embeddings::compare(embedder.clone(), reference, embed_sample).await?);
        let texts = embeddings::full_length_posts(embed_sample);
        let rate = ingest_texts(embedder.clone(), &texts, &work_dir.join("ingest-dense")).await?.rate;
        let busy = {
            let _busy = embeddings::BusyCore::start()?;
            ingest_texts(embedder.clone(), &texts, &work_dir.join("ingest-dense-busy")).await?.rate
        };
        println!("ingest, full-length posts with {} ({}-d): {rate:.1} posts/s idle, {busy:.1} with one core busy, over {embed_sample} posts", embedder.model(), embedder.dimension());
    }
    for &size in sizes {
        let (all, five) = query_latency(size, 200, &work_dir.join(format!("query-{size}"))).await?;
        println!("hybrid search over {size} posts — all 100 channels: {all}; 5 channels: {five}; {}", memory());
    }
    for &size in sizes {
        let dir = work_dir.join(format!("ask-{size}"));
        let figures = ask::ask_latency(size, 200, &dir).await?;
        println!("/ask without the model call over {size} posts (retrieval + context + extractive answer + bookkeeping; query embedding not included, see above): {figures}; {}", memory());
        if let Some(binary) = node_binary {
            println!(
                "a process that opens those {size} posts' store and index as the node does, then the node's embedding model, and answers: {}",
                open_library(binary, &dir)?
            );
        }
    }
    for &size in sizes {
        let figures = api::api_latency(size, 200, &work_dir.join(format!("api-{size}"))).await?;
        println!("API in-process over {size} posts (launch data checked on every request; targets p99 <= 10 ms for me and channels): {figures}; {}", memory());
    }
    if !session_users.is_empty() {
        let rate = sessions::backfill_rate(5_000, &work_dir.join("backfill")).await?;
        println!("session node backfill (recorded Telegram, embedded posts queue): {rate:.0} messages/s published");
    }
    for &users in session_users {
        let figure = sessions::idle_users(users, &work_dir.join(format!("idle-{users}"))).await?;
        println!("session node with {users} idle signed-in users driven: {figure}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_bench_runs_end_to_end_on_small_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let plan = super::BenchPlan { sizes: &[300], keyword_posts: 50, embedder: None, reference: None, embed_sample: 0, session_users: &[2], node_binary: None };
        super::run_bench(plan, dir.path()).await.expect("bench runs");
        assert!(super::memory().starts_with("RSS "));
        // What `bench --open-library` runs in a process of its own, on the library left behind.
        let reopened = super::open_and_ask(&dir.path().join("ask-300"), None, 3).await.expect("the library reopens");
        assert!(reopened.starts_with("300 posts indexed: store and index open RSS "), "{reopened}");
        assert!(reopened.contains("; with hash-dense-bench loaded and 3 questions answered RSS "), "{reopened}");
    }
}
