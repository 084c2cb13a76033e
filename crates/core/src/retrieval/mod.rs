//! Retrieval: a user's question → time window, hybrid search over the user's channels only,
//! posts with scores, links and snippets.

mod chunk;
mod neutral;
mod retriever;
mod when;

pub use chunk::{CHUNK_CHARS, CHUNK_OVERLAP, Chunk, chunk_text};
pub use neutral::{LanguageNeutral, cyrillic_share, is_cyrillic};
pub use retriever::{Retrieval, RetrievalError, RetrievalRequest, RetrievedPost, Retriever, sentences, shared_terms, snippet};
pub use when::{TimeScoped, TimeWindow, parse_time_window, parse_time_window_in, utc_offset_of};
