//! The `/ask` use case: cached answer → retrieval (time window from the question) → context
//! within a token budget → the chat model, its citations checked → or, with no model, the
//! extractive answer. Nothing retrieved means no model call.

use super::citations::check_citations;
use super::context::assemble_context;
use super::extractive::{Answer, AnswerKind, extractive_answer};
use super::prompt::answer_prompt;
use crate::Timestamp;
use crate::model::{Language, QueryKind, QueryRecord, UserId};
use crate::ports::{ChatModel, KeywordEncoder};
use crate::repo::{RepoError, Repository};
use crate::retrieval::{RetrievalError, RetrievalRequest, Retriever};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum AskError {
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error(transparent)]
    Retrieval(#[from] RetrievalError),
}

#[derive(Clone, Copy, Debug)]
pub struct AskSettings {
    /// Posts retrieved per question.
    pub posts: usize,
    /// Tokens of post text the model is shown.
    pub context_tokens: usize,
    /// Sentences in an extractive answer.
    pub extractive_sentences: usize,
    pub cache_secs: i64,
}

impl Default for AskSettings {
    fn default() -> Self {
        AskSettings { posts: 8, context_tokens: 2_000, extractive_sentences: 4, cache_secs: 3_600 }
    }
}

pub struct Asker {
    pub repo: Repository,
    pub retriever: Arc<Retriever>,
    pub keywords: Arc<dyn KeywordEncoder>,
    /// None: answers are extractive.
    pub chat: Option<Arc<dyn ChatModel>>,
    pub settings: AskSettings,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Asked {
    pub answer: Answer,
    pub from_cache: bool,
}

/// The form a question is cached under: case, spacing and closing punctuation do not matter.
pub fn normalized_question(question: &str) -> String {
    question.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase().trim_end_matches(['?', '!', '.', '…', ' ']).to_owned()
}

impl Asker {
    pub async fn ask(&self, user: UserId, question: &str, language: Language, now: Timestamp) -> Result<Asked, AskError> {
        let started = std::time::Instant::now();
        let asked = self.ask_untimed(user, question, language, now).await?;
        let kind = match asked.answer.kind {
            AnswerKind::Model(_) => "model",
            AnswerKind::Extractive => "extractive",
            AnswerKind::Nothing => "nothing",
        };
        crate::telemetry::question_answered(kind, asked.from_cache, started.elapsed());
        Ok(asked)
    }

    async fn ask_untimed(&self, user: UserId, question: &str, language: Language, now: Timestamp) -> Result<Asked, AskError> {
        if let Ok(record) = QueryRecord::new(user, QueryKind::Ask, question, now) {
            self.repo.record_query(&record).await?;
        }
        // The day is part of the key: "yesterday" asked after midnight is another question.
        let normalized = format!("{}|{}|{}", now.0.div_euclid(86_400), language_tag(language), normalized_question(question));
        let version = self.repo.index_version(user).await?;
        if let Some(answer) = self.repo.cached_answer(user, &normalized, &version).await? {
            return Ok(Asked { answer, from_cache: true });
        }
        let answer = self.answer(user, question, language, now).await?;
        if answer.kind != AnswerKind::Nothing {
            self.repo.cache_answer(user, &normalized, &version, &answer, self.settings.cache_secs).await?;
            self.repo.mark_seen(user, &answer.sources.iter().map(|c| c.key).collect::<Vec<_>>()).await?;
        }
        Ok(Asked { answer, from_cache: false })
    }

    async fn answer(&self, user: UserId, question: &str, language: Language, now: Timestamp) -> Result<Answer, AskError> {
        let request = RetrievalRequest { user, question: question.to_owned(), limit: self.settings.posts, now, recency_half_life_days: None, tags: Vec::new() };
        let retrieval = self.retriever.retrieve(&request).await?;
        if retrieval.posts.is_empty() {
            return Ok(Answer { kind: AnswerKind::Nothing, text: String::new(), sources: Vec::new() });
        }
        let context = assemble_context(&retrieval.posts, self.settings.context_tokens);
        let extractive = || {
            let posts: Vec<_> = context.iter().map(|c| c.post.clone()).collect();
            extractive_answer(question, &posts, &*self.keywords, self.settings.extractive_sentences)
        };
        let Some(chat) = &self.chat else { return Ok(extractive()) };
        match chat.complete(&answer_prompt(question, &context, language)).await {
            Ok(reply) => {
                let checked = check_citations(&reply.content, &context, &*self.keywords);
                if checked.repaired + checked.dropped > 0 {
                    tracing::info!(repaired = checked.repaired, dropped = checked.dropped, provider = %reply.provider, "model citations mended");
                }
                if checked.sources.is_empty() {
                    // An answer citing nothing cannot be checked against the posts.
                    tracing::info!(provider = %reply.provider, "model answer cites no post; answering extractively");
                    return Ok(extractive());
                }
                Ok(Answer { kind: AnswerKind::Model(reply.provider), text: checked.text, sources: checked.sources })
            }
            Err(e) => {
                tracing::warn!(error = %e, "no chat model answered; answering extractively");
                Ok(extractive())
            }
        }
    }
}

fn language_tag(language: Language) -> &'static str {
    match language {
        Language::Ru => "ru",
        Language::En => "en",
    }
}

#[cfg(test)]
mod tests {
    use super::normalized_question;

    #[test]
    fn questions_differing_in_case_spacing_and_punctuation_are_one_question() {
        assert_eq!(normalized_question("  Что нового   у ЦБ?? "), "что нового у цб");
        assert_eq!(normalized_question("что нового у цб"), "что нового у цб");
    }
}
