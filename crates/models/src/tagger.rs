//! Tags from an OpenAI-compatible chat model: it must answer a JSON array of 3–7 short tags;
//! anything else is asked again, then given up (the indexer then uses keyword tags).

use crate::openai::{CallError, OpenAiEndpoint, post_json};
use async_trait::async_trait;
use serde_json::json;
use siftgram_core::ports::{TagError, Tagger};

const PROMPT: &str = "You tag posts from Telegram channels. Answer ONLY with a JSON array of 3 to 7 short topic tags \
(one to three words each, lowercase, in the language of the post). No explanations.";
/// The model sees the start of long posts only: enough to tag, cheaper to send.
const MAX_POST_CHARS: usize = 3000;
const MAX_TAG_CHARS: usize = 40;

pub struct OpenAiTagger {
    http: reqwest::Client,
    endpoint: OpenAiEndpoint,
    /// Answers that are not valid tags are asked for again this many times in all.
    pub attempts: u32,
}

impl OpenAiTagger {
    pub fn new(endpoint: OpenAiEndpoint) -> OpenAiTagger {
        let http = endpoint.http_client();
        OpenAiTagger { http, endpoint, attempts: 2 }
    }
}

/// The tags in a model's answer, if it is what was asked for.
pub fn parse_tags(answer: &str) -> Result<Vec<String>, String> {
    let trimmed = answer.trim().trim_start_matches("```json").trim_start_matches("```").trim_end_matches("```").trim();
    let list: Vec<String> = serde_json::from_str(trimmed).map_err(|_| format!("not a JSON array of strings: {}", answer.chars().take(80).collect::<String>()))?;
    let mut tags: Vec<String> = Vec::new();
    for tag in list {
        let tag = tag.trim().trim_start_matches('#').to_lowercase();
        if tag.is_empty() || tag.chars().count() > MAX_TAG_CHARS || tag.contains('\n') {
            return Err(format!("unusable tag {tag:?}"));
        }
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    if !(3..=7).contains(&tags.len()) {
        return Err(format!("{} tags, not 3 to 7", tags.len()));
    }
    Ok(tags)
}

#[async_trait]
impl Tagger for OpenAiTagger {
    async fn tags(&self, text: &str) -> Result<Vec<String>, TagError> {
        let post: String = text.chars().take(MAX_POST_CHARS).collect();
        let body = json!({
            "model": self.endpoint.model,
            "temperature": 0,
            "messages": [{"role": "system", "content": PROMPT}, {"role": "user", "content": post}],
        });
        let mut last = String::new();
        for _ in 0..self.attempts.max(1) {
            let answer = post_json(&self.http, &self.endpoint, "chat/completions", &body, 3).await.map_err(|e| match e {
                CallError::Refused(m) | CallError::Unavailable(m) => TagError::Unavailable(m),
            })?;
            let content = answer["choices"][0]["message"]["content"].as_str().unwrap_or("");
            match parse_tags(content) {
                Ok(tags) => return Ok(tags),
                Err(why) => {
                    tracing::warn!(%why, "tagging model answered garbage");
                    last = why;
                }
            }
        }
        Err(TagError::Garbage(last))
    }
}

#[cfg(test)]
mod tests {
    use super::parse_tags;

    #[test]
    fn only_a_json_array_of_three_to_seven_short_tags_is_accepted() {
        assert_eq!(parse_tags(r##"["Экономика", "ставка ЦБ", "#инфляция"]"##).unwrap(), ["экономика", "ставка цб", "инфляция"]);
        assert_eq!(parse_tags("```json\n[\"a\", \"b\", \"c\"]\n```").unwrap(), ["a", "b", "c"]);
        assert!(parse_tags("Sure! Here are tags: economy, rates").is_err());
        assert!(parse_tags(r#"["one", "two"]"#).is_err());
        assert!(parse_tags(r#"["a", "a", "a"]"#).is_err(), "duplicates do not count");
        assert!(parse_tags(&format!(r#"["a", "b", "{}"]"#, "x".repeat(41))).is_err());
    }
}
