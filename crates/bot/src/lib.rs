//! The Siftgram Telegram bot: intake (webhook secret, dedup by update id, per-user rate limit),
//! the dptree command tree, and one small function per command. Slow work goes to the queues.

mod command;
mod config;
mod error;
mod digest_texts;
mod session_texts;
pub mod handlers;
mod intake;
pub mod paging;
mod polling;
mod send;
mod services;
mod settings;
pub mod texts;
mod tree;

pub use command::{Command, menu};
pub use config::{BotConfig, BotConfigError};
pub use error::{BotError, HandlerResult};
pub use intake::{BotService, MAX_UPDATE_FAILURES, Outcome, SetupError, Taker, WebhookReply, setup_bot};
pub use polling::{last_poll, run_polling};
pub use send::{Outbox, with_retry};
pub use services::{Caller, Services};
pub use settings::BotSettings;
pub use teloxide;
pub use tree::tree;
