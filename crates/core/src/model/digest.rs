use super::error::malformed;
use super::{ChannelId, UserId, ValidationError};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DigestFrequency {
    Daily,
    Weekly,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DigestStyle {
    /// One line per post.
    #[default]
    Brief,
    /// A few sentences per post.
    Detailed,
}

/// A user's digest configuration. Times are local to `timezone` (an IANA name).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestSettings {
    pub user: UserId,
    pub enabled: bool,
    pub frequency: DigestFrequency,
    /// Minutes after local midnight.
    pub minute_of_day: u16,
    /// ISO weekdays 1 (Monday) ..= 7 for weekly digests.
    pub weekdays: Vec<u8>,
    pub timezone: String,
    /// Empty = all followed channels.
    pub channels: Vec<ChannelId>,
    pub tags: Vec<String>,
    pub max_posts: u16,
    pub ai_summary: bool,
    #[serde(default)]
    pub style: DigestStyle,
    /// When the next scheduled digest is due (kept by the repository; None when disabled).
    #[serde(default)]
    pub next_due: Option<crate::Timestamp>,
    /// When the last digest went out: the next one covers posts since then.
    #[serde(default)]
    pub last_sent: Option<crate::Timestamp>,
}

/// The zone of a user who has not chosen one (digests, and the calendar of their questions).
pub const DEFAULT_TIMEZONE: &str = "Europe/Moscow";

impl DigestSettings {
    pub fn default_for(user: UserId) -> Self {
        DigestSettings {
            user,
            enabled: false,
            frequency: DigestFrequency::Daily,
            minute_of_day: 9 * 60,
            weekdays: vec![1],
            timezone: DEFAULT_TIMEZONE.into(),
            channels: Vec::new(),
            tags: Vec::new(),
            max_posts: 20,
            ai_summary: true,
            style: DigestStyle::Brief,
            next_due: None,
            last_sent: None,
        }
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.minute_of_day >= 24 * 60 {
            return Err(malformed("digest time", "must be before 24:00"));
        }
        if self.weekdays.iter().any(|d| !(1..=7).contains(d)) {
            return Err(malformed("digest weekdays", "must be 1 (Monday) to 7"));
        }
        if self.frequency == DigestFrequency::Weekly && self.weekdays.is_empty() {
            return Err(malformed("digest weekdays", "a weekly digest needs a day"));
        }
        if !(1..=100).contains(&self.max_posts) {
            return Err(malformed("digest size", "1 to 100 posts"));
        }
        let tz_ok = !self.timezone.is_empty() && self.timezone.len() <= 64 && jiff::tz::TimeZone::get(&self.timezone).is_ok();
        if !tz_ok {
            return Err(malformed("timezone", format!("{:?} is not an IANA zone name", self.timezone)));
        }
        Ok(())
    }
}
