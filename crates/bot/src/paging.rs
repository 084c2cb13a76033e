//! Telegram's size limits on what the bot sends, and pages for lists that can outgrow them: a
//! premium user's 50 channels do not fit one message, an enterprise user's 999 not one keyboard.

use std::ops::Range;
use teloxide::types::InlineKeyboardButton;

/// Telegram refuses a message whose visible text is longer (in UTF-16 code units).
pub const MAX_MESSAGE_UTF16: usize = 4096;
/// Telegram refuses inline keyboards with more buttons ("reply markup is too long").
pub const MAX_KEYBOARD_BUTTONS: usize = 100;
/// Telegram refuses callback data longer than this (BUTTON_DATA_INVALID).
pub const MAX_CALLBACK_DATA_BYTES: usize = 64;
/// Button captions are cut here: long ones are cut by the clients anyway.
pub const MAX_BUTTON_CHARS: usize = 48;

pub fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// Splits items of the given sizes into consecutive pages of at most `per_page` items whose
/// sizes add up to at most `budget` (an item larger than the budget gets a page of its own).
/// Sizes measured on the HTML source bound what Telegram shows, which is never longer.
pub fn paginate(sizes: &[usize], per_page: usize, budget: usize) -> Vec<Range<usize>> {
    let mut pages = Vec::new();
    let (mut start, mut used) = (0, 0);
    for (i, &size) in sizes.iter().enumerate() {
        if i > start && (i - start == per_page || used + size > budget) {
            pages.push(start..i);
            (start, used) = (i, 0);
        }
        used += size;
    }
    if start < sizes.len() {
        pages.push(start..sizes.len());
    }
    pages
}

/// `page` clamped into the pages that exist (a button pressed after the list shrank).
pub fn clamp_page(page: usize, pages: usize) -> usize {
    page.min(pages.saturating_sub(1))
}

/// The row under a paged list: ◀ and ▶ where there is somewhere to go, and where we are.
/// Callbacks are `<prefix><page>`; the middle button redraws the current page.
pub fn nav_row(prefix: &str, page: usize, pages: usize) -> Vec<InlineKeyboardButton> {
    let go = |text: String, to: usize| InlineKeyboardButton::callback(text, format!("{prefix}{to}"));
    let mut row = Vec::new();
    if page > 0 {
        row.push(go("◀".into(), page - 1));
    }
    row.push(go(format!("{}/{pages}", page + 1), page));
    if page + 1 < pages {
        row.push(go("▶".into(), page + 1));
    }
    row
}

/// A caption cut to `MAX_BUTTON_CHARS` characters, with an ellipsis when cut.
pub fn button_caption(text: &str) -> String {
    let trimmed = text.trim();
    if trimmed.chars().count() <= MAX_BUTTON_CHARS {
        return trimmed.to_owned();
    }
    let mut cut: String = trimmed.chars().take(MAX_BUTTON_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// The page number in a `<prefix><page>` callback.
pub fn page_of(data: &str, prefix: &str) -> Option<usize> {
    data.strip_prefix(prefix)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_respect_both_the_count_and_the_budget() {
        assert_eq!(paginate(&[], 10, 100), Vec::<Range<usize>>::new());
        assert_eq!(paginate(&[10; 25], 10, 1000), vec![0..10, 10..20, 20..25]);
        assert_eq!(paginate(&[40, 40, 40, 40], 10, 100), vec![0..2, 2..4]);
        assert_eq!(paginate(&[500, 10, 10], 10, 100), vec![0..1, 1..3], "an oversized item stands alone");
        let sizes: Vec<usize> = (0..999).map(|i| 30 + i % 300).collect();
        let pages = paginate(&sizes, 10, 3000);
        assert_eq!(pages.iter().map(|p| p.len()).sum::<usize>(), 999, "every item is on exactly one page");
        assert!(pages.windows(2).all(|w| w[0].end == w[1].start));
        assert!(pages.iter().all(|p| sizes[p.clone()].iter().sum::<usize>() <= 3000 && p.len() <= 10));
    }

    #[test]
    fn navigation_offers_only_pages_that_exist() {
        let data = |row: Vec<InlineKeyboardButton>| -> Vec<String> {
            row.into_iter()
                .map(|b| match b.kind {
                    teloxide::types::InlineKeyboardButtonKind::CallbackData(d) => d,
                    _ => panic!("callback buttons only"),
                })
                .collect()
        };
        assert_eq!(data(nav_row("mc:", 0, 3)), ["mc:0", "mc:1"]);
        assert_eq!(data(nav_row("mc:", 1, 3)), ["mc:0", "mc:1", "mc:2"]);
        assert_eq!(data(nav_row("mc:", 2, 3)), ["mc:1", "mc:2"]);
        assert_eq!(clamp_page(7, 3), 2);
        assert_eq!(clamp_page(0, 0), 0);
        assert_eq!(page_of("mc:12", "mc:"), Some(12));
        assert_eq!(page_of("mc:x", "mc:"), None);
    }

    #[test]
    fn long_captions_are_cut_with_an_ellipsis() {
        assert_eq!(button_caption(" Новости "), "Новости");
        let long = "Д".repeat(200);
        let cut = button_caption(&long);
        assert_eq!(cut.chars().count(), MAX_BUTTON_CHARS);
        assert!(cut.ends_with('…'));
    }
}
