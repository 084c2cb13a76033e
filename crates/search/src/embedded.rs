//! The embedded hybrid index: every point is kept in a redb file (fsynced on commit; concurrent
//! upserts share a commit, `siftgram_embedded::GroupCommit`) and loaded into memory on open.
//! Dense search is exact over int8-quantized vectors of the filtered candidates (a user's
//! channels, not the whole corpus); keyword search walks an inverted index
//! with IDF weights; the two lists are fused by weighted RRF (`siftgram_core::ports::index::rrf_fuse`).

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use siftgram_embedded::GroupCommit;
use siftgram_core::Timestamp;
use siftgram_core::model::{ChannelId, PostKey};
use siftgram_core::ports::index::{FUSION_WEIGHTS, rrf_fuse};
use siftgram_core::ports::{ChunkPayload, CollectionInfo, IndexError, IndexHit, IndexQuery, IndexedChunk, SearchIndex, SparseVector};
use crate::int8::{self, quantize};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, RwLock};

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("index_meta");
const POINTS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("index_points");

/// redb's page cache for the index file: every point is in memory already (the file is read
/// once, on open, and then only written), so a small cache, not redb's default 1 GiB, which would
/// hold a second copy of the index.
const FILE_CACHE_BYTES: usize = 16 << 20;

/// How many candidates each of the two lists contributes to the fusion, per result wanted.
const CANDIDATES_PER_RESULT: usize = 4;
const MIN_CANDIDATES: usize = 50;

/// A point as the file holds it.
struct Point {
    post: PostKey,
    chunk: u32,
    dense: Vec<i8>,
    scale: f32,
    sparse: SparseVector,
    payload: ChunkPayload,
}

/// What the memory copy keeps of a point besides its vector and postings: its keyword terms
/// (their weights live in the postings) say which postings to drop with it.
struct Stored {
    post: PostKey,
    chunk: u32,
    terms: Box<[u32]>,
    payload: ChunkPayload,
}

/// What a search checks of every candidate, packed side by side so a scan reads no payload:
/// the point's channel (an ordinal into `State::by_channel`; `FREE` for an empty slot) and date.
#[derive(Clone, Copy)]
struct SlotFilter {
    channel: u32,
    date: Timestamp,
}

const FREE: u32 = u32::MAX;

/// The memory copy. A point lives in a slot; its vector is the slot's `dimension()` bytes of
/// `vectors` (one flat array: a scan streams through memory instead of chasing a pointer per
/// point), its scale and filter fields sit at the slot's index of their own arrays.
#[derive(Default)]
struct State {
    info: Option<CollectionInfo>,
    stored: Vec<Option<Stored>>,
    filters: Vec<SlotFilter>,
    vectors: Vec<i8>,
    scales: Vec<f32>,
    free: Vec<u32>,
    by_post: HashMap<PostKey, Vec<u32>>,
    channel_ordinals: HashMap<ChannelId, u32>,
    by_channel: Vec<HashSet<u32>>,
    postings: HashMap<u32, Vec<(u32, f32)>>,
    live: usize,
}

/// The best `want` (score, slot) pairs seen, the worst on top; ties go to the lower slot.
struct TopK {
    want: usize,
    heap: BinaryHeap<Reverse<Scored>>,
}

#[derive(PartialEq)]
struct Scored(f32, u32);
impl Eq for Scored {}
impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scored {
    /// Greater is better: a higher score, then a lower slot.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0).then(other.1.cmp(&self.1))
    }
}

impl TopK {
    fn new(want: usize) -> TopK {
        TopK { want, heap: BinaryHeap::with_capacity(want + 1) }
    }
    fn offer(&mut self, score: f32, slot: u32) {
        let scored = Scored(score, slot);
        if self.heap.len() < self.want {
            self.heap.push(Reverse(scored));
        } else if self.heap.peek().is_some_and(|worst| scored > worst.0) {
            self.heap.pop();
            self.heap.push(Reverse(scored));
        }
    }
    /// Best first.
    fn into_slots(self) -> Vec<u32> {
        self.heap.into_sorted_vec().into_iter().map(|Reverse(s)| s.1).collect()
    }
}

thread_local! {
    /// Keyword scores accumulate in a flat array by slot (far cheaper than a map for long
    /// postings), kept per thread between searches and zeroed where a search touched it.
    static KEYWORD_SCORES: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl State {
    fn with_info(info: Option<CollectionInfo>) -> State {
        State { info, ..State::default() }
    }

    /// The collection's vector length: every slot's share of `vectors` (0 before a collection).
    fn dimension(&self) -> usize {
        self.info.as_ref().map_or(0, |i| i.dimension)
    }

    /// Adds a point whose vector has the collection's dimension (the caller checked).
    fn insert(&mut self, p: Point) {
        let dim = self.dimension();
        debug_assert_eq!(p.dense.len(), dim);
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.stored.push(None);
                self.filters.push(SlotFilter { channel: FREE, date: Timestamp(0) });
                self.scales.push(0.0);
                self.vectors.resize(self.vectors.len() + dim, 0);
                (self.stored.len() - 1) as u32
            }
        };
        for (t, w) in p.sparse.indices.iter().zip(&p.sparse.values) {
            self.postings.entry(*t).or_default().push((slot, *w));
        }
        self.by_post.entry(p.post).or_default().push(slot);
        let next = self.by_channel.len() as u32;
        let channel = *self.channel_ordinals.entry(p.post.channel_id).or_insert(next);
        if channel == next {
            self.by_channel.push(HashSet::new());
        }
        self.by_channel[channel as usize].insert(slot);
        let at = slot as usize;
        self.filters[at] = SlotFilter { channel, date: p.payload.date };
        self.scales[at] = p.scale;
        self.vectors[at * dim..(at + 1) * dim].copy_from_slice(&p.dense);
        self.stored[at] = Some(Stored { post: p.post, chunk: p.chunk, terms: p.sparse.indices.into_boxed_slice(), payload: p.payload });
        self.live += 1;
    }

    fn remove_post(&mut self, post: PostKey) {
        for slot in self.by_post.remove(&post).unwrap_or_default() {
            let Some(p) = self.stored[slot as usize].take() else { continue };
            for t in &p.terms {
                if let Some(list) = self.postings.get_mut(t) {
                    list.retain(|(s, _)| *s != slot);
                    if list.is_empty() {
                        self.postings.remove(t);
                    }
                }
            }
            let filter = &mut self.filters[slot as usize];
            if let Some(set) = self.by_channel.get_mut(filter.channel as usize) {
                set.remove(&slot);
            }
            filter.channel = FREE;
            self.free.push(slot);
            self.live -= 1;
        }
    }

    fn search(&self, q: &IndexQuery) -> Vec<IndexHit> {
        let want = (q.limit * CANDIDATES_PER_RESULT).max(MIN_CANDIDATES);
        let mut followed: Vec<usize> = q.filter.channels.iter().filter_map(|c| self.channel_ordinals.get(c)).map(|o| *o as usize).collect();
        followed.sort_unstable();
        followed.dedup();
        let mut allowed = vec![false; self.by_channel.len()];
        for o in &followed {
            allowed[*o] = true;
        }
        // Channel and date from the packed filters; tags, rarely asked for, from the payload.
        let candidate = |slot: u32| -> bool {
            let f = self.filters[slot as usize];
            f.channel != FREE
                && allowed[f.channel as usize]
                && q.filter.admits_date(f.date)
                && (q.filter.tags.is_empty() || self.stored[slot as usize].as_ref().is_some_and(|p| q.filter.admits_tags(&p.payload.tags)))
        };
        let dense = if q.dense.is_empty() {
            // A keyword-only collection: no dense list (all its scores would be 0, its order
            // the slots').
            Vec::new()
        } else {
            // The query is quantized like the points, so the dot product is integer arithmetic;
            // the query's own scale is the same for every point and leaves the order alone.
            let (query, _) = quantize(&q.dense);
            let (dot, dim) = (int8::dot(), self.dimension());
            let mut top = TopK::new(want);
            let mut score = |slot: u32| {
                let at = slot as usize;
                top.offer(dot(&self.vectors[at * dim..(at + 1) * dim], &query) as f32 * self.scales[at], slot);
            };
            if followed.iter().map(|o| self.by_channel[*o].len()).sum::<usize>() * 2 > self.live {
                // Most of the index is allowed: one pass in slot order.
                (0..self.filters.len() as u32).filter(|s| candidate(*s)).for_each(&mut score);
            } else {
                // The followed channels' points, in slot order too (memory read forward).
                let mut slots: Vec<u32> = followed.iter().flat_map(|o| self.by_channel[*o].iter().copied()).collect();
                slots.sort_unstable();
                slots.into_iter().filter(|s| candidate(*s)).for_each(&mut score);
            }
            top.into_slots()
        };
        let n = self.live.max(1) as f32;
        let keyword = KEYWORD_SCORES.with_borrow_mut(|acc| {
            acc.resize(acc.len().max(self.filters.len()), 0.0);
            let mut touched: Vec<u32> = Vec::new();
            for (t, qw) in q.sparse.indices.iter().zip(&q.sparse.values) {
                let Some(list) = self.postings.get(t) else { continue };
                let df = list.len() as f32;
                let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
                for (slot, w) in list {
                    let a = &mut acc[*slot as usize];
                    if *a == 0.0 {
                        touched.push(*slot);
                    }
                    *a += idf * qw * w;
                }
            }
            let mut top = TopK::new(want);
            for slot in touched {
                let score = std::mem::take(&mut acc[slot as usize]);
                if candidate(slot) {
                    top.offer(score, slot);
                }
            }
            top.into_slots()
        });
        let ranked = |slots: Vec<u32>| -> Vec<(PostKey, u32, Timestamp)> {
            slots.iter().filter_map(|s| self.stored[*s as usize].as_ref()).map(|p| (p.post, p.chunk, p.payload.date)).collect()
        };
        let [dense_weight, keyword_weight] = FUSION_WEIGHTS;
        rrf_fuse(&[(dense_weight, ranked(dense)), (keyword_weight, ranked(keyword))], q.limit)
    }
}

struct Inner {
    /// Every write to the file; the memory copy is updated right after each commit, in commit
    /// order, on the writer's thread.
    writer: GroupCommit,
    state: Arc<RwLock<State>>,
}

/// A cheap handle; clones share one index.
#[derive(Clone)]
pub struct EmbeddedIndex {
    inner: Arc<Inner>,
}

fn backend(e: impl std::fmt::Display) -> IndexError {
    IndexError::Backend(e.to_string())
}

fn point_key(post: PostKey, chunk: u32) -> [u8; 20] {
    let mut k = [0u8; 20];
    k[..8].copy_from_slice(&post.channel_id.get().to_be_bytes());
    k[8..16].copy_from_slice(&post.message_id.to_be_bytes());
    k[16..].copy_from_slice(&chunk.to_be_bytes());
    k
}

fn post_prefix(post: PostKey) -> [u8; 16] {
    let mut k = [0u8; 16];
    k.copy_from_slice(&point_key(post, 0)[..16]);
    k
}

fn encode(p: &Point) -> Vec<u8> {
    let payload = serde_json::to_vec(&p.payload).expect("payload serializes");
    let (dense, scale) = (&p.dense, p.scale);
    let mut out = Vec::with_capacity(16 + payload.len() + p.sparse.indices.len() * 8 + dense.len());
    out.extend((payload.len() as u32).to_le_bytes());
    out.extend(&payload);
    out.extend((p.sparse.indices.len() as u32).to_le_bytes());
    for (i, v) in p.sparse.indices.iter().zip(&p.sparse.values) {
        out.extend(i.to_le_bytes());
        out.extend(v.to_le_bytes());
    }
    out.extend(scale.to_le_bytes());
    out.extend(dense.iter().map(|d| *d as u8));
    out
}

fn decode(key: &[u8], bytes: &[u8]) -> Option<Point> {
    let rd4 = |at: usize| bytes.get(at..at + 4).map(|b| [b[0], b[1], b[2], b[3]]);
    let channel = ChannelId::new(i64::from_be_bytes(key.get(..8)?.try_into().ok()?)).ok()?;
    let post = PostKey::new(channel, i64::from_be_bytes(key.get(8..16)?.try_into().ok()?)).ok()?;
    let chunk = u32::from_be_bytes(key.get(16..20)?.try_into().ok()?);
    let plen = u32::from_le_bytes(rd4(0)?) as usize;
    let payload: ChunkPayload = serde_json::from_slice(bytes.get(4..4 + plen)?).ok()?;
    let mut at = 4 + plen;
    let n = u32::from_le_bytes(rd4(at)?) as usize;
    at += 4;
    let mut sparse = SparseVector::default();
    for _ in 0..n {
        sparse.indices.push(u32::from_le_bytes(rd4(at)?));
        sparse.values.push(f32::from_le_bytes(rd4(at + 4)?));
        at += 8;
    }
    let scale = f32::from_le_bytes(rd4(at)?);
    let dense = bytes.get(at + 4..)?.iter().map(|b| *b as i8).collect();
    Some(Point { post, chunk, dense, scale, sparse, payload })
}

impl EmbeddedIndex {
    /// Opens (or creates) the index in `dir/index.redb` and loads it into memory.
    pub fn open_dir(dir: &Path) -> Result<EmbeddedIndex, IndexError> {
        std::fs::create_dir_all(dir).map_err(backend)?;
        let db = Arc::new(Database::builder().set_cache_size(FILE_CACHE_BYTES).create(dir.join("index.redb")).map_err(backend)?);
        {
            let tx = db.begin_write().map_err(backend)?;
            tx.open_table(META).map_err(backend)?;
            tx.open_table(POINTS).map_err(backend)?;
            tx.commit().map_err(backend)?;
        }
        let tx = db.begin_read().map_err(backend)?;
        let meta = tx.open_table(META).map_err(backend)?;
        let info = meta.get("collection").map_err(backend)?.map(|v| serde_json::from_slice(v.value())).transpose().map_err(backend)?;
        let mut state = State::with_info(info);
        let points = tx.open_table(POINTS).map_err(backend)?;
        for row in points.iter().map_err(backend)? {
            let (k, v) = row.map_err(backend)?;
            let point = decode(k.value(), v.value()).filter(|p| p.dense.len() == state.dimension()).ok_or_else(|| backend("a stored point is corrupt"))?;
            state.insert(point);
        }
        drop((points, meta, tx));
        let writer = GroupCommit::start(db, "index").map_err(backend)?;
        Ok(EmbeddedIndex { inner: Arc::new(Inner { writer, state: Arc::new(RwLock::new(state)) }) })
    }

    /// Every point's post, chunk number and keyword terms (ascending), in no order: what an
    /// audit compares with the posts the index should hold (the chaos run's final check).
    pub fn points(&self) -> Vec<(PostKey, u32, Vec<u32>)> {
        let state = self.inner.state.read().expect("index state");
        state.stored.iter().flatten().map(|p| (p.post, p.chunk, p.terms.to_vec())).collect()
    }

    /// Writes to the index file so far and the commits they took.
    pub fn commit_counts(&self) -> siftgram_embedded::CommitCounts {
        self.inner.writer.counts()
    }

    /// The model and dimension the collection was opened with; None before the first open.
    pub fn collection(&self) -> Option<CollectionInfo> {
        self.inner.state.read().ok().and_then(|s| s.info.clone())
    }

    async fn blocking<T: Send + 'static>(&self, f: impl FnOnce(&Inner) -> Result<T, IndexError> + Send + 'static) -> Result<T, IndexError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner)).await.map_err(backend)?
    }

    /// Runs `work` in a (group) write transaction, then `committed` on the memory copy.
    async fn write<T, U>(
        &self,
        work: impl FnMut(&WriteTransaction) -> Result<T, IndexError> + Send + 'static,
        committed: impl FnOnce(T, &mut State) -> U + Send + 'static,
    ) -> Result<U, IndexError>
    where
        T: Send + 'static,
        U: Send + 'static,
    {
        let state = self.inner.state.clone();
        self.inner.writer.write_then(work, move |value| committed(value, &mut state.write().expect("index state"))).await.map_err(backend)?
    }
}

impl EmbeddedIndex {
    /// Replaces the chunks of many posts in one transaction (one fsync for all of them, shared
    /// with whatever other writes wait); the single-post `upsert_post` and `delete_post` go
    /// through here too.
    pub async fn upsert_many(&self, posts: Vec<(PostKey, Vec<IndexedChunk>)>) -> Result<(), IndexError> {
        let mut dimension = None;
        for (post, chunks) in &posts {
            for c in chunks {
                if c.post != *post {
                    return Err(IndexError::Invalid(format!("chunk of {} upserted as {post}", c.post)));
                }
                match dimension {
                    Some(d) if d != c.dense.len() => return Err(IndexError::Dimension { expected: d, got: c.dense.len() }),
                    _ => dimension = Some(c.dense.len()),
                }
            }
        }
        // Quantized once, here: the memory copy keeps the points, the file their encoding.
        let points: Vec<(PostKey, Vec<Point>)> = posts
            .into_iter()
            .map(|(post, chunks)| {
                let points = chunks
                    .into_iter()
                    .map(|c| {
                        let (dense, scale) = quantize(&c.dense);
                        Point { post, chunk: c.chunk, dense, scale, sparse: c.sparse, payload: c.payload }
                    })
                    .collect();
                (post, points)
            })
            .collect();
        let rows: Vec<PostRows> =
            points.iter().map(|(post, points)| (*post, points.iter().map(|p| (point_key(*post, p.chunk), encode(p))).collect())).collect();
        self.write(
            move |txn| {
                let info = collection_in(txn)?.ok_or(IndexError::NotOpen)?;
                if let Some(got) = dimension.filter(|d| *d != info.dimension) {
                    return Err(IndexError::Dimension { expected: info.dimension, got });
                }
                let mut table = txn.open_table(POINTS).map_err(backend)?;
                for (post, rows) in &rows {
                    let mut end = point_key(*post, u32::MAX).to_vec();
                    end.push(0);
                    table.retain_in(post_prefix(*post).as_slice()..end.as_slice(), |_, _| false).map_err(backend)?;
                    for (key, bytes) in rows {
                        table.insert(key.as_slice(), bytes.as_slice()).map_err(backend)?;
                    }
                }
                Ok(())
            },
            move |(), state| {
                for (post, points) in points {
                    state.remove_post(post);
                    for p in points {
                        state.insert(p);
                    }
                }
            },
        )
        .await
    }
}

fn check_open(state: &State) -> Result<&CollectionInfo, IndexError> {
    state.info.as_ref().ok_or(IndexError::NotOpen)
}

/// A post's rows in the file: each chunk's key and encoding.
type PostRows = (PostKey, Vec<([u8; 20], Vec<u8>)>);

/// The collection as `txn` sees it (the memory copy may be a commit behind).
fn collection_in(txn: &WriteTransaction) -> Result<Option<CollectionInfo>, IndexError> {
    let meta = txn.open_table(META).map_err(backend)?;
    let info = meta.get("collection").map_err(backend)?;
    info.map(|v| serde_json::from_slice(v.value()).map_err(backend)).transpose()
}

fn write_info(txn: &WriteTransaction, info: &CollectionInfo, clear: bool) -> Result<(), IndexError> {
    txn.open_table(META).map_err(backend)?.insert("collection", serde_json::to_vec(info).map_err(backend)?.as_slice()).map_err(backend)?;
    if clear {
        txn.delete_table(POINTS).map_err(backend)?;
        txn.open_table(POINTS).map_err(backend)?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl SearchIndex for EmbeddedIndex {
    async fn open_collection(&self, info: &CollectionInfo) -> Result<(), IndexError> {
        if self.collection().as_ref() == Some(info) {
            return Ok(());
        }
        let info = info.clone();
        self.write(
            move |txn| match collection_in(txn)? {
                Some(found) if found == info => Ok(Some(found)),
                Some(found) => Err(IndexError::ModelMismatch { expected: info.clone(), found }),
                None => {
                    write_info(txn, &info, false)?;
                    Ok(Some(info.clone()))
                }
            },
            |opened, state| {
                // Either the collection it had (same dimension) or a first one, before any
                // point: no stored vector changes length.
                debug_assert!(state.live == 0 || state.info == opened);
                state.info = opened;
            },
        )
        .await
    }

    async fn recreate_collection(&self, info: &CollectionInfo) -> Result<(), IndexError> {
        let info = info.clone();
        self.write(
            move |txn| {
                write_info(txn, &info, true)?;
                Ok(info.clone())
            },
            |info, state| *state = State::with_info(Some(info)),
        )
        .await
    }

    async fn upsert_post(&self, post: PostKey, chunks: Vec<IndexedChunk>) -> Result<(), IndexError> {
        self.upsert_many(vec![(post, chunks)]).await
    }

    async fn delete_post(&self, post: PostKey) -> Result<(), IndexError> {
        // Replacing a post's chunks with none removes them.
        self.upsert_post(post, Vec::new()).await
    }

    async fn search(&self, query: &IndexQuery) -> Result<Vec<IndexHit>, IndexError> {
        let query = query.clone();
        self.blocking(move |inner| {
            let state = inner.state.read().map_err(backend)?;
            let dimension = check_open(&state)?.dimension;
            if query.dense.len() != dimension {
                return Err(IndexError::Dimension { expected: dimension, got: query.dense.len() });
            }
            Ok(state.search(&query))
        })
        .await
    }

    async fn count(&self) -> Result<u64, IndexError> {
        Ok(self.inner.state.read().map_err(backend)?.live as u64)
    }
}
