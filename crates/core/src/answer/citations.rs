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

#[cfg(test)]
mod properties {
    use super::*;
    use crate::answer::context::assemble_context;
    use crate::answer::tests_support::{Words, retrieved};
    use proptest::prelude::*;

    const POSTS: [&str; 4] = ["Доллар подорожал после заявления", "Нефть дешевеет третий день", "Weather is sunny in Moscow", "Выборы прошли спокойно"];

    /// What a model writes: words of the posts and others, citations right and wrong, brackets
    /// that are not citations, sentence ends.
    fn model_text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("Доллар подорожал ".to_owned()), Just("Нефть дешевеет ".to_owned()), Just("sunny Moscow ".to_owned()), Just("Выборы ".to_owned()),
            Just("Погода ".to_owned()), Just(". ".to_owned()), Just("!\n".to_owned()), Just("[x] ".to_owned()), Just("[".to_owned()), Just("]".to_owned()),
            (0usize..12).prop_map(|n| format!("[{n}]")), (0usize..12, 0usize..12).prop_map(|(a, b)| format!("[{a}, {b}]")),
            (0usize..12, 0usize..12).prop_map(|(a, b)| format!("[{a};{b}] ")), "\\PC{0,6}",
        ];
        proptest::collection::vec(piece, 0..30).prop_map(|p| p.concat())
    }

    /// The `[n]` markers of a checked text.
    fn cited_numbers(text: &str) -> Vec<usize> {
        markers(text).into_iter().flat_map(|m| m.numbers).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// Whatever the model wrote, every citation left points at a listed source, sources are
        /// numbered 1..n in order of first mention, and each is a post of the context.
        #[test]
        fn repaired_citations_always_point_at_listed_context_posts(text in model_text(), posts in 1usize..=4) {
            let context = assemble_context(&POSTS[..posts].iter().enumerate().map(|(i, t)| retrieved(i as i64 + 1, t)).collect::<Vec<_>>(), 1000);
            let checked = check_citations(&text, &context, &Words);
            let cited = cited_numbers(&checked.text);
            prop_assert!(cited.iter().all(|n| (1..=checked.sources.len()).contains(n)), "{:?} cites {:?} of {} sources", checked.text, cited, checked.sources.len());
            let mut first_mentions: Vec<usize> = Vec::new();
            for n in &cited {
                if !first_mentions.contains(n) {
                    first_mentions.push(*n);
                }
            }
            prop_assert_eq!(first_mentions, (1..=checked.sources.len()).collect::<Vec<_>>(), "numbered in order of first mention: {:?}", checked.text);
            for (i, source) in checked.sources.iter().enumerate() {
                prop_assert_eq!(source.number, i + 1);
                prop_assert!(context.iter().any(|c| c.post.post.key == source.key), "{:?} is not in the context", source.key);
                prop_assert!(!checked.sources[..i].iter().any(|s| s.key == source.key), "listed twice");
            }
            prop_assert!(checked.repaired + checked.dropped <= cited_numbers(&text).len());
        }
    }
}
