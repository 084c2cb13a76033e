//! `/ask` latency without the model call: retrieval (query embedding by a cheap stand-in, hybrid
//! search filtered to the user's 100 channels, posts read from the store), context assembly, the
//! extractive answer and the bookkeeping writes (query history, cache, seen marks) — over an
//! embedded store and index holding `size` posts.

use super::{Lcg, percentiles};
use futures_util::future::BoxFuture;
use siftgram_core::answer::{AskSettings, Asker};
use siftgram_core::model::{Channel, ChannelId, Language, MediaKind, Post, PostKey, Tier, User, UserId};
use siftgram_core::ports::{ChunkPayload, CollectionInfo, EmbedError, EmbedKind, Embedder, IndexedChunk, KeywordEncoder, SearchIndex};
use siftgram_core::retrieval::Retriever;
use siftgram_core::{Clock, Timestamp};
use siftgram_search::Analyzer;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

const DIM: usize = 384;
const CHANNELS: i64 = 100;

/// Deterministic unit vectors from the text: the search does the same work as with real ones.
struct HashDense;
#[async_trait::async_trait]
impl Embedder for HashDense {
    fn model(&self) -> &str {
        "hash-dense-bench"
    }
    fn dimension(&self) -> usize {
        DIM
    }
    async fn embed(&self, texts: &[String], _: EmbedKind) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(texts.iter().map(|t| Lcg(t.bytes().fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))).vector(DIM)).collect())
    }
}

/// A store and index holding `size` posts over 100 channels, all followed by `reader` (an
/// enterprise user), with the retriever over them.
pub(super) struct Library {
    pub repo: siftgram_core::repo::Repository,
    pub clock: Arc<siftgram_core::clock::ManualClock>,
    pub db: siftgram_embedded::EmbeddedDb,
    pub retriever: Arc<Retriever>,
    pub keywords: Arc<dyn KeywordEncoder>,
    pub reader: UserId,
    pub rng: Lcg,
}

pub(super) async fn library(size: usize, dir: &Path) -> Result<Library, String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let crate::scratch::Scratch { repo, index, clock, db } = crate::scratch::Scratch::open(dir)?;
    index.open_collection(&CollectionInfo { model: HashDense.model().into(), dimension: DIM }).await.map_err(|e| err(&e))?;
    let reader = reader();
    let mut user = User::new(reader, "bench", Language::Ru, clock.now()).map_err(|e| err(&e))?;
    user.tier = Tier::Enterprise;
    // A member (as if an invite was redeemed): the API's member routes serve them.
    user.invite_code = Some(siftgram_core::model::InviteCode::parse("BENCH0000001").map_err(|e| err(&e))?);
    repo.create_user(&user).await.map_err(|e| err(&e))?;
    for c in 1..=CHANNELS {
        let id = ChannelId::new(c).expect("id");
        repo.save_channel(&Channel::new(id, None, &format!("Канал {c}")).map_err(|e| err(&e))?).await.map_err(|e| err(&e))?;
        repo.subscribe(reader, id).await.map_err(|e| err(&e))?;
    }
    let analyzer = Analyzer::default();
    let mut rng = Lcg(size as u64 + 17);
    let mut batch = Vec::new();
    let mut posts = Vec::new();
    let now = clock.now();
    let mut progress = crate::progress::Progress::new("bench: building the library", "posts", Some(size as u64));
    for n in 0..size as i64 {
        let channel = ChannelId::new(n % CHANNELS + 1).expect("id");
        let key = PostKey::new(channel, n / CHANNELS + 1).map_err(|e| err(&e))?;
        let text = format!("{}. {}. {}.", rng.text(12), rng.text(10), rng.text(14));
        let date = Timestamp(now.0 - (size as i64 - n) * 60);
        posts.push(Post::new(key, None, &text, date, MediaKind::None).map_err(|e| err(&e))?);
        let payload = ChunkPayload { date, tags: Vec::new(), language: Language::Ru };
        batch.push((key, vec![IndexedChunk { post: key, chunk: 0, dense: rng.vector(DIM), sparse: analyzer.document(&text), payload }]));
        if batch.len() == 5000 || n + 1 == size as i64 {
            // Stored side by side, as the indexer's batches are: the inserts share commits.
            for stored in futures_util::future::join_all(posts.iter().map(|p| repo.insert_post(p))).await {
                stored.map_err(|e| err(&e))?;
            }
            posts.clear();
            progress.add(batch.len() as u64);
            index.upsert_many(std::mem::take(&mut batch)).await.map_err(|e| err(&e))?;
        }
    }
    progress.finish();
    let (retriever, keywords) = retriever(&repo, index, Arc::new(HashDense));
    Ok(Library { repo, clock, db, retriever, keywords, reader, rng })
}

/// Retrieval over a library's store and index, questions embedded by `embedder`, keywords by the
/// node's analyzer (returned too: the answer side reads them).
fn retriever(repo: &siftgram_core::repo::Repository, index: siftgram_search::EmbeddedIndex, embedder: Arc<dyn Embedder>) -> (Arc<Retriever>, Arc<dyn KeywordEncoder>) {
    let keywords: Arc<dyn KeywordEncoder> = Arc::new(Analyzer::default());
    (Arc::new(Retriever { repo: repo.clone(), index: Arc::new(index), embedder, keywords: keywords.clone() }), keywords)
}

/// The library's one member, who follows all its channels.
fn reader() -> UserId {
    UserId::new(1).expect("id")
}

/// The `n`th bench question: four vocabulary words, numbered so the answer cache never answers.
fn question(rng: &mut Lcg, n: usize) -> String {
    format!("{} {n}?", rng.text(4))
}

/// What a node holding the library `ask_latency` left in `dir` needs: the store and index opened
/// as the node opens them on start (the index loads into memory) — this process's RSS then —
/// and, after `embedder` is loaded (the node's model; None: the bench's stand-in, no model) and
/// `questions` questions are answered, its RSS again. Run in a process of its own
/// (`siftgram bench --open-library DIR`), so the figures hold none of the bench's own data.
pub async fn open_and_ask(dir: &Path, embedder: Option<BoxFuture<'static, Result<Arc<dyn Embedder>, String>>>, questions: usize) -> Result<String, String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let crate::scratch::Scratch { repo, index, clock, .. } = crate::scratch::Scratch::open(dir)?;
    let posts = index.count().await.map_err(|e| err(&e))?;
    let opened = super::memory();
    let embedder = match embedder {
        Some(load) => load.await?,
        None => Arc::new(HashDense),
    };
    if embedder.dimension() != DIM {
        return Err(format!("the library holds {DIM}-d vectors; {} makes {}-d ones", embedder.model(), embedder.dimension()));
    }
    let model = embedder.model().to_owned();
    let (retriever, keywords) = retriever(&repo, index, embedder);
    let asker = Asker { repo, retriever, keywords, chat: None, settings: AskSettings::default() };
    let mut rng = Lcg(posts + 5);
    for i in 0..questions {
        let answer = asker.ask(reader(), &question(&mut rng, i), Language::Ru, clock.now()).await.map_err(|e| err(&e))?;
        std::hint::black_box(answer);
    }
    Ok(format!("{posts} posts indexed: store and index open {opened}; with {model} loaded and {questions} questions answered {}", super::memory()))
}

/// `/ask` over a library of `size` posts; returns p50/p95/p99.
pub async fn ask_latency(size: usize, questions: usize, dir: &Path) -> Result<String, String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let Library { repo, clock, retriever, keywords, reader, mut rng, .. } = library(size, dir).await?;
    let asker = Asker { repo, retriever, keywords, chat: None, settings: AskSettings::default() };
    let mut samples = Vec::with_capacity(questions);
    for i in 0..questions {
        let question = question(&mut rng, i);
        let t = Instant::now();
        asker.ask(reader, &question, Language::Ru, clock.now()).await.map_err(|e| err(&e))?;
        samples.push(t.elapsed());
    }
    Ok(percentiles(samples))
}
