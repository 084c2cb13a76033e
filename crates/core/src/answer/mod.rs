//! Answers built from retrieved posts: the context a model sees, the prompt, the check of the
//! model's citations, and the `/ask` use case. With no chat model (or all providers down) the
//! answer is extractive: the most relevant sentences of the top posts, each with its citation —
//! never an empty or invented reply.

mod ask;
mod citations;
mod context;
mod extractive;
mod prompt;

pub use ask::{AskError, AskSettings, Asked, Asker, normalized_question};
pub use citations::{CheckedAnswer, check_citations};
pub use context::{ContextPost, assemble_context, estimated_tokens};
pub use extractive::{Answer, AnswerKind, Citation, extractive_answer};
pub use prompt::answer_prompt;

#[cfg(test)]
pub(crate) mod tests_support {
    use crate::Timestamp;
    use crate::model::{ChannelId, Language, MediaKind, Post, PostKey};
    use crate::ports::{KeywordEncoder, SparseVector};
    use crate::retrieval::RetrievedPost;

    /// Words as terms (enough to test the selection; the real encoder stems).
    pub struct Words;
    impl KeywordEncoder for Words {
        fn document(&self, text: &str) -> SparseVector {
            self.query(text)
        }
        fn query(&self, text: &str) -> SparseVector {
            let terms = text.to_lowercase().split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() > 3).map(|w| (w.bytes().map(u32::from).sum::<u32>(), 1.0)).collect();
            SparseVector::from_pairs(terms)
        }
        fn language(&self, _: &str) -> Language {
            Language::Ru
        }
    }

    pub fn retrieved(message: i64, text: &str) -> RetrievedPost {
        let key = PostKey::new(ChannelId::new(1).unwrap(), message).unwrap();
        RetrievedPost { post: Post::new(key, None, text, Timestamp(86_400 * message), MediaKind::None).unwrap(), channel_title: "Рынки".into(), score: 1.0, snippet: String::new() }
    }
}
