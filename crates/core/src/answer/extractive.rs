use crate::Timestamp;
use crate::ports::KeywordEncoder;
use crate::retrieval::{RetrievedPost, sentences, shared_terms};

/// A numbered source under an answer.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Citation {
    pub number: usize,
    pub key: crate::model::PostKey,
    pub channel_title: String,
    pub link: String,
    pub date: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AnswerKind {
    /// Written by a chat model (which one).
    Model(String),
    /// Sentences taken from the posts.
    Extractive,
    /// Retrieval found nothing; no model was asked.
    Nothing,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Answer {
    pub kind: AnswerKind,
    /// The text with `[n]` markers that refer to `sources`.
    pub text: String,
    pub sources: Vec<Citation>,
}

/// How many posts an extractive answer draws from.
const MAX_POSTS: usize = 5;

/// The `max_sentences` sentences of the top posts that share the most keywords with the
/// question, in the posts' order, each cited; the best post's opening when nothing overlaps.
pub fn extractive_answer(question: &str, posts: &[RetrievedPost], keywords: &dyn KeywordEncoder, max_sentences: usize) -> Answer {
    if posts.is_empty() {
        return Answer { kind: AnswerKind::Nothing, text: String::new(), sources: Vec::new() };
    }
    let terms = keywords.query(question).indices;
    // (post rank, sentence index, overlap)
    let mut scored: Vec<(usize, usize, usize, &str)> = Vec::new();
    // What the posts' links said is quotable too, cited as the post.
    let texts: Vec<std::borrow::Cow<'_, str>> = posts.iter().take(MAX_POSTS).map(|p| p.post.readable_text()).collect();
    for (rank, text) in texts.iter().enumerate() {
        // Quotable sentences only: a line of punctuation or emoji says nothing.
        let quotable = sentences(text).into_iter().filter(|s| s.chars().any(char::is_alphanumeric));
        for (i, sentence) in quotable.enumerate() {
            let overlap = shared_terms(sentence, &terms, keywords);
            scored.push((rank, i, overlap, sentence));
        }
    }
    let mut chosen: Vec<(usize, usize, usize, &str)> = scored.iter().copied().filter(|s| s.2 > 0).collect();
    chosen.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    chosen.truncate(max_sentences.max(1));
    if chosen.is_empty() {
        chosen = scored.iter().copied().filter(|s| s.0 == 0).take(1).collect();
    }
    chosen.sort_by_key(|s| (s.0, s.1));
    let mut sources: Vec<Citation> = Vec::new();
    let mut parts = Vec::new();
    for (rank, _, _, sentence) in chosen {
        let post = &posts[rank];
        let number = match sources.iter().find(|c| c.link == post.post.link) {
            Some(c) => c.number,
            None => {
                let number = sources.len() + 1;
                sources.push(Citation { number, key: post.post.key, channel_title: post.channel_title.clone(), link: post.post.link.clone(), date: post.post.date });
                number
            }
        };
        parts.push(format!("{sentence} [{number}]"));
    }
    Answer { kind: AnswerKind::Extractive, text: parts.join(" "), sources }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::tests_support::{Words, retrieved};

    #[test]
    fn the_relevant_sentences_are_quoted_with_their_sources() {
        let posts = [
            retrieved(1, "Погода хорошая. Доллар подорожал после заявления регулятора."),
            retrieved(2, "Аналитики считают, что доллар продолжит расти. Нефть дешевеет."),
        ];
        let answer = extractive_answer("почему доллар подорожал", &posts, &Words, 2);
        assert_eq!(answer.kind, AnswerKind::Extractive);
        assert_eq!(answer.text, "Доллар подорожал после заявления регулятора. [1] Аналитики считают, что доллар продолжит расти. [2]");
        assert_eq!(answer.sources.iter().map(|c| c.link.as_str()).collect::<Vec<_>>(), ["https://t.me/c/1/1", "https://t.me/c/1/2"]);
    }

    #[test]
    fn nothing_found_is_said_plainly_and_no_overlap_quotes_the_best_post() {
        assert_eq!(extractive_answer("вопрос", &[], &Words, 3).kind, AnswerKind::Nothing);
        let answer = extractive_answer("квантовая механика", &[retrieved(5, "Первое предложение. Второе.")], &Words, 3);
        assert_eq!(answer.text, "Первое предложение. [1]");
        assert_eq!(answer.sources.len(), 1);
    }
}
