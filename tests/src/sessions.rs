//! `TestSessions`: the session node's parts over one `TestSystem` — the recorded Telegram, the
//! channel sync publishing to the system's posts queue, session drivers (as many "nodes" as a
//! story wants), the login flow — and the real indexer (keyword-only, so thousands of posts
//! index quickly) to see what ends up stored.

use crate::TestSystem;
use siftgram_core::Clock;
use siftgram_core::indexing::Indexer;
use siftgram_core::model::{Channel, ChannelId, Invite, InviteCode, Tier, User, UserId, Username};
use siftgram_core::ports::{Queue, SearchIndex};
use siftgram_core::repo::StoredSession;
use siftgram_core::schema::queue_spec;
use siftgram_core::sync::{ChannelSync, PostPublisher};
use siftgram_recorded_telegram::RecordedTelegram;
use siftgram_search::EmbeddedIndex;
use siftgram_session_node::sessions::{DriveSettings, LoginFlow, SessionCipher, SessionDriver};
use std::sync::Arc;
use std::time::Duration;

pub struct TestSessions {
    pub telegram: RecordedTelegram,
    pub posts: Arc<dyn Queue>,
    pub events: Arc<dyn Queue>,
    pub sync: Arc<ChannelSync>,
    pub cipher: SessionCipher,
    pub indexer: Indexer,
    _dir: tempfile::TempDir,
}

impl TestSessions {
    pub async fn start(sys: &TestSystem) -> TestSessions {
        let posts = sys.queue(queue_spec("posts").expect("posts queue")).await;
        let events = sys.queue(queue_spec("events").expect("events queue")).await;
        let sync = Arc::new(ChannelSync { repo: sys.repo.clone(), publisher: PostPublisher { posts: posts.clone() }, events: Some(events.clone()), page: 100, depth: None });
        let cipher = SessionCipher::from_spec(&SessionCipher::generate_spec("test")).expect("a key");
        // What a starting node does: publish the key that 2FA passwords are sealed to.
        sys.repo.publish_password_key(&cipher.passwords().public().expect("a key")).await.expect("published");
        let dir = tempfile::tempdir().expect("temp dir");
        let index = EmbeddedIndex::open_dir(dir.path()).expect("index");
        let indexer = siftgram_search::indexer(sys.repo.clone(), Arc::new(index.clone()), Arc::new(siftgram_search::KeywordOnly), None, None);
        index.open_collection(&indexer.collection()).await.expect("collection");
        TestSessions { telegram: RecordedTelegram::new(), posts, events, sync, cipher, indexer, _dir: dir }
    }

    /// A node's driver, polling fast so stories run in well under a second per step.
    pub fn driver(&self, sys: &TestSystem, node: &str) -> Arc<SessionDriver> {
        self.driver_telling(sys, node, None)
    }

    /// A node's driver that tells users through `out` (the bot) when their session ends.
    pub fn driver_telling(&self, sys: &TestSystem, node: &str, out: Option<siftgram_bot::Outbox>) -> Arc<SessionDriver> {
        self.driver_with(sys, node, out, Self::fast())
    }

    /// Fast polling, a catch-up pass every 2 s.
    pub fn fast() -> DriveSettings {
        DriveSettings { lease_secs: 30, renew_every: Duration::from_millis(100), live_wait: Duration::from_millis(20), catch_up_every: Duration::from_secs(2) }
    }

    pub fn driver_with(&self, sys: &TestSystem, node: &str, out: Option<siftgram_bot::Outbox>, settings: DriveSettings) -> Arc<SessionDriver> {
        Arc::new(SessionDriver {
            node_id: node.into(),
            repo: sys.repo.clone(),
            connector: Arc::new(self.telegram.clone()),
            cipher: self.cipher.clone(),
            sync: self.sync.clone(),
            settings,
            mailboxes: Default::default(),
            out,
        })
    }

    pub fn login(&self, sys: &TestSystem) -> LoginFlow {
        self.login_on(sys, "node-a")
    }

    /// A 2FA password as the Mini App's API enqueues it: sealed to the key the node published,
    /// for `user`, valid as long as the login state.
    pub async fn sealed_password(&self, sys: &TestSystem, user: UserId, password: &str) -> siftgram_core::messages::SealedSecret {
        let key = sys.repo.password_key().await.expect("readable").expect("a node published its key");
        let expires = sys.clock.now().plus_secs(siftgram_core::repo::LOGIN_STATE_TTL_SECS);
        siftgram_sealed::seal(&key, user, expires, password).expect("sealed")
    }

    /// The commands consumer of node `node`, with no bot and no drivers: logins only.
    pub fn commands_on(&self, sys: &TestSystem, node: &str) -> siftgram_session_node::sessions::SessionCommands {
        siftgram_session_node::sessions::SessionCommands {
            repo: sys.repo.clone(),
            login: Arc::new(self.login_on(sys, node)),
            mailboxes: Default::default(),
            out: None,
            events: None,
            login_poll: Duration::from_millis(20),
            progress_poll: Duration::from_millis(50),
        }
    }

    /// The login flow of node `node`.
    pub fn login_on(&self, sys: &TestSystem, node: &str) -> LoginFlow {
        LoginFlow::new(sys.repo.clone(), Arc::new(self.telegram.clone()), self.cipher.clone(), node)
    }

    /// A user who signed in earlier: account, stored (sealed) session.
    pub async fn signed_in(&self, sys: &TestSystem, id: i64) -> UserId {
        let user = UserId::new(id).unwrap();
        let mut u = User::new(user, "Reader", Default::default(), sys.clock.now()).unwrap();
        u.tier = Tier::Enterprise;
        sys.repo.create_user(&u).await.unwrap();
        self.telegram.add_account(id, None);
        let sealed = self.cipher.seal(user, serde_json::json!({"account": id}).to_string().as_bytes());
        sys.repo.save_session(user, &StoredSession { sealed, account_id: id, signed_in_at: sys.clock.now() }).await.unwrap();
        user
    }

    /// A user who reserved an invite with /login and is about to scan the QR code.
    pub async fn logging_in(&self, sys: &TestSystem, id: i64) -> (UserId, InviteCode) {
        let user = UserId::new(id).unwrap();
        sys.repo.create_user(&User::new(user, "Newcomer", Default::default(), sys.clock.now()).unwrap()).await.unwrap();
        let code = InviteCode::parse(&format!("LOGIN{id:07}")).unwrap();
        let invite = Invite::new(code.clone(), UserId::new(1).unwrap(), sys.clock.now(), Tier::Trial, None, 1, None).unwrap();
        sys.repo.create_invite(&invite).await.unwrap();
        sys.repo.reserve_invite(code.as_str(), user).await.unwrap();
        (user, code)
    }

    /// `user` follows the recorded channel `id` (what a finished /add_channel leaves behind).
    pub async fn follow(&self, sys: &TestSystem, user: UserId, id: ChannelId, username: &str, title: &str) {
        if sys.repo.get_channel(id).await.unwrap().is_none() {
            sys.repo.save_channel(&Channel::new(id, Some(Username::parse(username).unwrap()), title).unwrap()).await.unwrap();
        }
        sys.repo.subscribe(user, id).await.unwrap();
    }

    /// Runs the indexer over everything on the posts queue; returns how many messages it took.
    pub async fn index_all(&self) -> usize {
        crate::index_all(&*self.posts, &self.indexer).await
    }

    /// The message ids stored for `channel`, ascending.
    pub async fn stored_ids(&self, sys: &TestSystem, channel: ChannelId) -> Vec<i64> {
        let mut ids = Vec::new();
        let mut cursor = None;
        loop {
            let (posts, next) = sys.repo.channel_posts_oldest_first(channel, 500, cursor).await.unwrap();
            ids.extend(posts.iter().map(|p| p.key.message_id));
            match next {
                Some(n) => cursor = Some(n),
                None => return ids,
            }
        }
    }
}
