//! Search adapters for the standalone node: the Russian/English keyword analyzer that turns
//! text into sparse vectors, and the embedded hybrid index (durable on disk, exact dense search
//! over quantized vectors, an inverted index for keywords, RRF fusion).

mod analyzer;
mod embedded;
mod int8;

pub use analyzer::{Analyzer, KeywordTagger, term_id};
pub use embedded::EmbeddedIndex;

use siftgram_core::indexing::Indexer;
use siftgram_core::ports::{Embedder, Queue, SearchIndex, Tagger};
use siftgram_core::repo::Repository;
use std::sync::Arc;

/// The indexer as every binary runs it: Russian/English keyword vectors, keyword tags when the
/// tagging model (if any) fails; links unread until the caller sets `links`.
pub fn indexer(
    repo: Repository,
    index: Arc<dyn SearchIndex>,
    embedder: Arc<dyn Embedder>,
    tagger: Option<Arc<dyn Tagger>>,
    events: Option<Arc<dyn Queue>>,
) -> Indexer {
    Indexer {
        repo,
        index,
        embedder,
        keywords: Arc::new(Analyzer::default()),
        tagger,
        fallback_tagger: Arc::new(KeywordTagger::default()),
        events,
        links: None,
    }
}

/// Keyword-only indexing: no dense vectors at all (benchmarks, and tests about what is stored
/// rather than how it ranks).
pub struct KeywordOnly;

#[async_trait::async_trait]
impl siftgram_core::ports::Embedder for KeywordOnly {
    fn model(&self) -> &str {
        "keyword-only"
    }
    fn dimension(&self) -> usize {
        0
    }
    async fn embed(&self, texts: &[String], _: siftgram_core::ports::EmbedKind) -> Result<Vec<Vec<f32>>, siftgram_core::ports::EmbedError> {
        Ok(vec![Vec::new(); texts.len()])
    }
}
