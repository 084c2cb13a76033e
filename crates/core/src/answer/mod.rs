//! Answers built from retrieved posts. With no chat model (or all providers down) the answer is
//! extractive: the most relevant sentences of the top posts, each with its citation — never an
//! empty or invented reply.

mod extractive;

pub use extractive::{Answer, AnswerKind, Citation, extractive_answer};
