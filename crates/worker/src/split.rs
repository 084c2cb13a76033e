//! Telegram refuses messages over 4096 characters — UTF-16 units of the text shown, so an emoji
//! counts twice. Messages are built from blocks whose HTML tags open and close inside the block;
//! parts are packed from whole blocks (measured in UTF-16 units of the HTML, never fewer than
//! the text it shows), and only a block longer than a whole message is cut — at a line break or
//! space, never inside a tag or an entity, with the tags open at the cut closed at the end of
//! the part and opened again at the start of the next, so every part parses on its own.

pub const TELEGRAM_LIMIT: usize = 4096;

/// Length as Telegram counts it.
fn units(text: &str) -> usize {
    text.encode_utf16().count()
}

/// Byte index of the last char boundary within `max` UTF-16 units.
fn boundary(text: &str, max: usize) -> usize {
    let mut used = 0;
    for (i, c) in text.char_indices() {
        used += c.len_utf16();
        if used > max {
            return i;
        }
    }
    text.len()
}

fn cut_point(text: &str, max_units: usize) -> usize {
    let hard = boundary(text, max_units);
    let window = &text[..hard];
    let mut at = window.rfind('\n').or_else(|| window.rfind(' ')).filter(|&i| i > hard / 2).unwrap_or(hard);
    // Telegram's parser refuses a tag (`<a href=…>` has a space in it) or an entity (&amp;) cut
    // in half. Text is escaped, so a bare `<` or `&` is always markup.
    if let Some(lt) = window[..at].rfind('<')
        && !window[lt..at].contains('>')
    {
        at = lt;
    }
    if let Some(amp) = window[..at].rfind('&')
        && !window[amp..at].contains(';')
    {
        at = amp;
    }
    // The block's own leading tags are no progress (they are opened again after the cut).
    if window[..at].trim_start_matches(|c: char| c.is_whitespace()).split('>').all(|t| t.trim().is_empty() || t.trim_start().starts_with('<')) {
        at = hard;
    }
    at
}

/// The start tags still open at the end of `html`, outermost first, whole (`<a href="…">`).
fn open_tags(html: &str) -> Vec<&str> {
    let mut open = Vec::new();
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        let Some(gt) = rest[lt..].find('>') else { break };
        let tag = &rest[lt..lt + gt + 1];
        if tag.starts_with("</") {
            open.pop();
        } else {
            open.push(tag);
        }
        rest = &rest[lt + gt + 1..];
    }
    open
}

fn end_tag(start: &str) -> String {
    let name = start[1..].split(|c: char| c == ' ' || c == '>').next().unwrap_or("");
    format!("</{name}>")
}

/// `block` cut so its first piece, with the tags open at the cut closed, fits `limit`; the rest
/// opens them again.
fn cut_block(block: &str, limit: usize) -> (String, String) {
    let mut budget = limit;
    loop {
        let at = cut_point(block, budget);
        let open = open_tags(&block[..at]);
        let head = format!("{}{}", block[..at].trim_end(), open.iter().rev().map(|t| end_tag(t)).collect::<String>());
        let over = units(&head).saturating_sub(limit);
        if over == 0 || budget <= over {
            return (head, format!("{}{}", open.concat(), block[at..].trim_start()));
        }
        budget -= over;
    }
}

/// Whether `html` is only tags and whitespace.
fn shows_nothing(html: &str) -> bool {
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        if !rest[..lt].trim().is_empty() {
            return false;
        }
        match rest[lt..].find('>') {
            Some(gt) => rest = &rest[lt + gt + 1..],
            None => return false,
        }
    }
    rest.trim().is_empty()
}

/// The blocks packed into messages of at most `limit` UTF-16 units, blocks separated by a blank line.
pub fn split_blocks(blocks: &[String], limit: usize) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    let mut current = String::new();
    for block in blocks {
        let mut block = block.trim().to_owned();
        while units(&block) > limit {
            if !current.is_empty() {
                parts.push(std::mem::take(&mut current));
            }
            let (head, rest) = cut_block(&block, limit);
            parts.push(head);
            block = rest;
        }
        // Tags around nothing (an empty title, or the closing tags a cut left over) would make a
        // part that shows nothing, which Telegram refuses.
        if shows_nothing(&block) {
            continue;
        }
        let joined = if current.is_empty() { 0 } else { units(&current) + 2 };
        if joined + units(&block) > limit {
            parts.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push_str("\n\n");
        }
        current.push_str(&block);
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_that_show_nothing_make_no_part() {
        assert!(shows_nothing("<b></b>") && shows_nothing(" <b> </b>\n") && shows_nothing(""));
        assert!(!shows_nothing("<b>x</b>") && !shows_nothing("&amp;") && !shows_nothing("a < b"));
        // Found by the property test: an empty bold block before one longer than a message.
        let blocks = ["<b></b>".to_owned(), format!("<b>{}</b>", "слово ".repeat(1_000))];
        let parts = split_blocks(&blocks, TELEGRAM_LIMIT);
        assert_eq!(parts.len(), 2, "{parts:?}");
        assert!(parts.iter().all(|p| !shows_nothing(p)));
    }

    #[test]
    fn whole_blocks_are_packed_and_none_is_split_needlessly() {
        let blocks: Vec<String> = (0..10).map(|i| format!("<b>{i}</b> {}", "x".repeat(1000))).collect();
        let parts = split_blocks(&blocks, TELEGRAM_LIMIT);
        assert!(parts.iter().all(|p| p.chars().count() <= TELEGRAM_LIMIT));
        assert_eq!(parts.len(), 3, "four blocks per part (4×1009 + separators ≤ 4096), the last two in the third");
        assert!(parts.iter().all(|p| p.matches("<b>").count() == p.matches("</b>").count()));
        assert_eq!(parts.join("\n\n"), blocks.join("\n\n"));
    }

    #[test]
    fn a_giant_block_is_cut_between_words_and_never_inside_an_entity() {
        let block = format!("{}&amp;{}", "слово ".repeat(700), "y".repeat(5000));
        let parts = split_blocks(&[block], TELEGRAM_LIMIT);
        assert!(parts.iter().all(|p| p.chars().count() <= TELEGRAM_LIMIT));
        assert!(parts.iter().all(|p| p.matches('&').count() == p.matches("&amp;").count()), "no entity cut");
        assert!(parts[0].ends_with("слово"));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;
    use siftgram_fake_telegram::html::visible_text;

    fn escape(text: &str) -> String {
        text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
    }

    /// Text as users write it: Cyrillic, Latin, emoji (two UTF-16 units each), markup characters,
    /// spaces and line breaks.
    fn text() -> impl Strategy<Value = String> {
        proptest::collection::vec(prop_oneof![Just("слово "), Just("word "), Just("🚀"), Just("<&> "), Just("\n"), Just("  "), Just("x"), Just("€")], 0..1600)
            .prop_map(|pieces| pieces.concat())
    }

    /// A block as the worker builds one: escaped text, some of it bold, linked or quoted.
    fn block() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            (text(), 0..4u8).prop_map(|(t, kind)| match kind {
                0 => escape(&t),
                1 => format!("<b>{}</b>", escape(&t)),
                2 => format!("<a href=\"https://t.me/rust_news/7\">{}</a>", escape(&t)),
                _ => format!("<blockquote><i>{}</i></blockquote>", escape(&t)),
            }),
            1..4,
        )
        .prop_map(|segments| segments.concat())
    }

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// Every part is valid Telegram HTML within Telegram's limit (UTF-16 units of the
        /// visible text), and together the parts show every word of the blocks, in order.
        #[test]
        fn every_part_parses_fits_and_nothing_is_lost(blocks in proptest::collection::vec(block(), 0..6)) {
            let parts = split_blocks(&blocks, TELEGRAM_LIMIT);
            let mut shown = Vec::new();
            for part in &parts {
                let visible = visible_text(part).map_err(|e| TestCaseError::fail(format!("{e} in a part of {} chars", part.chars().count())))?;
                prop_assert!(visible.encode_utf16().count() <= TELEGRAM_LIMIT, "{} UTF-16 units", visible.encode_utf16().count());
                prop_assert!(!visible.trim().is_empty(), "an empty part");
                shown.extend(words(&visible));
            }
            let all: Vec<String> = blocks.iter().flat_map(|b| words(&visible_text(b).unwrap())).collect();
            prop_assert_eq!(shown, all);
        }
    }
}
