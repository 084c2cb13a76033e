//! Driving one user's Telegram session on this node: only under the user's lease (renewed;
//! lost → this client stops at once), the followed channels synced — each channel by one
//! driver at a time (a channel lease), so a channel many users follow is synced once — live
//! events applied as they come, one backfill page at a time between them, a catch-up pass
//! periodically. FLOOD_WAIT pauses only this user's loop; a revoked session signs the user out
//! (and the bot tells them). The client's session (its update state, keys of DCs it moved to)
//! is sealed and stored again whenever it changed, after the events it saw were applied, so a
//! restarted client catches up from there.

use super::cipher::{CipherError, SessionCipher};
use siftgram_core::model::{ChannelId, UserId};
use siftgram_core::ports::{RemoteChannel, TelegramConnector, TelegramError, TelegramUser};
use siftgram_bot::teloxide::types::ChatId;
use siftgram_bot::texts::Texts;
use siftgram_core::repo::{RepoError, Repository, StoredSession};
use siftgram_core::sync::{BackfillStep, ChannelSync, SyncError};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

#[derive(Clone, Copy, Debug)]
pub struct DriveSettings {
    pub lease_secs: i64,
    pub renew_every: Duration,
    /// How long one wait for live events lasts (also the pause between backfill pages).
    pub live_wait: Duration,
    pub catch_up_every: Duration,
}

impl Default for DriveSettings {
    fn default() -> Self {
        DriveSettings { lease_secs: 30, renew_every: Duration::from_secs(10), live_wait: Duration::from_millis(200), catch_up_every: Duration::from_secs(300) }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DriveError {
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Cipher(#[from] CipherError),
    #[error(transparent)]
    Telegram(#[from] TelegramError),
}

/// Why a drive ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriveEnd {
    /// Another node holds the user's lease.
    OwnedElsewhere,
    /// No stored session (never signed in, or signed out).
    NoSession,
    /// Telegram revoked the session; the user is signed out here too.
    SignedOut,
    /// The lease could not be renewed: someone else drives the user now.
    LeaseLost,
    /// Shutdown: cursors flushed, leases released.
    Stopped,
}

pub struct SessionDriver {
    pub node_id: String,
    pub repo: Repository,
    pub connector: Arc<dyn TelegramConnector>,
    pub cipher: SessionCipher,
    pub sync: Arc<ChannelSync>,
    pub settings: DriveSettings,
    /// Requests for the users driven here (only their driver may use their client).
    pub mailboxes: Mailboxes,
    /// Tells users their session ended (None: nobody is told, e.g. without a bot token).
    pub out: Option<siftgram_bot::Outbox>,
}

/// What a user's driver does for others: resolve a channel with the user's client, check one for
/// new posts now (the count; None if another driver syncs that channel), leave one.
pub enum DriverRequest {
    Resolve { username: siftgram_core::model::Username, answer: oneshot::Sender<Result<RemoteChannel, TelegramError>> },
    Sync { channel: ChannelId, answer: oneshot::Sender<Result<Option<usize>, SyncError>> },
    Leave { channel: ChannelId },
}

#[derive(Clone, Default)]
pub struct Mailboxes(Arc<std::sync::Mutex<HashMap<UserId, mpsc::Sender<DriverRequest>>>>);

impl Mailboxes {
    /// The mailbox of `user`'s driver, if the user is driven on this node.
    pub fn of(&self, user: UserId) -> Option<mpsc::Sender<DriverRequest>> {
        self.0.lock().expect("mailboxes").get(&user).cloned()
    }
}

fn session_lease(user: UserId) -> String {
    format!("session#{user}")
}
fn channel_lease(channel: ChannelId) -> String {
    format!("sync#{channel}")
}

impl SessionDriver {
    /// Drives `user` until `stop`, the lease is lost or the session ends.
    pub async fn drive(&self, user: UserId, mut stop: watch::Receiver<bool>) -> Result<DriveEnd, DriveError> {
        let resource = session_lease(user);
        if self.repo.acquire_lease(&resource, &self.node_id, self.settings.lease_secs).await?.is_none() {
            return Ok(DriveEnd::OwnedElsewhere);
        }
        let owner = format!("{}/{user}", self.node_id);
        let mut owned = HashSet::new();
        let (tx, mut mailbox) = mpsc::channel(16);
        self.mailboxes.0.lock().expect("mailboxes").insert(user, tx);
        let result = self.drive_leased(user, &owner, &mut owned, &mut stop, &mut mailbox).await;
        self.mailboxes.0.lock().expect("mailboxes").remove(&user);
        for channel in owned {
            let _ = self.repo.release_lease(&channel_lease(channel), &owner).await;
        }
        let _ = self.repo.release_lease(&resource, &self.node_id).await;
        result
    }

    async fn drive_leased(
        &self,
        user: UserId,
        owner: &str,
        owned: &mut HashSet<ChannelId>,
        stop: &mut watch::Receiver<bool>,
        mailbox: &mut mpsc::Receiver<DriverRequest>,
    ) -> Result<DriveEnd, DriveError> {
        let Some(mut stored) = self.repo.load_session(user).await? else { return Ok(DriveEnd::NoSession) };
        let mut saved = self.cipher.open(user, &stored.sealed)?;
        if SessionCipher::is_unbound(&stored.sealed) {
            // Sealed before sessions were bound to their user: seal it again on the first save.
            saved.clear();
        }
        let client = match self.connector.connect(Some(&saved)) {
            Ok(c) => c,
            Err(TelegramError::Unauthorized) => return self.signed_out(user).await,
            Err(e) => return Err(e.into()),
        };
        // Belt and braces beside the binding of the sealed session to its user: a session of
        // another account is never driven as this user's.
        if let Some(account) = client.account_id().filter(|&a| a != user.get()) {
            tracing::error!(user = %user, account, "the stored session is another account's; not used");
            return Err(DriveError::Telegram(TelegramError::Other(format!("the stored session is account {account}'s, not user {user}'s"))));
        }
        let _running = siftgram_core::telemetry::DriverState::enter("running");
        let mut channels: HashMap<ChannelId, RemoteChannel> = HashMap::new();
        let mut done: HashSet<ChannelId> = HashSet::new();
        // The channels this driver syncs (followed, and their sync lease held): changes only when
        // the leases are renewed.
        let mut ours: HashMap<ChannelId, RemoteChannel> = HashMap::new();
        let mut last_renew: Option<Instant> = None;
        let mut last_catch_up = Instant::now();
        let mut deferred: Vec<DriverRequest> = Vec::new();
        loop {
            if *stop.borrow() {
                self.save_session(user, &mut stored, &*client, &mut saved).await?;
                return Ok(DriveEnd::Stopped);
            }
            if last_renew.is_none_or(|t| t.elapsed() >= self.settings.renew_every) {
                if self.repo.acquire_lease(&session_lease(user), &self.node_id, self.settings.lease_secs).await?.is_none() {
                    tracing::warn!(user = %user, "session lease lost; stopping this client");
                    return Ok(DriveEnd::LeaseLost);
                }
                if !self.save_session(user, &mut stored, &*client, &mut saved).await? || self.repo.load_session(user).await?.is_none() {
                    // Signed out (or in anew) meanwhile: this client's session is not the user's any more.
                    return Ok(DriveEnd::NoSession);
                }
                match self.refresh_channels(user, owner, &*client, &mut channels, owned).await {
                    Err(DriveError::Telegram(TelegramError::Unauthorized)) => return self.signed_out(user).await,
                    other => other?,
                }
                ours = channels.iter().filter(|(id, _)| owned.contains(id)).map(|(k, v)| (*k, v.clone())).collect();
                // A history stopped at its allowance goes on when a follower's plan grows.
                done.clear();
                last_renew = Some(Instant::now());
            }
            // Requests the pause put off come first, then whatever arrived since.
            let mut waiting: Vec<DriverRequest> = std::mem::take(&mut deferred);
            while let Ok(request) = mailbox.try_recv() {
                waiting.push(request);
            }
            for request in waiting {
                match request {
                    DriverRequest::Resolve { username, answer } => {
                        let resolved = client.resolve(&username).await;
                        if let Ok(remote) = &resolved {
                            channels.insert(remote.id, remote.clone());
                            last_renew = None; // take the channel's sync lease on the next turn
                        }
                        let _ = answer.send(resolved);
                    }
                    DriverRequest::Sync { channel, answer } => {
                        // Only the driver holding the channel's sync lease moves its cursor.
                        let checked = match ours.get(&channel) {
                            Some(remote) => self.sync.catch_up(&*client, remote).await.map(Some),
                            None => Ok(None),
                        };
                        let _ = answer.send(checked);
                    }
                    DriverRequest::Leave { channel } => {
                        ours.remove(&channel);
                        if let Some(remote) = channels.remove(&channel) {
                            client.leave(&remote).await?;
                        }
                    }
                }
            }
            let catch_up = last_catch_up.elapsed() >= self.settings.catch_up_every;
            match self.step(&*client, &ours, &mut done, catch_up).await {
                Ok(()) => {
                    if catch_up {
                        last_catch_up = Instant::now();
                    }
                }
                Err(SyncError::Telegram(TelegramError::FloodWait(wait))) => {
                    tracing::info!(user = %user, wait_secs = wait.as_secs(), "FLOOD_WAIT: this client pauses");
                    let _waiting = siftgram_core::telemetry::DriverState::enter("flood_waiting");
                    self.pause(wait, stop, mailbox, &mut deferred).await;
                }
                Err(SyncError::Telegram(TelegramError::Unauthorized)) => return self.signed_out(user).await,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Sits out a FLOOD_WAIT without going deaf: a question for this client (resolve, sync) is
    /// answered at once with the wait that is left, so the commands consumer is not held up;
    /// a leave is put off until the pause is over.
    async fn pause(&self, wait: Duration, stop: &mut watch::Receiver<bool>, mailbox: &mut mpsc::Receiver<DriverRequest>, deferred: &mut Vec<DriverRequest>) {
        let until = Instant::now() + wait;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            tokio::select! {
                _ = tokio::time::sleep(left) => return,
                _ = stop.changed() => return,
                request = mailbox.recv() => match request {
                    Some(DriverRequest::Resolve { answer, .. }) => {
                        let _ = answer.send(Err(TelegramError::FloodWait(left)));
                    }
                    Some(DriverRequest::Sync { answer, .. }) => {
                        let _ = answer.send(Err(SyncError::Telegram(TelegramError::FloodWait(left))));
                    }
                    Some(leave @ DriverRequest::Leave { .. }) => deferred.push(leave),
                    None => return,
                },
            }
        }
    }

    /// Live events first (they are what users wait for), then one backfill page, then catch-up.
    async fn step(&self, client: &dyn TelegramUser, channels: &HashMap<ChannelId, RemoteChannel>, done: &mut HashSet<ChannelId>, catch_up: bool) -> Result<(), SyncError> {
        let events = client.next_events(self.settings.live_wait).await?;
        if !events.is_empty() {
            self.sync.apply_live(events, channels).await?;
        }
        for (id, channel) in channels {
            if done.contains(id) {
                continue;
            }
            match self.sync.backfill_page(client, channel).await? {
                BackfillStep::Published(_) => break,
                BackfillStep::Done => {
                    done.insert(*id);
                }
            }
        }
        if catch_up {
            for channel in channels.values() {
                self.sync.catch_up(client, channel).await?;
            }
        }
        Ok(())
    }

    /// The user's channels (resolved once: the access hash is kept), and the sync leases held.
    async fn refresh_channels(
        &self,
        user: UserId,
        owner: &str,
        client: &dyn TelegramUser,
        channels: &mut HashMap<ChannelId, RemoteChannel>,
        owned: &mut HashSet<ChannelId>,
    ) -> Result<(), DriveError> {
        let followed: Vec<ChannelId> = self.repo.subscriptions_of(user).await?.into_iter().map(|s| s.channel).collect();
        channels.retain(|id, _| followed.contains(id));
        for id in followed {
            if let std::collections::hash_map::Entry::Vacant(slot) = channels.entry(id) {
                let Some(mut stored) = self.repo.get_channel(id).await? else { continue };
                let remote = match (&stored.username, stored.access_hash) {
                    (Some(username), None) => {
                        let remote = client.resolve(username).await?;
                        stored.access_hash = Some(remote.access_hash);
                        stored.last_message_id = Some(remote.latest_message_id);
                        self.repo.save_channel(&stored).await?;
                        remote
                    }
                    _ => RemoteChannel {
                        id,
                        title: stored.title.clone(),
                        username: stored.username.clone(),
                        access_hash: stored.access_hash.unwrap_or_default(),
                        latest_message_id: stored.last_message_id.unwrap_or_default(),
                    },
                };
                slot.insert(remote);
            }
            if self.repo.acquire_lease(&channel_lease(id), owner, self.settings.lease_secs).await?.is_some() {
                owned.insert(id);
            } else {
                owned.remove(&id);
            }
        }
        Ok(())
    }

    /// Stores the client's session again if it changed since it was last stored; false if the
    /// stored session is no longer the one this client started from.
    async fn save_session(&self, user: UserId, stored: &mut StoredSession, client: &dyn TelegramUser, saved: &mut Vec<u8>) -> Result<bool, DriveError> {
        let now = client.session();
        if now == *saved {
            return Ok(true);
        }
        let newer = StoredSession { sealed: self.cipher.seal(user, &now), ..stored.clone() };
        if !self.repo.replace_session(user, &stored.sealed, &newer).await? {
            return Ok(false);
        }
        *stored = newer;
        *saved = now;
        Ok(true)
    }

    async fn signed_out(&self, user: UserId) -> Result<DriveEnd, DriveError> {
        tracing::warn!(user = %user, "Telegram revoked the session; signing the user out");
        siftgram_core::telemetry::signed_out();
        self.repo.delete_session(user).await?;
        if let Some(out) = &self.out {
            let language = self.repo.get_user(user).await?.map(|u| u.language).unwrap_or_default();
            if let Err(e) = out.send(ChatId(user.get()), Texts(language).signed_out_by_telegram(), None).await {
                tracing::warn!(user = %user, error = %e, "could not tell the user they were signed out");
            }
        }
        Ok(DriveEnd::SignedOut)
    }
}
