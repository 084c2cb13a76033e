//! A recorded Telegram: a world of channels (from Telegram Desktop's `result.json` or built in
//! code) and accounts that user clients connect to through the `TelegramConnector` port. Tests
//! and the demo script what happens — a QR code scanned, a password typed, a post arriving, an
//! edit, a deletion, a FLOOD_WAIT for one account, a revoked session — and the session node
//! sees it exactly as it would see Telegram.

mod client;
pub mod wire;

use siftgram_core::Timestamp;
use siftgram_core::export::RecordedChannel;
use siftgram_core::model::{ChannelId, Username};
use siftgram_core::ports::{LiveEvent, RemoteMessage, TelegramConnector, TelegramError, TelegramUser};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) struct Channel {
    pub title: String,
    pub username: Option<Username>,
    pub messages: BTreeMap<i64, RemoteMessage>,
    pub next_id: i64,
}

pub(crate) struct Account {
    pub password: Option<String>,
    /// The channels the account is in (server-side, like Telegram: live events come for these).
    pub followed: HashSet<ChannelId>,
    pub revoked: bool,
    /// The account's network is down: every call fails as a network error.
    pub offline: bool,
    /// The next history calls fail with these FLOOD_WAITs.
    pub floods: Vec<Duration>,
    pub connections: usize,
    pub history_calls: usize,
    /// How often a client of the account called auth.logOut.
    pub logged_out: usize,
}

#[derive(Default)]
pub(crate) struct World {
    pub channels: HashMap<ChannelId, Channel>,
    pub accounts: HashMap<i64, Account>,
    /// Login tokens shown as QR codes → the account that scanned it (None: not yet).
    pub tokens: HashMap<String, Option<i64>>,
    pub next_token: u64,
    /// Tokens Telegram no longer accepts (their 30 s ran out): the login exports a new one.
    pub expired_tokens: HashSet<String>,
    /// Everything that happened, in order (clients keep their own position).
    pub events: Vec<LiveEvent>,
    /// What the next fresh QR logins meet on their first call, in order.
    pub login_faults: std::collections::VecDeque<LoginFault>,
}

/// A QR login's first call that does not go as planned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LoginFault {
    /// Telegram never answers.
    Stall,
    /// The network fails.
    Fail,
}

impl World {
    /// A new message in `channel`, now, with the channel's next id.
    fn new_message(&mut self, channel: ChannelId, text: &str) -> RemoteMessage {
        let c = self.channels.get_mut(&channel).expect("a recorded channel");
        let m = RemoteMessage { id: c.next_id, date: now(), edited: None, text: text.into(), media: Default::default(), views: Some(0) };
        c.next_id += 1;
        c.messages.insert(m.id, m.clone());
        m
    }
}

/// A handle on the recorded world; clones share it.
#[derive(Clone, Default)]
pub struct RecordedTelegram {
    pub(crate) world: Arc<Mutex<World>>,
}

fn now() -> Timestamp {
    Timestamp(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64))
}

impl RecordedTelegram {
    pub fn new() -> RecordedTelegram {
        RecordedTelegram::default()
    }

    /// A channel replayed from an export (`username` None: a private channel).
    pub fn add_channel(&self, recorded: &RecordedChannel, username: Option<&str>) {
        let messages: BTreeMap<i64, RemoteMessage> = recorded
            .posts
            .iter()
            .map(|p| (p.key.message_id, RemoteMessage { id: p.key.message_id, date: p.date, edited: p.edited_at, text: p.text.clone(), media: p.media, views: p.views }))
            .collect();
        let next_id = messages.keys().max().copied().unwrap_or(0) + 1;
        let channel = Channel { title: recorded.title.clone(), username: username.and_then(|u| Username::parse(u).ok()), messages, next_id };
        self.world.lock().unwrap().channels.insert(recorded.id, channel);
    }

    /// A channel of `count` numbered posts (ids 1..=count), one a minute up to now.
    pub fn add_numbered_channel(&self, id: i64, username: &str, title: &str, count: i64) -> ChannelId {
        self.add_generated_channel(id, username, title, count, |m| format!("{title}: пост номер {m}."))
    }

    /// A channel of `count` posts (ids 1..=count) with the texts `text(id)`, one a minute up to now.
    pub fn add_generated_channel(&self, id: i64, username: &str, title: &str, count: i64, text: impl Fn(i64) -> String) -> ChannelId {
        let id = ChannelId::new(id).expect("channel id");
        let start = now().0 - count * 60;
        let messages = (1..=count)
            .map(|m| (m, RemoteMessage { id: m, date: Timestamp(start + m * 60), edited: None, text: text(m), media: Default::default(), views: Some(m as u64) }))
            .collect();
        let channel = Channel { title: title.into(), username: Username::parse(username).ok(), messages, next_id: count + 1 };
        self.world.lock().unwrap().channels.insert(id, channel);
        id
    }

    pub fn add_account(&self, id: i64, password: Option<&str>) {
        let account = Account { password: password.map(str::to_owned), followed: HashSet::new(), revoked: false, offline: false, floods: Vec::new(), connections: 0, history_calls: 0, logged_out: 0 };
        self.world.lock().unwrap().accounts.insert(id, account);
    }

    /// The phone of `account` scans the QR code showing `url`.
    pub fn scan(&self, url: &str, account: i64) {
        let token = url.rsplit("token=").next().unwrap_or("").to_owned();
        self.world.lock().unwrap().tokens.insert(token, Some(account));
    }

    /// Every login token not scanned yet expires, as after its 30 s: each waiting login
    /// shows a new QR code on its next poll.
    pub fn expire_login_tokens(&self) {
        let mut w = self.world.lock().unwrap();
        let unscanned: Vec<String> = w.tokens.iter().filter(|(_, account)| account.is_none()).map(|(t, _)| t.clone()).collect();
        w.expired_tokens.extend(unscanned);
    }

    /// A new post in `channel`, now; returns its id.
    pub fn post(&self, channel: ChannelId, text: &str) -> i64 {
        let mut w = self.world.lock().unwrap();
        let m = w.new_message(channel, text);
        let id = m.id;
        w.events.push(LiveEvent::New(channel, m));
        id
    }

    /// A new post no live update tells the accounts about (a channel the account could not join,
    /// an update lost in a gap); returns its id.
    pub fn post_unannounced(&self, channel: ChannelId, text: &str) -> i64 {
        self.world.lock().unwrap().new_message(channel, text).id
    }

    pub fn edit(&self, channel: ChannelId, id: i64, text: &str) {
        let mut w = self.world.lock().unwrap();
        let m = w.channels.get_mut(&channel).and_then(|c| c.messages.get_mut(&id)).expect("a recorded message");
        m.text = text.into();
        m.edited = Some(now());
        let m = m.clone();
        w.events.push(LiveEvent::Edited(channel, m));
    }

    pub fn delete(&self, channel: ChannelId, ids: &[i64]) {
        let mut w = self.world.lock().unwrap();
        let c = w.channels.get_mut(&channel).expect("a recorded channel");
        for id in ids {
            c.messages.remove(id);
        }
        w.events.push(LiveEvent::Deleted(channel, ids.to_vec()));
    }

    /// The next history request of `account` gets FLOOD_WAIT `wait`.
    pub fn flood_next(&self, account: i64, wait: Duration) {
        self.world.lock().unwrap().accounts.get_mut(&account).expect("an account").floods.push(wait);
    }

    /// The next fresh QR login's first call never gets an answer.
    pub fn stall_next_login(&self) {
        self.world.lock().unwrap().login_faults.push_back(LoginFault::Stall);
    }

    /// The next fresh QR login's first call fails with a network error.
    pub fn fail_next_login(&self) {
        self.world.lock().unwrap().login_faults.push_back(LoginFault::Fail);
    }

    /// The user terminated the session from another device.
    pub fn revoke(&self, account: i64) {
        self.world.lock().unwrap().accounts.get_mut(&account).expect("an account").revoked = true;
    }

    /// Cuts (`false`) or restores (`true`) the network of `account`'s clients.
    pub fn set_network(&self, account: i64, up: bool) {
        self.world.lock().unwrap().accounts.get_mut(&account).expect("an account").offline = !up;
    }

    /// How often `account` was logged out at Telegram (auth.logOut).
    pub fn logged_out(&self, account: i64) -> usize {
        self.world.lock().unwrap().accounts.get(&account).map_or(0, |a| a.logged_out)
    }

    /// How many clients were ever connected as `account`.
    pub fn connections(&self, account: i64) -> usize {
        self.world.lock().unwrap().accounts.get(&account).map_or(0, |a| a.connections)
    }

    pub fn history_calls(&self, account: i64) -> usize {
        self.world.lock().unwrap().accounts.get(&account).map_or(0, |a| a.history_calls)
    }

    /// A message as the channel shows it now, with the channel's title.
    pub fn message(&self, channel: ChannelId, id: i64) -> Option<(String, RemoteMessage)> {
        let w = self.world.lock().unwrap();
        let c = w.channels.get(&channel)?;
        Some((c.title.clone(), c.messages.get(&id)?.clone()))
    }

    pub fn message_ids(&self, channel: ChannelId) -> Vec<i64> {
        self.world.lock().unwrap().channels.get(&channel).map(|c| c.messages.keys().copied().collect()).unwrap_or_default()
    }
}

impl TelegramConnector for RecordedTelegram {
    fn connect(&self, session: Option<&[u8]>) -> Result<Box<dyn TelegramUser>, TelegramError> {
        let (account, seen) = match session {
            Some(bytes) => {
                let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| TelegramError::Other(format!("not a recorded session: {e}")))?;
                (v["account"].as_i64(), v["updates"].as_u64())
            }
            None => (None, None),
        };
        let mut w = self.world.lock().unwrap();
        if let Some(a) = account {
            let acc = w.accounts.get_mut(&a).ok_or(TelegramError::Unauthorized)?;
            acc.connections += 1;
        }
        // Like Telegram's update state: a session that saw events up to a point gets what
        // happened since (catch-up after being offline); a new one starts from now.
        let start = seen.map_or(w.events.len(), |seen| (seen as usize).min(w.events.len()));
        drop(w);
        Ok(Box::new(client::RecordedClient::new(self.clone(), account, start)))
    }
}
