use super::error::malformed;
use super::{Tier, UserId, ValidationError};
use crate::Timestamp;
use serde::{Deserialize, Serialize};

/// How long `/login` keeps a use of the invite for the user (QR token lifetime plus 2FA time).
pub const INVITE_HOLD_SECS: i64 = 15 * 60;

pub const INVITE_CODE_LEN: usize = 12;
const ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Twelve characters from A–Z and 0–9. Parsing is forgiving about case and surrounding space.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InviteCode(String);

impl InviteCode {
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let code = input.trim().to_ascii_uppercase();
        if code.is_empty() {
            return Err(ValidationError::Empty("invite code"));
        }
        if code.len() != INVITE_CODE_LEN || !code.bytes().all(|b| ALPHABET.contains(&b)) {
            return Err(malformed("invite code", format!("expected {INVITE_CODE_LEN} letters A-Z or digits")));
        }
        Ok(InviteCode(code))
    }

    /// A code from random words (one per character; the modulo bias of 2^32 % 36 is negligible).
    pub fn from_random(words: [u32; INVITE_CODE_LEN]) -> Self {
        InviteCode(words.iter().map(|w| ALPHABET[(*w % 36) as usize] as char).collect())
    }

    /// Random bytes `from_random_bytes` takes (four per character).
    pub const RANDOM_BYTES: usize = 4 * INVITE_CODE_LEN;

    /// A code from `RANDOM_BYTES` random bytes (read as little-endian words).
    pub fn from_random_bytes(bytes: [u8; Self::RANDOM_BYTES]) -> Self {
        let mut words = [0u32; INVITE_CODE_LEN];
        for (w, chunk) in words.iter_mut().zip(bytes.chunks_exact(4)) {
            *w = u32::from_le_bytes(chunk.try_into().expect("4 bytes"));
        }
        InviteCode::from_random(words)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for InviteCode {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        InviteCode::parse(&s)
    }
}
impl From<InviteCode> for String {
    fn from(c: InviteCode) -> String {
        c.0
    }
}
impl std::fmt::Display for InviteCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    pub code: InviteCode,
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub max_uses: u32,
    pub uses: u32,
    /// The tier a redeemer gets.
    pub tier: Tier,
    /// How long that tier lasts; None = the tier's default duration (none for paid tiers).
    pub trial_days: Option<u32>,
    /// Uses set aside for users who are signing in with this code right now (`/login` reserves,
    /// a finished login redeems); they count against `max_uses` until they lapse.
    #[serde(default)]
    pub holds: Vec<InviteHold>,
}

/// One user's claim on a use of an invite while their Telegram login is in progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteHold {
    pub user: UserId,
    pub until: Timestamp,
}

impl Invite {
    pub const MAX_USES: u32 = 10_000;
    pub const MAX_DAYS: u32 = 3_650;

    pub fn new(
        code: InviteCode,
        created_by: UserId,
        now: Timestamp,
        tier: Tier,
        valid_days: Option<u32>,
        max_uses: u32,
        trial_days: Option<u32>,
    ) -> Result<Self, ValidationError> {
        if max_uses == 0 || max_uses > Self::MAX_USES {
            return Err(malformed("invite uses", format!("must be 1..={}", Self::MAX_USES)));
        }
        for days in [valid_days, trial_days].into_iter().flatten() {
            if days == 0 || days > Self::MAX_DAYS {
                return Err(malformed("invite days", format!("must be 1..={}", Self::MAX_DAYS)));
            }
        }
        Ok(Invite {
            code,
            created_by,
            created_at: now,
            expires_at: valid_days.map(|d| now.plus_days(d)),
            max_uses,
            uses: 0,
            tier,
            trial_days,
            holds: Vec::new(),
        })
    }

    /// Uses still available to `user` at `now`: other users' live holds count as taken.
    pub fn uses_left_for(&self, user: UserId, now: Timestamp) -> u32 {
        let held = self.holds.iter().filter(|h| h.user != user && h.until > now).count() as u32;
        self.max_uses.saturating_sub(self.uses + held)
    }

    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}
