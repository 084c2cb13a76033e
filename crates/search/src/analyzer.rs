//! The keyword side: Russian and English words → Snowball stems → hashed term ids with
//! BM25-style saturated term frequencies (document side) or unit weights (query side). The index
//! multiplies by IDF, so both adapters score keywords the same way.

use rust_stemmers::{Algorithm, Stemmer};
use siftgram_core::model::Language;
use siftgram_core::retrieval::{cyrillic_share, is_cyrillic};
use siftgram_core::ports::SparseVector;
use std::collections::HashMap;

/// BM25 parameters; the average length is fixed (posts are short) so a point's weights do not
/// depend on what else is indexed.
const K1: f32 = 1.2;
const B: f32 = 0.75;
const AVERAGE_TERMS: f32 = 60.0;

const STOP_RU: &[&str] = &[
    "и", "в", "во", "не", "что", "он", "на", "я", "с", "со", "как", "а", "то", "все", "она", "так", "его", "но", "да", "ты", "к", "у",
    "же", "вы", "за", "бы", "по", "только", "ее", "мне", "было", "вот", "от", "меня", "еще", "нет", "о", "из", "ему", "теперь", "когда",
    "даже", "ну", "ли", "если", "уже", "или", "ни", "быть", "был", "него", "до", "вас", "нибудь", "уж", "вам", "ведь", "там", "потом",
    "себя", "ничего", "ей", "может", "они", "тут", "где", "есть", "надо", "ней", "для", "мы", "тебя", "их", "чем", "была", "сам", "чтоб",
    "без", "будто", "чего", "раз", "тоже", "себе", "под", "будет", "ж", "тогда", "кто", "этот", "того", "потому", "этого", "какой",
    "совсем", "ним", "здесь", "этом", "один", "почти", "мой", "тем", "чтобы", "нее", "были", "куда", "зачем", "всех", "можно", "при",
    "об", "хоть", "после", "над", "больше", "тот", "через", "эти", "нас", "про", "всего", "них", "какая", "много", "разве", "эту",
    "моя", "свою", "этой", "перед", "иногда", "лучше", "чуть", "том", "нельзя", "такой", "им", "более", "всегда", "конечно", "всю",
    "между", "это", "почему", "какие", "каких", "который", "которые",
];
const STOP_EN: &[&str] = &[
    "a", "an", "the", "and", "or", "but", "if", "of", "at", "by", "for", "with", "about", "to", "from", "in", "on", "is", "are", "was",
    "were", "be", "been", "it", "its", "this", "that", "these", "those", "what", "which", "who", "how", "why", "when", "where", "do",
    "does", "did", "has", "have", "had", "i", "you", "he", "she", "we", "they", "me", "my", "our", "your", "there", "as", "so", "not",
    "no", "can", "will", "would", "should", "could", "any", "some", "all", "more", "most", "than", "then", "into", "over", "also",
];

/// Words a question asks with rather than about ("какие новости про хоккей", "что нового",
/// "what happened"): dropped from queries only — in a post "новости" may be the subject, in a
/// question it matches every post that says it and outvotes the topic.
const QUESTION_WORDS: &[&str] = &[
    "новости", "новостей", "новость", "нового", "новенького", "известно", "произошло", "происходит", "происходило", "случилось",
    "расскажи", "расскажите", "подскажи", "подскажите", "пишут", "писали", "сообщали", "сообщают", "говорили", "говорят",
    "какое", "каким", "какую", "каком", "какого", "news", "happened", "happening", "happen", "tell", "anything", "something",
    "reported", "written", "said",
];

pub struct Analyzer {
    ru: Stemmer,
    en: Stemmer,
}

impl Default for Analyzer {
    fn default() -> Self {
        Analyzer { ru: Stemmer::create(Algorithm::Russian), en: Stemmer::create(Algorithm::English) }
    }
}

/// FNV-1a: stable across processes and versions (term ids are stored in the index).
pub fn term_id(stem: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in stem.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

impl Analyzer {
    /// The stems of a text's words, stop words removed, in order.
    pub fn stems(&self, text: &str) -> Vec<String> {
        self.stems_of_words(text, |_| true)
    }

    /// The stems of the words `keep` lets through (it sees them lowercased).
    fn stems_of_words(&self, text: &str, keep: impl Fn(&str) -> bool) -> Vec<String> {
        let lower = text.to_lowercase().replace('ё', "е");
        lower
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().count() >= 2 || w.chars().all(|c| c.is_ascii_digit()) && !w.is_empty())
            .filter(|w| keep(w))
            .filter(|w| !STOP_RU.contains(w) && !STOP_EN.contains(w))
            .map(|w| {
                let cyrillic = w.chars().filter(|c| is_cyrillic(*c)).count();
                let stemmer = if cyrillic * 2 >= w.chars().count() { &self.ru } else { &self.en };
                stemmer.stem(w).into_owned()
            })
            .collect()
    }

    /// The language most of a text's letters belong to.
    pub fn language(&self, text: &str) -> Language {
        if cyrillic_share(text) < 0.5 { Language::En } else { Language::Ru }
    }

    /// A document's keyword vector: saturated term frequencies.
    pub fn document(&self, text: &str) -> SparseVector {
        let stems = self.stems(text);
        let mut tf: HashMap<u32, f32> = HashMap::new();
        for s in &stems {
            *tf.entry(term_id(s)).or_default() += 1.0;
        }
        let norm = K1 * (1.0 - B + B * stems.len() as f32 / AVERAGE_TERMS);
        SparseVector::from_pairs(tf.into_iter().map(|(t, f)| (t, f * (K1 + 1.0) / (f + norm))).collect())
    }

    /// A query's keyword vector: each distinct term once, question words left out.
    pub fn query(&self, text: &str) -> SparseVector {
        let stems = self.stems_of_words(text, |w| !QUESTION_WORDS.contains(&w));
        SparseVector::from_pairs(stems.iter().map(|s| (term_id(s), 1.0)).collect::<HashMap<_, _>>().into_iter().collect())
    }

    /// Up to `n` keywords that stand out in `text` (most frequent stems, as their first word
    /// form), for tagging without a model.
    pub fn keywords(&self, text: &str, n: usize) -> Vec<String> {
        let lower = text.to_lowercase().replace('ё', "е");
        let mut counts: HashMap<String, (usize, usize, String)> = HashMap::new();
        for (pos, word) in lower.split(|c: char| !c.is_alphanumeric()).filter(|w| w.chars().count() >= 4).enumerate() {
            if STOP_RU.contains(&word) || STOP_EN.contains(&word) || word.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            let stem = self.stems(word).pop().unwrap_or_default();
            let e = counts.entry(stem).or_insert((0, pos, word.to_owned()));
            e.0 += 1;
        }
        let mut ranked: Vec<(usize, usize, String)> = counts.into_values().collect();
        ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        ranked.into_iter().take(n).map(|(_, _, w)| w).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_forms_share_a_stem_in_both_languages() {
        let a = Analyzer::default();
        assert_eq!(a.stems("Курс доллара вырос"), a.stems("курсы долларов, вырос"));
        assert_eq!(a.stems("compiling compilers"), a.stems("compile compiler"));
        assert_eq!(a.stems("и в на the of"), Vec::<String>::new(), "stop words are dropped");
        assert_eq!(a.stems("ёлка"), a.stems("елка"));
    }

    #[test]
    fn questions_are_searched_for_their_topic() {
        let a = Analyzer::default();
        assert_eq!(a.query("Какие новости про хоккей?"), a.query("хоккей"));
        assert_eq!(a.query("what happened with the bridge"), a.query("bridge"));
        assert!(!a.document("Главные новости дня").is_empty(), "posts keep the word");
    }

    #[test]
    fn vectors_and_language() {
        let a = Analyzer::default();
        let doc = a.document("доллар доллар рубль");
        assert_eq!(doc.indices.len(), 2);
        let q = a.query("доллары");
        assert_eq!(q.values, vec![1.0]);
        assert!(doc.indices.contains(&q.indices[0]));
        assert_eq!(a.language("Rust 1.90 is out"), Language::En);
        assert_eq!(a.language("Вышел Rust 1.90"), Language::Ru);
        assert_eq!(a.keywords("Выборы, выборы и снова выборы в Молдове. Молдова голосует.", 2), vec!["выборы", "молдове"]);
    }
}

impl siftgram_core::ports::KeywordEncoder for Analyzer {
    fn document(&self, text: &str) -> SparseVector {
        Analyzer::document(self, text)
    }
    fn query(&self, text: &str) -> SparseVector {
        Analyzer::query(self, text)
    }
    fn language(&self, text: &str) -> Language {
        Analyzer::language(self, text)
    }
}

/// Tags without a model: the words that stand out in the post.
#[derive(Default)]
pub struct KeywordTagger {
    analyzer: Analyzer,
}

/// How many keyword tags a post gets.
const KEYWORD_TAGS: usize = 5;

#[async_trait::async_trait]
impl siftgram_core::ports::Tagger for KeywordTagger {
    async fn tags(&self, text: &str) -> Result<Vec<String>, siftgram_core::ports::TagError> {
        Ok(self.analyzer.keywords(text, KEYWORD_TAGS).into_iter().filter(|w| w.chars().count() <= 64).collect())
    }
}
