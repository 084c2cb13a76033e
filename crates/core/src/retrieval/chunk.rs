//! Long posts are split into overlapping chunks (so each fits the embedding model's window and a
//! hit can point into the post); every chunk maps back to its post by index.

/// One piece of a post's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    pub index: u32,
    pub text: String,
}

/// Default chunk size: e5-small reads 512 tokens; ~1000 characters stays well inside it.
pub const CHUNK_CHARS: usize = 1000;
pub const CHUNK_OVERLAP: usize = 200;

/// Splits `text` into chunks of at most `max_chars` characters that overlap by about `overlap`
/// characters, cutting at sentence ends where possible and never inside a word. Short texts are
/// one chunk; an empty text has none.
pub fn chunk_text(text: &str, max_chars: usize, overlap: usize) -> Vec<Chunk> {
    let chars: Vec<char> = text.trim().chars().collect();
    if chars.is_empty() {
        return Vec::new();
    }
    let max_chars = max_chars.max(overlap + 50);
    let mut out = Vec::new();
    let mut start = 0;
    loop {
        let end_limit = (start + max_chars).min(chars.len());
        let end = if end_limit == chars.len() { end_limit } else { cut_point(&chars, start, end_limit) };
        let piece: String = chars[start..end].iter().collect();
        out.push(Chunk { index: out.len() as u32, text: piece.trim().to_owned() });
        if end >= chars.len() {
            return out;
        }
        // Step back by the overlap, to a word start, but always move forward.
        let mut next = end.saturating_sub(overlap).max(start + 1);
        while next < end && !chars[next - 1].is_whitespace() {
            next += 1;
        }
        start = if next >= end { end } else { next };
        while start < chars.len() && chars[start].is_whitespace() {
            start += 1;
        }
        if start >= chars.len() {
            return out;
        }
    }
}

/// The best place to end a chunk in `start..limit`: after a sentence end in the last third,
/// else at a space, else (one giant word) at the limit.
fn cut_point(chars: &[char], start: usize, limit: usize) -> usize {
    let floor = start + (limit - start) * 2 / 3;
    if let Some(i) = (floor..limit).rev().find(|&i| matches!(chars[i], '.' | '!' | '?' | '…' | '\n') && chars.get(i + 1).is_none_or(|c| c.is_whitespace())) {
        return i + 1;
    }
    (start + 1..limit).rev().find(|&i| chars[i].is_whitespace()).unwrap_or(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_texts_are_one_chunk_and_empty_ones_none() {
        assert_eq!(chunk_text("  Привет, мир  ", 1000, 200), vec![Chunk { index: 0, text: "Привет, мир".into() }]);
        assert!(chunk_text("   ", 1000, 200).is_empty());
    }

    #[test]
    fn long_texts_overlap_and_cover_everything() {
        let sentence = "Центробанк сегодня повысил ключевую ставку на два пункта. ";
        let text = sentence.repeat(60);
        let chunks = chunk_text(&text, 1000, 200);
        assert!(chunks.len() >= 4, "{}", chunks.len());
        for (i, c) in chunks.iter().enumerate() {
            assert_eq!(c.index as usize, i);
            assert!(c.text.chars().count() <= 1000);
            assert!(c.text.starts_with(|ch: char| ch.is_alphabetic()), "no chunk starts inside a word: {:?}", &c.text[..20]);
        }
        for pair in chunks.windows(2) {
            let tail: String = pair[0].text.chars().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect();
            assert!(pair[1].text.contains(tail.trim()), "consecutive chunks overlap");
        }
        assert!(chunks.last().unwrap().text.ends_with("два пункта."));
    }

    #[test]
    fn a_giant_word_is_cut_anyway() {
        let chunks = chunk_text(&"x".repeat(2500), 1000, 200);
        assert!(chunks.len() >= 3 && chunks.iter().all(|c| c.text.len() <= 1000));
    }
}
