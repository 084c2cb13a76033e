//! When a digest is due: the configured local time in the user's zone, every day or on the
//! configured weekdays; daylight-saving changes are the zone database's business.

use crate::Timestamp;
use crate::model::{DigestFrequency, DigestSettings};
use jiff::tz::TimeZone;

/// The first due time strictly after `after`; None when disabled or the zone is unknown.
pub fn next_due(settings: &DigestSettings, after: Timestamp) -> Option<Timestamp> {
    if !settings.enabled {
        return None;
    }
    let tz = TimeZone::get(&settings.timezone).ok()?;
    let start = jiff::Timestamp::from_second(after.0).ok()?.to_zoned(tz.clone()).date();
    let (hour, minute) = ((settings.minute_of_day / 60) as i8, (settings.minute_of_day % 60) as i8);
    for offset in 0..=8 {
        let date = start.checked_add(jiff::Span::new().days(offset)).ok()?;
        let weekday = date.weekday().to_monday_one_offset() as u8;
        if settings.frequency == DigestFrequency::Weekly && !settings.weekdays.contains(&weekday) {
            continue;
        }
        let due = date.at(hour, minute, 0, 0).to_zoned(tz.clone()).ok()?.timestamp().as_second();
        if due > after.0 {
            return Some(Timestamp(due));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UserId;

    fn settings(frequency: DigestFrequency, weekdays: Vec<u8>) -> DigestSettings {
        DigestSettings { enabled: true, frequency, weekdays, ..DigestSettings::default_for(UserId::new(1).unwrap()) }
    }

    #[test]
    fn nine_in_moscow_is_six_utc() {
        let s = settings(DigestFrequency::Daily, vec![]);
        // 2026-11-22 05:00 UTC = 08:00 in Moscow: today at 06:00 UTC.
        let now = Timestamp::from_utc_date(2026, 11, 22).plus_secs(5 * 3600);
        assert_eq!(next_due(&s, now), Some(Timestamp::from_utc_date(2026, 11, 22).plus_secs(6 * 3600)));
        // At 06:00 UTC exactly the next one is tomorrow's.
        let at = Timestamp::from_utc_date(2026, 11, 22).plus_secs(6 * 3600);
        assert_eq!(next_due(&s, at), Some(Timestamp::from_utc_date(2026, 11, 23).plus_secs(6 * 3600)));
    }

    #[test]
    fn weekly_digests_wait_for_their_day_and_disabled_ones_never_come() {
        // 2026-11-22 is a Sunday; Wednesday 25th is the next day 3.
        let s = settings(DigestFrequency::Weekly, vec![3]);
        let now = Timestamp::from_utc_date(2026, 11, 22);
        assert_eq!(next_due(&s, now), Some(Timestamp::from_utc_date(2026, 11, 25).plus_secs(6 * 3600)));
        assert_eq!(next_due(&DigestSettings { enabled: false, ..s }, now), None);
    }

    #[test]
    fn daylight_saving_is_followed() {
        let mut s = settings(DigestFrequency::Daily, vec![]);
        s.timezone = "Europe/Berlin".into();
        // 09:00 in Berlin is 07:00 UTC in summer, 08:00 UTC in winter.
        assert_eq!(next_due(&s, Timestamp::from_utc_date(2026, 7, 1)), Some(Timestamp::from_utc_date(2026, 7, 1).plus_secs(7 * 3600)));
        assert_eq!(next_due(&s, Timestamp::from_utc_date(2026, 12, 1)), Some(Timestamp::from_utc_date(2026, 12, 1).plus_secs(8 * 3600)));
    }
}
