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
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, RwLock};

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("index_meta");
const POINTS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("index_points");

/// How many candidates each of the two lists contributes to the fusion, per result wanted.
const CANDIDATES_PER_RESULT: usize = 4;
const MIN_CANDIDATES: usize = 50;

struct Point {
    post: PostKey,
    chunk: u32,
    dense: Vec<i8>,
    scale: f32,
    sparse: SparseVector,
    payload: ChunkPayload,
}

#[derive(Default)]
struct State {
    info: Option<CollectionInfo>,
    slots: Vec<Option<Point>>,
    free: Vec<u32>,
    by_post: HashMap<PostKey, Vec<u32>>,
    by_channel: HashMap<ChannelId, HashSet<u32>>,
    postings: HashMap<u32, Vec<(u32, f32)>>,
    live: usize,
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

fn quantize(v: &[f32]) -> (Vec<i8>, f32) {
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    if max == 0.0 {
        return (vec![0; v.len()], 0.0);
    }
    let scale = max / 127.0;
    (v.iter().map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8).collect(), scale)
}

/// Integer dot product in fixed-width lanes, so the compiler can vectorize it.
fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    let mut lanes = [0i32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail: i32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| i32::from(*x) * i32::from(*y)).sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..16 {
            lanes[i] += i32::from(x[i]) * i32::from(y[i]);
        }
    }
    lanes.iter().sum::<i32>() + tail
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

impl State {
    fn insert(&mut self, p: Point) {
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.slots.push(None);
                (self.slots.len() - 1) as u32
            }
        };
        for (t, w) in p.sparse.indices.iter().zip(&p.sparse.values) {
            self.postings.entry(*t).or_default().push((slot, *w));
        }
        self.by_post.entry(p.post).or_default().push(slot);
        self.by_channel.entry(p.post.channel_id).or_default().insert(slot);
        self.slots[slot as usize] = Some(p);
        self.live += 1;
    }

    fn remove_post(&mut self, post: PostKey) {
        for slot in self.by_post.remove(&post).unwrap_or_default() {
            let Some(p) = self.slots[slot as usize].take() else { continue };
            for t in &p.sparse.indices {
                if let Some(list) = self.postings.get_mut(t) {
                    list.retain(|(s, _)| *s != slot);
                    if list.is_empty() {
                        self.postings.remove(t);
                    }
                }
            }
            if let Some(set) = self.by_channel.get_mut(&post.channel_id) {
                set.remove(&slot);
            }
            self.free.push(slot);
            self.live -= 1;
        }
    }

    fn search(&self, q: &IndexQuery) -> Vec<IndexHit> {
        let want = (q.limit * CANDIDATES_PER_RESULT).max(MIN_CANDIDATES);
        let channels: HashSet<ChannelId> = q.filter.channels.iter().copied().collect();
        // Channel membership is checked by set; date and tags per point.
        let candidate = |slot: u32| -> Option<&Point> {
            self.slots[slot as usize].as_ref().filter(|p| channels.contains(&p.post.channel_id) && q.filter.admits(&p.payload))
        };
        // The query is quantized like the points, so the dot product is integer arithmetic.
        let (query, query_scale) = quantize(&q.dense);
        let mut dense: Vec<(f32, u32)> = Vec::new();
        let mut score = |slot: u32, p: &Point| dense.push((dot_i8(&p.dense, &query) as f32 * p.scale * query_scale, slot));
        let followed: usize = channels.iter().map(|c| self.by_channel.get(c).map_or(0, HashSet::len)).sum();
        if q.dense.is_empty() {
            // A keyword-only collection: no dense list (all its scores would be 0, its order
            // the slots').
        } else if followed * 2 > self.live {
            // Most of the index is allowed: one pass in slot order is kinder to the caches.
            for slot in 0..self.slots.len() as u32 {
                if let Some(p) = candidate(slot) {
                    score(slot, p);
                }
            }
        } else {
            for channel in &channels {
                for &slot in self.by_channel.get(channel).into_iter().flatten() {
                    if let Some(p) = self.slots[slot as usize].as_ref().filter(|p| q.filter.admits(&p.payload)) {
                        score(slot, p);
                    }
                }
            }
        }
        // Scores accumulate in a flat array by slot (far cheaper than a map for long postings).
        let mut acc = vec![0f32; self.slots.len()];
        let mut touched: Vec<u32> = Vec::new();
        let n = self.live.max(1) as f32;
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
        let keyword: Vec<(f32, u32)> = touched.into_iter().filter(|s| candidate(*s).is_some()).map(|s| (acc[s as usize], s)).collect();
        let ranked = |mut list: Vec<(f32, u32)>| -> Vec<(PostKey, u32, Timestamp)> {
            if list.len() > want {
                list.select_nth_unstable_by(want, |a, b| b.0.total_cmp(&a.0));
                list.truncate(want);
            }
            list.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            list.iter()
                .filter_map(|(_, s)| self.slots[*s as usize].as_ref())
                .map(|p| (p.post, p.chunk, p.payload.date))
                .collect()
        };
        let [dense_weight, keyword_weight] = FUSION_WEIGHTS;
        rrf_fuse(&[(dense_weight, ranked(dense)), (keyword_weight, ranked(keyword))], q.limit)
    }
}

impl EmbeddedIndex {
    /// Opens (or creates) the index in `dir/index.redb` and loads it into memory.
    pub fn open_dir(dir: &Path) -> Result<EmbeddedIndex, IndexError> {
        std::fs::create_dir_all(dir).map_err(backend)?;
        let db = Arc::new(Database::create(dir.join("index.redb")).map_err(backend)?);
        let mut state = State::default();
        {
            let tx = db.begin_write().map_err(backend)?;
            tx.open_table(META).map_err(backend)?;
            tx.open_table(POINTS).map_err(backend)?;
            tx.commit().map_err(backend)?;
        }
        let tx = db.begin_read().map_err(backend)?;
        let meta = tx.open_table(META).map_err(backend)?;
        if let Some(info) = meta.get("collection").map_err(backend)? {
            state.info = Some(serde_json::from_slice(info.value()).map_err(backend)?);
        }
        let points = tx.open_table(POINTS).map_err(backend)?;
        for row in points.iter().map_err(backend)? {
            let (k, v) = row.map_err(backend)?;
            let point = decode(k.value(), v.value()).ok_or_else(|| backend("a stored point is corrupt"))?;
            state.insert(point);
        }
        drop((points, meta, tx));
        let writer = GroupCommit::start(db, "index").map_err(backend)?;
        Ok(EmbeddedIndex { inner: Arc::new(Inner { writer, state: Arc::new(RwLock::new(state)) }) })
    }

    /// Every point's post, chunk number and keyword vector, in no order: what an audit compares
    /// with the posts the index should hold (the chaos run's final check).
    pub fn points(&self) -> Vec<(PostKey, u32, SparseVector)> {
        let state = self.inner.state.read().expect("index state");
        state.slots.iter().flatten().map(|p| (p.post, p.chunk, p.sparse.clone())).collect()
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
            |opened, state| state.info = opened,
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
            |info, state| *state = State { info: Some(info), ..State::default() },
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
