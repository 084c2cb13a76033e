//! A model's `[n]` citations checked against the context it was given: numbers outside it are
//! repaired (pointed at the context post the sentence shares most words with) or dropped, and the
//! posts actually cited are renumbered 1, 2, … in order of first mention.

use super::context::ContextPost;
use super::extractive::Citation;
use crate::ports::KeywordEncoder;
use crate::retrieval::shared_terms;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedAnswer {
    pub text: String,
    pub sources: Vec<Citation>,
    /// Citations pointed at a different post than the model wrote.
    pub repaired: usize,
    /// Citations removed (no post in the context says what the sentence says).
    pub dropped: usize,
}

/// A `[1]`, `[1, 2]` or `[1; 3]` marker found at `start..end` of the text.
struct Marker {
    start: usize,
    end: usize,
    numbers: Vec<usize>,
}

fn markers(text: &str) -> Vec<Marker> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'[' {
            let close = text[i + 1..].find(']').map(|j| i + 1 + j);
            if let Some(close) = close {
                let inner = &text[i + 1..close];
                let parts: Vec<&str> = inner.split([',', ';']).map(str::trim).collect();
                let numbers: Option<Vec<usize>> = parts.iter().map(|p| p.parse::<usize>().ok()).collect();
                if let Some(numbers) = numbers.filter(|n| !n.is_empty() && inner.len() <= 24) {
                    out.push(Marker { start: i, end: close + 1, numbers });
                    i = close + 1;
                    continue;
                }
            }
        }
        i += 1;
    }
    out
}

/// The sentence a marker at `at` belongs to: the text since the previous sentence end.
fn sentence_before(text: &str, at: usize) -> &str {
    let head = &text[..at];
    let start = head.trim_end().trim_end_matches(['.', '!', '?']).rfind(['.', '!', '?', '\n']).map_or(0, |i| i + 1);
    &head[start..]
}

pub fn check_citations(text: &str, context: &[ContextPost], keywords: &dyn KeywordEncoder) -> CheckedAnswer {
    let post_terms: Vec<Vec<u32>> = context.iter().map(|c| keywords.query(&c.text).indices).collect();
    let mut order: Vec<usize> = Vec::new(); // context numbers in order of first citation
    let (mut repaired, mut dropped) = (0, 0);
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for marker in markers(text) {
        out.push_str(&text[last..marker.start]);
        last = marker.end;
        let sentence = sentence_before(text, marker.start);
        let mut cited: Vec<usize> = Vec::new();
        for n in marker.numbers {
            let number = if (1..=context.len()).contains(&n) {
                Some(n)
            } else {
                let best = post_terms
                    .iter()
                    .enumerate()
                    .map(|(i, terms)| (shared_terms(sentence, terms, keywords), i + 1))
                    .filter(|(overlap, _)| *overlap > 0)
                    .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
                match best {
                    Some((_, n)) => {
                        repaired += 1;
                        Some(n)
                    }
                    None => {
                        dropped += 1;
                        None
                    }
                }
            };
            if let Some(n) = number.filter(|n| !cited.contains(n)) {
                cited.push(n);
            }
        }
        for n in cited {
            let position = match order.iter().position(|&o| o == n) {
                Some(p) => p,
                None => {
                    order.push(n);
                    order.len() - 1
                }
            };
            out.push_str(&format!("[{}]", position + 1));
        }
    }
    out.push_str(&text[last..]);
    let text = out.split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ").replace(" .", ".").replace(" ,", ",");
    let sources = order
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let post = &context[n - 1].post;
            Citation { number: i + 1, key: post.post.key, channel_title: post.channel_title.clone(), link: post.post.link.clone(), date: post.post.date }
        })
        .collect();
    CheckedAnswer { text, sources, repaired, dropped }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::context::assemble_context;
    use crate::answer::tests_support::{Words, retrieved};

    #[test]
    fn valid_citations_are_renumbered_in_order_of_mention() {
        let context = assemble_context(&[retrieved(1, "Доллар подорожал"), retrieved(2, "Нефть дешевеет")], 1000);
        // Equally relevant: the newer post (2) is context post 1.
        let checked = check_citations("Доллар подорожал [2]. Нефть дешевеет [1, 2].", &context, &Words);
        assert_eq!(checked.text, "Доллар подорожал [1]. Нефть дешевеет [2][1].");
        assert_eq!(checked.sources.iter().map(|c| c.key.message_id).collect::<Vec<_>>(), [1, 2]);
        assert_eq!((checked.repaired, checked.dropped), (0, 0));
    }

    #[test]
    fn a_citation_outside_the_context_is_repaired_or_dropped() {
        let context = assemble_context(&[retrieved(1, "Доллар подорожал после заявления"), retrieved(2, "Нефть дешевеет")], 1000);
        let checked = check_citations("Нефть дешевеет третий день [7]. Погода солнечная [9]. Итог [x].", &context, &Words);
        assert_eq!(checked.text, "Нефть дешевеет третий день [1]. Погода солнечная. Итог [x].");
        assert_eq!(checked.sources.iter().map(|c| c.key.message_id).collect::<Vec<_>>(), [2]);
        assert_eq!((checked.repaired, checked.dropped), (1, 1));
    }
}
