//! Search adapters for the standalone node: the Russian/English keyword analyzer that turns
//! text into sparse vectors, and the embedded hybrid index (durable on disk, exact dense search
//! over quantized vectors, an inverted index for keywords, RRF fusion).

mod analyzer;
mod embedded;

pub use analyzer::{Analyzer, KeywordTagger, term_id};
pub use embedded::EmbeddedIndex;
