//! The domain model. Types validate themselves on construction; a value that exists is valid.

mod channel;
mod digest;
mod error;
mod history;
mod invite;
mod lease;
mod post;
mod subscription;
mod tier;
mod user;

pub use channel::{Channel, ChannelId, Username};
pub use digest::{DEFAULT_TIMEZONE, DigestFrequency, DigestSettings, DigestStyle};
pub use error::ValidationError;
pub use history::{QueryKind, QueryRecord};
pub use invite::{INVITE_CODE_LEN, INVITE_HOLD_SECS, Invite, InviteCode, InviteHold};
pub use lease::Lease;
pub use post::{LinkText, MAX_LINK_TEXT_CHARS, MAX_LINKS_PER_POST, MAX_POST_TEXT_CHARS, MAX_TAG_CHARS, MediaKind, Post, PostKey, links_in};
pub use subscription::{Subscription, SubscriptionSettings};
pub use tier::{Tier, TierCatalog, TierChange, TierChangeReason, TierLimits};
pub use user::{Language, MAX_DISPLAY_NAME_CHARS, Role, User, UserId};
