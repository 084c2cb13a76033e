//! The users' Telegram sessions on this node: sealed at rest, signed in by QR code (with 2FA),
//! driven under leases, each followed channel synced without losing a post.

pub mod cipher;
pub mod commands;
pub mod driver;
pub mod login;
pub mod node;

pub use cipher::{CipherError, SessionCipher};
pub use commands::SessionCommands;
pub use driver::{DriveEnd, DriveError, DriveSettings, DriverRequest, Mailboxes, SessionDriver};
pub use login::{LoginError, LoginFlow};
pub use node::SessionNode;
