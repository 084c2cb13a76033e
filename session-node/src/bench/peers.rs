//! `siftgram bench --compare` (a build with `--features peers`): the embedded index measured
//! beside the well-known peers on the same posts and vectors, in one run — tantivy with a
//! Russian stemmer for the keyword side (ingest and query), hnsw_rs for the dense side (recall@10
//! against exact search, and latency, at each size asked for).
//!
//! The dense vectors are clustered (a thousand topics, each post near its topic) rather than
//! uniform: an approximate index's recall on uniform random vectors says nothing about posts.

use super::{Lcg, percentiles};
use siftgram_core::Timestamp;
use siftgram_core::model::{ChannelId, Language, PostKey};
use siftgram_core::ports::{ChunkPayload, CollectionInfo, IndexFilter, IndexQuery, IndexedChunk, SearchIndex};
use siftgram_search::{Analyzer, EmbeddedIndex};
use std::path::Path;
use std::time::{Duration, Instant};

const CHANNELS: i64 = 100;
const DIM: usize = 384;
const QUERIES: usize = 200;
/// Both indexes commit durably once per this many posts (ours is one fsynced redb commit,
/// tantivy's a commit of its segments).
const COMMIT_EVERY: usize = 1000;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn key_of(n: usize) -> PostKey {
    let n = n as i64;
    PostKey::new(ChannelId::new(n % CHANNELS + 1).expect("id"), n / CHANNELS + 1).expect("key")
}

fn number_of(key: PostKey) -> usize {
    ((key.message_id - 1) * CHANNELS + key.channel_id.get() - 1) as usize
}

fn all_channels() -> IndexFilter {
    IndexFilter { channels: (1..=CHANNELS).map(|c| ChannelId::new(c).expect("id")).collect(), ..IndexFilter::default() }
}

fn payload(n: usize) -> ChunkPayload {
    ChunkPayload { date: Timestamp(1_790_000_000 + n as i64 * 60), tags: Vec::new(), language: Language::Ru }
}

fn ratio(ours: f64, theirs: f64) -> String {
    if theirs > 0.0 { format!("{:.2}×", ours / theirs) } else { "—".into() }
}

pub async fn compare(keyword_posts: usize, dense_sizes: &[usize], dir: &Path) -> Result<(), String> {
    keyword(keyword_posts, dir).await?;
    for &size in dense_sizes {
        dense(size, &dir.join(format!("dense-{size}"))).await?;
    }
    Ok(())
}

/// Keyword ingest and query, ours and tantivy's, over the same posts and questions.
async fn keyword(posts: usize, dir: &Path) -> Result<(), String> {
    let mut rng = Lcg(7);
    let texts: Vec<String> = (0..posts)
        .map(|_| {
            let words = 20 + rng.next() as usize % 40;
            rng.text(words)
        })
        .collect();
    let questions: Vec<String> = (0..QUERIES).map(|_| rng.text(3)).collect();

    let analyzer = Analyzer::default();
    let ours = EmbeddedIndex::open_dir(&dir.join("ours-keyword")).map_err(err)?;
    ours.open_collection(&CollectionInfo { model: "keyword-only".into(), dimension: 0 }).await.map_err(err)?;
    let started = Instant::now();
    for (at, batch) in texts.chunks(COMMIT_EVERY).enumerate() {
        let points = batch
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let key = key_of(at * COMMIT_EVERY + i);
                (key, vec![IndexedChunk { post: key, chunk: 0, dense: Vec::new(), sparse: analyzer.document(text), payload: payload(at * COMMIT_EVERY + i) }])
            })
            .collect();
        ours.upsert_many(points).await.map_err(err)?;
    }
    let ours_rate = posts as f64 / started.elapsed().as_secs_f64();

    let theirs = tantivy_peer::Keyword::create(&dir.join("tantivy")).map_err(err)?;
    let started = Instant::now();
    theirs.ingest(&texts, COMMIT_EVERY).map_err(err)?;
    let theirs_rate = posts as f64 / started.elapsed().as_secs_f64();
    println!(
        "keyword ingest, {posts} posts, a durable commit per {COMMIT_EVERY}, one indexing thread each: ours {ours_rate:.0} posts/s, tantivy {theirs_rate:.0} posts/s (ours/tantivy {})",
        ratio(ours_rate, theirs_rate)
    );

    let mut ours_samples = Vec::with_capacity(QUERIES);
    for q in &questions {
        let query = IndexQuery { dense: Vec::new(), sparse: analyzer.query(q), filter: all_channels(), limit: 10 };
        let t = Instant::now();
        ours.search(&query).await.map_err(err)?;
        ours_samples.push(t.elapsed());
    }
    let theirs_samples = theirs.query_latency(&questions).map_err(err)?;
    let (ours_p50, theirs_p50) = (median(&ours_samples), median(&theirs_samples));
    println!(
        "keyword query over {posts} posts (3 words, top 10): ours {}; tantivy BM25 {} (p50 ours/tantivy {})",
        percentiles(ours_samples),
        percentiles(theirs_samples),
        ratio(ours_p50, theirs_p50)
    );
    Ok(())
}

fn median(samples: &[Duration]) -> f64 {
    let mut s = samples.to_vec();
    s.sort();
    s[s.len() / 2].as_secs_f64()
}

/// Unit vectors near one of a thousand random topics (`spread` is the noise's share).
fn clustered(rng: &mut Lcg, topics: &[Vec<f32>], spread: f32) -> Vec<f32> {
    let topic = &topics[rng.next() as usize % topics.len()];
    // The sum of four uniforms is close enough to a normal for noise.
    let per_dim = spread / (DIM as f32).sqrt() * 1.7;
    let v: Vec<f32> = topic.iter().map(|t| t + per_dim * (rng.unit() + rng.unit() + rng.unit() + rng.unit()) / 2.0).collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
    v.into_iter().map(|x| x / n).collect()
}

/// f32 dot product in eight lanes (a plain sum would stay scalar: float addition is not
/// reassociated by the compiler).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    let tail: f32 = a.chunks_exact(8).remainder().iter().zip(b.chunks_exact(8).remainder()).map(|(x, y)| x * y).sum();
    lanes.iter().sum::<f32>() + tail
}

/// The true ten nearest (by cosine, exact f32) of each query, the queries split over the cores.
fn exact_top10(vectors: &[Vec<f32>], queries: &[Vec<f32>]) -> Vec<Vec<usize>> {
    let nearest = |q: &Vec<f32>| -> Vec<usize> {
        let mut scored: Vec<(f32, usize)> = vectors.iter().enumerate().map(|(i, v)| (dot(q, v), i)).collect();
        scored.select_nth_unstable_by(10, |a, b| b.0.total_cmp(&a.0));
        scored.truncate(10);
        scored.into_iter().map(|(_, i)| i).collect()
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_thread = queries.len().div_ceil(cores).max(1);
    std::thread::scope(|scope| {
        let parts: Vec<_> = queries.chunks(per_thread).map(|part| scope.spawn(move || part.iter().map(nearest).collect::<Vec<_>>())).collect();
        parts.into_iter().flat_map(|p| p.join().expect("exact search thread")).collect()
    })
}

fn recall(found: &[Vec<usize>], truth: &[Vec<usize>]) -> f64 {
    let hits: usize = found.iter().zip(truth).map(|(f, t)| f.iter().filter(|i| t.contains(i)).count()).sum();
    hits as f64 / (truth.len() * 10) as f64
}

/// Dense search at `size` vectors: ours (exact over int8) and hnsw_rs, against exact f32.
async fn dense(size: usize, dir: &Path) -> Result<(), String> {
    let mut rng = Lcg(size as u64 ^ 0x5eed);
    let topics: Vec<Vec<f32>> = (0..1000).map(|_| rng.vector(DIM)).collect();
    let mut progress = crate::progress::Progress::new("bench: vectors", "vectors", Some(size as u64));
    let mut vectors = Vec::with_capacity(size);
    for _ in 0..size {
        vectors.push(clustered(&mut rng, &topics, 0.8));
        progress.add(1);
    }
    progress.finish();
    let queries: Vec<Vec<f32>> = (0..QUERIES).map(|_| clustered(&mut rng, &topics, 0.8)).collect();
    let truth = exact_top10(&vectors, &queries);

    let ours = EmbeddedIndex::open_dir(dir).map_err(err)?;
    ours.open_collection(&CollectionInfo { model: "bench".into(), dimension: DIM }).await.map_err(err)?;
    let mut progress = crate::progress::Progress::new("bench: our index", "vectors", Some(size as u64));
    let started = Instant::now();
    for (at, batch) in vectors.chunks(5000).enumerate() {
        let points = batch
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let n = at * 5000 + i;
                let key = key_of(n);
                (key, vec![IndexedChunk { post: key, chunk: 0, dense: v.clone(), sparse: Default::default(), payload: payload(n) }])
            })
            .collect();
        ours.upsert_many(points).await.map_err(err)?;
        progress.add(batch.len() as u64);
    }
    progress.finish();
    let ours_build = started.elapsed();
    let mut samples = Vec::with_capacity(QUERIES);
    let mut found = Vec::with_capacity(QUERIES);
    for q in &queries {
        let query = IndexQuery { dense: q.clone(), sparse: Default::default(), filter: all_channels(), limit: 10 };
        let t = Instant::now();
        let hits = ours.search(&query).await.map_err(err)?;
        samples.push(t.elapsed());
        found.push(hits.iter().map(|h| number_of(h.post)).collect::<Vec<_>>());
    }
    println!(
        "dense search, {size} vectors ({DIM}-d, clustered), all 100 channels: ours (exact, int8) recall@10 {:.3}, {}, built in {:.1} s, {}",
        recall(&found, &truth),
        percentiles(samples),
        ours_build.as_secs_f64(),
        super::memory()
    );
    drop(ours);

    let started = Instant::now();
    let hnsw = hnsw_peer::Dense::build(&vectors);
    let build = started.elapsed();
    for ef in [32, 64, 128] {
        let (found, samples) = hnsw.search(&queries, ef);
        println!(
            "dense search, {size} vectors: hnsw_rs (M 16, ef_construction 100, ef {ef}) recall@10 {:.3}, {}, built in {:.1} s on {} threads",
            recall(&found, &truth),
            percentiles(samples),
            build.as_secs_f64(),
            std::thread::available_parallelism().map_or(1, |n| n.get())
        );
    }
    println!("{}", super::memory());
    Ok(())
}

/// tantivy as a search engine would run it: Russian Snowball stems, lowercase, long tokens
/// dropped, BM25 over term frequencies.
mod tantivy_peer {
    use std::path::Path;
    use std::time::{Duration, Instant};
    use tantivy::collector::TopDocs;
    use tantivy::query::QueryParser;
    use tantivy::schema::{Field, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions};
    use tantivy::tokenizer::{Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer};
    use tantivy::{Index, IndexWriter, TantivyDocument};

    pub struct Keyword {
        index: Index,
        body: Field,
        id: Field,
    }

    impl Keyword {
        pub fn create(dir: &Path) -> tantivy::Result<Keyword> {
            std::fs::create_dir_all(dir)?;
            let mut schema = Schema::builder();
            let indexing = TextFieldIndexing::default().set_tokenizer("ru_stem").set_index_option(IndexRecordOption::WithFreqs);
            let body = schema.add_text_field("body", TextOptions::default().set_indexing_options(indexing));
            let id = schema.add_u64_field("id", STORED);
            let index = Index::create_in_dir(dir, schema.build())?;
            let analyzer = TextAnalyzer::builder(SimpleTokenizer::default())
                .filter(RemoveLongFilter::limit(40))
                .filter(LowerCaser)
                .filter(Stemmer::new(Language::Russian))
                .build();
            index.tokenizers().register("ru_stem", analyzer);
            Ok(Keyword { index, body, id })
        }

        pub fn ingest(&self, texts: &[String], commit_every: usize) -> tantivy::Result<()> {
            let mut writer: IndexWriter = self.index.writer_with_num_threads(1, 64 << 20)?;
            for (n, text) in texts.iter().enumerate() {
                let mut doc = TantivyDocument::default();
                doc.add_text(self.body, text);
                doc.add_u64(self.id, n as u64);
                writer.add_document(doc)?;
                if (n + 1).is_multiple_of(commit_every) {
                    writer.commit()?;
                }
            }
            writer.commit()?;
            writer.wait_merging_threads()
        }

        pub fn query_latency(&self, questions: &[String]) -> tantivy::Result<Vec<Duration>> {
            let reader = self.index.reader()?;
            let searcher = reader.searcher();
            let parser = QueryParser::for_index(&self.index, vec![self.body]);
            let mut samples = Vec::with_capacity(questions.len());
            for q in questions {
                let t = Instant::now();
                let query = parser.parse_query(q)?;
                let top = searcher.search(&query, &TopDocs::with_limit(10).order_by_score())?;
                std::hint::black_box(top);
                samples.push(t.elapsed());
            }
            Ok(samples)
        }
    }
}

/// hnsw_rs with the usual parameters (M 16, ef_construction 100), built on every core.
mod hnsw_peer {
    use hnsw_rs::prelude::{DistDot, Hnsw};
    use std::time::{Duration, Instant};

    pub struct Dense {
        hnsw: Hnsw<'static, f32, DistDot>,
    }

    impl Dense {
        pub fn build(vectors: &[Vec<f32>]) -> Dense {
            let layers = 16.min((vectors.len() as f32).ln().trunc() as usize).max(1);
            let hnsw = Hnsw::<f32, DistDot>::new(16, vectors.len(), layers, 100, DistDot {});
            let mut progress = crate::progress::Progress::new("bench: hnsw_rs", "vectors", Some(vectors.len() as u64));
            for (at, batch) in vectors.chunks(10_000).enumerate() {
                let items: Vec<(&[f32], usize)> = batch.iter().enumerate().map(|(i, v)| (v.as_slice(), at * 10_000 + i)).collect();
                hnsw.parallel_insert_slice(&items);
                progress.add(batch.len() as u64);
            }
            progress.finish();
            Dense { hnsw }
        }

        pub fn search(&self, queries: &[Vec<f32>], ef: usize) -> (Vec<Vec<usize>>, Vec<Duration>) {
            let mut found = Vec::with_capacity(queries.len());
            let mut samples = Vec::with_capacity(queries.len());
            for q in queries {
                let t = Instant::now();
                let hits = self.hnsw.search(q, 10, ef);
                samples.push(t.elapsed());
                found.push(hits.into_iter().map(|n| n.d_id).collect());
            }
            (found, samples)
        }
    }
}
