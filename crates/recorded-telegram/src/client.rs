//! One user client of the recorded world.

use crate::{RecordedTelegram, World, now};
use async_trait::async_trait;
use siftgram_core::model::{ChannelId, Username};
use siftgram_core::ports::{LiveEvent, QrLogin, RemoteChannel, RemoteMessage, TelegramError, TelegramUser};
use std::sync::Mutex;
use std::time::{Duration, Instant};

struct State {
    account: Option<i64>,
    token: Option<String>,
    /// Scanned by this account, which has a password still to be checked.
    password_for: Option<i64>,
    event_cursor: usize,
}

pub(crate) struct RecordedClient {
    world: RecordedTelegram,
    state: Mutex<State>,
}

impl RecordedClient {
    pub(crate) fn new(world: RecordedTelegram, account: Option<i64>, event_cursor: usize) -> RecordedClient {
        let state = State { account, token: None, password_for: None, event_cursor };
        RecordedClient { world, state: Mutex::new(state) }
    }

    /// The signed-in account, checked against revocation and scripted flood waits.
    fn authorized(&self, w: &mut World, counts_as_history: bool) -> Result<i64, TelegramError> {
        let account = self.state.lock().unwrap().account.ok_or(TelegramError::Unauthorized)?;
        let acc = w.accounts.get_mut(&account).ok_or(TelegramError::Unauthorized)?;
        if acc.revoked {
            return Err(TelegramError::Unauthorized);
        }
        if acc.offline {
            return Err(TelegramError::Network("connection refused".into()));
        }
        if counts_as_history {
            acc.history_calls += 1;
            if !acc.floods.is_empty() {
                return Err(TelegramError::FloodWait(acc.floods.remove(0)));
            }
        }
        Ok(account)
    }

    fn remote(id: ChannelId, c: &crate::Channel) -> RemoteChannel {
        RemoteChannel { id, title: c.title.clone(), username: c.username.clone(), access_hash: id.get() * 7919, latest_message_id: c.messages.keys().max().copied().unwrap_or(0) }
    }
}

#[async_trait]
impl TelegramUser for RecordedClient {
    async fn qr_login(&self) -> Result<QrLogin, TelegramError> {
        let fault = {
            let mut w = self.world.world.lock().unwrap();
            let s = self.state.lock().unwrap();
            if s.account.is_none() && s.token.is_none() { w.login_faults.pop_front() } else { None }
        };
        match fault {
            Some(crate::LoginFault::Stall) => std::future::pending::<()>().await,
            Some(crate::LoginFault::Fail) => return Err(TelegramError::Network("recorded: the login's connection failed".into())),
            None => {}
        }
        let mut w = self.world.world.lock().unwrap();
        let mut s = self.state.lock().unwrap();
        if let Some(account) = s.account {
            return Ok(QrLogin::Done { account_id: account });
        }
        if s.password_for.is_some() {
            return Ok(QrLogin::PasswordNeeded { hint: Some("recorded".into()) });
        }
        let token = match &s.token {
            Some(t) if !w.expired_tokens.contains(t) => t.clone(),
            _ => {
                w.next_token += 1;
                let t = format!("rec{}x{}", w.next_token, now().0);
                w.tokens.insert(t.clone(), None);
                s.token = Some(t.clone());
                t
            }
        };
        match w.tokens.get(&token).copied().flatten() {
            None => Ok(QrLogin::Waiting { url: format!("tg://login?token={token}"), expires: now().plus_secs(30) }),
            Some(account) => {
                let acc = w.accounts.get_mut(&account).ok_or(TelegramError::Other("unknown account scanned".into()))?;
                if acc.password.is_some() {
                    s.password_for = Some(account);
                    return Ok(QrLogin::PasswordNeeded { hint: Some("recorded".into()) });
                }
                acc.connections += 1;
                s.account = Some(account);
                Ok(QrLogin::Done { account_id: account })
            }
        }
    }

    async fn check_password(&self, password: &str) -> Result<i64, TelegramError> {
        let mut w = self.world.world.lock().unwrap();
        let mut s = self.state.lock().unwrap();
        let account = s.password_for.ok_or(TelegramError::Other("no password was asked for".into()))?;
        let acc = w.accounts.get_mut(&account).ok_or(TelegramError::Unauthorized)?;
        if acc.password.as_deref() != Some(password) {
            return Err(TelegramError::PasswordInvalid);
        }
        acc.connections += 1;
        s.account = Some(account);
        s.password_for = None;
        Ok(account)
    }

    fn session(&self) -> Vec<u8> {
        let s = self.state.lock().unwrap();
        serde_json::json!({"account": s.account, "updates": s.event_cursor}).to_string().into_bytes()
    }

    async fn resolve(&self, username: &Username) -> Result<RemoteChannel, TelegramError> {
        let mut w = self.world.world.lock().unwrap();
        let account = self.authorized(&mut w, false)?;
        let (id, channel) = w.channels.iter().find(|(_, c)| c.username.as_ref() == Some(username)).ok_or(TelegramError::ChannelNotFound)?;
        let remote = Self::remote(*id, channel);
        w.accounts.get_mut(&account).expect("authorized").followed.insert(remote.id);
        Ok(remote)
    }

    async fn history(&self, channel: &RemoteChannel, before: Option<i64>, limit: usize) -> Result<Vec<RemoteMessage>, TelegramError> {
        let mut w = self.world.world.lock().unwrap();
        let account = self.authorized(&mut w, true)?;
        w.accounts.get_mut(&account).expect("authorized").followed.insert(channel.id);
        let c = w.channels.get(&channel.id).ok_or(TelegramError::ChannelNotFound)?;
        let upper = before.unwrap_or(i64::MAX);
        Ok(c.messages.range(..upper).rev().take(limit).map(|(_, m)| m.clone()).collect())
    }

    async fn newer(&self, channel: &RemoteChannel, after: i64, limit: usize) -> Result<Vec<RemoteMessage>, TelegramError> {
        let mut w = self.world.world.lock().unwrap();
        self.authorized(&mut w, true)?;
        let c = w.channels.get(&channel.id).ok_or(TelegramError::ChannelNotFound)?;
        Ok(c.messages.range(after + 1..).take(limit).map(|(_, m)| m.clone()).collect())
    }

    async fn next_events(&self, wait: Duration) -> Result<Vec<LiveEvent>, TelegramError> {
        let deadline = Instant::now() + wait;
        loop {
            {
                let mut w = self.world.world.lock().unwrap();
                let account = self.authorized(&mut w, false)?;
                let followed = &w.accounts[&account].followed;
                let mut s = self.state.lock().unwrap();
                let channel_of = |e: &LiveEvent| match e {
                    LiveEvent::New(c, _) | LiveEvent::Edited(c, _) | LiveEvent::Deleted(c, _) => *c,
                };
                let fresh: Vec<LiveEvent> = w.events[s.event_cursor..].iter().filter(|e| followed.contains(&channel_of(e))).cloned().collect();
                s.event_cursor = w.events.len();
                if !fresh.is_empty() {
                    return Ok(fresh);
                }
            }
            if Instant::now() >= deadline {
                return Ok(Vec::new());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn leave(&self, channel: &RemoteChannel) -> Result<(), TelegramError> {
        let mut w = self.world.world.lock().unwrap();
        let account = self.authorized(&mut w, false)?;
        w.accounts.get_mut(&account).expect("authorized").followed.remove(&channel.id);
        Ok(())
    }

    fn account_id(&self) -> Option<i64> {
        self.state.lock().unwrap().account
    }

    async fn log_out(&self) -> Result<(), TelegramError> {
        let mut w = self.world.world.lock().unwrap();
        let account = self.authorized(&mut w, false)?;
        // Like auth.logOut: this authorization (every client of it, here) is gone.
        let acc = w.accounts.get_mut(&account).expect("authorized");
        acc.revoked = true;
        acc.logged_out += 1;
        Ok(())
    }
}
