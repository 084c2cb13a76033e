//! Time as the domain sees it: whole seconds since the Unix epoch, read through a `Clock` so that
//! TTL, leases, quotas and expiry can be tested without sleeping.

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const DAY: i64 = 86_400;

    pub fn plus_secs(self, secs: i64) -> Self {
        Timestamp(self.0.saturating_add(secs))
    }
    pub fn plus_days(self, days: u32) -> Self {
        self.plus_secs(i64::from(days) * Self::DAY)
    }
    /// Days since the epoch (UTC); daily quotas reset at UTC midnight.
    pub fn utc_day(self) -> i64 {
        self.0.div_euclid(Self::DAY)
    }

    /// The UTC calendar date and time: (year, month, day, hour, minute, second).
    pub fn utc_parts(self) -> (i64, u32, u32, u32, u32, u32) {
        // Howard Hinnant's days-to-civil algorithm.
        let z = self.utc_day() + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        let secs = self.0.rem_euclid(Self::DAY);
        (year, month, day, (secs / 3600) as u32, (secs % 3600 / 60) as u32, (secs % 60) as u32)
    }
}

impl Timestamp {
    /// Midnight UTC of a calendar date (Hinnant's days-from-civil).
    pub fn from_utc_date(year: i64, month: u32, day: u32) -> Timestamp {
        let y = if month <= 2 { year - 1 } else { year };
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let m = i64::from(month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Timestamp((era * 146_097 + doe - 719_468) * Self::DAY)
    }

    /// Midnight UTC of this timestamp's day.
    pub fn start_of_day(self) -> Timestamp {
        Timestamp(self.utc_day() * Self::DAY)
    }

    /// Days since Monday (0 = Monday … 6 = Sunday).
    pub fn weekday(self) -> i64 {
        (self.utc_day() + 3).rem_euclid(7)
    }
}

impl std::fmt::Display for Timestamp {
    /// `2026-11-21 09:05 UTC`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (y, mo, d, h, mi, _) = self.utc_parts();
        write!(f, "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02} UTC")
    }
}

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Timestamp;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Timestamp(secs)
    }
}

/// A clock that only moves when told to; shared between a test and the adapters it drives.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn starting_at(t: Timestamp) -> Self {
        ManualClock(AtomicI64::new(t.0))
    }
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
    pub fn set(&self, t: Timestamp) {
        self.0.store(t.0, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::Timestamp;

    #[test]
    fn timestamps_print_as_utc_dates() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01 00:00 UTC");
        assert_eq!(Timestamp(1_795_251_900).to_string(), "2026-11-21 09:05 UTC");
        assert_eq!(Timestamp(951_782_400).utc_parts(), (2000, 2, 29, 0, 0, 0));
        assert_eq!(Timestamp(-1).to_string(), "1969-12-31 23:59 UTC");
        assert_eq!(Timestamp::from_utc_date(2026, 11, 21), Timestamp(1_795_251_900).start_of_day());
        assert_eq!(Timestamp::from_utc_date(2000, 2, 29), Timestamp(951_782_400));
        assert_eq!(Timestamp::from_utc_date(2026, 11, 21).weekday(), 5, "a Saturday");
    }
}
