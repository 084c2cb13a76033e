//! The commands queue (FIFO, grouped by user): logins, passwords, channel lookups, leaving,
//! signing out. Channel work goes to the user's driver on this node (only it may use the
//! user's client); a user driven elsewhere gets the command back later, for the owner to take.

use super::driver::{DriverRequest, Mailboxes};
use super::login::{LoginError, LoginFlow};
use async_trait::async_trait;
use siftgram_bot::Outbox;
use siftgram_bot::teloxide::types::{ChatId, MessageId};
use siftgram_bot::texts::Texts;
use siftgram_core::consume::{HandleError, MessageHandler};
use siftgram_core::messages::{Event, ReplyTo, SessionCommand};
use siftgram_core::model::Channel;
use siftgram_core::ports::{OutgoingMessage, Queue, ReceivedMessage, TelegramError};
use siftgram_core::repo::{LoginState, RepoError, Repository};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

#[derive(Clone)]
pub struct SessionCommands {
    pub repo: Repository,
    pub login: Arc<LoginFlow>,
    pub mailboxes: Mailboxes,
    /// Replies to users (None: nobody is told, e.g. without a bot token).
    pub out: Option<Outbox>,
    pub events: Option<Arc<dyn Queue>>,
    /// How often a pending QR login is checked.
    pub login_poll: Duration,
    /// How often a new channel's backfill progress is read for the user's message.
    pub progress_poll: Duration,
}

fn retry(e: impl std::fmt::Display) -> HandleError {
    HandleError::retry(e.to_string())
}

/// Telegram asked this user's client to wait: the command comes back after that.
fn flood_wait(wait: Duration) -> HandleError {
    HandleError { reason: "FLOOD_WAIT".into(), retry_after: Some(wait) }
}

/// How long a command waits for the user's driver: well under the commands queue's 60 s
/// visibility timeout (a driver sitting out a FLOOD_WAIT answers at once with the wait left).
const DRIVER_ANSWER_TIMEOUT: Duration = Duration::from_secs(20);

/// How often the commands queue delivers a message before dead-lettering it.
fn commands_max_receives() -> u32 {
    siftgram_core::schema::queue_spec("commands").map_or(1, |spec| spec.max_receives)
}

/// A login command another node must handle goes back to the queue soon, for that node.
fn to_owner(e: super::login::LoginError) -> HandleError {
    match e {
        LoginError::Elsewhere(_) => HandleError { reason: e.to_string(), retry_after: Some(Duration::from_secs(2)) },
        e => retry(e),
    }
}

impl SessionCommands {
    async fn say(&self, to: &ReplyTo, text: String) {
        let Some(out) = &self.out else { return };
        let result = match to.message_id {
            Some(m) => out.edit(ChatId(to.chat_id), MessageId(m), text, None).await,
            None => out.send(ChatId(to.chat_id), text, None).await.map(|_| ()),
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "could not tell the user");
        }
    }

    async fn announce(&self, event: Event) {
        if let Some(events) = &self.events {
            let _ = events.send(OutgoingMessage::new(serde_json::to_string(&event).expect("events serialize"))).await;
        }
    }

    /// Tells the user how a login ended, once it has.
    async fn login_outcome(&self, user: siftgram_core::model::UserId, reply: &ReplyTo, state: &LoginState) {
        let t = Texts(reply.language);
        match state {
            LoginState::Done => {
                self.say(reply, t.signed_in()).await;
                self.announce(Event::LoginFinished { user }).await;
            }
            LoginState::Failed { reason } => {
                self.say(reply, t.login_refused(reason)).await;
                self.announce(Event::LoginFailed { user, reason: reason.clone() }).await;
            }
            LoginState::Blocked { .. } => self.say(reply, t.login_blocked()).await,
            LoginState::Waiting { .. } | LoginState::PasswordNeeded { .. } => {}
        }
    }

    /// The user's driver on this node, or why the command cannot run here.
    async fn driver_of(&self, user: siftgram_core::model::UserId, reply: &ReplyTo) -> Result<Option<tokio::sync::mpsc::Sender<DriverRequest>>, HandleError> {
        if let Some(mailbox) = self.mailboxes.of(user) {
            return Ok(Some(mailbox));
        }
        if self.repo.load_session(user).await.map_err(retry)?.is_none() {
            self.say(reply, Texts(reply.language).sign_in_first()).await;
            return Ok(None);
        }
        // Driven on another node (or about to be driven here): let the owner take it.
        Err(HandleError { reason: "the user's driver is not on this node".into(), retry_after: Some(Duration::from_secs(2)) })
    }

    /// Asks the user's driver on this node and waits for its answer; None when the user was told
    /// to sign in first.
    async fn ask_driver<T>(&self, user: siftgram_core::model::UserId, reply: &ReplyTo, request: impl FnOnce(oneshot::Sender<T>) -> DriverRequest) -> Result<Option<T>, HandleError> {
        let Some(mailbox) = self.driver_of(user, reply).await? else { return Ok(None) };
        let (answer, answered) = oneshot::channel();
        mailbox.send(request(answer)).await.map_err(retry)?;
        Ok(Some(tokio::time::timeout(DRIVER_ANSWER_TIMEOUT, answered).await.map_err(retry)?.map_err(retry)?))
    }

    async fn sync_now(&self, user: siftgram_core::model::UserId, channel: siftgram_core::model::ChannelId, reply: &ReplyTo) -> Result<(), HandleError> {
        let Some(checked) = self.ask_driver(user, reply, |answer| DriverRequest::Sync { channel, answer }).await? else { return Ok(()) };
        let title = self.repo.get_channel(channel).await.map_err(retry)?.map(|c| c.title).unwrap_or_default();
        let t = Texts(reply.language);
        match checked {
            Ok(Some(new_posts)) => self.say(reply, t.channel_checked(&title, new_posts)).await,
            Ok(None) => self.say(reply, t.channel_synced_elsewhere(&title)).await,
            Err(siftgram_core::sync::SyncError::Telegram(TelegramError::FloodWait(wait))) => return Err(flood_wait(wait)),
            Err(e) => return Err(retry(e)),
        }
        Ok(())
    }

    async fn resolve(&self, user: siftgram_core::model::UserId, username: siftgram_core::model::Username, reply: &ReplyTo) -> Result<(), HandleError> {
        let t = Texts(reply.language);
        let Some(resolved) = self.ask_driver(user, reply, |answer| DriverRequest::Resolve { username: username.clone(), answer }).await? else { return Ok(()) };
        match resolved {
            Ok(remote) => {
                let mut channel = match self.repo.get_channel(remote.id).await.map_err(retry)? {
                    Some(c) => c,
                    None => Channel::new(remote.id, remote.username.clone(), &remote.title).map_err(retry)?,
                };
                channel.access_hash = Some(remote.access_hash);
                channel.last_message_id = Some(remote.latest_message_id);
                self.repo.save_channel(&channel).await.map_err(retry)?;
                match self.repo.subscribe(user, remote.id).await {
                    Ok(_) | Err(RepoError::AlreadyExists(_)) => {}
                    Err(RepoError::Limit(_)) => {
                        self.say(reply, t.login_refused("channel limit")).await;
                        return Ok(());
                    }
                    Err(e) => return Err(retry(e)),
                }
                let kept = self.repo.channel_allowance(remote.id).await.map_err(retry)?;
                let added = t.channel_added(&remote.title, kept);
                self.say(reply, added.clone()).await;
                self.watch_backfill(remote.id, reply.clone(), added);
                self.announce(Event::ChannelResolved { user, channel: remote.id }).await;
            }
            Err(TelegramError::ChannelNotFound | TelegramError::ChannelPrivate) => {
                let private = matches!(resolved, Err(TelegramError::ChannelPrivate));
                let text = if private { t.channel_private(username.as_str()) } else { t.channel_not_found(username.as_str()) };
                self.say(reply, text).await;
                self.announce(Event::ChannelNotFound { user, username, private }).await;
            }
            Err(TelegramError::FloodWait(wait)) => return Err(flood_wait(wait)),
            Err(e) => return Err(retry(e)),
        }
        Ok(())
    }
}

#[async_trait]
impl MessageHandler for SessionCommands {
    async fn handle(&self, message: &ReceivedMessage) -> Result<(), HandleError> {
        let command: SessionCommand = match serde_json::from_str(&message.body) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "malformed session command dropped");
                return Ok(());
            }
        };
        if self.repo.is_done("cmd", command.id(), "").await.map_err(retry)? {
            return Ok(());
        }
        tracing::debug!(command = command.id(), attempt = message.receive_count, "session command");
        match command.clone() {
            SessionCommand::StartQrLogin { user, invite, reply, .. } => {
                let state = self.login.start(user, invite).await.map_err(to_owner)?;
                self.login_outcome(user, &reply, &state).await;
                if matches!(state, LoginState::Waiting { .. } | LoginState::PasswordNeeded { .. }) {
                    self.watch_login(user, reply);
                }
            }
            SessionCommand::SubmitPassword { user, password, .. } => match self.login.submit_sealed_password(user, &password).await {
                Ok(_) | Err(LoginError::NotStarted) => {}
                // Back to the queue for the node running the login, but never as far as the
                // dead-letter queue: on its last delivery it is dropped (the Mini App asks again).
                Err(e @ LoginError::Elsewhere(_)) if message.receive_count < commands_max_receives() => return Err(to_owner(e)),
                // Expired, damaged, or Telegram failing: the Mini App still shows the password
                // form. A retry would only keep the ciphertext on the queue longer.
                Err(e) => tracing::warn!(user = %user, error = %e, receive_count = message.receive_count, "a sealed password was not used; dropped"),
            },
            SessionCommand::ResolveChannel { user, username, reply, .. } => self.resolve(user, username, &reply).await?,
            SessionCommand::SyncChannel { user, channel, reply, .. } => self.sync_now(user, channel, &reply).await?,
            SessionCommand::LeaveChannel { user, channel, .. } => {
                let still_followed = !self.repo.followers_of(channel).await.map_err(retry)?.is_empty();
                if let (false, Some(mailbox)) = (still_followed, self.mailboxes.of(user)) {
                    let _ = mailbox.send(DriverRequest::Leave { channel }).await;
                }
            }
            SessionCommand::LogOut { user, .. } => self.log_out(user).await?,
        }
        self.repo.mark_done("cmd", command.id(), "").await.map_err(retry)?;
        Ok(())
    }
}

impl SessionCommands {
    /// Signs the user out at Telegram (auth.logOut, so the authorization stops working there
    /// too), then forgets the session. Telegram unreachable: retried; a session Telegram had
    /// already ended, or one that does not open: forgotten all the same.
    async fn log_out(&self, user: siftgram_core::model::UserId) -> Result<(), HandleError> {
        if let Some(stored) = self.repo.load_session(user).await.map_err(retry)? {
            match self.login.cipher.open(user, &stored.sealed) {
                Ok(session) => {
                    let ended = match self.login.connector.connect(Some(&session)) {
                        Ok(client) => self.login.call(client.log_out()).await,
                        Err(e) => Err(e),
                    };
                    match ended {
                        Ok(()) | Err(TelegramError::Unauthorized) => {}
                        Err(e @ (TelegramError::Network(_) | TelegramError::FloodWait(_))) => return Err(retry(e)),
                        Err(e) => tracing::warn!(user = %user, error = %e, "auth.logOut failed; the session is forgotten anyway"),
                    }
                }
                Err(e) => tracing::warn!(user = %user, error = %e, "the session does not open; forgotten without auth.logOut"),
            }
        }
        self.repo.delete_session(user).await.map_err(retry)
    }

    /// Polls a QR login until it ends (or its 10 minutes are up) and tells the user.
    fn watch_login(&self, user: siftgram_core::model::UserId, reply: ReplyTo) {
        let this = self.clone();
        tokio::spawn(async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(siftgram_core::repo::LOGIN_STATE_TTL_SECS as u64);
            while tokio::time::Instant::now() < deadline {
                tokio::time::sleep(this.login_poll).await;
                match this.login.poll(user).await {
                    Ok(LoginState::Waiting { .. } | LoginState::PasswordNeeded { .. }) => continue,
                    Ok(state) => return this.login_outcome(user, &reply, &state).await,
                    // Finished through a password (the password command reports nothing itself).
                    Err(LoginError::NotStarted) => {
                        if let Ok(Some(state)) = this.repo.login_state(user).await {
                            this.login_outcome(user, &reply, &state).await;
                        }
                        return;
                    }
                    Err(e) => tracing::warn!(user = %user, error = %e, "checking a QR login failed"),
                }
            }
            this.login.abandon(user).await;
        });
    }

    /// Edits the "channel added" message with the backfill's progress until the history is
    /// stored (the posts are searchable from then on), so the user knows when to ask. Only a
    /// message the bot showed is edited; a progress line that did not change is not resent.
    fn watch_backfill(&self, channel: siftgram_core::model::ChannelId, reply: ReplyTo, added: String) {
        let (Some(out), Some(message)) = (self.out.clone(), reply.message_id) else { return };
        let (repo, every) = (self.repo.clone(), self.progress_poll);
        tokio::spawn(async move {
            let t = Texts(reply.language);
            let mut shown: Option<String> = None;
            let mut last = (u64::MAX, tokio::time::Instant::now());
            let give_up = tokio::time::Instant::now() + BACKFILL_WATCH_LIMIT;
            while tokio::time::Instant::now() < give_up {
                tokio::time::sleep(every).await;
                let read = async {
                    let sync = repo.sync_state(channel).await?;
                    let stored = repo.channel_stats(channel).await?.post_count;
                    let latest = repo.get_channel(channel).await?.and_then(|c| c.last_message_id);
                    Ok::<_, RepoError>((sync, stored, latest))
                };
                let (sync, stored, latest) = match read.await {
                    Ok(read) => read,
                    Err(e) => {
                        tracing::debug!(channel = %channel, error = %e, "reading backfill progress failed");
                        continue;
                    }
                };
                if stored != last.0 {
                    last = (stored, tokio::time::Instant::now());
                }
                let published_all = sync.backfill_done || sync.history_limit.is_some();
                // Everything the backfill published is stored, or nothing more arrived for a
                // while (a post the indexer skipped must not keep the message "loading").
                let complete = published_all && (stored >= sync.backfilled || (stored > 0 && last.1.elapsed() >= BACKFILL_QUIET));
                let line = if complete {
                    t.history_stored(stored)
                } else {
                    let share = sync.history_loaded(stored, latest).unwrap_or_else(|| (stored * 100 / sync.backfilled.max(1)).min(99));
                    t.history_progress(stored, share)
                };
                if shown.as_ref() != Some(&line) {
                    if let Err(e) = out.edit(ChatId(reply.chat_id), MessageId(message), format!("{added}\n\n{line}"), None).await {
                        tracing::debug!(channel = %channel, error = %e, "backfill progress not shown; no more updates");
                        return;
                    }
                    shown = Some(line);
                }
                if complete {
                    return;
                }
            }
        });
    }
}

/// How long a backfill's progress is shown at most (a longer one is still visible in /my_channels).
const BACKFILL_WATCH_LIMIT: Duration = Duration::from_secs(2 * 3600);
/// After the backfill published everything, this long without a new stored post ends the progress.
const BACKFILL_QUIET: Duration = Duration::from_secs(60);
