//! The node configured for the real Telegram (`SIFTGRAM_TELEGRAM=grammers`): a signed-in user's
//! stored session is opened by the grammers client, which dials the data center recorded in the
//! session — here a local socket standing in for an unreachable Telegram. The failure is a
//! network failure: the user stays signed in, nothing is synced, and shutdown is clean.

use grammers_session::Session;
use grammers_session::types::{PeerAuth, PeerInfo};
use siftgram_core::model::{Channel, ChannelId, Tier, User, UserId, Username};
use siftgram_core::repo::StoredSession;
use siftgram_session_node::config::TelegramSource;
use siftgram_session_node::sessions::SessionCipher;
use siftgram_session_node::{App, Config};
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A "data center" that accepts connections and hangs up at once; counts who dialed it.
async fn hanging_up_dc() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let dialed = Arc::new(AtomicUsize::new(0));
    let counter = dialed.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    (port, dialed)
}

async fn signed_in_session(port: u16, account: i64) -> Vec<u8> {
    let session = siftgram_grammers::StoredSession::fresh();
    for dc in 1..=5 {
        let mut option = session.dc_option(dc).unwrap().unwrap();
        option.ipv4 = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
        option.auth_key = Some([dc as u8; 256]);
        session.set_dc_option(&option).await.unwrap();
    }
    session.cache_peer(PeerInfo::User { id: account, auth: Some(PeerAuth::from_hash(1)), bot: Some(false), is_self: Some(true) }).await.unwrap();
    session.to_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grammers_node_dials_the_sessions_data_center_and_survives_its_failure() {
    let data = tempfile::tempdir().unwrap();
    let keys = SessionCipher::generate_spec("k1");
    let vars: HashMap<&str, String> = HashMap::from([
        ("SIFTGRAM_DATA_DIR", data.path().display().to_string()),
        ("SIFTGRAM_HTTP_ADDR", "127.0.0.1:0".into()),
        ("SIFTGRAM_SESSION_KEYS", keys.clone()),
        ("SIFTGRAM_NODE_ID", "node-g".into()),
        ("SIFTGRAM_TELEGRAM", "grammers".into()),
        ("SIFTGRAM_TELEGRAM_API_ID", "12345".into()),
        ("SIFTGRAM_TELEGRAM_API_HASH", "0123456789abcdef0123456789abcdef".into()),
    ]);
    let config = Config::from_lookup(|k| vars.get(k).cloned()).unwrap();
    assert!(matches!(config.telegram, Some(TelegramSource::Grammers(_))));
    let (port, dialed) = hanging_up_dc().await;
    let app = App::start(config).await.unwrap();
    let repo = app.backend.repo.clone();

    let user = UserId::new(931).unwrap();
    let mut u = User::new(user, "Grammers reader", Default::default(), repo.clock().now()).unwrap();
    u.tier = Tier::Premium;
    repo.create_user(&u).await.unwrap();
    let channel = ChannelId::new(9301).unwrap();
    repo.save_channel(&Channel::new(channel, Some(Username::parse("real_feed").unwrap()), "Real").unwrap()).await.unwrap();
    repo.subscribe(user, channel).await.unwrap();
    let sealed = SessionCipher::from_spec(&keys).unwrap().seal(user, &signed_in_session(port, 931).await);
    repo.save_session(user, &StoredSession { sealed: sealed.clone(), account_id: 931, signed_in_at: repo.clock().now() }).await.unwrap();

    let deadline = Instant::now() + Duration::from_secs(30);
    while dialed.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the node's grammers client dialed the session's DC");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stopping = Instant::now();
    app.shutdown(Duration::from_secs(10)).await;
    assert!(stopping.elapsed() < Duration::from_secs(10));
    let kept = repo.load_session(user).await.unwrap().expect("a network failure does not sign the user out");
    assert_eq!(kept.sealed, sealed, "nothing was learned, nothing rewritten");
    assert_eq!(repo.sync_state(channel).await.unwrap().backfilled, 0);
    assert!(repo.current_lease("session#931").await.unwrap().is_none(), "no lease left behind");
}
