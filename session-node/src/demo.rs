//! `siftgram demo`: the standalone node wired to the demo's stand-ins (`siftgram-demo`): the
//! fake Bot API in-process, the recorded Telegram with the sample channels, an invite code for
//! this run, the chat page at `/demo`, and the scripted live posts. Nothing else differs from
//! `siftgram run`: the same handler tree, queues, workers, index and session node.

use crate::app::{App, RunningApp, StartError};
use crate::config::{Config, ConfigError, TelegramSource};
use siftgram_core::Clock;
use siftgram_core::model::{Invite, InviteCode, Tier};
use siftgram_demo::Demo;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct DemoOptions {
    /// Where the data lives; None = a temporary directory removed at exit.
    pub data: Option<PathBuf>,
    pub addr: SocketAddr,
    /// How often a scripted post appears in the sample city channel.
    pub live_every: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("the fake Bot API: {0}")]
    Telegram(std::io::Error),
    #[error("the data directory: {0}")]
    Data(std::io::Error),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Start(#[from] StartError),
    #[error("the invite code: {0}")]
    Invite(String),
}

pub struct RunningDemo {
    pub app: RunningApp,
    pub demo: Arc<Demo>,
    /// The chat page, with its key.
    pub page: String,
    pub invite: InviteCode,
    stop_live: watch::Sender<bool>,
    live: JoinHandle<()>,
    _scratch: Option<tempfile::TempDir>,
}

/// Settings the demo decides; the rest (the embedding model, chat providers for model answers,
/// log level) come from the environment as for `siftgram run`.
fn demo_setting(name: &str, data: &str, addr: SocketAddr, demo: &Demo) -> Option<Option<String>> {
    Some(match name {
        "SIFTGRAM_BACKEND" => Some("embedded".into()),
        "SIFTGRAM_DATA_DIR" => Some(data.to_owned()),
        "SIFTGRAM_HTTP_ADDR" => Some(addr.to_string()),
        "TELEGRAM_BOT_TOKEN" => Some(siftgram_fake_telegram::FakeTelegram::TOKEN.into()),
        "TELEGRAM_API_URL" => Some(demo.telegram.api_url()),
        "SIFTGRAM_BOT_USERNAME" => Some(siftgram_fake_telegram::BOT_USERNAME.into()),
        // The person trying it walks a new user's way in: an invite, not an admin's pass.
        "SIFTGRAM_ADMIN_IDS" | "SIFTGRAM_TELEGRAM" | "SIFTGRAM_MINIAPP_URL" | "SIFTGRAM_WEBHOOK_SECRET" | "SIFTGRAM_OPS_TOKEN" | "SIFTGRAM_SESSION_KEYS" | "AWS_ENDPOINT_URL" => None,
        _ => return None,
    })
}

pub async fn start(options: DemoOptions, env: impl Fn(&str) -> Option<String>) -> Result<RunningDemo, DemoError> {
    let demo = Demo::start().await.map_err(DemoError::Telegram)?;
    let scratch = match options.data {
        Some(_) => None,
        None => Some(tempfile::Builder::new().prefix("siftgram-demo-").tempdir().map_err(DemoError::Data)?),
    };
    let data = options.data.clone().unwrap_or_else(|| scratch.as_ref().expect("a scratch dir").path().to_owned());
    let data = data.display().to_string();
    let mut config = Config::from_lookup(|name| demo_setting(name, &data, options.addr, &demo).unwrap_or_else(|| env(name)))?;
    config.telegram = Some(TelegramSource::Recorded(demo.world.clone()));

    let code = InviteCode::from_random_bytes(siftgram_api::random());
    let for_router = (demo.clone(), code.as_str().to_owned());
    let app = App::start_with(config, move |backend, addr| {
        let (demo, invite) = for_router;
        siftgram_demo::router(demo, backend.repo.clone(), &format!("http://{addr}/miniapp"), &invite)
    })
    .await?;
    let now = siftgram_core::SystemClock.now();
    let invite = Invite::new(code.clone(), Demo::user_id(), now, Tier::Premium, None, 1, None).map_err(|e| DemoError::Invite(e.to_string()))?;
    app.backend.repo.create_invite(&invite).await.map_err(|e| DemoError::Invite(e.to_string()))?;
    let (stop_live, stopped) = watch::channel(false);
    let live = demo.spawn_live_posts(options.live_every, stopped);
    let page = demo.page_url(&app.url(""));
    Ok(RunningDemo { app, demo, page, invite: code, stop_live, live, _scratch: scratch })
}

impl RunningDemo {
    /// Stops the live posts and the node; the temporary data directory goes with `self`.
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop_live.send(true);
        let _ = self.live.await;
        self.app.shutdown(grace).await;
    }

    /// What the terminal shows at start.
    pub fn banner(&self) -> String {
        let channels: Vec<String> = self.demo.channels.iter().map(|(username, title)| format!("  @{username} — {title}")).collect();
        format!(
            "\nSiftgram demo is running (recorded Telegram, no credentials, nothing leaves this machine).\n\n  Open:         {page}\n  Invite code:  {code}\n  2FA password: {password} (the recorded account's, asked after the QR scan)\n\nSample channels:\n{channels}\n\nIn the chat: /start, /login {code}, open the sign-in page, press \"Scan with your phone\",\nthen /add_channel @{first} and /ask. Ctrl-C stops the demo.\n",
            page = self.page,
            code = self.invite.as_str(),
            password = siftgram_demo::DEMO_PASSWORD,
            channels = channels.join("\n"),
            first = self.demo.channels.first().map_or("", |(u, _)| u.as_str()),
        )
    }
}
