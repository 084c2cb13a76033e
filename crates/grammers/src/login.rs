//! QR login over raw MTProto (grammers 0.11 has no helper for it): export a login token and show
//! it as `tg://login?token=…`; when the user's phone accepts it (updateLoginToken), export again
//! to get the authorization — or, if the account lives in another DC, import the token there.
//! SESSION_PASSWORD_NEEDED turns into a password prompt (SRP check by grammers).

use base64::Engine;
use grammers_client::client::PasswordToken;
use grammers_client::{Client, SignInError};
use grammers_session::Session;
use grammers_session::types::{PeerAuth, PeerInfo, UpdateState, UpdatesState};
use grammers_tl_types as tl;
use siftgram_core::Timestamp;
use siftgram_core::ports::{QrLogin, TelegramError};

use crate::map::telegram_error;
use crate::session::StoredSession;

/// The URL a QR code shows for a login token.
pub fn login_url(token: &[u8]) -> String {
    format!("tg://login?token={}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token))
}

/// Where this client's login stands.
#[derive(Default)]
pub(crate) struct LoginProgress {
    shown: Option<(String, Timestamp)>,
    password: Option<PasswordToken>,
    account: Option<i64>,
}

pub(crate) struct Login<'a> {
    pub client: &'a Client,
    pub session: &'a StoredSession,
    pub api_id: i32,
    pub api_hash: &'a str,
}

impl Login<'_> {
    /// One look at the login: the current code while it is valid and not yet accepted, a new
    /// one otherwise, or the outcome once the phone accepted it.
    pub async fn poll(&self, progress: &mut LoginProgress, accepted: bool, now: Timestamp) -> Result<QrLogin, TelegramError> {
        if let Some(account_id) = progress.account {
            return Ok(QrLogin::Done { account_id });
        }
        if let Some(token) = &progress.password {
            return Ok(QrLogin::PasswordNeeded { hint: token.hint().map(str::to_owned) });
        }
        if !accepted
            && let Some((url, expires)) = &progress.shown
            && expires.0 > now.0 + 1
        {
            return Ok(QrLogin::Waiting { url: url.clone(), expires: *expires });
        }
        let request = tl::functions::auth::ExportLoginToken { api_id: self.api_id, api_hash: self.api_hash.to_owned(), except_ids: Vec::new() };
        let mut answer = self.client.invoke(&request).await;
        loop {
            match answer {
                Ok(tl::enums::auth::LoginToken::Token(t)) => {
                    let (url, expires) = (login_url(&t.token), Timestamp(t.expires.into()));
                    progress.shown = Some((url.clone(), expires));
                    return Ok(QrLogin::Waiting { url, expires });
                }
                Ok(tl::enums::auth::LoginToken::MigrateTo(to)) => {
                    // The account lives in another DC: that DC becomes this session's home.
                    self.session.set_home_dc_id(to.dc_id).await.map_err(|e| TelegramError::Other(e.to_string()))?;
                    answer = self.client.invoke_in_dc(to.dc_id, &tl::functions::auth::ImportLoginToken { token: to.token }).await;
                }
                Ok(tl::enums::auth::LoginToken::Success(success)) => {
                    let account_id = self.complete(success.authorization).await?;
                    progress.account = Some(account_id);
                    return Ok(QrLogin::Done { account_id });
                }
                Err(e) if e.is("SESSION_PASSWORD_NEEDED") => {
                    let token = self.password_token().await?;
                    let hint = token.hint().map(str::to_owned);
                    progress.password = Some(token);
                    return Ok(QrLogin::PasswordNeeded { hint });
                }
                Err(e) => return Err(telegram_error(&e)),
            }
        }
    }

    pub async fn check_password(&self, progress: &mut LoginProgress, password: &str) -> Result<i64, TelegramError> {
        let token = progress.password.take().ok_or_else(|| TelegramError::Other("no password was asked for".into()))?;
        match self.client.check_password(token, password).await {
            Ok(user) => {
                let account_id = user.id().bare_id_unchecked();
                progress.account = Some(account_id);
                Ok(account_id)
            }
            Err(SignInError::InvalidPassword(_)) => {
                // SRP parameters are single-use: the next attempt needs fresh ones.
                progress.password = Some(self.password_token().await?);
                Err(TelegramError::PasswordInvalid)
            }
            Err(SignInError::Other(e)) => Err(telegram_error(&e)),
            Err(other) => Err(TelegramError::Other(other.to_string())),
        }
    }

    async fn password_token(&self) -> Result<PasswordToken, TelegramError> {
        let tl::enums::account::Password::Password(password) =
            self.client.invoke(&tl::functions::account::GetPassword {}).await.map_err(|e| telegram_error(&e))?;
        Ok(PasswordToken::new(password))
    }

    /// What grammers does after a sign-in: remember the self user and the update state.
    async fn complete(&self, authorization: tl::enums::auth::Authorization) -> Result<i64, TelegramError> {
        let tl::enums::auth::Authorization::Authorization(auth) = authorization else {
            return Err(TelegramError::Other("this phone number has no Telegram account".into()));
        };
        let tl::enums::User::User(user) = auth.user else {
            return Err(TelegramError::Other("Telegram returned no user".into()));
        };
        let me = PeerInfo::User { id: user.id, auth: user.access_hash.map(PeerAuth::from_hash), bot: Some(user.bot), is_self: Some(true) };
        self.session.cache_peer(me).await.map_err(|e| TelegramError::Other(e.to_string()))?;
        if let Ok(tl::enums::updates::State::State(s)) = self.client.invoke(&tl::functions::updates::GetState {}).await {
            let state = UpdatesState { pts: s.pts, qts: s.qts, date: s.date, seq: s.seq, channels: Vec::new() };
            self.session.set_update_state(UpdateState::All(state)).await.map_err(|e| TelegramError::Other(e.to_string()))?;
        }
        Ok(user.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_qr_url_carries_the_token_in_unpadded_base64url() {
        assert_eq!(login_url(&[0xfb, 0xff, 0x01]), "tg://login?token=-_8B");
        assert_eq!(login_url(b"siftgram"), "tg://login?token=c2lmdGdyYW0");
    }
}
