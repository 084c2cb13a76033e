//! The standalone node drives signed-in users' sessions: a user with a stored session is picked
//! up, their channel backfilled and indexed by the same process, live posts follow, and a
//! shutdown releases the lease within the 10 s budget.

use siftgram_core::model::{Channel, Tier, User, UserId, Username};
use siftgram_core::repo::StoredSession;
use siftgram_recorded_telegram::RecordedTelegram;
use siftgram_session_node::config::TelegramSource;
use siftgram_session_node::sessions::SessionCipher;
use siftgram_session_node::{App, Config};
use std::collections::HashMap;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_syncs_signed_in_users_and_stops_cleanly() {
    let data = tempfile::tempdir().unwrap();
    let keys = SessionCipher::generate_spec("k1");
    let vars: HashMap<&str, String> = HashMap::from([
        ("SIFTGRAM_DATA_DIR", data.path().display().to_string()),
        ("SIFTGRAM_HTTP_ADDR", "127.0.0.1:0".into()),
        ("SIFTGRAM_SESSION_KEYS", keys.clone()),
        ("SIFTGRAM_NODE_ID", "node-1".into()),
    ]);
    let mut config = Config::from_lookup(|k| vars.get(k).cloned()).unwrap();
    let telegram = RecordedTelegram::new();
    let channel = telegram.add_numbered_channel(9101, "node_feed", "Лента узла", 250);
    telegram.add_account(901, None);
    config.telegram = Some(TelegramSource::Recorded(telegram.clone()));
    let app = App::start(config).await.unwrap();
    let repo = app.backend.repo.clone();

    let user = UserId::new(901).unwrap();
    let mut u = User::new(user, "Node reader", Default::default(), repo.clock().now()).unwrap();
    u.tier = Tier::Premium;
    repo.create_user(&u).await.unwrap();
    repo.save_channel(&Channel::new(channel, Some(Username::parse("node_feed").unwrap()), "Лента узла").unwrap()).await.unwrap();
    repo.subscribe(user, channel).await.unwrap();
    let sealed = SessionCipher::from_spec(&keys).unwrap().seal(user, br#"{"account":901}"#);
    repo.save_session(user, &StoredSession { sealed, account_id: 901, signed_in_at: repo.clock().now() }).await.unwrap();

    let deadline = Instant::now() + Duration::from_secs(60);
    while repo.channel_stats(channel).await.unwrap().post_count < 250 {
        assert!(Instant::now() < deadline, "the node backfilled and indexed the channel");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let live = telegram.post(channel, "Свежий пост прямо сейчас.");
    let key = siftgram_core::model::PostKey::new(channel, live).unwrap();
    while !repo.get_post(key).await.unwrap().is_some_and(|p| p.indexed) {
        assert!(Instant::now() < deadline, "the live post was indexed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(repo.current_lease("session#901").await.unwrap().map(|l| l.owner), Some("node-1".into()));
    let stopping = Instant::now();
    app.shutdown(Duration::from_secs(10)).await;
    assert!(stopping.elapsed() < Duration::from_secs(10));
    assert!(repo.current_lease("session#901").await.unwrap().is_none(), "the lease was released on shutdown");
    assert_eq!(telegram.connections(901), 1);
}
