//! Indexing and retrieval in the standalone node: the embedded index under the data dir, the
//! configured embedder, the indexer consuming the posts queue, and retention once a day.

use crate::backend::Backend;
use crate::supervise::every;
use siftgram_core::indexing::{Indexer, retrieval_embedder};
use siftgram_core::ports::SearchIndex;
use siftgram_core::retention::apply_retention;
use siftgram_core::retrieval::Retriever;
use crate::config::Config;
use siftgram_models::OpenAiTagger;
use siftgram_search::EmbeddedIndex;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The search side of the node, built once.
#[derive(Clone)]
pub struct SearchServices {
    pub index: EmbeddedIndex,
    pub indexer: Arc<Indexer>,
    pub retriever: Arc<Retriever>,
}

impl SearchServices {
    /// Opens the index in `<data dir>/index` and checks it was built with this embedder.
    pub async fn build(backend: &Backend, config: &Config) -> Result<SearchServices, String> {
        let search = SearchServices::assemble(backend, config).await?;
        search.index.open_collection(&search.indexer.collection()).await.map_err(|e| e.to_string())?;
        Ok(search)
    }

    /// Everything but the collection check (which `reindex` replaces with a rebuild).
    async fn assemble(backend: &Backend, config: &Config) -> Result<SearchServices, String> {
        let (data_dir, embedder) = (&config.data_dir, &config.embedder);
        let index = EmbeddedIndex::open_dir(&data_dir.join("index")).map_err(|e| e.to_string())?;
        let model = embedder.build().await.map_err(|e| e.to_string())?;
        let embedder = retrieval_embedder(model, backend.repo.clone());
        let events = backend.events_queue(config).await?;
        let tagger = config.tagger.clone().map(|e| Arc::new(OpenAiTagger::new(e)) as Arc<dyn siftgram_core::ports::Tagger>);
        let mut indexer = siftgram_search::indexer(backend.repo.clone(), Arc::new(index.clone()), embedder.clone(), tagger, events);
        indexer.links = config.links.clone().map(|s| Arc::new(siftgram_web::LinkFetcher::new(s)) as Arc<dyn siftgram_core::ports::LinkReader>);
        let keywords = indexer.keywords.clone();
        let retriever = Retriever { repo: backend.repo.clone(), index: Arc::new(index.clone()), embedder, keywords };
        Ok(SearchServices { index, indexer: Arc::new(indexer), retriever: Arc::new(retriever) })
    }
}

/// Rebuilds the index with the configured embedder from every stored post; returns how many.
pub async fn reindex(backend: &Backend, config: &Config) -> Result<u64, String> {
    let search = SearchServices::assemble(backend, config).await?;
    search.index.recreate_collection(&search.indexer.collection()).await.map_err(|e| e.to_string())?;
    let channels = backend.repo.list_channels().await.map_err(|e| e.to_string())?;
    let mut total = 0;
    for channel in &channels {
        total += backend.repo.channel_stats(channel.id).await.map_err(|e| e.to_string())?.post_count;
    }
    let mut progress = crate::progress::Progress::new("reindex", "posts", Some(total));
    let mut done = 0;
    for channel in channels {
        let mut cursor = None;
        loop {
            let (posts, next) = backend.repo.channel_posts_oldest_first(channel.id, 100, cursor).await.map_err(|e| e.to_string())?;
            for post in posts {
                search.indexer.reindex(post).await.map_err(|e| e.to_string())?;
                done += 1;
                progress.add(1);
            }
            cursor = next;
            if cursor.is_none() {
                break;
            }
        }
    }
    progress.finish();
    tracing::info!(posts = done, model = %search.indexer.collection().model, "index rebuilt");
    Ok(done)
}

/// The indexer loop over the posts queue and the daily retention pass, both supervised.
pub fn spawn(backend: Backend, search: SearchServices, shutdown: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    // A batch's posts side by side: the local embedder's workers (one per core) all get work.
    let consumer = crate::supervise::consume_queue_in("indexer", backend.clone(), "posts", search.indexer.clone(), crate::supervise::Handling::SideBySide, shutdown.clone());
    let retention = every("retention", Duration::from_secs(24 * 3600), shutdown, move || {
        let (repo, index) = (backend.repo.clone(), search.index.clone());
        async move { apply_retention(&repo, &index, repo.clock().now()).await.map(|_| ()) }
    });
    vec![consumer, retention]
}
