use super::error::malformed;
use super::{InviteCode, UserId, ValidationError};
use crate::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Free,
    Trial,
    Basic,
    Premium,
    Enterprise,
}

impl Tier {
    pub const ALL: [Tier; 5] = [Tier::Free, Tier::Trial, Tier::Basic, Tier::Premium, Tier::Enterprise];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Free => "free",
            Tier::Trial => "trial",
            Tier::Basic => "basic",
            Tier::Premium => "premium",
            Tier::Enterprise => "enterprise",
        }
    }
}

impl std::str::FromStr for Tier {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Tier::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| malformed("tier", format!("{s:?} is not one of free, trial, basic, premium, enterprise")))
    }
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierLimits {
    pub max_channels: u32,
    pub posts_per_day: u32,
    pub rag_queries_per_day: u32,
    pub digests: bool,
    /// How long the tier lasts when granted without an explicit duration (trial: 7 days).
    pub default_days: Option<u32>,
}

/// The setting that overrides tier limits.
pub const TIERS_SETTING: &str = "SIFTGRAM_TIERS_JSON";

/// The limits of every tier. Defaults are the product's; operators override them with JSON
/// (`{"basic": {"max_channels": 20, ...}}`, only the tiers and fields they change).
#[derive(Clone, Debug, PartialEq)]
pub struct TierCatalog {
    limits: BTreeMap<Tier, TierLimits>,
}

impl Default for TierCatalog {
    fn default() -> Self {
        let l = |max_channels, posts_per_day, rag_queries_per_day, digests, default_days| TierLimits {
            max_channels,
            posts_per_day,
            rag_queries_per_day,
            digests,
            default_days,
        };
        TierCatalog {
            limits: BTreeMap::from([
                (Tier::Free, l(3, 100, 10, false, None)),
                (Tier::Trial, l(10, 500, 50, true, Some(7))),
                (Tier::Basic, l(10, 500, 50, true, None)),
                (Tier::Premium, l(50, 2000, 200, true, None)),
                (Tier::Enterprise, l(999, 99_999, 999, true, None)),
            ]),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsOverride {
    max_channels: Option<u32>,
    posts_per_day: Option<u32>,
    rag_queries_per_day: Option<u32>,
    digests: Option<bool>,
    default_days: Option<Option<u32>>,
}

impl TierCatalog {
    pub fn limits(&self, tier: Tier) -> TierLimits {
        self.limits[&tier]
    }

    /// The one reader of the tier settings for every binary (the node and each Lambda), so
    /// they all enforce the same limits: `SIFTGRAM_TIERS_JSON` overrides, else the defaults.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<TierCatalog, (&'static str, String)> {
        match lookup(TIERS_SETTING).filter(|v| !v.trim().is_empty()) {
            Some(json) => TierCatalog::with_overrides_json(&json).map_err(|e| (TIERS_SETTING, e.to_string())),
            None => Ok(TierCatalog::default()),
        }
    }

    /// The defaults with the given JSON overrides applied.
    pub fn with_overrides_json(json: &str) -> Result<TierCatalog, ValidationError> {
        let overrides: BTreeMap<Tier, LimitsOverride> =
            serde_json::from_str(json).map_err(|e| malformed("tier limits", e.to_string()))?;
        let mut catalog = TierCatalog::default();
        for (tier, o) in overrides {
            let l = catalog.limits.get_mut(&tier).expect("every tier has defaults");
            l.max_channels = o.max_channels.unwrap_or(l.max_channels);
            l.posts_per_day = o.posts_per_day.unwrap_or(l.posts_per_day);
            l.rag_queries_per_day = o.rag_queries_per_day.unwrap_or(l.rag_queries_per_day);
            l.digests = o.digests.unwrap_or(l.digests);
            l.default_days = o.default_days.unwrap_or(l.default_days);
        }
        Ok(catalog)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TierChangeReason {
    Invite { code: InviteCode },
    AdminGrant { by: UserId },
    Lapsed,
}

/// One entry of a user's subscription history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierChange {
    pub user: UserId,
    pub from: Tier,
    pub to: Tier,
    pub at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub reason: TierChangeReason,
}
