//! Properties of what parses outside input in the domain: time phrases in questions, channel
//! usernames, invite codes, Telegram Desktop exports and JSONL post files. Whatever the text, no panic; what is accepted is well-formed and
//! reads back as itself.

use proptest::prelude::*;
use siftgram_core::Timestamp;
use siftgram_core::model::{InviteCode, Username};
use siftgram_core::export::{read_desktop_export, read_posts_jsonl};
use siftgram_core::retrieval::parse_time_window;

/// Questions as users type them: time words of both languages, numbers, months, noise.
fn question() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        Just("за".to_owned()), Just("последние".to_owned()), Just("три".to_owned()), Just("дня".to_owned()),
        Just("в".to_owned()), Just("октябре".to_owned()), Just("мае".to_owned()), Just("на".to_owned()), Just("прошлой".to_owned()),
        Just("неделе".to_owned()), Just("вчера".to_owned()), Just("сегодня".to_owned()), Just("этой".to_owned()), Just("since".to_owned()),
        Just("monday".to_owned()), Just("last".to_owned()), Just("week".to_owned()), Just("in".to_owned()), Just("march".to_owned()),
        Just("year".to_owned()), Just("года".to_owned()), Just("2025".to_owned()), Just("0".to_owned()), Just("99999999999".to_owned()),
        Just("-5".to_owned()), Just("?".to_owned()), "\\PC{0,8}".prop_map(|s| s),
    ];
    proptest::collection::vec(word, 0..12).prop_map(|w| w.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn a_time_phrase_gives_a_window_that_is_not_empty_and_not_in_the_future_unless_a_year_is_named(text in question(), now in 0i64..4_000_000_000) {
        let found = parse_time_window(&text, Timestamp(now));
        if let Some(window) = found.window {
            let names_a_year = text.split(|c: char| !c.is_alphanumeric()).any(|w| w.len() == 4 && w.chars().all(|c| c.is_ascii_digit()));
            if !names_a_year {
                prop_assert!(window.since.0 <= now + Timestamp::DAY, "{text:?}: since {} after now {now}", window.since.0);
            }
            if let Some(until) = window.until {
                prop_assert!(window.since < until, "{text:?}: an empty window {window:?}");
            }
        } else {
            prop_assert_eq!(found.rest.split_whitespace().count(), text.split_whitespace().count(), "nothing removed when nothing was found: {:?}", text);
        }
    }

    #[test]
    fn a_username_that_parses_is_canonical_and_parses_as_itself(input in prop_oneof!["\\PC{0,40}", "(@|t\\.me/|https://t\\.me/)?[A-Za-z0-9_]{0,40}(/[0-9]{1,4})?"]) {
        if let Ok(name) = Username::parse(&input) {
            let s = name.as_str();
            prop_assert!((Username::MIN..=Username::MAX).contains(&s.len()), "{s:?}");
            prop_assert!(s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'), "{s:?}");
            prop_assert_eq!(Username::parse(s), Ok(name.clone()));
        }
    }

    #[test]
    fn an_invite_code_that_parses_reads_back_as_itself(input in prop_oneof!["\\PC{0,40}", "[A-Za-z0-9-]{10,14}", "\\s*[a-z0-9]{12}\\s*"]) {
        if let Ok(code) = InviteCode::parse(&input) {
            prop_assert_eq!(InviteCode::parse(code.as_str()), Ok(code.clone()));
            prop_assert_eq!(InviteCode::parse(&format!("  {code}  ")), Ok(code));
        }
    }
}

/// The demo's sample, a real Telegram Desktop export (three channels).
const SAMPLE: &str = include_str!("../../demo/sample/result.json");

/// `json` with one character removed, doubled or replaced.
fn damaged(json: &str, at: usize, how: u8, with: char) -> String {
    let mut chars: Vec<char> = json.chars().collect();
    let at = at % chars.len();
    match how % 3 {
        0 => {
            chars.remove(at);
        }
        1 => chars.insert(at, chars[at]),
        _ => chars[at] = with,
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// A damaged export is read or refused with a reason; what is read holds valid posts only.
    #[test]
    fn a_damaged_export_is_read_or_refused_and_never_panics(at in any::<usize>(), how in any::<u8>(), with in any::<char>()) {
        if let Ok(channels) = read_desktop_export(&damaged(SAMPLE, at, how, with)) {
            for channel in channels {
                prop_assert!(channel.posts.iter().all(|p| p.key.channel_id == channel.id));
            }
        }
    }

    #[test]
    fn any_jsonl_is_read_or_refused_by_line(lines in proptest::collection::vec(prop_oneof![
        "\\PC{0,60}",
        (any::<i64>(), any::<i64>(), any::<i64>(), "\\PC{0,30}").prop_map(|(c, m, d, t)| serde_json::json!({"channel": c, "id": m, "date": d, "text": t}).to_string()),
        (1i64..1_000_000, 1i64..100_000, "\\PC{0,30}").prop_map(|(c, m, t)| serde_json::json!({"channel": c, "id": m, "date": "2026-11-30T10:00:00", "text": t}).to_string()),
    ], 0..8)) {
        let text = lines.join("\n");
        match read_posts_jsonl(&text) {
            Ok(channels) => prop_assert_eq!(channels.iter().map(|c| c.posts.len()).sum::<usize>(), lines.iter().filter(|l| !l.trim().is_empty()).count()),
            Err(e) => prop_assert!(e.to_string().contains("line"), "{e}"),
        }
    }
}

#[test]
fn the_sample_export_itself_reads() {
    assert_eq!(read_desktop_export(SAMPLE).unwrap().len(), 3);
}
