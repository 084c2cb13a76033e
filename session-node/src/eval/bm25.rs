//! The baseline every eval run prints beside ours: plain Okapi BM25 (k1 1.2, b 0.75) over whole
//! posts, words lowercased, no stemming, no dates — the obvious method, so a run says how far
//! above it the product's retrieval is.

use siftgram_core::export::RecordedChannel;
use siftgram_core::model::PostKey;
use std::collections::HashMap;

const K1: f64 = 1.2;
const B: f64 = 0.75;

pub struct Bm25 {
    keys: Vec<PostKey>,
    lengths: Vec<f64>,
    average_length: f64,
    /// word → (post number, occurrences in it)
    postings: HashMap<String, Vec<(u32, u32)>>,
}

/// Lowercased runs of letters and digits; `ё` read as `е`, as Russian readers do.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(|w| w.to_lowercase().replace('ё', "е"))
}

impl Bm25 {
    pub fn new(corpus: &[RecordedChannel]) -> Bm25 {
        let mut keys = Vec::new();
        let mut lengths = Vec::new();
        let mut postings: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
        for post in corpus.iter().flat_map(|c| &c.posts) {
            let n = keys.len() as u32;
            let mut counts: HashMap<String, u32> = HashMap::new();
            let mut length = 0;
            for word in words(&post.text) {
                *counts.entry(word).or_default() += 1;
                length += 1;
            }
            for (word, count) in counts {
                postings.entry(word).or_default().push((n, count));
            }
            keys.push(post.key);
            lengths.push(f64::from(length));
        }
        let average_length = lengths.iter().sum::<f64>() / lengths.len().max(1) as f64;
        Bm25 { keys, lengths, average_length, postings }
    }

    /// The `limit` best posts for `query`, best first, with their scores; ties by post key.
    pub fn rank(&self, query: &str, limit: usize) -> Vec<(PostKey, f64)> {
        let total = self.keys.len() as f64;
        let mut scores: HashMap<u32, f64> = HashMap::new();
        let mut seen = std::collections::HashSet::new();
        for word in words(query).filter(|w| seen.insert(w.clone())) {
            let Some(list) = self.postings.get(&word) else { continue };
            let df = list.len() as f64;
            let idf = ((total - df + 0.5) / (df + 0.5) + 1.0).ln();
            for &(n, tf) in list {
                let tf = f64::from(tf);
                let norm = K1 * (1.0 - B + B * self.lengths[n as usize] / self.average_length.max(1e-9));
                *scores.entry(n).or_default() += idf * tf * (K1 + 1.0) / (tf + norm);
            }
        }
        let mut ranked: Vec<(PostKey, f64)> = scores.into_iter().map(|(n, s)| (self.keys[n as usize], s)).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(limit);
        ranked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use siftgram_core::Timestamp;
    use siftgram_core::model::{ChannelId, MediaKind, Post};

    fn corpus(texts: &[&str]) -> Vec<RecordedChannel> {
        let id = ChannelId::new(7).unwrap();
        let posts = texts.iter().enumerate().map(|(i, t)| Post::new(PostKey::new(id, i as i64 + 1).unwrap(), None, t, Timestamp(0), MediaKind::None).unwrap()).collect();
        vec![RecordedChannel { id, title: "c".into(), posts }]
    }

    #[test]
    fn rare_words_outweigh_common_ones_and_unknown_words_find_nothing() {
        let bm25 = Bm25::new(&corpus(&["курс доллара вырос", "курс евро упал", "курс обучения", "Ёлка в парке"]));
        let ranked = bm25.rank("Курс доллара", 10);
        assert_eq!(ranked[0].0.message_id, 1, "{ranked:?}");
        assert_eq!(ranked.len(), 3, "every post with a query word, and only those");
        assert_eq!(bm25.rank("елка", 10)[0].0.message_id, 4, "ё is read as е");
        assert!(bm25.rank("биткоин", 10).is_empty());
        // Hand-computed: "доллара" occurs once in post 1 (3 words; average 2.75) of 4 posts.
        let idf = ((4.0 - 1.0 + 0.5) / (1.0 + 0.5) + 1.0f64).ln();
        let expected = idf * 2.2 / (1.0 + 1.2 * (0.25 + 0.75 * 3.0 / 2.75));
        assert!((bm25.rank("доллара", 1)[0].1 - expected).abs() < 1e-9);
    }
}
