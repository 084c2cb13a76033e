//! Time expressions in questions ("за последние три дня", "вчера", "в октябре", "last week") →
//! a date window applied as a filter BEFORE ranking. Calendar words ("вчера", "на этой неделе",
//! "в октябре") name days of the asker's time zone; rolling ones ("за три дня") count whole days
//! of that zone back from today (hours, "за 12 часов", are the same everywhere).

use crate::Timestamp;

/// A half-open window `[since, until)`; `until = None` means up to now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeWindow {
    pub since: Timestamp,
    pub until: Option<Timestamp>,
}

/// What was found: the window and the question with the time phrase removed (so "вчера" does not
/// pull posts that merely contain the word).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeScoped {
    pub window: Option<TimeWindow>,
    /// Where the posts reporting on a past window end, when later than the window: a calendar
    /// month's figures come out in the next half month ("инфляция в октябре" is reported in
    /// mid-November), so its search lets in `MONTH_REPORTED_DAYS` more, ranked by relevance.
    pub reported_until: Option<Timestamp>,
    pub rest: String,
}

/// How long after a calendar month ends its news still come out.
pub const MONTH_REPORTED_DAYS: i64 = 15;

const MONTHS_RU: [&str; 12] = ["январ", "феврал", "март", "апрел", "ма", "июн", "июл", "август", "сентябр", "октябр", "ноябр", "декабр"];
const MONTHS_EN: [&str; 12] = [
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december",
];

fn number(word: &str) -> Option<i64> {
    if let Ok(n) = word.parse::<i64>() {
        return (1..=3650).contains(&n).then_some(n);
    }
    let n = match word {
        "один" | "одну" | "одни" | "one" | "a" | "an" => 1,
        "два" | "две" | "пару" | "пара" | "two" | "couple" => 2,
        "три" | "three" => 3,
        "четыре" | "four" => 4,
        "пять" | "five" => 5,
        "шесть" | "six" => 6,
        "семь" | "seven" => 7,
        "восемь" | "eight" => 8,
        "девять" | "nine" => 9,
        "десять" | "ten" => 10,
        "четырнадцать" | "fourteen" => 14,
        "тридцать" | "thirty" => 30,
        _ => return None,
    };
    Some(n)
}

/// Seconds in one unit named by `word` (day, week, month = 30 days, hour), if it is a unit.
fn unit(word: &str) -> Option<i64> {
    const H: i64 = 3600;
    const D: i64 = Timestamp::DAY;
    let w = word;
    if w.starts_with("час") || w.starts_with("hour") {
        Some(H)
    } else if w.starts_with("дн") || w.starts_with("день") || w.starts_with("сутк") || w.starts_with("суток") || w.starts_with("day") {
        Some(D)
    } else if w.starts_with("недел") || w.starts_with("week") {
        Some(7 * D)
    } else if w.starts_with("месяц") || w.starts_with("month") {
        Some(30 * D)
    } else if w == "год" || w == "года" || w == "лет" || w.starts_with("year") {
        Some(365 * D)
    } else {
        None
    }
}

/// The day of the week (Monday 0) a word names, in the forms "в понедельник", "с понедельника",
/// "во вторник", "со среды", "since Monday" use.
fn weekday_of(word: &str) -> Option<i64> {
    const DAYS: [(&[&str], &str); 7] = [
        (&["понедельник", "понедельника"], "monday"),
        (&["вторник", "вторника"], "tuesday"),
        (&["среда", "среду", "среды"], "wednesday"),
        (&["четверг", "четверга"], "thursday"),
        (&["пятница", "пятницу", "пятницы"], "friday"),
        (&["суббота", "субботу", "субботы"], "saturday"),
        (&["воскресенье", "воскресенья"], "sunday"),
    ];
    DAYS.iter().position(|(ru, en)| ru.contains(&word) || *en == word).map(|i| i as i64)
}

fn month_of(word: &str) -> Option<u32> {
    if let Some(i) = MONTHS_EN.iter().position(|m| *m == word || (word.len() >= 3 && m.starts_with(word) && word != "mar" && word != "may")) {
        return Some(i as u32 + 1);
    }
    // Russian month names in the prepositional case: "в октябре", "в мае".
    if word == "мае" || word == "май" || word == "мая" {
        return Some(5);
    }
    MONTHS_RU.iter().position(|m| m.len() > 2 && word.starts_with(m) && word.chars().count() <= m.chars().count() + 2).map(|i| i as u32 + 1)
}

fn month_window(year: i64, month: u32) -> TimeWindow {
    let (ny, nm) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    TimeWindow { since: Timestamp::from_utc_date(year, month, 1), until: Some(Timestamp::from_utc_date(ny, nm, 1)) }
}

/// Finds the first time expression in `text` relative to `now`, calendar days in UTC.
pub fn parse_time_window(text: &str, now: Timestamp) -> TimeScoped {
    parse_time_window_in(text, now, 0)
}

/// The same with calendar days of a zone `utc_offset` seconds east of UTC (Moscow: 10,800): the
/// window is found on the zone's wall clock and shifted back to UTC instants.
pub fn parse_time_window_in(text: &str, now: Timestamp, utc_offset: i64) -> TimeScoped {
    let mut scoped = parse_on_wall_clock(text, Timestamp(now.0 + utc_offset));
    let to_utc = |t: Timestamp| Timestamp(t.0 - utc_offset);
    if let Some(window) = &mut scoped.window {
        window.since = to_utc(window.since);
        window.until = window.until.map(to_utc);
    }
    scoped.reported_until = scoped.reported_until.map(to_utc);
    scoped
}

/// Seconds east of UTC of the IANA zone `timezone` at `at`; 0 for a zone this build does not know.
pub fn utc_offset_of(timezone: &str, at: Timestamp) -> i64 {
    let Ok(zone) = jiff::tz::TimeZone::get(timezone) else { return 0 };
    jiff::Timestamp::from_second(at.0).map_or(0, |t| i64::from(zone.to_offset(t).seconds()))
}

fn parse_on_wall_clock(text: &str, now: Timestamp) -> TimeScoped {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let today = now.start_of_day();
    let day = Timestamp::DAY;
    let (year, this_month, ..) = now.utc_parts();
    let found = |start: usize, len: usize, window: TimeWindow| Some((start, len, window, false));
    // The midnight of the last `weekday` at least `days_back` days before today.
    let last_weekday = |weekday: i64, days_back: i64| Timestamp(today.0 - ((now.weekday() - weekday - days_back).rem_euclid(7) + days_back) * day);
    // A calendar month is reported on after it ends.
    let month = |start: usize, len: usize, window: TimeWindow| (start, len, window, true);
    // The calendar week or month before this one.
    let previous = |start: usize, unit: Option<i64>| match unit {
        Some(u) if u == 7 * day => {
            let monday = Timestamp(today.0 - now.weekday() * day);
            found(start, 2, TimeWindow { since: Timestamp(monday.0 - 7 * day), until: Some(monday) })
        }
        Some(u) if u == 30 * day => {
            let (y, m) = if this_month == 1 { (year - 1, 12) } else { (year, this_month - 1) };
            Some(month(start, 2, month_window(y, m)))
        }
        _ => None,
    };
    // The calendar week, month or year so far.
    let this_period = |unit: Option<i64>| match unit {
        Some(u) if u == 7 * day => Some(TimeWindow { since: Timestamp(today.0 - now.weekday() * day), until: None }),
        Some(u) if u == 30 * day => Some(TimeWindow { since: Timestamp::from_utc_date(year, this_month, 1), until: None }),
        Some(u) if u == 365 * day => Some(TimeWindow { since: Timestamp::from_utc_date(year, 1, 1), until: None }),
        _ => None,
    };
    // (first word, words, window, a calendar month)
    let mut hit: Option<(usize, usize, TimeWindow, bool)> = None;
    for i in 0..words.len() {
        let w = words[i];
        let next = |k: usize| words.get(i + k).copied().unwrap_or("");
        hit = match w {
            "сегодня" | "today" => found(i, 1, TimeWindow { since: today, until: None }),
            "вчера" | "yesterday" => found(i, 1, TimeWindow { since: Timestamp(today.0 - day), until: Some(today) }),
            "позавчера" => found(i, 1, TimeWindow { since: Timestamp(today.0 - 2 * day), until: Some(Timestamp(today.0 - day)) }),
            "этой" | "этом" | "эту" | "this" | "текущей" | "текущем" => this_period(unit(next(1))).map(|window| (i, 2, window, false)),
            "прошлой" | "прошлую" | "прошлом" | "прошлый" | "previous" => previous(i, unit(next(1))),
            // "last week" is the week before this one; "the last week", "last 3 weeks" roll.
            "last" if (i == 0 || words[i - 1] != "the") && unit(next(1)).is_some_and(|u| u == 7 * day || u == 30 * day) => previous(i, unit(next(1))),
            "за" | "последние" | "последний" | "последнюю" | "last" | "past" | "within" => {
                // "за [последние] [N] <unit>", "last [N] <unit>", "past <unit>"
                let mut k = 1;
                while matches!(next(k), "последние" | "последний" | "последнюю" | "прошедшие" | "прошедший" | "the" | "last" | "past") {
                    k += 1;
                }
                let (n, k) = match number(next(k)) {
                    Some(n) => (n, k + 1),
                    None => (1, k),
                };
                match unit(next(k)) {
                    // Whole days: "за три дня" asked in the evening still holds the morning
                    // three days back, as the asker counts days.
                    Some(u) if u >= day => found(i, k + 1, TimeWindow { since: Timestamp(now.0 - n * u).start_of_day(), until: None }),
                    Some(u) => found(i, k + 1, TimeWindow { since: Timestamp(now.0 - n * u), until: None }),
                    None => None,
                }
            }
            // "с понедельника", "since Monday": from that day's midnight (today's when it is today).
            "с" | "со" | "since" if weekday_of(next(1)).is_some() => weekday_of(next(1)).and_then(|d| found(i, 2, TimeWindow { since: last_weekday(d, 0), until: None })),
            // "в понедельник", "on Monday": that day, the last one before today.
            "в" | "во" | "on" if weekday_of(next(1)).is_some() => weekday_of(next(1)).and_then(|d| {
                let since = last_weekday(d, 1);
                found(i, 2, TimeWindow { since, until: Some(Timestamp(since.0 + day)) })
            }),
            // "со вчерашнего дня", "since yesterday".
            "с" | "со" if next(1) == "вчерашнего" => found(i, if unit(next(2)) == Some(day) { 3 } else { 2 }, TimeWindow { since: Timestamp(today.0 - day), until: None }),
            "since" if next(1) == "yesterday" => found(i, 2, TimeWindow { since: Timestamp(today.0 - day), until: None }),
            // "с начала недели / месяца / года", "since the start of the month": this one so far.
            "с" if next(1) == "начала" => this_period(unit(next(2))).map(|window| (i, 3, window, false)),
            "since" if next(1) == "the" && matches!(next(2), "start" | "beginning") && next(3) == "of" => this_period(unit(next(5))).map(|window| (i, 6, window, false)),
            "в" | "in" | "during" => month_of(next(1)).map(|m| {
                let explicit = next(2).parse::<i64>().ok().filter(|y| (1990..=2100).contains(y));
                let y = explicit.unwrap_or(if m > this_month { year - 1 } else { year });
                month(i, if explicit.is_some() { 3 } else { 2 }, month_window(y, m))
            }),
            _ => None,
        };
        if hit.is_some() {
            break;
        }
    }
    match hit {
        Some((start, len, window, calendar_month)) => {
            let rest: Vec<&str> = words.iter().enumerate().filter(|(j, _)| *j < start || *j >= start + len).map(|(_, w)| *w).collect();
            let reported_until = window.until.filter(|_| calendar_month).map(|u| Timestamp(u.0 + MONTH_REPORTED_DAYS * day));
            TimeScoped { window: Some(window), reported_until, rest: rest.join(" ") }
        }
        None => TimeScoped { window: None, reported_until: None, rest: text.trim().to_owned() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Saturday 2026-11-21 09:05 UTC.
    const NOW: Timestamp = Timestamp(1_795_251_900);
    const DAY: i64 = Timestamp::DAY;

    fn window(text: &str) -> Option<TimeWindow> {
        parse_time_window(text, NOW).window
    }

    #[test]
    fn rolling_windows_in_russian_and_english() {
        let three_days = Some(TimeWindow { since: Timestamp::from_utc_date(2026, 11, 18), until: None });
        assert_eq!(window("Что нового за последние три дня?"), three_days);
        assert_eq!(window("что было за 3 дня"), three_days);
        assert_eq!(window("what happened in the last 3 days"), three_days);
        assert_eq!(window("news from the past three days"), three_days);
        let week = Some(TimeWindow { since: Timestamp::from_utc_date(2026, 11, 14), until: None });
        assert_eq!(window("за неделю"), week);
        assert_eq!(window("what happened in the last week"), week);
        assert_eq!(window("the past week in AI"), week);
        assert_eq!(window("за последние 12 часов"), Some(TimeWindow { since: Timestamp(NOW.0 - 12 * 3600), until: None }));
    }

    #[test]
    fn calendar_days_weeks_and_months() {
        let today = Timestamp::from_utc_date(2026, 11, 21);
        assert_eq!(window("что писали вчера?"), Some(TimeWindow { since: Timestamp(today.0 - DAY), until: Some(today) }));
        assert_eq!(window("новости сегодня"), Some(TimeWindow { since: today, until: None }));
        let monday = Timestamp::from_utc_date(2026, 11, 16);
        assert_eq!(window("на этой неделе"), Some(TimeWindow { since: monday, until: None }));
        let week_before = Some(TimeWindow { since: Timestamp(monday.0 - 7 * DAY), until: Some(monday) });
        assert_eq!(window("на прошлой неделе"), week_before);
        assert_eq!(window("what happened in science last week"), week_before, "the week before this one, like «на прошлой неделе»");
        let october = Some(TimeWindow { since: Timestamp::from_utc_date(2026, 10, 1), until: Some(Timestamp::from_utc_date(2026, 11, 1)) });
        assert_eq!(window("что было в октябре"), october);
        assert_eq!(window("rates in October"), october);
        assert_eq!(window("в декабре"), Some(TimeWindow { since: Timestamp::from_utc_date(2025, 12, 1), until: Some(Timestamp::from_utc_date(2026, 1, 1)) }), "the last December that has begun");
        assert_eq!(window("в мае 2024"), Some(TimeWindow { since: Timestamp::from_utc_date(2024, 5, 1), until: Some(Timestamp::from_utc_date(2024, 6, 1)) }));
        assert_eq!(window("в прошлом месяце"), october);
        assert_eq!(window("rates last month"), october);
    }

    #[test]
    fn since_a_weekday_on_a_weekday_and_since_the_start_of_a_period() {
        // NOW is a Saturday.
        let day = |d: u32| Timestamp::from_utc_date(2026, 11, d);
        let open = |d: u32| Some(TimeWindow { since: day(d), until: None });
        let one = |d: u32| Some(TimeWindow { since: day(d), until: Some(day(d + 1)) });
        assert_eq!(window("since Monday, any news about the bridge?"), open(16));
        assert_eq!(window("что нового с понедельника"), open(16));
        assert_eq!(window("со среды"), open(18));
        assert_eq!(window("с субботы"), open(21), "today is Saturday: since this morning");
        assert_eq!(window("что было в понедельник"), one(16));
        assert_eq!(window("во вторник"), one(17));
        assert_eq!(window("what happened on Friday"), one(20));
        assert_eq!(window("в субботу"), one(14), "the last Saturday before today");
        assert_eq!(window("since yesterday"), open(20));
        let scoped = parse_time_window("новости со вчерашнего дня про мост", NOW);
        assert_eq!((scoped.window, scoped.rest.as_str()), (open(20), "новости про мост"));
        assert_eq!(window("с начала месяца"), open(1));
        assert_eq!(window("с начала недели"), open(16));
        assert_eq!(window("since the start of the year"), Some(TimeWindow { since: Timestamp::from_utc_date(2026, 1, 1), until: None }));
        assert_eq!(window("since the beginning of this month"), open(1));
        for none in ["встреча с ЦБ", "выбросы в окружающую среду", "со слов очевидцев", "since 2020 the bridge", "turn on the light"] {
            assert_eq!(window(none), None, "{none}");
        }
    }

    #[test]
    fn a_calendar_month_is_searched_into_the_half_month_after_it() {
        let reported = |text: &str| parse_time_window(text, NOW).reported_until;
        let mid_november = Some(Timestamp(Timestamp::from_utc_date(2026, 11, 1).0 + MONTH_REPORTED_DAYS * DAY));
        assert_eq!(reported("инфляция в октябре"), mid_november);
        assert_eq!(reported("inflation last month"), mid_november);
        assert_eq!(reported("в прошлом месяце"), mid_november);
        for other in ["вчера", "на прошлой неделе", "за 30 дней", "за месяц", "в этом месяце", "курс доллара"] {
            assert_eq!(reported(other), None, "{other}");
        }
        let moscow = parse_time_window_in("в октябре", NOW, 3 * 3600);
        assert_eq!(moscow.reported_until, mid_november.map(|t| Timestamp(t.0 - 3 * 3600)), "on the asker's calendar too");
    }

    #[test]
    fn days_follow_the_askers_zone_and_hours_do_not() {
        // 01:30 in Moscow on Sunday 2026-11-22 is still Saturday 22:30 in UTC.
        let late = Timestamp(Timestamp::from_utc_date(2026, 11, 21).0 + 22 * 3600 + 1800);
        let moscow = utc_offset_of("Europe/Moscow", late);
        assert_eq!(moscow, 3 * 3600);
        let midnight_moscow = Timestamp(Timestamp::from_utc_date(2026, 11, 22).0 - moscow);
        assert_eq!(
            parse_time_window_in("что писали вчера?", late, moscow).window,
            Some(TimeWindow { since: Timestamp(midnight_moscow.0 - DAY), until: Some(midnight_moscow) }),
            "Moscow's Saturday, not UTC's Friday"
        );
        assert_eq!(parse_time_window_in("новости сегодня", late, moscow).window, Some(TimeWindow { since: midnight_moscow, until: None }));
        let october_moscow = TimeWindow {
            since: Timestamp(Timestamp::from_utc_date(2026, 10, 1).0 - moscow),
            until: Some(Timestamp(Timestamp::from_utc_date(2026, 11, 1).0 - moscow)),
        };
        assert_eq!(parse_time_window_in("в октябре", late, moscow).window, Some(october_moscow));
        assert_eq!(
            parse_time_window_in("за три дня", late, moscow).window,
            Some(TimeWindow { since: Timestamp(midnight_moscow.0 - 3 * DAY), until: None }),
            "three whole days back from Moscow's Sunday"
        );
        assert_eq!(parse_time_window_in("за 12 часов", late, moscow).window, parse_time_window("за 12 часов", late).window, "hours are hours anywhere");
        assert_eq!(utc_offset_of("Asia/Vladivostok", late), 10 * 3600);
        assert_eq!(utc_offset_of("Nowhere/Special", late), 0);
    }

    #[test]
    fn questions_without_time_are_left_alone() {
        let scoped = parse_time_window("Почему вырос курс доллара?", NOW);
        assert_eq!(scoped, TimeScoped { window: None, reported_until: None, rest: "Почему вырос курс доллара?".into() });
        assert_eq!(window("в марте"), Some(month_window(2026, 3)));
        assert_eq!(window("в мире"), None);
        assert_eq!(window("in may"), Some(month_window(2026, 5)));
        assert_eq!(window("last"), None);
        assert_eq!(parse_time_window("курс доллара за три дня", NOW).rest, "курс доллара");
    }
}
