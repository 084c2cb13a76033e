use super::error::{check_len, malformed};
use super::{InviteCode, Tier, ValidationError};
use crate::Timestamp;
use serde::{Deserialize, Serialize};

/// A Telegram user id (positive).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct UserId(i64);

impl UserId {
    pub fn new(id: i64) -> Result<Self, ValidationError> {
        if id <= 0 {
            return Err(malformed("user id", format!("{id} is not a positive Telegram user id")));
        }
        Ok(UserId(id))
    }
    pub fn get(self) -> i64 {
        self.0
    }
}

impl UserId {
    /// Comma-separated Telegram user ids (as `SIFTGRAM_ADMIN_IDS` holds them); None if any is not one.
    pub fn parse_list(text: &str) -> Option<Vec<UserId>> {
        text.split(',').map(|id| id.trim().parse::<i64>().ok().and_then(|id| UserId::new(id).ok())).collect()
    }
}

impl TryFrom<i64> for UserId {
    type Error = ValidationError;
    fn try_from(id: i64) -> Result<Self, Self::Error> {
        UserId::new(id)
    }
}
impl From<UserId> for i64 {
    fn from(id: UserId) -> i64 {
        id.0
    }
}
impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    #[default]
    User,
    Admin,
}

/// The language replies are written in. Russian unless Telegram says the user speaks English.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    #[default]
    Ru,
    En,
}

impl Language {
    /// From Telegram's `language_code` (IETF tag such as `en`, `en-GB`, `ru`, `uk`).
    pub fn from_telegram_code(code: Option<&str>) -> Language {
        match code {
            Some(c) if c.to_ascii_lowercase().starts_with("en") => Language::En,
            _ => Language::Ru,
        }
    }
}

pub const MAX_DISPLAY_NAME_CHARS: usize = 128;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub display_name: String,
    pub role: Role,
    pub tier: Tier,
    /// When the current tier lapses back to free; None = does not lapse.
    pub tier_expires_at: Option<Timestamp>,
    /// The admin whose invite this user redeemed.
    pub invited_by: Option<UserId>,
    pub invite_code: Option<InviteCode>,
    pub blocked: bool,
    pub language: Language,
    pub created_at: Timestamp,
    /// Channels the user follows; kept on the user so the tier limit is checked atomically.
    pub channel_count: u32,
}

impl User {
    /// A new user on the free tier who has not redeemed an invite yet.
    pub fn new(id: UserId, display_name: &str, language: Language, now: Timestamp) -> Result<Self, ValidationError> {
        let display_name = display_name.trim();
        check_len("display name", display_name, MAX_DISPLAY_NAME_CHARS)?;
        Ok(User {
            id,
            display_name: display_name.to_owned(),
            role: Role::User,
            tier: Tier::Free,
            tier_expires_at: None,
            invited_by: None,
            invite_code: None,
            blocked: false,
            language,
            created_at: now,
            channel_count: 0,
        })
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// The tier in force now: a lapsed tier is free.
    pub fn effective_tier(&self, now: Timestamp) -> Tier {
        match self.tier_expires_at {
            Some(at) if at <= now => Tier::Free,
            _ => self.tier,
        }
    }

    /// Users get in by redeeming an invite (admins always are).
    /// When the tier in force lapses (None: it does not, or it already did and free applies).
    pub fn tier_expiry_in_force(&self, now: Timestamp) -> Option<Timestamp> {
        self.tier_expires_at.filter(|_| self.effective_tier(now) == self.tier)
    }

    pub fn has_access(&self) -> bool {
        !self.blocked && (self.invite_code.is_some() || self.is_admin())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_lists_parse_whole_or_not_at_all() {
        assert_eq!(UserId::parse_list(" 5, 7"), Some(vec![UserId::new(5).unwrap(), UserId::new(7).unwrap()]));
        assert_eq!(UserId::parse_list("5,x"), None);
        assert_eq!(UserId::parse_list("5,-1"), None);
    }

    #[test]
    fn a_lapsed_tier_has_no_expiry_in_force() {
        let mut u = User::new(UserId::new(1).unwrap(), "A", Language::Ru, Timestamp(0)).unwrap();
        u.tier = Tier::Basic;
        u.tier_expires_at = Some(Timestamp(100));
        assert_eq!(u.tier_expiry_in_force(Timestamp(50)), Some(Timestamp(100)));
        assert_eq!(u.tier_expiry_in_force(Timestamp(100)), None, "free applies from then on");
    }
}
