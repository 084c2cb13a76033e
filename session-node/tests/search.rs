//! The standalone node indexes what arrives on its posts queue and answers retrieval over it.

use siftgram_core::messages::PostMessage;
use siftgram_core::model::{Channel, ChannelId, MediaKind, Post, PostKey, User, UserId, Username};
use siftgram_core::ports::{OutgoingMessage, SearchIndex};
use siftgram_core::retrieval::RetrievalRequest;
use siftgram_core::schema::queue_spec;
use siftgram_session_node::{App, Config};
use std::collections::HashMap;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_indexes_published_posts_and_finds_them() {
    let data = tempfile::tempdir().unwrap();
    let vars = HashMap::from([
        ("SIFTGRAM_DATA_DIR", data.path().display().to_string()),
        ("SIFTGRAM_HTTP_ADDR", "127.0.0.1:0".to_owned()),
    ]);
    let app = App::start(Config::from_lookup(|k| vars.get(k).cloned()).unwrap()).await.unwrap();
    let search = app.search.clone().expect("standalone mode indexes");
    let repo = &app.backend.repo;
    let channel = ChannelId::new(42).unwrap();
    repo.save_channel(&Channel::new(channel, Some(Username::parse("kitchen_notes").unwrap()), "Кухня").unwrap()).await.unwrap();
    let reader = UserId::new(7).unwrap();
    repo.create_user(&User::new(reader, "Reader", Default::default(), repo.clock().now()).unwrap()).await.unwrap();
    repo.subscribe(reader, channel).await.unwrap();

    let posts = app.backend.queue(queue_spec("posts").unwrap()).await.unwrap();
    for (id, text) in [(1, "Рецепт борща: свёкла, капуста и говядина."), (2, "Курс доллара вырос после решения ЦБ.")] {
        let post = Post::new(PostKey::new(channel, id).unwrap(), None, text, repo.clock().now(), MediaKind::None).unwrap();
        posts.send(OutgoingMessage::new(serde_json::to_string(&PostMessage::Publish { post }).unwrap())).await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while search.index.count().await.unwrap() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(search.index.count().await.unwrap(), 2, "both posts indexed by the node's own consumer");
    let request = RetrievalRequest {
        user: reader,
        question: "как сварить суп?".into(),
        limit: 3,
        now: repo.clock().now(),
        recency_half_life_days: None,
        tags: vec![],
    };
    let found = search.retriever.retrieve(&request).await.unwrap();
    assert_eq!(found.posts[0].post.link, "https://t.me/kitchen_notes/1");
    app.shutdown(Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_different_embedding_model_is_refused_until_reindex_rebuilds_the_index() {
    let data = tempfile::tempdir().unwrap();
    let local = HashMap::from([
        ("SIFTGRAM_DATA_DIR", data.path().display().to_string()),
        ("SIFTGRAM_HTTP_ADDR", "127.0.0.1:0".to_owned()),
    ]);
    let app = App::start(Config::from_lookup(|k| local.get(k).cloned()).unwrap()).await.unwrap();
    let repo = app.backend.repo.clone();
    let channel = ChannelId::new(43).unwrap();
    repo.save_channel(&Channel::new(channel, None, "Погода").unwrap()).await.unwrap();
    let post = Post::new(PostKey::new(channel, 1).unwrap(), None, "Завтра ожидается сильный снегопад.", repo.clock().now(), MediaKind::None).unwrap();
    app.search.as_ref().unwrap().indexer.apply(PostMessage::Publish { post }).await.unwrap();
    drop(repo); // the database file is locked while any handle lives
    app.shutdown(Duration::from_secs(10)).await;

    let fake = siftgram_fake_openai::FakeOpenAi::start(8).await.unwrap();
    let mut remote = local.clone();
    remote.extend([
        ("SIFTGRAM_EMBEDDER", "openai".to_owned()),
        ("SIFTGRAM_EMBED_URL", fake.url().to_owned()),
        ("SIFTGRAM_EMBED_MODEL", "text-embedding-3-small".to_owned()),
        ("SIFTGRAM_EMBED_DIMENSION", "8".to_owned()),
        ("SIFTGRAM_EMBED_API_KEY", siftgram_fake_openai::API_KEY.to_owned()),
    ]);
    let config = Config::from_lookup(|k| remote.get(k).cloned()).unwrap();
    let refused = App::start(config.clone()).await.err().expect("a model mismatch is refused").to_string();
    assert!(refused.contains("reindex"), "{refused}");

    let backend = siftgram_session_node::Backend::connect(&config).await.unwrap();
    assert_eq!(siftgram_session_node::search::reindex(&backend, &config).await.unwrap(), 1);
    drop(backend);
    let app = App::start(config).await.expect("starts after the rebuild");
    let search = app.search.clone().unwrap();
    assert_eq!(search.index.count().await.unwrap(), 1);
    let reader = UserId::new(8).unwrap();
    app.backend.repo.create_user(&User::new(reader, "R", Default::default(), app.backend.repo.clock().now()).unwrap()).await.unwrap();
    app.backend.repo.subscribe(reader, channel).await.unwrap();
    let request = RetrievalRequest { user: reader, question: "снегопад".into(), limit: 3, now: app.backend.repo.clock().now(), recency_half_life_days: None, tags: vec![] };
    assert_eq!(search.retriever.retrieve(&request).await.unwrap().posts.len(), 1);
    app.shutdown(Duration::from_secs(10)).await;
}
