//! A grammers session held in memory and exported as bytes, so the node can seal it (AES-GCM)
//! and keep it in the table store: grammers 0.11 has no export of its own, and its file-backed
//! storages would put auth keys on a local disk that other nodes cannot read.

use grammers_session::types::{DcOption, PeerId, PeerInfo, UpdateState, UpdatesState};
use grammers_session::{BoxFuture, Session, SessionData};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard};

#[derive(Debug)]
pub struct SessionPoisoned;

impl std::fmt::Display for SessionPoisoned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the session lock is poisoned")
    }
}
impl std::error::Error for SessionPoisoned {}

/// What is kept of a session. Only the self user and channels are kept of the peer cache:
/// channels are what gap recovery needs, other users only grow the item.
#[derive(Serialize, Deserialize)]
struct Stored {
    home_dc: i32,
    dc_options: Vec<DcOption>,
    peers: Vec<PeerInfo>,
    updates: UpdatesState,
    /// Channels Siftgram joined for the user (so leaving later never leaves one the user chose).
    #[serde(default)]
    joined: BTreeSet<i64>,
}

#[derive(Debug, thiserror::Error)]
#[error("stored session unreadable: {0}")]
pub struct SessionDecodeError(String);

struct Inner {
    data: SessionData,
    joined: BTreeSet<i64>,
}

/// The session of one user's client.
pub struct StoredSession(Mutex<Inner>);

impl StoredSession {
    /// A new session (no auth key yet: a login follows).
    pub fn fresh() -> StoredSession {
        StoredSession(Mutex::new(Inner { data: SessionData::default(), joined: BTreeSet::new() }))
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<StoredSession, SessionDecodeError> {
        let stored: Stored = serde_json::from_slice(bytes).map_err(|e| SessionDecodeError(e.to_string()))?;
        let mut data = SessionData { home_dc: stored.home_dc, updates_state: stored.updates, ..SessionData::default() };
        for option in stored.dc_options {
            data.dc_options.insert(option.id, option);
        }
        for peer in stored.peers {
            data.peer_infos.insert(peer.id(), peer);
        }
        Ok(StoredSession(Mutex::new(Inner { data, joined: stored.joined })))
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let inner = self.lock().expect("session lock");
        let mut dc_options: Vec<DcOption> = inner.data.dc_options.values().cloned().collect();
        dc_options.sort_by_key(|o| o.id);
        let mut peers: Vec<PeerInfo> =
            inner.data.peer_infos.values().filter(|p| matches!(p, PeerInfo::Channel { .. } | PeerInfo::User { is_self: Some(true), .. })).cloned().collect();
        peers.sort_by_key(|p| p.id().bot_api_dialog_id_unchecked());
        let stored = Stored { home_dc: inner.data.home_dc, dc_options, peers, updates: inner.data.updates_state.clone(), joined: inner.joined.clone() };
        serde_json::to_vec(&stored).expect("sessions serialize")
    }

    /// Whether an account is signed in on this session (the self user is cached at login).
    pub fn signed_in(&self) -> bool {
        self.lock().is_ok_and(|inner| inner.data.peer_infos.values().any(|p| matches!(p, PeerInfo::User { is_self: Some(true), .. })))
    }

    /// The signed-in account (the self user), once there is one.
    pub fn account_id(&self) -> Option<i64> {
        let inner = self.0.lock().ok()?;
        inner.data.peer_infos.values().find_map(|p| match p {
            PeerInfo::User { id, is_self: Some(true), .. } => Some(*id),
            _ => None,
        })
    }

    pub fn joined(&self, channel: i64) -> bool {
        self.lock().is_ok_and(|inner| inner.joined.contains(&channel))
    }

    pub fn set_joined(&self, channel: i64, joined: bool) {
        if let Ok(mut inner) = self.lock() {
            if joined {
                inner.joined.insert(channel);
            } else {
                inner.joined.remove(&channel);
            }
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>, SessionPoisoned> {
        self.0.lock().map_err(|_| SessionPoisoned)
    }
}

impl Session for StoredSession {
    type Error = SessionPoisoned;

    fn home_dc_id(&self) -> Result<i32, SessionPoisoned> {
        Ok(self.lock()?.data.home_dc)
    }

    fn set_home_dc_id(&self, dc_id: i32) -> BoxFuture<'_, Result<(), SessionPoisoned>> {
        Box::pin(async move {
            self.lock()?.data.home_dc = dc_id;
            Ok(())
        })
    }

    fn dc_option(&self, dc_id: i32) -> Result<Option<DcOption>, SessionPoisoned> {
        Ok(self.lock()?.data.dc_options.get(&dc_id).cloned())
    }

    fn set_dc_option(&self, dc_option: &DcOption) -> BoxFuture<'_, Result<(), SessionPoisoned>> {
        let dc_option = dc_option.clone();
        Box::pin(async move {
            self.lock()?.data.dc_options.insert(dc_option.id, dc_option);
            Ok(())
        })
    }

    fn peer(&self, peer: PeerId) -> BoxFuture<'_, Result<Option<PeerInfo>, SessionPoisoned>> {
        Box::pin(async move {
            let inner = self.lock()?;
            if peer == PeerId::self_user() {
                return Ok(inner.data.peer_infos.values().find(|p| matches!(p, PeerInfo::User { is_self: Some(true), .. })).cloned());
            }
            Ok(inner.data.peer_infos.get(&peer).cloned())
        })
    }

    fn cache_peer(&self, peer: PeerInfo) -> BoxFuture<'_, Result<(), SessionPoisoned>> {
        Box::pin(async move {
            self.lock()?.data.peer_infos.entry(peer.id()).or_insert_with(|| peer.clone()).extend_info(&peer);
            Ok(())
        })
    }

    fn updates_state(&self) -> BoxFuture<'_, Result<UpdatesState, SessionPoisoned>> {
        Box::pin(async move { Ok(self.lock()?.data.updates_state.clone()) })
    }

    fn set_update_state(&self, update: UpdateState) -> BoxFuture<'_, Result<(), SessionPoisoned>> {
        Box::pin(async move {
            let state = &mut self.lock()?.data.updates_state;
            match update {
                UpdateState::All(all) => *state = all,
                UpdateState::Primary { pts, date, seq } => {
                    state.pts = pts;
                    state.date = date;
                    state.seq = seq;
                }
                UpdateState::Secondary { qts } => state.qts = qts,
                UpdateState::Channel { id, pts } => {
                    state.channels.retain(|c| c.id != id);
                    state.channels.push(grammers_session::types::ChannelState { id, pts });
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use grammers_session::types::PeerAuth;

    fn block_on<T>(f: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    }

    #[test]
    fn a_session_survives_bytes_with_its_keys_peers_and_update_state() {
        let session = StoredSession::fresh();
        block_on(async {
            session.set_home_dc_id(4).await.unwrap();
            let mut dc = session.dc_option(4).unwrap().expect("known DC");
            dc.auth_key = Some([7u8; 256]);
            session.set_dc_option(&dc).await.unwrap();
            session.cache_peer(PeerInfo::User { id: 42, auth: Some(PeerAuth::from_hash(99)), bot: Some(false), is_self: Some(true) }).await.unwrap();
            session.cache_peer(PeerInfo::User { id: 77, auth: Some(PeerAuth::from_hash(1)), bot: Some(false), is_self: None }).await.unwrap();
            session.cache_peer(PeerInfo::Channel { id: 1001, auth: Some(PeerAuth::from_hash(5)), kind: None }).await.unwrap();
            session.set_update_state(UpdateState::All(UpdatesState { pts: 10, qts: 1, date: 1_700_000_000, seq: 3, channels: vec![] })).await.unwrap();
            session.set_update_state(UpdateState::Channel { id: 1001, pts: 55 }).await.unwrap();
        });
        session.set_joined(1001, true);

        let restored = StoredSession::from_bytes(&session.to_bytes()).unwrap();
        block_on(async {
            assert_eq!(restored.home_dc_id().unwrap(), 4);
            assert_eq!(restored.dc_option(4).unwrap().unwrap().auth_key, Some([7u8; 256]));
            assert!(restored.dc_option(2).unwrap().is_some(), "the other known DCs stay");
            let me = restored.peer(PeerId::self_user()).await.unwrap().expect("the self user");
            assert_eq!(me.id(), PeerId::user(42).unwrap());
            let channel = restored.peer_ref(PeerId::channel(1001).unwrap()).await.unwrap().expect("the channel");
            assert_eq!(channel.auth, PeerAuth::from_hash(5));
            assert!(restored.peer(PeerId::user(77).unwrap()).await.unwrap().is_none(), "other users are not kept");
            let state = restored.updates_state().await.unwrap();
            assert_eq!((state.pts, state.seq, state.channels[0].pts), (10, 3, 55));
        });
        assert!(restored.signed_in());
        assert!(restored.joined(1001) && !restored.joined(1002));
        assert_eq!(restored.to_bytes(), session.to_bytes(), "export is deterministic");
    }

    #[test]
    fn a_fresh_session_is_not_signed_in_and_garbage_is_refused() {
        assert!(!StoredSession::fresh().signed_in());
        assert!(StoredSession::from_bytes(b"{\"account\": 42}").is_err());
        assert!(StoredSession::from_bytes(b"\x00\x01").is_err());
    }
}
