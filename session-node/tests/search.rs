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
