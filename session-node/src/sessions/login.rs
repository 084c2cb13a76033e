//! QR login with two-step verification, at the port level: the QR URL (and later the password
//! prompt, a block, the result) is written to the table store for the Mini App; the signed-in
//! account must be the Telegram user who asked (otherwise the session is dropped, never
//! stored); three wrong passwords block the login for a while; success seals and stores the
//! session and redeems the invite the user reserved.

use super::cipher::SessionCipher;
use siftgram_core::messages::SealedSecret;
use siftgram_core::model::{InviteCode, UserId};
use siftgram_core::ports::{QrLogin, TelegramConnector, TelegramError, TelegramUser};
use siftgram_core::repo::{LoginState, RepoError, Repository, StoredSession};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// How long a node holds a user's login without polling it (it polls every second or so): a
/// node that died mid-login frees the user within this.
pub const LOGIN_LEASE_SECS: i64 = 60;

fn login_lease(user: UserId) -> String {
    format!("login#{user}")
}

/// Wrong passwords (within `BLOCK_SECS` of each other, across logins) before logins are
/// blocked, and for how long.
pub use siftgram_core::rules::MAX_PASSWORD_FAILURES;
pub const BLOCK_SECS: i64 = 15 * 60;

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error(transparent)]
    Telegram(#[from] TelegramError),
    #[error("no login in progress for this user")]
    NotStarted,
    /// The login runs on another node (its client is there): the command belongs to that node.
    #[error("the login runs on node {0}")]
    Elsewhere(String),
    #[error("sealed password: {0}")]
    Sealed(#[from] siftgram_sealed::SealError),
}

struct Pending {
    client: Box<dyn TelegramUser>,
    /// The reserved invite; None for a member signing in again.
    invite: Option<InviteCode>,
    failures: u32,
}

/// One user's login in progress: its own lock, held across that login's Telegram calls and
/// store writes only (None once it ended).
type Slot = Arc<Mutex<Option<Pending>>>;

/// How long one Telegram call of a login may take before it counts as a network failure.
pub const LOGIN_CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The logins this node runs. A login's client lives in the memory of the node that started it,
/// so the node holds a lease on the user's login (`login#<user>`, renewed by every poll) and
/// another node hands such a user's commands back to the queue for the owner. Each login has
/// its own lock, so a slow or stuck one holds up nobody else's.
pub struct LoginFlow {
    pub repo: Repository,
    pub connector: Arc<dyn TelegramConnector>,
    pub cipher: SessionCipher,
    pub node_id: String,
    /// How long one Telegram call may take (`LOGIN_CALL_TIMEOUT`).
    pub call_timeout: Duration,
    pending: std::sync::Mutex<HashMap<UserId, Slot>>,
}

impl LoginFlow {
    pub fn new(repo: Repository, connector: Arc<dyn TelegramConnector>, cipher: SessionCipher, node_id: &str) -> LoginFlow {
        LoginFlow { repo, connector, cipher, node_id: node_id.to_owned(), call_timeout: LOGIN_CALL_TIMEOUT, pending: Default::default() }
    }

    /// How many logins this node holds in memory.
    pub fn pending_logins(&self) -> usize {
        self.pending.lock().expect("pending logins lock").len()
    }

    fn slot(&self, user: UserId) -> Option<Slot> {
        self.pending.lock().expect("pending logins lock").get(&user).cloned()
    }

    /// Drops `slot` from the map, unless a newer login of the user replaced it meanwhile.
    fn forget(&self, user: UserId, slot: &Slot) {
        let mut pending = self.pending.lock().expect("pending logins lock");
        if pending.get(&user).is_some_and(|s| Arc::ptr_eq(s, slot)) {
            pending.remove(&user);
        }
    }

    /// A Telegram call that answers within `call_timeout`, or a network failure.
    pub(crate) async fn call<T>(&self, call: impl std::future::Future<Output = Result<T, TelegramError>>) -> Result<T, TelegramError> {
        tokio::time::timeout(self.call_timeout, call)
            .await
            .unwrap_or_else(|_| Err(TelegramError::Network(format!("Telegram did not answer within {} s", self.call_timeout.as_secs()))))
    }

    /// Takes or renews the user's login lease; the owner's name if another node holds it.
    async fn hold(&self, user: UserId) -> Result<Option<String>, LoginError> {
        if self.repo.acquire_lease(&login_lease(user), &self.node_id, LOGIN_LEASE_SECS).await?.is_some() {
            return Ok(None);
        }
        Ok(Some(self.repo.current_lease(&login_lease(user)).await?.map_or_else(|| "?".to_owned(), |l| l.owner)))
    }

    async fn release(&self, user: UserId) {
        if let Err(e) = self.repo.release_lease(&login_lease(user), &self.node_id).await {
            tracing::warn!(user = %user, error = %e, "could not release the login lease");
        }
    }

    /// `NotStarted` here: `Elsewhere` if another node runs this user's login.
    async fn not_here(&self, user: UserId) -> LoginError {
        match self.repo.current_lease(&login_lease(user)).await {
            Ok(Some(lease)) if lease.owner != self.node_id => LoginError::Elsewhere(lease.owner),
            Ok(_) => LoginError::NotStarted,
            Err(e) => e.into(),
        }
    }

    /// A fresh client and its first QR code.
    pub async fn start(&self, user: UserId, invite: impl Into<Option<InviteCode>>) -> Result<LoginState, LoginError> {
        let invite = invite.into();
        if let Some(until) = self.repo.login_blocked_until(user).await? {
            let state = LoginState::Blocked { until };
            self.repo.save_login_state(user, &state).await?;
            return Ok(state);
        }
        if let Some(owner) = self.hold(user).await? {
            return Err(LoginError::Elsewhere(owner));
        }
        let client = match self.connector.connect(None) {
            Ok(client) => client,
            Err(e) => {
                self.release(user).await;
                return Err(e.into());
            }
        };
        // Wrong passwords of an earlier login still count: a new /login is no fresh start.
        let failures = match self.repo.password_failures(user).await {
            Ok(f) => f,
            Err(e) => {
                self.release(user).await;
                return Err(e.into());
            }
        };
        let slot: Slot = Arc::new(Mutex::new(Some(Pending { client, invite, failures })));
        self.pending.lock().expect("pending logins lock").insert(user, slot);
        match self.poll(user).await {
            Ok(state) => Ok(state),
            Err(e) => {
                // A login that could not even show its first code is not kept in memory.
                self.abandon(user).await;
                Err(e)
            }
        }
    }

    /// Asks Telegram where the login stands (the node calls this every second or so).
    pub async fn poll(&self, user: UserId) -> Result<LoginState, LoginError> {
        let Some(slot) = self.slot(user) else { return Err(self.not_here(user).await) };
        let mut login = slot.lock().await;
        let Some(p) = login.as_mut() else { return Err(self.not_here(user).await) };
        self.hold(user).await?;
        let state = match self.call(p.client.qr_login()).await? {
            QrLogin::Waiting { url, expires } => LoginState::Waiting { url, expires },
            QrLogin::PasswordNeeded { hint } => LoginState::PasswordNeeded { hint, failures: p.failures },
            QrLogin::Done { account_id } => {
                // Forgotten only once the outcome is stored: a poll waiting on this login's
                // lock then finds it ended and reads the outcome.
                let p = login.take().expect("present");
                let outcome = self.finish(user, account_id, p).await;
                self.forget(user, &slot);
                return outcome;
            }
        };
        self.repo.save_login_state(user, &state).await?;
        Ok(state)
    }

    /// Gives up a login nobody finished (its QR code and state have expired, or its first call
    /// failed): its client is dropped and the lease given back.
    pub async fn abandon(&self, user: UserId) {
        let Some(slot) = self.slot(user) else { return };
        self.forget(user, &slot);
        if slot.lock().await.take().is_some() {
            self.release(user).await;
        }
    }

    /// A password as it comes off the queue: sealed to this node's key, opened only here, for
    /// this user and before it expires; the plain text is wiped once checked.
    pub async fn submit_sealed_password(&self, user: UserId, sealed: &SealedSecret) -> Result<LoginState, LoginError> {
        let password = self.cipher.passwords().open(sealed, user, self.repo.clock().now())?;
        self.submit_password(user, &password).await
    }

    pub async fn submit_password(&self, user: UserId, password: &str) -> Result<LoginState, LoginError> {
        let Some(slot) = self.slot(user) else { return Err(self.not_here(user).await) };
        let mut login = slot.lock().await;
        let Some(p) = login.as_mut() else { return Err(self.not_here(user).await) };
        match self.call(p.client.check_password(password)).await {
            Ok(account_id) => {
                let p = login.take().expect("present");
                let outcome = self.finish(user, account_id, p).await;
                self.forget(user, &slot);
                outcome
            }
            Err(TelegramError::PasswordInvalid) => {
                p.failures = self.repo.count_password_failure(user, BLOCK_SECS).await?;
                let state = if p.failures >= MAX_PASSWORD_FAILURES {
                    login.take();
                    self.release(user).await;
                    let until = self.repo.clock().now().plus_secs(BLOCK_SECS);
                    self.repo.block_login(user, until).await?;
                    LoginState::Blocked { until }
                } else {
                    LoginState::PasswordNeeded { hint: None, failures: p.failures }
                };
                let saved = self.repo.save_login_state(user, &state).await;
                if login.is_none() {
                    self.forget(user, &slot);
                }
                saved?;
                Ok(state)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn finish(&self, user: UserId, account_id: i64, pending: Pending) -> Result<LoginState, LoginError> {
        let state = self.conclude(user, account_id, pending).await;
        self.release(user).await;
        state
    }

    async fn conclude(&self, user: UserId, account_id: i64, pending: Pending) -> Result<LoginState, LoginError> {
        if account_id != user.get() {
            // Someone scanned with another account: nothing of that session is kept.
            drop(pending.client);
            self.repo.delete_session(user).await?;
            tracing::warn!(user = %user, "login refused: signed in as another account");
            let state = LoginState::Failed { reason: "signed in with a different Telegram account than the one that asked".into() };
            self.repo.save_login_state(user, &state).await?;
            return Ok(state);
        }
        // A user signing in again already has access; a new one redeems the reserved invite first.
        let has_access = self.repo.get_user(user).await?.is_some_and(|u| u.has_access());
        if !has_access {
            let redeemed = match &pending.invite {
                Some(invite) => self.repo.redeem_invite(invite.as_str(), user).await.map_err(|e| e.to_string()),
                None => Err("an invite code is needed: send /login CODE".to_owned()),
            };
            if let Err(reason) = redeemed {
                let state = LoginState::Failed { reason };
                self.repo.save_login_state(user, &state).await?;
                return Ok(state);
            }
        }
        let sealed = self.cipher.seal(user, &pending.client.session());
        self.repo.save_session(user, &StoredSession { sealed, account_id, signed_in_at: self.repo.clock().now() }).await?;
        self.repo.clear_password_failures(user).await?;
        self.repo.save_login_state(user, &LoginState::Done).await?;
        Ok(LoginState::Done)
    }
}
