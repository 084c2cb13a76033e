//! Telegram refuses messages over 4096 characters. Messages are built from blocks whose HTML
//! tags open and close inside the block; parts are packed from whole blocks, and only a block
//! longer than a whole message is cut — at a line break or space, never inside an HTML entity.

pub const TELEGRAM_LIMIT: usize = 4096;

fn cut_point(text: &str, max_chars: usize) -> usize {
    // Byte index of the char boundary after `max_chars` characters.
    let hard = text.char_indices().nth(max_chars).map_or(text.len(), |(i, _)| i);
    let window = &text[..hard];
    let at = window.rfind('\n').or_else(|| window.rfind(' ')).filter(|&i| i > hard / 2).unwrap_or(hard);
    // An entity (&amp;) cut in half would be rejected by Telegram's parser.
    match window[..at].rfind('&') {
        Some(amp) if !window[amp..at].contains(';') => amp,
        _ => at,
    }
}

/// The blocks packed into messages of at most `limit` characters, blocks separated by a blank line.
pub fn split_blocks(blocks: &[String], limit: usize) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    let mut current = String::new();
    let len = |s: &str| s.chars().count();
    for block in blocks {
        let mut block = block.as_str();
        while len(block) > limit {
            if !current.is_empty() {
                parts.push(std::mem::take(&mut current));
            }
            let at = cut_point(block, limit);
            parts.push(block[..at].trim_end().to_owned());
            block = block[at..].trim_start();
        }
        if block.is_empty() {
            continue;
        }
        let joined = if current.is_empty() { 0 } else { len(&current) + 2 };
        if joined + len(block) > limit {
            parts.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push_str("\n\n");
        }
        current.push_str(block);
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
