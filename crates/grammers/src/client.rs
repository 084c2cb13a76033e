//! One user's MTProto client: its own sender pool (one session per pool, no state shared with
//! other users), raw TL calls for what Siftgram needs, and live updates drained by a task of
//! their own so grammers' bounded updates channel never drops any.

use async_trait::async_trait;
use grammers_client::Client;
use grammers_mtsender::{SenderPool, UpdatesConfiguration};
use grammers_session::Session;
use grammers_session::types::{PeerId, PeerInfo};
use grammers_session::updates::UpdatesLike;
use grammers_tl_types as tl;
use siftgram_core::Timestamp;
use siftgram_core::model::Username;
use siftgram_core::ports::{LiveEvent, QrLogin, RemoteChannel, RemoteMessage, TelegramError, TelegramUser};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;

use crate::connection_params;
use crate::login::{Login, LoginProgress};
use crate::map::{live_event, remote_channel, remote_message, telegram_error};
use crate::session::StoredSession;

/// Live events handed over at most this many at a time.
const MAX_EVENTS_PER_CALL: usize = 1000;

struct Live {
    events: mpsc::Receiver<Result<LiveEvent, TelegramError>>,
    pump: JoinHandle<()>,
    /// The stream's failure, held back until the events before it are handed over.
    failed: Option<TelegramError>,
}

pub(crate) struct GrammersUser {
    client: Client,
    session: Arc<StoredSession>,
    api_id: i32,
    api_hash: Arc<str>,
    runner: JoinHandle<()>,
    /// The pool's raw updates until live events start (the login watches them for
    /// updateLoginToken); then the update stream owns them.
    raw_updates: std::sync::Mutex<Option<mpsc::Receiver<UpdatesLike>>>,
    live: Mutex<Option<Live>>,
    login: Mutex<LoginProgress>,
}

fn now() -> Timestamp {
    Timestamp(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64))
}

fn input_channel(id: i64, access_hash: i64) -> tl::enums::InputChannel {
    tl::enums::InputChannel::Channel(tl::types::InputChannel { channel_id: id, access_hash })
}

fn input_peer(id: i64, access_hash: i64) -> tl::enums::InputPeer {
    tl::enums::InputPeer::Channel(tl::types::InputPeerChannel { channel_id: id, access_hash })
}

fn history_messages(answer: tl::enums::messages::Messages) -> Vec<tl::enums::Message> {
    match answer {
        tl::enums::messages::Messages::Messages(m) => m.messages,
        tl::enums::messages::Messages::Slice(m) => m.messages,
        tl::enums::messages::Messages::ChannelMessages(m) => m.messages,
        tl::enums::messages::Messages::NotModified(_) => Vec::new(),
    }
}

impl GrammersUser {
    /// A client on `session`; the connection opens with the first request.
    pub(crate) fn start(session: Arc<StoredSession>, api_id: i32, api_hash: Arc<str>) -> GrammersUser {
        let pool = SenderPool::with_configuration(session.clone(), api_id, connection_params());
        let client = Client::new(pool.handle);
        let runner = tokio::spawn(pool.runner.run());
        GrammersUser {
            client,
            session,
            api_id,
            api_hash,
            runner,
            raw_updates: std::sync::Mutex::new(Some(pool.updates)),
            live: Mutex::new(None),
            login: Mutex::new(LoginProgress::default()),
        }
    }

    fn login_flow(&self) -> Login<'_> {
        Login { client: &self.client, session: &self.session, api_id: self.api_id, api_hash: &self.api_hash }
    }

    /// Whether the phone accepted the QR code since the last look (updateLoginToken arrived).
    fn login_token_accepted(&self) -> bool {
        let mut raw = self.raw_updates.lock().expect("updates lock");
        let Some(updates) = raw.as_mut() else {
            return false;
        };
        let mut accepted = false;
        while let Ok(batch) = updates.try_recv() {
            let list: &[tl::enums::Update] = match &batch {
                UpdatesLike::Updates(tl::enums::Updates::UpdateShort(short)) => std::slice::from_ref(&short.update),
                UpdatesLike::Updates(tl::enums::Updates::Updates(many)) => &many.updates,
                UpdatesLike::Updates(tl::enums::Updates::Combined(many)) => &many.updates,
                _ => &[],
            };
            accepted |= list.iter().any(|u| matches!(u, tl::enums::Update::LoginToken));
        }
        accepted
    }

    async fn call<R: tl::RemoteCall>(&self, request: &R) -> Result<R::Return, TelegramError> {
        self.client.invoke(request).await.map_err(|e| telegram_error(&e))
    }

    /// Starts the update stream (with catch-up of what was missed while offline) and the task
    /// that drains it.
    async fn start_live(&self) -> Result<Live, TelegramError> {
        let raw = self.raw_updates.lock().expect("updates lock").take().ok_or_else(|| TelegramError::Other("updates already taken".into()))?;
        let mut stream = self.client.stream_updates(raw, UpdatesConfiguration { catch_up: true }).await.map_err(|e| TelegramError::Network(e.to_string()))?;
        let (tx, events) = mpsc::channel(MAX_EVENTS_PER_CALL * 4);
        let pump = tokio::spawn(async move {
            loop {
                match stream.next_raw().await {
                    Ok((update, _, _)) => {
                        if let Some(event) = live_event(&update)
                            && tx.send(Ok(event)).await.is_err()
                        {
                            return;
                        }
                        // The pts go into the session, which the node stores again now and then.
                        let _ = stream.sync_update_state().await;
                    }
                    Err(e) => {
                        let _ = tx.send(Err(telegram_error(&e))).await;
                        return;
                    }
                }
            }
        });
        Ok(Live { events, pump, failed: None })
    }

    /// This account's access hash for `channel`. Access hashes are per account, and the one in
    /// `channel` may come from whichever user resolved it first: the session's own (cached when
    /// this account resolved it) wins, else a public channel is resolved once for this account.
    async fn access_hash(&self, channel: &RemoteChannel) -> Result<i64, TelegramError> {
        let id = channel.id.get();
        let cached = self.session.peer_ref(PeerId::channel_unchecked(id)).await.map_err(|e| TelegramError::Other(e.to_string()))?;
        if let Some(peer) = cached {
            return Ok(peer.auth.hash());
        }
        match &channel.username {
            Some(username) => Ok(self.resolve_channel(username).await?.0.access_hash),
            None => Ok(channel.access_hash),
        }
    }

    /// resolveUsername, the channel cached in the session; also whether the account left it.
    async fn resolve_channel(&self, username: &Username) -> Result<(RemoteChannel, bool), TelegramError> {
        let request = tl::functions::contacts::ResolveUsername { username: username.as_str().to_owned(), referer: None };
        let tl::enums::contacts::ResolvedPeer::Peer(resolved) = self.call(&request).await?;
        let tl::enums::Peer::Channel(peer) = resolved.peer else {
            return Err(TelegramError::ChannelNotFound);
        };
        let chat = resolved
            .chats
            .into_iter()
            .find(|c| {
                matches!(c, tl::enums::Chat::Channel(ch) if ch.id == peer.channel_id)
                    || matches!(c, tl::enums::Chat::ChannelForbidden(ch) if ch.id == peer.channel_id)
            })
            .ok_or(TelegramError::ChannelNotFound)?;
        let tl::enums::Chat::Channel(raw) = &chat else {
            return Err(TelegramError::ChannelPrivate);
        };
        let left = raw.left;
        let remote = remote_channel(&chat, 0).ok_or(TelegramError::ChannelNotFound)?;
        // Cached so this account's access hash is known, and gaps in the channel's updates can
        // be filled after a reconnect.
        self.session.cache_peer(PeerInfo::from(&chat)).await.map_err(|e| TelegramError::Other(e.to_string()))?;
        Ok((remote, left))
    }

    async fn latest_message_id(&self, peer: tl::enums::InputPeer) -> Result<i64, TelegramError> {
        let request = tl::functions::messages::GetHistory { peer, offset_id: 0, offset_date: 0, add_offset: 0, limit: 1, max_id: 0, min_id: 0, hash: 0 };
        Ok(history_messages(self.call(&request).await?).first().and_then(remote_message).map_or(0, |m| m.id))
    }
}

impl Drop for GrammersUser {
    fn drop(&mut self) {
        self.client.disconnect();
        self.runner.abort();
        if let Ok(mut live) = self.live.try_lock()
            && let Some(live) = live.take()
        {
            live.pump.abort();
        }
    }
}

#[async_trait]
impl TelegramUser for GrammersUser {
    async fn qr_login(&self) -> Result<QrLogin, TelegramError> {
        let mut progress = self.login.lock().await;
        let accepted = self.login_token_accepted();
        self.login_flow().poll(&mut progress, accepted, now()).await
    }

    async fn check_password(&self, password: &str) -> Result<i64, TelegramError> {
        let mut progress = self.login.lock().await;
        self.login_flow().check_password(&mut progress, password).await
    }

    fn session(&self) -> Vec<u8> {
        self.session.to_bytes()
    }

    async fn resolve(&self, username: &Username) -> Result<RemoteChannel, TelegramError> {
        let (mut remote, left) = self.resolve_channel(username).await?;
        if left {
            // Live updates come only for channels the account is in; joined here, left again by
            // `leave` (a channel the user was already in is never left).
            match self.call(&tl::functions::channels::JoinChannel { channel: input_channel(remote.id.get(), remote.access_hash) }).await {
                Ok(_) => self.session.set_joined(remote.id.get(), true),
                Err(TelegramError::ChannelPrivate) => return Err(TelegramError::ChannelPrivate),
                Err(e @ (TelegramError::FloodWait(_) | TelegramError::Unauthorized | TelegramError::Network(_))) => return Err(e),
                // Joining can be refused (too many channels): the periodic catch-up still syncs it.
                Err(e) => {
                    tracing::warn!(channel = %remote.id, error = %e, "could not join; the channel is synced by polling")
                }
            }
        }
        remote.latest_message_id = self.latest_message_id(input_peer(remote.id.get(), remote.access_hash)).await?;
        Ok(remote)
    }

    async fn history(&self, channel: &RemoteChannel, before: Option<i64>, limit: usize) -> Result<Vec<RemoteMessage>, TelegramError> {
        let offset_id = before.map_or(0, |id| i32::try_from(id).unwrap_or(i32::MAX));
        let peer = input_peer(channel.id.get(), self.access_hash(channel).await?);
        let request =
            tl::functions::messages::GetHistory { peer, offset_id, offset_date: 0, add_offset: 0, limit: limit.min(100) as i32, max_id: 0, min_id: 0, hash: 0 };
        let mut messages: Vec<RemoteMessage> = history_messages(self.call(&request).await?).iter().filter_map(remote_message).collect();
        messages.sort_by_key(|m| std::cmp::Reverse(m.id));
        Ok(messages)
    }

    async fn newer(&self, channel: &RemoteChannel, after: i64, limit: usize) -> Result<Vec<RemoteMessage>, TelegramError> {
        // The window of `limit` messages just above `after` (min_id keeps `after` itself out).
        let after = i32::try_from(after).unwrap_or(i32::MAX);
        let limit = limit.min(100) as i32;
        let peer = input_peer(channel.id.get(), self.access_hash(channel).await?);
        let request =
            tl::functions::messages::GetHistory { peer, offset_id: after, offset_date: 0, add_offset: -limit, limit, max_id: 0, min_id: after, hash: 0 };
        let mut messages: Vec<RemoteMessage> =
            history_messages(self.call(&request).await?).iter().filter_map(remote_message).filter(|m| m.id > i64::from(after)).collect();
        messages.sort_by_key(|m| m.id);
        Ok(messages)
    }

    async fn next_events(&self, wait: Duration) -> Result<Vec<LiveEvent>, TelegramError> {
        let mut live = self.live.lock().await;
        if live.is_none() {
            *live = Some(self.start_live().await?);
        }
        let current = live.as_mut().expect("started");
        if let Some(e) = current.failed.take() {
            *live = None;
            return Err(e);
        }
        let first = match tokio::time::timeout(wait, current.events.recv()).await {
            Err(_) => return Ok(Vec::new()),
            Ok(Some(first)) => first,
            Ok(None) => {
                *live = None;
                return Err(TelegramError::Network("the update stream ended".into()));
            }
        };
        let mut out = vec![first?];
        while out.len() < MAX_EVENTS_PER_CALL {
            match current.events.try_recv() {
                Ok(Ok(event)) => out.push(event),
                Ok(Err(e)) => {
                    current.failed = Some(e);
                    break;
                }
                Err(_) => break,
            }
        }
        Ok(out)
    }

    async fn leave(&self, channel: &RemoteChannel) -> Result<(), TelegramError> {
        if self.session.joined(channel.id.get()) {
            let channel_ref = input_channel(channel.id.get(), self.access_hash(channel).await?);
            self.call(&tl::functions::channels::LeaveChannel { channel: channel_ref }).await?;
            self.session.set_joined(channel.id.get(), false);
        }
        Ok(())
    }

    fn account_id(&self) -> Option<i64> {
        self.session.account_id()
    }

    async fn log_out(&self) -> Result<(), TelegramError> {
        self.call(&tl::functions::auth::LogOut {}).await.map(|_| ())
    }
}
