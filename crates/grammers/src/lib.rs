//! The real Telegram behind the `TelegramUser` port, over grammers 0.11: one MTProto client per
//! user, its session exported as bytes (the node seals them with AES-GCM and keeps them in the
//! table store), QR login with 2FA over raw `auth.exportLoginToken`, channel history by raw
//! `messages.getHistory`, live posts from the update stream. It cannot reach Telegram from CI:
//! the mappers are tested on constructed TL objects, the client on a network that refuses it.

mod client;
mod login;
mod map;
mod session;

pub use login::login_url;
pub use map::{live_event, media_kind, message_channel, remote_channel, remote_message, telegram_error};
pub use session::StoredSession;

use grammers_mtsender::{AutoSleep, ConnectionParams};
use siftgram_core::ports::{TelegramConnector, TelegramError, TelegramUser};
use std::num::{NonZeroU32, NonZeroUsize};
use std::sync::Arc;
use std::time::Duration;

/// Opens users' clients with the app's credentials (my.telegram.org).
#[derive(Clone)]
pub struct GrammersConnector {
    api_id: i32,
    api_hash: Arc<str>,
}

impl std::fmt::Debug for GrammersConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrammersConnector").field("api_id", &self.api_id).field("api_hash", &"***").finish()
    }
}

impl GrammersConnector {
    pub fn new(api_id: i32, api_hash: &str) -> GrammersConnector {
        GrammersConnector { api_id, api_hash: api_hash.into() }
    }
}

impl TelegramConnector for GrammersConnector {
    /// A client on a stored session (which must be signed in) or a fresh one for a login. It
    /// needs a tokio runtime: its connections run on a task of their own.
    fn connect(&self, session: Option<&[u8]>) -> Result<Box<dyn TelegramUser>, TelegramError> {
        let session = match session {
            Some(bytes) => {
                let stored = StoredSession::from_bytes(bytes).map_err(|e| TelegramError::Other(e.to_string()))?;
                if !stored.signed_in() {
                    return Err(TelegramError::Unauthorized);
                }
                stored
            }
            None => StoredSession::fresh(),
        };
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(TelegramError::Other("a Telegram client needs a tokio runtime".into()));
        }
        Ok(Box::new(client::GrammersUser::start(Arc::new(session), self.api_id, self.api_hash.clone())))
    }
}

/// How clients connect. Flood waits up to 5 s are slept inside the call; longer ones come back
/// as `FloodWait` so the driver sleeps them where a shutdown can interrupt.
fn connection_params() -> ConnectionParams {
    ConnectionParams {
        device_model: "Siftgram".into(),
        system_version: "server".into(),
        app_version: env!("CARGO_PKG_VERSION").into(),
        retry_policy: Box::new(AutoSleep { tries: NonZeroU32::MIN, threshold: Duration::from_secs(5), io_errors_as_flood_of: Some(Duration::from_secs(1)) }),
        updates_channel_capacity: NonZeroUsize::new(2000).expect("non-zero"),
        ..ConnectionParams::default()
    }
}
