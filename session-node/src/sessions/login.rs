//! QR login with two-step verification, at the port level: the QR URL (and later the password
//! prompt, a block, the result) is written to the table store for the Mini App; the signed-in
//! account must be the Telegram user who asked (otherwise the session is dropped, never
//! stored); three wrong passwords block the login for a while; success seals and stores the
//! session and redeems the invite the user reserved.

use super::cipher::SessionCipher;
use siftgram_core::model::{InviteCode, UserId};
use siftgram_core::ports::{QrLogin, TelegramConnector, TelegramError, TelegramUser};
use siftgram_core::repo::{LoginState, RepoError, Repository, StoredSession};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Mutex;

/// Wrong passwords before the login is blocked, and for how long.
pub const MAX_PASSWORD_FAILURES: u32 = 3;
pub const BLOCK_SECS: i64 = 15 * 60;

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error(transparent)]
    Telegram(#[from] TelegramError),
    #[error("no login in progress for this user")]
    NotStarted,
}

struct Pending {
    client: Box<dyn TelegramUser>,
    invite: InviteCode,
    failures: u32,
}

pub struct LoginFlow {
    pub repo: Repository,
    pub connector: Arc<dyn TelegramConnector>,
    pub cipher: SessionCipher,
    pending: Mutex<HashMap<UserId, Pending>>,
}

impl LoginFlow {
    pub fn new(repo: Repository, connector: Arc<dyn TelegramConnector>, cipher: SessionCipher) -> LoginFlow {
        LoginFlow { repo, connector, cipher, pending: Mutex::new(HashMap::new()) }
    }

    /// A fresh client and its first QR code.
    pub async fn start(&self, user: UserId, invite: InviteCode) -> Result<LoginState, LoginError> {
        if let Some(LoginState::Blocked { until }) = self.repo.login_state(user).await?
            && until > self.repo.clock().now()
        {
            return Ok(LoginState::Blocked { until });
        }
        let client = self.connector.connect(None)?;
        self.pending.lock().await.insert(user, Pending { client, invite, failures: 0 });
        self.poll(user).await
    }

    /// Asks Telegram where the login stands (the node calls this every second or so).
    pub async fn poll(&self, user: UserId) -> Result<LoginState, LoginError> {
        let mut pending = self.pending.lock().await;
        let p = pending.get_mut(&user).ok_or(LoginError::NotStarted)?;
        let state = match p.client.qr_login().await? {
            QrLogin::Waiting { url, expires } => LoginState::Waiting { url, expires },
            QrLogin::PasswordNeeded { hint } => LoginState::PasswordNeeded { hint, failures: p.failures },
            QrLogin::Done { account_id } => {
                let p = pending.remove(&user).expect("present");
                return self.finish(user, account_id, p).await;
            }
        };
        self.repo.save_login_state(user, &state).await?;
        Ok(state)
    }

    pub async fn submit_password(&self, user: UserId, password: &str) -> Result<LoginState, LoginError> {
        let mut pending = self.pending.lock().await;
        let p = pending.get_mut(&user).ok_or(LoginError::NotStarted)?;
        match p.client.check_password(password).await {
            Ok(account_id) => {
                let p = pending.remove(&user).expect("present");
                self.finish(user, account_id, p).await
            }
            Err(TelegramError::PasswordInvalid) => {
                p.failures += 1;
                let state = if p.failures >= MAX_PASSWORD_FAILURES {
                    pending.remove(&user);
                    LoginState::Blocked { until: self.repo.clock().now().plus_secs(BLOCK_SECS) }
                } else {
                    LoginState::PasswordNeeded { hint: None, failures: p.failures }
                };
                self.repo.save_login_state(user, &state).await?;
                Ok(state)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn finish(&self, user: UserId, account_id: i64, pending: Pending) -> Result<LoginState, LoginError> {
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
        if !has_access && let Err(e) = self.repo.redeem_invite(pending.invite.as_str(), user).await {
            let state = LoginState::Failed { reason: e.to_string() };
            self.repo.save_login_state(user, &state).await?;
            return Ok(state);
        }
        let sealed = self.cipher.seal(&pending.client.session());
        self.repo.save_session(user, &StoredSession { sealed, account_id, signed_in_at: self.repo.clock().now() }).await?;
        self.repo.save_login_state(user, &LoginState::Done).await?;
        Ok(LoginState::Done)
    }
}
